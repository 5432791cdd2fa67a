"""The subscription-scope reads azurerm 4.55.0 makes while creating resources in a resource
group, granted to the deploy identities through one minimal custom role.

Every identity this project creates holds roles on one resource group; Azure refuses it any
request to a `/subscriptions/<id>/providers/...` path. Two creates in the platform stack make
such a request:

- `azurerm_log_analytics_workspace` lists the subscription's soft-deleted workspaces before it
  creates one, and fails on any error of that list (provider v4.55.0,
  `internal/services/loganalytics/log_analytics_workspace_resource.go` 260-263).
- `azurerm_key_vault` reads the soft-deleted vault of the same name before it creates one
  (`internal/services/keyvault/key_vault_resource.go` 301-320). A 403 is read as "no deleted
  vault", so the create then fails against a vault that a destroy left in soft delete; with the
  read, the provider recovers that vault instead
  (`features.key_vault.recover_soft_deleted_key_vaults`).

The third subscription-scope read, the resource provider list behind the provider's enhanced
validation, is switched off where the provider runs (`ARM_PROVIDER_ENHANCED_VALIDATION=false`
in the workflows and `make plan`/`make deploy`), not granted (docs/platform-assumptions.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.role_assignment import RoleAssignment
from constructs_lib.providers.azurerm.role_definition import (
    RoleDefinition,
    RoleDefinitionPermissions,
)

DELETED_RESOURCE_READS: Mapping[str, str] = MappingProxyType(
    {
        # "Lists workspaces in soft deleted period." (Azure permissions for Monitor)
        "Microsoft.OperationalInsights/deletedworkspaces/read": (
            "azurerm_log_analytics_workspace create: GET /subscriptions/<id>/providers/"
            "Microsoft.OperationalInsights/deletedWorkspaces (any error is fatal)"
        ),
        # "View the properties of a soft deleted key vault" (Key Vault recovery management)
        "Microsoft.KeyVault/locations/deletedVaults/read": (
            "azurerm_key_vault create: GET /subscriptions/<id>/providers/Microsoft.KeyVault/"
            "locations/<location>/deletedVaults/<name> (recovers a soft-deleted vault)"
        ),
    }
)
"""Action -> the request of the provider that needs it. Read actions only: no purge, no write,
nothing on live resources (the deploy identity's roles on its resource group cover those)."""


@dataclass(frozen=True, kw_only=True)
class SubscriptionReadRoleProps:
    name: str
    """Role name, unique in the tenant (custom role names are)."""
    subscription_id: str
    """The subscription the role is defined and assigned in."""


class SubscriptionReadRole(Construct):
    """A custom role with exactly `DELETED_RESOURCE_READS`, assignable in one subscription.
    `grant` assigns it at subscription scope. Creating it needs
    `Microsoft.Authorization/roleDefinitions/write` there (the bootstrap's admin)."""

    def __init__(self, scope: Construct, id_: str, props: SubscriptionReadRoleProps) -> None:
        super().__init__(scope, id_)
        self.scope = f"/subscriptions/{props.subscription_id}"
        self.definition = RoleDefinition(
            self,
            "Definition",
            name=props.name,
            scope=self.scope,
            description="Subscription-scope reads azurerm makes while creating resources in a "
            "resource group: soft-deleted Log Analytics workspaces and Key Vaults. Read only.",
            permissions=[RoleDefinitionPermissions(actions=list(DELETED_RESOURCE_READS))],
            assignable_scopes=[self.scope],
        )

    def grant(self, scope: Construct, id_: str, principal_id: str) -> RoleAssignment:
        """Assign the role to `principal_id` (a service principal) at subscription scope; the
        assignment is created under `scope`."""
        return RoleAssignment(
            scope,
            id_,
            scope=self.scope,
            role_definition_id=self.definition.role_definition_resource_id,
            principal_id=principal_id,
            principal_type="ServicePrincipal",
        )
