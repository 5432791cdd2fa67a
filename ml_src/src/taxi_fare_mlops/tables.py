"""Plain tables (raw trips, inference log, monitoring metrics) behind one small interface."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from taxi_fare_mlops.errors import PipelineError


def qualify(name: str, catalog: str, schema: str, use_unity_catalog: bool) -> str:
    """Resolve a table name: paths and already qualified names pass through, a bare name is put
    in ``catalog.schema`` (Unity Catalog) or ``schema`` (legacy Hive metastore)."""
    if "/" in name or "." in name:
        return name
    return f"{catalog}.{schema}.{name}" if use_unity_catalog else f"{schema}.{name}"


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

    def overwrite(self, name: str, df: DataFrame) -> None:
        """Write to a staging directory first, so ``df`` may read the table it replaces."""
        target = self.path(name)
        staging = target.with_name(f"{target.name}.staging-{uuid.uuid4().hex}")
        df.write.mode("overwrite").parquet(str(staging))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
