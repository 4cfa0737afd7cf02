"""serverless-blueprints: compose the components this stack enables, and export their outputs."""
import pulumi
import pulumi_aws as aws

import stack_config
from components.rest_api import api_gateway_cloudwatch_account
from components.serverless_rest_api import ServerlessRestApi

settings = stack_config.load()
tags = {"project": pulumi.get_project(), "stack": pulumi.get_stack(), "environment": settings.environment}
home = aws.Provider("home", region=settings.region, default_tags={"tags": tags})
# CloudFront only takes certificates and WAF web ACLs from us-east-1.
us_east_1 = aws.Provider("us-east-1", region="us-east-1", default_tags={"tags": tags})
in_home = pulumi.ResourceOptions(providers=[home])

# API Gateway writes stage logs through one role per account and region.
cloudwatch_account = api_gateway_cloudwatch_account("apigateway-logging", opts=in_home)

if settings.todo_api:
    todo = ServerlessRestApi("todo", {**settings.todo_api.args(settings), "cloudwatch_account": cloudwatch_account},
                             opts=in_home)
    pulumi.export("todoApi", {
        "apiUrl": todo.api_url, "userPoolId": todo.user_pool_id, "userPoolClientId": todo.user_pool_client_id,
        "identityPoolId": todo.identity_pool_id, "bucket": todo.bucket_name, "table": todo.table_name,
        "region": todo.region})
    pulumi.export("todoClientConfig", todo.client_config)
