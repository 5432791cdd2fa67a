"""Assertions on each environment's platform stack (`<env>`, everything azurerm): the
properties each environment must have."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from constructs_lib.azure.job_failure_query import failed_job_runs_query, iso_duration
from constructs_lib.azure.resource_providers import (
    NAMESPACE_OF,
    REGISTERED_BY_DEFAULT,
    REQUIRED_RESOURCE_PROVIDERS,
)
from constructs_lib.config import load_environments
from constructs_lib.policy.rules import PolicyContext
from tests.conftest import ENVIRONMENTS, ROOT, only, ref, remote_ref, resources, synthesize_to

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


# Metric categories Azure accepts per diagnostic target, written out here rather than imported
# (docs/platform-assumptions.md): Storage refuses `AllMetrics` ("supported categories are:
# 'Capacity;Transaction'"); of a blob service's Capacity metrics only ContainerCount is
# exportable, so only Transaction is sent; Key Vault has one category, `AllMetrics`; the
# Databricks workspace's setting carries its audit logs only.
ACCEPTED_METRIC_CATEGORIES = {
    ("azurerm_key_vault", ""): {"AllMetrics"},
    ("azurerm_storage_account", "/blobServices/default"): {"Transaction"},
    ("azurerm_storage_account", ""): {"Capacity", "Transaction"},
    ("azurerm_databricks_workspace", ""): set(),
}
EXPECTED_METRIC_CATEGORIES = {
    ("azurerm_key_vault", ""): ["AllMetrics"],
    ("azurerm_storage_account", "/blobServices/default"): ["Transaction"],
    ("azurerm_databricks_workspace", ""): [],
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_diagnostic_setting_sends_only_metric_categories_its_target_accepts(
    stacks, env: str
) -> None:
    """Azure refuses an unsupported metric category when it creates the setting (the provider
    checks only that it is not empty), which stopped every platform apply at the blob
    service's `AllMetrics`."""
    seen = []
    for setting in resources(stacks[env], "azurerm_monitor_diagnostic_setting").values():
        target = setting["target_resource_id"]
        assert target.startswith("${azurerm_") and "}" in target, target
        reference, sub_resource = target[2:].split("}", 1)
        target_type = (reference.split(".")[0], sub_resource)
        categories = [m["category"] for m in setting.get("enabled_metric", [])]
        assert target_type in ACCEPTED_METRIC_CATEGORIES, f"no accepted categories: {target}"
        assert set(categories) <= ACCEPTED_METRIC_CATEGORIES[target_type], target
        assert categories == EXPECTED_METRIC_CATEGORIES[target_type], target
        seen.append(target_type)
    blob = ("azurerm_storage_account", "/blobServices/default")
    assert seen.count(blob) == 1 + int(CONFIGS[env].azure_ml.enabled)  # + Azure ML storage
    assert {("azurerm_key_vault", ""), ("azurerm_databricks_workspace", "")} <= set(seen)


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
    # The query resolves before DatabricksJobs exists (union isfuzzy), so Azure's validation
    # at create stays on and keeps catching real query errors.
    assert "skip_query_validation" not in alert
    assert criteria["query"].splitlines()[1] == "union isfuzzy=true"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_azurerm_provider_settings_for_runners_outside_the_network(stacks, env: str) -> None:
    (provider,) = stacks[env]["provider"]["azurerm"]
    (features,) = provider["features"]
    assert features["storage"] == [{"data_plane_available": False}]
    assert provider["resource_provider_registrations"] == "none"
    assert "resource_providers_to_register" not in provider
    assert provider["storage_use_azuread"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_destroyed_vault_is_recovered_not_purged(stacks, env: str) -> None:
    """Recreating an environment within the vault's soft-delete retention recovers the vault
    (the deploy identity may read deleted vaults: bootstrap custom role); nothing purges."""
    (provider,) = stacks[env]["provider"]["azurerm"]
    (features,) = provider["features"]
    assert features["key_vault"] == [
        {"purge_soft_delete_on_destroy": False, "recover_soft_deleted_key_vaults": True}
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_log_analytics_and_app_insights_accept_no_shared_keys(stacks, env: str) -> None:
    """Local (shared key) authentication off: a key read into state cannot ingest records.
    azurerm 4.55: `local_authentication_enabled` (the deprecated `..._disabled` conflicts)."""
    _, workspace = only(stacks[env], "azurerm_log_analytics_workspace")
    assert workspace["local_authentication_enabled"] is False
    assert "local_authentication_disabled" not in workspace
    _, insights = only(stacks[env], "azurerm_application_insights")
    assert insights["local_authentication_disabled"] is True


def test_azure_ml_identity_can_use_the_rbac_vault(stacks) -> None:
    """The sandbox's Azure ML workspace keeps its secrets in the environment's RBAC vault:
    its system-assigned identity has Key Vault Administrator there, and nothing else does."""
    stack = stacks["sandbox"]
    ws_id, _ = only(stack, "azurerm_machine_learning_workspace")
    vault_id, _ = only(stack, "azurerm_key_vault")
    principal = f"${{azurerm_machine_learning_workspace.{ws_id}.identity[0].principal_id}}"
    mine = [
        a
        for a in resources(stack, "azurerm_role_assignment").values()
        if a["principal_id"] == principal
    ]
    assert mine == [
        {
            **mine[0],
            "role_definition_name": "Key Vault Administrator",
            "scope": ref("azurerm_key_vault", vault_id, "id"),
            "principal_type": "ServicePrincipal",
        }
    ]
    admins = [
        a
        for env in ENVIRONMENTS
        for a in resources(stacks[env], "azurerm_role_assignment").values()
        if a["role_definition_name"] == "Key Vault Administrator"
    ]
    assert len(admins) == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_has_a_budget_that_alerts_its_people(stacks, env: str) -> None:
    """One budget on the environment's resource group: the configured amount, one notification
    per actual and forecast threshold, each to the environment's action group and receivers."""
    config = CONFIGS[env]
    stack = stacks[env]
    _, budget = only(stack, "azurerm_consumption_budget_resource_group")
    (group_id,) = stack["data"]["azurerm_resource_group"]
    action_group_id, _ = only(stack, "azurerm_monitor_action_group")
    assert budget["name"] == f"mlops-{env}-budget"
    assert budget["resource_group_id"] == f"${{data.azurerm_resource_group.{group_id}.id}}"
    assert budget["amount"] == config.budget.amount
    assert budget["time_grain"] == config.budget.time_grain
    expected = sorted(
        [("Actual", t) for t in config.budget.actual_thresholds_percent]
        + [("Forecasted", t) for t in config.budget.forecast_thresholds_percent]
    )
    notifications = budget["notification"]
    assert sorted((n["threshold_type"], n["threshold"]) for n in notifications) == expected
    for n in notifications:
        assert n["enabled"] is True and n["operator"] == "GreaterThan"
        assert n["contact_groups"] == [ref("azurerm_monitor_action_group", action_group_id, "id")]
        assert n["contact_emails"] == [
            r.email_address for r in config.monitoring.alert_email_receivers
        ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_budget_start_is_computed_by_terraform_and_then_kept(stacks, env: str) -> None:
    """No date in the JSON (deterministic synthesis): Terraform computes the first of the
    month when it applies (`timestamp()`; `plantimestamp()` would freeze the plan's month into
    a saved plan that may be approved in the next month); `ignore_changes` keeps the first
    one, since the start date is ForceNew and Azure refuses a past start beyond the current
    period on create."""
    _, budget = only(stacks[env], "azurerm_consumption_budget_resource_group")
    assert budget["time_period"] == {
        "start_date": "${formatdate(\"YYYY-MM-01'T00:00:00Z'\", timestamp())}"
    }
    assert "plantimestamp" not in json.dumps(budget)
    assert budget["lifecycle"] == {"ignore_changes": ["time_period"]}


def test_a_configured_budget_start_is_written_as_is(tmp_path) -> None:
    """`budget.start_date` set: that date (midnight UTC), no ignore_changes (changing it
    replaces the budget, which Azure allows)."""
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    dev = config_dir / "dev.yaml"
    dev.write_text(
        dev.read_text().replace("  amount: 1000\n", "  amount: 1000\n  start_date: 2025-01-01\n")
    )
    out = synthesize_to(tmp_path / "cdktf.out", env={"MLOPS_CONFIG_DIR": str(config_dir)})
    stack = json.loads((out / "stacks" / "dev" / "cdk.tf.json").read_text())
    _, budget = only(stack, "azurerm_consumption_budget_resource_group")
    assert budget["time_period"] == {"start_date": "2025-01-01T00:00:00Z"}
    assert "lifecycle" not in budget


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
    """Except the bootstrap's initial state blobs (issue 19): written once by the admin, from
    outside any firewall (the state account admits every network, Entra ID only); the
    `data_plane_available` flag is read by `azurerm_storage_account` only, so it does not stop
    them (azurerm v4.55.0 `storage_blob_resource.go` uses the blob API with Entra ID)."""
    for name, stack in stacks.items():
        found = stack.get("resource", {})
        if name == "bootstrap":
            assert set(found) & DATA_PLANE_TYPES == {"azurerm_storage_blob"}
            _, account = only(stack, "azurerm_storage_account")
            assert account.get("network_rules") is None
        else:
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
    (egress_ip,) = resources(stacks[env], "azurerm_public_ip")
    assert allow["ip_addresses"] == [
        *(str(r) for r in config.workspace.allowed_ip_ranges),
        # The clusters' egress, read from the platform stack's state (cross-stack reference).
        remote_ref(stacks, env, "azurerm_public_ip", egress_ip, "ip_address"),
    ]
    assert allow["depends_on"] == [f"databricks_workspace_conf.{conf_id}"]
    assert {e for e, c in CONFIGS.items() if c.workspace.allowed_ip_ranges} == {"uat", "prod"}


@pytest.mark.parametrize("env", ["uat", "prod"])
def test_egress_ip_is_the_nat_gateways_and_cannot_be_destroyed(stacks, env: str) -> None:
    """The address in the allow list is the public IP of the NAT gateway of both cluster
    subnets; protected environments cannot destroy or replace it (its address would change)."""
    stack = stacks[env]
    ip_id, ip = only(stack, "azurerm_public_ip")
    assert ip["allocation_method"] == "Static" and ip["sku"] == "Standard"
    assert ip["lifecycle"] == {"prevent_destroy": True}
    nat_id, _ = only(stack, "azurerm_nat_gateway")
    _, association = only(stack, "azurerm_nat_gateway_public_ip_association")
    assert association == {
        **association,
        "nat_gateway_id": ref("azurerm_nat_gateway", nat_id, "id"),
        "public_ip_address_id": ref("azurerm_public_ip", ip_id, "id"),
    }
    subnets = resources(stack, "azurerm_subnet_nat_gateway_association").values()
    assert len(subnets) == 2
    assert {s["nat_gateway_id"] for s in subnets} == {ref("azurerm_nat_gateway", nat_id, "id")}


@pytest.mark.parametrize("env", ["uat", "prod"])
def test_rule_refuses_the_synthesized_list_without_the_egress_ip(stacks, env: str) -> None:
    """MLOPS-DBW-2 on the real stacks of the environment: compliant as synthesized, an error
    once the egress IP is taken out of the ALLOW list."""
    from constructs_lib.policy.rules import evaluate
    from constructs_lib.policy.stack_policy import views_from_stack

    ctx = PolicyContext(environment=env, protected=True)
    platform, workspace_stack = stacks[env], copy.deepcopy(stacks[f"{env}-workspace"])

    def dbw2(*jsons):
        views = [v for j in jsons for v in views_from_stack(j)]
        return [f for f in evaluate(views, ctx) if f.rule.id == "MLOPS-DBW-2"]

    assert dbw2(platform, workspace_stack) == []
    (allow,) = resources(workspace_stack, "databricks_ip_access_list").values()
    allow["ip_addresses"] = [a for a in allow["ip_addresses"] if not a.startswith("${")]
    (finding,) = dbw2(platform, workspace_stack)
    assert "egress IP ${azurerm_public_ip." in finding.detail


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
        # No tags argument in azurerm 4.55.0 (consumption_budget_base.go arguments).
        "azurerm_consumption_budget_resource_group",
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


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_data_lake_firewall_admits_the_serverless_subnets(stacks, env: str) -> None:
    """Quality monitor refreshes run on serverless compute, which reaches the data lake from the
    stable subnets of the environment's NCC (config, copied from the bootstrap's output); the
    cluster subnets stay, and nothing else is added."""
    platform = stacks[env]
    config = CONFIGS[env]
    (account,) = [
        v
        for v in resources(platform, "azurerm_storage_account").values()
        if v.get("is_hns_enabled")
    ]
    rules = account["network_rules"]
    by_name = {v["name"]: k for k, v in resources(platform, "azurerm_subnet").items()}
    cluster = [
        ref("azurerm_subnet", by_name[n], "id") for n in ("databricks-host", "databricks-container")
    ]
    assert rules["default_action"] == "Deny"
    assert rules["virtual_network_subnet_ids"] == [
        *cluster,
        *config.storage.serverless_subnet_ids,
    ]
    assert config.storage.serverless_subnet_ids
    # Only the data lake: the Key Vault is not read from serverless compute.
    _, vault = only(platform, "azurerm_key_vault")
    assert not set(config.storage.serverless_subnet_ids) & set(
        vault["network_acls"]["virtual_network_subnet_ids"]
    )
