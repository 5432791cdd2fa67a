"""Run the deployed jobs locally, day by day: ``python -m taxi_fare_mlops.local_pipeline``.

``make ml-local`` synthesizes the stacks, then runs the jobs of one environment's workspace
stack (``cdktf.out/stacks/<env>-workspace/cdk.tf.json``) through :mod:`local_jobs`: the tasks,
parameters and schedules Databricks would run, through the installed console scripts, on local
Spark and a SQLite MLflow under ``--workdir``. Each simulated day runs the jobs whose schedule
fires that day, in time order, with the jobs' own windows (``end-date`` = the day,
``window-days`` from the config); by default the first day is last week's Monday, so the
weekly ``ml_pipeline`` (Mondays 02:00) trains the first champion after the replay's first run
(00:30) has backfilled the history.

The only local stand-in for data is the sample: Databricks' ``samples.nyctaxi.trips`` (January
and February 2016) is replaced by generated trips of the same schema and period, written to the
local table ``samples.nyctaxi.trips``. ``--drift`` lengthens the trips landed on the last day
(after that day's replay), so its monitoring run signals a retrain and runs ``ml_pipeline``.

It prints, per day: rows landed, rows scored, duplicate scored rows, the champion, the
monitor's verdict and whether a retrain ran; ``<workdir>/summary.json`` has the same as data.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from taxi_fare_mlops.data.generator import TripGeneratorConfig, generate_trips
from taxi_fare_mlops.local_jobs import (
    JobRun,
    LocalJobRunner,
    load_stack,
    monday_of,
    scheduled_runs,
)

SAMPLE_TABLE = ("samples", "nyctaxi", "trips")
"""Where the local stand-in of ``samples.nyctaxi.trips`` lives (``<workdir>/tables/...``)."""
SAMPLE_START = datetime(2016, 1, 1)
SAMPLE_DAYS = 60
"""January and February 2016, like the Databricks sample."""


@dataclass
class DayReport:
    """What the jobs of one simulated day did."""

    day: str
    jobs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rows_landed: int | None = None
    rows_scored: int | None = None
    duplicates: int | None = None
    champion_version: str | None = None
    verdict: str | None = None
    retrain_runs: int = 0
    promotions: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line of the printed table."""

        def show(value: object) -> str:
            return "-" if value is None else str(value)

        return (
            f"{self.day}  landed {show(self.rows_landed):>6}  scored {show(self.rows_scored):>5}"
            f"  duplicates {show(self.duplicates):>2}  champion v{show(self.champion_version):<3}"
            f" verdict {show(self.verdict):<12} retrain runs {self.retrain_runs}"
            + (f"  promoted: {', '.join(self.promotions)}" if self.promotions else "")
            + (f"  FAILED: {', '.join(self.failed)}" if self.failed else "")
        )


@dataclass
class LocalRunSummary:
    """Every simulated day, for the printed table and for tests."""

    stack: str
    days: list[DayReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No job failed."""
        return not any(d.failed for d in self.days)

    def render(self) -> str:
        """The table printed at the end of the run."""
        lines = [f"== local run of {self.stack} =="]
        lines += [d.line() for d in self.days]
        lines.append(f"elapsed: {self.seconds:.1f}s")
        return "\n".join(lines)


def write_sample(workdir: Path, rows: int, seed: int) -> Path:
    """Generated trips of January and February 2016 as the local ``samples.nyctaxi.trips``
    (a parquet directory, microsecond UTC timestamps as Spark writes them)."""
    target = workdir / "tables" / Path(*SAMPLE_TABLE)
    if target.exists():
        return target
    trips = generate_trips(
        TripGeneratorConfig(n_rows=rows, start=SAMPLE_START, days=SAMPLE_DAYS, seed=seed)
    )
    for column in ("tpep_pickup_datetime", "tpep_dropoff_datetime"):
        trips[column] = pd.to_datetime(trips[column]).dt.tz_localize("UTC")
    target.mkdir(parents=True)
    trips.to_parquet(
        target / "part-00000.parquet", coerce_timestamps="us", allow_truncated_timestamps=True
    )
    return target


def inject_drift(workdir: Path, landing_table: str, day: date, factor: float) -> int:
    """Multiply the trip distance of the trips landed for ``day`` (UTC) by ``factor``."""
    from pyspark.sql import functions as F

    from taxi_fare_mlops import columns as c
    from taxi_fare_mlops.platform import local_platform
    from taxi_fare_mlops.replay import days_predicate
    from taxi_fare_mlops.spark_session import local_spark

    platform = local_platform(local_spark(warehouse_dir=workdir / "spark-warehouse"), workdir)
    predicate = days_predicate([day])
    landed = platform.tables.read(landing_table).filter(F.expr(predicate))
    shifted = landed.withColumn(c.TRIP_DISTANCE, F.col(c.TRIP_DISTANCE) * F.lit(factor)).cache()
    rows = shifted.count()
    platform.tables.replace_where(landing_table, shifted, predicate)
    shifted.unpersist()
    return rows


def _collect(report: DayReport, run: JobRun) -> None:
    report.jobs.append(run.job)
    if not run.succeeded:
        report.failed.append(run.job)
    for task in run.tasks:
        result = task.result or {}
        step = result.get("step")
        if step == "replay":
            report.rows_landed = (report.rows_landed or 0) + int(result.get("rows") or 0)
        elif step == "score":
            report.rows_scored = int(result.get("rows_scored") or 0)
            report.duplicates = int(result.get("duplicates") or 0)
            report.champion_version = result.get("champion_version") or report.champion_version
        elif step == "promote":
            if result.get("status") == "promoted":
                report.promotions.append(f"v{result.get('champion_version')}")
            report.champion_version = result.get("champion_version") or report.champion_version
        elif step == "monitor":
            report.verdict = result.get("verdict")
            report.champion_version = result.get("champion_version") or report.champion_version
        if task.kind == "run_job_task" and task.child is not None:
            report.retrain_runs += 1
            _collect_child(report, task.child)


def _collect_child(report: DayReport, child: JobRun) -> None:
    if not child.succeeded:
        report.failed.append(child.job)
    promote = child.result("promote")
    if promote.get("status") == "promoted":
        report.promotions.append(f"v{promote.get('champion_version')} (retrain)")


def _landing_table(runner: LocalJobRunner) -> str:
    replay = next(
        (
            job
            for job in runner.jobs.values()
            if any(
                t.spec.get("python_wheel_task", {}).get("entry_point") == "taxi-fare-replay"
                for t in job.tasks
            )
        ),
        None,
    )
    if replay is None:
        raise SystemExit("error: --drift needs a replay job (ml.trips_source.kind: replay)")
    return replay.parameters["source-table"]


def run_local_pipeline(
    stack_path: Path,
    workdir: Path,
    days: int = 3,
    first_day: date | None = None,
    in_process: bool = False,
    drift: float = 0.0,
    sample_rows: int = 22_000,
    seed: int = 42,
    echo: Any = None,
) -> LocalRunSummary:
    """Run every scheduled job of ``days`` consecutive days starting at ``first_day``."""
    started = time.monotonic()
    stack = load_stack(stack_path)
    workdir.mkdir(parents=True, exist_ok=True)
    write_sample(workdir, sample_rows, seed)
    runner = LocalJobRunner(stack, workdir.resolve(), in_process=in_process, echo=echo)
    first = first_day or monday_of(datetime.now(UTC).date()) - timedelta(days=7)
    summary = LocalRunSummary(stack=str(stack_path))
    for offset in range(days):
        day = first + timedelta(days=offset)
        report = DayReport(day.isoformat())
        if echo:
            echo(f"day {day.isoformat()} ({day.strftime('%A')})")
        for trigger, job in scheduled_runs(runner.jobs.values(), day):
            run = runner.run_job(job, trigger)
            _collect(report, run)
            is_replay = run.result("replay").get("step") == "replay"
            if drift and offset == days - 1 and is_replay:
                inject_drift(workdir, _landing_table(runner), day - timedelta(days=1), 1 + drift)
        summary.days.append(report)
    summary.seconds = time.monotonic() - started
    (workdir / "summary.json").write_text(
        json.dumps({"stack": summary.stack, "days": [asdict(d) for d in summary.days]}, indent=2)
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``make ml-local``; exit 1 when a job failed."""
    parser = argparse.ArgumentParser(prog="python -m taxi_fare_mlops.local_pipeline")
    parser.add_argument(
        "--stack",
        type=Path,
        default=Path("cdktf.out/stacks/dev-workspace/cdk.tf.json"),
        help="the synthesized workspace stack whose jobs run",
    )
    parser.add_argument("--workdir", type=Path, default=Path(".local/ml"))
    parser.add_argument("--days", type=int, default=3, help="consecutive days to simulate")
    parser.add_argument(
        "--first-day",
        type=date.fromisoformat,
        default=None,
        help="first simulated day (default: last week's Monday)",
    )
    parser.add_argument(
        "--drift",
        type=float,
        default=0.0,
        help="relative trip-distance shift of the last day's landed trips (0.8 = 80 %% longer)",
    )
    parser.add_argument("--sample-rows", type=int, default=22_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--fresh", action="store_true", help="delete the work directory first (a new deployment)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="call the entry points in this process (faster) instead of the console scripts",
    )
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be >= 1")
    if args.fresh and args.workdir.exists():
        shutil.rmtree(args.workdir)
    summary = run_local_pipeline(
        args.stack,
        args.workdir,
        days=args.days,
        first_day=args.first_day,
        in_process=args.in_process,
        drift=args.drift,
        sample_rows=args.sample_rows,
        seed=args.seed,
        echo=print,
    )
    print(summary.render())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
