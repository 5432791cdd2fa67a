"""The ``retrain`` step: read the monitor's verdict for a window from the metrics table and,
when it asks for retraining, start the ML pipeline job.

Task values (``dbutils.jobs.taskValues``) are documented for notebooks only, so the signal is
data: the ``retrain`` row ``monitor`` wrote. The run is started through the Jobs API
``run-now`` with an idempotency token derived from the job, the window and the job run, so a
retried task starts at most one pipeline run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.monitoring import read_verdict
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.windows import Window


@dataclass(frozen=True)
class RetrainResult:
    """The verdict read, and the pipeline run started for it (if any)."""

    window: str
    retrain: bool
    model_version: str
    note: str
    pipeline_job_id: str
    pipeline_run_id: str | None


def idempotency_token(pipeline_job_id: str, model_name: str, window: Window, run_key: str) -> str:
    """At most 64 characters (the Jobs API limit); equal inputs give equal tokens."""
    text = "|".join([pipeline_job_id, model_name, window.describe(), run_key])
    return hashlib.sha256(text.encode()).hexdigest()


def run_retrain(
    platform: Platform,
    metrics_table: str,
    model_name: str,
    window: Window,
    pipeline_job_id: str,
    run_key: str = "",
) -> RetrainResult:
    """Start ``pipeline_job_id`` once if the verdict for ``window`` says "retrain"."""
    if not pipeline_job_id.isdigit():
        raise PipelineError(
            f"--pipeline-job-id must be a numeric Databricks job ID, got {pipeline_job_id!r}"
        )
    verdict = read_verdict(platform, metrics_table, model_name, window)
    run_id = None
    if verdict.retrain:
        if platform.trigger_job is None:
            raise PipelineError(f"runtime {platform.runtime} cannot start job runs")
        token = idempotency_token(pipeline_job_id, model_name, window, run_key)
        run_id = platform.trigger_job(pipeline_job_id, token)
    return RetrainResult(
        window.describe(),
        verdict.retrain,
        verdict.model_version,
        verdict.note,
        pipeline_job_id,
        run_id,
    )
