"""constructs_lib/providers/compat.py on the default engine (azurerm 4.55): each helper returns
the arguments the cdktf binding accepts. The cdktn side (azurerm 5.10) is checked on the
synthesized output by tests/engines/test_engine_diff.py."""

from __future__ import annotations

import pytest

from constructs_lib.providers import compat


def test_accepts_reads_the_bindings_signature() -> None:
    from constructs_lib.providers.azurerm.subnet import Subnet

    assert compat.accepts(Subnet, "service_endpoints")
    assert compat.accepts(Subnet, "address_prefixes")
    assert not compat.accepts(Subnet, "service_endpoint")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda: compat.subnet_service_endpoints(["Microsoft.Storage", "Microsoft.KeyVault"]),
            {"service_endpoints": ["Microsoft.Storage", "Microsoft.KeyVault"]},
        ),
        (
            lambda: compat.application_insights_local_auth(enabled=False),
            {"local_authentication_disabled": True},
        ),
        (
            lambda: compat.federated_credential_identity(
                identity_id="${azurerm_user_assigned_identity.I.id}",
                identity_resource_group_name="rg",
            ),
            {"parent_id": "${azurerm_user_assigned_identity.I.id}", "resource_group_name": "rg"},
        ),
        (
            lambda: compat.private_dns_zone_link_zone(
                zone_id="${azurerm_private_dns_zone.Z.id}",
                zone_name="${azurerm_private_dns_zone.Z.name}",
                resource_group_name="rg",
            ),
            {
                "private_dns_zone_name": "${azurerm_private_dns_zone.Z.name}",
                "resource_group_name": "rg",
            },
        ),
        (
            lambda: compat.storage_blob_container(
                container_id="${azurerm_storage_container.C.id}",
                container_name="${azurerm_storage_container.C.name}",
                account_name="${azurerm_storage_account.A.name}",
            ),
            {
                "storage_account_name": "${azurerm_storage_account.A.name}",
                "storage_container_name": "${azurerm_storage_container.C.name}",
            },
        ),
    ],
)
def test_helpers_return_the_azurerm_4_arguments_on_cdktf(call, expected) -> None:
    assert call() == expected
