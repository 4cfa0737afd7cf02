"""serverless-blueprints: compose the components this stack enables, and export their outputs."""
from collections.abc import Mapping
from typing import Any, Optional, TypedDict, TypeVar

import pulumi
import pulumi_aws as aws

import stack_config
from serverless_blueprints import monitoring, openapi
from serverless_blueprints.alarm_topic import AlarmTopic
from serverless_blueprints.blog_api import PUBLISHED_POSTS_INDEX, BlogApi
from serverless_blueprints.blog_authoring import BlogAuthoring, site_post_page_paths
from serverless_blueprints.cart_service import CartService, CartServiceArgs
from serverless_blueprints.catalog_service import CatalogService
from serverless_blueprints.checkout_service import CheckoutService
from serverless_blueprints.global_table import GlobalTable
from serverless_blueprints.ingestion_pipeline import IngestionPipeline
from serverless_blueprints.outbox_relay import OutboxRelay
from serverless_blueprints.paid_content import PaidContent
from serverless_blueprints.rest_api import api_gateway_cloudwatch_account
from serverless_blueprints.serverless_rest_api import ServerlessRestApi
from serverless_blueprints.service_domain import ServiceDomain
from serverless_blueprints.service_network import ServiceNetwork
from serverless_blueprints.shop_health import ShopHealth
from serverless_blueprints.static_site import StaticSite, canonical_host
from serverless_blueprints.thumbnail_pipeline import ThumbnailPipeline
from serverless_blueprints.update_offload_cdn import UpdateOffloadCdn
from serverless_blueprints.welcome_email import WelcomeEmail


class _TableOutputs(TypedDict):
    """The blog table's outputs its API and its mails read."""
    table_arn: pulumi.Input[str]
    table_kms_key_arn: Optional[pulumi.Input[str]]


settings = stack_config.load()
tags = {"project": pulumi.get_project(), "stack": pulumi.get_stack(), "environment": settings.environment}
home = aws.Provider("home", region=settings.region, default_tags={"tags": tags})
# CloudFront only takes certificates and WAF web ACLs from us-east-1.
us_east_1 = aws.Provider("us-east-1", region="us-east-1", default_tags={"tags": tags})
in_home = pulumi.ResourceOptions(providers=[home])

# API Gateway writes stage logs through one role per account and region, a setting shared by every stack
# there: one stack manages it (manageApiGatewayAccount, retained on delete), the others assume it exists.
cloudwatch_account = (api_gateway_cloudwatch_account("apigateway-logging", opts=in_home)
                      if settings.manage_api_gateway_account else None)

# Every component's alarms notify one topic (and its us-east-1 twin, for CloudFront's): who it reaches is config.
alarm_topic = AlarmTopic("alarms", {**(settings.alarms or {}), "us_east_1_provider": us_east_1}, opts=in_home)
dashboards: dict[str, pulumi.Output[str]] = {}
C = TypeVar("C", bound=pulumi.ComponentResource)


def alarms_of(args: Mapping[str, Any]) -> dict:
    """The component's `alarms` arg: its YAML thresholds, notifying the stack's topic (none if alarms: disabled)."""
    if "alarms" in args and args["alarms"] is None:
        return {}
    return {"alarms": {**(args.get("alarms") or {}), "topic_arn": alarm_topic.topic_arn,
                       "us_east_1_topic_arn": alarm_topic.us_east_1_topic_arn}}


def monitored(component: C) -> C:
    """The component, its dashboard listed on the stack's."""
    board = getattr(component, "dashboard_name", None)
    if board is not None:
        dashboards[component._name] = board
    return component


if settings.todo_api:
    todo = monitored(ServerlessRestApi("todo", {**settings.todo_api, **alarms_of(settings.todo_api),
                                                "cloudwatch_account": cloudwatch_account}, opts=in_home))
    pulumi.export("todoApi", {
        "apiUrl": todo.api_url, "apiUrls": todo.api_urls, "userPoolId": todo.user_pool_id, "userPoolClientId": todo.user_pool_client_id,
        "identityPoolId": todo.identity_pool_id, "bucket": todo.bucket_name, "table": todo.table_name,
        "region": todo.region})
    pulumi.export("todoClientConfig", todo.client_config)

if settings.outbox:
    outbox = monitored(OutboxRelay("outbox", {**settings.outbox, **alarms_of(settings.outbox),
                                              "cloudwatch_account": cloudwatch_account}, opts=in_home))
    pulumi.export("outbox", {
        "ordersUrl": outbox.orders_url, "eventBusName": outbox.event_bus_name, "eventBusArn": outbox.event_bus_arn,
        "eventSource": outbox.event_source, "archive": outbox.archive_name,
        "tables": {"orders": outbox.orders_table_name, "outbox": outbox.outbox_table_name,
                   "idempotency": outbox.idempotency_table_name, "shipments": outbox.shipments_table_name},
        "deadLetterQueues": outbox.dead_letter_queues,
        "userPoolId": outbox.user_pool_id, "userPoolClientId": outbox.user_pool_client_id})

if settings.update_cdn:
    updates = monitored(UpdateOffloadCdn("updates", {**settings.update_cdn, **alarms_of(settings.update_cdn),
                                                     "us_east_1_provider": us_east_1}, opts=in_home))
    pulumi.export("updateCdn", {
        "url": updates.url, "domainName": updates.domain_name, "distributionId": updates.distribution_id,
        "origin": updates.origin_domain_name, "originProtocol": updates.origin_protocol,
        "originSecurityGroup": updates.origin_security_group_id,
        "logBucket": updates.log_bucket_name, "dashboard": updates.dashboard_name})

if settings.thumbnails:
    thumbnails = monitored(ThumbnailPipeline("photos", {**settings.thumbnails, **alarms_of(settings.thumbnails)},
                                             opts=in_home))
    pulumi.export("thumbnails", {
        "uploadBucket": thumbnails.upload_bucket_name, "uploadPrefix": thumbnails.upload_prefix,
        "thumbnailBucket": thumbnails.thumbnail_bucket_name,
        "queueUrl": thumbnails.queue_url, "queueArn": thumbnails.queue_arn,
        "deadLetterQueueUrl": thumbnails.dlq_url, "deadLetterQueueArn": thumbnails.dlq_arn,
        "topicArn": thumbnails.topic_arn, "function": thumbnails.function_name})

if settings.blog:
    blog = settings.blog
    # One provider per replica region, tagged like the others: each replica's KMS key is created there.
    replica_providers = {
        region: us_east_1 if region == "us-east-1" else aws.Provider(f"replica-{region}", region=region,
                                                                      default_tags={"tags": tags})
        for region in blog["table"].get("replica_regions", [])}
    blog_table = monitored(GlobalTable("blog-table", {
        **blog["table"], **alarms_of(blog["table"]), "global_secondary_indexes": [PUBLISHED_POSTS_INDEX],
        "replica_providers": replica_providers}, opts=in_home))
    table_outputs: _TableOutputs = {"table_arn": blog_table.arn, "table_kms_key_arn": blog_table.home_kms_key_arn}
    # The site's own origin may call the API cross-site; without a custom domain, any origin may (it's public).
    custom_domain = blog["site"].get("custom_domain")
    site_domain = canonical_host(custom_domain) if custom_domain else None
    blog_api = monitored(BlogApi("blog-api", {"cors_allow_origin": f"https://{site_domain}" if site_domain else "*",
                                              **blog["api"], **alarms_of(blog["api"]), **table_outputs,
                                              "table_name": blog_table.name,
                                              "cloudwatch_account": cloudwatch_account}, opts=in_home))
    blog_site = monitored(StaticSite("blog-site", {**blog["site"], **alarms_of(blog["site"]), "api": blog_api.origin,
                                                   "us_east_1_provider": us_east_1}, opts=in_home))
    # Double opt-in: the mails' signed links point at the site's /api (CloudFront, WAF, origin header).
    welcome = monitored(WelcomeEmail("blog-welcome", {
        **blog["email"], **alarms_of(blog["email"]), **table_outputs, "table_stream_arn": blog_table.stream_arn,
        "site_url": blog_site.url, "token_secret_arn": blog_api.token_secret_arn}, opts=in_home))
    pulumi.export("blog", {
        "url": blog_site.url, "distributionDomain": blog_site.domain_name,
        "distributionId": blog_site.distribution_id, "contentBucket": blog_site.bucket_name,
        # The public entry point is the site's /api; the execute-api URL refuses calls without CloudFront's header.
        "logBucket": blog_site.log_bucket_name, "webAclArn": blog_site.web_acl_arn,
        "apiUrl": pulumi.Output.concat(blog_site.url, "/api"),
        "table": blog_table.name, "homeRegion": blog_table.home_region, "replicaRegions": blog_table.replica_regions,
        "sesIdentityArn": welcome.identity_arn, "sesConfigurationSet": welcome.configuration_set_name,
        "sesTemplate": welcome.template_name, "sesConfirmationTemplate": welcome.confirmation_template_name,
        "welcomeFailureQueueUrl": welcome.failure_queue_url})
    if "authoring" in blog:
        # Writes the posts BlogApi serves; a publish invalidates /api/posts* and the post's pages on the site.
        authoring = monitored(BlogAuthoring("blog-authoring", {
            "post_page_paths": site_post_page_paths(blog["site"].get("languages", [])), **blog["authoring"],
            **alarms_of(blog["authoring"]), **table_outputs, "table_name": blog_table.name,
            "distribution_id": blog_site.distribution_id, "cloudwatch_account": cloudwatch_account,
            # Prod's stage cache is flushed before CloudFront's invalidation: readers see a publish at once.
            "public_api_cache": blog_api.cached_stage}, opts=in_home))
        pulumi.export("blogAuthoring", {
            "apiUrl": authoring.url, "userPoolId": authoring.user_pool_id,
            "userPoolClientId": authoring.user_pool_client_id, "authorsGroup": authoring.authors_group})

if settings.paid_content:
    media = monitored(PaidContent("media", {**settings.paid_content, **alarms_of(settings.paid_content),
                                            "us_east_1_provider": us_east_1,
                                            "cloudwatch_account": cloudwatch_account}, opts=in_home))
    pulumi.export("paidContent", {
        "url": media.url, "distributionDomain": media.distribution_domain, "distributionId": media.distribution_id,
        "contentBucket": media.bucket_name, "signerUrl": media.signer_url, "registrationUrl": media.registration_url,
        "keyGroupId": media.key_group_id, "signingSecretArn": media.signing_secret_arn,
        "keyGeneration": media.key_generation, "signingKeyActivatedAt": media.signing_key_activated_at,
        "premiumTable": media.premium_table_name, "userPoolId": media.user_pool_id,
        "userPoolClientId": media.user_pool_client_id, "webAclArn": media.web_acl_arn})

if settings.ingestion:
    ingestion = monitored(IngestionPipeline("ingest", {**settings.ingestion, **alarms_of(settings.ingestion)},
                                            opts=in_home))
    pulumi.export("ingestion", {
        "streamName": ingestion.stream_name, "streamArn": ingestion.stream_arn,
        "deliveryStream": ingestion.delivery_stream_name,
        "ingestionBucket": ingestion.ingestion_bucket_name, "reportingBucket": ingestion.reporting_bucket_name,
        "resultsBucket": ingestion.results_bucket_name, "workgroup": ingestion.workgroup_name,
        "database": ingestion.database_name, "table": ingestion.table_name,
        "reportQueueUrl": ingestion.report_queue_url, "deadLetterQueueUrl": ingestion.dlq_url})

if settings.shop:
    shop = settings.shop
    network = ServiceNetwork("shop", shop["network"], opts=in_home)
    # The private zone gives catalog's internal ALB its name inside the VPC: cart calls it without a NAT.
    domain = ServiceDomain("shop-domain", {**shop["domain"], "private_zone_vpc_id": network.vpc_id}, opts=in_home)
    refs = domain.refs()
    catalog = monitored(CatalogService("catalog", {
        **shop["catalog"], **alarms_of(shop["catalog"]), "vpc_id": network.vpc_id,
        "public_subnet_ids": network.public_subnet_ids, "private_subnet_ids": network.private_subnet_ids,
        "domain": refs["catalog"]}, opts=in_home))
    cart_args: CartServiceArgs = {
        **shop["cart"], **alarms_of(shop["cart"]), "vpc_id": network.vpc_id,
        "private_subnet_ids": network.private_subnet_ids, "cache_subnet_ids": network.isolated_subnet_ids,
        "catalog_url": catalog.url, "catalog_stream_arn": catalog.table_stream_arn,
        "cloudwatch_account": cloudwatch_account}
    # With the VPC's execute-api endpoint, cart is a PRIVATE API behind it (its private DNS would hide a
    # REGIONAL one from the VPC); checkout reaches it there, without a NAT.
    if shop["network"].get("private_api_endpoint"):
        cart_args["vpc_endpoint_ids"] = network.execute_api_endpoint_ids
    if "cart" in refs:
        cart_args["domain"] = refs["cart"]
    cart = monitored(CartService("cart", cart_args, opts=in_home))
    checkout = monitored(CheckoutService("checkout", {
        **shop["checkout"], **alarms_of(shop["checkout"]), "vpc_id": network.vpc_id,
        "public_subnet_ids": network.public_subnet_ids, "private_subnet_ids": network.private_subnet_ids,
        "database_subnet_ids": network.isolated_subnet_ids, "domain": refs["checkout"], "cart_url": cart.url,
        "cart_invoke_arns": cart.invoke_arns}, opts=in_home))
    pulumi.export("shop", {
        "catalogUrl": catalog.url, "cartUrl": cart.url, "checkoutUrl": checkout.url,
        "nameServers": domain.name_servers, "hostedZoneId": domain.hosted_zone_id, "vpcId": network.vpc_id,
        "catalogTable": catalog.table_name, "catalogRepository": catalog.repository_url,
        "cartFunction": cart.function_name, "cartCacheEndpoint": cart.cache_endpoint,
        "checkoutAutoScalingGroup": checkout.auto_scaling_group_name,
        "checkoutDatabaseEndpoint": checkout.database_endpoint})

if settings.shop_health:
    # GET /v1/health for the whole shop, from its services' alarms (docs/new-service.md's worked example).
    shop_health = monitored(ShopHealth("shop-health", {**settings.shop_health, **alarms_of(settings.shop_health),
                                                       "cloudwatch_account": cloudwatch_account}, opts=in_home))
    pulumi.export("shopHealth", {"url": pulumi.Output.concat(shop_health.url, "/health"),
                                 "function": shop_health.function_name})

# The stack's dashboard links every component's; the topic's ARNs are where to subscribe more people.
stack_board = monitoring.stack_dashboard("stack", dashboards, region=settings.region, opts=in_home)
pulumi.export("alarms", {"topicArn": alarm_topic.topic_arn, "usEast1TopicArn": alarm_topic.us_east_1_topic_arn,
                         "dashboard": stack_board.dashboard_name, "componentDashboards": dashboards})

# Each REST API's client SDKs as API Gateway generates them (JavaScript, Java, Android, iOS, Ruby): how to
# download each one, not its bytes (docs/openapi/ holds the documents; Python clients come from clients/).
pulumi.export("apiSdks", {api.name: openapi.sdk_downloads(api) for api in openapi.published_apis()})
