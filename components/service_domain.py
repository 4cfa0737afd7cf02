"""ServiceDomain: one Route 53 domain for the microservices, a validated certificate per service subdomain.

    shop.example.com  (public hosted zone: given, or created here)
    ├ catalog.shop.example.com   ACM cert (home region, DNS-validated) ── alias ─▶ catalog's ALB
    ├ cart.shop.example.com      ACM cert                              ── alias ─▶ API Gateway regional domain
    └ checkout.shop.example.com  ACM cert                              ── alias ─▶ checkout's ALB
    optional private hosted zone shop.example.com, associated with the services' VPC:
      the same names, for calls that must stay inside the VPC (to an internal ALB)

The certificates are regional (ALBs and API Gateway REGIONAL custom domains read them from their own
region), not us-east-1. The alias records belong to each service (it owns the target): a service takes
a `ServiceDomainRef` built from these outputs, or from a zone and certificate of your own.
"""
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from .args import ArgsReader
from .cloudfront_defaults import is_hostname, is_hosted_zone_id

DEFAULT_SERVICES = ("catalog", "cart", "checkout")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class ServiceDomainRef(TypedDict, total=False):
    """Where one service is published: its name, certificate and zones."""
    domain_name: str
    """The service's hostname, e.g. catalog.shop.example.com."""
    certificate_arn: pulumi.Input[str]
    """A validated ACM certificate for domain_name, in the service's region."""
    hosted_zone_id: pulumi.Input[str]
    """Public hosted zone that gets the alias record."""
    private_hosted_zone_id: Optional[pulumi.Input[str]]
    """Private hosted zone (of the same domain) that gets the same name, for calls from inside the VPC."""


class ServiceDomainArgs(TypedDict, total=False):
    domain_name: str
    """The services' parent domain, e.g. shop.example.com (required)."""
    hosted_zone_id: Optional[str]
    """Existing public hosted zone of domain_name (Z...); created when absent."""
    services: Sequence[str]
    """Subdomain labels, one certificate each (default catalog, cart, checkout)."""
    private_zone_vpc_id: Optional[pulumi.Input[str]]
    """Create a private hosted zone of domain_name for this VPC (service-to-service calls stay inside)."""


DEFAULTS: dict[str, Any] = {"hosted_zone_id": None, "services": list(DEFAULT_SERVICES), "private_zone_vpc_id": None}


@dataclass(frozen=True)
class ResolvedServiceDomain:
    domain_name: str
    hosted_zone_id: Optional[str]
    services: tuple[str, ...]
    private_zone_vpc_id: Optional[pulumi.Input[str]]


def resolve_args(name: str, args: Optional[ServiceDomainArgs]) -> ResolvedServiceDomain:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("ServiceDomain", name, args, ServiceDomainArgs, DEFAULTS)
    if not r.given("domain_name"):
        r.fail("domain_name", "required: the services' parent domain, e.g. shop.example.com")
    return ResolvedServiceDomain(
        domain_name=r.string("domain_name", check=is_hostname, expected="a hostname such as shop.example.com"),
        hosted_zone_id=r.optional_string("hosted_zone_id", check=is_hosted_zone_id,
                                         expected="a Route 53 hosted zone id (Z...)"),
        services=tuple(r.strings("services", check=_LABEL.fullmatch, min_items=1, max_items=20, distinct=True,
                                 expected="a list of DNS labels (lower-case letters, digits, inner hyphens)")),
        private_zone_vpc_id=r.input("private_zone_vpc_id"))


def read_domain_ref(r: ArgsReader, key: str = "domain") -> Optional[dict]:
    """A service's optional `ServiceDomainRef` arg, checked (None: no custom domain)."""
    d = r.section(key, ServiceDomainRef, {"private_hosted_zone_id": None})
    if d is None:
        return None
    for required in ("domain_name", "certificate_arn", "hosted_zone_id"):
        if not d.given(required):
            d.fail(required, "required with a domain: the service's hostname, its certificate and the public zone")
    return {"domain_name": d.string("domain_name", check=is_hostname, expected="a hostname"),
            "certificate_arn": d.input("certificate_arn"), "hosted_zone_id": d.input("hosted_zone_id"),
            "private_hosted_zone_id": d.input("private_hosted_zone_id")}


def alias_records(name: str, parent: pulumi.Resource, domain: dict, target_dns_name: pulumi.Input[str],
                  target_zone_id: pulumi.Input[str], *, public: bool = True) -> list[aws.route53.Record]:
    """A-alias records for a service: in the public zone (unless the target is internal) and the private zone.

    A private zone of the domain shadows the public one inside the VPC, so every service name must be
    in it too, even one that points at an internet-facing target.
    """
    records = []
    zones = ([("public", domain["hosted_zone_id"])] if public else []) + (
        [("private", domain["private_hosted_zone_id"])] if domain.get("private_hosted_zone_id") is not None else [])
    for kind, zone in zones:
        records.append(aws.route53.Record(
            f"{name}-{kind}-alias", zone_id=zone, name=domain["domain_name"], type="A",
            aliases=[{"name": target_dns_name, "zone_id": target_zone_id, "evaluate_target_health": True}],
            opts=pulumi.ResourceOptions(parent=parent)))
    return records


class ServiceDomain(pulumi.ComponentResource):
    """A hosted zone (given or created), a DNS-validated regional certificate per service, a private zone."""

    hosted_zone_id: pulumi.Output[str]
    """The public hosted zone."""
    name_servers: pulumi.Output[list[str]]
    """Name servers to delegate to (empty when the zone was given)."""
    private_hosted_zone_id: pulumi.Output[Optional[str]]
    """The private hosted zone, when private_zone_vpc_id was given."""
    domain_names: pulumi.Output[dict[str, str]]
    """Each service's hostname, by service."""
    certificate_arns: pulumi.Output[dict[str, str]]
    """Each service's certificate ARN (resolves once issued), by service."""

    def __init__(self, name: str, args: ServiceDomainArgs, opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:ServiceDomain", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        zone_id, name_servers = self._public_zone(s)
        certificates = {service: self._certificate(service, f"{service}.{s.domain_name}", zone_id)
                        for service in s.services}
        private_zone = self._private_zone(s)
        self._names = {x: f"{x}.{s.domain_name}" for x in s.services}
        self._certificates, self._zone_id = certificates, zone_id

        self.hosted_zone_id = pulumi.Output.from_input(zone_id)
        self.name_servers = name_servers
        self._private_zone_id = private_zone.id if private_zone else None
        self.private_hosted_zone_id = pulumi.Output.from_input(self._private_zone_id)
        self.domain_names = pulumi.Output.from_input(self._names)
        self.certificate_arns = pulumi.Output.all(**certificates)
        self.register_outputs({
            "hosted_zone_id": self.hosted_zone_id, "name_servers": self.name_servers,
            "private_hosted_zone_id": self.private_hosted_zone_id, "domain_names": self.domain_names,
            "certificate_arns": self.certificate_arns})

    def refs(self) -> dict[str, ServiceDomainRef]:
        """Each service's `ServiceDomainRef`, to pass as that service's `domain` arg."""
        private = self._private_zone_id
        return {service: {"domain_name": domain_name, "certificate_arn": self._certificates[service],
                          "hosted_zone_id": self._zone_id, "private_hosted_zone_id": private}
                for service, domain_name in self._names.items()}

    def _public_zone(self, s: ResolvedServiceDomain) -> tuple[pulumi.Input[str], pulumi.Output[list[str]]]:
        if s.hosted_zone_id is not None:
            return s.hosted_zone_id, pulumi.Output.from_input([])
        zone = aws.route53.Zone(f"{self._name}-zone", name=s.domain_name, comment=f"{self._name} services",
                                opts=self._child)
        return zone.id, zone.name_servers.apply(lambda servers: list(servers or []))  # the id is the zone id

    def _certificate(self, service: str, domain_name: str, zone_id: pulumi.Input[str]) -> pulumi.Output[str]:
        """A regional certificate validated through a CNAME in the public zone; the ARN waits for issuance."""
        certificate = aws.acm.Certificate(f"{self._name}-{service}-cert", domain_name=domain_name,
                                          validation_method="DNS", opts=self._child)
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{self._name}-{service}-validation", zone_id=zone_id, name=option.resource_record_name,
            type=option.resource_record_type, records=[option.resource_record_value], ttl=300,
            allow_overwrite=True, opts=self._child)
        validation = aws.acm.CertificateValidation(
            f"{self._name}-{service}-validated", certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn], opts=self._child)
        return validation.certificate_arn

    def _private_zone(self, s: ResolvedServiceDomain) -> Optional[aws.route53.Zone]:
        if s.private_zone_vpc_id is None:
            return None
        return aws.route53.Zone(f"{self._name}-private", name=s.domain_name,
                                comment=f"{self._name}: the same names inside the VPC",
                                vpcs=[{"vpc_id": s.private_zone_vpc_id}], opts=self._child)
