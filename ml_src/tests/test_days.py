"""A new deployment's first days through the entry points (as the wheel task launcher calls
them), on replayed data: the first run's expected states, the first champion, daily scoring,
late labels, monitoring per model version, a retry of every step, out-of-order windows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from steps import MONDAY, StepRun, day, run_step
from taxi_fare_mlops import cli
from taxi_fare_mlops import columns as c
from taxi_fare_mlops.local_pipeline import write_sample
from taxi_fare_mlops.platform import local_platform
from taxi_fare_mlops.registry import CHAMPION, GATE_VERDICT_TAG

pytestmark = pytest.mark.spark
MODEL = "main.taxi_fare.taxi_example_fare_packaged"
INFERENCE = "main.taxi_fare.taxi_fare_inference"
METRICS = "main.taxi_fare.taxi_fare_monitoring"
LANDING = "main.taxi_fare.trips_landing"


class Deployment:
    """One local work directory, driven step by step like the jobs drive it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.runs: list[StepRun] = []

    def step(self, main, *args: str) -> StepRun:
        run = run_step(main, self.workdir, *args)
        self.runs.append(run)
        assert run.code == 0, run.out
        return run

    def replay(self, end: str) -> StepRun:
        return self.step(cli.replay_main, f"--end-date={end}", "--window-days=1")

    def ml_pipeline(self, end: str, run_key: str) -> dict[str, StepRun]:
        window = [f"--end-date={end}", "--window-days=28", f"--run-key={run_key}"]
        return {
            "featurize": self.step(cli.featurize_main, *window),
            "train": self.step(cli.train_main, *window),
            "evaluate": self.step(cli.evaluate_main, *window),
            "promote": self.step(cli.promote_main, *window, "--require-gate=true"),
        }

    def batch_inference(self, end: str) -> dict[str, StepRun]:
        window = [f"--end-date={end}", "--window-days=1"]
        return {
            "featurize": self.step(cli.featurize_main, *window),
            "score": self.step(cli.score_main, *window),
        }

    def monitoring(self, end: str) -> dict[str, StepRun]:
        window = [f"--end-date={end}", "--window-days=1"]
        return {
            "label": self.step(cli.label_main, *window, "--label-lookback-days=7"),
            "monitor": self.step(cli.monitor_main, *window),
        }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    workdir = tmp_path_factory.mktemp("deployment")
    write_sample(workdir, rows=9_000, seed=11)
    return Deployment(workdir)


@pytest.fixture(scope="module")
def first_run(deployment: Deployment) -> dict[str, dict[str, StepRun]]:
    """Day one is a Sunday before the replay ever ran: nothing to featurize, train, score."""
    sunday = day(-1)
    return {
        "ml_pipeline": deployment.ml_pipeline(sunday, "run-0"),
        "batch_inference": deployment.batch_inference(sunday),
        "monitoring": deployment.monitoring(sunday),
    }


@pytest.fixture(scope="module")
def days(deployment: Deployment, first_run) -> dict[str, dict[str, dict[str, StepRun]]]:
    """Monday: replay (backfill), ml_pipeline, batch_inference (and a retry of score),
    monitoring; Tuesday: replay, batch_inference, monitoring."""
    out: dict[str, dict[str, dict[str, StepRun]]] = {}
    for offset in range(2):
        end = day(offset)
        jobs: dict[str, dict[str, StepRun]] = {"replay": {"replay": deployment.replay(end)}}
        if offset == 0:
            jobs["ml_pipeline"] = deployment.ml_pipeline(end, "run-1")
        jobs["batch_inference"] = deployment.batch_inference(end)
        if offset == 0:  # a retry of the score task: the window is replaced, not appended to
            jobs["retry"] = {
                "score": deployment.step(cli.score_main, f"--end-date={end}", "--window-days=1")
            }
        jobs["monitoring"] = deployment.monitoring(end)
        out[end] = jobs
    return out


def table(spark: SparkSession, deployment: Deployment, name: str) -> pd.DataFrame:
    return spark.read.parquet(
        str(deployment.workdir / "tables" / Path(*name.split(".")))
    ).toPandas()


def test_a_new_deployment_ends_every_step_green_and_records_why(
    spark: SparkSession, deployment: Deployment, first_run
) -> None:
    statuses = {
        (job, step): run.status for job, steps in first_run.items() for step, run in steps.items()
    }
    assert statuses == {
        ("ml_pipeline", "featurize"): "no_data",
        ("ml_pipeline", "train"): "no_data",
        ("ml_pipeline", "evaluate"): "no_challenger",
        ("ml_pipeline", "promote"): "no_challenger",
        ("batch_inference", "featurize"): "no_data",
        ("batch_inference", "score"): "no_champion",
        ("monitoring", "label"): "no_data",
        ("monitoring", "monitor"): "no_data",
    }
    assert first_run["batch_inference"]["score"].result["champion_version"] is None
    assert first_run["monitoring"]["monitor"].result["verdict"] == "no_data"
    states = table(spark, deployment, METRICS)
    recorded = states.loc[states["metric"] == "state"].set_index("feature")["note"].to_dict()
    assert recorded["score"].startswith("no_champion:")
    assert recorded["train"].startswith("no_data:")
    assert recorded["featurize"].startswith("no_data:")
    assert recorded["evaluate"].startswith("no_challenger:")
    verdict = states.loc[states["metric"] == "retrain"]
    assert list(verdict["feature"]) == ["no_data"] and not verdict["breached"].any()


def test_the_first_training_sets_the_first_champion(days) -> None:
    monday = days[day(0)]
    assert monday["replay"]["replay"].result["rows"] > 28 * 100  # the backfill
    pipeline = monday["ml_pipeline"]
    assert pipeline["train"].result["model_version"] == "1"
    assert pipeline["evaluate"].status == "passed"
    assert pipeline["promote"].status == "promoted"
    assert pipeline["promote"].result["champion_version"] == "1"


def test_every_day_is_scored_once_despite_the_retry(spark: SparkSession, deployment, days) -> None:
    inference = table(spark, deployment, INFERENCE)
    for end, jobs in days.items():
        score = jobs["batch_inference"]["score"].result
        assert score["status"] == "ok" and score["rows_scored"] > 100, end
        assert score["duplicates"] == 0
        if "retry" in jobs:
            assert jobs["retry"]["score"].result["duplicates"] == 0
            assert jobs["retry"]["score"].result["rows_scored"] == score["rows_scored"]
    assert inference[c.TRIP_ID].is_unique
    assert len(inference) == sum(
        j["batch_inference"]["score"].result["rows_scored"] for j in days.values()
    )


def test_labels_arrive_after_scoring(spark: SparkSession, deployment, days) -> None:
    for jobs in days.values():
        assert jobs["monitoring"]["label"].result["rows"] > 0  # the score left them empty
    inference = table(spark, deployment, INFERENCE)
    landing = table(spark, deployment, LANDING).set_index(c.TRIP_ID)[c.LABEL]
    assert inference[c.LABEL].notna().all()
    assert (
        inference.set_index(c.TRIP_ID)[c.LABEL] == landing.reindex(inference[c.TRIP_ID]).values
    ).all()


def test_a_label_that_arrives_late_is_filled_in_by_a_later_run(
    spark: SparkSession, deployment, days
) -> None:
    platform = local_platform(spark, deployment.workdir)
    end = day(1)
    late = platform.tables.read(INFERENCE).filter(F.col(c.REQUEST_TIME) >= F.lit(day(0)))
    keys = [r[0] for r in late.select(c.TRIP_ID).limit(5).collect()]
    erased = platform.tables.read(INFERENCE).withColumn(
        c.LABEL, F.when(F.col(c.TRIP_ID).isin(keys), None).otherwise(F.col(c.LABEL))
    )
    platform.tables.overwrite(INFERENCE, erased)
    run = deployment.step(cli.label_main, f"--end-date={end}", "--label-lookback-days=7")
    assert run.result["rows"] == 5
    again = deployment.step(cli.label_main, f"--end-date={end}", "--label-lookback-days=7")
    assert again.result["rows"] == 0  # labels are never overwritten
    assert table(spark, deployment, INFERENCE)[c.LABEL].notna().all()


def test_each_day_gets_a_verdict_recorded_once(spark: SparkSession, deployment, days) -> None:
    metrics = table(spark, deployment, METRICS)
    verdicts = metrics.loc[metrics["metric"] == "retrain"]
    for end, jobs in days.items():
        monitor = jobs["monitoring"]["monitor"].result
        assert monitor["verdict"] in ("stable", "retrain"), monitor
        assert monitor["champion_version"] == "1"
        rows = verdicts.loc[pd.to_datetime(verdicts["window_end"]).dt.date.astype(str) == end]
        assert len(rows) == 1, end


def test_a_window_scored_by_an_earlier_version_is_monitored_against_its_baseline(
    spark: SparkSession, deployment, days
) -> None:
    platform = local_platform(spark, deployment.workdir)
    registry = platform.registry(MODEL)
    # A second version becomes champion (forced), after day 1 was scored by v1.
    twin = deployment.step(
        cli.train_main, f"--end-date={day(1)}", "--window-days=28", "--run-key=twin",
        "--num-boost-round=20",
    )  # fmt: skip
    deployment.step(
        cli.promote_main, f"--model-version={twin.result['model_version']}", "--require-gate=false"
    )
    assert str(registry.pointed(CHAMPION).version) == twin.result["model_version"]
    run = deployment.step(cli.monitor_main, f"--end-date={day(0)}", "--window-days=1")
    assert run.result["rows"] > 100 and run.result["verdict"] != "no_data"
    detail = json.loads(next(line for line in run.out.splitlines() if line.startswith("{")))[
        "result"
    ]
    assert sorted(detail["versions"]) == ["1"]
    assert detail["versions"]["1"]["skipped"] is False
    assert (
        detail["versions"]["1"]["feature_psi"][c.TRIP_DISTANCE] < 0.2
    )  # against v1's own baseline
    # Scored now by v2, the next day is monitored against v2's baseline, in the same window.
    deployment.step(cli.score_main, f"--end-date={day(1)}", "--window-days=1")
    deployment.step(cli.label_main, f"--end-date={day(1)}")
    mixed = deployment.step(cli.monitor_main, f"--end-date={day(1)}", "--window-days=2")
    detail = json.loads(next(line for line in mixed.out.splitlines() if line.startswith("{")))[
        "result"
    ]
    assert sorted(detail["versions"]) == ["1", twin.result["model_version"]]
    metrics = table(spark, deployment, METRICS)
    starts = pd.to_datetime(metrics["window_start"]).dt.date.astype(str)
    psi = metrics.loc[(metrics["metric"] == "psi") & (starts == day(-1))]
    assert set(psi[c.MODEL_VERSION]) == {"1", twin.result["model_version"]}


def test_out_of_order_windows_give_the_same_scores(spark: SparkSession, deployment, days) -> None:
    """Score day 4 before day 3 was ever featurized, then featurize day 3 (which rewrites the
    feature windows day 4's first trips look up) and score day 4 again: same predictions."""
    d3, d4 = day(3), day(4)
    deployment.replay(d4)  # lands days 2 to 4 (the missing history included)
    deployment.step(cli.featurize_main, f"--end-date={d4}", "--window-days=1")
    first = deployment.step(cli.score_main, f"--end-date={d4}", "--window-days=1")
    since = pd.Timestamp(day(3))
    before = table(spark, deployment, INFERENCE)
    before = before.loc[pd.to_datetime(before[c.REQUEST_TIME]) >= since]
    deployment.step(cli.featurize_main, f"--end-date={d3}", "--window-days=1")
    second = deployment.step(cli.score_main, f"--end-date={d4}", "--window-days=1")
    after = table(spark, deployment, INFERENCE)
    after = after.loc[pd.to_datetime(after[c.REQUEST_TIME]) >= since]
    assert first.result["rows_scored"] == second.result["rows_scored"] > 100
    merged = before.merge(after, on=c.TRIP_ID, suffixes=("_first", "_second"))
    assert len(merged) == len(before)
    for name in (*c.MODEL_FEATURES, c.PREDICTION):
        assert merged[f"{name}_first"].equals(merged[f"{name}_second"]), name


def test_a_training_retry_returns_the_version_of_its_first_attempt(deployment, days) -> None:
    """The same job run (the same {{job.run_id}}) trained version 1 already: no second one."""
    retry = deployment.step(
        cli.train_main, f"--end-date={day(0)}", "--window-days=28", "--run-key=run-1"
    )
    assert (retry.status, retry.result["model_version"]) == ("ok", "1")
    assert '"reused": true' in retry.out


def test_the_verdict_is_one_tag_and_names_the_champion(
    spark: SparkSession, deployment, days
) -> None:
    client = local_platform(spark, deployment.workdir).client()
    tags = client.get_model_version(MODEL, "1").tags
    assert json.loads(tags[GATE_VERDICT_TAG])["status"] == "passed"
    assert json.loads(tags[GATE_VERDICT_TAG])["champion"] == "none"
    assert not any(k.startswith("gate_") and k != GATE_VERDICT_TAG for k in tags)


def test_every_step_printed_its_result_line_last(deployment, days) -> None:
    for run in deployment.runs:
        last = [line for line in run.out.splitlines() if line.strip()][-1]
        assert last.startswith("taxi-fare-result: {") and run.result["step"]
    assert {r.result["step"] for r in deployment.runs} >= {
        "replay",
        "featurize",
        "train",
        "evaluate",
        "promote",
        "score",
        "label",
        "monitor",
    }
    assert MONDAY.weekday() == 0


def test_quality_monitor_drift_feeds_the_retrain_decision(
    spark: SparkSession, deployment, days
) -> None:
    """Lakehouse Monitoring's baseline drift of the window (its drift metrics table) breaches:
    the verdict says retrain, with the quality monitor named as the reason."""
    from datetime import UTC, datetime

    platform = local_platform(spark, deployment.workdir)
    champion = str(platform.registry(MODEL).pointed(CHAMPION).version)
    start, end = (datetime.fromisoformat(day(k)).replace(tzinfo=UTC) for k in (0, 1))
    drift = spark.createDataFrame(
        [((start, end), "BASELINE", c.TRIP_DISTANCE, 0.9, champion, None)],
        "window struct<start:timestamp,end:timestamp>, drift_type string, column_name string,"
        " population_stability_index double, model_version string, slice_key string",
    )
    platform.tables.overwrite(INFERENCE + "_drift_metrics", drift)
    # The window of day 1 was scored by the champion (v1, or the version promoted above).
    run = deployment.step(cli.monitor_main, f"--end-date={day(1)}", "--window-days=1")
    metrics = table(spark, deployment, METRICS)
    verdict = metrics.loc[(metrics["metric"] == "retrain") & (metrics["breached"])]
    assert any("quality monitor PSI(trip_distance)=0.900" in (n or "") for n in verdict["note"])
    assert run.result["verdict"] == "retrain"
