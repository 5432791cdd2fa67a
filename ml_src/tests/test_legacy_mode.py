"""Legacy mode (workspace model registry, Hive-style names) end to end against a registry fake
that refuses aliases exactly as MLflow 2.13.1's workspace registry store does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from pyspark.sql import SparkSession

from registry_fakes import workspace_registry_uri
from taxi_fare_mlops.data.generator import new_york_midnight_utc
from taxi_fare_mlops.datasets import DataSources
from taxi_fare_mlops.evaluation import run_evaluation
from taxi_fare_mlops.featurization import run_featurize
from taxi_fare_mlops.local_pipeline import EXPERIMENT, MODEL, LocalRunConfig, _write_trips
from taxi_fare_mlops.monitoring import run_monitoring
from taxi_fare_mlops.platform import local_platform
from taxi_fare_mlops.promotion import promote
from taxi_fare_mlops.registry import CHAMPION, pointer_tag
from taxi_fare_mlops.scoring import run_scoring
from taxi_fare_mlops.training import run_training
from taxi_fare_mlops.windows import Window

pytestmark = pytest.mark.spark


def test_train_promote_score_monitor_without_aliases(spark: SparkSession, tmp_path: Path) -> None:
    platform = local_platform(
        spark,
        tmp_path,
        schema="default",
        use_unity_catalog=False,
        registry_uri=workspace_registry_uri(tmp_path / "mlflow.db"),
    )
    assert platform.pointer_mode == "tag"
    cfg = LocalRunConfig(workdir=tmp_path, rows=3_000, train_days=7, score_days=2, windows=1)
    sources = DataSources(
        platform.table_name("raw_trips"),
        platform.table_name("trip_pickup_features"),
        platform.table_name("trip_dropoff_features"),
    )
    assert sources.trips == "default.raw_trips"  # Hive metastore names in legacy mode
    _write_trips(platform, cfg, sources.trips)
    start = new_york_midnight_utc(datetime(2016, 1, 1))
    split = new_york_midnight_utc(datetime(2016, 1, 8))
    end = new_york_midnight_utc(datetime(2016, 1, 10))
    model = platform.model_name(MODEL)
    assert model == MODEL  # no catalog.schema prefix in the workspace registry

    run_featurize(platform, *vars(sources).values(), Window(start, end))
    trained = run_training(platform, sources, model, EXPERIMENT, Window(start, split))
    gate = run_evaluation(platform, sources, model, EXPERIMENT)
    assert gate.passed, gate.to_markdown()
    decision = promote(platform.registry(model))
    assert decision.promoted and decision.champion_version == trained.model_version

    client = platform.client()
    tags = client.get_registered_model(model).tags
    assert tags[pointer_tag(CHAMPION)] == trained.model_version
    assert tags[pointer_tag("challenger")] == trained.model_version
    with pytest.raises(MlflowException, match="unsupported for models in the Workspace"):
        client.get_model_version_by_alias(model, CHAMPION)  # the fake does refuse aliases

    scored = run_scoring(
        platform, sources, model, platform.table_name("inference"), Window(split, end)
    )
    assert scored.model_version == trained.model_version and scored.rows > 100
    monitored = run_monitoring(
        platform,
        model,
        platform.table_name("inference"),
        platform.table_name("monitoring"),
        Window(split, end),
    )
    assert monitored.model_version == trained.model_version
    assert monitored.rows == scored.rows and not monitored.skipped
