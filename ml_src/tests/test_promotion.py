"""Promotion against a real MLflow registry (SQLite, aliases), one behaviour per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.promotion import REPLACED_TAG, SUPERSEDED_TAG, promote
from taxi_fare_mlops.registry import CHALLENGER, CHAMPION, GateVerdict, ModelRegistry

MODEL = "main.taxi_fare.taxi_fare_regressor"


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """A real MLflow registry on SQLite, private to the test."""
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    return ModelRegistry(client, MODEL, "alias")


def new_version(
    registry: ModelRegistry, tmp_path: Path, gate_status: str | None, against: str | None = None
) -> str:
    """A version as evaluate leaves it: verdict plus the champion it was compared with."""
    client = registry.client
    existing = client.search_model_versions(f"name='{MODEL}'")
    source = tmp_path / f"model-{len(existing)}"
    source.mkdir()
    version = str(client.create_model_version(MODEL, source=source.as_uri()).version)
    if gate_status is not None:
        champion = registry.pointed(CHAMPION)
        compared = against or (str(champion.version) if champion is not None else "none")
        registry.write_verdict(version, GateVerdict(gate_status, compared, "run-1"))
    registry.point(CHALLENGER, version)
    return version


def champion(registry: ModelRegistry) -> str:
    return str(registry.client.get_model_version_by_alias(MODEL, CHAMPION).version)


def test_first_promotion_then_idempotent_rerun(registry: ModelRegistry, tmp_path: Path) -> None:
    v1 = new_version(registry, tmp_path, "passed")
    first = promote(registry)
    assert (first.champion_version, first.previous_champion_version, first.changed) == (
        v1,
        None,
        True,
    )
    assert champion(registry) == v1
    assert registry.client.get_model_version(MODEL, v1).tags[REPLACED_TAG] == "none"

    again = promote(registry)  # a retry after success
    assert (again.promoted, again.changed, again.champion_version) == (True, False, v1)
    assert champion(registry) == v1


def test_promotion_moves_alias_and_records_replaced_version(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    v1 = new_version(registry, tmp_path, "passed")
    promote(registry)
    v2 = new_version(registry, tmp_path, "passed")

    result = promote(registry)
    assert (result.champion_version, result.previous_champion_version) == (v2, v1)
    assert champion(registry) == v2
    assert registry.client.get_model_version(MODEL, v2).tags[REPLACED_TAG] == v1
    assert registry.client.get_model_version(MODEL, v1).tags[SUPERSEDED_TAG] == v2

    rerun = promote(registry, v2)
    assert not rerun.changed and rerun.previous_champion_version == v1
    assert champion(registry) == v2


def test_rejected_version_is_not_promoted_and_is_not_an_error(
    registry: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = new_version(registry, tmp_path, "passed")
    promote(registry)
    v2 = new_version(registry, tmp_path, "rejected")
    result = promote(registry)
    assert (result.candidate_version, result.promoted, result.changed) == (v2, False, False)
    assert result.champion_version == v1 and champion(registry) == v1
    assert "not promoted: the gate rejected v2" in capsys.readouterr().err


def test_unevaluated_version_is_refused(registry: ModelRegistry, tmp_path: Path) -> None:
    v1 = new_version(registry, tmp_path, "passed")
    promote(registry)
    v2 = new_version(registry, tmp_path, None)
    with pytest.raises(PipelineError, match="no gate_verdict tag"):
        promote(registry, v2)
    assert champion(registry) == v1
    forced = promote(registry, v2, require_gate_pass=False)
    assert forced.changed and champion(registry) == v2


def test_verdict_against_another_champion_is_refused(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    new_version(registry, tmp_path, "passed")
    promote(registry)  # v1 champion
    v2 = new_version(registry, tmp_path, "passed")  # gated against v1
    v3 = new_version(registry, tmp_path, "passed")  # gated against v1 as well
    promote(registry, v3)  # champion is v3 now
    with pytest.raises(PipelineError, match="against champion 1, but the champion now is 3"):
        promote(registry, v2)
    assert champion(registry) == v3


def test_no_challenger_yet_is_an_expected_state(registry: ModelRegistry) -> None:
    result = promote(registry)
    assert (result.status, result.candidate_version, result.champion_version) == (
        "no_challenger",
        None,
        None,
    )
    with pytest.raises(PipelineError, match="no version 7"):
        promote(registry, "7")


class CountingClient:
    """An MLflow client that counts tag writes and can fail on the n-th one."""

    def __init__(self, client, fail_on: int | None = None) -> None:
        self._client, self.writes, self.fail_on = client, [], fail_on

    def set_model_version_tag(self, name, version, key, value) -> None:
        self.writes.append(key)
        if self.fail_on is not None and len(self.writes) == self.fail_on:
            raise RuntimeError("the registry went away")
        self._client.set_model_version_tag(name, version, key, value)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_the_verdict_is_one_tag_write(registry: ModelRegistry, tmp_path: Path) -> None:
    v1 = new_version(registry, tmp_path, None)
    counting = CountingClient(registry.client)
    ModelRegistry(counting, MODEL, "alias").write_verdict(v1, GateVerdict("passed", "none", "r"))
    assert counting.writes == ["gate_verdict"]
    tags = registry.client.get_model_version(MODEL, v1).tags
    assert GateVerdict.from_tags(tags) == GateVerdict("passed", "none", "r")


def test_a_failed_verdict_write_leaves_no_verdict_to_promote(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    """The status and the champion it was judged against are one write: a failure cannot leave
    an old "passed" next to a new champion (or the reverse)."""
    v1 = new_version(registry, tmp_path, "passed")
    promote(registry)
    v2 = new_version(registry, tmp_path, "passed")  # passed against v1
    v3 = new_version(registry, tmp_path, None)
    promote(registry, v2)  # champion is v2 now
    failing = ModelRegistry(CountingClient(registry.client, fail_on=1), MODEL, "alias")
    with pytest.raises(RuntimeError):
        failing.write_verdict(v3, GateVerdict("passed", v2, "r"))
    with pytest.raises(PipelineError, match="never evaluated"):
        promote(registry, v3)
    assert champion(registry) == v2 != v1
