"""PaidContent: premium files behind CloudFront signed URLs and cookies, with key rotation that never
breaks a live link.

    viewer ──HTTPS──▶ CloudFront (HSTS + security headers, standard logs v2, optional custom domain + WAF)
      │  /premium/*   trusted key group {current, previous} ── no signature, no object (403)
      │  /previews/*  public            ┐ a viewer-request guard answers 404 to any path that is
      │  default (*)  public            ┘ percent-encoded or names the premium prefix in any case
      │ Origin Access Control (SigV4, always)
      ▼
    S3 content bucket (private; policy: this distribution only; SSE-S3, or SSE-KMS whose key
      lets only this distribution decrypt)

    app ──Cognito ID token──▶ API Gateway "signer"  ─▶ Lambda content_signer ──GetItem (consistent)─▶ premium
                               GET  /signed-url        (key cached in memory,  ──GetSecretValue──▶   users
                               POST /signed-cookies     re-read every N s)                          table
        ──Cognito ID token──▶ API Gateway "registry" ─▶ Lambda premium_registration ──────────────────┘
                               GET /premium-users/me; PUT/DELETE /premium-users/{sub} (admin group only)

    pulumi up ──Invocation (once per generation)──▶ Lambda signing_keys ──▶ CloudFront public key
                                                         └─ {keyId, privateKey} ──▶ Secrets Manager
                                                            (one value; own CMK; never returned)

Keys. The private key is generated inside the signing_keys function and written straight into
the secret: it never passes through Pulumi, so it is in no state file, plan or log. Pulumi keeps
only public data (key ids). Rotation is `signing_keys.generation` bumped by one: the new public
key joins the key group, then (after the key group update and a propagation wait) the secret's
AWSCURRENT moves to it; the previous key stays in the group until `retire_previous`, which the
preview refuses until every URL and cookie it signed has expired. See docs/components/paid-content.md.
"""
import json
import re
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, NamedTuple, Optional, Sequence, TypedDict, cast

import pulumi
import pulumi_aws as aws

from . import cloudfront_defaults as cdn
from . import defaults, monitoring
from .args import ArgsError, ArgsReader
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .iam import allow, policy_document
from .lambda_function import LambdaFunction
from .rest_api import ApiRoute, LambdaRestApi
from .secure_bucket import SecureBucket
from .static_site import DEFAULT_CONTENT_SECURITY_POLICY, WAF_RATE_LIMIT_RANGE, StaticSite, WafArgs
from .user_pool import (USER_POOL_ARN_EXPECTED, ResolvedUserPoolEmail, UserPoolEmail, is_user_pool_arn, read_email,
                        user_pool_with_app_client)

COMPONENT = "PaidContent"
CONTENT_ORIGIN = "content-bucket"
STAGE_NAME = "v1"
MAX_URL_TTL_RANGE = (60, 7 * 86400)
KEY_GENERATION_RANGE = (1, 10_000)
KEY_CACHE_SECONDS_RANGE = (10, 900)
PROPAGATION_SECONDS_RANGE = (0, 780)  # the keys function's timeout (900 s) less room for its API calls
# Clocks (viewer, Lambda, CloudFront) and the key group's propagation: margin on top of the grace period.
ROTATION_MARGIN_SECONDS = 900
SAME_SITE_VALUES = ("Strict", "Lax", "None")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_GROUP_NAME = re.compile(r"[\w+=,.@-]{1,128}")
SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue"]
KEY_MANAGER_SECRET_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
                              "secretsmanager:UpdateSecretVersionStage"]
# CloudFront public-key actions take no resource ARN (the service authorization reference lists "*").
PUBLIC_KEY_ACTIONS = ["cloudfront:CreatePublicKey", "cloudfront:DeletePublicKey", "cloudfront:GetPublicKey",
                      "cloudfront:ListPublicKeys"]
KMS_ADMIN_ACTIONS = ["kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
                     "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:ScheduleKeyDeletion",
                     "kms:TagResource", "kms:UntagResource", "kms:Update*"]
GUARD_FUNCTION_TEMPLATE = """\
// Public behaviours never serve premium objects: not by a percent-encoded path (S3 decodes it, path
// patterns don't) and not by another spelling of the premium prefix.
function handler(event) {
  var uri = event.request.uri;
  if (uri.indexOf('%') !== -1 || uri.toLowerCase().indexOf('/__PREFIX__/') === 0 || uri.indexOf('//') !== -1) {
    return {statusCode: 404, statusDescription: 'Not Found'};
  }
  return event.request;
}
"""


class SigningKeysArgs(TypedDict, total=False):
    generation: int
    """Current key generation (default 1). Bump by one to rotate; the previous key stays trusted."""
    retire_previous: bool
    """Drop the previous generation's public key; refused at preview until its last URL has expired."""
    break_live_links: bool
    """Compromise only: skip the grace check, so links signed with dropped keys stop working at once."""
    propagation_seconds: int
    """Wait between the key group update and the signer's switch (0-780, default 180)."""
    cache_seconds: int
    """How long a warm signer keeps the key in memory before re-reading the secret (10-900, default 300)."""


class PaidContentArgs(TypedDict, total=False):
    cognito_user_pool_arn: Optional[pulumi.Input[str]]
    """User pool whose ID tokens authorize both APIs (the admin group is created in it); None creates a
    hardened pool and app client for this component."""
    email: Optional[UserPoolEmail]
    """The created pool's email (verification codes) through your SES identity; left out, Cognito's built-in
    email, capped at a few dozen messages a day (dev only: the policy pack requires SES in prod)."""
    premium_prefix: str
    """First path segment of premium content (default premium: /premium/*)."""
    preview_prefix: str
    """First path segment of the free previews (default previews: /previews/*)."""
    max_url_ttl_seconds: int
    """Longest life of a signed URL or cookie (60-604800, default 3600); it sets the rotation grace period."""
    default_url_ttl_seconds: int
    """Life of a signature when the caller asks for none (default 300, at most max_url_ttl_seconds)."""
    signing_keys: SigningKeysArgs
    """Key generation and rotation."""
    admin_group: str
    """Cognito group whose members grant and revoke premium (default premium-admins)."""
    cookie_same_site: str
    """SameSite of the signed cookies: Strict (default), Lax or None."""
    content_kms_encryption: bool
    """SSE-KMS on the content bucket with a key only this distribution may decrypt with (default false)."""
    price_class: str
    """PriceClass_100 (default), PriceClass_200 or PriceClass_All."""
    content_security_policy: str
    """Content-Security-Policy of every response (default: same-origin only)."""
    custom_domain: Optional[cdn.CustomDomainArgs]
    """Viewer-facing custom domain; None uses the *.cloudfront.net name."""
    waf: Optional[WafArgs]
    """WAF web ACL (us-east-1): AWS managed rule groups + a per-IP rate limit; None for none."""
    us_east_1_provider: Optional[aws.Provider]
    """aws provider for us-east-1 (required with custom_domain or waf)."""
    deletion_protection: bool
    """Keep the buckets and the premium table on destroy (and protect the table from deletion)."""
    log_retention_days: int
    """Retention of the functions' and stages' logs (a value CloudWatch offers; default 30)."""
    cloudwatch_account: Optional[aws.apigateway.Account]
    """The region's API Gateway logging settings, if this stack manages them."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topics (CloudFront's alarms notify us_east_1_topic_arn) and threshold overrides
    (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    canary: Optional[CanaryArgs]
    """Release the signer and registration functions through their alias `live` with CodeDeploy, each rolled back
    on its own errors and p99 duration; left out, a deploy replaces their code at once."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API, monitoring.TABLE, monitoring.CLOUDFRONT)
"""The functions' errors and throttles, both stages' 5xx and p99 latency, the premium table's throttling and the
distribution's 5xx rate."""

DEFAULTS: dict[str, Any] = {
    "cognito_user_pool_arn": None, "premium_prefix": "premium", "preview_prefix": "previews", "max_url_ttl_seconds": 3600,
    "default_url_ttl_seconds": 300, "signing_keys": None, "admin_group": "premium-admins",
    "cookie_same_site": "Strict", "content_kms_encryption": False, "price_class": "PriceClass_100",
    "content_security_policy": DEFAULT_CONTENT_SECURITY_POLICY, "custom_domain": None, "waf": None,
    "us_east_1_provider": None, "deletion_protection": False, "log_retention_days": 30, "cloudwatch_account": None,
    "alarms": None, "email": None,
}
SIGNING_KEYS_DEFAULTS: dict[str, Any] = {"generation": 1, "retire_previous": False, "break_live_links": False,
                                         "propagation_seconds": 180, "cache_seconds": 300}
WAF_DEFAULTS: dict[str, Any] = {"rate_limit": 1000}


@dataclass(frozen=True)
class ResolvedSigningKeys:
    generation: int
    retire_previous: bool
    break_live_links: bool
    propagation_seconds: int
    cache_seconds: int

    @property
    def kept(self) -> tuple[int, ...]:
        """Generations whose public keys the key group holds, current first."""
        if self.retire_previous or self.generation == 1:
            return (self.generation,)
        return (self.generation, self.generation - 1)

    @property
    def dropped(self) -> Optional[int]:
        """The newest generation no longer trusted (its links must have expired), None if none ever was."""
        newest_dropped = self.kept[-1] - 1
        return newest_dropped if newest_dropped >= 1 else None


@dataclass(frozen=True)
class ResolvedPaidContent:
    cognito_user_pool_arn: Optional[pulumi.Input[str]]
    """None: the component creates its own pool."""
    email: Optional[ResolvedUserPoolEmail]
    """The created pool's SES email; None: Cognito's built-in email."""
    premium_prefix: str
    preview_prefix: str
    max_url_ttl_seconds: int
    default_url_ttl_seconds: int
    keys: ResolvedSigningKeys
    admin_group: str
    cookie_same_site: str
    content_kms_encryption: bool
    price_class: str
    content_security_policy: str
    custom_domain: Optional[cdn.ResolvedCustomDomain]
    waf_rate_limit: Optional[int]
    us_east_1_provider: Optional[aws.Provider]
    deletion_protection: bool
    log_retention_days: int
    cloudwatch_account: Optional[pulumi.Resource]
    alarms: Optional[monitoring.ResolvedAlarms] = None
    canary: Optional[ResolvedCanary] = None

    @property
    def premium_path(self) -> str:
        return f"/{self.premium_prefix}/"

    @property
    def grace_seconds(self) -> int:
        """How long a dropped key's signatures can still be presented: the longest URL or cookie, signed by
        a warm signer that hasn't re-read the secret yet, plus margin for clocks and propagation."""
        return self.max_url_ttl_seconds + self.keys.cache_seconds + ROTATION_MARGIN_SECONDS


def resolve_args(name: str, args: Optional[PaidContentArgs]) -> ResolvedPaidContent:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader(COMPONENT, name, args, PaidContentArgs, DEFAULTS)

    def prefix(key: str) -> str:
        return r.string(key, check=lambda v: _PREFIX.fullmatch(v) is not None,
                        expected="one path segment of lower-case letters, digits and hyphens, such as premium")

    premium, preview = prefix("premium_prefix"), prefix("preview_prefix")
    if premium == preview:
        r.fail("preview_prefix", f"{preview!r} is the premium prefix too: previews would need a signature")
    max_ttl = r.integer("max_url_ttl_seconds", low=MAX_URL_TTL_RANGE[0], high=MAX_URL_TTL_RANGE[1])
    default_ttl = r.integer("default_url_ttl_seconds", low=1, high=MAX_URL_TTL_RANGE[1])
    if default_ttl > max_ttl:
        r.fail("default_url_ttl_seconds", f"{default_ttl} is above max_url_ttl_seconds {max_ttl}")
    custom_domain = cdn.read_custom_domain(r)
    waf = r.section("waf", WafArgs, WAF_DEFAULTS)
    us_east_1 = r.input("us_east_1_provider")
    if (custom_domain is not None or waf is not None) and us_east_1 is None:
        r.fail("us_east_1_provider", "required with custom_domain or waf: CloudFront takes certificates and web "
                                     "ACLs from us-east-1 only")
    alarms = monitoring.read_alarms(r, ALARM_THRESHOLDS, us_east_1=True)
    if alarms is not None and us_east_1 is None:
        r.fail("us_east_1_provider", "required with alarms: CloudFront's metrics, and their alarms, are in us-east-1")
    pool_arn = r.optional_string("cognito_user_pool_arn", check=is_user_pool_arn, expected=USER_POOL_ARN_EXPECTED)
    if pool_arn is not None and r.given("email"):
        r.fail("email", "applies only to the user pool PaidContent creates; set the email of the pool of "
                        "cognito_user_pool_arn where that pool is managed")
    return ResolvedPaidContent(
        cognito_user_pool_arn=pool_arn, email=read_email(r),
        premium_prefix=premium, preview_prefix=preview, max_url_ttl_seconds=max_ttl,
        default_url_ttl_seconds=default_ttl, keys=_signing_keys_args(r),
        admin_group=r.string("admin_group", check=lambda v: _GROUP_NAME.fullmatch(v) is not None,
                             expected="a Cognito group name"),
        cookie_same_site=r.choice("cookie_same_site", SAME_SITE_VALUES),
        content_kms_encryption=r.flag("content_kms_encryption"),
        price_class=r.choice("price_class", cdn.PRICE_CLASSES),
        content_security_policy=r.string("content_security_policy", check=bool,
                                         expected="a Content-Security-Policy"),
        custom_domain=custom_domain,
        waf_rate_limit=None if waf is None else waf.integer("rate_limit", low=WAF_RATE_LIMIT_RANGE[0],
                                                            high=WAF_RATE_LIMIT_RANGE[1]),
        us_east_1_provider=us_east_1, deletion_protection=r.flag("deletion_protection"),
        log_retention_days=defaults.read_log_retention(r), cloudwatch_account=r.input("cloudwatch_account"),
        alarms=alarms, canary=read_canary(r))


def _canary_args(s: ResolvedPaidContent) -> Optional[CanaryArgs]:
    """Each API function's `canary` arg: its rollback alarms notify the regional alarm topic."""
    return s.canary.args(s.alarms.topic_arn if s.alarms else None) if s.canary else None


def _signing_keys_args(r: ArgsReader) -> ResolvedSigningKeys:
    given = r.section("signing_keys", SigningKeysArgs, SIGNING_KEYS_DEFAULTS)
    k = given if given is not None else ArgsReader(r.component, r.name, {}, SigningKeysArgs, SIGNING_KEYS_DEFAULTS,
                                                    (*r.path, "signing_keys"))
    generation = k.integer("generation", low=KEY_GENERATION_RANGE[0], high=KEY_GENERATION_RANGE[1])
    retire = k.flag("retire_previous")
    if retire and generation == 1:
        k.fail("retire_previous", "generation 1 has no previous key to retire")
    return ResolvedSigningKeys(
        generation=generation, retire_previous=retire, break_live_links=k.flag("break_live_links"),
        propagation_seconds=k.integer("propagation_seconds", low=PROPAGATION_SECONDS_RANGE[0],
                                      high=PROPAGATION_SECONDS_RANGE[1]),
        cache_seconds=k.integer("cache_seconds", low=KEY_CACHE_SECONDS_RANGE[0], high=KEY_CACHE_SECONDS_RANGE[1]))


# --- rotation: when may a key leave the key group ------------------------------------------------------

def activation_time(versions: Sequence[Any], generation: int) -> Optional[int]:
    """When generation N's secret version became current (its `activated-at-<epoch>` label), if it has."""
    for version in versions:
        stages = list(_field(version, "version_stages", "versionStages") or [])
        if f"generation-{generation}" in stages:
            stamps = [s for s in stages if s.startswith("activated-at-") and s[13:].isdigit()]
            return int(stamps[0][13:]) if stamps else None
    return None


def check_grace(name: str, keys: ResolvedSigningKeys, versions: Sequence[Any], grace_seconds: int,
                now: float) -> None:
    """Refuse a key group that drops a key whose signatures may still be live.

    The newest dropped generation stopped signing when the oldest kept one was activated; every
    signature it made has expired `grace_seconds` after that."""
    dropped = keys.dropped
    if dropped is None or keys.break_live_links:
        return
    successor = dropped + 1
    activated = activation_time(versions, successor)
    path = ("signing_keys", "retire_previous" if keys.retire_previous else "generation")
    if activated is None:
        raise ArgsError(f"{COMPONENT} {name!r}", path,
                        f"generation {successor} has not been activated yet, so generation {dropped}'s key may still "
                        f"be signing: rotate first, retire in a later update (or break_live_links for a compromise)")
    ready = activated + grace_seconds
    if now < ready:
        raise ArgsError(f"{COMPONENT} {name!r}", path,
                        f"generation {dropped}'s key may still have live links until "
                        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ready))} (generation {successor} was "
                        f"activated {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(activated))}; grace "
                        f"{grace_seconds} s = max URL life + key cache + margin); retry after that, or set "
                        f"break_live_links for a compromised key")


def _field(value: Any, *names: str) -> Any:
    for name in names:
        if isinstance(value, dict) and name in value:
            return value[name]
        if hasattr(value, name):
            return getattr(value, name)
    return None


def _now() -> float:
    return time.time()


def public_key_id(result: Optional[str]) -> str:
    """The CloudFront public key id an Invocation of the keys function returned ("" before it has run)."""
    return json.loads(result)["keyId"] if result else ""


def activated_at(result: Optional[str]) -> Optional[int]:
    return json.loads(result).get("activatedAt") if result else None


def key_name(name: str, generation: int) -> str:
    """CloudFront public key names are unique per account: project, stack, component and generation."""
    raw = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-g{generation}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)[-128:]


# --- the component -------------------------------------------------------------------------------------

class _SigningSecret(NamedTuple):
    secret: aws.secretsmanager.Secret
    key: aws.kms.Key


class _SigningKeys(NamedTuple):
    manager: LambdaFunction
    generations: dict[int, aws.lambda_.Invocation]
    key_group: aws.cloudfront.KeyGroup


class _Buckets(NamedTuple):
    content: SecureBucket
    logs: SecureBucket
    kms_key: Optional[aws.kms.Key]


class _Edge(NamedTuple):
    access_control: aws.cloudfront.OriginAccessControl
    security_headers: aws.cloudfront.ResponseHeadersPolicy
    public_guard: aws.cloudfront.Function


class _Users(NamedTuple):
    pool_arn: pulumi.Output[str]
    pool_id: pulumi.Output[str]
    client_id: Optional[pulumi.Output[str]]
    """None when the caller brought the pool (and its clients)."""


class _App(NamedTuple):
    function: LambdaFunction
    api: LambdaRestApi


class PaidContent(pulumi.ComponentResource):
    """Premium files behind CloudFront signed URLs and cookies, the apps that grant and sign them, and
    rotating signing keys.

    Python callers also get the children: `distribution`, `content_bucket`, `table`, `key_group`,
    `signing_secret`, `signer` and `registration` (each an `_App` of function and API), and `access_logs` (the
    standard-logging delivery).
    """

    url: pulumi.Output[str]
    """https:// URL of the content (the custom domain when set)."""
    content_domain: pulumi.Output[str]
    """Host in signed URLs and the cookies' Domain: the custom domain, else the distribution's."""
    distribution_domain: pulumi.Output[str]
    """The distribution's *.cloudfront.net name."""
    distribution_id: pulumi.Output[str]
    """Distribution id (for invalidations)."""
    bucket_name: pulumi.Output[str]
    """Content bucket: upload premium files under <premium_prefix>/, previews under <preview_prefix>/."""
    premium_table_name: pulumi.Output[str]
    """DynamoDB table of premium users (key: sub)."""
    key_group_id: pulumi.Output[str]
    """The trusted key group of the premium behaviour."""
    signing_secret_arn: pulumi.Output[str]
    """Secret holding {keyId, privateKey} of the current generation (AWSCURRENT)."""
    key_generation: int
    """Current signing-key generation."""
    signing_key_activated_at: pulumi.Output[int]
    """When the current generation became the signer's key (epoch seconds)."""
    signer_url: pulumi.Output[str]
    """Invoke URL of the signer API (GET /signed-url, POST /signed-cookies)."""
    registration_url: pulumi.Output[str]
    """Invoke URL of the registration API (/premium-users/...)."""
    web_acl_arn: Optional[pulumi.Output[str]]
    """WAF web ACL, when on."""
    user_pool_id: pulumi.Output[str]
    """The user pool whose ID tokens call the APIs (the caller's, or the one created here)."""
    user_pool_client_id: Optional[pulumi.Output[str]]
    """App client of the pool created here (None with the caller's pool)."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    # Every arg has a default, so `args` may be left out; it is typed without Optional for Pulumi's analyzer.
    def __init__(self, name: str, args: PaidContentArgs = None,  # type: ignore[assignment]
                 opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__(f"serverless-blueprints:index:{COMPONENT}", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        users = self._users(s)
        self.table = self._premium_table(s)
        signing = self._signing_secret(s)
        keys = self._signing_keys(s, signing)
        buckets = self._buckets(s)
        edge = self._edge(s)
        certificate_arn = self._certificate(s)
        self.web_acl_arn = self._web_acl_arn(s)
        self.distribution = self._distribution(s, buckets, edge, keys.key_group, certificate_arn)
        self._grant_distribution_reads(buckets)
        # Standard logging v2 (CloudWatch Logs delivers, in us-east-1): the log bucket needs no ACLs.
        self.access_logs = cdn.standard_logging(self._name, self.distribution, buckets.logs.arn, parent=self,
                                                us_east_1=s.us_east_1_provider, depends_on=[buckets.logs.policy])
        activation = self._activate_current_key(s, signing, keys)
        content_domain = self._content_domain(s)
        self.signer = self._signer(s, users, signing, content_domain)
        self.registration = self._registration(s, users)
        self._admin_group(s, users)
        self._signing_key_policy(signing, keys.manager, self.signer.function)
        self._alias_records(s)
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        monitored = monitoring.watch(self._name, s.alarms, [
            *keys.manager.watches(t), *self.signer.function.watches(t), *self.signer.api.watches(t),
            *self.registration.function.watches(t), *self.registration.api.watches(t),
            *monitoring.table_watches(self.table._name, self.table.name, t),
            *monitoring.cloudfront_watches(self.distribution._name, self.distribution.id, t)],
            parent=self, us_east_1_provider=s.us_east_1_provider,
            created=[w for app in (self.signer, self.registration) if app.function.canary
                     for w in app.function.canary.watches])
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.content_bucket, self.key_group, self.signing_secret = buckets.content, keys.key_group, signing.secret
        self.content_domain = content_domain
        self.url = pulumi.Output.concat("https://", content_domain)
        self.distribution_domain = self.distribution.domain_name
        self.distribution_id = self.distribution.id
        self.bucket_name = buckets.content.name
        self.premium_table_name = self.table.name
        self.key_group_id = keys.key_group.id
        self.signing_secret_arn = signing.secret.arn
        self.key_generation = s.keys.generation
        # None only where the invocation has no result yet (previews, mocks); deployed, the key's activation time.
        self.signing_key_activated_at = cast(pulumi.Output[int], activation.result.apply(activated_at))
        self.signer_url = self.signer.api.url
        self.registration_url = self.registration.api.url
        self.user_pool_id, self.user_pool_client_id = users.pool_id, users.client_id
        self.register_outputs({
            "url": self.url, "content_domain": self.content_domain, "distribution_domain": self.distribution_domain,
            "distribution_id": self.distribution_id, "bucket_name": self.bucket_name,
            "premium_table_name": self.premium_table_name, "key_group_id": self.key_group_id,
            "signing_secret_arn": self.signing_secret_arn, "key_generation": self.key_generation,
            "signing_key_activated_at": self.signing_key_activated_at, "signer_url": self.signer_url,
            "registration_url": self.registration_url, "web_acl_arn": self.web_acl_arn,
            "user_pool_id": self.user_pool_id, "user_pool_client_id": self.user_pool_client_id})

    # --- users -----------------------------------------------------------------------------------------
    def _users(self, s: ResolvedPaidContent) -> _Users:
        """The caller's user pool, or the project's hardened pool and public app client."""
        if s.cognito_user_pool_arn is not None:
            arn = pulumi.Output.from_input(s.cognito_user_pool_arn)
            return _Users(pool_arn=arn, pool_id=arn.apply(lambda a: a.rsplit("/", 1)[-1]), client_id=None)
        pool, client = user_pool_with_app_client(f"{self._name}-users", f"{self._name}-app", parent=self,
                                                 deletion_protection=s.deletion_protection, email=s.email)
        return _Users(pool_arn=pool.arn, pool_id=pool.id, client_id=client.id)

    # --- premium users -----------------------------------------------------------------------------
    def _premium_table(self, s: ResolvedPaidContent) -> aws.dynamodb.Table:
        """One item per Cognito user: {sub, premiumUntil, plan, grantedBy, updatedAt}."""
        return aws.dynamodb.Table(
            f"{self._name}-premium-users", billing_mode="PAY_PER_REQUEST", hash_key="sub",
            attributes=[{"name": "sub", "type": "S"}],
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            deletion_protection_enabled=s.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=s.deletion_protection))

    # --- signing keys --------------------------------------------------------------------------------
    def _signing_secret(self, s: ResolvedPaidContent) -> _SigningSecret:
        """The secret of {keyId, privateKey}, under its own CMK (its key policy is set once the roles exist)."""
        key = aws.kms.Key(f"{self._name}-signing-key-cmk", enable_key_rotation=True, deletion_window_in_days=30,
                          description=f"{self._name}: encrypts the CloudFront signing key's secret",
                          opts=self._child)
        secret = aws.secretsmanager.Secret(
            f"{self._name}-signing-key", kms_key_id=key.arn, recovery_window_in_days=30 if s.deletion_protection else 7,
            description=f"{self._name}: CloudFront signing key {{keyId, privateKey}}; written by the keys function "
                        f"only", opts=self._child)
        return _SigningSecret(secret=secret, key=key)

    def _signing_keys(self, s: ResolvedPaidContent, signing: _SigningSecret) -> _SigningKeys:
        """The keys function, one create-only key per kept generation, and the key group trusting them."""
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        manager = LambdaFunction(f"{self._name}-keys", {
            "code": "signing_keys", "memory_mb": 256,
            "timeout_seconds": s.keys.propagation_seconds + 120,
            "log_retention_days": s.log_retention_days,
            "environment": {"PROPAGATION_SECONDS": str(s.keys.propagation_seconds),
                            "KEY_COMMENT": f"{self._name} signing key"},
            "policy_statements": [
                allow(PUBLIC_KEY_ACTIONS, ["*"], sid="CloudFrontPublicKeysUnscopable"),
                allow(KEY_MANAGER_SECRET_ACTIONS, [signing.secret.arn], sid="WriteSigningKeyVersions"),
                allow(["kms:GenerateDataKey"], [signing.key.arn], sid="EncryptThroughSecretsManager",
                      condition={"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                          "secretsmanager.", region, ".amazonaws.com")}}),
            ],
        }, opts=self._child)
        generations = {generation: aws.lambda_.Invocation(
            f"{self._name}-key-g{generation}", function_name=manager.name, lifecycle_scope="CRUD",
            input=pulumi.Output.json_dumps({"step": "create_key", "generation": generation,
                                            "secretId": signing.secret.arn,
                                            "keyName": key_name(self._name, generation)}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[manager])) for generation in s.keys.kept}
        key_ids = [generations[g].result.apply(public_key_id) for g in s.keys.kept]
        key_group = aws.cloudfront.KeyGroup(
            f"{self._name}-key-group", comment=f"{self._name}: generations {', '.join(map(str, s.keys.kept))}",
            items=self._checked_key_ids(s, signing, key_ids), opts=self._child)
        return _SigningKeys(manager=manager, generations=generations, key_group=key_group)

    def _checked_key_ids(self, s: ResolvedPaidContent, signing: _SigningSecret,
                         key_ids: list[pulumi.Output[str]]) -> pulumi.Output[list[str]]:
        """The key group's items, refused (at preview) while a dropped key's links may still be live."""
        if s.keys.dropped is None or s.keys.break_live_links:
            return pulumi.Output.all(*key_ids)
        # The secret's version labels record when each generation went live; reading them reads no secret value.
        versions = aws.secretsmanager.get_secret_versions_output(
            secret_id=signing.secret.arn, opts=pulumi.InvokeOutputOptions(parent=self)).versions
        name, grace, now = self._name, s.grace_seconds, _now()

        def checked(values: list) -> list[str]:
            check_grace(name, s.keys, values[-1] or [], grace, now)
            return list(values[:-1])
        return pulumi.Output.all(*key_ids, versions).apply(checked)

    def _activate_current_key(self, s: ResolvedPaidContent, signing: _SigningSecret,
                              keys: _SigningKeys) -> aws.lambda_.Invocation:
        """Switch the signer (AWSCURRENT) to the current generation, once the distribution trusts its key."""
        generation = s.keys.generation
        return aws.lambda_.Invocation(
            f"{self._name}-activate-g{generation}", function_name=keys.manager.name, lifecycle_scope="CRUD",
            input=pulumi.Output.json_dumps({"step": "activate", "generation": generation,
                                            "secretId": signing.secret.arn}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[keys.key_group, self.distribution,
                                                                 keys.generations[generation]]))

    def _signing_key_policy(self, signing: _SigningSecret, manager: LambdaFunction,
                            signer: LambdaFunction) -> aws.kms.KeyPolicy:
        """Least privilege on the secret's CMK: the account administers it; only the signer decrypts and only
        the keys function encrypts, both through Secrets Manager and for this secret alone."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        through_secrets_manager = {
            "StringEquals": {"kms:ViaService": pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com"),
                             "kms:EncryptionContext:SecretARN": signing.secret.arn}}
        return aws.kms.KeyPolicy(f"{self._name}-signing-key-cmk-policy", key_id=signing.key.id, policy=policy_document([
            {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
             "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account, ":root")},
             "Action": KMS_ADMIN_ACTIONS, "Resource": "*"},
            {"Sid": "SignerDecryptsItsSecret", "Effect": "Allow", "Principal": {"AWS": signer.role.arn},
             "Action": "kms:Decrypt", "Resource": "*", "Condition": through_secrets_manager},
            {"Sid": "KeysFunctionEncryptsItsSecret", "Effect": "Allow", "Principal": {"AWS": manager.role.arn},
             "Action": "kms:GenerateDataKey", "Resource": "*", "Condition": through_secrets_manager},
        ]), opts=self._child)

    # --- content and the edge ------------------------------------------------------------------------
    def _buckets(self, s: ResolvedPaidContent) -> _Buckets:
        """The private content bucket (optionally SSE-KMS) and the log bucket (ACLs off) that takes both kinds of
        logs: the content bucket's server access logs (s3/) and CloudFront's standard logs v2 (AWSLogs/)."""
        name, protect = self._name, s.deletion_protection
        kms_key = None
        if s.content_kms_encryption:
            kms_key = aws.kms.Key(f"{name}-content-cmk", enable_key_rotation=True, deletion_window_in_days=30,
                                  description=f"{name}: encrypts premium content; only its distribution decrypts",
                                  opts=self._child)
        logs = SecureBucket(f"{name}-logs", {"force_destroy": not protect, "defer_policy": True,
                                             "expire_objects_after_days": defaults.ACCESS_LOG_EXPIRATION_DAYS},
                            opts=self._child)
        content = SecureBucket(f"{name}-content", {
            "force_destroy": not protect, "defer_policy": True, "access_log_bucket": logs.name,
            "access_log_prefix": f"s3/{name}-content/", "kms_key_arn": kms_key.arn if kms_key else None},
            opts=self._child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        logs.attach_policy([{
            "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": logs.arn.apply(lambda arn: f"{arn}/s3/*"),
            "Condition": {"ArnLike": {"aws:SourceArn": content.arn}, "StringEquals": {"aws:SourceAccount": account}},
        }, *cdn.log_delivery_statements(logs.arn, account, [cdn.cloudfront_log_sources(account)])])
        return _Buckets(content=content, logs=logs, kms_key=kms_key)

    def _edge(self, s: ResolvedPaidContent) -> _Edge:
        access = aws.cloudfront.OriginAccessControl(
            f"{self._name}-oac", description=f"{self._name}: CloudFront signs every request to the content bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4",
            opts=self._child)
        headers = cdn.security_headers_policy(
            f"{self._name}-security-headers", self._child, comment="HSTS, nosniff, frame DENY, referrer policy, CSP",
            content_security_policy=s.content_security_policy)
        guard = aws.cloudfront.Function(
            f"{self._name}-public-guard", runtime="cloudfront-js-2.0", publish=True,
            code=GUARD_FUNCTION_TEMPLATE.replace("__PREFIX__", s.premium_prefix),
            comment="Public paths never reach premium objects", opts=self._child)
        return _Edge(access_control=access, security_headers=headers, public_guard=guard)

    def _certificate(self, s: ResolvedPaidContent) -> Optional[pulumi.Output[str]]:
        if s.custom_domain is None:
            return None
        assert s.us_east_1_provider is not None  # resolve_args requires it with custom_domain
        return cdn.dns_validated_certificate(self._name, s.custom_domain.domain_name, s.custom_domain.hosted_zone_id,
                                             parent=self, us_east_1=s.us_east_1_provider)

    def _web_acl_arn(self, s: ResolvedPaidContent) -> Optional[pulumi.Output[str]]:
        if s.waf_rate_limit is None:
            return None
        # StaticSite's web ACL, reused as it is: it takes `self` as the parent and reads only these settings of
        # its site (see the docs page: it belongs in cloudfront_defaults).
        site = SimpleNamespace(waf_rate_limit=s.waf_rate_limit, us_east_1_provider=s.us_east_1_provider,
                               log_retention_days=s.log_retention_days)
        return StaticSite._web_acl(self, self._name, site).arn  # type: ignore[arg-type]

    def _distribution(self, s: ResolvedPaidContent, buckets: _Buckets, edge: _Edge,
                      key_group: aws.cloudfront.KeyGroup,
                      certificate_arn: Optional[pulumi.Output[str]]) -> aws.cloudfront.Distribution:
        """Public default and previews; /<premium>/* only with a signature from the key group."""
        cached: aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict = {
            "target_origin_id": CONTENT_ORIGIN, "viewer_protocol_policy": "redirect-to-https",
            "cache_policy_id": cdn.CACHING_OPTIMIZED_POLICY_ID, "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"], "compress": True,
            "response_headers_policy_id": edge.security_headers.id}
        guarded: aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict = {
            **cached, "function_associations": [{"event_type": "viewer-request", "function_arn": edge.public_guard.arn}]}
        # Signed requests only; the query strings that carry a signature are not part of the cache key.
        premium: aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict = {
            **cached, "path_pattern": f"/{s.premium_prefix}/*", "trusted_key_groups": [key_group.id]}
        previews: aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict = {
            **guarded, "path_pattern": f"/{s.preview_prefix}/*"}
        origin: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": CONTENT_ORIGIN, "domain_name": buckets.content.bucket.bucket_regional_domain_name,
            "origin_access_control_id": edge.access_control.id}
        restrictions: aws.cloudfront.DistributionRestrictionsArgsDict = {"geo_restriction": {"restriction_type": "none"}}
        return aws.cloudfront.Distribution(
            f"{self._name}-cdn", comment=f"{self._name}: premium content (signed) and previews",
            enabled=True, is_ipv6_enabled=True, http_version=cdn.HTTP_VERSION, price_class=s.price_class,
            default_root_object="index.html",
            origins=[origin],
            default_cache_behavior=guarded,
            ordered_cache_behaviors=[premium, previews],
            aliases=[s.custom_domain.domain_name] if s.custom_domain else None,
            viewer_certificate=cdn.viewer_certificate(certificate_arn),
            web_acl_id=self.web_acl_arn,
            restrictions=restrictions,
            opts=self._child)

    def _grant_distribution_reads(self, buckets: _Buckets) -> None:
        """Bucket policy (and KMS key policy, with SSE-KMS): this distribution, through OAC, and nothing else."""
        distribution_arn = self.distribution.arn
        buckets.content.attach_policy([{
            "Sid": "CloudFrontReadsThroughOac", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
            "Resource": buckets.content.arn.apply(lambda arn: f"{arn}/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        }])
        if buckets.kms_key is None:
            return
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        aws.kms.KeyPolicy(f"{self._name}-content-cmk-policy", key_id=buckets.kms_key.id, policy=policy_document([
            {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
             "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account, ":root")},
             "Action": KMS_ADMIN_ACTIONS, "Resource": "*"},
            {"Sid": "ThisDistributionDecrypts", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}},
            # Uploads (multipart ones decrypt too), for principals the account's IAM allows, through S3 only.
            {"Sid": "AccountUploadsThroughS3", "Effect": "Allow",
             "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account, ":root")},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat("s3.", region, ".amazonaws.com"),
                                            "kms:CallerAccount": account}}},
        ]), opts=self._child)

    def _content_domain(self, s: ResolvedPaidContent) -> pulumi.Output[str]:
        if s.custom_domain is not None:
            return pulumi.Output.from_input(s.custom_domain.domain_name)
        return self.distribution.domain_name

    def _alias_records(self, s: ResolvedPaidContent) -> None:
        if s.custom_domain is not None and s.custom_domain.hosted_zone_id is not None:
            cdn.alias_records(self._name, s.custom_domain.hosted_zone_id, s.custom_domain.domain_name,
                              self.distribution, self._child)

    # --- the two apps ----------------------------------------------------------------------------------
    def _signer(self, s: ResolvedPaidContent, users: _Users, signing: _SigningSecret,
                content_domain: pulumi.Output[str]) -> _App:
        """Reads its secret and the premium table; nothing else."""
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        function = LambdaFunction(f"{self._name}-signer", {
            "code": "content_signer", "memory_mb": 512, "timeout_seconds": 10, "invoked_by_api_gateway": True,
            "log_retention_days": s.log_retention_days,
            "environment": {
                "TABLE_NAME": self.table.name, "SECRET_ARN": signing.secret.arn, "CONTENT_DOMAIN": content_domain,
                "PREMIUM_PREFIX": s.premium_path, "DEFAULT_TTL_SECONDS": str(s.default_url_ttl_seconds),
                "MAX_TTL_SECONDS": str(s.max_url_ttl_seconds), "KEY_CACHE_SECONDS": str(s.keys.cache_seconds),
                "COOKIE_SAME_SITE": s.cookie_same_site},
            "policy_statements": [
                allow(SECRET_READ_ACTIONS, [signing.secret.arn], sid="ReadSigningKey"),
                allow(["kms:Decrypt"], [signing.key.arn], sid="DecryptSigningKeyThroughSecretsManager",
                      condition={"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                          "secretsmanager.", region, ".amazonaws.com")}}),
                allow(["dynamodb:GetItem"], [self.table.arn], sid="ReadPremiumStatus"),
            ],
            "canary": _canary_args(s),
        }, opts=self._child)
        api = LambdaRestApi(f"{self._name}-signer-api", {
            "routes": [ApiRoute(method="GET", path="/signed-url", function=function, query_parameters=["path",
                                                                                                       "expiresIn"]),
                       ApiRoute(method="POST", path="/signed-cookies", function=function)],
            "cognito_user_pool_arns": [users.pool_arn], "stage_name": STAGE_NAME,
            "log_retention_days": s.log_retention_days, "cloudwatch_account": s.cloudwatch_account,
        }, opts=self._child)
        return _App(function=function, api=api)

    def _registration(self, s: ResolvedPaidContent, users: _Users) -> _App:
        """Reads and writes the premium table; nothing else."""
        function = LambdaFunction(f"{self._name}-registration", {
            "code": "premium_registration", "memory_mb": 256, "timeout_seconds": 10, "invoked_by_api_gateway": True,
            "log_retention_days": s.log_retention_days,
            "environment": {"TABLE_NAME": self.table.name, "ADMIN_GROUP": s.admin_group},
            "policy_statements": [allow(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                                        [self.table.arn], sid="ManagePremiumUsers")],
            "canary": _canary_args(s),
        }, opts=self._child)
        api = LambdaRestApi(f"{self._name}-registration-api", {
            "routes": [ApiRoute(method="GET", path="/premium-users/me", function=function),
                       ApiRoute(method="PUT", path="/premium-users/{sub}", function=function),
                       ApiRoute(method="DELETE", path="/premium-users/{sub}", function=function)],
            "cognito_user_pool_arns": [users.pool_arn], "stage_name": STAGE_NAME,
            "log_retention_days": s.log_retention_days, "cloudwatch_account": s.cloudwatch_account,
        }, opts=self._child)
        return _App(function=function, api=api)

    def _admin_group(self, s: ResolvedPaidContent, users: _Users) -> aws.cognito.UserGroup:
        return aws.cognito.UserGroup(f"{self._name}-admins", name=s.admin_group, user_pool_id=users.pool_id,
                                     description="May grant and revoke premium access", opts=self._child)
