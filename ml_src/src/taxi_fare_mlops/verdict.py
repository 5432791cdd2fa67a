"""Publish the monitor's recorded verdict as a task value, for the monitoring job's condition.

The monitoring job starts a retrain the platform's way, without credentials in any task: a
``condition_task`` compares ``{{tasks.retrain_verdict.values.retrain}}`` with ``"true"`` and a
``run_job_task`` then runs the ``ml_pipeline`` job. Databricks documents
``dbutils.jobs.taskValues.set`` for Python notebooks only (and the Databricks SDK's own
``dbutils`` outside a notebook accepts ``set`` and does nothing), so the value is set by a
small notebook task (``notebooks/publish_verdict.py`` of this package, deployed from the
wheel) that calls :func:`publish_verdict` with its ``dbutils.jobs.taskValues``. The verdict
itself is the monitor's row in the metrics table: this step only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from taxi_fare_mlops.metrics_table import read_verdict
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.windows import Window

TASK_VALUE_KEY = "retrain"
"""The task value the condition task reads: ``"true"`` or ``"false"``."""


class TaskValues(Protocol):
    """``dbutils.jobs.taskValues`` (notebooks) or a stand-in that records what is set."""

    def set(self, key: str, value: object) -> None:
        """Set a task value of the running task."""


@dataclass(frozen=True)
class PublishedVerdict:
    """The verdict read from the metrics table and the task value set from it."""

    window: str
    retrain: bool
    verdict: str
    champion_version: str
    note: str

    @property
    def status(self) -> str:
        """``retrain`` or ``not_needed``."""
        return "retrain" if self.retrain else "not_needed"


def publish_verdict(
    platform: Platform,
    metrics_table: str,
    model_name: str,
    window: Window,
    task_values: TaskValues,
) -> PublishedVerdict:
    """Read the verdict ``monitor`` recorded for ``window`` and set the ``retrain`` task value."""
    recorded = read_verdict(platform, metrics_table, model_name, window)
    task_values.set(key=TASK_VALUE_KEY, value="true" if recorded.retrain else "false")
    return PublishedVerdict(
        window.describe(),
        recorded.retrain,
        recorded.verdict,
        recorded.model_version,
        recorded.note,
    )
