"""ServerlessRestApi: the MyTodoList mobile backend.

    mobile app ──SRP──▶ Cognito User Pool ──ID token──▶ API Gateway (REST, REGIONAL, stage cache)
        │                                                   │ Cognito authorizer on every method but OPTIONS
        │                                                   ▼
        │                                          Lambda todo_api (arm64, VPC when DAX is on)
        │                                             │ eventually consistent reads + write-through
        │                                             ▼
        │                                     DAX (private subnets, TLS) ──▶ DynamoDB todos table
        │                                             │ presigned POST/GET, users/<sub>/ only
        └──identity pool credentials (PrincipalTag userSub)──▶ S3 files bucket, users/<sub>/

The same folder, `users/<user pool sub>/`, is reached both ways: the identity
pool maps the user pool's `sub` claim to the session tag `userSub`, the
authenticated role's policy allows only `users/${aws:PrincipalTag/userSub}/*`,
and the Lambda builds keys from the authorizer's `sub` claim.
"""
from __future__ import annotations

import hashlib
import re
from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .iam import allow, policy_document
from .lambda_function import LambdaFunction
from .rest_api import ApiCache, ApiRoute, LambdaRestApi
from .secure_bucket import SecureBucket
from .user_pool import user_pool_with_app_client

DAX_TLS_PORT = 9111
DAX_CLUSTER_NAME_LIMIT = 20
USER_FOLDER_TAG = "userSub"
USER_FOLDER = "users/${aws:PrincipalTag/" + USER_FOLDER_TAG + "}"
# The ID token travels here, not in Authorization: a forced cache refresh must be SigV4-signed
# (identity-pool credentials), and SigV4 needs the Authorization header for itself.
TOKEN_HEADER = "X-Id-Token"

# The API's route table: (method, path, cached GET?, query strings). docs/openapi/todo-api.json mirrors it.
ROUTES: tuple[tuple[str, str, bool, tuple[str, ...]], ...] = (
    ("GET", "/todos", True, ("limit", "cursor")),
    ("POST", "/todos", False, ()),
    ("GET", "/todos/{todoId}", True, ()),
    ("PUT", "/todos/{todoId}", False, ()),
    ("DELETE", "/todos/{todoId}", False, ()),
    ("POST", "/files/upload-url", False, ()),
    ("GET", "/files/download-url", False, ("key",)),
)


def dax_cluster_name(component: str, stack: str) -> str:
    """A DAX cluster name: unique per component and stack, lower case, and at most 20 characters."""
    wanted = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{component}-{stack}".lower())).strip("-")
    if not wanted[:1].isalpha():
        wanted = "dax-" + wanted
    if len(wanted) <= DAX_CLUSTER_NAME_LIMIT:
        return wanted
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:5]
    return f"{wanted[:DAX_CLUSTER_NAME_LIMIT - 6].rstrip('-')}-{digest}"


class DaxArgs(TypedDict, total=False):
    node_type: str
    """DAX node type, e.g. dax.t3.small."""
    nodes: int
    """Replication factor (3 spreads across AZs)."""
    item_ttl_seconds: int
    """Item cache TTL."""
    query_ttl_seconds: int
    """Query cache TTL."""
    subnet_ids: Sequence[str]
    """Existing private subnets; when empty a VPC is created."""
    vpc_cidr: str
    """CIDR of the created VPC."""


class ServerlessRestApiArgs(TypedDict, total=False):
    memory_mb: int
    """Lambda memory."""
    timeout_seconds: int
    """Lambda timeout (< 29 s)."""
    throttle_rate_limit: float
    """Stage-wide requests per second."""
    throttle_burst_limit: int
    """Stage-wide burst."""
    cache: Optional[ApiCache]
    """API Gateway stage cache for the GET routes; None turns it off."""
    dax: Optional[DaxArgs]
    """DAX in front of the table; None reads DynamoDB directly."""
    mfa: str
    """Cognito MFA: OFF, OPTIONAL or ON."""
    upload_max_bytes: int
    """Largest file a presigned POST accepts."""
    allowed_content_types: Sequence[str]
    """Content types a presigned POST accepts."""
    url_expiry_seconds: int
    """Presigned URL lifetime (<= 900)."""
    cors_origins: Sequence[str]
    """Origins allowed by the API and the bucket's CORS."""
    log_retention_days: int
    """Retention of every log group."""
    deletion_protection: bool
    """Protect the user pool and table, and keep the bucket on destroy."""
    cloudwatch_account: Optional[pulumi.Resource]
    """The region's API Gateway logging settings, if this stack manages them."""


class ServerlessRestApi(pulumi.ComponentResource):
    api_url: pulumi.Output[str]
    """Invoke URL of the API stage."""
    user_pool_id: pulumi.Output[str]
    """Cognito user pool id."""
    user_pool_client_id: pulumi.Output[str]
    """App client id (no secret)."""
    identity_pool_id: pulumi.Output[str]
    """Cognito identity pool id."""
    bucket_name: pulumi.Output[str]
    """Bucket holding the per-user folders."""
    table_name: pulumi.Output[str]
    """To-do table."""
    region: pulumi.Output[str]
    """Region of all of the above."""
    client_config: pulumi.Output[str]
    """JSON a mobile app loads as it is."""
    dax_endpoint: Optional[pulumi.Output[str]]
    """daxs:// endpoint when DAX is on."""

    def __init__(self, name: str, args: Optional[ServerlessRestApiArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:ServerlessRestApi", name, None, opts)
        args = args or {}
        child = pulumi.ResourceOptions(parent=self)
        protect = args.get("deletion_protection", False)
        retention = args.get("log_retention_days", 30)
        expiry = args.get("url_expiry_seconds", 300)
        if not 1 <= expiry <= 900:
            raise ValueError(f"{name}: url_expiry_seconds={expiry} must be 1..900 (presigned URLs live at most 15 min)")
        origins = list(args.get("cors_origins", ["*"]))
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.region = aws.get_region_output(opts=invoke).region

        # --- identity -------------------------------------------------------------------------
        user_pool, client = user_pool_with_app_client(
            f"{name}-users", f"{name}-mobile-client", parent=self, deletion_protection=protect,
            mfa=args.get("mfa", "OPTIONAL"))

        # --- data -----------------------------------------------------------------------------
        table = aws.dynamodb.Table(
            f"{name}-todos", billing_mode="PAY_PER_REQUEST", hash_key="userId", range_key="todoId",
            attributes=[{"name": "userId", "type": "S"}, {"name": "todoId", "type": "S"}],
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            deletion_protection_enabled=protect, opts=child)
        files = SecureBucket(f"{name}-files", {
            "force_destroy": not protect,
            "cors_rules": [{"allowed_methods": ["GET", "POST", "PUT", "DELETE", "HEAD"],
                            "allowed_origins": origins, "allowed_headers": ["*"],
                            "expose_headers": ["ETag"], "max_age_seconds": 3000}],
        }, opts=child)

        # --- identity pool: per-user folder ------------------------------------------------------
        identity_pool = aws.cognito.IdentityPool(
            f"{name}-identities", identity_pool_name=f"{name}_identities".replace("-", "_"),
            allow_unauthenticated_identities=False, allow_classic_flow=False,
            cognito_identity_providers=[{"client_id": client.id, "provider_name": user_pool.endpoint,
                                         "server_side_token_check": True}], opts=child)
        aws.cognito.IdentityPoolProviderPrincipalTag(
            f"{name}-user-folder-tag", identity_pool_id=identity_pool.id,
            identity_provider_name=user_pool.endpoint, use_defaults=False,
            principal_tags={USER_FOLDER_TAG: "sub"}, opts=child)

        dax = args.get("dax")
        network = self._network(name, dax, child) if dax else None
        self.dax_endpoint = None
        dax_statements = []
        if dax:
            cluster = self._dax(name, dax, table, network, child)
            self.dax_endpoint = pulumi.Output.concat("daxs://", cluster.cluster_address)
            dax_statements = [allow(["dax:DeleteItem", "dax:GetItem", "dax:PutItem", "dax:Query",
                                     "dax:UpdateItem"], [cluster.arn], sid="TodosThroughDax")]
        # With DAX on, every read and write goes through the cluster: the function needs no table access.
        table_statements = [] if dax else [allow(
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            [table.arn], sid="TodosTable")]

        function = LambdaFunction(f"{name}-handler", {
            "code": "todo_api",
            "memory_mb": args.get("memory_mb", 256),
            "timeout_seconds": args.get("timeout_seconds", 10),
            "invoked_by_api_gateway": True,
            "log_retention_days": retention,
            "environment": {
                "TABLE_NAME": table.name, "BUCKET_NAME": files.name,
                "DAX_ENDPOINT": self.dax_endpoint if dax else "",
                "UPLOAD_MAX_BYTES": str(args.get("upload_max_bytes", 10 * 1024 * 1024)),
                "ALLOWED_CONTENT_TYPES": ",".join(args.get("allowed_content_types",
                                                           ["image/jpeg", "image/png", "application/pdf",
                                                            "text/plain"])),
                "URL_EXPIRY_SECONDS": str(expiry),
                "CORS_ALLOW_ORIGIN": origins[0],
            },
            "policy_statements": [
                *table_statements,
                # Presigned URLs carry the function's authority, limited to the per-user folders.
                allow(["s3:GetObject", "s3:PutObject"], [files.arn.apply(lambda arn: f"{arn}/users/*")],
                      sid="UserFolders"),
                *dax_statements,
            ],
            "vpc_config": {"subnet_ids": network["subnet_ids"],
                           "security_group_ids": [network["lambda_sg"].id]} if dax else None,
        }, opts=child)

        cache = args.get("cache")
        api = LambdaRestApi(f"{name}-api", {
            "routes": [ApiRoute(method=m, path=p, function=function, cached=cached, query_parameters=q)
                       for m, p, cached, q in ROUTES],
            "cognito_user_pool_arns": [user_pool.arn],
            "cors_allow_origin": origins[0],
            "throttle_rate_limit": args.get("throttle_rate_limit", 20),
            "throttle_burst_limit": args.get("throttle_burst_limit", 40),
            "cache": cache,
            "log_retention_days": retention,
            "cloudwatch_account": args.get("cloudwatch_account"),
            "token_header": TOKEN_HEADER,
        }, opts=child)

        # Authenticated identities: their own folder, and the right to bypass the API cache for
        # their own GETs (API Gateway checks execute-api:InvalidateCache on Cache-Control: max-age=0).
        self._authenticated_role(name, identity_pool, files, api, child)

        self.api_url = api.url
        self.user_pool_id = user_pool.id
        self.user_pool_client_id = client.id
        self.identity_pool_id = identity_pool.id
        self.bucket_name = files.name
        self.table_name = table.name
        self.client_config = pulumi.Output.json_dumps({
            "region": self.region, "apiUrl": self.api_url,
            "auth": {"userPoolId": self.user_pool_id, "userPoolClientId": self.user_pool_client_id,
                     "identityPoolId": self.identity_pool_id, "authenticationFlowType": "USER_SRP_AUTH",
                     "idTokenHeader": TOKEN_HEADER},
            "storage": {"bucket": self.bucket_name, "userFolderPrefix": "users/{sub}/"},
            "cache": {"ttlSeconds": cache["ttl_seconds"] if cache else 0,
                      "forceRefresh": "GET with Cache-Control: max-age=0, SigV4-signed with identity pool credentials"},
        })
        self.register_outputs({
            "api_url": self.api_url, "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.user_pool_client_id, "identity_pool_id": self.identity_pool_id,
            "bucket_name": self.bucket_name, "table_name": self.table_name, "region": self.region,
            "client_config": self.client_config,
        })

    def _authenticated_role(self, name: str, identity_pool: aws.cognito.IdentityPool, files: SecureBucket,
                            api: LambdaRestApi, child: pulumi.ResourceOptions) -> aws.iam.Role:
        trust = policy_document([{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            # TagSession: the identity pool passes the `userSub` principal tag.
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool.id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
        }])
        role = aws.iam.Role(f"{name}-authenticated", assume_role_policy=trust, opts=child)
        aws.iam.RolePolicy(f"{name}-authenticated-policy", role=role.id, policy=policy_document([
            allow(["s3:ListBucket"], [files.arn], sid="ListOwnFolder",
                  condition={"StringLike": {"s3:prefix": [f"{USER_FOLDER}/", f"{USER_FOLDER}/*"]}}),
            allow(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                  [files.arn.apply(lambda arn: f"{arn}/{USER_FOLDER}/*")], sid="ReadWriteOwnFolder"),
            allow(["execute-api:InvalidateCache"],
                  [api.stage_arn_prefix.apply(lambda prefix: f"{prefix}/GET/todos*")], sid="RefreshOwnGets"),
        ]), opts=child)
        aws.cognito.IdentityPoolRoleAttachment(
            f"{name}-identity-roles", identity_pool_id=identity_pool.id,
            roles={"authenticated": role.arn}, opts=child)
        return role

    def _network(self, name: str, dax: DaxArgs, child: pulumi.ResourceOptions) -> dict:
        """Private subnets for DAX and the function, with gateway endpoints and no route to the internet."""
        given = list(dax.get("subnet_ids", []))
        if given:
            subnet = aws.ec2.get_subnet_output(id=given[0], opts=pulumi.InvokeOutputOptions(parent=self))
            vpc_id, subnet_ids, route_table_ids = subnet.vpc_id, given, []
        else:
            vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=dax.get("vpc_cidr", "10.20.0.0/16"),
                              enable_dns_hostnames=True, enable_dns_support=True, opts=child)
            zones = aws.get_availability_zones_output(state="available",
                                                      opts=pulumi.InvokeOutputOptions(parent=self))
            route_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, opts=child)
            subnet_ids = []
            base = dax.get("vpc_cidr", "10.20.0.0/16").split(".")
            for index in range(3):
                subnet = aws.ec2.Subnet(
                    f"{name}-private-{index}", vpc_id=vpc.id,
                    cidr_block=f"{base[0]}.{base[1]}.{index * 16}.0/20",
                    availability_zone=zones.names[index], map_public_ip_on_launch=False, opts=child)
                aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                              route_table_id=route_table.id, opts=child)
                subnet_ids.append(subnet.id)
            vpc_id, route_table_ids = vpc.id, [route_table.id]

        lambda_sg = aws.ec2.SecurityGroup(f"{name}-fn-sg", vpc_id=vpc_id,
                                          description="todo API function: egress to DAX and the gateway endpoints only",
                                          opts=child)
        dax_sg = aws.ec2.SecurityGroup(f"{name}-dax-sg", vpc_id=vpc_id,
                                       description="DAX: TLS port from the todo API function only", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-dax-from-fn", security_group_id=dax_sg.id,
                                         referenced_security_group_id=lambda_sg.id, ip_protocol="tcp",
                                         from_port=DAX_TLS_PORT, to_port=DAX_TLS_PORT, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-fn-to-dax", security_group_id=lambda_sg.id,
                                        referenced_security_group_id=dax_sg.id, ip_protocol="tcp",
                                        from_port=DAX_TLS_PORT, to_port=DAX_TLS_PORT, opts=child)
        region = self.region
        if route_table_ids:
            # Gateway endpoints (free, via the route table). The function itself talks only to DAX and
            # presigns locally; these keep direct DynamoDB/S3 calls possible without a NAT.
            for service in ("dynamodb", "s3"):
                endpoint = aws.ec2.VpcEndpoint(
                    f"{name}-{service}-endpoint", vpc_id=vpc_id, vpc_endpoint_type="Gateway",
                    service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                    route_table_ids=route_table_ids, opts=child)
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-fn-to-{service}", security_group_id=lambda_sg.id, ip_protocol="tcp",
                    from_port=443, to_port=443, prefix_list_id=endpoint.prefix_list_id, opts=child)
        return {"subnet_ids": subnet_ids, "lambda_sg": lambda_sg, "dax_sg": dax_sg}

    def _dax(self, name: str, dax: DaxArgs, table: aws.dynamodb.Table, network: dict,
             child: pulumi.ResourceOptions) -> aws.dax.Cluster:
        role = aws.iam.Role(f"{name}-dax-role", assume_role_policy=policy_document([{
            "Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            opts=child)
        role_policy = aws.iam.RolePolicy(f"{name}-dax-table", role=role.id, policy=policy_document([
            allow(["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                   "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                   "dynamodb:UpdateItem"], [table.arn], sid="TodosTable")]), opts=child)
        subnets = aws.dax.SubnetGroup(f"{name}-dax-subnets", subnet_ids=network["subnet_ids"], opts=child)
        parameters = aws.dax.ParameterGroup(f"{name}-dax-ttl", parameters=[
            {"name": "record-ttl-millis", "value": str(dax.get("item_ttl_seconds", 300) * 1000)},
            {"name": "query-ttl-millis", "value": str(dax.get("query_ttl_seconds", 300) * 1000)},
        ], opts=child)
        return aws.dax.Cluster(
            f"{name}-dax", cluster_name=dax_cluster_name(name, pulumi.get_stack()), node_type=dax.get("node_type", "dax.t3.small"),
            replication_factor=dax.get("nodes", 3), iam_role_arn=role.arn,
            subnet_group_name=subnets.name, parameter_group_name=parameters.name,
            security_group_ids=[network["dax_sg"].id],
            server_side_encryption={"enabled": True}, cluster_endpoint_encryption_type="TLS",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
