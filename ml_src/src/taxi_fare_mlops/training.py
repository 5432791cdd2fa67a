"""The ``train`` step: LightGBM on point-in-time features, time-based holdout, MLflow logging,
registration of a new model version with alias ``challenger``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame, time_based_split, to_model_input
from taxi_fare_mlops.drift import fit_baseline
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.metrics import regression_metrics
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.plots import feature_importance_figure, residuals_figure
from taxi_fare_mlops.registry import BASELINE_PROFILE_ARTIFACT, CHALLENGER

# The original accelerator's parameters; bagging_freq=1 makes the bagging fraction take effect
# (LightGBM ignores bagging_fraction when bagging_freq is 0), deterministic=True pins results.
LIGHTGBM_PARAMS: dict[str, object] = {
    "objective": "regression",
    "metric": "rmse",
    "num_leaves": 25,
    "learning_rate": 0.2,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "feature_fraction": 0.9,
    "seed": 42,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 2,
    "verbosity": -1,
}
NUM_BOOST_ROUND = 100


@dataclass(frozen=True)
class TrainingConfig:
    """Training knobs exposed on the command line."""

    holdout_fraction: float = 0.2
    num_boost_round: int = NUM_BOOST_ROUND
    seed: int = 42
    min_rows: int = 200


@dataclass
class TrainingResult:
    """What the train step produced."""

    run_id: str
    model_name: str
    model_version: str
    holdout_start: str
    n_train: int
    n_holdout: int
    metrics: dict[str, float] = field(default_factory=dict)


def fit_lightgbm(
    features: pd.DataFrame, label: pd.Series, num_boost_round: int, seed: int
) -> lgb.Booster:
    """Train the LightGBM regressor with :data:`LIGHTGBM_PARAMS` (seed overridable)."""
    params = {**LIGHTGBM_PARAMS, "seed": seed}
    dataset = lgb.Dataset(features, label=label, free_raw_data=False)
    return lgb.train(params, dataset, num_boost_round=num_boost_round)


def baseline_profile(
    train_input: pd.DataFrame, holdout_predictions: np.ndarray, holdout_rmse: float
) -> dict[str, object]:
    """Reference distributions that ``monitor`` compares new traffic against."""
    return {
        "features": {
            name: fit_baseline(train_input[name].to_numpy()).to_dict()
            for name in train_input.columns
        },
        "prediction": fit_baseline(holdout_predictions).to_dict(),
        "holdout_rmse": holdout_rmse,
    }


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def run_training(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    experiment_name: str,
    start: datetime | None = None,
    end: datetime | None = None,
    config: TrainingConfig | None = None,
) -> TrainingResult:
    """Train, evaluate on the time-based holdout, log everything and register a challenger."""
    config = config or TrainingConfig()
    frame = load_model_frame(platform, sources, start, end).toPandas()
    if len(frame) < config.min_rows:
        raise PipelineError(
            f"only {len(frame)} training rows in [{_iso(start)}, {_iso(end)}); "
            f"need at least {config.min_rows}"
        )
    train, holdout, holdout_start = time_based_split(frame, config.holdout_fraction)
    x_train, x_holdout = to_model_input(train), to_model_input(holdout)

    platform.configure_mlflow(experiment_name)
    with mlflow.start_run(run_name="train") as run:
        booster = fit_lightgbm(x_train, train[c.LABEL], config.num_boost_round, config.seed)
        train_pred = booster.predict(x_train)
        holdout_pred = booster.predict(x_holdout)
        train_metrics = regression_metrics(train[c.LABEL].to_numpy(), train_pred)
        holdout_metrics = regression_metrics(holdout[c.LABEL].to_numpy(), holdout_pred)
        metrics = {f"holdout_{k}": v for k, v in holdout_metrics.items()}
        metrics |= {f"train_{k}": v for k, v in train_metrics.items()}

        mlflow.log_params({**LIGHTGBM_PARAMS, "seed": config.seed})
        mlflow.log_params(
            {
                "num_boost_round": config.num_boost_round,
                "holdout_fraction": config.holdout_fraction,
                "holdout_start": holdout_start.isoformat(),
                "start_date": _iso(start),
                "end_date": _iso(end),
                "source_table": sources.trips,
                "pickup_features_table": sources.pickup_features,
                "dropoff_features_table": sources.dropoff_features,
                "n_train": len(train),
                "n_holdout": len(holdout),
            }
        )
        mlflow.log_metrics(metrics)
        gains = booster.feature_importance(importance_type="gain")
        mlflow.log_dict(
            dict(zip(c.MODEL_FEATURES, map(float, gains), strict=True)),
            "feature_importance.json",
        )
        mlflow.log_figure(
            feature_importance_figure(list(c.MODEL_FEATURES), gains), "plots/feature_importance.png"
        )
        mlflow.log_figure(
            residuals_figure(holdout[c.LABEL].to_numpy(), holdout_pred, "Holdout"),
            "plots/holdout_residuals.png",
        )
        mlflow.log_dict(
            baseline_profile(x_train, holdout_pred, holdout_metrics["rmse"]),
            BASELINE_PROFILE_ARTIFACT,
        )
        signature = infer_signature(x_holdout, holdout_pred)
        mlflow.lightgbm.log_model(
            booster, artifact_path="model", signature=signature, input_example=x_holdout.head(5)
        )
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", model_name)

    client = MlflowClient()
    client.set_registered_model_alias(model_name, CHALLENGER, version.version)
    client.set_model_version_tag(model_name, version.version, "holdout_start", str(holdout_start))
    platform.set_task_value("model_version", str(version.version))
    return TrainingResult(
        run_id=run.info.run_id,
        model_name=model_name,
        model_version=str(version.version),
        holdout_start=holdout_start.isoformat(),
        n_train=len(train),
        n_holdout=len(holdout),
        metrics=metrics,
    )
