"""The runtime context a step runs in: Spark, tables, feature store, MLflow, task values."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from pyspark.sql import SparkSession

from taxi_fare_mlops.adapters import Runtime
from taxi_fare_mlops.feature_store import FeatureStore, LocalFeatureStore
from taxi_fare_mlops.tables import LocalTableStore, TableStore, qualify


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
    artifact_root: str | None = None
    task_value_setter: Callable[[str, object], None] | None = None
    task_values: dict[str, object] = field(default_factory=dict)

    def table_name(self, name: str, schema: str | None = None) -> str:
        """Qualify a bare table name with the catalog and ``schema`` (default: main schema)."""
        return qualify(name, self.catalog, schema or self.schema, self.use_unity_catalog)

    def model_name(self, name: str) -> str:
        """Registered model name: ``catalog.schema.name`` in Unity Catalog, else ``name``."""
        if "." in name or not self.use_unity_catalog:
            return name
        return f"{self.catalog}.{self.schema}.{name}"

    def configure_mlflow(self, experiment_name: str) -> str:
        """Point MLflow at this runtime's tracking server and registry; return the experiment id.

        Locally the experiment's artifacts go under the work directory, never ``./mlruns``.
        """
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)
        experiment = mlflow.get_experiment_by_name(experiment_name)
        if experiment is None:
            experiment_id = mlflow.create_experiment(
                experiment_name, artifact_location=self.artifact_root
            )
        else:
            experiment_id = experiment.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id

    def set_task_value(self, key: str, value: object) -> None:
        """Publish a value to later job tasks (Databricks) and keep it for the caller."""
        self.task_values[key] = value
        if self.task_value_setter is not None:
            self.task_value_setter(key, value)


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


def local_platform(
    spark: SparkSession,
    local_dir: Path,
    catalog: str = "main",
    schema: str = "taxi_fare",
) -> Platform:
    """Local runtime: parquet tables and feature tables, MLflow on SQLite, all in ``local_dir``."""
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
        use_unity_catalog=True,
        tracking_uri=db_uri,
        registry_uri=db_uri,
        artifact_root=(local_dir / "mlartifacts").as_uri(),
    )


def databricks_platform(
    spark: SparkSession, catalog: str, schema: str, use_unity_catalog: bool
) -> Platform:
    """Databricks runtime: Delta tables, feature engineering client, workspace MLflow."""
    from taxi_fare_mlops.adapters.databricks import (
        DatabricksFeatureStore,
        DatabricksTableStore,
        set_task_value,
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
        task_value_setter=lambda key, value: set_task_value(spark, key, value),
    )
