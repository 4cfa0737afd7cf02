"""The paid-content scenario (`PaidContent`): premium through the admin group, then signed URLs and
cookies that CloudFront would accept, checked the way CloudFront checks them.

    admin (premium-admins) ──PUT /premium-users/{sub}──▶ registration ──▶ premium users table
    reader ──GET /signed-url, POST /signed-cookies──▶ signer ──GetItem + GetSecretValue──▶ signature
    signature ──▶ `cloudfront_check`: the /premium/* behaviour's trusted key group (created from the
                  deploy-time key results) holds Key-Pair-Id; RSA-SHA1 verifies against the public key
                  the keys function registered in the twin's CloudFront; the policy covers the URL, unexpired

The keys function runs before this, as `pulumi up` runs it (`LambdaService.deploy`); the scenario
checks those deploy-time invocations too, so a denied call there fails the run.

Imports from `twin.scenarios` are made inside the functions: that module registers this one.
"""
from __future__ import annotations

import base64
import fnmatch
import json
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional
from urllib.parse import parse_qsl, urlsplit

from offline.harness import RecordedResource
from twin.lambda_service import INVOCATION, RestApiGateway
from twin.stack import USER_GROUP, USER_POOL_CLIENT

if TYPE_CHECKING:
    from twin.scenarios import ScenarioRun, Twin, TwinUser

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
COOKIE_NAMES = ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id")


def paid_content_scenario(run: ScenarioRun) -> None:
    from twin.scenarios import token_headers

    twin, component = run.twin, run.component
    _deploy_time_keys(run)
    signer, registration = _api_serving(run, "/signed-url"), _api_serving(run, "/premium-users/me")
    signer_env = twin.env(twin.function(_function_arn(signer)))
    registration_env = twin.env(twin.function(_function_arn(registration)))
    client = _pool_client(twin, component)
    tag = uuid.uuid4().hex[:6]
    admin = twin.user(client, f"admin-{tag}@example.com")
    reader = twin.user(client, f"reader-{tag}@example.com")
    stranger = twin.user(client, f"stranger-{tag}@example.com")
    as_reader = token_headers(signer, reader)

    mine = registration.request("GET", "/premium-users/me", headers=token_headers(registration, reader))
    run.check("a new user is not premium", mine.status == 200 and mine.json().get("premium") is False,
              mine.describe())
    until = int(time.time()) + 30 * 86400
    grant = {"premiumUntil": datetime.fromtimestamp(until, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "plan": "annual"}
    path = f"/premium-users/{reader.sub}"
    outsider = registration.request("PUT", path, headers=token_headers(registration, admin), body=grant)
    run.check(f"outside {registration_env['ADMIN_GROUP']}: granting is 403 not_admin",
              outsider.status == 403 and outsider.reason() == "not_admin", outsider.describe())
    admin = join_group(twin, client, admin, registration_env["ADMIN_GROUP"])
    as_admin = token_headers(registration, admin)
    granted = registration.request("PUT", path, headers=as_admin, body=grant)
    run.require(f"a member of {registration_env['ADMIN_GROUP']} grants premium: 201 created",
                granted.status == 201 and granted.json().get("outcome") == "created", granted.describe())
    again = registration.request("PUT", path, headers=as_admin, body=grant)
    run.check("the same grant again: 200 unchanged", again.status == 200 and again.json().get("outcome") == "unchanged",
              again.describe())
    mine = registration.request("GET", "/premium-users/me", headers=token_headers(registration, reader))
    run.check("the reader is premium until the granted end",
              mine.status == 200 and mine.json().get("premium") is True and mine.json().get("plan") == "annual",
              mine.describe())

    prefix, domain = signer_env["PREMIUM_PREFIX"], signer_env["CONTENT_DOMAIN"]
    distribution = twin.one_under(component, DISTRIBUTION)
    hosts = {distribution.outputs.get("domainName"), *(distribution.props.get("aliases") or [])}
    obj = f"{prefix}course-1/intro.mp4"
    asked = int(time.time())
    url = signer.request("GET", "/signed-url", headers=as_reader, query={"path": obj, "expiresIn": "600"})
    run.require("signed URL for a premium object: 200", url.status == 200, url.describe())
    signed, expires_at = url.json()["url"], int(url.json()["expiresAt"])
    parts = urlsplit(signed)
    run.check("the URL is https on the distribution's host, for the object asked",
              parts.scheme == "https" and parts.netloc == domain and domain in hosts and parts.path == obj,
              f"{signed} (distribution answers {sorted(h for h in hosts if h)})")
    run.check("it expires after the requested 600 s (not the default, not the subscription end)",
              asked + 595 <= expires_at <= int(time.time()) + 600, f"{expires_at - asked} s")
    verdict = cloudfront_check(twin, distribution, signed)
    run.check("CloudFront accepts the URL: trusted key group, signature, policy", verdict is None, verdict)
    tampered = signed.replace(obj, f"{prefix}course-1/other.mp4")
    run.check("the same signature on another path is refused", cloudfront_check(twin, distribution, tampered),
              "a signature for one path verified for another: the check proves nothing")
    outside = signer.request("GET", "/signed-url", headers=as_reader, query={"path": "/previews/a.mp4"})
    run.check("a path outside the premium prefix: 400 path_outside_premium",
              outside.status == 400 and outside.reason() == "path_outside_premium", outside.describe())

    _signed_cookies(run, signer, as_reader, distribution, signer_env)

    refused = signer.request("GET", "/signed-url", headers=token_headers(signer, stranger), query={"path": obj})
    run.check("a user who was never premium: 403 not_premium",
              refused.status == 403 and refused.reason() == "not_premium", refused.describe())

    # The API refuses an end in the past (DELETE revokes); a subscription lapses by time passing, so the
    # stored end is moved back instead of sleeping.
    table = registration_env["TABLE_NAME"]
    item = next((i for i in twin.table_items(table) if i.get("sub") == reader.sub), None)
    run.require("the grant is stored in the premium table", item and int(item["premiumUntil"]) == until, item)
    twin.put_item(table, {**item, "premiumUntil": int(time.time()) - 60})
    lapsed = signer.request("GET", "/signed-url", headers=as_reader, query={"path": obj})
    run.check("after the subscription's end: 403 subscription_expired",
              lapsed.status == 403 and lapsed.reason() == "subscription_expired", lapsed.describe())
    mine = registration.request("GET", "/premium-users/me", headers=token_headers(registration, reader))
    run.check("and the reader's status says so", mine.status == 200 and mine.json().get("premium") is False,
              mine.describe())
    revoked = registration.request("DELETE", path, headers=as_admin)
    run.check("an admin revokes: 200 revoked", revoked.status == 200 and revoked.json().get("outcome") == "revoked",
              revoked.describe())
    after = signer.request("GET", "/signed-url", headers=as_reader, query={"path": obj})
    run.check("after revocation: 403 not_premium", after.status == 403 and after.reason() == "not_premium",
              after.describe())


def _signed_cookies(run: ScenarioRun, signer: RestApiGateway, headers: dict[str, str],
                    distribution: RecordedResource, env: dict[str, str]) -> None:
    folder, domain = f"{env['PREMIUM_PREFIX']}course-1/", env["CONTENT_DOMAIN"]
    answer = signer.request("POST", "/signed-cookies", headers=headers, body={"folder": folder})
    run.require("signed cookies for a premium folder: 200", answer.status == 200, answer.describe())
    lines = next((v for k, v in answer.header_values.items() if k.lower() == "set-cookie"), [])
    cookies = {line.split("=", 1)[0]: line for line in lines}
    attributes = {name: {a.strip().split("=", 1)[0].lower(): (a.strip().split("=", 1) + [""])[1]
                         for a in line.split(";")[1:]} for name, line in cookies.items()}
    expected = {"domain": domain, "path": env["PREMIUM_PREFIX"], "samesite": env["COOKIE_SAME_SITE"]}
    run.check("three Set-Cookie headers: Policy, Signature, Key-Pair-Id; Secure, HttpOnly, SameSite, Domain, Path",
              sorted(cookies) == sorted(COOKIE_NAMES) and all(
                  {"secure", "httponly"} <= set(a) and all(a.get(k) == v for k, v in expected.items())
                  for a in attributes.values()), lines)
    if sorted(cookies) == sorted(COOKIE_NAMES):
        values = {name: cookies[name].split(";", 1)[0].split("=", 1)[1] for name in COOKIE_NAMES}
        url = f"https://{domain}{folder}lesson-2/video.mp4"
        verdict = cloudfront_check(run.twin, distribution, url, cookies=values)
        run.check("CloudFront accepts the cookies for an object in the folder", verdict is None, verdict)
        run.check("and refuses them outside it", cloudfront_check(
            run.twin, distribution, f"https://{domain}{env['PREMIUM_PREFIX']}course-2/video.mp4", cookies=values),
            "cookies for one folder were accepted for another")


# ----------------------------------------------------------------------------------------------------
# What CloudFront checks

def _cloudfront_b64decode(value: str) -> bytes:
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


def cloudfront_check(twin: Twin, distribution: RecordedResource, url: str,
                     cookies: Optional[dict[str, str]] = None, now: Optional[float] = None) -> Optional[str]:
    """Why CloudFront would refuse `url` (signed by its query string, or by `cookies`); None if it serves it.

    As CloudFront does: the first behaviour whose path pattern matches decides which key groups are
    trusted; the key id must be in one; the signature (RSA-SHA1, PKCS#1 v1.5) must verify against that
    public key over the policy (canned: rebuilt from the URL and Expires; custom: as sent); the policy's
    resource must match the URL and its DateLessThan lie ahead."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query)) if cookies is None else {
        "Policy": cookies.get("CloudFront-Policy"), "Signature": cookies.get("CloudFront-Signature"),
        "Key-Pair-Id": cookies.get("CloudFront-Key-Pair-Id")}
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    groups = _trusted_key_groups(distribution, parts.path)
    if not groups:
        return f"no behaviour for {parts.path} trusts a key group"
    cloudfront = twin.plane.client("cloudfront", "us-east-1")
    key_id = params.get("Key-Pair-Id")
    trusted = {k for g in groups for k in cloudfront.get_key_group(Id=twin.plane.names.twin(g))["KeyGroup"]
               ["KeyGroupConfig"].get("Items", [])}
    if key_id not in trusted:
        return f"Key-Pair-Id {key_id!r} is not in the trusted key group(s) {sorted(trusted)}"
    if params.get("Policy"):
        policy = _cloudfront_b64decode(params["Policy"])
    elif params.get("Expires"):
        policy = json.dumps({"Statement": [{"Resource": base, "Condition": {
            "DateLessThan": {"AWS:EpochTime": int(params["Expires"])}}}]}, separators=(",", ":")).encode()
    else:
        return "neither Expires nor Policy"
    encoded = cloudfront.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]["EncodedKey"]
    public_key = serialization.load_pem_public_key(encoded.encode())
    try:
        public_key.verify(_cloudfront_b64decode(params.get("Signature") or ""), policy,  # type: ignore[union-attr]
                          padding.PKCS1v15(), hashes.SHA1())  # what CloudFront signs with
    except (InvalidSignature, ValueError) as error:
        return f"signature does not verify against public key {key_id}: {type(error).__name__}"
    statement = json.loads(policy)["Statement"][0]
    if not fnmatch.fnmatchcase(base, statement["Resource"]):
        return f"policy resource {statement['Resource']} doesn't cover {base}"
    ends = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    if ends <= (time.time() if now is None else now):
        return f"expired at {ends}"
    return None


def _trusted_key_groups(distribution: RecordedResource, path: str) -> list[str]:
    for behaviour in distribution.props.get("orderedCacheBehaviors") or []:
        if fnmatch.fnmatchcase(path, behaviour["pathPattern"]):
            return list(behaviour.get("trustedKeyGroups") or [])
    return list((distribution.props.get("defaultCacheBehavior") or {}).get("trustedKeyGroups") or [])


# ----------------------------------------------------------------------------------------------------
# The component in the graph

def _deploy_time_keys(run: ScenarioRun) -> None:
    """The keys function ran at deploy time, once per Invocation of this component, cleanly."""
    twin = run.twin
    deployed = twin.service.deploy()
    invocations = twin.under(run.component, INVOCATION)
    run.require("the component has deploy-time invocations", invocations)
    for resource in invocations:
        invocation = deployed.get(resource.name)
        if not run.check(f"deploy: {resource.name} ran", invocation is not None and not invocation.failed,
                         invocation.result.error if invocation else "not invoked"):
            continue
        run.check(f"deploy: {resource.name} made no denied or unjudged call",
                  not invocation.denied and not invocation.unjudged,
                  [str(d) for d in invocation.denied] + invocation.unjudged)
        response = invocation.result.response or {}
        step = json.loads(resource.props["input"]).get("step")
        if step == "create_key":
            key = twin.plane.client("cloudfront", "us-east-1").get_public_key(Id=response.get("keyId", "?"))
            run.check(f"deploy: {resource.name} registered its public key, and returned no private key",
                      key["PublicKey"]["PublicKeyConfig"]["Name"] == json.loads(resource.props["input"])["keyName"]
                      and "privateKey" not in json.dumps(response), response)
        elif step == "activate":
            run.check(f"deploy: {resource.name} made its generation current", response.get("activated") is True,
                      response)


def _api_serving(run: ScenarioRun, path: str) -> RestApiGateway:
    apis = [run.twin.apis[a.name] for a in run.twin.under(run.component, "aws:apigateway/restApi:RestApi")]
    found = [api for api in apis if any(r.resource_path == path for r in api.routes)]
    run.require(f"one API of {run.component.name} serves {path}", len(found) == 1, [a.rest_api.name for a in apis])
    return found[0]


def _function_arn(api: RestApiGateway) -> str:
    return next(r.function_arn for r in api.routes if r.function_arn)


def _pool_client(twin: Twin, component: RecordedResource) -> RecordedResource:
    """The app client of the pool the admin group lives in (the component's own, or the caller's pool)."""
    pool_id = twin.one_under(component, USER_GROUP).props["userPoolId"]
    clients = [c for c in twin.snapshot.of_type(USER_POOL_CLIENT) if c.props.get("userPoolId") == pool_id]
    own = [c for c in clients if c in twin.under(component, USER_POOL_CLIENT)]
    return (own or clients)[0]


def join_group(twin: Twin, client: RecordedResource, user: TwinUser, group: str) -> TwinUser:
    """Add the user to a group and sign in again: groups reach the ID token only at sign-in."""
    from twin.scenarios import TwinUser, srp_sign_in

    cognito = twin.plane.client("cognito-idp", client.region)
    pool_id, client_id = twin.plane.names.twin(client.props["userPoolId"]), twin.plane.names.twin(client.outputs["id"])
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=user.email, GroupName=group)
    tokens = srp_sign_in(cognito, client_id, user.email)["AuthenticationResult"]
    return TwinUser(user.email, user.sub, tokens["IdToken"])
