import json

from policy import UNKNOWN, Resource, evaluate
from policy.tokens import IDENTITY_POOL, IDENTITY_POOL_ROLE_ATTACHMENT, ROLE, USER_POOL

STRONG = {"minimumLength": 12, "requireLowercase": True, "requireUppercase": True, "requireNumbers": True, "requireSymbols": True}


def pool(**overrides):
    props = {"name": "todo-users", "passwordPolicy": STRONG, "deletionProtection": "ACTIVE"}
    props.update(overrides)
    return Resource(USER_POOL, {k: v for k, v in props.items() if v is not None}, name="todo-users")


# SB-COGNITO-001 password policy

def test_strong_password_policy_passes(violations):
    assert violations("SB-COGNITO-001", pool()) == []


def test_missing_password_policy_is_reported(violations):
    assert violations("SB-COGNITO-001", pool(passwordPolicy=None)) == ["no password policy"]


def test_weak_password_policy_is_reported(violations):
    weak = {"minimumLength": 6, "requireLowercase": True, "requireUppercase": True, "requireNumbers": True}
    assert violations("SB-COGNITO-001", pool(passwordPolicy=weak)) == [
        "minimumLength is 6 (< 8)", "password policy doesn't set requireSymbols"]


def test_unknown_password_policy_is_not_reported(violations):
    assert violations("SB-COGNITO-001", pool(passwordPolicy=UNKNOWN)) == []


# SB-COGNITO-002 no unauthenticated identities

def test_authenticated_only_identity_pool_passes(violations):
    identity_pool = Resource(IDENTITY_POOL, {"identityPoolName": "todo", "allowUnauthenticatedIdentities": False}, name="todo-ids")
    attachment = Resource(IDENTITY_POOL_ROLE_ATTACHMENT, {"identityPoolId": "p", "roles": {"authenticated": "arn:aws:iam::1:role/a"}}, name="att")
    assert violations("SB-COGNITO-002", identity_pool, attachment) == []


def test_unauthenticated_identities_are_reported(violations):
    identity_pool = Resource(IDENTITY_POOL, {"identityPoolName": "todo", "allowUnauthenticatedIdentities": True}, name="todo-ids")
    attachment = Resource(IDENTITY_POOL_ROLE_ATTACHMENT, {"identityPoolId": "p", "roles": {
        "authenticated": "arn:aws:iam::1:role/a", "unauthenticated": "arn:aws:iam::1:role/u"}}, name="att")
    assert violations("SB-COGNITO-002", identity_pool, attachment) == [
        "allowUnauthenticatedIdentities is true", "an unauthenticated role is attached"]


# SB-COGNITO-003 authenticated role trust scoped to aud and amr

def trust(condition):
    statement = {"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                 "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}
    return Resource(ROLE, {"name": "todo-authenticated", "assumeRolePolicy": json.dumps({"Statement": [statement]})}, name="auth-role")


SCOPED = {"StringEquals": {"cognito-identity.amazonaws.com:aud": "eu-west-1:1111-2222"},
          "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}


def test_scoped_trust_passes(violations):
    assert violations("SB-COGNITO-003", trust(SCOPED)) == []


def test_trust_without_conditions_is_reported(violations):
    assert violations("SB-COGNITO-003", trust({})) == [
        "trust policy doesn't pin cognito-identity.amazonaws.com:aud to an identity pool",
        "trust policy doesn't require amr = authenticated"]


def test_trust_for_unauthenticated_identities_is_reported(violations):
    condition = {**SCOPED, "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"}}
    assert violations("SB-COGNITO-003", trust(condition)) == ["trust policy doesn't require amr = authenticated"]


def test_unknown_pool_id_in_trust_is_not_reported(violations):
    condition = {**SCOPED, "StringEquals": {"cognito-identity.amazonaws.com:aud": UNKNOWN}}
    assert violations("SB-COGNITO-003", trust(condition)) == []


def test_lambda_role_is_not_judged_as_identity_pool_role(violations):
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    role = Resource(ROLE, {"assumeRolePolicy": json.dumps({"Statement": [statement]})}, name="fn-role")
    assert violations("SB-COGNITO-003", role) == []


# SB-COGNITO-004 deletion protection in prod

def test_protected_pool_passes(violations):
    assert violations("SB-COGNITO-004", pool(), environment="prod") == []


def test_unprotected_pool_is_mandatory_in_prod_and_advisory_in_dev():
    unprotected = pool(deletionProtection=None)
    assert [f.level for f in evaluate([unprotected], "prod", rules=["SB-COGNITO-004"]).findings] == ["mandatory"]
    assert [f.level for f in evaluate([unprotected], "dev", rules=["SB-COGNITO-004"]).findings] == ["advisory"]
