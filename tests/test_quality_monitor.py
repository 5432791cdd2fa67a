"""The Lakehouse Monitoring quality monitor on the inference table, on the synthesized JSON of
every (Unity Catalog) environment, found by resource type across all stacks."""

from __future__ import annotations

import inspect
from typing import Any

from taxi_fare_mlops.scoring import INFERENCE_SCHEMA

from constructs_lib.databricks.job_specs import specs
from constructs_lib.providers.databricks.quality_monitor import (
    QualityMonitor as ProviderQualityMonitor,
)
from constructs_lib.providers.databricks.quality_monitor import QualityMonitorInferenceLog
from tests.conftest import ENVIRONMENTS, job_principal, ref, resources

META = {"//", "depends_on", "provider", "lifecycle", "count", "for_each"}


def environment_resources(stacks: dict[str, Any], env: str, type_: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for name, stack in stacks.items():
        if name == env or name == f"{env}-workspace":
            found |= resources(stack, type_)
    return found


def only_one(stacks: dict[str, Any], env: str, type_: str) -> tuple[str, dict]:
    found = environment_resources(stacks, env, type_)
    assert len(found) == 1, f"{env}: expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def tables(stacks: dict[str, Any], env: str) -> dict[str, tuple[str, dict]]:
    """The inference and baseline tables of an environment, by name."""
    found = environment_resources(stacks, env, "databricks_sql_table")
    assert len(found) == 2, sorted(found)
    return {body["name"]: (key, body) for key, body in found.items()}


def inference_table(stacks: dict[str, Any], env: str) -> tuple[str, dict]:
    return tables(stacks, env)["taxi_fare_inference"]


def test_every_environment_monitors_its_inference_table(stacks) -> None:
    for env in ENVIRONMENTS:
        table_id, table = inference_table(stacks, env)
        baseline_id, baseline = tables(stacks, env)["taxi_fare_baseline"]
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        assert (table["table_type"], table["data_source_format"]) == ("MANAGED", "DELTA")
        assert monitor["table_name"] == (
            f"{table['catalog_name']}.{table['schema_name']}.{table['name']}"
        )
        assert monitor["baseline_table_name"] == (
            f"{table['catalog_name']}.{table['schema_name']}.taxi_fare_baseline"
        )
        assert baseline["column"] == table["column"]  # the monitor needs the same columns
        # Creating the monitor needs SELECT on the table: it waits for the inference schema's
        # grants, which give the admin group (the deployers) SELECT and MODIFY there.
        grants_id = next(
            k
            for k, g in resources(stacks[f"{env}-workspace"], "databricks_grants").items()
            if f".{table['schema_name'].split('.')[1]}." in g.get("schema", "")
        )
        assert monitor["depends_on"] == [
            f"databricks_sql_table.{table_id}",
            f"databricks_sql_table.{baseline_id}",
            f"databricks_grants.{grants_id}",
        ]


def test_the_job_principal_owns_the_monitored_tables(stacks) -> None:
    """The monitor itself has no owner field (provider 1.99.0, API): the data it watches
    belongs to the identity that writes it, not to the deployer."""
    for env in ENVIRONMENTS:
        principal = job_principal(stacks[f"{env}-workspace"])
        for _, body in tables(stacks, env).values():
            assert body["owner"] == principal
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        assert "owner" not in monitor


def test_inference_log_profile_matches_the_scoring_output(stacks) -> None:
    for env in ENVIRONMENTS:
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        (profile,) = monitor["inference_log"]
        assert profile == {
            "granularities": ["1 day"],
            "label_col": "fare_amount",
            "model_id_col": "model_version",
            "prediction_col": "prediction",
            "problem_type": "PROBLEM_TYPE_REGRESSION",
            "timestamp_col": "request_time",
        }
        assert "snapshot" not in monitor and "time_series" not in monitor


def test_declared_table_has_exactly_the_columns_scoring_writes(stacks) -> None:
    spark_to_sql = {
        "TimestampType()": "TIMESTAMP",
        "DoubleType()": "DOUBLE",
        "StringType()": "STRING",
    }
    written = [(f.name, spark_to_sql[str(f.dataType)]) for f in INFERENCE_SCHEMA.fields]
    assert list(specs.INFERENCE_TABLE_COLUMNS) == written
    for env in ENVIRONMENTS:
        _, table = inference_table(stacks, env)
        assert [(c["name"], c["type"]) for c in table["column"]] == written
        assert table["properties"] == {"delta.enableChangeDataFeed": "true"}


def test_metric_tables_go_to_the_inference_schema_and_assets_to_the_env_folder(stacks) -> None:
    for env in ENVIRONMENTS:
        _, table = inference_table(stacks, env)
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        assert monitor["output_schema_name"] == f"{table['catalog_name']}.{table['schema_name']}"
        schemas = environment_resources(stacks, env, "databricks_schema")
        inference = next(k for k, s in schemas.items() if s["name"] == "inference")
        assert table["schema_name"] == ref("databricks_schema", inference, "name")
        (folder_id,) = environment_resources(stacks, env, "databricks_directory")
        assert monitor["assets_dir"] == (
            ref("databricks_directory", folder_id, "path")
            + "/quality_monitoring/taxi_fare_inference"
        )


def test_no_warehouse_is_needed(stacks) -> None:
    """Without a configured warehouse: no dashboard (which would take the first running
    warehouse), no warehouse for the table, and no data source read at plan time."""
    for env in ENVIRONMENTS:
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        assert monitor["skip_builtin_dashboard"] is True
        assert "warehouse_id" not in monitor
        assert all("warehouse_id" not in body for _, body in tables(stacks, env).values())
        for name, stack in stacks.items():
            if name in (env, f"{env}-workspace"):
                assert "databricks_sql_warehouse" not in stack.get("data", {})


def test_refresh_schedule_and_failure_mail(stacks) -> None:
    for env in ENVIRONMENTS:
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        assert monitor["schedule"] == [
            {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"}
        ]
        (notifications,) = monitor["notifications"]
        assert notifications["on_failure"][0]["email_addresses"]


def test_every_attribute_is_in_the_provider_schema(stacks) -> None:
    """The prebuilt binding is generated from the provider schema at 1.99.0."""
    allowed = set(inspect.signature(ProviderQualityMonitor.__init__).parameters) - {
        "self",
        "scope",
        "id_",
    }
    log_allowed = set(inspect.signature(QualityMonitorInferenceLog.__init__).parameters)
    for env in ENVIRONMENTS:
        _, monitor = only_one(stacks, env, "databricks_quality_monitor")
        assert set(monitor) - META <= allowed, set(monitor) - META - allowed
        assert set(monitor["inference_log"][0]) <= log_allowed
