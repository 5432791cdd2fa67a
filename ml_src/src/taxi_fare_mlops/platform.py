"""The runtime context a step runs in: Spark, tables, feature store, MLflow and its registry,
and how a job run is started."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from pyspark.sql import SparkSession

from taxi_fare_mlops.adapters import Runtime
from taxi_fare_mlops.feature_store import FeatureStore, LocalFeatureStore
from taxi_fare_mlops.registry import ModelRegistry, PointerMode
from taxi_fare_mlops.tables import LocalTableStore, TableStore, qualify

JobTrigger = Callable[[str, str], str]
"""``(job_id, idempotency_token) -> run_id``: start a run of a job, at most once per token."""


@dataclass
class Platform:
    """Everything runtime-specific, chosen once per process; the steps only use this."""

    runtime: Runtime
    spark: SparkSession
    tables: TableStore
    feature_store: FeatureStore
    catalog: str
    schema: str
    use_unity_catalog: bool
    tracking_uri: str
    registry_uri: str
    pointer_mode: PointerMode = "alias"
    """How ``champion``/``challenger`` are stored: aliases, or registered-model tags in the
    workspace model registry (which has no aliases at MLflow 2.13.1)."""
    artifact_root: str | None = None
    trigger_job: JobTrigger | None = None

    def table_name(self, name: str, schema: str | None = None) -> str:
        """Qualify a bare table name with the catalog and ``schema`` (default: main schema)."""
        return qualify(name, self.catalog, schema or self.schema, self.use_unity_catalog)

    def model_name(self, name: str) -> str:
        """Registered model name: ``catalog.schema.name`` in Unity Catalog, else ``name``."""
        if "." in name or not self.use_unity_catalog:
            return name
        return f"{self.catalog}.{self.schema}.{name}"

    def client(self) -> MlflowClient:
        """An MLflow client bound to this runtime's tracking server and registry."""
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def registry(self, model_name: str) -> ModelRegistry:
        """The registered model ``model_name`` with this runtime's pointer mode."""
        return ModelRegistry(self.client(), model_name, self.pointer_mode)

    def use_mlflow(self) -> None:
        """Point the global MLflow client (used by ``mlflow.pyfunc``) at this runtime."""
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)

    def configure_mlflow(self, experiment_name: str) -> str:
        """Point MLflow at this runtime's tracking server and registry; return the experiment id.

        Locally the experiment's artifacts go under the work directory, never ``./mlruns``.
        """
        self.use_mlflow()
        experiment = mlflow.get_experiment_by_name(experiment_name)
        if experiment is None:
            experiment_id = mlflow.create_experiment(
                experiment_name, artifact_location=self.artifact_root
            )
        else:
            experiment_id = experiment.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id


def keep_mlflow_defaults_under(directory: Path) -> None:
    """Stop MLflow from creating ``./mlruns`` in the current directory.

    MLflow 2.13's SQLite-backed tracking store creates its default artifact root (``./mlruns``)
    every time a client is built without a tracking server; point that default at ``directory``.
    """
    from mlflow.tracking._tracking_service import utils as tracking_utils

    if hasattr(tracking_utils, "DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH"):
        tracking_utils.DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH = str(directory)


def _create_mlflow_db_quietly(uri: str) -> None:
    """Create (migrate) the SQLite tracking database without the alembic INFO chatter."""
    logging.disable(logging.INFO)
    try:
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
    finally:
        logging.disable(logging.NOTSET)


class LocalJobTrigger:
    """Records job runs it is asked to start in ``<local_dir>/triggered_runs.jsonl``, once per
    idempotency token (like the Jobs API's ``run-now`` with ``idempotency_token``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def runs(self) -> list[dict[str, str]]:
        """Every recorded run, oldest first."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def __call__(self, job_id: str, idempotency_token: str) -> str:
        for run in self.runs():
            if run["idempotency_token"] == idempotency_token:
                return run["run_id"]
        run_id = hashlib.sha256(idempotency_token.encode()).hexdigest()[:12]
        entry = {"job_id": job_id, "idempotency_token": idempotency_token, "run_id": run_id}
        with self.path.open("a") as out:
            out.write(json.dumps(entry, sort_keys=True) + "\n")
        return run_id


def local_platform(
    spark: SparkSession,
    local_dir: Path,
    catalog: str = "main",
    schema: str = "taxi_fare",
    use_unity_catalog: bool = True,
    registry_uri: str | None = None,
) -> Platform:
    """Local runtime: parquet tables and feature tables, MLflow on SQLite, all in ``local_dir``.

    ``use_unity_catalog=False`` runs legacy mode (``schema.table`` names, registry pointers as
    tags); ``registry_uri`` replaces the SQLite registry (tests use a workspace-registry fake).
    """
    local_dir = local_dir.resolve()
    local_dir.mkdir(parents=True, exist_ok=True)
    db_uri = f"sqlite:///{local_dir / 'mlflow.db'}"
    keep_mlflow_defaults_under(local_dir / "mlruns")
    _create_mlflow_db_quietly(db_uri)
    return Platform(
        runtime="local",
        spark=spark,
        tables=LocalTableStore(spark, local_dir / "tables"),
        feature_store=LocalFeatureStore(spark, local_dir / "feature_store"),
        catalog=catalog,
        schema=schema,
        use_unity_catalog=use_unity_catalog,
        tracking_uri=db_uri,
        registry_uri=registry_uri or db_uri,
        pointer_mode="alias" if use_unity_catalog else "tag",
        artifact_root=(local_dir / "mlartifacts").as_uri(),
        trigger_job=LocalJobTrigger(local_dir / "triggered_runs.jsonl"),
    )


def databricks_platform(
    spark: SparkSession, catalog: str, schema: str, use_unity_catalog: bool
) -> Platform:
    """Databricks runtime: Delta tables, feature engineering client, workspace MLflow."""
    from taxi_fare_mlops.adapters.databricks import (
        DatabricksFeatureStore,
        DatabricksTableStore,
        run_job_now,
    )

    return Platform(
        runtime="databricks",
        spark=spark,
        tables=DatabricksTableStore(spark),
        feature_store=DatabricksFeatureStore(spark, use_unity_catalog),
        catalog=catalog,
        schema=schema,
        use_unity_catalog=use_unity_catalog,
        tracking_uri="databricks",
        registry_uri="databricks-uc" if use_unity_catalog else "databricks",
        pointer_mode="alias" if use_unity_catalog else "tag",
        trigger_job=run_job_now,
    )
