"""End to end: the local pipeline twice (second time with drifted traffic) and the CLI on top."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from mlflow import MlflowClient
from pyspark.sql import SparkSession

from taxi_fare_mlops import cli
from taxi_fare_mlops import columns as c
from taxi_fare_mlops.local_pipeline import MODEL, LocalRunConfig, run_local_pipeline
from taxi_fare_mlops.platform import local_platform
from taxi_fare_mlops.registry import CHAMPION, GATE_STATUS_TAG

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-ml")


@pytest.fixture(scope="module")
def runs(spark: SparkSession, workdir: Path):
    platform = local_platform(spark, workdir)
    base = {"workdir": workdir, "rows": 4_000, "start": datetime(2016, 1, 1), "train_days": 7}
    first = run_local_pipeline(LocalRunConfig(**base, score_days=2), platform)
    second = run_local_pipeline(LocalRunConfig(**base, score_days=2, drift=0.8), platform)
    return platform, first, second


def test_first_run_trains_gates_promotes_scores_and_monitors(runs) -> None:
    platform, first, _ = runs
    assert first.train_rows == 4_000
    assert first.model_version == "1"
    assert first.gate_passed, first.gate_failures
    assert first.promoted and first.champion_version == "1"
    assert first.metrics["holdout_r2"] > 0.8
    assert first.metrics["holdout_rmse"] < 4.0
    assert first.monitoring is not None
    assert not first.monitoring.retrain, first.monitoring.reasons
    assert first.monitoring.rows == first.score_rows


def test_second_run_promotes_only_after_gate_and_flags_drift(runs) -> None:
    platform, first, second = runs
    client = MlflowClient(tracking_uri=platform.tracking_uri, registry_uri=platform.registry_uri)
    model_name = platform.model_name(MODEL)
    assert second.model_version == "2"
    assert second.gate_passed  # same training data and seed: equal to the champion
    assert second.champion_version == "2" and second.promoted
    assert client.get_model_version(model_name, "2").tags["replaced_champion_version"] == "1"
    assert client.get_model_version(model_name, "2").tags[GATE_STATUS_TAG] == "passed"
    assert second.monitoring is not None and second.monitoring.retrain
    assert second.monitoring.feature_psi[c.TRIP_DISTANCE] > 0.2
    assert (
        second.monitoring.feature_psi[c.TRIP_DISTANCE]
        > 10 * (first.monitoring.feature_psi[c.TRIP_DISTANCE])
    )


def test_inference_and_metrics_tables(runs) -> None:
    platform, first, second = runs
    inference = platform.tables.read(platform.table_name("taxi_fare_inference")).toPandas()
    assert len(inference) == first.score_rows + second.score_rows
    assert set(inference[c.MODEL_VERSION]) == {"1", "2"}
    assert inference[c.PREDICTION].notna().all()
    assert {c.REQUEST_TIME, c.LABEL, c.SCORED_AT, *c.MODEL_FEATURES} <= set(inference.columns)
    metrics = platform.tables.read(platform.table_name("taxi_fare_monitoring")).toPandas()
    retrain = metrics[metrics["metric"] == "retrain"].sort_values("computed_at")
    assert retrain["breached"].tolist() == [False, True]


def run_cli(main, workdir: Path, *args: str) -> int:
    return main(["--runtime=local", f"--local-dir={workdir}", *args])


def test_cli_steps_and_exit_codes(runs, workdir: Path, capsys: pytest.CaptureFixture) -> None:
    platform, *_ = runs
    # Promoting the current champion again is a no-op.
    assert run_cli(cli.promote_main, workdir) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["result"]["changed"] is False and out["result"]["champion_version"] == "2"

    # An impossible prediction range makes the gate reject: exit code 3 and a clear message.
    assert run_cli(cli.evaluate_main, workdir, "--max-prediction=1") == 3
    assert "predictions_in_range" in capsys.readouterr().err
    client = MlflowClient(tracking_uri=platform.tracking_uri, registry_uri=platform.registry_uri)
    assert client.get_model_version(platform.model_name(MODEL), "2").tags[GATE_STATUS_TAG] == (
        "rejected"
    )
    assert run_cli(cli.promote_main, workdir) == 1  # the rejected challenger is refused
    assert "gate_status=rejected" in capsys.readouterr().err

    # Drifted traffic of the second run: monitoring asks for retraining with exit code 4.
    assert run_cli(cli.monitor_main, workdir, "--start-date=2016-01-08") == 4
    assert "retrain needed" in capsys.readouterr().err
    champion = client.get_model_version_by_alias(platform.model_name(MODEL), CHAMPION)
    assert str(champion.version) == "2"


def test_cli_rejects_bad_arguments(workdir: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.train_main(["--start-date=yesterday"])
    assert exc.value.code == 2
