"""The failed-job-run alert's schedule and query (pure; no synth)."""

from __future__ import annotations

import pytest

from constructs_lib.azure.job_failure_query import (
    EMPTY_JOBS_TABLE,
    EVALUATION_FREQUENCY_MINUTES,
    WINDOW_DURATION_MINUTES,
    failed_job_runs_query,
    iso_duration,
    window_duration_minutes,
)
from constructs_lib.databricks.job_specs.job_settings import TASK_RETRY_INTERVAL_MILLIS

# azurerm 4.55.0 internal/services/monitor/monitor_scheduled_query_rules_alert_v2_resource.go
PROVIDER_EVALUATION_FREQUENCIES = {
    "PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M", "PT1H", "PT2H", "PT3H", "PT4H", "PT5H",
    "PT6H", "P1D",
}  # fmt: skip
PROVIDER_WINDOW_DURATIONS = PROVIDER_EVALUATION_FREQUENCIES | {"P2D"}


@pytest.mark.parametrize("minutes", EVALUATION_FREQUENCY_MINUTES)
def test_every_frequency_maps_to_values_the_provider_accepts(minutes: int) -> None:
    window = window_duration_minutes(minutes)
    assert iso_duration(minutes) in PROVIDER_EVALUATION_FREQUENCIES
    assert iso_duration(window) in PROVIDER_WINDOW_DURATIONS
    assert window >= 2 * minutes
    # The shortest such window: one step shorter would not cover two periods.
    shorter = [w for w in WINDOW_DURATION_MINUTES if w < window]
    assert not shorter or shorter[-1] < 2 * minutes


@pytest.mark.parametrize(
    ("minutes", "iso"), [(5, "PT5M"), (15, "PT15M"), (60, "PT1H"), (120, "PT2H"), (1440, "P1D")]
)
def test_iso_durations(minutes: int, iso: str) -> None:
    assert iso_duration(minutes) == iso


@pytest.mark.parametrize(
    ("minutes", "window"), [(5, 10), (10, 30), (15, 30), (45, 120), (1440, 2880)]
)
def test_window_covers_two_periods(minutes: int, window: int) -> None:
    assert window_duration_minutes(minutes) == window


@pytest.mark.parametrize("minutes", [1, 7, 20, 2880])
def test_other_frequencies_are_refused(minutes: int) -> None:
    with pytest.raises(ValueError, match="not one of"):
        window_duration_minutes(minutes)


def test_shortest_period_is_longer_than_a_task_retry_interval() -> None:
    """A retry must log its start within one period of the failed attempt, or the failure
    would be judged final."""
    assert min(EVALUATION_FREQUENCY_MINUTES) * 60_000 > TASK_RETRY_INTERVAL_MILLIS


def test_query_judges_each_failure_once_and_only_final_attempts() -> None:
    query = failed_job_runs_query(15)
    assert query.splitlines()[0] == "let period = 15m;"
    assert query.splitlines()[1:4] == [
        "union isfuzzy=true",
        f"    ({EMPTY_JOBS_TABLE}),",
        "    (DatabricksJobs | extend Ingested = ingestion_time())",
    ]
    # The last event of each task of each job run decides; a later retry event supersedes a
    # failed attempt.
    assert (
        "summarize arg_max(TimeGenerated, ActionName, Ingested) by _ResourceId, JobId, JobRunId, TaskKey"
        in query
    )
    assert 'ActionName in ("runStart", "runSucceeded", "runFailed")' in query
    assert "coalesce(tostring(Params.multitaskParentRunId), tostring(Params.runId))" in query
    # Judged in the ingestion band between two and one periods ago: each record once.
    assert (
        'ActionName == "runFailed" and Ingested between (ago(2 * period) .. ago(period))' in query
    )
    assert (
        query.splitlines()[-1]
        == "| summarize FailedTasks = count() by _ResourceId, JobId, JobRunId"
    )
    assert "runTimedOut" not in query  # not a documented action name


# Column types of the DatabricksJobs table (Azure Monitor table reference, "DatabricksJobs").
DATABRICKS_JOBS_COLUMNS = {
    "TimeGenerated": "datetime",
    "ActionName": "string",
    "RequestParams": "string",
    "_ResourceId": "string",
}


def test_query_resolves_before_the_jobs_table_exists() -> None:
    """Azure validates the query when the rule is created, before any job event has created
    DatabricksJobs: a fuzzy union drops the leg that does not resolve, and the empty datatable
    declares every column the rest of the query reads, typed exactly as in the table (a
    different type would split the column into `<name>_<type>` ones)."""
    query = failed_job_runs_query(15)
    head, body = query.split("\n| ", 1)
    assert "union isfuzzy=true" in head
    assert "DatabricksJobs" not in body  # the table is read only inside the fuzzy union
    declared = dict(
        column.strip().split(": ")
        for column in EMPTY_JOBS_TABLE.removeprefix("datatable(").removesuffix(")[]").split(",")
    )
    assert declared == {**DATABRICKS_JOBS_COLUMNS, "Ingested": "datetime"}
    for column in (*DATABRICKS_JOBS_COLUMNS, "Ingested"):
        assert column in body, column
    # ingestion_time() is defined on a table's records only, so it is taken in the table's
    # leg, not after the union.
    assert "ingestion_time()" not in body
    assert query.count("ingestion_time()") == 1
