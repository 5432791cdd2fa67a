"""Log Analytics, Application Insights, diagnostic settings and the failed-job alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.application_insights import ApplicationInsights
from cdktf_cdktf_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktf_cdktf_provider_azurerm.monitor_action_group import (
    MonitorActionGroup,
    MonitorActionGroupEmailReceiver,
)
from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)
from cdktf_cdktf_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
    MonitorScheduledQueryRulesAlertV2Action,
    MonitorScheduledQueryRulesAlertV2Criteria,
    MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods,
)

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct

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

FAILED_JOB_QUERY = """DatabricksJobs
| where ActionName in ("runFailed", "runTimedOut")
| extend JobId = tostring(parse_json(RequestParams).jobId)
| summarize FailedRuns = count() by JobId, _ResourceId"""
"""KQL over the resource-specific `DatabricksJobs` table: failed or timed-out runs per job."""


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
    """Log Analytics workspace plus workspace-based Application Insights. `add_diagnostics`
    sends a resource's logs and metrics to the Log Analytics workspace."""

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
        )
        self.application_insights = ApplicationInsights(
            self,
            "AppInsights",
            name=props.application_insights_name,
            location=rg.location,
            resource_group_name=rg.name,
            application_type="other",
            workspace_id=self.log_analytics.id,
            local_authentication_disabled=True,
        )
        self.diagnostic_settings: list[MonitorDiagnosticSetting] = []

    def add_diagnostics(
        self,
        id_: str,
        *,
        target_resource_id: str,
        log_categories: Sequence[str] = (),
        log_category_groups: Sequence[str] = (),
        metrics: bool = True,
    ) -> MonitorDiagnosticSetting:
        """Send `target_resource_id`'s logs (by category or category group) and, if `metrics`,
        all its metrics to the Log Analytics workspace, in resource-specific tables.
        Retention is the workspace's (no deprecated per-setting `retention_policy`)."""
        logs = [MonitorDiagnosticSettingEnabledLog(category=c) for c in log_categories] + [
            MonitorDiagnosticSettingEnabledLog(category_group=g) for g in log_category_groups
        ]
        setting = MonitorDiagnosticSetting(
            self,
            f"Diagnostics-{id_}",
            name="to-log-analytics",
            target_resource_id=target_resource_id,
            log_analytics_workspace_id=self.log_analytics.id,
            log_analytics_destination_type="Dedicated",
            enabled_log=logs or None,
            enabled_metric=(
                [MonitorDiagnosticSettingEnabledMetric(category="AllMetrics")] if metrics else None
            ),
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


class JobFailureAlert(Construct):
    """Action group with the configured e-mail receivers and a scheduled-query alert that fires
    when any Databricks job run fails or times out in the window."""

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
        window = (
            f"PT{props.window_minutes}M"
            if props.window_minutes < 60
            else (f"PT{props.window_minutes // 60}H")
        )
        self.alert = MonitorScheduledQueryRulesAlertV2(
            self,
            "FailedJobs",
            name=props.alert_name,
            display_name="Databricks job run failed",
            description="A Databricks job run failed or timed out (DatabricksJobs table).",
            location=rg.location,
            resource_group_name=rg.name,
            scopes=[props.observability.log_analytics.id],
            severity=props.severity,
            evaluation_frequency=window,
            window_duration=window,
            auto_mitigation_enabled=False,
            criteria=[
                MonitorScheduledQueryRulesAlertV2Criteria(
                    query=FAILED_JOB_QUERY,
                    time_aggregation_method="Total",
                    metric_measure_column="FailedRuns",
                    operator="GreaterThan",
                    threshold=0,
                    resource_id_column="_ResourceId",
                    failing_periods=MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods(
                        minimum_failing_periods_to_trigger_alert=1,
                        number_of_evaluation_periods=1,
                    ),
                )
            ],
            action=MonitorScheduledQueryRulesAlertV2Action(action_groups=[self.action_group.id]),
        )
