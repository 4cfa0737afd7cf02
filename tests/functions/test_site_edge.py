"""StaticSite's viewer-request CloudFront Function, run with Node against CloudFront's event shape.

The code under test is what StaticSite deploys: `viewer_request_code` renders the template in
functions/site_edge/ with a site's settings, and the component test checks the function resource holds
exactly that rendering. Node stands in for the cloudfront-js-2.0 runtime (the code keeps to what both run).
"""
import json
import shutil
import subprocess

import pytest

from serverless_blueprints.static_site import (CLOUDFRONT_FUNCTION_MAX_BYTES, MAX_LANGUAGES,
                                               VIEWER_REQUEST_CONFIG_MARKER, viewer_request_code)

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js (`node`) to run the CloudFront Function: "
                                                     "apt-get install nodejs (tests/services/services.sh does)")
# Loads the function into a fresh context (no require, no process: a CloudFront Function has neither) and
# runs its handler on each event.
RUNNER = """
const vm = require('vm');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const context = vm.createContext({console: console});
vm.runInContext(input.code, context);
const results = input.events.map((event) => context.handler(event));
process.stdout.write(JSON.stringify(results));
"""
BLOG = {"languages": ["en", "fr"], "default_language": "en", "canonical_host": "myblog.com",
        "redirect_hosts": ["www.myblog.com"]}


def viewer_request(uri: str, *, host: str = "myblog.com", headers: dict[str, str] | None = None,
                   cookies: dict[str, str] | None = None, querystring: dict | None = None) -> dict:
    """A viewer-request event as CloudFront passes it (lowercase header names, {value} objects)."""
    return {
        "version": "1.0",
        "context": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "viewer-request", "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="},
        "viewer": {"ip": "198.51.100.11"},
        "request": {"method": "GET", "uri": uri, "querystring": querystring or {},
                    "headers": {"host": {"value": host}, **{k: {"value": v} for k, v in (headers or {}).items()}},
                    "cookies": {k: {"value": v} for k, v in (cookies or {}).items()}},
    }


def run(events: list[dict], **settings) -> list[dict]:
    code = viewer_request_code(**settings)
    result = subprocess.run([NODE, "-e", RUNNER], input=json.dumps({"code": code, "events": events}),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def uri_for(uri: str, settings: dict = BLOG, **request) -> str:
    (out,) = run([viewer_request(uri, **request)], **settings)
    assert "statusCode" not in out, out
    return out["uri"]


# --- language ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cookies, accept_language, expected", [
    ({"lang": "fr"}, "en-GB,en;q=0.9", "/fr/posts/x/index.html"),        # the cookie wins over the header
    ({"lang": "FR"}, None, "/fr/posts/x/index.html"),                    # normalised
    ({"lang": "fr-CA"}, None, "/fr/posts/x/index.html"),
    ({"lang": "de"}, "fr", "/fr/posts/x/index.html"),                     # unsupported cookie: the header decides
    ({"lang": ""}, None, "/en/posts/x/index.html"),
    ({}, "fr-CA,fr;q=0.9,en;q=0.8", "/fr/posts/x/index.html"),
    ({}, "en;q=0.5, fr;q=0.8", "/fr/posts/x/index.html"),                 # highest q, not first listed
    ({}, "fr;q=0, en;q=0.1", "/en/posts/x/index.html"),                   # q=0: not acceptable
    ({}, "fr;q=0.8, en;q=0.8", "/fr/posts/x/index.html"),                 # a tie: the first listed
    ({}, "de-DE,it;q=0.9", "/en/posts/x/index.html"),                     # nothing supported: the default
    ({}, "*", "/en/posts/x/index.html"),
    ({}, "fr;q=banana, en;q=0.2", "/en/posts/x/index.html"),              # a malformed q counts as 0
    ({}, "fr;q=1.5", "/en/posts/x/index.html"),
    ({}, "FR_fr", "/fr/posts/x/index.html"),
    ({}, None, "/en/posts/x/index.html"),                                 # no header at all
])
def test_language_comes_from_the_cookie_else_accept_language_else_the_default(cookies, accept_language, expected):
    headers = {"accept-language": accept_language} if accept_language is not None else {}
    assert uri_for("/posts/x/", cookies=cookies, headers=headers) == expected


@pytest.mark.parametrize("uri, expected", [
    ("/fr/posts/x/", "/fr/posts/x/index.html"),
    ("/fr/", "/fr/index.html"),
    ("/fr", "/fr/index.html"),
    ("/en/posts/x/index.html", "/en/posts/x/index.html"),
    ("/de/", "/en/de/index.html"),               # not a language of the site: an ordinary path
    ("/french/", "/en/french/index.html"),
])
def test_a_path_that_already_carries_a_language_keeps_it(uri, expected):
    assert uri_for(uri, cookies={"lang": "en"}) == expected  # the path wins over the cookie


@pytest.mark.parametrize("uri, expected", [
    ("/", "/fr/index.html"),
    ("/index.html", "/fr/index.html"),
    ("/posts/x", "/fr/posts/x"),                 # a page without its slash: still a page
    ("/robots.txt", "/robots.txt"),              # files other than pages are the same in every language
    ("/feed.xml", "/feed.xml"),
    ("/assets/site.ac83985c.css", "/assets/site.ac83985c.css"),
])
def test_only_pages_are_routed_by_language(uri, expected):
    assert uri_for(uri, headers={"accept-language": "fr"}) == expected


def test_a_very_long_accept_language_is_read_only_in_part():
    header = ",".join(["de"] * 20 + ["fr"])  # fr is the 21st range: past the 16 read
    assert uri_for("/", headers={"accept-language": header}) == "/en/index.html"


def test_the_rewritten_uri_is_the_only_thing_that_varies_so_the_cache_key_holds_just_the_language():
    variants = [({"lang": "fr"}, {}), ({}, {"accept-language": "fr-FR,fr;q=0.9"}),
                ({}, {"accept-language": "fr-CA;q=0.7,en;q=0.3"}), ({"lang": "FR"}, {"accept-language": "de"})]
    events = [viewer_request("/posts/x/", cookies=c, headers=h) for c, h in variants]
    results = run(events, **BLOG)
    assert {r["uri"] for r in results} == {"/fr/posts/x/index.html"}
    # The request goes on as it came (cookies and headers untouched): the cache policy keeps them out of the key.
    assert [r["cookies"] for r in results] == [e["request"]["cookies"] for e in events]


# --- canonical host ----------------------------------------------------------------------------------

def test_the_other_name_redirects_permanently_to_the_canonical_one_keeping_path_and_query():
    querystring = {"utm_source": {"value": "feed"}, "tag": {"value": "a", "multiValue": [{"value": "a"}, {"value": "b"}]},
                   "flag": {"value": ""}}
    (out,) = run([viewer_request("/posts/x/", host="www.myblog.com", querystring=querystring,
                                 headers={"accept-language": "fr"})], **BLOG)
    assert out["statusCode"] == 301 and out["statusDescription"] == "Moved Permanently"
    assert out["headers"]["location"]["value"] == "https://myblog.com/posts/x/?utm_source=feed&tag=a&tag=b&flag"


def test_the_redirect_comes_before_the_language_so_the_canonical_host_chooses_it():
    (out,) = run([viewer_request("/", host="WWW.MYBLOG.COM", cookies={"lang": "fr"})], **BLOG)
    assert out["headers"]["location"]["value"] == "https://myblog.com/"


def test_www_can_be_the_canonical_name():
    settings = {**BLOG, "canonical_host": "www.myblog.com", "redirect_hosts": ["myblog.com"]}
    (out,) = run([viewer_request("/fr/", host="myblog.com")], **settings)
    assert out["headers"]["location"]["value"] == "https://www.myblog.com/fr/"
    assert uri_for("/fr/", settings, host="www.myblog.com") == "/fr/index.html"


@pytest.mark.parametrize("host", ["myblog.com", "d111111abcdef8.cloudfront.net", ""])
def test_the_canonical_name_and_the_cloudfront_name_are_served_without_a_redirect(host):
    assert uri_for("/", host=host, headers={"accept-language": "en"}) == "/en/index.html"


def test_without_a_custom_domain_nothing_redirects():
    dev = {"languages": ["en", "fr"], "default_language": "en"}
    assert uri_for("/posts/x/", dev, host="www.myblog.com") == "/en/posts/x/index.html"


# --- a site without languages: the directory index only (the function's first job) --------------------

@pytest.mark.parametrize("uri, expected", [
    ("/", "/index.html"),
    ("/posts/hello-cloudfront/", "/posts/hello-cloudfront/index.html"),
    ("/assets/site.ac83985c.css", "/assets/site.ac83985c.css"),
    ("/404.html", "/404.html"),
])
def test_without_languages_directory_urls_get_their_index_document(uri, expected):
    assert uri_for(uri, {}, headers={"accept-language": "fr"}, cookies={"lang": "fr"}) == expected


def test_the_index_document_comes_from_the_site():
    assert uri_for("/docs/", {"index_document": "default.htm"}) == "/docs/default.htm"


# --- the code itself -----------------------------------------------------------------------------------

def test_the_settings_replace_the_one_marker():
    code = viewer_request_code(**BLOG)
    assert VIEWER_REQUEST_CONFIG_MARKER not in code
    assert '"languages":["en","fr"]' in code and '"canonicalHost":"myblog.com"' in code


def test_the_largest_allowed_configuration_stays_under_cloudfronts_10_kb_code_limit():
    host = "a" * 60 + "." + "b" * 60 + "." + "example.com"
    code = viewer_request_code(languages=[f"l{i:02d}" for i in range(MAX_LANGUAGES)], default_language="l00",
                               canonical_host=host, redirect_hosts=["www." + host], index_document="x" * 200)
    assert len(code.encode()) <= CLOUDFRONT_FUNCTION_MAX_BYTES
