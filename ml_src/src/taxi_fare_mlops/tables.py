"""Plain tables (raw trips, inference log, monitoring metrics) behind one small interface."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from taxi_fare_mlops.errors import PipelineError

LEGACY_CATALOG = "hive_metastore"
"""The catalog of the workspace's Hive metastore in three-level names."""


def is_path(name: str) -> bool:
    """Whether ``name`` is a storage path (read as Delta) rather than a table name."""
    return "/" in name or name.startswith(("dbfs:", "abfss:", "s3:", "gs:"))


def qualify(name: str, catalog: str, schema: str, use_unity_catalog: bool) -> str:
    """A three-level table name (paths pass through).

    ``table`` goes into ``catalog.schema``, ``schema.table`` into ``catalog``, and a three-level
    name is kept. In legacy mode the catalog is always ``hive_metastore``: on a workspace whose
    default catalog is in Unity Catalog, a two-level name would resolve in that catalog, not in
    the Hive metastore (Databricks docs, "Manage the default catalog").
    """
    if is_path(name):
        return name
    parts = name.split(".")
    if len(parts) > 3 or not all(parts):
        raise PipelineError(
            f"table name {name!r} must be table, schema.table or catalog.schema.table"
        )
    catalog = catalog if use_unity_catalog else LEGACY_CATALOG
    if len(parts) == 1:
        return f"{catalog}.{schema}.{name}"
    if len(parts) == 2:
        return f"{catalog}.{name}"
    if not use_unity_catalog and parts[0] != LEGACY_CATALOG:
        raise PipelineError(
            f"table {name!r} is outside {LEGACY_CATALOG} but Unity Catalog is off (legacy mode);"
            f" name a {LEGACY_CATALOG}.<schema>.<table> table, or turn Unity Catalog on"
        )
    return name


class TableStore(Protocol):
    """Read, append to and overwrite tables by (qualified) name or path."""

    def read(self, name: str) -> DataFrame:
        """Return the table ``name``."""

    def exists(self, name: str) -> bool:
        """Whether the table ``name`` exists."""

    def append(self, name: str, df: DataFrame) -> None:
        """Append rows, creating the table on first use."""

    def overwrite(self, name: str, df: DataFrame) -> None:
        """Replace the table's content."""

    def replace_where(self, name: str, df: DataFrame, predicate: str) -> None:
        """Atomically replace the rows matching the Spark SQL ``predicate`` with ``df`` (whose
        rows must all match it), creating the table on first use. Idempotent: writing the same
        ``df`` twice leaves the same rows."""

    def fill_missing(self, name: str, updates: DataFrame, key: str, column: str) -> None:
        """Set ``column`` from ``updates`` (``key``, ``column``) on the rows with a matching
        ``key`` where ``column`` is null; other rows and existing values are untouched."""


class LocalTableStore:
    """Parquet directories under ``root``: ``a.b.c`` lives in ``root/a/b/c``."""

    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.root = root

    def path(self, name: str) -> Path:
        """Directory of the table ``name``; a name with a slash is taken as a path."""
        return Path(name) if "/" in name else self.root.joinpath(*name.split("."))

    def read(self, name: str) -> DataFrame:
        """Read the table, or fail with the path that was expected."""
        target = self.path(name)
        if not target.exists():
            raise PipelineError(f"table {name} not found at {target}")
        return self.spark.read.parquet(str(target))

    def exists(self, name: str) -> bool:
        """Whether the table directory exists."""
        return self.path(name).exists()

    def append(self, name: str, df: DataFrame) -> None:
        """Append parquet files (schema must stay compatible)."""
        df.write.mode("append").parquet(str(self.path(name)))

    def replace_where(self, name: str, df: DataFrame, predicate: str) -> None:
        """Delta ``replaceWhere`` semantics on parquet: rows outside ``predicate`` (or where it
        is NULL) are kept, rows inside are replaced by ``df``; ``df`` rows outside fail."""
        outside = df.filter(~F.coalesce(F.expr(predicate), F.lit(False))).limit(1).count()
        if outside:
            raise PipelineError(
                f"table {name}: rows to write do not match the replace predicate {predicate}"
            )
        if self.exists(name):
            kept = self.read(name).filter(~F.coalesce(F.expr(predicate), F.lit(False)))
            df = kept.unionByName(df.select(*kept.columns))
        self.overwrite(name, df)

    def fill_missing(self, name: str, updates: DataFrame, key: str, column: str) -> None:
        """MERGE semantics on parquet: rewrite the table with the missing values filled."""
        table = self.read(name)
        new = updates.select(F.col(key), F.col(column).alias("__new"))
        filled = table.join(new, key, "left").withColumn(
            column, F.coalesce(F.col(column), F.col("__new").cast(table.schema[column].dataType))
        )
        self.overwrite(name, filled.select(*table.columns))

    def overwrite(self, name: str, df: DataFrame) -> None:
        """Write to a staging directory first, so ``df`` may read the table it replaces."""
        target = self.path(name)
        staging = target.with_name(f"{target.name}.staging-{uuid.uuid4().hex}")
        df.write.mode("overwrite").parquet(str(staging))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
