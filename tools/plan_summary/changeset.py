"""The change set of a plan: which addresses it changes and how, without any value.

A pull request's plan is reviewed; the deploy after the merge plans again. The pull request's
summary job records each stack's change set (`<stack>.change-set.json`, an artifact of the plan
run); the deploy's gates compare their own plan's change set with it (docs/cicd.md, "What is
applied is what was reviewed"). Identical change sets proceed as reviewed; any difference, or
no reviewed change set at all, needs an explicit approval. A plan with no change needs nothing.

Only addresses and actions are compared: values a refresh reads (timestamps, etags) differ
between two plans of the same change, and sensitive values must not leave the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.plan_summary.model import FORGET, SUMMARISED_KINDS, Plan, PlanError

FORMAT = 1
Entry = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class ChangeSet:
    """Addresses and actions of the resource and output changes of one stack's plan."""

    stack: str
    resources: tuple[Entry, ...]
    outputs: tuple[Entry, ...]

    @classmethod
    def of(cls, stack: str, plan: Plan) -> ChangeSet:
        changed = [
            rc
            for rc in plan.resource_changes
            if rc.kind in (*SUMMARISED_KINDS, FORGET) or rc.importing is not None
        ]
        return cls(
            stack=stack,
            # An import is an action of its own: a plan that newly imports differs.
            resources=tuple(
                sorted(
                    (rc.address, (*rc.actions, "import") if rc.importing else rc.actions)
                    for rc in changed
                )
            ),
            outputs=tuple(sorted((oc.name, oc.actions) for oc in plan.changed_outputs)),
        )

    @property
    def empty(self) -> bool:
        return not self.resources and not self.outputs

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "stack": self.stack,
            "resources": [[address, list(actions)] for address, actions in self.resources],
            "outputs": [[name, list(actions)] for name, actions in self.outputs],
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> ChangeSet:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PlanError(f"{where}: not a change set of format {FORMAT}")
        stack = data.get("stack")
        if not isinstance(stack, str):
            raise PlanError(f"{where}: no stack name")
        return cls(
            stack=stack,
            resources=_entries(data.get("resources"), f"{where}: resources"),
            outputs=_entries(data.get("outputs"), f"{where}: outputs"),
        )


def _entries(raw: Any, where: str) -> tuple[Entry, ...]:
    if not isinstance(raw, list):
        raise PlanError(f"{where} is not a list")
    out: list[Entry] = []
    for item in raw:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], list)
            or not all(isinstance(a, str) for a in item[1])
        ):
            raise PlanError(f"{where} holds an entry that is not [address, [actions]]")
        out.append((item[0], tuple(item[1])))
    return tuple(sorted(out))


def load(path: Path) -> ChangeSet:
    from tools.safe_input import InputError, read_json

    try:
        data = read_json(path, "change set")
    except InputError as exc:
        raise PlanError(str(exc)) from None
    return ChangeSet.from_json(data, str(path))


@dataclass(frozen=True)
class Difference:
    """What the current plan does that the reviewed one did not, and the reverse."""

    only_now: tuple[str, ...]
    only_reviewed: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.only_now and not self.only_reviewed


def _lines(change_set: ChangeSet) -> set[str]:
    return {f"{' '.join(actions)} {address}" for address, actions in change_set.resources} | {
        f"{' '.join(actions)} output {name}" for name, actions in change_set.outputs
    }


def compare(reviewed: ChangeSet, current: ChangeSet) -> Difference:
    """Both directions, one line per address and action ("delete create azurerm_x.y")."""
    before, now = _lines(reviewed), _lines(current)
    return Difference(
        only_now=tuple(sorted(now - before)), only_reviewed=tuple(sorted(before - now))
    )
