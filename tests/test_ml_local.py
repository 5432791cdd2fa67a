"""`make ml-local`: the synthesized jobs of the dev workspace stack, run locally over three
consecutive days of replayed data with their own schedules, parameters and windows (issue 20,
section 2). Each wheel task's entry point is loaded from the installed metadata and called as
the wheel task launcher calls it; the notebook runs with a local dbutils; the condition and
run-job tasks decide and start the retrain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from taxi_fare_mlops.local_jobs import (
    JobRun,
    LocalJobRunner,
    firing_times,
    load_stack,
    monday_of,
    read_jobs,
)
from taxi_fare_mlops.local_pipeline import main, run_local_pipeline

pytestmark = [
    pytest.mark.synth,
    pytest.mark.spark,
    # PySpark 3.5 imports distutils (harmless here; ml_src/tests/conftest.py filters it too).
    pytest.mark.filterwarnings("ignore:The distutils package is deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def dev_stack(synth_dir: Path) -> Path:
    return synth_dir / "stacks" / "dev-workspace" / "cdk.tf.json"


@pytest.fixture(scope="module")
def three_days(dev_stack: Path, tmp_path_factory: pytest.TempPathFactory):
    first = monday_of(datetime.now(UTC).date()) - timedelta(days=7)
    return run_local_pipeline(
        dev_stack,
        tmp_path_factory.mktemp("ml-local"),
        days=3,
        first_day=first,
        in_process=True,
        drift=0.8,
        sample_rows=9_000,
    )


def test_the_jobs_are_read_from_the_synthesized_stack(dev_stack: Path) -> None:
    jobs = {job.name: job for job in read_jobs(load_stack(dev_stack)).values()}
    assert sorted(jobs) == [
        "mlops-dev-batch_inference",
        "mlops-dev-ml_pipeline",
        "mlops-dev-monitoring",
        "mlops-dev-replay",
    ]
    monitoring = jobs["mlops-dev-monitoring"]
    assert [t.kind for t in monitoring.tasks] == [
        "python_wheel_task",
        "python_wheel_task",
        "notebook_task",
        "condition_task",
        "run_job_task",
    ]
    monday = monday_of(datetime.now(UTC).date())
    pipeline = jobs["mlops-dev-ml_pipeline"].schedule
    assert [t.hour for t in firing_times(pipeline, monday)] == [2]
    assert firing_times(pipeline, monday + timedelta(days=1)) == []


def test_parameters_are_resolved_as_databricks_would(dev_stack: Path, tmp_path: Path) -> None:
    runner = LocalJobRunner(load_stack(dev_stack), tmp_path)
    job = runner.job_by_name("batch_inference")
    run = JobRun(job.name, "000042", datetime(2026, 3, 2, 5, tzinfo=UTC), {})
    resolved = {k: runner.resolve(v, run, {}) for k, v in job.parameters.items()}
    assert resolved["end-date"] == "2026-03-02"  # {{job.trigger.time.iso_date}}
    assert resolved["run-key"] == "000042"  # {{job.run_id}}
    assert resolved["model-name"] == "mlops_dev.models.taxi_example_fare_packaged"
    assert resolved["experiment-name"] == "/Deployments/mlops-dev/nyc_e2e_mlops"
    assert resolved["source-table"] == "mlops_dev.features.trips_landing"


def test_three_days_score_without_duplicates_with_a_champion_and_a_verdict(three_days) -> None:
    summary = three_days
    assert summary.ok, summary.render()
    assert len(summary.days) == 3
    for report in summary.days:
        assert report.rows_landed and report.rows_landed > 100, report
        assert report.rows_scored and report.rows_scored > 100, report
        assert report.duplicates == 0, report
        assert report.champion_version is not None, report
        assert report.verdict in ("stable", "retrain"), report
    monday = summary.days[0]
    assert monday.jobs == [
        "mlops-dev-replay",
        "mlops-dev-ml_pipeline",
        "mlops-dev-batch_inference",
        "mlops-dev-monitoring",
    ]
    assert monday.rows_landed > 28 * 100  # the first replay backfilled the history
    assert monday.promotions[0] == "v1" and monday.champion_version == "1"
    assert "mlops-dev-ml_pipeline" not in summary.days[1].jobs  # weekly, Mondays


def test_the_drifted_day_starts_one_retrain_through_the_condition(three_days) -> None:
    last = three_days.days[-1]
    assert last.verdict == "retrain"
    assert last.retrain_runs == 1
    assert [d.retrain_runs for d in three_days.days[:-1]] == [0, 0]


def test_the_report_has_one_line_per_day(three_days) -> None:
    lines = [line for line in three_days.render().splitlines() if "duplicates" in line]
    assert len(lines) == 3
    assert all("duplicates  0" in line and "champion v" in line for line in lines)


def test_the_command_line_refuses_no_days(dev_stack: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([f"--stack={dev_stack}", f"--workdir={tmp_path}", "--days=0"])
    assert exc.value.code == 2
