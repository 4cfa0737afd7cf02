"""Key policies of the customer-managed KMS keys our components create: one home, least privilege.

A key without an explicit policy gets KMS's default, which lets any IAM principal of the account
that an identity policy allows use the key for anything. Ours say who may do what:

- the account (root) *administers* the key (describe, rotate, tag, schedule deletion, change the
  policy) so it can never become unmanageable, but is not given blanket use of it;
- use is granted per service: the account's principals may use the key only through that service
  (`kms:ViaService` + `kms:CallerAccount`), and their identity policies still have to name the key
  (components do that, e.g. `global_table.table_key_statements`);
- a service principal that itself encrypts (SNS publishing to an encrypted topic from S3 or
  EventBridge, CloudWatch Logs) gets a statement scoped by `aws:SourceArn`/`aws:SourceAccount`.
"""
from collections.abc import Sequence
from typing import Optional

import pulumi

from .iam import PolicyStatement, policy_document

# Administration only: no Encrypt/Decrypt/GenerateDataKey for the account as a whole.
KEY_ADMINISTRATION_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*",
    "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:Update*",
)
# What DynamoDB needs on a table key, on behalf of the caller (it creates grants for replication,
# backups and streams).
DYNAMODB_KEY_ACTIONS = ("kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*",
                        "kms:ReEncrypt*")
# What a publisher to an encrypted SNS topic needs (SNS encrypts with a data key on its behalf).
SNS_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")


def account_root(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:iam::", account_id, ":root")


def administration(account_id: pulumi.Input[str]) -> PolicyStatement:
    """The account administers the key (policy, rotation, deletion), so it can't be orphaned."""
    return {"Sid": "AccountAdministersTheKey", "Effect": "Allow", "Principal": {"AWS": account_root(account_id)},
            "Action": list(KEY_ADMINISTRATION_ACTIONS), "Resource": "*"}


def use_through_service(account_id: pulumi.Input[str], service: str, region: pulumi.Input[str],
                        actions: Sequence[str], sid: str) -> PolicyStatement:
    """The account's principals may use the key only through `service` in `region` (and only if their
    identity policy names the key): e.g. DynamoDB for the table and its streams' readers."""
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": account_root(account_id)},
            "Action": sorted(actions), "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": account_id,
                                           "kms:ViaService": pulumi.Output.concat(service, ".", region,
                                                                                  ".amazonaws.com")}}}


def service_principal_use(service_principal: str, actions: Sequence[str], sid: str, account_id: pulumi.Input[str],
                          source_arn: Optional[pulumi.Input[str]] = None) -> PolicyStatement:
    """A service principal (e.g. events.amazonaws.com publishing to an encrypted topic) may use the key for
    this account's resources only (`aws:SourceAccount`, and `aws:SourceArn` when given)."""
    condition: dict = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service_principal},
            "Action": sorted(actions), "Resource": "*", "Condition": condition}


def dynamodb_table_key_policy(account_id: pulumi.Input[str], region: pulumi.Input[str]) -> pulumi.Output[str]:
    """Key policy of a DynamoDB table (or replica) key in `region`: administration + use through DynamoDB.

    Stream readers (Lambda event source mappings, the outbox relay) decrypt through DynamoDB too,
    so `kms:ViaService dynamodb.<region>` covers them; their roles name the key.
    """
    return policy_document([
        administration(account_id),
        use_through_service(account_id, "dynamodb", region, DYNAMODB_KEY_ACTIONS, "UseThroughDynamoDb"),
        {"Sid": "DynamoDbDescribesTheKey", "Effect": "Allow", "Principal": {"Service": "dynamodb.amazonaws.com"},
         "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListGrants"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}},
    ])


def sns_topic_key_statements(account_id: pulumi.Input[str], region: pulumi.Input[str],
                             publishers: Sequence[str] = ()) -> list[PolicyStatement]:
    """Statements a customer-managed key of an SNS topic needs (give them to the key you pass a component):
    the account's publishers and subscribers use it through SNS; each service principal in `publishers`
    (s3.amazonaws.com, events.amazonaws.com, cloudwatch.amazonaws.com) may publish for this account."""
    statements = [use_through_service(account_id, "sns", region, SNS_KEY_ACTIONS, "UseThroughSns")]
    for index, publisher in enumerate(publishers):
        statements.append(service_principal_use(publisher, SNS_KEY_ACTIONS, f"ServicePublishes{index}", account_id))
    return statements
