"""This project's site/ folder behind CloudFront, from a private bucket."""
import pulumi
import pulumi_aws as aws
from serverless_blueprints.static_site import StaticSite

from components.naming import resource_name

# CloudFront takes certificates and WAF web ACLs from us-east-1 only: StaticSite places them with
# this provider when you add `custom_domain` or `waf`.
us_east_1 = aws.Provider("us-east-1", region="us-east-1")

docs = StaticSite(resource_name("docs"), {
    "content_dir": "site",  # relative to this project's folder, where `pulumi up` runs
    "us_east_1_provider": us_east_1,
})

pulumi.export("url", docs.url)
pulumi.export("bucket", docs.bucket_name)
pulumi.export("distributionId", docs.distribution_id)
