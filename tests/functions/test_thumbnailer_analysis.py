"""Thumbnailer with Rekognition analysis on: flagged, accepted, throttled and never-called cases.

What moto (5.2) does with Rekognition: DetectLabels answers one fixed label ("Mobile Phone",
99.94%, parent "Phone") for any image; DetectModerationLabels is not implemented at all
(NotImplementedError). So DetectLabels runs on moto where its answer is enough (accepted images),
and every other answer is injected with botocore's Stubber, which also checks each request
against the Rekognition API model. Each test's docstring says which it uses.
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from PIL import Image
from test_thumbnailer import (  # noqa: F401 - fixtures are used by name
    THUMBS,
    aws,
    deliver,
    failure_record,
    jpeg,
    load_handler,
    thumbnail_keys,
    topic_queue,
    truncated_jpeg,
    upload,
)

from thumbnailer import analysis
from thumbnailer.analysis import AnalysisSettings, Label, Unanalysable
from thumbnailer.imaging import Thumbnail
from thumbnailer.settings import Settings, SettingsError

EXPLICIT = {"Name": "Explicit Nudity", "ParentName": "", "Confidence": 97.3, "TaxonomyLevel": 1}
EXPLICIT_CHILD = {"Name": "Graphic Male Nudity", "ParentName": "Explicit Nudity", "Confidence": 96.1,
                  "TaxonomyLevel": 2}
ALCOHOL = {"Name": "Alcohol", "ParentName": "", "Confidence": 91.0, "TaxonomyLevel": 1}
ANALYSIS_ENV = ("ANALYSIS_ENABLED", "ANALYSIS_MIN_CONFIDENCE", "ANALYSIS_MAX_LABELS", "ANALYSIS_BLOCK_CATEGORIES")


class Rekognition:
    """moto's Rekognition for DetectLabels, a Stubber for what moto can't answer; counts every call."""

    def __init__(self) -> None:
        self.moto = boto3.client("rekognition")
        self.stubbed = boto3.client("rekognition")
        self.stubber = Stubber(self.stubbed)
        self.stubber.activate()
        self.calls: list[str] = []
        self.labels_from_moto = True

    def moderation(self, *labels: dict) -> None:
        self.stubber.add_response("detect_moderation_labels", {"ModerationLabels": list(labels)})

    def moderation_error(self, code: str, status: int = 400) -> None:
        self.stubber.add_client_error("detect_moderation_labels", service_error_code=code, http_status_code=status)

    def detect_moderation_labels(self, **params):
        self.calls.append("DetectModerationLabels")
        return self.stubbed.detect_moderation_labels(**params)

    def detect_labels(self, **params):
        self.calls.append("DetectLabels")
        client = self.moto if self.labels_from_moto else self.stubbed
        return client.detect_labels(**params)


@pytest.fixture
def analysing(monkeypatch, aws, load_handler):
    """The handler with analysis on (min confidence 80, any category blocks) and a scripted Rekognition."""
    for name in ANALYSIS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANALYSIS_ENABLED", "true")
    monkeypatch.setenv("ANALYSIS_MIN_CONFIDENCE", "80")
    monkeypatch.setenv("ANALYSIS_MAX_LABELS", "5")

    def load(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        handler = load_handler()
        rekognition = Rekognition()
        monkeypatch.setattr(handler, "rekognition_client", lambda: rekognition)
        return handler, rekognition

    return load


def metadata(s3, key: str) -> dict:
    return s3.head_object(Bucket=THUMBS, Key=key)["Metadata"]


# ---- accepted ----------------------------------------------------------------------------------


def test_accepted_image_gets_thumbnails_with_its_labels_and_the_message_announces_them(topic_queue, analysing, aws):
    """Moderation: Stubber, nothing found. Labels: moto's own DetectLabels answer."""
    handler, rekognition = analysing()
    rekognition.moderation()
    message = upload(aws, "ok/phone.jpg", jpeg(1200, 800))

    assert deliver(handler, message) == []

    assert rekognition.calls == ["DetectModerationLabels", "DetectLabels"]
    assert thumbnail_keys(aws) == ["128/ok/phone.jpg", "256/ok/phone.jpg", "512/ok/phone.jpg"]
    for size in (128, 256, 512):
        assert json.loads(metadata(aws, f"{size}/ok/phone.jpg")["labels"]) == ["Mobile Phone"]
    (published,) = topic_queue()
    assert published["labels"] == [{"name": "Mobile Phone", "confidence": 99.9, "parent": "Phone"}]
    assert published["moderationLabels"] == [] and len(published["thumbnails"]) == 3


def test_moderation_labels_outside_the_blocked_categories_are_announced_not_blocking(topic_queue, analysing, aws):
    """Moderation: Stubber (Alcohol at 91%). Labels: moto."""
    handler, rekognition = analysing(ANALYSIS_BLOCK_CATEGORIES='["Explicit Nudity", "Violence"]')
    rekognition.moderation(ALCOHOL)

    assert deliver(handler, upload(aws, "party.jpg", jpeg(600, 400))) == []

    assert "512/party.jpg" in thumbnail_keys(aws)
    (published,) = topic_queue()
    assert published["moderationLabels"] == [{"name": "Alcohol", "confidence": 91.0}]


def test_requests_ask_for_general_labels_only_at_the_configured_confidence_and_count(analysing, aws):
    """Both answers from the Stubber, which fails the call unless the request matches exactly."""
    handler, rekognition = analysing()
    rekognition.labels_from_moto = False
    body = jpeg(640, 480)
    image = {"Bytes": body}  # a JPEG within 5 MB is analysed as it was uploaded
    rekognition.stubber.add_response("detect_moderation_labels", {"ModerationLabels": []},
                                     {"Image": image, "MinConfidence": 80.0})
    rekognition.stubber.add_response(
        "detect_labels", {"Labels": [{"Name": f"L{i}", "Confidence": 99.0 - i} for i in range(5)]},
        {"Image": image, "MaxLabels": 5, "MinConfidence": 80.0, "Features": ["GENERAL_LABELS"]})

    assert deliver(handler, upload(aws, "exact.jpg", body)) == []

    rekognition.stubber.assert_no_pending_responses()
    assert json.loads(metadata(aws, "128/exact.jpg")["labels"]) == ["L0", "L1", "L2", "L3", "L4"]


# ---- flagged -----------------------------------------------------------------------------------


def test_flagged_image_gets_a_failure_record_with_its_labels_and_no_thumbnails(topic_queue, analysing, aws, caplog):
    """Moderation: Stubber (Explicit Nudity at 97%, as Rekognition returns a category with its child)."""
    handler, rekognition = analysing()
    rekognition.moderation(EXPLICIT, EXPLICIT_CHILD)

    assert deliver(handler, upload(aws, "bad/photo.jpg", jpeg(800, 600))) == []

    assert rekognition.calls == ["DetectModerationLabels"]  # no DetectLabels for a flagged image
    assert thumbnail_keys(aws) == ["_failures/bad/photo.jpg.json"]
    record = failure_record(aws, "bad/photo.jpg")
    assert record["reason"] == "flagged" and record["sourceKey"] == "bad/photo.jpg"
    assert record["moderationLabels"] == [
        {"name": "Explicit Nudity", "confidence": 97.3},
        {"name": "Graphic Male Nudity", "confidence": 96.1, "parent": "Explicit Nudity"},
    ]
    assert "80% confidence" in record["detail"]
    assert topic_queue() == []
    assert "flagged" in caplog.text


def test_a_blocked_category_matches_its_child_labels_too(analysing, aws):
    """Moderation: Stubber (only the level-2 label, whose parent is the blocked category)."""
    handler, rekognition = analysing(ANALYSIS_BLOCK_CATEGORIES='["explicit nudity"]')
    rekognition.moderation(EXPLICIT_CHILD)

    assert deliver(handler, upload(aws, "child.jpg", jpeg(400, 300))) == []

    assert failure_record(aws, "child.jpg")["reason"] == "flagged"


@pytest.mark.parametrize("settings, labels, blocking", [
    (AnalysisSettings(80, 10), [Label("Violence", 79.9)], []),
    (AnalysisSettings(80, 10), [Label("Violence", 80.0)], ["Violence"]),
    (AnalysisSettings(50, 10, ("Violence",)), [Label("Alcohol", 99), Label("Weapons", 60, "Violence")], ["Weapons"]),
    (AnalysisSettings(0, 10, ("Gambling",)), [Label("Alcohol", 99)], []),
])
def test_only_labels_at_or_above_the_confidence_in_a_blocked_category_block(settings, labels, blocking):
    assert [label.name for label in analysis.blocking_labels(labels, settings)] == blocking


# ---- transient and permanent Rekognition errors -------------------------------------------------


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_throttled_analysis_is_reported_for_retry_and_writes_nothing(analysing, aws, code):
    """Moderation: Stubber client error (the Stubber bypasses botocore's own retries)."""
    handler, rekognition = analysing()
    rekognition.moderation_error(code)

    assert deliver(handler, upload(aws, "busy.jpg", jpeg(400, 300))) == ["m-0"]

    assert thumbnail_keys(aws) == []


def test_throttled_labels_after_an_accepted_moderation_write_nothing_and_are_retried(analysing, aws):
    """Both answers from the Stubber: moderation finds nothing, DetectLabels is throttled."""
    handler, rekognition = analysing()
    rekognition.labels_from_moto = False
    rekognition.moderation()
    rekognition.stubber.add_client_error("detect_labels", service_error_code="ThrottlingException",
                                         http_status_code=400)

    assert deliver(handler, upload(aws, "busy-labels.jpg", jpeg(400, 300))) == ["m-0"]

    assert rekognition.calls == ["DetectModerationLabels", "DetectLabels"] and thumbnail_keys(aws) == []


def test_throttled_message_is_thumbnailed_when_retried(analysing, aws):
    """Moderation: Stubber (throttled, then nothing found). Labels: moto."""
    handler, rekognition = analysing()
    rekognition.moderation_error("ThrottlingException")
    rekognition.moderation()
    message = upload(aws, "later.jpg", jpeg(400, 300))

    assert deliver(handler, message) == ["m-0"]
    assert deliver(handler, message) == []

    assert "512/later.jpg" in thumbnail_keys(aws)


def test_image_rekognition_refuses_is_recorded_not_retried(analysing, aws):
    """Moderation: Stubber client error InvalidImageFormatException."""
    handler, rekognition = analysing()
    rekognition.moderation_error("InvalidImageFormatException")

    assert deliver(handler, upload(aws, "odd.jpg", jpeg(400, 300))) == []

    assert thumbnail_keys(aws) == ["_failures/odd.jpg.json"]
    assert failure_record(aws, "odd.jpg")["reason"] == "not_analysable"


@pytest.mark.parametrize("body", [b"not an image" * 20, b"", truncated_jpeg()], ids=["garbage", "empty", "truncated"])
def test_uploads_rejected_before_analysis_never_reach_rekognition(analysing, aws, body):
    """No answers injected: any Rekognition call would fail the test."""
    handler, rekognition = analysing()

    assert deliver(handler, upload(aws, "poison.jpg", body)) == []

    assert rekognition.calls == []
    assert failure_record(aws, "poison.jpg")["reason"] != "flagged"


def test_image_bomb_never_reaches_rekognition(analysing, aws):
    handler, rekognition = analysing(MAX_PIXELS="1000000")

    assert deliver(handler, upload(aws, "bomb.jpg", jpeg(2000, 1000))) == []

    assert rekognition.calls == [] and failure_record(aws, "bomb.jpg")["reason"] == "too_many_pixels"


# ---- off by default ----------------------------------------------------------------------------


def test_analysis_is_off_by_default_and_the_default_path_is_unchanged(monkeypatch, load_handler, aws):
    for name in ANALYSIS_ENV:
        monkeypatch.delenv(name, raising=False)
    handler = load_handler()

    assert handler.SETTINGS.analysis is None and handler.rekognition_client() is None
    assert deliver(handler, upload(aws, "plain.jpg", jpeg(400, 300))) == []
    assert metadata(aws, "128/plain.jpg") == {}


# ---- what Rekognition is given -------------------------------------------------------------------


def thumbnail(size: int, content_type: str, body: bytes) -> Thumbnail:
    return Thumbnail(size, size, size, content_type, body)


def encoded(fmt: str, size: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (10, 200, 10)).save(out, fmt)
    return out.getvalue()


def test_a_jpeg_or_png_within_5_mb_is_analysed_as_uploaded():
    thumbs = [thumbnail(128, "image/jpeg", b"small"), thumbnail(512, "image/jpeg", b"large")]
    for original in (encoded("JPEG", 64), encoded("PNG", 64)):
        assert analysis.analysis_image(original, thumbs) == original


def test_formats_rekognition_cannot_read_and_large_originals_are_analysed_through_the_largest_thumbnail():
    thumbs = [thumbnail(128, "image/jpeg", b"small"), thumbnail(512, "image/jpeg", b"large")]
    assert analysis.analysis_image(encoded("GIF", 64), thumbs) == b"large"
    assert analysis.analysis_image(b"\xff\xd8\xff" + b"0" * analysis.MAX_INLINE_BYTES, thumbs) == b"large"


def test_webp_thumbnails_are_re_encoded_as_jpeg_for_rekognition():
    thumbs = [thumbnail(64, "image/webp", encoded("WEBP", 64))]

    image = analysis.analysis_image(encoded("WEBP", 200), thumbs)

    assert Image.open(io.BytesIO(image)).format == "JPEG"


def test_labels_metadata_keeps_the_most_confident_names_within_s3s_limit():
    labels = [Label(f"Label number {i:03}", 50 + i / 10) for i in range(300)]

    value = analysis.labels_metadata(labels)["labels"]

    names = json.loads(value)
    assert len(value) <= analysis.METADATA_LABELS_MAX_BYTES and names[0] == "Label number 299"
    assert value.isascii()


def test_unanalysable_names_its_reason():
    assert Unanalysable("InvalidImageFormatException").reason == "not_analysable"


# ---- settings ----------------------------------------------------------------------------------


def test_analysis_settings_from_the_environment():
    settings = Settings.from_env({"THUMBNAIL_BUCKET": "t", "ANALYSIS_ENABLED": "true", "ANALYSIS_MIN_CONFIDENCE": "92.5",
                                  "ANALYSIS_MAX_LABELS": "20", "ANALYSIS_BLOCK_CATEGORIES": '["Violence"]'})
    assert settings.analysis == AnalysisSettings(92.5, 20, ("Violence",))
    defaults = Settings.from_env({"THUMBNAIL_BUCKET": "t", "ANALYSIS_ENABLED": "true"}).analysis
    assert defaults == AnalysisSettings(80.0, 10, ())
    assert Settings.from_env({"THUMBNAIL_BUCKET": "t", "ANALYSIS_ENABLED": "false"}).analysis is None


@pytest.mark.parametrize("name, value", [
    ("ANALYSIS_ENABLED", "yes"),
    ("ANALYSIS_MIN_CONFIDENCE", "101"),
    ("ANALYSIS_MIN_CONFIDENCE", "high"),
    ("ANALYSIS_MAX_LABELS", "0"),
    ("ANALYSIS_BLOCK_CATEGORIES", "Violence"),
    ("ANALYSIS_BLOCK_CATEGORIES", '["", "Violence"]'),
])
def test_invalid_analysis_settings_fail_naming_the_variable(name, value):
    env = {"THUMBNAIL_BUCKET": "t", "ANALYSIS_ENABLED": "true", name: value}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)
