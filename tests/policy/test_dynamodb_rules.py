from policy import UNKNOWN, Resource, evaluate
from policy.tokens import DAX_CLUSTER, TABLE, TABLE_REPLICA


def table(**overrides):
    props = {"name": "orders", "hashKey": "pk", "pointInTimeRecovery": {"enabled": True},
             "deletionProtectionEnabled": True,
             "replicas": [{"regionName": "us-west-2", "pointInTimeRecovery": True, "deletionProtectionEnabled": True}]}
    props.update(overrides)
    return Resource(TABLE, {k: v for k, v in props.items() if v is not None}, name="orders")


# SB-DDB-001 PITR

def test_table_and_replicas_with_pitr_pass(violations):
    assert violations("SB-DDB-001", table()) == []


def test_table_without_pitr_is_reported(violations):
    assert violations("SB-DDB-001", table(pointInTimeRecovery=None)) == ["table without point-in-time recovery"]


def test_replica_without_pitr_is_reported(violations):
    replicas = [{"regionName": "us-west-2", "deletionProtectionEnabled": True}]
    assert violations("SB-DDB-001", table(replicas=replicas)) == ["replica in us-west-2 without point-in-time recovery"]


def test_table_replica_resource_without_pitr_is_reported(violations):
    replica = Resource(TABLE_REPLICA, {"globalTableArn": "arn:aws:dynamodb:eu-west-1:1:table/orders"}, name="orders-us")
    assert violations("SB-DDB-001", replica) == ["replica without point-in-time recovery"]


def test_unknown_pitr_is_not_reported(violations):
    assert violations("SB-DDB-001", table(pointInTimeRecovery=UNKNOWN)) == []


# SB-DDB-002 deletion protection, mandatory in prod only

def test_protected_table_passes(violations):
    assert violations("SB-DDB-002", table(), environment="prod") == []


def test_unprotected_table_is_mandatory_in_prod():
    report = evaluate([table(deletionProtectionEnabled=None)], "prod", rules=["SB-DDB-002"])
    assert [(f.level, f.message) for f in report.findings] == [("mandatory", "table without deletion protection")]
    assert not report.ok


def test_unprotected_table_is_advisory_in_dev():
    report = evaluate([table(deletionProtectionEnabled=None)], "dev", rules=["SB-DDB-002"])
    assert [f.level for f in report.findings] == ["advisory"]
    assert report.ok


def test_provider_environment_tag_wins_over_the_fallback(provider):
    unprotected = table(deletionProtectionEnabled=None)
    unprotected.provider = provider("prod")
    report = evaluate([unprotected], "dev", rules=["SB-DDB-002"])
    assert [f.level for f in report.findings] == ["mandatory"]


def test_unprotected_replica_is_reported(violations):
    replicas = [{"regionName": "us-west-2", "pointInTimeRecovery": True}]
    assert violations("SB-DDB-002", table(replicas=replicas), environment="prod") == ["replica in us-west-2 without deletion protection"]


# SB-DAX-001 / SB-DAX-002

def dax(**overrides):
    props = {"clusterName": "orders-cache", "nodeType": "dax.t3.small", "replicationFactor": 3,
             "serverSideEncryption": {"enabled": True}, "clusterEndpointEncryptionType": "TLS"}
    props.update(overrides)
    return Resource(DAX_CLUSTER, {k: v for k, v in props.items() if v is not None}, name="orders-cache")


def test_encrypted_dax_passes(violations):
    assert violations("SB-DAX-001", dax()) == []


def test_dax_without_sse_is_reported(violations):
    assert violations("SB-DAX-001", dax(serverSideEncryption=None)) == ["server-side encryption is off"]


def test_dax_with_tls_endpoint_passes(violations):
    assert violations("SB-DAX-002", dax()) == []


def test_dax_without_tls_endpoint_is_reported(violations):
    assert violations("SB-DAX-002", dax(clusterEndpointEncryptionType=None)) == ["endpoint encryption is NONE (default)"]


def test_unknown_dax_settings_are_not_reported(violations):
    cluster = dax(serverSideEncryption=UNKNOWN, clusterEndpointEncryptionType=UNKNOWN)
    assert violations("SB-DAX-001", cluster) == [] and violations("SB-DAX-002", cluster) == []
