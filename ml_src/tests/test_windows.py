"""Processing windows are UTC instants whatever the machine's time zone."""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.windows import Window, parse_instant, range_predicate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-01-01", datetime(2016, 1, 1, tzinfo=UTC)),
        ("2016-01-01T06:30:00", datetime(2016, 1, 1, 6, 30, tzinfo=UTC)),
        ("2016-01-01T06:30:00Z", datetime(2016, 1, 1, 6, 30, tzinfo=UTC)),
        ("2016-01-01T01:30:00-05:00", datetime(2016, 1, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_dates_are_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


def test_unresolved_dynamic_value_reference_is_named() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="unresolved Databricks dynamic value"):
        parse_instant("{{job.trigger.time.iso_dat}}")


def test_window_from_end_and_days() -> None:
    end = datetime(2016, 1, 29, tzinfo=UTC)
    assert Window.from_bounds(None, end, 7) == Window(datetime(2016, 1, 22, tzinfo=UTC), end)
    assert Window.from_bounds(None, end, 0) == Window(None, end)
    with pytest.raises(PipelineError, match="empty processing window"):
        Window.from_bounds(end, end, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2016, 1, 1), None)


def test_naive_bounds_are_taken_as_utc() -> None:
    window = Window.from_bounds(datetime(2016, 1, 1, 5), None)
    assert window.start == datetime(2016, 1, 1, 5, tzinfo=UTC)
    assert Window.from_bounds(
        datetime(2016, 1, 1, 6, tzinfo=timezone(timedelta(hours=1))), None
    ).start == datetime(2016, 1, 1, 5, tzinfo=UTC)


@pytest.mark.spark
def test_window_filters_the_same_rows_in_any_driver_time_zone(spark) -> None:
    """PySpark reads naive datetimes in the driver's local zone; aware bounds do not move."""
    from pyspark.sql import functions as F

    from taxi_fare_mlops.features import filter_time_range

    rows = spark.createDataFrame(
        [(datetime(2016, 1, 1, h, tzinfo=UTC),) for h in range(24)], "t timestamp"
    )
    window = Window(datetime(2016, 1, 1, 5, tzinfo=UTC), datetime(2016, 1, 1, 8, tzinfo=UTC))
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        kept = filter_time_range(rows, "t", window.start, window.end).count()
        by_sql = rows.filter(F.expr(range_predicate("t", window))).count()
    finally:
        if previous is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = previous
        time.tzset()
    assert kept == by_sql == 3
    with pytest.raises(ValueError, match="timezone-aware"):
        filter_time_range(rows, "t", datetime(2016, 1, 1, 5), None)
