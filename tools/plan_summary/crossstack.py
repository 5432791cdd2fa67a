"""One plan across an environment's two stacks: the workspace stack against the platform plan.

The workspace stack reads the platform stack's outputs through one `terraform_remote_state`
data source (`cross-stack-reference-input-<env>`, cdktf's cross-stack references). Planned
against the platform's *state*, a pull request that changes a platform output (a renamed storage
account) shows no change for the workspace, while the deploy, after the platform apply, replaces
the catalog. So the workflows plan the workspace stack against the platform *plan*: every
reference to that data source becomes a value of the platform plan's `planned_values.outputs`,
unknown where the platform plan does not know it yet (the workflows' `against_platform_plan`).

This module explains such a plan to a reviewer, from the workspace stack's synthesized
configuration (`config.tf.json`, copied by the plan job before the rewrite) and the platform
plan's JSON: which platform outputs the stack reads and how each changes (changes, unknown until
the platform apply, new), and which workspace changes follow from them (directly or through
other workspace resources). A stack that reads outputs the platform's state does not have yet
"needs the platform apply first": what can be planned is shown, the deploy plans the rest after
the platform apply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.plan_summary.diff import any_true
from tools.plan_summary.model import CREATE, NO_OP, Plan, PlanError, ResourceChange, parse_plan

DATA_SOURCE_PREFIX = "cross-stack-reference-input-"
OUTPUT_PREFIX = "cross-stack-output-"
_OUTPUT_REF = re.compile(
    r"data\.terraform_remote_state\.("
    + re.escape(DATA_SOURCE_PREFIX)
    + r"[\w-]+)\.outputs\.([\w-]+)"
)
_TRAVERSAL = re.compile(r"(?<![\w.-])([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")
_INDEX = re.compile(r"\[[^\]]*\]")

# How one platform output changes with the platform plan.
UNCHANGED = "unchanged"
CHANGES = "changes"
UNKNOWN = "unknown until the platform apply"
NEW = "new: not in the platform's state yet"
MISSING = "not in the platform plan"


@dataclass(frozen=True)
class PlatformOutput:
    name: str
    status: str
    source: str | None
    """The platform attribute the output exposes (its configuration's reference), if known."""

    @property
    def label(self) -> str:
        return self.source or self.name.removeprefix(OUTPUT_PREFIX)


@dataclass(frozen=True)
class CrossStack:
    """The platform outputs a workspace stack reads and what depends on them."""

    outputs: dict[str, PlatformOutput]
    uses: dict[str, frozenset[str]]
    """Workspace resource address (no index) -> the changing platform outputs it depends on,
    directly or through other workspace resources."""
    provider_outputs: frozenset[str]
    """Platform outputs the stack's provider configurations read (the workspace it talks to)."""

    def with_status(self, *statuses: str) -> list[PlatformOutput]:
        return [o for o in self.outputs.values() if o.status in statuses]

    @property
    def needs_platform_apply(self) -> bool:
        """The stack reads outputs the platform's state does not have yet."""
        return bool(self.with_status(NEW, MISSING))

    def caused(self, plan: Plan) -> list[tuple[ResourceChange, list[PlatformOutput]]]:
        """The workspace plan's changes that depend on changing platform outputs."""
        out = []
        for rc in plan.summarised:
            names = self.uses.get(_base(rc.address))
            if names:
                out.append((rc, [self.outputs[n] for n in sorted(names)]))
        return out


def _base(address: str) -> str:
    """`type.name` of a resource instance address (no module path, no index)."""
    return ".".join(_INDEX.sub("", address).split(".")[-2:])


def _output_status(name: str, platform: dict[str, Any], plan: Plan) -> PlatformOutput:
    changes = {oc.name: oc for oc in plan.output_changes}
    config = platform.get("configuration", {})
    outputs = config.get("root_module", {}).get("outputs", {}) if isinstance(config, dict) else {}
    refs = (outputs.get(name) or {}).get("expression", {}).get("references") or []
    source = max((r for r in refs if isinstance(r, str)), key=len, default=None)
    planned = (platform.get("planned_values") or {}).get("outputs") or {}
    change = changes.get(name)
    if change is None:
        status = UNCHANGED if name in planned else MISSING
    elif change.actions == (CREATE,):
        status = NEW
    elif any_true(change.after_unknown):
        status = UNKNOWN
    elif change.kind == NO_OP:
        status = UNCHANGED
    else:
        status = CHANGES
    return PlatformOutput(name=name, status=status, source=source)


def analyse(workspace_config: dict[str, Any], platform_plan: dict[str, Any]) -> CrossStack:
    """Which platform outputs the workspace configuration reads, and what depends on them."""
    if not isinstance(workspace_config, dict):
        raise PlanError("the workspace configuration is not a JSON object")
    plan = parse_plan(platform_plan) if platform_plan else None
    resources: dict[str, str] = {}
    for rtype, items in (workspace_config.get("resource") or {}).items():
        for name, body in (items or {}).items():
            resources[f"{rtype}.{name}"] = json.dumps(body, sort_keys=True)
    read: set[str] = set()
    direct: dict[str, set[str]] = {}
    for address, text in resources.items():
        names = {m.group(2) for m in _OUTPUT_REF.finditer(text)}
        read |= names
        direct[address] = names
    provider_text = json.dumps(workspace_config.get("provider") or {}, sort_keys=True)
    provider_outputs = {m.group(2) for m in _OUTPUT_REF.finditer(provider_text)}
    read |= provider_outputs
    outputs = {
        name: (
            _output_status(name, platform_plan, plan)
            if plan is not None
            else PlatformOutput(name=name, status=MISSING, source=None)
        )
        for name in sorted(read)
    }
    changing = {n for n, o in outputs.items() if o.status != UNCHANGED}
    edges = {
        address: {
            f"{m.group(1)}.{m.group(2)}"
            for m in _TRAVERSAL.finditer(text)
            if f"{m.group(1)}.{m.group(2)}" in resources and f"{m.group(1)}.{m.group(2)}" != address
        }
        for address, text in resources.items()
    }
    uses = {address: set(direct[address] & changing) for address in resources}
    # Through other workspace resources, until nothing more is learnt.
    grew = True
    while grew:
        grew = False
        for address, targets in edges.items():
            inherited = set().union(*(uses[t] for t in targets)) if targets else set()
            if not inherited <= uses[address]:
                uses[address] |= inherited
                grew = True
    return CrossStack(
        outputs=outputs,
        uses={a: frozenset(n) for a, n in uses.items() if n},
        provider_outputs=frozenset(provider_outputs & changing),
    )


def load(config_path: Path, platform_plan_path: Path | None) -> CrossStack:
    """From the files the plan job leaves: the workspace's config.tf.json and the platform's
    plan.json (absent when the platform plan failed)."""
    from tools.safe_input import InputError, read_json

    try:
        config = read_json(config_path, "workspace configuration")
        platform = (
            read_json(platform_plan_path, "platform plan")
            if platform_plan_path is not None and platform_plan_path.is_file()
            else {}
        )
    except InputError as exc:
        raise PlanError(f"cannot read the cross-stack inputs: {exc}") from None
    if not isinstance(config, dict) or not isinstance(platform, dict):
        raise PlanError("cannot read the cross-stack inputs: expected JSON objects")
    return analyse(config, platform)
