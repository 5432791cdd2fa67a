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


def set_task_value(spark: SparkSession, key: str, value: object) -> None:
    """``dbutils.jobs.taskValues.set`` so that later tasks (and condition tasks) can read it."""
    from pyspark.dbutils import DBUtils  # provided by the Databricks Runtime

    DBUtils(spark).jobs.taskValues.set(key=key, value=value)
