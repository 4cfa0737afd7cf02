"""The permissions judge: every AWS call a function makes, against the role the real stacks grant it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

from offline.harness import ACCOUNT_ID, RecordedResource, StackSnapshot
from twin.arns import UnmappedOperation, mapped_operations
from twin.permissions import (MANAGED_POLICIES, PolicyDocument, decide, evaluate_calls, function_resource_of,
                              role_policies_for)

REGION = "eu-west-1"


@dataclass
class Call:
    """The shape of the twin runner's AwsCall."""
    service: str
    operation: str
    params: dict
    region: str = REGION
    error_code: Optional[str] = None


def bucket(stack: StackSnapshot, name: str) -> str:
    return stack.named(name).outputs["bucket"]


def table(stack: StackSnapshot, name: str) -> str:
    return stack.named(name).outputs["name"]


@pytest.fixture(params=["dev", "prod"])
def stack(request, dev_stack, prod_stack) -> StackSnapshot:
    return {"dev": dev_stack, "prod": prod_stack}[request.param]


# --- the role's policies ---------------------------------------------------------------------------

def test_role_policies_are_the_functions_own_role_policy(dev_stack):
    policies = role_policies_for(dev_stack, dev_stack.named("photos-worker-fn"))

    assert [p.name for p in policies] == ["photos-worker-policy"]
    assert {s["Sid"] for s in policies[0].statements} >= {"ReadUploads", "WriteThumbnailsAndFailureRecords"}


def _role_stack(policy_arn: str) -> tuple[StackSnapshot, RecordedResource]:
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/fn-role-1234567"
    role = RecordedResource("urn:role", "aws:iam/role:Role", "fn-role", {}, True,
                            outputs={"arn": role_arn, "id": "fn-role-1234567", "name": "fn-role-1234567"})
    attachment = RecordedResource("urn:att", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "fn-logs",
                                  {"role": "fn-role-1234567", "policyArn": policy_arn}, True)
    function = RecordedResource("urn:fn", "aws:lambda/function:Function", "fn", {"role": role_arn}, True,
                                outputs={"arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:fn", "name": "fn",
                                         "_region": REGION})
    return StackSnapshot("unit", [role, attachment, function], {}, {}), function


def test_managed_policy_attachment_reads_the_pinned_document():
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    snapshot, function = _role_stack(arn)

    assert role_policies_for(snapshot, function) == [MANAGED_POLICIES[arn]]
    assert "docs.aws.amazon.com" in MANAGED_POLICIES[arn].source


def test_unpinned_managed_policy_is_an_error_not_an_empty_policy():
    snapshot, function = _role_stack("arn:aws:iam::aws:policy/AmazonS3FullAccess")

    with pytest.raises(KeyError, match="pin its document"):
        role_policies_for(snapshot, function)


# --- S3: the thumbnailer ----------------------------------------------------------------------------

def test_thumbnail_put_under_a_size_prefix_is_allowed(stack):
    put = Call("s3", "PutObject", {"Bucket": bucket(stack, "photos-thumbnails"), "Key": "128/cat.jpg"})

    report = evaluate_calls(stack, "photos-worker", [put])

    assert report.allowed
    assert report.decisions[0].actions == ["s3:PutObject"]
    assert report.decisions[0].statement_sid == "WriteThumbnailsAndFailureRecords"


def test_thumbnail_put_under_the_upload_prefix_is_denied_naming_the_closest_statement(dev_stack):
    thumbnails = bucket(dev_stack, "photos-thumbnails")
    put = Call("s3", "PutObject", {"Bucket": thumbnails, "Key": "uploads/cat.jpg"})

    report = evaluate_calls(dev_stack, "photos-worker", [put])

    [denial] = report.denied
    assert (denial.action, denial.resource, denial.statement_sid) == (
        "s3:PutObject", f"arn:aws:s3:::{thumbnails}/uploads/cat.jpg", "WriteThumbnailsAndFailureRecords")
    assert denial.message == (
        f"photos-worker: s3:PutObject on arn:aws:s3:::{thumbnails}/uploads/cat.jpg denied (closest statement: "
        f"WriteThumbnailsAndFailureRecords allows s3:PutObject on arn:aws:s3:::{thumbnails}/128/*, "
        f"arn:aws:s3:::{thumbnails}/256/*, arn:aws:s3:::{thumbnails}/512/*, arn:aws:s3:::{thumbnails}/_failures/*)")
    assert denial.call is put


def test_bucket_policy_explicit_deny_stops_the_thumbnailer_writing_uploads(stack):
    uploads = bucket(stack, "photos-uploads")
    put = Call("s3", "PutObject", {"Bucket": uploads, "Key": "uploads/cat.jpg"})

    [denial] = evaluate_calls(stack, "photos-worker", [put]).denied

    assert denial.check.explicit_deny is not None
    assert denial.statement_sid == "ThumbnailerNeverWritesUploads"
    assert "explicit deny: ThumbnailerNeverWritesUploads" in denial.message


def test_reading_a_missing_upload_also_needs_list_bucket(dev_stack):
    uploads = bucket(dev_stack, "photos-uploads")
    missing = Call("s3", "GetObject", {"Bucket": uploads, "Key": "uploads/gone.jpg"}, error_code="NoSuchKey")

    [decision] = evaluate_calls(dev_stack, "photos-worker", [missing]).decisions

    assert decision.allowed
    assert decision.actions == ["s3:GetObject", "s3:ListBucket"]
    assert f"arn:aws:s3:::{uploads}" in decision.resources


def test_twin_names_are_mapped_to_recorded_names_before_arns(dev_stack):
    put = Call("s3", "PutObject", {"Bucket": "twin-thumbnails", "Key": "256/cat.jpg"})

    report = evaluate_calls(dev_stack, "photos-worker", [put],
                            names={"twin-thumbnails": bucket(dev_stack, "photos-thumbnails")})

    assert report.allowed


# --- evaluation semantics ---------------------------------------------------------------------------

def _doc(*statements: dict) -> PolicyDocument:
    return PolicyDocument("test", "inline", {"Version": "2012-10-17", "Statement": list(statements)})


def test_not_action_allows_everything_but_the_named_actions():
    policy = _doc({"Sid": "AllButDelete", "Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"})

    assert decide([policy], "s3:PutObject", "arn:aws:s3:::b/k").allowed
    denied = decide([policy], "s3:DeleteObject", "arn:aws:s3:::b/k")
    assert not denied.allowed and denied.explicit_deny is None


def test_explicit_deny_with_not_resource_beats_an_allow():
    policy = _doc({"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                  {"Sid": "OnlyBucketB", "Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"})

    assert decide([policy], "s3:GetObject", "arn:aws:s3:::b/k").allowed
    check = decide([policy], "s3:GetObject", "arn:aws:s3:::other/k")
    assert not check.allowed and check.statement_sid == "OnlyBucketB"


def test_wildcards_follow_iam_not_regular_expressions():
    policy = _doc({"Effect": "Allow", "Action": "s3:GetObjec?", "Resource": "arn:aws:s3:::a.b/*"})

    assert decide([policy], "S3:getobject", "arn:aws:s3:::a.b/k").allowed  # actions are case-insensitive
    assert not decide([policy], "s3:GetObject", "arn:aws:s3:::aXb/k").allowed  # "." is a dot


def test_a_condition_the_judge_cannot_evaluate_is_listed_not_ignored():
    policy = _doc({"Sid": "Tagged", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:ResourceTag/team": "blog"}}})

    check = decide([policy], "s3:GetObject", "arn:aws:s3:::b/k")

    assert check.allowed
    assert any("aws:ResourceTag/team" in u for u in check.unchecked_conditions)


# --- DynamoDB -----------------------------------------------------------------------------------------

def test_published_posts_query_on_the_index_is_allowed_and_on_the_table_is_not(stack):
    blog = table(stack, "blog-table")
    query = {"TableName": blog, "KeyConditionExpression": "publishedFeed = :feed",
             "ExpressionAttributeValues": {":feed": {"S": "posts"}}}
    on_index = Call("dynamodb", "Query", {**query, "IndexName": "published-posts"})
    on_table = Call("dynamodb", "Query", query)

    report = evaluate_calls(stack, "blog-api-handler", [on_index, on_table])

    assert report.decisions[0].allowed
    assert f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{blog}/index/published-posts" in report.decisions[0].resources
    assert [d.resource for d in report.denied] == [f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{blog}"]
    assert report.denied[0].statement_sid == "ListPublishedPosts"


def test_leading_keys_let_the_blog_api_read_posts_but_not_subscribers(dev_stack):
    blog = table(dev_stack, "blog-table")
    post = Call("dynamodb", "GetItem", {"TableName": blog, "Key": {"pk": {"S": "POST#hello"}, "sk": {"S": "POST"}}})
    subscriber = Call("dynamodb", "GetItem", {"TableName": blog,
                                              "Key": {"pk": {"S": "SUBSCRIBER#a@b.c"}, "sk": {"S": "PROFILE"}}})

    report = evaluate_calls(dev_stack, "blog-api-handler", [post, subscriber])

    assert [d.allowed for d in report.decisions] == [True, False]
    assert "dynamodb:LeadingKeys" in report.denied[0].message and "SUBSCRIBER#a@b.c" in report.denied[0].message


def _order_transaction(stack: StackSnapshot) -> Call:
    return Call("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": table(stack, "outbox-orders"), "Item": {"orderId": {"S": "o-1"}},
                 "ConditionExpression": "attribute_not_exists(orderId)"}},
        {"Put": {"TableName": table(stack, "outbox-outbox"), "Item": {"eventId": {"S": "e-1"}},
                 "ConditionExpression": "attribute_not_exists(eventId)"}},
    ]})


def test_order_and_its_event_are_written_in_one_transaction_across_two_tables(stack):
    report = evaluate_calls(stack, "outbox-order-service", [_order_transaction(stack)])

    [decision] = report.decisions
    assert decision.allowed
    assert [(c.action, c.resource.rsplit("/", 1)[1]) for c in decision.checks] == [
        ("dynamodb:PutItem", table(stack, "outbox-orders")), ("dynamodb:PutItem", table(stack, "outbox-outbox"))]
    assert all(c.requirement.context["dynamodb:enclosingoperation"] == ("TransactWriteItems",)
               for c in decision.checks)


def test_an_order_put_outside_the_transaction_is_denied_by_the_enclosing_operation_condition(dev_stack):
    put = Call("dynamodb", "PutItem", {"TableName": table(dev_stack, "outbox-orders"),
                                       "Item": {"orderId": {"S": "o-1"}}})

    [denial] = evaluate_calls(dev_stack, "outbox-order-service", [put]).denied

    assert denial.statement_sid == "OrderAndEventInOneTransaction"
    assert "unmet: StringEquals dynamodb:EnclosingOperation" in denial.message


def test_prod_blog_table_reads_need_its_kms_key_through_dynamodb(prod_stack):
    blog = table(prod_stack, "blog-table")
    get = Call("dynamodb", "GetItem", {"TableName": blog, "Key": {"pk": {"S": "POST#a"}, "sk": {"S": "POST"}}})

    [decision] = evaluate_calls(prod_stack, "blog-api-handler", [get]).decisions

    kms = [c for c in decision.checks if c.action == "kms:Decrypt"]
    assert decision.allowed and len(kms) == 1
    assert kms[0].requirement.implied_by and kms[0].statement_sid == "TableKeyThroughDynamoDB"


# --- SES, EventBridge -------------------------------------------------------------------------------

def test_welcome_email_is_allowed_only_from_the_configured_sender(prod_stack):
    env = function_resource_of(prod_stack, "blog-welcome-sender").props["environment"]["variables"]
    request = {"Destination": {"ToAddresses": ["reader@example.org"]}, "Template": env["SES_TEMPLATE_NAME"],
               "TemplateData": "{}", "ConfigurationSetName": env["SES_CONFIGURATION_SET"]}
    ours = Call("ses", "SendTemplatedEmail", {"Source": env["SENDER_ADDRESS"], **request})
    spoofed = Call("ses", "SendTemplatedEmail", {"Source": "Boss <ceo@example.com>", **request})

    report = evaluate_calls(prod_stack, "blog-welcome-sender", [ours, spoofed])

    assert [d.allowed for d in report.decisions] == [True, False]
    assert sorted(r.split(":")[-1].split("/")[0] for r in report.decisions[0].resources) == [
        "configuration-set", "identity", "template"]
    assert all("ses:FromAddress" in d.message for d in report.denied)


def test_events_without_a_bus_name_go_to_the_default_bus_which_is_not_granted(dev_stack):
    bus = function_resource_of(dev_stack, "outbox-relay").props["environment"]["variables"]["EVENT_BUS_NAME"]
    entry = {"Source": "serverless-blueprints.orders", "DetailType": "OrderCreated", "Detail": "{}"}
    call = Call("events", "PutEvents", {"Entries": [{**entry, "EventBusName": bus}, entry]})

    report = evaluate_calls(dev_stack, "outbox-relay", [call])

    assert [d.resource for d in report.denied] == [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"]


# --- mapping coverage and errors ---------------------------------------------------------------------

def test_an_unmapped_operation_raises_instead_of_being_allowed(dev_stack):
    call = Call("s3", "GetBucketEncryption", {"Bucket": bucket(dev_stack, "photos-thumbnails")})

    with pytest.raises(UnmappedOperation, match=r"no action mapping for s3:GetBucketEncryption; add it to twin/"):
        evaluate_calls(dev_stack, "photos-worker", [call])


def test_endpoint_prefixes_are_read_as_service_names(dev_stack):
    env = function_resource_of(dev_stack, "blog-welcome-sender").props["environment"]["variables"]
    send = Call("email", "SendTemplatedEmail", {"Source": env["SENDER_ADDRESS"], "Template": env["SES_TEMPLATE_NAME"],
                                                "Destination": {"ToAddresses": ["r@example.org"]},
                                                "TemplateData": "{}"})
    metric = Call("monitoring", "PutMetricData", {"Namespace": "blog", "MetricData": []})

    report = evaluate_calls(dev_stack, "blog-welcome-sender", [send, metric])

    assert report.decisions[0].allowed
    assert report.decisions[1].actions == ["cloudwatch:PutMetricData"] and not report.decisions[1].allowed


def test_every_mapped_operation_is_a_botocore_operation():
    import botocore.session

    session = botocore.session.get_session()
    for service, operation in mapped_operations():
        if service != "dax":
            assert operation in session.get_service_model(service).operation_names, (service, operation)


# --- least privilege and the Lambda service ------------------------------------------------------------

def test_unused_actions_report_lists_grants_no_call_used(dev_stack):
    thumbnails, uploads = bucket(dev_stack, "photos-thumbnails"), bucket(dev_stack, "photos-uploads")
    calls = [Call("s3", "GetObject", {"Bucket": uploads, "Key": "uploads/cat.jpg"}),
             Call("s3", "PutObject", {"Bucket": thumbnails, "Key": "128/cat.jpg"})]

    report = evaluate_calls(dev_stack, "photos-worker", calls)

    assert report.allowed
    # The event source mapping polls with Receive/Delete/GetQueueAttributes; nothing changes visibility.
    assert "sqs:ChangeMessageVisibility" in report.unused_actions
    assert "sqs:ReceiveMessage" not in report.unused_actions and "s3:PutObject" not in report.unused_actions
    assert {u.sid for u in report.unused} >= {"ConsumeUploadQueue", "TellMissingUploadsFrom403"}


def test_what_the_lambda_service_does_with_each_role_is_allowed(stack):
    for function in stack.of_type("aws:lambda/function:Function"):
        report = evaluate_calls(stack, function, [])
        assert report.platform, function.name
        assert [(c.action, c.resource) for c in report.platform_gaps] == [], function.name


def test_prod_todo_calls_through_dax_are_judged_on_the_cluster_not_the_table(prod_stack):
    todos = table(prod_stack, "todo-todos")
    key = {"userId": {"S": "alice"}, "todoId": {"S": "t-1"}}
    through_dax = Call("dax", "GetItem", {"TableName": todos, "Key": key})
    direct = Call("dynamodb", "GetItem", {"TableName": todos, "Key": key})

    report = evaluate_calls(prod_stack, "todo-handler", [through_dax, direct])

    assert report.decisions[0].allowed and report.decisions[0].statement_sid == "TodosThroughDax"
    assert report.decisions[0].resources == [prod_stack.named("todo-dax").outputs["arn"]]
    assert [d.action for d in report.denied] == ["dynamodb:GetItem"]
