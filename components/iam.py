"""IAM policy documents built from data, never from formatted JSON strings."""
from typing import Any, Optional, Sequence, Union

import pulumi

PolicyStatement = dict[str, Any]


def policy_document(statements: Sequence[pulumi.Input[PolicyStatement]]) -> pulumi.Output[str]:
    """A policy document as JSON; statements may hold Outputs such as ARNs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Sequence[str], resources: Sequence[pulumi.Input[str]], sid: Optional[str] = None,
          condition: Optional[dict] = None) -> PolicyStatement:
    statement: PolicyStatement = {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def service_trust_policy(service: str, condition: Optional[dict] = None) -> pulumi.Output[str]:
    statement: PolicyStatement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return policy_document([statement])


def deny_insecure_transport(resources: Sequence[pulumi.Input[str]], principal: Any = "*",
                            action: Union[str, list[str]] = "*") -> PolicyStatement:
    """The TLS-only statement every bucket, queue and topic policy carries."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": principal,
        "Action": action,
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
