"""The ``monitor`` step: feature drift (PSI per feature), prediction drift, RMSE on the rows
whose actual fare has arrived; appends to a metrics table and raises a retrain signal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from pyspark.sql import functions as F
from pyspark.sql import types as T

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.drift import BinnedDistribution, psi
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.features import filter_time_range
from taxi_fare_mlops.metrics import regression_metrics
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.registry import BASELINE_PROFILE_ARTIFACT, CHAMPION, resolve_version

METRICS_SCHEMA = T.StructType(
    [
        T.StructField("computed_at", T.TimestampType(), False),
        T.StructField("window_start", T.TimestampType(), True),
        T.StructField("window_end", T.TimestampType(), True),
        T.StructField(c.MODEL_NAME, T.StringType(), False),
        T.StructField(c.MODEL_VERSION, T.StringType(), False),
        T.StructField("metric", T.StringType(), False),
        T.StructField("feature", T.StringType(), True),
        T.StructField("value", T.DoubleType(), True),
        T.StructField("threshold", T.DoubleType(), True),
        T.StructField("breached", T.BooleanType(), False),
    ]
)


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds that raise the retrain signal."""

    psi_threshold: float = 0.2
    prediction_psi_threshold: float = 0.2
    max_rmse_increase: float = 0.25
    min_rows: int = 100


@dataclass
class MonitoringResult:
    """Drift and performance of one window of inference traffic."""

    rows: int
    labeled_rows: int
    feature_psi: dict[str, float]
    prediction_psi: float
    rmse: float | None
    baseline_rmse: float
    retrain: bool
    reasons: list[str] = field(default_factory=list)


def evaluate_drift(
    profile: Mapping[str, object], inference: pd.DataFrame, config: MonitoringConfig
) -> MonitoringResult:
    """Compare an inference window with the training baseline ``profile`` (pure function)."""
    if len(inference) < config.min_rows:
        raise PipelineError(
            f"only {len(inference)} scored rows in the window; need at least {config.min_rows}"
        )
    features: Mapping[str, Mapping[str, list[float]]] = profile["features"]  # type: ignore[assignment]
    feature_psi = {
        name: psi(BinnedDistribution.from_dict(spec), inference[name].to_numpy(dtype=np.float64))
        for name, spec in features.items()
    }
    prediction_psi = psi(
        BinnedDistribution.from_dict(profile["prediction"]),  # type: ignore[arg-type]
        inference[c.PREDICTION].to_numpy(dtype=np.float64),
    )
    labeled = inference[inference[c.LABEL].notna()]
    rmse = (
        regression_metrics(labeled[c.LABEL].to_numpy(), labeled[c.PREDICTION].to_numpy())["rmse"]
        if len(labeled)
        else None
    )
    baseline_rmse = float(profile["holdout_rmse"])  # type: ignore[arg-type]
    reasons = [
        f"PSI({name})={value:.3f} > {config.psi_threshold}"
        for name, value in feature_psi.items()
        if value > config.psi_threshold
    ]
    if prediction_psi > config.prediction_psi_threshold:
        reasons.append(f"PSI(prediction)={prediction_psi:.3f} > {config.prediction_psi_threshold}")
    rmse_limit = baseline_rmse * (1.0 + config.max_rmse_increase)
    if rmse is not None and rmse > rmse_limit:
        reasons.append(f"RMSE={rmse:.3f} > {rmse_limit:.3f} (holdout {baseline_rmse:.3f})")
    return MonitoringResult(
        rows=len(inference),
        labeled_rows=len(labeled),
        feature_psi=feature_psi,
        prediction_psi=prediction_psi,
        rmse=rmse,
        baseline_rmse=baseline_rmse,
        retrain=bool(reasons),
        reasons=reasons,
    )


def metric_rows(
    result: MonitoringResult,
    config: MonitoringConfig,
    model_name: str,
    model_version: str,
    window: tuple[datetime | None, datetime | None],
) -> list[tuple[object, ...]]:
    """Long-format rows for the metrics table (one per metric and feature)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    base = (now, window[0], window[1], model_name, model_version)
    rows: list[tuple[object, ...]] = [
        (*base, "psi", name, value, config.psi_threshold, value > config.psi_threshold)
        for name, value in result.feature_psi.items()
    ]
    rows.append(
        (
            *base,
            "prediction_psi",
            None,
            result.prediction_psi,
            config.prediction_psi_threshold,
            result.prediction_psi > config.prediction_psi_threshold,
        )
    )
    limit = result.baseline_rmse * (1.0 + config.max_rmse_increase)
    rows.append(
        (*base, "rmse", None, result.rmse, limit, result.rmse is not None and result.rmse > limit)
    )
    rows.append((*base, "rows", None, float(result.rows), None, False))
    rows.append((*base, "labeled_rows", None, float(result.labeled_rows), None, False))
    rows.append((*base, "retrain", None, float(result.retrain), None, result.retrain))
    return rows


def run_monitoring(
    platform: Platform,
    model_name: str,
    inference_table: str,
    metrics_table: str,
    start: datetime | None = None,
    end: datetime | None = None,
    config: MonitoringConfig | None = None,
) -> MonitoringResult:
    """Monitor the champion's traffic with request time in ``[start, end)``."""
    config = config or MonitoringConfig()
    mlflow.set_tracking_uri(platform.tracking_uri)
    mlflow.set_registry_uri(platform.registry_uri)
    champion = resolve_version(MlflowClient(), model_name, None, CHAMPION)
    profile = mlflow.artifacts.load_dict(f"runs:/{champion.run_id}/{BASELINE_PROFILE_ARTIFACT}")
    traffic = platform.tables.read(inference_table).filter(
        F.col(c.MODEL_VERSION) == str(champion.version)
    )
    traffic = filter_time_range(traffic, c.REQUEST_TIME, start, end)
    inference = traffic.select(*c.MODEL_FEATURES, c.PREDICTION, c.LABEL).toPandas()
    result = evaluate_drift(profile, inference, config)
    rows = metric_rows(result, config, model_name, str(champion.version), (start, end))
    platform.tables.append(metrics_table, platform.spark.createDataFrame(rows, METRICS_SCHEMA))
    platform.set_task_value("retrain", result.retrain)
    return result
