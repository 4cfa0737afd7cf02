"""What the Lambda python3.13 runtime itself provides, so layers ship everything else and nothing twice.

The managed runtime puts the AWS SDK for Python on every function's path: boto3 and the
distributions it needs. Anything else a function imports must come from its own code zip or
from its layer (`functions/<name>/requirements.txt`). `lambda_packaging.check_layer_closure`
subtracts this list from a function's resolved dependency closure, and the twin runner
(`twin.lambda_process`) installs exactly these versions beside the function, so both agree
with the runtime that runs in AWS.
"""
from __future__ import annotations

import re

from .defaults import LAMBDA_PYTHON_VERSION, LAMBDA_RUNTIME

RUNTIME = LAMBDA_RUNTIME
"""The managed runtime this list describes."""

PYTHON_VERSION = LAMBDA_PYTHON_VERSION

# Source: AWS docs, "Lambda runtimes" (python3.13 row: the SDK for Python bundled with the runtime),
# and the runtime image's /var/lang/lib/python3.13/site-packages. AWS updates the bundled SDK over
# time; we pin the boto3/botocore of constraints.txt (1.44.5) and their exact dependencies, so the
# closure check and the twin run against one known SDK. Bump these together with constraints.txt.
RUNTIME_PROVIDED: dict[str, str] = {
    "boto3": "1.44.5",
    "botocore": "1.44.5",
    "jmespath": "1.1.0",
    "python-dateutil": "2.9.0.post0",
    "s3transfer": "0.19.3",
    "six": "1.17.0",
    "urllib3": "2.8.0",
}
"""Canonical distribution name -> version installed by the python3.13 runtime."""


def canonical_name(name: str) -> str:
    """PEP 503 name: `Typing_Extensions` and `typing.extensions` are both `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> list[str]:
    """The runtime's distributions as pinned requirements (`boto3==1.44.5`, ...)."""
    return [f"{name}=={version}" for name, version in sorted(RUNTIME_PROVIDED.items())]


def is_runtime_provided(name: str) -> bool:
    return canonical_name(name) in RUNTIME_PROVIDED
