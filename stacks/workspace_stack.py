"""The workspace stack of one environment (`<env>-workspace`): everything the databricks
provider manages inside the environment's workspace.

The ML wheel, Unity Catalog objects (or the legacy registry), compute, MLflow, secrets, jobs
and permissions. The Databricks provider's documentation requires the configuration that
creates a workspace and the one that manages it to be separate: the workspace is created by
the platform stack (`<env>`), and this stack's provider is configured only from that stack's
outputs, read from its state (cdktf cross-stack references), so a refresh never depends on a
workspace that is being created or replaced in the same plan.

Deploy order: the platform stack first (`make deploy ENV=<env>` deploys both in order).
Construct IDs here are Terraform addresses (tests/test_addresses.py).
"""

from __future__ import annotations

from constructs_lib.aspects import apply_aspects
from constructs_lib.aspects.ordering import DependsOn
from constructs_lib.cdk import Construct, TerraformOutput, TerraformStack, TerraformVariable
from constructs_lib.config.models import EnvironmentConfig
from constructs_lib.databricks.environment import DatabricksEnvironment, DatabricksEnvironmentProps
from constructs_lib.databricks.ip_access_list import (
    WorkspaceIpAccessList,
    WorkspaceIpAccessListProps,
)
from constructs_lib.databricks.job_specs.wheel_artifact import WheelArtifact
from constructs_lib.databricks.workspace_groups import (
    GROUP_REFERENCING_TYPES,
    WorkspaceGroups,
    WorkspaceGroupsProps,
)
from constructs_lib.databricks.workspace_settings import (
    RestrictWorkspaceAdmins,
    RestrictWorkspaceAdminsProps,
)
from constructs_lib.platform_outputs import PlatformOutputs
from constructs_lib.policy.stack_policy import ProtectStatefulResources, StackPolicy
from constructs_lib.providers.databricks.provider import DatabricksProvider
from constructs_lib.providers.time.provider import TimeProvider
from constructs_lib.state_backend import add_state_backend


class WorkspaceStack(TerraformStack):
    """The Databricks objects of one environment. Stack name = `<env>-workspace`."""

    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        wheel: WheelArtifact,
        platform: PlatformOutputs,
    ) -> None:
        super().__init__(scope, config.workspace_stack_name)
        self.config = config
        add_state_backend(
            self, config.state_backend, config.workspace_state_key, config.workspace_stack_name
        )
        # Host and resource ID are the platform stack's outputs; credentials come from the
        # environment (Azure CLI, ARM_* variables, GitHub OIDC), never from the JSON.
        DatabricksProvider(
            self,
            "databricks",
            host=f"https://{platform.workspace_url}",
            azure_workspace_resource_id=platform.workspace_resource_id,
        )
        TimeProvider(self, "time")

        if config.workspace.allowed_ip_ranges:
            WorkspaceIpAccessList(
                self,
                "IpAccessList",
                WorkspaceIpAccessListProps(
                    label=f"{config.naming.prefix}-{config.name}-allowed",
                    allowed_ip_ranges=[str(r) for r in config.workspace.allowed_ip_ranges],
                    compute_egress_ip_addresses=[platform.compute_egress_ip_address],
                ),
            )

        if config.databricks.restrict_workspace_admins:
            # Only an account admin may write this setting: adopted, never written by the
            # deploying identity (README, "Deploying").
            RestrictWorkspaceAdmins(self, "RestrictWorkspaceAdmins", RestrictWorkspaceAdminsProps())

        groups = config.databricks.groups
        # Account-level groups become known to the workspace before anything names them.
        self.groups = WorkspaceGroups(
            self,
            "Groups",
            WorkspaceGroupsProps(
                group_names=[groups.admins, groups.ml_engineers, groups.data_scientists]
            ),
        )
        # Data sources are read even by `terraform plan -refresh=false`; the read-only PR plan
        # (docs/cicd.md) cannot call the workspace API, so it passes -var verify_metastore=false.
        verify = TerraformVariable(
            self,
            "verify_metastore",
            type="bool",
            default=True,
            description="Read the workspace's Unity Catalog metastore during plan and fail "
            "early if there is none. The read-only pull-request plan sets it to false.",
        )
        verify.override_logical_id("verify_metastore")
        self.databricks = DatabricksEnvironment(
            self,
            "Dbx",
            DatabricksEnvironmentProps(
                config=config, wheel=wheel, platform=platform, verify_metastore=verify.boolean_value
            ),
        )
        output = TerraformOutput(self, "ml_pipeline_job_id", value=self.databricks.pipeline_job_id)
        output.override_logical_id("ml_pipeline_job_id")
        # What the smoke run starts (tools/smoke --job-ids): job key -> job ID.
        job_ids = TerraformOutput(self, "job_ids", value=self.databricks.job_ids)
        job_ids.override_logical_id("job_ids")

        rule_set = self.databricks.job_principal.rule_set
        aspects = [
            DependsOn(GROUP_REFERENCING_TYPES, list(self.groups.assignments.values())),
            # Setting run_as needs Service Principal User, which the rule set grants.
            DependsOn(("databricks_job",), [rule_set] if rule_set is not None else []),
            *([ProtectStatefulResources()] if config.protected else []),
        ]
        apply_aspects(self, *aspects)
        # Judged together with the platform stack, by its policy (rules span both).
        self.policy: StackPolicy | None = None
