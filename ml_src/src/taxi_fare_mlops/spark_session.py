"""Spark session factory: a small, quiet local session, or the cluster's session on Databricks."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from pyspark.sql import SparkSession

LOCAL_MASTER = "local[2]"


def _quiet_log4j_options() -> str:
    config = Path(str(resources.files("taxi_fare_mlops").joinpath("log4j2.properties")))
    return f"-Dlog4j2.configurationFile={config.as_uri()}"


def local_spark(
    app_name: str = "taxi-fare-mlops",
    shuffle_partitions: int = 4,
    warehouse_dir: Path | None = None,
) -> SparkSession:
    """Start (or reuse) a local Spark session sized for a laptop or CI runner.

    Two cores, few shuffle partitions, no UI, UTC session time zone, errors-only logging.
    ``warehouse_dir`` keeps ``spark-warehouse``/``metastore_db`` out of the working directory.
    """
    # Python workers (pandas UDFs, MLflow spark_udf) must run the interpreter running us.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    java_options = _quiet_log4j_options()
    builder = (
        SparkSession.builder.master(LOCAL_MASTER)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.executor.extraJavaOptions", java_options)
    )
    if warehouse_dir is not None:
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse_dir.resolve()))
        builder = builder.config(
            "spark.driver.extraJavaOptions",
            f"{java_options} -Dderby.system.home={warehouse_dir.resolve()}",
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def active_spark() -> SparkSession:
    """Return the session that Databricks created for the job (or any active session)."""
    return SparkSession.builder.getOrCreate()
