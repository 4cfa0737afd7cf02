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
one key per region, each created with that region's provider, each with an explicit key policy
(`kms_keys.dynamodb_table_key_policy`): the account administers it, and its principals may use it only
through DynamoDB in that region (stream readers included) when their own role names the key.
"""
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from . import kms_keys, monitoring
from .args import ArgsReader

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
    name: Required[str]
    """Index name."""
    hash_key: Required[str]
    """Partition key attribute (a string)."""
    range_key: Optional[str]
    """Sort key attribute (a string), if any."""
    projection_type: str
    """ALL, KEYS_ONLY or INCLUDE (default ALL)."""
    non_key_attributes: Sequence[str]
    """Projected attributes with INCLUDE (and only with it)."""


class GlobalTableArgs(TypedDict, total=False):
    hash_key: str
    """Partition key attribute (default pk, a string)."""
    range_key: Optional[str]
    """Sort key attribute (default sk, a string); None for a hash-only table."""
    global_secondary_indexes: Sequence[GlobalTableIndex]
    """Global secondary indexes (replicated with the table); their keys are strings."""
    replica_regions: Sequence[str]
    """Regions of the replicas, distinct and not the home region (default: the regions of replica_providers)."""
    replica_providers: dict[str, aws.Provider]
    """Replica region -> aws provider for that region (KMS keys are created with it), one per replica region.
    Empty: one region."""
    min_replica_regions: int
    """Fewest replica regions allowed (default 0): a stack that must survive a region sets it."""
    home_region: Optional[str]
    """Region of this component's provider, when known: replica_regions may not list it."""
    kms: str
    """aws-owned, aws-managed (alias/aws/dynamodb, the default) or customer-managed (a rotated key per region)."""
    deletion_protection: bool
    """Deletion protection on the table and every replica; customer-managed keys are kept for 30 days."""
    ttl_attribute: Optional[str]
    """Attribute holding an epoch-seconds expiry, if items expire."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.GLOBAL_TABLE)
"""Throttled reads/writes, and replication latency to each replica."""

DEFAULTS: dict[str, Any] = {
    "hash_key": "pk", "range_key": "sk", "global_secondary_indexes": [], "replica_providers": {},
    "min_replica_regions": 0, "home_region": None, "kms": "aws-managed", "deletion_protection": False,
    "ttl_attribute": None, "alarms": None,
}
INDEX_DEFAULTS: dict[str, Any] = {"range_key": None, "projection_type": "ALL", "non_key_attributes": []}
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")


@dataclass(frozen=True)
class ResolvedIndex:
    name: str
    hash_key: str
    range_key: Optional[str]
    projection_type: str
    non_key_attributes: tuple[str, ...]


@dataclass(frozen=True)
class ResolvedGlobalTable:
    hash_key: str
    range_key: Optional[str]
    indexes: tuple[ResolvedIndex, ...]
    replica_regions: tuple[str, ...]
    """In the order given."""
    replica_providers: dict[str, aws.Provider]
    kms: str
    deletion_protection: bool
    ttl_attribute: Optional[str]
    alarms: Optional[monitoring.ResolvedAlarms] = None


def _is_attribute_name(value: str) -> bool:
    return ATTRIBUTE_NAME.fullmatch(value) is not None


class _StringCheck(TypedDict):
    """The check and expected keyword arguments of ArgsReader.string and its kin."""
    check: Callable[[str], object]
    expected: str


ATTRIBUTE_CHECK = _StringCheck(check=_is_attribute_name, expected="an attribute name")


def resolve_args(name: str, args: Optional[GlobalTableArgs]) -> ResolvedGlobalTable:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("GlobalTable", name, args, GlobalTableArgs, DEFAULTS)
    attribute = ATTRIBUTE_CHECK
    # None is meaningful here (a hash-only table), so it is not replaced by the default.
    range_key = r.args["range_key"] if "range_key" in r.args else DEFAULTS["range_key"]
    if range_key is not None:
        range_key = r.string("range_key", **attribute)
    regions, providers = _replicas(r)
    return ResolvedGlobalTable(
        hash_key=r.string("hash_key", **attribute), range_key=range_key, indexes=_indexes(r),
        replica_regions=regions, replica_providers=providers, kms=r.choice("kms", KMS_CHOICES),
        deletion_protection=r.flag("deletion_protection"),
        ttl_attribute=r.optional_string("ttl_attribute", **attribute),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS))


def _replicas(r: ArgsReader) -> tuple[tuple[str, ...], dict[str, aws.Provider]]:
    providers = r.get("replica_providers")
    if not isinstance(providers, Mapping):
        r.fail("replica_providers", f"expected a mapping of region -> aws provider, got {providers!r}")
    providers = dict(providers)
    regions = r.strings("replica_regions", default=list(providers), check=is_region_name,
                        expected="a list of AWS region names such as us-east-1")
    if len(set(regions)) != len(regions):
        r.fail("replica_regions", f"{regions} lists a region twice")
    home = r.optional_string("home_region", check=is_region_name, expected="an AWS region name such as eu-west-1")
    if home in regions:
        r.fail("replica_regions", f"{home} is the home region (this component's provider); list only the other "
                                  f"regions")
    minimum = r.integer("min_replica_regions", low=0, high=20)
    if len(regions) < minimum:
        r.fail("replica_regions", f"needs at least {minimum} replica regions besides the home region "
                                  f"(min_replica_regions), got {regions}")
    for region in providers:
        if region not in regions:
            r.fail("replica_providers", f"{region!r} has a provider but is not in replica_regions {regions}")
    for region in regions:
        if providers.get(region) is None:
            r.fail("replica_providers", f"replica region {region} needs its provider (the KMS key and the replica "
                                        f"live there)")
    return tuple(regions), {region: providers[region] for region in regions}


def _indexes(r: ArgsReader) -> tuple[ResolvedIndex, ...]:
    given = r.get("global_secondary_indexes")
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        r.fail("global_secondary_indexes", f"expected a list of indexes, got {given!r}")
    indexes = []
    for position, raw in enumerate(given):
        index = ArgsReader(r.component, r.name, raw, GlobalTableIndex, INDEX_DEFAULTS,
                           (*r.path, "global_secondary_indexes", str(position)))
        attribute = ATTRIBUTE_CHECK
        projection = index.choice("projection_type", PROJECTIONS)
        non_key = index.strings("non_key_attributes", **attribute, max_items=100)
        if bool(non_key) != (projection == "INCLUDE"):
            index.fail("non_key_attributes", f"index {raw.get('name')!r}: non_key_attributes go with "
                                             f"projection_type INCLUDE, and only with it")
        indexes.append(ResolvedIndex(
            name=index.string("name", check=lambda v: re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", v) is not None,
                              expected="an index name (3-255 of letters, digits, _ . -)"),
            hash_key=index.string("hash_key", **attribute), range_key=index.optional_string("range_key", **attribute),
            projection_type=projection, non_key_attributes=tuple(non_key)))
    names = [index.name for index in indexes]
    if len(set(names)) != len(names):
        r.fail("global_secondary_indexes", f"global_secondary_indexes names {names} must be distinct")
    return tuple(indexes)


class GlobalTable(pulumi.ComponentResource):
    """A DynamoDB global table (2019.11.21) whose every replica has PITR, deletion protection and its KMS key.

    Python callers also get the children: `table` (the home-region aws.dynamodb.Table, replicas inline)
    and `kms_keys` (customer-managed keys by region, "home" for the table's; empty otherwise).
    """

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
    home_kms_key_arn: Optional[pulumi.Output[str]]
    """The home region's customer-managed key (readers of the table and stream decrypt with it); None with the
    other kms choices."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The table's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: GlobalTableArgs, opts: Optional[pulumi.ResourceOptions] = None):
        table = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:GlobalTable", name, None, opts)
        self.kms_keys = self._keys(name, table)
        self.home_kms_key_arn = self.kms_keys["home"].arn if "home" in self.kms_keys else None
        self.table = self._table(name, table)

        self.name = self.table.name
        self.arn = self.table.arn
        self.stream_arn = self.table.stream_arn
        self.home_region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.replica_regions = list(table.replica_regions)
        monitored = monitoring.watch(name, table.alarms, self.watches(table.alarms.thresholds if table.alarms else
                                                                      ALARM_THRESHOLDS), parent=self)
        self.dashboard_name = monitored.dashboard_name if monitored else None
        self.register_outputs({"name": self.name, "arn": self.arn, "stream_arn": self.stream_arn,
                               "home_region": self.home_region, "replica_regions": self.replica_regions})

    def watches(self, thresholds: Mapping[str, float]) -> list[monitoring.Watch]:
        """Throttled reads and writes, and replication latency to each replica."""
        return [*monitoring.table_watches(self._name, self.table.name, thresholds),
                *(monitoring.replication_latency_watch(self._name, self.table.name, region, thresholds)
                  for region in self.replica_regions)]

    def _keys(self, name: str, table: ResolvedGlobalTable) -> dict[str, aws.kms.Key]:
        """customer-managed: one key in the home region and one in each replica region (keys are regional)."""
        if table.kms != "customer-managed":
            return {}
        protect = table.deletion_protection
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        home_region = aws.get_region_output(opts=invoke).region
        keys = {"home": self._key(f"{name}-key", "home region", protect,
                                  kms_keys.dynamodb_table_key_policy(account, home_region),
                                  pulumi.ResourceOptions(parent=self))}
        for region in table.replica_regions:
            keys[region] = self._key(f"{name}-key-{region}", region, protect,
                                     kms_keys.dynamodb_table_key_policy(account, region),
                                     pulumi.ResourceOptions(parent=self, provider=table.replica_providers[region]))
        return keys

    def _table(self, name: str, table: ResolvedGlobalTable) -> aws.dynamodb.Table:
        key_names = [table.hash_key, *([table.range_key] if table.range_key else [])]
        for index in table.indexes:
            key_names += [index.hash_key, *([index.range_key] if index.range_key else [])]
        attributes: list[aws.dynamodb.TableAttributeArgsDict] = [
            {"name": attribute, "type": "S"} for attribute in dict.fromkeys(key_names)]
        protect = table.deletion_protection
        indexes: list[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = [{
            "name": index.name, "hash_key": index.hash_key, "range_key": index.range_key,
            "projection_type": index.projection_type,
            "non_key_attributes": list(index.non_key_attributes) or None,
        } for index in table.indexes]
        replicas: list[aws.dynamodb.TableReplicaArgsDict] = [{
            "region_name": region,
            "point_in_time_recovery": True,
            "deletion_protection_enabled": protect,
            # aws-managed: each replica uses its own region's alias/aws/dynamodb.
            "kms_key_arn": self.kms_keys[region].arn if region in self.kms_keys else None,
            "propagate_tags": True,
        } for region in table.replica_regions]
        ttl: Optional[aws.dynamodb.TableTtlArgsDict] = (
            {"attribute_name": table.ttl_attribute, "enabled": True} if table.ttl_attribute else None)
        return aws.dynamodb.Table(
            name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=table.hash_key, range_key=table.range_key, attributes=attributes,
            global_secondary_indexes=indexes or None,
            stream_enabled=True, stream_view_type=STREAM_VIEW_TYPE,
            point_in_time_recovery={"enabled": True},
            server_side_encryption=self._encryption(table.kms),
            deletion_protection_enabled=protect, ttl=ttl, replicas=replicas,
            opts=pulumi.ResourceOptions(parent=self))

    def _encryption(self, kms: str) -> aws.dynamodb.TableServerSideEncryptionArgsDict:
        if kms == "customer-managed":
            return {"enabled": True, "kms_key_arn": self.kms_keys["home"].arn}
        # enabled=False is DynamoDB's default encryption with an AWS owned key.
        return {"enabled": kms == "aws-managed"}

    @staticmethod
    def _key(name: str, where: str, protect: bool, policy: pulumi.Output[str],
             opts: pulumi.ResourceOptions) -> aws.kms.Key:
        # Explicit policy (kms_keys): the account administers the key; its principals use it only through
        # DynamoDB in that region, and only when their role names the key (table_key_statements).
        return aws.kms.Key(name, description=f"{name}: DynamoDB global table replica key ({where})",
                           enable_key_rotation=True, policy=policy,
                           deletion_window_in_days=KMS_KEY_DELETION_WINDOW_DAYS if protect else 7, opts=opts)


def table_key_statements(kms_key_arn: Optional[pulumi.Input[str]], region: pulumi.Input[str],
                         actions: Sequence[str], sid: str) -> list[dict]:
    """IAM statements letting a reader/writer of a table in `region` use its customer-managed key, through
    DynamoDB only. Empty when the table isn't encrypted with a customer-managed key (kms_key_arn None)."""
    if kms_key_arn is None:
        return []
    return [{"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": [kms_key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "dynamodb.", region, ".amazonaws.com")}}}]
