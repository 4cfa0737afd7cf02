"""StaticSite: a private S3 site behind CloudFront (OAC), with an optional API on the same host.

    viewers ──HTTPS (HTTP redirects), HTTP/2+3, IPv6──▶ CloudFront ── WAF web ACL (us-east-1, optional):
       │  custom domain: ACM cert (us-east-1, DNS-validated) + A/AAAA alias       managed rules + rate limit,
       │                                                                         logs ▶ aws-waf-logs-* (us-east-1)
       │  every response: HSTS, nosniff, X-Frame-Options DENY, referrer policy, CSP
       ▼
    behaviours (first match wins)
       /api/subscribe ─ CachingDisabled, POST allowed, Content-Type forwarded ─┐
       /api/*         ─ key: limit, cursor only; no cookies, no headers ───────┴▶ API Gateway REST (REGIONAL,
       /assets/*      ─ managed CachingOptimized (objects are immutable)            origin path = stage), https-only
       default (*)    ─ HTML: short TTLs; CloudFront Function: /path/ → /path/index.html     TLSv1.2 [+ secret header]
       │ Origin Access Control (SigV4, always)
       ▼
    S3 content bucket (private, PAB, BucketOwnerEnforced, SSE, versioning, TLS-only; policy: this
       distribution only, GetObject + ListBucket) ──server access logs──▶ S3 log bucket (BucketOwnerEnforced)
                                        ◀──standard logs v2 (CloudWatch Logs delivery, us-east-1)── CloudFront

Content: every file of `content_dir` is uploaded with its Content-Type and a Cache-Control:
fingerprinted names (app.72fc2586.js) are immutable for a year, HTML lives `html_max_age_seconds`,
anything else `other_max_age_seconds`. `content_dir` resolves against the Pulumi program's working
directory; an absent or empty folder fails at preview. The distribution may list the bucket (through
OAC), so a missing object answers 404 from S3, which the distribution turns into the 404 page. A 403
(a WAF block, an API's refusal) stays a 403. Custom error responses are per distribution, so an API
404 also gets the 404 page's body (its status stays 404).
"""
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import cloudfront_defaults as cdn
from . import defaults
from .args import ArgsReader, is_output
from .secure_bucket import SecureBucket

ASSETS_PATH_PATTERN = "/assets/*"
IMMUTABLE_CACHE_CONTROL = f"public, max-age={cdn.ONE_YEAR_SECONDS}, immutable"
# name.<8+ hex digits>.ext: the content hash is in the name, so the bytes behind a name never change.
FINGERPRINTED = re.compile(r".+\.[0-9a-fA-F]{8,}\.[A-Za-z0-9]+")
HTML_EDGE_MAX_TTL_SECONDS = 3600  # nothing outside the immutable assets stays at the edge longer
DEFAULT_CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                                   "form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests")
# Fixed, so a plan is the same on every machine (the mimetypes module reads the OS's tables).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".json": "application/json", ".map": "application/json",
    ".txt": "text/plain; charset=utf-8", ".xml": "application/xml", ".rss": "application/rss+xml",
    ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".avif": "image/avif", ".ico": "image/x-icon", ".woff": "font/woff", ".woff2": "font/woff2",
    ".pdf": "application/pdf",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
WAF_MANAGED_RULE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                           "AWSManagedRulesKnownBadInputsRuleSet")
WAF_RATE_LIMIT_RANGE = (100, 2_000_000_000)
WAF_RATE_WINDOW_SECONDS = 300
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"  # WAF delivers only to log groups named so
# Headers WAF logs keep out: credentials and session cookies.
WAF_REDACTED_HEADERS = ("authorization", "cookie", "x-id-token")
# A header value CloudFront sends to an origin: visible ASCII, no spaces (CloudFront allows up to 1783).
ORIGIN_HEADER_VALUE = re.compile(r"[!-~]{16,1783}")
REWRITE_FUNCTION_CODE = """\
// Directory URLs: /posts/hello/ -> /posts/hello/index.html (S3 has no index documents behind OAC).
function handler(event) {
  var request = event.request;
  if (request.uri.endsWith('/')) {
    request.uri += 'index.html';
  }
  return request;
}
"""


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lower(), DEFAULT_CONTENT_TYPE)


def is_fingerprinted(key: str) -> bool:
    return FINGERPRINTED.fullmatch(Path(key).name) is not None


def cache_control_for(key: str, html_max_age_seconds: int, other_max_age_seconds: int) -> str:
    """Fingerprinted: a year, immutable. HTML: short, revalidated. Anything else: in between."""
    if is_fingerprinted(key):
        return IMMUTABLE_CACHE_CONTROL
    if content_type_for(key).startswith("text/html"):
        return f"public, max-age={html_max_age_seconds}, must-revalidate"
    return f"public, max-age={other_max_age_seconds}"


def site_files(content_dir: Path) -> list[tuple[str, Path]]:
    """(object key, file) for every file under content_dir, hidden files and folders left out, sorted."""
    return [(path.relative_to(content_dir).as_posix(), path) for path in sorted(content_dir.rglob("*"))
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(content_dir).parts)]


class WafArgs(TypedDict, total=False):
    rate_limit: int
    """Requests per client IP per 5 minutes before WAF blocks it (100-2000000000, default 1000)."""


class OriginHeaderArgs(TypedDict, total=False):
    name: Required[str]
    """Header name (e.g. X-Origin-Verify; not an X-Amz-/X-Edge- header)."""
    value: Required[pulumi.Input[str]]
    """The secret value (16+ visible ASCII characters); kept secret in state, never echoed in errors."""


class ApiOriginArgs(TypedDict, total=False):
    domain_name: Required[pulumi.Input[str]]
    """The REGIONAL API's execute-api host."""
    origin_path: Required[str]
    """The stage (e.g. /v1)."""
    path_pattern: Required[str]
    """Cached API behaviour (e.g. /api/*): GET/HEAD/OPTIONS."""
    cache_key_query_strings: Sequence[str]
    """The only query strings in the cache key and forwarded (at most 10; default none)."""
    default_ttl_seconds: int
    """Edge TTL when the API sends no Cache-Control (default 60)."""
    max_ttl_seconds: int
    """Highest edge TTL the API's Cache-Control can ask for (default 60)."""
    uncached_path_patterns: Sequence[str]
    """Never-cached behaviours that accept POST (e.g. /api/subscribe)."""
    origin_header: Optional[OriginHeaderArgs]
    """Custom header CloudFront sends the API on every request, so the API can refuse calls around CloudFront."""


class StaticSiteArgs(TypedDict, total=False):
    content_dir: Required[str]
    """Folder uploaded as the site (relative to the program's working directory, or absolute); it must exist
    and hold the index and not-found documents."""
    index_document: str
    """Default root object and directory index (default index.html)."""
    not_found_document: str
    """Page served, with status 404, for a missing object (default 404.html)."""
    html_max_age_seconds: int
    """Cache-Control max-age of HTML, and its edge TTL when an object has none (0-3600, default 60)."""
    other_max_age_seconds: int
    """Cache-Control max-age of non-fingerprinted, non-HTML files (default 3600)."""
    price_class: str
    """PriceClass_100, PriceClass_200 or PriceClass_All (default PriceClass_100)."""
    content_security_policy: str
    """Content-Security-Policy for every response (default: same-origin only)."""
    custom_domain: Optional[cdn.CustomDomainArgs]
    """Viewer-facing custom domain; None uses the *.cloudfront.net name."""
    waf: Optional[WafArgs]
    """WAF web ACL (us-east-1): AWS managed rule groups + a per-IP rate limit; None for none."""
    api: Optional[ApiOriginArgs]
    """An API served under the same host (BlogApi.origin)."""
    us_east_1_provider: Optional[aws.Provider]
    """aws provider for us-east-1 (required with custom_domain or waf)."""
    deletion_protection: bool
    """Keep the buckets (content and logs) on destroy."""
    log_retention_days: int
    """Days the WAF log group keeps its events (default 365)."""


DEFAULTS: dict[str, Any] = {
    "index_document": "index.html", "not_found_document": "404.html",
    "html_max_age_seconds": 60, "other_max_age_seconds": 3600, "price_class": "PriceClass_100",
    "content_security_policy": DEFAULT_CONTENT_SECURITY_POLICY, "custom_domain": None, "waf": None, "api": None,
    "us_east_1_provider": None, "deletion_protection": False, "log_retention_days": 365,
}
WAF_DEFAULTS: dict[str, Any] = {"rate_limit": 1000}
API_DEFAULTS: dict[str, Any] = {"cache_key_query_strings": [], "default_ttl_seconds": 60, "max_ttl_seconds": 60,
                                "uncached_path_patterns": [], "origin_header": None}


@dataclass(frozen=True)
class ResolvedApiOrigin:
    domain_name: pulumi.Input[str]
    origin_path: str
    path_pattern: str
    cache_key_query_strings: tuple[str, ...]
    default_ttl_seconds: int
    max_ttl_seconds: int
    uncached_path_patterns: tuple[str, ...]
    origin_header: Optional[tuple[str, pulumi.Input[str]]] = field(default=None, repr=False)
    """(name, secret value), or None."""


@dataclass(frozen=True)
class ResolvedStaticSite:
    files: tuple[tuple[str, Path], ...]
    """(object key, file) of every file to upload."""
    index_document: str
    not_found_document: str
    html_max_age_seconds: int
    other_max_age_seconds: int
    price_class: str
    content_security_policy: str
    custom_domain: Optional[cdn.ResolvedCustomDomain]
    waf_rate_limit: Optional[int]
    """None: no web ACL."""
    api: Optional[ResolvedApiOrigin]
    us_east_1_provider: Optional[aws.Provider]
    deletion_protection: bool
    log_retention_days: int


def resolve_args(name: str, args: Optional[StaticSiteArgs]) -> ResolvedStaticSite:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("StaticSite", name, args, StaticSiteArgs, DEFAULTS)
    index_document = r.string("index_document", check=_is_object_key, expected="an object key such as index.html")
    not_found_document = r.string("not_found_document", check=_is_object_key,
                                  expected="an object key such as 404.html")
    files = _content_files(r, {"index_document": index_document, "not_found_document": not_found_document})
    custom_domain = cdn.read_custom_domain(r)
    waf = r.section("waf", WafArgs, WAF_DEFAULTS)
    waf_rate_limit = None if waf is None else waf.integer("rate_limit", low=WAF_RATE_LIMIT_RANGE[0],
                                                          high=WAF_RATE_LIMIT_RANGE[1])
    us_east_1 = r.input("us_east_1_provider")
    if (custom_domain is not None or waf is not None) and us_east_1 is None:
        r.fail("us_east_1_provider", "required with custom_domain or waf: CloudFront takes certificates and web "
                                     "ACLs from us-east-1 only")
    return ResolvedStaticSite(
        files=files, index_document=index_document, not_found_document=not_found_document,
        html_max_age_seconds=r.integer("html_max_age_seconds", low=0, high=HTML_EDGE_MAX_TTL_SECONDS),
        other_max_age_seconds=r.integer("other_max_age_seconds", low=0, high=cdn.ONE_YEAR_SECONDS),
        price_class=r.choice("price_class", cdn.PRICE_CLASSES),
        content_security_policy=r.string("content_security_policy", check=bool,
                                         expected="a Content-Security-Policy"),
        custom_domain=custom_domain, waf_rate_limit=waf_rate_limit, api=_api_origin_args(r),
        us_east_1_provider=us_east_1, deletion_protection=r.flag("deletion_protection"),
        log_retention_days=defaults.read_log_retention(r))


def _is_object_key(value: str) -> bool:
    return bool(value) and not value.startswith("/")


def _content_files(r: ArgsReader, documents: dict[str, str]) -> tuple[tuple[str, Path], ...]:
    """Every file of content_dir; an absent or empty folder, or one without the documents, is an error."""
    content_dir = r.string("content_dir", check=bool, expected="a folder such as site")
    folder = _folder(content_dir)
    if not folder.is_dir():
        r.fail("content_dir", f"{content_dir!r} is not a folder ({folder}; relative paths start at the Pulumi "
                              f"program's working directory)")
    files = tuple(site_files(folder))
    if not files:
        r.fail("content_dir", f"{content_dir!r} has no files to upload ({folder}; hidden files are skipped): "
                              f"the site would be empty")
    keys = {key for key, _ in files}
    for arg, document in documents.items():
        if document not in keys:
            r.fail(arg, f"{document!r} is not in content_dir {content_dir!r} ({folder})")
    return files


def _api_origin_args(r: ArgsReader) -> Optional[ResolvedApiOrigin]:
    api = r.section("api", ApiOriginArgs, API_DEFAULTS)
    if api is None:
        return None
    pattern_check = {"check": lambda v: cdn.is_path_pattern(v) and v != ASSETS_PATH_PATTERN,
                     "expected": f"an api path pattern: a CloudFront path pattern such as /api/*, not /* or "
                                 f"{ASSETS_PATH_PATTERN}"}
    path_pattern = api.string("path_pattern", **pattern_check)
    uncached = api.strings("uncached_path_patterns", **pattern_check, max_items=10)
    if len({path_pattern, *uncached}) != 1 + len(uncached):
        api.fail("uncached_path_patterns", f"api path patterns {[path_pattern, *uncached]} must be distinct")
    default_ttl = api.integer("default_ttl_seconds", low=1, high=cdn.ONE_YEAR_SECONDS)
    max_ttl = api.integer("max_ttl_seconds", low=1, high=cdn.ONE_YEAR_SECONDS)
    if default_ttl > max_ttl:
        api.fail("default_ttl_seconds", f"{default_ttl} is above max_ttl_seconds {max_ttl}: the API's TTLs must "
                                        f"satisfy 1 <= default <= max (a cache key with query strings needs caching on)")
    return ResolvedApiOrigin(
        domain_name=api.input("domain_name"),
        origin_path=api.string("origin_path", check=lambda v: re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", v) is not None,
                               expected="the stage path, like /v1 (no trailing slash)"),
        path_pattern=path_pattern,
        cache_key_query_strings=tuple(api.strings(
            "cache_key_query_strings", check=cdn.is_query_string_name, max_items=cdn.MAX_CACHE_KEY_QUERY_STRINGS,
            expected="query string names of letters, digits and . _ ~ -")),
        default_ttl_seconds=default_ttl, max_ttl_seconds=max_ttl, uncached_path_patterns=tuple(uncached),
        origin_header=_origin_header(api))


def _origin_header(api: ArgsReader) -> Optional[tuple[str, pulumi.Input[str]]]:
    header = api.section("origin_header", OriginHeaderArgs)
    if header is None:
        return None
    name = header.string("name", check=cdn.is_header_name,
                         expected="an HTTP header name CloudFront lets you set, such as X-Origin-Verify")
    value = header.get("value")
    if not is_output(value) and not (isinstance(value, str) and ORIGIN_HEADER_VALUE.fullmatch(value)):
        # Never echo it: it is a secret.
        header.fail("value", "expected 16-1783 visible ASCII characters without spaces (value not shown: it is "
                             "a secret)")
    return name, value


def _folder(content_dir: str) -> Path:
    # Relative to the Pulumi program's working directory (the consumer's project), never to this package.
    return Path(content_dir).absolute()


class _Buckets(NamedTuple):
    content: SecureBucket
    logs: SecureBucket


class _EdgePolicies(NamedTuple):
    access_control: aws.cloudfront.OriginAccessControl
    index_rewrite: aws.cloudfront.Function
    html_cache: aws.cloudfront.CachePolicy
    security_headers: aws.cloudfront.ResponseHeadersPolicy


class StaticSite(pulumi.ComponentResource):
    """A private S3 site behind CloudFront (Origin Access Control), with an optional API on the same host.

    Python callers also get the children: `distribution`, `content_bucket`, `log_bucket`, `objects`
    (uploaded objects by key) and `access_logs` (the standard-logging delivery).
    """

    url: pulumi.Output[str]
    """https:// URL viewers use (the custom domain when set)."""
    domain_name: pulumi.Output[str]
    """The distribution's *.cloudfront.net name."""
    distribution_id: pulumi.Output[str]
    """Distribution id (for invalidations)."""
    bucket_name: pulumi.Output[str]
    """Content bucket."""
    log_bucket_name: pulumi.Output[str]
    """Log bucket: CloudFront standard logs v2 (AWSLogs/<account>/CloudFront/) and the content bucket's access
    logs (s3/)."""
    web_acl_arn: Optional[pulumi.Output[str]]
    """WAF web ACL, when on."""

    def __init__(self, name: str, args: StaticSiteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        site = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:StaticSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        buckets = self._buckets(name, site, child)
        self.content_bucket, self.log_bucket = buckets.content, buckets.logs
        self.objects = self._upload(name, site, buckets.content, child)
        edge = self._edge_policies(name, site, child)
        certificate_arn = None
        if site.custom_domain is not None:
            certificate_arn = cdn.dns_validated_certificate(
                name, site.custom_domain.domain_name, site.custom_domain.hosted_zone_id, parent=self,
                us_east_1=site.us_east_1_provider)
        self.web_acl_arn = None
        if site.waf_rate_limit is not None:
            self.web_acl_arn = self._web_acl(name, site).arn
        self.distribution = self._distribution(name, site, buckets, edge, certificate_arn, child)
        # ListBucket too: S3 then answers 404 (not 403) for a missing key, and only 404 becomes the 404 page.
        only_this_distribution = {"StringEquals": {"AWS:SourceArn": self.distribution.arn}}
        buckets.content.attach_policy([
            {"Sid": "CloudFrontReadsThroughOac", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
             "Resource": buckets.content.arn.apply(lambda arn: f"{arn}/*"), "Condition": only_this_distribution},
            {"Sid": "CloudFrontListsThroughOac", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:ListBucket",
             "Resource": buckets.content.arn, "Condition": only_this_distribution},
        ])
        self.access_logs = cdn.standard_logging(name, self.distribution, buckets.logs.arn, parent=self,
                                                us_east_1=site.us_east_1_provider,
                                                depends_on=[buckets.logs.policy])
        if site.custom_domain is not None and site.custom_domain.hosted_zone_id is not None:
            cdn.alias_records(name, site.custom_domain.hosted_zone_id, site.custom_domain.domain_name,
                              self.distribution, child)

        self.domain_name = self.distribution.domain_name
        self.distribution_id = self.distribution.id
        self.url = (pulumi.Output.from_input(f"https://{site.custom_domain.domain_name}") if site.custom_domain
                    else pulumi.Output.format("https://{0}", self.distribution.domain_name))
        self.bucket_name = buckets.content.name
        self.log_bucket_name = buckets.logs.name
        self.register_outputs({"url": self.url, "domain_name": self.domain_name,
                               "distribution_id": self.distribution_id, "bucket_name": self.bucket_name,
                               "log_bucket_name": self.log_bucket_name, "web_acl_arn": self.web_acl_arn})

    # --- buckets -----------------------------------------------------------------------------------
    def _buckets(self, name: str, site: ResolvedStaticSite, child: pulumi.ResourceOptions) -> _Buckets:
        """The private content bucket, and the log bucket that also takes its server access logs."""
        protect = site.deletion_protection
        logs = SecureBucket(f"{name}-logs", {"force_destroy": not protect, "defer_policy": True,
                                             "expire_objects_after_days": defaults.ACCESS_LOG_EXPIRATION_DAYS},
                            opts=child)
        content = SecureBucket(f"{name}-content", {
            "force_destroy": not protect, "defer_policy": True,
            "access_log_bucket": logs.name, "access_log_prefix": f"s3/{name}-content/"}, opts=child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        logs.attach_policy([{
            "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": logs.arn.apply(lambda arn: f"{arn}/s3/*"),
            "Condition": {"ArnLike": {"aws:SourceArn": content.arn},
                          "StringEquals": {"aws:SourceAccount": account}},
        }, *cdn.log_delivery_statements(logs.arn, account, [cdn.cloudfront_log_sources(account)])])
        return _Buckets(content=content, logs=logs)

    @staticmethod
    def _upload(name: str, site: ResolvedStaticSite, content: SecureBucket,
                child: pulumi.ResourceOptions) -> dict[str, aws.s3.BucketObjectv2]:
        """Every file of content_dir, with its Content-Type and Cache-Control."""
        return {key: aws.s3.BucketObjectv2(
            f"{name}-file-{key}", bucket=content.bucket.id, key=key,
            source=pulumi.FileAsset(str(path)),
            source_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
            content_type=content_type_for(key),
            cache_control=cache_control_for(key, site.html_max_age_seconds, site.other_max_age_seconds),
            opts=child) for key, path in site.files}

    # --- edge policies -----------------------------------------------------------------------------
    @staticmethod
    def _edge_policies(name: str, site: ResolvedStaticSite, child: pulumi.ResourceOptions) -> _EdgePolicies:
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-oac", description=f"{name}: CloudFront signs every request to the content bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4", opts=child)
        rewrite = aws.cloudfront.Function(
            f"{name}-index-rewrite", runtime="cloudfront-js-2.0", publish=True, code=REWRITE_FUNCTION_CODE,
            comment="Directory URLs to their index.html", opts=child)
        html_cache = aws.cloudfront.CachePolicy(
            f"{name}-html",
            comment="Pages: short TTLs (the objects' Cache-Control rules), minimal cache key",
            min_ttl=0, default_ttl=site.html_max_age_seconds, max_ttl=HTML_EDGE_MAX_TTL_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key([]), opts=child)
        headers = cdn.security_headers_policy(
            f"{name}-security-headers", child, comment="HSTS, nosniff, frame DENY, referrer policy and CSP",
            content_security_policy=site.content_security_policy)
        return _EdgePolicies(access_control=access, index_rewrite=rewrite, html_cache=html_cache,
                             security_headers=headers)

    # --- the distribution --------------------------------------------------------------------------
    def _distribution(self, name: str, site: ResolvedStaticSite, buckets: _Buckets, edge: _EdgePolicies,
                      certificate_arn: Optional[pulumi.Output[str]],
                      child: pulumi.ResourceOptions) -> aws.cloudfront.Distribution:
        site_origin = "site-bucket"
        origins = [{"origin_id": site_origin, "domain_name": buckets.content.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": edge.access_control.id}]
        secure = {"response_headers_policy_id": edge.security_headers.id, "compress": True}
        ordered = []
        if site.api is not None:
            origins.append(self._api_origin(site.api))
            ordered += self._api_behaviours(name, site.api, secure, child)
        ordered.append({**secure, "path_pattern": ASSETS_PATH_PATTERN, "target_origin_id": site_origin,
                        "viewer_protocol_policy": "redirect-to-https", "cache_policy_id": cdn.CACHING_OPTIMIZED_POLICY_ID,
                        "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"]})
        return aws.cloudfront.Distribution(
            f"{name}-cdn",
            comment=f"{name}: static site" + (" + API" if site.api is not None else ""),
            enabled=True, is_ipv6_enabled=True, http_version=cdn.HTTP_VERSION,
            price_class=site.price_class,
            default_root_object=site.index_document,
            origins=origins,
            default_cache_behavior={
                **secure, "target_origin_id": site_origin, "viewer_protocol_policy": "redirect-to-https",
                "cache_policy_id": edge.html_cache.id, "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "function_associations": [{"event_type": "viewer-request", "function_arn": edge.index_rewrite.arn}]},
            ordered_cache_behaviors=ordered,
            # Only 404 (S3's missing key, as CloudFront may list the bucket): a WAF block or an API's 403 stays 403.
            custom_error_responses=[{"error_code": 404, "response_code": 404,
                                     "response_page_path": "/" + site.not_found_document,
                                     "error_caching_min_ttl": site.html_max_age_seconds}],
            aliases=[site.custom_domain.domain_name] if site.custom_domain else None,
            viewer_certificate=cdn.viewer_certificate(certificate_arn),
            web_acl_id=self.web_acl_arn,
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            # The API origin may carry a secret header.
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["origins"]))

    @staticmethod
    def _api_origin(api: ResolvedApiOrigin) -> dict:
        origin = {"origin_id": "api", "domain_name": api.domain_name, "origin_path": api.origin_path,
                  "custom_origin_config": {"origin_protocol_policy": "https-only", "http_port": 80,
                                           "https_port": 443, "origin_ssl_protocols": ["TLSv1.2"]}}
        if api.origin_header is not None:
            header_name, value = api.origin_header
            origin["custom_headers"] = [{"name": header_name, "value": pulumi.Output.secret(value)}]
        return origin

    def _api_behaviours(self, name: str, api: ResolvedApiOrigin, secure: dict,
                        child: pulumi.ResourceOptions) -> list[dict]:
        """Uncached POST paths first, then the cached API; neither forwards cookies.

        Host is never forwarded (header_behavior none): CloudFront then sends the origin's own host, which
        API Gateway needs. The managed AllViewerExceptHostHeader would keep Host right too, but forwards
        every cookie, header and query string.
        """
        query_strings = list(api.cache_key_query_strings)
        api_cache = aws.cloudfront.CachePolicy(
            f"{name}-api", comment="API GETs: the API's Cache-Control, key = its query strings only",
            min_ttl=0, default_ttl=api.default_ttl_seconds, max_ttl=api.max_ttl_seconds,
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key(query_strings), opts=child)
        api_request = aws.cloudfront.OriginRequestPolicy(
            f"{name}-api-request", comment="API GETs: the cache key's query strings; no cookies, no headers",
            cookies_config={"cookie_behavior": "none"}, headers_config={"header_behavior": "none"},
            query_strings_config=_query_strings(query_strings), opts=child)
        behaviours = []
        if api.uncached_path_patterns:
            post_request = aws.cloudfront.OriginRequestPolicy(
                f"{name}-api-post", comment="API POSTs: Content-Type only; no cookies, no query strings",
                cookies_config={"cookie_behavior": "none"},
                headers_config={"header_behavior": "whitelist", "headers": {"items": ["Content-Type"]}},
                query_strings_config={"query_string_behavior": "none"}, opts=child)
            for pattern in api.uncached_path_patterns:
                behaviours.append({
                    **secure, "path_pattern": pattern, "target_origin_id": "api",
                    # https-only: a redirect would turn the POST into a GET.
                    "viewer_protocol_policy": "https-only",
                    "cache_policy_id": cdn.CACHING_DISABLED_POLICY_ID, "origin_request_policy_id": post_request.id,
                    "allowed_methods": ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
                    "cached_methods": ["GET", "HEAD"]})
        behaviours.append({
            **secure, "path_pattern": api.path_pattern, "target_origin_id": "api",
            "viewer_protocol_policy": "https-only", "cache_policy_id": api_cache.id,
            "origin_request_policy_id": api_request.id,
            "allowed_methods": ["GET", "HEAD", "OPTIONS"], "cached_methods": ["GET", "HEAD"]})
        return behaviours

    def _web_acl(self, name: str, site: ResolvedStaticSite) -> aws.wafv2.WebAcl:
        """Rate limit first (cheapest to evaluate), then AWS's managed groups, all in us-east-1; logged to
        an aws-waf-logs-* log group there, credentials and cookies redacted."""
        rate_limit, us_east_1 = site.waf_rate_limit, site.us_east_1_provider
        metric = re.sub(r"[^A-Za-z0-9_-]", "-", name)

        def visibility(suffix: str) -> dict:
            return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True,
                    "metric_name": f"{metric}-{suffix}"}

        rules = [{"name": "rate-limit-per-ip", "priority": 0, "action": {"block": {}},
                  "statement": {"rate_based_statement": {"limit": rate_limit, "aggregate_key_type": "IP",
                                                         "evaluation_window_sec": WAF_RATE_WINDOW_SECONDS}},
                  "visibility_config": visibility("rate-limit")}]
        for priority, group in enumerate(WAF_MANAGED_RULE_GROUPS, start=1):
            rules.append({"name": group, "priority": priority, "override_action": {"none": {}},
                          "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
                          "visibility_config": visibility(group)})
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=us_east_1)
        acl = aws.wafv2.WebAcl(
            f"{name}-waf", scope="CLOUDFRONT", description=f"{name}: AWS managed rules and a per-IP rate limit",
            default_action={"allow": {}}, rules=rules, visibility_config=visibility("web-acl"), opts=in_us_east_1)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-waf-logs", name_prefix=f"{WAF_LOG_GROUP_PREFIX}{metric}-",
            retention_in_days=site.log_retention_days, opts=in_us_east_1)
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging", resource_arn=acl.arn, log_destination_configs=[log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in WAF_REDACTED_HEADERS],
            opts=in_us_east_1)
        return acl


def _query_strings(names: list[str]) -> dict:
    if not names:
        return {"query_string_behavior": "none"}
    return {"query_string_behavior": "whitelist", "query_strings": {"items": names}}


def _cache_key(query_strings: list[str]) -> dict:
    return {"cookies_config": {"cookie_behavior": "none"}, "headers_config": {"header_behavior": "none"},
            "query_strings_config": _query_strings(query_strings),
            "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True}
