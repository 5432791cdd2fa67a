"""Model registry helpers (aliases work the same in Unity Catalog, workspace and SQLite)."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from taxi_fare_mlops.errors import PipelineError

CHALLENGER = "challenger"
CHAMPION = "champion"
GATE_STATUS_TAG = "gate_status"
BASELINE_PROFILE_ARTIFACT = "monitoring/baseline_profile.json"


def version_by_alias(client: MlflowClient, model_name: str, alias: str) -> ModelVersion | None:
    """The version that ``alias`` points to, or ``None`` if the alias (or model) is unset."""
    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def resolve_version(
    client: MlflowClient, model_name: str, version: str | None, alias: str
) -> ModelVersion:
    """An explicit ``version`` if given, else the version behind ``alias``; fails clearly."""
    if version:
        try:
            return client.get_model_version(model_name, str(version))
        except MlflowException as exc:
            raise PipelineError(f"model {model_name} has no version {version}") from exc
    found = version_by_alias(client, model_name, alias)
    if found is None:
        raise PipelineError(f"model {model_name} has no version with alias @{alias}")
    return found
