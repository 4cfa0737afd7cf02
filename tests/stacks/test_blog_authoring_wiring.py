"""The blog's authoring API in the real stacks: it writes the table BlogApi reads, and may invalidate the
blog site's distribution only, on the paths of that site's post pages."""
import json

import pytest

from offline.harness import read_stack_config
from tests.conftest import statements_of

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


@pytest.fixture(params=["dev_stack", "prod_stack"])
def stack(request):
    return request.getfixturevalue(request.param)


def _variables(stack, name: str) -> dict:
    return stack.named(name).props["environment"]["variables"]


def test_authoring_writes_the_table_the_public_api_reads(stack):
    authoring = _variables(stack, "blog-authoring-handler-fn")
    assert authoring["TABLE_NAME"] == _variables(stack, "blog-api-handler-fn")["TABLE_NAME"]


def test_authoring_invalidates_the_blog_sites_distribution_only(stack):
    distribution_id = _variables(stack, "blog-authoring-handler-fn")["DISTRIBUTION_ID"]
    (site,) = [d for d in stack.of_type(DISTRIBUTION) if d.outputs["id"] == distribution_id]
    assert "blog-site" in site.urn
    (invalidate,) = [s for s in statements_of(stack.named("blog-authoring-handler-policy"))
                     if "cloudfront:CreateInvalidation" in s["Action"]]
    assert invalidate["Resource"] == [site.outputs["arn"]]


def test_the_post_page_paths_follow_the_sites_languages(stack):
    languages = read_stack_config(stack.stack)["serverless-blueprints:blog"]["site"].get("languages", [])
    paths = json.loads(_variables(stack, "blog-authoring-handler-fn")["INVALIDATION_PATHS"])
    assert paths == ["/api/posts*", "/posts/{slug}/*", *(f"/{language}/posts/{{slug}}/*" for language in languages)]


def test_the_stack_exports_the_authoring_entry_points(stack):
    exported = stack.exports["blogAuthoring"]
    assert set(exported) == {"apiUrl", "userPoolId", "userPoolClientId", "authorsGroup"}
    assert exported["authorsGroup"] == "authors"


def test_prod_flushes_the_blog_apis_stage_cache_and_dev_has_none_to_flush(stack):
    """Prod's BlogApi caches the post GETs: a publish flushes exactly that stage; dev has no cache, no grant."""
    authoring = _variables(stack, "blog-authoring-handler-fn")
    flushes = [s for s in statements_of(stack.named("blog-authoring-handler-policy"))
               if any(a.startswith("apigateway:") for a in s["Action"])]
    (stage,) = [s for s in stack.of_type("aws:apigateway/stage:Stage") if s.name.startswith("blog-api-")]
    if stage.props.get("cacheClusterEnabled"):
        api_id, region = stage.props["restApi"], stack.named("blog-api-handler-fn").region or "us-east-1"
        assert (authoring["PUBLIC_API_ID"], authoring["PUBLIC_API_STAGE"]) == (api_id, stage.props["stageName"])
        assert [(s["Action"], s["Resource"]) for s in flushes] == [(["apigateway:DELETE"], [
            f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage.props['stageName']}/cache/data"])]
    else:
        assert flushes == [] and "PUBLIC_API_ID" not in authoring
    assert bool(stage.props.get("cacheClusterEnabled")) is (stack.stack == "prod")
