"""Building the model frame (trips + point-in-time features) shared by train, evaluate, score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.features import build_feature_frame, filter_time_range
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.windows import Window


@dataclass(frozen=True)
class DataSources:
    """Fully qualified names of the raw trips and of both feature tables."""

    trips: str
    pickup_features: str
    dropoff_features: str


def load_model_frame(
    platform: Platform,
    sources: DataSources,
    window: Window,
    require_label: bool = True,
    key_column: str | None = None,
) -> DataFrame:
    """Trips picked up in ``window`` with their point-in-time features (Spark frame).

    ``require_label=False`` (scoring) accepts a source without ``fare_amount``: the label is
    then null, to be filled in when actual fares arrive. ``key_column``: the source's trip key,
    kept as ``trip_id``.
    """
    trips = platform.tables.read(sources.trips)
    key = []
    if key_column:
        if key_column not in trips.columns:
            raise PipelineError(
                f"{sources.trips} has no trip key column {key_column!r}; set the source's key "
                "column (databricks.ml.trips_source.trip_key_column, job parameter trip-key)"
            )
        key = [F.col(key_column).cast("string").alias(c.TRIP_ID)]
    if c.LABEL not in trips.columns:
        if require_label:
            raise PipelineError(
                f"{sources.trips} has no {c.LABEL} column; training and evaluation need labels"
            )
        trips = trips.withColumn(c.LABEL, F.lit(None).cast("double"))
    trips = trips.select(*c.RAW_TRIP_COLUMNS, *key)
    trips = filter_time_range(trips, c.PICKUP_TS, window.start, window.end)
    pickup = platform.feature_store.read_table(sources.pickup_features)
    dropoff = platform.feature_store.read_table(sources.dropoff_features)
    return build_feature_frame(trips, pickup, dropoff)


def to_model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input: the feature columns in order, as float64 (missing values are NaN)."""
    missing = [col for col in c.MODEL_FEATURES if col not in frame.columns]
    if missing:
        raise ValueError(f"model input is missing columns {missing}")
    return frame.loc[:, list(c.MODEL_FEATURES)].astype(np.float64)


def time_based_split(
    frame: pd.DataFrame, holdout_fraction: float, ts_column: str = c.PICKUP_TS
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Split by time: the latest ``holdout_fraction`` of trips (by pickup time) is the holdout.

    Returns ``(train, holdout, holdout_start)``; every holdout trip starts at or after
    ``holdout_start`` and every training trip before it, so no future leaks into training.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    if frame.empty:
        raise ValueError("cannot split an empty frame")
    timestamps = pd.to_datetime(frame[ts_column])
    holdout_start = timestamps.quantile(1.0 - holdout_fraction, interpolation="higher")
    is_holdout = timestamps >= holdout_start
    train, holdout = frame.loc[~is_holdout], frame.loc[is_holdout]
    if train.empty or holdout.empty:
        raise ValueError("time-based split produced an empty side; use more data")
    return train.reset_index(drop=True), holdout.reset_index(drop=True), holdout_start
