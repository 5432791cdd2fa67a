"""The bootstrap stack: keyless GitHub identities with least privilege, and remote state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.azure.deployment_identity import (
    BUILT_IN_ROLE_IDS,
    KEY_VAULT_ADMINISTRATOR,
    PLAN_ROLES,
    delegable_roles,
    delegation_condition,
    github_subject,
)
from constructs_lib.azure.subscription_reads import DELETED_RESOURCE_READS
from constructs_lib.config import load_environments
from constructs_lib.initial_state import TERRAFORM_VERSION, state_lineage
from constructs_lib.policy.stack_policy import protected_addresses
from tests.conftest import ENVIRONMENTS, ROOT, only, ref, resources, synthesize_to

pytestmark = pytest.mark.synth
REPO = "your-org/databricks-mlops-cdktf"
ADMIN = "${data.azurerm_client_config.Client.object_id}"
SUBSCRIPTION = "/subscriptions/${data.azurerm_client_config.Client.subscription_id}"
STATE_ACCOUNT = "mlopststatetest01"
STATE_GROUP = "mlops-tfstate-rg"
SMOKE_ENVIRONMENTS = sorted(c.name for c in load_environments(ROOT / "config") if c.smoke.enabled)
WRITING_ROLES = {
    "Owner",
    "Contributor",
    "User Access Administrator",
    "Role Based Access Control Administrator",
    "Storage Blob Data Contributor",
    "Storage Blob Data Owner",
}


@pytest.fixture(scope="module")
def bootstrap(stacks):
    return stacks["bootstrap"]


@pytest.fixture(scope="module")
def remote_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every stack synthesized as CI does it: with the bootstrap's remote state."""
    outdir = synthesize_to(
        tmp_path_factory.mktemp("remote") / "cdktf.out",
        env={"TF_STATE_STORAGE_ACCOUNT": STATE_ACCOUNT, "TF_STATE_RESOURCE_GROUP": STATE_GROUP},
    )
    return {
        p.parent.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(Path(outdir, "stacks").glob("*/cdk.tf.json"))
    }


def _by_path(items: dict, suffix: str) -> dict:
    (match,) = [v for v in items.values() if v["//"]["metadata"]["path"].endswith(suffix)]
    return match


def _identity_key(bootstrap: dict, name: str) -> str:
    identities = resources(bootstrap, "azurerm_user_assigned_identity")
    (key,) = [k for k, v in identities.items() if v["name"] == name]
    return key


def _subjects_of(bootstrap: dict, identity_key: str) -> list[str]:
    parent = ref("azurerm_user_assigned_identity", identity_key, "id")
    return sorted(
        c["subject"]
        for c in resources(bootstrap, "azurerm_federated_identity_credential").values()
        if c["parent_id"] == parent
    )


def _roles_of(bootstrap: dict, identity_key: str) -> list[dict]:
    principal = ref("azurerm_user_assigned_identity", identity_key, "principal_id")
    return [
        a
        for a in resources(bootstrap, "azurerm_role_assignment").values()
        if a["principal_id"] == principal
    ]


def _container_scope(bootstrap: dict, env: str) -> str:
    (account,) = resources(bootstrap, "azurerm_storage_account")
    (container,) = [
        k for k, v in resources(bootstrap, "azurerm_storage_container").items() if v["name"] == env
    ]
    return (
        ref("azurerm_storage_account", account, "id")
        + "/blobServices/default/containers/"
        + ref("azurerm_storage_container", container, "name")
    )


def test_local_state(bootstrap) -> None:
    assert bootstrap["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.bootstrap.tfstate"}
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_identity_is_federated_only_to_the_protected_environment(
    bootstrap, env: str
) -> None:
    key = _identity_key(bootstrap, f"mlops-{env}-github-deployer")
    assert _subjects_of(bootstrap, key) == [f"repo:{REPO}:environment:{env}"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plan_identity_is_federated_only_to_the_plan_environment(bootstrap, env: str) -> None:
    key = _identity_key(bootstrap, f"mlops-{env}-github-planner")
    assert _subjects_of(bootstrap, key) == [f"repo:{REPO}:environment:{env}-plan"]


def test_a_smoke_identity_exists_only_where_the_smoke_is_enabled(bootstrap) -> None:
    assert SMOKE_ENVIRONMENTS == ["dev"]
    names = sorted(
        i["name"]
        for i in resources(bootstrap, "azurerm_user_assigned_identity").values()
        if i["name"].endswith("-smoke")
    )
    assert names == [f"mlops-{env}-github-smoke" for env in SMOKE_ENVIRONMENTS]


@pytest.mark.parametrize("env", SMOKE_ENVIRONMENTS)
def test_the_smoke_identity_holds_no_azure_role_and_trusts_only_its_smoke_environment(
    bootstrap, env: str
) -> None:
    """It only runs jobs, with rights granted inside the workspace (CAN_MANAGE_RUN): no role
    assignment at any scope, federated to `<env>-smoke` only."""
    key = _identity_key(bootstrap, f"mlops-{env}-github-smoke")
    assert _roles_of(bootstrap, key) == []
    assert _subjects_of(bootstrap, key) == [f"repo:{REPO}:environment:{env}-smoke"]
    identity = resources(bootstrap, "azurerm_user_assigned_identity")[key]
    deployer = resources(bootstrap, "azurerm_user_assigned_identity")[
        _identity_key(bootstrap, f"mlops-{env}-github-deployer")
    ]
    assert identity["resource_group_name"] == deployer["resource_group_name"]
    output = bootstrap["output"][f"github_environment_{env}-smoke"]["value"]
    assert output["AZURE_CLIENT_ID"] == ref("azurerm_user_assigned_identity", key, "client_id")


def test_every_federated_credential_is_github_oidc(bootstrap) -> None:
    creds = resources(bootstrap, "azurerm_federated_identity_credential").values()
    assert len(creds) == 2 * len(ENVIRONMENTS) + len(SMOKE_ENVIRONMENTS)
    for cred in creds:
        assert cred["issuer"] == "https://token.actions.githubusercontent.com"
        assert cred["audience"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plan_identity_has_no_write_role(bootstrap, env: str) -> None:
    """Reader on the environment's resource group and Storage Blob Data Reader on its state
    container: nothing else, nothing that writes, nothing elsewhere."""
    key = _identity_key(bootstrap, f"mlops-{env}-github-planner")
    roles = _roles_of(bootstrap, key)
    group = next(
        k
        for k, v in resources(bootstrap, "azurerm_resource_group").items()
        if v["name"] == f"mlops-{env}-databricks-rg"
    )
    assert sorted((a["role_definition_name"], a["scope"]) for a in roles) == sorted(
        [
            ("Reader", ref("azurerm_resource_group", group, "id")),
            ("Storage Blob Data Reader", _container_scope(bootstrap, env)),
        ]
    )
    assert {a["role_definition_name"] for a in roles} == set(PLAN_ROLES)
    assert not {a["role_definition_name"] for a in roles} & WRITING_ROLES
    assert not any("condition" in a or "role_definition_id" in a for a in roles)


def test_only_deploy_identities_hold_writing_roles(bootstrap) -> None:
    deployers = {
        ref(
            "azurerm_user_assigned_identity",
            _identity_key(bootstrap, f"mlops-{e}-github-deployer"),
            "principal_id",
        )
        for e in ENVIRONMENTS
    }
    writers = {
        a["principal_id"]
        for a in resources(bootstrap, "azurerm_role_assignment").values()
        if a.get("role_definition_name") in WRITING_ROLES
    }
    # Besides the deployers, only the admin who applies the bootstrap: it writes the initial
    # state blobs (test_every_state_key_starts_as_an_empty_state).
    assert writers == deployers | {ADMIN}


def test_no_subject_allows_any_branch_or_pull_request(bootstrap) -> None:
    for cred in resources(bootstrap, "azurerm_federated_identity_credential").values():
        assert ":environment:" in cred["subject"]
        assert "*" not in cred["subject"] and "pull_request" not in cred["subject"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_roles_scoped_to_own_resource_group_and_state_container(bootstrap, env: str) -> None:
    groups = resources(bootstrap, "azurerm_resource_group")
    group_id = next(k for k, v in groups.items() if v["name"] == f"mlops-{env}-databricks-rg")
    assignments = resources(bootstrap, "azurerm_role_assignment")
    contributor = _by_path(assignments, f"Deployer-{env}/Contributor")
    limited = _by_path(assignments, f"Deployer-{env}/RoleAssignmentsLimited")
    state = _by_path(assignments, f"Deployer-{env}/StateContainer")
    assert contributor["scope"] == ref("azurerm_resource_group", group_id, "id")
    assert limited["scope"] == ref("azurerm_resource_group", group_id, "id")
    assert limited["condition"] == delegation_condition(
        delegable_roles(azure_ml_enabled=env == "sandbox")
    )
    container_id = next(
        k for k, v in resources(bootstrap, "azurerm_storage_container").items() if v["name"] == env
    )
    assert state["scope"].endswith(
        "/blobServices/default/containers/" + ref("azurerm_storage_container", container_id, "name")
    )
    assert state["role_definition_name"] == "Storage Blob Data Contributor"
    assert state["scope"] == _container_scope(bootstrap, env)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_state_roles_are_container_scoped_and_hold_both_state_keys(
    bootstrap, remote_stacks: dict[str, dict], env: str
) -> None:
    """Both identities reach only the environment's container, and every stack of the
    environment (`<env>`, `<env>-workspace`) keeps its state there, under its own key."""
    scope = _container_scope(bootstrap, env)
    for name in (f"mlops-{env}-github-deployer", f"mlops-{env}-github-planner"):
        state_roles = [
            a
            for a in _roles_of(bootstrap, _identity_key(bootstrap, name))
            if "Blob" in a.get("role_definition_name", "")
        ]
        assert [a["scope"] for a in state_roles] == [scope]
    stacks = sorted(s for s in remote_stacks if s == env or s.startswith(f"{env}-"))
    assert env in stacks and set(stacks) <= {env, f"{env}-workspace"}
    for stack in stacks:
        backend = remote_stacks[stack]["terraform"]["backend"]["azurerm"]
        assert backend["storage_account_name"] == STATE_ACCOUNT
        assert backend["resource_group_name"] == STATE_GROUP
        assert backend["container_name"] == env
        assert backend["key"] == f"{stack}.tfstate"
        assert backend["use_azuread_auth"] is True


def test_workspace_stacks_read_the_platform_state_from_the_same_container(
    remote_stacks: dict[str, dict],
) -> None:
    """The cross-stack reference (terraform_remote_state) stays inside the container the plan
    identity can read."""
    workspace = [s for s in remote_stacks if s.endswith("-workspace")]
    if not workspace:
        pytest.skip("no <env>-workspace stacks synthesized yet (the stack split of issue 11)")
    for stack in workspace:
        env = stack.removesuffix("-workspace")
        remote = remote_stacks[stack]["data"]["terraform_remote_state"]
        configs = [r["config"] for r in remote.values()]
        assert configs and all(c["container_name"] == env for c in configs)
        assert {c["key"] for c in configs} == {f"{env}.tfstate"}


def test_no_owner_and_only_the_read_only_custom_role_at_subscription_scope(bootstrap) -> None:
    """Nothing but the custom read role is assigned at subscription scope (issue 19 changed
    "nothing at subscription scope": azurerm reads soft-deleted workspaces and vaults there)."""
    (definition_id,) = resources(bootstrap, "azurerm_role_definition")
    custom = ref("azurerm_role_definition", definition_id, "role_definition_resource_id")
    at_subscription = []
    for assignment in resources(bootstrap, "azurerm_role_assignment").values():
        assert assignment.get("role_definition_name") not in (
            "Owner",
            "User Access Administrator",
        )
        if assignment["scope"] == SUBSCRIPTION:
            at_subscription.append(assignment)
        else:
            assert not assignment["scope"].startswith(SUBSCRIPTION + "/providers/")
            assert "role_definition_id" not in assignment
    assert len(at_subscription) == len(ENVIRONMENTS)
    assert all(a["role_definition_id"] == custom for a in at_subscription)


def test_the_subscription_read_role_holds_only_the_reads_azurerm_makes(bootstrap) -> None:
    _, role = only(bootstrap, "azurerm_role_definition")
    assert role["scope"] == SUBSCRIPTION
    assert role["assignable_scopes"] == [SUBSCRIPTION]
    (permissions,) = role["permissions"]
    assert permissions == {"actions": list(DELETED_RESOURCE_READS)}
    assert set(DELETED_RESOURCE_READS) == {
        "Microsoft.OperationalInsights/deletedworkspaces/read",
        "Microsoft.KeyVault/locations/deletedVaults/read",
    }
    assert all(action.endswith("/read") for action in permissions["actions"])
    # Unique in the tenant: custom role names are.
    assert role["name"].endswith("(${data.azurerm_client_config.Client.subscription_id})")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_deploy_identity_gets_the_subscription_reads(bootstrap, env: str) -> None:
    (definition_id,) = resources(bootstrap, "azurerm_role_definition")
    custom = ref("azurerm_role_definition", definition_id, "role_definition_resource_id")
    deployer = _roles_of(bootstrap, _identity_key(bootstrap, f"mlops-{env}-github-deployer"))
    planner = _roles_of(bootstrap, _identity_key(bootstrap, f"mlops-{env}-github-planner"))
    reads = [a for a in deployer if a.get("role_definition_id") == custom]
    assert [(a["scope"], a["principal_type"]) for a in reads] == [
        (SUBSCRIPTION, "ServicePrincipal")
    ]
    assert not [a for a in planner if a.get("role_definition_id") == custom]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deployer_may_assign_exactly_the_roles_its_platform_stack_assigns(
    bootstrap, env: str
) -> None:
    """The ABAC condition lists the role IDs of the environment (Key Vault Administrator only
    where an Azure ML workspace needs it: sandbox)."""
    limited = _by_path(
        resources(bootstrap, "azurerm_role_assignment"), f"Deployer-{env}/RoleAssignmentsLimited"
    )
    with_ml = env == "sandbox"
    assert limited["condition"] == delegation_condition(delegable_roles(azure_ml_enabled=with_ml))
    assert (KEY_VAULT_ADMINISTRATOR in limited["condition"]) is with_ml


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_state_key_starts_as_an_empty_state(bootstrap, env: str) -> None:
    """Both state blobs of the environment exist before any stack runs, holding a state
    document Terraform reads as "a state" (so a read-only plan writes nothing); the bootstrap
    never touches them again and cannot destroy them."""
    (account_id,) = resources(bootstrap, "azurerm_storage_account")
    account = bootstrap["resource"]["azurerm_storage_account"][account_id]
    (container_id,) = [
        k for k, v in resources(bootstrap, "azurerm_storage_container").items() if v["name"] == env
    ]
    blobs = {
        b["name"]: b
        for b in resources(bootstrap, "azurerm_storage_blob").values()
        if b["storage_container_name"] == ref("azurerm_storage_container", container_id, "name")
    }
    assert sorted(blobs) == [f"{env}-workspace.tfstate", f"{env}.tfstate"]
    for key, blob in blobs.items():
        assert blob["storage_account_name"] == ref("azurerm_storage_account", account_id, "name")
        assert blob["type"] == "Block"
        assert blob["content_type"] == "application/json"
        assert blob["lifecycle"] == {"ignore_changes": "all", "prevent_destroy": True}
        document = json.loads(blob["source_content"])
        assert document == {
            "version": 4,
            "terraform_version": TERRAFORM_VERSION,
            "serial": 1,
            "lineage": state_lineage(account["name"], env, key),
            "outputs": {},
            "resources": [],
            "check_results": None,
        }
        (sleep,) = blob["depends_on"]
        assert sleep.startswith("time_sleep.")


def test_state_lineages_are_unique(bootstrap) -> None:
    lineages = [
        json.loads(b["source_content"])["lineage"]
        for b in resources(bootstrap, "azurerm_storage_blob").values()
    ]
    assert len(lineages) == 2 * len(ENVIRONMENTS) == len(set(lineages))


def test_the_admin_may_write_the_state_containers_once_the_role_is_in_effect(bootstrap) -> None:
    """The blobs are written with Entra ID (shared keys are off): the admin who applies the
    bootstrap gets Storage Blob Data Contributor on each state container, and the blobs wait
    for it to propagate."""
    admin_roles = [
        (k, a)
        for k, a in resources(bootstrap, "azurerm_role_assignment").items()
        if a["principal_id"] == ADMIN
    ]
    assert sorted(a["scope"] for _, a in admin_roles) == sorted(
        _container_scope(bootstrap, env) for env in ENVIRONMENTS
    )
    assert {a["role_definition_name"] for _, a in admin_roles} == {"Storage Blob Data Contributor"}
    _, sleep = only(bootstrap, "time_sleep")
    assert sleep["create_duration"] == "300s"
    assert sorted(sleep["triggers"].values()) == sorted(
        ref("azurerm_role_assignment", k, "id") for k, _ in admin_roles
    )
    (provider,) = bootstrap["provider"]["azurerm"]
    assert provider["storage_use_azuread"] is True


def test_delegation_condition_allows_only_listed_roles() -> None:
    condition = delegation_condition(["aaaa"])
    assert condition.count("GuidEquals {aaaa}") == 2
    assert "roleAssignments/write" in condition and "roleAssignments/delete" in condition


def test_subject_format() -> None:
    assert github_subject("o/r", "prod") == "repo:o/r:environment:prod"


def test_state_account_is_locked_down(bootstrap) -> None:
    _, account = only(bootstrap, "azurerm_storage_account")
    assert account["shared_access_key_enabled"] is False
    assert account["min_tls_version"] == "TLS1_2"
    assert account["allow_nested_items_to_be_public"] is False
    assert account["blob_properties"]["versioning_enabled"] is True
    assert account["lifecycle"] == {"prevent_destroy": True}


def test_one_output_per_github_environment_with_its_identity(bootstrap) -> None:
    """`github_environment_<name>` for exactly the GitHub environments the identities trust,
    each naming the client ID of the identity federated to that environment."""
    creds = resources(bootstrap, "azurerm_federated_identity_credential").values()
    by_environment = {
        c["subject"].rsplit(":environment:", 1)[1]: c["parent_id"].removesuffix(".id}")
        for c in creds
    }
    outputs = {k: v for k, v in bootstrap["output"].items() if k.startswith("github_environment_")}
    assert set(outputs) == {f"github_environment_{e}" for e in by_environment}
    for environment, identity in by_environment.items():
        value = outputs[f"github_environment_{environment}"]["value"]
        # The smoke identity has no Azure role: no subscription to name.
        subscription = [] if environment.endswith("-smoke") else ["AZURE_SUBSCRIPTION_ID"]
        assert sorted(value) == sorted(["AZURE_CLIENT_ID", *subscription, "AZURE_TENANT_ID"])
        assert value["AZURE_CLIENT_ID"] == identity + ".client_id}"
    repository = bootstrap["output"]["github_repository_variables"]["value"]
    assert sorted(repository) == ["TF_STATE_RESOURCE_GROUP", "TF_STATE_STORAGE_ACCOUNT"]


def test_stateful_bootstrap_resources_are_pinned_and_protected(bootstrap) -> None:
    """prevent_destroy on the state account and containers and on the identities whose client
    IDs are set in GitHub; the addresses are API (a rename would destroy them)."""
    assert protected_addresses(bootstrap) == [
        "azurerm_storage_account.State_Account_E60490F4",
        *BLOB_ADDRESSES,
        "azurerm_storage_container.State_Container-dev_8CDF8830",
        "azurerm_storage_container.State_Container-prod_2CE66205",
        "azurerm_storage_container.State_Container-sandbox_667080D7",
        "azurerm_storage_container.State_Container-uat_A021E704",
        "azurerm_user_assigned_identity.Deployer-dev_Identity_E0BF77CF",
        "azurerm_user_assigned_identity.Deployer-prod_Identity_84A87E70",
        "azurerm_user_assigned_identity.Deployer-sandbox_Identity_D1B94C85",
        "azurerm_user_assigned_identity.Deployer-uat_Identity_FCF5A8C6",
        "azurerm_user_assigned_identity.Planner-dev_Identity_AC5C4F2B",
        "azurerm_user_assigned_identity.Planner-prod_Identity_34EF25B4",
        "azurerm_user_assigned_identity.Planner-sandbox_Identity_D22C8568",
        "azurerm_user_assigned_identity.Planner-uat_Identity_E5A2E269",
        "azurerm_user_assigned_identity.Smoke-dev_Identity_F2528F57",
        # Their stable subnets are in every data lake firewall (storage.serverless_subnet_ids).
        "databricks_mws_network_connectivity_config.Serverless-dev_Ncc_F6C83792",
        "databricks_mws_network_connectivity_config.Serverless-prod_Ncc_EDA2B47F",
        "databricks_mws_network_connectivity_config.Serverless-sandbox_Ncc_51C5F4B5",
        "databricks_mws_network_connectivity_config.Serverless-uat_Ncc_46A87E46",
    ]


BLOB_ADDRESSES = [
    "azurerm_storage_blob.State_Blob-dev-workspace_A588589A",
    "azurerm_storage_blob.State_Blob-dev_91381D0A",
    "azurerm_storage_blob.State_Blob-prod-workspace_45DD2E10",
    "azurerm_storage_blob.State_Blob-prod_99909488",
    "azurerm_storage_blob.State_Blob-sandbox-workspace_6F4D55EB",
    "azurerm_storage_blob.State_Blob-sandbox_177B1374",
    "azurerm_storage_blob.State_Blob-uat-workspace_8B67C17E",
    "azurerm_storage_blob.State_Blob-uat_C524E089",
]
"""The initial state blob of every stack: a rename would plan a destroy of an environment's
state (refused by prevent_destroy) and a new, empty blob."""


def test_environment_stacks_read_the_bootstrap_resource_group(stacks) -> None:
    for env in ENVIRONMENTS:
        assert "azurerm_resource_group" not in stacks[env]["resource"]
        (group,) = stacks[env]["data"]["azurerm_resource_group"].values()
        assert group["name"] == f"mlops-{env}-databricks-rg"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_role_the_platform_stack_assigns_is_delegated_to_its_deployer(
    stacks, bootstrap, env: str
) -> None:
    """The deployer's conditioned role administrator can create every role assignment of its
    platform stack (and the Azure ML one only where Azure ML is on)."""
    limited = _by_path(
        resources(bootstrap, "azurerm_role_assignment"), f"Deployer-{env}/RoleAssignmentsLimited"
    )
    assigned = {
        a["role_definition_name"]
        for a in resources(stacks[env], "azurerm_role_assignment").values()
    }
    assert assigned <= set(BUILT_IN_ROLE_IDS), assigned - set(BUILT_IN_ROLE_IDS)
    for role in assigned:
        assert BUILT_IN_ROLE_IDS[role] in limited["condition"], (env, role)
    assert ("Key Vault Administrator" in assigned) is (env == "sandbox")


# --- Serverless egress: each environment's network connectivity configuration (issue 19) -------

ACCOUNT_ID = "00000000-0000-0000-0000-000000000000"  # config/shared/bootstrap.yaml (example)


def _ncc_of(bootstrap: dict, env: str) -> tuple[str, dict]:
    (match,) = [
        (k, v)
        for k, v in resources(bootstrap, "databricks_mws_network_connectivity_config").items()
        if v["//"]["metadata"]["path"] == f"bootstrap/Serverless-{env}/Ncc"
    ]
    return match


def test_account_objects_use_the_account_level_provider(bootstrap) -> None:
    """NCCs and bindings are account objects: an account-level provider (the admin's login),
    never a workspace's; the bootstrap's own azurerm provider is unchanged."""
    assert bootstrap["provider"]["databricks"] == [
        {
            "alias": "account",
            "host": "https://accounts.azuredatabricks.net",
            "account_id": ACCOUNT_ID,
        }
    ]
    account_types = (
        "databricks_mws_network_connectivity_config",
        "databricks_mws_ncc_binding",
    )
    for rtype in account_types:
        for body in resources(bootstrap, rtype).values():
            assert body["provider"] == "databricks.account", rtype
    (workspaces,) = bootstrap["data"]["databricks_mws_workspaces"].values()
    assert workspaces["provider"] == "databricks.account"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_has_a_network_connectivity_config_in_its_region(
    bootstrap, env: str
) -> None:
    _, ncc = _ncc_of(bootstrap, env)
    assert ncc["name"] == f"mlops-{env}-ncc"
    assert ncc["region"] == "westeurope"
    assert ncc["lifecycle"] == {"prevent_destroy": True}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ncc_is_bound_to_the_environments_workspace_once_it_exists(
    bootstrap, stacks, env: str
) -> None:
    """The bootstrap runs before the platform stack creates the workspace: the binding is
    created only once the account lists a workspace of the environment's name (a later run)."""
    ncc_id, _ = _ncc_of(bootstrap, env)
    (binding,) = [
        v
        for v in resources(bootstrap, "databricks_mws_ncc_binding").values()
        if v["//"]["metadata"]["path"] == f"bootstrap/Serverless-{env}/Binding"
    ]
    _, workspace = only(stacks[env], "azurerm_databricks_workspace")
    name = workspace["name"]
    ids = "data.databricks_mws_workspaces.AccountWorkspaces.ids"
    assert binding["count"] == f'${{contains(keys({ids}), "{name}") ? 1 : 0}}'
    assert binding["workspace_id"] == f'${{lookup({ids}, "{name}", 0)}}'
    assert binding["network_connectivity_config_id"] == ref(
        "databricks_mws_network_connectivity_config", ncc_id, "network_connectivity_config_id"
    )


def test_the_workspace_lookup_and_bindings_can_be_switched_off(tmp_path: Path) -> None:
    """The account's workspace list is read on every bootstrap plan and any error of it fails
    the whole plan: `bind_ncc_to_workspaces: false` drops the list and the bindings and keeps
    the NCCs and their outputs (the admin binds each NCC by hand)."""
    import shutil

    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    with (config_dir / "shared" / "bootstrap.yaml").open("a", encoding="utf-8") as f:
        f.write("bind_ncc_to_workspaces: false\n")
    out = synthesize_to(tmp_path / "cdktf.out", env={"MLOPS_CONFIG_DIR": str(config_dir)})
    stack = json.loads((out / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
    assert "databricks_mws_workspaces" not in stack.get("data", {})
    assert "databricks_mws_ncc_binding" not in stack["resource"]
    nccs = resources(stack, "databricks_mws_network_connectivity_config")
    assert sorted(n["name"] for n in nccs.values()) == sorted(
        f"mlops-{e}-ncc" for e in ENVIRONMENTS
    )
    for env in ENVIRONMENTS:
        assert f"serverless_network_{env}" in stack["output"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_output_names_the_subnets_to_put_in_the_data_lake_firewall(bootstrap, env: str) -> None:
    ncc_id, _ = _ncc_of(bootstrap, env)
    ncc = f"databricks_mws_network_connectivity_config.{ncc_id}"
    output = bootstrap["output"][f"serverless_network_{env}"]
    assert output["value"] == {
        "network_connectivity_config_id": ref(
            "databricks_mws_network_connectivity_config", ncc_id, "network_connectivity_config_id"
        ),
        "storage_subnet_ids": (
            f"${{flatten({ncc}.egress_config[*].default_rules[*]"
            ".azure_service_endpoint_rule[*].subnets)}"
        ),
    }
    assert f"config/{env}.yaml (storage.serverless_subnet_ids)" in output["description"]
