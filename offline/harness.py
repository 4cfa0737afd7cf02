"""Evaluate the real `__main__.py` for a stack under Pulumi mocks, and record every resource.

No AWS and no Pulumi CLI: `pulumi.runtime.set_mocks` stands in for the engine.
The machinery (mocks, recording monitor, snapshot) is the package's own testing module,
`serverless_blueprints.testing`, which our users test their stacks with too; this module
binds it to this project: its folder, its name and its stack files.

The mocks answer only the data sources this project uses; any other call raises,
so a new data source can't silently return nothing.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from serverless_blueprints import testing
from serverless_blueprints.testing import (ACCOUNT_ID, EXTRA_CALLS, BlueprintMocks, RecordedResource,  # noqa: F401
                                           StackSnapshot)

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "serverless-blueprints"


def read_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` map of Pulumi.<stack>.yaml, keys fully qualified (project:key, aws:region)."""
    return testing.read_stack_config(stack, project_dir, project=PROJECT)


def evaluate_stack(stack: str, config: Optional[dict[str, Any]] = None,
                   project_dir: Path = PROJECT_DIR) -> StackSnapshot:
    """Run `__main__.py` for `stack` (with its YAML config, or `config` instead) and record it."""
    config = read_stack_config(stack, project_dir) if config is None else config
    _importable(project_dir)
    program = lambda: runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")  # noqa: E731
    return testing.evaluate(program, stack=stack, config=config, project=PROJECT)


def evaluate_program(program: Callable[[], Any], stack: str = "unit", region: str = "eu-west-1",
                     config: Optional[dict[str, Any]] = None) -> StackSnapshot:
    """Run any Pulumi program (e.g. one component with explicit args) under the same mocks."""
    _importable(PROJECT_DIR)
    return testing.evaluate(program, stack=stack, config={"aws:region": region, **(config or {})},
                            project=PROJECT)


def _importable(project_dir: Path) -> None:
    """The program imports its neighbours (stack_config), as under `pulumi up`."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
