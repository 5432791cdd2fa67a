"""Processing windows: UTC instants, parsed from job parameters, turned into Spark predicates.

Every bound is a timezone-aware UTC ``datetime``. A naive value given to PySpark would be read
in the *driver process's* local time zone (``TimestampType.toInternal`` uses ``time.mktime``),
so naive datetimes never reach Spark from here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from taxi_fare_mlops.errors import PipelineError


def to_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive value is taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_instant(value: str) -> datetime | None:
    """ISO date or datetime (``2016-01-01``, ``2016-01-01T06:00:00``, ``...Z``, ``...+01:00``)
    as an aware UTC datetime; empty means unbounded; no offset means UTC.

    A literal ``{{...}}`` is a Databricks dynamic value reference that was not resolved (the
    Jobs service passes unknown references through as plain text), so it is reported as such.
    """
    if not value:
        return None
    if "{{" in value:
        raise argparse.ArgumentTypeError(
            f"{value!r} is an unresolved Databricks dynamic value reference; check its spelling"
            " in the job parameters (e.g. {{job.trigger.time.iso_date}})"
        )
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO date, got {value!r}") from exc


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC; ``None`` is an open bound."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        for bound in (self.start, self.end):
            if bound is not None and bound.tzinfo is None:
                raise ValueError(f"window bounds must be timezone-aware, got {bound!r}")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise PipelineError(
                f"empty processing window: start {self.start.isoformat()} is not before end"
                f" {self.end.isoformat()}"
            )

    @classmethod
    def from_bounds(cls, start: datetime | None, end: datetime | None, days: int = 0) -> Window:
        """``start``/``end`` as given; without a start, ``end - days`` when ``days > 0``."""
        if days < 0:
            raise PipelineError(f"window days must be >= 0, got {days}")
        start = to_utc(start) if start is not None else None
        end = to_utc(end) if end is not None else None
        if start is None and end is not None and days > 0:
            start = end - timedelta(days=days)
        return cls(start, end)

    @property
    def bounded(self) -> bool:
        """Both bounds are set."""
        return self.start is not None and self.end is not None

    def extended_back(self, delta: timedelta) -> Window:
        """The same window starting ``delta`` earlier (unchanged when unbounded)."""
        return Window(self.start - delta if self.start is not None else None, self.end)

    def describe(self) -> str:
        """``[start, end)`` with ISO bounds, ``-inf``/``+inf`` for open ones."""
        lo = self.start.isoformat() if self.start is not None else "-inf"
        hi = self.end.isoformat() if self.end is not None else "+inf"
        return f"[{lo}, {hi})"


def sql_timestamp(value: datetime) -> str:
    """A Spark SQL timestamp literal for an aware instant, independent of the session zone."""
    return f"TIMESTAMP '{to_utc(value).strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00'"


def sql_string(value: str) -> str:
    """A Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def range_predicate(column: str, window: Window) -> str:
    """``start <= column < end`` as Spark SQL (``true`` when unbounded)."""
    parts = []
    if window.start is not None:
        parts.append(f"`{column}` >= {sql_timestamp(window.start)}")
    if window.end is not None:
        parts.append(f"`{column}` < {sql_timestamp(window.end)}")
    return " AND ".join(parts) or "true"


def equals_predicate(column: str, value: datetime | None) -> str:
    """``column = value`` as Spark SQL, ``column IS NULL`` for ``None``."""
    if value is None:
        return f"`{column}` IS NULL"
    return f"`{column}` = {sql_timestamp(value)}"
