"""Case tables of the exposure rules (MLOPS-NET-1, MLOPS-NET-2, MLOPS-ST-3), in the shape of
`test_policy_rules.CASES` / `COMPLIANT`, which run them: (rule, resource type, attributes,
context)."""

from __future__ import annotations

from constructs_lib.policy.rules import PolicyContext

DEV = PolicyContext(environment="dev", protected=False)
PROD = PolicyContext(environment="prod", protected=True)
PROD_16 = PolicyContext(environment="prod", protected=True, min_ip_rule_prefix_length=16)

STORAGE_PRIVATE = {
    "shared_access_key_enabled": False,
    "network_rules": {"default_action": "Deny", "ip_rules": ["203.0.113.0/28"]},
}
VAULT_PRIVATE = {"network_acls": {"default_action": "Deny", "ip_rules": []}}

EXPOSURE_CASES = [
    # MLOPS-NET-1: reachable from the whole internet (every environment)
    ("MLOPS-NET-1", "azurerm_storage_account", {"shared_access_key_enabled": False}, DEV),
    (
        "MLOPS-NET-1",
        "azurerm_storage_account",
        {**STORAGE_PRIVATE, "network_rules": {"default_action": "Allow"}},
        PROD,
    ),
    (
        "MLOPS-NET-1",
        "azurerm_storage_account",
        {**STORAGE_PRIVATE, "network_rules": [{"default_action": "Allow"}]},
        PROD,
    ),
    ("MLOPS-NET-1", "azurerm_key_vault", {}, PROD),
    ("MLOPS-NET-1", "azurerm_key_vault", {"network_acls": {"default_action": "Allow"}}, DEV),
    ("MLOPS-NET-1", "azurerm_machine_learning_workspace", {}, PROD),
    (
        "MLOPS-NET-1",
        "azurerm_machine_learning_workspace",
        {"public_network_access_enabled": True},
        DEV,
    ),
    # MLOPS-NET-2: IP rules
    (
        "MLOPS-NET-2",
        "azurerm_storage_account",
        {"network_rules": {"default_action": "Deny", "ip_rules": ["0.0.0.0/0"]}},
        DEV,
    ),
    (
        "MLOPS-NET-2",
        "azurerm_key_vault",
        {"network_acls": {"default_action": "Deny", "ip_rules": ["10.0.0.0/8"]}},
        PROD,
    ),
    (
        "MLOPS-NET-2",
        "azurerm_key_vault",
        {"network_acls": {"default_action": "Deny", "ip_rules": ["198.51.100.0/23"]}},
        PROD,
    ),
    (
        "MLOPS-NET-2",
        "azurerm_storage_account",
        {"network_rules": {"default_action": "Deny", "ip_rules": ["not-an-ip"]}},
        DEV,
    ),
    (
        "MLOPS-NET-2",
        "databricks_ip_access_list",
        {"list_type": "ALLOW", "ip_addresses": ["0.0.0.0/0"]},
        DEV,
    ),
    (
        "MLOPS-NET-2",
        "databricks_ip_access_list",
        {"list_type": "ALLOW", "ip_addresses": ["::/0"]},
        DEV,
    ),
    (
        "MLOPS-NET-2",
        "databricks_ip_access_list",
        {"list_type": "ALLOW", "ip_addresses": ["2001:db8::/48"]},
        PROD,
    ),
    (
        "MLOPS-NET-2",
        "azurerm_storage_account",
        {"network_rules": {"ip_rules": ["203.0.113.0/24", "192.0.0.0/15"]}},
        PROD_16,
    ),
    # MLOPS-ST-3: shared keys (every environment; azurerm's default is on)
    (
        "MLOPS-ST-3",
        "azurerm_storage_account",
        {**STORAGE_PRIVATE, "shared_access_key_enabled": True},
        DEV,
    ),
    ("MLOPS-ST-3", "azurerm_storage_account", {"network_rules": {"default_action": "Deny"}}, PROD),
]

EXPOSURE_COMPLIANT = [
    ("MLOPS-NET-1", "azurerm_storage_account", STORAGE_PRIVATE, PROD),
    ("MLOPS-NET-1", "azurerm_storage_account", {"public_network_access_enabled": False}, PROD),
    ("MLOPS-NET-1", "azurerm_key_vault", VAULT_PRIVATE, PROD),
    (
        "MLOPS-NET-1",
        "azurerm_machine_learning_workspace",
        {"public_network_access_enabled": False},
        PROD,
    ),
    ("MLOPS-NET-2", "azurerm_storage_account", STORAGE_PRIVATE, PROD),
    (
        "MLOPS-NET-2",
        "azurerm_key_vault",
        {"network_acls": {"ip_rules": ["203.0.113.7", "198.51.100.0/24"]}},
        PROD,
    ),
    # Unprotected environments may allow wide ranges, never everything.
    ("MLOPS-NET-2", "azurerm_key_vault", {"network_acls": {"ip_rules": ["10.0.0.0/8"]}}, DEV),
    (
        "MLOPS-NET-2",
        "azurerm_storage_account",
        {"network_rules": {"ip_rules": ["192.0.0.0/16"]}},
        PROD_16,
    ),
    # A reference is not literal; a BLOCK list may be as wide as it likes.
    (
        "MLOPS-NET-2",
        "azurerm_storage_account",
        {"network_rules": {"ip_rules": ["${var.office}"]}},
        PROD,
    ),
    (
        "MLOPS-NET-2",
        "databricks_ip_access_list",
        {"list_type": "BLOCK", "ip_addresses": ["0.0.0.0/0"]},
        PROD,
    ),
    (
        "MLOPS-NET-2",
        "databricks_ip_access_list",
        {"list_type": "ALLOW", "ip_addresses": ["2001:db8::/120"]},
        PROD,
    ),
    ("MLOPS-ST-3", "azurerm_storage_account", STORAGE_PRIVATE, DEV),
]
