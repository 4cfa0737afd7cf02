"""DynamoDB tables, their replicas, and DAX."""
from __future__ import annotations

from . import tokens
from .model import Resource, as_list, get, is_unknown
from .registry import MANDATORY_IN_PROD, resource_rule


def _replicas(table: Resource):
    """(label, props) for the table itself and each inline replica (global tables v2019)."""
    yield "table", table.props
    for replica in as_list(get(table.props, "replicas")):
        if isinstance(replica, dict):
            yield f"replica in {get(replica, 'regionName') or '?'}", replica


def _not_true(value) -> bool:
    return not is_unknown(value) and value is not True


@resource_rule(
    "SB-DDB-001", tokens.TABLE, tokens.TABLE_REPLICA,
    description="Point-in-time recovery is on for the table and every replica.",
    remediation='Set point_in_time_recovery={"enabled": True} on the table and point_in_time_recovery=True on each replica.',
)
def point_in_time_recovery(resource: Resource):
    if resource.resource_type == tokens.TABLE_REPLICA:
        if _not_true(get(resource.props, "pointInTimeRecovery")):
            yield "replica without point-in-time recovery"
        return
    for label, props in _replicas(resource):
        value = get(props, "pointInTimeRecovery", "enabled") if label == "table" else get(props, "pointInTimeRecovery")
        if _not_true(value):
            yield f"{label} without point-in-time recovery"


@resource_rule(
    "SB-DDB-002", tokens.TABLE, tokens.TABLE_REPLICA,
    description="Tables and replicas have deletion protection (mandatory in prod, advisory in dev).",
    remediation="Set deletion_protection_enabled=True on the table and on each replica.",
    level=MANDATORY_IN_PROD,
)
def table_deletion_protection(resource: Resource):
    if resource.resource_type == tokens.TABLE_REPLICA:
        if _not_true(get(resource.props, "deletionProtectionEnabled")):
            yield "replica without deletion protection"
        return
    for label, props in _replicas(resource):
        if _not_true(get(props, "deletionProtectionEnabled")):
            yield f"{label} without deletion protection"


@resource_rule(
    "SB-DAX-001", tokens.DAX_CLUSTER,
    description="DAX clusters encrypt data at rest.",
    remediation='Set server_side_encryption={"enabled": True} (it can only be chosen at creation).',
)
def dax_encryption_at_rest(cluster: Resource):
    if _not_true(get(cluster.props, "serverSideEncryption", "enabled")):
        yield "server-side encryption is off"


@resource_rule(
    "SB-DAX-002", tokens.DAX_CLUSTER,
    description="DAX clusters serve a TLS endpoint.",
    remediation='Set cluster_endpoint_encryption_type="TLS" and connect with the TLS (daxs://) endpoint.',
)
def dax_tls_endpoint(cluster: Resource):
    value = get(cluster.props, "clusterEndpointEncryptionType")
    if not is_unknown(value) and value != "TLS":
        yield f"endpoint encryption is {value or 'NONE (default)'}"
