"""GlobalTable: a DynamoDB global table (version 2019.11.21) with every replica hardened alike.

    home region (this component's provider)            each replica region (its own provider)
    ┌──────────────────────────────────────┐            ┌──────────────────────────────────────┐
    │ table  pk (S) / sk (S) [+ GSIs]       │ ◀────────▶ │ replica                              │
    │  on-demand, PITR, deletion protection │  2-way     │  PITR, deletion protection,          │
    │  KMS key (home)                       │ replication│  KMS key (created in that region)    │
    │  stream NEW_AND_OLD_IMAGES ──▶ consumers (home only)│                                      │
    └──────────────────────────────────────┘            └──────────────────────────────────────┘

Replication needs the stream with both images, so it is always on. Each replica is declared
inline on the table (`replicas[]`) with point-in-time recovery, deletion protection and its
KMS key, so no replica can be weaker than the table. A customer-managed key is regional:
one key per region, each created with that region's provider.
"""
from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

# How the table (and every replica) is encrypted at rest.
KMS_CHOICES = ("aws-owned", "aws-managed", "customer-managed")
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"  # global tables replicate through it
REGION_NAME = re.compile(r"(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|"
                         r"northwest|southwest)-[1-9]")
PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
KMS_KEY_DELETION_WINDOW_DAYS = 30


def is_region_name(value: str) -> bool:
    """A commercial AWS region name such as eu-west-1 (global tables stay in one partition)."""
    return REGION_NAME.fullmatch(value) is not None


class GlobalTableIndex(TypedDict, total=False):
    name: str
    """Index name."""
    hash_key: str
    """Partition key attribute (a string)."""
    range_key: Optional[str]
    """Sort key attribute (a string), if any."""
    projection_type: str
    """ALL, KEYS_ONLY or INCLUDE."""
    non_key_attributes: Sequence[str]
    """Projected attributes with INCLUDE."""


class GlobalTableArgs(TypedDict, total=False):
    hash_key: str
    """Partition key attribute (default pk, a string)."""
    range_key: Optional[str]
    """Sort key attribute (default sk, a string); None for a hash-only table."""
    global_secondary_indexes: Sequence[GlobalTableIndex]
    """Global secondary indexes (replicated with the table); their keys are strings."""
    replica_providers: Mapping[str, pulumi.ProviderResource]
    """Replica region -> aws provider for that region (KMS keys are created with it). Empty: one region."""
    kms: str
    """aws-owned, aws-managed (alias/aws/dynamodb) or customer-managed (a rotated key per region)."""
    deletion_protection: bool
    """Deletion protection on the table and every replica; customer-managed keys are kept for 30 days."""
    ttl_attribute: Optional[str]
    """Attribute holding an epoch-seconds expiry, if items expire."""


def _check_args(name: str, args: GlobalTableArgs) -> None:
    def fail(message: str) -> None:
        raise ValueError(f"{name}: {message}")

    kms = args.get("kms", "aws-managed")
    if kms not in KMS_CHOICES:
        fail(f"kms {kms!r} is not allowed; allowed: {', '.join(KMS_CHOICES)}")
    for region in args.get("replica_providers", {}):
        if not is_region_name(region):
            fail(f"replica region {region!r} is not an AWS region name such as us-east-1")
        if args["replica_providers"][region] is None:
            fail(f"replica region {region} needs its provider (the KMS key and the replica live there)")
    names = [index.get("name") for index in args.get("global_secondary_indexes", [])]
    if len(set(names)) != len(names):
        fail(f"global_secondary_indexes names {names} must be distinct")
    for index in args.get("global_secondary_indexes", []):
        projection = index.get("projection_type", "ALL")
        if projection not in PROJECTIONS:
            fail(f"index {index.get('name')!r}: projection_type {projection!r} is not one of {', '.join(PROJECTIONS)}")
        if bool(index.get("non_key_attributes")) != (projection == "INCLUDE"):
            fail(f"index {index.get('name')!r}: non_key_attributes go with projection_type INCLUDE, and only with it")


class GlobalTable(pulumi.ComponentResource):
    table: aws.dynamodb.Table
    """The table (home region), with its replicas inline."""
    name: pulumi.Output[str]
    """Table name (the same in every region)."""
    arn: pulumi.Output[str]
    """ARN of the home-region table."""
    stream_arn: pulumi.Output[str]
    """ARN of the home-region stream: consume it here only, or every replica's write is seen N times."""
    home_region: pulumi.Output[str]
    """Region of the home table."""
    replica_regions: list[str]
    """Replica regions, in the order given."""
    kms_keys: dict[str, aws.kms.Key]
    """Customer-managed keys by region ("home" for the table's); empty for the other kms choices."""
    home_kms_key_arn: Optional[pulumi.Output[str]]
    """The home region's customer-managed key (readers of the table and stream decrypt with it)."""

    def __init__(self, name: str, args: Optional[GlobalTableArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        args = args or {}
        _check_args(name, args)
        super().__init__("serverless-blueprints:index:GlobalTable", name, None, opts)
        protect = args.get("deletion_protection", False)
        kms = args.get("kms", "aws-managed")
        replica_providers = dict(args.get("replica_providers", {}))
        hash_key, range_key = args.get("hash_key", "pk"), args.get("range_key", "sk")
        indexes = list(args.get("global_secondary_indexes", []))

        self.kms_keys = {}
        self.home_kms_key_arn = None
        if kms == "customer-managed":
            self.kms_keys["home"] = self._key(f"{name}-key", "home region", protect,
                                              pulumi.ResourceOptions(parent=self))
            for region, provider in replica_providers.items():
                self.kms_keys[region] = self._key(f"{name}-key-{region}", region, protect,
                                                  pulumi.ResourceOptions(parent=self, provider=provider))
            self.home_kms_key_arn = self.kms_keys["home"].arn

        key_names = [hash_key, *([range_key] if range_key else [])]
        for index in indexes:
            key_names += [index["hash_key"], *([index["range_key"]] if index.get("range_key") else [])]
        attributes = [{"name": attribute, "type": "S"} for attribute in dict.fromkeys(key_names)]

        self.table = aws.dynamodb.Table(
            name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key, range_key=range_key, attributes=attributes,
            global_secondary_indexes=[{
                "name": index["name"], "hash_key": index["hash_key"], "range_key": index.get("range_key"),
                "projection_type": index.get("projection_type", "ALL"),
                "non_key_attributes": list(index.get("non_key_attributes", [])) or None,
            } for index in indexes] or None,
            stream_enabled=True, stream_view_type=STREAM_VIEW_TYPE,
            point_in_time_recovery={"enabled": True},
            server_side_encryption=self._encryption(kms),
            deletion_protection_enabled=protect,
            ttl={"attribute_name": args["ttl_attribute"], "enabled": True} if args.get("ttl_attribute") else None,
            replicas=[{
                "region_name": region,
                "point_in_time_recovery": True,
                "deletion_protection_enabled": protect,
                # aws-managed: each replica uses its own region's alias/aws/dynamodb.
                "kms_key_arn": self.kms_keys[region].arn if region in self.kms_keys else None,
                "propagate_tags": True,
            } for region in replica_providers],
            opts=pulumi.ResourceOptions(parent=self))

        self.name = self.table.name
        self.arn = self.table.arn
        self.stream_arn = self.table.stream_arn
        self.home_region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.replica_regions = list(replica_providers)
        self.register_outputs({"name": self.name, "arn": self.arn, "stream_arn": self.stream_arn,
                               "home_region": self.home_region, "replica_regions": self.replica_regions})

    def _encryption(self, kms: str) -> dict:
        if kms == "customer-managed":
            return {"enabled": True, "kms_key_arn": self.kms_keys["home"].arn}
        # enabled=False is DynamoDB's default encryption with an AWS owned key.
        return {"enabled": kms == "aws-managed"}

    @staticmethod
    def _key(name: str, where: str, protect: bool, opts: pulumi.ResourceOptions) -> aws.kms.Key:
        # The default key policy delegates to IAM: each reader's role names this key (scoped by kms:ViaService).
        return aws.kms.Key(name, description=f"{name}: DynamoDB global table replica key ({where})",
                           enable_key_rotation=True,
                           deletion_window_in_days=KMS_KEY_DELETION_WINDOW_DAYS if protect else 7, opts=opts)


def table_key_statements(table: GlobalTable, actions: Sequence[str], sid: str) -> list[dict]:
    """IAM statements letting a reader/writer of the home table use its customer-managed key, through
    DynamoDB only. Empty when the table isn't encrypted with a customer-managed key."""
    if table.home_kms_key_arn is None:
        return []
    return [{"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": [table.home_kms_key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "dynamodb.", table.home_region, ".amazonaws.com")}}}]
