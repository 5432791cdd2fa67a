"""Remote Terraform state: one storage account, one container per environment, and an empty
state in every state blob before any stack runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.azure.storage import SECURE_ACCOUNT_SETTINGS, soft_delete
from constructs_lib.cdk import Construct, TerraformResourceLifecycle
from constructs_lib.initial_state import empty_state_document, state_lineage
from constructs_lib.providers.azurerm.role_assignment import RoleAssignment
from constructs_lib.providers.azurerm.storage_account import StorageAccount
from constructs_lib.providers.azurerm.storage_blob import StorageBlob
from constructs_lib.providers.azurerm.storage_container import StorageContainer
from constructs_lib.providers.compat import storage_blob_container
from constructs_lib.providers.time.sleep import Sleep

ROLE_PROPAGATION = "300s"
"""How long the admin's new data role is given to take effect before the blobs are written
(Azure RBAC troubleshooting: role assignment changes can take up to 10 minutes; the same wait
as the external location's, docs/platform-assumptions.md)."""


@dataclass(frozen=True, kw_only=True)
class StateStorageProps:
    resource_group: EnvironmentResourceGroup
    name: str
    state_keys: Mapping[str, Mapping[str, str]]
    """Environment -> {stack name -> state blob name}. One private container per environment,
    named after it, holding one blob per stack of the environment."""
    administrator_object_id: str
    """Object ID of whoever applies the bootstrap (`data.azurerm_client_config.object_id`). It
    gets Storage Blob Data Contributor on each container, because the initial state blobs are
    written through the blob API with Entra ID (shared keys are off)."""
    account_replication_type: str = "ZRS"
    retention_days: int = 30
    """Days deleted state blobs and containers can be restored; versions keep every write."""


class StateStorage(Construct):
    """Storage account for Terraform state: Entra ID only (no shared keys), TLS 1.2, no public
    blob access, blob versioning and soft delete so a bad write can be rolled back, and
    `prevent_destroy`. GitHub-hosted runners have no fixed IPs, so the firewall stays open and
    access rests on Entra ID roles scoped to each container.

    Every state blob starts as an empty state document (`constructs_lib.initial_state`), so a
    read-only identity can plan a stack that was never applied: Terraform's azurerm backend
    writes to a missing or empty blob when it opens it. The blobs are written once and never
    again by this stack (`ignore_changes = all`: after the first apply they belong to the
    environment stacks) and carry `prevent_destroy`."""

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
            for env in props.state_keys
        }
        self.writer_roles = {
            env: RoleAssignment(
                self,
                f"AdministratorWrites-{env}",
                scope=self.container_scope(env),
                role_definition_name="Storage Blob Data Contributor",
                principal_id=props.administrator_object_id,
            )
            for env in props.state_keys
        }
        # Data-plane role assignments take effect after a delay; the blobs wait for it.
        self.role_propagation = Sleep(
            self,
            "RolePropagation",
            create_duration=ROLE_PROPAGATION,
            triggers={env: role.id for env, role in self.writer_roles.items()},
        )
        self.state_blobs = {
            stack: StorageBlob(
                self,
                f"Blob-{stack}",
                name=key,
                **storage_blob_container(
                    container_id=self.containers[env].id,
                    container_name=self.containers[env].name,
                    account_name=self.account.name,
                ),
                type="Block",
                content_type="application/json",
                source_content=empty_state_document(state_lineage(props.name, env, key)),
                # Terraform owns the content from the first apply on: never compare, update or
                # replace it (a refresh reads the MD5 and metadata Terraform's writes change).
                lifecycle=TerraformResourceLifecycle(ignore_changes="all", prevent_destroy=True),
                depends_on=[self.role_propagation],
            )
            for env, stacks in props.state_keys.items()
            for stack, key in stacks.items()
        }

    def container_scope(self, environment: str) -> str:
        """ARM ID of one environment's container (a role assignment scope)."""
        return (
            f"{self.account.id}/blobServices/default/containers/{self.containers[environment].name}"
        )
