"""The ``train`` step: LightGBM on point-in-time features, time-based holdout, MLflow logging,
registration of a new model version with alias ``challenger``, and the version's rows in the
quality monitor's baseline table (its holdout, scored).

Too little data in the window (a new deployment before enough trips have landed) is an
expected state, ``no_data``: nothing is registered and the step succeeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from taxi_fare_mlops import columns as c
from taxi_fare_mlops.datasets import DataSources, load_model_frame, time_based_split, to_model_input
from taxi_fare_mlops.drift import fit_baseline
from taxi_fare_mlops.metrics import regression_metrics
from taxi_fare_mlops.platform import Platform
from taxi_fare_mlops.plots import feature_importance_figure, residuals_figure
from taxi_fare_mlops.registry import BASELINE_PROFILE_ARTIFACT, CHALLENGER
from taxi_fare_mlops.windows import Window, sql_string

RUN_KEY_TAG = "run_key"
REGISTERED_VERSION_TAG = "registered_version"

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
    model_version: str | None
    """``None``: too little data, nothing registered (status ``no_data``)."""
    holdout_start: str
    n_train: int
    n_holdout: int
    metrics: dict[str, float] = field(default_factory=dict)
    reused: bool = False
    """True when a retry found the version an earlier attempt of the same run registered."""
    note: str = ""

    @property
    def status(self) -> str:
        """``ok`` or ``no_data``."""
        return "ok" if self.model_version is not None else "no_data"


def model_requirements() -> list[str]:
    """The model's pip requirements: the libraries (and versions) it was trained with.

    Stated instead of inferred: MLflow's inference imports the model in a subprocess (seconds
    per training run), and the jobs load models with ``env_manager="local"`` on the same
    Databricks Runtime that trained them, so these pins only document the environment."""
    return [
        f"mlflow=={mlflow.__version__}",
        f"lightgbm=={lgb.__version__}",
        f"numpy=={np.__version__}",
        f"pandas=={pd.__version__}",
    ]


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


def write_baseline(
    platform: Platform,
    baseline_table: str,
    model_name: str,
    version: str,
    holdout: pd.DataFrame,
    predictions: np.ndarray,
) -> None:
    """Replace ``version``'s rows of the quality monitor's baseline table with its scored
    holdout (same columns as the inference table, labels included)."""
    from pyspark.sql import functions as F

    from taxi_fare_mlops.scoring import INFERENCE_COLUMNS, INFERENCE_SCHEMA

    rows = pd.DataFrame(
        {
            c.TRIP_ID: None,
            c.REQUEST_TIME: pd.to_datetime(holdout[c.PICKUP_TS]),
            c.DROPOFF_TS: pd.to_datetime(holdout[c.DROPOFF_TS]),
            **{name: to_model_input(holdout)[name] for name in c.MODEL_FEATURES},
            c.PREDICTION: np.asarray(predictions, dtype=np.float64),
            c.LABEL: holdout[c.LABEL].astype(np.float64),
            c.MODEL_NAME: model_name,
            c.MODEL_VERSION: version,
        }
    )
    frame = (
        platform.spark.createDataFrame(rows.astype({c.TRIP_ID: "object"}))
        .withColumn(c.TRIP_ID, F.col(c.TRIP_ID).cast("string"))
        .withColumn(c.SCORED_AT, F.lit(datetime.now(UTC)))
    )
    frame = frame.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in INFERENCE_SCHEMA.fields]
    )
    platform.tables.replace_where(
        baseline_table,
        frame.select(*INFERENCE_COLUMNS),
        f"`{c.MODEL_VERSION}` = {sql_string(version)}",
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _earlier_attempt(
    platform: Platform, experiment_id: str, model_name: str, run_key: str
) -> TrainingResult | None:
    """The version an earlier attempt with the same ``run_key`` registered, if any.

    A task retry (same job run, same ``{{job.run_id}}``) must not register a second version:
    the train run is tagged with the key and, once registered, with its version.
    """
    client = platform.client()
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.{RUN_KEY_TAG} = '{run_key}'", max_results=50
    )
    registered = [r for r in runs if r.data.tags.get(REGISTERED_VERSION_TAG)]
    if not registered:
        return None
    previous = registered[0]
    version = previous.data.tags[REGISTERED_VERSION_TAG]
    registry = platform.registry(model_name)
    registry.version(version)  # must still exist
    registry.point(CHALLENGER, version)  # the retry may have died before this
    params = previous.data.params
    return TrainingResult(
        run_id=previous.info.run_id,
        model_name=model_name,
        model_version=version,
        holdout_start=params.get("holdout_start", ""),
        n_train=int(params.get("n_train", 0)),
        n_holdout=int(params.get("n_holdout", 0)),
        metrics=dict(previous.data.metrics),
        reused=True,
    )


def run_training(
    platform: Platform,
    sources: DataSources,
    model_name: str,
    experiment_name: str,
    window: Window | None = None,
    config: TrainingConfig | None = None,
    run_key: str = "",
    baseline_table: str | None = None,
) -> TrainingResult:
    """Train, evaluate on the time-based holdout, log everything and register a challenger.

    With a ``run_key`` (the job passes ``{{job.run_id}}``), a retry of the same job run returns
    the version the first attempt registered instead of registering another one.
    """
    config = config or TrainingConfig()
    window = window or Window()
    experiment_id = platform.configure_mlflow(experiment_name)
    if run_key:
        earlier = _earlier_attempt(platform, experiment_id, model_name, run_key)
        if earlier is not None:
            return earlier
    frame = load_model_frame(platform, sources, window).toPandas()
    frame = frame.loc[frame[c.LABEL].notna()]
    if len(frame) < config.min_rows:
        return TrainingResult(
            run_id="",
            model_name=model_name,
            model_version=None,
            holdout_start="",
            n_train=0,
            n_holdout=0,
            note=f"{len(frame)} labelled trips in {window.describe()}, need {config.min_rows}",
        )
    train, holdout, holdout_start = time_based_split(frame, config.holdout_fraction)
    x_train, x_holdout = to_model_input(train), to_model_input(holdout)

    with mlflow.start_run(run_name="train") as run:
        if run_key:
            mlflow.set_tag(RUN_KEY_TAG, run_key)
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
                "start_date": _iso(window.start),
                "end_date": _iso(window.end),
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
            booster,
            artifact_path="model",
            signature=signature,
            input_example=x_holdout.head(5),
            pip_requirements=model_requirements(),
        )
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", model_name)
        mlflow.set_tag(REGISTERED_VERSION_TAG, str(version.version))

    registry = platform.registry(model_name)
    registry.tag_version(version.version, "holdout_start", holdout_start.isoformat())
    if baseline_table:
        write_baseline(
            platform, baseline_table, model_name, str(version.version), holdout, holdout_pred
        )
    registry.point(CHALLENGER, version.version)
    return TrainingResult(
        run_id=run.info.run_id,
        model_name=model_name,
        model_version=str(version.version),
        holdout_start=holdout_start.isoformat(),
        n_train=len(train),
        n_holdout=len(holdout),
        metrics=metrics,
    )
