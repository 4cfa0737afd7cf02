"""The shop's cart scenario (`CartService`): the cart API as the stack wires it, on a real Redis, pricing
from the catalog app, and the catalog table's stream refreshing the price cache.

    twin, signing as checkout's instance role ──▶ cart API (AWS_IAM) ──▶ cart_api
        (SigV4, an STS session of the recorded role)   the signature is checked, and execute-api:Invoke judged
                                                       against the signing role
        cart_api ── TLS + AUTH (token from Secrets Manager) ──▶ local redis-server (twin/shop_processes.py)
        cart_api ── HTTP ──▶ catalog_app under uvicorn, on the twin's catalog table
    catalog price change ──▶ table stream ──▶ the stack's mapping (MODIFY/REMOVE) ──▶ cart_api: cache refreshed

catalog and checkout aren't functions: the catalog app runs here as the process cart calls; checkout's app
is covered by tests/services (real PostgreSQL), not by the twin. What the twin does take from checkout is its
instance role: the scenario signs with a moto STS session of that recorded role, as the instance profile's
credentials are a session of it, so the grant CheckoutService gives it (execute-api:Invoke on cart's routes)
is what lets the calls through.

Imports from `twin.scenarios` are made inside the functions: that module registers this one.
"""
from __future__ import annotations

import json
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from offline.harness import RecordedResource
from twin.lambda_service import HttpResponse, RestApiGateway
from twin.shop_processes import catalog_url
from twin.stack import DataPlane

if TYPE_CHECKING:
    from twin.scenarios import ScenarioRun

ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE = "aws:iam/role:Role"
CHECKOUT = "serverless-blueprints:index:CheckoutService"


def role_credentials(plane: DataPlane, role: RecordedResource, session: str) -> Credentials:
    """Credentials of a session of the recorded role, from the twin's STS (AssumeRole), as an instance
    profile hands its role's session to the instance. The twin's gateways know the caller by this key."""
    answer = plane.client("sts").assume_role(RoleArn=plane.names.twin(role.outputs["arn"]), RoleSessionName=session)
    issued = answer["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])


def checkout_instance_roles(run: ScenarioRun) -> list[RecordedResource]:
    """The roles of the stack's CheckoutService instances (EC2 trust): the callers the cart API is granted to."""
    twin = run.twin
    return [role for checkout in twin.snapshot.resources if checkout.resource_type == CHECKOUT
            for role in twin.under(checkout, ROLE)
            if "ec2.amazonaws.com" in json.dumps(role.props.get("assumeRolePolicy"))]


def signed_headers(api: RestApiGateway, credentials: Credentials, method: str, path: str,
                   body: Any = None) -> dict[str, str]:
    """SigV4 headers for execute-api, as checkout_app's cart client signs its calls."""
    data = json.dumps(body) if body is not None else None
    request = AWSRequest(method=method, url=f"{api.url}{path}", data=data,
                         headers={"Content-Type": "application/json"} if data else {})
    SigV4Auth(credentials, "execute-api", api.region).add_auth(request)
    return dict(request.headers.items())


def cart_scenario(run: ScenarioRun) -> None:
    twin, component = run.twin, run.component
    api = twin.api_under(component)
    function = next(f for f in twin.under(component, "aws:lambda/function:Function"))
    catalog = catalog_url(twin.plane, function) or ""
    run.require("the catalog app answers for cart (CATALOG_URL)", catalog, twin.plane.notes)
    callers = checkout_instance_roles(run)
    run.require("the stack has checkout's instance role, the cart API's caller", len(callers) == 1,
                [r.name for r in callers])
    checkout = role_credentials(twin.plane, callers[0], "checkout-instance")

    def call(method: str, path: str, body: Any = None) -> HttpResponse:
        return api.request(method, path, headers=signed_headers(api, checkout, method, path, body), body=body)

    press, beans = f"press-{uuid.uuid4().hex[:8]}", f"beans-{uuid.uuid4().hex[:8]}"
    _put_product(catalog, press, "French press", 2990)
    _put_product(catalog, beans, "Beans 1kg", 1850)

    unsigned = api.request("POST", "/carts")
    run.check("unsigned call on the AWS_IAM API: 403 before the function runs",
              unsigned.status == 403 and unsigned.invocation is None, f"{unsigned.status} {unsigned.body[:120]}")
    tampered = api.request("POST", "/carts", headers=signed_headers(api, checkout, "POST", "/carts", {}),
                           body={"note": "not what was signed"})
    run.check("a body other than the signed one: 403 (signature mismatch) before the function runs",
              tampered.status == 403 and tampered.invocation is None, f"{tampered.status} {tampered.body[:120]}")
    created = call("POST", "/carts", {})  # the API's body model asks every POST for a JSON object
    run.require("create a cart: 201", created.status == 201, created.describe())
    cart_id = created.json()["cartId"]
    added = call("POST", f"/carts/{cart_id}/items", {"sku": press, "quantity": 1})
    run.check("add a line: priced by catalog", added.status == 200 and added.json()["totalCents"] == 2990,
              added.describe())
    set_beans = call("PUT", f"/carts/{cart_id}/items/{beans}", {"quantity": 2})
    run.check("set a line's quantity: the total adds up", set_beans.status == 200
              and set_beans.json()["totalCents"] == 2990 + 2 * 1850, set_beans.describe())

    mark = run.ledger_mark()
    _put_product(catalog, beans, "Beans 1kg", 1500)
    twin.service.pump()
    refreshed = [i for i in run.invoked_since(mark) if i.source.startswith("esm:") and not i.failed]
    run.check("the price change reaches cart_api through the catalog table's stream", refreshed,
              sorted({i.source for i in run.invoked_since(mark)}))
    again = call("GET", f"/carts/{cart_id}")
    run.check("the cart shows the new price (cache refreshed from the stream, not waiting for the TTL)",
              again.status == 200 and again.json()["totalCents"] == 2990 + 2 * 1500, again.describe())

    quote = call("POST", "/quotes", {"items": [{"sku": press, "quantity": 2}, {"sku": "no-such-sku", "quantity": 1}]})
    run.check("a quote prices known items and names the unknown one", quote.status == 200
              and quote.json()["totalCents"] == 2 * 2990 and quote.json()["unavailable"] == ["no-such-sku"],
              quote.describe())
    bad = call("POST", f"/carts/{cart_id}/items", {"sku": press, "quantity": 0})
    run.check("a malformed line: 4xx JSON, no 5xx", 400 <= bad.status < 500 and bad.json() is not None,
              bad.describe())
    deleted = call("DELETE", f"/carts/{cart_id}")
    gone = call("GET", f"/carts/{cart_id}")
    run.check("a deleted cart is gone: 404", deleted.status in (200, 204) and gone.status == 404, gone.describe())
    mappings = [m for m in twin.snapshot.descendants_of(component.urn) if m.resource_type == ESM]
    run.check("the catalog stream mapping is the stack's (MODIFY/REMOVE filter)", len(mappings) == 1
              and "MODIFY" in json.dumps(mappings[0].props.get("filterCriteria")), mappings)


def _put_product(catalog: str, sku: str, name: str, price_cents: int) -> None:
    body = json.dumps({"name": name, "priceCents": price_cents, "currency": "EUR"}).encode()
    request = urllib.request.Request(f"{catalog}/products/{sku}", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status not in (200, 201):
            raise RuntimeError(f"catalog PUT /products/{sku}: {answer.status}")
