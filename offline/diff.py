"""What a change does to a stack: the difference between two recorded snapshots (base and head).

    plan = diff_snapshots(base, head, base_label="origin/main (1a2b3c4)")
    print(render_text(plan))      # or render_markdown(plan), json.dumps(plan_document(plan))

Resources are matched by URN, as Pulumi matches them: a resource whose URN changed (renamed, or
moved under another parent) is a delete and a create unless `aliases` say it is the same one; the
diff names such pairs "moved". An update lists its changed inputs; an input that forces a
replacement (offline/replacements.py) makes it a replace. Deleting or replacing a resource that
holds state is flagged with what it loses. Secret inputs are shown as [secret]; values made up by
the offline mocks (ids, ARNs in account 123456789012) are labelled placeholders.

Policy findings are the head's pack applied to both sides, so the delta is what the change to the
infrastructure does; the cost delta prices both sides with the head's prices and usage.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from offline import replacements
from offline.cost import CostEstimate, estimate_stack, usd
from offline.harness import ACCOUNT_ID, RecordedResource, StackSnapshot

PLACEHOLDER = "(placeholder)"
PLACEHOLDER_LEGEND = (f"values marked {PLACEHOLDER} are made up by the offline mocks (ids, ARNs in account "
                      f"{ACCOUNT_ID}); the real ones are known only after `pulumi up`")
SECRET = "[secret]"
ACTIONS = ("replace", "delete", "create", "update")
MAX_VALUE = 100


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any
    new: Any
    secret: bool = False
    replaces: bool = False
    placeholder: bool = False


@dataclass
class ResourceChange:
    action: str
    """create, delete, update or replace."""
    resource_type: str
    name: str
    urn: str
    component: str
    changes: list[PropertyChange] = field(default_factory=list)
    consequence: Optional[str] = None
    """For a stateful delete or replace: what is lost."""
    moved: Optional[str] = None
    """For a create/delete pair of one type and name under another parent: the other URN."""

    @property
    def stateful(self) -> bool:
        return self.consequence is not None


@dataclass
class FindingChange:
    rule_id: str
    level: str
    resource_type: str
    name: str
    message: str


@dataclass
class PlanDiff:
    stack: str
    base_label: str
    resources: list[ResourceChange]
    findings_added: list[FindingChange]
    findings_removed: list[FindingChange]
    cost_base: CostEstimate
    cost_head: CostEstimate
    base_absent: bool = False

    def of(self, action: str) -> list[ResourceChange]:
        return [r for r in self.resources if r.action == action]

    @property
    def stateful(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.stateful]

    def cost_rows(self) -> list[tuple[str, float, float]]:
        """(component, base USD, head USD) of every component on either side, changed ones only."""
        base = {n: t for n, _, t in self.cost_base.by_component()}
        head = {n: t for n, _, t in self.cost_head.by_component()}
        names = list(head) + [n for n in base if n not in head]
        return [(n, base.get(n, 0.0), head.get(n, 0.0)) for n in names
                if round(base.get(n, 0.0), 2) != round(head.get(n, 0.0), 2)]


# --- comparing ----------------------------------------------------------------------------------------

def _parsed(value: Any) -> Any:
    """JSON documents passed as strings (IAM policies, event patterns) compared as structures."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    old, new = _parsed(old), _parsed(new)
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and "@asset" not in old and "@asset" not in new:
        found = []
        for key in sorted(set(old) | set(new)):
            found += _changes(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(old, list) and isinstance(new, list) and any(isinstance(v, (dict, list)) for v in old + new):
        found = []
        for index in range(max(len(old), len(new))):
            found += _changes(old[index] if index < len(old) else None, new[index] if index < len(new) else None,
                              f"{path}[{index}]")
        return found
    return [(path, old, new)]


def _under(path: str, prefixes: list[str]) -> bool:
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") or p.startswith(path + ".")
               or p.startswith(path + "[") for p in prefixes)


def _mock_values(*snapshots: StackSnapshot) -> set[str]:
    """Strings the mocks made up: computed outputs (ids, ARNs, URLs) that no input gave."""
    made_up = set()
    for snapshot in snapshots:
        for resource in snapshot.resources:
            for key, value in resource.outputs.items():
                if isinstance(value, str) and len(value) >= 8 and key not in resource.props \
                        and not key.startswith("_"):
                    made_up.add(value)
    return made_up


class Placeholders:
    """Whether a value is (or holds) one the mocks made up."""

    def __init__(self, *snapshots: StackSnapshot):
        self.values = _mock_values(*snapshots)

    def __call__(self, value: Any) -> bool:
        text = json.dumps(value) if not isinstance(value, str) else value
        return ACCOUNT_ID in text or any(v in text for v in self.values)


def _owner_names(snapshot: StackSnapshot) -> dict[str, str]:
    from offline.cost import STACK_LEVEL, top_level_components

    owners = top_level_components(snapshot)
    return {r.urn: owners[r.urn].name if r.urn in owners else STACK_LEVEL for r in snapshot.resources}


def _resource_change(old: RecordedResource, new: RecordedResource, component: str,
                     placeholder: Placeholders) -> Optional[ResourceChange]:
    found = _changes(old.props, new.props)
    if not found:
        return None
    secrets = list(old.secret_inputs) + list(new.secret_inputs)
    changes = [PropertyChange(path=path, old=a, new=b, secret=_under(path, secrets),
                              replaces=replacements.replaces(new.resource_type, path),
                              placeholder=placeholder(a) or placeholder(b))
               for path, a, b in found]
    custom = replacements.custom_replacement(new.resource_type, old.props, new.props)
    if custom:
        changes = [c if c.path != custom and not c.path.startswith(custom) else
                   PropertyChange(c.path, c.old, c.new, c.secret, True, c.placeholder) for c in changes]
    replaced = any(c.replaces for c in changes) or bool(custom)
    return ResourceChange(action="replace" if replaced else "update", resource_type=new.resource_type,
                          name=new.name, urn=new.urn, component=component, changes=changes,
                          consequence=replacements.consequence(new.resource_type, old.props) if replaced else None)


NEW_AFTER_REPLACE = "(new after the replacement)"
VERSIONED = {"aws:lambda/layerVersion:LayerVersion"}
"""Types whose ARN changes on replacement even with an explicit name (a new layer version)."""


def _identity_values(resource: RecordedResource) -> set[str]:
    """Ids and ARNs a replacement gives anew: computed outputs of an auto-named (or versioned) resource."""
    given = {v for v in resource.props.values() if isinstance(v, str)}
    if resource.outputs.get("name") in given and resource.resource_type not in VERSIONED:
        return set()  # an explicit physical name: delete-before-replace keeps the same name and ARN
    return {v for k, v in resource.outputs.items() if isinstance(v, str) and len(v) >= 8
            and not k.startswith("_") and k not in resource.props and v not in given}


def _paths_holding(value: Any, wanted: set[str], path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in sorted(value.items()) for p in _paths_holding(v, wanted, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths_holding(v, wanted, f"{path}[{i}]")]
    if isinstance(value, str) and any(w in value for w in wanted):
        return [path]
    return []


def _cascade(changes: list[ResourceChange], old: dict, new: dict, owners: dict) -> None:
    """What Pulumi does after a replacement: inputs holding the old id or ARN change, maybe replacing too."""
    by_urn = {c.urn: c for c in changes}
    frontier = [c for c in changes if c.action == "replace"]
    done: set[str] = set()
    while frontier:
        replaced = frontier.pop()
        if replaced.urn in done or replaced.urn not in new:
            continue
        done.add(replaced.urn)
        values = _identity_values(new[replaced.urn])
        if not values:
            continue
        for urn, resource in new.items():
            if urn == replaced.urn or urn not in old:
                continue
            paths = _paths_holding(resource.props, values)
            if not paths:
                continue
            change = by_urn.get(urn)
            if change is None:
                change = by_urn[urn] = ResourceChange("update", resource.resource_type, resource.name, urn,
                                                      owners[urn])
                changes.append(change)
            known = {c.path for c in change.changes}
            for path in paths:
                if path not in known:
                    change.changes.append(PropertyChange(
                        path, _dig(resource.props, path), NEW_AFTER_REPLACE,
                        replaces=replacements.replaces(resource.resource_type, path), placeholder=True))
            if change.action == "update" and any(c.replaces for c in change.changes):
                change.action = "replace"
                change.consequence = replacements.consequence(resource.resource_type, old[urn].props)
                frontier.append(change)


def _dig(value: Any, path: str) -> Any:
    import re

    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        value = value[int(part[1:-1])] if part.startswith("[") else value.get(part)
    return value


def _finding_keys(report) -> dict[tuple, FindingChange]:
    return {(f.rule_id, f.resource_type, f.name, f.message): FindingChange(f.rule_id, f.level, f.resource_type,
                                                                           f.name, f.message)
            for f in report.findings}


def diff_snapshots(base: StackSnapshot, head: StackSnapshot, base_label: str, base_absent: bool = False,
                   cost_base: Optional[CostEstimate] = None, cost_head: Optional[CostEstimate] = None) -> PlanDiff:
    """Every resource change from `base` to `head`, the policy findings gained and lost, and both costs."""
    from offline.report import evaluate_snapshot

    placeholder = Placeholders(base, head)
    old = {r.urn: r for r in base.resources if r.custom}
    new = {r.urn: r for r in head.resources if r.custom}
    old_owner, new_owner = _owner_names(base), _owner_names(head)
    changes: list[ResourceChange] = []
    for urn, resource in new.items():
        if urn in old:
            change = _resource_change(old[urn], resource, new_owner[urn], placeholder)
            if change:
                changes.append(change)
        else:
            changes.append(ResourceChange("create", resource.resource_type, resource.name, urn, new_owner[urn]))
    for urn, resource in old.items():
        if urn not in new:
            changes.append(ResourceChange("delete", resource.resource_type, resource.name, urn, old_owner[urn],
                                          consequence=replacements.consequence(resource.resource_type,
                                                                               resource.props)))
    _cascade(changes, old, new, new_owner)
    created = {(c.resource_type, c.name): c for c in changes if c.action == "create"}
    for change in changes:
        if change.action == "delete" and (change.resource_type, change.name) in created:
            partner = created[(change.resource_type, change.name)]
            change.moved, partner.moved = partner.urn, change.urn
    changes.sort(key=lambda c: (ACTIONS.index(c.action), not c.stateful, c.component, c.resource_type, c.name))
    base_findings, head_findings = _finding_keys(evaluate_snapshot(base)), _finding_keys(evaluate_snapshot(head))
    return PlanDiff(
        stack=head.stack, base_label=base_label, resources=changes, base_absent=base_absent,
        findings_added=[head_findings[k] for k in sorted(set(head_findings) - set(base_findings))],
        findings_removed=[base_findings[k] for k in sorted(set(base_findings) - set(head_findings))],
        cost_base=cost_base or estimate_stack(base), cost_head=cost_head or estimate_stack(head))


# --- rendering ----------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, dict) and "@asset" in value:
        return f"{value.get('name') or value['@asset']} sha256:{str(value.get('sha256', ''))[:12]}"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."


def _pair(old: Any, new: Any, secret: bool) -> tuple[str, str]:
    """Both sides for display; long values that share a beginning are shown from where they differ."""
    if secret:
        return SECRET, SECRET
    a, b = _text(old), _text(new)
    if max(len(a), len(b)) > MAX_VALUE:
        common = 0
        while common < min(len(a), len(b)) and a[common] == b[common]:
            common += 1
        start = max(0, common - 20)
        if start:
            a, b = "..." + a[start:], "..." + b[start:]
    return _clip(a), _clip(b)


def _change_line(change: PropertyChange) -> str:
    old, new = _pair(change.old, change.new, change.secret)
    line = f"{change.path}: {old} -> {new}"
    if change.placeholder and not change.secret:
        line += f" {PLACEHOLDER}"
    if change.replaces:
        line += "  [forces replacement]"
    return line


def _summary(plan: PlanDiff) -> str:
    counts = ", ".join(f"{len(plan.of(a))} to {a}" for a in ("create", "update", "replace", "delete"))
    stateful = f", {len(plan.stateful)} stateful" if plan.stateful else ""
    return counts + stateful


def _cost_delta(plan: PlanDiff) -> float:
    return plan.cost_head.total - plan.cost_base.total


def _signed(value: float) -> str:
    return ("+" if value >= 0.005 else "-" if value <= -0.005 else "±") + usd(abs(value))


def use_color(stream=None) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def render_text(plan: PlanDiff, color: bool = False) -> str:
    red = (lambda s: f"\033[31m{s}\033[0m") if color else (lambda s: s)
    base_note = " (the stack doesn't exist there: everything is new)" if plan.base_absent else ""
    lines = [f"diff of stack {plan.stack} against {plan.base_label}{base_note}: {_summary(plan)}"]
    if not plan.resources:
        lines.append("  no resource changes")
    for change in plan.resources:
        mark = {"create": "+", "delete": "-", "update": "~", "replace": "+-"}[change.action]
        head = f"  {mark} {change.action:<7} {change.resource_type} '{change.name}'  [{change.component}]"
        if change.moved:
            head += "  (moved: same type and name under another parent; add aliases to keep it)"
        lines.append(red(head + "  STATEFUL") if change.stateful else head)
        if change.stateful:
            lines.append(red(f"      ! {change.consequence}"))
        lines += [f"      {_change_line(c)}" for c in change.changes]
    lines.append(f"policy findings: {len(plan.findings_added)} new, {len(plan.findings_removed)} gone")
    lines += [f"  + [{f.level}] {f.rule_id} {f.resource_type} '{f.name}': {f.message}" for f in plan.findings_added]
    lines += [f"  - [{f.level}] {f.rule_id} {f.resource_type} '{f.name}': {f.message}"
              for f in plan.findings_removed]
    lines.append(f"cost: {usd(plan.cost_base.total)} -> {usd(plan.cost_head.total)} a month "
                 f"({_signed(_cost_delta(plan))})")
    lines += [f"  {name}: {usd(a)} -> {usd(b)} ({_signed(b - a)})" for name, a, b in plan.cost_rows()]
    lines.append(f"note: {PLACEHOLDER_LEGEND}")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: PlanDiff) -> str:
    """The PR comment / step summary: counts, stateful warnings first, then each change, findings, cost."""
    lines = [f"### `{plan.stack}`: {_summary(plan)}", "",
             f"Compared with `{plan.base_label}`" + (" (the stack doesn't exist there)" if plan.base_absent else "")
             + f"; cost {usd(plan.cost_base.total)} → {usd(plan.cost_head.total)} a month "
             f"(**{_signed(_cost_delta(plan))}**).", ""]
    if plan.stateful:
        lines += ["> [!CAUTION]", f"> {len(plan.stateful)} stateful resource(s) deleted or replaced:"]
        lines += [f"> - 🔴 **{c.action}** `{c.resource_type}` `{c.name}`: {c.consequence}" for c in plan.stateful]
        lines.append("")
    if plan.resources:
        lines += ["| | action | type | name | component | changed inputs |", "| --- | --- | --- | --- | --- | --- |"]
        for change in plan.resources:
            inputs = "<br>".join(_md(f"`{c.path}`: {' → '.join(_pair(c.old, c.new, c.secret))}"
                                     + (f" {PLACEHOLDER}" if c.placeholder and not c.secret else "")
                                     + (" **forces replacement**" if c.replaces else ""))
                                 for c in change.changes)
            if change.moved:
                inputs = "moved: add `aliases` to keep it" + ("<br>" + inputs if inputs else "")
            flag = "🔴" if change.stateful else ""
            lines.append(f"| {flag} | {change.action} | `{change.resource_type}` | `{change.name}` | "
                         f"{change.component} | {inputs} |")
    else:
        lines.append("No resource changes.")
    lines += ["", f"**Policy findings**: {len(plan.findings_added)} new, {len(plan.findings_removed)} gone"]
    lines += [f"- ➕ {f.level} `{f.rule_id}` `{f.name}`: {_md(f.message)}" for f in plan.findings_added]
    lines += [f"- ➖ {f.level} `{f.rule_id}` `{f.name}`: {_md(f.message)}" for f in plan.findings_removed]
    rows = plan.cost_rows()
    lines += ["", f"**Cost** (USD/month): {usd(plan.cost_base.total)} → {usd(plan.cost_head.total)} "
                  f"({_signed(_cost_delta(plan))})"]
    if rows:
        lines += ["", "| component | before | after | change |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {n} | {usd(a)} | {usd(b)} | {_signed(b - a)} |" for n, a, b in rows]
    lines += ["", f"<sub>Offline plan: {PLACEHOLDER_LEGEND}.</sub>"]
    return "\n".join(lines)


def _json_value(value: Any, secret: bool) -> Any:
    return SECRET if secret else value


def plan_document(plan: PlanDiff) -> dict:
    """The diff as JSON (stable keys; amounts rounded to the cent)."""
    return {
        "stack": plan.stack, "base": plan.base_label, "base_absent": plan.base_absent,
        "summary": {a: len(plan.of(a)) for a in ("create", "update", "replace", "delete")}
        | {"stateful": len(plan.stateful)},
        "resources": [{
            "action": c.action, "type": c.resource_type, "name": c.name, "urn": c.urn, "component": c.component,
            "stateful": c.stateful, "consequence": c.consequence, "moved_from_or_to": c.moved,
            "changes": [{"path": p.path, "old": _json_value(p.old, p.secret), "new": _json_value(p.new, p.secret),
                         "secret": p.secret, "forces_replacement": p.replaces, "placeholder": p.placeholder}
                        for p in c.changes]} for c in plan.resources],
        "findings": {"added": [vars(f) for f in plan.findings_added],
                     "removed": [vars(f) for f in plan.findings_removed]},
        "cost": {"base": round(plan.cost_base.total, 2), "head": round(plan.cost_head.total, 2),
                 "delta": round(_cost_delta(plan), 2),
                 "components": [{"name": n, "base": round(a, 2), "head": round(b, 2), "delta": round(b - a, 2)}
                                for n, a, b in plan.cost_rows()]},
        "placeholders": PLACEHOLDER_LEGEND,
    }
