"""Run the whole pipeline locally on generated data: ``python -m taxi_fare_mlops.local_pipeline``.

Steps: generate trips (a training period plus a later scoring period) -> featurize -> train ->
evaluate (gate) -> promote (only if the gate passed) -> score the later period with the champion
-> monitor drift. Everything (parquet tables, feature tables, MLflow SQLite tracking and
registry, artifacts) lives under ``--workdir``. Running it again trains a new challenger that
is promoted only if it passes the gate against the current champion.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from taxi_fare_mlops.cli import configure_logging, parse_date
from taxi_fare_mlops.data.generator import (
    TripGeneratorConfig,
    generate_trips,
    new_york_midnight_utc,
)
from taxi_fare_mlops.datasets import DataSources
from taxi_fare_mlops.evaluation import run_evaluation
from taxi_fare_mlops.featurization import run_featurize
from taxi_fare_mlops.monitoring import MonitoringConfig, MonitoringResult, run_monitoring
from taxi_fare_mlops.platform import Platform, local_platform
from taxi_fare_mlops.promotion import promote
from taxi_fare_mlops.registry import CHAMPION, version_by_alias
from taxi_fare_mlops.scoring import run_scoring
from taxi_fare_mlops.spark_session import local_spark
from taxi_fare_mlops.training import TrainingConfig, run_training

EXPERIMENT = "nyc_e2e_mlops"
MODEL = "taxi_example_fare_packaged"


@dataclass(frozen=True)
class LocalRunConfig:
    """Sizes and dates of a local run."""

    workdir: Path
    rows: int = 20_000
    start: datetime = datetime(2016, 1, 1)
    train_days: int = 28
    score_days: int = 7
    seed: int = 42
    drift: float = 0.0


@dataclass
class LocalRunSummary:
    """What the run did, for the printed summary and for tests."""

    train_rows: int
    score_rows: int
    model_version: str
    metrics: dict[str, float]
    gate_passed: bool
    gate_failures: list[str]
    champion_version: str | None
    promoted: bool
    monitoring: MonitoringResult | None
    seconds: float

    def render(self) -> str:
        """The human-readable summary printed at the end of the run."""
        m = self.metrics
        lines = [
            "== taxi-fare local pipeline ==",
            f"rows             : {self.train_rows} training trips, {self.score_rows} scored",
            f"challenger       : v{self.model_version}  holdout RMSE {m['holdout_rmse']:.3f}"
            f"  MAE {m['holdout_mae']:.3f}  R2 {m['holdout_r2']:.3f}",
            f"gate             : {'PASSED' if self.gate_passed else 'REJECTED'}"
            + (f" ({'; '.join(self.gate_failures)})" if self.gate_failures else ""),
            f"champion         : v{self.champion_version}"
            + (" (promoted now)" if self.promoted else " (unchanged)"),
        ]
        if self.monitoring is not None:
            mon = self.monitoring
            worst = max(mon.feature_psi.items(), key=lambda item: item[1])
            rmse = f"{mon.rmse:.3f}" if mon.rmse is not None else "n/a"
            lines += [
                f"drift            : max feature PSI {worst[1]:.3f} ({worst[0]}),"
                f" prediction PSI {mon.prediction_psi:.3f}, live RMSE {rmse}",
                f"retrain signal   : {'YES - ' + '; '.join(mon.reasons) if mon.retrain else 'no'}",
            ]
        lines.append(f"elapsed          : {self.seconds:.1f}s")
        return "\n".join(lines)


def _write_trips(platform: Platform, cfg: LocalRunConfig, table: str) -> tuple[int, int]:
    train_rows = cfg.rows
    score_rows = max(cfg.rows * cfg.score_days // cfg.train_days, 200)
    history = generate_trips(
        TripGeneratorConfig(n_rows=train_rows, start=cfg.start, days=cfg.train_days, seed=cfg.seed)
    )
    recent = generate_trips(
        TripGeneratorConfig(
            n_rows=score_rows,
            start=cfg.start + timedelta(days=cfg.train_days),
            days=cfg.score_days,
            seed=cfg.seed + 1,
            distance_scale=1.0 + cfg.drift,
        )
    )
    trips = pd.concat([history, recent], ignore_index=True)
    platform.tables.overwrite(table, platform.spark.createDataFrame(trips))
    return train_rows, score_rows


def run_local_pipeline(cfg: LocalRunConfig, platform: Platform | None = None) -> LocalRunSummary:
    """Run every step once; ``platform`` defaults to a local one rooted at ``cfg.workdir``."""
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
    # Generated days are New York calendar days; the step windows are UTC instants.
    start = new_york_midnight_utc(cfg.start)
    split = new_york_midnight_utc(cfg.start + timedelta(days=cfg.train_days))
    end = new_york_midnight_utc(cfg.start + timedelta(days=cfg.train_days + cfg.score_days))
    train_rows, score_rows = _write_trips(platform, cfg, sources.trips)

    run_featurize(platform, sources.trips, sources.pickup_features, sources.dropoff_features)
    trained = run_training(
        platform,
        sources,
        model_name,
        EXPERIMENT,
        start=start,
        end=split,
        config=TrainingConfig(seed=cfg.seed),
    )
    gate = run_evaluation(platform, sources, model_name, EXPERIMENT, trained.model_version)
    promoted = False
    if gate.passed:
        promoted = promote(platform_client(platform), model_name, trained.model_version).changed
    champion = version_by_alias(platform_client(platform), model_name, CHAMPION)

    monitoring = None
    if champion is not None:
        run_scoring(
            platform,
            sources,
            model_name,
            platform.table_name("taxi_fare_inference"),
            start=split,
            end=end,
        )
        monitoring = run_monitoring(
            platform,
            model_name,
            platform.table_name("taxi_fare_inference"),
            platform.table_name("taxi_fare_monitoring"),
            start=split,
            end=end,
            config=MonitoringConfig(),
        )
    return LocalRunSummary(
        train_rows=train_rows,
        score_rows=score_rows,
        model_version=trained.model_version,
        metrics=trained.metrics,
        gate_passed=gate.passed,
        gate_failures=[f"{ch.name}: {ch.detail}" for ch in gate.failed_checks],
        champion_version=str(champion.version) if champion is not None else None,
        promoted=promoted,
        monitoring=monitoring,
        seconds=time.monotonic() - started,
    )


def platform_client(platform: Platform) -> MlflowClient:
    """An MLflow client bound to the platform's tracking server and registry."""
    return MlflowClient(tracking_uri=platform.tracking_uri, registry_uri=platform.registry_uri)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit code 0 even when the gate rejects (the summary says so)."""
    parser = argparse.ArgumentParser(prog="python -m taxi_fare_mlops.local_pipeline")
    parser.add_argument("--workdir", type=Path, default=Path(".local/ml"))
    parser.add_argument("--rows", type=int, default=20_000, help="training-period trips")
    parser.add_argument("--start-date", type=parse_date, default=datetime(2016, 1, 1))
    parser.add_argument("--train-days", type=int, default=28)
    parser.add_argument("--score-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--drift", type=float, default=0.0, help="relative trip-distance shift in scored trips"
    )
    args = parser.parse_args(argv)
    configure_logging()
    summary = run_local_pipeline(
        LocalRunConfig(
            workdir=args.workdir,
            rows=args.rows,
            start=args.start_date,
            train_days=args.train_days,
            score_days=args.score_days,
            seed=args.seed,
            drift=args.drift,
        )
    )
    print(summary.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
