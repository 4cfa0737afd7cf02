"""The hardened Cognito user pool and app client every API of this project signs users into.

Email sign-in, a strong password policy, TOTP MFA offered, recovery by verified email, deletion
protection on request; an app client with no secret (mobile and browser apps can't keep one),
SRP and refresh-token flows only, explicit token lifetimes, and no hint whether a user exists.

Hosted sign-in (OAuth 2.0), on request only: given a `UserPoolOAuth`, the same client also allows the
authorization code grant (the app adds PKCE: it has no secret), with explicit scopes and checked
callback and sign-out URLs, and `hosted_sign_in_domain` gives the pool its Cognito domain (a prefix, or
your own name with a us-east-1 certificate). Implicit and client-credentials grants are never allowed.

Email: with no `email` arg the pool sends through Cognito's built-in email (COGNITO_DEFAULT), which
AWS caps at a few dozen messages a day per account: fine for dev, and a cap on sign-ups in
production. Given a `UserPoolEmail`, it sends through your verified SES identity (DEVELOPER).
"""
import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple, Optional, Required, Sequence, TypedDict
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws

from .args import ArgsError, ArgsReader
from .cloudfront_defaults import is_hosted_zone_id, is_hostname

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


# --- hosted sign-in: OAuth 2.0 authorization code grant (+ PKCE) and the pool's domain ---------------
OAUTH_SCOPES = ("openid", "email", "profile", "phone", "aws.cognito.signin.user.admin")
"""Scopes the client may be allowed; `openid` must be one of them (the ID token is what our APIs accept)."""
OAUTH_DEFAULTS = {"logout_urls": [], "scopes": ["openid", "email"], "domain_prefix": None, "custom_domain": None,
                  "allow_localhost_http": False}
CALLBACK_URLS_LIMIT = 100
"""Cognito's limit on callback (and on sign-out) URLs per client."""
CALLBACK_URL_LENGTH_LIMIT = 1024
DOMAIN_PREFIX_LIMIT = 63
DOMAIN_PREFIX_RESERVED_WORDS = ("aws", "amazon", "cognito")
_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_US_EAST_1_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
# Schemes that run code, read local data, or name a network protocol: none of them returns to an app.
_REFUSED_SCHEMES = ("javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss")
DOMAIN_PREFIX_EXPECTED = (f"lowercase letters, digits and hyphens, 1 to {DOMAIN_PREFIX_LIMIT} characters, not starting "
                          f"or ending with a hyphen, without {', '.join(DOMAIN_PREFIX_RESERVED_WORDS)}")
CALLBACK_URL_EXPECTED = ("https://host/path, a custom scheme such as mytodolist://callback, or "
                         "http://localhost[:port]/path with allow_localhost_http")


class CognitoCustomDomain(TypedDict, total=False):
    """Hosted sign-in under your own name, e.g. auth.example.com (Cognito serves it through CloudFront)."""
    domain_name: Required[str]
    """The hostname; its parent domain must already resolve (an A record), as Cognito requires."""
    certificate_arn: Required[pulumi.Input[str]]
    """ACM certificate for domain_name in us-east-1 (the only region Cognito's CloudFront reads)."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone (Z...) for the A/AAAA aliases to Cognito's distribution; left out, add them yourself."""


class UserPoolOAuth(TypedDict, total=False):
    """Hosted sign-in for the public app client: OAuth 2.0 authorization code grant, used with PKCE."""
    callback_urls: Required[Sequence[str]]
    """Where Cognito may return the code: https, a custom scheme (mytodolist://callback), or http://localhost
    with allow_localhost_http; no wildcards, no fragment."""
    logout_urls: Sequence[str]
    """Where Cognito may return after sign-out, with the same rules (default none)."""
    scopes: Sequence[str]
    """OAuth scopes, openid among them (default openid and email)."""
    domain_prefix: Optional[str]
    """Cognito domain prefix (<prefix>.auth.<region>.amazoncognito.com); default from project, stack and name."""
    custom_domain: Optional[CognitoCustomDomain]
    """Your own sign-in hostname instead of a prefix."""
    allow_localhost_http: bool
    """Accept http://localhost URLs (development only; default false)."""


@dataclass(frozen=True)
class ResolvedCognitoDomain:
    domain_name: str
    certificate_arn: pulumi.Input[str]
    hosted_zone_id: Optional[pulumi.Input[str]]


@dataclass(frozen=True)
class ResolvedUserPoolOAuth:
    callback_urls: list[str]
    logout_urls: list[str]
    scopes: list[str]
    domain_prefix: Optional[str]
    """None: derived from project, stack and name (unless custom_domain is set)."""
    custom_domain: Optional[ResolvedCognitoDomain]


def callback_url_problem(url: str, allow_localhost_http: bool) -> Optional[str]:
    """Why Cognito, or we, would refuse this callback or sign-out URL (None when it is fine)."""
    if len(url) > CALLBACK_URL_LENGTH_LIMIT:
        return f"is longer than {CALLBACK_URL_LENGTH_LIMIT} characters"
    if "*" in url:
        return "has a wildcard; list each URL exactly"
    if any(c.isspace() for c in url) or "#" in url:
        return "has whitespace or a fragment (#), which Cognito refuses"
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if not rest or not _SCHEME.match(scheme):
        return "is not an absolute URL"
    parts = urlsplit(url)
    if scheme in ("https", "http"):
        if not parts.hostname or "@" in parts.netloc:
            return "has no host, or has user info before it"
        if scheme == "http" and not (allow_localhost_http and parts.hostname == "localhost"):
            return ("uses http: only http://localhost is allowed, and only with allow_localhost_http (dev); use https "
                    "or a custom scheme")
        return None
    if scheme in _REFUSED_SCHEMES:
        return f"uses the {scheme}: scheme, which can't return to an app"
    return None if rest.strip("/") else "has a custom scheme but nothing after it"


def _urls(o: ArgsReader, key: str, allow_localhost_http: bool, min_items: int) -> list:
    urls = o.strings(key, expected=f"a list of URLs: {CALLBACK_URL_EXPECTED}", min_items=min_items,
                     max_items=CALLBACK_URLS_LIMIT, distinct=True)
    for url in urls:
        problem = None if isinstance(url, pulumi.Output) else callback_url_problem(url, allow_localhost_http)
        if problem:
            o.fail(key, f"{url!r} {problem}; allowed: {CALLBACK_URL_EXPECTED}")
    return urls


def is_domain_prefix(value: str) -> bool:
    return _DOMAIN_PREFIX.match(value) is not None and not any(w in value for w in DOMAIN_PREFIX_RESERVED_WORDS)


def default_domain_prefix(project: str, stack: str, name: str) -> str:
    """A Cognito domain prefix from project, stack and component name: the same on every run, unlikely to be
    taken, and valid (lowercase, no reserved word, at most 63 characters)."""
    wanted = f"{project}-{stack}-{name}".lower()
    for word in DOMAIN_PREFIX_RESERVED_WORDS:
        wanted = wanted.replace(word, "")
    wanted = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", wanted)).strip("-") or "sign-in"
    if len(wanted) <= DOMAIN_PREFIX_LIMIT:
        return wanted
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:6]
    return f"{wanted[:DOMAIN_PREFIX_LIMIT - 7].rstrip('-')}-{digest}"


def read_oauth(r: ArgsReader, key: str = "oauth") -> Optional[ResolvedUserPoolOAuth]:
    """An optional `UserPoolOAuth` arg, every URL, scope and domain checked."""
    o = r.section(key, UserPoolOAuth, OAUTH_DEFAULTS)
    if o is None:
        return None
    localhost = o.flag("allow_localhost_http")
    scopes = o.strings("scopes", check=lambda v: v in OAUTH_SCOPES,
                       expected=f"scopes among {', '.join(OAUTH_SCOPES)}", min_items=1, distinct=True)
    if "openid" not in scopes:
        o.fail("scopes", "must include openid: the API's authorizer and the identity pool take the ID token, which "
                         "Cognito issues only with openid")
    prefix = o.optional_string("domain_prefix", check=is_domain_prefix, expected=DOMAIN_PREFIX_EXPECTED)
    custom = o.section("custom_domain", CognitoCustomDomain)
    if custom is not None and prefix is not None:
        o.fail("domain_prefix", "set either domain_prefix or custom_domain, not both (a pool has one domain)")
    return ResolvedUserPoolOAuth(
        callback_urls=_urls(o, "callback_urls", localhost, min_items=1),
        logout_urls=_urls(o, "logout_urls", localhost, min_items=0),
        scopes=scopes, domain_prefix=prefix,
        custom_domain=None if custom is None else ResolvedCognitoDomain(
            domain_name=custom.string("domain_name", check=is_hostname, expected="a hostname such as auth.example.com"),
            certificate_arn=custom.string(
                "certificate_arn", check=lambda v: _US_EAST_1_CERTIFICATE_ARN.match(v) is not None,
                expected="an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>); "
                         "Cognito's custom domains take certificates from us-east-1 only"),
            hosted_zone_id=custom.optional_string("hosted_zone_id", check=is_hosted_zone_id,
                                                  expected="a Route 53 hosted zone id (Z...)")))


def oauth_client_settings(oauth: ResolvedUserPoolOAuth) -> dict:
    """The app client's OAuth settings: the code grant only (no implicit, no client credentials), the user
    pool as the only identity provider, and exactly the configured scopes and URLs."""
    return {"allowed_oauth_flows": ["code"], "allowed_oauth_flows_user_pool_client": True,
            "allowed_oauth_scopes": list(oauth.scopes), "callback_urls": list(oauth.callback_urls),
            "logout_urls": list(oauth.logout_urls), "supported_identity_providers": ["COGNITO"]}


class HostedSignIn(NamedTuple):
    """The pool's Cognito domain and the OAuth endpoints an app calls on it."""
    domain: aws.cognito.UserPoolDomain
    base_url: pulumi.Output[str]
    authorize_endpoint: pulumi.Output[str]
    token_endpoint: pulumi.Output[str]
    logout_endpoint: pulumi.Output[str]
    revoke_endpoint: pulumi.Output[str]


def hosted_sign_in_domain(name: str, pool: aws.cognito.UserPool, oauth: ResolvedUserPoolOAuth, *,
                          parent: pulumi.Resource, region: pulumi.Input[str]) -> HostedSignIn:
    """The pool's domain as a child of `parent`: the prefix (by default from project, stack and `name`), or the
    custom name with its us-east-1 certificate and, given a zone, its alias records."""
    child = pulumi.ResourceOptions(parent=parent)
    base_url: pulumi.Output[str]
    if oauth.custom_domain is not None:
        custom = oauth.custom_domain
        domain = aws.cognito.UserPoolDomain(
            f"{name}-sign-in-domain", domain=custom.domain_name, certificate_arn=custom.certificate_arn,
            user_pool_id=pool.id, managed_login_version=1, opts=child)
        if custom.hosted_zone_id is not None:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-sign-in-alias-{record_type.lower()}", zone_id=custom.hosted_zone_id,
                    name=custom.domain_name, type=record_type,
                    aliases=[{"name": domain.cloudfront_distribution, "zone_id": domain.cloudfront_distribution_zone_id,
                              "evaluate_target_health": False}], opts=child)
        base_url = pulumi.Output.from_input(f"https://{custom.domain_name}")
    else:
        prefix = oauth.domain_prefix or default_domain_prefix(pulumi.get_project(), pulumi.get_stack(), name)
        domain = aws.cognito.UserPoolDomain(f"{name}-sign-in-domain", domain=prefix, user_pool_id=pool.id,
                                            managed_login_version=1, opts=child)
        base_url = pulumi.Output.concat("https://", domain.domain, ".auth.", region, ".amazoncognito.com")
    return HostedSignIn(
        domain=domain, base_url=base_url,
        authorize_endpoint=pulumi.Output.concat(base_url, "/oauth2/authorize"),
        token_endpoint=pulumi.Output.concat(base_url, "/oauth2/token"),
        logout_endpoint=pulumi.Output.concat(base_url, "/logout"),
        revoke_endpoint=pulumi.Output.concat(base_url, "/oauth2/revoke"))


def user_pool_with_app_client(
        pool_name: str, client_name: str, *, parent: pulumi.Resource, deletion_protection: bool,
        mfa: str = "OPTIONAL", invite_only: bool = False, minimum_password_length: int = 8,
        email: Optional[ResolvedUserPoolEmail] = None, oauth: Optional[ResolvedUserPoolOAuth] = None,
) -> tuple[aws.cognito.UserPool, aws.cognito.UserPoolClient]:
    """Create the pool and its public app client as children of `parent`; with `oauth` the client also allows
    the authorization code grant (give the pool its domain with `hosted_sign_in_domain`)."""
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
        prevent_user_existence_errors="ENABLED", enable_token_revocation=True,
        **(oauth_client_settings(oauth) if oauth else {}), opts=child)
    return pool, client
