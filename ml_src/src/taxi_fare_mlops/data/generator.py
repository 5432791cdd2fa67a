"""Deterministic NYC taxi trip generator with the schema of ``samples.nyctaxi.trips``.

The distributions follow the public yellow-cab data closely enough for the pipeline to behave
like it does on the real sample: Manhattan-heavy pickups, a daily demand curve with rush hours,
log-normal trip distances, speeds that drop in rush hour, metered fares (base + distance + time +
surcharges) rounded to 50 cents, and the JFK flat fare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from taxi_fare_mlops import columns as c

NEW_YORK = "America/New_York"

MANHATTAN_ZIPS: tuple[int, ...] = (
    10001, 10002, 10003, 10005, 10009, 10010, 10011, 10012, 10013, 10014, 10016, 10017,
    10018, 10019, 10021, 10022, 10023, 10024, 10025, 10028, 10036, 10065, 10075, 10128,
)  # fmt: skip
OUTER_ZIPS: tuple[int, ...] = (11101, 11103, 11106, 11201, 11211, 11215, 11217, 11222, 11238)
AIRPORT_ZIPS: tuple[int, ...] = (11371, 11430)  # LaGuardia, JFK
JFK_ZIP = 11430
JFK_FLAT_FARE = 52.0

# Relative trip demand per local hour (0..23), shaped like the yellow-cab data.
HOURLY_DEMAND = np.array(
    [3.0, 2.2, 1.6, 1.1, 0.9, 1.0, 2.2, 3.6, 4.6, 4.7, 4.4, 4.5,
     4.8, 4.8, 5.0, 4.9, 4.4, 5.2, 6.0, 6.2, 5.8, 5.5, 5.2, 4.2]
)  # fmt: skip


@dataclass(frozen=True)
class TripGeneratorConfig:
    """Parameters of :func:`generate_trips`.

    ``distance_scale`` multiplies every trip distance; values other than 1.0 produce a
    distribution shift, used to exercise drift monitoring.
    """

    n_rows: int = 20_000
    start: datetime = datetime(2016, 1, 1)
    days: int = 28
    seed: int = 42
    distance_scale: float = 1.0


def _pickup_times(rng: np.random.Generator, cfg: TripGeneratorConfig) -> pd.DatetimeIndex:
    day = rng.integers(0, cfg.days, size=cfg.n_rows)
    local_start = pd.Timestamp(cfg.start).normalize()
    weekday = (local_start.dayofweek + day) % 7
    # Weekends: later mornings, busier nights.
    hourly_weekday = HOURLY_DEMAND / HOURLY_DEMAND.sum()
    weekend_curve = np.roll(HOURLY_DEMAND, 2)
    hourly_weekend = weekend_curve / weekend_curve.sum()
    hour = np.where(
        weekday >= 5,
        rng.choice(24, size=cfg.n_rows, p=hourly_weekend),
        rng.choice(24, size=cfg.n_rows, p=hourly_weekday),
    )
    seconds = rng.integers(0, 3600, size=cfg.n_rows)
    local = (
        local_start
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(hour, unit="h")
        + pd.to_timedelta(seconds, unit="s")
    )
    local_index = pd.DatetimeIndex(local).tz_localize(
        NEW_YORK, ambiguous=np.zeros(cfg.n_rows, dtype=bool), nonexistent="shift_forward"
    )
    # Spark timestamps are instants; we hand over naive UTC values (session time zone is UTC).
    return local_index.tz_convert("UTC").tz_localize(None)


def new_york_midnight_utc(day: datetime) -> datetime:
    """The (timezone-aware, UTC) instant at which the New York calendar day ``day`` starts."""
    local = pd.Timestamp(day.replace(tzinfo=None)).normalize().tz_localize(NEW_YORK)
    return local.tz_convert("UTC").to_pydatetime()


def generate_trips(cfg: TripGeneratorConfig | None = None) -> pd.DataFrame:
    """Generate ``cfg.n_rows`` trips whose pickups fall in ``[cfg.start, cfg.start + cfg.days)``.

    The start is a New York local date; the returned timestamps are naive UTC. The same config
    always gives the same frame (bit for bit). Rows are sorted by pickup time.
    """
    cfg = cfg or TripGeneratorConfig()
    if cfg.n_rows <= 0 or cfg.days <= 0:
        raise ValueError(f"n_rows and days must be positive, got {cfg.n_rows} and {cfg.days}")
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_rows
    pickup = _pickup_times(rng, cfg)
    local_hour = pickup.tz_localize("UTC").tz_convert(NEW_YORK).hour.to_numpy()
    local_weekday = pickup.tz_localize("UTC").tz_convert(NEW_YORK).dayofweek.to_numpy()

    manhattan_w = np.linspace(2.0, 1.0, len(MANHATTAN_ZIPS))
    zip_pool = np.array(MANHATTAN_ZIPS + OUTER_ZIPS + AIRPORT_ZIPS)
    zip_weights = np.concatenate(
        [manhattan_w * 4.0, np.full(len(OUTER_ZIPS), 1.0), np.full(len(AIRPORT_ZIPS), 1.5)]
    )
    pickup_zip = rng.choice(zip_pool, size=n, p=zip_weights / zip_weights.sum())

    distance = rng.lognormal(mean=0.55, sigma=0.7, size=n)
    from_airport = np.isin(pickup_zip, AIRPORT_ZIPS)
    distance = np.where(from_airport, rng.normal(14.0, 3.0, size=n), distance)
    long_trip = distance > 8.0
    dropoff_zip = np.where(
        long_trip,
        rng.choice(np.array(AIRPORT_ZIPS + OUTER_ZIPS), size=n),
        rng.choice(zip_pool[: len(MANHATTAN_ZIPS)], size=n),
    )
    dropoff_zip = np.where(from_airport, rng.choice(np.array(MANHATTAN_ZIPS), size=n), dropoff_zip)
    distance = np.clip(distance * cfg.distance_scale, 0.1, 45.0).round(2)

    rush = ((local_hour >= 7) & (local_hour < 10)) | ((local_hour >= 16) & (local_hour < 20))
    weekday = local_weekday < 5
    mph = np.where(rush & weekday, 9.5, np.where(local_hour < 6, 19.0, 13.0))
    mph = mph * rng.lognormal(0.0, 0.2, size=n)
    minutes = np.maximum(distance / mph * 60.0 + rng.exponential(2.0, size=n), 1.0)
    dropoff = pickup + pd.to_timedelta(np.round(minutes * 60.0), unit="s")

    fare = 2.5 + 2.0 * distance + 0.3 * minutes
    fare += np.where((local_hour >= 20) | (local_hour < 6), 0.5, 0.0)
    fare += np.where(weekday & (local_hour >= 16) & (local_hour < 20), 1.0, 0.0)
    fare += rng.normal(0.0, 0.8, size=n)
    jfk = ((pickup_zip == JFK_ZIP) & np.isin(dropoff_zip, MANHATTAN_ZIPS)) | (
        (dropoff_zip == JFK_ZIP) & np.isin(pickup_zip, MANHATTAN_ZIPS)
    )
    fare = np.where(jfk, JFK_FLAT_FARE, fare)
    fare = np.maximum(np.round(fare * 2.0) / 2.0, 2.5)

    frame = pd.DataFrame(
        {
            c.PICKUP_TS: pickup,
            c.DROPOFF_TS: dropoff,
            c.TRIP_DISTANCE: distance.astype("float64"),
            c.LABEL: fare.astype("float64"),
            c.PICKUP_ZIP: pickup_zip.astype("int32"),
            c.DROPOFF_ZIP: dropoff_zip.astype("int32"),
        }
    )
    return frame.sort_values(c.PICKUP_TS, kind="stable").reset_index(drop=True)
