"""content_signer: every URL and cookie verified against the public key; who may get one, on moto."""

from __future__ import annotations

import base64
import importlib
import json
import re
import sys
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from content_signer import signing
from tests.functions.paid_content_events import REGION, call, rest_event

DOMAIN = "d111111abcdef8.cloudfront.net"
PREFIX = "/premium/"
TABLE = "premium-users"
SUB = "0f8fad5b-d9cb-469f-a165-70867728950e"
EXPIRES = 1_900_000_000


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key(rsa_key) -> signing.SigningKey:
    return signing.signing_key_from_secret(json.dumps({"keyId": "K2JCJMDEHXQW5F", "privateKey": private_pem(rsa_key)}))


def cf_b64decode(value: str) -> bytes:
    """CloudFront's URL-safe base64: '-' for '+', '_' for '=', '~' for '/'."""
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


def verify(public_key, message: bytes, signature_param: str) -> None:
    public_key.verify(cf_b64decode(signature_param), message, padding.PKCS1v15(), hashes.SHA1())


def canned_policy(url: str, expires: int) -> bytes:
    # AWS's canned policy statement, byte for byte: no whitespace, this key order.
    return ('{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}'
            % (url, expires)).encode()


# --- signatures ------------------------------------------------------------------------------------

def test_canned_url_verifies_against_the_public_key(key, rsa_key):
    url = signing.signed_url(key, DOMAIN, "/premium/video/intro.mp4", EXPIRES)
    base, query = url.split("?", 1)
    params = parse_qs(query)
    assert base == f"https://{DOMAIN}/premium/video/intro.mp4"
    assert list(params) == ["Expires", "Signature", "Key-Pair-Id"]
    assert params["Expires"] == [str(EXPIRES)] and params["Key-Pair-Id"] == ["K2JCJMDEHXQW5F"]
    verify(rsa_key.public_key(), canned_policy(base, EXPIRES), params["Signature"][0])


def test_tampered_url_fails_verification(key, rsa_key):
    url = signing.signed_url(key, DOMAIN, "/premium/a.pdf", EXPIRES)
    params = parse_qs(url.split("?", 1)[1])
    with pytest.raises(InvalidSignature):  # a later expiry
        verify(rsa_key.public_key(), canned_policy(f"https://{DOMAIN}/premium/a.pdf", EXPIRES + 1),
               params["Signature"][0])
    with pytest.raises(InvalidSignature):  # another object
        verify(rsa_key.public_key(), canned_policy(f"https://{DOMAIN}/premium/b.pdf", EXPIRES),
               params["Signature"][0])


def test_cookie_policy_is_aws_custom_policy_byte_for_byte_and_verifies(key, rsa_key):
    cookies = signing.signed_cookie_values(key, DOMAIN, "/premium/course-1/", EXPIRES)
    policy = cf_b64decode(cookies["CloudFront-Policy"])
    assert policy == ('{"Statement":[{"Resource":"https://%s/premium/course-1/*",'
                      '"Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}' % (DOMAIN, EXPIRES)).encode()
    assert cookies["CloudFront-Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    verify(rsa_key.public_key(), policy, cookies["CloudFront-Signature"])
    # Cookie values use CloudFront's alphabet only: nothing a browser or CDN would re-encode.
    assert all(re.fullmatch(r"[A-Za-z0-9_~-]+", v) for v in cookies.values())


def test_tampered_cookie_policy_fails_verification(key, rsa_key):
    cookies = signing.signed_cookie_values(key, DOMAIN, "/premium/course-1/", EXPIRES)
    widened = cf_b64decode(cookies["CloudFront-Policy"]).replace(b"/premium/course-1/*", b"/premium/*")
    with pytest.raises(InvalidSignature):
        verify(rsa_key.public_key(), widened, cookies["CloudFront-Signature"])


def test_another_key_does_not_verify(key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url = signing.signed_url(key, DOMAIN, "/premium/a.pdf", EXPIRES)
    with pytest.raises(InvalidSignature):
        verify(other.public_key(), canned_policy(f"https://{DOMAIN}/premium/a.pdf", EXPIRES),
               parse_qs(url.split("?", 1)[1])["Signature"][0])


def test_set_cookie_headers_are_secure_httponly_samesite_and_scoped():
    headers = signing.set_cookie_headers({n: "v" for n in signing.COOKIE_NAMES}, domain=DOMAIN, path=PREFIX,
                                         expires_at=EXPIRES, now=EXPIRES - 600, same_site="Strict")
    assert [h.split("=", 1)[0] for h in headers] == list(signing.COOKIE_NAMES)
    for header in headers:
        attributes = [a.strip() for a in header.split(";")[1:]]
        assert {"Secure", "HttpOnly", "SameSite=Strict", f"Domain={DOMAIN}", f"Path={PREFIX}",
                "Max-Age=600"} <= set(attributes)


# --- what may be signed, and until when ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/premium/../secret", "/premium/a/../../b", "/premium/./a", "/premium//a",
                                  "/premium/%2e%2e/a", "/premium/a b", "/premium/a?x=1", "/premium/*",
                                  "/premium/a#b", "/premium\\a"])
def test_traversal_and_odd_paths_are_refused(path):
    with pytest.raises(signing.Refused) as refused:
        signing.premium_object_path(path, PREFIX)
    assert refused.value.status == 400


@pytest.mark.parametrize("path", ["/previews/a.mp4", "/premium/", "/premium", "/Premium/a", "premium/a", "",
                                  "https://evil.example/premium/a"])
def test_paths_outside_the_premium_prefix_are_refused(path):
    with pytest.raises(signing.Refused) as refused:
        signing.premium_object_path(path, PREFIX)
    assert refused.value.status == 400


SEGMENT = st.text(alphabet=st.sampled_from("abcXYZ019._~-/%?#* "), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(SEGMENT, min_size=1, max_size=5))
def test_any_accepted_path_stays_under_the_prefix(parts):
    path = PREFIX + "/".join(parts)
    try:
        accepted = signing.premium_object_path(path, PREFIX)
    except signing.Refused as refused:
        assert refused.status == 400
        return
    segments = accepted[len(PREFIX):].split("/")
    assert accepted.startswith(PREFIX)
    assert all(s and s not in (".", "..") and re.fullmatch(r"[A-Za-z0-9._~-]+", s) for s in segments)


@settings(max_examples=300, deadline=None)
@given(now=st.integers(0, 2**31), requested=st.one_of(st.none(), st.integers(1, 10**7)),
       max_ttl=st.integers(60, 604800), end_offset=st.integers(1, 10**8))
def test_expiry_is_never_past_the_request_the_cap_or_the_subscription(now, requested, max_ttl, end_offset):
    default_ttl = min(300, max_ttl)
    end = now + end_offset
    expires = signing.expiry(now, requested, default_ttl=default_ttl, max_ttl=max_ttl, subscription_end=end)
    assert now < expires <= min(now + max_ttl, end)
    if requested is not None:
        assert expires <= now + requested
    assert expires == min(now + (default_ttl if requested is None else requested), now + max_ttl, end)


@pytest.mark.parametrize("value", ["0", "-5", "abc", 0, -1, True, 1.5, "1e3", [60]])
def test_bad_expires_in_is_refused(value):
    with pytest.raises(signing.Refused):
        signing.requested_seconds(value)


def test_key_cache_reloads_only_after_its_ttl(rsa_key):
    loads, clock = [], [0.0]
    secrets = iter([json.dumps({"keyId": f"K{i}", "privateKey": private_pem(rsa_key)}) for i in range(3)])

    def load():
        loads.append(1)
        return next(secrets)
    cache = signing.KeyCache(load, ttl_seconds=300, clock=lambda: clock[0])
    assert cache.get().key_id == "K0"
    clock[0] = 299
    assert cache.get().key_id == "K0" and len(loads) == 1
    clock[0] = 300
    assert cache.get().key_id == "K1" and len(loads) == 2


# --- the function on moto --------------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch, rsa_key):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "sub", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "sub", "KeyType": "HASH"}])
        secret = boto3.client("secretsmanager").create_secret(
            Name="signing-key", SecretString=json.dumps({"keyId": "KGEN1", "privateKey": private_pem(rsa_key)}))
        yield {"dynamodb": dynamodb, "secret_arn": secret["ARN"], "secrets": boto3.client("secretsmanager")}


@pytest.fixture
def signer(aws, monkeypatch):
    for name, value in {"TABLE_NAME": TABLE, "SECRET_ARN": aws["secret_arn"], "CONTENT_DOMAIN": DOMAIN,
                        "PREMIUM_PREFIX": PREFIX, "MAX_TTL_SECONDS": "3600", "DEFAULT_TTL_SECONDS": "300",
                        "KEY_CACHE_SECONDS": "300", "POWERTOOLS_SERVICE_NAME": "signer"}.items():
        monkeypatch.setenv(name, value)
    if "content_signer.handler" in sys.modules:
        return importlib.reload(sys.modules["content_signer.handler"])
    return importlib.import_module("content_signer.handler")


def premium(aws, until: int, sub: str = SUB) -> None:
    aws["dynamodb"].put_item(TableName=TABLE, Item={"sub": {"S": sub}, "premiumUntil": {"N": str(until)}})


def url_event(path=None, expires_in=None, sub=SUB):
    query = {k: v for k, v in {"path": path, "expiresIn": expires_in}.items() if v is not None}
    return rest_event("GET", "/signed-url", "/signed-url", claims={"sub": sub} if sub else {}, query=query or None)


def cookies_event(body, sub=SUB, raw=None):
    return rest_event("POST", "/signed-cookies", "/signed-cookies", claims={"sub": sub}, body=body, raw_body=raw)


def test_premium_user_gets_a_url_that_verifies(aws, signer, rsa_key):
    now = int(time.time())
    premium(aws, now + 86400)
    status, headers, body = call(signer, url_event("/premium/video/intro.mp4", "600"))
    assert status == 200 and headers["Cache-Control"] == ["no-store"]
    params = parse_qs(urlsplit(body["url"]).query)
    assert now + 600 <= body["expiresAt"] <= now + 602 and params["Expires"] == [str(body["expiresAt"])]
    assert params["Key-Pair-Id"] == ["KGEN1"]
    verify(rsa_key.public_key(), canned_policy(f"https://{DOMAIN}/premium/video/intro.mp4", body["expiresAt"]),
           params["Signature"][0])


def test_expiry_is_capped_by_max_ttl_and_by_the_subscription(aws, signer):
    now = int(time.time())
    premium(aws, now + 86400)
    _, _, body = call(signer, url_event("/premium/a.pdf", str(10**6)))
    assert body["expiresAt"] <= now + 3602
    premium(aws, now + 120)
    _, _, body = call(signer, url_event("/premium/a.pdf", "3000"))
    assert body["expiresAt"] == now + 120


def test_non_premium_user_is_refused_with_a_reason(aws, signer):
    status, _, body = call(signer, url_event("/premium/a.pdf"))
    assert (status, body["reason"]) == (403, "not_premium")


def test_expired_subscription_is_refused_with_a_reason(aws, signer):
    premium(aws, int(time.time()) - 1)
    status, _, body = call(signer, url_event("/premium/a.pdf"))
    assert (status, body["reason"]) == (403, "subscription_expired")


@pytest.mark.parametrize("path,reason", [(None, "path_required"), ("/previews/a.mp4", "path_outside_premium"),
                                         ("/premium/../x", "path_invalid"), ("/premium/%2e%2e/x", "path_invalid")])
def test_bad_paths_are_400_before_anything_is_read(aws, signer, path, reason):
    status, _, body = call(signer, url_event(path))
    assert (status, body["reason"]) == (400, reason)


def test_missing_caller_is_401(aws, signer):
    status, _, body = call(signer, url_event("/premium/a.pdf", sub=None))
    assert (status, body["reason"]) == (401, "unauthenticated")


def test_cookies_are_set_for_the_folder_and_verify(aws, signer, rsa_key):
    now = int(time.time())
    premium(aws, now + 86400)
    status, headers, body = call(signer, cookies_event({"folder": "/premium/course-1", "expiresIn": 900}))
    assert status == 200 and body["folder"] == "/premium/course-1/"
    cookies = {c.split("=", 1)[0]: c for c in headers["Set-Cookie"]}
    assert set(cookies) == set(signing.COOKIE_NAMES)
    for cookie in cookies.values():
        assert {"Secure", "HttpOnly", "SameSite=Strict", f"Domain={DOMAIN}", "Path=/premium/"} <= {
            a.strip() for a in cookie.split(";")[1:]}
    value = {name: c.split(";", 1)[0].split("=", 1)[1] for name, c in cookies.items()}
    policy = cf_b64decode(value["CloudFront-Policy"])
    assert json.loads(policy)["Statement"][0]["Resource"] == f"https://{DOMAIN}/premium/course-1/*"
    assert json.loads(policy)["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"] == body["expiresAt"]
    verify(rsa_key.public_key(), policy, value["CloudFront-Signature"])


@pytest.mark.parametrize("body,raw,reason", [
    (None, "not json", "body_not_json"), ([1], None, "body_not_object"), ({}, None, "folder_required"),
    ({"folder": "/other/"}, None, "path_outside_premium"), ({"folder": "/premium/../"}, None, "path_invalid"),
    ({"folder": "/premium/a/", "expiresIn": "soon"}, None, "expires_in_invalid"),
    ({"folder": "/premium/a/", "admin": True}, None, "body_unknown_field")])
def test_malformed_cookie_requests_are_4xx_with_a_reason(aws, signer, body, raw, reason):
    premium(aws, int(time.time()) + 86400)
    status, _, answer = call(signer, cookies_event(body, raw=raw))
    assert 400 <= status < 500 and answer["reason"] == reason


def test_a_rotated_secret_is_picked_up_after_the_cache_ttl_without_redeploy(aws, signer, monkeypatch):
    premium(aws, int(time.time()) + 86400)
    clock = [1000.0]
    monkeypatch.setattr(signer.keys, "_clock", lambda: clock[0])
    monkeypatch.setattr(signer.keys, "_key", None)
    _, _, first = call(signer, url_event("/premium/a.pdf"))
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    aws["secrets"].put_secret_value(SecretId=aws["secret_arn"],
                                    SecretString=json.dumps({"keyId": "KGEN2", "privateKey": private_pem(new_key)}))
    clock[0] += 299
    _, _, cached = call(signer, url_event("/premium/a.pdf"))
    clock[0] += 1
    _, _, rotated = call(signer, url_event("/premium/a.pdf"))
    key_ids = [parse_qs(urlsplit(b["url"]).query)["Key-Pair-Id"][0] for b in (first, cached, rotated)]
    assert key_ids == ["KGEN1", "KGEN1", "KGEN2"]
    params = parse_qs(urlsplit(rotated["url"]).query)
    verify(new_key.public_key(), canned_policy(f"https://{DOMAIN}/premium/a.pdf", rotated["expiresAt"]),
           params["Signature"][0])


def test_secrets_manager_outage_is_503_not_500(aws, signer, monkeypatch):
    premium(aws, int(time.time()) + 86400)
    monkeypatch.setattr(signer.keys, "_key", None)
    aws["secrets"].delete_secret(SecretId=aws["secret_arn"], ForceDeleteWithoutRecovery=True)
    status, _, body = call(signer, url_event("/premium/a.pdf"))
    assert (status, body["reason"]) == (503, "service_unavailable")
