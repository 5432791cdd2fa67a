"""The runtime context a step runs in: Spark, tables, feature store, MLflow and its registry."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from pyspark.sql import SparkSession

from taxi_fare_mlops.adapters import Runtime
from taxi_fare_mlops.feature_store import FeatureStore, LocalFeatureStore
from taxi_fare_mlops.registry import ModelRegistry, PointerMode
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
    pointer_mode: PointerMode = "alias"
    """How ``champion``/``challenger`` are stored: aliases, or registered-model tags in the
    workspace model registry (which has no aliases at MLflow 2.13.1)."""
    artifact_root: str | None = None
    _checked_registries: set[str] = field(default_factory=set, repr=False)

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
        _prepare_database(self.tracking_uri)
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def registry(self, model_name: str) -> ModelRegistry:
        """The registered model ``model_name`` with this runtime's pointer mode. The first call
        in tag mode (the workspace model registry) checks that the registry answers at all, so
        a workspace where it is disabled fails fast with the fix."""
        registry = ModelRegistry(self.client(), model_name, self.pointer_mode)
        if self.pointer_mode == "tag" and model_name not in self._checked_registries:
            registry.check_available()
            self._checked_registries.add(model_name)
        return registry

    def use_mlflow(self) -> None:
        """Point the global MLflow client (used by ``mlflow.pyfunc``) at this runtime."""
        _prepare_database(self.tracking_uri)
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


_PREPARED: set[str] = set()


def _prepare_database(uri: str) -> None:
    """Create (migrate) a local SQLite tracking database once, on first use (steps that never
    touch MLflow, such as replay, do not pay for it), without the alembic INFO chatter."""
    if not uri.startswith("sqlite:") or uri in _PREPARED:
        return
    logging.disable(logging.INFO)
    try:
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
    finally:
        logging.disable(logging.NOTSET)
    _PREPARED.add(uri)


def local_platform(
    spark: SparkSession,
    local_dir: Path,
    catalog: str = "main",
    schema: str = "taxi_fare",
    use_unity_catalog: bool = True,
    registry_uri: str | None = None,
) -> Platform:
    """Local runtime: parquet tables and feature tables, MLflow on SQLite, all in ``local_dir``.

    ``use_unity_catalog=False`` runs legacy mode (``hive_metastore.schema.table`` names,
    registry pointers as tags); ``registry_uri`` replaces the SQLite registry (tests use a
    workspace-registry fake).
    """
    local_dir = local_dir.resolve()
    local_dir.mkdir(parents=True, exist_ok=True)
    db_uri = f"sqlite:///{local_dir / 'mlflow.db'}"
    keep_mlflow_defaults_under(local_dir / "mlruns")
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
    )


def databricks_platform(
    spark: SparkSession, catalog: str, schema: str, use_unity_catalog: bool
) -> Platform:
    """Databricks runtime: Delta tables, feature engineering client, workspace MLflow."""
    from taxi_fare_mlops.adapters.databricks import DatabricksFeatureStore, DatabricksTableStore

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
    )
