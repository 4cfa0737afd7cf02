"""The hardened Cognito user pool and app client every API of this project signs users into.

Email sign-in, a strong password policy, TOTP MFA offered, recovery by verified email, deletion
protection on request; an app client with no secret (mobile and browser apps can't keep one),
SRP and refresh-token flows only, explicit token lifetimes, and no hint whether a user exists.
"""
import re

import pulumi
import pulumi_aws as aws

from .args import ArgsError

MFA_CHOICES = ("OFF", "OPTIONAL", "ON")
"""Cognito MFA settings; anything but OFF offers TOTP (software tokens)."""
MINIMUM_PASSWORD_LENGTH_RANGE = (8, 99)
_USER_POOL_ARN = re.compile(r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9A-Za-z]+$")
USER_POOL_ARN_EXPECTED = "a Cognito user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<id>)"


def is_user_pool_arn(value: str) -> bool:
    return isinstance(value, str) and _USER_POOL_ARN.match(value) is not None


def user_pool_with_app_client(
        pool_name: str, client_name: str, *, parent: pulumi.Resource, deletion_protection: bool,
        mfa: str = "OPTIONAL", invite_only: bool = False, minimum_password_length: int = 8,
) -> tuple[aws.cognito.UserPool, aws.cognito.UserPoolClient]:
    """Create the pool and its public app client as children of `parent`."""
    if mfa not in MFA_CHOICES:
        raise ArgsError(f"user pool {pool_name!r}", ("mfa",),
                        f"{mfa!r} is not allowed; allowed values: {', '.join(MFA_CHOICES)}")
    low, high = MINIMUM_PASSWORD_LENGTH_RANGE
    if isinstance(minimum_password_length, bool) or not isinstance(minimum_password_length, int) \
            or not low <= minimum_password_length <= high:
        raise ArgsError(f"user pool {pool_name!r}", ("minimum_password_length",),
                        f"{minimum_password_length!r} is out of range; allowed {low} to {high}")
    child = pulumi.ResourceOptions(parent=parent)
    pool = aws.cognito.UserPool(
        pool_name,
        username_attributes=["email"], auto_verified_attributes=["email"],
        admin_create_user_config={"allow_admin_create_user_only": True} if invite_only else None,
        password_policy={"minimum_length": minimum_password_length, "require_lowercase": True,
                         "require_uppercase": True, "require_numbers": True, "require_symbols": True,
                         "temporary_password_validity_days": 3},
        mfa_configuration=mfa,
        software_token_mfa_configuration={"enabled": True} if mfa != "OFF" else None,
        account_recovery_setting={"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]},
        deletion_protection="ACTIVE" if deletion_protection else "INACTIVE",
        opts=child)
    client = aws.cognito.UserPoolClient(
        client_name, user_pool_id=pool.id, generate_secret=False,
        explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        access_token_validity=60, id_token_validity=60, refresh_token_validity=30,
        token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
        prevent_user_existence_errors="ENABLED", enable_token_revocation=True, opts=child)
    return pool, client
