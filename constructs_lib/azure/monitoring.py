"""Log Analytics, Application Insights, diagnostic settings and the failed-job alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.azure.job_failure_query import (
    failed_job_runs_query,
    iso_duration,
    window_duration_minutes,
)
from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.application_insights import ApplicationInsights
from constructs_lib.providers.azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from constructs_lib.providers.azurerm.monitor_action_group import (
    MonitorActionGroup,
    MonitorActionGroupEmailReceiver,
)
from constructs_lib.providers.azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)
from constructs_lib.providers.azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
    MonitorScheduledQueryRulesAlertV2Action,
    MonitorScheduledQueryRulesAlertV2Criteria,
    MonitorScheduledQueryRulesAlertV2CriteriaDimension,
    MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods,
)
from constructs_lib.providers.compat import application_insights_local_auth

DATABRICKS_LOG_CATEGORIES: tuple[str, ...] = (
    "accounts",
    "clusters",
    "dbfs",
    "instancePools",
    "jobs",
    "notebook",
    "secrets",
    "sqlPermissions",
    "unityCatalog",
    "workspace",
)
"""Databricks diagnostic log categories sent to Log Analytics (audit-relevant ones)."""

KEY_VAULT = "Microsoft.KeyVault/vaults"
BLOB_SERVICE = "Microsoft.Storage/storageAccounts/blobServices"
STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
DATABRICKS_WORKSPACE = "Microsoft.Databricks/workspaces"

METRIC_CATEGORIES: dict[str, tuple[str, ...]] = {
    # Key Vault's metrics have no category groups: `AllMetrics` is its one category (the
    # provider's own Key Vault tests use it).
    KEY_VAULT: ("AllMetrics",),
    # Storage refuses `AllMetrics` ("Metric category 'AllMetrics' is not supported, supported
    # categories are: 'Capacity;Transaction'", Azure/azure-powershell#6520 for a blob
    # service). Capacity is left out: of its blob-service metrics only ContainerCount is
    # exportable through a diagnostic setting (Azure Monitor "Supported metrics for
    # Microsoft.Storage/storageAccounts/blobServices", column "DS Export").
    BLOB_SERVICE: ("Transaction",),
    STORAGE_ACCOUNT: ("Transaction",),
    # No metrics requested: the workspace's diagnostic setting is for its audit logs.
    DATABRICKS_WORKSPACE: (),
}
"""Metric categories each diagnostic target type is sent with: what Azure accepts for that
type, since the provider checks only that a category is not empty and Azure refuses an
unsupported one when the setting is created (docs/platform-assumptions.md)."""


@dataclass(frozen=True, kw_only=True)
class ObservabilityProps:
    resource_group: EnvironmentResourceGroup
    log_analytics_workspace_name: str
    application_insights_name: str
    retention_in_days: int = 90
    """Days Log Analytics keeps logs."""
    daily_quota_gb: float = -1
    """Ingestion cap per day; -1: none."""


class Observability(Construct):
    """Log Analytics workspace plus workspace-based Application Insights, both with local
    (shared key) authentication off. `add_diagnostics` sends a resource's logs and metrics to
    the Log Analytics workspace."""

    def __init__(self, scope: Construct, id_: str, props: ObservabilityProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.log_analytics = LogAnalyticsWorkspace(
            self,
            "LogAnalytics",
            name=props.log_analytics_workspace_name,
            location=rg.location,
            resource_group_name=rg.name,
            sku="PerGB2018",
            retention_in_days=props.retention_in_days,
            daily_quota_gb=props.daily_quota_gb,
            # Shared keys cannot ingest (forge) records: agents and the HTTP Data Collector API
            # would need them; diagnostic settings, App Insights and queries use Entra ID. At
            # azurerm 4.x this attribute wins; `local_authentication_disabled` is deprecated.
            local_authentication_enabled=False,
        )
        self.application_insights = ApplicationInsights(
            self,
            "AppInsights",
            name=props.application_insights_name,
            location=rg.location,
            resource_group_name=rg.name,
            application_type="other",
            workspace_id=self.log_analytics.id,
            **application_insights_local_auth(enabled=False),
        )
        self.diagnostic_settings: list[MonitorDiagnosticSetting] = []

    def add_diagnostics(
        self,
        id_: str,
        *,
        target_resource_id: str,
        target_type: str,
        log_categories: Sequence[str] = (),
        log_category_groups: Sequence[str] = (),
    ) -> MonitorDiagnosticSetting:
        """Send `target_resource_id`'s logs (by category or category group) and the metric
        categories its resource type accepts (`METRIC_CATEGORIES[target_type]`, none for some
        types) to the Log Analytics workspace. Retention is the workspace's (no deprecated
        per-setting `retention_policy`).

        No `log_analytics_destination_type`: the services here offer no choice of table mode
        (Databricks and blob logs go to resource-specific tables, Key Vault's to
        AzureDiagnostics), the API then reads it back as null, and the provider's
        Optional+Computed field would show a change on every plan
        (docs/platform-assumptions.md)."""
        if target_type not in METRIC_CATEGORIES:
            raise ValueError(
                f"diagnostic target type {target_type!r} has no metric categories in "
                f"METRIC_CATEGORIES; add the categories Azure accepts for it"
            )
        logs = [MonitorDiagnosticSettingEnabledLog(category=c) for c in log_categories] + [
            MonitorDiagnosticSettingEnabledLog(category_group=g) for g in log_category_groups
        ]
        metrics = [
            MonitorDiagnosticSettingEnabledMetric(category=c)
            for c in METRIC_CATEGORIES[target_type]
        ]
        setting = MonitorDiagnosticSetting(
            self,
            f"Diagnostics-{id_}",
            name="to-log-analytics",
            target_resource_id=target_resource_id,
            log_analytics_workspace_id=self.log_analytics.id,
            enabled_log=logs or None,
            enabled_metric=metrics or None,
        )
        self.diagnostic_settings.append(setting)
        return setting


@dataclass(frozen=True, kw_only=True)
class JobFailureAlertProps:
    resource_group: EnvironmentResourceGroup
    observability: Observability
    action_group_name: str
    action_group_short_name: str
    """At most 12 characters (shown in SMS and e-mail subjects)."""
    alert_name: str
    email_receivers: Sequence[tuple[str, str]]
    """(name, e-mail address) pairs."""
    severity: int = 2
    window_minutes: int = 15
    """How often the alert evaluates (one of `EVALUATION_FREQUENCY_MINUTES`); a failed run is
    reported one to two periods after its final task attempt failed."""


class JobFailureAlert(Construct):
    """Action group with the configured e-mail receivers and a scheduled-query alert that fires
    once per failed Databricks job run: when the final attempt of one of its tasks failed, not
    when an attempt failed and a retry succeeded (`job_failure_query`)."""

    def __init__(self, scope: Construct, id_: str, props: JobFailureAlertProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.action_group = MonitorActionGroup(
            self,
            "ActionGroup",
            name=props.action_group_name,
            resource_group_name=rg.name,
            short_name=props.action_group_short_name,
            location="global",
            email_receiver=[
                MonitorActionGroupEmailReceiver(
                    name=name, email_address=address, use_common_alert_schema=True
                )
                for name, address in props.email_receivers
            ],
        )
        self.alert = MonitorScheduledQueryRulesAlertV2(
            self,
            "FailedJobs",
            name=props.alert_name,
            display_name="Databricks job run failed",
            description="A Databricks job run failed: the final attempt of one of its tasks "
            "failed (DatabricksJobs table).",
            location=rg.location,
            resource_group_name=rg.name,
            scopes=[props.observability.log_analytics.id],
            severity=props.severity,
            evaluation_frequency=iso_duration(props.window_minutes),
            window_duration=iso_duration(window_duration_minutes(props.window_minutes)),
            auto_mitigation_enabled=False,
            criteria=[
                MonitorScheduledQueryRulesAlertV2Criteria(
                    query=failed_job_runs_query(props.window_minutes),
                    time_aggregation_method="Total",
                    metric_measure_column="FailedTasks",
                    operator="GreaterThan",
                    threshold=0,
                    resource_id_column="_ResourceId",
                    # One alert per failed job run (and the job it belongs to).
                    dimension=[
                        MonitorScheduledQueryRulesAlertV2CriteriaDimension(
                            name=name, operator="Include", values=["*"]
                        )
                        for name in ("JobId", "JobRunId")
                    ],
                    failing_periods=MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods(
                        minimum_failing_periods_to_trigger_alert=1,
                        number_of_evaluation_periods=1,
                    ),
                )
            ],
            action=MonitorScheduledQueryRulesAlertV2Action(action_groups=[self.action_group.id]),
        )
