"""Legacy mode (Hive metastore, workspace model registry) end to end against a registry fake
that refuses aliases exactly as MLflow 2.13.1's workspace registry store does. Every table is
named ``hive_metastore.<schema>.<table>``: on a workspace whose default catalog is in Unity
Catalog, a two-level name would resolve in that catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from pyspark.sql import SparkSession

from registry_fakes import workspace_registry_uri
from steps import day, run_step
from taxi_fare_mlops import cli
from taxi_fare_mlops.errors import PipelineError
from taxi_fare_mlops.local_pipeline import write_sample
from taxi_fare_mlops.platform import local_platform
from taxi_fare_mlops.registry import CHAMPION, pointer_tag
from taxi_fare_mlops.tables import qualify

MODEL = "taxi_example_fare_packaged"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("trips", "hive_metastore.default.trips"),
        ("raw.trips", "hive_metastore.raw.trips"),
        ("hive_metastore.raw.trips", "hive_metastore.raw.trips"),
        ("/databricks-datasets/nyctaxi-with-zipcodes/subsampled",
         "/databricks-datasets/nyctaxi-with-zipcodes/subsampled"),
    ],
)  # fmt: skip
def test_legacy_names_are_three_level_in_hive_metastore(name: str, expected: str) -> None:
    assert qualify(name, "hive_metastore", "default", use_unity_catalog=False) == expected


def test_unity_catalog_names_are_three_level_in_the_catalog() -> None:
    assert qualify("trips", "mlops_dev", "features", True) == "mlops_dev.features.trips"
    assert qualify("raw.trips", "mlops_dev", "features", True) == "mlops_dev.raw.trips"
    assert qualify("samples.nyctaxi.trips", "mlops_dev", "x", True) == "samples.nyctaxi.trips"


def test_legacy_mode_refuses_a_table_of_another_catalog() -> None:
    with pytest.raises(PipelineError, match="outside hive_metastore"):
        qualify("mlops_dev.features.trips", "hive_metastore", "default", False)


@pytest.mark.spark
def test_train_promote_score_monitor_without_aliases(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sample(tmp_path, rows=4_000, seed=5)
    registry_uri = workspace_registry_uri(tmp_path / "mlflow.db")
    platform = local_platform(
        spark, tmp_path, schema="default", use_unity_catalog=False, registry_uri=registry_uri
    )
    assert platform.pointer_mode == "tag"
    legacy = ["--use-unity-catalog=false", "--schema=default", f"--model-name={MODEL}"]
    end = day(0)
    sample = tmp_path / "tables" / "samples" / "nyctaxi" / "trips"  # a path, like the dataset
    replay = run_step(
        cli.replay_main, tmp_path, *legacy, f"--end-date={end}", "--window-days=1",
        f"--sample-table={sample}",
    )  # fmt: skip
    assert replay.code == 0, replay.out
    assert (tmp_path / "tables" / "hive_metastore" / "default" / "trips_landing").is_dir()

    # The entry points build their own platform: point its registry at the fake as well.
    monkeypatch.setattr(
        cli,
        "build_platform",
        lambda args: local_platform(
            spark, args.local_dir, args.catalog, args.schema, False, registry_uri=registry_uri
        ),
    )
    window = [f"--end-date={end}", "--window-days=28"]
    for main in (cli.featurize_main, cli.train_main, cli.evaluate_main, cli.promote_main):
        run = run_step(main, tmp_path, *legacy, *window)
        assert run.code == 0, run.out
    assert run.status == "promoted"
    scored = run_step(cli.score_main, tmp_path, *legacy, f"--end-date={end}", "--window-days=1")
    monitored = run_step(
        cli.monitor_main, tmp_path, *legacy, f"--end-date={end}", "--window-days=1"
    )

    client = platform.client()
    tags = client.get_registered_model(MODEL).tags
    assert tags[pointer_tag(CHAMPION)] == "1" and tags[pointer_tag("challenger")] == "1"
    with pytest.raises(MlflowException, match="unsupported for models in the Workspace"):
        client.get_model_version_by_alias(MODEL, CHAMPION)  # the fake does refuse aliases
    assert scored.result["rows_scored"] > 30 and scored.result["model_version"] == "1"
    assert monitored.result["champion_version"] == "1" and monitored.result["rows"] > 30
    for table in ("trip_pickup_features", "taxi_fare_inference", "taxi_fare_monitoring"):
        assert (tmp_path / "tables" / "hive_metastore" / "default" / table).is_dir() or (
            tmp_path / "feature_store" / "hive_metastore" / "default" / table
        ).is_dir(), table
