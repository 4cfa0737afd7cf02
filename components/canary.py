"""LambdaCanary: a function's versions behind the alias `live`, each new one released by CodeDeploy.

    pulumi up ── new code/config ──▶ Function (publish=true) ──▶ version N+1
        │                                                  alias `live` still on N (Pulumi ignores its version)
        └── Invocation (input names N+1) ──▶ Lambda lambda_release ──CreateDeployment (AppSpec N → N+1)──▶ CodeDeploy
                                                                                                   │
     API Gateway ──invokes──▶ alias `live` ◀── UpdateAlias (10 % for 5 minutes, then 100 %) ───────┘
                                   ▲                                            │ errors / p99 duration alarm
                                   └────────── rolled back to N ◀────────────────┘

Why an Invocation, and not Pulumi moving the alias: if Pulumi sets the alias's `function_version`, all
traffic moves at once and CodeDeploy never runs. So the alias is created once (on the first version) and
Pulumi ignores later changes to its `function_version` and `routing_config`: only CodeDeploy moves it.
The release function is invoked again whenever the published version changes (its input names the
target), reads where `live` points now and asks CodeDeploy to shift traffic from there.

`pulumi up` returns once the deployment is *created*, not when it has finished: the canary runs on,
and a rollback shows in CodeDeploy and on the alarms, not in Pulumi's output. Starting another release
while one is in progress fails the update (CodeDeploy allows one deployment per group at a time).
"""
from dataclasses import dataclass
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from . import monitoring
from .args import ArgsReader
from .iam import allow, policy_document, service_trust_policy

ALIAS = "live"
"""The alias API Gateway (and every other caller) invokes."""
DEPLOYMENT_CONFIGS = (
    "LambdaAllAtOnce",
    "LambdaCanary10Percent5Minutes", "LambdaCanary10Percent10Minutes", "LambdaCanary10Percent15Minutes",
    "LambdaCanary10Percent30Minutes",
    "LambdaLinear10PercentEvery1Minute", "LambdaLinear10PercentEvery2Minutes", "LambdaLinear10PercentEvery3Minutes",
    "LambdaLinear10PercentEvery10Minutes",
)
"""CodeDeploy's predefined Lambda deployment configurations (each is `CodeDeployDefault.<name>`)."""
ROLLBACK_EVENTS = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
RELEASE_CODE = "lambda_release"
MAX_DURATION_MS = 900_000


class CanaryArgs(TypedDict, total=False):
    """Release each new version of a function through CodeDeploy, rolled back on its alarms."""
    deployment_config: str
    """How traffic moves to a new version: LambdaCanary10Percent5Minutes (default), LambdaAllAtOnce,
    LambdaCanary10Percent{10,15,30}Minutes or LambdaLinear10PercentEvery{1,2,3,10}Minute(s)."""
    max_errors: int
    """Errors of the alias in one minute that roll a release back (default 1)."""
    max_p99_duration_ms: int
    """p99 duration (ms) of the alias, two minutes in a row, that rolls a release back (default 3000)."""
    alarm_topic_arn: Optional[pulumi.Input[str]]
    """Topic the rollback alarms also notify (the stack's AlarmTopic); left out, they only roll back."""


DEFAULTS: dict[str, Any] = {
    "deployment_config": "LambdaCanary10Percent5Minutes",
    "max_errors": 1,
    "max_p99_duration_ms": 3000,
}
"""What a canary gets without asking: 10 % of traffic for 5 minutes, rolled back on one error or a slow p99."""


@dataclass(frozen=True)
class ResolvedCanary:
    deployment_config: str
    max_errors: int
    max_p99_duration_ms: int
    alarm_topic_arn: Any = None

    @property
    def deployment_config_name(self) -> str:
        return f"CodeDeployDefault.{self.deployment_config}"

    def args(self, alarm_topic_arn: Optional[pulumi.Input[str]] = None) -> CanaryArgs:
        """As a function's `canary` arg, its rollback alarms notifying the owning component's topic."""
        return {"deployment_config": self.deployment_config, "max_errors": self.max_errors,
                "max_p99_duration_ms": self.max_p99_duration_ms,
                "alarm_topic_arn": alarm_topic_arn if alarm_topic_arn is not None else self.alarm_topic_arn}


def _read(c: ArgsReader) -> ResolvedCanary:
    return ResolvedCanary(
        deployment_config=c.choice("deployment_config", DEPLOYMENT_CONFIGS),
        max_errors=c.integer("max_errors", low=1, high=100_000),
        max_p99_duration_ms=c.integer("max_p99_duration_ms", low=1, high=MAX_DURATION_MS),
        alarm_topic_arn=c.input("alarm_topic_arn"))


def read_canary(r: ArgsReader, key: str = "canary") -> Optional[ResolvedCanary]:
    """An optional `CanaryArgs` arg of a component: None leaves its function without alias and CodeDeploy."""
    c = r.section(key, CanaryArgs, DEFAULTS)
    return None if c is None else _read(c)


def resolve_args(name: str, args: Optional[CanaryArgs]) -> ResolvedCanary:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    return _read(ArgsReader("LambdaCanary", name, args, CanaryArgs, DEFAULTS))


class LambdaCanaryArgs(TypedDict):
    function: aws.lambda_.Function
    """The function, created with publish=True."""
    canary: CanaryArgs
    """How releases move traffic, and when they roll back."""
    log_retention_days: int
    """Retention of the release function's log group."""


def rollback_watches(label: str, function_name: pulumi.Input[str], s: ResolvedCanary) -> list[monitoring.Watch]:
    """Errors and p99 duration of the alias, per minute: a canary of 5 minutes needs a verdict within it."""
    dims = {"FunctionName": function_name, "Resource": pulumi.Output.concat(function_name, f":{ALIAS}")}
    quiet = "no invocations of the new version means nothing to roll back for"
    return [
        monitoring.Watch(label, "rollback-errors", f"Errors through {ALIAS}: {label}",
                         f"{label}:{ALIAS} raised or timed out: CodeDeploy rolls an in-progress release back.",
                         "AWS/Lambda", "Errors", dims, s.max_errors, "Sum", monitoring.NOT_BREACHING, quiet,
                         period=60),
        monitoring.Watch(label, "rollback-p99-duration", f"p99 duration (ms) through {ALIAS}: {label}",
                         f"{label}:{ALIAS} is slow: CodeDeploy rolls an in-progress release back.",
                         "AWS/Lambda", "Duration", dims, s.max_p99_duration_ms, "p99", monitoring.NOT_BREACHING,
                         quiet, period=60, evaluation_periods=2),
    ]


@dataclass(frozen=True)
class _CodeDeploy:
    application: aws.codedeploy.Application
    group: aws.codedeploy.DeploymentGroup
    role_policy: aws.iam.RolePolicy


class LambdaCanary(pulumi.ComponentResource):
    alias: aws.lambda_.Alias
    """The alias `live` callers invoke."""
    application: aws.codedeploy.Application
    """The CodeDeploy application (compute platform Lambda)."""
    deployment_group: aws.codedeploy.DeploymentGroup
    """Its deployment group: the configuration, the rollback alarms and events."""
    alarms: list[aws.cloudwatch.MetricAlarm]
    """Errors and p99 duration of the alias; a release rolls back when one fires."""
    release: aws.lambda_.Invocation
    """The deploy-time call that starts a CodeDeploy deployment to the function's current version."""
    watches: list[monitoring.Watch]
    """What its alarms watch, for the owning component's dashboard (`monitoring.watch(..., created=...)`)."""

    def __init__(self, name: str, args: LambdaCanaryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:LambdaCanary", name, None, opts)
        function = args["function"]
        s = resolve_args(name, args["canary"])
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)
        self._notify = None if s.alarm_topic_arn is None else monitoring.ResolvedAlarms(
            topic_arn=s.alarm_topic_arn, us_east_1_topic_arn=None, thresholds={}, dashboard=False)

        self.alias = self._alias(function)
        self.watches = rollback_watches(name, function.name, s)
        self.alarms = [monitoring.alarm(w, self._notify, self) for w in self.watches]
        deploy = self._code_deploy(s, function)
        self.application, self.deployment_group = deploy.application, deploy.group
        self.release = self._release(s, function, deploy, args["log_retention_days"])
        self.register_outputs({"alias_arn": self.alias.arn, "deployment_group": self.deployment_group.deployment_group_name})

    # --- the alias, on the first version; CodeDeploy moves it after that ---------------------------------
    def _alias(self, function: aws.lambda_.Function) -> aws.lambda_.Alias:
        return aws.lambda_.Alias(
            f"{self._name}-{ALIAS}", name=ALIAS, function_name=function.name, function_version=function.version,
            description="Invoked by every caller; CodeDeploy shifts it from version to version",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["functionVersion", "routingConfig"]))

    # --- CodeDeploy: application, service role, deployment group -------------------------------------------
    def _code_deploy(self, s: ResolvedCanary, function: aws.lambda_.Function) -> _CodeDeploy:
        name, child = self._name, self._child
        application = aws.codedeploy.Application(f"{name}-app", compute_platform="Lambda", opts=child)
        role = aws.iam.Role(f"{name}-codedeploy-role", assume_role_policy=service_trust_policy(
            "codedeploy.amazonaws.com"), opts=child)
        # AWSCodeDeployRoleForLambda, scoped: this alias and these alarms; no hooks, no S3 revisions, no SNS.
        role_policy = aws.iam.RolePolicy(f"{name}-codedeploy-policy", role=role.id, policy=policy_document([
            allow(["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
                  [self.alias.arn], sid="ShiftTheLiveAlias"),
            allow(["cloudwatch:DescribeAlarms"], [a.arn for a in self.alarms], sid="ReadRollbackAlarms"),
        ]), opts=child)
        group = aws.codedeploy.DeploymentGroup(
            f"{name}-group", app_name=application.name, deployment_group_name=f"{name}-{ALIAS}",
            service_role_arn=role.arn, deployment_config_name=s.deployment_config_name,
            deployment_style={"deployment_option": "WITH_TRAFFIC_CONTROL", "deployment_type": "BLUE_GREEN"},
            auto_rollback_configuration={"enabled": True, "events": ROLLBACK_EVENTS},
            alarm_configuration={"enabled": True, "alarms": [a.name for a in self.alarms]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
        return _CodeDeploy(application, group, role_policy)

    # --- the release: a deploy-time invocation that creates the CodeDeploy deployment ----------------------
    def _release(self, s: ResolvedCanary, function: aws.lambda_.Function, deploy: _CodeDeploy,
                 log_retention_days: int) -> aws.lambda_.Invocation:
        from .lambda_function import LambdaFunction  # lambda_function builds canaries: import here, not above

        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        codedeploy_arn = pulumi.Output.concat("arn:aws:codedeploy:", region, ":", account, ":")
        releaser = LambdaFunction(f"{self._name}-release", {
            "code": RELEASE_CODE, "memory_mb": 128, "timeout_seconds": 30,
            "log_retention_days": log_retention_days,
            "policy_statements": [
                allow(["lambda:GetAlias"], [self.alias.arn], sid="ReadWhereLiveIs"),
                allow(["codedeploy:CreateDeployment"],
                      [pulumi.Output.concat(codedeploy_arn, "deploymentgroup:", deploy.application.name, "/",
                                            deploy.group.deployment_group_name)], sid="DeployThisGroupOnly"),
                # CodeDeploy authorizes these too on CreateDeployment (the revision and the configuration it names).
                allow(["codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"],
                      [pulumi.Output.concat(codedeploy_arn, "application:", deploy.application.name)],
                      sid="RegisterTheAppSpec"),
                allow(["codedeploy:GetDeploymentConfig"],
                      [pulumi.Output.concat(codedeploy_arn, "deploymentconfig:", s.deployment_config_name)],
                      sid="ReadTheDeploymentConfig"),
            ],
        }, opts=self._child)
        if self._notify is not None:  # a failed release also fails `pulumi up`; the alarm tells who wasn't watching
            for w in releaser.watches(monitoring.thresholds(monitoring.LAMBDA)):
                monitoring.alarm(w, self._notify, self)
                self.watches.append(w)
        return aws.lambda_.Invocation(
            f"{self._name}-release", function_name=releaser.name,
            # CREATE_ONLY invokes on create or replace; a changed trigger replaces it: each new version runs it once.
            triggers={"targetVersion": function.version},
            input=pulumi.Output.json_dumps({
                "applicationName": deploy.application.name,
                "deploymentGroupName": deploy.group.deployment_group_name,
                "functionName": function.name, "alias": ALIAS, "targetVersion": function.version}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[releaser, deploy.group, self.alias]))

