"""The bootstrap stack: keyless GitHub identities with least privilege, and remote state."""

from __future__ import annotations

import pytest

from constructs_lib.azure.deployment_identity import (
    DELEGABLE_ROLES,
    delegation_condition,
    github_subject,
)
from tests.conftest import ENVIRONMENTS, only, ref, resources

pytestmark = pytest.mark.synth
REPO = "your-org/databricks-mlops-cdktf"


@pytest.fixture(scope="module")
def bootstrap(stacks):
    return stacks["bootstrap"]


def _by_path(items: dict, suffix: str) -> dict:
    (match,) = [v for v in items.values() if v["//"]["metadata"]["path"].endswith(suffix)]
    return match


def test_local_state(bootstrap) -> None:
    assert bootstrap["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.bootstrap.tfstate"}
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_federated_subjects_are_the_environment_and_its_plan_environment(
    bootstrap, env: str
) -> None:
    creds = resources(bootstrap, "azurerm_federated_identity_credential")
    identities = resources(bootstrap, "azurerm_user_assigned_identity")
    identity_id = next(
        k for k, v in identities.items() if v["name"] == f"mlops-{env}-github-deployer"
    )
    mine = [
        c
        for c in creds.values()
        if c["parent_id"] == ref("azurerm_user_assigned_identity", identity_id, "id")
    ]
    assert sorted(c["subject"] for c in mine) == [
        f"repo:{REPO}:environment:{env}",
        f"repo:{REPO}:environment:{env}-plan",
    ]
    for cred in mine:
        assert cred["issuer"] == "https://token.actions.githubusercontent.com"
        assert cred["audience"] == ["api://AzureADTokenExchange"]


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
    assert limited["condition"] == delegation_condition(DELEGABLE_ROLES)
    container_id = next(
        k for k, v in resources(bootstrap, "azurerm_storage_container").items() if v["name"] == env
    )
    assert state["scope"].endswith(
        "/blobServices/default/containers/" + ref("azurerm_storage_container", container_id, "name")
    )
    assert state["role_definition_name"] == "Storage Blob Data Contributor"


def test_nothing_at_subscription_scope_and_no_owner(bootstrap) -> None:
    for assignment in resources(bootstrap, "azurerm_role_assignment").values():
        assert assignment["role_definition_name"] not in ("Owner", "User Access Administrator")
        assert not assignment["scope"].startswith("/subscriptions/")


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


def test_outputs_are_github_environment_variables(bootstrap) -> None:
    for env in ENVIRONMENTS:
        value = bootstrap["output"][f"github_environment_{env}"]["value"]
        assert sorted(value) == [
            "AZURE_CLIENT_ID",
            "AZURE_SUBSCRIPTION_ID",
            "AZURE_TENANT_ID",
            "TF_STATE_RESOURCE_GROUP",
            "TF_STATE_STORAGE_ACCOUNT",
        ]


def test_environment_stacks_read_the_bootstrap_resource_group(stacks) -> None:
    for env in ENVIRONMENTS:
        assert "azurerm_resource_group" not in stacks[env]["resource"]
        (group,) = stacks[env]["data"]["azurerm_resource_group"].values()
        assert group["name"] == f"mlops-{env}-databricks-rg"
