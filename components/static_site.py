"""StaticSite: a private S3 site behind CloudFront (OAC), with an optional API on the same host.

    viewers ──HTTPS (HTTP redirects), HTTP/2+3, IPv6──▶ CloudFront ── WAF web ACL (us-east-1, optional):
       │  custom domain [+ www]: one ACM cert (SAN, us-east-1) + A/AAAA each      managed rules + rate limit,
       │                                                                         logs ▶ aws-waf-logs-* (us-east-1)
       │  every response: HSTS, nosniff, X-Frame-Options DENY, referrer policy, CSP
       ▼
    behaviours (first match wins)
       /api/subscribe ─ CachingDisabled, POST allowed, Content-Type forwarded ─┐
       /api/*         ─ key: limit, cursor only; no cookies, no headers ───────┴▶ API Gateway REST (REGIONAL,
       /assets/*      ─ managed CachingOptimized (objects are immutable)            origin path = stage), https-only
       default (*)    ─ HTML: short TTLs, key = path only; viewer-request CloudFront Function:   TLSv1.2 [+ secret header]
       │                  other name → 301 canonical; /x/ → /<lang>/x/ (lang cookie, Accept-Language);
       │                  /x/ → /x/index.html
       │ Origin Access Control (SigV4, always)
       ▼
    S3 content bucket (private, PAB, BucketOwnerEnforced, SSE, versioning, TLS-only; policy: this
       distribution only, GetObject + ListBucket) ──server access logs──▶ S3 log bucket (BucketOwnerEnforced)
                                        ◀──standard logs v2 (CloudWatch Logs delivery, us-east-1)── CloudFront
    pulumi up ──Invocation (CRUD)──▶ Lambda invalidator ──CreateInvalidation (changed pages' paths)──▶ CloudFront

Content: every file of `content_dir` is uploaded with its Content-Type and a Cache-Control:
fingerprinted names (app.c5579a60.js) are immutable for a year, HTML lives `html_max_age_seconds`,
anything else `other_max_age_seconds`. `content_dir` resolves against the Pulumi program's working
directory; an absent or empty folder fails at preview. The distribution may list the bucket (through
OAC), so a missing object answers 404 from S3, which the distribution turns into the 404 page. A 403
(a WAF block, an API's refusal) stays a 403. Custom error responses are per distribution, so an API
404 also gets the 404 page's body (its status stays 404). With `languages`, each language is a folder
(en/, fr/) and the edge picks one per viewer; the cache key is the rewritten path, so it holds the
chosen language and never the raw header or cookie. A deployment invalidates the viewer paths of the
HTML pages whose bytes changed (never `/*`, never fingerprinted files).
"""
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from . import cloudfront_defaults as cdn
from . import defaults, lambda_packaging, monitoring
from .args import ArgsReader, is_output
from .iam import allow
from .lambda_function import LambdaFunction
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
# The viewer-request CloudFront Function (canonical-host redirect, language, directory index): one template,
# rendered per site with its settings in place of the marker (CloudFront Functions have no environment).
VIEWER_REQUEST_TEMPLATE = ("site_edge", "viewer_request.js")
VIEWER_REQUEST_CONFIG_MARKER = "__SITE_CONFIG__"
CLOUDFRONT_FUNCTION_MAX_BYTES = 10_240  # CloudFront Functions' code size quota
# Languages are lowercase primary subtags (en, fr, pt): the function matches fr-CA and fr_ca to fr.
LANGUAGE = re.compile(r"[a-z]{2,3}")
MAX_LANGUAGES = 20
CANONICAL_HOSTS = ("apex", "www")
# The invalidation manifest travels in the Invocation's input (and its previous one): Lambda takes 6 MB a request.
MAX_MANIFEST_BYTES = 2_500_000


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


def viewer_request_code(*, languages: Sequence[str] = (), default_language: Optional[str] = None,
                        canonical_host: str = "", redirect_hosts: Sequence[str] = (),
                        index_document: str = "index.html") -> str:
    """The viewer-request function's code for one site: the template with this site's settings in it."""
    template = (lambda_packaging.functions_root().joinpath(*VIEWER_REQUEST_TEMPLATE)).read_text()
    config = {"canonicalHost": canonical_host, "redirectHosts": list(redirect_hosts), "languages": list(languages),
              "defaultLanguage": default_language or "", "indexDocument": index_document}
    return template.replace(VIEWER_REQUEST_CONFIG_MARKER, json.dumps(config, separators=(",", ":")), 1)


def page_cache_paths(key: str, index_document: str, languages: Sequence[str] = ()) -> list[str]:
    """Every viewer path CloudFront may have cached a page under, URL-encoded.

    AWS's advice for a viewer-request function that rewrites the URI: invalidate the URI as viewers ask
    for it and as the function rewrote it. So `fr/posts/x/index.html` is also `/fr/posts/x/`, and, as
    the function adds the language, `/posts/x/` and `/posts/x/index.html`."""
    def with_directory(path: str) -> list[str]:
        if path == "/" + index_document or path.endswith("/" + index_document):
            return [path, path[:-len(index_document)]]
        return [path]

    paths = with_directory("/" + key)
    language, _, rest = key.partition("/")
    if language in languages and rest:
        paths += with_directory("/" + rest)
        if rest == index_document:
            paths.append("/" + language)
    return [quote(path) for path in dict.fromkeys(paths)]


def invalidation_manifest(files: Sequence[tuple[str, Path]], index_document: str,
                          languages: Sequence[str] = ()) -> dict[str, str]:
    """{viewer path: hash of the pages behind it} for every HTML page; fingerprinted files never change
    under their name, and other files live `other_max_age_seconds`. A path some language's page may
    answer (/posts/x/) hashes all of them."""
    pages: dict[str, list[str]] = {}
    for key, path in files:
        if is_fingerprinted(key) or not content_type_for(key).startswith("text/html"):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for cache_path in page_cache_paths(key, index_document, languages):
            pages.setdefault(cache_path, []).append(digest)
    return {path: hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()[:32]
            for path, digests in sorted(pages.items())}


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


class SiteDomainArgs(TypedDict, total=False):
    domain_name: Required[str]
    """The site's name, e.g. myblog.com (a hostname: no scheme, path or port); with `www`, the apex."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone (Z...): certificate validation and the A/AAAA aliases go there. Absent: do both yourself
    (the deployment waits for the certificate)."""
    www: bool
    """Also serve www.<domain_name>, on the same certificate (a SAN) and with its own A/AAAA aliases
    (default false)."""
    canonical: str
    """apex or www: the name the site is served on; the other one answers 301 to it (default apex)."""


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
    custom_domain: Optional[SiteDomainArgs]
    """Viewer-facing custom domain (and its www name); None uses the *.cloudfront.net name."""
    languages: Sequence[str]
    """The site's languages, each a folder of content_dir (en/, fr/) holding its pages: lowercase primary
    subtags such as en, fr (at most 20). Pages are then chosen per viewer at the edge; [] for none."""
    default_language: Optional[str]
    """The language served when neither the `lang` cookie nor Accept-Language names one of `languages`
    (default: the first)."""
    invalidate_changed_pages: bool
    """After a deployment, invalidate the viewer paths of the HTML pages whose bytes changed (default true)."""
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
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topics (CloudFront's alarms notify us_east_1_topic_arn) and threshold overrides
    (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.CLOUDFRONT, monitoring.LAMBDA)
"""The distribution's 5xx rate (the API behind /api has its own, in BlogApi), the page invalidator's errors."""

DEFAULTS: dict[str, Any] = {
    "index_document": "index.html", "not_found_document": "404.html",
    "html_max_age_seconds": 60, "other_max_age_seconds": 3600, "price_class": "PriceClass_100",
    "content_security_policy": DEFAULT_CONTENT_SECURITY_POLICY, "custom_domain": None, "languages": [],
    "default_language": None, "invalidate_changed_pages": True, "waf": None, "api": None,
    "us_east_1_provider": None, "deletion_protection": False, "log_retention_days": 365, "alarms": None,
}
SITE_DOMAIN_DEFAULTS: dict[str, Any] = {"www": False, "canonical": "apex"}
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
class ResolvedSiteDomain:
    domain_name: str
    hosted_zone_id: Optional[pulumi.Input[str]]
    www: bool
    canonical: str
    """apex or www."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the distribution answers: the domain, then its www name."""
        return (self.domain_name, f"www.{self.domain_name}") if self.www else (self.domain_name,)

    @property
    def canonical_host(self) -> str:
        return self.names[-1] if self.canonical == "www" else self.names[0]

    @property
    def redirect_hosts(self) -> tuple[str, ...]:
        """The names that answer 301 to the canonical one."""
        return tuple(name for name in self.names if name != self.canonical_host)


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
    custom_domain: Optional[ResolvedSiteDomain]
    languages: tuple[str, ...]
    """() : no language routing."""
    default_language: Optional[str]
    invalidation_manifest: Optional[dict[str, str]]
    """{viewer path: hash} of the pages, for the deploy-time invalidation; None: invalidation off."""
    waf_rate_limit: Optional[int]
    """None: no web ACL."""
    api: Optional[ResolvedApiOrigin]
    us_east_1_provider: Optional[aws.Provider]
    deletion_protection: bool
    log_retention_days: int
    alarms: Optional[monitoring.ResolvedAlarms] = None


def canonical_host(custom_domain: SiteDomainArgs) -> str:
    """The name a custom domain's site is served on (the other one redirects), from its args as given."""
    domain_name = custom_domain["domain_name"]
    return f"www.{domain_name}" if custom_domain.get("canonical") == "www" else domain_name


def resolve_args(name: str, args: Optional[StaticSiteArgs]) -> ResolvedStaticSite:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("StaticSite", name, args, StaticSiteArgs, DEFAULTS)
    index_document = r.string("index_document", check=_is_object_key, expected="an object key such as index.html")
    not_found_document = r.string("not_found_document", check=_is_object_key,
                                  expected="an object key such as 404.html")
    languages, default_language = _languages(r)
    # With languages, each language folder holds its own index; the 404 page stays at the root.
    documents = {"not_found_document": not_found_document}
    if not languages:
        documents["index_document"] = index_document
    files = _content_files(r, documents)
    keys = {key for key, _ in files}
    for language in languages:
        if f"{language}/{index_document}" not in keys:
            r.fail("languages", f"{language!r} has no {language}/{index_document} in content_dir: each language is "
                                f"a folder of the site holding its pages")
    custom_domain = _site_domain(r)
    waf = r.section("waf", WafArgs, WAF_DEFAULTS)
    waf_rate_limit = None if waf is None else waf.integer("rate_limit", low=WAF_RATE_LIMIT_RANGE[0],
                                                          high=WAF_RATE_LIMIT_RANGE[1])
    us_east_1 = r.input("us_east_1_provider")
    if (custom_domain is not None or waf is not None) and us_east_1 is None:
        r.fail("us_east_1_provider", "required with custom_domain or waf: CloudFront takes certificates and web "
                                     "ACLs from us-east-1 only")
    alarms = monitoring.read_alarms(r, ALARM_THRESHOLDS, us_east_1=True)
    if alarms is not None and us_east_1 is None:
        r.fail("us_east_1_provider", "required with alarms: CloudFront's metrics, and their alarms, are in us-east-1")
    return ResolvedStaticSite(
        files=files, index_document=index_document, not_found_document=not_found_document,
        html_max_age_seconds=r.integer("html_max_age_seconds", low=0, high=HTML_EDGE_MAX_TTL_SECONDS),
        other_max_age_seconds=r.integer("other_max_age_seconds", low=0, high=cdn.ONE_YEAR_SECONDS),
        price_class=r.choice("price_class", cdn.PRICE_CLASSES),
        content_security_policy=r.string("content_security_policy", check=bool,
                                         expected="a Content-Security-Policy"),
        custom_domain=custom_domain, languages=languages, default_language=default_language,
        invalidation_manifest=_invalidation_manifest(r, files, index_document, languages),
        waf_rate_limit=waf_rate_limit,
        api=_api_origin_args(r),
        us_east_1_provider=us_east_1, deletion_protection=r.flag("deletion_protection"),
        log_retention_days=defaults.read_log_retention(r), alarms=alarms)


def _languages(r: ArgsReader) -> tuple[tuple[str, ...], Optional[str]]:
    languages = tuple(r.strings("languages", check=lambda v: LANGUAGE.fullmatch(v) is not None, distinct=True,
                                max_items=MAX_LANGUAGES,
                                expected="lowercase language subtags such as en, fr (the site's folders)"))
    default = r.optional_string("default_language")
    if default is None:
        return languages, languages[0] if languages else None
    if default not in languages:
        r.fail("default_language", f"{default!r} is not one of languages {list(languages)}"
               if languages else "needs languages: the site has no language folders")
    return languages, default


def _invalidation_manifest(r: ArgsReader, files: tuple[tuple[str, Path], ...], index_document: str,
                           languages: tuple[str, ...]) -> Optional[dict[str, str]]:
    if not r.flag("invalidate_changed_pages"):
        return None
    manifest = invalidation_manifest(files, index_document, languages)
    size = len(json.dumps(manifest))
    if 2 * size > MAX_MANIFEST_BYTES:  # the provider sends the previous manifest along
        r.fail("invalidate_changed_pages",
               f"the site's {len(manifest)} page paths make a {size:,}-byte manifest; the deploy-time invalidation "
               f"takes {MAX_MANIFEST_BYTES // 2:,} (Lambda's request limit): set it to false and invalidate from "
               f"your pipeline")
    return manifest


def _site_domain(r: ArgsReader) -> Optional[ResolvedSiteDomain]:
    """custom_domain: the shared name and zone checks, plus the www name and which name is canonical."""
    domain = r.section("custom_domain", SiteDomainArgs, SITE_DOMAIN_DEFAULTS)
    if domain is None:
        return None
    named = cdn.resolve_custom_domain(domain)
    www = domain.flag("www")
    canonical = domain.choice("canonical", CANONICAL_HOSTS)
    if www and named.domain_name.lower().startswith("www."):
        domain.fail("www", f"domain_name {named.domain_name!r} is already a www name; give the apex "
                           f"({named.domain_name[4:]}) and www: true")
    if canonical == "www" and not www:
        domain.fail("canonical", "'www' needs www: true (the www name must be served to be canonical)")
    return ResolvedSiteDomain(domain_name=named.domain_name, hosted_zone_id=named.hosted_zone_id, www=www,
                              canonical=canonical)


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

    def is_api_pattern(value: str) -> bool:
        return cdn.is_path_pattern(value) and value != ASSETS_PATH_PATTERN

    expected = f"an api path pattern: a CloudFront path pattern such as /api/*, not /* or {ASSETS_PATH_PATTERN}"
    path_pattern = api.string("path_pattern", check=is_api_pattern, expected=expected)
    uncached = api.strings("uncached_path_patterns", check=is_api_pattern, expected=expected, max_items=10)
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


class _SecureBehaviour(TypedDict):
    """What every behaviour of the distribution carries: the security headers, compression."""
    response_headers_policy_id: pulumi.Input[str]
    compress: bool


class _EdgePolicies(NamedTuple):
    access_control: aws.cloudfront.OriginAccessControl
    viewer_request: aws.cloudfront.Function
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
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: StaticSiteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        site = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:StaticSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        buckets = self._buckets(name, site, child)
        self.content_bucket, self.log_bucket = buckets.content, buckets.logs
        self.objects = self._upload(name, site, buckets.content, child)
        edge = self._edge_policies(name, site, child)
        self.web_acl_arn = None
        if site.waf_rate_limit is not None:
            self.web_acl_arn = self._web_acl(name, site).arn
        self.distribution = self._distribution(name, site, buckets, edge, self._certificate(name, site), child)
        self._grant_distribution_reads(buckets)
        self.access_logs = cdn.standard_logging(name, self.distribution, buckets.logs.arn, parent=self,
                                                us_east_1=site.us_east_1_provider,
                                                depends_on=[buckets.logs.policy])
        self._alias_records(name, site, child)
        self.invalidator: Optional[LambdaFunction] = None
        self.invalidation = (self._invalidate_changed_pages(name, site.invalidation_manifest, site)
                             if site.invalidation_manifest is not None else None)
        t = site.alarms.thresholds if site.alarms else ALARM_THRESHOLDS
        monitored = monitoring.watch(name, site.alarms, [
            *monitoring.cloudfront_watches(self.distribution._name, self.distribution.id, t),
            *(self.invalidator.watches(t) if self.invalidator else [])],
            parent=self, us_east_1_provider=site.us_east_1_provider)
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.domain_name = self.distribution.domain_name
        self.distribution_id = self.distribution.id
        self.url = (pulumi.Output.from_input(f"https://{site.custom_domain.canonical_host}") if site.custom_domain
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

    # --- custom domain (us-east-1 certificate, Route 53) -----------------------------------------------
    def _certificate(self, name: str, site: ResolvedStaticSite) -> Optional[pulumi.Output[str]]:
        """One certificate for every name of the site (the www name as a SAN), validated in us-east-1."""
        domain = site.custom_domain
        if domain is None:
            return None
        assert site.us_east_1_provider is not None  # resolve_args requires it with custom_domain
        return cdn.dns_validated_certificate(name, domain.domain_name, domain.hosted_zone_id, parent=self,
                                             us_east_1=site.us_east_1_provider,
                                             subject_alternative_names=domain.names[1:])

    def _alias_records(self, name: str, site: ResolvedStaticSite, child: pulumi.ResourceOptions) -> None:
        """A and AAAA aliases for each name (the redirecting one too: its 301 comes from the distribution)."""
        domain = site.custom_domain
        if domain is None or domain.hosted_zone_id is None:
            return
        for record_name, host in zip((name, f"{name}-www"), domain.names):
            cdn.alias_records(record_name, domain.hosted_zone_id, host, self.distribution, child)

    def _grant_distribution_reads(self, buckets: _Buckets) -> None:
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

    # --- deploy-time invalidation of changed pages -----------------------------------------------------
    def _invalidate_changed_pages(self, name: str, manifest: dict[str, str],
                                  site: ResolvedStaticSite) -> aws.lambda_.Invocation:
        """A function Pulumi invokes after the upload (CRUD lifecycle): on an update it compares the previous
        manifest of page paths with this one and invalidates the paths whose pages changed; nothing on
        create (the cache is empty) or delete."""
        function = LambdaFunction(f"{name}-invalidator", {
            "code": "site_invalidations", "memory_mb": 128, "timeout_seconds": 30,
            "log_retention_days": site.log_retention_days,
            "policy_statements": [allow(["cloudfront:CreateInvalidation"], [self.distribution.arn],
                                        sid="InvalidateThisDistribution")],
        }, opts=pulumi.ResourceOptions(parent=self))
        self.invalidator = function
        return aws.lambda_.Invocation(
            f"{name}-invalidate-changed-pages", function_name=function.name, lifecycle_scope="CRUD",
            input=pulumi.Output.json_dumps({"distributionId": self.distribution.id, "paths": manifest}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function, *self.objects.values()]))

    # --- edge policies -----------------------------------------------------------------------------
    @staticmethod
    def _edge_policies(name: str, site: ResolvedStaticSite, child: pulumi.ResourceOptions) -> _EdgePolicies:
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-oac", description=f"{name}: CloudFront signs every request to the content bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4", opts=child)
        domain = site.custom_domain
        viewer_request = aws.cloudfront.Function(
            f"{name}-viewer-request", runtime="cloudfront-js-2.0", publish=True,
            code=viewer_request_code(languages=site.languages, default_language=site.default_language,
                                     canonical_host=domain.canonical_host if domain else "",
                                     redirect_hosts=domain.redirect_hosts if domain else (),
                                     index_document=site.index_document),
            comment="Canonical host (301), language folder, directory index",
            # It was the directory-index function: the same resource, grown.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                aliases=[pulumi.Alias(name=f"{name}-index-rewrite")])))
        html_cache = aws.cloudfront.CachePolicy(
            f"{name}-html",
            comment="Pages: short TTLs (the objects' Cache-Control rules), minimal cache key",
            min_ttl=0, default_ttl=site.html_max_age_seconds, max_ttl=HTML_EDGE_MAX_TTL_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key([]), opts=child)
        headers = cdn.security_headers_policy(
            f"{name}-security-headers", child, comment="HSTS, nosniff, frame DENY, referrer policy and CSP",
            content_security_policy=site.content_security_policy)
        return _EdgePolicies(access_control=access, viewer_request=viewer_request, html_cache=html_cache,
                             security_headers=headers)

    # --- the distribution --------------------------------------------------------------------------
    def _distribution(self, name: str, site: ResolvedStaticSite, buckets: _Buckets, edge: _EdgePolicies,
                      certificate_arn: Optional[pulumi.Output[str]],
                      child: pulumi.ResourceOptions) -> aws.cloudfront.Distribution:
        site_origin = "site-bucket"
        origins: list[aws.cloudfront.DistributionOriginArgsDict] = [{
            "origin_id": site_origin, "domain_name": buckets.content.bucket.bucket_regional_domain_name,
            "origin_access_control_id": edge.access_control.id}]
        secure: _SecureBehaviour = {"response_headers_policy_id": edge.security_headers.id, "compress": True}
        ordered: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict] = []
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
                "function_associations": [{"event_type": "viewer-request", "function_arn": edge.viewer_request.arn}]},
            ordered_cache_behaviors=ordered,
            # Only 404 (S3's missing key, as CloudFront may list the bucket): a WAF block or an API's 403 stays 403.
            custom_error_responses=[{"error_code": 404, "response_code": 404,
                                     "response_page_path": "/" + site.not_found_document,
                                     "error_caching_min_ttl": site.html_max_age_seconds}],
            aliases=list(site.custom_domain.names) if site.custom_domain else None,
            viewer_certificate=cdn.viewer_certificate(certificate_arn),
            web_acl_id=self.web_acl_arn,
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            # The API origin may carry a secret header.
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["origins"]))

    @staticmethod
    def _api_origin(api: ResolvedApiOrigin) -> aws.cloudfront.DistributionOriginArgsDict:
        origin: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": "api", "domain_name": api.domain_name, "origin_path": api.origin_path,
            "custom_origin_config": {"origin_protocol_policy": "https-only", "http_port": 80,
                                     "https_port": 443, "origin_ssl_protocols": ["TLSv1.2"]}}
        if api.origin_header is not None:
            header_name, value = api.origin_header
            origin["custom_headers"] = [{"name": header_name, "value": pulumi.Output.secret(value)}]
        return origin

    def _api_behaviours(self, name: str, api: ResolvedApiOrigin, secure: _SecureBehaviour,
                        child: pulumi.ResourceOptions) -> list[aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict]:
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
        behaviours: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict] = []
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

        def visibility(suffix: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
            return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True,
                    "metric_name": f"{metric}-{suffix}"}

        assert rate_limit is not None  # only called with waf on
        rules: list[aws.wafv2.WebAclRuleArgsDict] = [{
            "name": "rate-limit-per-ip", "priority": 0, "action": {"block": {}},
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


def _query_strings(names: list[str]) -> aws.cloudfront.OriginRequestPolicyQueryStringsConfigArgsDict:
    if not names:
        return {"query_string_behavior": "none"}
    return {"query_string_behavior": "whitelist", "query_strings": {"items": names}}


def _cache_key(query_strings: list[str]) -> aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgsDict:
    """No cookies, no headers (so no Accept-Language: the viewer-request function puts the language in the
    path), only the given query strings; gzip and brotli variants."""
    names: aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgsDict = (
        {"query_string_behavior": "whitelist", "query_strings": {"items": query_strings}} if query_strings
        else {"query_string_behavior": "none"})
    return {"cookies_config": {"cookie_behavior": "none"}, "headers_config": {"header_behavior": "none"},
            "query_strings_config": names,
            "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True}
