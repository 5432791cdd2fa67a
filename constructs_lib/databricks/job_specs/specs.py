"""Databricks names and rendered job / cluster specs of one environment. Pure Python.

Everything a template needs is decided here from the environment's config and passed in as
plain values; Terraform references (policy ID, wheel path, job IDs) come in through
`WorkspaceRefs`, so `make render` can show the same specs with readable placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.config.models import EnvironmentConfig
from constructs_lib.databricks.job_specs.job_settings import MlJobSettings
from constructs_lib.databricks.job_specs.rendering import render_spec

JOB_CLUSTER_TEMPLATE = "clusters/job_cluster.yaml.j2"
INTERACTIVE_CLUSTER_TEMPLATE = "clusters/interactive_ml.yaml.j2"
LEGACY_CATALOG = "hive_metastore"

TRIGGER_DATE = "{{job.trigger.time.iso_date}}"
"""Databricks dynamic value reference: the date (UTC) the run was triggered; for a scheduled
run, its scheduled time, so a late or repaired run processes the same window."""
JOB_RUN_ID = "{{job.run_id}}"
"""Databricks dynamic value reference: the job run's ID, the same for every retry of its tasks."""

INFERENCE_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trip_id", "STRING"),
    ("request_time", "TIMESTAMP"),
    ("tpep_dropoff_datetime", "TIMESTAMP"),
    ("trip_distance", "DOUBLE"),
    ("pickup_zip", "DOUBLE"),
    ("dropoff_zip", "DOUBLE"),
    ("mean_fare_window_1h_pickup_zip", "DOUBLE"),
    ("count_trips_window_1h_pickup_zip", "DOUBLE"),
    ("count_trips_window_30m_dropoff_zip", "DOUBLE"),
    ("dropoff_is_weekend", "DOUBLE"),
    ("prediction", "DOUBLE"),
    ("fare_amount", "DOUBLE"),
    ("model_name", "STRING"),
    ("model_version", "STRING"),
    ("scored_at", "TIMESTAMP"),
)
"""The inference table the scoring step writes (`taxi_fare_mlops.scoring.INFERENCE_SCHEMA`;
a test keeps the two equal), declared in Unity Catalog so the quality monitor can attach."""
PICKUP_FEATURES_TABLE = "trip_pickup_features"
DROPOFF_FEATURES_TABLE = "trip_dropoff_features"
RETRAIN_JOB = "ml_pipeline"
"""The job the monitoring job runs (run_job_task) when its verdict asks for a retrain."""
INFERENCE_LOG_COLUMNS: dict[str, str] = {
    "timestamp_col": "request_time",
    "prediction_col": "prediction",
    "label_col": "fare_amount",
    "model_id_col": "model_version",
}
"""Lakehouse Monitoring InferenceLog roles of the inference table's columns."""


@dataclass(frozen=True, kw_only=True)
class WorkspaceRefs:
    """Values known only to Terraform (references) or placeholders for review."""

    wheel_path: str
    wheel_package_name: str
    policy_id: str
    compute: Mapping[str, str]
    """{"node_type_id": ...} or {"instance_pool_id": ...}."""
    experiment_path: str
    model_name: str
    """Registered model name as the ML code uses it (`catalog.schema.name` in Unity Catalog)."""
    job_ids: Mapping[str, str] = field(default_factory=dict)
    """IDs of the jobs created so far, by key."""
    notebooks: Mapping[str, str] = field(default_factory=dict)
    """Workspace paths of the deployed notebooks, by name (`publish_verdict`)."""
    run_as: str | None = None
    """Application ID of the service principal every job runs as."""


def catalog_name(config: EnvironmentConfig) -> str:
    """The environment's catalog (`hive_metastore` without Unity Catalog)."""
    uc = config.databricks.unity_catalog
    if not uc.enabled:
        return LEGACY_CATALOG
    return uc.catalog_name or f"{config.naming.prefix}_{config.name}"


DEPLOYMENTS_FOLDER = "/Deployments"
"""Top-level workspace folder of the deployment folders (only admins create top-level
folders; nothing the jobs run or record lives under `/Shared`, where every user manages
everything)."""


def workspace_dir(config: EnvironmentConfig) -> str:
    """The environment's deployment folder: its wheel and experiment; only admins write."""
    return f"{DEPLOYMENTS_FOLDER}/{config.naming.prefix}-{config.name}"


def job_name(config: EnvironmentConfig, key: str) -> str:
    return f"{config.naming.prefix}-{config.name}-{key}"


def custom_tags(config: EnvironmentConfig) -> dict[str, str]:
    """Tags on every Databricks VM (cost attribution), from the environment's tags."""
    return dict(
        sorted({**config.tags, "environment": config.name, "project": config.naming.prefix}.items())
    )


def qualified(config: EnvironmentConfig, name: str, schema: str) -> str:
    """A three-level name: `table` goes into the environment's catalog and `schema`, a
    two-level name into its catalog; a three-level name or a path is kept. Legacy mode uses
    `hive_metastore` (a two-level name would resolve in a Unity Catalog default catalog)."""
    if name.startswith(("/", "dbfs:", "abfss:")) or name.count(".") == 2:
        return name
    catalog = catalog_name(config)
    return f"{catalog}.{name}" if "." in name else f"{catalog}.{schema}.{name}"


def source_table(config: EnvironmentConfig) -> str:
    """The trips every ML job reads: the replay's landing table, or the configured table."""
    source = config.databricks.ml.trips_source
    if source.kind == "table" and source.table is not None:
        return qualified(config, source.table, schemas(config)["features"])
    return qualified(config, source.landing_table, schemas(config)["features"])


def sample_table(config: EnvironmentConfig) -> str:
    """The sample the replay job replays (the Unity Catalog sample or the legacy path)."""
    source = config.databricks.ml.trips_source
    if source.sample is not None:
        return source.sample
    if config.databricks.unity_catalog.enabled:
        return "samples.nyctaxi.trips"
    return "/databricks-datasets/nyctaxi-with-zipcodes/subsampled"


def job_parameters(config: EnvironmentConfig, refs: WorkspaceRefs, key: str) -> dict[str, str]:
    """Job-level parameters of ML job `key`; Databricks pushes them down to every task
    configured with key-value parameters (wheel tasks with `named_parameters`, notebook tasks)
    as `--name=value` (widgets for a notebook).

    The processing window is `window-days` days ending at the trigger date; a backfill is
    "Run now with different parameters" with another `end-date` (and `window-days`). The trips
    source, its key, the metrics table and the PSI threshold are the same for every task of
    every job: a job that starts another one (a run_job task) pushes its job parameters down
    into that run, where they override the started job's own (`shared_job_parameters`).
    """
    uc = config.databricks.unity_catalog
    names = schemas(config)
    return {
        "catalog": catalog_name(config),
        "schema": names["models"],
        "feature-schema": names["features"],
        "inference-schema": names["inference"],
        "experiment-name": refs.experiment_path,
        "model-name": refs.model_name,
        "use-unity-catalog": "true" if uc.enabled else "false",
        "source-table": source_table(config),
        "source-kind": config.databricks.ml.trips_source.kind,
        "trip-key": config.databricks.ml.trips_source.trip_key_column,
        "metrics-table": qualified(config, config.databricks.ml.metrics_table, names["inference"]),
        "end-date": TRIGGER_DATE,
        "window-days": str(config.databricks.jobs[key].window_days),
        "run-key": JOB_RUN_ID,
        # Monitoring's drift threshold, a job parameter so that a run may override it (the dev
        # smoke run forces the retrain verdict with 0); every job declares it, so the value a
        # monitoring run pushes into the ml_pipeline run it starts is one that job knows.
        "psi-threshold": str(config.databricks.ml.psi_threshold),
    }


WINDOW_PARAMETER = "window-days"
"""The one job parameter whose value differs between jobs (each job's own window length)."""


def shared_job_parameters(
    config: EnvironmentConfig, refs: WorkspaceRefs, key: str
) -> dict[str, str]:
    """`job_parameters` without the window length: what a job that starts another job declares
    as its job parameters (it passes its window to its own tasks as task parameters instead).

    Databricks pushes a job's parameters down into every task that takes key-value parameters,
    Run Job tasks included, and a pushed-down job parameter wins over the task's own value of
    the same key (Azure Databricks docs "Configure job parameters", "Job parameter pushdown";
    "Configure task parameters"). A monitoring run's `window-days` (1) would therefore become
    the window of the ml_pipeline run it starts (28 days of training data): the monitoring job
    declares only parameters whose values are the same in every job
    (`tests/test_job_contract.py::test_a_started_job_receives_only_parameters_it_declares_with_its_own_values`).
    """
    shared = job_parameters(config, refs, key)
    del shared[WINDOW_PARAMETER]
    return shared


def schemas(config: EnvironmentConfig) -> dict[str, str]:
    uc = config.databricks.unity_catalog
    if not uc.enabled:
        return {"features": "default", "models": "default", "inference": "default"}
    return {
        "features": uc.feature_schema,
        "models": uc.model_schema,
        "inference": uc.inference_schema,
    }


def job_cluster_spec(config: EnvironmentConfig, refs: WorkspaceRefs) -> dict[str, Any]:
    db = config.databricks
    return render_spec(
        JOB_CLUSTER_TEMPLATE,
        {
            "spark_version": db.spark_version,
            "policy_id": refs.policy_id,
            "compute": dict(refs.compute),
            "min_workers": db.job_cluster.min_workers,
            "max_workers": db.job_cluster.max_workers,
            "custom_tags": custom_tags(config),
        },
        environment=config.name,
    )


PLACEHOLDER_USER = "<user>"
"""The assigned user shown when an environment lists none (`make render`, template tests)."""


def user_slug(user: str) -> str:
    """`Data.Scientist@example.com` -> `data-scientist-example-com`: a user name as a
    construct ID part (stable, so a cluster keeps its Terraform address)."""
    return re.sub(r"[^a-z0-9]+", "-", user.lower()).strip("-")


def interactive_cluster_spec(
    config: EnvironmentConfig, refs: WorkspaceRefs, user: str | None = None
) -> dict[str, Any]:
    """The interactive ML cluster dedicated to `user` (default: the first listed user, or a
    placeholder when none is listed)."""
    db = config.databricks
    ic = db.interactive_cluster
    if user is None:
        user = ic.users[0] if ic.users else PLACEHOLDER_USER
    return render_spec(
        INTERACTIVE_CLUSTER_TEMPLATE,
        {
            "cluster_name": (
                f"{config.naming.prefix}-{config.name}-ml-{user_slug(user.split('@')[0])}"
            ),
            "spark_version": db.spark_version,
            "node_type_id": db.node_type_id,
            "autotermination_minutes": ic.autotermination_minutes,
            "single_user_name": user,
            "min_workers": ic.min_workers,
            "max_workers": ic.max_workers,
            "custom_tags": custom_tags(config),
            "wheel": {"path": refs.wheel_path, "package_name": refs.wheel_package_name},
        },
        environment=config.name,
    )


def job_template(config: EnvironmentConfig, key: str) -> str:
    return f"jobs/{config.databricks.jobs[key].template}"


def job_spec(
    config: EnvironmentConfig,
    key: str,
    refs: WorkspaceRefs,
    job_cluster: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Jobs API-shaped spec of job `key` rendered from its template (before the settings
    every job gets from `MlJob`). `job_cluster`: the rendered job cluster spec, when the caller
    renders it once for all jobs of the environment."""
    ml = config.databricks.ml
    return render_spec(
        job_template(config, key),
        {
            "environment": config.name,
            "job_key": key,
            "wheel": {"path": refs.wheel_path, "package_name": refs.wheel_package_name},
            "job_cluster": (
                job_cluster if job_cluster is not None else job_cluster_spec(config, refs)
            ),
            "job_parameters": job_parameters(config, refs, key),
            "shared_job_parameters": shared_job_parameters(config, refs, key),
            "window_days": str(config.databricks.jobs[key].window_days),
            "schemas": schemas(config),
            "gate": {
                "min_improvement_over_baseline": str(ml.min_improvement_over_baseline),
                "min_gain_over_champion": str(ml.min_gain_over_champion),
            },
            "monitoring": {
                "psi_threshold": str(ml.psi_threshold),
                "label_lookback_days": str(ml.label_lookback_days),
            },
            "tables": {
                "inference": ml.inference_table,
                "baseline": ml.baseline_table,
                "pickup_features": PICKUP_FEATURES_TABLE,
                "dropoff_features": DROPOFF_FEATURES_TABLE,
            },
            "replay": {
                "sample_table": sample_table(config),
                "backfill_days": str(ml.trips_source.backfill_days),
            },
            "notebooks": dict(refs.notebooks),
            "job_ids": dict(refs.job_ids),
        },
        environment=config.name,
    )


def job_settings(
    config: EnvironmentConfig,
    key: str,
    refs: WorkspaceRefs,
    job_cluster: Mapping[str, Any] | None = None,
) -> MlJobSettings:
    """Job `key` rendered from its template, with the settings its config enforces."""
    job = config.databricks.jobs[key]
    return MlJobSettings(
        name=job_name(config, key),
        spec=job_spec(config, key, refs, job_cluster),
        timeout_seconds=job.timeout_seconds,
        max_retries=job.max_retries,
        notification_emails=notification_emails(config),
        schedule=job_schedule(config, key),
        run_as_service_principal=refs.run_as,
        tags=custom_tags(config),
    )


def job_schedule(config: EnvironmentConfig, key: str) -> dict[str, str] | None:
    """Jobs API `schedule` of job `key`, paused per config, or None."""
    job = config.databricks.jobs[key]
    if job.schedule is None:
        return None
    paused = (
        job.schedule.paused
        if job.schedule.paused is not None
        else config.databricks.schedules_paused
    )
    return {
        "quartz_cron_expression": job.schedule.quartz_cron_expression,
        "timezone_id": job.schedule.timezone_id,
        "pause_status": "PAUSED" if paused else "UNPAUSED",
    }


def notification_emails(config: EnvironmentConfig) -> list[str]:
    db = config.databricks
    if db.notification_emails:
        return list(db.notification_emails)
    return [r.email_address for r in config.monitoring.alert_email_receivers]


def placeholder_refs(config: EnvironmentConfig, package_name: str, version: str) -> WorkspaceRefs:
    """Readable stand-ins for Terraform references, for `make render`."""
    pool = config.databricks.instance_pool.enabled
    return WorkspaceRefs(
        wheel_path=f"/Workspace{workspace_dir(config)}/wheels/{version}/{package_name}-{version}-py3-none-any.whl",
        wheel_package_name=package_name,
        policy_id="<job cluster policy id>",
        compute={"instance_pool_id": "<instance pool id>"}
        if pool
        else {"node_type_id": config.databricks.node_type_id},
        experiment_path=f"{workspace_dir(config)}/{config.databricks.ml.experiment_name}",
        model_name=(
            f"{catalog_name(config)}.{config.databricks.unity_catalog.model_schema}.{config.databricks.ml.model_name}"
            if config.databricks.unity_catalog.enabled
            else config.databricks.ml.model_name
        ),
        job_ids={key: f"<job id of {key}>" for key in config.databricks.jobs},
        notebooks={"publish_verdict": f"{workspace_dir(config)}/notebooks/publish_verdict"},
        run_as=config.databricks.job_run_as_service_principal or "<job principal application id>",
    )
