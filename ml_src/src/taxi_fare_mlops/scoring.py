"""The ``score`` step: score one processing window of trips with the champion and write them
to the inference table (Lakehouse Monitoring InferenceLog layout), idempotently.

The unit of idempotency is the window: the rows with ``request_time`` in ``[start, end)`` are
replaced in one commit (Delta ``replaceWhere``), so a rerun, a retry or a backfill of the same
window leaves exactly one scored row per trip; the step reports how many scored rows share a
trip key after the write (``duplicates``, 0 expected).

Scoring never writes the label: a fare is an outcome, known after the prediction is made. The
``label`` step fills ``fare_amount`` in by trip key once the source has it, so the inference
table, and the quality monitor on it, see labels arrive the way they would in production.

Without a champion (a new deployment before its first training) the step has nothing to score
with: an expected state, reported as ``no_champion``, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from pyspark.sql import functions as F
from pyspark.sql import types as T

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.registry import CHAMPION
from taxi_fare_mlops.windows import Window, range_predicate

# Lakehouse Monitoring: InferenceLog(problem_type="regression", prediction_col=PREDICTION,
# label_col=LABEL, model_id_col=MODEL_VERSION, timestamp_col=REQUEST_TIME). The workspace stack
# declares the Unity Catalog table with exactly these columns (tests compare the two).
INFERENCE_SCHEMA = T.StructType(
    [
        T.StructField(c.TRIP_ID, T.StringType()),
        T.StructField(c.REQUEST_TIME, T.TimestampType()),
        T.StructField(c.DROPOFF_TS, T.TimestampType()),
        *[T.StructField(name, T.DoubleType()) for name in c.MODEL_FEATURES],
        T.StructField(c.PREDICTION, T.DoubleType()),
        T.StructField(c.LABEL, T.DoubleType()),
        T.StructField(c.MODEL_NAME, T.StringType()),
        T.StructField(c.MODEL_VERSION, T.StringType()),
        T.StructField(c.SCORED_AT, T.TimestampType()),
    ]
)
INFERENCE_COLUMNS: tuple[str, ...] = tuple(field.name for field in INFERENCE_SCHEMA.fields)


@dataclass(frozen=True)
class ScoringResult:
    """How many trips of which window were scored, by which version, into which table."""

    model_name: str
    model_version: str | None
    """``None``: no champion yet, nothing scored."""
    window: str
    rows: int
    duplicates: int
    inference_table: str

    @property
    def status(self) -> str:
        """``ok``, or the expected states ``no_champion`` / ``no_data``."""
        if self.model_version is None:
            return "no_champion"
        return "ok" if self.rows else "no_data"


def duplicate_rows(platform: Platform, inference_table: str, window: Window) -> int:
    """Rows of ``window`` in the inference table whose trip key occurs more than once in it."""
    table = platform.tables.read(inference_table)
    keys = table.filter(F.expr(range_predicate(c.REQUEST_TIME, window))).select(c.TRIP_ID)
    repeated = (
        table.join(keys.distinct(), c.TRIP_ID, "left_semi")
        .groupBy(c.TRIP_ID)
        .count()
        .filter(F.col("count") > 1)
        .agg(F.sum("count").alias("rows"))
        .collect()
    )
    return int(repeated[0]["rows"] or 0) if repeated else 0


def run_scoring(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    inference_table: str,
    window: Window,
    trip_key: str,
) -> ScoringResult:
    """Score the trips picked up in ``window`` with the champion; replace that window's rows."""
    if not window.bounded:
        raise PipelineError(
            f"scoring needs a bounded window (start and end), got {window.describe()}; "
            "pass --end-date and --window-days (or --start-date)"
        )
    platform.use_mlflow()
    champion = platform.registry(model_name).pointed(CHAMPION)
    if champion is None:
        return ScoringResult(model_name, None, window.describe(), 0, 0, inference_table)
    predict = mlflow.pyfunc.spark_udf(
        platform.spark,
        f"models:/{model_name}/{champion.version}",
        result_type="double",
        env_manager="local",
    )
    frame = load_model_frame(platform, sources, window, require_label=False, key_column=trip_key)
    features = [F.col(name).cast("double").alias(name) for name in c.MODEL_FEATURES]
    scored = frame.select(
        F.col(c.TRIP_ID),
        F.col(c.PICKUP_TS).alias(c.REQUEST_TIME),
        F.col(c.DROPOFF_TS),
        *features,
        predict(F.struct(*features)).alias(c.PREDICTION),
        F.lit(None).cast("double").alias(c.LABEL),
        F.lit(model_name).alias(c.MODEL_NAME),
        F.lit(str(champion.version)).alias(c.MODEL_VERSION),
        F.current_timestamp().alias(c.SCORED_AT),
    ).cache()
    try:
        rows = scored.count()
        # An empty window is written too: it removes stale rows of an earlier run of it.
        platform.tables.replace_where(
            inference_table,
            scored.select(*INFERENCE_COLUMNS),
            range_predicate(c.REQUEST_TIME, window),
        )
    finally:
        scored.unpersist()
    duplicates = duplicate_rows(platform, inference_table, window)
    return ScoringResult(
        model_name, str(champion.version), window.describe(), rows, duplicates, inference_table
    )
