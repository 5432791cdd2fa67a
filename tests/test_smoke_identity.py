"""The smoke identity inside the workspace, on the synthesized JSON: a service principal that
can run the smoke's jobs (CAN_MANAGE_RUN) and nothing else, in the environments that enable the
smoke only; and the `job_ids` output the smoke run reads (docs/cicd.md, The dev smoke run)."""

from __future__ import annotations

import json

import pytest

from constructs_lib.config import load_environments
from tests.conftest import ENVIRONMENTS, ROOT, job_principal, ref, resources, workspace

pytestmark = pytest.mark.synth
CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}
SMOKE = sorted(name for name, c in CONFIGS.items() if c.smoke.enabled)
NO_SMOKE = sorted(set(ENVIRONMENTS) - set(SMOKE))


def _smoke_principal(stack: dict) -> tuple[str, dict]:
    (found,) = [
        (k, v)
        for k, v in resources(stack, "databricks_service_principal").items()
        if v["//"]["metadata"]["path"].endswith("/SmokePrincipal/ServicePrincipal")
    ]
    return found


def _job_ids_by_key(stack: dict) -> dict[str, str]:
    return {
        v["name"].rsplit("-", 1)[1]: ref("databricks_job", k, "id")
        for k, v in resources(stack, "databricks_job").items()
    }


def test_the_smoke_runs_in_dev_only() -> None:
    assert SMOKE == ["dev"] and NO_SMOKE == ["prod", "sandbox", "uat"]


@pytest.mark.parametrize("env", SMOKE)
def test_the_smoke_principal_is_the_configured_identity_with_no_entitlement_but_access(
    stacks, env: str
) -> None:
    _, sp = _smoke_principal(workspace(stacks, env))
    assert sp["application_id"] == CONFIGS[env].smoke.application_id
    assert sp["display_name"] == f"mlops-{env}-smoke"
    assert sp["workspace_access"] is True
    assert sp["allow_cluster_create"] is False
    assert sp["allow_instance_pool_create"] is False
    assert sp["databricks_sql_access"] is False


@pytest.mark.parametrize("env", SMOKE)
def test_the_smoke_principal_holds_can_manage_run_on_the_smokes_jobs_and_nothing_else(
    stacks, env: str
) -> None:
    """Exactly one ACL entry per job the smoke runs, CAN_MANAGE_RUN; no other permission,
    grant, secret ACL, group membership, rule set or job run_as names it."""
    stack = workspace(stacks, env)
    sp_id, _ = _smoke_principal(stack)
    smoke = ref("databricks_service_principal", sp_id, "application_id")
    held = sorted(
        (body.get("job_id", "not a job"), acl["permission_level"])
        for body in resources(stack, "databricks_permissions").values()
        for acl in body["access_control"]
        if acl.get("service_principal_name") == smoke
    )
    jobs = _job_ids_by_key(stack)
    assert held == sorted((jobs[key], "CAN_MANAGE_RUN") for key in CONFIGS[env].smoke_jobs)
    assert CONFIGS[env].smoke_jobs == ("replay", "ml_pipeline", "batch_inference", "monitoring")
    text = json.dumps(
        {
            t: body
            for t, body in stack["resource"].items()
            if t not in ("databricks_permissions", "databricks_service_principal")
        }
    )
    assert sp_id not in text  # every use of the principal goes through its reference
    for job in resources(stack, "databricks_job").values():
        assert job["run_as"] == {"service_principal_name": job_principal(stack)}


@pytest.mark.parametrize("env", NO_SMOKE)
def test_environments_without_the_smoke_have_no_smoke_principal(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    principals = resources(stack, "databricks_service_principal").values()
    assert [p["display_name"] for p in principals] == [f"mlops-{env}-jobs"]
    assert not any("application_id" in p for p in principals)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_job_ids_output_names_every_job_by_its_key(stacks, env: str) -> None:
    stack = workspace(stacks, env)
    output = stack["output"]["job_ids"]
    assert "sensitive" not in output
    assert output["value"] == _job_ids_by_key(stack)
    assert sorted(output["value"]) == sorted(CONFIGS[env].databricks.jobs)
