"""serverless_blueprints.testing: what a consumer's unit tests stand on."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from serverless_blueprints import testing
from serverless_blueprints.static_site import StaticSite
from serverless_blueprints.testing import ACCOUNT_ID, evaluate


def write_project(folder: Path, name: str, marker: str) -> Path:
    """A consumer's project with its own `components` package, and a dev stack config."""
    (folder / "components").mkdir(parents=True)
    (folder / "components" / "__init__.py").write_text("")
    (folder / "components" / "naming.py").write_text(f"MARKER = {marker!r}\n")
    (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (folder / "Pulumi.dev.yaml").write_text("config:\n  aws:region: ap-southeast-2\n  size: 3\n")
    (folder / "marker.txt").write_text(marker)
    (folder / "__main__.py").write_text(textwrap.dedent("""\
        from pathlib import Path
        import pulumi
        import pulumi_aws as aws
        from components.naming import MARKER

        size = pulumi.Config().require_int("size")
        bucket = aws.s3.Bucket(f"{MARKER}-bucket", tags={"size": str(size),
                                                          "read": Path("marker.txt").read_text()})
        pulumi.export("bucket", bucket.bucket)
        pulumi.export("region", aws.get_region_output().region)
        """))
    return folder


def test_a_project_runs_from_its_folder_with_its_stack_config_and_its_own_components(tmp_path):
    project = write_project(tmp_path / "shop", "shop", "shop")
    cwd, path = Path.cwd(), list(sys.path)
    snapshot = evaluate(project, stack="dev")
    bucket = snapshot.named("shop-bucket")
    assert bucket.props["tags"] == {"size": "3", "read": "shop"}
    assert snapshot.exports["region"] == "ap-southeast-2" and bucket.region == "ap-southeast-2"
    assert snapshot.exports["bucket"].startswith("shop-bucket-")
    assert Path.cwd() == cwd and sys.path == path


def test_two_projects_with_a_components_package_each_do_not_see_each_other(tmp_path):
    first = evaluate(write_project(tmp_path / "a", "a", "alpha"), stack="dev")
    second = evaluate(write_project(tmp_path / "b", "b", "beta") / "__main__.py", stack="dev")
    assert [r.name for r in first.of_type("aws:s3/bucket:Bucket")] == ["alpha-bucket"]
    assert [r.name for r in second.of_type("aws:s3/bucket:Bucket")] == ["beta-bucket"]
    assert not [m for m in list(sys.modules.values()) if str(tmp_path) in str(getattr(m, "__file__", None))]


def test_a_project_package_hides_a_loaded_module_of_the_same_name_and_gives_it_back(tmp_path, monkeypatch):
    elsewhere = type(sys)("components")
    monkeypatch.setitem(sys.modules, "components", elsewhere)
    snapshot = evaluate(write_project(tmp_path / "shop", "shop", "shop"), stack="dev")
    assert snapshot.named("shop-bucket") and sys.modules["components"] is elsewhere


def test_config_keys_without_a_namespace_belong_to_the_project():
    def program():
        pulumi.export("size", pulumi.Config().require("size"))
        pulumi.export("other", pulumi.Config("other").get("size"))
    snapshot = evaluate(program, project="shop", config={"size": "2", "other:size": "5"})
    assert snapshot.exports == {"size": "2", "other": "5"}


def test_our_data_sources_answer_like_aws_in_the_stacks_region():
    def program():
        pulumi.export("account", aws.get_caller_identity_output().account_id)
        pulumi.export("partition", aws.get_partition_output().partition)
        pulumi.export("zones", aws.get_availability_zones_output(state="available").names)
    snapshot = evaluate(program, region="eu-central-1")
    assert snapshot.exports == {"account": ACCOUNT_ID, "partition": "aws",
                                "zones": ["eu-central-1a", "eu-central-1b", "eu-central-1c"]}


def test_an_ecs_service_is_described_running_the_task_definition_it_was_given():
    """What CatalogService's rollout check reads: a service ECS didn't roll back runs what it was given."""
    def program():
        cluster = aws.ecs.Cluster("c")
        task = aws.ecs.TaskDefinition("t", family="t", container_definitions="[]")
        service = aws.ecs.Service("s", cluster=cluster.arn, task_definition=task.arn)
        live = aws.ecs.get_service_output(cluster_arn=cluster.arn, service_name=service.name)
        pulumi.export("running", live.task_definition)
        pulumi.export("given", task.arn)
        pulumi.export("registry", aws.ecr.get_authorization_token_output().user_name)
    snapshot = evaluate(program, region="eu-west-1")
    assert snapshot.exports["running"] == snapshot.exports["given"] and snapshot.exports["registry"] == "AWS"


def test_an_unknown_data_source_fails_loudly_with_its_token():
    def program():
        aws.s3.Bucket("b", tags={"vpc": aws.ec2.get_vpc_output(default=True).id})
    with pytest.raises(NotImplementedError, match="aws:ec2/getVpc:getVpc"):
        evaluate(program)


def test_extra_calls_answer_a_consumers_own_data_sources():
    def vpc(token, args, region):
        return {"id": f"vpc-{region}", "cidrBlock": "10.0.0.0/16"} if token == "aws:ec2/getVpc:getVpc" else None

    def program():
        aws.s3.Bucket("b", tags={"vpc": aws.ec2.get_vpc_output(default=True).id})
    snapshot = evaluate(program, region="eu-west-1", extra_calls=[vpc])
    assert snapshot.named("b").props["tags"] == {"vpc": "vpc-eu-west-1"}


def test_resources_are_queried_by_type_name_and_parent():
    class Pair(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("shop:index:Pair", name)
            self.bucket = aws.s3.Bucket(name, opts=pulumi.ResourceOptions(parent=self))
            aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})
    snapshot = evaluate(lambda: Pair("orders"))
    component = snapshot.component("orders")
    assert snapshot.named("orders").resource_type == "aws:s3/bucket:Bucket"  # the AWS resource, not the component
    assert {r.name for r in snapshot.children_of(component.urn)} == {"orders", "orders-queue"}
    assert snapshot.named("orders-queue").outputs["url"].startswith("https://sqs.")
    assert len(snapshot.of_type("aws:sqs/queue:Queue")) == 1


def test_stage_outputs_include_the_execution_arn_that_api_permissions_are_built_from():
    def program():
        api = aws.apigateway.RestApi("api")
        aws.apigateway.Stage("v1", rest_api=api.id, stage_name="v1", deployment="d")
    stage = evaluate(program, region="eu-west-1").named("v1")
    assert stage.outputs["executionArn"] == f"arn:aws:execute-api:eu-west-1:{ACCOUNT_ID}:{stage.props['restApi']}/v1"


def test_harness_reuses_the_package_machinery():
    from offline import harness
    assert harness.StackSnapshot is testing.StackSnapshot and harness.BlueprintMocks is testing.BlueprintMocks
    assert harness.RecordedResource is testing.RecordedResource and harness.ACCOUNT_ID == ACCOUNT_ID


# The docs' minimal mocks (https://www.pulumi.com/docs/iac/guides/testing/unit/): ids from names, outputs =
# inputs, every data source {}. A component must not assume an attribute the engine computes is a str.
PLAIN_MOCKS_PROGRAM = textwrap.dedent("""\
    import pulumi

    class MyMocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return [args.name + '_id', args.inputs]
        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(MyMocks(), preview=False)
    from serverless_blueprints.{module} import {component}

    @pulumi.runtime.test
    def test_component():
        return {component}("unit").{output}.apply(lambda value: None)

    test_component()
    """)


@pytest.mark.parametrize("module, component, output", [
    ("serverless_rest_api", "ServerlessRestApi", "api_url"),
    ("outbox_relay", "OutboxRelay", "orders_url"),
    ("thumbnail_pipeline", "ThumbnailPipeline", "queue_url"),
], ids=lambda value: value if value[0].isupper() else "")
def test_components_evaluate_under_the_plain_mocks_from_pulumis_docs(tmp_path, module, component, output):
    program = PLAIN_MOCKS_PROGRAM.replace("{module}", module).replace("{component}", component).replace(
        "{output}", output)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


# --- StaticSite's content folder, as a consumer meets it ---------------------------------------------

def test_an_empty_content_directory_is_an_error_at_preview(tmp_path):
    (tmp_path / "site").mkdir()
    with pytest.raises(ValueError, match="content_dir"):
        evaluate(lambda: StaticSite("docs", {"content_dir": str(tmp_path / "site")}))


@pytest.mark.parametrize("args", [{}, {"content_dir": None}], ids=["left-out", "none"])
def test_an_absent_content_directory_is_an_error_at_preview(args):
    with pytest.raises(ValueError, match="content_dir"):
        evaluate(lambda: StaticSite("docs", args))
