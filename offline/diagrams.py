"""Architecture diagrams of a recorded stack, as Mermaid (for Markdown) and Graphviz DOT (for images).

Nodes are a stack's key resources (functions, tables, buckets, queues, APIs, distributions, ...),
grouped by the top-level component that owns them. Edges come only from the wiring the resources
declare, read from their props and resolved by value (ARN, name, id, URL, domain name) the way the
policy pack links resources (`policy.stack`), never from a hand-kept list:

  event source mappings, bucket notifications, SNS subscriptions, EventBridge targets and their
  DLQs, API Gateway integrations and authorizers, CloudFront origins, WAF and logs, S3 access logs,
  SQS redrive, Lambda async destinations, load balancer forwarding, Cognito federation and
  triggers, what an IAM role lets its holder (a function, DAX, an identity pool) touch, and
  security-group ingress between holders.

The same `Diagram` renders to both formats, so the README's Mermaid and the image never disagree.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from offline.harness import PROJECT, StackSnapshot
from policy import tokens
from policy.apigateway_rules import api_of, resource_path
from policy.cloudfront_rules import behaviors, origins
from policy.documents import statements
from policy.iam_rules import role_documents
from policy.model import Resource, as_list, attribute, get, is_known, normalize, parse_json
from policy.stack import Stack, identifies

FLOW = "flow"
"""An edge that carries requests or data."""
SIDE = "side"
"""A failure or logging path: DLQs, on-failure destinations, redrive, access logs."""

LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUP_ATTACHMENTS = ("aws:lb/targetGroupAttachment:TargetGroupAttachment",
                            "aws:alb/targetGroupAttachment:TargetGroupAttachment")
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EFS = "aws:efs/fileSystem:FileSystem"
EFS_MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LAMBDA_ALIAS = "aws:lambda/alias:Alias"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SES_IDENTITIES = ("aws:sesv2/emailIdentity:EmailIdentity", "aws:ses/domainIdentity:DomainIdentity",
                  "aws:ses/emailIdentity:EmailIdentity")
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
TOPIC_SUBSCRIPTION = tokens.TOPIC_SUBSCRIPTION
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
DB_INSTANCE = "aws:rds/instance:Instance"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
HOSTED_ZONE = "aws:route53/zone:Zone"
VPC = "aws:ec2/vpc:Vpc"


@dataclass(frozen=True)
class KeyType:
    prefix: str
    kind: str
    shape: str


# The resource types drawn as nodes; everything else is either wiring (read for edges) or detail.
KEY_TYPES: dict[str, KeyType] = {
    tokens.DISTRIBUTION: KeyType("cdn", "CloudFront", "edge"),
    tokens.WEB_ACL: KeyType("waf", "WAF web ACL", "edge"),
    tokens.REST_API: KeyType("api", "API Gateway REST", "edge"),
    **{t: KeyType("alb", "Load balancer", "edge") for t in tokens.LOAD_BALANCERS},
    tokens.USER_POOL: KeyType("userpool", "Cognito user pool", "identity"),
    tokens.IDENTITY_POOL: KeyType("idpool", "Cognito identity pool", "identity"),
    tokens.FUNCTION: KeyType("fn", "Lambda", "compute"),
    AUTOSCALING_GROUP: KeyType("asg", "EC2 Auto Scaling group", "compute"),
    ECS_SERVICE: KeyType("ecs", "ECS Fargate service", "compute"),
    STATE_MACHINE: KeyType("sfn", "Step Functions", "compute"),
    tokens.QUEUE: KeyType("queue", "SQS", "messaging"),
    tokens.TOPIC: KeyType("topic", "SNS", "messaging"),
    tokens.EVENT_BUS: KeyType("bus", "EventBridge bus", "messaging"),
    tokens.KINESIS_STREAM: KeyType("stream", "Kinesis", "messaging"),
    **{t: KeyType("ses", "SES identity", "messaging") for t in SES_IDENTITIES},
    tokens.TABLE: KeyType("table", "DynamoDB", "data"),
    tokens.DAX_CLUSTER: KeyType("dax", "DAX", "data"),
    tokens.BUCKET: KeyType("bucket", "S3", "data"),
    EFS: KeyType("efs", "EFS", "data"),
    REPLICATION_GROUP: KeyType("cache", "ElastiCache", "data"),
    HOSTED_ZONE: KeyType("zone", "Route 53 zone", "edge"),
    VPC: KeyType("vpc", "VPC", "edge"),
    DB_INSTANCE: KeyType("db", "RDS", "data"),
}
SHAPE_ORDER = ("edge", "identity", "compute", "messaging", "data", "external")

_READ = ("Get", "List", "Query", "Scan", "BatchGet", "Describe", "Head", "ConditionCheck")
_WRITE = ("Put", "Update", "Delete", "BatchWrite", "Create", "TransactWrite", "Abort", "Restore")
_SEND = ("SendMessage", "Publish", "PutEvents", "SendEmail", "SendRawEmail", "SendTemplatedEmail",
         "SendBulkEmail", "SendBulkTemplatedEmail")
_INVOKE = ("InvokeFunction", "InvokeAsync", "StartExecution", "StartSyncExecution", "Invoke")
_CONSUME = {"sqs": ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility")}
ACCESS_ORDER = ("read", "write", "send", "invoke", "consume", "use")
MAX_ROUTES_IN_LABEL = 3


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    name: str
    shape: str
    component: Optional[str] = None
    """The top-level component that owns it (None: stack-level or outside the stack)."""
    detail: str = ""

    @property
    def sort_key(self) -> tuple:
        return (self.component or "~", SHAPE_ORDER.index(self.shape), self.kind, self.name, self.id)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    style: str = FLOW


@dataclass
class Diagram:
    title: str
    nodes: list[Node]
    edges: list[Edge]
    clusters: dict[str, str]
    """Component name -> cluster title, e.g. "todo (ServerlessRestApi)"."""
    foreign: set = field(default_factory=set)
    """Ids of nodes drawn only for context (another component's, or outside the stack)."""


@dataclass
class Architecture:
    """The whole stack as nodes and edges; `stack_diagram` and `component_diagram` take views of it."""
    stack: str
    nodes: dict[str, Node]
    edges: list[Edge]
    components: dict[str, str]
    """Top-level component name -> its type, e.g. "todo" -> "ServerlessRestApi"."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "x"


def _action_access(action: str) -> str:
    service, _, verb = action.partition(":")
    if verb.startswith(_CONSUME.get(service, ())) and service in _CONSUME:
        return "consume"
    if verb.startswith(_SEND):
        return "send"
    if verb.startswith(_INVOKE):
        return "invoke"
    if verb.startswith(_READ):
        return "read"
    if verb.startswith(_WRITE):
        return "write"
    return "use"


def _access_label(actions: Iterable[str]) -> str:
    found = {_action_access(a) for a in actions if isinstance(a, str) and ":" in a}
    return "/".join(a for a in ACCESS_ORDER if a in found)


def _join_labels(labels: list[str], many: str) -> str:
    unique = sorted(dict.fromkeys(label for label in labels if label))
    if len(unique) > MAX_ROUTES_IN_LABEL:
        return f"{len(unique)} {many}"
    return ", ".join(unique)


class _Builder:
    """Reads the recorded resources once and collects nodes and edges."""

    def __init__(self, snapshot: StackSnapshot):
        self.snapshot = snapshot
        self.resources = normalize(snapshot.resources)
        self.stack = Stack(self.resources)
        self.components: dict[str, str] = {}
        self.owner: dict[str, Optional[str]] = {}
        for resource in self.resources:
            top = resource
            while top.parent is not None:
                top = top.parent
            is_component = top.resource_type.startswith(f"{PROJECT}:")
            if is_component and top.parent is None:
                self.components[top.name] = top.resource_type.rsplit(":", 1)[-1]
            self.owner[resource.urn] = top.name if is_component else None
        self.key = [r for r in self.resources if r.resource_type in KEY_TYPES]
        self.node_of: dict[str, Node] = {}
        self.external: dict[str, Node] = {}
        self._assign_nodes()
        self.edges: dict[tuple, list[str]] = defaultdict(list)

    # nodes --------------------------------------------------------------------------------------
    def _display_name(self, resource: Resource) -> str:
        """A building block's name (LambdaFunction "photos-worker") for its one key resource (its own: a
        nested building block, such as a canary's release function, names its own)."""
        parent = resource.parent
        if parent is not None and parent.parent is not None and not parent.resource_type.startswith("aws:"):
            siblings = [r for r in self.stack.children(parent) if r.resource_type in KEY_TYPES]
            if len(siblings) == 1:
                return parent.name
        return resource.name

    def _assign_nodes(self) -> None:
        used: set[str] = set()
        for resource in sorted(self.key, key=lambda r: r.urn):
            key_type = KEY_TYPES[resource.resource_type]
            node_id = f"{key_type.prefix}_{_slug(resource.name)}"
            while node_id in used:
                node_id += "_"
            used.add(node_id)
            self.node_of[resource.urn] = Node(node_id, key_type.kind, self._display_name(resource), key_type.shape,
                                              self.owner.get(resource.urn), _detail(resource))

    def external_node(self, kind: str, name: str) -> Node:
        node_id = f"ext_{_slug(kind)}_{_slug(name)}"
        return self.external.setdefault(node_id, Node(node_id, kind, name, "external"))

    # links --------------------------------------------------------------------------------------
    def refs(self, source: Resource, prop: str, value: Any, *types: Any) -> list[Resource]:
        """Key resources of `types` (default: every key type) that `value`, read from `source`'s
        top-level `prop`, points at."""
        if value is None:
            return []
        wanted = {t for token in types for t in (token if isinstance(token, tuple) else (token,))}
        candidates = [r for r in self.key if not wanted or r.resource_type in wanted]
        return self.stack.resolve(source, prop, value, candidates) or []

    def one(self, source: Resource, prop: str, value: Any, *types: Any) -> Optional[Resource]:
        """The one resource of `types` (key or not) that `value` points at."""
        return self.stack.resolve_one(source, prop, value, *types) if value is not None else None

    def add(self, source: Any, target: Any, label: str, style: str = FLOW) -> None:
        a, b = self._node(source), self._node(target)
        if a is None or b is None or a.id == b.id:
            return
        self.edges[(a.id, b.id, style)].append(label)

    def _node(self, item: Any) -> Optional[Node]:
        if isinstance(item, Node):
            return item
        return self.node_of.get(item.urn) if item is not None else None

    def connected(self, a: Any, b: Any) -> bool:
        x, y = self._node(a), self._node(b)
        if x is None or y is None:
            return False
        return any({source, target} == {x.id, y.id} for source, target, _ in self.edges)

    # wiring -------------------------------------------------------------------------------------
    def event_source_mappings(self) -> None:
        for mapping in self.stack.of_type(tokens.EVENT_SOURCE_MAPPING):
            functions = self.refs(mapping, "functionName", get(mapping.props, "functionName"), tokens.FUNCTION)
            sources = self.refs(mapping, "eventSourceArn", get(mapping.props, "eventSourceArn"),
                                tokens.TABLE, tokens.QUEUE, tokens.KINESIS_STREAM)
            filtered = " (filtered)" if get(mapping.props, "filterCriteria") else ""
            for source in sources:
                verb = "poll" if source.resource_type == tokens.QUEUE else "stream"
                for function in functions:
                    self.add(source, function, verb + filtered)
            failure = get(mapping.props, "destinationConfig", "onFailure", "destinationArn")
            for destination in self.refs(mapping, "destinationConfig", failure):
                for function in functions:
                    self.add(function, destination, "failed records", SIDE)

    def async_destinations(self) -> None:
        for config in self.stack.of_type(tokens.FUNCTION_EVENT_INVOKE_CONFIG):
            functions = self.refs(config, "functionName", get(config.props, "functionName"), tokens.FUNCTION)
            for outcome, style in (("onFailure", SIDE), ("onSuccess", FLOW)):
                value = get(config.props, "destinationConfig", outcome, "destination")
                for destination in self.refs(config, "destinationConfig", value):
                    for function in functions:
                        self.add(function, destination, "on failure" if outcome == "onFailure" else "on success", style)
        for function in self.stack.of_type(tokens.FUNCTION):
            for dlq in self.refs(function, "deadLetterConfig", get(function.props, "deadLetterConfig", "targetArn")):
                self.add(function, dlq, "DLQ", SIDE)

    def queue_redrive(self) -> None:
        for queue in self.stack.of_type(tokens.QUEUE):
            target = get(parse_json(get(queue.props, "redrivePolicy")), "deadLetterTargetArn")
            for dlq in self.refs(queue, "redrivePolicy", target, tokens.QUEUE):
                self.add(queue, dlq, "redrive", SIDE)
        for policy in self.stack.of_type(tokens.QUEUE_REDRIVE_POLICY):
            queues = self.refs(policy, "queueUrl", get(policy.props, "queueUrl"), tokens.QUEUE)
            target = get(parse_json(get(policy.props, "redrivePolicy")), "deadLetterTargetArn")
            for dlq in self.refs(policy, "redrivePolicy", target, tokens.QUEUE):
                for queue in queues:
                    self.add(queue, dlq, "redrive", SIDE)

    def bucket_notifications(self) -> None:
        for notification in self.stack.of_type(tokens.BUCKET_NOTIFICATION):
            buckets = self.refs(notification, "bucket", get(notification.props, "bucket"), tokens.BUCKET)
            for prop, key, token in (("lambdaFunctions", "lambdaFunctionArn", tokens.FUNCTION),
                                     ("queues", "queueArn", tokens.QUEUE), ("topics", "topicArn", tokens.TOPIC)):
                for entry in as_list(get(notification.props, prop)):
                    events = "/".join(sorted({str(e).split(":")[1] for e in as_list(get(entry, "events"))
                                              if isinstance(e, str) and e.count(":") >= 1}))
                    label = " ".join(part for part in (events, get(entry, "filterPrefix") or "") if part)
                    for target in self.refs(notification, prop, get(entry, key), token):
                        for bucket in buckets:
                            self.add(bucket, target, label or "notification")

    def topic_subscriptions(self) -> None:
        for subscription in self.stack.of_type(TOPIC_SUBSCRIPTION):
            topics = self.refs(subscription, "topic", get(subscription.props, "topic"), tokens.TOPIC)
            protocol = get(subscription.props, "protocol")
            targets = self.refs(subscription, "endpoint", get(subscription.props, "endpoint"))
            if not targets and is_known(protocol):
                targets = [self.external_node("SNS subscriber", str(protocol))]
            for topic in topics:
                for target in targets:
                    self.add(topic, target, str(protocol or "subscription"))

    def event_targets(self) -> None:
        for target in self.stack.of_type(tokens.EVENT_TARGET):
            rule = self.one(target, "rule", get(target.props, "rule"), tokens.EVENT_RULE)
            sources: list = []
            if rule is not None:
                sources = self.refs(rule, "eventBusName", get(rule.props, "eventBusName"), tokens.EVENT_BUS)
                schedule = get(rule.props, "scheduleExpression")
                if not sources and is_known(schedule):
                    sources = [self.external_node("EventBridge schedule", str(schedule))]
                elif not sources and get(rule.props, "eventBusName") in (None, "default"):
                    sources = [self.external_node("EventBridge", "default bus")]
            label = _rule_label(rule) if rule is not None else "rule"
            destinations = self.refs(target, "arn", get(target.props, "arn"))
            dead_letters = self.refs(target, "deadLetterConfig", get(target.props, "deadLetterConfig", "arn"))
            for source in sources:
                for destination in destinations:
                    self.add(source, destination, label)
                for dlq in dead_letters:
                    self.add(source, dlq, f"undeliverable ({label})", SIDE)

    def integrated_functions(self, integration: Resource) -> list[Resource]:
        """The functions an integration invokes: directly, or through an alias (a canary's `live`)."""
        uri = get(integration.props, "uri")
        functions = self.refs(integration, "uri", uri, tokens.FUNCTION)
        alias = None if functions else self.one(integration, "uri", uri, LAMBDA_ALIAS)
        if alias is None:
            return functions
        return self.refs(alias, "functionName", get(alias.props, "functionName"), tokens.FUNCTION)

    def api_integrations(self) -> None:
        for integration in self.stack.of_type(tokens.INTEGRATION):
            api = api_of(self.stack, integration)
            if api is None or get(integration.props, "type") not in ("AWS_PROXY", "AWS"):
                continue
            path = resource_path(self.stack, integration)
            route = f"{get(integration.props, 'httpMethod')} /{path}" if path is not None else "route"
            for function in self.integrated_functions(integration):
                self.add(api, function, route)
        for authorizer in self.stack.of_type(tokens.AUTHORIZER):
            api = api_of(self.stack, authorizer)
            if api is None:
                continue
            for arn in as_list(get(authorizer.props, "providerArns")):
                for pool in self.refs(authorizer, "providerArns", arn, tokens.USER_POOL):
                    self.add(api, pool, "authorizer")
            for function in self.refs(authorizer, "authorizerUri", get(authorizer.props, "authorizerUri"),
                                      tokens.FUNCTION):
                self.add(api, function, "authorizer")

    def distributions(self) -> None:
        for distribution in self.stack.of_type(tokens.DISTRIBUTION):
            paths: dict[str, list[str]] = defaultdict(list)
            for _, behavior in behaviors(distribution):
                pattern = get(behavior, "pathPattern")
                paths[str(get(behavior, "targetOriginId"))].append(pattern if is_known(pattern) else "default")
            for origin in origins(distribution):
                label = _join_labels(paths.get(str(get(origin, "originId")), []), "paths") or "origin"
                for target in self._origin_targets(distribution, origin):
                    self.add(distribution, target, label)
            for acl in self.refs(distribution, "webAclId", get(distribution.props, "webAclId"), tokens.WEB_ACL):
                self.add(acl, distribution, "filters")
            logs = get(distribution.props, "loggingConfig", "bucket")
            for bucket in self.refs(distribution, "loggingConfig", logs, tokens.BUCKET):
                self.add(distribution, bucket, "access logs", SIDE)

    def _origin_targets(self, distribution: Resource, origin: dict) -> list:
        domain = get(origin, "domainName")
        if not is_known(domain) or not isinstance(domain, str):
            return []
        found = self.refs(distribution, "origins", domain, tokens.BUCKET)
        if found:
            return found
        api_id = re.match(r"^([a-z0-9]+)\.execute-api\.", domain)
        for resource in self.key:
            if resource.resource_type == tokens.REST_API and api_id and attribute(resource, "id") == api_id.group(1):
                return [resource]
            if resource.resource_type in tokens.LOAD_BALANCERS and attribute(resource, "dnsName") == domain:
                return [resource]
        return [self.external_node("origin", domain)]

    def bucket_logging(self) -> None:
        for logging in self.stack.of_type(*tokens.BUCKET_LOGGING):
            sources = self.refs(logging, "bucket", get(logging.props, "bucket"), tokens.BUCKET)
            for target in self.refs(logging, "targetBucket", get(logging.props, "targetBucket"), tokens.BUCKET):
                for source in sources:
                    self.add(source, target, "access logs", SIDE)

    def cognito(self) -> None:
        pools = [r for r in self.key if r.resource_type == tokens.USER_POOL]
        for identity_pool in self.stack.of_type(tokens.IDENTITY_POOL):
            for provider in as_list(get(identity_pool.props, "cognitoIdentityProviders")):
                name = get(provider, "providerName")
                for pool in pools:
                    if is_known(name) and name in (attribute(pool, "endpoint"), f"cognito-idp.{attribute(pool, 'id')}"):
                        self.add(identity_pool, pool, "user pool tokens")
        for pool in self.stack.of_type(tokens.USER_POOL):
            for trigger, value in sorted((get(pool.props, "lambdaConfig") or {}).items()):
                for function in self.refs(pool, "lambdaConfig", value, tokens.FUNCTION):
                    self.add(pool, function, trigger)

    def load_balancers(self) -> None:
        forwards: list[tuple] = []  # (load balancer, target group ARN, source resource, prop)
        for listener in self.stack.of_type(*LISTENERS):
            for lb in self.refs(listener, "loadBalancerArn", get(listener.props, "loadBalancerArn"), tokens.LOAD_BALANCERS):
                forwards += [(lb, arn, listener, "defaultActions") for arn in _forwarded(get(listener.props, "defaultActions"))]
        for rule in self.stack.of_type(*LISTENER_RULES):
            listener = self.one(rule, "listenerArn", get(rule.props, "listenerArn"), *LISTENERS)
            if listener is None:
                continue
            for lb in self.refs(listener, "loadBalancerArn", get(listener.props, "loadBalancerArn"), tokens.LOAD_BALANCERS):
                forwards += [(lb, arn, rule, "actions") for arn in _forwarded(get(rule.props, "actions"))]
        groups = self.stack.of_type(*tokens.TARGET_GROUPS)
        for lb, arn, source, prop in forwards:
            for group in self.stack.resolve(source, prop, arn, groups) or []:
                label = " ".join(str(v) for v in (get(group.props, "protocol"), get(group.props, "port")) if is_known(v))
                for target in self._group_targets(group):
                    self.add(lb, target, label or "forward")

    def _group_targets(self, group: Resource) -> list:
        found = []
        for asg in self.stack.of_type(AUTOSCALING_GROUP):
            if any(group in (self.stack.resolve(asg, "targetGroupArns", arn, [group]) or [])
                   for arn in as_list(get(asg.props, "targetGroupArns"))):
                found.append(asg)
        for attachment in self.stack.of_type(*TARGET_GROUP_ATTACHMENTS):
            if group in (self.stack.resolve(attachment, "targetGroupArn", get(attachment.props, "targetGroupArn"), [group]) or []):
                found += self.refs(attachment, "targetId", get(attachment.props, "targetId"))
        for service in self.stack.of_type(ECS_SERVICE):
            if any(group in (self.stack.resolve(service, "loadBalancers", get(entry, "targetGroupArn"), [group]) or [])
                   for entry in as_list(get(service.props, "loadBalancers"))):
                found.append(service)
        return found

    def role_access(self) -> None:
        """What each role holder may touch, from the role's identity policies (IAM Allow statements)."""
        holders: list[tuple] = []  # (holder, role)
        roles = self.stack.of_type(tokens.ROLE)
        for function in self.stack.of_type(tokens.FUNCTION):
            holders += [(function, r) for r in self.stack.resolve(function, "role", get(function.props, "role"), roles) or []]
        for cluster in self.stack.of_type(tokens.DAX_CLUSTER):
            holders += [(cluster, r) for r in
                        self.stack.resolve(cluster, "iamRoleArn", get(cluster.props, "iamRoleArn"), roles) or []]
        for service in self.stack.of_type(ECS_SERVICE):  # its tasks hold the task definition's task role
            task = self.one(service, "taskDefinition", get(service.props, "taskDefinition"), TASK_DEFINITION)
            if task is not None:
                holders += [(service, r) for r in
                            self.stack.resolve(task, "taskRoleArn", get(task.props, "taskRoleArn"), roles) or []]
        for asg in self.stack.of_type(AUTOSCALING_GROUP):  # its instances hold the instance profile's role
            template = self.one(asg, "launchTemplate", get(asg.props, "launchTemplate", "id"), LAUNCH_TEMPLATE)
            profile = None if template is None else self.one(
                template, "iamInstanceProfile", get(template.props, "iamInstanceProfile", "arn"), INSTANCE_PROFILE)
            if profile is not None:
                holders += [(asg, r) for r in self.stack.resolve(profile, "role", get(profile.props, "role"), roles) or []]
        for attachment in self.stack.of_type(tokens.IDENTITY_POOL_ROLE_ATTACHMENT):
            pool = self.one(attachment, "identityPoolId", get(attachment.props, "identityPoolId"), tokens.IDENTITY_POOL)
            for arn in (get(attachment.props, "roles") or {}).values():
                holders += [(pool, r) for r in self.stack.resolve(attachment, "roles", arn, roles) or []]
        access: dict[tuple, set] = defaultdict(set)
        for holder, role in holders:
            if holder is None or self._node(holder) is None:
                continue
            documents, _ = role_documents(self.stack, role)
            for _, document in documents:
                for statement in statements(document) or []:
                    if not statement.allows or not statement.resources:
                        continue
                    for pattern in statement.resources:
                        for target in self.key:
                            if target is not holder and (identifies(pattern, target) or _invokes(pattern, target)):
                                access[(holder.urn, target.urn)].update(statement.actions)
        by_urn = {r.urn: r for r in self.resources}
        for (holder, target), actions in sorted(access.items()):
            if not self.connected(by_urn[holder], by_urn[target]):
                self.add(by_urn[holder], by_urn[target], _access_label(actions) or "use")

    def network(self) -> None:
        """Security-group ingress between holders that aren't already connected otherwise."""
        groups = self.stack.of_type(SECURITY_GROUP)
        holders: dict[str, list] = defaultdict(list)  # security group URN -> key resources

        def hold(resource: Resource, prop: str, values: Any, holder: Resource) -> None:
            for value in as_list(values):
                for group in self.stack.resolve(resource, prop, value, groups) or []:
                    holders[group.urn].append(holder)

        for function in self.stack.of_type(tokens.FUNCTION):
            hold(function, "vpcConfig", get(function.props, "vpcConfig", "securityGroupIds"), function)
        for cluster in self.stack.of_type(tokens.DAX_CLUSTER, REPLICATION_GROUP):
            hold(cluster, "securityGroupIds", get(cluster.props, "securityGroupIds"), cluster)
        for database in self.stack.of_type(DB_INSTANCE):
            hold(database, "vpcSecurityGroupIds", get(database.props, "vpcSecurityGroupIds"), database)
        for service in self.stack.of_type(ECS_SERVICE):
            hold(service, "networkConfiguration", get(service.props, "networkConfiguration", "securityGroups"), service)
        for lb in self.stack.of_type(*tokens.LOAD_BALANCERS):
            hold(lb, "securityGroups", get(lb.props, "securityGroups"), lb)
        for asg in self.stack.of_type(AUTOSCALING_GROUP):
            template = self.one(asg, "launchTemplate", get(asg.props, "launchTemplate", "id"), LAUNCH_TEMPLATE)
            if template is not None:
                hold(template, "vpcSecurityGroupIds", get(template.props, "vpcSecurityGroupIds"), asg)
                for interface in as_list(get(template.props, "networkInterfaces")):
                    hold(template, "networkInterfaces", get(interface, "securityGroups"), asg)
        for target in self.stack.of_type(EFS_MOUNT_TARGET):
            file_system = self.one(target, "fileSystemId", get(target.props, "fileSystemId"), EFS)
            if file_system is not None:
                hold(target, "securityGroups", get(target.props, "securityGroups"), file_system)
        rules = [(r, "securityGroupId", "referencedSecurityGroupId") for r in self.stack.of_type(INGRESS_RULE)]
        rules += [(r, "securityGroupId", "sourceSecurityGroupId") for r in self.stack.of_type(SECURITY_GROUP_RULE)
                  if get(r.props, "type") == "ingress"]
        links: list[tuple] = []
        for rule, to_prop, from_prop in rules:
            destination = self.one(rule, to_prop, get(rule.props, to_prop), SECURITY_GROUP)
            source = self.one(rule, from_prop, get(rule.props, from_prop), SECURITY_GROUP)
            if destination is not None and source is not None:
                links.append((source, destination, _port_label(rule)))
        for group in groups:
            for entry in as_list(get(group.props, "ingress")):
                for value in as_list(get(entry, "securityGroups")):
                    source = self.one(group, "ingress", value, SECURITY_GROUP)
                    if source is not None:
                        links.append((source, group, _port_label(entry)))
        for source, destination, label in links:
            for a in holders.get(source.urn, []):
                for b in holders.get(destination.urn, []):
                    if not self.connected(a, b):
                        self.add(a, b, label)

    def build(self) -> Architecture:
        for step in (self.event_source_mappings, self.async_destinations, self.queue_redrive,
                     self.bucket_notifications, self.topic_subscriptions, self.event_targets,
                     self.api_integrations, self.distributions, self.bucket_logging, self.cognito,
                     self.load_balancers, self.role_access, self.network):
            step()
        nodes = {n.id: n for n in [*self.node_of.values(), *self.external.values()]}
        edges = [Edge(source, target, _join_labels(labels, "routes"), style)
                 for (source, target, style), labels in self.edges.items()]
        edges.sort(key=lambda e: (nodes[e.source].sort_key, nodes[e.target].sort_key, e.style, e.label))
        return Architecture(self.snapshot.stack, nodes, edges, dict(sorted(self.components.items())))


def _forwarded(actions: Any) -> list:
    arns = []
    for action in as_list(actions):
        arns.append(get(action, "targetGroupArn"))
        arns += [get(g, "arn") for g in as_list(get(action, "forward", "targetGroups"))]
    return [a for a in arns if a is not None]


def _port_label(rule: Any) -> str:
    props = rule.props if isinstance(rule, Resource) else rule
    protocol, low, high = (get(props, k) for k in ("ipProtocol", "fromPort", "toPort"))
    if protocol is None:
        protocol = get(props, "protocol")
    ports = f"{low}" if low == high or high is None else f"{low}-{high}"
    return f"{protocol or 'tcp'} {ports}".strip()


def _rule_label(rule: Resource) -> str:
    pattern = parse_json(get(rule.props, "eventPattern"))
    detail_types = get(pattern, "detail-type") if isinstance(pattern, dict) else None
    if isinstance(detail_types, list) and detail_types and all(isinstance(d, str) for d in detail_types):
        return ", ".join(detail_types)
    return rule.name


def _invokes(pattern: Any, target: Resource) -> bool:
    """An execute-api ARN under a REST API's execution ARN (IAM-authorized callers: checkout -> cart)."""
    execution_arn = attribute(target, "executionArn") if target.resource_type == tokens.REST_API else None
    return isinstance(pattern, str) and is_known(execution_arn) and pattern.startswith(f"{execution_arn}/")


def _detail(resource: Resource) -> str:
    props = resource.props
    if resource.resource_type == tokens.DAX_CLUSTER:
        return f"{get(props, 'replicationFactor')} × {get(props, 'nodeType')}"
    if resource.resource_type == tokens.TABLE:
        regions = [get(r, "regionName") for r in as_list(get(props, "replicas"))]
        return f"replicas: {', '.join(str(r) for r in regions)}" if regions else ""
    if resource.resource_type == tokens.DISTRIBUTION:
        aliases = [a for a in as_list(get(props, "aliases")) if isinstance(a, str)]
        return ", ".join(aliases)
    if resource.resource_type == tokens.FUNCTION:
        return f"{get(props, 'memorySize')} MB, {get(props, 'timeout')} s"
    if resource.resource_type == REPLICATION_GROUP:
        return f"{get(props, 'numCacheClusters')} × {get(props, 'nodeType')}"
    if resource.resource_type == VPC:
        return str(get(props, "cidrBlock") or "")
    if resource.resource_type == HOSTED_ZONE:
        return "private (VPC)" if get(props, "vpcs") else "public"
    if resource.resource_type == DB_INSTANCE:
        return f"{get(props, 'instanceClass')}{', Multi-AZ' if get(props, 'multiAz') is True else ''}"
    return ""


def architecture(snapshot: StackSnapshot) -> Architecture:
    """Nodes and edges of a recorded stack (see the module docstring for where edges come from)."""
    return _Builder(snapshot).build()


def stack_diagram(arch: Architecture) -> Diagram:
    clusters = {name: f"{name} ({kind})" for name, kind in arch.components.items()}
    connected = {e.source for e in arch.edges} | {e.target for e in arch.edges}
    nodes = [n for n in arch.nodes.values() if n.component is not None or n.id in connected]
    return Diagram(f"stack {arch.stack}", sorted(nodes, key=lambda n: n.sort_key), list(arch.edges), clusters,
                   foreign={n.id for n in nodes if n.component is None})


def component_diagram(arch: Architecture, component: str) -> Diagram:
    """One component's key resources, with the nodes it connects to elsewhere drawn for context."""
    if component not in arch.components:
        raise KeyError(f"no component {component!r} in stack {arch.stack}; components: {', '.join(arch.components)}")
    own = {n.id for n in arch.nodes.values() if n.component == component}
    edges = [e for e in arch.edges if e.source in own or e.target in own]
    context = ({e.source for e in edges} | {e.target for e in edges}) - own
    nodes = sorted((arch.nodes[i] for i in own | context), key=lambda n: n.sort_key)
    title = f"{component} ({arch.components[component]})"
    return Diagram(title, nodes, edges, {component: title}, foreign=context)


# Mermaid ----------------------------------------------------------------------------------------

_MERMAID_SHAPES = {"compute": ('["', '"]'), "data": ('[("', '")]'), "messaging": ('(["', '"])'),
                   "edge": ('{{"', '"}}'), "identity": ('[/"', '"/]'), "external": ('["', '"]')}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _node_text(node: Node, foreign: bool) -> list[str]:
    lines = [node.kind, node.name]
    if node.detail:
        lines.append(node.detail)
    if foreign and node.component:
        lines.append(f"in {node.component}")
    return lines


def to_mermaid(diagram: Diagram) -> str:
    """A Mermaid flowchart (fenced by the caller): one subgraph per component."""
    lines = ["flowchart LR"]

    def node_line(node: Node, indent: str) -> str:
        opening, closing = _MERMAID_SHAPES[node.shape]
        text = "<br/>".join(_mermaid_text(t) for t in _node_text(node, node.id in diagram.foreign))
        return f"{indent}{node.id}{opening}{text}{closing}"

    for component, title in diagram.clusters.items():
        members = [n for n in diagram.nodes if n.component == component and n.id not in diagram.foreign]
        if not members:
            continue
        lines.append(f'  subgraph c_{_slug(component)}["{_mermaid_text(title)}"]')
        lines += [node_line(n, "    ") for n in members]
        lines.append("  end")
    outside = [n for n in diagram.nodes if n.id in diagram.foreign or n.component not in diagram.clusters]
    lines += [node_line(n, "  ") for n in outside]
    for edge in diagram.edges:
        arrow = "-.->" if edge.style == SIDE else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
    if outside:
        lines.append("  classDef context stroke-dasharray: 4 4")
        lines.append(f"  class {','.join(n.id for n in outside)} context")
    return "\n".join(lines) + "\n"


# Graphviz DOT -----------------------------------------------------------------------------------

_DOT_SHAPES = {
    "edge": 'shape=hexagon, style="filled", fillcolor="#dbeafe"',
    "identity": 'shape=box, style="filled,diagonals", fillcolor="#ede9fe"',
    "compute": 'shape=box, style="filled", fillcolor="#fef3c7"',
    "messaging": 'shape=box, style="filled,rounded", fillcolor="#dcfce7"',
    "data": 'shape=cylinder, style="filled", fillcolor="#e0f2fe"',
    "external": 'shape=box, style="dashed"',
}
_DOT_CONTEXT = ', color="gray45", fontcolor="gray30"'


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(diagram: Diagram) -> str:
    """A Graphviz digraph, left to right, one cluster per component; render with `dot -Tsvg`."""
    graph_label = f", label={_dot_text(diagram.title)}, labelloc=t" if len(diagram.clusters) > 1 else ""
    lines = [f"digraph {_dot_text(diagram.title)} {{",
             f"  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.3, ranksep=0.6{graph_label}];",
             "  node [fontname=\"Helvetica\", fontsize=10, margin=\"0.15,0.05\"];",
             "  edge [fontname=\"Helvetica\", fontsize=9];"]

    def node_line(node: Node, indent: str) -> str:
        shape = _DOT_SHAPES[node.shape]
        if node.id in diagram.foreign and node.shape != "external":
            shape = shape.replace('style="filled', 'style="dashed,filled') + _DOT_CONTEXT
        text = "\\n".join(t.replace("\\", "\\\\").replace('"', '\\"')
                          for t in _node_text(node, node.id in diagram.foreign))
        return f'{indent}{node.id} [label="{text}", {shape}];'

    for component, title in diagram.clusters.items():
        members = [n for n in diagram.nodes if n.component == component and n.id not in diagram.foreign]
        if not members:
            continue
        lines.append(f"  subgraph cluster_{_slug(component)} {{")
        lines.append(f"    label={_dot_text(title)}; style=\"rounded\"; color=\"gray60\";")
        lines += [node_line(n, "    ") for n in members]
        lines.append("  }")
    lines += [node_line(n, "  ") for n in diagram.nodes
              if n.id in diagram.foreign or n.component not in diagram.clusters]
    for edge in diagram.edges:
        attributes = [f"label={_dot_text(edge.label)}"] if edge.label else []
        if edge.style == SIDE:
            attributes.append('style="dashed"')
        lines.append(f"  {edge.source} -> {edge.target}" + (f" [{', '.join(attributes)}]" if attributes else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"
