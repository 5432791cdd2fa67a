"""The environment's Key Vault: RBAC, soft delete, purge protection, closed firewall."""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs_lib.azure.private_link import PrivateLink, PrivateLinkProps
from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.key_vault import KeyVault, KeyVaultNetworkAcls
from constructs_lib.providers.azurerm.role_assignment import RoleAssignment


@dataclass(frozen=True, kw_only=True)
class SecureKeyVaultProps:
    resource_group: EnvironmentResourceGroup
    name: str
    tenant_id: str
    """Entra ID tenant of the vault (usually `data.azurerm_client_config.tenant_id`)."""
    sku_name: str = "standard"
    purge_protection_enabled: bool = True
    """Deleted secrets and vaults cannot be purged before retention ends. Irreversible."""
    soft_delete_retention_days: int = 90
    allowed_subnet_ids: list[str] = field(default_factory=list)
    """Subnets (with the Microsoft.KeyVault service endpoint) allowed through the firewall."""
    allowed_ip_ranges: list[str] = field(default_factory=list)
    """Public CIDRs allowed through the firewall. Default: none."""
    private_endpoint_subnet_id: str | None = None
    """Give the vault a private endpoint in this subnet (with its private DNS zone linked to
    `virtual_network_id`), so clients in the VNet reach it privately. Default: none."""
    virtual_network_id: str | None = None


class SecureKeyVault(Construct):
    """Key Vault with Azure RBAC (no access policies), soft delete, purge protection per props,
    and a firewall that denies by default but lets trusted Azure services through; Azure
    Databricks is a trusted service, so Key Vault-backed secret scopes keep working."""

    def __init__(self, scope: Construct, id_: str, props: SecureKeyVaultProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.vault = KeyVault(
            self,
            "Vault",
            name=props.name,
            location=rg.location,
            resource_group_name=rg.name,
            tenant_id=props.tenant_id,
            sku_name=props.sku_name,
            rbac_authorization_enabled=True,
            purge_protection_enabled=props.purge_protection_enabled,
            soft_delete_retention_days=props.soft_delete_retention_days,
            network_acls=KeyVaultNetworkAcls(
                default_action="Deny",
                bypass="AzureServices",
                ip_rules=list(props.allowed_ip_ranges),
                virtual_network_subnet_ids=list(props.allowed_subnet_ids),
            ),
        )
        self.private_link: PrivateLink | None = None
        if props.private_endpoint_subnet_id:
            self.private_link = self._add_private_endpoint(props)

    def _add_private_endpoint(self, props: SecureKeyVaultProps) -> PrivateLink:
        if not props.virtual_network_id or not props.private_endpoint_subnet_id:
            raise ValueError("SecureKeyVault: private_endpoint_subnet_id needs virtual_network_id")
        return PrivateLink(
            self,
            "PrivateLink",
            PrivateLinkProps(
                resource_group=props.resource_group,
                name=f"{props.name}-pe",
                target_resource_id=self.vault.id,
                subresource="vault",
                subnet_id=props.private_endpoint_subnet_id,
                virtual_network_id=props.virtual_network_id,
                dns_zone_name="privatelink.vaultcore.azure.net",
                # Other tenants' vaults (not in this zone) still resolve publicly.
                resolution_policy="NxDomainRedirect",
            ),
        )

    def grant_secrets_user(self, id_: str, principal_id: str) -> RoleAssignment:
        """Let `principal_id` (an object ID) read secrets of this vault (Key Vault Secrets User).
        Azure Databricks needs it to serve a Key Vault-backed secret scope."""
        return RoleAssignment(
            self,
            id_,
            scope=self.vault.id,
            role_definition_name="Key Vault Secrets User",
            principal_id=principal_id,
            principal_type="ServicePrincipal",
        )
