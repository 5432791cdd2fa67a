from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.features import (
    dropoff_features,
    floor_timestamp,
    is_weekend_new_york,
    pickup_features,
)
from taxi_fare_mlops.windows import Window

pytestmark = pytest.mark.spark


def trips_frame(spark: SparkSession, rows: list[tuple[str, str, int, int, float]]) -> DataFrame:
    """rows: (pickup, dropoff, pickup_zip, dropoff_zip, fare) with UTC ISO timestamps."""
    data = [
        (datetime.fromisoformat(p), datetime.fromisoformat(d), 1.0, fare, pz, dz)
        for p, d, pz, dz, fare in rows
    ]
    schema = (
        f"{c.PICKUP_TS} timestamp, {c.DROPOFF_TS} timestamp, {c.TRIP_DISTANCE} double, "
        f"{c.LABEL} double, {c.PICKUP_ZIP} int, {c.DROPOFF_ZIP} int"
    )
    return spark.createDataFrame(data, schema)


def as_dict(df: DataFrame, *cols: str) -> dict[tuple[int, str], tuple]:
    return {
        (r[c.FEATURE_KEY], r[c.FEATURE_TS].strftime("%H:%M")): tuple(r[x] for x in cols)
        for r in df.collect()
    }


def test_pickup_features_sliding_windows(spark: SparkSession) -> None:
    trips = trips_frame(
        spark,
        [
            ("2016-01-01T10:05:00", "2016-01-01T10:20:00", 10001, 10010, 10.0),
            ("2016-01-01T10:20:00", "2016-01-01T10:40:00", 10001, 10010, 20.0),
            ("2016-01-01T11:10:00", "2016-01-01T11:30:00", 10001, 10010, 30.0),
        ],
    )
    got = as_dict(pickup_features(trips), c.COUNT_TRIPS_1H_PICKUP, c.MEAN_FARE_1H_PICKUP)
    assert got == {
        (10001, "10:15"): (1, 10.0),
        (10001, "10:30"): (2, 15.0),
        (10001, "10:45"): (2, 15.0),
        (10001, "11:00"): (2, 15.0),
        (10001, "11:15"): (2, 25.0),
        (10001, "11:30"): (1, 30.0),
        (10001, "11:45"): (1, 30.0),
        (10001, "12:00"): (1, 30.0),
    }


def test_pickup_window_boundary_is_start_inclusive_end_exclusive(spark: SparkSession) -> None:
    trips = trips_frame(spark, [("2016-01-01T10:00:00", "2016-01-01T10:10:00", 10003, 10010, 7.0)])
    ends = sorted(ts for _, ts in as_dict(pickup_features(trips)))
    # A trip at exactly 10:00 belongs to [10:00, 11:00) but not to [09:00, 10:00).
    assert ends == ["10:15", "10:30", "10:45", "11:00"]


def test_pickup_features_respect_date_filter(spark: SparkSession) -> None:
    trips = trips_frame(
        spark,
        [
            ("2016-01-01T10:05:00", "2016-01-01T10:20:00", 10001, 10010, 10.0),
            ("2016-01-02T10:05:00", "2016-01-02T10:20:00", 10001, 10010, 99.0),
        ],
    )
    got = pickup_features(trips, Window(end=datetime(2016, 1, 2, tzinfo=UTC))).collect()
    assert {r[c.MEAN_FARE_1H_PICKUP] for r in got} == {10.0}


def test_dropoff_features_tumbling_windows(spark: SparkSession) -> None:
    trips = trips_frame(
        spark,
        [
            ("2016-01-01T10:00:00", "2016-01-01T10:10:00", 10001, 10001, 5.0),
            ("2016-01-01T10:00:00", "2016-01-01T10:29:59", 10001, 10001, 5.0),
            ("2016-01-01T10:00:00", "2016-01-01T10:30:00", 10001, 10001, 5.0),
            ("2016-01-01T10:00:00", "2016-01-01T10:45:00", 10001, 10002, 5.0),
        ],
    )
    got = as_dict(dropoff_features(trips), c.COUNT_TRIPS_30M_DROPOFF)
    assert got == {(10001, "10:30"): (2,), (10001, "11:00"): (1,), (10002, "11:00"): (1,)}


@pytest.mark.parametrize(
    ("dropoff_utc", "expected"),
    [
        ("2016-01-02T03:10:00", 0),  # window end 03:30 UTC = Friday 22:30 in New York
        ("2016-01-02T05:10:00", 1),  # window end 05:30 UTC = Saturday 00:30 in New York
        ("2016-01-04T04:10:00", 1),  # window end Monday 04:30 UTC = Sunday 23:30 in New York
        ("2016-01-04T05:10:00", 0),  # window end 05:30 UTC = Monday 00:30 in New York
    ],
)
def test_dropoff_weekend_flag_uses_new_york_time(
    spark: SparkSession, dropoff_utc: str, expected: int
) -> None:
    trips = trips_frame(spark, [("2016-01-01T00:00:00", dropoff_utc, 10001, 10001, 5.0)])
    (row,) = dropoff_features(trips).collect()
    assert row[c.DROPOFF_IS_WEEKEND] == expected


def test_weekend_flag_independent_of_session_time_zone(spark: SparkSession) -> None:
    # 2016-01-04T04:30Z is Sunday evening in New York but Monday in UTC.
    instant = F.timestamp_seconds(F.lit(1451881800))
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        value = spark.range(1).select(is_weekend_new_york(instant, "Asia/Tokyo")).first()[0]
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert value == 1


def test_floor_timestamp(spark: SparkSession) -> None:
    row = (
        spark.createDataFrame([(datetime(2016, 1, 1, 10, 44, 59),)], "t timestamp")
        .select(floor_timestamp(F.col("t"), 15).alias("a"), floor_timestamp(F.col("t"), 30))
        .first()
    )
    assert row[0] == datetime(2016, 1, 1, 10, 30)
    assert row[1] == datetime(2016, 1, 1, 10, 30)


def test_incremental_featurize_split_at_any_minute_equals_one_run(
    spark: SparkSession, tmp_path
) -> None:
    """Two runs split at 10:37 on day 3 write the same feature tables as one run, byte for
    byte: each run writes the windows ending inside it, each complete (history read back)."""
    from taxi_fare_mlops.data.generator import TripGeneratorConfig, generate_trips
    from taxi_fare_mlops.featurization import run_featurize
    from taxi_fare_mlops.platform import local_platform

    trips = generate_trips(TripGeneratorConfig(n_rows=3_000, start=datetime(2016, 1, 1), days=5))
    start = datetime(2016, 1, 1, 5, tzinfo=UTC)
    split = datetime(2016, 1, 3, 10, 37, tzinfo=UTC)
    end = datetime(2016, 1, 6, 5, tzinfo=UTC)

    def featurize(root, windows):
        platform = local_platform(spark, tmp_path / root)
        platform.tables.overwrite("raw", spark.createDataFrame(trips))
        for window in windows:
            run_featurize(platform, "raw", "f.pickup", "f.dropoff", window)
        return [
            platform.feature_store.read_table(name)
            .toPandas()
            .sort_values([c.FEATURE_KEY, c.FEATURE_TS])
            .reset_index(drop=True)
            for name in ("f.pickup", "f.dropoff")
        ]

    full = featurize("full", [Window(start, end)])
    split_runs = featurize("split", [Window(start, split), Window(split, end)])
    for one, two in zip(full, split_runs, strict=True):
        assert len(one) > 1000
        assert one.to_csv(index=False).encode() == two.to_csv(index=False).encode()


def test_windows_ending_exactly_at_the_boundary_belong_to_the_earlier_run(
    spark: SparkSession,
) -> None:
    trips = trips_frame(
        spark,
        [
            ("2016-01-01T10:05:00", "2016-01-01T10:20:00", 10001, 10010, 10.0),
            ("2016-01-01T10:35:00", "2016-01-01T10:50:00", 10001, 10010, 30.0),
        ],
    )
    boundary = datetime(2016, 1, 1, 10, 45, tzinfo=UTC)
    early = as_dict(pickup_features(trips, Window(end=boundary)), c.MEAN_FARE_1H_PICKUP)
    late = as_dict(pickup_features(trips, Window(start=boundary)), c.MEAN_FARE_1H_PICKUP)
    assert (10001, "10:45") in early and (10001, "10:45") not in late
    # The 11:00 window (10:00-11:00) is complete in the later run: both trips, mean 20.
    assert late[(10001, "11:00")] == (20.0,)
