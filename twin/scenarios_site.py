"""The static-site scenario (`StaticSite`): the deploy-time invalidator, as `pulumi up` runs it.

    pulumi up (create) ──Invocation──▶ invalidator: nothing cached yet, no AWS call
    pulumi up (update: one page changed) ──Invocation, tf.prev_input──▶ invalidator
        ──CreateInvalidation (exactly that page's paths, this distribution)──▶ CloudFront (moto)

The create runs before the scenarios (`LambdaService.deploy`). The update is the same recorded input
with one page's hash changed in `prev_input`, as the provider sends it when a page's bytes change; the
distribution is made in the twin's CloudFront and the recorded id mapped to it, so the judge checks the
call against the role's grant (CreateInvalidation on this distribution's ARN only).

Imports from `twin.scenarios` are made inside the functions: that module registers this one.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from twin.lambda_service import INVOCATION

if TYPE_CHECKING:
    from twin.scenarios import ScenarioRun

CHANGED_PAGE = "/posts/hello-cloudfront/"
"""A viewer path of the sample blog whose page the scenario pretends changed (every language answers it)."""


def static_site_scenario(run: ScenarioRun) -> None:
    """Nothing invalidated on create; on an update, exactly the changed page's paths, judged against the role."""
    twin = run.twin
    deployed = twin.service.deploy()
    invocations = twin.under(run.component, INVOCATION)
    run.require("the site has its deploy-time invalidation", len(invocations) == 1, [r.name for r in invocations])
    resource = invocations[0]
    created = deployed.get(resource.name)
    run.require(f"deploy: {resource.name} ran", created is not None and not created.failed,
                created.result.error if created else "not invoked")
    assert created is not None
    run.check("deploy (create): nothing invalidated, no AWS call",
              (created.result.response or {}).get("paths") == [] and not created.result.calls,
              created.result.response)

    recorded = json.loads(resource.props["input"])
    run.require(f"the manifest lists {CHANGED_PAGE}", CHANGED_PAGE in recorded["paths"], sorted(recorded["paths"]))
    distribution_id = _twin_distribution(run, recorded["distributionId"])
    current = twin.plane.names.twin(recorded)
    previous = {**current, "paths": {**current["paths"], CHANGED_PAGE: "an older page"}}
    event = {**current, "tf": {"action": "update", "prev_input": previous}}
    updated = twin.service.invoke(resource.props["functionName"], event, source=f"pulumi:{resource.name} (update)")
    run.require("deploy (update): the invalidator ran", not updated.failed, updated.result.error)
    run.check("deploy (update): no denied or unjudged call", not updated.denied and not updated.unjudged,
              [str(d) for d in updated.denied] + updated.unjudged)
    run.check("deploy (update): exactly the changed page's path was invalidated",
              (updated.result.response or {}).get("paths") == [CHANGED_PAGE], updated.result.response)
    cloudfront = twin.plane.client("cloudfront", "us-east-1")
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items") or []
    batches = [cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])["Invalidation"]
               ["InvalidationBatch"]["Paths"].get("Items") for item in listed]
    run.check("CloudFront holds one invalidation of that path, on this distribution", batches == [[CHANGED_PAGE]],
              batches)


def _twin_distribution(run: ScenarioRun, recorded_id: str) -> str:
    """A distribution in the twin's CloudFront standing in for the recorded one (moto picks its id)."""
    cloudfront = run.twin.plane.client("cloudfront", "us-east-1")
    created = cloudfront.create_distribution(DistributionConfig={
        # Its own reference: the blog-authoring scenario registers the same recorded distribution with "twin-<id>".
        "CallerReference": f"twin-site-{recorded_id}", "Comment": f"twin of {recorded_id}", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site-bucket", "DomainName": "site.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site-bucket", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]
    run.twin.plane.names.map(recorded_id, created["Id"], fragment=True)  # the id, and inside the ARN
    return created["Id"]
