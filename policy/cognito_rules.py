"""Cognito user pools and identity pools."""
from __future__ import annotations

from . import tokens
from .documents import condition_values, principal_values, statements
from .model import Resource, get, is_known, is_unknown
from .registry import MANDATORY_IN_PROD, resource_rule

MIN_PASSWORD_LENGTH = 8
PASSWORD_REQUIREMENTS = ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols")
COGNITO_IDENTITY = "cognito-identity.amazonaws.com"


@resource_rule(
    "SB-COGNITO-001", tokens.USER_POOL,
    description="User pools set a password policy: 8+ characters with upper, lower, digit and symbol.",
    remediation='Set password_policy={"minimum_length": 12, "require_lowercase": True, "require_uppercase": True, "require_numbers": True, "require_symbols": True}.',
)
def password_policy(pool: Resource):
    policy = get(pool.props, "passwordPolicy")
    if policy is None:
        yield "no password policy"
        return
    if is_unknown(policy):
        return
    length = get(policy, "minimumLength")
    if length is None or (is_known(length) and length < MIN_PASSWORD_LENGTH):
        yield f"minimumLength is {length} (< {MIN_PASSWORD_LENGTH})"
    missing = [r for r in PASSWORD_REQUIREMENTS if not is_unknown(get(policy, r)) and get(policy, r) is not True]
    if missing:
        yield f"password policy doesn't set {', '.join(missing)}"


@resource_rule(
    "SB-COGNITO-002", tokens.IDENTITY_POOL, tokens.IDENTITY_POOL_ROLE_ATTACHMENT,
    description="Identity pools give no credentials to unauthenticated identities.",
    remediation="Set allow_unauthenticated_identities=False and attach only an \"authenticated\" role.",
)
def no_unauthenticated_identities(resource: Resource):
    if resource.resource_type == tokens.IDENTITY_POOL:
        if get(resource.props, "allowUnauthenticatedIdentities") is True:
            yield "allowUnauthenticatedIdentities is true"
        return
    roles = get(resource.props, "roles")
    if isinstance(roles, dict) and "unauthenticated" in roles:
        yield "an unauthenticated role is attached"


@resource_rule(
    "SB-COGNITO-003", tokens.ROLE,
    description="A role assumed through Cognito identity pools is scoped to the pool (aud) and to authenticated users (amr).",
    remediation='Trust Federated cognito-identity.amazonaws.com with Condition StringEquals "cognito-identity.amazonaws.com:aud": <pool id> and ForAnyValue:StringLike "cognito-identity.amazonaws.com:amr": "authenticated".',
)
def scoped_identity_pool_trust(role: Resource):
    for statement in statements(get(role.props, "assumeRolePolicy")) or []:
        if not statement.allows or COGNITO_IDENTITY not in principal_values(statement.principal, "Federated"):
            continue
        audiences = condition_values(statement.condition, f"{COGNITO_IDENTITY}:aud", ("StringEquals",))
        if not audiences:
            yield "trust policy doesn't pin cognito-identity.amazonaws.com:aud to an identity pool"
        elif any(is_known(a) and (a == "" or "*" in a) for a in audiences):
            yield "trust policy's aud condition isn't one identity pool id"
        amr = condition_values(statement.condition, f"{COGNITO_IDENTITY}:amr",
                               ("ForAnyValue:StringLike", "ForAnyValue:StringEquals", "StringEquals", "StringLike"))
        if any(is_unknown(v) for v in amr):
            continue
        if "authenticated" not in amr:
            yield "trust policy doesn't require amr = authenticated"
        elif "unauthenticated" in amr:
            yield "trust policy admits unauthenticated identities"


@resource_rule(
    "SB-COGNITO-004", tokens.USER_POOL,
    description="User pools have deletion protection (mandatory in prod, advisory in dev).",
    remediation='Set deletion_protection="ACTIVE".',
    level=MANDATORY_IN_PROD,
)
def user_pool_deletion_protection(pool: Resource):
    value = get(pool.props, "deletionProtection")
    if not is_unknown(value) and value != "ACTIVE":
        yield f"deletionProtection is {value or 'INACTIVE (default)'}"
