"""Column names shared by every step (raw trips, feature tables, model input, inference log)."""

from __future__ import annotations

# Raw trips (same schema as samples.nyctaxi.trips / nyctaxi-with-zipcodes).
PICKUP_TS = "tpep_pickup_datetime"
DROPOFF_TS = "tpep_dropoff_datetime"
TRIP_DISTANCE = "trip_distance"
PICKUP_ZIP = "pickup_zip"
DROPOFF_ZIP = "dropoff_zip"
LABEL = "fare_amount"
RAW_TRIP_COLUMNS: tuple[str, ...] = (
    PICKUP_TS,
    DROPOFF_TS,
    TRIP_DISTANCE,
    LABEL,
    PICKUP_ZIP,
    DROPOFF_ZIP,
)

# Feature tables: primary key (zip, ts), ts is the timestamp key (window end).
FEATURE_KEY = "zip"
FEATURE_TS = "ts"
MEAN_FARE_1H_PICKUP = "mean_fare_window_1h_pickup_zip"
COUNT_TRIPS_1H_PICKUP = "count_trips_window_1h_pickup_zip"
COUNT_TRIPS_30M_DROPOFF = "count_trips_window_30m_dropoff_zip"
DROPOFF_IS_WEEKEND = "dropoff_is_weekend"
PICKUP_FEATURES: tuple[str, ...] = (MEAN_FARE_1H_PICKUP, COUNT_TRIPS_1H_PICKUP)
DROPOFF_FEATURES: tuple[str, ...] = (COUNT_TRIPS_30M_DROPOFF, DROPOFF_IS_WEEKEND)

# Lookup times used for the point-in-time join.
PICKUP_LOOKUP_TS = "pickup_lookup_ts"
DROPOFF_LOOKUP_TS = "dropoff_lookup_ts"

# Model input, in this order (parity with the original accelerator).
MODEL_FEATURES: tuple[str, ...] = (
    TRIP_DISTANCE,
    PICKUP_ZIP,
    DROPOFF_ZIP,
    MEAN_FARE_1H_PICKUP,
    COUNT_TRIPS_1H_PICKUP,
    COUNT_TRIPS_30M_DROPOFF,
    DROPOFF_IS_WEEKEND,
)

# Inference table (Lakehouse Monitoring InferenceLog profile).
TRIP_ID = "trip_id"
"""The trip key in the inference table (the source's key column, whatever its name there)."""
PREDICTION = "prediction"
MODEL_VERSION = "model_version"
MODEL_NAME = "model_name"
REQUEST_TIME = "request_time"
SCORED_AT = "scored_at"
