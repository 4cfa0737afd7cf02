"""StaticSite: a private S3 site behind CloudFront (OAC), with an optional API on the same host.

    viewers ──HTTPS (HTTP redirects), HTTP/2+3, IPv6──▶ CloudFront ── WAF web ACL (us-east-1, optional):
       │  custom domain: ACM cert (us-east-1, DNS-validated) + A/AAAA alias       managed rules + rate limit
       │  every response: HSTS, nosniff, X-Frame-Options DENY, referrer policy, CSP
       ▼
    behaviours (first match wins)
       /api/subscribe ─ CachingDisabled, POST allowed, Content-Type forwarded ─┐
       /api/*         ─ key: limit, cursor only; no cookies, no headers ───────┴▶ API Gateway REST (REGIONAL,
       /assets/*      ─ managed CachingOptimized (objects are immutable)            origin path = stage), https-only
       default (*)    ─ HTML: short TTLs; CloudFront Function: /path/ → /path/index.html     TLSv1.2
       │ Origin Access Control (SigV4, always)
       ▼
    S3 content bucket (private, PAB, BucketOwnerEnforced, SSE, versioning, TLS-only; policy: this
       distribution only) ──server access logs──▶ S3 log bucket ◀──standard logs── CloudFront

Content: every file of `content_dir` is uploaded with its Content-Type and a Cache-Control:
fingerprinted names (app.72fc2586.js) are immutable for a year, HTML lives `html_max_age_seconds`,
anything else `other_max_age_seconds`. A missing object answers 403 from S3 (CloudFront may not
list the bucket), which the distribution turns into the 404 page; the API's own 404s pass through.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import cloudfront_defaults as cdn
from . import defaults
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


class CustomDomainArgs(TypedDict, total=False):
    domain_name: str
    """Viewer-facing name, e.g. blog.example.com."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone: certificate validation and the A/AAAA aliases go there. Absent: do both yourself."""


class WafArgs(TypedDict, total=False):
    rate_limit: int
    """Requests per client IP per 5 minutes before WAF blocks it (default 1000)."""


class ApiOriginArgs(TypedDict, total=False):
    domain_name: pulumi.Input[str]
    """The REGIONAL API's execute-api host."""
    origin_path: str
    """The stage (e.g. /v1)."""
    path_pattern: str
    """Cached API behaviour (e.g. /api/*): GET/HEAD/OPTIONS."""
    cache_key_query_strings: Sequence[str]
    """The only query strings in the cache key and forwarded (at most 10)."""
    default_ttl_seconds: int
    """Edge TTL when the API sends no Cache-Control."""
    max_ttl_seconds: int
    """Highest edge TTL the API's Cache-Control can ask for."""
    uncached_path_patterns: Sequence[str]
    """Never-cached behaviours that accept POST (e.g. /api/subscribe)."""


class StaticSiteArgs(TypedDict, total=False):
    content_dir: Optional[str]
    """Folder uploaded as the site (relative to the project, or absolute); None uploads nothing."""
    index_document: str
    """Default root object and directory index (default index.html)."""
    not_found_document: str
    """Page served, with status 404, for a missing object (default 404.html)."""
    html_max_age_seconds: int
    """Cache-Control max-age of HTML, and its edge TTL when an object has none (default 60)."""
    other_max_age_seconds: int
    """Cache-Control max-age of non-fingerprinted, non-HTML files (default 3600)."""
    price_class: str
    """PriceClass_100, PriceClass_200 or PriceClass_All (default PriceClass_100)."""
    content_security_policy: str
    """Content-Security-Policy for every response (default: same-origin only)."""
    custom_domain: Optional[CustomDomainArgs]
    """Viewer-facing custom domain; None uses the *.cloudfront.net name."""
    waf: Optional[WafArgs]
    """WAF web ACL (us-east-1): AWS managed rule groups + a per-IP rate limit; None for none."""
    api: Optional[ApiOriginArgs]
    """An API served under the same host (BlogApi.origin)."""
    us_east_1_provider: Optional[pulumi.ProviderResource]
    """aws provider for us-east-1 (required with custom_domain or waf)."""
    deletion_protection: bool
    """Keep the buckets (content and logs) on destroy."""


def _check_args(name: str, args: StaticSiteArgs) -> None:
    """Every guard on plain values, before any resource exists; a ValueError names the arg."""
    def fail(message: str) -> None:
        raise ValueError(f"{name}: {message}")

    content_dir = args.get("content_dir")
    if content_dir is not None:
        folder = _folder(content_dir)
        if not folder.is_dir():
            fail(f"content_dir {content_dir!r} is not a folder ({folder})")
        keys = {key for key, _ in site_files(folder)}
        for arg in ("index_document", "not_found_document"):
            document = args.get(arg, "index.html" if arg == "index_document" else "404.html")
            if document not in keys:
                fail(f"{arg} {document!r} is not in content_dir {content_dir!r}")
    for knob, default, high in (("html_max_age_seconds", 60, HTML_EDGE_MAX_TTL_SECONDS),
                                ("other_max_age_seconds", 3600, cdn.ONE_YEAR_SECONDS)):
        if not 0 <= args.get(knob, default) <= high:
            fail(f"{knob}={args[knob]} must be 0..{high}")
    if args.get("price_class", "PriceClass_100") not in cdn.PRICE_CLASSES:
        fail(f"price_class {args['price_class']!r} is not allowed; allowed: {', '.join(cdn.PRICE_CLASSES)}")
    domain = args.get("custom_domain")
    if domain is not None and not cdn.is_hostname(domain.get("domain_name") or ""):
        fail(f"custom_domain.domain_name {domain.get('domain_name')!r} is not a hostname")
    waf = args.get("waf")
    if waf is not None:
        low, high = WAF_RATE_LIMIT_RANGE
        if not low <= waf.get("rate_limit", 1000) <= high:
            fail(f"waf.rate_limit={waf['rate_limit']} must be {low}..{high} requests per IP per 5 minutes")
    if (domain is not None or waf is not None) and args.get("us_east_1_provider") is None:
        fail("us_east_1_provider is required with custom_domain or waf: CloudFront takes certificates and "
             "web ACLs from us-east-1 only")
    api = args.get("api")
    if api is not None:
        _check_api(fail, api)


def _check_api(fail, api: ApiOriginArgs) -> None:
    patterns = [api.get("path_pattern", ""), *api.get("uncached_path_patterns", [])]
    for pattern in patterns:
        if not cdn.is_path_pattern(pattern) or pattern == ASSETS_PATH_PATTERN:
            fail(f"api path pattern {pattern!r} must be a CloudFront path pattern such as /api/*, not /* or "
                 f"{ASSETS_PATH_PATTERN}")
    if len(set(patterns)) != len(patterns):
        fail(f"api path patterns {patterns} must be distinct")
    origin_path = api.get("origin_path", "")
    if not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", origin_path):
        fail(f"api.origin_path {origin_path!r} must be the stage path, like /v1 (no trailing slash)")
    query_strings = list(api.get("cache_key_query_strings", []))
    if len(query_strings) > cdn.MAX_CACHE_KEY_QUERY_STRINGS or not all(map(cdn.is_query_string_name, query_strings)):
        fail(f"api.cache_key_query_strings {query_strings!r} must be at most {cdn.MAX_CACHE_KEY_QUERY_STRINGS} "
             f"names of letters, digits and . _ ~ -")
    default_ttl, max_ttl = api.get("default_ttl_seconds", 60), api.get("max_ttl_seconds", 60)
    if not 1 <= default_ttl <= max_ttl <= cdn.ONE_YEAR_SECONDS:
        fail(f"api TTLs (default {default_ttl}, max {max_ttl}) must satisfy 1 <= default <= max: a cache key "
             f"with query strings needs caching on")


def _folder(content_dir: str) -> Path:
    # Relative to the Pulumi program's working directory (the consumer's project), never to this package.
    return Path(content_dir).absolute()


class StaticSite(pulumi.ComponentResource):
    distribution: aws.cloudfront.Distribution
    """The distribution."""
    content_bucket: SecureBucket
    """The private bucket holding the site."""
    log_bucket: SecureBucket
    """CloudFront standard logs (cloudfront/) and the content bucket's access logs (s3/)."""
    objects: dict[str, aws.s3.BucketObjectv2]
    """Uploaded objects by key."""
    url: pulumi.Output[str]
    """https:// URL viewers use (the custom domain when set)."""
    domain_name: pulumi.Output[str]
    """The distribution's *.cloudfront.net name."""
    distribution_id: pulumi.Output[str]
    """Distribution id (for invalidations)."""
    bucket_name: pulumi.Output[str]
    """Content bucket."""
    log_bucket_name: pulumi.Output[str]
    """Log bucket."""
    web_acl_arn: Optional[pulumi.Output[str]]
    """WAF web ACL, when on."""

    def __init__(self, name: str, args: Optional[StaticSiteArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        args = args or {}
        _check_args(name, args)
        super().__init__("serverless-blueprints:index:StaticSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protect = args.get("deletion_protection", False)
        index_document = args.get("index_document", "index.html")
        html_max_age = args.get("html_max_age_seconds", 60)
        custom_domain, waf, api = args.get("custom_domain"), args.get("waf"), args.get("api")
        us_east_1 = args.get("us_east_1_provider")

        # --- buckets ---------------------------------------------------------------------------
        self.log_bucket = SecureBucket(f"{name}-logs", {"log_delivery_acls": True, "force_destroy": not protect,
                                                        "defer_policy": True,
                                                        "expire_objects_after_days": defaults.ACCESS_LOG_EXPIRATION_DAYS},
                                       opts=child)
        self.content_bucket = SecureBucket(f"{name}-content", {
            "force_destroy": not protect, "defer_policy": True,
            "access_log_bucket": self.log_bucket.name, "access_log_prefix": f"s3/{name}-content/"}, opts=child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        self.log_bucket.attach_policy([{
            "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": self.log_bucket.arn.apply(lambda arn: f"{arn}/s3/*"),
            "Condition": {"ArnLike": {"aws:SourceArn": self.content_bucket.arn},
                          "StringEquals": {"aws:SourceAccount": account}},
        }])

        self.objects = {}
        if args.get("content_dir") is not None:
            for key, path in site_files(_folder(args["content_dir"])):
                self.objects[key] = aws.s3.BucketObjectv2(
                    f"{name}-file-{key}", bucket=self.content_bucket.bucket.id, key=key,
                    source=pulumi.FileAsset(str(path)),
                    source_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
                    content_type=content_type_for(key),
                    cache_control=cache_control_for(key, html_max_age, args.get("other_max_age_seconds", 3600)),
                    opts=child)

        # --- edge policies ---------------------------------------------------------------------
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-oac", description=f"{name}: CloudFront signs every request to the content bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4", opts=child)
        rewrite = aws.cloudfront.Function(
            f"{name}-index-rewrite", runtime="cloudfront-js-2.0", publish=True, code=REWRITE_FUNCTION_CODE,
            comment="Directory URLs to their index.html", opts=child)
        html_cache = aws.cloudfront.CachePolicy(
            f"{name}-html",
            comment="Pages: short TTLs (the objects' Cache-Control rules), minimal cache key",
            min_ttl=0, default_ttl=html_max_age, max_ttl=HTML_EDGE_MAX_TTL_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key([]), opts=child)
        headers = cdn.security_headers_policy(
            f"{name}-security-headers", child, comment="HSTS, nosniff, frame DENY, referrer policy and CSP",
            content_security_policy=args.get("content_security_policy", DEFAULT_CONTENT_SECURITY_POLICY))

        certificate_arn = None
        if custom_domain is not None:
            certificate_arn = cdn.dns_validated_certificate(
                name, custom_domain["domain_name"], custom_domain.get("hosted_zone_id"), parent=self,
                us_east_1=us_east_1)
        self.web_acl_arn = None
        if waf is not None:
            self.web_acl_arn = self._web_acl(name, waf, us_east_1).arn

        # --- the distribution ------------------------------------------------------------------
        site_origin = "site-bucket"
        origins = [{"origin_id": site_origin, "domain_name": self.content_bucket.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": access.id}]
        secure = {"response_headers_policy_id": headers.id, "compress": True}
        ordered = []
        if api is not None:
            origins.append(self._api_origin(api))
            ordered += self._api_behaviours(name, api, secure, child)
        ordered.append({**secure, "path_pattern": ASSETS_PATH_PATTERN, "target_origin_id": site_origin,
                        "viewer_protocol_policy": "redirect-to-https", "cache_policy_id": cdn.CACHING_OPTIMIZED_POLICY_ID,
                        "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"]})
        not_found = "/" + args.get("not_found_document", "404.html")
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            comment=f"{name}: static site" + (" + API" if api is not None else ""),
            enabled=True, is_ipv6_enabled=True, http_version=cdn.HTTP_VERSION,
            price_class=args.get("price_class", "PriceClass_100"),
            default_root_object=index_document,
            origins=origins,
            default_cache_behavior={
                **secure, "target_origin_id": site_origin, "viewer_protocol_policy": "redirect-to-https",
                "cache_policy_id": html_cache.id, "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "function_associations": [{"event_type": "viewer-request", "function_arn": rewrite.arn}]},
            ordered_cache_behaviors=ordered,
            # Only S3's "missing object" (403: CloudFront may not list the bucket); the API's 404s keep their JSON.
            custom_error_responses=[{"error_code": 403, "response_code": 404, "response_page_path": not_found,
                                     "error_caching_min_ttl": html_max_age}],
            aliases=[custom_domain["domain_name"]] if custom_domain else None,
            viewer_certificate=cdn.viewer_certificate(certificate_arn),
            web_acl_id=self.web_acl_arn,
            logging_config={"bucket": self.log_bucket.bucket.bucket_domain_name, "prefix": "cloudfront/",
                            "include_cookies": False},
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            # The log bucket's ownership controls must allow ACLs before CloudFront checks them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_bucket]))
        self.content_bucket.attach_policy([{
            "Sid": "CloudFrontReadsThroughOac", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
            "Resource": self.content_bucket.arn.apply(lambda arn: f"{arn}/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": self.distribution.arn}},
        }])
        if custom_domain is not None and custom_domain.get("hosted_zone_id") is not None:
            cdn.alias_records(name, custom_domain["hosted_zone_id"], custom_domain["domain_name"],
                              self.distribution, child)

        self.domain_name = self.distribution.domain_name
        self.distribution_id = self.distribution.id
        self.url = (pulumi.Output.from_input(f"https://{custom_domain['domain_name']}") if custom_domain
                    else pulumi.Output.concat("https://", self.distribution.domain_name))
        self.bucket_name = self.content_bucket.name
        self.log_bucket_name = self.log_bucket.name
        self.register_outputs({"url": self.url, "domain_name": self.domain_name,
                               "distribution_id": self.distribution_id, "bucket_name": self.bucket_name,
                               "log_bucket_name": self.log_bucket_name, "web_acl_arn": self.web_acl_arn})

    @staticmethod
    def _api_origin(api: ApiOriginArgs) -> dict:
        return {"origin_id": "api", "domain_name": api["domain_name"], "origin_path": api["origin_path"],
                "custom_origin_config": {"origin_protocol_policy": "https-only", "http_port": 80, "https_port": 443,
                                         "origin_ssl_protocols": ["TLSv1.2"]}}

    def _api_behaviours(self, name: str, api: ApiOriginArgs, secure: dict,
                        child: pulumi.ResourceOptions) -> list[dict]:
        """Uncached POST paths first, then the cached API; neither forwards cookies.

        Host is never forwarded (header_behavior none): CloudFront then sends the origin's own host, which
        API Gateway needs. The managed AllViewerExceptHostHeader would keep Host right too, but forwards
        every cookie, header and query string.
        """
        query_strings = list(api.get("cache_key_query_strings", []))
        api_cache = aws.cloudfront.CachePolicy(
            f"{name}-api", comment="API GETs: the API's Cache-Control, key = its query strings only",
            min_ttl=0, default_ttl=api.get("default_ttl_seconds", 60), max_ttl=api.get("max_ttl_seconds", 60),
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key(query_strings), opts=child)
        api_request = aws.cloudfront.OriginRequestPolicy(
            f"{name}-api-request", comment="API GETs: the cache key's query strings; no cookies, no headers",
            cookies_config={"cookie_behavior": "none"}, headers_config={"header_behavior": "none"},
            query_strings_config=_query_strings(query_strings), opts=child)
        behaviours = []
        if api.get("uncached_path_patterns"):
            post_request = aws.cloudfront.OriginRequestPolicy(
                f"{name}-api-post", comment="API POSTs: Content-Type only; no cookies, no query strings",
                cookies_config={"cookie_behavior": "none"},
                headers_config={"header_behavior": "whitelist", "headers": {"items": ["Content-Type"]}},
                query_strings_config={"query_string_behavior": "none"}, opts=child)
            for pattern in api["uncached_path_patterns"]:
                behaviours.append({
                    **secure, "path_pattern": pattern, "target_origin_id": "api",
                    # https-only: a redirect would turn the POST into a GET.
                    "viewer_protocol_policy": "https-only",
                    "cache_policy_id": cdn.CACHING_DISABLED_POLICY_ID, "origin_request_policy_id": post_request.id,
                    "allowed_methods": ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
                    "cached_methods": ["GET", "HEAD"]})
        behaviours.append({
            **secure, "path_pattern": api["path_pattern"], "target_origin_id": "api",
            "viewer_protocol_policy": "https-only", "cache_policy_id": api_cache.id,
            "origin_request_policy_id": api_request.id,
            "allowed_methods": ["GET", "HEAD", "OPTIONS"], "cached_methods": ["GET", "HEAD"]})
        return behaviours

    def _web_acl(self, name: str, waf: WafArgs, us_east_1: pulumi.ProviderResource) -> aws.wafv2.WebAcl:
        """Rate limit first (cheapest to evaluate), then AWS's managed groups, all in us-east-1."""
        metric = re.sub(r"[^A-Za-z0-9_-]", "-", name)

        def visibility(suffix: str) -> dict:
            return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True,
                    "metric_name": f"{metric}-{suffix}"}

        rules = [{"name": "rate-limit-per-ip", "priority": 0, "action": {"block": {}},
                  "statement": {"rate_based_statement": {"limit": waf.get("rate_limit", 1000), "aggregate_key_type": "IP",
                                                         "evaluation_window_sec": WAF_RATE_WINDOW_SECONDS}},
                  "visibility_config": visibility("rate-limit")}]
        for priority, group in enumerate(WAF_MANAGED_RULE_GROUPS, start=1):
            rules.append({"name": group, "priority": priority, "override_action": {"none": {}},
                          "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
                          "visibility_config": visibility(group)})
        return aws.wafv2.WebAcl(
            f"{name}-waf", scope="CLOUDFRONT", description=f"{name}: AWS managed rules and a per-IP rate limit",
            default_action={"allow": {}}, rules=rules, visibility_config=visibility("web-acl"),
            opts=pulumi.ResourceOptions(parent=self, provider=us_east_1))


def _query_strings(names: list[str]) -> dict:
    if not names:
        return {"query_string_behavior": "none"}
    return {"query_string_behavior": "whitelist", "query_strings": {"items": names}}


def _cache_key(query_strings: list[str]) -> dict:
    return {"cookies_config": {"cookie_behavior": "none"}, "headers_config": {"header_behavior": "none"},
            "query_strings_config": _query_strings(query_strings),
            "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True}
