"""The destroy gate: which resource types may not be deleted or replaced without approval."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.plan_summary.model import Plan, PlanError, ResourceChange

DEFAULT_CONFIG = Path("config/shared/plan_summary.yaml")
DEFAULT_MAX_CHARS = 60_000
GITHUB_COMMENT_LIMIT = 65_536
MIN_MAX_CHARS = 2_000


@dataclass(frozen=True)
class Policy:
    protected_types: frozenset[str]
    max_chars: int = DEFAULT_MAX_CHARS

    def violations(self, plan: Plan) -> list[ResourceChange]:
        """Destructive changes (delete or replace) of protected resource types."""
        return [
            rc
            for rc in plan.resource_changes
            if rc.destructive and rc.mode == "managed" and rc.type in self.protected_types
        ]


def _max_chars(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PlanError("max_chars must be an integer")
    if not MIN_MAX_CHARS <= value <= GITHUB_COMMENT_LIMIT:
        raise PlanError(f"max_chars must be between {MIN_MAX_CHARS} and {GITHUB_COMMENT_LIMIT}")
    return value


def load_policy(path: Path) -> Policy:
    """Read config/shared/plan_summary.yaml; any problem is a PlanError (exit 2)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"config file not found: {path}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise PlanError(f"cannot read config {path}: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise PlanError(f"config {path} is not a mapping")
    unknown = set(data) - {"protected_resource_types", "max_chars"}
    if unknown:
        raise PlanError(f"config {path}: unknown keys {sorted(unknown)}")
    types = data.get("protected_resource_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        raise PlanError(f"config {path}: protected_resource_types must be a list of type names")
    max_chars = _max_chars(data.get("max_chars", DEFAULT_MAX_CHARS))
    return Policy(protected_types=frozenset(types), max_chars=max_chars)
