"""The platform stack of one environment (`<env>`): everything the azurerm provider manages.

Network, the VNet-injected Databricks workspace and its access connector, Key Vault, the data
lake, Log Analytics, Application Insights, diagnostics, alerts and the optional Azure ML
workspace. What the environment's workspace stack (`<env>-workspace`, everything inside the
Databricks workspace) needs from here is exposed as `outputs` (`PlatformOutputs`), which
`main.py` hands to that stack as cross-stack references.

The stack only picks constructs and wires them; every value comes from the environment's
config. Construct IDs here are Terraform addresses: renaming one destroys and recreates the
resource (see tests/test_addresses.py).
"""

from __future__ import annotations

from constructs_lib.aspects import apply_aspects
from constructs_lib.aspects.tagging import TaggingAspect
from constructs_lib.azure.budget import ResourceGroupBudget, ResourceGroupBudgetProps
from constructs_lib.azure.key_vault import SecureKeyVault, SecureKeyVaultProps
from constructs_lib.azure.machine_learning import AzureMlWorkspace, AzureMlWorkspaceProps
from constructs_lib.azure.monitoring import (
    BLOB_SERVICE,
    DATABRICKS_LOG_CATEGORIES,
    DATABRICKS_WORKSPACE,
    KEY_VAULT,
    JobFailureAlert,
    JobFailureAlertProps,
    Observability,
    ObservabilityProps,
)
from constructs_lib.azure.network import DatabricksNetwork, DatabricksNetworkProps
from constructs_lib.azure.resource_group import (
    EnvironmentResourceGroup,
    EnvironmentResourceGroupProps,
)
from constructs_lib.azure.storage import DataLakeStorage, DataLakeStorageProps
from constructs_lib.azure.workspace import DatabricksWorkspace, DatabricksWorkspaceProps
from constructs_lib.cdk import Construct, TerraformOutput, TerraformStack
from constructs_lib.config.models import EnvironmentConfig
from constructs_lib.naming import Names
from constructs_lib.platform_outputs import PlatformOutputs
from constructs_lib.policy.rules import PolicyContext
from constructs_lib.policy.stack_policy import ProtectStatefulResources, StackPolicy, Suppression
from constructs_lib.providers.azurerm.data_azurerm_client_config import DataAzurermClientConfig
from constructs_lib.providers.azurerm.provider import (
    AzurermProvider,
    AzurermProviderFeatures,
    AzurermProviderFeaturesKeyVault,
    AzurermProviderFeaturesResourceGroup,
    AzurermProviderFeaturesStorage,
)
from constructs_lib.state_backend import add_state_backend


class PlatformStack(TerraformStack):
    """The Azure resources of one environment. Stack name = environment name."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name)
        self.config = config
        names = Names.for_environment(
            prefix=config.naming.prefix,
            environment=config.name,
            location=config.azure.location,
            suffix=config.naming.suffix,
        )
        self.names = names
        add_state_backend(self, config.state_backend, config.state_key, config.name)
        AzurermProvider(
            self,
            "azurerm",
            features=[
                AzurermProviderFeatures(
                    key_vault=[
                        AzurermProviderFeaturesKeyVault(
                            purge_soft_delete_on_destroy=False,
                            recover_soft_deleted_key_vaults=True,
                        )
                    ],
                    resource_group=[
                        AzurermProviderFeaturesResourceGroup(
                            prevent_deletion_if_contains_resources=True
                        )
                    ],
                    # The storage firewall denies by default, and runners are outside it: never
                    # poll or read the blob/queue data plane (provider issues #33454, #16240).
                    # Safe because nothing here needs it (tests/test_platform_stack.py).
                    storage=[AzurermProviderFeaturesStorage(data_plane_available=False)],
                )
            ],
            # The deployer holds roles on its resource group only; the bootstrap stack (run once
            # by an admin) registers the resource providers at subscription scope.
            resource_provider_registrations="none",
            # Any data-plane call left uses Entra ID: storage accounts have no shared keys.
            storage_use_azuread=True,
        )
        client = DataAzurermClientConfig(self, "Client")

        rg = EnvironmentResourceGroup(
            self,
            "ResourceGroup",
            EnvironmentResourceGroupProps(
                name=names.resource_group,
                location=config.azure.location,
                use_existing=config.azure.use_existing_resource_group,
            ),
        )
        net = config.network
        network = DatabricksNetwork(
            self,
            "Network",
            DatabricksNetworkProps(
                resource_group=rg,
                virtual_network_name=names.virtual_network,
                network_security_group_name=names.network_security_group,
                nat_gateway_name=names.nat_gateway,
                host_subnet_name=names.host_subnet,
                container_subnet_name=names.container_subnet,
                private_endpoint_subnet_name=names.private_endpoint_subnet,
                vnet_cidr=net.vnet_cidr,
                host_subnet_cidr=net.host_subnet_cidr,
                container_subnet_cidr=net.container_subnet_cidr,
                private_endpoint_subnet_cidr=net.private_endpoint_subnet_cidr,
            ),
        )
        workspace = DatabricksWorkspace(
            self,
            "Databricks",
            DatabricksWorkspaceProps(
                resource_group=rg,
                network=network,
                name=names.databricks_workspace,
                managed_resource_group_name=names.managed_resource_group,
                access_connector_name=names.access_connector,
                private_endpoint_name=names.workspace_private_endpoint,
                sku=config.workspace.sku,
                public_network_access_enabled=config.workspace.public_network_access_enabled,
                no_public_ip=config.workspace.no_public_ip,
                browser_authentication_endpoint=config.workspace.browser_authentication_endpoint,
            ),
        )
        cluster_subnets = [network.host_subnet.id, network.container_subnet.id]
        key_vault = SecureKeyVault(
            self,
            "KeyVault",
            SecureKeyVaultProps(
                resource_group=rg,
                name=names.key_vault,
                tenant_id=client.tenant_id,
                sku_name=config.key_vault.sku_name,
                purge_protection_enabled=config.key_vault.purge_protection_enabled,
                soft_delete_retention_days=config.key_vault.soft_delete_retention_days,
                allowed_subnet_ids=cluster_subnets,
                allowed_ip_ranges=[str(c) for c in config.key_vault.allowed_ip_ranges],
                private_endpoint_subnet_id=(
                    network.private_endpoint_subnet.id if network.private_endpoint_subnet else None
                ),
                virtual_network_id=network.vnet.id,
            ),
        )
        if config.databricks.azure_databricks_principal_object_id:
            key_vault.grant_secrets_user(
                "AzureDatabricksSecretsUser", config.databricks.azure_databricks_principal_object_id
            )
        cmk = config.storage.customer_managed_key
        storage = DataLakeStorage(
            self,
            "Storage",
            DataLakeStorageProps(
                resource_group=rg,
                workspace=workspace,
                name=names.storage_account,
                account_replication_type=config.storage.account_replication_type,
                containers=config.storage.containers,
                allowed_subnet_ids=cluster_subnets,
                serverless_subnet_ids=list(config.storage.serverless_subnet_ids),
                allowed_ip_ranges=list(config.storage.ip_rules),
                customer_managed_key_id=cmk.key_vault_key_id if cmk else None,
                customer_managed_key_identity_id=cmk.user_assigned_identity_id if cmk else None,
            ),
        )
        observability = Observability(
            self,
            "Observability",
            ObservabilityProps(
                resource_group=rg,
                log_analytics_workspace_name=names.log_analytics_workspace,
                application_insights_name=names.application_insights,
                retention_in_days=config.log_analytics.retention_in_days,
                daily_quota_gb=config.log_analytics.daily_quota_gb,
            ),
        )
        observability.add_diagnostics(
            "Databricks",
            target_resource_id=workspace.workspace.id,
            target_type=DATABRICKS_WORKSPACE,
            log_categories=DATABRICKS_LOG_CATEGORIES,
        )
        observability.add_diagnostics(
            "KeyVault",
            target_resource_id=key_vault.vault.id,
            target_type=KEY_VAULT,
            log_category_groups=["audit"],
        )
        observability.add_diagnostics(
            "StorageBlob",
            target_resource_id=f"{storage.account.id}/blobServices/default",
            target_type=BLOB_SERVICE,
            log_categories=["StorageRead", "StorageWrite", "StorageDelete"],
        )
        monitoring = config.monitoring
        alerts = JobFailureAlert(
            self,
            "Alerts",
            JobFailureAlertProps(
                resource_group=rg,
                observability=observability,
                action_group_name=names.action_group,
                action_group_short_name=names.action_group_short,
                alert_name=names.job_failure_alert,
                email_receivers=[
                    (r.name, r.email_address) for r in monitoring.alert_email_receivers
                ],
                severity=monitoring.job_failure_alert_severity,
                window_minutes=monitoring.job_failure_alert_window_minutes,
            ),
        )
        budget = config.budget
        ResourceGroupBudget(
            self,
            "Budget",
            ResourceGroupBudgetProps(
                resource_group=rg,
                name=names.budget,
                amount=budget.amount,
                time_grain=budget.time_grain,
                start_date=budget.start_date,
                actual_thresholds_percent=budget.actual_thresholds_percent,
                forecast_thresholds_percent=budget.forecast_thresholds_percent,
                action_group_ids=[alerts.action_group.id],
                contact_emails=config.budget_contact_emails,
            ),
        )
        if config.azure_ml.enabled:
            azure_ml = AzureMlWorkspace(
                self,
                "AzureMl",
                AzureMlWorkspaceProps(
                    resource_group=rg,
                    key_vault=key_vault,
                    observability=observability,
                    name=names.machine_learning_workspace,
                    storage_account_name=names.machine_learning_storage_account,
                    public_network_access_enabled=config.azure_ml.public_network_access_enabled,
                ),
            )
            observability.add_diagnostics(
                "AzureMlStorageBlob",
                target_resource_id=f"{azure_ml.storage.id}/blobServices/default",
                target_type=BLOB_SERVICE,
                log_categories=["StorageRead", "StorageWrite", "StorageDelete"],
            )

        self.resource_group = rg
        self.network = network
        self.workspace = workspace
        self.key_vault = key_vault
        self.storage = storage
        self.observability = observability

        self.outputs = PlatformOutputs(
            workspace_url=workspace.workspace.workspace_url,
            workspace_resource_id=workspace.workspace.id,
            workspace_id=workspace.workspace.workspace_id,
            access_connector_id=workspace.access_connector.id,
            access_connector_role_id=storage.connector_role.id,
            key_vault_id=key_vault.vault.id,
            key_vault_uri=key_vault.vault.vault_uri,
            storage_account_name=storage.account.name,
            catalog_container_name=storage.catalog_container.name,
            compute_egress_ip_address=network.egress_ip.ip_address,
        )
        """What the workspace stack of this environment reads from here (cross-stack)."""

        self._output("workspace_url", f"https://{workspace.workspace.workspace_url}")
        self._output("workspace_id", workspace.workspace.id)
        self._output("key_vault_uri", key_vault.vault.vault_uri)
        self._output("storage_account_name", storage.account.name)
        self._output("log_analytics_workspace_id", observability.log_analytics.id)

        tags = {**config.tags, "environment": config.name, "managed-by": "cdktf"}
        aspects = [TaggingAspect(tags), *([ProtectStatefulResources()] if config.protected else [])]
        apply_aspects(self, *aspects)
        # One policy for both stacks of the environment (this one and `<env>-workspace`).
        self.policy: StackPolicy | None = StackPolicy(
            (config.name, config.workspace_stack_name),
            PolicyContext(
                environment=config.name,
                protected=config.protected,
                max_autotermination_minutes=config.policy.max_autotermination_minutes,
                admin_groups=(config.databricks.owner_group, config.databricks.groups.admins),
                deployer_principals=config.databricks.deployer_application_ids,
                min_ip_rule_prefix_length=config.policy.min_ip_rule_prefix_length,
            ),
            [Suppression(s.rule, s.reason, s.path) for s in config.policy.suppressions],
        )

    def _output(self, name: str, value: str) -> TerraformOutput:
        output = TerraformOutput(self, name, value=value)
        output.override_logical_id(name)
        return output
