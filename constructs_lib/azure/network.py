"""The VNet a Databricks workspace is injected into (secure cluster connectivity)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.nat_gateway import NatGateway
from constructs_lib.providers.azurerm.nat_gateway_public_ip_association import (
    NatGatewayPublicIpAssociation,
)
from constructs_lib.providers.azurerm.network_security_group import NetworkSecurityGroup
from constructs_lib.providers.azurerm.public_ip import PublicIp
from constructs_lib.providers.azurerm.subnet import (
    Subnet,
    SubnetDelegation,
    SubnetDelegationServiceDelegation,
)
from constructs_lib.providers.azurerm.subnet_nat_gateway_association import (
    SubnetNatGatewayAssociation,
)
from constructs_lib.providers.azurerm.subnet_network_security_group_association import (
    SubnetNetworkSecurityGroupAssociation,
)
from constructs_lib.providers.azurerm.virtual_network import VirtualNetwork
from constructs_lib.providers.compat import subnet_service_endpoints

# Actions Azure Databricks needs on its delegated subnets (the portal sets exactly these).
_DATABRICKS_DELEGATION_ACTIONS = [
    "Microsoft.Network/virtualNetworks/subnets/join/action",
    "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
    "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action",
]


@dataclass(frozen=True, kw_only=True)
class DatabricksNetworkProps:
    resource_group: EnvironmentResourceGroup
    virtual_network_name: str
    network_security_group_name: str
    nat_gateway_name: str
    """NAT gateway that gives the (public-IP-less) cluster nodes a fixed egress address."""
    host_subnet_name: str
    container_subnet_name: str
    vnet_cidr: IPv4Network
    host_subnet_cidr: IPv4Network
    """Databricks "public" subnet (no public IPs with secure cluster connectivity)."""
    container_subnet_cidr: IPv4Network
    """Databricks "private" subnet."""
    private_endpoint_subnet_name: str = "private-endpoints"
    private_endpoint_subnet_cidr: IPv4Network | None = None
    """Optional subnet for private endpoints. Default: none is created."""


class DatabricksNetwork(Construct):
    """VNet with the two subnets delegated to `Microsoft.Databricks/workspaces` and one NSG
    associated to both. Databricks manages the NSG's rules itself (network intent policy);
    the Microsoft.Storage service endpoint lets the storage firewall admit the clusters.
    Egress goes through a NAT gateway: Azure retires default outbound access for new subnets,
    and a fixed egress IP is what firewalls downstream can allow."""

    def __init__(self, scope: Construct, id_: str, props: DatabricksNetworkProps) -> None:
        super().__init__(scope, id_)
        rg = props.resource_group
        self.vnet = VirtualNetwork(
            self,
            "Vnet",
            name=props.virtual_network_name,
            location=rg.location,
            resource_group_name=rg.name,
            address_space=[str(props.vnet_cidr)],
        )
        self.nsg = NetworkSecurityGroup(
            self,
            "Nsg",
            name=props.network_security_group_name,
            location=rg.location,
            resource_group_name=rg.name,
        )
        self.egress_ip = PublicIp(
            self,
            "EgressIp",
            name=f"{props.nat_gateway_name}-ip",
            location=rg.location,
            resource_group_name=rg.name,
            allocation_method="Static",
            sku="Standard",
        )
        self.nat_gateway = NatGateway(
            self,
            "NatGateway",
            name=props.nat_gateway_name,
            location=rg.location,
            resource_group_name=rg.name,
            sku_name="Standard",
            idle_timeout_in_minutes=10,
        )
        NatGatewayPublicIpAssociation(
            self,
            "NatGatewayIp",
            nat_gateway_id=self.nat_gateway.id,
            public_ip_address_id=self.egress_ip.id,
        )
        self.host_subnet, self.host_nsg_association = self._databricks_subnet(
            "HostSubnet", props.host_subnet_name, props.host_subnet_cidr, rg
        )
        self.container_subnet, self.container_nsg_association = self._databricks_subnet(
            "ContainerSubnet", props.container_subnet_name, props.container_subnet_cidr, rg
        )
        self.private_endpoint_subnet: Subnet | None = None
        if props.private_endpoint_subnet_cidr is not None:
            self.private_endpoint_subnet = Subnet(
                self,
                "PrivateEndpointSubnet",
                name=props.private_endpoint_subnet_name,
                resource_group_name=rg.name,
                virtual_network_name=self.vnet.name,
                address_prefixes=[str(props.private_endpoint_subnet_cidr)],
                default_outbound_access_enabled=False,
                # NSG rules apply to the private endpoints in it, not only to other traffic.
                private_endpoint_network_policies="Enabled",
            )
            # Its own NSG (Azure's default rules): the Databricks NSG's rules are managed by
            # Databricks for the delegated subnets and do not belong here.
            self.private_endpoint_nsg = NetworkSecurityGroup(
                self,
                "PrivateEndpointNsg",
                name=f"{props.network_security_group_name}-pe",
                location=rg.location,
                resource_group_name=rg.name,
            )
            SubnetNetworkSecurityGroupAssociation(
                self,
                "PrivateEndpointSubnetNsg",
                subnet_id=self.private_endpoint_subnet.id,
                network_security_group_id=self.private_endpoint_nsg.id,
            )

    def _databricks_subnet(
        self, id_: str, name: str, cidr: IPv4Network, rg: EnvironmentResourceGroup
    ) -> tuple[Subnet, SubnetNetworkSecurityGroupAssociation]:
        subnet = Subnet(
            self,
            id_,
            name=name,
            resource_group_name=rg.name,
            virtual_network_name=self.vnet.name,
            address_prefixes=[str(cidr)],
            **subnet_service_endpoints(["Microsoft.Storage", "Microsoft.KeyVault"]),
            default_outbound_access_enabled=False,
            delegation=[
                SubnetDelegation(
                    name="databricks",
                    service_delegation=SubnetDelegationServiceDelegation(
                        name="Microsoft.Databricks/workspaces",
                        actions=_DATABRICKS_DELEGATION_ACTIONS,
                    ),
                )
            ],
        )
        association = SubnetNetworkSecurityGroupAssociation(
            self,
            f"{id_}Nsg",
            subnet_id=subnet.id,
            network_security_group_id=self.nsg.id,
        )
        SubnetNatGatewayAssociation(
            self, f"{id_}Nat", subnet_id=subnet.id, nat_gateway_id=self.nat_gateway.id
        )
        return subnet, association
