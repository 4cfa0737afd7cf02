"""The hardened Cognito user pool and app client every API of this project signs users into.

Email sign-in, a strong password policy, TOTP MFA offered, recovery by verified email, deletion
protection on request; an app client with no secret (mobile and browser apps can't keep one),
SRP and refresh-token flows only, explicit token lifetimes, and no hint whether a user exists.

Email: with no `email` arg the pool sends through Cognito's built-in email (COGNITO_DEFAULT), which
AWS caps at a few dozen messages a day per account: fine for dev, and a cap on sign-ups in
production. Given a `UserPoolEmail`, it sends through your verified SES identity (DEVELOPER).
"""
import re
from dataclasses import dataclass
from typing import Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from .args import ArgsError, ArgsReader

MFA_CHOICES = ("OFF", "OPTIONAL", "ON")
"""Cognito MFA settings; anything but OFF offers TOTP (software tokens)."""
MINIMUM_PASSWORD_LENGTH_RANGE = (8, 99)
_USER_POOL_ARN = re.compile(r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9A-Za-z]+$")
USER_POOL_ARN_EXPECTED = "a Cognito user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<id>)"


_SES_IDENTITY_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity/(?P<identity>[^/\s]+)$")
_EMAIL = re.compile(r"^[^@\s<>]+@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,})$")
_FROM = re.compile(r"^(?:[^<>]*<(?P<bracketed>[^<>]+)>|(?P<bare>[^<>\s]+))$")
_CONFIGURATION_SET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_user_pool_arn(value: str) -> bool:
    return isinstance(value, str) and _USER_POOL_ARN.match(value) is not None


class UserPoolEmail(TypedDict, total=False):
    """Send the pool's email (verification codes, invitations) through your own SES identity."""
    source_arn: Required[str]
    """ARN of a verified SES identity (domain or address) in the pool's region, out of the SES sandbox."""
    from_address: Required[str]
    """From address, e.g. 'MyTodoList <no-reply@example.org>'; must belong to that identity."""
    reply_to_address: Optional[str]
    """Reply-To address (default none)."""
    configuration_set: Optional[str]
    """SES configuration set for the pool's messages (default none)."""


EMAIL_DEFAULTS = {"reply_to_address": None, "configuration_set": None}


@dataclass(frozen=True)
class ResolvedUserPoolEmail:
    source_arn: str
    from_address: str
    reply_to_address: Optional[str]
    configuration_set: Optional[str]


def _address(value: str) -> Optional[str]:
    """The bare address of 'Name <a@b.c>' or 'a@b.c' (None when it isn't one)."""
    match = _FROM.match(value.strip()) if isinstance(value, str) else None
    address = match and (match.group("bracketed") or match.group("bare")).strip()
    return address if address and _EMAIL.match(address) else None


def read_email(r: ArgsReader, key: str = "email") -> Optional[ResolvedUserPoolEmail]:
    """An optional `UserPoolEmail` arg; the from address must be the identity or in its domain, as SES requires."""
    e = r.section(key, UserPoolEmail, EMAIL_DEFAULTS)
    if e is None:
        return None
    source_arn = e.string("source_arn", check=lambda v: _SES_IDENTITY_ARN.match(v) is not None,
                          expected="an SES identity ARN (arn:aws:ses:<region>:<account>:identity/<domain or address>)")
    from_address = e.string("from_address", check=lambda v: _address(v) is not None,
                            expected="an email address, optionally with a name: 'Name <user@domain>'")
    # Both checks above passed: neither match can be None here.
    identity_match = _SES_IDENTITY_ARN.match(source_arn)
    bare_address = _address(from_address)
    assert identity_match is not None and bare_address is not None
    identity = identity_match.group("identity").lower()
    address = bare_address.lower()
    domain = address.rsplit("@", 1)[1]
    if identity != address and not (domain == identity or domain.endswith(f".{identity}")):
        e.fail("from_address", f"{address} is not sent by the SES identity {identity} of source_arn; use an address "
                               f"of that domain, or that address")
    return ResolvedUserPoolEmail(
        source_arn=source_arn, from_address=from_address,
        reply_to_address=e.optional_string("reply_to_address", check=lambda v: _address(v) is not None,
                                           expected="an email address"),
        configuration_set=e.optional_string("configuration_set", check=lambda v: _CONFIGURATION_SET.match(v) is not None,
                                            expected="an SES configuration set name"))


def email_configuration(email: ResolvedUserPoolEmail) -> aws.cognito.UserPoolEmailConfigurationArgsDict:
    """The pool's email_configuration: sent through your SES identity."""
    return {"email_sending_account": "DEVELOPER", "source_arn": email.source_arn,
            "from_email_address": email.from_address, "reply_to_email_address": email.reply_to_address,
            "configuration_set": email.configuration_set}


def user_pool_with_app_client(
        pool_name: str, client_name: str, *, parent: pulumi.Resource, deletion_protection: bool,
        mfa: str = "OPTIONAL", invite_only: bool = False, minimum_password_length: int = 8,
        email: Optional[ResolvedUserPoolEmail] = None,
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
        email_configuration=email_configuration(email) if email else None,
        opts=child)
    client = aws.cognito.UserPoolClient(
        client_name, user_pool_id=pool.id, generate_secret=False,
        explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        access_token_validity=60, id_token_validity=60, refresh_token_validity=30,
        token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
        prevent_user_existence_errors="ENABLED", enable_token_revocation=True, opts=child)
    return pool, client
