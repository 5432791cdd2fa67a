"""The Azure resource providers the platform needs registered in the subscription (pure).

The environment stacks run as deployers that hold roles on their resource group only, so they
set the azurerm provider's `resource_provider_registrations = "none"`: registering a resource
provider is a subscription-scope action (`<namespace>/register/action`, in Contributor and
Owner at subscription scope). The bootstrap stack, applied once by a subscription admin,
registers exactly `REQUIRED_RESOURCE_PROVIDERS` through the provider's
`resource_providers_to_register`: it registers only what is not registered yet, needs no state
and never unregisters anything on destroy (docs/platform-assumptions.md).

`NAMESPACE_OF` maps every azurerm resource type the stacks use to its namespace; a test fails
when a stack uses a type missing here, so the list cannot fall behind the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

NAMESPACE_OF: Mapping[str, str] = MappingProxyType(
    {
        "azurerm_resource_group": "Microsoft.Resources",
        "azurerm_virtual_network": "Microsoft.Network",
        "azurerm_subnet": "Microsoft.Network",
        "azurerm_network_security_group": "Microsoft.Network",
        "azurerm_subnet_network_security_group_association": "Microsoft.Network",
        "azurerm_nat_gateway": "Microsoft.Network",
        "azurerm_nat_gateway_public_ip_association": "Microsoft.Network",
        "azurerm_subnet_nat_gateway_association": "Microsoft.Network",
        "azurerm_public_ip": "Microsoft.Network",
        "azurerm_private_endpoint": "Microsoft.Network",
        "azurerm_private_dns_zone": "Microsoft.Network",
        "azurerm_private_dns_zone_virtual_network_link": "Microsoft.Network",
        "azurerm_databricks_workspace": "Microsoft.Databricks",
        "azurerm_databricks_access_connector": "Microsoft.Databricks",
        "azurerm_key_vault": "Microsoft.KeyVault",
        "azurerm_storage_account": "Microsoft.Storage",
        "azurerm_storage_container": "Microsoft.Storage",
        "azurerm_storage_blob": "Microsoft.Storage",
        "azurerm_log_analytics_workspace": "Microsoft.OperationalInsights",
        "azurerm_application_insights": "microsoft.insights",
        "azurerm_monitor_diagnostic_setting": "microsoft.insights",
        "azurerm_monitor_action_group": "microsoft.insights",
        "azurerm_monitor_scheduled_query_rules_alert_v2": "microsoft.insights",
        "azurerm_machine_learning_workspace": "Microsoft.MachineLearningServices",
        "azurerm_consumption_budget_resource_group": "Microsoft.Consumption",
        "azurerm_role_assignment": "Microsoft.Authorization",
        "azurerm_role_definition": "Microsoft.Authorization",
        "azurerm_user_assigned_identity": "Microsoft.ManagedIdentity",
        "azurerm_federated_identity_credential": "Microsoft.ManagedIdentity",
    }
)
"""Resource type -> the resource provider namespace its API belongs to. Spelled as the azurerm
provider's own registration lists spell them (it compares case-sensitively;
`microsoft.insights` is lower case there)."""

REGISTERED_BY_DEFAULT: frozenset[str] = frozenset(
    {"Microsoft.Resources", "Microsoft.Authorization"}
)
"""Namespaces every subscription has registered (Azure docs: "Resource providers for Azure
services", marked "registered by default")."""

RUNTIME_ONLY: tuple[str, ...] = ("Microsoft.Compute",)
"""Namespaces no resource here creates directly but the service needs at run time: Azure
Databricks creates the cluster VMs in the workspace's managed resource group."""

REQUIRED_RESOURCE_PROVIDERS: tuple[str, ...] = tuple(
    sorted({*NAMESPACE_OF.values(), *RUNTIME_ONLY} - REGISTERED_BY_DEFAULT, key=str.lower)
)
"""What the bootstrap stack registers: every namespace of `NAMESPACE_OF` not registered by
default, and the run-time ones."""
