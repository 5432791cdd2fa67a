"""The destroy gate: which resource types may not be deleted or replaced without approval.

The protected types are the policy pack's one list, `STATEFUL_TYPES`
(`constructs_lib/policy/stateful.py`): the same types get `prevent_destroy` in protected
environments, so the gate and the stacks can never disagree. `config/shared/plan_summary.yaml`
holds only the tool's other settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.policy.stateful import STATEFUL_TYPES
from tools.plan_summary.model import Plan, PlanError, ResourceChange

DEFAULT_CONFIG = Path("config/shared/plan_summary.yaml")
DEFAULT_MAX_CHARS = 60_000
GITHUB_COMMENT_LIMIT = 65_536
MIN_MAX_CHARS = 2_000
KNOWN_KEYS = frozenset({"max_chars"})


@dataclass(frozen=True)
class Policy:
    protected_types: Sequence[str] = STATEFUL_TYPES
    """Always `STATEFUL_TYPES` itself; a field only so that tests can pass another list."""
    max_chars: int = DEFAULT_MAX_CHARS

    def violations(self, plan: Plan) -> list[ResourceChange]:
        """Destructive changes (delete or replace) of protected resource types."""
        return [
            rc
            for rc in plan.resource_changes
            if rc.destructive and rc.mode == "managed" and rc.type in self.protected_types
        ]


def _plain_yaml(text: str, path: Path) -> str:
    """`text` if it is plain YAML data: no anchors or aliases (an alias bomb expands a few
    lines into gigabytes) and nesting at most 8 deep (checked on the parser's events, before
    anything is built)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise PlanError(f"config {path}: anchors and aliases are not supported here")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > 8:
                raise PlanError(f"config {path}: nested more than 8 levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return text


def _max_chars(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PlanError("max_chars must be an integer")
    if not MIN_MAX_CHARS <= value <= GITHUB_COMMENT_LIMIT:
        raise PlanError(f"max_chars must be between {MIN_MAX_CHARS} and {GITHUB_COMMENT_LIMIT}")
    return value


def load_policy(path: Path) -> Policy:
    """Read config/shared/plan_summary.yaml; any problem is a PlanError (exit 2)."""
    from tools.safe_input import InputError, read_text

    try:
        text = read_text(path, "config file", max_bytes=64 << 10)
        data = yaml.safe_load(_plain_yaml(text, path))
    except InputError as exc:
        raise PlanError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise PlanError(f"cannot read config {path}: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise PlanError(f"config {path} is not a mapping")
    if "protected_resource_types" in data:
        raise PlanError(
            f"config {path}: protected_resource_types is no longer read; the protected types "
            "are STATEFUL_TYPES in constructs_lib/policy/stateful.py (remove the key)"
        )
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise PlanError(f"config {path}: unknown keys {sorted(unknown)}")
    return Policy(max_chars=_max_chars(data.get("max_chars", DEFAULT_MAX_CHARS)))
