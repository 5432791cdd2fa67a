"""What every Databricks job gets, whatever its template says. Pure Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JOB_DEFAULTS: Mapping[str, Any] = {"queue": {"enabled": True}}
"""Values a template may override."""
TASK_RETRY_INTERVAL_MILLIS = 60_000


@dataclass(frozen=True, kw_only=True)
class MlJobSettings:
    """A rendered job spec plus the settings the environment's config enforces on it."""

    name: str
    """Job name shown in the workspace, e.g. `mlops-dev-ml_pipeline`."""
    spec: Mapping[str, Any]
    """Jobs API-shaped spec rendered from a template (tasks, job_clusters, parameters...)."""
    timeout_seconds: int
    """Whole-run timeout. Enforced: every job has one."""
    max_retries: int = 1
    """Retries of each failed wheel task (template values win)."""
    notification_emails: Sequence[str] = ()
    """Mailed when a run fails. Enforced."""
    schedule: Mapping[str, Any] | None = None
    """`quartz_cron_expression`, `timezone_id`, `pause_status`; None: no schedule."""
    run_as_service_principal: str | None = None
    """Application ID the job runs as. Default: its creator."""
    tags: Mapping[str, str] = field(default_factory=dict)


def enforce_job_settings(settings: MlJobSettings) -> dict[str, Any]:
    """Merge in the fixed order: defaults, then the template's values, then what every job
    must have (name, one run at a time, timeout, failure e-mails, schedule, run_as, tags).
    Returns a Jobs API-shaped dict."""
    spec: dict[str, Any] = {**JOB_DEFAULTS, **settings.spec}
    tasks = []
    for task in spec.get("tasks", []):
        task = dict(task)
        if "python_wheel_task" in task:
            task.setdefault("max_retries", settings.max_retries)
            task.setdefault("min_retry_interval_millis", TASK_RETRY_INTERVAL_MILLIS)
        tasks.append(task)
    if tasks:
        spec["tasks"] = tasks
    spec.update(
        name=settings.name,
        max_concurrent_runs=1,
        timeout_seconds=settings.timeout_seconds,
        email_notifications={"on_failure": list(settings.notification_emails)},
        tags={**spec.get("tags", {}), **settings.tags},
    )
    if settings.schedule is not None:
        spec["schedule"] = dict(settings.schedule)
    if settings.run_as_service_principal:
        spec["run_as"] = {"service_principal_name": settings.run_as_service_principal}
    return spec
