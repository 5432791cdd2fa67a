"""The ``promote`` step: move alias ``champion`` to a validated version, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.registry import (
    CHALLENGER,
    CHAMPION,
    GATE_STATUS_TAG,
    resolve_version,
    version_by_alias,
)

REPLACED_TAG = "replaced_champion_version"
SUPERSEDED_TAG = "superseded_by_version"


@dataclass(frozen=True)
class PromotionResult:
    """Which version is champion now, which one it replaced, and whether anything changed."""

    model_name: str
    champion_version: str
    previous_champion_version: str | None
    changed: bool


def promote(
    client: MlflowClient,
    model_name: str,
    model_version: str | None = None,
    require_gate_pass: bool = True,
) -> PromotionResult:
    """Point ``@champion`` at ``model_version`` (default: the ``@challenger`` version).

    Refuses a version whose ``gate_status`` tag is not ``passed`` unless
    ``require_gate_pass`` is false. Re-running with the current champion changes nothing.
    The new champion is tagged with the version it replaced (``none`` for the first one) and
    the replaced version with the version that superseded it.
    """
    candidate = resolve_version(client, model_name, model_version, CHALLENGER)
    version = str(candidate.version)
    if require_gate_pass and candidate.tags.get(GATE_STATUS_TAG) != "passed":
        raise PipelineError(
            f"{model_name} v{version} has {GATE_STATUS_TAG}="
            f"{candidate.tags.get(GATE_STATUS_TAG, 'unset')}; run taxi-fare-evaluate first"
        )
    current = version_by_alias(client, model_name, CHAMPION)
    previous = str(current.version) if current is not None else None
    if current is not None and previous == version:
        replaced = current.tags.get(REPLACED_TAG)
        replaced = None if replaced in (None, "none") else replaced
        return PromotionResult(model_name, version, replaced, changed=False)

    client.set_model_version_tag(model_name, version, REPLACED_TAG, previous or "none")
    client.set_model_version_tag(
        model_name, version, "promoted_at", datetime.now(UTC).isoformat(timespec="seconds")
    )
    client.set_registered_model_alias(model_name, CHAMPION, version)
    if previous is not None:
        client.set_model_version_tag(model_name, previous, SUPERSEDED_TAG, version)
    return PromotionResult(model_name, version, previous, changed=True)
