"""The ``evaluate`` step: rebuild the challenger's holdout, run the gate, report to MLflow, and
record the verdict on the model version (``gate_status``, and ``gate_champion_version``: the
champion it was compared with, which ``promote`` checks).

A rejection is an expected outcome, not a failure: the step succeeds and the verdict says
"rejected"; ``promote`` then does nothing.
"""

from __future__ import annotations

from datetime import datetime

import mlflow
import pandas as pd

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame, to_model_input
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.gate import (
    CheckResult,
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
    GATE_CHAMPION_TAG,
    GATE_RUN_TAG,
    GATE_STATUS_TAG,
    NO_VERSION,
)
from taxi_fare_mlops.windows import Window, to_utc


def _optional_datetime(value: str | None) -> datetime | None:
    return to_utc(datetime.fromisoformat(value)) if value else None


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
    client = platform.client()
    registry = platform.registry(model_name)
    candidate = registry.resolve(model_version, CHALLENGER)
    champion = registry.pointed(CHAMPION)
    context = {
        "model_name": model_name,
        "challenger_version": str(candidate.version),
        "champion_version": str(champion.version) if champion is not None else NO_VERSION,
    }
    if champion is not None and str(champion.version) == str(candidate.version):
        # Re-evaluating the champion against itself would tag it "rejected" (equal metrics).
        return GateResult(
            passed=False,
            checks=[
                CheckResult("not_already_champion", False, f"v{candidate.version} is champion")
            ],
            context=context,
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
    challenger_model = mlflow.pyfunc.load_model(f"models:/{model_name}/{candidate.version}")
    input_schema = challenger_model.metadata.get_input_schema()
    model_columns = input_schema.input_names() if input_schema is not None else None
    challenger_pred = challenger_model.predict(x_holdout)

    champion_pred = None
    if champion is not None:
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
        **context,
        "holdout_start": holdout_start.isoformat(),
        "holdout_rows": str(len(holdout)),
    }
    with mlflow.start_run(run_name="evaluate") as run:
        mlflow.set_tags(
            {
                "model_version": str(candidate.version),
                "gate_passed": result.passed,
                GATE_CHAMPION_TAG: context["champion_version"],
            }
        )
        mlflow.log_params({f"gate_{k}": v for k, v in vars(config).items()})
        mlflow.log_metrics({k: v for k, v in result.to_dict()["metrics"].items() if v is not None})
        mlflow.log_text(result.to_markdown(), "gate/report.md")
        mlflow.log_text(result.to_json(), "gate/report.json")
        mlflow.log_figure(
            residuals_figure(y_true, challenger_pred, f"Challenger v{candidate.version}"),
            "gate/challenger_residuals.png",
        )
    # The champion first: a verdict is only ever read together with the champion it names.
    registry.tag_version(candidate.version, GATE_CHAMPION_TAG, context["champion_version"])
    registry.tag_version(candidate.version, GATE_RUN_TAG, run.info.run_id)
    registry.tag_version(
        candidate.version, GATE_STATUS_TAG, "passed" if result.passed else "rejected"
    )
    return result
