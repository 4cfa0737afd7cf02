"""The stacks' Lambda REST APIs with the documents they build, and the real handlers behind a stand-in gateway."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from offline.openapi_docs import STACKS, StackDocuments, stack_documents

from .gateway import RestGateway
from .handlers import running_gateways


@pytest.fixture(scope="session")
def built() -> dict[str, StackDocuments]:
    """Stack -> the documents its LambdaRestApis built from their route tables (and the evaluated stack)."""
    return {stack: stack_documents(stack) for stack in STACKS}


@pytest.fixture(scope="module")
def gateways() -> Iterator[dict[str, RestGateway]]:
    """Document name -> its real handler on moto behind the gateway (state lives for the module)."""
    yield from running_gateways()
