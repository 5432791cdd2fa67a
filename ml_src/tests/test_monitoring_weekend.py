"""A weekend-only window on real generated trips, real features and a real LightGBM model:
the weekend flag's PSI is large (all trips are weekend trips), yet no retrain is signalled."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import SparkSession

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.data.generator import (
    TripGeneratorConfig,
    generate_trips,
    new_york_midnight_utc,
)
from taxi_fare_mlops.datasets import to_model_input
from taxi_fare_mlops.features import build_feature_frame, dropoff_features, pickup_features
from taxi_fare_mlops.metrics import regression_metrics
from taxi_fare_mlops.monitoring import MonitoringConfig, evaluate_drift
from taxi_fare_mlops.training import baseline_profile, fit_lightgbm
from taxi_fare_mlops.windows import Window

pytestmark = pytest.mark.spark


def test_weekend_only_window_does_not_trigger_retrain(spark: SparkSession) -> None:
    # 28 days of trips from Friday 2016-01-01 (New York); features over all of them.
    trips = spark.createDataFrame(
        generate_trips(TripGeneratorConfig(n_rows=12_000, start=datetime(2016, 1, 1), days=28))
    )
    frame = build_feature_frame(trips, pickup_features(trips), dropoff_features(trips))
    start = new_york_midnight_utc(datetime(2016, 1, 1))
    split = new_york_midnight_utc(datetime(2016, 1, 22))
    saturday = Window(
        new_york_midnight_utc(datetime(2016, 1, 23)), new_york_midnight_utc(datetime(2016, 1, 24))
    )
    train = frame.filter((frame[c.PICKUP_TS] >= start) & (frame[c.PICKUP_TS] < split)).toPandas()
    traffic = frame.filter(
        (frame[c.PICKUP_TS] >= saturday.start) & (frame[c.PICKUP_TS] < saturday.end)
    ).toPandas()
    x_train = to_model_input(train)
    model = fit_lightgbm(x_train, train[c.LABEL], num_boost_round=50, seed=42)
    predictions = model.predict(x_train)
    profile = baseline_profile(
        x_train, predictions, regression_metrics(train[c.LABEL].to_numpy(), predictions)["rmse"]
    )
    window = to_model_input(traffic).assign(
        **{c.PREDICTION: model.predict(to_model_input(traffic)), c.LABEL: traffic[c.LABEL]}
    )

    result = evaluate_drift(profile, window, MonitoringConfig())

    assert len(window) > 300 and window[c.DROPOFF_IS_WEEKEND].mean() > 0.95
    assert result.feature_psi[c.DROPOFF_IS_WEEKEND] > 0.2  # the calendar, not drift
    assert not result.retrain, result.reasons
    # Control: without the calendar rule, this Saturday alone would trigger retraining.
    naive = evaluate_drift(profile, window, MonitoringConfig(calendar_features=()))
    assert naive.retrain and any(c.DROPOFF_IS_WEEKEND in r for r in naive.reasons)
