"""Remote Terraform state: one storage account, one container per environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.azure.storage import SECURE_ACCOUNT_SETTINGS, soft_delete
from constructs_lib.cdk import Construct, TerraformResourceLifecycle
from constructs_lib.providers.azurerm.storage_account import StorageAccount
from constructs_lib.providers.azurerm.storage_container import StorageContainer


@dataclass(frozen=True, kw_only=True)
class StateStorageProps:
    resource_group: EnvironmentResourceGroup
    name: str
    environments: Sequence[str]
    """One private container per environment, named after it."""
    account_replication_type: str = "ZRS"
    retention_days: int = 30
    """Days deleted state blobs and containers can be restored; versions keep every write."""


class StateStorage(Construct):
    """Storage account for Terraform state: Entra ID only (no shared keys), TLS 1.2, no public
    blob access, blob versioning and soft delete so a bad write can be rolled back, and
    `prevent_destroy`. GitHub-hosted runners have no fixed IPs, so the firewall stays open and
    access rests on Entra ID roles scoped to each container."""

    def __init__(self, scope: Construct, id_: str, props: StateStorageProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.account = StorageAccount(
            self,
            "Account",
            name=props.name,
            location=rg.location,
            resource_group_name=rg.name,
            account_replication_type=props.account_replication_type,
            **SECURE_ACCOUNT_SETTINGS,
            blob_properties=soft_delete(props.retention_days, versioning=True),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        self.containers = {
            env: StorageContainer(
                self,
                f"Container-{env}",
                name=env,
                storage_account_id=self.account.id,
                container_access_type="private",
            )
            for env in props.environments
        }

    def container_scope(self, environment: str) -> str:
        """ARM ID of one environment's container (a role assignment scope)."""
        return (
            f"{self.account.id}/blobServices/default/containers/{self.containers[environment].name}"
        )
