"""Hardening of what API Gateway and Cognito share beyond one API: redeployments, the account's logging
setting, user pool email, and the example values of a stack template.

- A stage serves a snapshot (its Deployment): gateway responses and authorizers changed without a new
  deployment are not served. Our deployments name each kind of redeploy-requiring input under its own
  key of `triggers` (components/rest_api.py REDEPLOY_TRIGGERS), so a rule can see what they cover.
- `aws.apigateway.Account` is one setting per account and region; deleting it resets it for every
  stack there. CrossGuard's resource options don't carry retainOnDelete, so SB-APIGW-021 can only judge
  what the offline harness records (it stays silent under `pulumi preview --policy-pack`).
"""
from __future__ import annotations

import re
from typing import Any

from . import tokens
from .model import Resource, environment_of, get, is_known, is_unknown
from .registry import ADVISORY, MANDATORY_IN_PROD, resource_rule, stack_rule
from .stack import Stack

GATEWAY_RESPONSE = "aws:apigateway/response:Response"
TRIGGER_FOR = {GATEWAY_RESPONSE: "gatewayResponses", tokens.AUTHORIZER: "authorizer"}
"""The deployment trigger key that must cover each kind of resource (as components/rest_api.py names them)."""


def _api_id(stack: Stack, resource: Resource) -> Any:
    """The RestApi a resource belongs to (Responses name it `restApiId`, the others `restApi`)."""
    prop = "restApiId" if resource.resource_type == GATEWAY_RESPONSE else "restApi"
    api = stack.resolve_one(resource, prop, get(resource.props, prop), tokens.REST_API)
    return api if api is not None else get(resource.props, prop)


@stack_rule(
    "SB-APIGW-020",
    description="A deployment's triggers cover its API's gateway responses and authorizers, so a change to them is served.",
    remediation='Add triggers={"gatewayResponses": <hash of every Response\'s inputs>, "authorizer": <hash of the authorizer\'s type, identity source and provider ARNs>, ...} to the aws.apigateway.Deployment (LambdaRestApi does).',
)
def triggers_cover_responses_and_authorizers(stack: Stack):
    for deployment in stack.of_type(tokens.DEPLOYMENT):
        api = _api_id(stack, deployment)
        if api is None or is_unknown(api):
            continue
        triggers = get(deployment.props, "triggers")
        if is_unknown(triggers):
            continue
        triggers = triggers if isinstance(triggers, dict) else {}
        for resource_type, key in TRIGGER_FOR.items():
            covered = [r for r in stack.of_type(resource_type) if _api_id(stack, r) is api or (
                is_known(api) and _api_id(stack, r) == api)]
            if covered and not (key in triggers and triggers[key] not in (None, "")):
                names = ", ".join(sorted(r.name for r in covered))
                yield deployment, (f"triggers have no {key!r} entry, so changes to {names} are not redeployed "
                                   f"(the stage keeps serving the old ones)")


@stack_rule(
    "SB-APIGW-021",
    description="The API Gateway account setting (CloudWatch role) is retained on delete: deleting it resets logging for every stack of the account and region.",
    remediation="Manage aws.apigateway.Account (and its role) in exactly one stack per account and region, with ResourceOptions(retain_on_delete=True); other stacks only assume it exists.",
)
def api_account_retained(stack: Stack):
    for account in stack.of_type(tokens.API_ACCOUNT):
        retained = getattr(account.opts, "retain_on_delete", None)
        if retained is False:
            yield account, "not retained on delete: destroying this stack resets the account's API Gateway logging"


@resource_rule(
    "SB-COGNITO-010", tokens.USER_POOL,
    description="User pools send through your SES identity, not Cognito's built-in email, whose daily cap stops sign-ups.",
    remediation='Set email_configuration={"email_sending_account": "DEVELOPER", "source_arn": <verified SES identity ARN>, "from_email_address": ...} and move the SES account out of the sandbox.',
    # Every component that creates a pool takes an `email` arg, and stack_config requires it in prod. Dev pools
    # may keep Cognito's email: a dev account's SES is usually still in the sandbox.
    level=MANDATORY_IN_PROD,
)
def user_pool_sends_through_ses(pool: Resource):
    config = get(pool.props, "emailConfiguration")
    if is_unknown(config):
        return
    account = get(config, "emailSendingAccount") if config is not None else None
    if is_unknown(account):
        return
    if account != "DEVELOPER":
        yield f"email sending account is {account or 'COGNITO_DEFAULT (default)'}"
    elif get(config, "sourceArn") is None:
        yield "DEVELOPER email without a sourceArn (SES identity)"


# Example values that can never be real: RFC 2606 domains and the example Route 53 zone id of the
# templates. (AWS's example account id isn't checked here: offline, the mocks use it for every ARN;
# stack_config refuses it, with the other placeholders, before a real preview gets this far.)
PLACEHOLDER_VALUES = (
    (re.compile(r"(^|[.@<:/\s])example\.(com|net|org)\b", re.IGNORECASE), "an example.com domain"),
    (re.compile(r"^Z0123456789EXAMPLE$"), "the example Route 53 zone id"),
)


def _placeholders(value: Any, path: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, f"{path}[{index}]")
    elif isinstance(value, str) and not is_unknown(value):
        for pattern, what in PLACEHOLDER_VALUES:
            if pattern.search(value):
                yield path, value, what
                return


@stack_rule(
    "SB-CONFIG-001",
    description="A prod stack carries no example placeholder (example.com domains, Z0123456789EXAMPLE): the committed template's values.",
    remediation="Set your own values in Pulumi.prod.yaml (`pulumi config set --path ...`); `pulumi preview` of prod refuses the placeholders and lists each key with what to set.",
    level=ADVISORY,
)
def no_placeholders_in_prod(stack: Stack):
    """One finding per kind of example value, on the first resource that carries it, with how many more do."""
    seen: dict[str, list] = {}
    for resource in stack.resources:
        if environment_of(resource, None) != "prod" or resource.resource_type.startswith("pulumi:"):
            continue
        for path, value, what in _placeholders(resource.props):
            seen.setdefault(what, [resource, path, value, 0])[3] += 1
    for what, (resource, path, value, count) in seen.items():
        shown = value if len(value) <= 60 else value[:57] + "..."
        elsewhere = f", and {count - 1} more resource inputs" if count > 1 else ""
        yield resource, f"{path} is {what} ({shown!r}){elsewhere}"
