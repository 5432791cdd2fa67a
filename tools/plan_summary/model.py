"""Parse Terraform's JSON plan (`terraform show -json PLANFILE`) into a small typed model.

Format reference: developer.hashicorp.com/terraform/internals/json-format ("Plan Representation",
"Change Representation"), and hashicorp/terraform v1.11.4 `internal/command/jsonplan/plan.go`
(`relevant_attributes`, `prior_state`). Only the parts the summary needs are read.

Drift follows Terraform's own meaning of it (v1.11.4 `internal/command/jsonformat/diff.go`,
`precomputeDiffs`): a `resource_drift` entry matters when it touches an attribute listed in
`relevant_attributes` (the resource attributes that contributed to the planned changes); the
human-readable plan shows nothing else. This model also keeps drift of an object that the plan
changes anyway ("leads to a planned change"). Every other difference a refresh records (a key
the read-only identity cannot list reads back empty, an unset block reads back as an empty list)
changes nothing and is `refresh_noise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# What a resource change is, from `change.actions`.
CREATE = "create"
UPDATE = "update"
REPLACE = "replace"
DELETE = "delete"
READ = "read"
NO_OP = "no-op"
FORGET = "forget"

SUMMARISED_KINDS = (CREATE, UPDATE, REPLACE, DELETE)
DESTRUCTIVE_KINDS = (REPLACE, DELETE)

_KIND_BY_ACTIONS: dict[tuple[str, ...], str] = {
    ("create",): CREATE,
    ("update",): UPDATE,
    ("delete",): DELETE,
    ("delete", "create"): REPLACE,
    ("create", "delete"): REPLACE,
    ("read",): READ,
    ("no-op",): NO_OP,
    ("forget",): FORGET,
    # Terraform 1.7+: forget the old object (no destroy) and create a new one.
    ("create", "forget"): CREATE,
    ("forget", "create"): CREATE,
}


AttrPath = tuple[str | int, ...]


class PlanError(ValueError):
    """The input is not a usable Terraform JSON plan (one-line message for the CLI)."""


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    mode: str
    actions: tuple[str, ...]
    kind: str
    before: Any = None
    after: Any = None
    before_sensitive: Any = False
    after_sensitive: Any = False
    after_unknown: Any = False
    replace_paths: tuple[tuple[str | int, ...], ...] = ()
    action_reason: str | None = None
    importing: str | None = None
    """The ID this change imports (`change.importing.id`, an `import` block), else None."""

    @property
    def destructive(self) -> bool:
        return self.kind in DESTRUCTIVE_KINDS


@dataclass(frozen=True)
class OutputChange:
    """One root module output in `output_changes` (same change representation, no address)."""

    name: str
    actions: tuple[str, ...]
    kind: str
    before: Any = None
    after: Any = None
    before_sensitive: Any = False
    after_sensitive: Any = False
    after_unknown: Any = False


@dataclass(frozen=True)
class Plan:
    format_version: str
    terraform_version: str | None
    resource_changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    resource_drift: tuple[ResourceChange, ...] = field(default_factory=tuple)
    """Changes Terraform found made outside Terraform (refresh), not changes it will make."""
    output_changes: tuple[OutputChange, ...] = field(default_factory=tuple)
    errored: bool = False
    """Terraform stopped planning on an error: the plan is incomplete and cannot be applied."""
    complete: bool = True
    applyable: bool = True
    relevant_attributes: tuple[tuple[str, AttrPath], ...] = ()
    """(resource address, attribute path) pairs that contributed to the planned changes."""
    prior_resources: frozenset[str] = frozenset()
    """Addresses of the managed resources in the state the plan was made from."""

    def changes(self, kind: str) -> list[ResourceChange]:
        return [rc for rc in self.resource_changes if rc.kind == kind]

    @property
    def summarised(self) -> list[ResourceChange]:
        return [rc for rc in self.resource_changes if rc.kind in SUMMARISED_KINDS]

    @property
    def drifted(self) -> list[ResourceChange]:
        """Every difference the refresh found (relevant or not)."""
        return [rc for rc in self.resource_drift if rc.kind in SUMMARISED_KINDS]

    @property
    def relevant_drift(self) -> list[ResourceChange]:
        """Drift that leads to a planned change or touches an attribute the plan relies on."""
        return [rc for rc in self.drifted if self._drift_matters(rc)]

    @property
    def refresh_noise(self) -> list[ResourceChange]:
        """Differences a refresh recorded that change nothing."""
        return [rc for rc in self.drifted if not self._drift_matters(rc)]

    def _drift_matters(self, rc: ResourceChange) -> bool:
        if rc.address in {c.address for c in self.resource_changes if c.kind not in (NO_OP, READ)}:
            return True
        relevant = [
            path for address, path in self.relevant_attributes if address in ("", rc.address)
        ]
        if not relevant:
            return False
        if rc.kind == DELETE:
            return True
        return any(
            _overlaps(changed, path)
            for changed in changed_paths(rc.before, rc.after)
            for path in relevant
        )

    @property
    def never_applied(self) -> bool:
        """The state holds no managed resource yet, and the plan creates some."""
        return (
            not self.prior_resources
            and bool(self.summarised)
            and all(rc.kind == CREATE for rc in self.summarised)
        )

    @property
    def imports(self) -> list[ResourceChange]:
        """Changes that import an existing object (`import` blocks), whatever else they do."""
        return [rc for rc in self.resource_changes if rc.importing is not None]

    @property
    def changed_outputs(self) -> list[OutputChange]:
        return [oc for oc in self.output_changes if oc.kind in SUMMARISED_KINDS]

    @property
    def is_noop(self) -> bool:
        """Nothing to apply and Terraform finished planning (Terraform's "No changes."): refresh
        noise does not count, and drift that matters always comes with a planned change."""
        return (
            not self.errored
            and not self.summarised
            and not self.changed_outputs
            and not self.imports
        )


def _same_step(a: str | int, b: str | int) -> bool:
    # Terraform accepts "0" for a list index; compare as text.
    return str(a) == str(b)


def _overlaps(a: AttrPath, b: AttrPath) -> bool:
    """One path is a prefix of the other (Terraform's attribute_path matcher, with propagation:
    a relevant path covers everything below it, and a change above a relevant path covers it)."""
    n = min(len(a), len(b))
    return all(_same_step(a[i], b[i]) for i in range(n))


def changed_paths(before: Any, after: Any, prefix: AttrPath = ()) -> list[AttrPath]:
    """Leaf paths at which before and after differ (values compared as parsed JSON)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[AttrPath] = []
        for key in sorted(set(before) | set(after)):
            out += changed_paths(before.get(key), after.get(key), (*prefix, key))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            out += changed_paths(b, a, (*prefix, index))
        return out
    return [] if before == after else [prefix]


def classify(actions: tuple[str, ...]) -> str:
    try:
        return _KIND_BY_ACTIONS[actions]
    except KeyError:
        raise PlanError(f"unknown change.actions {list(actions)!r}") from None


def _replace_paths(raw: Any) -> tuple[tuple[str | int, ...], ...]:
    if not isinstance(raw, list):
        return ()
    paths = []
    for path in raw:
        if isinstance(path, list):
            paths.append(tuple(p for p in path if isinstance(p, str | int)))
    return tuple(paths)


def _actions(change: dict[str, Any], where: str) -> tuple[str, ...]:
    actions = change.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise PlanError(f"{where} has no change.actions list")
    return tuple(actions)


def _resource_change(raw: Any, index: int, key: str = "resource_changes") -> ResourceChange:
    if not isinstance(raw, dict):
        raise PlanError(f"{key}[{index}] is not an object")
    change = raw.get("change")
    address = raw.get("address")
    rtype = raw.get("type")
    if not isinstance(address, str) or not isinstance(rtype, str) or not isinstance(change, dict):
        raise PlanError(f"{key}[{index}] lacks address, type or change")
    actions_t = _actions(change, f"{key}[{index}] ({address})")
    return ResourceChange(
        address=address,
        type=rtype,
        mode=str(raw.get("mode", "managed")),
        actions=actions_t,
        kind=classify(actions_t),
        before=change.get("before"),
        after=change.get("after"),
        before_sensitive=change.get("before_sensitive", False),
        after_sensitive=change.get("after_sensitive", False),
        after_unknown=change.get("after_unknown", False),
        replace_paths=_replace_paths(change.get("replace_paths")),
        action_reason=raw.get("action_reason")
        if isinstance(raw.get("action_reason"), str)
        else None,
        importing=_importing(change.get("importing")),
    )


def _importing(raw: Any) -> str | None:
    """`change.importing` (Terraform 1.5+): `{"id": ...}` when the change imports an object."""
    if raw is None or raw is False:
        return None
    if isinstance(raw, dict):
        ident = raw.get("id")
        return ident if isinstance(ident, str) else "(unknown ID)"
    return "(unknown ID)"


def _output_change(name: str, raw: Any) -> OutputChange:
    if not isinstance(raw, dict):
        raise PlanError(f"output_changes.{name} is not an object")
    actions = _actions(raw, f"output_changes.{name}")
    return OutputChange(
        name=name,
        actions=actions,
        kind=classify(actions),
        before=raw.get("before"),
        after=raw.get("after"),
        before_sensitive=raw.get("before_sensitive", False),
        after_sensitive=raw.get("after_sensitive", False),
        after_unknown=raw.get("after_unknown", False),
    )


def _changes(data: dict[str, Any], key: str) -> tuple[ResourceChange, ...]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise PlanError(f"{key} is not a list")
    return tuple(_resource_change(item, i, key) for i, item in enumerate(raw))


def _relevant_attributes(raw: Any) -> tuple[tuple[str, AttrPath], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PlanError("relevant_attributes is not a list")
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("resource", ""), str):
            raise PlanError(f"relevant_attributes[{index}] is not a resource attribute")
        path = item.get("attribute", [])
        if not isinstance(path, list) or not all(
            isinstance(p, str | int) and not isinstance(p, bool) for p in path
        ):
            raise PlanError(f"relevant_attributes[{index}].attribute is not a path")
        out.append((item.get("resource", ""), tuple(path)))
    return tuple(out)


def _prior_resources(raw: Any) -> frozenset[str]:
    """Managed resource addresses of `prior_state.values` (root module and child modules)."""
    if not isinstance(raw, dict):
        return frozenset()
    values = raw.get("values")
    module = values.get("root_module") if isinstance(values, dict) else None
    found: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if not isinstance(current, dict):
            continue
        for resource in current.get("resources") or []:
            if (
                isinstance(resource, dict)
                and resource.get("mode", "managed") == "managed"
                and isinstance(resource.get("address"), str)
            ):
                found.add(resource["address"])
        children = current.get("child_modules") or []
        todo += children if isinstance(children, list) else []
    return frozenset(found)


def parse_plan(data: Any) -> Plan:
    """Build a Plan from decoded JSON; raise PlanError if it is not a Terraform plan."""
    if not isinstance(data, dict):
        raise PlanError("not a Terraform JSON plan (top level is not an object)")
    fmt = data.get("format_version")
    if not isinstance(fmt, str):
        raise PlanError("not a Terraform JSON plan (no format_version)")
    if "values" in data and "planned_values" not in data:
        raise PlanError(
            "this is a Terraform state, not a plan (use `terraform show -json PLANFILE`)"
        )
    if not any(key in data for key in ("planned_values", "resource_changes", "configuration")):
        raise PlanError("not a Terraform JSON plan (no planned_values/resource_changes)")
    if fmt.split(".")[0] != "1":
        raise PlanError(f"unsupported plan format_version {fmt!r} (expected 1.x)")
    raw_outputs = data.get("output_changes", {})
    if not isinstance(raw_outputs, dict):
        raise PlanError("output_changes is not an object")
    tf_version = data.get("terraform_version")
    errored = data.get("errored", False) is True
    return Plan(
        format_version=fmt,
        terraform_version=tf_version if isinstance(tf_version, str) else None,
        resource_changes=_changes(data, "resource_changes"),
        resource_drift=_changes(data, "resource_drift"),
        output_changes=tuple(
            _output_change(name, raw) for name, raw in sorted(raw_outputs.items())
        ),
        errored=errored,
        # Format 1.2 always writes both; older plans lack them (then: complete unless errored).
        complete=data.get("complete", not errored) is True,
        applyable=data.get("applyable", not errored) is True,
        relevant_attributes=_relevant_attributes(data.get("relevant_attributes")),
        prior_resources=_prior_resources(data.get("prior_state")),
    )


def load_plan(path: Path) -> Plan:
    """Read and parse a plan file; every failure becomes a PlanError (one line): a missing,
    unreadable or non-UTF-8 file, invalid JSON, a number out of range or nesting too deep
    (`tools.safe_input`)."""
    from tools.safe_input import InputError, read_json

    try:
        data = read_json(path, "plan file")
    except InputError as exc:
        raise PlanError(str(exc)) from None
    return parse_plan(data)
