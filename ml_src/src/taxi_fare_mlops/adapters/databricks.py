"""Thin adapters over Databricks-only APIs. Every Databricks import happens inside a method, so
this module imports (and the rest of the package runs) without any Databricks library."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.feature_store import FeatureTableSpec
from taxi_fare_mlops.tables import is_path


class DatabricksTableStore:
    """Delta tables by name (Unity Catalog or Hive metastore); paths are read as Delta."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def read(self, name: str) -> DataFrame:
        """Read a table by name, or a Delta directory by path."""
        if is_path(name):
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

    def fill_missing(self, name: str, updates: DataFrame, key: str, column: str) -> None:
        """One Delta ``MERGE``: set ``column`` where the key matches and it is still null."""
        from delta.tables import DeltaTable  # ships with the Databricks Runtime

        (
            DeltaTable.forName(self.spark, name)
            .alias("t")
            .merge(updates.alias("s"), f"t.`{key}` = s.`{key}`")
            .whenMatchedUpdate(condition=f"t.`{column}` IS NULL", set={column: f"s.`{column}`"})
            .execute()
        )


def merge_into_delta(spark: SparkSession, name: str, df: DataFrame, keys: list[str]) -> None:
    """Upsert ``df`` into the Delta table ``name`` on ``keys`` (created on first use)."""
    from delta.tables import DeltaTable  # ships with the Databricks Runtime

    if not spark.catalog.tableExists(name):
        df.write.format("delta").saveAsTable(name)
        return
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    (
        DeltaTable.forName(spark, name)
        .alias("t")
        .merge(df.alias("s"), condition)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


class DatabricksFeatureStore:
    """Feature tables through the feature engineering client (Unity Catalog) or, in legacy
    mode, as plain Delta tables in ``hive_metastore``.

    Legacy mode does not use the workspace feature store client (``FeatureStoreClient``,
    shipped inside databricks-feature-engineering on Databricks Runtime 14.3 ML and above): it
    names tables ``<database>.<table>``, and on a workspace whose default catalog is in Unity
    Catalog a two-level name resolves in that catalog. The point-in-time lookup is this
    package's own Spark code, so nothing here needs the client: the tables are upserted on
    their primary keys with a Delta ``MERGE`` under their three-level ``hive_metastore`` names.
    """

    def __init__(self, spark: SparkSession, use_unity_catalog: bool) -> None:
        self.spark = spark
        self.use_unity_catalog = use_unity_catalog
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The feature store client, created on first use."""
        if self._client is None:
            from databricks.feature_engineering import FeatureEngineeringClient

            self._client = FeatureEngineeringClient()
        return self._client

    def write_table(self, spec: FeatureTableSpec, df: DataFrame) -> None:
        """Create the feature table with its keys on first use, then merge ``df`` into it."""
        if not self.use_unity_catalog:
            merge_into_delta(self.spark, spec.name, df, list(spec.primary_keys))
            return
        if not self.spark.catalog.tableExists(spec.name):
            self.client.create_table(
                name=spec.name,
                primary_keys=list(spec.primary_keys),
                timeseries_columns=spec.timestamp_key,
                df=df,
                description=spec.description,
            )
            return
        self.client.write_table(name=spec.name, df=df, mode="merge")

    def read_table(self, name: str) -> DataFrame:
        """Read the whole feature table."""
        if not self.use_unity_catalog:
            if not self.spark.catalog.tableExists(name):
                raise PipelineError(f"feature table {name} does not exist; run featurize first")
            return self.spark.table(name)
        return self.client.read_table(name=name)
