"""StaticSite under Pulumi mocks: OAC-only access, behaviours, caching, uploads, domain, WAF, config."""
import hashlib
import json
from pathlib import Path

import pulumi_aws as aws
import pytest

import stack_config
from serverless_blueprints import cloudfront_defaults as cdn
from serverless_blueprints.args import ArgsError
from serverless_blueprints.static_site import (
    DEFAULT_CONTENT_SECURITY_POLICY,
    IMMUTABLE_CACHE_CONTROL,
    WAF_MANAGED_RULE_GROUPS,
    StaticSite,
    cache_control_for,
    canonical_host,
    content_type_for,
    invalidation_manifest,
    is_fingerprinted,
    page_cache_paths,
    resolve_args,
    site_files,
    viewer_request_code,
)
from offline.harness import evaluate_program
from tests.conftest import statements_of

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
ORIGIN_REQUEST_POLICY = "aws:cloudfront/originRequestPolicy:OriginRequestPolicy"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
RECORD = "aws:route53/record:Record"
ZONE = "Z0123456789EXAMPLE"
SITE_DIR = Path(__file__).resolve().parents[2] / "site"
LANGUAGES = ["en", "fr"]
CONTENT = {"content_dir": "site", "languages": LANGUAGES}
"""The sample blog: its pages live in site/en/ and site/fr/."""
API_HOST = "abc123defg.execute-api.eu-west-1.amazonaws.com"
API = {"domain_name": API_HOST, "origin_path": "/v1", "path_pattern": "/api/*",
       "cache_key_query_strings": ["limit", "cursor"], "default_ttl_seconds": 60, "max_ttl_seconds": 300,
       "uncached_path_patterns": ["/api/subscribe"]}


def build(args: dict, name: str = "blog", with_east: bool = True):
    """One StaticSite in eu-west-1 (with a us-east-1 provider unless told otherwise)."""
    def program():
        extra = {"us_east_1_provider": aws.Provider("us-east-1", region="us-east-1")} if with_east else {}
        StaticSite(name, {**extra, **args})
    return evaluate_program(program, region="eu-west-1")


@pytest.fixture(scope="module")
def site():
    """The blog as prod runs it: content in two languages, the API, the apex and www (www redirects) in a zone,
    WAF."""
    return build({**CONTENT, "api": API, "price_class": "PriceClass_200",
                  "custom_domain": {"domain_name": "myblog.com", "hosted_zone_id": ZONE, "www": True},
                  "waf": {"rate_limit": 500}, "deletion_protection": True})


@pytest.fixture(scope="module")
def bare():
    """Only the content: a private bucket behind CloudFront, no API, domain or WAF."""
    return build(CONTENT, with_east=False)


def distribution(snapshot) -> dict:
    (found,) = snapshot.of_type(DISTRIBUTION)
    return found.props


def behaviour(snapshot, pattern: str) -> dict:
    return next(b for b in distribution(snapshot)["orderedCacheBehaviors"] if b["pathPattern"] == pattern)


def all_behaviours(snapshot) -> list[dict]:
    props = distribution(snapshot)
    return [props["defaultCacheBehavior"], *props.get("orderedCacheBehaviors", [])]


def origin(snapshot, origin_id: str) -> dict:
    return next(o for o in distribution(snapshot)["origins"] if o["originId"] == origin_id)


def by_id(snapshot, resource_type: str, resource_id: str):
    return next(r for r in snapshot.of_type(resource_type) if r.outputs.get("id") == resource_id)


# --- access: OAC only, the bucket policy names this distribution --------------------------------

def test_bucket_policy_admits_only_cloudfront_for_this_distribution(site):
    dist = site.of_type(DISTRIBUTION)[0]
    allows = [s for s in statements_of(site.named("blog-content-policy")) if s["Effect"] == "Allow"]
    bucket_arn = "arn:aws:s3:::" + site.named("blog-content").outputs["bucket"]
    only_this_distribution = {"StringEquals": {"AWS:SourceArn": dist.outputs["arn"]}}
    assert allows == [
        {"Sid": "CloudFrontReadsThroughOac", "Effect": "Allow",
         "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
         "Resource": bucket_arn + "/*", "Condition": only_this_distribution},
        {"Sid": "CloudFrontListsThroughOac", "Effect": "Allow",
         "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:ListBucket",
         "Resource": bucket_arn, "Condition": only_this_distribution}]


def test_bucket_policy_denies_every_request_without_tls(site):
    deny = next(s for s in statements_of(site.named("blog-content-policy")) if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "s3:*" and deny["Principal"] == "*"


def test_bucket_policy_waits_for_the_public_access_block(site):
    policy = site.named("blog-content-policy")
    assert site.named("blog-content-public-access").urn in policy.dependencies


def test_s3_origin_is_reached_through_origin_access_control_only(site):
    s3 = origin(site, "site-bucket")
    oac = site.named("blog-oac")
    assert s3["originAccessControlId"] == oac.outputs["id"]
    assert "s3OriginConfig" not in s3 and "customOriginConfig" not in s3
    assert not site.of_type("aws:cloudfront/originAccessIdentity:OriginAccessIdentity")


def test_origin_access_control_always_signs_with_sigv4(site):
    props = site.named("blog-oac").props
    assert (props["originAccessControlOriginType"], props["signingBehavior"], props["signingProtocol"]) == \
           ("s3", "always", "sigv4")


def test_s3_origin_is_the_rest_endpoint_not_the_website_endpoint(site):
    domain = origin(site, "site-bucket")["domainName"]
    assert domain == site.named("blog-content").outputs["bucketRegionalDomainName"]
    assert "s3-website" not in domain
    assert not site.of_type("aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration")


def test_content_bucket_blocks_public_access_and_acls(site):
    block = site.named("blog-content-public-access").props
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                "restrictPublicBuckets"))
    assert site.named("blog-content-ownership").props["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_content_bucket_is_encrypted_and_versioned(site):
    sse = site.named("blog-content-sse").props["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse["sseAlgorithm"] == "AES256"
    assert site.named("blog-content-versioning").props["versioningConfiguration"]["status"] == "Enabled"


def test_deletion_protection_keeps_both_buckets(site, bare):
    assert site.named("blog-content").props["forceDestroy"] is False
    assert site.named("blog-logs").props["forceDestroy"] is False
    assert bare.named("blog-content").props["forceDestroy"] is True


# --- distribution behaviour ------------------------------------------------------------------------

def test_default_root_object_is_index_html(site):
    assert distribution(site)["defaultRootObject"] == "index.html"


def test_viewer_request_function_runs_on_viewer_requests_of_the_default_behaviour_only(site):
    function = site.named("blog-viewer-request")
    assert function.props["runtime"] == "cloudfront-js-2.0" and function.props["publish"] is True
    assert distribution(site)["defaultCacheBehavior"]["functionAssociations"] == [
        {"eventType": "viewer-request", "functionArn": function.outputs["arn"]}]
    assert all("functionAssociations" not in b for b in distribution(site)["orderedCacheBehaviors"])


def test_the_deployed_function_is_the_tested_rendering_with_this_sites_settings(site, bare):
    # tests/functions/test_site_edge.py runs viewer_request_code's output with Node.
    assert site.named("blog-viewer-request").props["code"] == viewer_request_code(
        languages=LANGUAGES, default_language="en", canonical_host="myblog.com", redirect_hosts=["www.myblog.com"],
        index_document="index.html")
    assert bare.named("blog-viewer-request").props["code"] == viewer_request_code(
        languages=LANGUAGES, default_language="en", index_document="index.html")


def test_missing_objects_get_the_404_page_with_status_404(site):
    # S3 answers 404 for a missing key, as the distribution may list the bucket (CloudFrontListsThroughOac).
    assert distribution(site)["customErrorResponses"] == [
        {"errorCode": 404, "responseCode": 404, "responsePagePath": "/404.html", "errorCachingMinTtl": 60}]


def test_a_403_from_waf_or_the_api_is_never_turned_into_a_404(site, bare):
    for snapshot in (site, bare):
        assert all(r["errorCode"] != 403 for r in distribution(snapshot)["customErrorResponses"])


def test_site_behaviours_redirect_http_to_https(site):
    for props in (distribution(site)["defaultCacheBehavior"], behaviour(site, "/assets/*")):
        assert props["viewerProtocolPolicy"] == "redirect-to-https"


def test_api_behaviours_refuse_plain_http_instead_of_redirecting_posts(site):
    for pattern in ("/api/*", "/api/subscribe"):
        assert behaviour(site, pattern)["viewerProtocolPolicy"] == "https-only"


def test_http2_and_http3_with_ipv6(site):
    props = distribution(site)
    assert props["httpVersion"] == "http2and3" and props["isIpv6Enabled"] is True and props["enabled"] is True


def test_every_behaviour_compresses(site):
    assert all(b["compress"] is True for b in all_behaviours(site))


def test_assets_use_the_managed_caching_optimized_policy(site):
    assets = behaviour(site, "/assets/*")
    assert assets["cachePolicyId"] == cdn.CACHING_OPTIMIZED_POLICY_ID == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert assets["allowedMethods"] == ["GET", "HEAD"] and assets["targetOriginId"] == "site-bucket"


def test_html_is_cached_briefly_with_a_minimal_cache_key(site):
    policy = by_id(site, CACHE_POLICY, distribution(site)["defaultCacheBehavior"]["cachePolicyId"]).props
    assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (0, 60, 3600)
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["cookiesConfig"]["cookieBehavior"] == "none"
    assert key["headersConfig"]["headerBehavior"] == "none"
    assert key["queryStringsConfig"]["queryStringBehavior"] == "none"


def test_the_language_reaches_the_cache_key_only_through_the_rewritten_path(site):
    # The function puts the chosen language in the URI before the cache lookup; the raw Accept-Language
    # header and the lang cookie stay out of every key, or each browser's variant would be a cache entry.
    for props in all_behaviours(site):
        policy_id = props["cachePolicyId"]
        if policy_id in (cdn.CACHING_OPTIMIZED_POLICY_ID, cdn.CACHING_DISABLED_POLICY_ID):
            continue  # managed: no headers or cookies
        key = json.dumps(by_id(site, CACHE_POLICY, policy_id).props["parametersInCacheKeyAndForwardedToOrigin"])
        assert "accept-language" not in key.lower() and '"lang"' not in key
    for request_policy in site.of_type(ORIGIN_REQUEST_POLICY):
        assert "accept-language" not in json.dumps(request_policy.props).lower()


def test_html_max_age_sets_the_default_edge_ttl():
    snapshot = build({**CONTENT, "html_max_age_seconds": 30}, with_east=False)
    policy = snapshot.named("blog-html").props
    assert policy["defaultTtl"] == 30


def test_every_behaviour_sends_the_security_headers(site):
    headers = site.named("blog-security-headers")
    assert {b["responseHeadersPolicyId"] for b in all_behaviours(site)} == {headers.outputs["id"]}


def test_security_headers_enforce_hsts_for_two_years_with_subdomains(site):
    hsts = site.named("blog-security-headers").props["securityHeadersConfig"]["strictTransportSecurity"]
    assert hsts == {"accessControlMaxAgeSec": 2 * 31_536_000, "includeSubdomains": True, "preload": False,
                    "override": True}


def test_security_headers_set_nosniff_frame_deny_referrer_policy_and_csp(site):
    config = site.named("blog-security-headers").props["securityHeadersConfig"]
    assert config["contentTypeOptions"] == {"override": True}
    assert config["frameOptions"] == {"frameOption": "DENY", "override": True}
    assert config["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert config["contentSecurityPolicy"]["contentSecurityPolicy"] == DEFAULT_CONTENT_SECURITY_POLICY


def test_price_class_comes_from_the_args(site, bare):
    assert distribution(site)["priceClass"] == "PriceClass_200"
    assert distribution(bare)["priceClass"] == "PriceClass_100"


def test_cloudfront_logs_go_to_the_log_bucket_through_standard_logging_v2_without_cookies(site, bare):
    for snapshot in (site, bare):
        assert "loggingConfig" not in distribution(snapshot)  # legacy logging needs bucket ACLs
        source = snapshot.named("blog-access-logs-source")
        destination = snapshot.named("blog-access-logs-s3")
        delivery = snapshot.named("blog-access-logs")
        assert source.props["logType"] == "ACCESS_LOGS"
        assert source.props["resourceArn"] == snapshot.of_type(DISTRIBUTION)[0].outputs["arn"]
        assert destination.props["deliveryDestinationConfiguration"] == {
            "destinationResourceArn": snapshot.named("blog-logs").outputs["arn"]}
        assert delivery.props["deliverySourceName"] == source.outputs["name"] == "blog-unit-cf-logs"
        assert delivery.props["deliveryDestinationArn"] == destination.outputs["arn"]
        assert "cs(Cookie)" not in delivery.props["recordFields"] and "c-ip" in delivery.props["recordFields"]
        assert snapshot.named("blog-logs-policy").urn in delivery.dependencies
        for resource in (source, destination, delivery):  # the provider's region, or the resource's own
            assert resource.props.get("region", resource.region) == "us-east-1", resource.name


def test_log_bucket_keeps_acls_disabled(site):
    assert site.named("blog-logs-ownership").props["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_log_bucket_admits_log_delivery_for_this_accounts_cloudfront_sources_only(site):
    statements = {s.get("Sid"): s for s in statements_of(site.named("blog-logs-policy"))}
    write, check = statements["LogDeliveryWrite"], statements["LogDeliveryAclCheck"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"} and write["Action"] == "s3:PutObject"
    assert write["Resource"].endswith("/AWSLogs/123456789012/*")
    assert write["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012",
                                                  "s3:x-amz-acl": "bucket-owner-full-control"}
    assert write["Condition"]["ArnLike"] == {
        "aws:SourceArn": ["arn:aws:logs:us-east-1:123456789012:delivery-source:*"]}
    assert check["Action"] == "s3:GetBucketAcl" and check["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}, "ArnLike": write["Condition"]["ArnLike"]}


def test_content_bucket_access_logs_go_to_the_log_bucket(site):
    logging = site.named("blog-content-access-logs").props
    assert logging["targetBucket"] == site.named("blog-logs").outputs["bucket"]
    assert logging["targetPrefix"] == "s3/blog-content/"


def test_log_bucket_accepts_server_access_logs_from_the_content_bucket_only(site):
    (grant,) = [s for s in statements_of(site.named("blog-logs-policy")) if s.get("Sid") == "S3ServerAccessLogs"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"} and grant["Action"] == "s3:PutObject"
    assert grant["Resource"].endswith("/s3/*")
    assert grant["Condition"]["ArnLike"] == {"aws:SourceArn": site.named("blog-content").outputs["arn"]}
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


# --- the API on the same distribution ------------------------------------------------------------

SECRET = "s3cr3t-origin-header-value-0123456789"


@pytest.fixture(scope="module")
def with_header():
    return build({**CONTENT, "api": {**API, "origin_header": {"name": "X-Origin-Verify",
                                                                          "value": SECRET}}})


def test_api_origin_carries_the_origin_header_as_a_secret(with_header):
    assert origin(with_header, "api")["customHeaders"] == [{"name": "X-Origin-Verify", "value": SECRET}]
    assert "origins" in with_header.of_type(DISTRIBUTION)[0].secret_inputs
    assert "customHeaders" not in origin(with_header, "site-bucket")


def test_without_an_origin_header_the_api_origin_has_none(site):
    assert "customHeaders" not in origin(site, "api")


@pytest.mark.parametrize("header, message", [
    ({"name": "X-Amz-Secret", "value": SECRET}, "api.origin_header.name: expected an HTTP header name"),
    ({"name": "X-Origin-Verify", "value": "short"}, "api.origin_header.value: expected 16-1783 visible ASCII"),
    ({"name": "X-Origin-Verify"}, "api.origin_header.value: required"),
])
def test_bad_origin_headers_are_rejected_without_echoing_the_value(header, message):
    with pytest.raises(ArgsError, match=message) as error:
        resolve_args("blog", {**CONTENT, "api": {**API, "origin_header": header}})
    assert "short" not in str(error.value).replace("api.origin_header", "")


def test_the_origin_header_value_stays_out_of_the_resolved_repr():
    resolved = resolve_args("blog", {**CONTENT, "api": {**API, "origin_header": {
        "name": "X-Origin-Verify", "value": SECRET}}})
    assert resolved.api.origin_header == ("X-Origin-Verify", SECRET) and SECRET not in repr(resolved)


def test_api_origin_is_the_regional_api_with_the_stage_as_origin_path(site):
    api = origin(site, "api")
    assert api["domainName"] == API_HOST and api["originPath"] == "/v1"


def test_api_origin_is_https_only_with_tls12(site):
    config = origin(site, "api")["customOriginConfig"]
    assert config["originProtocolPolicy"] == "https-only" and config["originSslProtocols"] == ["TLSv1.2"]


def test_api_behaviour_caches_get_and_head_only(site):
    api = behaviour(site, "/api/*")
    assert api["targetOriginId"] == "api"
    assert api["allowedMethods"] == ["GET", "HEAD", "OPTIONS"] and api["cachedMethods"] == ["GET", "HEAD"]


def test_api_cache_key_holds_only_the_apis_query_strings(site):
    policy = by_id(site, CACHE_POLICY, behaviour(site, "/api/*")["cachePolicyId"]).props
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["queryStringsConfig"] == {"queryStringBehavior": "whitelist",
                                         "queryStrings": {"items": ["limit", "cursor"]}}
    assert key["cookiesConfig"]["cookieBehavior"] == "none"
    assert key["headersConfig"]["headerBehavior"] == "none"


def test_api_cache_policy_follows_the_apis_ttls(site):
    policy = by_id(site, CACHE_POLICY, behaviour(site, "/api/*")["cachePolicyId"]).props
    assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (0, 60, 300)


def test_api_forwards_no_cookies_and_only_its_query_strings(site):
    request = by_id(site, ORIGIN_REQUEST_POLICY, behaviour(site, "/api/*")["originRequestPolicyId"]).props
    assert request["cookiesConfig"] == {"cookieBehavior": "none"}
    assert request["queryStringsConfig"] == {"queryStringBehavior": "whitelist",
                                             "queryStrings": {"items": ["limit", "cursor"]}}


def test_api_never_gets_the_viewers_host_header(site):
    # API Gateway answers only to its execute-api host: no viewer header (Host included) is forwarded.
    for pattern in ("/api/*", "/api/subscribe"):
        policy_id = behaviour(site, pattern)["originRequestPolicyId"]
        assert policy_id != cdn.ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID
        headers = by_id(site, ORIGIN_REQUEST_POLICY, policy_id).props["headersConfig"]
        assert headers["headerBehavior"] in ("none", "whitelist")
        assert "Host" not in headers.get("headers", {}).get("items", [])


def test_subscribe_is_never_cached_and_accepts_post(site):
    subscribe = behaviour(site, "/api/subscribe")
    assert subscribe["cachePolicyId"] == cdn.CACHING_DISABLED_POLICY_ID
    assert "POST" in subscribe["allowedMethods"] and subscribe["targetOriginId"] == "api"


def test_subscribe_forwards_content_type_only(site):
    request = by_id(site, ORIGIN_REQUEST_POLICY, behaviour(site, "/api/subscribe")["originRequestPolicyId"]).props
    assert request["headersConfig"] == {"headerBehavior": "whitelist", "headers": {"items": ["Content-Type"]}}
    assert request["cookiesConfig"] == {"cookieBehavior": "none"}
    assert request["queryStringsConfig"] == {"queryStringBehavior": "none"}


def test_subscribe_behaviour_comes_before_the_api_wildcard(site):
    patterns = [b["pathPattern"] for b in distribution(site)["orderedCacheBehaviors"]]
    assert patterns.index("/api/subscribe") < patterns.index("/api/*")


def test_without_an_api_there_is_only_the_bucket_origin(bare):
    assert [o["originId"] for o in distribution(bare)["origins"]] == ["site-bucket"]
    assert [b["pathPattern"] for b in distribution(bare)["orderedCacheBehaviors"]] == ["/assets/*"]


# --- content ---------------------------------------------------------------------------------------

SITE_KEYS = sorted(key for key, _ in site_files(SITE_DIR))
PAGE = ("text/html; charset=utf-8", "public, max-age=60, must-revalidate")
EXPECTED = {
    **{f"{language}/{page}": PAGE for language in LANGUAGES
       for page in ("index.html", "posts/hello-cloudfront/index.html", "posts/caching-everywhere/index.html")},
    "404.html": PAGE,
    "index.html": PAGE,  # the language chooser, for a site served without languages
    "assets/site.ac83985c.css": ("text/css; charset=utf-8", IMMUTABLE_CACHE_CONTROL),
    "assets/app.c5579a60.js": ("text/javascript; charset=utf-8", IMMUTABLE_CACHE_CONTROL),
    "assets/favicon.1015f096.svg": ("image/svg+xml", IMMUTABLE_CACHE_CONTROL),
}


def uploaded(snapshot) -> dict[str, dict]:
    return {o.props["key"]: o.props for o in snapshot.of_type(OBJECT)}


def test_every_file_of_the_site_folder_is_uploaded(site):
    assert sorted(uploaded(site)) == SITE_KEYS == sorted(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_object_has_its_content_type_and_cache_control(site, key):
    props = uploaded(site)[key]
    assert (props["contentType"], props["cacheControl"]) == EXPECTED[key]


def test_fingerprinted_assets_are_immutable_for_a_year():
    assert IMMUTABLE_CACHE_CONTROL == "public, max-age=31536000, immutable"


def test_objects_go_into_the_content_bucket(site):
    bucket = site.named("blog-content").outputs["id"]
    assert {props["bucket"] for props in uploaded(site).values()} == {bucket}


def test_changed_bytes_change_the_source_hash(site):
    for key, props in uploaded(site).items():
        assert props["sourceHash"] == hashlib.sha256((SITE_DIR / key).read_bytes()).hexdigest()


def test_hidden_files_are_not_uploaded(tmp_path):
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "404.html").write_text("<p>no</p>")
    (tmp_path / ".DS_Store").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    assert [key for key, _ in site_files(tmp_path)] == ["404.html", "index.html"]


def test_a_site_without_content_is_refused_at_preview():
    with pytest.raises(ArgsError, match="StaticSite 'www': content_dir: required"):
        StaticSite("www", {})


@pytest.mark.parametrize("key, fingerprinted", [
    ("assets/app.72fc2586.js", True), ("assets/site.AC83985C.css", True), ("logo.0123456789abcdef.png", True),
    ("assets/app.72fc258.js", False), ("assets/app.js", False), ("index.html", False), ("72fc2586.js", False),
])
def test_only_names_with_eight_or_more_hex_digits_count_as_fingerprinted(key, fingerprinted):
    assert is_fingerprinted(key) is fingerprinted


def test_other_files_get_the_middle_cache_lifetime():
    assert cache_control_for("robots.txt", 60, 3600) == "public, max-age=3600"
    assert content_type_for("robots.txt") == "text/plain; charset=utf-8"


def test_unknown_extensions_are_served_as_octet_stream():
    assert content_type_for("data.bin") == "application/octet-stream"


# --- custom domain and WAF (us-east-1) -------------------------------------------------------------

def test_one_certificate_covers_the_apex_and_www_created_with_the_us_east_1_provider(site):
    certificate = site.named("blog-cert")
    assert site.provider_of(certificate).props["region"] == "us-east-1"
    assert certificate.props["domainName"] == "myblog.com"
    assert certificate.props["subjectAlternativeNames"] == ["www.myblog.com"]
    assert certificate.props["validationMethod"] == "DNS"
    assert len(site.of_type("aws:acm/certificate:Certificate")) == 1


def test_certificate_validation_also_runs_in_us_east_1(site):
    assert site.provider_of(site.named("blog-cert-validation")).props["region"] == "us-east-1"


def test_each_name_of_the_certificate_is_validated_by_a_record_in_the_zone(site):
    records = [site.named("blog-cert-validation-record"), site.named("blog-cert-validation-record-1")]
    assert {r.props["name"] for r in records} == {"_x.myblog.com.", "_x.www.myblog.com."}  # (mocked options)
    for record in records:
        assert record.props["zoneId"] == ZONE and record.props["type"] == "CNAME"
        assert record.urn in site.named("blog-cert-validation").property_dependencies["validationRecordFqdns"]


def test_a_single_name_keeps_its_single_certificate_and_record():
    snapshot = build({**CONTENT, "custom_domain": {"domain_name": "blog.example.com", "hosted_zone_id": ZONE}})
    assert "subjectAlternativeNames" not in snapshot.named("blog-cert").props
    assert [r.name for r in snapshot.of_type(RECORD) if r.props["type"] == "CNAME"] == ["blog-cert-validation-record"]
    assert distribution(snapshot)["aliases"] == ["blog.example.com"]
    assert "www.blog.example.com" not in snapshot.named("blog-viewer-request").props["code"]


def test_custom_domain_uses_sni_and_tls12_2021(site):
    certificate = distribution(site)["viewerCertificate"]
    assert certificate["sslSupportMethod"] == "sni-only"
    assert certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")


def test_the_distribution_answers_both_names(site):
    assert distribution(site)["aliases"] == ["myblog.com", "www.myblog.com"]


def test_both_names_get_a_and_aaaa_alias_records(site):
    dist = site.of_type(DISTRIBUTION)[0].outputs
    aliases = sorted((r.props["name"], r.props["type"]) for r in site.of_type(RECORD) if r.props.get("aliases"))
    assert aliases == [("myblog.com", "A"), ("myblog.com", "AAAA"), ("www.myblog.com", "A"), ("www.myblog.com", "AAAA")]
    for record in (r.props for r in site.of_type(RECORD) if r.props.get("aliases")):
        assert record["zoneId"] == ZONE
        assert record["aliases"] == [{"name": dist["domainName"], "zoneId": dist["hostedZoneId"],
                                      "evaluateTargetHealth": False}]


def test_www_can_be_the_canonical_name_and_the_apex_then_redirects():
    www = build({**CONTENT, "custom_domain": {"domain_name": "myblog.com", "hosted_zone_id": ZONE, "www": True,
                                              "canonical": "www"}})
    assert distribution(www)["aliases"] == ["myblog.com", "www.myblog.com"]
    assert '"canonicalHost":"www.myblog.com","redirectHosts":["myblog.com"]' in www.named("blog-viewer-request").props["code"]


@pytest.mark.parametrize("domain, expected", [
    ({"domain_name": "myblog.com"}, "myblog.com"), ({"domain_name": "myblog.com", "www": True}, "myblog.com"),
    ({"domain_name": "myblog.com", "www": True, "canonical": "www"}, "www.myblog.com")])
def test_canonical_host_reads_the_args_as_given(domain, expected):
    assert canonical_host(domain) == expected


def test_without_a_custom_domain_the_cloudfront_certificate_is_used(bare):
    assert distribution(bare)["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert not bare.of_type("aws:acm/certificate:Certificate") and not bare.of_type(RECORD)


def test_web_acl_is_cloudfront_scoped_in_us_east_1_and_attached(site):
    acl = site.named("blog-waf")
    assert acl.props["scope"] == "CLOUDFRONT"
    assert site.provider_of(acl).props["region"] == "us-east-1"
    assert distribution(site)["webAclId"] == acl.outputs["arn"]


def test_web_acl_rate_limits_each_ip_first(site):
    rules = sorted(site.named("blog-waf").props["rules"], key=lambda r: r["priority"])
    rate = rules[0]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rateBasedStatement"] == {"limit": 500, "aggregateKeyType": "IP",
                                                       "evaluationWindowSec": 300}


def test_web_acl_runs_the_aws_managed_rule_groups(site):
    rules = site.named("blog-waf").props["rules"]
    groups = [r["statement"]["managedRuleGroupStatement"] for r in rules if "managedRuleGroupStatement" in r["statement"]]
    assert sorted(g["name"] for g in groups) == sorted(WAF_MANAGED_RULE_GROUPS)
    assert {g["vendorName"] for g in groups} == {"AWS"}
    assert site.named("blog-waf").props["defaultAction"] == {"allow": {}}


def test_web_acl_logs_to_an_aws_waf_logs_group_in_us_east_1_with_credentials_redacted(site):
    group, logging = site.named("blog-waf-logs"), site.named("blog-waf-logging")
    assert group.props["namePrefix"].startswith("aws-waf-logs-") and group.props["retentionInDays"] == 365
    assert logging.props["resourceArn"] == site.named("blog-waf").outputs["arn"]
    assert logging.props["logDestinationConfigs"] == [group.outputs["arn"]]
    assert [f["singleHeader"]["name"] for f in logging.props["redactedFields"]] == [
        "authorization", "cookie", "x-id-token"]
    for resource in (group, logging):
        assert site.provider_of(resource).props["region"] == "us-east-1"


def test_waf_log_retention_follows_the_args():
    snapshot = build({**CONTENT, "waf": {}, "log_retention_days": 7})
    assert snapshot.named("blog-waf-logs").props["retentionInDays"] == 7


def test_without_waf_no_web_acl_is_attached(bare):
    assert not bare.of_type("aws:wafv2/webAcl:WebAcl")
    assert "webAclId" not in distribution(bare)


# --- deploy-time invalidation of changed pages ----------------------------------------------------

def invalidation_input(snapshot) -> dict:
    return json.loads(snapshot.named("blog-invalidate-changed-pages").props["input"])


def test_pulumi_invokes_the_invalidator_on_create_update_and_delete_after_the_upload(site):
    invocation = site.named("blog-invalidate-changed-pages")
    assert invocation.props["lifecycleScope"] == "CRUD"  # the function gets tf.action and tf.prev_input
    assert invocation.props["functionName"] == site.named("blog-invalidator-fn").outputs["name"]
    uploads = {o.urn for o in site.of_type(OBJECT)}
    assert uploads and uploads <= set(invocation.dependencies)


def test_the_invalidator_may_invalidate_this_distribution_and_nothing_else(site):
    dist = site.named("blog-cdn").outputs["arn"]
    grants = [s for s in statements_of(site.named("blog-invalidator-policy")) if s.get("Sid") == "InvalidateThisDistribution"]
    assert grants == [{"Sid": "InvalidateThisDistribution", "Effect": "Allow",
                       "Action": ["cloudfront:CreateInvalidation"], "Resource": [dist]}]
    actions = {a for s in statements_of(site.named("blog-invalidator-policy"))
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {a for a in actions if a.startswith("cloudfront:")} == {"cloudfront:CreateInvalidation"}


def test_the_manifest_lists_html_pages_only_never_fingerprinted_assets(site):
    manifest = invalidation_input(site)
    assert manifest["distributionId"] == site.named("blog-cdn").outputs["id"]
    paths = manifest["paths"]
    assert "/404.html" in paths and "/fr/posts/hello-cloudfront/" in paths
    assert not [p for p in paths if p.startswith("/assets/")]


def test_without_languages_the_sample_site_serves_its_language_chooser_at_the_root():
    snapshot = build({"content_dir": "site"}, with_east=False)
    assert '"languages":[]' in snapshot.named("blog-viewer-request").props["code"]
    assert "/en/posts/hello-cloudfront/" in invalidation_input(snapshot)["paths"]  # pages, not language-aware


def test_a_changed_page_changes_only_its_own_paths_in_the_manifest(tmp_path):
    for key in ("en/index.html", "fr/index.html", "en/posts/x/index.html", "fr/posts/x/index.html", "404.html"):
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text(f"<p>{key}</p>")
    (tmp_path / "app.72fc2586.js").write_text("1")
    before = invalidation_manifest(site_files(tmp_path), "index.html", LANGUAGES)
    (tmp_path / "fr/posts/x/index.html").write_text("<p>corrigé</p>")
    (tmp_path / "app.72fc2586.js").write_text("2")  # a fingerprinted file never counts
    after = invalidation_manifest(site_files(tmp_path), "index.html", LANGUAGES)
    assert sorted(p for p in after if after[p] != before[p]) == [
        "/fr/posts/x/", "/fr/posts/x/index.html", "/posts/x/", "/posts/x/index.html"]


@pytest.mark.parametrize("key, languages, expected", [
    ("index.html", [], ["/index.html", "/"]),
    ("posts/x/index.html", [], ["/posts/x/index.html", "/posts/x/"]),
    ("about.html", [], ["/about.html"]),
    ("fr/index.html", LANGUAGES, ["/fr/index.html", "/fr/", "/index.html", "/", "/fr"]),
    ("en/posts/x/index.html", LANGUAGES, ["/en/posts/x/index.html", "/en/posts/x/", "/posts/x/index.html", "/posts/x/"]),
    ("404.html", LANGUAGES, ["/404.html"]),
    ("en/a page.html", LANGUAGES, ["/en/a%20page.html", "/a%20page.html"]),
])
def test_a_page_is_invalidated_as_viewers_ask_for_it_and_as_the_function_rewrites_it(key, languages, expected):
    assert page_cache_paths(key, "index.html", languages) == expected


def test_a_manifest_too_big_for_a_lambda_request_is_refused_at_preview(monkeypatch):
    from serverless_blueprints import static_site
    monkeypatch.setattr(static_site, "MAX_MANIFEST_BYTES", 2_000)
    with pytest.raises(ArgsError, match=r"invalidate_changed_pages: the site's 21 page paths make a [0-9,]+-byte "
                                        r"manifest; the deploy-time invalidation takes 1,000 .*set it to false"):
        resolve_args("blog", CONTENT)
    assert resolve_args("blog", {**CONTENT, "invalidate_changed_pages": False}).invalidation_manifest is None


def test_invalidation_can_be_turned_off():
    snapshot = build({**CONTENT, "invalidate_changed_pages": False}, with_east=False)
    assert not snapshot.of_type("aws:lambda/invocation:Invocation")
    assert not snapshot.of_type("aws:lambda/function:Function")


# --- guards ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ({"not_found_document": "missing.html"},
     "not_found_document: 'missing.html' is not in content_dir 'site'"),
    ({"index_document": "home.html"}, "languages: 'en' has no en/home.html in content_dir"),
    ({"languages": ["en", "de"]}, "languages: 'de' has no de/index.html in content_dir"),
    ({"languages": ["en", "EN"]}, r"languages: expected lowercase language subtags such as en, fr"),
    ({"languages": ["en", "en"]}, r"languages: expected .*distinct"),
    ({"languages": ["en-GB"]}, r"languages: expected lowercase language subtags"),
    ({"languages": [f"l{i:02d}" for i in range(21)]}, r"languages: expected .*\(0 to 20, distinct\)"),
    ({"default_language": "de"}, r"default_language: 'de' is not one of languages \['en', 'fr'\]"),
    ({"languages": [], "index_document": "en/index.html", "default_language": "en"},
     "default_language: needs languages"),
    ({"invalidate_changed_pages": "yes"}, "invalidate_changed_pages: expected true or false"),
    ({"custom_domain": {"domain_name": "myblog.com", "canonical": "www"}},
     r"custom_domain.canonical: 'www' needs www: true"),
    ({"custom_domain": {"domain_name": "myblog.com", "www": True, "canonical": "root"}},
     r"custom_domain.canonical: 'root' is not allowed; allowed values: apex, www"),
    ({"custom_domain": {"domain_name": "www.myblog.com", "www": True}},
     r"custom_domain.www: domain_name 'www.myblog.com' is already a www name; give the apex \(myblog.com\)"),
    ({"custom_domain": {"domain_name": "myblog.com", "redirect": "www"}},
     r"custom_domain.redirect: unknown arg; allowed: canonical, domain_name, hosted_zone_id, www"),
    ({"index_document": "/index.html"}, "index_document: expected an object key"),
    ({"html_max_age_seconds": 7200}, "html_max_age_seconds: 7200 is out of range; allowed 0 to 3600"),
    ({"other_max_age_seconds": -1}, "other_max_age_seconds: -1 is out of range; allowed 0 to 31536000"),
    ({"price_class": "PriceClass_Cheap"}, "price_class: 'PriceClass_Cheap' is not allowed; allowed values: "
                                          "PriceClass_100, PriceClass_200, PriceClass_All"),
    ({"custom_domain": {"domain_name": "https://blog.example.com/"}},
     "custom_domain.domain_name: expected a hostname such as blog.example.com"),
    ({"custom_domain": {"hosted_zone_id": ZONE}}, "custom_domain.domain_name: required"),
    ({"custom_domain": {"domain_name": "blog.example.com", "hosted_zone_id": "zone-1"}},
     r"custom_domain.hosted_zone_id: expected a Route 53 hosted zone id \(Z...\)"),
    ({"waf": {"rate_limit": 10}}, "waf.rate_limit: 10 is out of range; allowed 100 to 2000000000"),
    ({"waf": {"ratelimit": 1000}}, r"waf.ratelimit: unknown arg \(did you mean 'rate_limit'\?\)"),
    ({"api": {**API, "path_pattern": "/*"}}, "api.path_pattern: expected an api path pattern"),
    ({"api": {**API, "uncached_path_patterns": ["/assets/*"]}}, "api.uncached_path_patterns: expected an api path "
                                                                "pattern"),
    ({"api": {**API, "uncached_path_patterns": ["/api/*"]}}, "api.uncached_path_patterns: .* must be distinct"),
    ({"api": {**API, "origin_path": "v1/"}}, "api.origin_path: expected the stage path, like /v1"),
    ({"api": {**API, "cache_key_query_strings": [f"q{i}" for i in range(11)]}},
     r"api.cache_key_query_strings: expected query string names .*\(0 to 10\)"),
    ({"api": {**API, "cache_key_query_strings": ["limit&x"]}}, "api.cache_key_query_strings: expected query string"),
    ({"api": {**API, "default_ttl_seconds": 0, "max_ttl_seconds": 0}},
     "api.default_ttl_seconds: 0 is out of range; allowed 1 to 31536000"),
    ({"api": {**API, "default_ttl_seconds": 600, "max_ttl_seconds": 60}},
     "api.default_ttl_seconds: 600 is above max_ttl_seconds 60"),
    ({"api": {key: value for key, value in API.items() if key != "origin_path"}}, "api.origin_path: required"),
])
def test_component_rejects_bad_args_naming_the_arg(args, message):
    with pytest.raises(ArgsError, match=message):
        StaticSite("blog", {**CONTENT, **args})


@pytest.mark.parametrize("args", [{"custom_domain": {"domain_name": "blog.example.com"}},
                                  {"waf": {"rate_limit": 1000}}])
def test_custom_domain_and_waf_require_the_us_east_1_provider(args):
    with pytest.raises(ArgsError, match="us_east_1_provider: required with custom_domain or waf"):
        StaticSite("blog", {**CONTENT, **args})


def test_a_misspelt_arg_is_refused_naming_the_right_one():
    with pytest.raises(ArgsError, match=r"StaticSite 'www': contentDir: unknown arg \(did you mean 'content_dir'\?\); "
                                        r"allowed: (alarms, )?api, content_dir, content_security_policy"):
        StaticSite("www", {"contentDir": "site"})


def test_an_absent_content_dir_fails_at_preview_naming_the_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArgsError, match=rf"content_dir: 'public' is not a folder \({tmp_path / 'public'};"):
        resolve_args("www", {"content_dir": "public"})


def test_an_empty_content_dir_fails_at_preview_instead_of_deploying_an_empty_site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "public" / ".well-hidden").mkdir(parents=True)
    (tmp_path / "public" / ".DS_Store").write_text("x")
    with pytest.raises(ArgsError, match=rf"content_dir: 'public' has no files to upload \({tmp_path / 'public'};"):
        resolve_args("www", {"content_dir": "public"})


def test_content_dir_resolves_against_the_programs_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "public").mkdir()
    for page in ("index.html", "404.html"):
        (tmp_path / "public" / page).write_text("<p>mine</p>")
    resolved = resolve_args("www", {"content_dir": "public"})
    assert [(key, path) for key, path in resolved.files] == [("404.html", tmp_path / "public" / "404.html"),
                                                            ("index.html", tmp_path / "public" / "index.html")]


def test_analyzer_accepts_the_component():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([StaticSite])
    component = result["component_definitions"]["StaticSite"]
    assert [key for key, value in component.inputs.items() if not value.optional] == ["contentDir"]
    assert set(component.inputs) == {"contentDir", "indexDocument", "notFoundDocument", "htmlMaxAgeSeconds",
                                     "otherMaxAgeSeconds", "priceClass", "contentSecurityPolicy", "customDomain",
                                     "languages", "defaultLanguage", "invalidateChangedPages",
                                     "waf", "api", "usEast1Provider", "deletionProtection", "logRetentionDays"} \
        | ({"alarms"} & set(component.inputs))  # the alarm hooks, added beside these by the monitoring work
    assert component.inputs["usEast1Provider"].ref.endswith("pulumi:providers:aws")
    assert set(component.outputs) - {"dashboardName"} == {"url", "domainName", "distributionId", "bucketName",
                                                          "logBucketName", "webAclArn"}
    assert component.outputs["webAclArn"].optional and not component.outputs["url"].optional
    api = result["type_definitions"]["ApiOriginArgs"]
    assert {key for key, value in api.properties.items() if not value.optional} == {"domainName", "originPath",
                                                                                    "pathPattern"}
    header = result["type_definitions"]["OriginHeaderArgs"]
    assert {key for key, value in header.properties.items() if not value.optional} == {"name", "value"}
    assert "originHeader" in api.properties
    domain = result["type_definitions"]["SiteDomainArgs"]
    assert {key for key, value in domain.properties.items() if not value.optional} == {"domainName"}
    assert set(domain.properties) == {"domainName", "hostedZoneId", "www", "canonical"}


# --- the real stacks -------------------------------------------------------------------------------

def test_dev_stack_serves_the_blog_without_domain_or_waf(dev_stack):
    props = dev_stack.named("blog-site-cdn").props
    assert props["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "webAclId" not in props and props["priceClass"] == "PriceClass_100"
    assert sorted(o.props["key"] for o in dev_stack.of_type(OBJECT) if o.name.startswith("blog-site-file-")) == SITE_KEYS
    code = dev_stack.named("blog-site-viewer-request").props["code"]
    assert '"languages":["en","fr"]' in code and '"canonicalHost":""' in code  # no domain: nothing redirects


def test_prod_stack_serves_the_blog_on_its_domain_behind_waf(prod_stack):
    props = prod_stack.named("blog-site-cdn").props
    assert props["aliases"] == ["example.com", "www.example.com"] and props["priceClass"] == "PriceClass_200"
    code = prod_stack.named("blog-site-viewer-request").props["code"]
    assert '"canonicalHost":"example.com","redirectHosts":["www.example.com"]' in code
    assert props["webAclId"] == prod_stack.named("blog-site-waf").outputs["arn"]
    assert prod_stack.provider_of(prod_stack.named("blog-site-cert")).props["region"] == "us-east-1"


def test_both_stacks_serve_the_blog_api_under_api(dev_stack, prod_stack):
    for stack in (dev_stack, prod_stack):
        api = next(o for o in stack.named("blog-site-cdn").props["origins"] if o["originId"] == "api")
        (rest_api,) = [r.outputs["id"] for r in stack.of_type("aws:apigateway/restApi:RestApi")
                       if r.name == "blog-api-rest"]
        assert api["domainName"] == f"{rest_api}.execute-api.eu-west-1.amazonaws.com"
        assert api["originPath"] == "/v1"


def test_stacks_export_the_blog_url(dev_stack, prod_stack):
    assert prod_stack.exports["blog"]["url"] == "https://example.com"
    assert dev_stack.exports["blog"]["url"].endswith(".cloudfront.net")


# --- config (blog.site) ----------------------------------------------------------------------------

BLOG_EMAIL = {"identity": "blog@example.com"}
PROD_TABLE = {"replicaRegions": ["us-east-1", "ap-southeast-2"]}


def parse(blog: dict, env: str = "dev", region: str = "eu-west-1") -> stack_config.StackSettings:
    section = {"enabled": True, "email": BLOG_EMAIL, **({"table": PROD_TABLE} if env == "prod" else {}), **blog}
    section["site"] = {"contentDir": "site", "languages": LANGUAGES, **section.get("site", {})}
    return stack_config.parse({"environment": env, "blog": section}, region)


def test_config_site_is_the_components_args_plus_the_stacks_protection():
    settings = parse({"site": {"contentDir": "site", "priceClass": "PriceClass_200", "htmlMaxAgeSeconds": 60,
                               "waf": {"enabled": False}}})
    assert settings.blog["site"] == {"content_dir": "site", "languages": LANGUAGES, "price_class": "PriceClass_200",
                                     "html_max_age_seconds": 60, "waf": None, "deletion_protection": False,
                                     "log_retention_days": settings.log_retention_days}  # the WAF log group's
    prod = parse({"site": {"contentDir": "site"}}, env="prod")
    assert prod.blog["site"] == {"content_dir": "site", "languages": LANGUAGES, "deletion_protection": True,
                                 "log_retention_days": prod.log_retention_days}


def test_stack_yaml_turns_waf_on_in_prod_only():
    from offline.harness import read_stack_config

    prod = read_stack_config("prod")["serverless-blueprints:blog"]["site"]
    dev = read_stack_config("dev")["serverless-blueprints:blog"]["site"]
    assert prod["waf"] == {"enabled": True, "rateLimit": 1000} and dev["waf"] == {"enabled": False}


def test_config_passes_the_custom_domain_and_main_points_cors_at_its_canonical_name(prod_stack):
    args = parse({"site": {"customDomain": {"domainName": "myblog.com", "hostedZoneId": ZONE, "www": True,
                                            "canonical": "www"},
                           "languages": ["en", "fr"], "defaultLanguage": "fr", "waf": {"enabled": True}}}).blog["site"]
    assert args["custom_domain"] == {"domain_name": "myblog.com", "hosted_zone_id": ZONE, "www": True,
                                     "canonical": "www"}
    assert args["languages"] == ["en", "fr"] and args["default_language"] == "fr"
    assert args["waf"] == {}
    variables = prod_stack.named("blog-api-handler-fn").props["environment"]["variables"]
    assert variables["CORS_ALLOW_ORIGIN"] == "https://example.com"  # prod's canonical name: the apex


@pytest.mark.parametrize("site, message", [
    ({"priceClass": "PriceClass_1"}, r"blog.site.priceClass: 'PriceClass_1' is not allowed; allowed values: "
                                     r"PriceClass_100, PriceClass_200, PriceClass_All"),
    ({"waf": {"enabled": True, "rateLimit": 50}}, r"blog.site.waf.rateLimit: 50 is out of range; allowed 100"),
    ({"waf": {"enabled": False, "rateLimit": 500}}, r"blog.site.waf.rateLimit: belongs to .*blog.site.waf, which is "
                                                    r"disabled"),
    ({"customDomain": {"hostedZoneId": ZONE}}, r"blog.site.customDomain.domainName: required"),
    ({"contentDir": None}, r"blog.site.contentDir: expected a folder such as site, got None"),
    ({"customDomain": {"domainName": "not a host"}}, r"blog.site.customDomain.domainName: expected a hostname"),
    ({"customDomain": {"domainName": "blog.example.com", "hostedZoneId": "zone-1"}},
     r"blog.site.customDomain.hostedZoneId: expected a Route 53 hosted zone id"),
    ({"htmlMaxAgeSeconds": 86400}, r"blog.site.htmlMaxAgeSeconds: 86400 is out of range; allowed 0 to 3600"),
    ({"contentDir": "../elsewhere"}, r"blog.site.contentDir: expected a folder of the project"),
    ({"contentDir": "no-such-folder"}, r"blog.site.contentDir: 'no-such-folder' is not a folder"),
    ({"colour": "blue"}, r"blog.site.colour: unknown key"),
    ({"customDomain": {"domainName": "myblog.com", "canonical": "www"}},
     r"blog.site.customDomain.canonical: 'www' needs www: true"),
    ({"customDomain": {"domainName": "myblog.com", "www": True, "canonical": "naked"}},
     r"blog.site.customDomain.canonical: 'naked' is not allowed; allowed values: apex, www"),
    ({"languages": ["en", "de"]}, r"blog.site.languages: 'de' has no de/index.html in content"),
    ({"defaultLanguage": "es"}, r"blog.site.defaultLanguage: 'es' is not one of languages"),
])
def test_config_rejects_bad_site_settings_naming_the_key(site, message):
    with pytest.raises(stack_config.ConfigError, match=message):
        parse({"site": site})


def test_config_refuses_an_unknown_blog_part():
    with pytest.raises(stack_config.ConfigError, match=r"blog.website: unknown key; known keys here: api, "
                                                       r"(authoring, )?email, enabled, site, table"):
        parse({"website": {}})


def test_config_blog_needs_the_sites_content():
    with pytest.raises(stack_config.ConfigError, match=r"blog.site.contentDir: required"):
        stack_config.parse({"environment": "dev", "blog": {"enabled": True, "email": BLOG_EMAIL}}, "eu-west-1")


def test_config_blog_parts_cannot_be_disabled_alone():
    with pytest.raises(stack_config.ConfigError, match=r"blog.site.enabled: the blog needs its site section"):
        stack_config.parse({"environment": "dev", "blog": {"enabled": True, "site": {"enabled": False},
                                                           "email": BLOG_EMAIL}}, "eu-west-1")


def test_cloudfront_log_bucket_expires_old_logs(prod_stack):
    from serverless_blueprints import defaults
    rules = {r["id"]: r for r in prod_stack.named("blog-site-logs-lifecycle").props["rules"]}
    assert rules["expire-current-objects"]["expiration"] == {"days": defaults.ACCESS_LOG_EXPIRATION_DAYS}
