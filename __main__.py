"""serverless-blueprints: compose the components this stack enables, and export their outputs."""
from typing import Optional, TypedDict

import pulumi
import pulumi_aws as aws

import stack_config
from serverless_blueprints.blog_api import PUBLISHED_POSTS_INDEX, BlogApi
from serverless_blueprints.global_table import GlobalTable
from serverless_blueprints.ingestion_pipeline import IngestionPipeline
from serverless_blueprints.outbox_relay import OutboxRelay
from serverless_blueprints.paid_content import PaidContent
from serverless_blueprints.rest_api import api_gateway_cloudwatch_account
from serverless_blueprints.serverless_rest_api import ServerlessRestApi
from serverless_blueprints.static_site import StaticSite
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

if settings.todo_api:
    todo = ServerlessRestApi("todo", {**settings.todo_api, "cloudwatch_account": cloudwatch_account}, opts=in_home)
    pulumi.export("todoApi", {
        "apiUrl": todo.api_url, "userPoolId": todo.user_pool_id, "userPoolClientId": todo.user_pool_client_id,
        "identityPoolId": todo.identity_pool_id, "bucket": todo.bucket_name, "table": todo.table_name,
        "region": todo.region})
    pulumi.export("todoClientConfig", todo.client_config)

if settings.outbox:
    outbox = OutboxRelay("outbox", {**settings.outbox, "cloudwatch_account": cloudwatch_account}, opts=in_home)
    pulumi.export("outbox", {
        "ordersUrl": outbox.orders_url, "eventBusName": outbox.event_bus_name, "eventBusArn": outbox.event_bus_arn,
        "eventSource": outbox.event_source, "archive": outbox.archive_name,
        "tables": {"orders": outbox.orders_table_name, "outbox": outbox.outbox_table_name,
                   "idempotency": outbox.idempotency_table_name, "shipments": outbox.shipments_table_name},
        "deadLetterQueues": outbox.dead_letter_queues,
        "userPoolId": outbox.user_pool_id, "userPoolClientId": outbox.user_pool_client_id})

if settings.update_cdn:
    updates = UpdateOffloadCdn("updates", {**settings.update_cdn, "us_east_1_provider": us_east_1}, opts=in_home)
    pulumi.export("updateCdn", {
        "url": updates.url, "domainName": updates.domain_name, "distributionId": updates.distribution_id,
        "origin": updates.origin_domain_name, "originProtocol": updates.origin_protocol,
        "originSecurityGroup": updates.origin_security_group_id,
        "logBucket": updates.log_bucket_name, "dashboard": updates.dashboard_name})

if settings.thumbnails:
    thumbnails = ThumbnailPipeline("photos", settings.thumbnails, opts=in_home)
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
    blog_table = GlobalTable("blog-table", {**blog["table"], "global_secondary_indexes": [PUBLISHED_POSTS_INDEX],
                                            "replica_providers": replica_providers}, opts=in_home)
    table_outputs: _TableOutputs = {"table_arn": blog_table.arn, "table_kms_key_arn": blog_table.home_kms_key_arn}
    # The site's own origin may call the API cross-site; without a custom domain, any origin may (it's public).
    custom_domain = blog["site"].get("custom_domain")
    site_domain = custom_domain.get("domain_name") if custom_domain else None
    blog_api = BlogApi("blog-api", {"cors_allow_origin": f"https://{site_domain}" if site_domain else "*",
                                    **blog["api"], **table_outputs, "table_name": blog_table.name,
                                    "cloudwatch_account": cloudwatch_account}, opts=in_home)
    blog_site = StaticSite("blog-site", {**blog["site"], "api": blog_api.origin, "us_east_1_provider": us_east_1},
                           opts=in_home)
    # Double opt-in: the mails' signed links point at the site's /api (CloudFront, WAF, origin header).
    welcome = WelcomeEmail("blog-welcome", {**blog["email"], **table_outputs,
                                            "table_stream_arn": blog_table.stream_arn, "site_url": blog_site.url,
                                            "token_secret_arn": blog_api.token_secret_arn}, opts=in_home)
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

if settings.paid_content:
    media = PaidContent("media", {**settings.paid_content, "us_east_1_provider": us_east_1,
                                  "cloudwatch_account": cloudwatch_account}, opts=in_home)
    pulumi.export("paidContent", {
        "url": media.url, "distributionDomain": media.distribution_domain, "distributionId": media.distribution_id,
        "contentBucket": media.bucket_name, "signerUrl": media.signer_url, "registrationUrl": media.registration_url,
        "keyGroupId": media.key_group_id, "signingSecretArn": media.signing_secret_arn,
        "keyGeneration": media.key_generation, "signingKeyActivatedAt": media.signing_key_activated_at,
        "premiumTable": media.premium_table_name, "userPoolId": media.user_pool_id,
        "userPoolClientId": media.user_pool_client_id, "webAclArn": media.web_acl_arn})

if settings.ingestion:
    ingestion = IngestionPipeline("ingest", settings.ingestion, opts=in_home)
    pulumi.export("ingestion", {
        "streamName": ingestion.stream_name, "streamArn": ingestion.stream_arn,
        "deliveryStream": ingestion.delivery_stream_name,
        "ingestionBucket": ingestion.ingestion_bucket_name, "reportingBucket": ingestion.reporting_bucket_name,
        "resultsBucket": ingestion.results_bucket_name, "workgroup": ingestion.workgroup_name,
        "database": ingestion.database_name, "table": ingestion.table_name,
        "reportQueueUrl": ingestion.report_queue_url, "deadLetterQueueUrl": ingestion.dlq_url})
