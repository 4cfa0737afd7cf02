"""The twin's Rekognition: the judge's mapping, and the DetectModerationLabels stand-in moto lacks."""
from __future__ import annotations

import io

import boto3
from PIL import Image

from tests.twin import fakes
from twin.arns import CallScope, StackFacts, requirements_for
from twin.stack import TWIN_CREDENTIALS, install_moderation_stand_in, moto_server, twin_moderation_labels


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 150), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_detect_calls_are_judged_on_every_resource():
    scope = CallScope(StackFacts(), region="eu-west-1")
    for operation in ("DetectLabels", "DetectModerationLabels"):
        call = fakes.AwsCall("rekognition", operation, {"Image": {"Bytes": "<bytes: 10>"}}, "eu-west-1", None)
        assert [(r.action, r.resource) for r in requirements_for(call, scope)] == [(f"rekognition:{operation}", "*")]


def test_an_s3_image_is_also_read_with_the_callers_permissions():
    scope = CallScope(StackFacts(), region="eu-west-1")
    call = fakes.AwsCall("rekognition", "DetectLabels", {"Image": {"S3Object": {"Bucket": "b", "Name": "uploads/x.jpg"}}},
                         "eu-west-1", None)
    required = requirements_for(call, scope)
    assert [(r.action, r.resource) for r in required] == [("rekognition:DetectLabels", "*"),
                                                         ("s3:GetObject", "arn:aws:s3:::b/uploads/x.jpg")]
    assert required[1].implied_by


def test_the_twin_calls_a_pure_red_image_violent_and_anything_else_clean():
    assert [label["Name"] for label in twin_moderation_labels(_jpeg((255, 0, 0)), 80)] == ["Violence", "Graphic Violence"]
    assert twin_moderation_labels(_jpeg((200, 60, 20)), 0) == []
    assert twin_moderation_labels(_jpeg((255, 0, 0)), 99.5) == []  # MinConfidence is honoured


def test_moderation_stand_in_answers_on_the_moto_server():
    install_moderation_stand_in()
    with moto_server() as endpoint:
        rekognition = boto3.client("rekognition", region_name="eu-west-1", endpoint_url=endpoint, **TWIN_CREDENTIALS)
        red = rekognition.detect_moderation_labels(Image={"Bytes": _jpeg((255, 0, 0))}, MinConfidence=80)
        clean = rekognition.detect_moderation_labels(Image={"Bytes": _jpeg((20, 120, 200))})
        labels = rekognition.detect_labels(Image={"Bytes": _jpeg((20, 120, 200))}, MaxLabels=5)
    assert [label["Name"] for label in red["ModerationLabels"]] == ["Violence", "Graphic Violence"]
    assert clean["ModerationLabels"] == []
    assert [label["Name"] for label in labels["Labels"]] == ["Mobile Phone"]  # moto's own, for any image
