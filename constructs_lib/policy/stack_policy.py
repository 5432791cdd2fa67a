"""Runs the rule pack over a synthesized stack, honouring suppressions; protects stateful
resources.

The rules look at each resource exactly as Terraform will receive it: the stack's
`cdk.tf.json`, after every aspect (tags, `prevent_destroy`) has run, with references resolved
to `${type.name.attr}` and each resource's construct path from its `//` metadata. Evaluating
the output rather than visiting constructs mid-synthesis sees what aspects added last, and
costs no round trips to the jsii kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jsii

from constructs_lib.aspects import resource_type
from constructs_lib.cdk import IAspect, IConstruct, TerraformResource
from constructs_lib.config.errors import ConfigError, Problem
from constructs_lib.policy.rules import (
    ALL_RULE_IDS,
    RULES,
    Finding,
    PolicyContext,
    ResourceView,
    evaluate,
)
from constructs_lib.policy.stateful import STATEFUL_TYPES

MIN_REASON_LENGTH = 20


@dataclass(frozen=True)
class Suppression:
    """Silences one rule for one construct subtree, with the reason written down."""

    rule_id: str
    reason: str
    path: str = ""
    """Construct path prefix it applies to (e.g. `prod/Storage`); empty: the whole stack."""

    def covers(self, finding: Finding) -> bool:
        return self.rule_id == finding.rule.id and (
            not self.path or finding.path == self.path or finding.path.startswith(self.path + "/")
        )


_CONSTRUCT_SUPPRESSIONS: list[Suppression] = []
"""Suppressions attached to constructs in code, by construct path (paths start with the stack
name, so stacks do not see each other's)."""


def suppress(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Silence `rule_id` for `construct` and everything below it. The reason is required and
    is shown with every finding it silences."""
    problems = []
    if rule_id not in ALL_RULE_IDS:
        problems.append(f"unknown rule {rule_id!r}; known: {', '.join(sorted(ALL_RULE_IDS))}")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        problems.append(
            f"suppression of {rule_id} needs a written reason (at least {MIN_REASON_LENGTH} "
            f"characters), got {reason!r}"
        )
    path = construct.node.path
    if problems:
        raise ConfigError(
            [Problem(path, "policy suppression", p, "fix the suppress() call") for p in problems]
        )
    _CONSTRUCT_SUPPRESSIONS.append(Suppression(rule_id, reason, path))


def views_from_stack(stack_json: Mapping[str, Any]) -> list[ResourceView]:
    """One view per resource of a synthesized stack, then one of type `output` per output (so
    a rule can follow a cross-stack reference of the other stack to the value behind it)."""
    return [
        ResourceView(
            type=rtype,
            path=body.get("//", {}).get("metadata", {}).get("path", f"{rtype}.{name}"),
            address=f"{rtype}.{name}",
            attrs={k: v for k, v in body.items() if k != "//"},
        )
        for rtype, items in sorted(stack_json.get("resource", {}).items())
        for name, body in sorted(items.items())
    ] + [
        ResourceView(
            type="output",
            path=f"output.{name}",
            address=f"output.{name}",
            attrs={k: v for k, v in body.items() if k != "//"},
        )
        for name, body in sorted(stack_json.get("output", {}).items())
    ]


class StackPolicy:
    """The rule pack for one environment's stacks (its platform and workspace stacks are
    judged together, so a rule can relate a workspace in one to an access list in the other),
    or for one stack: its context and the suppressions from its config."""

    def __init__(
        self,
        stack_names: str | Sequence[str],
        context: PolicyContext,
        suppressions: Sequence[Suppression] = (),
    ) -> None:
        self.stack_names: tuple[str, ...] = (
            (stack_names,) if isinstance(stack_names, str) else tuple(stack_names)
        )
        self.context = context
        self._suppressions = list(suppressions)

    def findings(self, *stack_jsons: Mapping[str, Any]) -> list[Finding]:
        """Every finding over the synthesized stacks; suppressed ones carry the reason."""
        suppressions = [
            *self._suppressions,
            *(s for s in _CONSTRUCT_SUPPRESSIONS if s.path.split("/")[0] in self.stack_names),
        ]
        views = [view for stack in stack_jsons for view in views_from_stack(stack)]
        return [_suppressed(f, suppressions) for f in evaluate(views, self.context, RULES)]


def _suppressed(finding: Finding, suppressions: Iterable[Suppression]) -> Finding:
    reason = next((s.reason for s in suppressions if s.covers(finding)), None)
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
        if isinstance(node, TerraformResource) and resource_type(node) in self._types:
            node.add_override("lifecycle.prevent_destroy", True)


def protected_addresses(stack_json: Mapping[str, Any]) -> list[str]:
    """Terraform addresses with `prevent_destroy` in a synthesized stack."""
    return sorted(
        f"{rtype}.{name}"
        for rtype, items in stack_json.get("resource", {}).items()
        for name, body in items.items()
        if body.get("lifecycle", {}).get("prevent_destroy") is True
    )
