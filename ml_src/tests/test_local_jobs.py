"""The local job runner's reading of synthesized jobs: schedules, references, task order,
notebook task values, conditions and run-job tasks (no Spark: notebooks only)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from taxi_fare_mlops.local_jobs import (
    JobRun,
    LocalJobError,
    LocalJobRunner,
    Schedule,
    firing_times,
    scheduled_runs,
)

NOTEBOOK = b"""# Databricks notebook source
dbutils.jobs.taskValues.set(key="retrain", value=dbutils.widgets.get("answer"))
print("taxi-fare-result: " + '{"step":"verdict","status":"ok"}')
"""


def stack(answer: str) -> dict:
    notebook_path = "${databricks_directory.Folder.path}/notebooks/publish_verdict"
    return {
        "resource": {
            "databricks_directory": {"Folder": {"path": "/Deployments/x"}},
            "databricks_notebook": {
                "Verdict": {
                    "path": notebook_path,
                    "language": "PYTHON",
                    "content_base64": base64.b64encode(NOTEBOOK).decode(),
                }
            },
            "databricks_job": {
                # A job started by a run_job task declares what its parent pushes into it.
                "Pipeline": {
                    "name": "x-ml_pipeline",
                    "parameter": [
                        {"name": "answer", "default": "no"},
                        {"name": "end-date", "default": "{{job.trigger.time.iso_date}}"},
                        {"name": "window-days", "default": "28"},
                    ],
                    "task": [],
                },
                "Monitoring": {
                    "name": "x-monitoring",
                    "parameter": [
                        {"name": "answer", "default": answer},
                        {"name": "end-date", "default": "{{job.trigger.time.iso_date}}"},
                    ],
                    "schedule": {"quartz_cron_expression": "0 0 7 * * ?", "timezone_id": "UTC"},
                    "task": [
                        {
                            "task_key": "retrain",
                            "depends_on": [{"task_key": "needed", "outcome": "true"}],
                            "run_job_task": {"job_id": "${databricks_job.Pipeline.id}"},
                        },
                        {
                            "task_key": "needed",
                            "depends_on": [{"task_key": "verdict"}],
                            "condition_task": {
                                "op": "EQUAL_TO",
                                "left": "{{tasks.verdict.values.retrain}}",
                                "right": "true",
                            },
                        },
                        {
                            "task_key": "verdict",
                            "notebook_task": {"notebook_path": notebook_path},
                        },
                    ],
                },
            },
        }
    }


@pytest.mark.parametrize(("answer", "retrain_state"), [("true", "SUCCESS"), ("false", "EXCLUDED")])
def test_a_condition_on_a_task_value_decides_the_run_job_task(
    tmp_path: Path, answer: str, retrain_state: str
) -> None:
    runner = LocalJobRunner(stack(answer), tmp_path, in_process=True)
    run = runner.run_job(runner.job_by_name("monitoring"), datetime(2026, 3, 2, 7, tzinfo=UTC))
    states = {t.key: t.state for t in run.tasks}
    assert [t.key for t in run.tasks] == ["verdict", "needed", "retrain"]  # dependency order
    assert states == {"verdict": "SUCCESS", "needed": "SUCCESS", "retrain": retrain_state}
    assert run.tasks[0].values == {"retrain": answer}
    assert run.tasks[0].result == {"step": "verdict", "status": "ok"}
    assert run.tasks[1].outcome == answer
    child = run.tasks[2].child
    assert (child is not None) == (answer == "true")
    if child is not None:
        assert child.job == "x-ml_pipeline" and child.succeeded
        # The parent's job parameters are pushed down and win; the child keeps the rest.
        assert child.parameters == {"answer": answer, "end-date": "2026-03-02", "window-days": "28"}
    assert run.succeeded


def test_a_run_job_task_may_not_push_a_parameter_the_started_job_does_not_declare(
    tmp_path: Path,
) -> None:
    """Whether Databricks refuses such a run is not documented; the local runner refuses it, so
    the synthesized jobs never rely on either answer."""
    data = stack("true")
    data["resource"]["databricks_job"]["Pipeline"]["parameter"] = []
    runner = LocalJobRunner(data, tmp_path, in_process=True)
    with pytest.raises(LocalJobError, match="would push answer, end-date into x-ml_pipeline"):
        runner.run_job(runner.job_by_name("monitoring"), datetime(2026, 3, 2, 7, tzinfo=UTC))


def test_references_resolve_from_the_stack_and_unknown_ones_fail(tmp_path: Path) -> None:
    runner = LocalJobRunner(stack("true"), tmp_path)
    run = JobRun("x-monitoring", "000007", datetime(2026, 3, 2, 7, tzinfo=UTC), {"answer": "42"})
    assert runner.resolve("{{job.trigger.time.iso_date}}", run, {}) == "2026-03-02"
    assert runner.resolve("k-{{job.run_id}}", run, {}) == "k-000007"
    assert runner.resolve("{{job.parameters.answer}}", run, {}) == "42"
    assert runner.resolve("${databricks_job.Pipeline.id}", run, {}) == "1"
    assert runner.resolve("${databricks_notebook.Verdict.workspace_path}", run, {}) == (
        "/Workspace/Deployments/x/notebooks/publish_verdict"
    )
    with pytest.raises(LocalJobError, match="unknown locally"):
        runner.resolve("{{job.trigger.time.seconds}}", run, {})
    with pytest.raises(LocalJobError, match="no such resource"):
        runner.resolve("${databricks_job.Nope.id}", run, {})
    with pytest.raises(LocalJobError, match="set no value"):
        runner.resolve("{{tasks.verdict.values.retrain}}", run, {"verdict": {}})


def test_quartz_schedules_fire_on_their_days() -> None:
    daily = Schedule("0 30 0 * * ?", "UTC", paused=True)
    mondays = Schedule("0 0 2 ? * MON", "UTC", paused=False)
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert firing_times(daily, tuesday) == [datetime(2026, 3, 3, 0, 30, tzinfo=UTC)]
    assert firing_times(mondays, monday) == [datetime(2026, 3, 2, 2, 0, tzinfo=UTC)]
    assert firing_times(mondays, tuesday) == []
    new_york = Schedule("0 0 7 * * ?", "America/New_York", paused=False)
    assert firing_times(new_york, monday) == [datetime(2026, 3, 2, 12, 0, tzinfo=UTC)]
    assert firing_times(Schedule("0 0 6,18 * * ?", "UTC", False), monday)[1].hour == 18


def test_scheduled_runs_are_in_time_order(tmp_path: Path) -> None:
    runner = LocalJobRunner(stack("true"), tmp_path)
    runs = scheduled_runs(runner.jobs.values(), date(2026, 3, 2))
    assert [(t.hour, job.name) for t, job in runs] == [(7, "x-monitoring")]
