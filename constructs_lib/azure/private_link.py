"""Private endpoints of one service with their private DNS zone, linked to the environment's
VNet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.private_dns_zone import PrivateDnsZone
from constructs_lib.providers.azurerm.private_dns_zone_virtual_network_link import (
    PrivateDnsZoneVirtualNetworkLink,
)
from constructs_lib.providers.azurerm.private_endpoint import (
    PrivateEndpoint,
    PrivateEndpointPrivateDnsZoneGroup,
    PrivateEndpointPrivateServiceConnection,
)
from constructs_lib.providers.compat import private_dns_zone_link_zone


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
    extra_subresources: Sequence[str] = ()
    """More sub-resources of the same service in the same zone (e.g. Databricks'
    `browser_authentication` beside `databricks_ui_api`); each gets its own endpoint named
    `<name>-<sub-resource>`. Default: none."""


class PrivateLink(Construct):
    """Private endpoint for one sub-resource (and any extra ones), their private DNS zone, and
    the zone's link to the VNet, so clients in the VNet resolve the service to its private
    address. Exposes `endpoint` (the first) and `endpoints` (sub-resource -> endpoint)."""

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
            **private_dns_zone_link_zone(
                zone_id=self.zone.id, zone_name=self.zone.name, resource_group_name=rg.name
            ),
            virtual_network_id=props.virtual_network_id,
            resolution_policy=props.resolution_policy,
        )
        self.endpoints: dict[str, PrivateEndpoint] = {}
        for index, subresource in enumerate((props.subresource, *props.extra_subresources)):
            # The first endpoint keeps its construct ID (a Terraform address).
            id_suffix = "" if index == 0 else f"-{subresource}"
            name = props.name if index == 0 else f"{props.name}-{subresource.replace('_', '-')}"
            self.endpoints[subresource] = PrivateEndpoint(
                self,
                f"Endpoint{id_suffix}",
                name=name,
                location=rg.location,
                resource_group_name=rg.name,
                subnet_id=props.subnet_id,
                private_service_connection=PrivateEndpointPrivateServiceConnection(
                    name=f"{name}-{subresource}",
                    is_manual_connection=False,
                    private_connection_resource_id=props.target_resource_id,
                    subresource_names=[subresource],
                ),
                private_dns_zone_group=PrivateEndpointPrivateDnsZoneGroup(
                    name=subresource.replace("_", "-"), private_dns_zone_ids=[self.zone.id]
                ),
            )
        self.endpoint = self.endpoints[props.subresource]
