"""The judge: is every AWS call a function made allowed by the role we grant it?

For each recorded call, `twin.arns` names what IAM authorizes (action, resource, request context).
This module gathers the function's role policies and the resource policies of the recorded stack,
and decides each authorization the way IAM does for a same-account role session:

- an explicit Deny in any policy that applies wins;
- else an Allow in an identity policy, or in a resource policy naming the role (or "*"), allows;
- a KMS key with its own key policy must also enable IAM policies (trust the account) or name the role;
- else the call is implicitly denied, and the report names the closest statement.

Why not moto's evaluator (`moto.iam.access_control.IAMPolicy`): it answers DENIED (explicit) for an
Allow whose condition fails, treats a statement with NotResource as allowing every resource, passes
any condition operator but StringEquals, and matches ARNs as unescaped regular expressions. Each of
those would misjudge a policy of this project (LeadingKeys, EnclosingOperation, ses:FromAddress),
so statements are matched here, in the same shape moto uses (statement -> PERMITTED/DENIED/NEUTRAL).

A condition the judge can't evaluate (a key the call doesn't tell, an operator it doesn't implement)
never decides a call: it is taken in the call's favour and listed in the report.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from offline.harness import ACCOUNT_ID, RecordedResource, StackSnapshot

from .arns import (AwsCallLike, CallScope, Requirement, StackFacts, UnmappedOperation,  # noqa: F401
                   mapped_operations, queue_arn, requirements_for)

FUNCTION = "aws:lambda/function:Function"

# ------------------------------------------------------------------------------------------------
# Policy documents


@dataclass(frozen=True)
class PolicyDocument:
    """One IAM policy document and where it came from."""
    name: str
    """The RolePolicy's / bucket policy's logical name, or the managed policy's name."""
    kind: str
    """"inline", "managed" or "resource"."""
    document: Mapping[str, Any]
    source: str = ""
    """For a managed policy, the page its pinned text comes from; else the resource's URN."""

    @property
    def statements(self) -> list[Mapping[str, Any]]:
        statements = self.document.get("Statement", [])
        return [statements] if isinstance(statements, Mapping) else list(statements)


def _managed(name: str, version: str, statements: list[dict]) -> PolicyDocument:
    path = "service-role/" if name.startswith("AWSLambda") else ""
    return PolicyDocument(name, "managed", {"Version": "2012-10-17", "Statement": statements},
                          f"https://docs.aws.amazon.com/aws-managed-policy/latest/reference/{name}.html "
                          f"({version}); arn:aws:iam::aws:policy/{path}{name}")


MANAGED_POLICIES: dict[str, PolicyDocument] = {p.source.rsplit("; ", 1)[1]: p for p in [
    _managed("AWSLambdaBasicExecutionRole", "v1", [{
        "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*"}]),
    _managed("AWSLambdaVPCAccessExecutionRole", "v3, edited 2024-01-05", [{
        "Sid": "AWSLambdaVPCAccessExecutionPermissions", "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
                   "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                   "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
        "Resource": "*"}]),
    _managed("AWSXRayDaemonWriteAccess", "v2, edited 2024-02-13", [{
        "Sid": "AWSXRayDaemonWriteAccess", "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                   "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"],
        "Resource": ["*"]}]),
    _managed("AmazonSSMManagedInstanceCore", "v2, edited 2019-05-23", [
        {"Effect": "Allow", "Action": [
            "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
            "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
            "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems",
            "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus",
            "ssm:UpdateInstanceInformation"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage",
                                       "ec2messages:FailMessage", "ec2messages:GetEndpoint",
                                       "ec2messages:GetMessages", "ec2messages:SendReply"], "Resource": "*"}]),
]}
"""The AWS managed policies a role of ours may attach, pinned by ARN (AWS edits them; re-pin on purpose)."""


def _document(value: Any) -> Mapping[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def function_resource_of(snapshot: StackSnapshot, function: Union[RecordedResource, str]) -> RecordedResource:
    """The aws:lambda Function itself, given it or its (component's or resource's) logical name."""
    if isinstance(function, RecordedResource):
        return function
    functions = snapshot.of_type(FUNCTION)
    for candidate in functions:
        parent = snapshot.by_urn(candidate.parent) if candidate.parent else None
        if function in (candidate.name, candidate.outputs.get("name"), parent and parent.name):
            return candidate
    raise KeyError(f"no Lambda function {function!r} in stack {snapshot.stack}; functions: "
                   f"{sorted(f.name for f in functions)}")


def function_label(snapshot: StackSnapshot, function: RecordedResource) -> str:
    """The name messages use: the LambdaFunction component's (photos-worker), else the resource's."""
    if function.parent:
        parent = snapshot.by_urn(function.parent)
        if parent.resource_type == "serverless-blueprints:index:LambdaFunction":
            return parent.name
    return function.name


def _role_of(snapshot: StackSnapshot, function: RecordedResource) -> RecordedResource:
    role_arn = function.props.get("role")
    roles = [r for r in snapshot.of_type("aws:iam/role:Role") if r.outputs.get("arn") == role_arn]
    if len(roles) != 1:
        raise KeyError(f"{function.name}: {len(roles)} recorded roles have the ARN {role_arn!r}")
    return roles[0]


def role_policies_for(snapshot: StackSnapshot, function_resource: Union[RecordedResource, str]) -> list[PolicyDocument]:
    """Every identity policy of the function's role: inline RolePolicies, the role's own inline and
    managed policies, and RolePolicyAttachments (customer managed from the stack, AWS managed pinned)."""
    function = function_resource_of(snapshot, function_resource)
    return policies_of_role(snapshot, _role_of(snapshot, function), function.name)


def policies_of_role(snapshot: StackSnapshot, role: RecordedResource, label: str = "") -> list[PolicyDocument]:
    """Every identity policy of a recorded role (a function's, or an instance role calling an AWS_IAM API)."""
    label = label or role.name
    role_refs = {role.outputs.get("id"), role.outputs.get("name"), role.outputs.get("arn")} - {None}
    policies = [PolicyDocument(p.name, "inline", _document(p.props["policy"]), p.urn)
                for p in snapshot.of_type("aws:iam/rolePolicy:RolePolicy") if p.props.get("role") in role_refs]
    policies += [PolicyDocument(p.get("name") or f"{role.name}-inline", "inline", _document(p["policy"]), role.urn)
                 for p in role.props.get("inlinePolicies") or [] if p.get("policy")]
    attached = list(role.props.get("managedPolicyArns") or [])
    attached += [a.props["policyArn"] for a in snapshot.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                 if a.props.get("role") in role_refs]
    customer = {p.outputs.get("arn"): p for p in snapshot.of_type("aws:iam/policy:Policy")}
    for arn in attached:
        if arn in customer:
            policies.append(PolicyDocument(customer[arn].name, "managed", _document(customer[arn].props["policy"]),
                                           customer[arn].urn))
        elif arn in MANAGED_POLICIES:
            policies.append(MANAGED_POLICIES[arn])
        else:
            raise KeyError(f"{label}: role attaches {arn}, which is neither in the stack nor pinned in "
                           f"twin/permissions.py MANAGED_POLICIES; pin its document there with its source")
    return policies


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource-based policy and the ARNs it governs (an ARN, or an ARN prefix ending in '/')."""
    policy: PolicyDocument
    arns: tuple[str, ...]
    kms_key: bool = False

    def governs(self, resource: str) -> bool:
        return any(resource == arn or (arn.endswith("/") and resource.startswith(arn)) for arn in self.arns)


def resource_policies_for(snapshot: StackSnapshot) -> list[ResourcePolicy]:
    """Bucket, queue, topic, bus, secret and key policies of the stack. A key without a policy gets AWS's
    default key policy, which lets IAM policies decide."""
    found: list[ResourcePolicy] = []

    def add(resource: RecordedResource, arns: Sequence[str], policy: Any, kms_key: bool = False) -> None:
        found.append(ResourcePolicy(PolicyDocument(resource.name, "resource", _document(policy), resource.urn),
                                    tuple(arns), kms_key))

    for p in snapshot.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        add(p, [f"arn:aws:s3:::{p.props['bucket']}", f"arn:aws:s3:::{p.props['bucket']}/"], p.props["policy"])
    for p in snapshot.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        add(p, [queue_arn(p.props["queueUrl"], p.region or "us-east-1")], p.props["policy"])
    for p in snapshot.of_type("aws:sns/topicPolicy:TopicPolicy"):
        add(p, [p.props["arn"]], p.props["policy"])
    for p in snapshot.of_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        add(p, [p.props["secretArn"]], p.props["policy"])
    buses = {b.outputs.get("name"): b.outputs.get("arn") for b in snapshot.of_type("aws:cloudwatch/eventBus:EventBus")}
    for p in snapshot.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy"):
        add(p, [buses.get(p.props.get("eventBusName", "default"), "")], p.props["policy"])
    for api in snapshot.of_type("aws:apigateway/restApi:RestApi"):
        if api.props.get("policy"):
            prefix = f"arn:aws:execute-api:{api.region or 'us-east-1'}:{ACCOUNT_ID}:{api.outputs['id']}/"
            add(api, [prefix], _execute_api_arns(_document(api.props["policy"]), prefix))
    keys = {k.outputs.get("keyId"): k for k in snapshot.of_type("aws:kms/key:Key")}
    key_policies = {p.props.get("keyId"): p for p in snapshot.of_type("aws:kms/keyPolicy:KeyPolicy")}
    for key_id, key in keys.items():
        policy = key_policies[key_id].props["policy"] if key_id in key_policies else key.props.get("policy")
        add(key, [key.outputs["arn"]], policy or _default_key_policy(), kms_key=True)
    return found


def _execute_api_arns(policy: Mapping[str, Any], prefix: str) -> dict:
    """A REST API's policy with API Gateway's shorthand `execute-api:/<stage>/<METHOD>/<path>` as full ARNs."""
    def full(value: Any) -> Any:
        return [full(v) for v in value] if isinstance(value, list) else \
            prefix + value[len("execute-api:/"):] if isinstance(value, str) and value.startswith("execute-api:/") \
            else value

    statements = policy.get("Statement", [])
    return {**policy, "Statement": [{k: full(v) if k in ("Resource", "NotResource") else v for k, v in s.items()}
                                    for s in ([statements] if isinstance(statements, Mapping) else statements)]}


def _default_key_policy() -> dict:
    """AWS's default key policy: the account (and so its IAM policies) may use the key."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "kms:*", "Resource": "*"}]}


# ------------------------------------------------------------------------------------------------
# Statement matching


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(pattern: str, context: Mapping[str, tuple[str, ...]]) -> Optional[str]:
    """Resolve ${key} policy variables; None if one names a key the request lacks or doesn't tell."""
    unresolved = False

    def value(match: re.Match[str]) -> str:
        nonlocal unresolved
        key = match.group(1)
        if key in ("*", "?", "$"):
            return key
        name, _, default = key.partition(",")
        values = context.get(name.strip().lower())
        if values and len(values) == 1:
            return values[0]
        if default:
            return default.strip().strip("'")
        unresolved = True
        return ""

    result = _VARIABLE.sub(value, pattern)
    return None if unresolved else result


def _matches_any(patterns: Iterable[str], value: str, context: Mapping[str, tuple[str, ...]],
                 ignore_case: bool = False) -> bool:
    for pattern in patterns:
        resolved = _substitute(pattern, context) if "${" in pattern else pattern
        if resolved is not None and _glob(resolved, ignore_case).fullmatch(value):
            return True
    return False


@dataclass(frozen=True)
class ConditionOutcome:
    holds: bool
    unmet: tuple[str, ...] = ()
    """Conditions the request fails, as text."""
    unchecked: tuple[str, ...] = ()
    """Conditions the judge could not evaluate (taken in the call's favour)."""


_GLOBAL_KEYS = frozenset({
    "aws:securetransport", "aws:principalarn", "aws:principalaccount", "aws:principaltype",
    "aws:requestedregion", "aws:viaawsservice", "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner",
    "aws:principalservicename", "aws:principalisawsservice", "aws:calledvia", "aws:calledviafirst",
    "aws:calledvialast", "aws:principalorgid",
})
"""Global keys the judge knows for a role session of this account (absent ones are known to be absent)."""


def _string_op(base: str) -> Optional[tuple[bool, Any]]:
    """(negated, predicate(policy_value, request_value)) for an operator we evaluate."""
    ops = {
        "StringEquals": lambda p, r: p == r,
        "StringEqualsIgnoreCase": lambda p, r: p.lower() == r.lower(),
        "StringLike": lambda p, r: _glob(p, False).fullmatch(r) is not None,
        "ArnEquals": lambda p, r: _glob(p, False).fullmatch(r) is not None,
        "ArnLike": lambda p, r: _glob(p, False).fullmatch(r) is not None,
        "Bool": lambda p, r: p.lower() == r.lower(),
        "NumericEquals": lambda p, r: float(p) == float(r),
        "NumericLessThan": lambda p, r: float(r) < float(p),
        "NumericLessThanEquals": lambda p, r: float(r) <= float(p),
        "NumericGreaterThan": lambda p, r: float(r) > float(p),
        "NumericGreaterThanEquals": lambda p, r: float(r) >= float(p),
    }
    negations = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
                 "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
                 "NumericNotEquals": "NumericEquals"}
    if base in ops:
        return False, ops[base]
    if base in negations:
        return True, ops[negations[base]]
    return None


def evaluate_conditions(condition: Optional[Mapping[str, Any]], requirement: Requirement,
                        context: Mapping[str, tuple[str, ...]], effect: str) -> ConditionOutcome:
    """All of a statement's conditions, IAM's way (AND across operators and keys, OR across values)."""
    if not condition:
        return ConditionOutcome(True)
    known = requirement.known_keys | _GLOBAL_KEYS
    unmet: list[str] = []
    unchecked: list[str] = []
    for operator, entries in condition.items():
        qualifier, _, base = operator.rpartition(":")
        if_exists = base.endswith("IfExists")
        base = base[: -len("IfExists")] if if_exists else base
        for key, expected in entries.items():
            text = f"{operator} {key} {json.dumps(expected)}"
            lowered = key.lower()
            if lowered not in known:
                unchecked.append(f"{text} (the judge doesn't know {key} for {requirement.action})")
                continue
            values = context.get(lowered)
            substituted = [_substitute(v, context) for v in _listed(expected)]
            policy_values = [v for v in substituted if v is not None]
            if len(policy_values) < len(substituted):
                unchecked.append(f"{text} (a policy variable the judge can't resolve)")
                continue
            if base == "Null":
                outcome = (values is None) == (policy_values[0].lower() == "true")
            elif (op := _string_op(base)) is None:
                unchecked.append(f"{text} (operator {base} is not evaluated)")
                continue
            else:
                negated, predicate = op
                outcome = _compare(qualifier, negated, predicate, policy_values, values, if_exists)
            if not outcome:
                unmet.append(f"{text}, request has {list(values) if values else 'none'}")
    # A condition the judge can't evaluate is taken in the call's favour: holds for an Allow, not for a Deny.
    if unchecked and effect == "Deny" and not unmet:
        return ConditionOutcome(False, (), tuple(unchecked))
    return ConditionOutcome(not unmet, tuple(unmet), tuple(unchecked))


def _compare(qualifier: str, negated: bool, predicate: Any, policy_values: list[str],
             values: Optional[tuple[str, ...]], if_exists: bool) -> bool:
    def one(value: str) -> bool:
        try:
            hit = any(predicate(p, value) for p in policy_values)
        except ValueError:
            hit = False
        return not hit if negated else hit

    if not values:
        if qualifier == "ForAllValues" or if_exists:
            return True
        return negated and qualifier != "ForAnyValue"
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    return all(one(v) for v in values)


@dataclass(frozen=True)
class StatementMatch:
    """How one statement of one policy relates to one requirement."""
    policy: PolicyDocument
    index: int
    statement: Mapping[str, Any]
    action_matches: bool
    resource_matches: bool
    principal: Optional[str]
    """"role" if the statement's principal is the role (or '*'), "account" if it is the account, else None;
    "role" for identity policies."""
    conditions: ConditionOutcome

    @property
    def sid(self) -> str:
        return self.statement.get("Sid") or f"{self.policy.name}[{self.index}]"

    @property
    def effect(self) -> str:
        return self.statement.get("Effect", "Allow")

    @property
    def applies(self) -> bool:
        return self.action_matches and self.resource_matches and self.principal is not None and self.conditions.holds

    def describe(self) -> str:
        """`<Sid> allows <actions> on <resources>`, as the denial message quotes it."""
        verb = "allows" if self.effect == "Allow" else "denies"
        if "NotAction" in self.statement:
            actions = "every action but " + ", ".join(_listed(self.statement["NotAction"]))
        else:
            actions = ", ".join(_listed(self.statement.get("Action")))
        if "NotResource" in self.statement:
            resources = "every resource but " + ", ".join(_listed(self.statement["NotResource"]))
        else:
            resources = ", ".join(_listed(self.statement.get("Resource"))) or "*"
        return f"{self.sid} {verb} {actions} on {resources}"


def match_statement(policy: PolicyDocument, index: int, statement: Mapping[str, Any], requirement: Requirement,
                    context: Mapping[str, tuple[str, ...]], role_arn: str, account: str) -> StatementMatch:
    if "NotAction" in statement:
        action_matches = not _matches_any(_listed(statement["NotAction"]), requirement.action, context, True)
    else:
        action_matches = _matches_any(_listed(statement.get("Action")), requirement.action, context, True)
    if "NotResource" in statement:
        resource_matches = not _matches_any(_listed(statement["NotResource"]), requirement.resource, context)
    else:
        # A resource policy's statement may leave Resource out: it is about its own resource.
        patterns = _listed(statement.get("Resource")) or ["*"]
        resource_matches = _matches_any(patterns, requirement.resource, context)
    principal = _principal(statement, role_arn, account) if policy.kind == "resource" else "role"
    conditions = evaluate_conditions(statement.get("Condition"), requirement, context, statement.get("Effect", "Allow"))
    return StatementMatch(policy, index, statement, action_matches, resource_matches, principal, conditions)


def _principal(statement: Mapping[str, Any], role_arn: str, account: str) -> Optional[str]:
    def kind(principal: Any) -> Optional[str]:
        if principal == "*":
            return "role"
        if not isinstance(principal, Mapping):
            return None
        named = _listed(principal.get("AWS"))
        if "*" in named or role_arn in named:
            return "role"
        if account in named or f"arn:aws:iam::{account}:root" in named:
            return "account"
        return None

    if "NotPrincipal" in statement:
        return None if kind(statement["NotPrincipal"]) else "role"
    return kind(statement.get("Principal"))


# ------------------------------------------------------------------------------------------------
# Deciding one requirement


@dataclass(frozen=True)
class Check:
    """The decision on one requirement of one call."""
    requirement: Requirement
    allowed: bool
    explicit_deny: Optional[StatementMatch] = None
    allowed_by: Optional[StatementMatch] = None
    closest: Optional[StatementMatch] = None
    """For a denial without an explicit Deny: the Allow statement that came nearest."""
    unchecked_conditions: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        return self.requirement.action

    @property
    def resource(self) -> str:
        return self.requirement.resource

    @property
    def statement(self) -> Optional[StatementMatch]:
        """The statement that decided: the Deny, the Allow, or the closest one."""
        return self.explicit_deny or self.allowed_by or self.closest

    @property
    def statement_sid(self) -> Optional[str]:
        return self.statement.sid if self.statement else None

    def reason(self) -> str:
        if self.explicit_deny:
            return f"explicit deny: {self.explicit_deny.describe()} in {self.explicit_deny.policy.name}"
        if self.closest is None:
            return "no statement of the role allows anything like it"
        text = f"closest statement: {self.closest.describe()}"
        if self.closest.action_matches and self.closest.resource_matches and self.closest.conditions.unmet:
            text += "; unmet: " + "; ".join(self.closest.conditions.unmet)
        return text


@dataclass
class Judge:
    """One function's role, with the stack's resource policies; decides requirements."""
    function: str
    role_arn: str
    account: str
    identity: list[PolicyDocument]
    resources: list[ResourcePolicy]

    def context(self, requirement: Requirement) -> dict[str, tuple[str, ...]]:
        via_service = requirement.implied_by is not None
        return {"aws:securetransport": ("true",), "aws:principalarn": (self.role_arn,),
                "aws:principalaccount": (self.account,), "aws:principaltype": ("AssumedRole",),
                "aws:viaawsservice": ("true" if via_service else "false",), "aws:principalisawsservice": ("false",),
                **requirement.context}

    def decide(self, requirement: Requirement) -> Check:
        context = self.context(requirement)
        identity = [match_statement(p, i, s, requirement, context, self.role_arn, self.account)
                    for p in self.identity for i, s in enumerate(p.statements)]
        governing = [r for r in self.resources if r.governs(requirement.resource)]
        resource = [(r, match_statement(r.policy, i, s, requirement, context, self.role_arn, self.account))
                    for r in governing for i, s in enumerate(r.policy.statements)]
        matches = identity + [m for _, m in resource]
        unchecked = tuple(u for m in matches if m.action_matches and m.resource_matches and m.principal
                          for u in m.conditions.unchecked)
        deny = next((m for m in matches if m.applies and m.effect == "Deny"), None)
        if deny:
            return Check(requirement, False, explicit_deny=deny, unchecked_conditions=unchecked)
        identity_allow = next((m for m in identity if m.applies and m.effect == "Allow"), None)
        direct_allow = next((m for _, m in resource if m.applies and m.effect == "Allow" and m.principal == "role"),
                            None)
        allow = identity_allow or direct_allow
        for key_policy in (r for r in governing if r.kms_key):
            # A key policy must enable IAM policies (trust the account) or name the role itself.
            key_matches = [m for r, m in resource if r is key_policy and m.applies and m.effect == "Allow"]
            if any(m.principal == "role" for m in key_matches):
                allow = allow or next(m for m in key_matches if m.principal == "role")
            elif not any(m.principal == "account" for m in key_matches):
                allow = None
        if allow:
            return Check(requirement, True, allowed_by=allow, unchecked_conditions=unchecked)
        candidates = [m for m in identity if m.effect == "Allow"] + \
                     [m for _, m in resource if m.effect == "Allow" and m.principal == "role"]
        return Check(requirement, False, closest=_closest(candidates, requirement), unchecked_conditions=unchecked)


def _closest(candidates: list[StatementMatch], requirement: Requirement) -> Optional[StatementMatch]:
    """The Allow nearest to the requirement: same action and resource, then same action, then same service,
    then the longest shared resource prefix."""
    service = requirement.action.split(":")[0].lower()

    def shared_prefix(match: StatementMatch) -> int:
        best = 0
        for pattern in _listed(match.statement.get("Resource") or match.statement.get("NotResource")):
            n = 0
            for a, b in zip(pattern, requirement.resource):
                if a != b:
                    break
                n += 1
            best = max(best, n)
        return best

    def same_service(match: StatementMatch) -> bool:
        actions = _listed(match.statement.get("Action") or match.statement.get("NotAction"))
        return any(a.split(":")[0].lower() in (service, "*") for a in actions)

    if not candidates:
        return None
    return max(candidates, key=lambda m: (m.action_matches and m.resource_matches, m.action_matches,
                                          same_service(m), shared_prefix(m)))


def decide(policies: Sequence[PolicyDocument], action: str, resource: str,
           context: Optional[Mapping[str, Union[str, Sequence[str]]]] = None, *,
           resource_policies: Sequence[ResourcePolicy] = (), principal_arn: str = "",
           account: str = ACCOUNT_ID) -> Check:
    """Decide one action on one resource against policy documents (every context key given is known)."""
    values = {k.lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in (context or {}).items()}
    requirement = Requirement(action, resource, values, frozenset(values))
    principal_arn = principal_arn or f"arn:aws:iam::{account}:role/judge"
    return Judge("policy", principal_arn, account, list(policies), list(resource_policies)).decide(requirement)


# ------------------------------------------------------------------------------------------------
# What the Lambda service does with the role (not the function's code)


def platform_requirements(snapshot: StackSnapshot, function: RecordedResource, facts: StackFacts) -> list[Requirement]:
    """Logs, traces, ENIs, event source polling and destinations: Lambda uses the role for these."""
    region = function.region or "us-east-1"
    account = facts.account
    fn_refs = {function.outputs.get("arn"), function.outputs.get("name")} - {None}
    service = "the Lambda service"
    found: list[Requirement] = []

    def need(action: str, resource: str, why: str, **context: str) -> None:
        found.append(Requirement(action, resource, {k.lower(): (v,) for k, v in context.items()},
                                 frozenset(k.lower() for k in context), implied_by=f"{service}: {why}"))

    group = (function.props.get("loggingConfig") or {}).get("logGroup") or f"/aws/lambda/{function.outputs.get('name')}"
    stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:2026/01/01/[$LATEST]0123456789abcdef"
    need("logs:CreateLogStream", stream, "writes the function's logs")
    need("logs:PutLogEvents", stream, "writes the function's logs")
    if (function.props.get("tracingConfig") or {}).get("mode") == "Active":
        need("xray:PutTraceSegments", "*", "sends active traces")
        need("xray:PutTelemetryRecords", "*", "sends active traces")
    if function.props.get("vpcConfig"):
        for action in ("CreateNetworkInterface", "DescribeNetworkInterfaces", "DeleteNetworkInterface",
                       "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses"):
            need(f"ec2:{action}", "*", "manages the function's network interfaces")

    def destination(arn: str, why: str) -> None:
        kind = arn.split(":")[2]
        action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "s3": "s3:PutObject",
                  "lambda": "lambda:InvokeFunction", "events": "events:PutEvents"}.get(kind)
        if action:
            need(action, f"{arn}/failure-record" if kind == "s3" else arn, why)

    for mapping in snapshot.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        if mapping.props.get("functionName") not in fn_refs:
            continue
        source = mapping.props.get("eventSourceArn", "")
        if source.startswith("arn:aws:sqs:"):
            for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
                need(f"sqs:{action}", source, "polls the queue")
        elif ":table/" in source and "/stream/" in source:
            for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
                need(f"dynamodb:{action}", source, "reads the table's stream")
            table = source.split(":table/")[1].split("/")[0]
            key = facts.table_kms_keys.get((table, source.split(":")[3]))
            if key:
                found.append(Requirement("kms:Decrypt", key, {"kms:viaservice": (f"dynamodb.{region}.amazonaws.com",),
                                                                "kms:calleraccount": (account,)},
                                         frozenset({"kms:viaservice", "kms:calleraccount"}),
                                         implied_by=f"{service}: reads the stream of a table its key encrypts"))
        on_failure = ((mapping.props.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
        if on_failure:
            destination(on_failure, "records failed batches")
    for config in snapshot.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        if config.props.get("functionName") not in fn_refs:
            continue
        for outcome in ("onFailure", "onSuccess"):
            arn = ((config.props.get("destinationConfig") or {}).get(outcome) or {}).get("destination")
            if arn:
                destination(arn, f"sends async {outcome} records")
    return found


# ------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class CallDecision:
    """The judge's answer for one call: every requirement it makes, each decided."""
    call: AwsCallLike
    checks: tuple[Check, ...]

    @property
    def allowed(self) -> bool:
        return all(c.allowed for c in self.checks)

    @property
    def actions(self) -> list[str]:
        return sorted({c.action for c in self.checks})

    @property
    def resources(self) -> list[str]:
        return sorted({c.resource for c in self.checks})

    @property
    def statement_sid(self) -> Optional[str]:
        """The first denial's deciding statement, else the statement that allowed the first check."""
        deciding = [c for c in self.checks if not c.allowed] or list(self.checks)
        return deciding[0].statement_sid if deciding else None


@dataclass(frozen=True)
class Denial:
    """One requirement of one call that the role does not allow."""
    function: str
    call: AwsCallLike
    check: Check

    @property
    def action(self) -> str:
        return self.check.action

    @property
    def resource(self) -> str:
        return self.check.resource

    @property
    def statement_sid(self) -> Optional[str]:
        return self.check.statement_sid

    @property
    def message(self) -> str:
        text = f"{self.function}: {self.action} on {self.resource} denied ({self.check.reason()})"
        if self.check.requirement.implied_by:
            text += f"; needed because {self.check.requirement.implied_by}"
        return text

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class UnusedGrant:
    """An action a role statement allows that no recorded call (nor the Lambda service) used."""
    policy: str
    sid: str
    action: str
    resources: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.action} on {', '.join(self.resources)} ({self.sid} in {self.policy})"


@dataclass
class PermissionReport:
    function: str
    role_arn: str
    decisions: list[CallDecision]
    denied: list[Denial]
    unused: list[UnusedGrant]
    """Advisory least privilege: granted, never used by the calls judged here nor by Lambda itself."""
    platform: list[Check] = field(default_factory=list)
    """What the Lambda service does with the role (logs, traces, polling, destinations), decided too."""

    @property
    def allowed(self) -> bool:
        return not self.denied

    @property
    def messages(self) -> list[str]:
        return [d.message for d in self.denied]

    @property
    def unused_actions(self) -> list[str]:
        return sorted({u.action for u in self.unused})

    @property
    def platform_gaps(self) -> list[Check]:
        """Lambda-side uses the role doesn't allow: advisory, the twin doesn't exercise them."""
        return [c for c in self.platform if not c.allowed]

    @property
    def unchecked_conditions(self) -> list[str]:
        """Conditions that applied to some call but could not be evaluated (taken in the call's favour)."""
        return sorted({u for d in self.decisions for c in d.checks for u in c.unchecked_conditions})


def judge_for(snapshot: StackSnapshot, function_resource: Union[RecordedResource, str]) -> Judge:
    function = function_resource_of(snapshot, function_resource)
    role = _role_of(snapshot, function)
    return Judge(function_label(snapshot, function), role.outputs["arn"], ACCOUNT_ID,
                 role_policies_for(snapshot, function), resource_policies_for(snapshot))


def judge_for_role(snapshot: StackSnapshot, role: RecordedResource) -> Judge:
    """A judge for a recorded role that isn't a function's (e.g. an instance role signing calls to an API)."""
    return Judge(role.name, role.outputs["arn"], ACCOUNT_ID, policies_of_role(snapshot, role),
                 resource_policies_for(snapshot))


def evaluate_calls(snapshot: StackSnapshot, function_resource: Union[RecordedResource, str],
                   calls: Iterable[AwsCallLike], names: Optional[Mapping[str, str]] = None) -> PermissionReport:
    """Judge every call a function made against its role (and the stack's resource policies).

    `names` maps a twin's physical names to the recorded ones. Raises UnmappedOperation for a call
    the judge has no mapping for.
    """
    function = function_resource_of(snapshot, function_resource)
    judge = judge_for(snapshot, function)
    facts = _facts(snapshot)
    environment = ((function.props.get("environment") or {}).get("variables")) or {}
    scope = CallScope(facts, dict(names or {}), environment, function.region or "us-east-1")
    decisions = [CallDecision(call, tuple(judge.decide(r) for r in requirements_for(call, scope))) for call in calls]
    denied = [Denial(judge.function, d.call, c) for d in decisions for c in d.checks if not c.allowed]
    platform = [judge.decide(r) for r in platform_requirements(snapshot, function, facts)]
    used = [c.requirement for d in decisions for c in d.checks] + [c.requirement for c in platform]
    return PermissionReport(judge.function, judge.role_arn, decisions, denied, _unused(judge, used), platform)


_FACTS: dict[int, tuple[StackSnapshot, StackFacts]] = {}


def _facts(snapshot: StackSnapshot) -> StackFacts:
    cached = _FACTS.get(id(snapshot))
    if cached is None or cached[0] is not snapshot:
        cached = _FACTS[id(snapshot)] = (snapshot, StackFacts.from_snapshot(snapshot))
    return cached[1]


def _unused(judge: Judge, used: list[Requirement]) -> list[UnusedGrant]:
    unused = []
    for policy in judge.identity:
        for index, statement in enumerate(policy.statements):
            if statement.get("Effect", "Allow") != "Allow" or "NotAction" in statement:
                continue
            resources = tuple(_listed(statement.get("Resource"))) or ("*",)
            for action in _listed(statement.get("Action")):
                single = {**statement, "Action": [action]}
                matches = (match_statement(policy, index, single, r, judge.context(r), judge.role_arn, judge.account)
                           for r in used)
                if not any(m.action_matches and m.resource_matches for m in matches):
                    sid = statement.get("Sid") or f"{policy.name}[{index}]"
                    unused.append(UnusedGrant(policy.name, sid, action, resources))
    return unused


LIMITATIONS = (
    "Only identity policies of the role and the stack's resource policies are evaluated: no SCPs, "
    "permission boundaries or session policies (the project uses none).",
    "KMS grants are not modelled; a key policy is evaluated only as 'trusts the account' or 'names the role'.",
    "aws:ResourceTag/*, aws:PrincipalTag/*, aws:SourceVpc(e), dates and IP conditions are listed, not evaluated.",
    "dynamodb:LeadingKeys is derived for items and table queries, not for index queries; "
    "dynamodb:Attributes is never derived.",
    "DAX calls are judged only if the runner records them as service 'dax' (the DAX client is not botocore).",
    "kms:Decrypt without KeyId can't be judged: the key is inside the ciphertext.",
)
