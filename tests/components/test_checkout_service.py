"""CheckoutService under Pulumi mocks: locked-down Graviton instances running the wheel Pulumi uploads,
an instance refresh that rolls back on alarm, and PostgreSQL reachable only from the instances, with IAM auth."""
import base64
import importlib.util
import re
import sys

import pytest

from offline.harness import evaluate_program
from policy import evaluate as evaluate_policy
from serverless_blueprints import testing
from serverless_blueprints.args import ArgsError
from serverless_blueprints.checkout_service import (CheckoutService, checkout_source, instance_user_data, resolve_args,
                                                    source_hash)
from serverless_blueprints.service_network import TLS13_POLICY
from tests.conftest import statements_of
from tests.services.app_environment import CHECKOUT_APP, environment_reads

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
CART = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1"
CART_ARNS = [f"{CART}/POST/carts", f"{CART}/GET/carts/*", f"{CART}/POST/quotes"]
ARGS = {"vpc_id": "vpc-0123", "public_subnet_ids": ["subnet-pa", "subnet-pb"],
        "private_subnet_ids": ["subnet-a", "subnet-b"], "database_subnet_ids": ["subnet-ia", "subnet-ib"],
        "cart_url": "https://cart.shop.example.com", "cart_invoke_arns": CART_ARNS,
        "domain": {"domain_name": "checkout.shop.example.com", "certificate_arn": CERT,
                   "hosted_zone_id": "Z0123456789EXAMPLE"}}
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DB = "aws:rds/instance:Instance"


def with_database_address(computed):
    """The mocks' computed attributes, plus the database's address (DB_HOST)."""
    def answer(typ, logical, physical, inputs, region):
        out = computed(typ, logical, physical, inputs, region)
        if typ == DB:
            out["address"] = f"{physical}.c0ffee.{region}.rds.amazonaws.com"
        return out
    return answer


def build(args=None, name="checkout"):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testing, "_computed", with_database_address(testing._computed))
        return evaluate_program(lambda: CheckoutService(name, {**ARGS, **(args or {})}))


@pytest.fixture(scope="module")
def dev():
    return build()


@pytest.fixture(scope="module")
def prod():
    return build({"min_instances": 2, "max_instances": 4, "db_multi_az": True, "deletion_protection": True,
                  "db_backup_retention_days": 7, "db_performance_insights": True,
                  "db_instance_class": "db.t4g.medium"})


def one(snapshot, resource_type):
    (found,) = snapshot.of_type(resource_type)
    return found


def user_data(snapshot) -> str:
    return base64.b64decode(one(snapshot, "aws:ec2/launchTemplate:LaunchTemplate").props["userData"]).decode()


# --- instances ---------------------------------------------------------------------------------------

def test_launch_template_requires_imdsv2_encrypts_ebs_and_has_no_ssh_key(dev):
    template = one(dev, "aws:ec2/launchTemplate:LaunchTemplate").props
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (disk,) = template["blockDeviceMappings"]
    assert disk["ebs"]["encrypted"] == "true"
    assert "keyName" not in template and "networkInterfaces" not in template
    assert template["instanceType"] == "t4g.small" and template["imageId"].startswith("ami-")


def test_instances_are_managed_through_session_manager(dev):
    attachment = one(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").props
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    profile = one(dev, "aws:iam/instanceProfile:InstanceProfile")
    assert one(dev, "aws:ec2/launchTemplate:LaunchTemplate").props["iamInstanceProfile"] == {
        "arn": profile.outputs["arn"]}


def test_instances_live_in_the_private_subnets_behind_the_target_group(dev):
    group = one(dev, "aws:autoscaling/group:Group").props
    assert group["vpcZoneIdentifiers"] == ["subnet-a", "subnet-b"] and group["healthCheckType"] == "ELB"
    assert group["targetGroupArns"] == [one(dev, "aws:lb/targetGroup:TargetGroup").outputs["arn"]]


def test_the_wheel_is_uploaded_under_its_content_hash_and_installed_by_user_data(dev):
    upload = dev.named("checkout-wheel").props
    assert re.fullmatch(rf"checkout/{source_hash(checkout_source())}/[\w.-]+\.whl", upload["key"])
    assert upload["bucket"] == dev.named("checkout-artifacts").outputs["bucket"]
    script = user_data(dev)
    assert f"s3://{upload['bucket']}/{upload['key']}" in script
    assert "ExecStart=/opt/checkout/venv/bin/checkout-app" in script and "User=checkout" in script
    assert "EnvironmentFile=/etc/checkout/env" in script and "DB_USER=checkout_app" in script
    assert "systemctl enable --now checkout-app.service" in script


def environment_file(script: str) -> dict[str, str]:
    """/etc/checkout/env as the user data writes it."""
    (body,) = re.findall(r"cat > /etc/checkout/env <<'ENV'\n(.*?)\nENV\n", script, re.DOTALL)
    return dict(line.split("=", 1) for line in body.splitlines())


def checkout_settings():
    """checkout_app.settings, loaded from its file (the app is not installed in this environment)."""
    spec = importlib.util.spec_from_file_location("checkout_app_settings", CHECKOUT_APP / "settings.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_environment_file_sets_the_variables_checkout_app_reads_by_their_names(dev):
    environment = environment_file(user_data(dev))
    reads = environment_reads(CHECKOUT_APP)
    assert reads.required <= set(environment) <= reads.names
    # As it runs in AWS: its port, the region SigV4 and the RDS token are signed for, the cart, the database
    # reached with an IAM token over TLS.
    assert set(environment) == {"PORT", "AWS_REGION", "CART_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER",
                                "DB_IAM_AUTH", "DB_SSLMODE"}
    settings = checkout_settings().load_settings(environment)
    assert (settings.port, settings.region) == (8080, "eu-west-1")
    assert (settings.cart_url, settings.cart_sigv4) == ("https://cart.shop.example.com", True)
    assert (settings.db_host, settings.db_port) == (one(dev, DB).outputs["address"], 5432)
    assert (settings.db_name, settings.db_user) == ("checkout", "checkout_app")
    assert settings.db_iam_auth is True and settings.db_password is None and settings.db_sslmode == "require"


def test_the_apps_own_unit_file_is_installed_when_it_ships_one(dev):
    unit = checkout_source() / "checkout-app.service"
    if not unit.is_file():
        pytest.skip("services/checkout/checkout-app.service is not there yet")
    assert unit.read_text().rstrip() in user_data(dev)


def test_dependencies_travel_with_the_wheel_so_instances_need_no_pypi(dev):
    uploads = {o.name: o.props for o in dev.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    wheelhouse = uploads["checkout-wheelhouse"]["key"]
    assert wheelhouse == uploads["checkout-wheel"]["key"].rsplit("/", 1)[0] + "/wheelhouse.tar.gz"
    script = user_data(dev)
    assert f"s3://{uploads['checkout-wheel']['bucket']}/{wheelhouse}" in script
    assert "pip install --no-cache-dir --no-index --find-links /opt/checkout/wheelhouse" in script


def test_without_a_bundle_pip_fetches_the_dependencies_at_boot():
    script = instance_user_data("b", "checkout/aaaa/app.whl", "eu-west-1", "db", "")
    assert "--no-index" not in script and 'pip install --no-cache-dir "/opt/checkout/app.whl"' in script


def test_user_data_holds_no_secret(dev):
    script = user_data(dev).lower()
    assert "password" not in script and "secret" not in script and "DB_IAM_AUTH=true".lower() in script


def test_a_new_wheel_changes_the_user_data():
    first = instance_user_data("b", "checkout/aaaa/app.whl", "eu-west-1", "db", "")
    assert first != instance_user_data("b", "checkout/bbbb/app.whl", "eu-west-1", "db", "")


def test_instance_refresh_keeps_capacity_and_rolls_back_on_alarm(dev):
    refresh = one(dev, "aws:autoscaling/group:Group").props["instanceRefresh"]
    alarms = sorted(a.outputs["name"] for a in dev.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert refresh["strategy"] == "Rolling"
    assert refresh["preferences"]["minHealthyPercentage"] == 100 and refresh["preferences"]["autoRollback"] is True
    assert sorted(refresh["preferences"]["alarmSpecification"]["alarms"]) == alarms and len(alarms) == 2


def test_instance_role_gets_its_wheels_its_db_user_and_the_cart_routes_only(dev):
    statements = {s["Sid"]: s for s in statements_of(one(dev, "aws:iam/rolePolicy:RolePolicy"))}
    bucket = dev.named("checkout-artifacts").outputs["arn"]
    assert statements["AppWheels"]["Resource"] == [f"{bucket}/checkout/*"]
    assert statements["DatabaseIamAuth"]["Action"] == ["rds-db:connect"]
    assert re.fullmatch(r"arn:aws:rds-db:eu-west-1:123456789012:dbuser:.+/checkout_app",
                        statements["DatabaseIamAuth"]["Resource"][0])
    assert statements["CallCart"]["Resource"] == CART_ARNS


# --- network -------------------------------------------------------------------------------------------

def test_only_the_alb_reaches_the_instances_on_the_app_port(dev):
    instances, alb = dev.named("checkout-instances").outputs["id"], dev.named("checkout-alb-sg").outputs["id"]
    into = [r.props for r in dev.of_type(INGRESS) if r.props["securityGroupId"] == instances]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in into] == [(alb, 8080, 8080)]


def test_only_the_instances_reach_the_database_on_the_postgres_port(dev):
    instances, database = dev.named("checkout-instances").outputs["id"], dev.named("checkout-db-sg").outputs["id"]
    into = [r.props for r in dev.of_type(INGRESS) if r.props["securityGroupId"] == database]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in into] == [(instances, 5432, 5432)]
    out = sorted(r.props["fromPort"] for r in dev.of_type(EGRESS) if r.props["securityGroupId"] == instances)
    assert out == [443, 5432]


def test_listeners_are_https_only(dev):
    listeners = {x.props["port"]: x.props for x in dev.of_type("aws:lb/listener:Listener")}
    assert listeners[443]["sslPolicy"] == TLS13_POLICY
    assert [a["type"] for a in listeners[80]["defaultActions"]] == ["redirect"]


# --- database ---------------------------------------------------------------------------------------------

def test_database_is_encrypted_iam_authenticated_and_password_managed_by_rds(dev):
    database = one(dev, DB).props
    assert database["storageEncrypted"] is True and database["iamDatabaseAuthenticationEnabled"] is True
    assert database["manageMasterUserPassword"] is True and "password" not in database
    assert database["publiclyAccessible"] is False and database["engine"] == "postgres"
    assert one(dev, "aws:rds/subnetGroup:SubnetGroup").props["subnetIds"] == ["subnet-ia", "subnet-ib"]


def test_database_forces_tls(dev):
    parameters = one(dev, "aws:rds/parameterGroup:ParameterGroup").props["parameters"]
    assert {"name": "rds.force_ssl", "value": "1"} in parameters


def test_dev_database_is_single_az_micro_and_skips_the_final_snapshot(dev):
    database = one(dev, DB).props
    assert (database["instanceClass"], database["multiAz"], database["deletionProtection"]) == (
        "db.t4g.micro", False, False)
    assert database["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in database


def test_prod_alb_refuses_deletion(prod):
    assert one(prod, "aws:lb/loadBalancer:LoadBalancer").props["enableDeletionProtection"] is True


def test_prod_database_is_multi_az_protected_backed_up_with_insights_and_a_final_snapshot(prod):
    database = one(prod, DB).props
    assert database["multiAz"] is True and database["deletionProtection"] is True
    assert database["backupRetentionPeriod"] == 7 and database["performanceInsightsEnabled"] is True
    assert database["skipFinalSnapshot"] is False and database["finalSnapshotIdentifier"] == "checkout-db-final"


# --- guardrails, limits, args -------------------------------------------------------------------------

def test_the_policy_pack_finds_nothing(prod):
    report = evaluate_policy(prod.resources, "prod", rules=["SB-MS-002", "SB-MS-003", "SB-MS-004", "SB-LIMIT-001"],
                             suppressions=())
    assert [(f.rule_id, f.message) for f in report.findings] == []


@pytest.mark.parametrize("args, key", [({"instance_type": "t3.small"}, "instance_type"),
                                       ({"db_performance_insights": True}, "db_performance_insights"),
                                       ({"min_instances": 3}, "min_instances"),
                                       ({"db_instance_class": "t4g.micro"}, "db_instance_class"),
                                       ({"cart_url": "http://cart"}, "cart_url")])
def test_bad_args_are_refused_naming_the_arg(args, key):
    with pytest.raises(ArgsError) as error:
        resolve_args("checkout", {**ARGS, **args})
    assert error.value.path == (key,)


def test_the_cart_url_is_required():
    with pytest.raises(ArgsError, match="required") as error:
        resolve_args("checkout", {k: v for k, v in ARGS.items() if k != "cart_url"})
    assert error.value.path == ("cart_url",)


def test_a_name_too_long_for_alb_names_is_refused():
    with pytest.raises(ArgsError, match="at most 32"):
        resolve_args("checkout-production-1", ARGS)


def test_analyzer_infers_the_args_and_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    definition = Analyzer("serverless-blueprints").analyze([CheckoutService])["component_definitions"][
        "CheckoutService"]
    assert {"vpcId", "databaseSubnetIds", "domain", "dbMultiAz", "cartInvokeArns"} <= set(definition.inputs)
    assert {"url", "artifactKey", "databaseEndpoint", "instanceRoleArn"} <= set(definition.outputs)


def test_physical_names_fit_after_the_auto_name_suffix(dev):
    def fits(resource_type, limit):
        return all(len(r.name) + 8 <= limit for r in dev.of_type(resource_type))
    assert fits(DB, 63) and fits("aws:lb/loadBalancer:LoadBalancer", 32) and fits("aws:lb/targetGroup:TargetGroup", 32)
