"""Feature computations in PySpark (parity with the original accelerator) and the
point-in-time lookup that turns trips plus feature tables into a model-ready frame.

Feature tables are keyed by ``(zip, ts)`` where ``ts`` is the *end* of the aggregation window:
a row with ``ts = T`` only summarises trips that started before ``T``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.windows import Window

NEW_YORK = "America/New_York"
PICKUP_WINDOW = "1 hour"
PICKUP_SLIDE = "15 minutes"
DROPOFF_WINDOW = "30 minutes"
PICKUP_WINDOW_LENGTH = timedelta(hours=1)
DROPOFF_WINDOW_LENGTH = timedelta(minutes=30)
PICKUP_ROUNDING_MINUTES = 15
DROPOFF_ROUNDING_MINUTES = 30
MAX_STALENESS = timedelta(hours=2)
"""A feature row older than this at lookup time counts as missing."""
LOOKUP_HORIZON = MAX_STALENESS + timedelta(minutes=DROPOFF_ROUNDING_MINUTES)
"""How far before a window's first trip its lookups reach: lookup times are rounded down (up
to 30 minutes) and may use a feature row up to ``MAX_STALENESS`` older. ``featurize`` rewrites
the feature windows of this margin too, so scoring a window finds every feature it looks up
whether or not the previous window was featurized first."""


def filter_time_range(
    df: DataFrame, ts_column: str, start: datetime | None, end: datetime | None
) -> DataFrame:
    """Keep rows with ``start <= ts_column < end``; a bound of ``None`` is open.

    Bounds must be timezone-aware (UTC): PySpark reads a naive ``datetime`` in the driver's
    local time zone, which would shift the window on any machine not set to UTC.
    """
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ValueError(f"time bounds must be timezone-aware, got {bound!r}")
    if start is not None:
        df = df.filter(F.col(ts_column) >= F.lit(start))
    if end is not None:
        df = df.filter(F.col(ts_column) < F.lit(end))
    return df


def windows_ending_in(df: DataFrame, window: Window, ts_column: str = c.FEATURE_TS) -> DataFrame:
    """Feature rows whose window *ends* in ``(start, end]``: the windows a run over
    ``[start, end)`` owns. Consecutive processing windows own disjoint, complete sets."""
    if window.start is not None:
        df = df.filter(F.col(ts_column) > F.lit(window.start))
    if window.end is not None:
        df = df.filter(F.col(ts_column) <= F.lit(window.end))
    return df


def is_weekend_new_york(ts: Column, session_time_zone: str) -> Column:
    """1 when the instant ``ts`` falls on a Saturday or Sunday in New York, else 0.

    Spark renders timestamps in the session time zone, so the value is first brought back to
    UTC wall-clock time and then to New York wall-clock time before taking the day of week.
    """
    new_york = F.from_utc_timestamp(F.to_utc_timestamp(ts, session_time_zone), NEW_YORK)
    return F.dayofweek(new_york).isin(1, 7).cast("int")  # 1 = Sunday, 7 = Saturday


def floor_timestamp(ts: Column, minutes: int) -> Column:
    """Round a timestamp down to a multiple of ``minutes`` since the epoch (UTC-aligned)."""
    step = minutes * 60
    return F.timestamp_seconds(F.floor(F.unix_timestamp(ts) / step) * step)


def pickup_features(trips: DataFrame, window: Window | None = None) -> DataFrame:
    """Per pickup zip, 1-hour windows sliding every 15 minutes: mean fare and trip count.

    Only windows ending in ``(window.start, window.end]`` are returned, each computed from every
    trip it covers: trips are read from one window length (1 h) before ``window.start``.
    Returns ``zip, ts, mean_fare_window_1h_pickup_zip, count_trips_window_1h_pickup_zip``.
    """
    window = window or Window()
    history = window.extended_back(PICKUP_WINDOW_LENGTH)
    trips = filter_time_range(trips, c.PICKUP_TS, history.start, history.end)
    features = (
        trips.groupBy(c.PICKUP_ZIP, F.window(c.PICKUP_TS, PICKUP_WINDOW, PICKUP_SLIDE))
        .agg(
            F.mean(c.LABEL).alias(c.MEAN_FARE_1H_PICKUP),
            F.count(F.lit(1)).alias(c.COUNT_TRIPS_1H_PICKUP),
        )
        .select(
            F.col(c.PICKUP_ZIP).cast("int").alias(c.FEATURE_KEY),
            F.col("window.end").alias(c.FEATURE_TS),
            F.col(c.MEAN_FARE_1H_PICKUP).cast("double"),
            F.col(c.COUNT_TRIPS_1H_PICKUP).cast("int"),
        )
    )
    return windows_ending_in(features, window)


def dropoff_features(trips: DataFrame, window: Window | None = None) -> DataFrame:
    """Per dropoff zip, 30-minute tumbling windows: trip count and New York weekend flag.

    Only windows ending in ``(window.start, window.end]`` are returned, each complete (trips are
    read from 30 minutes before ``window.start``). Returns ``zip, ts,
    count_trips_window_30m_dropoff_zip, dropoff_is_weekend``; the weekend flag is taken at the
    window end, like the original accelerator.
    """
    window = window or Window()
    session_tz = trips.sparkSession.conf.get("spark.sql.session.timeZone")
    history = window.extended_back(DROPOFF_WINDOW_LENGTH)
    trips = filter_time_range(trips, c.DROPOFF_TS, history.start, history.end)
    features = (
        trips.groupBy(c.DROPOFF_ZIP, F.window(c.DROPOFF_TS, DROPOFF_WINDOW))
        .agg(F.count(F.lit(1)).alias(c.COUNT_TRIPS_30M_DROPOFF))
        .select(
            F.col(c.DROPOFF_ZIP).cast("int").alias(c.FEATURE_KEY),
            F.col("window.end").alias(c.FEATURE_TS),
            F.col(c.COUNT_TRIPS_30M_DROPOFF).cast("int"),
            is_weekend_new_york(F.col("window.end"), session_tz).alias(c.DROPOFF_IS_WEEKEND),
        )
    )
    return windows_ending_in(features, window)


def point_in_time_join(
    left: DataFrame,
    features: DataFrame,
    left_key: str,
    left_ts: str,
    feature_columns: tuple[str, ...] | list[str],
    feature_key: str = c.FEATURE_KEY,
    feature_ts: str = c.FEATURE_TS,
    max_staleness: timedelta | None = None,
) -> DataFrame:
    """As-of join: for each left row, the latest feature row with the same key and
    ``feature_ts <= left_ts`` (optionally no older than ``max_staleness``).

    Left rows without such a feature row get nulls. Implemented as a union sorted per key with
    ``last(..., ignorenulls)`` over a running window, which is O(n log n) instead of the
    quadratic range join. Ties (``feature_ts == left_ts``) see the feature row.
    """
    marker, payload, key, ts = "__pit_is_feature", "__pit_payload", "__pit_key", "__pit_ts"
    feature_columns = list(feature_columns)
    clash = set(feature_columns) & set(left.columns)
    if clash:
        raise ValueError(f"feature columns already present on the left side: {sorted(clash)}")
    left_rows = left.select(
        "*",
        F.col(left_key).cast("int").alias(key),
        F.col(left_ts).alias(ts),
        F.lit(0).alias(marker),
        F.lit(None)
        .cast(features.select(F.struct(feature_ts, *feature_columns)).schema[0].dataType)
        .alias(payload),
    )
    feature_rows = features.select(
        F.col(feature_key).cast("int").alias(key),
        F.col(feature_ts).alias(ts),
        F.lit(1).alias(marker),
        F.struct(F.col(feature_ts), *[F.col(x) for x in feature_columns]).alias(payload),
    )
    unioned = left_rows.unionByName(feature_rows, allowMissingColumns=True)
    running = (
        SparkWindow.partitionBy(key)
        .orderBy(F.col(ts).asc(), F.col(marker).desc())
        .rowsBetween(SparkWindow.unboundedPreceding, SparkWindow.currentRow)
    )
    matched = unioned.withColumn(payload, F.last(payload, ignorenulls=True).over(running))
    matched = matched.filter(F.col(marker) == 0)
    if max_staleness is not None:
        too_old = F.col(f"{payload}.{feature_ts}") < F.col(ts) - F.expr(
            f"INTERVAL {int(max_staleness.total_seconds())} SECONDS"
        )
        matched = matched.withColumn(
            payload, F.when(too_old, F.lit(None)).otherwise(F.col(payload))
        )
    return matched.select(
        *left.columns, *[F.col(f"{payload}.{x}").alias(x) for x in feature_columns]
    )


def add_lookup_times(trips: DataFrame) -> DataFrame:
    """Add the lookup times, both as of the pickup (when a fare would be predicted): pickup
    features at the pickup floored to 15 minutes, dropoff features at the pickup floored to
    30 minutes.

    Flooring (the original rounded *up*) makes the matching window end at or before the trip,
    so a trip's own fare never feeds its features. Looking the dropoff features up at the
    pickup (the original used the dropoff time) keeps every lookup of a trip at or before its
    pickup: a window's scores depend only on trips that started before its end, not on a later
    window that may not be landed or featurized yet.
    """
    return trips.withColumn(
        c.PICKUP_LOOKUP_TS, floor_timestamp(F.col(c.PICKUP_TS), PICKUP_ROUNDING_MINUTES)
    ).withColumn(c.DROPOFF_LOOKUP_TS, floor_timestamp(F.col(c.PICKUP_TS), DROPOFF_ROUNDING_MINUTES))


def build_feature_frame(
    trips: DataFrame,
    pickup_table: DataFrame,
    dropoff_table: DataFrame,
    max_staleness: timedelta | None = MAX_STALENESS,
) -> DataFrame:
    """Trips joined point-in-time with both feature tables: raw columns + model features."""
    with_times = add_lookup_times(trips)
    with_pickup = point_in_time_join(
        with_times,
        pickup_table,
        left_key=c.PICKUP_ZIP,
        left_ts=c.PICKUP_LOOKUP_TS,
        feature_columns=c.PICKUP_FEATURES,
        max_staleness=max_staleness,
    )
    return point_in_time_join(
        with_pickup,
        dropoff_table,
        left_key=c.DROPOFF_ZIP,
        left_ts=c.DROPOFF_LOOKUP_TS,
        feature_columns=c.DROPOFF_FEATURES,
        max_staleness=max_staleness,
    )
