"""The VNet-injected Azure Databricks workspace and its Unity Catalog access connector."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.azure.network import DatabricksNetwork
from constructs_lib.azure.private_link import PrivateLink, PrivateLinkProps
from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.databricks_access_connector import (
    DatabricksAccessConnector,
    DatabricksAccessConnectorIdentity,
)
from constructs_lib.providers.azurerm.databricks_workspace import (
    DatabricksWorkspace as AzDatabricksWorkspace,
)
from constructs_lib.providers.azurerm.databricks_workspace import (
    DatabricksWorkspaceCustomParameters,
)


@dataclass(frozen=True, kw_only=True)
class DatabricksWorkspaceProps:
    resource_group: EnvironmentResourceGroup
    network: DatabricksNetwork
    name: str
    managed_resource_group_name: str
    access_connector_name: str
    private_endpoint_name: str
    sku: str = "premium"
    """Premium: Unity Catalog, cluster policies and access control lists need it."""
    public_network_access_enabled: bool = False
    """Default: the UI and API are served only through a private endpoint in the network's
    private-endpoint subnet."""
    no_public_ip: bool = True
    """Secure cluster connectivity: cluster nodes get no public IP addresses."""
    browser_authentication_endpoint: bool = True
    """Without public access, also create the `browser_authentication` private endpoint (web
    sign-in). Azure shares it across every workspace of the region that uses the same private
    DNS zone; turn it off only when another workspace already provides it for this zone."""


class DatabricksWorkspace(Construct):
    """Premium workspace injected into `network`, with infrastructure encryption of the
    workspace storage, and a system-assigned access connector for Unity Catalog storage.
    Exposes `workspace` (the azurerm resource) and `access_connector`."""

    def __init__(self, scope: Construct, id_: str, props: DatabricksWorkspaceProps) -> None:
        super().__init__(scope, id_)
        rg, net = props.resource_group, props.network
        self.access_connector = DatabricksAccessConnector(
            self,
            "AccessConnector",
            name=props.access_connector_name,
            location=rg.location,
            resource_group_name=rg.name,
            identity=DatabricksAccessConnectorIdentity(type="SystemAssigned"),
        )
        self.workspace = AzDatabricksWorkspace(
            self,
            "Workspace",
            name=props.name,
            location=rg.location,
            resource_group_name=rg.name,
            sku=props.sku,
            managed_resource_group_name=props.managed_resource_group_name,
            public_network_access_enabled=props.public_network_access_enabled,
            # Without public access, Azure must not add its own inbound rules: the private
            # endpoint carries the traffic.
            network_security_group_rules_required=(
                "AllRules" if props.public_network_access_enabled else "NoAzureDatabricksRules"
            ),
            infrastructure_encryption_enabled=True,
            custom_parameters=DatabricksWorkspaceCustomParameters(
                no_public_ip=props.no_public_ip,
                virtual_network_id=net.vnet.id,
                public_subnet_name=net.host_subnet.name,
                private_subnet_name=net.container_subnet.name,
                public_subnet_network_security_group_association_id=net.host_nsg_association.id,
                private_subnet_network_security_group_association_id=(
                    net.container_nsg_association.id
                ),
            ),
        )
        self.private_link: PrivateLink | None = None
        if not props.public_network_access_enabled:
            self.private_link = self._add_private_endpoint(props)

    def _add_private_endpoint(self, props: DatabricksWorkspaceProps) -> PrivateLink:
        net = props.network
        if net.private_endpoint_subnet is None:
            raise ValueError(
                "DatabricksWorkspace: public network access is disabled but the network has no "
                "private endpoint subnet; set network.private_endpoint_subnet_cidr"
            )
        return PrivateLink(
            self,
            "PrivateLink",
            PrivateLinkProps(
                resource_group=props.resource_group,
                name=props.private_endpoint_name,
                target_resource_id=self.workspace.id,
                subresource="databricks_ui_api",
                subnet_id=net.private_endpoint_subnet.id,
                virtual_network_id=net.vnet.id,
                # Both Databricks sub-resources resolve through this one zone.
                dns_zone_name="privatelink.azuredatabricks.net",
                extra_subresources=(
                    ("browser_authentication",) if props.browser_authentication_endpoint else ()
                ),
            ),
        )
