"""A private endpoint with its private DNS zone, linked to the environment's VNet."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktf_cdktf_provider_azurerm.private_dns_zone_virtual_network_link import (
    PrivateDnsZoneVirtualNetworkLink,
)
from cdktf_cdktf_provider_azurerm.private_endpoint import (
    PrivateEndpoint,
    PrivateEndpointPrivateDnsZoneGroup,
    PrivateEndpointPrivateServiceConnection,
)

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct


@dataclass(frozen=True, kw_only=True)
class PrivateLinkProps:
    resource_group: EnvironmentResourceGroup
    name: str
    """Name of the endpoint; the DNS link and the connection are named after it."""
    target_resource_id: str
    subresource: str
    """Sub-resource the endpoint serves, e.g. `vault` or `databricks_ui_api`."""
    subnet_id: str
    virtual_network_id: str
    dns_zone_name: str
    """Private DNS zone of the service, e.g. `privatelink.vaultcore.azure.net`."""
    resolution_policy: str | None = None
    """`NxDomainRedirect`: names the zone does not hold still resolve publicly. Default: Azure's."""


class PrivateLink(Construct):
    """Private endpoint for one sub-resource, its private DNS zone, and the zone's link to the
    VNet, so clients in the VNet resolve the service to its private address."""

    def __init__(self, scope: Construct, id_: str, props: PrivateLinkProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.zone = PrivateDnsZone(
            self, "DnsZone", name=props.dns_zone_name, resource_group_name=rg.name
        )
        PrivateDnsZoneVirtualNetworkLink(
            self,
            "DnsZoneLink",
            name=f"{props.name}-dns-link",
            resource_group_name=rg.name,
            private_dns_zone_name=self.zone.name,
            virtual_network_id=props.virtual_network_id,
            resolution_policy=props.resolution_policy,
        )
        self.endpoint = PrivateEndpoint(
            self,
            "Endpoint",
            name=props.name,
            location=rg.location,
            resource_group_name=rg.name,
            subnet_id=props.subnet_id,
            private_service_connection=PrivateEndpointPrivateServiceConnection(
                name=f"{props.name}-{props.subresource}",
                is_manual_connection=False,
                private_connection_resource_id=props.target_resource_id,
                subresource_names=[props.subresource],
            ),
            private_dns_zone_group=PrivateEndpointPrivateDnsZoneGroup(
                name=props.subresource.replace("_", "-"), private_dns_zone_ids=[self.zone.id]
            ),
        )
