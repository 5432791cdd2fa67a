"""The ``monitor`` step: drift (PSI per feature and of the predictions) and RMSE of one window
of inference traffic, **per model version**: each version's rows are compared with that
version's own training baseline, so a window scored partly by the previous champion is
monitored, not skipped. The verdict goes to the metrics table.

* A version with too little traffic in the window (default: fewer than 100 rows) is recorded
  as skipped; a window without any traffic is the expected state ``no_data``.
* **Calendar features** (the weekend flag) follow the calendar, not the population: a Saturday
  is all weekend trips. Their PSI is recorded for information but excluded from the decision.
* **RMSE** uses only rows whose actual fare has arrived (the ``label`` step), and only when at
  least ``min_labeled_rows`` of them have.
* **Quality monitor**: when Lakehouse Monitoring's drift metrics table of the inference table
  exists, its baseline-drift PSI of the window feeds the same decision.
* The decision: retrain when the current champion's rows breach a threshold (a breach of an
  older version is recorded, but the champion has replaced it already).
* The window's rows replace its earlier rows, so a retry or a rerun never duplicates them; the
  verdict row (``metric='retrain'``) is what the monitoring job's condition reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.drift import BinnedDistribution, psi
from taxi_fare_mlops.features import filter_time_range
from taxi_fare_mlops.metrics import regression_metrics
from taxi_fare_mlops.metrics_table import METRICS_SCHEMA, VERDICT_METRIC, monitoring_predicate
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.registry import BASELINE_PROFILE_ARTIFACT, CHAMPION, NO_VERSION
from taxi_fare_mlops.windows import Window

CALENDAR_FEATURES: tuple[str, ...] = (c.DROPOFF_IS_WEEKEND,)
"""Features determined by the calendar; a window's share of weekend trips is not drift."""
QUALITY_DRIFT_SUFFIX = "_drift_metrics"
"""Lakehouse Monitoring writes ``{output_schema}.{table_name}_drift_metrics``."""


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
    computed_at: datetime | None = None,
) -> list[tuple[object, ...]]:
    """Long-format rows of one version's metrics (one per metric and feature)."""
    base = (computed_at or datetime.now(UTC), window.start, window.end, model_name, model_version)
    rows: list[tuple[object, ...]] = [
        (*base, "rows", None, float(result.rows), float(config.min_rows), False, None),
        (*base, "labeled_rows", None, float(result.labeled_rows), None, False, None),
    ]
    if result.skipped:
        note = "; ".join(result.reasons)
        rows.append((*base, "skipped", None, 1.0, None, False, note))
        rows.append((*base, "version_retrain", None, 0.0, None, False, note))
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
    rows.append((*base, "version_retrain", None, float(result.retrain), None, result.retrain, note))
    return rows


def read_quality_drift(
    platform: Platform, inference_table: str, window: Window, versions: list[str]
) -> tuple[dict[str, dict[str, float]], str]:
    """Baseline-drift PSI per version and feature that Lakehouse Monitoring computed for the
    window (``{version: {column: psi}}``), and a note on what was (not) found.

    Reads ``<inference table>_drift_metrics`` (same schema): rows with ``drift_type =
    'BASELINE'``, the window starting at ``window.start``, the whole table (no slice); the model
    version is in the column named like the inference table's model id column. A missing
    table, column or row is not an error: the monitor may not have refreshed yet.
    """
    name = inference_table + QUALITY_DRIFT_SUFFIX
    if not platform.tables.exists(name):
        return {}, f"quality monitor: {name} does not exist (yet)"
    drift = platform.tables.read(name)
    needed = {"window", "drift_type", "column_name", "population_stability_index", c.MODEL_VERSION}
    missing = sorted(needed - set(drift.columns))
    if missing:
        return {}, f"quality monitor: {name} has no column(s) {missing}; not used"
    rows = (
        drift.filter(F.col("drift_type") == "BASELINE")
        .filter(F.col("window.start") == F.lit(window.start))
        .filter(F.col(c.MODEL_VERSION).isin(versions))
        .filter(F.col("population_stability_index").isNotNull())
    )
    if "slice_key" in drift.columns:
        rows = rows.filter(F.col("slice_key").isNull())
    found: dict[str, dict[str, float]] = {}
    for row in rows.select(c.MODEL_VERSION, "column_name", "population_stability_index").collect():
        found.setdefault(str(row[0]), {})[str(row[1])] = float(row[2])
    if not found:
        return {}, f"quality monitor: no baseline drift rows for {window.describe()} in {name}"
    return found, f"quality monitor: baseline drift of {sorted(found)} read from {name}"


@dataclass
class WindowMonitoring:
    """The monitor's decision for one window, over every model version that scored in it."""

    window: str
    rows: int
    champion_version: str | None
    versions: dict[str, MonitoringResult] = field(default_factory=dict)
    retrain: bool = False
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``ok`` or ``no_data`` (no traffic in the window)."""
        return "ok" if self.rows else "no_data"

    @property
    def verdict(self) -> str:
        """``retrain``, ``stable``, ``too_few_rows`` (the deciding version was skipped) or
        ``no_data``."""
        if not self.rows:
            return "no_data"
        if self.retrain:
            return "retrain"
        deciding = [v for k, v in self.versions.items() if self._decides(k)]
        return "too_few_rows" if deciding and all(v.skipped for v in deciding) else "stable"

    def _decides(self, version: str) -> bool:
        return self.champion_version is None or version == self.champion_version


def _quality_rows(
    base: tuple, psis: Mapping[str, float], config: MonitoringConfig
) -> tuple[list[tuple[object, ...]], list[str]]:
    rows: list[tuple[object, ...]] = []
    reasons: list[str] = []
    for name, value in sorted(psis.items()):
        if name in config.calendar_features or name not in c.MODEL_FEATURES:
            rows.append((*base, "quality_psi", name, value, None, False, "not a decision feature"))
            continue
        breached = value > config.psi_threshold
        rows.append((*base, "quality_psi", name, value, config.psi_threshold, breached, None))
        if breached:
            reasons.append(f"quality monitor PSI({name})={value:.3f} > {config.psi_threshold}")
    return rows, reasons


def run_monitoring(
    platform: Platform,
    model_name: str,
    inference_table: str,
    metrics_table: str,
    window: Window,
    config: MonitoringConfig | None = None,
) -> WindowMonitoring:
    """Monitor every model version's traffic with request time in ``window`` against its own
    baseline; record the metrics and the verdict."""
    config = config or MonitoringConfig()
    platform.use_mlflow()
    registry = platform.registry(model_name)
    champion = registry.pointed(CHAMPION)
    champion_version = str(champion.version) if champion is not None else None
    traffic = pd.DataFrame(columns=[*c.MODEL_FEATURES, c.PREDICTION, c.LABEL, c.MODEL_VERSION])
    if platform.tables.exists(inference_table):
        frame = filter_time_range(
            platform.tables.read(inference_table), c.REQUEST_TIME, window.start, window.end
        )
        traffic = frame.select(*c.MODEL_FEATURES, c.PREDICTION, c.LABEL, c.MODEL_VERSION).toPandas()
    result = WindowMonitoring(window.describe(), len(traffic), champion_version)
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    versions = sorted(traffic[c.MODEL_VERSION].dropna().astype(str).unique(), key=_version_key)
    quality, note = read_quality_drift(platform, inference_table, window, versions)
    if versions:
        result.notes.append(note)
    for version in versions:
        part = traffic.loc[traffic[c.MODEL_VERSION].astype(str) == version]
        run_id = registry.version(version).run_id
        profile = mlflow.artifacts.load_dict(f"runs:/{run_id}/{BASELINE_PROFILE_ARTIFACT}")
        outcome = evaluate_drift(profile, part, config)
        outcome.window, outcome.model_version = window.describe(), version
        result.versions[version] = outcome
        rows += metric_rows(outcome, config, model_name, version, window, now)
        base = (now, window.start, window.end, model_name, version)
        quality_rows, quality_reasons = _quality_rows(base, quality.get(version, {}), config)
        rows += quality_rows
        reasons = [*outcome.reasons, *quality_reasons] if not outcome.skipped else []
        if result._decides(version):
            result.reasons += [f"v{version}: {r}" for r in reasons]
        elif reasons:
            result.notes.append(
                f"v{version} (replaced by champion v{champion_version}): {'; '.join(reasons)}"
            )
    result.retrain = bool(result.reasons)
    if not versions:
        result.notes.append(f"no scored rows in {window.describe()}")
    note_text = "; ".join(result.reasons or result.notes) or None
    base = (now, window.start, window.end, model_name, champion_version or NO_VERSION)
    rows.append((*base, "window_rows", None, float(result.rows), None, False, None))
    rows.append(
        (
            *base,
            VERDICT_METRIC,
            result.verdict,
            float(result.retrain),
            None,
            result.retrain,
            note_text,
        )
    )
    platform.tables.replace_where(
        metrics_table,
        platform.spark.createDataFrame(rows, METRICS_SCHEMA),
        monitoring_predicate(model_name, window),
    )
    return result


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (1 << 30, version)
