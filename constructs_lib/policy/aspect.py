"""Applies the rule pack to a stack during synthesis, and protects stateful resources."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import jsii

from constructs_lib.cdk import IAspect, IConstruct, TerraformResource, TerraformStack, resolve
from constructs_lib.config.errors import ConfigError, Problem
from constructs_lib.policy.rules import (
    ALL_RULE_IDS,
    RULES,
    Finding,
    PolicyContext,
    ResourceView,
    evaluate,
)

SUPPRESSION_METADATA = "mlops:policy-suppression"
MIN_REASON_LENGTH = 20

STATEFUL_TYPES: tuple[str, ...] = (
    "azurerm_databricks_workspace",
    "azurerm_storage_account",
    "azurerm_key_vault",
    "azurerm_log_analytics_workspace",
    "databricks_catalog",
)
"""Resource types whose destruction loses data: protected environments forbid destroying them."""


@dataclass(frozen=True)
class Suppression:
    """Silences one rule for one construct subtree, with the reason written down."""

    rule_id: str
    reason: str
    path: str = ""
    """Construct path prefix it applies to (e.g. `prod/Storage`); empty: the whole stack."""


def suppress(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Silence `rule_id` for `construct` and everything below it. The reason is required and
    is printed with every finding it silences."""
    problems = []
    if rule_id not in ALL_RULE_IDS:
        problems.append(f"unknown rule {rule_id!r}; known: {', '.join(sorted(ALL_RULE_IDS))}")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        problems.append(
            f"suppression of {rule_id} needs a written reason (at least {MIN_REASON_LENGTH} "
            f"characters), got {reason!r}"
        )
    if problems:
        raise ConfigError(
            [
                Problem(construct.node.path, "policy suppression", p, "fix the suppress() call")
                for p in problems
            ]
        )
    construct.node.add_metadata(SUPPRESSION_METADATA, {"rule": rule_id, "reason": reason})


def _construct_suppressions(node: IConstruct) -> dict[str, str]:
    found: dict[str, str] = {}
    for scope in node.node.scopes:
        for entry in scope.node.metadata:
            if entry.type == SUPPRESSION_METADATA:
                found[entry.data["rule"]] = entry.data["reason"]
    return found


@jsii.implements(IAspect)
class PolicyAspect:
    """Collects a view of every resource of the stack during synthesis; `findings()` then runs
    the rules and applies suppressions (on constructs via `suppress`, or from config)."""

    def __init__(self, context: PolicyContext, suppressions: Sequence[Suppression] = ()) -> None:
        self.context = context
        self._config_suppressions = list(suppressions)
        self._views: list[ResourceView] = []
        self._silenced: dict[str, dict[str, str]] = {}

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TerraformStack):
            self._silenced[node.node.path] = _construct_suppressions(node)
            return
        if not isinstance(node, TerraformResource):
            return
        rtype = node.terraform_resource_type
        body = resolve(node, node.to_terraform())["resource"][rtype]
        ((logical_id, attrs),) = body.items()
        path = node.node.path
        self._views.append(
            ResourceView(
                type=rtype,
                path=path,
                address=f"{rtype}.{logical_id}",
                attrs={k: v for k, v in attrs.items() if k != "//"},
            )
        )
        self._silenced[path] = _construct_suppressions(node)

    @property
    def views(self) -> list[ResourceView]:
        return list(self._views)

    def findings(self) -> list[Finding]:
        """Every finding, suppressed ones carrying the suppression's reason."""
        return [self._apply_suppressions(f) for f in evaluate(self._views, self.context, RULES)]

    def _apply_suppressions(self, finding: Finding) -> Finding:
        reason = self._silenced.get(finding.path, {}).get(finding.rule.id)
        if reason is None:
            reason = next(
                (
                    s.reason
                    for s in self._config_suppressions
                    if s.rule_id == finding.rule.id and finding.path.startswith(s.path)
                ),
                None,
            )
        return replace(finding, suppressed_by=reason) if reason else finding


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """Unsuppressed errors: these fail synthesis."""
    return [f for f in findings if f.rule.level == "error" and f.suppressed_by is None]


@jsii.implements(IAspect)
class ProtectStatefulResources:
    """Adds `lifecycle.prevent_destroy` to every stateful resource (see `STATEFUL_TYPES`), so
    Terraform refuses a plan that would destroy or replace one."""

    def __init__(self, types: Iterable[str] = STATEFUL_TYPES) -> None:
        self._types = frozenset(types)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TerraformResource) and node.terraform_resource_type in self._types:
            node.add_override("lifecycle.prevent_destroy", True)


def protected_addresses(stack_json: Mapping) -> list[str]:
    """Terraform addresses with `prevent_destroy` in a synthesized stack."""
    return sorted(
        f"{rtype}.{name}"
        for rtype, items in stack_json.get("resource", {}).items()
        for name, body in items.items()
        if body.get("lifecycle", {}).get("prevent_destroy") is True
    )
