"""ThumbnailPipeline under mocks: buckets, queue wiring, IAM scoping, the loop guard, sizing, config."""
from __future__ import annotations

import json
import zipfile

import pulumi
import pytest

import stack_config
from serverless_blueprints import defaults, lambda_packaging
from serverless_blueprints import thumbnail_pipeline as tp
from serverless_blueprints.args import ArgsError
from serverless_blueprints.thumbnail_pipeline import ThumbnailPipeline
from offline.harness import ACCOUNT_ID, evaluate_program, evaluate_stack, read_stack_config
from tests.conftest import as_list, statements_of

CMK = "arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0000-4000-8000-000000000001"
ONCALL = "arn:aws:sns:eu-west-1:123456789012:oncall"
WRITE_ACTION_PREFIXES = ("s3:Put", "s3:Delete", "s3:Restore", "s3:Replicate", "s3:Abort")


def _evaluate(args: dict | None = None, subscribers: tuple[str, ...] = ()):
    def program():
        pipeline = ThumbnailPipeline("thumbs", args or {})
        for subscriber in subscribers:
            pipeline.subscribe_queue(subscriber)
        pulumi.export("pipeline", {
            "uploadBucket": pipeline.upload_bucket_name, "uploadPrefix": pipeline.upload_prefix,
            "thumbnailBucket": pipeline.thumbnail_bucket_name, "queueUrl": pipeline.queue_url,
            "queueArn": pipeline.queue_arn, "dlqUrl": pipeline.dlq_url, "dlqArn": pipeline.dlq_arn,
            "topicArn": pipeline.topic_arn, "function": pipeline.function_name})
    return evaluate_program(program)


@pytest.fixture(scope="module")
def stack():
    """The component with no arguments: every default."""
    return _evaluate()


@pytest.fixture(scope="module")
def notified():
    return _evaluate({"notifications": True, "alarms": {"topic_arn": ONCALL}}, subscribers=("indexer",))


@pytest.fixture(scope="module")
def alarmed():
    return _evaluate({"alarms": {"topic_arn": ONCALL}})


@pytest.fixture(scope="module")
def same_bucket():
    return _evaluate({"thumbnails_in_upload_bucket": True, "upload_prefix": "uploads/"})


@pytest.fixture(scope="module")
def existing_destination():
    return _evaluate({"thumbnail_bucket_name": "blog-site-assets"})


def _invalid(args: dict) -> str:
    with pytest.raises(ValueError) as error:  # ArgsError, or an overlap found once bucket names are known
        _evaluate(args)
    return str(error.value)


def _arn(stack, name: str) -> str:
    return stack.named(name).outputs["arn"]


def _env(stack) -> dict:
    return stack.named("thumbs-worker-fn").props["environment"]["variables"]


def _role_statements(stack) -> list[dict]:
    return statements_of(stack.named("thumbs-worker-policy"))


def _by_sid(statements: list[dict]) -> dict[str, dict]:
    return {s.get("Sid"): s for s in statements}


def _queue_props(stack) -> dict:
    return stack.named("thumbs-queue").props


def _mapping(stack) -> dict:
    return stack.named("thumbs-queue-mapping").props


def _notification_queues(stack) -> list[dict]:
    return stack.named("thumbs-upload-events").props["queues"]


def _is_write(action: str) -> bool:
    return action.startswith(WRITE_ACTION_PREFIXES) or "Tagging" in action or action in ("*", "s3:*")


def _reaches_bucket(resource: str, bucket_arn: str) -> bool:
    return resource in ("*", bucket_arn) or resource.startswith(bucket_arn + "/") or (
        resource.endswith("*") and bucket_arn.startswith(resource[:-1]))


# --- defaults reach the function --------------------------------------------------------------

@pytest.mark.parametrize("variable, expected", [
    ("SIZES", "128,256,512"),
    ("OUTPUT_FORMAT", "JPEG"),
    ("QUALITY", "82"),
    ("MAX_BYTES", str(50 * 1024 * 1024)),
    ("MAX_PIXELS", "50000000"),
    ("FAILURE_PREFIX", "_failures/"),
    ("TOPIC_ARN", ""),
])
def test_function_environment_default(stack, variable, expected):
    assert _env(stack)[variable] == expected


def test_function_writes_to_the_thumbnails_bucket_by_name(stack):
    assert _env(stack)["THUMBNAIL_BUCKET"] == stack.named("thumbs-thumbnails").outputs["bucket"]


def test_component_defaults_match_the_handlers_own_defaults():
    from thumbnailer import settings as handler_settings

    assert ",".join(map(str, tp.DEFAULT_SIZES)) == handler_settings.DEFAULT_SIZES
    assert tp.DEFAULT_OUTPUT_FORMAT == handler_settings.DEFAULT_OUTPUT_FORMAT
    assert tp.DEFAULT_QUALITY == handler_settings.DEFAULT_QUALITY
    assert tp.DEFAULT_MAX_BYTES == handler_settings.DEFAULT_MAX_BYTES
    assert tp.DEFAULT_MAX_PIXELS == handler_settings.DEFAULT_MAX_PIXELS
    assert tp.DEFAULT_FAILURE_PREFIX == handler_settings.DEFAULT_FAILURE_PREFIX


def test_output_formats_are_the_ones_the_handler_can_encode():
    from thumbnailer.imaging import CONTENT_TYPES

    assert set(tp.OUTPUT_FORMATS) == set(CONTENT_TYPES)


def test_function_runs_the_thumbnailer_package(stack):
    assert stack.named("thumbs-worker-fn").props["handler"] == "thumbnailer.handler.handler"


def test_function_is_arm64_by_default(stack):
    assert stack.named("thumbs-worker-fn").props["architectures"] == ["arm64"]


def test_function_runs_python_313(stack):
    assert stack.named("thumbs-worker-fn").props["runtime"] == defaults.LAMBDA_RUNTIME == "python3.13"


def test_function_layer_is_built_for_its_architecture_and_runtime(stack):
    layer = stack.named("thumbs-worker-deps")
    assert layer.props["compatibleArchitectures"] == ["arm64"]
    assert layer.props["compatibleRuntimes"] == ["python3.13"]
    assert stack.named("thumbs-worker-fn").props["layers"] == [layer.outputs["arn"]]


@pytest.mark.network  # builds an x86_64 layer no stack uses
def test_x86_64_function_gets_an_x86_64_layer():
    stack = _evaluate({"architecture": "x86_64"})
    assert stack.named("thumbs-worker-fn").props["architectures"] == ["x86_64"]
    assert stack.named("thumbs-worker-deps").props["compatibleArchitectures"] == ["x86_64"]


def test_log_retention_defaults_to_thirty_days(stack):
    assert stack.named("thumbs-worker-logs").props["retentionInDays"] == 30


# --- sizing ------------------------------------------------------------------------------------

def test_default_memory_is_derived_from_max_pixels_and_max_bytes(stack):
    # 128 MB runtime + 50 MiB object + 18 B x 50 MP decode = 1,036 MB, in 64 MB steps.
    assert tp.required_memory_mb(50_000_000, 50 * 2**20) == 1088
    assert stack.named("thumbs-worker-fn").props["memorySize"] == 1088


def test_default_timeout_fits_three_worst_case_images_after_the_handlers_reserve(stack):
    worst = tp.worst_image_seconds(50_000_000, 50 * 2**20, 1088)
    assert 10 + 3 * worst <= stack.named("thumbs-worker-fn").props["timeout"] == 60


def test_memory_grows_with_the_allowed_pixels():
    stack = _evaluate({"max_pixels": 100_000_000})
    assert stack.named("thumbs-worker-fn").props["memorySize"] == tp.required_memory_mb(100_000_000, 50 * 2**20)
    assert stack.named("thumbs-worker-fn").props["memorySize"] > 1088


def test_more_memory_than_required_is_accepted():
    stack = _evaluate({"function": {"memory_mb": 2048, "timeout_seconds": 120}})
    assert stack.named("thumbs-worker-fn").props["memorySize"] == 2048
    assert stack.named("thumbs-worker-fn").props["timeout"] == 120


def test_memory_below_what_the_largest_image_needs_is_rejected():
    message = _invalid({"function": {"memory_mb": 512}})
    assert "ThumbnailPipeline 'thumbs': function.memory_mb: 512 is out of range; allowed 1088 to 10240 (a " \
           "50000000-pixel, 52428800-byte image needs 1088 MB" in message


def test_timeout_too_short_for_the_largest_image_is_rejected():
    message = _invalid({"function": {"timeout_seconds": 15}})
    assert "function.timeout_seconds: 15 is out of range; allowed" in message and "s reserve)" in message


def test_limits_needing_more_than_lambdas_memory_are_rejected():
    with pytest.raises(ValueError, match="over Lambda's 10240 MB"):
        tp.required_memory_mb(600_000_000, 50 * 2**20)


def test_more_memory_buys_a_faster_worst_case_image():
    assert tp.worst_image_seconds(50_000_000, 0, 1769) < tp.worst_image_seconds(50_000_000, 0, 1088)


# --- queue, DLQ and the event source mapping -----------------------------------------------------

def test_queue_visibility_is_six_times_the_function_timeout(stack):
    timeout = stack.named("thumbs-worker-fn").props["timeout"]
    assert _queue_props(stack)["visibilityTimeoutSeconds"] == defaults.SQS_VISIBILITY_TIMEOUT_FACTOR * timeout


def test_batching_window_is_added_to_the_visibility_timeout():
    stack = _evaluate({"batch_size": 100, "batching_window_seconds": 20})
    timeout = stack.named("thumbs-worker-fn").props["timeout"]
    assert _queue_props(stack)["visibilityTimeoutSeconds"] == 6 * timeout + 20


def test_queue_redrives_to_its_dlq_after_five_receives(stack):
    redrive = json.loads(_queue_props(stack)["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": _arn(stack, "thumbs-queue-dlq"), "maxReceiveCount": 5}


def test_max_receive_count_below_five_is_rejected():
    assert "max_receive_count: 3 is out of range; allowed 5 to 1000" in _invalid({"max_receive_count": 3})


def test_queue_and_dlq_are_encrypted(stack):
    assert _queue_props(stack)["sqsManagedSseEnabled"] is True
    assert stack.named("thumbs-queue-dlq").props["sqsManagedSseEnabled"] is True


def test_dlq_alarms_on_its_first_message(alarmed):
    alarm = alarmed.named("thumbs-queue-dlq-not-empty").props
    assert alarm["dimensions"] == {"QueueName": alarmed.named("thumbs-queue-dlq").outputs["name"]}
    assert (alarm["threshold"], alarm["comparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_the_alarm_topic_hears_the_dlq_and_the_thumbnailer(alarmed):
    alarms = alarmed.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert {a.name for a in alarms} == {"thumbs-queue-dlq-not-empty", "thumbs-worker-errors", "thumbs-worker-throttles"}
    assert all(a.props["alarmActions"] == a.props["okActions"] == [ONCALL] for a in alarms)


def test_without_alarms_there_are_none(stack):
    assert not stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")


def test_queue_policy_admits_only_s3_from_the_upload_bucket_and_account(stack):
    allows = [s for s in statements_of(stack.named("thumbs-queue-policy")) if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (statement,) = allows
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert as_list(statement["Resource"]) == [_arn(stack, "thumbs-queue")]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": _arn(stack, "thumbs-uploads")},
                                      "StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_queue_policy_denies_insecure_transport(stack):
    deny = _by_sid(statements_of(stack.named("thumbs-queue-policy")))["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_mapping_feeds_the_queue_to_the_function(stack):
    assert _mapping(stack)["eventSourceArn"] == _arn(stack, "thumbs-queue")
    assert _mapping(stack)["functionName"] == _arn(stack, "thumbs-worker-fn")


def test_mapping_reports_batch_item_failures(stack):
    assert _mapping(stack)["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_mapping_caps_concurrency_at_ten_by_default(stack):
    assert _mapping(stack)["scalingConfig"] == {"maximumConcurrency": 10}


def test_mapping_default_batch_is_ten_messages_without_a_window(stack):
    assert (_mapping(stack)["batchSize"], _mapping(stack)["maximumBatchingWindowInSeconds"]) == (10, 0)


def test_batch_size_over_ten_without_a_window_is_rejected():
    assert "batching_window_seconds: must be at least 1 when batch_size is over 10 (an SQS rule), got 0 with " \
           "batch_size 11" in _invalid({"batch_size": 11})


def test_batch_size_over_ten_with_a_window_is_accepted():
    stack = _evaluate({"batch_size": 500, "batching_window_seconds": 5, "max_concurrency": 50})
    assert (_mapping(stack)["batchSize"], _mapping(stack)["maximumBatchingWindowInSeconds"]) == (500, 5)
    assert _mapping(stack)["scalingConfig"] == {"maximumConcurrency": 50}


@pytest.mark.parametrize("concurrency", [1, 1001])
def test_max_concurrency_outside_two_to_a_thousand_is_rejected(concurrency):
    assert f"max_concurrency: {concurrency} is out of range; allowed 2 to 1000" in _invalid(
        {"max_concurrency": concurrency})


# --- S3 notifications ----------------------------------------------------------------------------

def test_notifications_filter_each_image_suffix_in_lower_and_upper_case(stack):
    suffixes = sorted(q["filterSuffix"] for q in _notification_queues(stack))
    assert suffixes == sorted([".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".gif", ".GIF",
                               ".webp", ".WEBP"])


def test_notifications_are_limited_to_the_upload_prefix(stack):
    assert {q["filterPrefix"] for q in _notification_queues(stack)} == {"uploads/"}


def test_notifications_send_every_object_created_event_to_the_queue(stack):
    for queue in _notification_queues(stack):
        assert queue["events"] == ["s3:ObjectCreated:*"]
        assert queue["queueArn"] == _arn(stack, "thumbs-queue")


def test_notifications_are_on_the_upload_bucket(stack):
    assert stack.named("thumbs-upload-events").props["bucket"] == stack.named("thumbs-uploads").outputs["id"]


def test_notifications_depend_on_the_queue_policy(stack):
    assert stack.named("thumbs-queue-policy").urn in stack.named("thumbs-upload-events").dependencies


def test_empty_upload_prefix_watches_the_whole_bucket():
    stack = _evaluate({"upload_prefix": ""})
    assert all("filterPrefix" not in q for q in _notification_queues(stack))
    assert as_list(_by_sid(_role_statements(stack))["ReadUploads"]["Resource"]) == [
        _arn(stack, "thumbs-uploads") + "/*"]


# --- no loops: the role and the upload bucket's policy ----------------------------------------

def test_role_cannot_write_tag_or_delete_anything_in_the_upload_bucket(stack):
    upload = _arn(stack, "thumbs-uploads")
    for statement in _role_statements(stack):
        if statement["Effect"] != "Allow":
            continue
        writes = [a for a in as_list(statement["Action"]) if _is_write(a)]
        reached = [r for r in as_list(statement["Resource"]) if _reaches_bucket(r, upload)]
        assert not (writes and reached), f"{statement.get('Sid')} lets the function write {reached}"


def test_role_reads_only_under_the_upload_prefix(stack):
    read = _by_sid(_role_statements(stack))["ReadUploads"]
    assert as_list(read["Action"]) == ["s3:GetObject"]
    assert as_list(read["Resource"]) == [_arn(stack, "thumbs-uploads") + "/uploads/*"]


def test_role_writes_only_thumbnail_and_failure_prefixes_of_the_thumbnails_bucket(stack):
    thumbnails = _arn(stack, "thumbs-thumbnails")
    write = _by_sid(_role_statements(stack))["WriteThumbnailsAndFailureRecords"]
    assert as_list(write["Action"]) == ["s3:PutObject"]
    assert as_list(write["Resource"]) == [f"{thumbnails}/128/*", f"{thumbnails}/256/*", f"{thumbnails}/512/*",
                                          f"{thumbnails}/_failures/*"]


def test_role_may_list_the_upload_bucket_so_a_deleted_upload_reads_as_404(stack):
    listing = _by_sid(_role_statements(stack))["TellMissingUploadsFrom403"]
    assert (as_list(listing["Action"]), as_list(listing["Resource"])) == (
        ["s3:ListBucket"], [_arn(stack, "thumbs-uploads")])


def test_role_consumes_only_its_queue(stack):
    consume = _by_sid(_role_statements(stack))["ConsumeUploadQueue"]
    assert as_list(consume["Action"]) == ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                                          "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert as_list(consume["Resource"]) == [_arn(stack, "thumbs-queue")]


def test_role_has_no_wildcard_actions(stack):
    for statement in _role_statements(stack):
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{statement.get('Sid')}: {action}"


def test_upload_bucket_policy_denies_the_role_any_write_under_the_upload_prefix(stack):
    deny = _by_sid(statements_of(stack.named("thumbs-uploads-policy")))["ThumbnailerNeverWritesUploads"]
    assert deny["Effect"] == "Deny"
    assert {"s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"} <= set(as_list(deny["Action"]))
    assert as_list(deny["Resource"]) == [_arn(stack, "thumbs-uploads") + "/uploads/*"]
    assert deny["Condition"] == {"ArnEquals": {"aws:PrincipalArn": _arn(stack, "thumbs-worker-role")}}


def test_upload_bucket_policy_stays_tls_only(stack):
    tls = _by_sid(statements_of(stack.named("thumbs-uploads-policy")))["DenyInsecureTransport"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("fixture", ["stack", "same_bucket", "existing_destination"])
def test_guardrail_pack_finds_no_write_back_into_the_trigger(request, fixture):
    from policy.evaluate import evaluate

    report = evaluate(request.getfixturevalue(fixture).resources, environment="prod")
    assert report.for_rule("SB-TRIGGER-001") == []


@pytest.mark.parametrize("a, b, overlap", [
    ("uploads/", "128/", False),
    ("", "128/", True),
    ("1", "128/", True),
    ("128/photos/", "128/", True),
    ("_failures/", "_failures/", True),
    ("uploads", "uploads-old/", True),
])
def test_prefixes_overlap_when_one_starts_the_other(a, b, overlap):
    assert tp.prefixes_overlap(a, b) is overlap


def test_a_different_destination_bucket_never_overlaps():
    tp.check_destination("photos-uploads", "", "blog-site-assets", [128], "_failures/")


def test_the_same_destination_bucket_under_the_upload_prefix_overlaps():
    with pytest.raises(tp.SourceDestinationOverlap, match="'photos-uploads' under '128/'"):
        tp.check_destination("photos-uploads", "", "Photos-Uploads", [128], "_failures/")


def test_thumbnails_in_the_upload_bucket_create_no_second_bucket(same_bucket):
    assert [r.name for r in same_bucket.of_type("aws:s3/bucket:Bucket")] == ["thumbs-uploads"]
    assert _env(same_bucket)["THUMBNAIL_BUCKET"] == same_bucket.named("thumbs-uploads").outputs["bucket"]


def test_thumbnails_in_the_upload_bucket_are_written_beside_the_upload_prefix_only(same_bucket):
    upload = _arn(same_bucket, "thumbs-uploads")
    write = _by_sid(_role_statements(same_bucket))["WriteThumbnailsAndFailureRecords"]
    resources = as_list(write["Resource"])
    assert resources == [f"{upload}/128/*", f"{upload}/256/*", f"{upload}/512/*", f"{upload}/_failures/*"]
    assert not [r for r in resources if r.startswith(f"{upload}/uploads/")]


@pytest.mark.parametrize("prefix", ["", "1", "128/", "512/camera/", "_failures/x/", "_"])
def test_thumbnails_in_the_upload_bucket_under_an_overlapping_prefix_are_rejected(prefix):
    with pytest.raises(ArgsError, match=r"upload_prefix: with thumbnails_in_upload_bucket, .*each thumbnail would "
                                        r"trigger more thumbnails"):
        _evaluate({"thumbnails_in_upload_bucket": True, "upload_prefix": prefix})


def test_overlap_with_a_custom_failure_prefix_is_rejected():
    with pytest.raises(ArgsError, match="upload_prefix: with thumbnails_in_upload_bucket, .*'uploads/failed/'"):
        _evaluate({"thumbnails_in_upload_bucket": True, "failure_prefix": "uploads/failed/"})


def test_existing_destination_bucket_is_written_by_name(existing_destination):
    assert [r.name for r in existing_destination.of_type("aws:s3/bucket:Bucket")] == ["thumbs-uploads"]
    assert _env(existing_destination)["THUMBNAIL_BUCKET"] == "blog-site-assets"
    write = _by_sid(_role_statements(existing_destination))["WriteThumbnailsAndFailureRecords"]
    assert as_list(write["Resource"])[0] == "arn:aws:s3:::blog-site-assets/128/*"


def test_existing_destination_naming_the_upload_bucket_with_an_overlapping_prefix_is_rejected(stack):
    upload_bucket = stack.named("thumbs-uploads").outputs["bucket"]  # names are deterministic under the mocks
    message = _invalid({"thumbnail_bucket_name": upload_bucket, "upload_prefix": ""})
    assert "each thumbnail would trigger more thumbnails" in message


def test_destination_given_both_ways_is_rejected():
    assert "thumbnail_bucket_name: set it or thumbnails_in_upload_bucket, not both" in _invalid(
        {"thumbnail_bucket_name": "blog-site-assets", "thumbnails_in_upload_bucket": True})


def test_destination_that_is_not_a_bucket_name_is_rejected():
    assert "thumbnail_bucket_name: expected an existing S3 bucket name" in _invalid(
        {"thumbnail_bucket_name": "Blog_Assets"})


@pytest.mark.parametrize("prefix", ["uploads/*", "/uploads/", "users/${aws:username}/", "up?/"])
def test_upload_prefix_that_would_widen_an_iam_arn_is_rejected(prefix):
    assert f"upload_prefix: expected a key prefix without a leading '/', '*', '?' or '${{', of at most 512 bytes " \
           f"(it is part of IAM resource ARNs), got {prefix!r}" in _invalid({"upload_prefix": prefix})


def test_empty_failure_prefix_is_rejected():
    assert "failure_prefix: expected a non-empty key prefix" in _invalid({"failure_prefix": ""})


# --- buckets ----------------------------------------------------------------------------------

def test_upload_bucket_is_versioned(stack):
    assert stack.named("thumbs-uploads-versioning").props["versioningConfiguration"]["status"] == "Enabled"


def test_thumbnails_bucket_is_versioned_by_default(stack):
    assert stack.named("thumbs-thumbnails-versioning").props["versioningConfiguration"]["status"] == "Enabled"


def _noncurrent_days(stack, bucket: str) -> list[int]:
    rules = stack.named(f"{bucket}-lifecycle").props["rules"]
    return [r["noncurrentVersionExpiration"]["noncurrentDays"] for r in rules if "noncurrentVersionExpiration" in r]


def test_replaced_thumbnails_are_kept_one_day(stack):
    assert _noncurrent_days(stack, "thumbs-thumbnails") == [1]


def test_replaced_uploads_keep_the_standard_thirty_days(stack):
    assert _noncurrent_days(stack, "thumbs-uploads") == [defaults.NONCURRENT_VERSION_EXPIRATION_DAYS]


def test_thumbnail_versioning_can_be_turned_off_for_derived_data():
    stack = _evaluate({"thumbnail_versioning": False})
    assert stack.named("thumbs-thumbnails-versioning").props["versioningConfiguration"]["status"] == "Suspended"
    assert stack.named("thumbs-uploads-versioning").props["versioningConfiguration"]["status"] == "Enabled"


@pytest.mark.parametrize("bucket", ["thumbs-uploads", "thumbs-thumbnails"])
def test_bucket_blocks_every_kind_of_public_access(stack, bucket):
    block = stack.named(f"{bucket}-public-access").props
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                "restrictPublicBuckets"))


def test_transfer_acceleration_is_off_by_default(stack):
    assert not stack.of_type("aws:s3/bucketAccelerateConfiguration:BucketAccelerateConfiguration")


def test_transfer_acceleration_applies_to_the_upload_bucket():
    stack = _evaluate({"transfer_acceleration": True})
    (acceleration,) = stack.of_type("aws:s3/bucketAccelerateConfiguration:BucketAccelerateConfiguration")
    assert acceleration.name == "thumbs-uploads-acceleration" and acceleration.props["status"] == "Enabled"


def test_no_access_logging_unless_a_log_bucket_is_given(stack):
    assert not stack.of_type("aws:s3/bucketLogging:BucketLogging")


def test_access_logs_of_both_buckets_go_to_the_given_log_bucket():
    stack = _evaluate({"access_log_bucket": "org-access-logs"})
    logging = {r.name: r.props for r in stack.of_type("aws:s3/bucketLogging:BucketLogging")}
    assert {name: props["targetBucket"] for name, props in logging.items()} == {
        "thumbs-uploads-access-logs": "org-access-logs", "thumbs-thumbnails-access-logs": "org-access-logs"}


def test_buckets_can_be_destroyed_by_default(stack):
    assert stack.named("thumbs-uploads").props["forceDestroy"] is True
    assert stack.named("thumbs-thumbnails").props["forceDestroy"] is True


def test_deletion_protection_keeps_non_empty_buckets():
    stack = _evaluate({"deletion_protection": True})
    assert stack.named("thumbs-uploads").props["forceDestroy"] is False
    assert stack.named("thumbs-thumbnails").props["forceDestroy"] is False


# --- notifications topic ----------------------------------------------------------------------

def test_no_topic_by_default(stack):
    assert not [r for r in stack.resources if r.resource_type.startswith("aws:sns/")]
    assert "PublishThumbnailSets" not in _by_sid(_role_statements(stack))


def test_topic_is_encrypted_with_the_aws_managed_sns_key(notified):
    assert notified.named("thumbs-thumbnails-ready").props["kmsMasterKeyId"] == "alias/aws/sns"


def test_topic_policy_denies_insecure_transport(notified):
    policy = notified.named("thumbs-thumbnails-ready-policy")
    (statement,) = statements_of(policy)
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert as_list(statement["Resource"]) == [_arn(notified, "thumbs-thumbnails-ready")]
    assert policy.props["arn"] == _arn(notified, "thumbs-thumbnails-ready")


def test_function_publishes_to_its_topic_only(notified):
    topic = _arn(notified, "thumbs-thumbnails-ready")
    assert _env(notified)["TOPIC_ARN"] == topic
    publish = [s for s in _role_statements(notified) if "sns:Publish" in as_list(s["Action"])]
    assert [(as_list(s["Action"]), as_list(s["Resource"])) for s in publish] == [(["sns:Publish"], [topic])]


def test_customer_managed_topic_key_is_used_and_granted_to_the_publisher():
    stack = _evaluate({"notifications": True, "topic_kms_key_arn": CMK})
    assert stack.named("thumbs-thumbnails-ready").props["kmsMasterKeyId"] == CMK
    key = _by_sid(_role_statements(stack))["TopicKey"]
    assert (as_list(key["Action"]), as_list(key["Resource"])) == (["kms:Decrypt", "kms:GenerateDataKey"], [CMK])


def test_topic_has_no_subscriptions_unless_asked():
    stack = _evaluate({"notifications": True})
    assert not stack.of_type("aws:sns/topicSubscription:TopicSubscription")


def test_queue_subscription_redrives_undeliverable_messages_to_an_alarmed_queue(notified):
    subscription = notified.named("thumbs-indexer-subscription").props
    assert subscription["protocol"] == "sqs" and subscription["endpoint"] == _arn(notified, "thumbs-indexer")
    assert json.loads(subscription["redrivePolicy"]) == {
        "deadLetterTargetArn": _arn(notified, "thumbs-indexer-undelivered")}
    assert notified.named("thumbs-indexer-undelivered-not-empty").props["alarmActions"] == [ONCALL]


def test_subscribed_queues_admit_only_the_topic(notified):
    topic = _arn(notified, "thumbs-thumbnails-ready")
    for queue in ("thumbs-indexer", "thumbs-indexer-undelivered"):
        (allowed,) = [s for s in statements_of(notified.named(f"{queue}-policy")) if s["Effect"] == "Allow"]
        assert allowed["Principal"] == {"Service": "sns.amazonaws.com"}
        assert as_list(allowed["Resource"]) == [_arn(notified, queue)]
        assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}


def test_subscription_waits_for_both_queue_policies(notified):
    dependencies = notified.named("thumbs-indexer-subscription").dependencies
    assert notified.named("thumbs-indexer-policy").urn in dependencies
    assert notified.named("thumbs-indexer-undelivered-policy").urn in dependencies


def test_subscribing_without_notifications_is_rejected():
    with pytest.raises(ValueError, match="notifications=True"):
        _evaluate({}, subscribers=("indexer",))


# --- other argument validation ----------------------------------------------------------------

@pytest.mark.parametrize("sizes", [[], [8], [5000], [128, 128], list(range(100, 1200, 100))])
def test_sizes_outside_the_allowed_set_are_rejected(sizes):
    assert "sizes: expected 1 to 10 distinct whole numbers, each from 16 to 4096" in _invalid({"sizes": sizes})


def test_sizes_are_passed_in_ascending_order():
    assert _env(_evaluate({"sizes": [1024, 64]}))["SIZES"] == "64,1024"


def test_unknown_output_format_is_rejected():
    assert "JPEG, WEBP" in _invalid({"output_format": "PNG"})


@pytest.mark.parametrize("quality", [0, 96])
def test_quality_outside_one_to_ninety_five_is_rejected(quality):
    assert f"quality: {quality} is out of range; allowed 1 to 95" in _invalid({"quality": quality})


def test_webp_output_and_quality_reach_the_function():
    env = _env(_evaluate({"output_format": "WEBP", "quality": 70}))
    assert (env["OUTPUT_FORMAT"], env["QUALITY"]) == ("WEBP", "70")


# --- outputs ----------------------------------------------------------------------------------

def test_outputs_name_both_buckets_the_queue_the_dlq_and_the_function(stack):
    exported = stack.exports["pipeline"]
    assert exported["uploadBucket"] == stack.named("thumbs-uploads").outputs["bucket"]
    assert exported["thumbnailBucket"] == stack.named("thumbs-thumbnails").outputs["bucket"]
    assert exported["uploadPrefix"] == "uploads/"
    assert (exported["queueUrl"], exported["queueArn"]) == (stack.named("thumbs-queue").outputs["url"],
                                                            _arn(stack, "thumbs-queue"))
    assert (exported["dlqUrl"], exported["dlqArn"]) == (stack.named("thumbs-queue-dlq").outputs["url"],
                                                        _arn(stack, "thumbs-queue-dlq"))
    assert exported["function"] == stack.named("thumbs-worker-fn").outputs["name"]
    assert exported["topicArn"] is None


def test_topic_arn_is_an_output_when_notifications_are_on(notified):
    assert notified.exports["pipeline"]["topicArn"] == _arn(notified, "thumbs-thumbnails-ready")


# --- the real stacks --------------------------------------------------------------------------

def test_dev_stack_enables_the_pipeline_without_a_topic(dev_stack):
    pipeline = dev_stack.named("photos")
    assert pipeline.resource_type == "serverless-blueprints:index:ThumbnailPipeline"
    assert not [r for r in dev_stack.descendants_of(pipeline.urn) if r.resource_type == "aws:sns/topic:Topic"]
    assert dev_stack.named("photos-queue-mapping").props["scalingConfig"] == {"maximumConcurrency": 2}


def test_prod_stack_enables_the_pipeline_with_a_topic(prod_stack):
    pipeline = prod_stack.named("photos")
    assert [r.name for r in prod_stack.descendants_of(pipeline.urn)
            if r.resource_type == "aws:sns/topic:Topic"] == ["photos-thumbnails-ready"]
    assert prod_stack.named("photos-queue-mapping").props["scalingConfig"] == {"maximumConcurrency": 20}


def test_prod_stack_keeps_its_buckets_and_a_year_of_logs(prod_stack):
    assert prod_stack.named("photos-uploads").props["forceDestroy"] is False
    assert prod_stack.named("photos-worker-logs").props["retentionInDays"] == 365


def test_stacks_place_the_pipeline_in_the_home_region(dev_stack):
    assert dev_stack.provider_of(dev_stack.named("photos-queue")).props["region"] == "eu-west-1"


@pytest.mark.parametrize("fixture", ["dev_stack", "prod_stack"])
def test_stack_exports_the_pipeline(request, fixture):
    snapshot = request.getfixturevalue(fixture)
    exported = snapshot.exports["thumbnails"]
    assert exported["uploadBucket"] == snapshot.named("photos-uploads").outputs["bucket"]
    assert exported["thumbnailBucket"] == snapshot.named("photos-thumbnails").outputs["bucket"]
    assert exported["queueUrl"] == snapshot.named("photos-queue").outputs["url"]
    assert exported["deadLetterQueueArn"] == snapshot.named("photos-queue-dlq").outputs["arn"]
    assert "topicArn" in exported


# --- stack config -----------------------------------------------------------------------------

def _parse(thumbnails: dict, environment: str = "dev"):
    return stack_config.parse({"environment": environment, "thumbnails": {"enabled": True, **thumbnails}},
                              "eu-west-1")


def _config_error(thumbnails: dict) -> str:
    with pytest.raises(stack_config.ConfigError) as error:
        _parse(thumbnails)
    return str(error.value)


def _resolved(thumbnails: dict, environment: str = "dev") -> tp.ResolvedThumbnailPipeline:
    return tp.resolve_args("photos", _parse(thumbnails, environment).thumbnails)


def test_config_section_is_the_components_args_plus_the_stacks_retention_and_protection():
    assert _parse({}).thumbnails == {"log_retention_days": 7, "deletion_protection": False}
    assert _parse({}, "prod").thumbnails == {"log_retention_days": 365, "deletion_protection": True}


def test_config_defaults_are_the_components():
    settings = _resolved({})
    assert settings.upload_prefix == "uploads/" and settings.sizes == [128, 256, 512]
    assert (settings.output_format, settings.quality) == ("JPEG", 82)
    assert (settings.max_bytes, settings.max_pixels) == (50 * 2**20, 50_000_000)
    assert (settings.notifications, settings.max_concurrency, settings.transfer_acceleration) == (False, 10, False)
    assert (settings.memory_mb, settings.timeout_seconds) == (1088, 60)


def test_stacks_set_notifications_and_concurrency_in_their_yaml():
    dev, prod = read_stack_config("dev"), read_stack_config("prod")
    assert {k: dev["serverless-blueprints:thumbnails"][k] for k in ("notifications", "maxConcurrency")} == {
        "notifications": False, "maxConcurrency": 2}
    assert {k: prod["serverless-blueprints:thumbnails"][k] for k in ("notifications", "maxConcurrency")} == {
        "notifications": True, "maxConcurrency": 20}


def test_config_larger_max_pixels_raise_the_default_memory():
    assert _resolved({"maxPixels": 100_000_000}).memory_mb == tp.required_memory_mb(100_000_000, 50 * 2**20)


def test_config_disabled_section_is_not_deployed():
    parsed = stack_config.parse({"environment": "dev", "thumbnails": {"enabled": False}}, "eu-west-1")
    assert parsed.thumbnails is None


def test_config_section_without_enabled_is_deployed():
    parsed = stack_config.parse({"environment": "dev", "thumbnails": {"maxConcurrency": 5}}, "eu-west-1")
    assert parsed.thumbnails["max_concurrency"] == 5


def test_config_misspelled_enabled_is_an_error_not_a_missing_pipeline():
    with pytest.raises(stack_config.ConfigError, match=r"serverless-blueprints:thumbnails\.enable: unknown key "
                                                       r"\(did you mean 'enabled'\?\)"):
        stack_config.parse({"environment": "dev", "thumbnails": {"enable": True}}, "eu-west-1")


def test_config_key_beside_enabled_false_is_refused():
    with pytest.raises(stack_config.ConfigError, match=r"thumbnails\.maxConcurrency: belongs to "
                                                       r"serverless-blueprints:thumbnails, which is disabled"):
        stack_config.parse({"environment": "dev", "thumbnails": {"enabled": False, "maxConcurrency": 5}},
                           "eu-west-1")


@pytest.mark.parametrize("sizes", [[8], [5000], [128, 128], [], "128"])
def test_config_sizes_outside_16_to_4096_name_the_key(sizes):
    message = _config_error({"sizes": sizes})
    assert "serverless-blueprints:thumbnails.sizes: " in message and "16 to 4096" in message


def test_config_output_format_names_the_allowed_values():
    message = _config_error({"outputFormat": "PNG"})
    assert "thumbnails.outputFormat: 'PNG' is not allowed; allowed values: JPEG, WEBP" in message


@pytest.mark.parametrize("quality", [0, 96])
def test_config_quality_outside_1_to_95_names_the_key(quality):
    assert f"thumbnails.quality: {quality} is out of range; allowed 1 to 95" in _config_error({"quality": quality})


def test_config_batch_size_over_ten_without_a_window_names_the_keys():
    message = _config_error({"batchSize": 100})
    assert "thumbnails.batchingWindowSeconds: must be at least 1 when batchSize is over 10" in message


def test_config_batch_size_over_ten_with_a_window_is_accepted():
    settings = _resolved({"batchSize": 100, "batchingWindowSeconds": 2})
    assert (settings.batch_size, settings.batching_window_seconds) == (100, 2)


@pytest.mark.parametrize("key, value, allowed", [
    ("batchSize", 0, "1 to 10000"),
    ("batchSize", 10001, "1 to 10000"),
    ("maxConcurrency", 1, "2 to 1000"),
    ("maxConcurrency", 1001, "2 to 1000"),
    ("batchingWindowSeconds", 301, "0 to 300"),
])
def test_config_queue_knobs_out_of_range_name_the_key(key, value, allowed):
    message = _config_error({key: value})
    assert f"thumbnails.{key}: {value} is out of range; allowed {allowed}" in message


def test_config_overlapping_prefix_in_the_upload_bucket_is_rejected_at_preview():
    message = _config_error({"thumbnailsInUploadBucket": True, "uploadPrefix": ""})
    assert "thumbnails.uploadPrefix: with thumbnailsInUploadBucket" in message
    assert "each thumbnail would trigger more thumbnails" in message


def test_stack_with_an_overlapping_destination_fails_before_any_resource():
    config = read_stack_config("dev")
    config["serverless-blueprints:thumbnails"] = {"enabled": True, "thumbnailsInUploadBucket": True,
                                                  "uploadPrefix": "1"}
    with pytest.raises(stack_config.ConfigError,
                       match="stack 'dev': serverless-blueprints:thumbnails.uploadPrefix"):
        evaluate_stack("dev", config=config)


def test_config_disjoint_prefix_in_the_upload_bucket_is_accepted():
    settings = _resolved({"thumbnailsInUploadBucket": True, "uploadPrefix": "originals/"})
    assert settings.thumbnails_in_upload_bucket and settings.upload_prefix == "originals/"


def test_config_destination_given_both_ways_is_rejected():
    message = _config_error({"thumbnailsInUploadBucket": True, "thumbnailBucketName": "blog-site-assets"})
    assert "thumbnails.thumbnailBucketName: set it or thumbnailsInUploadBucket, not both" in message


def test_config_bad_destination_bucket_name_names_the_key():
    assert "thumbnails.thumbnailBucketName: expected an existing S3 bucket name" in _config_error(
        {"thumbnailBucketName": "Not_A_Bucket"})


def test_config_wildcard_prefix_names_the_key():
    assert "thumbnails.uploadPrefix: expected a key prefix" in _config_error({"uploadPrefix": "uploads/*"})


def test_config_memory_below_what_the_largest_image_needs_names_the_key():
    message = _config_error({"function": {"memoryMb": 512}})
    assert "thumbnails.function.memoryMb: 512 is out of range; allowed 1088 to 10240" in message


def test_config_timeout_too_short_for_the_largest_image_names_the_key():
    message = _config_error({"function": {"timeoutSeconds": 5}})
    assert "thumbnails.function.timeoutSeconds: 5 is out of range; allowed" in message and "to 900" in message


def test_config_max_pixels_over_pillows_hard_limit_names_the_key():
    message = _config_error({"maxPixels": 500_000_000})
    assert "thumbnails.maxPixels: 500000000 is out of range" in message and str(tp.MAX_PIXELS_LIMIT) in message


def test_library_max_pixels_over_pillows_hard_limit_names_the_arg():
    assert f"max_pixels: 500000000 is out of range; allowed 1000000 to {tp.MAX_PIXELS_LIMIT}" in _invalid(
        {"max_pixels": 500_000_000})


def test_config_unknown_key_is_rejected():
    message = _config_error({"thumbnailSizes": [64]})
    assert "thumbnails.thumbnailSizes: unknown key" in message and "allowed: accessLogBucket" in message


@pytest.mark.parametrize("args, key", [({"notification": True}, "notification"), ({"memoryMb": 1024}, "memoryMb")])
def test_library_unknown_arg_is_rejected_with_the_allowed_ones(args, key):
    message = _invalid(args)
    assert f"ThumbnailPipeline 'thumbs': {key}: unknown arg" in message
    assert "allowed: access_log_bucket, alarms, analysis, architecture, batch_size" in message


def test_library_unknown_sizing_arg_is_rejected():
    assert "function.memory: unknown arg (did you mean 'memory_mb'?)" in _invalid({"function": {"memory": 2048}})


def test_analyzer_infers_the_args_as_inputs_and_the_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([ThumbnailPipeline])
    definition = result["component_definitions"]["ThumbnailPipeline"]
    assert {"uploadPrefix", "sizes", "outputFormat", "maxPixels", "notifications", "thumbnailBucketName",
            "thumbnailsInUploadBucket", "maxConcurrency", "function", "logRetentionDays",
            "deletionProtection", "accessLogBucket"} <= set(definition.inputs)
    assert all(prop.optional for prop in definition.inputs.values())
    assert definition.inputs["function"].ref.endswith(":index:FunctionSizing")
    assert set(result["type_definitions"]["FunctionSizing"].properties) == {"memoryMb", "timeoutSeconds"}
    assert set(definition.outputs) == {
        "uploadBucketName", "uploadPrefix", "thumbnailBucketName", "queueUrl", "queueArn", "dlqUrl", "dlqArn",
        "topicArn", "functionName", "memoryMb", "timeoutSeconds", "dashboardName"}
    assert definition.outputs["topicArn"].optional and not definition.outputs["queueUrl"].optional


# --- optional Rekognition analysis ------------------------------------------------------------

ANALYSIS = {"enabled": True, "min_confidence": 90, "max_labels": 5, "block_categories": ["Violence", "Drugs & Tobacco"]}
ANALYSIS_VARIABLES = {"ANALYSIS_ENABLED", "ANALYSIS_MIN_CONFIDENCE", "ANALYSIS_MAX_LABELS", "ANALYSIS_BLOCK_CATEGORIES"}


@pytest.fixture(scope="module")
def analysed():
    return _evaluate({"analysis": ANALYSIS, "notifications": True})


def _rekognition_statements(stack) -> list[dict]:
    return [s for s in _role_statements(stack) if any(a.startswith("rekognition:") for a in as_list(s["Action"]))]


def test_analysis_is_off_by_default_with_no_rekognition_grant_or_variable(stack):
    assert not ANALYSIS_VARIABLES & set(_env(stack))
    assert _rekognition_statements(stack) == []
    assert tp.resolve_args("thumbs", {}).analysis is None


def test_analysis_turned_off_explicitly_adds_nothing():
    off = tp.resolve_args("thumbs", {"analysis": {"enabled": False, "min_confidence": 50}})
    assert off.analysis is None and off.timeout_seconds == tp.resolve_args("thumbs", {}).timeout_seconds


def test_analysis_grants_exactly_the_two_detect_actions_on_every_resource(analysed):
    (statement,) = _rekognition_statements(analysed)
    assert sorted(as_list(statement["Action"])) == ["rekognition:DetectLabels", "rekognition:DetectModerationLabels"]
    assert as_list(statement["Resource"]) == ["*"] and statement["Effect"] == "Allow"


def test_analysis_settings_reach_the_function(analysed):
    env = _env(analysed)
    assert {k: env[k] for k in ANALYSIS_VARIABLES} == {
        "ANALYSIS_ENABLED": "true", "ANALYSIS_MIN_CONFIDENCE": "90", "ANALYSIS_MAX_LABELS": "5",
        "ANALYSIS_BLOCK_CATEGORIES": '["Violence", "Drugs & Tobacco"]'}


def test_analysis_settings_are_the_ones_the_handler_reads(analysed):
    from thumbnailer.analysis import AnalysisSettings
    from thumbnailer.settings import Settings

    env = {k: str(v) for k, v in _env(analysed).items() if isinstance(v, str)}
    assert Settings.from_env({**env, "THUMBNAIL_BUCKET": "t"}).analysis == AnalysisSettings(
        90.0, 5, ("Violence", "Drugs & Tobacco"))


def test_analysis_defaults_match_the_handlers():
    from thumbnailer import settings as handler_settings

    assert tp.ANALYSIS_DEFAULTS["min_confidence"] == handler_settings.DEFAULT_ANALYSIS_MIN_CONFIDENCE
    assert tp.ANALYSIS_DEFAULTS["max_labels"] == handler_settings.DEFAULT_ANALYSIS_MAX_LABELS


def test_analysis_time_is_added_to_each_worst_case_image():
    on = tp.resolve_args("thumbs", {"analysis": {"enabled": True}})
    assert (on.memory_mb, on.timeout_seconds) == (1088, 70)
    assert tp.required_timeout_seconds(50_000_000, 50 * 2**20, 1088, analysis=True) == \
        tp.required_timeout_seconds(50_000_000, 50 * 2**20, 1088) + tp.ANALYSIS_SECONDS_PER_IMAGE


@pytest.mark.parametrize("analysis, arg, message", [
    ({"enabled": True, "min_confidence": 100.5}, "analysis.min_confidence", "allowed 0 to 100"),
    ({"enabled": True, "min_confidence": -1}, "analysis.min_confidence", "allowed 0 to 100"),
    ({"max_labels": 0}, "analysis.max_labels", "allowed 1 to 100"),
    ({"max_labels": 101}, "analysis.max_labels", "allowed 1 to 100"),
    ({"enabled": "yes"}, "analysis.enabled", "true or false"),
    ({"block_categories": "Violence"}, "analysis.block_categories", "category names"),
    ({"block_categories": ["Violence", "Violence"]}, "analysis.block_categories", "distinct"),
    ({"block_categories": ["*"]}, "analysis.block_categories", "category names"),
    ({"minConfidence": 80}, "analysis.minConfidence", "allowed: block_categories, enabled, max_labels, min_confidence"),
])
def test_invalid_analysis_args_are_rejected_naming_the_arg(analysis, arg, message):
    with pytest.raises(ArgsError) as error:
        tp.resolve_args("thumbs", {"analysis": analysis})
    assert f"{arg}:" in str(error.value) and message in str(error.value)


def test_guardrail_pack_accepts_the_unscopable_rekognition_grant(analysed):
    from policy.evaluate import evaluate

    report = evaluate(analysed.resources, environment="prod")
    assert report.for_rule("SB-IAM-003") == []


def test_cost_estimate_prices_two_rekognition_calls_per_analysed_image_only_with_analysis_on(stack, analysed):
    from offline import cost, usage

    def rekognition(snapshot) -> list:
        return [i for i in cost.estimate_stack(snapshot, overrides={}).items if i.service == "Rekognition"]

    assert rekognition(stack) == []
    (item,) = rekognition(analysed)
    images = usage.PROFILES["serverless-blueprints:index:ThumbnailPipeline"]["prod"]["analysed_images"]
    assert item.quantity == images * 2 / 1000
    assert item.unit_usd == cost.prices("eu-west-1")["rekognition"]["image_api_calls_per_thousand"]


def test_analyzer_exposes_the_analysis_section_as_a_typed_input():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([ThumbnailPipeline])
    assert result["component_definitions"]["ThumbnailPipeline"].inputs["analysis"].ref.endswith(
        ":index:ThumbnailAnalysis")
    assert set(result["type_definitions"]["ThumbnailAnalysis"].properties) == {
        "enabled", "minConfidence", "maxLabels", "blockCategories"}


def test_an_analysis_section_turns_it_on_unless_it_says_enabled_false():
    assert tp.resolve_args("thumbs", {"analysis": {}}).analysis == tp.ResolvedAnalysis(80.0, 10, [])
    assert tp.resolve_args("thumbs", {"analysis": None}).analysis is None


def test_config_analysis_section_maps_to_the_args_and_names_the_yaml_key():
    assert _resolved({"analysis": {"enabled": True, "minConfidence": 75}}).analysis == tp.ResolvedAnalysis(75.0, 10, [])
    assert _resolved({"analysis": {"enabled": False}}).analysis is None
    assert "serverless-blueprints:thumbnails.analysis.maxLabels" in _config_error({"analysis": {"maxLabels": 0}})


# --- the dependency layer, built for real -------------------------------------------------------

@pytest.mark.network
def test_thumbnailer_layer_carries_pillows_arm64_native_extension():
    layer = lambda_packaging.function_layer_zip("thumbnailer", "arm64")
    names = zipfile.ZipFile(layer).namelist()
    assert "python/PIL/_imaging.cpython-313-aarch64-linux-gnu.so" in names
    assert not [n for n in names if n.endswith(".so") and "x86_64" in n]


@pytest.mark.network
def test_deployed_layer_is_the_one_with_pillow_for_the_functions_platform(stack):
    archive = stack.named("thumbs-worker-deps").props["code"].path
    assert "python/PIL/_imaging.cpython-313-aarch64-linux-gnu.so" in zipfile.ZipFile(archive).namelist()


def test_timeout_reserve_matches_the_handlers_own_reserve():
    """The sizing rule must reserve what the handler keeps back before starting a record."""
    import ast
    from pathlib import Path

    from serverless_blueprints import thumbnail_pipeline

    source = (Path(thumbnail_pipeline.__file__).parent.parent / "functions/thumbnailer/handler.py").read_text()
    reserve_ms = next(node.value.value for node in ast.parse(source).body
                      if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TIME_RESERVE_MS")
    assert thumbnail_pipeline.HANDLER_TIME_RESERVE_SECONDS * 1000 == reserve_ms
