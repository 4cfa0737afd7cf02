"""The shop's parts that aren't Lambda functions, as real local processes the twin's functions call.

    ElastiCache replication group ──▶ Debian's redis-server (TLS, AUTH): the token is the one in the twin's
                                      Secrets Manager secret the function reads (REDIS_AUTH_SECRET_ARN)
    ECS task definition of catalog ─▶ catalog_app under uvicorn, on the twin's DynamoDB table (CATALOG_TABLE)

moto has no ElastiCache data plane and runs no containers. The functions keep every variable the stack
gives them except where these processes listen: REDIS_HOST and REDIS_PORT (and REDIS_CA_FILE, the
throwaway CA of the local server's certificate) point at the local redis-server, and a variable holding
a service's HTTPS name (CATALOG_URL) points at the local app. The AUTH token still comes from Secrets
Manager, so the function's GetSecretValue is judged against its role as deployed.

The servers are `services.local_run.servers`, the ones tests/services start: one way to run them.
"""
from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from typing import Iterator, Optional
from urllib.parse import urlsplit

from offline.harness import RecordedResource

from .stack import LAMBDA_FUNCTION, DataPlane, PlaneNote

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ALIAS_RECORD = "aws:route53/record:Record"
CATALOG_APP = "catalog_app.main:app"
"""The ASGI app services/catalog/Dockerfile runs; it reads CATALOG_TABLE."""


@dataclass
class ShopProcesses:
    """What was started, to stop when the twin is done."""
    redis: list = field(default_factory=list)
    apps: list = field(default_factory=list)
    work_dirs: list = field(default_factory=list)

    def close(self) -> None:
        for process in [*self.apps, *self.redis]:
            process.stop()
        for directory in self.work_dirs:
            shutil.rmtree(directory, ignore_errors=True)


def _variables(function: RecordedResource) -> dict[str, str]:
    return dict((function.props.get("environment") or {}).get("variables") or {})


def _override(plane: DataPlane, function: RecordedResource, values: dict[str, str]) -> None:
    plane.overrides.setdefault(function.outputs["name"], {}).update(values)


@contextlib.contextmanager
def shop_processes(plane: DataPlane) -> Iterator[ShopProcesses]:
    """Start a redis-server per replication group a function uses, and the catalog app per catalog task
    definition; point those functions at them; stop everything on exit."""
    started = ShopProcesses()
    try:
        _redis_servers(plane, started)
        _catalog_apps(plane, started)
        yield started
    finally:
        started.close()


def _redis_servers(plane: DataPlane, started: ShopProcesses) -> None:
    from services.local_run import servers

    functions = plane.snapshot.of_type(LAMBDA_FUNCTION)
    for group in plane.snapshot.of_type(REPLICATION_GROUP):
        host = group.outputs.get("primaryEndpointAddress")
        users = [f for f in functions if host and _variables(f).get("REDIS_HOST") == host]
        if not users:
            continue
        secret_arn = _variables(users[0]).get("REDIS_AUTH_SECRET_ARN")
        token = _auth_token(plane, secret_arn)
        directory = servers.temp_dir("twin-redis-")
        started.work_dirs.append(directory)
        server = servers.RedisServer(directory, **({"password": token} if token else {}))
        try:
            server.start()
        except servers.ServerUnavailable as why:
            plane.notes.append(PlaneNote(group.name, f"{why}: its functions run without a cache server "
                                                     f"(every cache call fails over to catalog)"))
            continue
        started.redis.append(server)
        for function in users:
            _override(plane, function, server.env())
        plane.notes.append(PlaneNote(group.name, f"moto has no ElastiCache data plane: a local redis-server "
                                                 f"(TLS, AUTH token from the twin's {secret_arn and 'secret'}) "
                                                 f"serves {', '.join(f.outputs['name'] for f in users)}"))


def _auth_token(plane: DataPlane, secret_arn: Optional[str]) -> Optional[str]:
    if not secret_arn:
        return None
    region = secret_arn.split(":")[3]
    answer = plane.client("secretsmanager", region).get_secret_value(SecretId=plane.names.twin(secret_arn))
    return answer.get("SecretString")


def _catalog_apps(plane: DataPlane, started: ShopProcesses) -> None:
    from services.local_run import servers

    snapshot = plane.snapshot
    for task in snapshot.of_type(TASK_DEFINITION):
        containers = json.loads(task.props.get("containerDefinitions") or "[]")
        environment = {e["name"]: e["value"] for c in containers for e in c.get("environment") or []}
        if "CATALOG_TABLE" not in environment:
            continue
        component = snapshot.by_urn(task.parent) if task.parent else None
        names = {r.props.get("name") for r in (snapshot.descendants_of(component.urn) if component else [])
                 if r.resource_type == ALIAS_RECORD and r.props.get("aliases")}
        callers = [(f, key) for f in snapshot.of_type(LAMBDA_FUNCTION) for key, value in _variables(f).items()
                   if isinstance(value, str) and value.startswith("https://") and urlsplit(value).hostname in names]
        if not callers:
            continue
        directory = servers.temp_dir("twin-catalog-")
        started.work_dirs.append(directory)
        port = servers.free_port()
        app = servers.uvicorn_app(CATALOG_APP, port, {
            "AWS_ENDPOINT_URL": plane.endpoint_url, "AWS_ACCESS_KEY_ID": "twin", "AWS_SECRET_ACCESS_KEY": "twin",
            "AWS_DEFAULT_REGION": plane.region, "AWS_REGION": plane.region,
            "CATALOG_TABLE": plane.names.twin(environment["CATALOG_TABLE"])}, directory / "catalog.log")
        app.start()
        started.apps.append(app)
        for function, key in callers:
            _override(plane, function, {key: app.url})
        plane.notes.append(PlaneNote(task.name, f"moto runs no containers: catalog_app (the image's app) runs under "
                                                f"uvicorn at {app.url} on the twin's table; "
                                                f"{', '.join(sorted({f.outputs['name'] for f, _ in callers}))} "
                                                f"call it there instead of https://{sorted(names)[0]}"))


def catalog_url(plane: DataPlane, function: RecordedResource, key: str = "CATALOG_URL") -> Optional[str]:
    """Where the twin's catalog answers for this function (None without a local catalog)."""
    return plane.overrides.get(function.outputs["name"], {}).get(key)
