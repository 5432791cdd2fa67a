"""The ``evaluate`` step: rebuild the challenger's holdout, run the gate, report to MLflow,
tag the model version with the verdict."""

from __future__ import annotations

from datetime import datetime

import mlflow
import pandas as pd
from mlflow import MlflowClient

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame, to_model_input
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.gate import DistanceBucketBaseline, GateConfig, GateResult, run_gate
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.plots import residuals_figure
from taxi_fare_mlops.registry import (
    CHALLENGER,
    CHAMPION,
    GATE_STATUS_TAG,
    resolve_version,
    version_by_alias,
)


def _optional_datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def run_evaluation(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    experiment_name: str,
    model_version: str | None = None,
    config: GateConfig | None = None,
) -> GateResult:
    """Gate ``model_version`` (default: ``@challenger``) on the holdout it was trained with.

    The holdout window comes from the training run's parameters, so challenger, champion and
    baseline are all scored on exactly the same trips. The result is logged as an
    ``evaluate`` run (Markdown + JSON report, plot) and as tags on the model version.
    """
    config = config or GateConfig()
    platform.configure_mlflow(experiment_name)
    client = MlflowClient()
    candidate = resolve_version(client, model_name, model_version, CHALLENGER)
    params = client.get_run(candidate.run_id).data.params
    if "holdout_start" not in params:
        raise PipelineError(f"run {candidate.run_id} has no holdout_start parameter")
    holdout_start = pd.Timestamp(params["holdout_start"])
    frame = load_model_frame(
        platform,
        sources,
        _optional_datetime(params.get("start_date")),
        _optional_datetime(params.get("end_date")),
    ).toPandas()
    is_holdout = pd.to_datetime(frame[c.PICKUP_TS]) >= holdout_start
    train, holdout = frame.loc[~is_holdout], frame.loc[is_holdout]
    if train.empty or holdout.empty:
        raise PipelineError(f"no training or holdout rows around holdout_start={holdout_start}")
    y_true = holdout[c.LABEL].to_numpy()
    x_holdout = to_model_input(holdout)

    baseline = DistanceBucketBaseline().fit(
        train[c.TRIP_DISTANCE].to_numpy(), train[c.LABEL].to_numpy()
    )
    challenger_model = mlflow.pyfunc.load_model(f"models:/{model_name}/{candidate.version}")
    input_schema = challenger_model.metadata.get_input_schema()
    model_columns = input_schema.input_names() if input_schema is not None else None
    challenger_pred = challenger_model.predict(x_holdout)

    champion = version_by_alias(client, model_name, CHAMPION)
    champion_pred = None
    if champion is not None and str(champion.version) != str(candidate.version):
        champion_model = mlflow.pyfunc.load_model(f"models:/{model_name}/{champion.version}")
        champion_pred = champion_model.predict(x_holdout)

    result = run_gate(
        y_true,
        challenger_pred,
        baseline.predict(holdout[c.TRIP_DISTANCE].to_numpy()),
        champion_pred,
        expected_columns=c.MODEL_FEATURES,
        model_columns=model_columns,
        config=config,
    )
    result.context = {
        "model_name": model_name,
        "challenger_version": str(candidate.version),
        "champion_version": str(champion.version) if champion is not None else "none",
        "holdout_start": holdout_start.isoformat(),
        "holdout_rows": str(len(holdout)),
    }
    with mlflow.start_run(run_name="evaluate") as run:
        mlflow.set_tags({"model_version": str(candidate.version), "gate_passed": result.passed})
        mlflow.log_params({f"gate_{k}": v for k, v in vars(config).items()})
        mlflow.log_metrics({k: v for k, v in result.to_dict()["metrics"].items() if v is not None})
        mlflow.log_text(result.to_markdown(), "gate/report.md")
        mlflow.log_text(result.to_json(), "gate/report.json")
        mlflow.log_figure(
            residuals_figure(y_true, challenger_pred, f"Challenger v{candidate.version}"),
            "gate/challenger_residuals.png",
        )
    status = "passed" if result.passed else "rejected"
    client.set_model_version_tag(model_name, candidate.version, GATE_STATUS_TAG, status)
    client.set_model_version_tag(model_name, candidate.version, "gate_run_id", run.info.run_id)
    platform.set_task_value("gate_passed", result.passed)
    return result
