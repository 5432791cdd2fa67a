from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pyspark.sql import SparkSession

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.features import build_feature_frame, point_in_time_join

pytestmark = pytest.mark.spark


def t(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2016-01-01T{hhmm}")


@pytest.fixture(scope="module")
def features(spark: SparkSession):
    rows = [
        (1, t("10:00"), 1.0),
        (1, t("10:15"), 2.0),
        (1, t("10:45"), 3.0),
        (1, t("12:00"), None),  # a real feature row whose value is missing
        (2, t("10:30"), 9.0),
    ]
    return spark.createDataFrame(rows, f"{c.FEATURE_KEY} int, {c.FEATURE_TS} timestamp, v double")


def lookup(spark: SparkSession, features, keys, max_staleness=None) -> dict:
    left = spark.createDataFrame(
        [(i, k, t(ts)) for i, (k, ts) in enumerate(keys)], "id int, k int, at timestamp"
    )
    out = point_in_time_join(left, features, "k", "at", ["v"], max_staleness=max_staleness)
    assert out.count() == len(keys)  # left rows are neither dropped nor duplicated
    return {r["id"]: r["v"] for r in out.collect()}


def test_latest_feature_at_or_before_lookup_time(spark: SparkSession, features) -> None:
    keys = [
        (1, "09:59"),  # before the first feature row -> null
        (1, "10:00"),  # tie: the row stamped exactly at the lookup time counts
        (1, "10:20"),
        (1, "10:44:59"),  # the 10:45 row is in the future
        (1, "11:00"),
        (2, "10:15"),
        (2, "11:00"),
        (3, "11:00"),  # unknown key
        (1, "12:05"),  # the latest row has a null value: no fallback to an older row
    ]
    assert lookup(spark, features, keys) == {
        0: None,
        1: 1.0,
        2: 2.0,
        3: 2.0,
        4: 3.0,
        5: None,
        6: 9.0,
        7: None,
        8: None,
    }


def test_max_staleness(spark: SparkSession, features) -> None:
    got = lookup(spark, features, [(1, "11:15"), (1, "11:16")], timedelta(minutes=30))
    assert got == {0: 3.0, 1: None}


def test_rejects_clashing_columns(spark: SparkSession, features) -> None:
    left = spark.createDataFrame([(1, t("10:00"), 0.0)], "k int, at timestamp, v double")
    with pytest.raises(ValueError, match="already present"):
        point_in_time_join(left, features, "k", "at", ["v"])


def test_trip_never_sees_its_own_fare(spark: SparkSession) -> None:
    from taxi_fare_mlops.features import dropoff_features, pickup_features

    trips = spark.createDataFrame(
        [
            (t("09:50"), t("10:05"), 1.0, 10.0, 10001, 10002),
            (t("10:05"), t("10:20"), 1.0, 100.0, 10001, 10002),
        ],
        f"{c.PICKUP_TS} timestamp, {c.DROPOFF_TS} timestamp, {c.TRIP_DISTANCE} double, "
        f"{c.LABEL} double, {c.PICKUP_ZIP} int, {c.DROPOFF_ZIP} int",
    )
    frame = build_feature_frame(trips, pickup_features(trips), dropoff_features(trips))
    rows = {r[c.LABEL]: r for r in frame.collect()}
    # The 10:05 trip looks up pickup features at 10:00: only the 09:50 trip (fare 10) is in.
    assert rows[100.0][c.MEAN_FARE_1H_PICKUP] == 10.0
    assert rows[100.0][c.COUNT_TRIPS_1H_PICKUP] == 1
    # The 09:50 trip looks up at 09:45: no earlier window exists.
    assert rows[10.0][c.MEAN_FARE_1H_PICKUP] is None
    # Dropoff 10:20 floors to 10:00; the only dropoff window (ending 10:30) is still ahead.
    assert rows[100.0][c.COUNT_TRIPS_30M_DROPOFF] is None
