"""Thumbnailer handler on moto: S3 notifications inside SQS messages, real images, partial batch failures."""

from __future__ import annotations

import importlib
import io
import json
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws
from PIL import Image

from thumbnailer import events, uploads
from thumbnailer.settings import Settings, SettingsError

REGION = "eu-west-1"
ACCOUNT = "123456789012"
UPLOADS = "photo-uploads"
THUMBS = "photo-thumbnails"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:thumbnail-requests"
LONG_CACHE = "public, max-age=31536000, immutable"


# ---- real event shapes ---------------------------------------------------------------------


def s3_notification(key: str, *, size: int = 0, etag: str | None = None, event_name: str = "ObjectCreated:Put") -> str:
    """The body S3 puts on the queue: keys URL-encoded, spaces as '+'."""
    s3_object = {"key": quote_plus(key, safe="/"), "size": size, "sequencer": "0065A1B2C3D4E5F6A7"}
    if etag:
        s3_object["eTag"] = etag
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": "2025-01-01T12:00:00.000Z",
                    "eventName": event_name,
                    "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                    "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                    "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xR"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "thumbnails",
                        "bucket": {
                            "name": UPLOADS,
                            "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                            "arn": f"arn:aws:s3:::{UPLOADS}",
                        },
                        "object": s3_object,
                    },
                }
            ]
        }
    )


def s3_test_event() -> str:
    return json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2025-01-01T12:00:00.000Z",
            "Bucket": UPLOADS,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )


def sqs_record(body: str, message_id: str) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEB-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1735732800000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1735732800001",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


class FakeLambdaContext:
    function_name = "thumbnailer"
    function_version = "$LATEST"
    memory_limit_in_mb = 1536
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer"
    aws_request_id = "6f1c2a4e-0000-4000-8000-000000000000"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# ---- images ----------------------------------------------------------------------------------


def jpeg(width: int, height: int, colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=92)
    return out.getvalue()


def transparent_png(width: int, height: int) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "THUMBNAIL_BUCKET": THUMBS,
        "POWERTOOLS_SERVICE_NAME": "thumbnailer",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SIZES", "OUTPUT_FORMAT", "QUALITY", "MAX_BYTES", "MAX_PIXELS", "TOPIC_ARN", "FAILURE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (UPLOADS, THUMBS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


@pytest.fixture
def load_handler(aws):
    """Import (or re-import) the handler after the test has set its environment."""

    def load():
        import thumbnailer.handler as handler_module

        return importlib.reload(handler_module)

    return load


@pytest.fixture
def thumbnailer(load_handler):
    return load_handler()


def upload(s3, key: str, body: bytes) -> str:
    """Put an object in the upload bucket; the notification body S3 would send for it."""
    etag = s3.put_object(Bucket=UPLOADS, Key=key, Body=body)["ETag"].strip('"')
    return s3_notification(key, size=len(body), etag=etag)


def deliver(handler_module, *bodies: str, context: FakeLambdaContext | None = None) -> list[str]:
    """Run one SQS batch (message ids m-0, m-1, ...); the ids reported as failed."""
    event = {"Records": [sqs_record(body, f"m-{i}") for i, body in enumerate(bodies)]}
    response = handler_module.handler(event, context or FakeLambdaContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def thumbnail_keys(s3) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=THUMBS).get("Contents", []))


def fetch(s3, key: str) -> tuple[dict, Image.Image]:
    response = s3.get_object(Bucket=THUMBS, Key=key)
    image = Image.open(io.BytesIO(response["Body"].read()))
    image.load()
    return response, image


def failure_record(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=THUMBS, Key=f"_failures/{key}.json")["Body"].read())


class FailingS3:
    """The real (moto) client, except that one operation raises for one key."""

    def __init__(self, real, operation: str, key: str, error: Exception) -> None:
        self._real, self._operation, self._key, self._error = real, operation, key, error

    def __getattr__(self, name):
        method = getattr(self._real, name)
        if name != self._operation:
            return method

        def failing(**kwargs):
            if kwargs.get("Key", "").endswith(self._key):
                raise self._error
            return method(**kwargs)

        return failing


def client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


# ---- the happy path --------------------------------------------------------------------------


def test_upload_gets_every_default_size_under_size_prefixed_keys(thumbnailer, aws):
    message = upload(aws, "photos/cat.jpg", jpeg(1200, 800))

    assert deliver(thumbnailer, message) == []

    assert thumbnail_keys(aws) == ["128/photos/cat.jpg", "256/photos/cat.jpg", "512/photos/cat.jpg"]
    for size, expected in ((128, (128, 85)), (256, (256, 171)), (512, (512, 341))):
        response, image = fetch(aws, f"{size}/photos/cat.jpg")
        assert image.format == "JPEG" and image.size == expected
        r, g, b = image.getpixel((expected[0] // 2, expected[1] // 2))
        assert abs(r - 200) < 12 and g < 45 and b < 45
        assert response["ContentType"] == "image/jpeg"
        assert response["CacheControl"] == LONG_CACHE


def test_configured_sizes_format_and_quality_are_used(monkeypatch, load_handler, aws):
    monkeypatch.setenv("SIZES", "64, 300")
    monkeypatch.setenv("OUTPUT_FORMAT", "webp")
    monkeypatch.setenv("QUALITY", "60")
    thumbnailer = load_handler()
    message = upload(aws, "logo.png", transparent_png(600, 400))

    assert deliver(thumbnailer, message) == []

    assert thumbnail_keys(aws) == ["300/logo.png", "64/logo.png"]
    response, image = fetch(aws, "300/logo.png")
    assert response["ContentType"] == "image/webp"
    assert image.format == "WEBP" and image.mode == "RGBA" and image.size == (300, 200)
    assert image.getpixel((30, 100))[2] > 230 and image.getpixel((30, 100))[3] == 255
    assert image.getpixel((270, 100))[3] == 0


def test_transparent_png_is_flattened_for_the_default_jpeg_output(thumbnailer, aws):
    message = upload(aws, "logo.png", transparent_png(600, 400))

    deliver(thumbnailer, message)

    response, image = fetch(aws, "256/logo.png")
    assert response["ContentType"] == "image/jpeg"
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (256, 171)
    assert min(image.getpixel((230, 85))) > 240  # transparent became white


def test_small_upload_is_stored_at_its_own_size_for_every_key(thumbnailer, aws):
    deliver(thumbnailer, upload(aws, "icon.jpg", jpeg(90, 60)))

    assert [fetch(aws, key)[1].size for key in thumbnail_keys(aws)] == [(90, 60)] * 3


@pytest.mark.parametrize("key", ["holiday pics/beach day.jpg", "albums/été 2024/café+bar ☀.jpg", "日本/写真.jpg"])
def test_keys_with_spaces_plus_signs_and_unicode_are_decoded(thumbnailer, aws, key):
    message = upload(aws, key, jpeg(400, 300))
    assert quote_plus(key, safe="/") in message  # the notification carries the encoded form

    assert deliver(thumbnailer, message) == []

    assert thumbnail_keys(aws) == sorted(f"{size}/{key}" for size in (128, 256, 512))


def test_reprocessing_the_same_upload_overwrites_the_same_keys(thumbnailer, aws):
    message = upload(aws, "dog.jpg", jpeg(800, 600))
    deliver(thumbnailer, message)
    first = {key: aws.get_object(Bucket=THUMBS, Key=key)["Body"].read() for key in thumbnail_keys(aws)}

    assert deliver(thumbnailer, message, message) == []

    assert {key: aws.get_object(Bucket=THUMBS, Key=key)["Body"].read() for key in thumbnail_keys(aws)} == first


def test_nothing_is_ever_written_tagged_or_deleted_in_the_upload_bucket(thumbnailer, aws):
    good = upload(aws, "good.jpg", jpeg(300, 200))
    bad = upload(aws, "bad.jpg", b"not an image at all")
    before = aws.list_object_versions(Bucket=UPLOADS)

    deliver(thumbnailer, good, bad)

    after = aws.list_object_versions(Bucket=UPLOADS)
    assert after.get("Versions") == before.get("Versions") and "DeleteMarkers" not in after
    for key in ("good.jpg", "bad.jpg"):
        assert aws.get_object_tagging(Bucket=UPLOADS, Key=key)["TagSet"] == []


# ---- event handling --------------------------------------------------------------------------


def test_s3_test_event_is_ignored(thumbnailer, aws):
    assert deliver(thumbnailer, s3_test_event()) == []

    assert thumbnail_keys(aws) == []


def test_events_other_than_object_created_are_ignored(thumbnailer, aws):
    aws.put_object(Bucket=UPLOADS, Key="gone.jpg", Body=jpeg(100, 100))

    assert deliver(thumbnailer, s3_notification("gone.jpg", event_name="ObjectRemoved:Delete")) == []

    assert thumbnail_keys(aws) == []


def test_folder_markers_are_ignored(thumbnailer, aws):
    assert deliver(thumbnailer, upload(aws, "photos/", b"")) == []

    assert thumbnail_keys(aws) == []


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"hello": "world"}), json.dumps({"Records": [{}]})])
def test_malformed_messages_are_retried_towards_the_dlq(thumbnailer, aws, body):
    assert deliver(thumbnailer, body) == ["m-0"]


def test_uploads_in_decodes_keys_and_reads_etag():
    body = s3_notification("a b/ü+1.jpg", size=42, etag="abc123")

    assert events.uploads_in(body) == [events.UploadedObject(UPLOADS, "a b/ü+1.jpg", 42, "abc123")]


def test_notification_for_an_overwritten_version_is_skipped_in_favour_of_the_newer_one(thumbnailer, aws):
    stale = upload(aws, "cat.jpg", jpeg(400, 300, colour=(250, 0, 0)))
    current = upload(aws, "cat.jpg", jpeg(400, 300, colour=(0, 0, 250)))

    assert deliver(thumbnailer, stale) == []
    assert thumbnail_keys(aws) == []  # neither a thumbnail of the wrong version nor a failure

    assert deliver(thumbnailer, current) == []
    blue = fetch(aws, "128/cat.jpg")[1].getpixel((64, 48))
    assert blue[2] > 200 and blue[0] < 40


def test_upload_deleted_before_processing_is_skipped_without_a_record(thumbnailer, aws):
    message = upload(aws, "ghost.jpg", jpeg(100, 100))
    aws.delete_object(Bucket=UPLOADS, Key="ghost.jpg")

    assert deliver(thumbnailer, message) == []

    assert thumbnail_keys(aws) == []


# ---- permanent failures: recorded, logged once, not retried ------------------------------------


def truncated_jpeg() -> bytes:
    noisy = Image.merge("RGB", [Image.effect_noise((600, 400), 60).convert("L") for _ in range(3)])
    out = io.BytesIO()
    noisy.save(out, "JPEG")
    return out.getvalue()[:5000]


def garbled_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (1, 2, 3)).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[60:120] = b"\xff" * 60  # inside the compressed pixel data
    return bytes(data)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (garbled_png(), "corrupt"),
        (b"%PDF-1.7 a document, not an image", "not_an_image"),
        (truncated_jpeg(), "corrupt"),
    ],
    ids=["zero-bytes", "corrupt", "non-image", "truncated"],
)
def test_unusable_upload_is_recorded_and_not_retried(thumbnailer, aws, body, reason):
    message = upload(aws, "uploads/bad file.jpg", body)

    assert deliver(thumbnailer, message) == []

    assert thumbnail_keys(aws) == ["_failures/uploads/bad file.jpg.json"]
    record = failure_record(aws, "uploads/bad file.jpg")
    assert record["reason"] == reason
    assert record["sourceBucket"] == UPLOADS and record["sourceKey"] == "uploads/bad file.jpg"
    assert record["sourceETag"] and record["recordedAt"]


def test_rejection_is_logged_in_one_line(thumbnailer, aws, caplog):
    deliver(thumbnailer, upload(aws, "notes.jpg", b"plain text"))

    (entry,) = [r for r in caplog.records if "notes.jpg" in r.getMessage()]
    assert entry.levelname == "WARNING" and entry.reason == "not_an_image"
    assert entry.getMessage().startswith("Rejected s3://photo-uploads/notes.jpg permanently (not_an_image")
    assert "\n" not in entry.getMessage() and entry.exc_info is None


def test_upload_over_max_bytes_is_rejected_before_its_body_is_read(monkeypatch, load_handler, aws):
    monkeypatch.setenv("MAX_BYTES", "1000")
    thumbnailer = load_handler()
    message = upload(aws, "huge.jpg", jpeg(600, 400))
    real_get = thumbnailer.s3_client().get_object

    class UnreadableBody:
        def read(self, *args):
            raise AssertionError("the body of an oversized object was read")

        def close(self):
            pass

    def get_object(**kwargs):
        response = real_get(**kwargs)
        response["Body"] = UnreadableBody()
        return response

    monkeypatch.setattr(thumbnailer.s3_client(), "get_object", get_object)

    assert deliver(thumbnailer, message) == []

    assert failure_record(aws, "huge.jpg")["reason"] == "too_many_bytes"
    assert thumbnail_keys(aws) == ["_failures/huge.jpg.json"]


def test_upload_at_max_bytes_is_processed(monkeypatch, load_handler, aws):
    body = jpeg(600, 400)
    monkeypatch.setenv("MAX_BYTES", str(len(body)))
    thumbnailer = load_handler()

    assert deliver(thumbnailer, upload(aws, "exact.jpg", body)) == []

    assert "512/exact.jpg" in thumbnail_keys(aws)


def test_image_over_max_pixels_is_rejected(monkeypatch, load_handler, aws):
    monkeypatch.setenv("MAX_PIXELS", "239999")
    thumbnailer = load_handler()

    assert deliver(thumbnailer, upload(aws, "big.jpg", jpeg(600, 400))) == []

    record = failure_record(aws, "big.jpg")
    assert record["reason"] == "too_many_pixels" and "600x400" in record["detail"]
    assert thumbnail_keys(aws) == ["_failures/big.jpg.json"]


def test_failure_prefix_is_configurable(monkeypatch, load_handler, aws):
    monkeypatch.setenv("FAILURE_PREFIX", "rejected/")
    thumbnailer = load_handler()

    deliver(thumbnailer, upload(aws, "x.jpg", b""))

    assert thumbnail_keys(aws) == ["rejected/x.jpg.json"]


def test_key_too_long_for_thumbnails_is_rejected_with_a_digest_named_record(thumbnailer, aws):
    key = "k" * 1020 + ".jpg"  # 1024 bytes: valid upload key, but "128/" + key is not

    assert deliver(thumbnailer, upload(aws, key, jpeg(100, 100))) == []

    (record_key,) = thumbnail_keys(aws)
    assert record_key.startswith("_failures/_long-keys/") and record_key.endswith(".json")
    record = json.loads(aws.get_object(Bucket=THUMBS, Key=record_key)["Body"].read())
    assert record["reason"] == "key_too_long" and record["sourceKey"] == key


def test_failure_record_key_keeps_the_original_key_when_it_fits():
    assert uploads.failure_record_key("_failures/", "a/b c.jpg") == "_failures/a/b c.jpg.json"


# ---- transient failures: reported, so SQS retries and finally dead-letters ----------------------


@pytest.mark.parametrize(
    "error",
    [
        client_error("SlowDown", 503),
        client_error("InternalError", 500),
        client_error("AccessDenied", 403),
        EndpointConnectionError(endpoint_url="https://s3.eu-west-1.amazonaws.com"),
    ],
    ids=["throttled", "5xx", "access-denied", "network"],
)
def test_transient_read_errors_are_reported_for_retry(monkeypatch, thumbnailer, aws, error):
    message = upload(aws, "cat.jpg", jpeg(300, 200))
    failing = FailingS3(thumbnailer.s3_client(), "get_object", "cat.jpg", error)
    monkeypatch.setattr(thumbnailer, "s3_client", lambda: failing)

    assert deliver(thumbnailer, message) == ["m-0"]

    assert thumbnail_keys(aws) == []  # no failure record either: it will be retried


def test_throttled_thumbnail_write_is_reported_for_retry(monkeypatch, thumbnailer, aws):
    message = upload(aws, "cat.jpg", jpeg(300, 200))
    error = client_error("SlowDown", 503, "PutObject")
    failing = FailingS3(thumbnailer.s3_client(), "put_object", "256/cat.jpg", error)
    monkeypatch.setattr(thumbnailer, "s3_client", lambda: failing)

    assert deliver(thumbnailer, message) == ["m-0"]


def test_mixed_batch_processes_the_good_records_and_reports_only_the_transient_failure(
    monkeypatch, thumbnailer, aws
):
    good = upload(aws, "good.jpg", jpeg(640, 480))
    corrupt = upload(aws, "corrupt.jpg", b"\xff\xd8\xff\xe0 garbage that starts like a JPEG")
    throttled = upload(aws, "throttled.jpg", jpeg(640, 480))
    also_good = upload(aws, "also good.png", transparent_png(300, 300))
    failing = FailingS3(thumbnailer.s3_client(), "get_object", "throttled.jpg", client_error("SlowDown", 503))
    monkeypatch.setattr(thumbnailer, "s3_client", lambda: failing)

    failed = deliver(thumbnailer, good, corrupt, throttled, s3_test_event(), also_good)

    assert failed == ["m-2"]
    assert thumbnail_keys(aws) == sorted(
        ["_failures/corrupt.jpg.json"]
        + [f"{size}/{key}" for size in (128, 256, 512) for key in ("good.jpg", "also good.png")]
    )
    assert fetch(aws, "512/good.jpg")[1].size == (512, 384)
    assert failure_record(aws, "corrupt.jpg")["reason"] == "corrupt"


def test_batch_where_every_record_fails_is_reported_item_by_item(monkeypatch, thumbnailer, aws):
    messages = [upload(aws, f"p{i}.jpg", jpeg(100, 100)) for i in range(3)]
    failing = FailingS3(thumbnailer.s3_client(), "get_object", ".jpg", client_error("SlowDown", 503))
    monkeypatch.setattr(thumbnailer, "s3_client", lambda: failing)

    assert deliver(thumbnailer, *messages) == ["m-0", "m-1", "m-2"]


def test_records_are_handed_back_untouched_when_the_invocation_is_nearly_out_of_time(thumbnailer, aws):
    message = upload(aws, "late.jpg", jpeg(300, 200))

    assert deliver(thumbnailer, message, context=FakeLambdaContext(remaining_ms=5_000)) == ["m-0"]

    assert thumbnail_keys(aws) == []


# ---- SNS notification ------------------------------------------------------------------------


@pytest.fixture
def topic_queue(monkeypatch, aws):
    """A topic with a raw-delivery SQS subscriber to read what was published."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name="thumbnail-sets")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="thumbnail-sets-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("TOPIC_ARN", topic_arn)

    def published() -> list[dict]:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return [json.loads(m["Body"]) for m in response.get("Messages", [])]

    return published


def test_one_sns_message_is_published_per_completed_thumbnail_set(topic_queue, load_handler, aws):
    thumbnailer = load_handler()
    message = upload(aws, "sets/cat 1.jpg", jpeg(1000, 500))
    etag = json.loads(message)["Records"][0]["s3"]["object"]["eTag"]

    assert deliver(thumbnailer, message) == []

    (published,) = topic_queue()
    assert published["sourceBucket"] == UPLOADS and published["sourceKey"] == "sets/cat 1.jpg"
    assert published["sourceETag"] == etag and published["thumbnailBucket"] == THUMBS
    assert [(t["size"], t["key"], t["width"], t["height"], t["contentType"]) for t in published["thumbnails"]] == [
        (128, "128/sets/cat 1.jpg", 128, 64, "image/jpeg"),
        (256, "256/sets/cat 1.jpg", 256, 128, "image/jpeg"),
        (512, "512/sets/cat 1.jpg", 512, 256, "image/jpeg"),
    ]
    assert all(t["contentLength"] > 0 for t in published["thumbnails"])


def test_rejected_uploads_publish_nothing(topic_queue, load_handler, aws):
    thumbnailer = load_handler()

    deliver(thumbnailer, upload(aws, "bad.jpg", b"nope"))

    assert topic_queue() == []


def test_nothing_is_published_without_a_topic(thumbnailer, aws):
    assert thumbnailer.sns_client() is None
    assert deliver(thumbnailer, upload(aws, "cat.jpg", jpeg(300, 200))) == []


def test_failed_publish_is_reported_for_retry(monkeypatch, topic_queue, load_handler, aws):
    thumbnailer = load_handler()
    message = upload(aws, "cat.jpg", jpeg(300, 200))

    def publish(**kwargs):
        raise client_error("Throttling", 400, "Publish")

    monkeypatch.setattr(thumbnailer.sns_client(), "publish", publish)

    assert deliver(thumbnailer, message) == ["m-0"]


# ---- settings ----------------------------------------------------------------------------------


def test_settings_defaults():
    settings = Settings.from_env({"THUMBNAIL_BUCKET": THUMBS})

    assert settings == Settings(
        thumbnail_bucket=THUMBS,
        sizes=(128, 256, 512),
        output_format="JPEG",
        quality=82,
        max_bytes=52_428_800,
        max_pixels=50_000_000,
        topic_arn=None,
        failure_prefix="_failures/",
    )


def test_sizes_are_parsed_sorted_and_deduplicated():
    assert Settings.from_env({"THUMBNAIL_BUCKET": THUMBS, "SIZES": " 512,128 ,512"}).sizes == (128, 512)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "THUMBNAIL_BUCKET"),
        ({"SIZES": "small,large"}, "SIZES"),
        ({"SIZES": "0,128"}, "SIZES"),
        ({"SIZES": ""}, "SIZES"),
        ({"OUTPUT_FORMAT": "PNG"}, "OUTPUT_FORMAT"),
        ({"QUALITY": "0"}, "QUALITY"),
        ({"QUALITY": "101"}, "QUALITY"),
        ({"QUALITY": "high"}, "QUALITY"),
        ({"MAX_BYTES": "-1"}, "MAX_BYTES"),
        ({"MAX_PIXELS": "1e6"}, "MAX_PIXELS"),
        ({"FAILURE_PREFIX": "/"}, "FAILURE_PREFIX"),
        ({"FAILURE_PREFIX": "256/failed/"}, "FAILURE_PREFIX"),
    ],
)
def test_invalid_settings_fail_naming_the_variable(env, names):
    base = {} if "THUMBNAIL_BUCKET" in names else {"THUMBNAIL_BUCKET": THUMBS}
    with pytest.raises(SettingsError, match=names):
        Settings.from_env({**base, **env})
