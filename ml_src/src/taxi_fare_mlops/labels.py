"""The ``label`` step: fill in the actual fare of scored trips once the source has it.

Scoring writes predictions only; a trip's fare is known later. Every run looks at the scored
rows of its lookback window whose label is still missing, finds their fares in the source by
trip key, and sets ``fare_amount`` on exactly those rows (a Delta ``MERGE`` on Databricks).
Labels are never overwritten, so a rerun or a retry changes nothing, and a fare that arrives a
few days late is picked up by a later run. The monitor's RMSE and the quality monitor's model
quality metrics use these labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import functions as F

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.windows import Window, range_predicate


@dataclass(frozen=True)
class LabelResult:
    """Labels filled in, and the rows of the window still waiting for theirs."""

    window: str
    rows: int
    """Scored rows that got their label in this run."""
    still_missing: int
    scored_rows: int

    @property
    def status(self) -> str:
        """``ok``, or ``no_data`` when nothing of the window was scored."""
        return "ok" if self.scored_rows else "no_data"


def run_labels(
    platform: Platform,
    source_table: str,
    trip_key: str,
    inference_table: str,
    window: Window,
) -> LabelResult:
    """Set ``fare_amount`` on the scored rows of ``window`` whose label is missing and whose
    trip has a fare in ``source_table`` (matched on ``trip_key``)."""
    if not window.bounded:
        raise PipelineError(
            f"label needs a bounded window, got {window.describe()}; pass --end-date and "
            "--label-lookback-days"
        )
    if not platform.tables.exists(inference_table):
        return LabelResult(window.describe(), 0, 0, 0)
    scored = platform.tables.read(inference_table).filter(
        F.expr(range_predicate(c.REQUEST_TIME, window))
    )
    waiting = scored.filter(F.col(c.LABEL).isNull()).select(c.TRIP_ID).distinct().cache()
    try:
        scored_rows = scored.count()
        if scored_rows == 0 or waiting.limit(1).count() == 0:
            return LabelResult(window.describe(), 0, 0, scored_rows)
        source = platform.tables.read(source_table)
        missing = [col for col in (trip_key, c.LABEL) if col not in source.columns]
        if missing:
            raise PipelineError(
                f"{source_table} has no column(s) {missing}; the label step joins the source's"
                f" trip key ({trip_key}) to read its fare ({c.LABEL})"
            )
        fares = (
            source.filter(F.col(c.LABEL).isNotNull())
            .select(F.col(trip_key).cast("string").alias(c.TRIP_ID), F.col(c.LABEL))
            .dropDuplicates([c.TRIP_ID])
            .join(waiting, c.TRIP_ID, "left_semi")
            .cache()
        )
        try:
            labelled = fares.count()
            if labelled:
                platform.tables.fill_missing(inference_table, fares, c.TRIP_ID, c.LABEL)
            still = waiting.count() - labelled
        finally:
            fares.unpersist()
    finally:
        waiting.unpersist()
    return LabelResult(window.describe(), labelled, still, scored_rows)
