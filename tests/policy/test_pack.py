"""The CrossGuard pack: builds without starting the policy server, and reports through the real
pulumi_policy argument objects, including preview's unknown-value proxies."""
import json

from pulumi_policy import (EnforcementLevel, PolicyCustomTimeouts, PolicyProviderResource, PolicyResource,
                           PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy,
                           StackValidationArgs, StackValidationPolicy)
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import all_rules
from policy.__main__ import PACK_NAME, build_policies
from policy.tokens import BUCKET, BUCKET_PUBLIC_ACCESS_BLOCK, FUNCTION, TABLE

OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def provider(environment):
    tags = json.dumps({"tags": {"project": "serverless-blueprints", "stack": environment, "environment": environment}})
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy({"region": "eu-west-1", "defaultTags": tags}),
                                  "urn:pulumi:dev::serverless-blueprints::pulumi:providers:aws::default", "default")


def policies():
    return {p.name: p for p in build_policies()}


def run_resource_policy(name, resource_type, props, environment="dev", config=None):
    messages = []
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(props),
                                  f"urn:pulumi:{environment}::serverless-blueprints::{resource_type}::r", "r",
                                  OPTS, provider(environment), config)
    policies()[name].validate(args, lambda message, urn=None: messages.append(message))
    return messages


def test_pack_has_one_policy_per_rule_and_a_split_for_prod_only_rules():
    built = policies()
    assert PACK_NAME == "serverless-blueprints"
    for rule in all_rules():
        assert rule.id in built
        assert built[rule.id].remediation_steps == rule.remediation
    assert built["SB-DDB-002"].enforcement_level == EnforcementLevel.MANDATORY
    assert built["SB-DDB-002-advisory"].enforcement_level == EnforcementLevel.ADVISORY
    assert built["SB-LAMBDA-004"].enforcement_level == EnforcementLevel.ADVISORY
    assert isinstance(built["SB-LAMBDA-001"], ResourceValidationPolicy)
    assert isinstance(built["SB-S3-001"], StackValidationPolicy)


def test_resource_policy_reports_through_crossguard():
    messages = run_resource_policy("SB-LAMBDA-001", FUNCTION, {"runtime": "python3.13", "memorySize": 256})
    assert messages == ["aws:lambda/function:Function 'r': 'timeout' is not set.\nFix: "
                        + next(r.remediation for r in all_rules() if r.id == "SB-LAMBDA-001")]


def test_unknown_values_behind_the_preview_proxy_are_not_violations():
    assert run_resource_policy("SB-LAMBDA-001", FUNCTION, {"timeout": UNKNOWN_NUMBER_VALUE, "memorySize": 256}) == []
    assert run_resource_policy("SB-LAMBDA-003", FUNCTION, {"runtime": UNKNOWN_STRING_VALUE}) == []


def test_resource_policy_ignores_other_types():
    assert run_resource_policy("SB-LAMBDA-001", TABLE, {}) == []


def test_prod_only_rule_reports_as_mandatory_for_prod_tagged_providers():
    unprotected = {"name": "orders", "pointInTimeRecovery": {"enabled": True}}
    assert len(run_resource_policy("SB-DDB-002", TABLE, unprotected, environment="prod")) == 1
    assert run_resource_policy("SB-DDB-002-advisory", TABLE, unprotected, environment="prod") == []
    assert run_resource_policy("SB-DDB-002", TABLE, unprotected, environment="dev") == []
    assert len(run_resource_policy("SB-DDB-002-advisory", TABLE, unprotected, environment="dev")) == 1


def test_pack_config_sets_the_environment_when_providers_have_no_tag():
    unprotected = {"name": "orders", "pointInTimeRecovery": {"enabled": True}}
    messages = []
    untagged = PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy({"region": "eu-west-1"}), "urn:p", "default")
    args = ResourceValidationArgs(TABLE, unknown_checking_proxy(unprotected), "urn:t", "t", OPTS, untagged, {"environment": "dev"})
    policies()["SB-DDB-002-advisory"].validate(args, lambda message, urn=None: messages.append(message))
    assert len(messages) == 1


def stack_resource(resource_type, name, props):
    return PolicyResource(resource_type, unknown_checking_proxy(props), f"urn:pulumi:dev::serverless-blueprints::{resource_type}::{name}",
                          name, OPTS, provider("dev"), None, [], {})


def run_stack_policy(name, resources):
    reported = []
    policies()[name].validate(StackValidationArgs(resources, None), lambda message, urn=None: reported.append((urn, message)))
    return reported


def test_stack_policy_reports_with_the_resource_urn():
    bucket = stack_resource(BUCKET, "uploads", {"bucket": "uploads-1a2b3c4"})
    [(urn, message)] = run_stack_policy("SB-S3-001", [bucket])
    assert urn == bucket.urn and "no public access block" in message


def test_stack_policy_follows_property_dependencies_when_ids_are_unknown():
    bucket = stack_resource(BUCKET, "uploads", {"bucket": "uploads-1a2b3c4", "id": UNKNOWN_STRING_VALUE})
    block = stack_resource(BUCKET_PUBLIC_ACCESS_BLOCK, "uploads-pab", {
        "bucket": UNKNOWN_STRING_VALUE, "blockPublicAcls": True, "blockPublicPolicy": True,
        "ignorePublicAcls": True, "restrictPublicBuckets": True})
    block.property_dependencies = {"bucket": [bucket]}
    assert run_stack_policy("SB-S3-001", [bucket, block]) == []


def test_analyzer_service_reports_through_grpc_messages():
    """The servicer `pulumi preview --policy-pack` talks to, fed the protobuf it would send."""
    from google.protobuf import struct_pb2
    from pulumi.runtime import proto
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    def struct(values):
        message = struct_pb2.Struct()
        message.update(values)
        return message

    prod = proto.AnalyzerProviderResource(type="pulumi:providers:aws", urn="urn:provider", name="default", properties=struct(
        {"region": "eu-west-1", "defaultTags": json.dumps({"tags": {"environment": "prod"}})}))
    service = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", build_policies(), EnforcementLevel.MANDATORY)
    table = proto.AnalyzeRequest(type=TABLE, urn="urn:table", name="orders", provider=prod, properties=struct(
        {"name": "orders", "pointInTimeRecovery": {"enabled": UNKNOWN_STRING_VALUE}}))
    diagnostics = service.Analyze(table, None).diagnostics
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [("SB-DDB-002", proto.MANDATORY)]
