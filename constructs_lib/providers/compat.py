"""Arguments whose name or shape changed between the provider versions the two engines wrap:
hashicorp/azurerm 4.55.0 (cdktf's bindings) and 5.10.0 (CDK Terrain's). The databricks (1.99.0
-> 1.138.0) and time (0.13.1 -> 0.14.2) arguments this app sets are the same in both.

Each helper returns the keyword arguments for the binding in use, chosen by what that binding
accepts (its generated signature is the provider's schema), so a construct says once what it
wants and works on both engines:

    Subnet(self, "Host", name=..., **subnet_service_endpoints(["Microsoft.Storage"]))

The synthesized JSON differs accordingly; `tools/engine_diff/expected_differences.yaml` lists
each difference with its reason, and `docs/platform-assumptions.md` what it means for a
deployed environment (azurerm 5.0 upgrade guide, website/docs/guides/5.0-upgrade-guide.html.markdown
at v5.2.0). A new construct that needs an argument renamed in a newer provider adds a helper
here, never a branch on the engine's name.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import Any


@functools.cache
def _arguments(binding_class: type) -> frozenset[str]:
    return frozenset(inspect.signature(binding_class.__init__).parameters)


def accepts(binding_class: type, argument: str) -> bool:
    """True if the binding's constructor (the provider's schema) has `argument`."""
    return argument in _arguments(binding_class)


def subnet_service_endpoints(services: Sequence[str]) -> dict[str, Any]:
    """`azurerm_subnet` service endpoints. azurerm 4.x: `service_endpoints` (a set of service
    names); 5.0 removed it "in favour of the `service_endpoint` block" (one block per service,
    `service` and an optional `network_identifier`), a list in the given order."""
    from constructs_lib.providers.azurerm.subnet import Subnet

    if accepts(Subnet, "service_endpoints"):
        return {"service_endpoints": list(services)}
    from constructs_lib.providers.azurerm.subnet import SubnetServiceEndpoint

    return {"service_endpoint": [SubnetServiceEndpoint(service=s) for s in services]}


def application_insights_local_auth(*, enabled: bool) -> dict[str, Any]:
    """`azurerm_application_insights` local (instrumentation-key) authentication. azurerm 4.x:
    `local_authentication_disabled`; 5.0 removed it "in favour of the
    `local_authentication_enabled` property" (the negation)."""
    from constructs_lib.providers.azurerm.application_insights import ApplicationInsights

    if accepts(ApplicationInsights, "local_authentication_disabled"):
        return {"local_authentication_disabled": not enabled}
    return {"local_authentication_enabled": enabled}


def federated_credential_identity(
    *, identity_id: str, identity_resource_group_name: str
) -> dict[str, Any]:
    """The user-assigned identity an `azurerm_federated_identity_credential` belongs to.
    azurerm 4.x: `parent_id` (the identity's ID) and `resource_group_name`; 5.0 removed both
    "in favour of the `user_assigned_identity_id` property" (the same ID)."""
    from constructs_lib.providers.azurerm.federated_identity_credential import (
        FederatedIdentityCredential,
    )

    if accepts(FederatedIdentityCredential, "parent_id"):
        return {"parent_id": identity_id, "resource_group_name": identity_resource_group_name}
    return {"user_assigned_identity_id": identity_id}


def private_dns_zone_link_zone(
    *, zone_id: str, zone_name: str, resource_group_name: str
) -> dict[str, Any]:
    """The private DNS zone an `azurerm_private_dns_zone_virtual_network_link` links. azurerm
    4.x: `private_dns_zone_name` and `resource_group_name`; 5.0 removed both "in favour of the
    `private_dns_zone_id` property" (the zone's ID)."""
    from constructs_lib.providers.azurerm.private_dns_zone_virtual_network_link import (
        PrivateDnsZoneVirtualNetworkLink,
    )

    if accepts(PrivateDnsZoneVirtualNetworkLink, "private_dns_zone_name"):
        return {"private_dns_zone_name": zone_name, "resource_group_name": resource_group_name}
    return {"private_dns_zone_id": zone_id}


def storage_blob_container(
    *, container_id: str, container_name: str, account_name: str
) -> dict[str, Any]:
    """The container an `azurerm_storage_blob` is written to. azurerm 4.55:
    `storage_account_name` and `storage_container_name`; 5.0 removed both "in favour of the
    `storage_container_id` property" (the container's resource manager ID, which is the ID of a
    container created with `storage_account_id`). The blob's own ID (its data-plane URL) is the
    same under both."""
    from constructs_lib.providers.azurerm.storage_blob import StorageBlob

    if accepts(StorageBlob, "storage_container_name"):
        return {"storage_account_name": account_name, "storage_container_name": container_name}
    return {"storage_container_id": container_id}
