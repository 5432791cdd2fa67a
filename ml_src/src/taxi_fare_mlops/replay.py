"""The ``replay`` step: land "today's" trips by replaying a fixed sample onto current dates.

The shipped demo's only data is a static sample (``samples.nyctaxi.trips``, January and
February 2016), which no processing window of a scheduled job ever overlaps. This step makes
it a live source: for every UTC day ``T`` to land it picks a sample day ``S`` with the same
weekday and shifts that day's trips by ``T - S`` (a whole number of weeks, so weekday and time
of day are kept). Consecutive weeks replay consecutive sample weeks, cycling through the
sample (eight to nine weeks), so a 28-day training window holds four different sample weeks
rather than one week four times (a two-month sample has no "same time of year" for most of
the year). Each trip gets a stable key (``trip_id``, the trip's shifted content hashed), which
the ``label`` step joins on.

Idempotent per day: the landed days are replaced as a whole in one commit (Delta
``replaceWhere`` on the pickup time), so a rerun or retry leaves exactly one copy. A run lands
the days of its processing window and every day of the last ``backfill_days`` that is not in
the landing table yet, so the first run backfills the history the first training needs and a
schedule resumed after a pause fills its gap.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.windows import Window, sql_timestamp

SECONDS_PER_DAY = 86_400
SPARSE_DAY_FRACTION = 0.5
"""A sample day with fewer trips than this fraction of the median day is not replayed (stray
timestamps outside the sample's real period)."""


@dataclass(frozen=True)
class ReplayResult:
    """What one replay run landed."""

    landing_table: str
    rows: int
    days: list[str]
    """The UTC days landed (each replaced as a whole)."""
    backfilled_days: int
    """How many of them were missing from the landing table before this run (outside its own
    processing window)."""
    sample_days: int
    """Usable days in the sample."""
    window: str


def utc_day(value: datetime) -> date:
    """The UTC calendar day of an aware instant."""
    return value.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    """Midnight UTC of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def days_between(start: datetime, end: datetime) -> list[date]:
    """The UTC days that ``[start, end)`` touches."""
    first, last = utc_day(start), utc_day(end - timedelta(microseconds=1))
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def sample_day_for(target: date, sample_days: Sequence[date]) -> date | None:
    """The sample day replayed onto ``target``: one with the same weekday, chosen by
    ``target``'s week (Monday-based, counted from a fixed origin) modulo the number of such
    days, so consecutive weeks get consecutive sample weeks; ``None`` when the sample has no
    such weekday. Deterministic: a day is always replayed from the same sample day."""
    candidates = sorted(d for d in sample_days if d.weekday() == target.weekday())
    if not candidates:
        return None
    week = (target.toordinal() - 1) // 7
    return candidates[week % len(candidates)]


def usable_sample_days(counts: dict[date, int]) -> list[date]:
    """Sample days with enough trips to stand for a whole day."""
    if not counts:
        return []
    floor = SPARSE_DAY_FRACTION * statistics.median(counts.values())
    return sorted(d for d, n in counts.items() if n >= floor)


def _epoch_day(column: str) -> F.Column:
    # From epoch seconds: independent of the Spark session's time zone.
    return F.floor(F.unix_timestamp(F.col(column)) / SECONDS_PER_DAY).cast("long")


def _read_sample(platform: Platform, sample_table: str) -> DataFrame:
    sample = platform.tables.read(sample_table)
    missing = [col for col in c.RAW_TRIP_COLUMNS if col not in sample.columns]
    if missing:
        raise PipelineError(
            f"sample {sample_table} lacks the trip columns {missing}; replay needs "
            f"{list(c.RAW_TRIP_COLUMNS)} (the schema of samples.nyctaxi.trips)"
        )
    return sample.select(*c.RAW_TRIP_COLUMNS).filter(F.col(c.PICKUP_TS).isNotNull())


def _landed_days(platform: Platform, landing_table: str, days: Iterable[date]) -> set[date]:
    days = sorted(days)
    if not days or not platform.tables.exists(landing_table):
        return set()
    lo, hi = day_start(days[0]), day_start(days[-1] + timedelta(days=1))
    rows = (
        platform.tables.read(landing_table)
        .filter((F.col(c.PICKUP_TS) >= F.lit(lo)) & (F.col(c.PICKUP_TS) < F.lit(hi)))
        .select(_epoch_day(c.PICKUP_TS).alias("day"))
        .distinct()
        .collect()
    )
    return {date(1970, 1, 1) + timedelta(days=int(r["day"])) for r in rows}


def days_predicate(days: Iterable[date]) -> str:
    """``pickup`` within any of ``days`` (UTC), as Spark SQL."""
    parts = [
        f"(`{c.PICKUP_TS}` >= {sql_timestamp(day_start(d))} AND "
        f"`{c.PICKUP_TS}` < {sql_timestamp(day_start(d + timedelta(days=1)))})"
        for d in sorted(days)
    ]
    return " OR ".join(parts) or "false"


def with_trip_key(trips: DataFrame, key: str) -> DataFrame:
    """Add ``key``: a hash of the trip's content (and its rank among identical trips), so the
    same trip always gets the same key and identical trips different ones."""
    content = [F.coalesce(F.col(col).cast("string"), F.lit("")) for col in c.RAW_TRIP_COLUMNS]
    same = SparkWindow.partitionBy(*c.RAW_TRIP_COLUMNS).orderBy(F.lit(1))
    ranked = trips.withColumn("__rank", F.row_number().over(same))
    return ranked.withColumn(
        key, F.sha2(F.concat_ws("|", *content, F.col("__rank").cast("string")), 256)
    ).drop("__rank")


def run_replay(
    platform: Platform,
    sample_table: str,
    landing_table: str,
    trip_key: str,
    window: Window,
    backfill_days: int,
) -> ReplayResult:
    """Land the days of ``window`` and the missing days of the last ``backfill_days``."""
    if not window.bounded:
        raise PipelineError(
            f"replay needs a bounded window, got {window.describe()}; pass --end-date and "
            "--window-days (or --start-date)"
        )
    if backfill_days < 0:
        raise PipelineError(f"--backfill-days must be >= 0, got {backfill_days}")
    own = days_between(window.start, window.end)  # type: ignore[arg-type]
    history = days_between(window.end - timedelta(days=backfill_days), window.end)  # type: ignore[operator]
    landed = _landed_days(platform, landing_table, history)
    missing = [d for d in history if d not in landed]
    targets = sorted(set(own) | set(missing))

    sample = _read_sample(platform, sample_table).withColumn(
        "__sample_day", _epoch_day(c.PICKUP_TS)
    )
    counts = {
        date(1970, 1, 1) + timedelta(days=int(r["__sample_day"])): int(r["count"])
        for r in sample.groupBy("__sample_day").count().collect()
    }
    sample_days = usable_sample_days(counts)
    plan = [(t, sample_day_for(t, sample_days)) for t in targets]
    mapping = [
        ((s - date(1970, 1, 1)).days, (t - s).days * SECONDS_PER_DAY)
        for t, s in plan
        if s is not None
    ]
    if mapping:
        shifts = platform.spark.createDataFrame(mapping, "__sample_day long, __shift long")
        shifted = sample.join(F.broadcast(shifts), "__sample_day").select(
            F.timestamp_seconds(F.unix_timestamp(c.PICKUP_TS) + F.col("__shift")).alias(
                c.PICKUP_TS
            ),
            F.timestamp_seconds(F.unix_timestamp(c.DROPOFF_TS) + F.col("__shift")).alias(
                c.DROPOFF_TS
            ),
            *[F.col(col) for col in c.RAW_TRIP_COLUMNS[2:]],
        )
    else:
        shifted = sample.limit(0).select(*c.RAW_TRIP_COLUMNS)
    trips = with_trip_key(shifted, trip_key).cache()
    try:
        rows = trips.count()
        platform.tables.replace_where(landing_table, trips, days_predicate(targets))
    finally:
        trips.unpersist()
    return ReplayResult(
        landing_table=landing_table,
        rows=rows,
        days=[d.isoformat() for d in targets],
        backfilled_days=len([d for d in missing if d not in own]),
        sample_days=len(sample_days),
        window=window.describe(),
    )
