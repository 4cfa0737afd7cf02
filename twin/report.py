"""What a twin run proved: a row per scenario, and the guards that make the run fail.

The run fails on any failed scenario (or an xfail that unexpectedly passed), any call the
permissions judge denied or could not judge, and any function of the stack that no scenario invoked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

PASS, FAIL, XFAIL, XPASS, NO_FUNCTIONS = "pass", "FAIL", "xfail", "XPASS", "no functions"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class ScenarioResult:
    name: str
    component: str
    """The component instance the scenario drove (its logical name)."""
    status: str
    checks: list[Check] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    """Functions invoked during the scenario (physical names), in first-invocation order."""
    invocations: int = 0
    calls: int = 0
    denied: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)
    error: Optional[str] = None
    xfail_reason: Optional[str] = None
    seconds: float = 0.0

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


@dataclass
class MappingRow:
    name: str
    function: str
    received: int
    filtered_out: int
    invocations: int
    retries: int
    to_destination: int


@dataclass
class TwinReport:
    stack: str
    functions: list[str]
    """Every function of the recorded stack (physical names)."""
    scenarios: list[ScenarioResult] = field(default_factory=list)
    invoked: set[str] = field(default_factory=set)
    mappings: list[MappingRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    judged: bool = True
    """False while no permissions judge is available (twin/permissions.py)."""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase of the run (evaluate, data plane, warm sandboxes, scenarios)."""
    unused_grants: dict[str, list[str]] = field(default_factory=dict)
    """Advisory: function -> actions its role grants that none of its invocations used."""

    @property
    def never_invoked(self) -> list[str]:
        return sorted(set(self.functions) - self.invoked)

    @property
    def denied(self) -> list[str]:
        return [d for s in self.scenarios for d in s.denied]

    @property
    def unjudged(self) -> list[str]:
        return [u for s in self.scenarios for u in s.unjudged]

    @property
    def failures(self) -> list[str]:
        """Why the run fails; empty when it is green."""
        reasons = [f"scenario {s.name} ({s.component}): {s.status}" + (f" - {s.error}" if s.error else "")
                   for s in self.scenarios if s.status in (FAIL, XPASS)]
        reasons += [f"denied: {d}" for d in self.denied]
        reasons += [f"not judged: {u}" for u in self.unjudged]
        reasons += [f"never invoked: {f}" for f in self.never_invoked]
        return reasons

    @property
    def ok(self) -> bool:
        return not self.failures

    def render(self) -> str:
        headers = ("scenario", "functions invoked", "AWS calls", "denied", "result")
        rows = []
        for s in self.scenarios:
            if s.status == NO_FUNCTIONS:
                rows.append((f"{s.name} ({s.component})", "no functions", "-", "-", NO_FUNCTIONS))
                continue
            functions = ", ".join(s.functions) or "none"
            result = s.status + (f" ({s.seconds:.1f} s)" if s.seconds else "")
            rows.append((f"{s.name} ({s.component})", functions, str(s.calls),
                         str(len(s.denied)) if self.judged else "n/a", result))
        lines = [f"Twin of stack {self.stack}: {len(self.functions)} functions, "
                 f"{len(self.scenarios)} scenarios, {self.seconds:.1f} s"
                 + (" (" + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()) + ")" if self.timings else ""),
                 ""]
        lines += _table(headers, rows)
        if self.mappings:
            lines += ["", "Event source mappings:"]
            lines += _table(("mapping", "function", "records", "filtered out", "invocations", "retries",
                             "to on-failure destination"),
                            [(m.name, m.function, str(m.received), str(m.filtered_out), str(m.invocations),
                              str(m.retries), str(m.to_destination)) for m in self.mappings])
        for s in self.scenarios:
            for check in s.failed_checks:
                lines.append(f"  {s.name}: check failed: {check.name}" + (f" - {check.detail}" if check.detail else ""))
            if s.error:
                lines.append(f"  {s.name}: {s.error}")
            if s.xfail_reason:
                lines.append(f"  {s.name}: expected to fail (known bug): {s.xfail_reason}")
        for note in self.notes:
            lines.append(f"note: {note}")
        for function, actions in sorted(self.unused_grants.items()):
            if actions:
                lines.append(f"advisory: {function} is granted, and never used here: {', '.join(actions)}")
        if not self.judged:
            lines.append("note: calls were NOT judged: twin/permissions.py (evaluate_calls) is not available")
        lines.append("")
        if self.ok:
            lines.append(f"{self.stack}: PASS")
        else:
            lines.append(f"{self.stack}: FAIL")
            lines += [f"  - {reason}" for reason in self.failures]
        return "\n".join(lines)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return out
