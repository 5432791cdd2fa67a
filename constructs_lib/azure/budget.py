"""A cost budget on the environment's resource group (Azure Cost Management)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct, Fn, TerraformResourceLifecycle
from constructs_lib.providers.azurerm.consumption_budget_resource_group import (
    ConsumptionBudgetResourceGroup,
    ConsumptionBudgetResourceGroupNotification,
    ConsumptionBudgetResourceGroupTimePeriod,
)

START_OF_MONTH_FORMAT = "YYYY-MM-01'T00:00:00Z'"
"""Terraform `formatdate` spec: the first of the month, midnight UTC (RFC 3339)."""


def first_of_this_month() -> str:
    """The first of the month in which Terraform *applies* the budget: an expression Terraform
    evaluates, so the JSON holds no date. `timestamp()` is unknown while planning and taken at
    apply; `plantimestamp()` would fix the plan's month in a saved plan, and a plan approved
    in the next month would then create the budget with a past month's start, which Azure
    refuses (docs/platform-assumptions.md)."""
    return Fn.formatdate(START_OF_MONTH_FORMAT, Fn.timestamp())


@dataclass(frozen=True, kw_only=True)
class ResourceGroupBudgetProps:
    resource_group: EnvironmentResourceGroup
    name: str
    amount: float
    """Budget per time grain, in the subscription's billing currency (at least 1)."""
    time_grain: str = "Monthly"
    start_date: str | None = None
    """`YYYY-MM-01`. Default: the first of the month of the first apply, kept afterwards."""
    actual_thresholds_percent: Sequence[int] = (80, 100)
    forecast_thresholds_percent: Sequence[int] = (100,)
    action_group_ids: Sequence[str] = ()
    """Action groups alerted at every threshold."""
    contact_emails: Sequence[str] = ()
    """Addresses e-mailed at every threshold (at most five)."""


class ResourceGroupBudget(Construct):
    """`azurerm_consumption_budget_resource_group` with one notification per threshold
    (`GreaterThan`, actual or forecast cost), each to the action groups and the addresses.

    The start date is ForceNew and Azure refuses, on create, a start in the past beyond the
    current period: a fixed date would break every later re-creation of the environment, and a
    date computed at synthesis would not be deterministic. So by default Terraform computes it
    when it applies (`timestamp()`, unknown in the plan) and `ignore_changes` keeps the date of
    the first create."""

    def __init__(self, scope: Construct, id_: str, props: ResourceGroupBudgetProps) -> None:
        super().__init__(scope, id_)
        notifications = [
            ConsumptionBudgetResourceGroupNotification(
                enabled=True,
                operator="GreaterThan",
                threshold=threshold,
                threshold_type=threshold_type,
                contact_groups=list(props.action_group_ids) or None,
                contact_emails=list(props.contact_emails) or None,
            )
            for threshold_type, thresholds in (
                ("Actual", props.actual_thresholds_percent),
                ("Forecasted", props.forecast_thresholds_percent),
            )
            for threshold in thresholds
        ]
        computed_start = props.start_date is None
        self.budget = ConsumptionBudgetResourceGroup(
            self,
            "Budget",
            name=props.name,
            resource_group_id=props.resource_group.id,
            amount=props.amount,
            time_grain=props.time_grain,
            time_period=ConsumptionBudgetResourceGroupTimePeriod(
                start_date=(
                    first_of_this_month() if computed_start else f"{props.start_date}T00:00:00Z"
                )
            ),
            notification=notifications,
            lifecycle=(
                TerraformResourceLifecycle(ignore_changes=["time_period"])
                if computed_start
                else None
            ),
        )
