"""The failed-job-run alert's query and schedule, as plain values (pure: no cdktf import).

What the query relies on (docs/platform-assumptions.md, "Azure resources"):
- Databricks diagnostic logs reach Log Analytics in the resource-specific `DatabricksJobs`
  table, whose `RequestParams` column is a JSON *string* (hence `parse_json`).
- The `jobs` audit events `runStart`, `runSucceeded` and `runFailed` carry `jobId` and `runId`;
  events of a task run of a multi-task job also carry the job run's ID (`multitaskParentRunId`)
  and the task's `taskKey`. A retried task attempt is a new run of the same task (Jobs API:
  `attempt_number`, `original_attempt_run_id`), so it logs a later event for the same
  (job run, task key).

So a task attempt that failed is *final* only if no later event exists for the same task of the
same job run. The query looks at failures that were ingested between two and one evaluation
windows ago (a band that moves by exactly one window per evaluation, so every failure is
judged once, however late it was ingested) and drops any task that logged a later event up to
now; what remains are the final failures, one row per failed job run. A retry starts
`min_retry_interval_millis` (one minute, `constructs_lib/databricks/job_specs/job_settings.py`)
after a failure, well inside the shortest window (five minutes).

The query must also resolve before `DatabricksJobs` exists: a resource-specific table appears in
the workspace only with its first record, and Azure Monitor validates a log alert's query when
the rule is created, in the same apply as the workspace. So the table is read through
`union isfuzzy=true` with an empty `datatable` of the columns the query uses (their types as in
the table), which drops a leg that does not resolve and fixes the columns; `ingestion_time()` is
taken inside the table's own leg, where it is defined (docs/platform-assumptions.md).
"""

from __future__ import annotations

EVALUATION_FREQUENCY_MINUTES: tuple[int, ...] = (
    5,
    10,
    15,
    30,
    45,
    60,
    120,
    180,
    240,
    300,
    360,
    1440,
)
"""Evaluation frequencies (minutes) azurerm 4.55 accepts for a scheduled query rule
(`evaluation_frequency`: PT1M ... P1D), except one minute, which is shorter than a task's retry
interval."""

WINDOW_DURATION_MINUTES: tuple[int, ...] = (
    1, 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880
)  # fmt: skip
"""Window durations (minutes) azurerm 4.55 accepts (`window_duration`: PT1M ... P2D)."""


def iso_duration(minutes: int) -> str:
    """`PT15M`, `PT2H`, `P1D`: the ISO 8601 form the alert rule API takes."""
    if minutes % 1440 == 0:
        return f"P{minutes // 1440}D"
    if minutes % 60 == 0:
        return f"PT{minutes // 60}H"
    return f"PT{minutes}M"


def window_duration_minutes(evaluation_minutes: int) -> int:
    """The shortest allowed window that covers two evaluation periods (the query looks back
    two periods)."""
    if evaluation_minutes not in EVALUATION_FREQUENCY_MINUTES:
        raise ValueError(
            f"evaluation frequency {evaluation_minutes} min is not one of "
            f"{EVALUATION_FREQUENCY_MINUTES}"
        )
    return next(w for w in WINDOW_DURATION_MINUTES if w >= 2 * evaluation_minutes)


EMPTY_JOBS_TABLE = (
    "datatable(TimeGenerated: datetime, ActionName: string, RequestParams: string, "
    "_ResourceId: string, Ingested: datetime)[]"
)
"""The columns the query reads from `DatabricksJobs` (types as in the Azure Monitor table
reference), plus the ingestion time taken in the table's leg; no rows."""

JOBS_SOURCE = f"""union isfuzzy=true
    ({EMPTY_JOBS_TABLE}),
    (DatabricksJobs | extend Ingested = ingestion_time())"""
"""`DatabricksJobs` with its ingestion time, or no rows while the table does not exist yet."""


def failed_job_runs_query(evaluation_minutes: int) -> str:
    """KQL over `DatabricksJobs`: one row per job run whose final task attempt failed, judged
    once (see the module docstring); it resolves, with no rows, before the table exists.
    Columns: `_ResourceId`, `JobId`, `JobRunId`, `FailedTasks`."""
    return f"""let period = {evaluation_minutes}m;
{JOBS_SOURCE}
| where ActionName in ("runStart", "runSucceeded", "runFailed")
| extend Params = parse_json(RequestParams)
| extend JobId = tostring(Params.jobId), TaskKey = tostring(Params.taskKey)
| extend JobRunId = coalesce(tostring(Params.multitaskParentRunId), tostring(Params.runId))
| summarize arg_max(TimeGenerated, ActionName, Ingested) by _ResourceId, JobId, JobRunId, TaskKey
| where ActionName == "runFailed" and Ingested between (ago(2 * period) .. ago(period))
| summarize FailedTasks = count() by _ResourceId, JobId, JobRunId"""
