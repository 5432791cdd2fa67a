"""The ``monitor`` step: drift (PSI per feature and of the predictions) and RMSE of one window
of the champion's traffic; writes its verdict to the metrics table.

* A window with too little champion traffic (default: fewer than 100 rows, including none) is
  **skipped and recorded** (``metric='skipped'``), never a failure and never a retrain.
* **Calendar features** (the weekend flag) follow the calendar, not the population: a Saturday
  is all weekend trips. Their PSI is recorded for information but excluded from the decision.
* **RMSE** uses only rows whose actual fare has arrived, and only when at least
  ``min_labeled_rows`` of them have.
* The verdict rows of a window replace that window's earlier rows, so a retry or a rerun never
  duplicates them; ``taxi-fare-retrain`` reads the verdict from this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql import types as T

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.drift import BinnedDistribution, psi
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.features import filter_time_range
from taxi_fare_mlops.metrics import regression_metrics
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.registry import BASELINE_PROFILE_ARTIFACT, CHAMPION
from taxi_fare_mlops.windows import Window, equals_predicate, sql_string

CALENDAR_FEATURES: tuple[str, ...] = (c.DROPOFF_IS_WEEKEND,)
"""Features determined by the calendar; a window's share of weekend trips is not drift."""

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
        T.StructField("note", T.StringType(), True),
    ]
)


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds that raise the retrain signal."""

    psi_threshold: float = 0.2
    prediction_psi_threshold: float = 0.2
    max_rmse_increase: float = 0.25
    min_rows: int = 100
    min_labeled_rows: int = 100
    calendar_features: tuple[str, ...] = CALENDAR_FEATURES


@dataclass
class MonitoringResult:
    """Drift and performance of one window of inference traffic, and the verdict."""

    rows: int
    labeled_rows: int
    feature_psi: dict[str, float]
    """Every feature's PSI, calendar features included (for information)."""
    prediction_psi: float | None
    rmse: float | None
    baseline_rmse: float
    retrain: bool
    skipped: bool = False
    reasons: list[str] = field(default_factory=list)
    window: str = ""
    model_version: str = ""


def evaluate_drift(
    profile: Mapping[str, object], inference: pd.DataFrame, config: MonitoringConfig
) -> MonitoringResult:
    """Compare an inference window with the training baseline ``profile`` (pure function)."""
    baseline_rmse = float(profile["holdout_rmse"])  # type: ignore[arg-type]
    if len(inference) < config.min_rows:
        return MonitoringResult(
            rows=len(inference),
            labeled_rows=int(inference[c.LABEL].notna().sum()) if len(inference) else 0,
            feature_psi={},
            prediction_psi=None,
            rmse=None,
            baseline_rmse=baseline_rmse,
            retrain=False,
            skipped=True,
            reasons=[f"skipped: {len(inference)} scored rows, need at least {config.min_rows}"],
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
    reasons = [
        f"PSI({name})={value:.3f} > {config.psi_threshold}"
        for name, value in feature_psi.items()
        if name not in config.calendar_features and value > config.psi_threshold
    ]
    if prediction_psi > config.prediction_psi_threshold:
        reasons.append(f"PSI(prediction)={prediction_psi:.3f} > {config.prediction_psi_threshold}")
    rmse_limit = baseline_rmse * (1.0 + config.max_rmse_increase)
    if rmse is not None and len(labeled) >= config.min_labeled_rows and rmse > rmse_limit:
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
    window: Window,
) -> list[tuple[object, ...]]:
    """Long-format rows for the metrics table (one per metric and feature)."""
    base = (datetime.now(UTC), window.start, window.end, model_name, model_version)
    rows: list[tuple[object, ...]] = [
        (*base, "rows", None, float(result.rows), float(config.min_rows), False, None),
        (*base, "labeled_rows", None, float(result.labeled_rows), None, False, None),
    ]
    if result.skipped:
        note = "; ".join(result.reasons)
        rows.append((*base, "skipped", None, 1.0, None, False, note))
        rows.append((*base, "retrain", None, 0.0, None, False, note))
        return rows
    for name, value in result.feature_psi.items():
        if name in config.calendar_features:
            note = "calendar feature: recorded, excluded from the retrain decision"
            rows.append((*base, "psi", name, value, None, False, note))
        else:
            breached = value > config.psi_threshold
            rows.append((*base, "psi", name, value, config.psi_threshold, breached, None))
    prediction_psi = result.prediction_psi or 0.0
    rows.append(
        (
            *base,
            "prediction_psi",
            None,
            prediction_psi,
            config.prediction_psi_threshold,
            prediction_psi > config.prediction_psi_threshold,
            None,
        )
    )
    limit = result.baseline_rmse * (1.0 + config.max_rmse_increase)
    usable = result.rmse is not None and result.labeled_rows >= config.min_labeled_rows
    rows.append(
        (
            *base,
            "rmse",
            None,
            result.rmse,
            limit,
            bool(usable and result.rmse > limit),  # type: ignore[operator]
            None if usable else f"only {result.labeled_rows} labelled rows: not used",
        )
    )
    note = "; ".join(result.reasons) or None
    rows.append((*base, "retrain", None, float(result.retrain), None, result.retrain, note))
    return rows


def verdict_predicate(model_name: str, window: Window) -> str:
    """The metrics-table rows of one model and window (what a rerun replaces)."""
    return " AND ".join(
        [
            equals_predicate("window_start", window.start),
            equals_predicate("window_end", window.end),
            f"`{c.MODEL_NAME}` = {sql_string(model_name)}",
        ]
    )


def run_monitoring(
    platform: Platform,
    model_name: str,
    inference_table: str,
    metrics_table: str,
    window: Window,
    config: MonitoringConfig | None = None,
) -> MonitoringResult:
    """Monitor the champion's traffic with request time in ``window``; record the verdict."""
    config = config or MonitoringConfig()
    platform.use_mlflow()
    champion = platform.registry(model_name).resolve(None, CHAMPION)
    profile = mlflow.artifacts.load_dict(f"runs:/{champion.run_id}/{BASELINE_PROFILE_ARTIFACT}")
    if not platform.tables.exists(inference_table):
        raise PipelineError(f"inference table {inference_table} does not exist; run score first")
    traffic = platform.tables.read(inference_table).filter(
        F.col(c.MODEL_VERSION) == str(champion.version)
    )
    traffic = filter_time_range(traffic, c.REQUEST_TIME, window.start, window.end)
    inference = traffic.select(*c.MODEL_FEATURES, c.PREDICTION, c.LABEL).toPandas()
    result = evaluate_drift(profile, inference, config)
    result.window = window.describe()
    result.model_version = str(champion.version)
    rows = metric_rows(result, config, model_name, str(champion.version), window)
    platform.tables.replace_where(
        metrics_table,
        platform.spark.createDataFrame(rows, METRICS_SCHEMA),
        verdict_predicate(model_name, window),
    )
    return result


@dataclass(frozen=True)
class RetrainVerdict:
    """The monitor's recorded decision for one window."""

    retrain: bool
    model_version: str
    note: str


def read_verdict(
    platform: Platform, metrics_table: str, model_name: str, window: Window
) -> RetrainVerdict:
    """The ``retrain`` row ``monitor`` wrote for ``model_name`` and ``window``."""
    if not platform.tables.exists(metrics_table):
        raise PipelineError(f"metrics table {metrics_table} does not exist; run monitor first")
    rows = (
        platform.tables.read(metrics_table)
        .filter(F.expr(verdict_predicate(model_name, window)))
        .filter(F.col("metric") == "retrain")
        .orderBy(F.col("computed_at").desc())
        .limit(1)
        .collect()
    )
    if not rows:
        raise PipelineError(
            f"no monitoring verdict for {model_name} in window {window.describe()} in "
            f"{metrics_table}; run taxi-fare-monitor for the same window first"
        )
    row = rows[0]
    return RetrainVerdict(bool(row["breached"]), str(row[c.MODEL_VERSION]), row["note"] or "")
