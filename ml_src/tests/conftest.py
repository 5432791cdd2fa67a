"""Shared fixtures: one quiet local Spark session per test session, and an MLflow tracking
server (SQLite) in a temporary directory so that no test touches ~/mlruns or ./mlruns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from pyspark.sql import SparkSession

from taxi_fare_mlops.cli import configure_logging
from taxi_fare_mlops.platform import keep_mlflow_defaults_under


def pytest_configure(config: pytest.Config) -> None:
    # Known, harmless warnings raised inside third-party code on import or logging.
    for line in (
        "ignore:Setuptools is replacing distutils:UserWarning",
        "ignore:The distutils package is deprecated:DeprecationWarning",
        "ignore:.*pkg_resources is deprecated.*:DeprecationWarning",
        "ignore:.*Deprecated call to `pkg_resources.declare_namespace.*:DeprecationWarning",
        "ignore:.*distutils Version classes are deprecated.*:DeprecationWarning",
        "ignore:.*is_categorical_dtype is deprecated.*:DeprecationWarning",
        "ignore:.*is_datetime64tz_dtype is deprecated.*:DeprecationWarning",
    ):
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture(scope="session", autouse=True)
def mlflow_tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point MLflow at a throwaway SQLite database for the whole test session."""
    configure_logging()
    root = tmp_path_factory.mktemp("mlflow")
    keep_mlflow_defaults_under(root / "mlruns")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    mp.undo()


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local[2] Spark session (UI off, 4 shuffle partitions, UTC, errors-only logging)."""
    from taxi_fare_mlops.spark_session import local_spark

    warehouse: Path = tmp_path_factory.mktemp("spark-warehouse")
    session = local_spark(app_name="taxi-fare-mlops-tests", warehouse_dir=warehouse)
    yield session
    session.stop()
