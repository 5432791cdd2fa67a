"""Databricks jobs from rendered templates, with the settings every job must have."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_databricks.job import Job
from cdktf_cdktf_provider_databricks.permissions import Permissions

from constructs_lib.cdk import Construct
from constructs_lib.databricks.compute import access_controls
from constructs_lib.databricks.spec_mapping import SpecMapper, to_provider_shape
from constructs_lib.template_rendering import TemplateError

JOB_DEFAULTS: Mapping[str, Any] = {"queue": {"enabled": True}}
"""Values a template may override."""
TASK_RETRY_INTERVAL_MILLIS = 60_000


@dataclass(frozen=True, kw_only=True)
class MlJobProps:
    name: str
    """Job name shown in the workspace, e.g. `mlops-dev-ml_pipeline`."""
    spec: Mapping[str, Any]
    """Jobs API-shaped spec rendered from a template (tasks, job_clusters, parameters...)."""
    source: str
    """Template the spec came from, for error messages."""
    environment: str
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
    permissions: Mapping[str, str] = field(default_factory=dict)
    """Principal -> CAN_VIEW / CAN_MANAGE_RUN / CAN_MANAGE."""
    service_principals: Sequence[str] = ()
    """Application IDs among the permission principals (the rest are groups)."""


def enforce_job_settings(props: MlJobProps) -> dict[str, Any]:
    """Merge in the fixed order: defaults, then the template's values, then what every job
    must have (name, one run at a time, timeout, failure e-mails, schedule, run_as, tags).
    Pure: returns a Jobs API-shaped dict."""
    spec: dict[str, Any] = {**JOB_DEFAULTS, **props.spec}
    tasks = []
    for task in spec.get("tasks", []):
        task = dict(task)
        if "python_wheel_task" in task:
            task.setdefault("max_retries", props.max_retries)
            task.setdefault("min_retry_interval_millis", TASK_RETRY_INTERVAL_MILLIS)
        tasks.append(task)
    if tasks:
        spec["tasks"] = tasks
    spec.update(
        name=props.name,
        max_concurrent_runs=1,
        timeout_seconds=props.timeout_seconds,
        email_notifications={"on_failure": list(props.notification_emails)},
        tags={**spec.get("tags", {}), **props.tags},
    )
    if props.schedule is not None:
        spec["schedule"] = dict(props.schedule)
    if props.run_as_service_principal:
        spec["run_as"] = {"service_principal_name": props.run_as_service_principal}
    return spec


class MlJob(Construct):
    """One Databricks job built from a rendered template plus enforced settings, and its
    permissions. Exposes `job`."""

    def __init__(self, scope: Construct, id_: str, props: MlJobProps) -> None:
        super().__init__(scope, id_)
        spec = enforce_job_settings(props)
        kwargs = SpecMapper(source=props.source, environment=props.environment).build(
            Job, to_provider_shape(spec, "job")
        )
        try:
            self.job = Job(self, "Job", **kwargs)
        except TypeError as exc:  # typeguard: a top-level value of the wrong type
            raise TemplateError.single(
                props.source, props.environment, str(exc), "match the Jobs API shape"
            ) from None
        if props.permissions:
            Permissions(
                self,
                "Permissions",
                job_id=self.job.id,
                access_control=access_controls(props.permissions, props.service_principals),
            )
