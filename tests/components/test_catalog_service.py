"""CatalogService under Pulumi mocks: the HTTPS-only ALB, tasks reachable only from it, the circuit breaker,
and a deployment that fails when ECS rolled back; the image, the roles and the Dockerfile's own guarantees."""
import contextlib
import json
import re

import pytest

from offline.harness import evaluate_program
from policy import evaluate as evaluate_policy
from serverless_blueprints import testing
from serverless_blueprints.args import ArgsError
from serverless_blueprints.catalog_service import (APP_PORT, CatalogService, RolloutRolledBack, catalog_source,
                                                   confirm_rollout, resolve_args)
from serverless_blueprints.service_network import TLS13_POLICY
from tests.conftest import statements_of
from tests.services.app_environment import CATALOG_APP, environment_reads

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
ZONE = "Z0123456789EXAMPLE"
WAF = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/0123"
ARGS = {"vpc_id": "vpc-0123", "public_subnet_ids": ["subnet-pa", "subnet-pb"],
        "private_subnet_ids": ["subnet-a", "subnet-b"],
        "domain": {"domain_name": "catalog.shop.example.com", "certificate_arn": CERT, "hosted_zone_id": ZONE,
                   "private_hosted_zone_id": "ZPRIVATE0123"}}
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def intended_task_definition(name: str = "catalog") -> str:
    """The ARN the mocks give the component's task definition."""
    return f"arn:aws:ecs:eu-west-1:{testing.ACCOUNT_ID}:{testing._physical_name(f'{name}-task')}"


@contextlib.contextmanager
def aws_answers(running: str):
    """Registry credentials, and DescribeServices answering that the service runs `running`."""
    def answer(token, args, region):
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"id": region, "userName": "AWS", "password": "registry-password", "authorizationToken": "dG9r",
                    "proxyEndpoint": f"https://{testing.ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com",
                    "expiresAt": "2030-01-01T00:00:00Z"}
        if token == "aws:ecs/getService:getService":
            return {"id": args["serviceName"], "arn": f"arn:aws:ecs:{region}:{testing.ACCOUNT_ID}:service/x",
                    "serviceName": args["serviceName"], "clusterArn": args["clusterArn"], "desiredCount": 1,
                    "launchType": "FARGATE", "schedulingStrategy": "REPLICA", "taskDefinition": running, "tags": {}}
        return None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testing, "EXTRA_CALLS", [answer])
        yield


def build(args=None, name="catalog", running=None):
    with aws_answers(running or intended_task_definition(name)):
        return evaluate_program(lambda: CatalogService(name, {**ARGS, **(args or {})}))


@pytest.fixture(scope="module")
def catalog():
    return build({"web_acl_arn": WAF, "min_tasks": 2, "desired_count": 2})


def one(snapshot, resource_type):
    (found,) = snapshot.of_type(resource_type)
    return found


def group(snapshot, suffix):
    return snapshot.named(f"catalog-{suffix}").outputs["id"]


# --- HTTPS-only ALB --------------------------------------------------------------------------------

def test_https_listener_uses_the_tls13_policy_and_the_service_certificate(catalog):
    (https,) = [x for x in catalog.of_type("aws:lb/listener:Listener") if x.props["port"] == 443]
    assert (https.props["protocol"], https.props["sslPolicy"], https.props["certificateArn"]) == (
        "HTTPS", TLS13_POLICY, CERT)


def test_port_80_only_redirects_to_https(catalog):
    (http,) = [x for x in catalog.of_type("aws:lb/listener:Listener") if x.props["port"] == 80]
    assert http.props["defaultActions"] == [{"type": "redirect", "redirect": {
        "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def test_alb_drops_invalid_headers_logs_access_and_has_the_waf(catalog):
    alb = one(catalog, "aws:lb/loadBalancer:LoadBalancer")
    assert alb.props["dropInvalidHeaderFields"] is True and alb.props["internal"] is False
    assert alb.props["enableDeletionProtection"] is False  # dev; deletion_protection turns it on
    assert alb.props["accessLogs"]["enabled"] is True
    assert alb.props["accessLogs"]["bucket"] == catalog.named("catalog-alb-logs").outputs["bucket"]
    assert one(catalog, "aws:wafv2/webAclAssociation:WebAclAssociation").props["webAclArn"] == WAF


def test_alb_log_bucket_lets_only_elb_log_delivery_write_under_its_prefix(catalog):
    policy = catalog.named("catalog-alb-logs-policy")
    (deliver,) = [s for s in statements_of(policy) if s.get("Sid") == "AlbAccessLogs"]
    assert deliver["Principal"]["Service"] == "logdelivery.elasticloadbalancing.amazonaws.com"
    assert deliver["Principal"]["AWS"] == "arn:aws:iam::156460612806:root"  # eu-west-1's ELB account
    assert deliver["Action"] == "s3:PutObject" and deliver["Resource"].endswith(f"/alb/AWSLogs/{testing.ACCOUNT_ID}/*")


def test_alias_records_point_the_service_name_at_the_alb(catalog):
    records = catalog.of_type("aws:route53/record:Record")
    assert sorted(r.props["zoneId"] for r in records) == [ZONE, "ZPRIVATE0123"]
    alb = one(catalog, "aws:lb/loadBalancer:LoadBalancer")
    assert all(r.props["aliases"][0]["name"] == alb.outputs["dnsName"] for r in records)


# --- security groups -------------------------------------------------------------------------------

def test_only_the_alb_reaches_the_tasks_and_only_on_the_app_port(catalog):
    tasks, alb = group(catalog, "tasks"), group(catalog, "alb-sg")
    into_tasks = [r.props for r in catalog.of_type(INGRESS) if r.props["securityGroupId"] == tasks]
    assert into_tasks == [{"securityGroupId": tasks, "referencedSecurityGroupId": alb, "ipProtocol": "tcp",
                           "fromPort": 8080, "toPort": 8080, "description": "from the ALB only"}]
    alb_out = [r.props for r in catalog.of_type(EGRESS) if r.props["securityGroupId"] == alb]
    assert [(r["referencedSecurityGroupId"], r["fromPort"]) for r in alb_out] == [(tasks, 8080)]


def test_the_alb_admits_only_https_and_the_redirect_port(catalog):
    alb = group(catalog, "alb-sg")
    ports = sorted(r.props["fromPort"] for r in catalog.of_type(INGRESS) if r.props["securityGroupId"] == alb)
    assert ports == [80, 443]


def test_tasks_only_go_out_on_https(catalog):
    tasks = group(catalog, "tasks")
    out = [r.props for r in catalog.of_type(EGRESS) if r.props["securityGroupId"] == tasks]
    assert [(r["fromPort"], r["toPort"]) for r in out] == [(443, 443)]


# --- the service and its rollout --------------------------------------------------------------------

def test_tasks_run_in_private_subnets_without_public_ips(catalog):
    network = one(catalog, "aws:ecs/service:Service").props["networkConfiguration"]
    assert network == {"subnets": ["subnet-a", "subnet-b"], "securityGroups": [group(catalog, "tasks")],
                       "assignPublicIp": False}


def test_circuit_breaker_rolls_back_and_the_deploy_waits_for_steady_state(catalog):
    service = one(catalog, "aws:ecs/service:Service").props
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["waitForSteadyState"] is True and service["launchType"] == "FARGATE"
    assert service["deploymentMinimumHealthyPercent"] == 100


def test_previous_task_definition_revisions_stay_registered_for_rollback(catalog):
    assert one(catalog, "aws:ecs/taskDefinition:TaskDefinition").props["skipDestroy"] is True


def test_deployment_succeeds_when_the_service_runs_the_intended_task_definition(catalog):
    assert catalog.exports == {} and catalog.component("catalog")  # the check ran and did not raise


def test_deployment_fails_when_ecs_rolled_back_to_the_previous_task_definition():
    previous = "arn:aws:ecs:eu-west-1:123456789012:task-definition/catalog:41"
    with pytest.raises(RolloutRolledBack, match="rolled the update back"):
        build(running=previous)


def test_the_rollout_check_never_fails_a_preview(monkeypatch):
    monkeypatch.setattr("pulumi.runtime.is_dry_run", lambda: True)
    assert confirm_rollout("svc", "arn:new", "arn:old") == "arn:old"


def test_health_checks_on_the_target_group_and_the_container(catalog):
    health = one(catalog, "aws:lb/targetGroup:TargetGroup").props["healthCheck"]
    assert (health["path"], health["matcher"]) == ("/health", "200")
    (container,) = json.loads(one(catalog, "aws:ecs/taskDefinition:TaskDefinition").props["containerDefinitions"])
    assert "/health" in container["healthCheck"]["command"][1]


def test_autoscaling_tracks_cpu_and_requests_per_target(catalog):
    target = one(catalog, "aws:appautoscaling/target:Target")
    assert (target.props["minCapacity"], target.props["maxCapacity"]) == (2, 4)
    metrics = sorted(p.props["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]
                     ["predefinedMetricType"] for p in catalog.of_type("aws:appautoscaling/policy:Policy"))
    assert metrics == ["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]


def test_log_group_has_retention(catalog):
    assert one(catalog, "aws:cloudwatch/logGroup:LogGroup").props["retentionInDays"] == 30


# --- roles, table, image ---------------------------------------------------------------------------

def test_task_role_reaches_only_its_table(catalog):
    table = one(catalog, "aws:dynamodb/table:Table").outputs["arn"]
    (statement,) = statements_of(catalog.named("catalog-task-policy"))
    assert statement["Resource"] == [table, f"{table}/index/*"]
    assert not any(action.endswith("*") for action in statement["Action"])


def test_execution_role_pulls_only_its_own_repository(catalog):
    repository = one(catalog, "aws:ecr/repository:Repository").outputs["arn"]
    pull = next(s for s in statements_of(catalog.named("catalog-execution-policy")) if s["Sid"] == "PullOwnImage")
    assert pull["Resource"] == [repository]


def test_table_is_keyed_by_sku_encrypted_with_point_in_time_recovery(catalog):
    table = one(catalog, "aws:dynamodb/table:Table").props
    assert table["hashKey"] == "sku" and "rangeKey" not in table
    assert table["serverSideEncryption"] == {"enabled": True} and table["pointInTimeRecovery"] == {"enabled": True}


def test_repository_is_private_immutable_scanned_and_pruned(catalog):
    repository = one(catalog, "aws:ecr/repository:Repository").props
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    rules = json.loads(one(catalog, "aws:ecr/lifecyclePolicy:LifecyclePolicy").props["policy"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]


def test_image_is_built_for_arm64_from_the_catalog_dockerfile_and_tagged_by_content(catalog):
    image = one(catalog, "docker-build:index:Image").props
    assert image["dockerfile"]["location"] == str(catalog_source() / "Dockerfile")
    assert image["platforms"] == ["linux/arm64"] and image["push"] is True
    (tag,) = image["tags"]
    assert re.fullmatch(r".*:[0-9a-f]{16}", tag)
    assert image["registries"][0]["password"] == "registry-password"
    assert "registries" in catalog.named("catalog-image").secret_inputs  # the whole list turns secret


def test_tasks_run_arm64_with_the_table_name_and_no_secrets_in_the_environment(catalog):
    definition = one(catalog, "aws:ecs/taskDefinition:TaskDefinition").props
    assert definition["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    (container,) = json.loads(definition["containerDefinitions"])
    assert {e["name"]: e["value"] for e in container["environment"]} == {
        "CATALOG_TABLE": one(catalog, "aws:dynamodb/table:Table").outputs["name"]}
    assert "secrets" not in container


def test_the_tasks_get_exactly_the_variables_catalog_app_reads(catalog):
    (container,) = json.loads(one(catalog, "aws:ecs/taskDefinition:TaskDefinition").props["containerDefinitions"])
    names = {e["name"] for e in container["environment"]}
    reads = environment_reads(CATALOG_APP)
    assert reads.required <= names <= reads.names
    assert names == reads.required


def dockerfile_ports() -> set[int]:
    """Every port services/catalog/Dockerfile names: EXPOSE, uvicorn's --port, the HEALTHCHECK's URL."""
    text = (catalog_source() / "Dockerfile").read_text()
    found = {int(port) for port in re.findall(r"^EXPOSE\s+(\d+)", text, re.MULTILINE)}
    found |= {int(port) for port in re.findall(r'"--port",\s*"(\d+)"', text)}
    found |= {int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)/", text)}
    return found


def test_the_alb_the_tasks_and_the_health_check_use_the_port_the_image_serves_on(catalog):
    assert dockerfile_ports() == {APP_PORT}
    (container,) = json.loads(one(catalog, "aws:ecs/taskDefinition:TaskDefinition").props["containerDefinitions"])
    assert [m["containerPort"] for m in container["portMappings"]] == [APP_PORT]
    assert f"127.0.0.1:{APP_PORT}/health" in container["healthCheck"]["command"][1]
    assert one(catalog, "aws:lb/targetGroup:TargetGroup").props["port"] == APP_PORT
    (balanced,) = one(catalog, "aws:ecs/service:Service").props["loadBalancers"]
    assert balanced["containerPort"] == APP_PORT


def test_the_table_streams_both_images_for_the_cart():
    def program():
        import pulumi
        catalog = CatalogService("catalog", ARGS)
        pulumi.export("stream", catalog.table_stream_arn)
    with aws_answers(intended_task_definition()):
        snapshot = evaluate_program(program)
    table = one(snapshot, "aws:dynamodb/table:Table")
    assert table.props["streamEnabled"] is True and table.props["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert snapshot.exports["stream"] == table.outputs["streamArn"]


def test_dockerfile_runs_as_a_non_root_user_with_a_healthcheck():
    dockerfile = catalog_source() / "Dockerfile"
    if not dockerfile.is_file():
        pytest.skip("services/catalog/Dockerfile is not there yet")
    lines = [line.strip() for line in dockerfile.read_text().splitlines() if line.strip()
             and not line.lstrip().startswith("#")]
    users = [line.split(None, 1)[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(line.upper().startswith("HEALTHCHECK ") and "NONE" not in line.upper() for line in lines)


# --- guardrails and limits -------------------------------------------------------------------------

def test_the_policy_pack_finds_nothing_mandatory(catalog):
    report = evaluate_policy(catalog.resources, "prod", rules=["SB-MS-001", "SB-MS-002", "SB-MS-003",
                                                               "SB-LIMIT-001"], suppressions=())
    assert [(f.rule_id, f.message) for f in report.findings] == []


@pytest.mark.parametrize("args, key", [({"cpu": 300}, "cpu"), ({"memory_mb": 4096}, "memory_mb"),
                                       ({"min_tasks": 3, "max_tasks": 2}, "min_tasks"),
                                       ({"public_subnet_ids": None}, "public_subnet_ids"),
                                       ({"domain": None}, "domain"), ({"tasks": 2}, "tasks"),
                                       ({"container_port": 9000}, "container_port")])  # the image's port is fixed
def test_bad_args_are_refused_naming_the_arg(args, key):
    with pytest.raises(ArgsError) as error:
        resolve_args("catalog", {**ARGS, **args})
    assert error.value.path == (key,)


def test_a_name_too_long_for_alb_and_target_group_names_is_refused():
    with pytest.raises(ArgsError, match="ALB and target group names are at most 32"):
        resolve_args("catalog-service-prod-x", ARGS)


def test_analyzer_infers_the_args_and_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([CatalogService])
    definition = result["component_definitions"]["CatalogService"]
    assert {"vpcId", "privateSubnetIds", "domain", "minTasks", "webAclArn"} <= set(definition.inputs)
    assert not definition.inputs["vpcId"].optional and definition.inputs["minTasks"].optional
    assert definition.inputs["domain"].ref.endswith(":index:ServiceDomainRef")
    assert {"url", "imageRef", "runningTaskDefinitionArn"} <= set(definition.outputs)
