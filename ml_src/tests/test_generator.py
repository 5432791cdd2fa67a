from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.data.generator import JFK_FLAT_FARE, TripGeneratorConfig, generate_trips


def test_same_config_gives_identical_frames() -> None:
    cfg = TripGeneratorConfig(n_rows=2_000, seed=7)
    pd.testing.assert_frame_equal(generate_trips(cfg), generate_trips(cfg))


def test_different_seeds_differ() -> None:
    a = generate_trips(TripGeneratorConfig(n_rows=500, seed=1))
    b = generate_trips(TripGeneratorConfig(n_rows=500, seed=2))
    assert not a[c.LABEL].equals(b[c.LABEL])


def test_schema_and_plausible_values() -> None:
    trips = generate_trips(TripGeneratorConfig(n_rows=5_000, start=datetime(2016, 1, 1), days=7))
    assert list(trips.columns) == list(c.RAW_TRIP_COLUMNS)
    assert len(trips) == 5_000
    assert (trips[c.DROPOFF_TS] > trips[c.PICKUP_TS]).all()
    assert trips[c.LABEL].min() >= 2.5
    assert 8.0 < trips[c.LABEL].mean() < 20.0  # the real sample's mean fare is about 12
    assert 1.5 < trips[c.TRIP_DISTANCE].median() < 3.0
    assert set(np.unique(trips[c.LABEL] * 2 % 1)) == {0.0}  # fares in 50-cent steps
    assert (trips[c.LABEL] == JFK_FLAT_FARE).any()
    # New York local dates 2016-01-01..07 are UTC 2016-01-01T05:00 .. 2016-01-08T05:00.
    assert trips[c.PICKUP_TS].min() >= pd.Timestamp("2016-01-01 05:00")
    assert trips[c.PICKUP_TS].max() < pd.Timestamp("2016-01-08 05:00")
    assert trips[c.PICKUP_TS].is_monotonic_increasing


def test_distance_scale_shifts_distances() -> None:
    base = generate_trips(TripGeneratorConfig(n_rows=3_000, seed=3))
    shifted = generate_trips(TripGeneratorConfig(n_rows=3_000, seed=3, distance_scale=1.5))
    assert shifted[c.TRIP_DISTANCE].median() == pytest.approx(
        base[c.TRIP_DISTANCE].median() * 1.5, rel=0.02
    )


def test_rejects_empty_request() -> None:
    with pytest.raises(ValueError, match="positive"):
        generate_trips(TripGeneratorConfig(n_rows=0))
