"""Console scripts (``taxi-fare-*``) for Databricks ``python_wheel_task`` and local use.

Every parameter is named (``--key=value``); nothing is hard-coded. Exit status, however the
entry point is invoked (console script, or the function called by the wheel task launcher):
0 success (including the expected outcomes "gate rejected", "window skipped", "retrain
signalled"), 1 pipeline error (message on stderr), 2 invalid arguments. Failures leave through
``raise SystemExit(code)``, never through a return value that a launcher could ignore.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from taxi_fare_mlops.adapters import RUNTIME_CHOICES, detect_runtime
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.windows import Window, parse_instant

if TYPE_CHECKING:  # MLflow, pandas and Spark load only once a step runs, not to parse arguments
    from taxi_fare_mlops.datasets import DataSources
    from taxi_fare_mlops.platform import Platform

DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "taxi_fare"
DEFAULT_EXPERIMENT = "/Shared/nyc_e2e_mlops"  # the original accelerator's; local runs use it too
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
    w = p.add_argument_group(
        "processing window (UTC; start inclusive, end exclusive; what each step does with it:"
        " README)"
    )
    w.add_argument("--start-date", type=parse_instant, default=None)
    w.add_argument("--end-date", type=parse_instant, default=None)
    w.add_argument(
        "--window-days", type=int, default=0, help="without --start-date: start = end - days"
    )
    w.add_argument(
        "--run-key",
        default="",
        help="identifies one job run ({{job.run_id}}); retries with the same key do not repeat"
        " side effects",
    )
    return p


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data")
    g.add_argument("--source-table", default="")
    g.add_argument("--pickup-features-table", default=DEFAULT_PICKUP_TABLE)
    g.add_argument("--dropoff-features-table", default=DEFAULT_DROPOFF_TABLE)
    return p


def _parser(prog: str, description: str, data: bool) -> argparse.ArgumentParser:
    parents = [_common_parser()] + ([_data_parser()] if data else [])
    return argparse.ArgumentParser(prog=prog, description=description, parents=parents)


def window_of(args: argparse.Namespace) -> Window:
    """The processing window of the parsed arguments."""
    return Window.from_bounds(args.start_date, args.end_date, args.window_days)


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
    return local_platform(spark, local_dir, args.catalog, args.schema, args.use_unity_catalog)


def data_sources(platform: Platform, args: argparse.Namespace) -> DataSources:
    """Qualified source and feature table names for the parsed arguments."""
    from taxi_fare_mlops.datasets import DataSources

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


def _run(
    step: Callable[[argparse.Namespace], None],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
) -> int:
    """Parse, run ``step``, and turn failures into ``SystemExit``: 2 for arguments (argparse
    raises it itself), the error's exit code for a :class:`PipelineError`."""
    args = parser.parse_args(argv)
    try:
        window_of(args)
    except PipelineError as exc:
        parser.error(str(exc))  # raises SystemExit(2)
    configure_logging()
    try:
        step(args)
    except PipelineError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from exc
    return 0


# --- parsers, one per console script --------------------------------------------------------
def featurize_parser() -> argparse.ArgumentParser:
    """``taxi-fare-featurize``: feature windows ending in (start, end], upserted."""
    return _parser("taxi-fare-featurize", featurize_parser.__doc__ or "", data=True)


def train_parser() -> argparse.ArgumentParser:
    """``taxi-fare-train``: train LightGBM on [start, end), register a version as challenger."""
    parser = _parser("taxi-fare-train", train_parser.__doc__ or "", data=True)
    parser.add_argument("--holdout-fraction", type=float, default=0.2)
    parser.add_argument("--num-boost-round", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    return parser


def evaluate_parser() -> argparse.ArgumentParser:
    """``taxi-fare-evaluate``: validation gate; records the verdict (a rejection is exit 0)."""
    parser = _parser("taxi-fare-evaluate", evaluate_parser.__doc__ or "", data=True)
    parser.add_argument("--model-version", default="")
    parser.add_argument("--min-improvement-over-baseline", type=float, default=0.05)
    parser.add_argument("--max-regression-vs-champion", type=float, default=0.0)
    parser.add_argument("--min-prediction", type=float, default=0.0)
    parser.add_argument("--max-prediction", type=float, default=500.0)
    return parser


def promote_parser() -> argparse.ArgumentParser:
    """``taxi-fare-promote``: move champion to a version that passed the gate (idempotent)."""
    parser = _parser("taxi-fare-promote", promote_parser.__doc__ or "", data=False)
    parser.add_argument("--model-version", default="")
    parser.add_argument("--require-gate", type=parse_bool, default=True)
    return parser


def score_parser() -> argparse.ArgumentParser:
    """``taxi-fare-score``: score one window with the champion; replaces that window's rows."""
    parser = _parser("taxi-fare-score", score_parser.__doc__ or "", data=True)
    parser.add_argument("--inference-table", default=DEFAULT_INFERENCE_TABLE)
    return parser


def monitor_parser() -> argparse.ArgumentParser:
    """``taxi-fare-monitor``: drift and RMSE of one window; records the retrain verdict."""
    parser = _parser("taxi-fare-monitor", monitor_parser.__doc__ or "", data=False)
    parser.add_argument("--inference-table", default=DEFAULT_INFERENCE_TABLE)
    parser.add_argument("--metrics-table", default=DEFAULT_METRICS_TABLE)
    parser.add_argument("--psi-threshold", type=float, default=0.2)
    parser.add_argument("--prediction-psi-threshold", type=float, default=0.2)
    parser.add_argument("--max-rmse-increase", type=float, default=0.25)
    parser.add_argument("--min-rows", type=int, default=100)
    parser.add_argument("--min-labeled-rows", type=int, default=100)
    return parser


def retrain_parser() -> argparse.ArgumentParser:
    """``taxi-fare-retrain``: start the pipeline job if the window's verdict says retrain."""
    parser = _parser("taxi-fare-retrain", retrain_parser.__doc__ or "", data=False)
    parser.add_argument("--metrics-table", default=DEFAULT_METRICS_TABLE)
    parser.add_argument("--pipeline-job-id", required=True)
    # The monitoring job's `psi-threshold` is a job parameter (a run may override it: the dev
    # smoke run forces the retrain verdict with 0); Databricks pushes job parameters down to
    # every task of the job, so this one accepts it and leaves it to the monitor task.
    parser.add_argument("--psi-threshold", type=float, default=None, help=argparse.SUPPRESS)
    return parser


# --- steps -------------------------------------------------------------------------------------
def _featurize(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.featurization import run_featurize

    platform = build_platform(args)
    sources = data_sources(platform, args)
    result = run_featurize(
        platform,
        sources.trips,
        sources.pickup_features,
        sources.dropoff_features,
        window_of(args),
    )
    _emit("featurize", result)


def _train(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.training import TrainingConfig, run_training

    platform = build_platform(args)
    result = run_training(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        args.experiment_name,
        window_of(args),
        TrainingConfig(
            holdout_fraction=args.holdout_fraction,
            num_boost_round=args.num_boost_round,
            seed=args.seed,
        ),
        run_key=args.run_key,
    )
    _emit("train", result)


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
    _emit("evaluate", {"verdict": "passed" if result.passed else "rejected", **result.to_dict()})
    if not result.passed:
        failed = ", ".join(f"{ch.name} ({ch.detail})" for ch in result.failed_checks)
        print(f"gate rejected the challenger: {failed}", file=sys.stderr)


def _promote(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.promotion import promote

    platform = build_platform(args)
    platform.use_mlflow()
    result = promote(
        platform.registry(platform.model_name(args.model_name)),
        args.model_version or None,
        require_gate_pass=args.require_gate,
    )
    _emit("promote", result)


def _score(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.scoring import run_scoring

    platform = build_platform(args)
    result = run_scoring(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        platform.table_name(args.inference_table, args.inference_schema or None),
        window_of(args),
    )
    _emit("score", result)


def _monitor(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.monitoring import MonitoringConfig, run_monitoring

    platform = build_platform(args)
    result = run_monitoring(
        platform,
        platform.model_name(args.model_name),
        platform.table_name(args.inference_table, args.inference_schema or None),
        platform.table_name(args.metrics_table, args.inference_schema or None),
        window_of(args),
        MonitoringConfig(
            psi_threshold=args.psi_threshold,
            prediction_psi_threshold=args.prediction_psi_threshold,
            max_rmse_increase=args.max_rmse_increase,
            min_rows=args.min_rows,
            min_labeled_rows=args.min_labeled_rows,
        ),
    )
    _emit("monitor", result)
    if result.retrain:
        print("retrain signalled: " + "; ".join(result.reasons), file=sys.stderr)


def _retrain(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.retrain import run_retrain

    platform = build_platform(args)
    result = run_retrain(
        platform,
        platform.table_name(args.metrics_table, args.inference_schema or None),
        platform.model_name(args.model_name),
        window_of(args),
        args.pipeline_job_id,
        args.run_key,
    )
    _emit("retrain", result)


# --- console scripts (pyproject [project.scripts]) ------------------------------------------
def featurize_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-featurize``."""
    return _run(_featurize, featurize_parser(), argv)


def train_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-train``."""
    return _run(_train, train_parser(), argv)


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-evaluate``."""
    return _run(_evaluate, evaluate_parser(), argv)


def promote_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-promote``."""
    return _run(_promote, promote_parser(), argv)


def score_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-score``."""
    return _run(_score, score_parser(), argv)


def monitor_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-monitor``."""
    return _run(_monitor, monitor_parser(), argv)


def retrain_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-retrain``."""
    return _run(_retrain, retrain_parser(), argv)


PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "taxi-fare-featurize": featurize_parser,
    "taxi-fare-train": train_parser,
    "taxi-fare-evaluate": evaluate_parser,
    "taxi-fare-promote": promote_parser,
    "taxi-fare-score": score_parser,
    "taxi-fare-monitor": monitor_parser,
    "taxi-fare-retrain": retrain_parser,
}
"""Console script name -> the argparse parser its entry point uses (the job contract tests
parse every rendered task's arguments with these)."""

ENTRY_POINTS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "taxi-fare-featurize": featurize_main,
    "taxi-fare-train": train_main,
    "taxi-fare-evaluate": evaluate_main,
    "taxi-fare-promote": promote_main,
    "taxi-fare-score": score_main,
    "taxi-fare-monitor": monitor_main,
    "taxi-fare-retrain": retrain_main,
}
