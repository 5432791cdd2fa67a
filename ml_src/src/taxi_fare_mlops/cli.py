"""Console scripts (``taxi-fare-*``) for Databricks ``python_wheel_task`` and local use.

Every parameter is named (``--key=value``); nothing is hard-coded. Exit status, however the
entry point is invoked (console script, or the function called by the wheel task launcher):
0 success (including the expected outcomes "gate rejected", "retrain signalled" and the
expected states of a new deployment: "no data in the window", "no champion yet"), 1 pipeline
error (message on stderr), 2 invalid arguments. Failures leave through ``raise SystemExit(code)``,
never through a return value that a launcher could ignore.

Every entry point prints, as the last line of stdout when it exits 0, one result line
(``taxi-fare-result: {...}``, :mod:`taxi_fare_mlops.results`); expected states are also
recorded in the metrics table (``metric='state'``).
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
from typing import TYPE_CHECKING, Any

from taxi_fare_mlops.adapters import RUNTIME_CHOICES, detect_runtime
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.results import result_line
from taxi_fare_mlops.windows import Window, parse_instant

if TYPE_CHECKING:  # MLflow, pandas and Spark load only once a step runs, not to parse arguments
    from taxi_fare_mlops.datasets import DataSources
    from taxi_fare_mlops.platform import Platform

DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "taxi_fare"
DEFAULT_EXPERIMENT = "/Shared/nyc_e2e_mlops"  # the original accelerator's; local runs use it too
DEFAULT_MODEL = "taxi_example_fare_packaged"
DEFAULT_LOCAL_DIR = ".local/ml"
DEFAULT_SOURCE_TABLE = "trips_landing"
"""The replay's landing table (in the feature schema): the trips every data step reads."""
DEFAULT_UC_SAMPLE = "samples.nyctaxi.trips"
DEFAULT_LEGACY_SAMPLE = "/databricks-datasets/nyctaxi-with-zipcodes/subsampled"
DEFAULT_TRIP_KEY = "trip_id"
DEFAULT_PICKUP_TABLE = "trip_pickup_features"
DEFAULT_DROPOFF_TABLE = "trip_dropoff_features"
DEFAULT_INFERENCE_TABLE = "taxi_fare_inference"
DEFAULT_PSI_THRESHOLD = 0.2
DEFAULT_METRICS_TABLE = "taxi_fare_monitoring"
DEFAULT_BASELINE_TABLE = "taxi_fare_baseline"
DEFAULT_BACKFILL_DAYS = 29
"""28 days for the first training plus one for the history featurize reads before it."""


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
    d = p.add_argument_group("source and records (job parameters, the same for every task)")
    d.add_argument(
        "--source-table",
        default=DEFAULT_SOURCE_TABLE,
        help="the trips every data step reads (the replay's landing table, or a real source)",
    )
    d.add_argument(
        "--source-kind",
        choices=("replay", "table"),
        default="replay",
        help="replay: the source is the replay's landing table, which does not exist before the"
        " replay's first run (then: no data yet); table: a table that must exist",
    )
    d.add_argument("--trip-key", default=DEFAULT_TRIP_KEY, help="the source's trip key column")
    d.add_argument(
        "--metrics-table",
        default=DEFAULT_METRICS_TABLE,
        help="monitoring metrics, verdicts and recorded states (in --inference-schema)",
    )
    d.add_argument(
        "--psi-threshold",
        type=float,
        default=DEFAULT_PSI_THRESHOLD,
        help="feature drift (PSI) above which monitoring asks for a retrain (a job parameter of"
        " every job; only taxi-fare-monitor uses it)",
    )
    return p


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data")
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


def source_table(platform: Platform, args: argparse.Namespace) -> str:
    """The qualified trips table (a bare name is in the feature schema)."""
    return platform.table_name(args.source_table, args.feature_schema or platform.schema)


def source_not_landed(platform: Platform, args: argparse.Namespace) -> str | None:
    """Why there is no data yet when the replay's landing table does not exist yet (an
    expected state of a new deployment), or ``None``; a missing table of your own is an error."""
    table = source_table(platform, args)
    if platform.tables.exists(table):
        return None
    if args.source_kind == "replay":
        return f"{table} does not exist yet: the replay job has not landed any trips"
    raise PipelineError(
        f"source table {table} does not exist; fix databricks.ml.trips_source.table (job"
        " parameter source-table)"
    )


def metrics_table(platform: Platform, args: argparse.Namespace) -> str:
    """The qualified metrics table (a bare name is in the inference schema)."""
    return platform.table_name(args.metrics_table, args.inference_schema or None)


def data_sources(platform: Platform, args: argparse.Namespace) -> DataSources:
    """Qualified source and feature table names for the parsed arguments."""
    from taxi_fare_mlops.datasets import DataSources

    feature_schema = args.feature_schema or platform.schema
    return DataSources(
        trips=source_table(platform, args),
        pickup_features=platform.table_name(args.pickup_features_table, feature_schema),
        dropoff_features=platform.table_name(args.dropoff_features_table, feature_schema),
    )


def _emit(step: str, result: object) -> None:
    """The step's detailed output (one JSON line, for people and logs)."""
    payload = asdict(result) if is_dataclass(result) and not isinstance(result, type) else result
    print(json.dumps({"step": step, "result": payload}, default=str, sort_keys=True))


def _finish(step: str, status: str, window: Window | None = None, **fields: object) -> None:
    """The result line, always the last line a successful step writes to stdout."""
    if window is not None:
        fields.setdefault("window_start", window.start)
        fields.setdefault("window_end", window.end)
    sys.stdout.flush()
    print(result_line(step, status, **fields), flush=True)


def _record(
    platform: Platform,
    args: argparse.Namespace,
    step: str,
    status: str,
    note: str,
    model_version: str | None = None,
) -> None:
    """Record an expected state (no data, no champion...) in the metrics table."""
    from taxi_fare_mlops.metrics_table import record_state

    record_state(
        platform,
        metrics_table(platform, args),
        platform.model_name(args.model_name),
        window_of(args),
        step,
        status,
        note,
        model_version,
    )


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
    """``taxi-fare-featurize``: feature windows ending in (start - horizon, end], upserted."""
    return _parser("taxi-fare-featurize", featurize_parser.__doc__ or "", data=True)


def train_parser() -> argparse.ArgumentParser:
    """``taxi-fare-train``: train LightGBM on [start, end), register a version as challenger."""
    parser = _parser("taxi-fare-train", train_parser.__doc__ or "", data=True)
    parser.add_argument("--holdout-fraction", type=float, default=0.2)
    parser.add_argument("--num-boost-round", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--baseline-table",
        default=DEFAULT_BASELINE_TABLE,
        help="the quality monitor's baseline (in --inference-schema); empty: not written",
    )
    return parser


def evaluate_parser() -> argparse.ArgumentParser:
    """``taxi-fare-evaluate``: validation gate; records the verdict (a rejection is exit 0)."""
    parser = _parser("taxi-fare-evaluate", evaluate_parser.__doc__ or "", data=True)
    parser.add_argument("--model-version", default="")
    parser.add_argument("--min-improvement-over-baseline", type=float, default=0.05)
    parser.add_argument("--min-gain-over-champion", type=float, default=0.01)
    parser.add_argument("--min-comparison-rows", type=int, default=100)
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


def label_parser() -> argparse.ArgumentParser:
    """``taxi-fare-label``: fill in the fares of scored trips once the source has them."""
    parser = _parser("taxi-fare-label", label_parser.__doc__ or "", data=False)
    parser.add_argument("--inference-table", default=DEFAULT_INFERENCE_TABLE)
    parser.add_argument(
        "--label-lookback-days",
        type=int,
        default=7,
        help="scored rows of the last N days before --end-date get their late labels",
    )
    return parser


def monitor_parser() -> argparse.ArgumentParser:
    """``taxi-fare-monitor``: drift and RMSE of one window per model version; the verdict."""
    parser = _parser("taxi-fare-monitor", monitor_parser.__doc__ or "", data=False)
    parser.add_argument("--inference-table", default=DEFAULT_INFERENCE_TABLE)
    parser.add_argument("--prediction-psi-threshold", type=float, default=DEFAULT_PSI_THRESHOLD)
    parser.add_argument("--max-rmse-increase", type=float, default=0.25)
    parser.add_argument("--min-rows", type=int, default=100)
    parser.add_argument("--min-labeled-rows", type=int, default=100)
    return parser


def replay_parser() -> argparse.ArgumentParser:
    """``taxi-fare-replay``: land the window's days (and missing history) from the sample."""
    parser = _parser("taxi-fare-replay", replay_parser.__doc__ or "", data=False)
    parser.add_argument(
        "--sample-table",
        default="",
        help=f"the sample to replay (default: {DEFAULT_UC_SAMPLE}; legacy mode:"
        f" {DEFAULT_LEGACY_SAMPLE})",
    )
    parser.add_argument("--backfill-days", type=int, default=DEFAULT_BACKFILL_DAYS)
    return parser


def verdict_parser() -> argparse.ArgumentParser:
    """``publish_verdict`` notebook: the monitor's verdict as the ``retrain`` task value."""
    return _parser("publish-verdict", verdict_parser.__doc__ or "", data=False)


# --- steps -------------------------------------------------------------------------------------
def _featurize(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.featurization import run_featurize

    platform = build_platform(args)
    sources = data_sources(platform, args)
    window = window_of(args)
    missing = source_not_landed(platform, args)
    if missing:
        _record(platform, args, "featurize", "no_data", missing)
        _finish("featurize", "no_data", window, rows=0, note=missing)
        return
    result = run_featurize(
        platform, sources.trips, sources.pickup_features, sources.dropoff_features, window
    )
    _emit("featurize", result)
    if result.trips == 0:
        _record(platform, args, "featurize", "no_data", f"no trips in {sources.trips}")
        _finish("featurize", "no_data", window, rows=0, note=f"no trips in {sources.trips}")
        return
    _finish("featurize", "ok", window, rows=result.pickup_rows + result.dropoff_rows)


def _train(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.training import TrainingConfig, run_training

    platform = build_platform(args)
    window = window_of(args)
    missing = source_not_landed(platform, args)
    if missing:
        _record(platform, args, "train", "no_data", missing)
        _finish("train", "no_data", window, rows=0, model_version=None, note=missing)
        return
    result = run_training(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        args.experiment_name,
        window,
        TrainingConfig(
            holdout_fraction=args.holdout_fraction,
            num_boost_round=args.num_boost_round,
            seed=args.seed,
        ),
        run_key=args.run_key,
        baseline_table=(
            platform.table_name(args.baseline_table, args.inference_schema or None)
            if args.baseline_table
            else None
        ),
    )
    _emit("train", result)
    if result.status == "no_data":
        _record(platform, args, "train", "no_data", result.note)
    _finish(
        "train",
        result.status,
        window,
        rows=result.n_train + result.n_holdout,
        model_version=result.model_version,
        **({"note": result.note} if result.note else {}),
    )


def _evaluate(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.evaluation import run_evaluation
    from taxi_fare_mlops.gate import GateConfig

    platform = build_platform(args)
    outcome = run_evaluation(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        args.experiment_name,
        args.model_version or None,
        GateConfig(
            baseline_margin=args.min_improvement_over_baseline,
            min_gain_over_champion=args.min_gain_over_champion,
            min_comparison_rows=args.min_comparison_rows,
            min_prediction=args.min_prediction,
            max_prediction=args.max_prediction,
        ),
    )
    detail = outcome.gate.to_dict() if outcome.gate is not None else {}
    _emit("evaluate", {"verdict": outcome.status, "note": outcome.note, **detail})
    if outcome.status == "no_challenger":
        _record(platform, args, "evaluate", "no_challenger", outcome.note)
    if outcome.gate is not None and not outcome.gate.passed:
        failed = ", ".join(f"{ch.name} ({ch.detail})" for ch in outcome.gate.failed_checks)
        print(f"gate rejected the challenger: {failed}", file=sys.stderr)
    _finish(
        "evaluate",
        outcome.status,
        model_version=outcome.model_version,
        champion_version=outcome.champion_version,
        **({"note": outcome.note} if outcome.note else {}),
    )


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
    if result.status == "no_challenger":
        _record(platform, args, "promote", "no_challenger", result.reason)
    _finish(
        "promote",
        result.status,
        model_version=result.candidate_version,
        champion_version=result.champion_version,
    )


def _score(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.scoring import run_scoring

    platform = build_platform(args)
    window = window_of(args)
    missing = source_not_landed(platform, args)
    if missing:
        from taxi_fare_mlops.registry import CHAMPION

        platform.use_mlflow()
        champion = platform.registry(platform.model_name(args.model_name)).pointed(CHAMPION)
        status = "no_champion" if champion is None else "no_data"
        _record(platform, args, "score", status, missing)
        _finish(
            "score",
            status,
            window,
            rows_scored=0,
            duplicates=0,
            champion_version=str(champion.version) if champion is not None else None,
            note=missing,
        )
        return
    result = run_scoring(
        platform,
        data_sources(platform, args),
        platform.model_name(args.model_name),
        platform.table_name(args.inference_table, args.inference_schema or None),
        window,
        args.trip_key,
    )
    _emit("score", result)
    if result.status == "no_champion":
        _record(platform, args, "score", "no_champion", "no champion yet: nothing to score with")
    elif result.status == "no_data":
        _record(platform, args, "score", "no_data", "no trips in the window", result.model_version)
    _finish(
        "score",
        result.status,
        window,
        rows_scored=result.rows,
        duplicates=result.duplicates,
        champion_version=result.model_version,
        model_version=result.model_version,
    )


def _label(args: argparse.Namespace) -> None:
    from datetime import timedelta

    from taxi_fare_mlops.labels import run_labels

    platform = build_platform(args)
    end = window_of(args).end
    if end is None:
        raise PipelineError("label needs --end-date")
    if args.label_lookback_days < 1:
        raise PipelineError(f"--label-lookback-days must be >= 1, got {args.label_lookback_days}")
    window = Window(end - timedelta(days=args.label_lookback_days), end)
    result = run_labels(
        platform,
        source_table(platform, args),
        args.trip_key,
        platform.table_name(args.inference_table, args.inference_schema or None),
        window,
    )
    _emit("label", result)
    _finish("label", result.status, window, rows=result.rows)


def _monitor(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.monitoring import MonitoringConfig, run_monitoring

    platform = build_platform(args)
    window = window_of(args)
    result = run_monitoring(
        platform,
        platform.model_name(args.model_name),
        platform.table_name(args.inference_table, args.inference_schema or None),
        metrics_table(platform, args),
        window,
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
    _finish(
        "monitor",
        result.status,
        window,
        rows=result.rows,
        verdict=result.verdict,
        champion_version=result.champion_version,
    )


def _replay(args: argparse.Namespace) -> None:
    from taxi_fare_mlops.replay import run_replay

    platform = build_platform(args)
    window = window_of(args)
    sample = args.sample_table or (
        DEFAULT_UC_SAMPLE if platform.use_unity_catalog else DEFAULT_LEGACY_SAMPLE
    )
    result = run_replay(
        platform,
        platform.table_name(sample),
        source_table(platform, args),
        args.trip_key,
        window,
        args.backfill_days,
    )
    _emit("replay", result)
    _finish("replay", "ok" if result.rows else "no_data", window, rows=result.rows)


def _publish_verdict(args: argparse.Namespace, task_values: object) -> None:
    from taxi_fare_mlops.verdict import publish_verdict

    platform = build_platform(args)
    window = window_of(args)
    result = publish_verdict(
        platform,
        metrics_table(platform, args),
        platform.model_name(args.model_name),
        window,
        task_values,  # type: ignore[arg-type]
    )
    _emit("verdict", result)
    _finish(
        "verdict",
        result.status,
        window,
        verdict=result.verdict,
        champion_version=result.champion_version,
    )


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


def label_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-label``."""
    return _run(_label, label_parser(), argv)


def monitor_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-monitor``."""
    return _run(_monitor, monitor_parser(), argv)


def replay_main(argv: Sequence[str] | None = None) -> int:
    """``taxi-fare-replay``."""
    return _run(_replay, replay_parser(), argv)


def publish_verdict_main(argv: Sequence[str] | None, task_values: object) -> int:
    """The ``publish_verdict`` notebook's entry: ``task_values`` is its
    ``dbutils.jobs.taskValues`` (notebooks are where Databricks documents task values)."""
    return _run(lambda args: _publish_verdict(args, task_values), verdict_parser(), argv)


def option_names(parser: argparse.ArgumentParser) -> list[str]:
    """The ``--name`` options of ``parser`` (without dashes), in definition order."""
    return [
        option[2:]
        for action in parser._actions
        for option in action.option_strings[:1]
        if option.startswith("--") and option != "--help"
    ]


def notebook_main(notebook: str, dbutils: Any) -> int:
    """Run the step of a notebook task: its parameters (job parameters pushed down, and the
    task's ``base_parameters``) are widgets, read for every option the step's parser knows."""
    parser = NOTEBOOK_PARSERS[notebook]()
    argv = []
    for name in option_names(parser):
        try:
            value = dbutils.widgets.get(name)
        except Exception:  # noqa: BLE001 - an undefined widget raises a JVM error type
            continue
        argv.append(f"--{name}={value}")
    return publish_verdict_main(argv, dbutils.jobs.taskValues)


PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "taxi-fare-featurize": featurize_parser,
    "taxi-fare-train": train_parser,
    "taxi-fare-evaluate": evaluate_parser,
    "taxi-fare-promote": promote_parser,
    "taxi-fare-score": score_parser,
    "taxi-fare-label": label_parser,
    "taxi-fare-monitor": monitor_parser,
    "taxi-fare-replay": replay_parser,
}
"""Console script name -> the argparse parser its entry point uses (the job contract tests
parse every rendered task's arguments with these)."""

NOTEBOOK_PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "publish_verdict": verdict_parser,
}
"""Notebook (file stem under ``notebooks/``) -> the parser its widgets are read with."""

ENTRY_POINTS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "taxi-fare-featurize": featurize_main,
    "taxi-fare-train": train_main,
    "taxi-fare-evaluate": evaluate_main,
    "taxi-fare-promote": promote_main,
    "taxi-fare-score": score_main,
    "taxi-fare-label": label_main,
    "taxi-fare-monitor": monitor_main,
    "taxi-fare-replay": replay_main,
}
