"""The metrics table: the monitor's long-format metrics and verdicts, and the expected states
every step records ("no data in the window", "no champion yet"), one place to look.

Rows of one (model, window, metric family) are replaced as a whole (Delta ``replaceWhere``), so
a retry or a rerun never duplicates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import functions as F
from pyspark.sql import types as T

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.registry import NO_VERSION
from taxi_fare_mlops.windows import Window, equals_predicate, sql_string

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
STATE_METRIC = "state"
"""``metric`` of the rows that record a step's expected state (``feature`` = the step)."""
VERDICT_METRIC = "retrain"
"""``metric`` of the monitor's verdict row of a window (``breached`` = retrain)."""


def window_predicate(model_name: str, window: Window) -> str:
    """The rows of one model and window."""
    return " AND ".join(
        [
            equals_predicate("window_start", window.start),
            equals_predicate("window_end", window.end),
            f"`{c.MODEL_NAME}` = {sql_string(model_name)}",
        ]
    )


def monitoring_predicate(model_name: str, window: Window) -> str:
    """The monitor's rows of one model and window (everything but recorded states)."""
    return f"{window_predicate(model_name, window)} AND `metric` <> {sql_string(STATE_METRIC)}"


def state_predicate(model_name: str, window: Window, step: str) -> str:
    """The state row of one step, model and window."""
    return (
        f"{window_predicate(model_name, window)} AND `metric` = {sql_string(STATE_METRIC)}"
        f" AND `feature` = {sql_string(step)}"
    )


def record_state(
    platform: Platform,
    metrics_table: str,
    model_name: str,
    window: Window,
    step: str,
    status: str,
    note: str,
    model_version: str | None = None,
) -> None:
    """Record that ``step`` ended in the expected state ``status`` for ``window`` (replacing
    the row an earlier run of the same step and window wrote)."""
    row = (
        datetime.now(UTC),
        window.start,
        window.end,
        model_name,
        model_version or NO_VERSION,
        STATE_METRIC,
        step,
        None,
        None,
        False,
        f"{status}: {note}",
    )
    platform.tables.replace_where(
        metrics_table,
        platform.spark.createDataFrame([row], METRICS_SCHEMA),
        state_predicate(model_name, window, step),
    )


@dataclass(frozen=True)
class RecordedVerdict:
    """The monitor's recorded decision for one window."""

    retrain: bool
    verdict: str
    """``retrain``, ``stable``, ``too_few_rows`` or ``no_data``."""
    model_version: str
    """The champion when the monitor ran (``none`` before the first one)."""
    note: str


def read_verdict(
    platform: Platform, metrics_table: str, model_name: str, window: Window
) -> RecordedVerdict:
    """The verdict row ``monitor`` wrote for ``model_name`` and ``window``."""
    if not platform.tables.exists(metrics_table):
        raise PipelineError(f"metrics table {metrics_table} does not exist; run monitor first")
    rows = (
        platform.tables.read(metrics_table)
        .filter(F.expr(window_predicate(model_name, window)))
        .filter(F.col("metric") == VERDICT_METRIC)
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
    return RecordedVerdict(
        bool(row["breached"]),
        str(row["feature"] or ("retrain" if row["breached"] else "stable")),
        str(row[c.MODEL_VERSION]),
        row["note"] or "",
    )
