"""The ``featurize`` step: raw trips -> pickup and dropoff feature tables, one processing window
at a time.

A run over ``[start, end)`` writes the feature windows that *end* in ``(start - horizon, end]``,
each computed from all of its trips (history is read back one feature-window length), and
upserts them on ``(zip, ts)``. The horizon (``features.LOOKUP_HORIZON``) is how far before the
window's first trip its point-in-time lookups reach, so after featurizing a window every
feature that scoring it looks up exists, whatever ran before. Windows near a boundary are
computed by both neighbouring runs from the same trips, so they get the same values; a rerun or
a retry rewrites the same rows with the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.feature_store import FeatureTableSpec
from taxi_fare_mlops.features import (
    LOOKUP_HORIZON,
    dropoff_features,
    filter_time_range,
    pickup_features,
)
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.windows import Window


@dataclass(frozen=True)
class FeaturizeResult:
    """Row counts written to each feature table, and the window they cover."""

    window: str
    trips: int
    """Trips picked up in the processing window (0: nothing to featurize, an expected state
    of a new deployment)."""
    pickup_table: str
    pickup_rows: int
    dropoff_table: str
    dropoff_rows: int


def run_featurize(
    platform: Platform,
    source_table: str,
    pickup_table: str,
    dropoff_table: str,
    window: Window | None = None,
) -> FeaturizeResult:
    """Compute the feature windows ending in ``(window.start - horizon, window.end]`` and upsert
    them (nothing is written when the window has no trips)."""
    window = window or Window()
    trips = platform.tables.read(source_table)
    if c.LABEL not in trips.columns:  # fares not arrived yet: counts only, mean fare unknown
        trips = trips.withColumn(c.LABEL, F.lit(None).cast("double"))
    trips = trips.select(*c.RAW_TRIP_COLUMNS)
    in_window = filter_time_range(trips, c.PICKUP_TS, window.start, window.end).count()
    if in_window == 0:
        return FeaturizeResult(window.describe(), 0, pickup_table, 0, dropoff_table, 0)
    covered = window.extended_back(LOOKUP_HORIZON)
    pickup = pickup_features(trips, covered).cache()
    dropoff = dropoff_features(trips, covered).cache()
    try:
        platform.feature_store.write_table(
            FeatureTableSpec(
                name=pickup_table,
                description="Per pickup zip, 1h windows sliding 15 min: mean fare, trip count.",
            ),
            pickup,
        )
        platform.feature_store.write_table(
            FeatureTableSpec(
                name=dropoff_table,
                description="Per dropoff zip, 30 min windows: trip count, NY weekend flag.",
            ),
            dropoff,
        )
        return FeaturizeResult(
            window.describe(),
            in_window,
            pickup_table,
            pickup.count(),
            dropoff_table,
            dropoff.count(),
        )
    finally:
        pickup.unpersist()
        dropoff.unpersist()
