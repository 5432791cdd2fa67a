"""Feature storage behind one small interface.

``LocalFeatureStore`` keeps each feature table as parquet in a local directory (with its key
metadata next to it). On Databricks, ``adapters.databricks.DatabricksFeatureStore`` implements
the same protocol with the Unity Catalog feature engineering client or the legacy workspace
feature store.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.errors import PipelineError


@dataclass(frozen=True)
class FeatureTableSpec:
    """A feature table: qualified name, primary keys (incl. the timestamp key), description."""

    name: str
    primary_keys: tuple[str, ...] = (c.FEATURE_KEY, c.FEATURE_TS)
    timestamp_key: str = c.FEATURE_TS
    description: str = ""


class FeatureStore(Protocol):
    """What the pipeline needs from a feature store."""

    def write_table(self, spec: FeatureTableSpec, df: DataFrame) -> None:
        """Create the table if needed, then upsert ``df`` on the primary keys."""

    def read_table(self, name: str) -> DataFrame:
        """Return the whole feature table."""


class LocalFeatureStore:
    """Feature tables as parquet directories under ``root`` (one per fully qualified name)."""

    METADATA_FILE = "_feature_table.json"

    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.root = root

    def path(self, name: str) -> Path:
        """Directory of the table ``name`` (dots become path separators)."""
        return self.root.joinpath(*name.split("."))

    def write_table(self, spec: FeatureTableSpec, df: DataFrame) -> None:
        """Upsert on the primary keys: new rows replace existing rows with the same keys."""
        missing = [k for k in spec.primary_keys if k not in df.columns]
        if missing:
            raise PipelineError(f"feature table {spec.name}: key columns {missing} not in frame")
        target = self.path(spec.name)
        keys = list(spec.primary_keys)
        merged = df.dropDuplicates(keys)
        if target.exists():
            existing = self.spark.read.parquet(str(target))
            merged = existing.join(merged.select(*keys), on=keys, how="left_anti").unionByName(
                merged
            )
        staging = target.with_name(f"{target.name}.staging-{uuid.uuid4().hex}")
        merged.write.mode("overwrite").parquet(str(staging))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        (target / self.METADATA_FILE).write_text(json.dumps(asdict(spec), indent=2))

    def read_table(self, name: str) -> DataFrame:
        """Read the table, or fail with the path that was expected."""
        target = self.path(name)
        if not target.exists():
            raise PipelineError(
                f"feature table {name} not found at {target}; run taxi-fare-featurize first"
            )
        return self.spark.read.parquet(str(target))
