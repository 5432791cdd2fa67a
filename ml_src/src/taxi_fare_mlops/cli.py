"""Console scripts (``taxi-fare-*``) for Databricks ``python_wheel_task`` and local use.

Every parameter is named (``--key=value``); nothing is hard-coded. Exit codes: 0 success,
1 pipeline error (message on stderr), 2 invalid arguments, 3 gate rejected the challenger,
4 monitoring asks for retraining (local runtime only; on Databricks the signal is the task
value ``retrain`` and the task succeeds).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path

from taxi_fare_mlops.adapters import RUNTIME_CHOICES, detect_runtime
from taxi_fare_mlops.datasets import DataSources
from taxi_fare_mlops.errors import GateRejectedError, PipelineError, RetrainSignal
from taxi_fare_mlops.platform import Platform

DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "taxi_fare"
DEFAULT_EXPERIMENT = "/Shared/nyc_e2e_mlops"  # the original accelerator's names
DEFAULT_MODEL = "taxi_example_fare_packaged"
DEFAULT_LOCAL_DIR = ".local/ml"
DEFAULT_LOCAL_SOURCE = "raw_trips"
DEFAULT_UC_SOURCE = "samples.nyctaxi.trips"
DEFAULT_LEGACY_SOURCE = "/databricks-datasets/nyctaxi-with-zipcodes/subsampled"
DEFAULT_PICKUP_TABLE = "trip_pickup_features"
DEFAULT_DROPOFF_TABLE = "trip_dropoff_features"
DEFAULT_INFERENCE_TABLE = "taxi_fare_inference"
DEFAULT_METRICS_TABLE = "taxi_fare_monitoring"


def parse_bool(value: str) -> bool:
    """``true/false/1/0/yes/no`` (case-insensitive)."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_date(value: str) -> datetime | None:
    """ISO date or datetime (``2016-01-01`` or ``2016-01-01T06:00:00``); empty means unbounded."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO date, got {value!r}") from exc


def _common_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("runtime and names")
    g.add_argument("--runtime", choices=RUNTIME_CHOICES, default="auto")
    g.add_argument("--catalog", default=DEFAULT_CATALOG)
    g.add_argument("--schema", default=DEFAULT_SCHEMA)
    g.add_argument("--use-unity-catalog", type=parse_bool, default=True)
    g.add_argument("--local-dir", type=Path, default=Path(DEFAULT_LOCAL_DIR))
    g.add_argument("--experiment-name", default=DEFAULT_EXPERIMENT)
    g.add_argument("--model-name", default=DEFAULT_MODEL)
    # Accepted by every entry point so that job-level parameters can be pushed down to all tasks.
    g.add_argument("--feature-schema", default="")
    g.add_argument("--inference-schema", default="")
    return p


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data")
    g.add_argument("--source-table", default="")
    g.add_argument("--pickup-features-table", default=DEFAULT_PICKUP_TABLE)
    g.add_argument("--dropoff-features-table", default=DEFAULT_DROPOFF_TABLE)
    g.add_argument("--start-date", type=parse_date, default=None)
    g.add_argument("--end-date", type=parse_date, default=None)
    return p


def _parser(prog: str, description: str, data: bool) -> argparse.ArgumentParser:
    parents = [_common_parser()] + ([_data_parser()] if data else [])
    return argparse.ArgumentParser(prog=prog, description=description, parents=parents)


def build_platform(args: argparse.Namespace) -> Platform:
    """The runtime context for the parsed arguments (local Spark + SQLite, or Databricks)."""
    from taxi_fare_mlops.platform import databricks_platform, local_platform
    from taxi_fare_mlops.spark_session import active_spark, local_spark

    if detect_runtime(args.runtime) == "databricks":
        return databricks_platform(
            active_spark(), args.catalog, args.schema, args.use_unity_catalog
        )
    local_dir: Path = args.local_dir
    spark = local_spark(warehouse_dir=local_dir / "spark-warehouse")
    return local_platform(spark, local_dir, args.catalog, args.schema)


def data_sources(platform: Platform, args: argparse.Namespace) -> DataSources:
    """Qualified source and feature table names for the parsed arguments."""
    source = args.source_table
    if not source:
        if platform.runtime == "local":
            source = DEFAULT_LOCAL_SOURCE
        else:
            source = DEFAULT_UC_SOURCE if platform.use_unity_catalog else DEFAULT_LEGACY_SOURCE
    feature_schema = args.feature_schema or platform.schema
    return DataSources(
        trips=platform.table_name(source),
        pickup_features=platform.table_name(args.pickup_features_table, feature_schema),
        dropoff_features=platform.table_name(args.dropoff_features_table, feature_schema),
    )


def _emit(step: str, result: object) -> None:
    payload = asdict(result) if is_dataclass(result) and not isinstance(result, type) else result
    print(json.dumps({"step": step, "result": payload}, default=str, sort_keys=True))


class _BelowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def configure_logging() -> None:
    """Keep third-party chatter out of job output; warnings and errors still show.

    MLflow's SQLite migrations re-run ``logging.config.fileConfig`` (alembic at INFO), which
    resets logger levels, so the migration logger gets a filter, which survives that call.
    """
    migration_logger = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _BelowWarning) for f in migration_logger.filters):
        migration_logger.addFilter(_BelowWarning())
    for noisy in ("alembic", "mlflow", "py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # spark_udf warns that env_manager="local" does not rebuild the training environment; that
    # is intended here: the job cluster runs the same Databricks Runtime the model was trained on.
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Setuptools is replacing distutils")


def _run(step: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    configure_logging()
    try:
        step(args)
    except PipelineError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


# --- featurize ---------------------------------------------------------------------------------
def _featurize(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.featurization import run_featurize

    platform = build_platform(args)
    sources = data_sources(platform, args)
    result = run_featurize(
        platform,
        sources.trips,
        sources.pickup_features,
        sources.dropoff_features,
        args.start_date,
        args.end_date,
    )
    _emit("featurize", result)


def featurize_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-featurize``: compute and upsert the pickup and dropoff feature tables."""
    parser = _parser("taxi-fare-featurize", featurize_main.__doc__ or "", data=True)
    return _run(_featurize, parser.parse_args(argv))


# --- train -------------------------------------------------------------------------------------
def _train(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.training import TrainingConfig, run_training

    platform = build_platform(args)
    result = run_training(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        args.experiment_name,
        args.start_date,
        args.end_date,
        TrainingConfig(
            holdout_fraction=args.holdout_fraction,
            num_boost_round=args.num_boost_round,
            seed=args.seed,
        ),
    )
    _emit("train", result)


def train_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-train``: train LightGBM, log to MLflow, register a version as @challenger."""
    parser = _parser("taxi-fare-train", train_main.__doc__ or "", data=True)
    parser.add_argument("--holdout-fraction", type=float, default=0.2)
    parser.add_argument("--num-boost-round", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    return _run(_train, parser.parse_args(argv))


# --- evaluate ----------------------------------------------------------------------------------
def _evaluate(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.evaluation import run_evaluation
    from taxi_fare_mlops.gate import GateConfig

    platform = build_platform(args)
    result = run_evaluation(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        args.experiment_name,
        args.model_version or None,
        GateConfig(
            baseline_margin=args.min_improvement_over_baseline,
            champion_tolerance=args.max_regression_vs_champion,
            min_prediction=args.min_prediction,
            max_prediction=args.max_prediction,
        ),
    )
    _emit("evaluate", result.to_dict())
    if not result.passed:
        failed = ", ".join(f"{ch.name} ({ch.detail})" for ch in result.failed_checks)
        raise GateRejectedError(f"challenger rejected: {failed}")


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-evaluate``: validation gate for the challenger; exit 3 when it is rejected."""
    parser = _parser("taxi-fare-evaluate", evaluate_main.__doc__ or "", data=True)
    parser.add_argument("--model-version", default="")
    parser.add_argument("--min-improvement-over-baseline", type=float, default=0.05)
    parser.add_argument("--max-regression-vs-champion", type=float, default=0.02)
    parser.add_argument("--min-prediction", type=float, default=0.0)
    parser.add_argument("--max-prediction", type=float, default=500.0)
    return _run(_evaluate, parser.parse_args(argv))


# --- promote -----------------------------------------------------------------------------------
def _promote(args: argparse.Namespace) -> None:
    import mlflow

    from taxi_fare_mlops.promotion import promote

    platform = build_platform(args)
    mlflow.set_tracking_uri(platform.tracking_uri)
    mlflow.set_registry_uri(platform.registry_uri)
    result = promote(
        mlflow.MlflowClient(),
        platform.model_name(args.model_name),
        args.model_version or None,
        require_gate_pass=args.require_gate,
    )
    platform.set_task_value("champion_version", result.champion_version)
    _emit("promote", result)


def promote_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-promote``: move @champion to the validated version (idempotent)."""
    parser = _parser("taxi-fare-promote", promote_main.__doc__ or "", data=False)
    parser.add_argument("--model-version", default="")
    parser.add_argument("--require-gate", type=parse_bool, default=True)
    return _run(_promote, parser.parse_args(argv))


# --- score -------------------------------------------------------------------------------------
def _score(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.scoring import run_scoring

    platform = build_platform(args)
    result = run_scoring(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        platform.table_name(args.inference_table, args.inference_schema or None),
        args.start_date,
        args.end_date,
    )
    _emit("score", result)


def score_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-score``: score trips with @champion and append them to the inference table."""
    parser = _parser("taxi-fare-score", score_main.__doc__ or "", data=True)
    parser.add_argument("--inference-table", default=DEFAULT_INFERENCE_TABLE)
    return _run(_score, parser.parse_args(argv))


# --- monitor -----------------------------------------------------------------------------------
def _monitor(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.monitoring import MonitoringConfig, run_monitoring

    platform = build_platform(args)
    result = run_monitoring(
        platform,
        platform.model_name(args.model_name),
        platform.table_name(args.inference_table, args.inference_schema or None),
        platform.table_name(args.metrics_table, args.inference_schema or None),
        args.start_date,
        args.end_date,
        MonitoringConfig(
            psi_threshold=args.psi_threshold,
            prediction_psi_threshold=args.prediction_psi_threshold,
            max_rmse_increase=args.max_rmse_increase,
            min_rows=args.min_rows,
        ),
    )
    _emit("monitor", result)
    if result.retrain and platform.runtime == "local":
        raise RetrainSignal("retrain needed: " + "; ".join(result.reasons))


def monitor_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-monitor``: drift and RMSE of scored traffic; signals when to retrain."""
    parser = _parser("taxi-fare-monitor", monitor_main.__doc__ or "", data=False)
    parser.add_argument("--inference-table", default=DEFAULT_INFERENCE_TABLE)
    parser.add_argument("--metrics-table", default=DEFAULT_METRICS_TABLE)
    parser.add_argument("--start-date", type=parse_date, default=None)
    parser.add_argument("--end-date", type=parse_date, default=None)
    parser.add_argument("--psi-threshold", type=float, default=0.2)
    parser.add_argument("--prediction-psi-threshold", type=float, default=0.2)
    parser.add_argument("--max-rmse-increase", type=float, default=0.25)
    parser.add_argument("--min-rows", type=int, default=100)
    return _run(_monitor, parser.parse_args(argv))
