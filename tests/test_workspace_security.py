"""Workspace security on the synthesized workspace stacks: who runs the jobs, with which
grants; where the code they run comes from; the principals that must exist; Unity Catalog
prerequisites (issue: no workspace user can run code as the deployer)."""

from __future__ import annotations

import json

import pytest

from constructs_lib.config import load_environments
from constructs_lib.databricks.unity_catalog import (
    JOB_CATALOG_PRIVILEGES,
    JOB_MODEL_SCHEMA_PRIVILEGES,
    JOB_TABLE_SCHEMA_PRIVILEGES,
    JOB_VOLUME_PRIVILEGES,
)
from constructs_lib.databricks.workspace_groups import GROUP_REFERENCING_TYPES
from tests.conftest import (
    ENVIRONMENTS,
    ROOT,
    job_principal,
    job_principal_resource,
    only,
    ref,
    resources,
    workspace,
)

pytestmark = pytest.mark.synth
CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}
ADMINS = "ml-platform-admins"


def _by_path(items: dict, suffix: str) -> tuple[str, dict]:
    (match,) = [(k, v) for k, v in items.items() if v["//"]["metadata"]["path"].endswith(suffix)]
    return match


# --- 1. Who runs the jobs ------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stack_creates_a_job_principal_with_workspace_access_only(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    _, sp = job_principal_resource(stack)
    assert sp["display_name"] == f"mlops-{env}-jobs"
    assert "application_id" not in sp  # Databricks-managed: the ID is generated
    assert sp["workspace_access"] is True
    assert sp["allow_cluster_create"] is False and sp["allow_instance_pool_create"] is False
    assert sp["databricks_sql_access"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_admin_group_may_use_the_job_principal(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    sp_id, _ = job_principal_resource(stack)
    _, rule_set = only(stack, "databricks_access_control_rule_set")
    account = CONFIGS[env].databricks.account_id
    application = ref("databricks_service_principal", sp_id, "application_id")
    assert (
        rule_set["name"] == f"accounts/{account}/servicePrincipals/{application}/ruleSets/default"
    )
    assert sorted((r["role"], tuple(r["principals"])) for r in rule_set["grant_rules"]) == [
        ("roles/servicePrincipal.manager", (f"groups/{ADMINS}",)),
        ("roles/servicePrincipal.user", (f"groups/{ADMINS}",)),
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_job_runs_as_the_job_principal(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    jobs = resources(stack, "databricks_job")
    (rule_set_id,) = resources(stack, "databricks_access_control_rule_set")
    assert jobs
    for job in jobs.values():
        assert job["run_as"] == {"service_principal_name": job_principal(stack)}
        # Only once the deployers' group may use the principal.
        assert f"databricks_access_control_rule_set.{rule_set_id}" in job["depends_on"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_principal_grants_are_exactly_what_the_jobs_need(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    sp = job_principal(stack)
    grants = resources(stack, "databricks_grants")
    by_securable: dict[str, dict[str, list[str]]] = {}
    for body in grants.values():
        securable = next(k for k in ("catalog", "schema", "volume", "model") if k in body)
        target = f"{securable}:{body[securable]}"
        by_securable[target] = {g["principal"]: g["privileges"] for g in body["grant"]}
    mine = {t: p[sp] for t, p in by_securable.items() if sp in p}
    cat_id, _ = only(stack, "databricks_catalog")
    schemas = {s["name"]: k for k, s in resources(stack, "databricks_schema").items()}
    vol_id, _ = only(stack, "databricks_volume")
    assert mine == {
        f"catalog:{ref('databricks_catalog', cat_id, 'name')}": list(JOB_CATALOG_PRIVILEGES),
        f"schema:{ref('databricks_schema', schemas['features'], 'id')}": list(
            JOB_TABLE_SCHEMA_PRIVILEGES
        ),
        f"schema:{ref('databricks_schema', schemas['inference'], 'id')}": list(
            JOB_TABLE_SCHEMA_PRIVILEGES
        ),
        f"schema:{ref('databricks_schema', schemas['models'], 'id')}": list(
            JOB_MODEL_SCHEMA_PRIVILEGES
        ),
        f"volume:{ref('databricks_volume', vol_id, 'id')}": list(JOB_VOLUME_PRIVILEGES),
    }
    # Schema and volume grants name the job principal only (the groups' come from the catalog).
    for target, principals in by_securable.items():
        if target.startswith(("schema:", "volume:")):
            assert list(principals) == [sp], target


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_principal_owns_the_registered_model_and_nothing_else(stacks, env: str) -> None:
    """Creating versions and moving aliases is reserved to a Unity Catalog model's owner."""
    stack = workspace(stacks, env)
    _, model = only(stack, "databricks_registered_model")
    assert model["owner"] == job_principal(stack)
    assert model["lifecycle"]["ignore_changes"] == ["aliases"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_principal_acls(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    sp = job_principal(stack)
    levels: dict[str, set[str]] = {}
    for body in resources(stack, "databricks_permissions").values():
        kind = next(k for k in body if k.endswith(("_id", "_path")) and k != "id")
        for acl in body["access_control"]:
            if acl.get("service_principal_name") == sp:
                levels.setdefault(kind, set()).add(acl["permission_level"])
    assert levels == {
        "experiment_id": {"CAN_EDIT"},  # log runs
        "cluster_policy_id": {"CAN_USE"},  # its job clusters
        "directory_path": {"CAN_READ"},  # install the wheel
        "job_id": {"CAN_MANAGE_RUN"},  # the monitoring job starts ml_pipeline
    }
    pipeline_id, _ = _by_path(resources(stack, "databricks_job"), "/Job-ml_pipeline/Job")
    (job_acl,) = [
        b
        for b in resources(stack, "databricks_permissions").values()
        if any(a.get("service_principal_name") == sp for a in b["access_control"]) and "job_id" in b
    ]
    assert job_acl["job_id"] == ref("databricks_job", pipeline_id, "id")
    acls = {
        (a["principal"], a["permission"])
        for a in resources(stack, "databricks_secret_acl").values()
    }
    assert (sp, "READ") in acls


# --- 2. Where the code it runs comes from ---------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_wheel_and_experiment_live_in_the_admin_only_deployment_folder(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    dir_id, directory = only(stack, "databricks_directory")
    assert directory["path"] == f"/Deployments/mlops-{env}"
    folder = ref("databricks_directory", dir_id, "path")
    _, wheel = only(stack, "databricks_workspace_file")
    assert wheel["path"].startswith(folder + "/wheels/")
    _, experiment = only(stack, "databricks_mlflow_experiment")
    assert experiment["name"] == folder + "/nyc_e2e_mlops"
    (acl,) = [
        b for b in resources(stack, "databricks_permissions").values() if "directory_path" in b
    ]
    assert acl["directory_path"] == folder
    assert sorted(
        (a.get("group_name") or a.get("service_principal_name"), a["permission_level"])
        for a in acl["access_control"]
    ) == sorted([(ADMINS, "CAN_MANAGE"), (job_principal(stack), "CAN_READ")])
    assert "/Shared" not in json.dumps(stack)


# --- 3. Principals that must exist ---------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_groups_are_assigned_before_anything_names_them(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    assignments = resources(stack, "databricks_permission_assignment")
    assert sorted((a["group_name"], tuple(a["permissions"])) for a in assignments.values()) == [
        ("data-scientists", ("USER",)),
        ("ml-engineers", ("USER",)),
        (ADMINS, ("USER",)),
    ]
    expected = {f"databricks_permission_assignment.{k}" for k in assignments}
    ordered = 0
    for rtype in GROUP_REFERENCING_TYPES:
        for name, body in resources(stack, rtype).items():
            assert expected <= set(body.get("depends_on", [])), f"{rtype}.{name}"
            ordered += 1
    assert ordered > 20


# --- 4. Unity Catalog prerequisites --------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_unity_catalog_objects_are_owned_by_the_admin_group(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    for rtype in (
        "databricks_catalog",
        "databricks_schema",
        "databricks_volume",
        "databricks_storage_credential",
        "databricks_external_location",
    ):
        for name, body in resources(stack, rtype).items():
            assert body["owner"] == ADMINS, f"{rtype}.{name}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_credential_and_location_are_isolated_to_this_workspace(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    _, cred = only(stack, "databricks_storage_credential")
    _, loc = only(stack, "databricks_external_location")
    _, catalog = only(stack, "databricks_catalog")
    assert cred["isolation_mode"] == loc["isolation_mode"] == "ISOLATION_MODE_ISOLATED"
    assert catalog["isolation_mode"] == "ISOLATED"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_missing_metastore_fails_the_plan_before_any_catalog_object(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    ((meta_id, meta),) = stack["data"]["databricks_current_metastore"].items()
    (condition,) = meta["lifecycle"]["postcondition"]
    assert condition["condition"] == '${self.id != "no_metastore"}'
    assert "no Unity Catalog metastore" in condition["error_message"]
    _, cred = only(stack, "databricks_storage_credential")
    assert f"data.databricks_current_metastore.{meta_id}" in cred["depends_on"]
