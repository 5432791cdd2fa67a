"""The replay of the fixed sample onto current dates: today's dates, the same weekday and time
of day, whole-week shifts, idempotent days, the first run's backfill."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from steps import run_step
from taxi_fare_mlops import cli
from taxi_fare_mlops import columns as c
from taxi_fare_mlops.local_pipeline import write_sample
from taxi_fare_mlops.replay import sample_day_for, usable_sample_days

pytestmark = pytest.mark.spark
LANDING = "main.taxi_fare.trips_landing"


def test_sample_day_has_the_same_weekday_and_consecutive_weeks_cycle_the_sample() -> None:
    sample = [date(2016, 1, 1) + timedelta(days=k) for k in range(60)]  # Jan-Feb 2016
    for target in [date(2025, 6, 10), date(2026, 1, 7), date(2025, 12, 31), date(2026, 2, 14)]:
        chosen = sample_day_for(target, sample)
        assert chosen is not None and chosen.weekday() == target.weekday()
        assert (target - chosen).days % 7 == 0  # a whole number of weeks
    # 28 days of history are four different sample weeks, not one week four times.
    tuesdays = [sample_day_for(date(2025, 11, 4) + timedelta(weeks=k), sample) for k in range(9)]
    assert len(set(tuesdays[:4])) == 4
    assert all((b - a).days == 7 for a, b in zip(tuesdays[:4], tuesdays[1:4], strict=False))
    assert set(tuesdays[:8]) == {d for d in sample if d.weekday() == 1}  # the whole sample
    assert tuesdays[8] == tuesdays[0]  # then it cycles (8 Tuesdays in Jan-Feb 2016)
    # A day is always replayed from the same sample day.
    assert sample_day_for(date(2026, 1, 7), sample) == sample_day_for(date(2026, 1, 7), sample)
    assert sample_day_for(date(2026, 1, 7), []) is None


def test_sparse_sample_days_are_not_replayed() -> None:
    counts = {date(2016, 1, 1) + timedelta(days=k): 350 for k in range(10)}
    counts[date(2015, 12, 31)] = 2  # a stray trip outside the sample period
    assert date(2015, 12, 31) not in usable_sample_days(counts)
    assert len(usable_sample_days(counts)) == 10


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay")
    write_sample(root, rows=6_000, seed=3)
    return root


def landed(spark: SparkSession, workdir: Path) -> pd.DataFrame:
    frame = spark.read.parquet(str(workdir / "tables" / "main" / "taxi_fare" / "trips_landing"))
    return frame.toPandas()


def test_first_run_backfills_then_each_run_lands_its_day_idempotently(
    spark: SparkSession, workdir: Path
) -> None:
    today = datetime.now(UTC).date()
    first = run_step(
        cli.replay_main, workdir, f"--end-date={today}", "--window-days=1", "--backfill-days=5"
    )
    assert (first.code, first.status) == (0, "ok")
    assert first.result["window_start"] == (today - timedelta(days=1)).isoformat()
    assert first.result["window_end"] == today.isoformat()
    trips = landed(spark, workdir)
    days = sorted(pd.to_datetime(trips[c.PICKUP_TS]).dt.date.unique())
    assert days == [today - timedelta(days=k) for k in range(5, 0, -1)]  # the backfill
    assert first.result["rows"] == len(trips) > 300
    assert trips[c.TRIP_ID].is_unique and trips[c.TRIP_ID].notna().all()
    assert (trips[c.DROPOFF_TS] > trips[c.PICKUP_TS]).all()

    again = run_step(
        cli.replay_main, workdir, f"--end-date={today}", "--window-days=1", "--backfill-days=5"
    )
    assert again.result["rows"] < first.result["rows"]  # only its own day this time
    rerun = landed(spark, workdir)
    assert len(rerun) == len(trips)
    assert set(rerun[c.TRIP_ID]) == set(trips[c.TRIP_ID])  # the same trips, not a second copy

    tomorrow = today + timedelta(days=1)
    later = run_step(
        cli.replay_main, workdir, f"--end-date={tomorrow}", "--window-days=1", "--backfill-days=5"
    )
    grown = landed(spark, workdir)
    assert len(grown) == len(trips) + later.result["rows"]
    assert pd.to_datetime(grown[c.PICKUP_TS]).dt.date.max() == today


def test_replayed_trips_keep_weekday_and_time_of_day(spark: SparkSession, workdir: Path) -> None:
    sample = spark.read.parquet(
        str(workdir / "tables" / "samples" / "nyctaxi" / "trips")
    ).toPandas()
    trips = landed(spark, workdir)
    target = pd.to_datetime(trips[c.PICKUP_TS]).dt.date.max()
    on_target = trips.loc[pd.to_datetime(trips[c.PICKUP_TS]).dt.date == target]
    source_day = sample_day_for(
        target, sorted(pd.to_datetime(sample[c.PICKUP_TS]).dt.tz_localize(None).dt.date.unique())
    )
    source = sample.loc[pd.to_datetime(sample[c.PICKUP_TS]).dt.date == source_day]
    shift = pd.Timedelta(days=(target - source_day).days)
    expected = sorted(pd.to_datetime(source[c.PICKUP_TS]).dt.tz_localize(None) + shift)
    assert sorted(pd.to_datetime(on_target[c.PICKUP_TS])) == expected
    assert sorted(on_target[c.LABEL]) == sorted(source[c.LABEL])


def test_a_sample_without_the_trip_columns_is_named(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "tables").mkdir()
    spark.createDataFrame([(1,)], "x int").write.parquet(str(tmp_path / "tables" / "bad"))
    run = run_step(
        cli.replay_main,
        tmp_path,
        f"--sample-table={tmp_path / 'tables' / 'bad'}",
        "--end-date=2026-01-07",
        "--window-days=1",
    )
    assert run.code == 1
