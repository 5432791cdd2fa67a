"""End to end on local Spark and a SQLite MLflow: the initial training, two scoring windows
(the second with drifted trips), and the retry, rerun and exit-status behaviour on top."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from taxi_fare_mlops import cli
from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources
from taxi_fare_mlops.evaluation import run_evaluation
from taxi_fare_mlops.local_pipeline import (
    EXPERIMENT,
    INFERENCE_TABLE,
    METRICS_TABLE,
    MODEL,
    LocalRunConfig,
    run_local_pipeline,
)
from taxi_fare_mlops.platform import LocalJobTrigger, local_platform
from taxi_fare_mlops.promotion import promote
from taxi_fare_mlops.registry import CHAMPION, GATE_CHAMPION_TAG, GATE_STATUS_TAG
from taxi_fare_mlops.retrain import run_retrain
from taxi_fare_mlops.scoring import run_scoring
from taxi_fare_mlops.training import TrainingConfig, run_training
from taxi_fare_mlops.windows import Window

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-ml")


@pytest.fixture(scope="module")
def runs(spark: SparkSession, workdir: Path):
    platform = local_platform(spark, workdir)
    config = LocalRunConfig(
        workdir=workdir,
        rows=4_000,
        start=datetime(2016, 1, 1),
        train_days=7,
        score_days=2,
        windows=2,
        drift=0.8,
    )
    return platform, run_local_pipeline(config, platform)


def sources(platform) -> DataSources:
    return DataSources(
        trips=platform.table_name("raw_trips"),
        pickup_features=platform.table_name("trip_pickup_features"),
        dropoff_features=platform.table_name("trip_dropoff_features"),
    )


def window_frame(platform, window: Window):
    return (
        platform.tables.read(platform.table_name(INFERENCE_TABLE))
        .filter((F.col(c.REQUEST_TIME) >= window.start) & (F.col(c.REQUEST_TIME) < window.end))
        .drop(c.SCORED_AT)
        .toPandas()
        .sort_values([c.REQUEST_TIME, c.DROPOFF_TS, c.TRIP_DISTANCE, c.PICKUP_ZIP])
        .reset_index(drop=True)
    )


def test_initial_training_promotes_the_first_model(runs) -> None:
    _, summary = runs
    assert summary.initial.training.model_version == "1"
    assert summary.initial.gate.passed
    assert summary.initial.promotion.changed and summary.initial.promotion.champion_version == "1"
    assert summary.initial.training.metrics["holdout_r2"] > 0.8


def test_each_window_is_scored_once_despite_the_retry(runs) -> None:
    _, summary = runs
    for run in summary.windows:
        assert run.rows_scored > 200
        assert run.rows_in_table == run.rows_scored  # scored twice, stored once
        assert run.duplicates == 0


def test_stable_window_keeps_the_champion_and_drifted_window_signals_retrain(runs) -> None:
    platform, summary = runs
    stable, drifted = summary.windows
    assert not stable.monitoring.retrain and not stable.retrain.retrain
    assert stable.retrain.pipeline_run_id is None
    assert drifted.monitoring.retrain and drifted.retrain.retrain
    assert drifted.monitoring.feature_psi[c.TRIP_DISTANCE] > 0.2
    # The trigger went to the pipeline job exactly once for the drifted window.
    triggered = LocalJobTrigger(Path(platform.tables.root).parent / "triggered_runs.jsonl").runs()
    assert [t["run_id"] for t in triggered] == [drifted.retrain.pipeline_run_id]


def test_every_pipeline_run_records_the_champion_it_was_gated_against(runs) -> None:
    platform, summary = runs
    client = platform.client()
    model_name = platform.model_name(MODEL)
    for run in [summary.initial, *(w.pipeline for w in summary.windows)]:
        tags = client.get_model_version(model_name, run.training.model_version).tags
        assert tags[GATE_STATUS_TAG] == ("passed" if run.gate.passed else "rejected")
        assert tags[GATE_CHAMPION_TAG] == run.gate.context["champion_version"]
        assert run.promotion.promoted == run.gate.passed


def test_scoring_the_same_window_again_leaves_the_same_rows(runs) -> None:
    platform, summary = runs
    window = summary.windows[0].window
    before = window_frame(platform, window)
    run_scoring(
        platform,
        sources(platform),
        platform.model_name(MODEL),
        platform.table_name(INFERENCE_TABLE),
        window,
    )
    after = window_frame(platform, window)
    assert len(after) == len(before) > 0
    # The champion may have changed since: the rows are the same trips, scored once each.
    trip = [c.REQUEST_TIME, c.DROPOFF_TS, *c.MODEL_FEATURES, c.LABEL]
    assert after[trip].equals(before[trip])


def test_training_retry_with_the_same_run_key_registers_no_second_version(runs) -> None:
    platform, _ = runs
    model_name = platform.model_name(MODEL)
    window = Window(datetime(2016, 1, 1, 5, tzinfo=UTC), datetime(2016, 1, 8, 5, tzinfo=UTC))
    count = len(platform.client().search_model_versions(f"name='{model_name}'"))
    first = run_training(
        platform, sources(platform), model_name, EXPERIMENT, window, TrainingConfig(), "run-77"
    )
    retry = run_training(
        platform, sources(platform), model_name, EXPERIMENT, window, TrainingConfig(), "run-77"
    )
    assert retry.reused and retry.model_version == first.model_version
    assert len(platform.client().search_model_versions(f"name='{model_name}'")) == count + 1


def test_identical_model_is_not_promoted(runs) -> None:
    platform, _ = runs
    model_name = platform.model_name(MODEL)
    registry = platform.registry(model_name)
    champion = registry.pointed(CHAMPION)
    params = platform.client().get_run(champion.run_id).data.params
    window = Window(
        datetime.fromisoformat(params["start_date"]), datetime.fromisoformat(params["end_date"])
    )
    twin = run_training(platform, sources(platform), model_name, EXPERIMENT, window)
    gate = run_evaluation(platform, sources(platform), model_name, EXPERIMENT, twin.model_version)
    assert gate.metrics["challenger_rmse"] == pytest.approx(gate.metrics["champion_rmse"])
    assert not gate.passed
    decision = promote(registry, twin.model_version)
    assert not decision.promoted
    assert str(registry.pointed(CHAMPION).version) == str(champion.version)


def test_retrain_trigger_retry_starts_one_pipeline_run(runs) -> None:
    platform, summary = runs
    drifted = summary.windows[1]
    metrics = platform.table_name(METRICS_TABLE)
    again = run_retrain(
        platform, metrics, platform.model_name(MODEL), drifted.window, "1", "local-window-2"
    )
    assert again.pipeline_run_id == drifted.retrain.pipeline_run_id
    other_run = run_retrain(
        platform, metrics, platform.model_name(MODEL), drifted.window, "1", "another-job-run"
    )
    assert other_run.pipeline_run_id != drifted.retrain.pipeline_run_id


def test_scoring_a_source_without_fare_amount(runs, spark: SparkSession) -> None:
    platform, summary = runs
    window = summary.windows[0].window
    no_fares = platform.table_name("trips_without_fares")
    platform.tables.overwrite(no_fares, platform.tables.read(sources(platform).trips).drop(c.LABEL))
    result = run_scoring(
        platform,
        DataSources(no_fares, *list(vars(sources(platform)).values())[1:]),
        platform.model_name(MODEL),
        platform.table_name("inference_without_fares"),
        window,
    )
    assert result.rows > 0 and result.labeled_rows == 0
    scored = platform.tables.read(platform.table_name("inference_without_fares")).toPandas()
    assert scored[c.LABEL].isna().all() and scored[c.PREDICTION].notna().all()


def test_local_runs_and_the_cli_use_one_experiment(runs) -> None:
    platform, _ = runs
    assert EXPERIMENT == cli.DEFAULT_EXPERIMENT
    names = [e.name for e in platform.client().search_experiments()]
    assert names.count(cli.DEFAULT_EXPERIMENT) == 1


def run_cli(main, workdir: Path, *args: str) -> int:
    try:
        return main(["--runtime=local", f"--local-dir={workdir}", *args])
    except SystemExit as exc:
        return int(exc.code)


def test_gate_rejection_is_an_expected_outcome(
    runs, workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    platform, _ = runs
    # Train a fresh challenger, then make the gate reject it with an impossible range.
    assert run_cli(cli.train_main, workdir, "--end-date=2016-01-08T05:00", "--window-days=7") == 0
    capsys.readouterr()
    assert run_cli(cli.evaluate_main, workdir, "--max-prediction=1") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["result"]["verdict"] == "rejected"
    assert "predictions_in_range" in captured.err
    champion_before = platform.registry(platform.model_name(MODEL)).pointed(CHAMPION).version
    assert run_cli(cli.promote_main, workdir) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out.splitlines()[-1])["result"]
    assert out["promoted"] is False and "not promoted" in captured.err
    champion_after = platform.registry(platform.model_name(MODEL)).pointed(CHAMPION).version
    assert champion_after == champion_before
