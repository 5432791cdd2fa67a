"""Thin adapters over Databricks-only APIs. Every Databricks import happens inside a method, so
this module imports (and the rest of the package runs) without any Databricks library."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.feature_store import FeatureTableSpec


def _is_path(name: str) -> bool:
    return name.startswith(("/", "dbfs:", "abfss:", "s3:", "gs:"))


class DatabricksTableStore:
    """Delta tables by name (Unity Catalog or Hive metastore); paths are read as Delta."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def read(self, name: str) -> DataFrame:
        """Read a table by name, or a Delta directory by path."""
        if _is_path(name):
            return self.spark.read.format("delta").load(name)
        if not self.spark.catalog.tableExists(name):
            raise PipelineError(f"table {name} does not exist")
        return self.spark.table(name)

    def exists(self, name: str) -> bool:
        """Whether the table exists."""
        return self.spark.catalog.tableExists(name)

    def append(self, name: str, df: DataFrame) -> None:
        """Append, creating the Delta table on first use; new columns are merged in."""
        df.write.format("delta").mode("append").option("mergeSchema", "true").saveAsTable(name)

    def overwrite(self, name: str, df: DataFrame) -> None:
        """Replace the table's content (Delta keeps the previous versions)."""
        df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").saveAsTable(
            name
        )

    def replace_where(self, name: str, df: DataFrame, predicate: str) -> None:
        """Delta ``replaceWhere``: one atomic commit that replaces exactly the rows matching
        ``predicate``; Delta rejects rows of ``df`` outside it. Creates the table if missing."""
        (
            df.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", predicate)
            .option("mergeSchema", "true")
            .saveAsTable(name)
        )


class DatabricksFeatureStore:
    """Feature tables through ``databricks.feature_engineering`` (Unity Catalog) or, in legacy
    mode, the workspace feature store client ``databricks.feature_store``."""

    def __init__(self, spark: SparkSession, use_unity_catalog: bool) -> None:
        self.spark = spark
        self.use_unity_catalog = use_unity_catalog
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The feature store client, created on first use."""
        if self._client is None:
            if self.use_unity_catalog:
                from databricks.feature_engineering import FeatureEngineeringClient

                self._client = FeatureEngineeringClient()
            else:
                from databricks.feature_store import FeatureStoreClient

                self._client = FeatureStoreClient()
        return self._client

    def write_table(self, spec: FeatureTableSpec, df: DataFrame) -> None:
        """Create the feature table with its keys on first use, then merge ``df`` into it."""
        if not self.spark.catalog.tableExists(spec.name):
            if self.use_unity_catalog:
                self.client.create_table(
                    name=spec.name,
                    primary_keys=list(spec.primary_keys),
                    timeseries_columns=spec.timestamp_key,
                    df=df,
                    description=spec.description,
                )
            else:
                self.client.create_table(
                    name=spec.name,
                    primary_keys=list(spec.primary_keys),
                    timestamp_keys=[spec.timestamp_key],
                    df=df,
                    description=spec.description,
                )
            return
        self.client.write_table(name=spec.name, df=df, mode="merge")

    def read_table(self, name: str) -> DataFrame:
        """Read the whole feature table."""
        return self.client.read_table(name=name)


def run_job_now(job_id: str, idempotency_token: str) -> str:
    """Start a run of ``job_id`` through the Jobs API ``run-now``, as the principal this job
    runs as, at most once per ``idempotency_token``; returns the run ID.

    The Databricks SDK ships with the runtime (bundled since Databricks Runtime 13.1, per the
    databricks-sdk README) and ``WorkspaceClient()`` takes its credentials from the runtime.
    Jobs API 2.1 ``run-now``: "If a run with the provided token already exists, the request
    does not create a new run but returns the ID of the existing run instead".
    """
    from databricks.sdk import WorkspaceClient  # provided by the Databricks Runtime

    response = WorkspaceClient().api_client.do(
        "POST",
        "/api/2.1/jobs/run-now",
        body={"job_id": int(job_id), "idempotency_token": idempotency_token},
    )
    return str(response["run_id"])
