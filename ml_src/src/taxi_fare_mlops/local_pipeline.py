"""Run the platform's jobs locally on generated data: ``python -m taxi_fare_mlops.local_pipeline``.

What the Databricks jobs do, in order, on local Spark and a SQLite MLflow:

1. ``ml_pipeline`` on the training period: featurize, train, evaluate, promote;
2. for each of ``--windows`` consecutive scoring windows (``--score-days`` each):
   ``batch_inference`` (featurize the window, score it, and score it again as a task retry
   would: the window is replaced, never duplicated), ``monitoring`` (PSI per feature, RMSE on
   labelled rows, the retrain verdict, the retrain trigger), then an ``ml_pipeline`` run on
   everything up to the window's end, whose challenger is promoted only if it is strictly
   better than the champion.

Everything (parquet tables, feature tables, MLflow tracking and registry, artifacts) lives under
``--workdir``. ``--drift`` lengthens the trips of the last window, so monitoring signals a
retrain there.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.cli import DEFAULT_EXPERIMENT, DEFAULT_MODEL, configure_logging
from taxi_fare_mlops.data.generator import (
    TripGeneratorConfig,
    generate_trips,
    new_york_midnight_utc,
)
from taxi_fare_mlops.datasets import DataSources
from taxi_fare_mlops.evaluation import run_evaluation
from taxi_fare_mlops.featurization import run_featurize
from taxi_fare_mlops.gate import GateResult
from taxi_fare_mlops.monitoring import CALENDAR_FEATURES, MonitoringResult, run_monitoring
from taxi_fare_mlops.platform import Platform, local_platform
from taxi_fare_mlops.promotion import PromotionResult, promote
from taxi_fare_mlops.retrain import RetrainResult, run_retrain
from taxi_fare_mlops.scoring import run_scoring
from taxi_fare_mlops.spark_session import local_spark
from taxi_fare_mlops.training import TrainingConfig, TrainingResult, run_training
from taxi_fare_mlops.windows import Window, parse_instant

EXPERIMENT = DEFAULT_EXPERIMENT
MODEL = DEFAULT_MODEL
INFERENCE_TABLE = "taxi_fare_inference"
METRICS_TABLE = "taxi_fare_monitoring"
PIPELINE_JOB_ID = "1"
"""Stand-in ID of the ``ml_pipeline`` job for the local retrain trigger."""


@dataclass(frozen=True)
class LocalRunConfig:
    """Sizes and dates of a local run."""

    workdir: Path
    rows: int = 20_000
    start: datetime = datetime(2016, 1, 1)
    train_days: int = 28
    score_days: int = 7
    windows: int = 2
    seed: int = 42
    drift: float = 0.0


@dataclass
class PipelineRun:
    """One ``ml_pipeline`` run: the challenger, the gate's verdict, the promotion decision."""

    window: Window
    training: TrainingResult
    gate: GateResult
    promotion: PromotionResult

    def render(self) -> str:
        m = self.training.metrics
        verdict = "PASSED" if self.gate.passed else "REJECTED"
        failed = "; ".join(f"{ch.name}: {ch.detail}" for ch in self.gate.failed_checks)
        return (
            f"  ml_pipeline {self.window.describe()}: challenger v{self.training.model_version}"
            f" holdout RMSE {m['holdout_rmse']:.3f} R2 {m['holdout_r2']:.3f}\n"
            f"  gate verdict    : {verdict}"
            + (f" ({failed})" if failed else "")
            + f" vs champion {self.gate.context.get('champion_version')}\n"
            f"  champion        : v{self.promotion.champion_version} ({self.promotion.reason})"
        )


@dataclass
class WindowRun:
    """One scoring window: scoring, monitoring, the retrain signal and the pipeline after it."""

    window: Window
    rows_scored: int
    rows_in_table: int
    duplicates: int
    monitoring: MonitoringResult
    retrain: RetrainResult
    pipeline: PipelineRun

    def render(self, index: int) -> str:
        mon = self.monitoring
        lines = [
            f"window {index} {self.window.describe()}",
            f"  rows scored     : {self.rows_scored} (scored twice, as a retry would;"
            f" {self.rows_in_table} rows in the table for this window)",
            f"  duplicates      : {self.duplicates}",
        ]
        if mon.skipped:
            lines.append(f"  monitoring      : {'; '.join(mon.reasons)}")
        else:
            psi = ", ".join(
                f"{name} {value:.3f}"
                + (" (calendar, excluded)" if name in CALENDAR_FEATURES else "")
                for name, value in mon.feature_psi.items()
            )
            rmse = f"{mon.rmse:.3f}" if mon.rmse is not None else "n/a"
            lines += [
                f"  PSI per feature : {psi}",
                f"  prediction PSI  : {mon.prediction_psi:.3f}; RMSE on {mon.labeled_rows}"
                f" labelled rows {rmse} (holdout {mon.baseline_rmse:.3f})",
            ]
        signal = (
            f"YES ({'; '.join(mon.reasons)}); pipeline run {self.retrain.pipeline_run_id} started"
            if self.retrain.retrain
            else "no"
        )
        lines.append(f"  retrain signal  : {signal}")
        lines.append(self.pipeline.render())
        return "\n".join(lines)


@dataclass
class LocalRunSummary:
    """What the run did, for the printed summary and for tests."""

    initial: PipelineRun
    windows: list[WindowRun] = field(default_factory=list)
    seconds: float = 0.0

    def render(self) -> str:
        """The human-readable summary printed at the end of the run."""
        lines = ["== taxi-fare local pipeline ==", "initial training", self.initial.render()]
        lines += [run.render(i) for i, run in enumerate(self.windows, start=1)]
        lines.append(f"elapsed: {self.seconds:.1f}s")
        return "\n".join(lines)


def _write_trips(platform: Platform, cfg: LocalRunConfig, table: str) -> None:
    parts = [
        generate_trips(
            TripGeneratorConfig(
                n_rows=cfg.rows, start=cfg.start, days=cfg.train_days, seed=cfg.seed
            )
        )
    ]
    per_window = max(cfg.rows * cfg.score_days // cfg.train_days, 200)
    for k in range(cfg.windows):
        last = k == cfg.windows - 1
        parts.append(
            generate_trips(
                TripGeneratorConfig(
                    n_rows=per_window,
                    start=cfg.start + timedelta(days=cfg.train_days + k * cfg.score_days),
                    days=cfg.score_days,
                    seed=cfg.seed + 1 + k,
                    distance_scale=1.0 + (cfg.drift if last else 0.0),
                )
            )
        )
    trips = pd.concat(parts, ignore_index=True)
    platform.tables.overwrite(table, platform.spark.createDataFrame(trips))


def _pipeline(
    platform: Platform, sources: DataSources, history: Window, window: Window, cfg: LocalRunConfig
) -> PipelineRun:
    """The ``ml_pipeline`` job: featurize ``window``, train on ``history``, gate, promote."""
    run_featurize(
        platform, sources.trips, sources.pickup_features, sources.dropoff_features, window
    )
    model_name = platform.model_name(MODEL)
    trained = run_training(
        platform, sources, model_name, EXPERIMENT, history, TrainingConfig(seed=cfg.seed)
    )
    gate = run_evaluation(platform, sources, model_name, EXPERIMENT, trained.model_version)
    promotion = promote(platform.registry(model_name), trained.model_version)
    return PipelineRun(history, trained, gate, promotion)


def _window_rows(platform: Platform, window: Window) -> tuple[int, int]:
    """(rows, duplicated rows) of the inference table inside ``window``."""
    frame = platform.tables.read(platform.table_name(INFERENCE_TABLE)).filter(
        (F.col(c.REQUEST_TIME) >= F.lit(window.start)) & (F.col(c.REQUEST_TIME) < F.lit(window.end))
    )
    trip = [c.REQUEST_TIME, c.DROPOFF_TS, *c.MODEL_FEATURES, c.LABEL]
    rows = frame.count()
    return rows, rows - frame.select(*trip).distinct().count()


def run_local_pipeline(cfg: LocalRunConfig, platform: Platform | None = None) -> LocalRunSummary:
    """Run the initial training and every scoring window; ``platform`` defaults to a local one
    rooted at ``cfg.workdir``."""
    started = time.monotonic()
    if platform is None:
        spark = local_spark(warehouse_dir=cfg.workdir / "spark-warehouse")
        platform = local_platform(spark, cfg.workdir)
    sources = DataSources(
        trips=platform.table_name("raw_trips"),
        pickup_features=platform.table_name("trip_pickup_features"),
        dropoff_features=platform.table_name("trip_dropoff_features"),
    )
    model_name = platform.model_name(MODEL)
    _write_trips(platform, cfg, sources.trips)
    # Generated days are New York calendar days; windows are UTC instants.
    start = new_york_midnight_utc(cfg.start)
    split = new_york_midnight_utc(cfg.start + timedelta(days=cfg.train_days))
    summary = LocalRunSummary(
        initial=_pipeline(platform, sources, Window(start, split), Window(start, split), cfg)
    )
    for k in range(cfg.windows):
        first_day = cfg.start + timedelta(days=cfg.train_days + k * cfg.score_days)
        window = Window(
            new_york_midnight_utc(first_day),
            new_york_midnight_utc(first_day + timedelta(days=cfg.score_days)),
        )
        run_key = f"local-window-{k + 1}"
        run_featurize(
            platform, sources.trips, sources.pickup_features, sources.dropoff_features, window
        )
        inference = platform.table_name(INFERENCE_TABLE)
        scored = run_scoring(platform, sources, model_name, inference, window)
        run_scoring(platform, sources, model_name, inference, window)  # a retry of the task
        rows, duplicates = _window_rows(platform, window)
        monitoring = run_monitoring(
            platform, model_name, inference, platform.table_name(METRICS_TABLE), window
        )
        retrain = run_retrain(
            platform,
            platform.table_name(METRICS_TABLE),
            model_name,
            window,
            PIPELINE_JOB_ID,
            run_key,
        )
        pipeline = _pipeline(platform, sources, Window(start, window.end), window, cfg)
        summary.windows.append(
            WindowRun(window, scored.rows, rows, duplicates, monitoring, retrain, pipeline)
        )
    summary.seconds = time.monotonic() - started
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit code 0 even when the gate rejects (the summary says so)."""
    parser = argparse.ArgumentParser(prog="python -m taxi_fare_mlops.local_pipeline")
    parser.add_argument("--workdir", type=Path, default=Path(".local/ml"))
    parser.add_argument("--rows", type=int, default=20_000, help="training-period trips")
    parser.add_argument(
        "--start-date", type=parse_instant, default=datetime(2016, 1, 1), help="New York date"
    )
    parser.add_argument("--train-days", type=int, default=28)
    parser.add_argument("--score-days", type=int, default=7, help="days per scoring window")
    parser.add_argument("--windows", type=int, default=2, help="scoring windows in sequence")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--drift", type=float, default=0.0, help="relative trip-distance shift in the last window"
    )
    args = parser.parse_args(argv)
    configure_logging()
    summary = run_local_pipeline(
        LocalRunConfig(
            workdir=args.workdir,
            rows=args.rows,
            start=args.start_date.replace(tzinfo=None),
            train_days=args.train_days,
            score_days=args.score_days,
            windows=args.windows,
            seed=args.seed,
            drift=args.drift,
        )
    )
    print(summary.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
