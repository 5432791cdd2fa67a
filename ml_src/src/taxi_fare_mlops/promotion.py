"""The ``promote`` step: move ``champion`` to a validated version, idempotently.

Decisions, in order:

0. no version was ever trained (a new deployment whose first training had no data): nothing
   to promote, an expected state;
1. the candidate already is the champion: nothing to do (a retry after success lands here);
2. the gate rejected it: **not promoted**, the step succeeds (a rejection is an expected
   outcome, so the job run ends green and its output says "not promoted");
3. it was never evaluated, or the verdict was made against another champion than the current
   one: refused with an error, because that verdict says nothing about the current champion;
4. otherwise ``champion`` moves to it, and both versions are tagged with the hand-over.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.registry import (
    CHALLENGER,
    CHAMPION,
    GATE_VERDICT_TAG,
    NO_VERSION,
    GateVerdict,
    ModelRegistry,
)

REPLACED_TAG = "replaced_champion_version"
SUPERSEDED_TAG = "superseded_by_version"


@dataclass(frozen=True)
class PromotionResult:
    """What promote decided: the candidate, the champion afterwards, and why."""

    model_name: str
    candidate_version: str | None
    champion_version: str | None
    previous_champion_version: str | None
    promoted: bool
    """The candidate is the champion now (whether or not this run moved the pointer)."""
    changed: bool
    """This run moved the pointer."""
    reason: str

    @property
    def status(self) -> str:
        """``promoted``, ``unchanged``, ``rejected`` or ``no_challenger``."""
        if self.candidate_version is None:
            return "no_challenger"
        if self.changed:
            return "promoted"
        return "unchanged" if self.promoted else "rejected"


def promote(
    registry: ModelRegistry,
    model_version: str | None = None,
    require_gate_pass: bool = True,
) -> PromotionResult:
    """Point ``champion`` at ``model_version`` (default: the ``challenger`` version).

    ``require_gate_pass=False`` skips the verdict checks (a deliberate manual override).
    """
    name = registry.model_name
    candidate = registry.version(model_version) if model_version else registry.pointed(CHALLENGER)
    current = registry.pointed(CHAMPION)
    previous = str(current.version) if current is not None else None
    if candidate is None:
        return PromotionResult(
            name, None, previous, previous, False, False, "no challenger: nothing trained yet"
        )
    version = str(candidate.version)
    if previous == version:
        replaced = current.tags.get(REPLACED_TAG) if current is not None else None
        replaced = None if replaced in (None, NO_VERSION) else replaced
        return PromotionResult(
            name, version, version, replaced, True, False, f"v{version} already is champion"
        )

    if require_gate_pass:
        verdict = GateVerdict.from_tags(dict(candidate.tags))
        if verdict is None:
            raise PipelineError(
                f"{name} v{version} has no {GATE_VERDICT_TAG} tag (never evaluated); "
                "run taxi-fare-evaluate first"
            )
        if verdict.status != "passed":
            reason = f"not promoted: the gate rejected v{version}"
            print(reason, file=sys.stderr)
            return PromotionResult(name, version, previous, previous, False, False, reason)
        if verdict.champion != (previous or NO_VERSION):
            raise PipelineError(
                f"{name} v{version} passed the gate against champion "
                f"{verdict.champion}, but the champion now is {previous or NO_VERSION}; "
                "run taxi-fare-evaluate again against the current champion"
            )

    registry.tag_version(version, REPLACED_TAG, previous or NO_VERSION)
    registry.tag_version(version, "promoted_at", datetime.now(UTC).isoformat(timespec="seconds"))
    registry.point(CHAMPION, version)
    if previous is not None:
        registry.tag_version(previous, SUPERSEDED_TAG, version)
    return PromotionResult(name, version, version, previous, True, True, "promoted")
