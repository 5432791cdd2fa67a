"""The ``evaluate`` step: rebuild the challenger's holdout, run the gate, report to MLflow, and
record the verdict on the model version in one tag write (``gate_verdict``: status, the
champion it was compared with, the evaluate run), which ``promote`` checks.

A rejection is an expected outcome, not a failure: the step succeeds and the verdict says
"rejected"; ``promote`` then does nothing. So is "no challenger yet" (a new deployment whose
first training had no data). A version that already has a verdict against the current
champion is not evaluated again (a retry returns the recorded verdict).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import mlflow
import numpy as np
import pandas as pd

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame, to_model_input
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.gate import (
    DistanceBucketBaseline,
    GateConfig,
    GateResult,
    run_gate,
)
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.plots import residuals_figure
from taxi_fare_mlops.registry import (
    CHALLENGER,
    CHAMPION,
    NO_VERSION,
    GateVerdict,
)
from taxi_fare_mlops.windows import Window, to_utc


@dataclass
class EvaluationOutcome:
    """What evaluate decided: ``passed``, ``rejected``, ``unchanged`` (the candidate already
    is the champion) or ``no_challenger``; the gate result when it ran in this call."""

    status: str
    model_version: str | None
    champion_version: str | None
    gate: GateResult | None = None
    note: str = ""


def _naive_utc(value: str) -> pd.Timestamp:
    """An ISO instant as a naive UTC timestamp (how Spark hands pickups to pandas here)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def _optional_datetime(value: str | None) -> datetime | None:
    return to_utc(datetime.fromisoformat(value)) if value else None


def run_evaluation(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    experiment_name: str,
    model_version: str | None = None,
    config: GateConfig | None = None,
) -> EvaluationOutcome:
    """Gate ``model_version`` (default: ``@challenger``) on the holdout it was trained with.

    The holdout window comes from the training run's parameters, so challenger, champion and
    baseline are all scored on exactly the same trips; the champion is compared only on the
    holdout trips picked up after its own training window ended. The result is logged as an
    ``evaluate`` run (Markdown + JSON report, plot) and as the version's verdict tag.
    """
    config = config or GateConfig()
    platform.configure_mlflow(experiment_name)
    client = platform.client()
    registry = platform.registry(model_name)
    candidate = registry.version(model_version) if model_version else registry.pointed(CHALLENGER)
    champion = registry.pointed(CHAMPION)
    champion_version = str(champion.version) if champion is not None else None
    if candidate is None:
        return EvaluationOutcome(
            "no_challenger", None, champion_version, note="no version has been trained yet"
        )
    version = str(candidate.version)
    if champion_version == version:
        # Re-evaluating the champion against itself would tag it "rejected" (equal metrics).
        return EvaluationOutcome("unchanged", version, champion_version, note="already champion")
    recorded = GateVerdict.from_tags(dict(candidate.tags))
    if recorded is not None and recorded.champion == (champion_version or NO_VERSION):
        return EvaluationOutcome(
            recorded.status,
            version,
            champion_version,
            note=f"verdict recorded by run {recorded.run} against the same champion",
        )

    params = client.get_run(candidate.run_id).data.params
    if "holdout_start" not in params:
        raise PipelineError(f"run {candidate.run_id} has no holdout_start parameter")
    holdout_start = pd.Timestamp(params["holdout_start"])
    window = Window(
        _optional_datetime(params.get("start_date")), _optional_datetime(params.get("end_date"))
    )
    frame = load_model_frame(platform, sources, window).toPandas()
    is_holdout = pd.to_datetime(frame[c.PICKUP_TS]) >= holdout_start
    train, holdout = frame.loc[~is_holdout], frame.loc[is_holdout]
    if train.empty or holdout.empty:
        raise PipelineError(f"no training or holdout rows around holdout_start={holdout_start}")
    y_true = holdout[c.LABEL].to_numpy()
    x_holdout = to_model_input(holdout)

    baseline = DistanceBucketBaseline().fit(
        train[c.TRIP_DISTANCE].to_numpy(), train[c.LABEL].to_numpy()
    )
    challenger_model = mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")
    input_schema = challenger_model.metadata.get_input_schema()
    model_columns = input_schema.input_names() if input_schema is not None else None
    challenger_pred = challenger_model.predict(x_holdout)

    champion_pred = None
    comparable = None
    since = ""
    if champion is not None:
        champion_model = mlflow.pyfunc.load_model(f"models:/{model_name}/{champion_version}")
        champion_pred = champion_model.predict(x_holdout)
        champion_end = client.get_run(champion.run_id).data.params.get("end_date", "")
        since = champion_end or "an unknown training end"
        pickups = pd.to_datetime(holdout[c.PICKUP_TS]).to_numpy()
        comparable = (
            pickups >= np.datetime64(_naive_utc(champion_end))
            if champion_end
            else np.zeros(len(holdout), dtype=bool)
        )

    result = run_gate(
        y_true,
        challenger_pred,
        baseline.predict(holdout[c.TRIP_DISTANCE].to_numpy()),
        champion_pred,
        expected_columns=c.MODEL_FEATURES,
        model_columns=model_columns,
        config=config,
        comparable=comparable,
        comparable_since=since,
    )
    result.context = {
        "model_name": model_name,
        "challenger_version": version,
        "champion_version": champion_version or NO_VERSION,
        "holdout_start": holdout_start.isoformat(),
        "holdout_rows": str(len(holdout)),
    }
    status = "passed" if result.passed else "rejected"
    with mlflow.start_run(run_name="evaluate") as run:
        mlflow.set_tags({"model_version": version, "gate_status": status})
        mlflow.log_params({f"gate_{k}": v for k, v in vars(config).items()})
        mlflow.log_metrics({k: v for k, v in result.to_dict()["metrics"].items() if v is not None})
        mlflow.log_text(result.to_markdown(), "gate/report.md")
        mlflow.log_text(result.to_json(), "gate/report.json")
        mlflow.log_figure(
            residuals_figure(y_true, challenger_pred, f"Challenger v{version}"),
            "gate/challenger_residuals.png",
        )
    registry.write_verdict(
        version, GateVerdict(status, champion_version or NO_VERSION, run.info.run_id)
    )
    return EvaluationOutcome(status, version, champion_version, gate=result)
