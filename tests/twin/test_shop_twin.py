"""CartService joins the twin: cart_api from its real artifacts in python3.13, on a real redis-server (TLS,
AUTH token from the twin's Secrets Manager), pricing from the catalog app under uvicorn, refreshed by the
catalog table's stream through the stack's mapping; every AWS call judged against the deployed role, and
every call to the AWS_IAM cart API judged against the role that signed it (checkout's instance role)."""
from __future__ import annotations

import pytest

from offline.harness import ACCOUNT_ID
from twin.arns import Requirement
from twin.permissions import judge_for_role
from twin.report import PASS, TwinReport
from twin.scenarios import SCENARIOS, ScenarioRun, ScenarioSpec, run_stack
from twin.scenarios_shop import role_credentials, signed_headers

SHOP = tuple(s for s in SCENARIOS if s.component_type.endswith(":CartService"))
ROLE = "aws:iam/role:Role"


def another_functions_role_calls_cart(run: ScenarioRun) -> None:
    """cart_api's own role signs a call to the cart API: a recorded role without execute-api:Invoke on it."""
    twin = run.twin
    api = twin.api_under(run.component)
    function = next(f for f in twin.under(run.component, "aws:lambda/function:Function"))
    (role,) = [r for r in twin.snapshot.of_type(ROLE) if r.outputs["arn"] == function.props["role"]]
    credentials = role_credentials(twin.plane, role, "not-checkout")
    answer = api.request("POST", "/carts", headers=signed_headers(api, credentials, "POST", "/carts", {}), body={})
    run.check("403 AccessDeniedException before the function runs", answer.status == 403
              and answer.headers.get("x-amzn-ErrorType") == "AccessDeniedException" and answer.invocation is None,
              f"{answer.status} {answer.headers} {answer.body}")


INTRUDER = ScenarioSpec("cart intruder", SHOP[0].component_type, another_functions_role_calls_cart)


@pytest.fixture(scope="module")
def dev_report(dev_stack, python313) -> TwinReport:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian package `redis-server`)")
    return run_stack("dev", snapshot=dev_stack, scenarios=SHOP + (INTRUDER,))


def test_cart_scenario_passes_with_no_denied_call(dev_report):
    (cart,) = [s for s in dev_report.scenarios if s.name == "shop cart"]
    assert cart.status == PASS, [c for c in cart.checks if not c.ok] or cart.error
    assert cart.denied == [] and cart.unjudged == []


def test_checkout_instance_role_signs_every_cart_call_and_is_allowed(dev_report):
    (cart,) = [s for s in dev_report.scenarios if s.name == "shop cart"]
    checks = {c.name: c.ok for c in cart.checks}
    assert checks["the stack has checkout's instance role, the cart API's caller"]
    assert checks["create a cart: 201"] and checks["a deleted cart is gone: 404"]


def test_unsigned_and_tampered_calls_are_refused_before_cart_runs(dev_report):
    (cart,) = [s for s in dev_report.scenarios if s.name == "shop cart"]
    checks = {c.name: c.ok for c in cart.checks}
    assert checks["unsigned call on the AWS_IAM API: 403 before the function runs"]
    assert checks["a body other than the signed one: 403 (signature mismatch) before the function runs"]


def test_a_role_without_the_grant_is_denied_and_reported(dev_report):
    (intruder,) = [s for s in dev_report.scenarios if s.name == "cart intruder"]
    assert intruder.status == PASS, [c for c in intruder.checks if not c.ok] or intruder.error
    assert intruder.functions == []
    (denied,) = intruder.denied
    assert denied.startswith("cart-api-role: execute-api:Invoke on arn:aws:execute-api:") and "/POST/carts" in denied
    assert f"denied: {denied}" in dev_report.failures and "dev: FAIL" in dev_report.render()


def test_cart_function_is_invoked_and_reads_its_auth_token_as_deployed(dev_report):
    (cart,) = [s for s in dev_report.scenarios if s.name == "shop cart"]
    function = cart.functions[0]  # the API's function, invoked first
    assert function.startswith("cart-api")
    assert "secretsmanager:GetSecretValue" not in dev_report.unused_grants[function]


def test_the_catalog_stream_mapping_delivers_price_changes_to_the_cart(dev_report):
    (mapping,) = [m for m in dev_report.mappings if m.name == "cart-catalog-stream"]
    assert mapping.invocations >= 1 and mapping.filtered_out >= 1  # INSERTs are filtered out


def test_the_report_says_what_stands_in_for_elasticache_and_the_catalog_container(dev_report):
    notes = "\n".join(dev_report.notes)
    assert "local redis-server" in notes and "catalog_app" in notes


# -- the decision itself, on the recorded dev stack (no twin run) --------------------------------------

def _invoke(dev_stack, role, vpc_endpoint: str | None) -> object:
    (api,) = [a for a in dev_stack.of_type("aws:apigateway/restApi:RestApi") if a.name == "cart-rest"]
    resource = f"arn:aws:execute-api:{api.region or 'us-east-1'}:{ACCOUNT_ID}:{api.outputs['id']}/v1/POST/carts"
    context = {"aws:sourcevpce": (vpc_endpoint,)} if vpc_endpoint else {}
    return judge_for_role(dev_stack, role).decide(
        Requirement("execute-api:Invoke", resource, context, frozenset({"aws:sourcevpce"})))


def test_checkout_role_may_invoke_cart_only_through_the_vpc_endpoint(dev_stack):
    (checkout,) = [r for r in dev_stack.of_type(ROLE) if r.name == "checkout-instance"]
    (api,) = [a for a in dev_stack.of_type("aws:apigateway/restApi:RestApi") if a.name == "cart-rest"]
    (endpoint,) = api.props["endpointConfiguration"]["vpcEndpointIds"]
    assert _invoke(dev_stack, checkout, endpoint).allowed
    outside = _invoke(dev_stack, checkout, "vpce-somewhere-else")
    assert not outside.allowed and outside.explicit_deny.sid == "OnlyThroughTheVpcEndpoints"

