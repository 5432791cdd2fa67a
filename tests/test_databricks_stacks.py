"""Assertions on each environment's workspace stack (`<env>-workspace`): wiring to the
platform stack by cross-stack reference, jobs, compute, secrets, MLflow, Unity Catalog,
permissions."""

from __future__ import annotations

import json

import pytest

from constructs_lib.config import load_environments
from tests.conftest import (
    ENVIRONMENTS,
    ROOT,
    job_principal,
    only,
    ref,
    remote_ref,
    resources,
    workspace,
)

pytestmark = pytest.mark.synth
CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_provider_configured_from_the_platform_stacks_outputs(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    ws_id, _ = only(stacks[env], "azurerm_databricks_workspace")
    (provider,) = stack["provider"]["databricks"]
    assert provider == {
        "host": "https://"
        + remote_ref(stacks, env, "azurerm_databricks_workspace", ws_id, "workspace_url"),
        "azure_workspace_resource_id": remote_ref(
            stacks, env, "azurerm_databricks_workspace", ws_id, "id"
        ),
    }
    assert "databricks" not in stacks[env].get("provider", {})
    assert "azurerm" not in stack["provider"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_workspace_stack_reads_the_platform_state_with_the_same_backend(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    (name,) = stack["data"]["terraform_remote_state"]
    remote = stack["data"]["terraform_remote_state"][name]
    assert name == f"cross-stack-reference-input-{env}"
    assert remote["backend"] == "local"
    assert remote["config"] == stacks[env]["terraform"]["backend"]["local"]
    assert (
        stack["terraform"]["backend"]["local"]["path"]
        == f"../../../terraform.{env}-workspace.tfstate"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_hard_coded_platform_values_in_the_workspace_stack(stacks, env: str) -> None:
    """Names the platform stack gives its resources never appear as literals here: every
    value comes through a cross-stack reference."""
    text = json.dumps(workspace(stacks, env))
    platform = stacks[env]["resource"]
    names = {
        body["name"]
        for rtype in (
            "azurerm_databricks_workspace",
            "azurerm_key_vault",
            "azurerm_storage_account",
            "azurerm_databricks_access_connector",
        )
        for body in platform[rtype].values()
    }
    assert names and not [n for n in names if n in text]
    assert "azuredatabricks.net" not in text and "/subscriptions/" not in text
    assert not any(t.startswith("azurerm_") for t in workspace(stacks, env)["resource"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_ml_task_runs_the_uploaded_wheel(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    file_id, wheel = only(stack, "databricks_workspace_file")
    library = ref("databricks_workspace_file", file_id, "workspace_path")
    assert wheel["path"].endswith("/wheels/0.1.0/taxi_fare_mlops-0.1.0-py3-none-any.whl")
    assert wheel["source"].startswith("assets/") and not wheel["source"].startswith("/")
    assert wheel["md5"] == f'${{filemd5("{wheel["source"]}")}}'
    wheel_tasks = 0
    for job in resources(stack, "databricks_job").values():
        for task in job["task"]:
            if "python_wheel_task" in task:
                wheel_tasks += 1
                assert task["python_wheel_task"]["package_name"] == "taxi_fare_mlops"
                assert task["python_wheel_task"]["entry_point"].startswith("taxi-fare-")
                assert task["library"] == [{"whl": library}]
            elif "notebook_task" in task:
                assert task["library"] == [{"whl": library}]  # the notebook imports the wheel
            else:
                assert "condition_task" in task or "run_job_task" in task, task["task_key"]
    assert wheel_tasks == 9  # replay 1, ml_pipeline 4, batch_inference 2, monitoring 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_verdict_notebook_is_deployed_next_to_the_wheel(stacks, env: str) -> None:
    import base64

    stack = workspace(stacks, env)
    notebook_id, notebook = only(stack, "databricks_notebook")
    folder_id, _ = only(stack, "databricks_directory")
    assert notebook["path"] == ref("databricks_directory", folder_id, "path") + (
        "/notebooks/publish_verdict"
    )
    assert notebook["language"] == "PYTHON"
    source = base64.b64decode(notebook["content_base64"]).decode()
    assert (
        source
        == (
            ROOT / "ml_src" / "src" / "taxi_fare_mlops" / "notebooks" / "publish_verdict.py"
        ).read_text()
    )
    paths = [
        t["notebook_task"]["notebook_path"]
        for j in resources(stack, "databricks_job").values()
        for t in j["task"]
        if "notebook_task" in t
    ]
    assert paths == [ref("databricks_notebook", notebook_id, "path")]


def test_wheel_asset_is_copied_into_the_stack(synth_dir) -> None:
    for env in ENVIRONMENTS:
        wheels = list((synth_dir / "stacks" / f"{env}-workspace" / "assets").rglob("*.whl"))
        assert not (synth_dir / "stacks" / env / "assets").exists()
        assert [w.name for w in wheels] == ["taxi_fare_mlops-0.1.0-py3-none-any.whl"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_have_timeout_notifications_and_one_run_at_a_time(stacks, env: str) -> None:
    jobs = resources(workspace(stacks, env), "databricks_job")
    assert {j["name"] for j in jobs.values()} == {
        f"mlops-{env}-{k}" for k in ("replay", "ml_pipeline", "batch_inference", "monitoring")
    }
    expected_mail = [r.email_address for r in CONFIGS[env].monitoring.alert_email_receivers]
    for job in jobs.values():
        assert job["timeout_seconds"] > 0
        assert job["max_concurrent_runs"] == 1
        assert job["email_notifications"]["on_failure"] == expected_mail
        assert {p["name"] for p in job["parameter"]} >= {
            "catalog",
            "schema",
            "experiment-name",
            "model-name",
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_schedules_paused_where_config_says(stacks, env: str) -> None:
    expected = "PAUSED" if CONFIGS[env].databricks.schedules_paused else "UNPAUSED"
    for job in resources(workspace(stacks, env), "databricks_job").values():
        assert job["schedule"]["pause_status"] == expected
    assert expected == ("PAUSED" if env in ("sandbox", "dev") else "UNPAUSED")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_job_clusters_use_the_policy(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    policy_id, policy = only(stack, "databricks_cluster_policy")
    definition = json.loads(policy["definition"])
    assert definition["spark_version"] == {"type": "fixed", "value": "15.4.x-cpu-ml-scala2.12"}
    assert definition["data_security_mode"]["value"] == "SINGLE_USER"
    assert definition["custom_tags.environment"] == {"type": "fixed", "value": env}
    for job in resources(stack, "databricks_job").values():
        for cluster in job["job_cluster"]:
            assert cluster["new_cluster"]["policy_id"] == ref(
                "databricks_cluster_policy", policy_id, "id"
            )
            assert (
                cluster["new_cluster"]["autoscale"]["max_workers"]
                == CONFIGS[env].databricks.job_cluster.max_workers
            )


def test_monitoring_job_triggers_this_stacks_pipeline_job(stacks) -> None:
    for stack in (workspace(stacks, e) for e in ENVIRONMENTS):
        jobs = resources(stack, "databricks_job")
        pipeline_id = next(k for k, j in jobs.items() if j["name"].endswith("-ml_pipeline"))
        monitoring = next(j for j in jobs.values() if j["name"].endswith("-monitoring"))
        retrain = next(t for t in monitoring["task"] if t["task_key"] == "retrain")
        assert retrain["run_job_task"] == {"job_id": ref("databricks_job", pipeline_id, "id")}


def test_interactive_cluster_only_where_enabled(stacks) -> None:
    for env in ENVIRONMENTS:
        stack = workspace(stacks, env)
        clusters = resources(stack, "databricks_cluster")
        ic = CONFIGS[env].databricks.interactive_cluster
        assert len(clusters) == (len(ic.users) if ic.enabled else 0), env
        for cluster in clusters.values():
            assert 10 <= cluster["autotermination_minutes"] <= 120
    assert sorted(e for e, c in CONFIGS.items() if c.databricks.interactive_cluster.enabled) == [
        "dev",
        "sandbox",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secret_scope_is_key_vault_backed_by_this_stacks_vault(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    kv_id, _ = only(stacks[env], "azurerm_key_vault")
    _, scope = only(stack, "databricks_secret_scope")
    assert scope["backend_type"] == "AZURE_KEYVAULT"
    assert scope["keyvault_metadata"] == {
        "resource_id": remote_ref(stacks, env, "azurerm_key_vault", kv_id, "id"),
        "dns_name": remote_ref(stacks, env, "azurerm_key_vault", kv_id, "vault_uri"),
    }
    acls = {
        (a["principal"], a["permission"])
        for a in resources(stack, "databricks_secret_acl").values()
    }
    assert (f"ml-platform-admins-{env}", "MANAGE") in acls
    assert all(p != "users" for p, _ in acls)
    assert {p for p, perm in acls if perm == "MANAGE"} == {f"ml-platform-admins-{env}"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_unity_catalog_objects_wired_by_reference(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    platform = stacks[env]
    connector_id, _ = only(platform, "azurerm_databricks_access_connector")
    cred_id, cred = only(stack, "databricks_storage_credential")
    loc_id, loc = only(stack, "databricks_external_location")
    cat_id, cat = only(stack, "databricks_catalog")
    sa_id = next(
        k
        for k, v in resources(platform, "azurerm_storage_account").items()
        if v.get("is_hns_enabled")
    )
    assert cred["azure_managed_identity"]["access_connector_id"] == remote_ref(
        stacks, env, "azurerm_databricks_access_connector", connector_id, "id"
    )
    assert loc["credential_name"] == ref("databricks_storage_credential", cred_id, "name")
    # Databricks validates the location on create: wait for the connector's role to propagate.
    role_id = next(
        k
        for k, v in resources(platform, "azurerm_role_assignment").items()
        if v["role_definition_name"] == "Storage Blob Data Contributor"
        and v["scope"] == ref("azurerm_storage_account", sa_id, "id")
    )
    sleep_id, sleep = only(stack, "time_sleep")
    assert sleep["create_duration"] == "300s"
    assert sleep["triggers"] == {
        "access_connector_role_id": remote_ref(
            stacks, env, "azurerm_role_assignment", role_id, "id"
        )
    }
    assert f"time_sleep.{sleep_id}" in loc["depends_on"]
    containers = resources(platform, "azurerm_storage_container")
    uc_container = next(k for k, c in containers.items() if c["name"] == "unity-catalog")
    container_name = remote_ref(stacks, env, "azurerm_storage_container", uc_container, "name")
    account_name = remote_ref(stacks, env, "azurerm_storage_account", sa_id, "name")
    assert loc["url"] == f"abfss://{container_name}@{account_name}.dfs.core.windows.net/"
    assert cat["name"] == f"mlops_{env}"
    assert cat["storage_root"] == ref("databricks_external_location", loc_id, "url")
    schemas = {s["name"] for s in resources(stack, "databricks_schema").values()}
    assert schemas == {"features", "models", "inference"}
    _, volume = only(stack, "databricks_volume")
    assert volume["catalog_name"] == ref("databricks_catalog", cat_id, "name")
    grants = next(g for g in resources(stack, "databricks_grants").values() if "catalog" in g)
    principals = {g["principal"] for g in grants["grant"]}
    assert principals == {"ml-engineers", "data-scientists", job_principal(stack)}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_experiment_and_registered_model(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    dir_id, directory = only(stack, "databricks_directory")
    _, experiment = only(stack, "databricks_mlflow_experiment")
    model_id, model = only(stack, "databricks_registered_model")
    assert directory["path"] == f"/Deployments/mlops-{env}"
    assert experiment["name"] == ref("databricks_directory", dir_id, "path") + "/nyc_e2e_mlops"
    assert model["name"] == "taxi_example_fare_packaged"
    pipeline = next(
        j for j in resources(stack, "databricks_job").values() if j["name"].endswith("ml_pipeline")
    )
    params = {p["name"]: p["default"] for p in pipeline["parameter"]}
    assert params["model-name"] == ref("databricks_registered_model", model_id, "full_name")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_permissions_from_config_groups(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    levels: dict[str, set[tuple[str, str]]] = {}
    for perm in resources(stack, "databricks_permissions").values():
        kind = next(
            k
            for k in (
                "job_id",
                "cluster_id",
                "cluster_policy_id",
                "experiment_id",
                "registered_model_id",
                "directory_path",
                "workspace_file_path",
            )
            if k in perm
        )
        levels.setdefault(kind, set()).update(
            (a.get("group_name"), a["permission_level"]) for a in perm["access_control"]
        )
    assert ("ml-engineers", "CAN_MANAGE_RUN") in levels["job_id"]
    assert ("data-scientists", "CAN_VIEW") in levels["job_id"]
    assert ("ml-engineers", "CAN_USE") in levels["cluster_policy_id"]
    people = CONFIGS[env].databricks.ml.group_permissions
    assert ("data-scientists", people.data_scientists.experiment) in levels["experiment_id"]
    assert ("ml-engineers", people.ml_engineers.experiment) in levels["experiment_id"]
    if CONFIGS[env].databricks.interactive_cluster.enabled:
        # Dedicated clusters: each person's own (tests/test_workspace_security.py), no group.
        assert levels["cluster_id"] == {
            (None, "CAN_RESTART"),
            (f"ml-platform-admins-{env}", "CAN_MANAGE"),
        }
