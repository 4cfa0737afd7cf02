"""Fixtures shared by the twin's tests: a moto server, and the python3.13 the sandboxes run on."""
from __future__ import annotations

import os

import pytest

from twin.find_python import PythonNotFound, find_python313


@pytest.fixture(scope="session")
def moto_endpoint_url():
    """A real moto server on a free loopback port for the whole session; its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


REQUIRE_ENV = "LAMBDA_TWIN_REQUIRED"


@pytest.fixture(scope="session")
def python313() -> str:
    """The CPython 3.13 Lambda sandboxes run on. Without one, tests skip saying how to get one,
    or fail when $LAMBDA_TWIN_REQUIRED=1 (for CI, where a skip would hide the runtime checks)."""
    try:
        return find_python313()
    except PythonNotFound as missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(str(missing))
        pytest.skip(str(missing))
