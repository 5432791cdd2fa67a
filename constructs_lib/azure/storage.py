"""ADLS Gen2 storage for the medallion layers and the Unity Catalog root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.azure.workspace import DatabricksWorkspace
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.role_assignment import RoleAssignment
from constructs_lib.providers.azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy,
    StorageAccountBlobPropertiesDeleteRetentionPolicy,
    StorageAccountCustomerManagedKey,
    StorageAccountIdentity,
    StorageAccountNetworkRules,
    StorageAccountNetworkRulesPrivateLinkAccess,
)
from constructs_lib.providers.azurerm.storage_container import StorageContainer

SECURE_ACCOUNT_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {
        "account_kind": "StorageV2",
        "account_tier": "Standard",
        "min_tls_version": "TLS1_2",
        "https_traffic_only_enabled": True,
        "allow_nested_items_to_be_public": False,
        "shared_access_key_enabled": False,
        "local_user_enabled": False,
        "default_to_oauth_authentication": True,
        "cross_tenant_replication_enabled": False,
        "infrastructure_encryption_enabled": True,
    }
)
"""Arguments every storage account of this project shares: TLS 1.2 over HTTPS only, no public
blobs, Entra ID only (no shared keys, no local SFTP users), no cross-tenant replication, double
encryption at rest."""


def soft_delete(days: int, *, versioning: bool = False) -> StorageAccountBlobProperties:
    """Blob properties that keep deleted blobs and containers restorable for `days` (and, with
    `versioning`, every overwritten blob as a version)."""
    return StorageAccountBlobProperties(
        versioning_enabled=versioning or None,
        delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(days=days),
        container_delete_retention_policy=(
            StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(days=days)
        ),
    )


UNITY_CATALOG_CONTAINER = "unity-catalog"
"""Container that holds the environment catalog's managed tables and volumes."""


@dataclass(frozen=True, kw_only=True)
class DataLakeStorageProps:
    resource_group: EnvironmentResourceGroup
    workspace: DatabricksWorkspace
    """Its access connector gets Storage Blob Data Contributor and through the firewall."""
    name: str
    account_replication_type: str = "ZRS"
    containers: tuple[str, ...] = ("bronze", "silver", "gold")
    """Medallion containers; the Unity Catalog container is always added."""
    allowed_subnet_ids: list[str] = field(default_factory=list)
    """Subnets (with the Microsoft.Storage service endpoint) allowed through the firewall."""
    serverless_subnet_ids: list[str] = field(default_factory=list)
    """The stable subnets of the environment's network connectivity configuration (Databricks'
    serverless compute plane), also allowed through the firewall. Default: none."""
    allowed_ip_ranges: list[str] = field(default_factory=list)
    soft_delete_retention_days: int = 7
    """Days deleted blobs and containers can be restored."""
    customer_managed_key_id: str | None = None
    """Versionless Key Vault key ID to encrypt with. Default: Microsoft-managed keys."""
    customer_managed_key_identity_id: str | None = None
    """User-assigned identity allowed to use that key (required with the key)."""


class DataLakeStorage(Construct):
    """StorageV2 account with hierarchical namespace, TLS 1.2, HTTPS only, no public blob
    access, no shared keys (Entra ID only), a deny-by-default firewall, blob and container soft
    delete; one container per medallion layer plus the Unity Catalog root. Exposes `account`,
    `containers` (name -> container) and `catalog_container`."""

    def __init__(self, scope: Construct, id_: str, props: DataLakeStorageProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        connector = props.workspace.access_connector
        self.account = StorageAccount(
            self,
            "Account",
            name=props.name,
            location=rg.location,
            resource_group_name=rg.name,
            account_replication_type=props.account_replication_type,
            is_hns_enabled=True,
            **SECURE_ACCOUNT_SETTINGS,
            **self._encryption(props),
            blob_properties=soft_delete(props.soft_delete_retention_days),
            network_rules=StorageAccountNetworkRules(
                default_action="Deny",
                bypass=["AzureServices", "Logging", "Metrics"],
                ip_rules=list(props.allowed_ip_ranges),
                # Cluster subnets, and the serverless plane's stable subnets (quality monitor
                # refreshes run there, docs/platform-assumptions.md).
                virtual_network_subnet_ids=[
                    *props.allowed_subnet_ids,
                    *props.serverless_subnet_ids,
                ],
                # Unity Catalog reaches the account as the access connector (resource instance
                # rule), not from the cluster subnets.
                private_link_access=[
                    StorageAccountNetworkRulesPrivateLinkAccess(endpoint_resource_id=connector.id)
                ],
            ),
        )
        self.containers: dict[str, StorageContainer] = {}
        for name in (*props.containers, UNITY_CATALOG_CONTAINER):
            # storage_account_id (not _name) makes the provider use the management plane, which
            # works through the firewall and without shared keys.
            self.containers[name] = StorageContainer(
                self,
                f"Container-{name}",
                name=name,
                storage_account_id=self.account.id,
                container_access_type="private",
            )
        self.catalog_container = self.containers[UNITY_CATALOG_CONTAINER]
        self.connector_role = RoleAssignment(
            self,
            "ConnectorBlobContributor",
            scope=self.account.id,
            role_definition_name="Storage Blob Data Contributor",
            principal_id=connector.identity.principal_id,
            principal_type="ServicePrincipal",
        )

    @staticmethod
    def _encryption(props: DataLakeStorageProps) -> dict:
        if not props.customer_managed_key_id:
            return {}
        if not props.customer_managed_key_identity_id:
            raise ValueError("DataLakeStorage: a customer-managed key needs its identity")
        return {
            "identity": StorageAccountIdentity(
                type="UserAssigned", identity_ids=[props.customer_managed_key_identity_id]
            ),
            "customer_managed_key": StorageAccountCustomerManagedKey(
                key_vault_key_id=props.customer_managed_key_id,
                user_assigned_identity_id=props.customer_managed_key_identity_id,
            ),
        }
