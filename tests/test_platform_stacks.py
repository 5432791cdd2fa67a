"""Assertions on each environment's platform stack (`<env>`, everything azurerm): the
properties each environment must have."""

from __future__ import annotations

import json

import pytest

from constructs_lib.azure.job_failure_query import failed_job_runs_query, iso_duration
from constructs_lib.azure.resource_providers import (
    NAMESPACE_OF,
    REGISTERED_BY_DEFAULT,
    REQUIRED_RESOURCE_PROVIDERS,
)
from constructs_lib.config import load_environments
from tests.conftest import ENVIRONMENTS, ROOT, only, ref, resources

pytestmark = pytest.mark.synth
CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}


def test_two_stacks_per_environment_plus_bootstrap(stacks) -> None:
    assert sorted(stacks) == sorted(
        [*ENVIRONMENTS, *(f"{e}-workspace" for e in ENVIRONMENTS), "bootstrap"]
    )
    for name, stack in stacks.items():
        assert stack["//"]["metadata"]["stackName"] == name


def test_platform_stacks_manage_only_azure(stacks) -> None:
    for env in ENVIRONMENTS:
        assert all(t.startswith("azurerm_") for t in stacks[env]["resource"]), env
        assert set(stacks[env]["provider"]) == {"azurerm"}


def test_workspace_stacks_depend_on_their_platform_stack(synth_dir) -> None:
    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    for env in ENVIRONMENTS:
        assert manifest[f"{env}-workspace"]["dependencies"] == [env]
        assert manifest[env]["dependencies"] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_workspace_is_vnet_injected_without_public_ip(stacks, env: str) -> None:
    stack = stacks[env]
    ws_id, ws = only(stack, "azurerm_databricks_workspace")
    vnet_id, _ = only(stack, "azurerm_virtual_network")
    params = ws["custom_parameters"]
    assert ws["sku"] == "premium"
    assert params["no_public_ip"] is True
    assert params["virtual_network_id"] == ref("azurerm_virtual_network", vnet_id, "id")
    subnets = resources(stack, "azurerm_subnet")
    delegated = {
        s["name"]
        for s in subnets.values()
        if s.get("delegation", [{}])[0].get("service_delegation", {}).get("name")
        == "Microsoft.Databricks/workspaces"
    }
    assert {params["public_subnet_name"], params["private_subnet_name"]} == {
        ref("azurerm_subnet", k, "name") for k, s in subnets.items() if s["name"] in delegated
    }
    assert (
        ws["public_network_access_enabled"] is CONFIGS[env].workspace.public_network_access_enabled
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nsg_associated_to_both_databricks_subnets(stacks, env: str) -> None:
    stack = stacks[env]
    nsgs = resources(stack, "azurerm_network_security_group")
    dbx_nsg = next(k for k, v in nsgs.items() if v["name"] == f"mlops-{env}-databricks-nsg")
    subnets = resources(stack, "azurerm_subnet")
    by_subnet = {
        a["subnet_id"]: a["network_security_group_id"]
        for a in resources(stack, "azurerm_subnet_network_security_group_association").values()
    }
    for logical_id, subnet in subnets.items():
        nsg = by_subnet[ref("azurerm_subnet", logical_id, "id")]  # every subnet has an NSG
        delegated = subnet.get("delegation")
        assert (nsg == ref("azurerm_network_security_group", dbx_nsg, "id")) == bool(delegated)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_vault_private_endpoint_in_the_endpoint_subnet(stacks, env: str) -> None:
    stack = stacks[env]
    kv_id, _ = only(stack, "azurerm_key_vault")
    endpoints = resources(stack, "azurerm_private_endpoint").values()
    (vault_pe,) = [
        e
        for e in endpoints
        if e["private_service_connection"]["private_connection_resource_id"]
        == ref("azurerm_key_vault", kv_id, "id")
    ]
    assert vault_pe["private_service_connection"]["subresource_names"] == ["vault"]
    pe_subnet = next(
        k for k, v in resources(stack, "azurerm_subnet").items() if v["name"] == "private-endpoints"
    )
    assert vault_pe["subnet_id"] == ref("azurerm_subnet", pe_subnet, "id")
    zones = {z["name"] for z in resources(stack, "azurerm_private_dns_zone").values()}
    assert "privatelink.vaultcore.azure.net" in zones


def test_geo_redundant_data_in_prod(stacks) -> None:
    _, account = next(
        (k, v)
        for k, v in resources(stacks["prod"], "azurerm_storage_account").items()
        if v.get("is_hns_enabled")
    )
    assert account["account_replication_type"] in ("GZRS", "RAGZRS", "GRS", "RAGRS")


def test_storage_accounts_have_no_local_users(stacks) -> None:
    for stack in stacks.values():
        for account in resources(stack, "azurerm_storage_account").values():
            assert account["local_user_enabled"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_vault_security(stacks, env: str) -> None:
    _, kv = only(stacks[env], "azurerm_key_vault")
    assert kv["rbac_authorization_enabled"] is True
    assert kv["purge_protection_enabled"] is (env in ("uat", "prod"))
    assert kv["network_acls"]["default_action"] == "Deny"
    assert kv["network_acls"]["bypass"] == "AzureServices"  # Azure Databricks is a trusted service
    assert kv["soft_delete_retention_days"] == CONFIGS[env].key_vault.soft_delete_retention_days


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_storage_is_secure_adls_gen2(stacks, env: str) -> None:
    stack = stacks[env]
    sa_id, sa = (
        only(stack, "azurerm_storage_account")
        if not CONFIGS[env].azure_ml.enabled
        else next(
            (k, v)
            for k, v in resources(stack, "azurerm_storage_account").items()
            if v.get("is_hns_enabled")
        )
    )
    assert sa["is_hns_enabled"] is True
    assert sa["min_tls_version"] == "TLS1_2"
    assert sa["https_traffic_only_enabled"] is True
    assert sa["allow_nested_items_to_be_public"] is False
    assert sa["shared_access_key_enabled"] is False
    assert sa["network_rules"]["default_action"] == "Deny"
    assert sa["account_replication_type"] == CONFIGS[env].storage.account_replication_type
    containers = {c["name"] for c in resources(stack, "azurerm_storage_container").values()}
    assert containers == {"bronze", "silver", "gold", "unity-catalog"}
    connector_id, connector = only(stack, "azurerm_databricks_access_connector")
    assert connector["identity"]["type"] == "SystemAssigned"
    (role,) = [
        r
        for r in resources(stack, "azurerm_role_assignment").values()
        if r["role_definition_name"] == "Storage Blob Data Contributor"
    ]
    assert role["scope"] == ref("azurerm_storage_account", sa_id, "id")
    assert role["principal_id"] == ref(
        "azurerm_databricks_access_connector", connector_id, "identity[0].principal_id"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_azure_databricks_can_read_the_key_vault(stacks, env: str) -> None:
    """A Key Vault-backed secret scope on an RBAC vault reads secrets as the AzureDatabricks
    application: it needs Key Vault Secrets User on the vault."""
    stack = stacks[env]
    kv_id, _ = only(stack, "azurerm_key_vault")
    (role,) = [
        r
        for r in resources(stack, "azurerm_role_assignment").values()
        if r["role_definition_name"] == "Key Vault Secrets User"
    ]
    assert role["scope"] == ref("azurerm_key_vault", kv_id, "id")
    assert role["principal_id"] == CONFIGS[env].databricks.azure_databricks_principal_object_id
    assert role["principal_type"] == "ServicePrincipal"
    assert CONFIGS[env].databricks.secret_scope_backend == "azure_keyvault"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_diagnostic_setting_targets_this_log_analytics(stacks, env: str) -> None:
    stack = stacks[env]
    law_id, law = only(stack, "azurerm_log_analytics_workspace")
    assert law["retention_in_days"] == CONFIGS[env].log_analytics.retention_in_days
    settings = resources(stack, "azurerm_monitor_diagnostic_setting")
    assert len(settings) == 3 + int(CONFIGS[env].azure_ml.enabled)  # + Azure ML storage
    targets = set()
    for setting in settings.values():
        assert setting["log_analytics_workspace_id"] == ref(
            "azurerm_log_analytics_workspace", law_id, "id"
        )
        assert "retention_policy" not in json.dumps(setting)
        # No resource-specific/AzureDiagnostics choice exists for these targets: the API reads
        # the field back as null, and setting it would show a change on every plan.
        assert "log_analytics_destination_type" not in setting
        targets.add(setting["target_resource_id"].split(".")[0])
    assert targets == {
        "${azurerm_databricks_workspace",
        "${azurerm_key_vault",
        "${azurerm_storage_account",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_app_insights_is_workspace_based(stacks, env: str) -> None:
    stack = stacks[env]
    law_id, _ = only(stack, "azurerm_log_analytics_workspace")
    _, appi = only(stack, "azurerm_application_insights")
    assert appi["workspace_id"] == ref("azurerm_log_analytics_workspace", law_id, "id")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_job_alert_mails_configured_receivers(stacks, env: str) -> None:
    stack = stacks[env]
    ag_id, ag = only(stack, "azurerm_monitor_action_group")
    _, alert = only(stack, "azurerm_monitor_scheduled_query_rules_alert_v2")
    expected = [r.email_address for r in CONFIGS[env].monitoring.alert_email_receivers]
    assert [r["email_address"] for r in ag["email_receiver"]] == expected
    assert alert["action"]["action_groups"] == [ref("azurerm_monitor_action_group", ag_id, "id")]
    assert alert["severity"] == CONFIGS[env].monitoring.job_failure_alert_severity


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_job_alert_fires_once_per_failed_job_run(stacks, env: str) -> None:
    _, alert = only(stacks[env], "azurerm_monitor_scheduled_query_rules_alert_v2")
    minutes = CONFIGS[env].monitoring.job_failure_alert_window_minutes
    (criteria,) = alert["criteria"]
    assert criteria["query"] == failed_job_runs_query(minutes)
    assert alert["evaluation_frequency"] == iso_duration(minutes) == "PT15M"
    assert alert["window_duration"] == "PT30M"  # two periods: the query judges the older one
    assert criteria["metric_measure_column"] == "FailedTasks"
    assert criteria["operator"] == "GreaterThan" and criteria["threshold"] == 0
    assert [(d["name"], d["operator"], d["values"]) for d in criteria["dimension"]] == [
        ("JobId", "Include", ["*"]),
        ("JobRunId", "Include", ["*"]),
    ]
    assert alert["auto_mitigation_enabled"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_azurerm_provider_settings_for_runners_outside_the_network(stacks, env: str) -> None:
    (provider,) = stacks[env]["provider"]["azurerm"]
    (features,) = provider["features"]
    assert features["storage"] == [{"data_plane_available": False}]
    assert provider["resource_provider_registrations"] == "none"
    assert "resource_providers_to_register" not in provider
    assert provider["storage_use_azuread"] is True


# Resources and arguments that need the storage data plane (blob/queue/file/table endpoints,
# behind the storage firewall), at azurerm 4.55 (docs/platform-assumptions.md).
DATA_PLANE_TYPES = {
    "azurerm_storage_blob",
    "azurerm_storage_queue",
    "azurerm_storage_table",
    "azurerm_storage_table_entity",
    "azurerm_storage_share",
    "azurerm_storage_share_directory",
    "azurerm_storage_share_file",
    "azurerm_storage_data_lake_gen2_filesystem",
    "azurerm_storage_data_lake_gen2_path",
    "azurerm_storage_account_queue_properties",
    "azurerm_storage_account_static_website",
}


def test_nothing_needs_the_storage_data_plane(stacks) -> None:
    for name, stack in stacks.items():
        found = stack.get("resource", {})
        assert not set(found) & DATA_PLANE_TYPES, name
        for account in resources(stack, "azurerm_storage_account").values():
            assert "queue_properties" not in account and "static_website" not in account
        for container in resources(stack, "azurerm_storage_container").values():
            # storage_account_id: the management plane; storage_account_name: the data plane.
            assert "storage_account_id" in container and "storage_account_name" not in container


def test_bootstrap_registers_every_resource_provider_the_stacks_use(stacks) -> None:
    (provider,) = stacks["bootstrap"]["provider"]["azurerm"]
    assert provider["resource_provider_registrations"] == "none"
    assert provider["resource_providers_to_register"] == list(REQUIRED_RESOURCE_PROVIDERS)
    assert provider["features"] == [{"storage": [{"data_plane_available": False}]}]
    used = {
        t
        for stack in stacks.values()
        for t in stack.get("resource", {})
        if t.startswith("azurerm_")
    }
    assert used <= set(NAMESPACE_OF), f"add to NAMESPACE_OF: {sorted(used - set(NAMESPACE_OF))}"
    needed = {NAMESPACE_OF[t] for t in used} - REGISTERED_BY_DEFAULT
    assert needed <= set(REQUIRED_RESOURCE_PROVIDERS)
    assert "Microsoft.Compute" in REQUIRED_RESOURCE_PROVIDERS  # cluster VMs, at run time


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_protected_public_workspaces_have_an_ip_access_list(stacks, env: str) -> None:
    config = CONFIGS[env]
    stack = stacks[f"{env}-workspace"]
    lists = resources(stack, "databricks_ip_access_list")
    confs = resources(stack, "databricks_workspace_conf")
    if not config.workspace.allowed_ip_ranges:
        assert lists == {} and confs == {}
        assert not config.protected or not config.workspace.public_network_access_enabled
        return
    (conf_id, conf), (_, allow) = (
        only(stack, "databricks_workspace_conf"),
        only(stack, "databricks_ip_access_list"),
    )
    assert conf["custom_config"] == {"enableIpAccessLists": "true"}
    assert allow["list_type"] == "ALLOW" and allow["enabled"] is True
    assert allow["ip_addresses"] == [str(r) for r in config.workspace.allowed_ip_ranges]
    assert allow["depends_on"] == [f"databricks_workspace_conf.{conf_id}"]
    assert {e for e, c in CONFIGS.items() if c.workspace.allowed_ip_ranges} == {"uat", "prod"}


def test_azure_ml_only_where_enabled(stacks) -> None:
    for env in ENVIRONMENTS:
        stack = stacks[env]
        found = resources(stack, "azurerm_machine_learning_workspace")
        assert len(found) == int(CONFIGS[env].azure_ml.enabled), env
    _, mlw = only(stacks["sandbox"], "azurerm_machine_learning_workspace")
    kv_id, _ = only(stacks["sandbox"], "azurerm_key_vault")
    appi_id, _ = only(stacks["sandbox"], "azurerm_application_insights")
    assert mlw["key_vault_id"] == ref("azurerm_key_vault", kv_id, "id")
    assert mlw["application_insights_id"] == ref("azurerm_application_insights", appi_id, "id")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_taggable_azure_resource_is_tagged(stacks, env: str) -> None:
    untagged_types = {
        "azurerm_subnet",
        "azurerm_subnet_network_security_group_association",
        "azurerm_role_assignment",
        "azurerm_storage_container",
        "azurerm_monitor_diagnostic_setting",
        "azurerm_nat_gateway_public_ip_association",
        "azurerm_subnet_nat_gateway_association",
        "azurerm_private_dns_zone_virtual_network_link",
    }
    for type_, items in stacks[env]["resource"].items():
        if not type_.startswith("azurerm_") or type_ in untagged_types:
            continue
        for logical_id, body in items.items():
            tags = body.get("tags", {})
            assert tags.get("environment") == env, f"{type_}.{logical_id}"
            assert tags.get("managed-by") == "cdktf"
            assert tags.get("cost-center") == "ml-platform"


def test_backend_is_local_and_relative_by_default(stacks) -> None:
    for env in ENVIRONMENTS:
        for name in (env, f"{env}-workspace"):
            assert stacks[name]["terraform"]["backend"] == {
                "local": {"path": f"../../../terraform.{name}.tfstate"}
            }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs(stacks, env: str) -> None:
    outputs = {k: v for k, v in stacks[env]["output"].items() if not k.startswith("cross-stack-")}
    assert set(outputs) == {
        "workspace_url",
        "workspace_id",
        "key_vault_uri",
        "storage_account_name",
        "log_analytics_workspace_id",
    }
    assert set(stacks[f"{env}-workspace"]["output"]) == {"ml_pipeline_job_id", "job_ids"}
    ws_id, _ = only(stacks[env], "azurerm_databricks_workspace")
    assert outputs["workspace_url"]["value"] == "https://" + ref(
        "azurerm_databricks_workspace", ws_id, "workspace_url"
    )


def test_providers_pinned(stacks) -> None:
    for env in ENVIRONMENTS:
        assert stacks[env]["terraform"]["required_providers"] == {
            "azurerm": {"source": "azurerm", "version": "4.55.0"},
        }
        assert stacks[f"{env}-workspace"]["terraform"]["required_providers"] == {
            "databricks": {"source": "databricks/databricks", "version": "1.99.0"},
            "time": {"source": "hashicorp/time", "version": "0.13.1"},
        }
