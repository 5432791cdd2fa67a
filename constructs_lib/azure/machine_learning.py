"""Optional Azure Machine Learning workspace, sharing the environment's Key Vault and App
Insights (the original accelerator's "Azure ML integration")."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.azure.key_vault import SecureKeyVault
from constructs_lib.azure.monitoring import Observability
from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.azure.storage import soft_delete
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.machine_learning_workspace import (
    MachineLearningWorkspace,
    MachineLearningWorkspaceIdentity,
)
from constructs_lib.providers.azurerm.role_assignment import RoleAssignment
from constructs_lib.providers.azurerm.storage_account import StorageAccount, StorageAccountSasPolicy


@dataclass(frozen=True, kw_only=True)
class AzureMlWorkspaceProps:
    resource_group: EnvironmentResourceGroup
    key_vault: SecureKeyVault
    observability: Observability
    name: str
    storage_account_name: str
    """Azure ML needs its own (flat namespace) storage account."""
    public_network_access_enabled: bool = False
    """Default: reachable only through private networking."""


KEY_VAULT_ROLE = "Key Vault Administrator"
"""What the workspace's identity needs on a Key Vault with the RBAC permission model (the data
plane; Azure ML "Set up authentication between Azure Machine Learning and other services",
workspace identity table: "Contributor (control plane) + Key Vault Administrator (data
plane)"). The control-plane roles of a system-assigned identity are created by the service."""


class AzureMlWorkspace(Construct):
    """Azure ML workspace with a system-assigned identity, its own secure storage account,
    the shared Key Vault (an RBAC vault: the identity gets `KEY_VAULT_ROLE` on it) and
    Application Insights."""

    def __init__(self, scope: Construct, id_: str, props: AzureMlWorkspaceProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.storage = StorageAccount(
            self,
            "Storage",
            name=props.storage_account_name,
            location=rg.location,
            resource_group_name=rg.name,
            account_kind="StorageV2",
            account_tier="Standard",
            account_replication_type="LRS",
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            allow_nested_items_to_be_public=False,
            # Azure ML's default datastores authenticate with the account key; identity-based
            # datastores are a per-workspace opt-in this provider version cannot set. Keys
            # stay on, so SAS tokens are capped at one day and their use is logged.
            shared_access_key_enabled=True,
            sas_policy=StorageAccountSasPolicy(
                expiration_period="01.00:00:00", expiration_action="Log"
            ),
            local_user_enabled=False,
            blob_properties=soft_delete(7),
            cross_tenant_replication_enabled=False,
            infrastructure_encryption_enabled=True,
        )
        self.workspace = MachineLearningWorkspace(
            self,
            "Workspace",
            name=props.name,
            location=rg.location,
            resource_group_name=rg.name,
            application_insights_id=props.observability.application_insights.id,
            key_vault_id=props.key_vault.vault.id,
            storage_account_id=self.storage.id,
            public_network_access_enabled=props.public_network_access_enabled,
            identity=MachineLearningWorkspaceIdentity(type="SystemAssigned"),
        )
        # An RBAC vault ignores access policies: without a role the workspace cannot keep its
        # secrets (connections, datastore credentials) in the environment's vault.
        self.key_vault_access = RoleAssignment(
            self,
            "KeyVaultAccess",
            scope=props.key_vault.vault.id,
            role_definition_name=KEY_VAULT_ROLE,
            principal_id=self.workspace.identity.principal_id,
            principal_type="ServicePrincipal",
        )
