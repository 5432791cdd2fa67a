"""The ``score`` step: score one processing window of trips with the champion and write them
to the inference table (Lakehouse Monitoring InferenceLog layout), idempotently.

Trips have no natural key, so the unit of idempotency is the window: the rows with
``request_time`` in ``[start, end)`` are replaced in one commit (Delta ``replaceWhere``). A
rerun, a retry or a backfill of the same window leaves exactly one scored row per trip.
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
    model_version: str
    window: str
    rows: int
    labeled_rows: int
    inference_table: str


def run_scoring(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    inference_table: str,
    window: Window,
) -> ScoringResult:
    """Score the trips picked up in ``window`` with the champion; replace that window's rows.

    The source may lack ``fare_amount`` (fares not known yet): the label is then null, and
    ``monitor`` computes RMSE only on rows whose label has arrived.
    """
    if not window.bounded:
        raise PipelineError(
            f"scoring needs a bounded window (start and end), got {window.describe()}; "
            "pass --end-date and --window-days (or --start-date)"
        )
    platform.use_mlflow()
    champion = platform.registry(model_name).resolve(None, CHAMPION)
    predict = mlflow.pyfunc.spark_udf(
        platform.spark,
        f"models:/{model_name}/{champion.version}",
        result_type="double",
        env_manager="local",
    )
    frame = load_model_frame(platform, sources, window, require_label=False)
    features = [F.col(name).cast("double").alias(name) for name in c.MODEL_FEATURES]
    scored = frame.select(
        F.col(c.PICKUP_TS).alias(c.REQUEST_TIME),
        F.col(c.DROPOFF_TS),
        *features,
        predict(F.struct(*features)).alias(c.PREDICTION),
        F.col(c.LABEL).cast("double").alias(c.LABEL),
        F.lit(model_name).alias(c.MODEL_NAME),
        F.lit(str(champion.version)).alias(c.MODEL_VERSION),
        F.current_timestamp().alias(c.SCORED_AT),
    ).cache()
    try:
        rows = scored.count()
        labeled = scored.filter(F.col(c.LABEL).isNotNull()).count()
        # An empty window is written too: it removes stale rows of an earlier run of it.
        platform.tables.replace_where(
            inference_table,
            scored.select(*INFERENCE_COLUMNS),
            range_predicate(c.REQUEST_TIME, window),
        )
    finally:
        scored.unpersist()
    return ScoringResult(
        model_name, str(champion.version), window.describe(), rows, labeled, inference_table
    )
