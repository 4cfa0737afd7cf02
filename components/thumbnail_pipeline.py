"""ThumbnailPipeline: photos uploaded to one bucket, thumbnails written to another, and no way to loop.

    client ──PUT uploads/<key>.jpg──▶ S3 upload bucket (private, versioned, optional Transfer Acceleration)
                                          │ ObjectCreated:*, prefix uploads/, suffix .jpg .JPG .jpeg .JPEG
                                          │ .png .PNG .gif .GIF .webp .WEBP (S3 filters are case-sensitive)
                                          ▼
                        SQS queue (SSE, TLS-only; only s3.amazonaws.com, this bucket, this account)
                              │ redrive after 5 receives ──▶ DLQ (alarm on the first message)
                              ▼ event source mapping: batch size + window, ReportBatchItemFailures,
                              │                       maximum concurrency
                    Lambda thumbnailer (arm64, Pillow layer, memory/timeout sized from max pixels)
                     │ reads uploads/* only                  │ writes <size>/* and _failures/* only
                     ▼                                       ▼
           upload bucket (read-only to it;         S3 thumbnails bucket (private, derived data:
           its bucket policy also denies           noncurrent versions kept 1 day)
           the function any write)                   │ one message per thumbnail set (optional)
                                                     ▼
                                           SNS topic (KMS, TLS-only) ──▶ subscribe_queue(): SQS + redrive

No loops, by construction: the function may read only under the upload prefix and write only
under the thumbnail prefixes (`<size>/` and the failure prefix) of the thumbnails bucket; the
upload bucket's policy denies it any write under the upload prefix. When thumbnails go into
the upload bucket itself (`thumbnails_in_upload_bucket`, or `thumbnail_bucket_name` naming it),
the upload prefix must not overlap a thumbnail prefix, or the component refuses at preview.

Poison images: undecodable, oversized (bytes or pixels) uploads are permanent failures the
handler records as JSON under the failure prefix of the thumbnails bucket (no retry); anything
transient is retried by SQS and parked in the DLQ after `max_receive_count` receives.

Optional analysis (`analysis.enabled`, off by default): Amazon Rekognition's moderation labels
gate each decoded image (a flagged one gets a failure record, no thumbnails) and its object
labels go on the thumbnails' metadata and into the SNS message.
"""
import dataclasses
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsError, ArgsReader
from .iam import PolicyStatement, allow, deny_insecure_transport, policy_document
from .lambda_function import FunctionSizing, LambdaFunction, read_memory, read_timeout
from .secure_bucket import SecureBucket
from .secure_queue import MAX_RECEIVE_COUNT_LIMIT, SecureQueue, SecureQueueArgs

# The web image formats the handler decodes. S3 suffix filters are case-sensitive, so each is
# matched in lower and in upper case (what cameras and phones write); mixed case (.Jpg) is not.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")
OUTPUT_FORMATS = ("JPEG", "WEBP")

# Defaults: what you get without asking. They match functions/thumbnailer/settings.py.
DEFAULT_UPLOAD_PREFIX = "uploads/"
DEFAULT_SIZES = (128, 256, 512)
DEFAULT_OUTPUT_FORMAT = "JPEG"
DEFAULT_QUALITY = 82
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_FAILURE_PREFIX = "_failures/"
DEFAULT_BATCH_SIZE = 10
DEFAULT_BATCHING_WINDOW_SECONDS = 0
DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_THUMBNAIL_NONCURRENT_DAYS = 1
SNS_MANAGED_KEY = "alias/aws/sns"

# Limits of the knobs.
MAX_BYTES_RANGE = (1024, 2**30)
SIZE_RANGE = (16, 4096)
MAX_SIZES = 10
QUALITY_RANGE = (1, 95)  # Pillow: above 95 JPEG files grow with no visible gain
BATCH_SIZE_RANGE = (1, 10000)
UNBATCHED_MAX_BATCH_SIZE = 10  # SQS mappings need a batching window for anything larger
BATCHING_WINDOW_RANGE = (0, 300)
MAX_CONCURRENCY_RANGE = (2, 1000)  # SQS event source mapping scaling_config limits
# Pillow refuses images over twice Image.MAX_IMAGE_PIXELS (89,478,485) whatever MAX_PIXELS says.
MAX_PIXELS_LIMIT = 2 * 89_478_485
MAX_PIXELS_RANGE = (1_000_000, MAX_PIXELS_LIMIT)

# --- sizing: memory and timeout for the largest image allowed ----------------------------------
# Measured with functions/thumbnailer/imaging.py on 50 MP inputs (peak RSS over the import baseline):
# RGBA WebP ~17.5 bytes per pixel (libwebp's buffer plus Pillow's copy), RGBA PNG ~4.7,
# 16-bit grey PNG ~2.3, palette GIF ~1.4, JPEG ~0 (decoded at 1/8 scale by draft()).
DECODE_BYTES_PER_PIXEL = 18
RUNTIME_BASELINE_MB = 128  # Python, Powertools, boto3 clients and Pillow, with margin
MEMORY_STEP_MB = 64
LAMBDA_MEMORY_RANGE = defaults.LAMBDA_MEMORY_MB_RANGE
LAMBDA_MAX_TIMEOUT_SECONDS = defaults.LAMBDA_MAX_TIMEOUT_SECONDS
LAMBDA_MB_PER_VCPU = 1769  # Lambda allocates CPU in proportion to memory: 1 vCPU at 1,769 MB
# Worst decode + three resizes + encode, per megapixel on one vCPU (~0.09 s measured, x1.6 margin).
SECONDS_PER_MEGAPIXEL_PER_VCPU = 0.15
S3_READ_BYTES_PER_SECOND = 25 * 1024 * 1024  # conservative single-stream GET from Lambda
# Rekognition's DetectModerationLabels + DetectLabels on one image, with a retry, when analysis is on.
ANALYSIS_SECONDS_PER_IMAGE = 3
# The handler stops starting records with less than this left (thumbnailer.handler.TIME_RESERVE_MS).
HANDLER_TIME_RESERVE_SECONDS = 15
# The default timeout fits this many worst-case images; records beyond are handed back to SQS.
WORST_CASE_IMAGES_PER_INVOCATION = 3

_UNSAFE_PREFIX = re.compile(r"[*?]|\$\{")  # IAM wildcards and policy variables in a Resource ARN
MAX_PREFIX_BYTES = 512  # leaves room for the rest of the key within S3's 1,024 bytes
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class SourceDestinationOverlap(ValueError):
    """The function would write where uploads trigger it: every thumbnail would make more thumbnails."""


def required_memory_mb(max_pixels: int, max_bytes: int) -> int:
    """Memory for the largest image allowed: its bytes, its worst-case decode, and the runtime."""
    need = RUNTIME_BASELINE_MB + max_bytes / 2**20 + DECODE_BYTES_PER_PIXEL * max_pixels / 2**20
    memory = MEMORY_STEP_MB * math.ceil(need / MEMORY_STEP_MB)
    if memory > LAMBDA_MEMORY_RANGE[1]:
        raise ValueError(f"max_pixels={max_pixels} and max_bytes={max_bytes} need {memory} MB, over Lambda's "
                         f"{LAMBDA_MEMORY_RANGE[1]} MB; lower max_pixels or max_bytes")
    return memory


def worst_image_seconds(max_pixels: int, max_bytes: int, memory_mb: int, analysis: bool = False) -> float:
    """Time to read and thumbnail the largest image allowed, at the CPU share `memory_mb` buys (and analyse it)."""
    vcpus = min(memory_mb, LAMBDA_MB_PER_VCPU) / LAMBDA_MB_PER_VCPU
    return (max_bytes / S3_READ_BYTES_PER_SECOND + max_pixels / 1e6 * SECONDS_PER_MEGAPIXEL_PER_VCPU / vcpus
            + (ANALYSIS_SECONDS_PER_IMAGE if analysis else 0))


def required_timeout_seconds(max_pixels: int, max_bytes: int, memory_mb: int, analysis: bool = False) -> int:
    """The least timeout that still finishes one worst-case image after the handler's reserve."""
    return math.ceil(HANDLER_TIME_RESERVE_SECONDS + worst_image_seconds(max_pixels, max_bytes, memory_mb, analysis))


def default_timeout_seconds(max_pixels: int, max_bytes: int, memory_mb: int, analysis: bool = False) -> int:
    """Room for WORST_CASE_IMAGES_PER_INVOCATION worst-case images plus the reserve, in 10 s steps."""
    need = HANDLER_TIME_RESERVE_SECONDS + WORST_CASE_IMAGES_PER_INVOCATION * worst_image_seconds(
        max_pixels, max_bytes, memory_mb, analysis)
    return min(LAMBDA_MAX_TIMEOUT_SECONDS, max(30, 10 * math.ceil(need / 10)))


def notification_suffixes() -> list[str]:
    """The S3 suffix filters: every image suffix in lower and upper case."""
    return [variant for suffix in IMAGE_SUFFIXES for variant in (suffix, suffix.upper())]


def _objects_under(prefix: str) -> Callable[[str], str]:
    """The ARN pattern of a bucket's objects under `prefix`, from the bucket's ARN."""
    return lambda arn: f"{arn}/{prefix}*"


def thumbnail_prefixes(sizes: Sequence[int], failure_prefix: str) -> list[str]:
    """Every key prefix the function writes under: `<size>/` per size, and the failure records'."""
    return [f"{size}/" for size in sorted(set(sizes))] + [failure_prefix]


def prefixes_overlap(a: str, b: str) -> bool:
    """Whether one key can be under both prefixes (the empty prefix is the whole bucket)."""
    return a.startswith(b) or b.startswith(a)


def check_no_loop(upload_prefix: str, sizes: Sequence[int], failure_prefix: str,
                  bucket: str = "the upload bucket") -> None:
    """With thumbnails in the bucket that triggers the function, refuse writes under the upload prefix."""
    written_prefixes = thumbnail_prefixes(sizes, failure_prefix)
    for written in written_prefixes:
        if prefixes_overlap(upload_prefix, written):
            raise SourceDestinationOverlap(
                f"thumbnails would be written to {bucket} under {written!r}, which overlaps the upload prefix "
                f"{upload_prefix!r} that triggers the function: each thumbnail would trigger more thumbnails. "
                f"Use a separate thumbnails bucket, or an upload prefix that neither starts nor is the start "
                f"of any of {written_prefixes}")


def check_destination(upload_bucket: str, upload_prefix: str, thumbnail_bucket: str, sizes: Sequence[int],
                      failure_prefix: str) -> None:
    """Refuse a destination bucket that is the upload bucket under an overlapping prefix."""
    if upload_bucket.lower() == thumbnail_bucket.lower():
        check_no_loop(upload_prefix, sizes, failure_prefix, bucket=f"the upload bucket {upload_bucket!r}")


def is_safe_key_prefix(prefix: str) -> bool:
    """A key prefix that can go into an IAM resource ARN as it is: no wildcards, variables or leading '/'."""
    return (isinstance(prefix, str) and not prefix.startswith("/") and not _UNSAFE_PREFIX.search(prefix)
            and len(prefix.encode()) <= MAX_PREFIX_BYTES)


def is_bucket_name(name: str) -> bool:
    return isinstance(name, str) and _BUCKET_NAME.match(name) is not None and ".." not in name


class ThumbnailAnalysis(TypedDict, total=False):
    """Amazon Rekognition analysis of each decoded upload: on when the section is given (none by default)."""
    enabled: bool
    """Default true once the section is given (as the stack config's `enabled: true`); false turns it off."""
    min_confidence: float
    """0..100 (default 80): a moderation label at or above it flags the image; labels below it are dropped."""
    max_labels: int
    """Object labels kept per image, 1..100 (default 10), most confident first."""
    block_categories: Sequence[str]
    """Moderation categories that flag (a label's name or its parent's, any case); empty (default): all."""


# Rekognition's DetectLabels and DetectModerationLabels have no resource type: Resource "*" is the only grant.
REKOGNITION_ACTIONS = ["rekognition:DetectLabels", "rekognition:DetectModerationLabels"]
ANALYSIS_DEFAULTS: dict[str, Any] = {"enabled": True, "min_confidence": 80, "max_labels": 10, "block_categories": []}
ANALYSIS_CONFIDENCE_RANGE = (0, 100)
ANALYSIS_MAX_LABELS_RANGE = (1, 100)
MAX_BLOCK_CATEGORIES = 50
_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 &,'/-]{0,99}$")


@dataclass(frozen=True)
class ResolvedAnalysis:
    min_confidence: float
    max_labels: int
    block_categories: list[str]

    def environment(self) -> dict[str, str]:
        """The thumbnailer's ANALYSIS_* variables (thumbnailer.settings reads them)."""
        return {"ANALYSIS_ENABLED": "true", "ANALYSIS_MIN_CONFIDENCE": format(self.min_confidence, "g"),
                "ANALYSIS_MAX_LABELS": str(self.max_labels),
                "ANALYSIS_BLOCK_CATEGORIES": json.dumps(self.block_categories)}


def _read_analysis(r: ArgsReader) -> Optional[ResolvedAnalysis]:
    """The analysis section, checked even when it is turned off; None when absent or off (the default)."""
    a = r.section("analysis", ThumbnailAnalysis, ANALYSIS_DEFAULTS)
    if a is None:
        return None
    resolved = ResolvedAnalysis(
        min_confidence=a.number("min_confidence", low=ANALYSIS_CONFIDENCE_RANGE[0], high=ANALYSIS_CONFIDENCE_RANGE[1]),
        max_labels=a.integer("max_labels", low=ANALYSIS_MAX_LABELS_RANGE[0], high=ANALYSIS_MAX_LABELS_RANGE[1]),
        block_categories=a.strings("block_categories", check=_CATEGORY.match, max_items=MAX_BLOCK_CATEGORIES,
                                   distinct=True, expected="a list of Rekognition moderation category names "
                                   "(letters, digits, spaces and & , ' / -; up to 100 characters each)"),
    )
    return resolved if a.flag("enabled") else None


class ThumbnailPipelineArgs(TypedDict, total=False):
    upload_prefix: str
    """Only keys under this prefix are thumbnailed and readable by the function ("" = whole bucket)."""
    sizes: Sequence[int]
    """Bounding boxes in pixels (16..4096); a thumbnail per size at `<size>/<original key>`."""
    output_format: str
    """JPEG or WEBP."""
    quality: int
    """Encoder quality, 1..95."""
    max_bytes: int
    """Larger uploads are rejected (recorded, not retried), 1 KiB to 1 GiB (default 50 MiB)."""
    max_pixels: int
    """Images with more pixels are rejected from their header, before decoding (image bombs), 1 to 178 MP."""
    failure_prefix: str
    """Where permanent failures are recorded as JSON, in the thumbnails bucket."""
    transfer_acceleration: bool
    """S3 Transfer Acceleration on the upload bucket."""
    notifications: bool
    """Create an SNS topic that gets one message per thumbnail set."""
    topic_kms_key_arn: Optional[pulumi.Input[str]]
    """Customer managed KMS key for the topic (its policy: kms_keys.sns_topic_key_statements); None: alias/aws/sns."""
    thumbnail_bucket_name: Optional[str]
    """Write into this existing bucket instead of creating one (not managed here)."""
    thumbnails_in_upload_bucket: bool
    """Write thumbnails into the upload bucket itself, beside the upload prefix (which must not overlap)."""
    thumbnail_versioning: bool
    """Version the thumbnails bucket (default true, as the guardrail SB-S3-005 asks; see thumbnail_noncurrent_days)."""
    thumbnail_noncurrent_days: int
    """Days an overwritten or deleted thumbnail version is kept (default 1: thumbnails are re-creatable)."""
    batch_size: int
    """Messages per invocation, 1..10000 (over 10 needs a batching window)."""
    batching_window_seconds: int
    """Seconds to gather a batch, 0..300."""
    max_concurrency: int
    """Most concurrent invocations the queue drives, 2..1000, to protect downstream."""
    max_receive_count: int
    """Receives before a message goes to the DLQ, 5 to 1000 (default 5)."""
    function: FunctionSizing
    """Memory (default and minimum derived from max_pixels and max_bytes) and timeout (default derived
    from those and the memory) of the thumbnailer."""
    architecture: str
    """arm64 (default) or x86_64; the Pillow layer is built to match."""
    log_retention_days: int
    """Retention of the function's log group."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    deletion_protection: bool
    """Keep non-empty buckets on `pulumi destroy`."""
    access_log_bucket: Optional[pulumi.Input[str]]
    """Existing log bucket receiving both buckets' S3 server access logs (none by default)."""
    analysis: ThumbnailAnalysis
    """Optional Amazon Rekognition moderation gate and object labels (off by default)."""


DEFAULTS: dict[str, Any] = {
    "upload_prefix": DEFAULT_UPLOAD_PREFIX,
    "sizes": list(DEFAULT_SIZES),
    "output_format": DEFAULT_OUTPUT_FORMAT,
    "quality": DEFAULT_QUALITY,
    "max_bytes": DEFAULT_MAX_BYTES,
    "max_pixels": DEFAULT_MAX_PIXELS,
    "failure_prefix": DEFAULT_FAILURE_PREFIX,
    "transfer_acceleration": False,
    "notifications": False,
    "thumbnails_in_upload_bucket": False,
    "thumbnail_versioning": True,
    "thumbnail_noncurrent_days": DEFAULT_THUMBNAIL_NONCURRENT_DAYS,
    "batch_size": DEFAULT_BATCH_SIZE,
    "batching_window_seconds": DEFAULT_BATCHING_WINDOW_SECONDS,
    "max_concurrency": DEFAULT_MAX_CONCURRENCY,
    "max_receive_count": defaults.SQS_MAX_RECEIVE_COUNT,
    "architecture": defaults.LAMBDA_ARCHITECTURE,
    "log_retention_days": DEFAULT_LOG_RETENTION_DAYS,
    "deletion_protection": False,
}
"""What you get without asking; the function's memory and timeout are derived from max_pixels and max_bytes."""

ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.QUEUE, monitoring.SNS_TOPIC)
"""The thumbnailer's errors and throttles, the first message in a DLQ, and (with notifications) the topic's
deliveries SNS gave up on."""

_SAFE_PREFIX = (f"key prefix without a leading '/', '*', '?' or '${{', of at most {MAX_PREFIX_BYTES} bytes "
                "(it is part of IAM resource ARNs)")


@dataclass(frozen=True)
class ResolvedThumbnailPipeline:
    upload_prefix: str
    sizes: list[int]
    output_format: str
    quality: int
    max_bytes: int
    max_pixels: int
    failure_prefix: str
    transfer_acceleration: bool
    notifications: bool
    topic_kms_key_arn: Any
    thumbnail_bucket_name: Optional[str]
    thumbnails_in_upload_bucket: bool
    thumbnail_versioning: bool
    thumbnail_noncurrent_days: int
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int
    max_receive_count: int
    memory_mb: int
    timeout_seconds: int
    architecture: str
    log_retention_days: int
    alarms: Optional[monitoring.ResolvedAlarms]
    deletion_protection: bool
    access_log_bucket: Any
    analysis: Optional[ResolvedAnalysis] = None
    """None: off (the default), and the function gets no Rekognition permission or variable."""

    @property
    def access_logs(self) -> dict:
        return {"access_log_bucket": self.access_log_bucket} if self.access_log_bucket is not None else {}


def _read_sizing(r: ArgsReader, max_pixels: int, max_bytes: int, analysis: bool = False) -> tuple[int, int]:
    """Memory and timeout for the largest image allowed: derived by default, never below what it needs."""
    try:
        required_memory = required_memory_mb(max_pixels, max_bytes)
    except ValueError as error:
        r.fail("max_pixels", str(error))
    given = r.section("function", FunctionSizing)
    f = given if given is not None else ArgsReader(r.component, r.name, {}, FunctionSizing, {}, (*r.path, "function"))
    try:
        memory = read_memory(f, low=required_memory, default=required_memory)
    except ArgsError as error:
        raise error.because(f"a {max_pixels}-pixel, {max_bytes}-byte image needs {required_memory} MB; "
                            f"lower max_pixels or max_bytes to use less") from None
    required_timeout = required_timeout_seconds(max_pixels, max_bytes, memory, analysis)
    try:
        timeout = read_timeout(f, low=required_timeout, default=max(
            required_timeout, default_timeout_seconds(max_pixels, max_bytes, memory, analysis)))
    except ArgsError as error:
        raise error.because(f"the largest allowed image takes up to "
                            f"{required_timeout - HANDLER_TIME_RESERVE_SECONDS} s at {memory} MB, plus the "
                            f"handler's {HANDLER_TIME_RESERVE_SECONDS} s reserve") from None
    return memory, timeout


def resolve_args(name: str, args: Optional[ThumbnailPipelineArgs]) -> ResolvedThumbnailPipeline:
    """The caller's args over DEFAULTS; a combination that could loop, lose uploads or OOM raises ArgsError."""
    r = ArgsReader("ThumbnailPipeline", name, args, ThumbnailPipelineArgs, DEFAULTS)
    upload_prefix = r.string("upload_prefix", check=is_safe_key_prefix, expected=f"a {_SAFE_PREFIX}")
    failure_prefix = r.string("failure_prefix", check=lambda v: bool(v.strip("/")) and is_safe_key_prefix(v),
                              expected=f"a non-empty {_SAFE_PREFIX}")
    sizes = sorted(r.integers("sizes", low=SIZE_RANGE[0], high=SIZE_RANGE[1], max_items=MAX_SIZES))
    max_bytes = r.integer("max_bytes", low=MAX_BYTES_RANGE[0], high=MAX_BYTES_RANGE[1])
    max_pixels = r.integer("max_pixels", low=MAX_PIXELS_RANGE[0], high=MAX_PIXELS_RANGE[1])
    batch_size = r.integer("batch_size", low=BATCH_SIZE_RANGE[0], high=BATCH_SIZE_RANGE[1])
    window = r.integer("batching_window_seconds", low=BATCHING_WINDOW_RANGE[0], high=BATCHING_WINDOW_RANGE[1])
    if batch_size > UNBATCHED_MAX_BATCH_SIZE and window < 1:
        r.fail("batching_window_seconds", f"must be at least 1 when batch_size is over {UNBATCHED_MAX_BATCH_SIZE} "
                                          f"(an SQS rule), got {window} with batch_size {batch_size}")
    destination = r.optional_string("thumbnail_bucket_name", check=is_bucket_name,
                                    expected="an existing S3 bucket name (3-63 lower-case letters, digits, '.', '-')")
    in_upload_bucket = r.flag("thumbnails_in_upload_bucket")
    if destination is not None and in_upload_bucket:
        r.fail("thumbnail_bucket_name", "set it or thumbnails_in_upload_bucket, not both")
    if in_upload_bucket:
        try:
            check_no_loop(upload_prefix, sizes, failure_prefix)
        except SourceDestinationOverlap as error:
            r.fail("upload_prefix", f"with thumbnails_in_upload_bucket, {error}")
    analysis = _read_analysis(r)
    memory, timeout = _read_sizing(r, max_pixels, max_bytes, analysis is not None)
    return ResolvedThumbnailPipeline(
        upload_prefix=upload_prefix, sizes=sizes,
        output_format=r.choice("output_format", OUTPUT_FORMATS),
        quality=r.integer("quality", low=QUALITY_RANGE[0], high=QUALITY_RANGE[1]),
        max_bytes=max_bytes, max_pixels=max_pixels, failure_prefix=failure_prefix,
        transfer_acceleration=r.flag("transfer_acceleration"),
        notifications=r.flag("notifications"),
        topic_kms_key_arn=r.input("topic_kms_key_arn"),
        thumbnail_bucket_name=destination, thumbnails_in_upload_bucket=in_upload_bucket,
        thumbnail_versioning=r.flag("thumbnail_versioning"),
        thumbnail_noncurrent_days=r.integer("thumbnail_noncurrent_days", low=1, high=3650),
        batch_size=batch_size, batching_window_seconds=window,
        max_concurrency=r.integer("max_concurrency", low=MAX_CONCURRENCY_RANGE[0], high=MAX_CONCURRENCY_RANGE[1]),
        max_receive_count=r.integer("max_receive_count", low=defaults.SQS_MAX_RECEIVE_COUNT,
                                    high=MAX_RECEIVE_COUNT_LIMIT),
        memory_mb=memory, timeout_seconds=timeout,
        architecture=r.choice("architecture", defaults.LAMBDA_ARCHITECTURES),
        log_retention_days=defaults.read_log_retention(r),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        deletion_protection=r.flag("deletion_protection"),
        access_log_bucket=r.input("access_log_bucket"),
        analysis=analysis,
    )


class Buckets(NamedTuple):
    upload: SecureBucket
    thumbnails: Optional[SecureBucket]
    """None when thumbnails go into the upload bucket or an existing one."""
    thumbnail_name: pulumi.Output[str]
    thumbnail_arn: pulumi.Output[str]


class Topic(NamedTuple):
    topic: Optional[aws.sns.Topic]
    publish_statements: list


class ThumbnailPipeline(pulumi.ComponentResource):
    upload_bucket_name: pulumi.Output[str]
    """Bucket clients upload originals to (under upload_prefix)."""
    upload_prefix: str
    """Key prefix that triggers thumbnailing."""
    thumbnail_bucket_name: pulumi.Output[str]
    """Bucket the thumbnails are written to, at `<size>/<original key>`."""
    queue_url: pulumi.Output[str]
    """URL of the queue between S3 and the function."""
    queue_arn: pulumi.Output[str]
    """ARN of that queue."""
    dlq_url: pulumi.Output[str]
    """URL of its dead-letter queue (redrive from here after a fix)."""
    dlq_arn: pulumi.Output[str]
    """ARN of its dead-letter queue."""
    topic_arn: Optional[pulumi.Output[str]]
    """SNS topic with one message per thumbnail set, when notifications are on."""
    function_name: pulumi.Output[str]
    """The thumbnailer function."""
    memory_mb: int
    """Memory the function got."""
    timeout_seconds: int
    """Timeout the function got."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    # Every arg has a default, so `args` may be left out; it is typed without Optional for Pulumi's analyzer.
    def __init__(self, name: str, args: ThumbnailPipelineArgs = None,  # type: ignore[assignment]
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:ThumbnailPipeline", name, None, opts)
        s = resolve_args(name, args)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        buckets = self._buckets(s)
        topic = self._topic(s)
        queue = self._queue(s, buckets.upload)
        function = self._function(s, buckets, queue, topic)
        self._mapping(s, queue, function)
        self._keep_uploads_read_only(s, buckets.upload, function)
        self._upload_events(s, buckets.upload, queue)
        self._alarms = s.alarms
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        deliveries = [monitoring.topic_delivery_watch(topic.topic._name, topic.topic.name, t)] if topic.topic else []
        monitored = monitoring.watch(name, s.alarms, [*function.watches(t), queue.depth_watch(t), *deliveries],
                                     parent=self)
        self.dashboard_name = monitored.dashboard_name if monitored else None

        # The component's children, for callers that extend it (not outputs).
        self.upload_bucket, self.thumbnail_bucket = buckets.upload, buckets.thumbnails
        self.queue, self.function, self.topic = queue, function, topic.topic
        self.upload_bucket_name = buckets.upload.name
        self.upload_prefix = s.upload_prefix
        self.thumbnail_bucket_name = buckets.thumbnail_name
        self.queue_url = queue.url
        self.queue_arn = queue.arn
        assert queue.dead_letter_queue is not None and queue.dlq_arn is not None  # _queue keeps dead_letter on
        self.dlq_url = queue.dead_letter_queue.url
        self.dlq_arn = queue.dlq_arn
        self.topic_arn = topic.topic.arn if topic.topic else None
        self.function_name = function.name
        self.memory_mb = s.memory_mb
        self.timeout_seconds = s.timeout_seconds
        self.register_outputs({
            "upload_bucket_name": self.upload_bucket_name, "upload_prefix": self.upload_prefix,
            "thumbnail_bucket_name": self.thumbnail_bucket_name, "queue_url": self.queue_url,
            "queue_arn": self.queue_arn, "dlq_url": self.dlq_url, "dlq_arn": self.dlq_arn,
            "topic_arn": self.topic_arn, "function_name": self.function_name,
        })

    # --- buckets -----------------------------------------------------------------------------------
    def _buckets(self, s: ResolvedThumbnailPipeline) -> Buckets:
        name, child = self._name, self._child
        upload = SecureBucket(f"{name}-uploads", {
            **s.access_logs,
            "force_destroy": not s.deletion_protection,
            "transfer_acceleration": s.transfer_acceleration,
            "defer_policy": True,  # its policy names the function's role, created below
        }, opts=child)
        if s.thumbnails_in_upload_bucket:
            return Buckets(upload, None, upload.name, upload.arn)
        if s.thumbnail_bucket_name:
            given = s.thumbnail_bucket_name
            partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
            # Same-bucket overlap can only be seen once the upload bucket's name is known: the check
            # sits on the function's THUMBNAIL_BUCKET input, so no function is deployed past it.
            checked_name = upload.name.apply(lambda upload_name: self._checked_destination(upload_name, given, s))
            return Buckets(upload, None, checked_name, pulumi.Output.concat("arn:", partition, ":s3:::", given))
        thumbnails = SecureBucket(f"{name}-thumbnails", {
            **s.access_logs,
            "force_destroy": not s.deletion_protection,
            "versioning": s.thumbnail_versioning,
            # Reprocessing overwrites every key: keep replaced versions just long enough to undo a mistake.
            "noncurrent_version_expiration_days": s.thumbnail_noncurrent_days,
        }, opts=child)
        return Buckets(upload, thumbnails, thumbnails.name, thumbnails.arn)

    # --- notifications topic -----------------------------------------------------------------------
    def _topic(self, s: ResolvedThumbnailPipeline) -> Topic:
        if not s.notifications:
            return Topic(None, [])
        name, child, key = self._name, self._child, s.topic_kms_key_arn
        topic = aws.sns.Topic(f"{name}-thumbnails-ready", kms_master_key_id=key or SNS_MANAGED_KEY,
                              signature_version=2, opts=child)
        aws.sns.TopicPolicy(f"{name}-thumbnails-ready-policy", arn=topic.arn, policy=policy_document([
            deny_insecure_transport([topic.arn], action=["sns:Publish", "sns:Subscribe"])]), opts=child)
        statements: list[PolicyStatement] = [allow(["sns:Publish"], [topic.arn], sid="PublishThumbnailSets")]
        if key:
            # A customer managed key's policy is the caller's; the publisher needs it through IAM.
            statements.append(allow(["kms:Decrypt", "kms:GenerateDataKey"], [key], sid="TopicKey"))
        return Topic(topic, statements)

    # --- queue -------------------------------------------------------------------------------------
    def _queue(self, s: ResolvedThumbnailPipeline, upload: SecureBucket) -> SecureQueue:
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # A batch may wait for its window before the function starts: count it in the visibility.
        visibility = defaults.visibility_timeout_for(s.timeout_seconds) + s.batching_window_seconds
        return SecureQueue(f"{self._name}-queue", SecureQueueArgs(
            consumer_timeout_seconds=s.timeout_seconds,
            visibility_timeout_seconds=visibility,
            max_receive_count=s.max_receive_count,
            policy_statements=[{
                "Sid": "UploadNotificationsFromS3",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                # No Resource: SecureQueue scopes the statement to this queue's ARN.
                "Condition": {"ArnEquals": {"aws:SourceArn": upload.arn},
                              "StringEquals": {"aws:SourceAccount": account_id}},
            }],
        ), opts=self._child)

    # --- function and its mapping ------------------------------------------------------------------
    def _function(self, s: ResolvedThumbnailPipeline, buckets: Buckets, queue: SecureQueue,
                  topic: Topic) -> LambdaFunction:
        prefix = s.upload_prefix
        return LambdaFunction(f"{self._name}-worker", {
            "code": "thumbnailer",
            "architecture": s.architecture,
            "memory_mb": s.memory_mb,
            "timeout_seconds": s.timeout_seconds,
            "log_retention_days": s.log_retention_days,
            "environment": {
                "THUMBNAIL_BUCKET": buckets.thumbnail_name,
                "SIZES": ",".join(str(size) for size in s.sizes),
                "OUTPUT_FORMAT": s.output_format,
                "QUALITY": str(s.quality),
                "MAX_BYTES": str(s.max_bytes),
                "MAX_PIXELS": str(s.max_pixels),
                "FAILURE_PREFIX": s.failure_prefix,
                "TOPIC_ARN": topic.topic.arn if topic.topic else "",
                **(s.analysis.environment() if s.analysis else {}),
            },
            "policy_statements": [
                allow(["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ReceiveMessage"], [queue.arn], sid="ConsumeUploadQueue"),
                allow(["s3:GetObject"], [buckets.upload.arn.apply(lambda arn: f"{arn}/{prefix}*")],
                      sid="ReadUploads"),
                # Without it a deleted upload reads as 403, not 404, and is retried into the DLQ.
                allow(["s3:ListBucket"], [buckets.upload.arn], sid="TellMissingUploadsFrom403"),
                allow(["s3:PutObject"], [buckets.thumbnail_arn.apply(_objects_under(p))
                                         for p in thumbnail_prefixes(s.sizes, s.failure_prefix)],
                      sid="WriteThumbnailsAndFailureRecords"),
                *topic.publish_statements,
                *([allow(REKOGNITION_ACTIONS, ["*"], sid="AnalyseImagesUnscopable")] if s.analysis else []),
            ],
        }, opts=self._child)

    def _mapping(self, s: ResolvedThumbnailPipeline, queue: SecureQueue,
                 function: LambdaFunction) -> aws.lambda_.EventSourceMapping:
        return aws.lambda_.EventSourceMapping(
            f"{self._name}-queue-mapping",
            event_source_arn=queue.arn,
            function_name=function.function.arn,
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": s.max_concurrency},
            opts=self._child)

    # --- the upload bucket: read-only to the function, and its events to the queue ----------------
    def _keep_uploads_read_only(self, s: ResolvedThumbnailPipeline, upload: SecureBucket,
                                function: LambdaFunction) -> aws.s3.BucketPolicy:
        """Belt and braces: even if the role is later widened, the upload bucket refuses its writes."""
        prefix = s.upload_prefix
        return upload.attach_policy([{
            "Sid": "ThumbnailerNeverWritesUploads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectTagging", "s3:DeleteObjectVersion", "s3:PutObject",
                       "s3:PutObjectAcl", "s3:PutObjectTagging", "s3:RestoreObject"],
            "Resource": [upload.arn.apply(lambda arn: f"{arn}/{prefix}*")],
            "Condition": {"ArnEquals": {"aws:PrincipalArn": function.role.arn}},
        }])

    def _upload_events(self, s: ResolvedThumbnailPipeline, upload: SecureBucket,
                       queue: SecureQueue) -> aws.s3.BucketNotification:
        # S3 checks it may send to the queue when the configuration is saved: the policy comes first.
        return aws.s3.BucketNotification(
            f"{self._name}-upload-events",
            bucket=upload.bucket.id,
            queues=[{"queue_arn": queue.arn, "events": ["s3:ObjectCreated:*"],
                     "filter_prefix": s.upload_prefix or None, "filter_suffix": suffix}
                    for suffix in notification_suffixes()],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue]))

    def subscribe_queue(self, subscriber: str, queue_args: Optional[SecureQueueArgs] = None) -> SecureQueue:
        """An SQS queue subscribed to the topic, with a redrive DLQ for deliveries SNS cannot make.

        The subscriber's queue keeps its own redrive DLQ (for its consumer's failures); the
        subscription's DLQ catches messages SNS could not deliver at all. Both are alarmed.
        """
        if self.topic is None:
            raise ValueError(f"{self._name}: subscribe_queue needs notifications=True (there is no topic)")
        child = pulumi.ResourceOptions(parent=self)
        from_topic = {
            "Sid": "ThumbnailSetsFromTopic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Condition": {"ArnEquals": {"aws:SourceArn": self.topic.arn}},
        }
        options = SecureQueueArgs(**queue_args) if queue_args else SecureQueueArgs()  # a copy, as pop() follows
        statements = [*options.pop("policy_statements", []), from_topic]
        queue = SecureQueue(f"{self._name}-{subscriber}", SecureQueueArgs(
            **options, policy_statements=statements), opts=child)
        undeliverable = SecureQueue(f"{self._name}-{subscriber}-undelivered", SecureQueueArgs(
            dead_letter=False, policy_statements=[from_topic]), opts=child)
        if self._alarms is not None:  # alarmed like the component's own queues (not on its dashboard)
            t = self._alarms.thresholds
            watches = [w for w in (queue.depth_watch(t) if queue.dead_letter_queue else None,
                                   undeliverable.depth_watch(t)) if w is not None]
            monitoring.watch(f"{self._name}-{subscriber}", dataclasses.replace(self._alarms, dashboard=False),
                             watches, parent=self)
        aws.sns.TopicSubscription(
            f"{self._name}-{subscriber}-subscription", topic=self.topic.arn, protocol="sqs", endpoint=queue.arn,
            raw_message_delivery=True,
            redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": undeliverable.arn}),
            # Both queue policies must admit SNS before the first delivery.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue, undeliverable]))
        return queue

    @staticmethod
    def _checked_destination(upload_bucket: str, thumbnail_bucket: str, s: ResolvedThumbnailPipeline) -> str:
        check_destination(upload_bucket, s.upload_prefix, thumbnail_bucket, s.sizes, s.failure_prefix)
        return thumbnail_bucket
