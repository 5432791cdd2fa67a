"""Lakehouse Monitoring on the inference table: the Databricks-native companion of the ML jobs'
own PSI check. The construct declares the inference table itself (a monitor attaches to an
existing table, and the first scoring run happens long after the first apply) and an
``InferenceLog`` quality monitor on it.

Provider schema at databricks/databricks 1.99.0 (docs/resources/quality_monitor.md and
internal/providers/pluginfw/products/qualitymonitor/resource_quality_monitor.go): `table_name`,
`assets_dir` and `output_schema_name` are required; `inference_log` takes `granularities`,
`model_id_col`, `prediction_col`, `problem_type` (`PROBLEM_TYPE_REGRESSION`), `timestamp_col`
and the optional `label_col`; `warehouse_id` is optional ("If not specified, the first running
warehouse will be used" for the dashboard) and `skip_builtin_dashboard` skips the dashboard.
Nothing here is read at plan time: no data source, no warehouse lookup.

Baseline and ownership: the monitor computes baseline drift against `baseline_table_name`
(each model version's scored holdout, written by the training step, same columns as the
inference table). Neither the provider resource nor the create-monitor API (databricks-sdk-go
v0.93.0 `catalog.CreateMonitor`) has an owner field: the monitor is created by the deploying
identity. What can be owned is the data: both tables belong to the job principal (`owner`), so
the identity that writes them is the one with the table-owner rights the monitor API asks for
(refresh, update), never the deployer. Which identity the scheduled refresh runs as is not
documented (docs/platform-assumptions.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.cdk import Construct, TerraformResourceLifecycle
from constructs_lib.databricks.unity_catalog import EnvironmentCatalog
from constructs_lib.providers.databricks.quality_monitor import (
    QualityMonitor as DbQualityMonitor,
)
from constructs_lib.providers.databricks.quality_monitor import (
    QualityMonitorInferenceLog,
    QualityMonitorNotifications,
    QualityMonitorNotificationsOnFailure,
    QualityMonitorSchedule,
)
from constructs_lib.providers.databricks.sql_table import SqlTable, SqlTableColumn


@dataclass(frozen=True, kw_only=True)
class QualityMonitorProps:
    catalog: EnvironmentCatalog
    """The environment's catalog; the table and the metric tables go into its schemas."""
    schema: str
    """Schema of the inference table, also the monitor's output schema (where the jobs' own
    monitoring table lives, and which the same principals can read)."""
    table_name: str
    """Inference table the batch scoring job writes (its `--inference-table`)."""
    baseline_table_name: str
    """Baseline table the training step writes (its `--baseline-table`), same columns."""
    owner: str
    """Owner of both tables: the job principal's application ID (the identity that writes
    them), not the deploying identity."""
    columns: Sequence[tuple[str, str]]
    """(name, SQL type) of every column, in the order the scoring job writes them."""
    assets_dir: str
    """Workspace folder of the monitor's dashboard, e.g. `<workspace dir>/quality_monitoring`."""
    timestamp_col: str
    prediction_col: str
    label_col: str
    model_id_col: str
    problem_type: str = "PROBLEM_TYPE_REGRESSION"
    granularities: Sequence[str] = ("1 day",)
    """Time windows the metrics are aggregated over. Default: one day, like the batch job."""
    quartz_cron_expression: str = "0 0 6 * * ?"
    """When the metric tables refresh. Default: daily 06:00, after the batch scoring job."""
    timezone_id: str = "UTC"
    notification_emails: Sequence[str] = ()
    """Mailed when a monitor refresh fails."""
    warehouse_id: str | None = None
    """SQL warehouse for the built-in dashboard (and for creating the table). Default: none:
    no dashboard (`skip_builtin_dashboard`), and the provider creates the table on its own
    auto-terminating `terraform-sql-table` cluster."""


class QualityMonitor(Construct):
    """The inference table (managed Delta, change data feed on) and an InferenceLog quality
    monitor on it. Exposes `table` and `monitor`."""

    def __init__(self, scope: Construct, id_: str, props: QualityMonitorProps) -> None:
        super().__init__(scope, id_)
        names = [name for name, _ in props.columns]
        required = {
            props.timestamp_col,
            props.prediction_col,
            props.label_col,
            props.model_id_col,
        }
        missing = sorted(required - set(names))
        if missing:
            raise ValueError(f"QualityMonitor: columns {missing} are not in the table's columns")
        schema = props.catalog.schemas[props.schema]
        columns = [SqlTableColumn(name=name, type=type_) for name, type_ in props.columns]
        self.table = SqlTable(
            self,
            "InferenceTable",
            catalog_name=props.catalog.name,
            schema_name=schema.name,
            name=props.table_name,
            table_type="MANAGED",
            data_source_format="DELTA",
            column=columns,
            # Lakehouse Monitoring processes a table with change data feed incrementally.
            properties={"delta.enableChangeDataFeed": "true"},
            comment="Batch scoring log of the taxi fare model (written by batch_inference).",
            owner=props.owner,
            warehouse_id=props.warehouse_id,
            # After the create the job principal owns the table; the deployers may still alter
            # columns and properties (MODIFY, from the schema's grants); whether COMMENT ON is
            # allowed without ownership is not settled, so a later comment edit is not applied
            # (docs/platform-assumptions.md).
            lifecycle=TerraformResourceLifecycle(ignore_changes=["comment"]),
        )
        self.baseline = SqlTable(
            self,
            "BaselineTable",
            catalog_name=props.catalog.name,
            schema_name=schema.name,
            name=props.baseline_table_name,
            table_type="MANAGED",
            data_source_format="DELTA",
            column=columns,
            comment="Each model version's scored holdout (written by ml_pipeline's train task):"
            " the quality monitor's baseline.",
            owner=props.owner,
            warehouse_id=props.warehouse_id,
            # After the create the job principal owns the table; the deployers may still alter
            # columns and properties (MODIFY, from the schema's grants); whether COMMENT ON is
            # allowed without ownership is not settled, so a later comment edit is not applied
            # (docs/platform-assumptions.md).
            lifecycle=TerraformResourceLifecycle(ignore_changes=["comment"]),
        )
        full_name = f"{props.catalog.name}.{schema.name}.{props.table_name}"
        self.monitor = DbQualityMonitor(
            self,
            "Monitor",
            table_name=full_name,
            output_schema_name=f"{props.catalog.name}.{schema.name}",
            baseline_table_name=f"{props.catalog.name}.{schema.name}.{props.baseline_table_name}",
            assets_dir=f"{props.assets_dir}/{props.table_name}",
            inference_log=[
                QualityMonitorInferenceLog(
                    granularities=list(props.granularities),
                    timestamp_col=props.timestamp_col,
                    prediction_col=props.prediction_col,
                    label_col=props.label_col,
                    model_id_col=props.model_id_col,
                    problem_type=props.problem_type,
                )
            ],
            schedule=[
                QualityMonitorSchedule(
                    quartz_cron_expression=props.quartz_cron_expression,
                    timezone_id=props.timezone_id,
                )
            ],
            notifications=(
                [
                    QualityMonitorNotifications(
                        on_failure=[
                            QualityMonitorNotificationsOnFailure(
                                email_addresses=list(props.notification_emails)
                            )
                        ]
                    )
                ]
                if props.notification_emails
                else None
            ),
            warehouse_id=props.warehouse_id,
            skip_builtin_dashboard=props.warehouse_id is None,
            # Creating the monitor needs SELECT on the table, which the deployers get from the
            # schema's grants (the tables belong to the job principal): wait for them.
            depends_on=[self.table, self.baseline, props.catalog.schema_grants[props.schema]],
        )
