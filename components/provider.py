"""The components served to every Pulumi language: a source-based component provider.

`provider/` beside the package holds `PulumiPlugin.yaml` and the entry point that calls `main()`,
so `pulumi package add <repo>.git/provider@<version>` generates a TypeScript, Go, .NET, Java or
YAML SDK from the schema Pulumi's analyzer infers from the type annotations here.
"""
import json
from importlib import metadata
from typing import Any

import pulumi

from .alarm_topic import AlarmTopic
from .blog_api import BlogApi
from .blog_authoring import BlogAuthoring
from .cart_service import CartService
from .catalog_service import CatalogService
from .checkout_service import CheckoutService
from .global_table import GlobalTable
from .ingestion_pipeline import IngestionPipeline
from .outbox_relay import OutboxRelay
from .paid_content import PaidContent
from .serverless_rest_api import ServerlessRestApi
from .service_domain import ServiceDomain
from .service_network import ServiceNetwork
from .shop_health import ShopHealth
from .static_site import StaticSite
from .thumbnail_pipeline import ThumbnailPipeline
from .update_offload_cdn import UpdateOffloadCdn
from .welcome_email import WelcomeEmail

NAME = "serverless-blueprints"
COMPONENTS: list[type[pulumi.ComponentResource]] = [
    ServerlessRestApi, StaticSite, GlobalTable, BlogApi, BlogAuthoring, WelcomeEmail, ThumbnailPipeline,
    UpdateOffloadCdn, OutboxRelay, PaidContent, IngestionPipeline, ServiceNetwork, ServiceDomain, CatalogService,
    CartService, CheckoutService, AlarmTopic, ShopHealth,
]


def version() -> str:
    try:
        return metadata.version(NAME)
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed, editable in the checkout
        return "0.0.0"


def schema() -> dict[str, Any]:
    """The package schema the provider serves, as Pulumi's analyzer infers it."""
    from pulumi.provider.experimental.component import ComponentProvider

    return json.loads(ComponentProvider(COMPONENTS, NAME, version=version()).schema or "{}")


def main() -> None:
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(COMPONENTS, NAME, version=version())
