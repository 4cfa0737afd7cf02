"""premium_registration on moto: own status for everyone, grants and revocations for admins only, idempotent."""

from __future__ import annotations

import importlib
import sys
import time

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from premium_registration import accounts
from tests.functions.paid_content_events import REGION, call, rest_event

TABLE = "premium-users"
ADMIN_GROUP = "premium-admins"
USER = "0f8fad5b-d9cb-469f-a165-70867728950e"
ADMIN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
ADMIN_CLAIMS = {"sub": ADMIN, "cognito:groups": ADMIN_GROUP}


@pytest.fixture
def api(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                        "TABLE_NAME": TABLE, "ADMIN_GROUP": ADMIN_GROUP,
                        "POWERTOOLS_SERVICE_NAME": "registration"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "sub", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "sub", "KeyType": "HASH"}])
        if "premium_registration.handler" in sys.modules:
            yield importlib.reload(sys.modules["premium_registration.handler"])
        else:
            yield importlib.import_module("premium_registration.handler")


def me(claims=None):
    return rest_event("GET", "/premium-users/me", "/premium-users/me", claims=claims or {"sub": USER})


def grant(body, sub=USER, claims=ADMIN_CLAIMS, raw=None):
    return rest_event("PUT", f"/premium-users/{sub}", "/premium-users/{sub}", claims=claims,
                      path_parameters={"sub": sub}, body=body, raw_body=raw)


def revoke(sub=USER, claims=ADMIN_CLAIMS):
    return rest_event("DELETE", f"/premium-users/{sub}", "/premium-users/{sub}", claims=claims,
                      path_parameters={"sub": sub})


def test_a_new_user_reads_that_they_are_not_premium(api):
    status, _, body = call(api, me())
    assert status == 200 and body == {"sub": USER, "premium": False, "premiumUntil": None, "plan": None}


def test_admin_grant_then_the_user_reads_their_status(api):
    status, _, body = call(api, grant({"premiumUntil": "2030-01-01T00:00:00Z", "plan": "annual"}))
    assert (status, body["outcome"], body["premium"]) == (201, "created", True)
    _, _, mine = call(api, me())
    assert mine == {"sub": USER, "premium": True, "premiumUntil": "2030-01-01T00:00:00Z", "plan": "annual"}


def test_the_same_grant_twice_is_idempotent(api):
    body = {"premiumUntil": int(time.time()) + 86400}
    first = call(api, grant(body))
    before = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"sub": {"S": USER}})["Item"]
    second = call(api, grant(body))
    after = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"sub": {"S": USER}})["Item"]
    assert (first[0], first[2]["outcome"]) == (201, "created")
    assert (second[0], second[2]["outcome"]) == (200, "unchanged")
    assert before == after  # not even updatedAt moved
    third = call(api, grant({**body, "plan": "annual"}))
    assert third[2]["outcome"] == "updated"


@pytest.mark.parametrize("claims", [{"sub": USER}, {"sub": USER, "cognito:groups": "readers"},
                                    {"sub": USER, "cognito:groups": "premium-admins-not"}])
def test_becoming_premium_is_not_self_service(api, claims):
    status, _, body = call(api, grant({"premiumUntil": "2030-01-01T00:00:00Z"}, claims=claims))
    assert (status, body["reason"]) == (403, "not_admin")
    assert call(api, me())[2]["premium"] is False
    status, _, body = call(api, revoke(claims=claims))
    assert (status, body["reason"]) == (403, "not_admin")


@pytest.mark.parametrize("groups", ["premium-admins", "readers,premium-admins", "[readers, premium-admins]",
                                    "readers premium-admins"])
def test_admin_group_is_read_in_every_shape_the_authorizer_sends(groups):
    assert accounts.is_member({"cognito:groups": groups}, ADMIN_GROUP)


def test_revoke_is_idempotent_and_ends_premium(api):
    call(api, grant({"premiumUntil": "2030-01-01T00:00:00Z"}))
    assert call(api, revoke())[2]["outcome"] == "revoked"
    assert call(api, revoke())[2]["outcome"] == "unchanged"
    assert call(api, me())[2]["premium"] is False


@pytest.mark.parametrize("body,raw,reason", [
    ({"premiumUntil": "2000-01-01T00:00:00Z"}, None, "premium_until_past"),
    ({"premiumUntil": "2999-01-01T00:00:00Z"}, None, "premium_until_too_far"),
    ({"premiumUntil": "tomorrow"}, None, "premium_until_invalid"),
    ({"premiumUntil": "2030-01-01T00:00:00"}, None, "premium_until_invalid"),  # no zone
    ({"premiumUntil": True}, None, "premium_until_invalid"),
    ({"premiumUntil": "2030-01-01T00:00:00Z", "plan": "Gold Plan"}, None, "plan_invalid"),
    ({"premiumUntil": "2030-01-01T00:00:00Z", "role": "admin"}, None, "body_unknown_field"),
    (None, "{", "body_not_json"), (None, "", "body_required")])
def test_malformed_grants_are_4xx_with_a_reason(api, body, raw, reason):
    status, _, answer = call(api, grant(body, raw=raw))
    assert 400 <= status < 500 and answer["reason"] == reason


def test_a_sub_that_is_not_a_uuid_is_400(api):
    status, _, body = call(api, grant({"premiumUntil": "2030-01-01T00:00:00Z"}, sub="me"))
    assert (status, body["reason"]) == (400, "sub_invalid")


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=30),
                                                       st.booleans()), max_size=4))
def test_parse_grant_never_raises_anything_but_invalid(body):
    try:
        grant_ = accounts.parse_grant(body, now=1_800_000_000)
    except accounts.Invalid as invalid:
        assert invalid.status == 400
    else:
        assert grant_.premium_until > 1_800_000_000
