"""The whole pack over a compliant stack, suppressions, and the report the offline plan prints."""
import json

import pytest

from policy import MANDATORY, SUPPRESSIONS, UNKNOWN, Provider, Resource, Suppression, all_rules, evaluate, rule_by_id
from policy.tokens import (BUCKET, BUCKET_LOGGING, BUCKET_NOTIFICATION, BUCKET_OWNERSHIP_CONTROLS, BUCKET_POLICY,
                           BUCKET_PUBLIC_ACCESS_BLOCK, BUCKET_SSE, BUCKET_VERSIONING, EVENT_SOURCE_MAPPING, FUNCTION,
                           LOG_GROUP, QUEUE, QUEUE_POLICY, ROLE, TABLE)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PROD = Provider(props={"region": REGION, "defaultTags": json.dumps(
    {"tags": {"project": "serverless-blueprints", "stack": "prod", "environment": "prod"}})}, name="aws")


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def tls_deny(service, *resources):
    return {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": f"{service}:*", "Resource": list(resources),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def res(token, name, props, **links):
    return Resource(token, props, name=name, provider=PROD, **links)


def secure_bucket(name, log_target=None, versioned=True, extra_statements=()):
    physical = f"{name}-1a2b3c4"
    arn = f"arn:aws:s3:::{physical}"
    bucket = res(BUCKET, name, {"bucket": physical, "id": physical, "arn": arn})
    parts = [
        bucket,
        res(BUCKET_PUBLIC_ACCESS_BLOCK, f"{name}-pab", {"bucket": physical, "blockPublicAcls": True, "blockPublicPolicy": True,
                                                       "ignorePublicAcls": True, "restrictPublicBuckets": True}),
        res(BUCKET_OWNERSHIP_CONTROLS, f"{name}-ownership", {"bucket": physical, "rule": {"objectOwnership": "BucketOwnerEnforced"}}),
        res(BUCKET_SSE[0], f"{name}-sse", {"bucket": physical, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}),
        res(BUCKET_POLICY, f"{name}-policy", {"bucket": physical, "policy": document(tls_deny("s3", arn, f"{arn}/*"), *extra_statements)}),
    ]
    if versioned:
        parts.append(res(BUCKET_VERSIONING[0], f"{name}-versioning", {"bucket": physical, "versioningConfiguration": {"status": "Enabled"}}))
    if log_target is not None:
        parts.append(res(BUCKET_LOGGING[0], f"{name}-logging", {"bucket": physical, "targetBucket": log_target, "targetPrefix": f"{name}/"}))
    return parts


def thumbnail_pipeline():
    """S3 upload -> SQS -> Lambda -> thumbnails bucket: the shape the pack expects from our components."""
    logs = secure_bucket("logs", versioned=False, extra_statements=[{
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs-1a2b3c4/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}])
    uploads = secure_bucket("uploads", log_target="logs-1a2b3c4")
    thumbnails = secure_bucket("thumbnails", log_target="logs-1a2b3c4")

    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:uploads-1a2b3c4"
    queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/uploads-1a2b3c4"
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:uploads-dlq-1a2b3c4"
    dlq = res(QUEUE, "uploads-dlq", {"name": "uploads-dlq-1a2b3c4", "arn": dlq_arn, "sqsManagedSseEnabled": True,
                                     "policy": document(tls_deny("sqs", dlq_arn))})
    queue = res(QUEUE, "uploads", {"name": "uploads-1a2b3c4", "arn": queue_arn, "url": queue_url, "sqsManagedSseEnabled": True,
                                   "visibilityTimeoutSeconds": 180,
                                   "redrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})
    queue_policy = res(QUEUE_POLICY, "uploads-queue-policy", {"queueUrl": queue_url, "policy": document(
        tls_deny("sqs", queue_arn),
        {"Sid": "S3Sends", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::uploads-1a2b3c4"}}})})
    notification = res(BUCKET_NOTIFICATION, "uploads-notification", {
        "bucket": "uploads-1a2b3c4", "queues": [{"queueArn": queue_arn, "events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/"}]},
        dependencies=[queue_policy])

    group = res(LOG_GROUP, "thumbnailer-logs", {"name": "/aws/lambda/thumbnailer", "retentionInDays": 30,
                                                "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/thumbnailer"})
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/thumbnailer-role-1a2b3c4"
    role = res(ROLE, "thumbnailer-role", {"name": "thumbnailer-role-1a2b3c4", "arn": role_arn, "inlinePolicies": [{
        "name": "thumbnailer", "policy": document(
            {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "Resource": queue_arn},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::uploads-1a2b3c4/incoming/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::thumbnails-1a2b3c4/*"},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{group.props['arn']}:*"},
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"})}]})
    function = res(FUNCTION, "thumbnailer", {
        "name": "thumbnailer-1a2b3c4", "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer-1a2b3c4",
        "role": role_arn, "runtime": "python3.13", "handler": "thumbnailer.handler.handler", "timeout": 30, "memorySize": 1024,
        "tracingConfig": {"mode": "Active"}, "loggingConfig": {"logGroup": "/aws/lambda/thumbnailer", "logFormat": "JSON"},
        "environment": {"variables": {"THUMBNAIL_BUCKET": "thumbnails-1a2b3c4"}}})
    mapping = res(EVENT_SOURCE_MAPPING, "thumbnailer-uploads", {
        "eventSourceArn": queue_arn, "functionName": function.props["arn"], "batchSize": 10,
        "functionResponseTypes": ["ReportBatchItemFailures"]})
    return [*logs, *uploads, *thumbnails, dlq, queue, queue_policy, notification, group, role, function, mapping]


def test_compliant_pipeline_has_no_findings_at_all():
    report = evaluate(thumbnail_pipeline(), "prod")
    assert report.findings == [], report.summary()


def test_every_rule_has_an_id_description_remediation_and_level():
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.id.startswith("SB-") and rule.description and rule.remediation
        assert rule.level in ("mandatory", "advisory", "mandatory-in-prod")


def test_finding_carries_rule_resource_and_remediation():
    stack = [r for r in thumbnail_pipeline() if r.name != "uploads-pab"]
    [finding] = evaluate(stack, "prod").findings
    assert (finding.rule_id, finding.level, finding.name, finding.resource_type) == ("SB-S3-001", MANDATORY, "uploads", BUCKET)
    assert finding.urn.endswith("::uploads") and finding.message == "no public access block"
    assert finding.remediation == rule_by_id("SB-S3-001").remediation


def test_mandatory_findings_are_counted_apart_from_advisory_ones():
    stack = [r for r in thumbnail_pipeline() if r.name not in ("uploads-pab", "uploads-logging")]
    report = evaluate(stack, "prod")
    assert (report.mandatory_count, len(report.advisory), report.ok) == (1, 1, False)


def test_suppression_moves_the_finding_aside_with_its_reason():
    stack = [r for r in thumbnail_pipeline() if r.name != "uploads-pab"]
    accepted = Suppression("SB-S3-001", "uploads", "account-level block public access covers this bucket")
    report = evaluate(stack, "prod", suppressions=[accepted])
    assert report.findings == [] and report.ok
    [suppressed] = report.suppressed
    assert (suppressed.finding.rule_id, suppressed.finding.name, suppressed.reason) == (
        "SB-S3-001", "uploads", "account-level block public access covers this bucket")


def test_suppression_for_another_environment_does_not_apply():
    stack = [r for r in thumbnail_pipeline() if r.name != "uploads-pab"]
    dev_only = Suppression("SB-S3-001", "uploads", "short-lived dev bucket", environments=("dev",))
    report = evaluate(stack, "prod", suppressions=[dev_only])
    assert report.mandatory_count == 1 and report.unused_suppressions == [dev_only]


def test_suppression_needs_a_reason():
    with pytest.raises(ValueError):
        Suppression("SB-S3-001", "uploads", " ")


def test_listed_suppressions_name_real_rules():
    known = {rule.id for rule in all_rules()}
    assert all(s.rule_id in known and s.reason.strip() for s in SUPPRESSIONS)


def test_unknown_rule_id_is_refused():
    with pytest.raises(KeyError):
        evaluate([], "dev", rules=["SB-NOPE-001"])


def test_all_props_unknown_never_produce_a_mandatory_finding():
    """At preview, computed values are unknown; a stack whose links and values are all unknown must pass."""
    unknown_stack = []
    for resource in thumbnail_pipeline():
        props = {key: UNKNOWN for key in resource.props}
        unknown_stack.append(Resource(resource.resource_type, props, name=resource.name, provider=PROD))
    report = evaluate(unknown_stack, "prod")
    assert report.mandatory == [], report.summary()


def test_environment_falls_back_to_prod_without_tags():
    table = Resource(TABLE, {"name": "t", "pointInTimeRecovery": {"enabled": True}}, name="t")
    assert [f.level for f in evaluate([table], rules=["SB-DDB-002"]).findings] == ["mandatory"]


def test_summary_lists_findings_and_fixes():
    stack = [r for r in thumbnail_pipeline() if r.name != "uploads-pab"]
    text = evaluate(stack, "prod").summary()
    assert "SB-S3-001" in text and "fix: Add an aws.s3.BucketPublicAccessBlock" in text


def _distribution_with_http_origins(*origin_ids):
    origins = [{"originId": o, "domainName": f"{o}.example.com",
                "customOriginConfig": {"originProtocolPolicy": "http-only", "originSslProtocols": ["TLSv1.2"]}}
               for o in origin_ids]
    return Resource("aws:cloudfront/distribution:Distribution", {"origins": origins}, name="cdn")


def test_message_scoped_suppression_accepts_only_the_finding_it_names():
    demo_only = Suppression("SB-CF-005", "cdn", "demo origin has no certificate in dev", environments=("dev",),
                            message="origin 'demo' protocol policy is http-only")
    report = evaluate([_distribution_with_http_origins("demo", "app")], "dev", rules=["SB-CF-005"], suppressions=[demo_only])
    assert [s.finding.message for s in report.suppressed] == ["origin 'demo' protocol policy is http-only"]
    assert [f.message for f in report.findings] == ["origin 'app' protocol policy is http-only"]
