"""The ``score`` step: load ``models:/<name>@champion``, score trips with their point-in-time
features, append to the inference table (Lakehouse Monitoring InferenceLog layout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import mlflow
from mlflow import MlflowClient
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.registry import CHAMPION, resolve_version

# Lakehouse Monitoring: InferenceLog(problem_type="regression", prediction_col=PREDICTION,
# label_col=LABEL, model_id_col=MODEL_VERSION, timestamp_col=REQUEST_TIME).
INFERENCE_COLUMNS: tuple[str, ...] = (
    c.REQUEST_TIME,
    c.DROPOFF_TS,
    *c.MODEL_FEATURES,
    c.PREDICTION,
    c.LABEL,
    c.MODEL_NAME,
    c.MODEL_VERSION,
    c.SCORED_AT,
)


@dataclass(frozen=True)
class ScoringResult:
    """How many trips were scored, by which version, into which table."""

    model_name: str
    model_version: str
    rows: int
    inference_table: str


def run_scoring(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    inference_table: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ScoringResult:
    """Score the trips picked up in ``[start, end)`` with the champion and append the results.

    The label column is kept when the source has it (null otherwise) so that ``monitor`` can
    compute RMSE once actual fares arrive.
    """
    mlflow.set_tracking_uri(platform.tracking_uri)
    mlflow.set_registry_uri(platform.registry_uri)
    champion = resolve_version(MlflowClient(), model_name, None, CHAMPION)
    predict = mlflow.pyfunc.spark_udf(
        platform.spark,
        f"models:/{model_name}/{champion.version}",
        result_type="double",
        env_manager="local",
    )
    frame = load_model_frame(platform, sources, start, end)
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
        if rows == 0:
            raise PipelineError(f"no trips to score in {sources.trips} for the given dates")
        platform.tables.append(inference_table, scored.select(*INFERENCE_COLUMNS))
    finally:
        scored.unpersist()
    return ScoringResult(model_name, str(champion.version), rows, inference_table)
