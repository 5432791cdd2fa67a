from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.promotion import REPLACED_TAG, SUPERSEDED_TAG, promote
from taxi_fare_mlops.registry import CHALLENGER, CHAMPION, GATE_STATUS_TAG

MODEL = "main.taxi_fare.taxi_fare_regressor"


@pytest.fixture
def client(tmp_path: Path) -> MlflowClient:
    """A real MLflow registry on SQLite, private to the test."""
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = MlflowClient(tracking_uri=uri, registry_uri=uri)
    registry.create_registered_model(MODEL)
    return registry


def new_version(client: MlflowClient, tmp_path: Path, gate_status: str | None) -> str:
    existing = client.search_model_versions(f"name='{MODEL}'")
    source = tmp_path / f"model-{len(existing)}"
    source.mkdir()
    version = client.create_model_version(MODEL, source=source.as_uri()).version
    if gate_status is not None:
        client.set_model_version_tag(MODEL, version, GATE_STATUS_TAG, gate_status)
    client.set_registered_model_alias(MODEL, CHALLENGER, version)
    return str(version)


def champion(client: MlflowClient) -> str:
    return str(client.get_model_version_by_alias(MODEL, CHAMPION).version)


def test_first_promotion_then_idempotent_rerun(client: MlflowClient, tmp_path: Path) -> None:
    v1 = new_version(client, tmp_path, "passed")
    first = promote(client, MODEL)
    assert (first.champion_version, first.previous_champion_version, first.changed) == (
        v1,
        None,
        True,
    )
    assert champion(client) == v1
    assert client.get_model_version(MODEL, v1).tags[REPLACED_TAG] == "none"

    again = promote(client, MODEL)
    assert (again.champion_version, again.previous_champion_version, again.changed) == (
        v1,
        None,
        False,
    )
    assert champion(client) == v1


def test_promotion_moves_alias_and_records_replaced_version(
    client: MlflowClient, tmp_path: Path
) -> None:
    v1 = new_version(client, tmp_path, "passed")
    promote(client, MODEL)
    v2 = new_version(client, tmp_path, "passed")

    result = promote(client, MODEL)
    assert (result.champion_version, result.previous_champion_version) == (v2, v1)
    assert champion(client) == v2
    assert client.get_model_version(MODEL, v2).tags[REPLACED_TAG] == v1
    assert client.get_model_version(MODEL, v1).tags[SUPERSEDED_TAG] == v2

    rerun = promote(client, MODEL, v2)
    assert not rerun.changed and rerun.previous_champion_version == v1
    assert champion(client) == v2


def test_unvalidated_versions_are_refused(client: MlflowClient, tmp_path: Path) -> None:
    v1 = new_version(client, tmp_path, "passed")
    promote(client, MODEL)
    v2 = new_version(client, tmp_path, "rejected")
    v3 = new_version(client, tmp_path, None)
    with pytest.raises(PipelineError, match="gate_status=rejected"):
        promote(client, MODEL, v2)
    with pytest.raises(PipelineError, match="gate_status=unset"):
        promote(client, MODEL, v3)
    assert champion(client) == v1

    forced = promote(client, MODEL, v3, require_gate_pass=False)
    assert forced.changed and champion(client) == v3


def test_missing_challenger_or_version(client: MlflowClient) -> None:
    with pytest.raises(PipelineError, match="no version with alias @challenger"):
        promote(client, MODEL)
    with pytest.raises(PipelineError, match="no version 7"):
        promote(client, MODEL, "7")
