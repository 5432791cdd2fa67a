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
    OWNER_DECLARED_TABLE_PRIVILEGES,
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


def admins(env: str) -> str:
    """Each environment's own admin group (the default: ml-platform-admins-<environment>)."""
    return CONFIGS[env].databricks.groups.admins


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
        ("roles/servicePrincipal.manager", (f"groups/{admins(env)}",)),
        ("roles/servicePrincipal.user", (f"groups/{admins(env)}",)),
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
    # Schema and volume grants name the job principal only (the groups' come from the
    # catalog), except on the models schema (what people may do to the registered model) and
    # on the inference schema, whose declared tables the job principal owns: the admin group
    # (the deployers) reads and alters them there, which creating the quality monitor and
    # changing a declared table's columns need.
    models = f"schema:{ref('databricks_schema', schemas['models'], 'id')}"
    inference = f"schema:{ref('databricks_schema', schemas['inference'], 'id')}"
    assert by_securable[inference] == {
        admins(env): list(OWNER_DECLARED_TABLE_PRIVILEGES),
        sp: list(JOB_TABLE_SCHEMA_PRIVILEGES),
    }
    for target, principals in by_securable.items():
        if target.startswith(("schema:", "volume:")) and target not in (models, inference):
            assert list(principals) == [sp], target
    assert set(by_securable[models]) - {sp} <= {admins(env), "ml-engineers", "data-scientists"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_principal_owns_the_registered_model_and_nothing_else(stacks, env: str) -> None:
    """Creating versions and moving aliases is reserved to a Unity Catalog model's owner."""
    stack = workspace(stacks, env)
    model_id, model = only(stack, "databricks_registered_model")
    assert model["owner"] == job_principal(stack)
    # Once the job principal owns it, only its owner (or a metastore admin) may change the
    # model's comment or its grants: the deployer never has to (docs/platform-assumptions.md).
    assert model["lifecycle"]["ignore_changes"] == ["aliases", "comment"]
    full_name = ref("databricks_registered_model", model_id, "full_name")
    assert not [g for g in resources(stack, "databricks_grants").values() if "model" in g]
    assert full_name not in json.dumps(resources(stack, "databricks_grants"))


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
    ) == sorted([(admins(env), "CAN_MANAGE"), (job_principal(stack), "CAN_READ")])
    assert "/Shared" not in json.dumps(stack)


# --- 3. Principals that must exist ---------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_groups_are_assigned_before_anything_names_them(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    assignments = resources(stack, "databricks_permission_assignment")
    assert sorted((a["group_name"], tuple(a["permissions"])) for a in assignments.values()) == [
        ("data-scientists", ("USER",)),
        ("ml-engineers", ("USER",)),
        (admins(env), ("USER",)),
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
            assert body["owner"] == admins(env), f"{rtype}.{name}"


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


# --- 4. People cannot change what production trusts (issue 19) ----------------------------------

PEOPLE = {"ml_engineers": "ml-engineers", "data_scientists": "data-scientists"}


def _experiment_levels(stack: dict) -> dict[str, str]:
    (acl,) = [
        b for b in resources(stack, "databricks_permissions").values() if "experiment_id" in b
    ]
    return {
        a.get("group_name") or a.get("service_principal_name"): a["permission_level"]
        for a in acl["access_control"]
    }


def _models_schema_grants(stack: dict) -> dict[str, list[str]]:
    schemas = {s["name"]: k for k, s in resources(stack, "databricks_schema").items()}
    target = ref("databricks_schema", schemas["models"], "id")
    (grants,) = [
        g for g in resources(stack, "databricks_grants").values() if g.get("schema") == target
    ]
    return {g["principal"]: g["privileges"] for g in grants["grant"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_peoples_experiment_and_model_permissions_come_from_config(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    people = CONFIGS[env].databricks.ml.group_permissions
    assert _experiment_levels(stack) == {
        admins(env): "CAN_MANAGE",
        job_principal(stack): "CAN_EDIT",
        **{group: getattr(people, key).experiment for key, group in PEOPLE.items()},
    }
    grants = _models_schema_grants(stack)
    assert grants[admins(env)] == ["ALL_PRIVILEGES"]
    for key, group in PEOPLE.items():
        may_tag = getattr(people, key).model == "CAN_EDIT"
        assert (grants.get(group) == ["APPLY_TAG"]) is may_tag, group
        assert may_tag or group not in grants, group


@pytest.mark.parametrize(
    ("env", "edits"),
    [("sandbox", True), ("dev", True), ("uat", False), ("prod", False)],
)
def test_people_only_read_runs_and_the_model_in_protected_environments(
    stacks, env: str, edits: bool
) -> None:
    """uat/prod: CAN_READ on the experiment (CAN_EDIT deletes or retags runs, the champion's
    baseline included) and no APPLY_TAG on the model (the gate's verdict is a tag)."""
    stack = workspace(stacks, env)
    levels = _experiment_levels(stack)
    grants = _models_schema_grants(stack)
    assert CONFIGS[env].protected is not edits
    if edits:
        assert levels["ml-engineers"] == "CAN_EDIT" and grants["ml-engineers"] == ["APPLY_TAG"]
        return
    assert {levels[g] for g in PEOPLE.values()} == {"CAN_READ"}
    assert not set(PEOPLE.values()) & set(grants)
    catalog = next(g for g in resources(stack, "databricks_grants").values() if "catalog" in g)
    for grant in catalog["grant"]:
        assert not {"APPLY_TAG", "ALL_PRIVILEGES", "MANAGE"} & set(grant["privileges"])


@pytest.mark.parametrize(
    ("env", "writes"),
    [("sandbox", True), ("dev", True), ("uat", False), ("prod", False)],
)
def test_people_write_tables_only_outside_protected_environments(
    stacks, env: str, writes: bool
) -> None:
    """uat/prod: people read the catalog; MODIFY would let them rewrite the quality monitor's
    baseline, the monitoring verdicts and the drift metrics that the retrain decision trusts."""
    stack = workspace(stacks, env)
    catalog = next(g for g in resources(stack, "databricks_grants").values() if "catalog" in g)
    privileges = {g["principal"]: set(g["privileges"]) for g in catalog["grant"]}
    assert ("MODIFY" in privileges["ml-engineers"]) is writes
    assert "MODIFY" not in privileges["data-scientists"]
    for group in PEOPLE.values():
        assert {"SELECT", "USE_CATALOG", "USE_SCHEMA"} <= privileges[group]
    for grant in resources(stack, "databricks_grants").values():
        if "catalog" in grant:
            continue
        for g in grant["grant"]:
            assert g["principal"] not in PEOPLE.values() or "MODIFY" not in g["privileges"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_registered_model_waits_for_the_deployers_execute(stacks, env: str) -> None:
    """The provider reads the model back after handing it to the job principal; the read needs
    EXECUTE, which the deployers get from the models schema's grants."""
    stack = workspace(stacks, env)
    _, model = only(stack, "databricks_registered_model")
    schemas = {s["name"]: k for k, s in resources(stack, "databricks_schema").items()}
    models_grants = next(
        k
        for k, g in resources(stack, "databricks_grants").items()
        if g.get("schema") == ref("databricks_schema", schemas["models"], "id")
    )
    assert model["depends_on"] == [f"databricks_grants.{models_grants}"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_protected_environments_restrict_workspace_admins(stacks, env: str) -> None:
    """RESTRICT_TOKENS_AND_JOB_RUN_AS in uat and prod, adopted (an `import` block), so the
    deploying identity, no account admin, never has to write it."""
    stack = workspace(stacks, env)
    settings = resources(stack, "databricks_restrict_workspace_admins_setting")
    expected = env in ("uat", "prod")
    assert CONFIGS[env].databricks.restrict_workspace_admins is expected
    if not expected:
        assert not settings and "import" not in stack
        return
    ((setting_id, setting),) = settings.items()
    assert setting["restrict_workspace_admins"] == {"status": "RESTRICT_TOKENS_AND_JOB_RUN_AS"}
    assert stack["import"] == [
        {"id": "global", "to": f"databricks_restrict_workspace_admins_setting.{setting_id}"}
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_principals_sql_entitlement_is_only_not_granted_directly(stacks, env: str) -> None:
    """`databricks_sql_access = false` removes no entitlement the `users` group grants (every
    principal is a member): the stack states it, and manages no `users` entitlements, so the
    README says the job principal keeps SQL access through `users`."""
    stack = workspace(stacks, env)
    _, sp = job_principal_resource(stack)
    assert sp["databricks_sql_access"] is False
    assert "databricks_entitlements" not in stack["resource"]


# --- 5. Interactive clusters: one per person, each able to install the wheel (issue 19) ---------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_person_gets_a_dedicated_cluster_that_can_read_the_wheel(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    ic = CONFIGS[env].databricks.interactive_cluster
    users = list(ic.users) if ic.enabled else []
    clusters = resources(stack, "databricks_cluster")
    assert sorted(c["single_user_name"] for c in clusters.values()) == sorted(users)
    wheel_id, _ = only(stack, "databricks_workspace_file")
    acls = [
        b for b in resources(stack, "databricks_permissions").values() if "workspace_file_path" in b
    ]
    if not users:
        assert not acls  # uat/prod: nobody but the job principal (folder) reads the wheel
        return
    ((acl_id, acl),) = [
        (k, b)
        for k, b in resources(stack, "databricks_permissions").items()
        if "workspace_file_path" in b
    ]
    assert acl["workspace_file_path"] == ref("databricks_workspace_file", wheel_id, "path")
    assert sorted((a["user_name"], a["permission_level"]) for a in acl["access_control"]) == [
        (u, "CAN_READ") for u in sorted(users)
    ]
    for cluster in clusters.values():
        assert cluster["data_security_mode"] == "SINGLE_USER"
        assert cluster["library"] == [
            {"whl": ref("databricks_workspace_file", wheel_id, "workspace_path")}
        ]
        # A library that fails to install fails the create: start only after the grant.
        assert f"databricks_permissions.{acl_id}" in cluster["depends_on"]
        assert 10 <= cluster["autotermination_minutes"] <= 120


@pytest.mark.parametrize("env", ["sandbox", "dev"])
def test_each_person_may_restart_only_their_own_cluster(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    clusters = resources(stack, "databricks_cluster")
    by_cluster = {
        b["cluster_id"]: b["access_control"]
        for b in resources(stack, "databricks_permissions").values()
        if "cluster_id" in b
    }
    assert len(by_cluster) == len(clusters) >= 1
    for cluster_id, cluster in clusters.items():
        entries = by_cluster[ref("databricks_cluster", cluster_id, "cluster_id")]
        assert sorted(
            (a.get("user_name") or a.get("group_name"), a["permission_level"]) for a in entries
        ) == sorted([(cluster["single_user_name"], "CAN_RESTART"), (admins(env), "CAN_MANAGE")])
