"""The ``featurize`` step: raw trips -> pickup and dropoff feature tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.feature_store import FeatureTableSpec
from taxi_fare_mlops.features import dropoff_features, pickup_features
from taxi_fare_mlops.platform import Platform


@dataclass(frozen=True)
class FeaturizeResult:
    """Row counts written to each feature table."""

    pickup_table: str
    pickup_rows: int
    dropoff_table: str
    dropoff_rows: int


def run_featurize(
    platform: Platform,
    source_table: str,
    pickup_table: str,
    dropoff_table: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> FeaturizeResult:
    """Compute both feature tables from trips in ``[start, end)`` and upsert them."""
    trips = platform.tables.read(source_table).select(*c.RAW_TRIP_COLUMNS)
    pickup = pickup_features(trips, start, end).cache()
    dropoff = dropoff_features(trips, start, end).cache()
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
        return FeaturizeResult(pickup_table, pickup.count(), dropoff_table, dropoff.count())
    finally:
        pickup.unpersist()
        dropoff.unpersist()
