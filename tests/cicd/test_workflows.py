"""The GitHub workflows: triggers, environments, permissions, pinning, OIDC and guards."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT, WORKFLOWS
from tools.plan_summary.render import marker

EXPECTED = {"checks.yml", "plan.yml", "deploy.yml", "drift.yml"}
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def jobs(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return wf["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in steps(job) if s.get("name") == name or s.get("id") == name]
    assert len(found) == 1, f"no single step {name!r}"
    return found[0]


def all_steps(workflows: dict[str, dict[str, Any]]):
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            for step in steps(job):
                yield fname, job_id, job, step


def run_step(script: str, env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """Run a workflow `run:` script with bash as the runner would; return (rc, GITHUB_OUTPUT)."""
    output = tmp_path / "github_output"
    output.write_text("")
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        env={**os.environ, **env, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, output.read_text()


def test_the_four_workflows_exist(workflows: dict[str, dict[str, Any]]) -> None:
    assert set(workflows) >= EXPECTED


def test_permissions_on_every_workflow_and_job(workflows: dict[str, dict[str, Any]]) -> None:
    for fname, wf in workflows.items():
        assert wf.get("permissions") == {}, f"{fname}: top-level permissions must be {{}}"
        for job_id, job in jobs(wf).items():
            assert "permissions" in job, f"{fname}:{job_id} has no permissions"
            perms = job["permissions"]
            assert isinstance(perms, dict), f"{fname}:{job_id}: no write-all/read-all"
            assert set(perms.values()) <= {"read", "write", "none"}


def test_every_action_is_pinned_to_a_commit_sha(workflows: dict[str, dict[str, Any]]) -> None:
    for fname, _, _, step in all_steps(workflows):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert SHA_PIN.match(uses), f"{fname}: {uses} is not pinned to a 40-hex SHA"
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"^\s*(- )?uses: [^.]", line):
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), (
                    f"{path.name}: pin without a version comment: {line.strip()}"
                )


def test_run_scripts_are_strict_and_free_of_expressions(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for fname, job_id, _, step in all_steps(workflows):
        script = step.get("run")
        if script is None:
            continue
        where = f"{fname}:{job_id}:{step.get('name', script[:30])}"
        assert script.lstrip().startswith("set -euo pipefail"), where
        # Untrusted values reach scripts through env only (script injection).
        assert "${{" not in script, where


def test_no_secrets_and_no_credential_persistence(workflows: dict[str, dict[str, Any]]) -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert "secrets." not in text, f"{path.name} uses a secret; OIDC needs none"
    for fname, _, _, step in all_steps(workflows):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, fname


def test_azure_login_is_oidc_only(workflows: dict[str, dict[str, Any]]) -> None:
    logins = 0
    for fname, job_id, job, step in all_steps(workflows):
        if not step.get("uses", "").startswith("azure/login@"):
            continue
        logins += 1
        assert job["permissions"].get("id-token") == "write", f"{fname}:{job_id}"
        inputs = step["with"]
        assert not {"client-secret", "creds"} & set(inputs), f"{fname}:{job_id}"
        assert inputs["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
        assert inputs["tenant-id"] == "${{ vars.AZURE_TENANT_ID }}"
        assert inputs["subscription-id"] == "${{ vars.AZURE_SUBSCRIPTION_ID }}"
        assert job["env"]["ARM_USE_OIDC"] == "true"
        assert job["env"]["ARM_CLIENT_ID"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert logins == 3  # plan, deploy, drift
    # id-token only where it is used.
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            if job["permissions"].get("id-token") == "write":
                assert any(s.get("uses", "").startswith("azure/login@") for s in steps(job)), (
                    f"{fname}:{job_id} asks for id-token without azure/login"
                )


def test_checks_run_the_readme_test_command(workflows: dict[str, dict[str, Any]]) -> None:
    wf = workflows["checks.yml"]
    assert "pull_request" in wf["on"] and "push" in wf["on"]
    job = jobs(wf)["test"]
    assert any(s.get("run", "").rstrip().endswith("make test") for s in steps(job))
    assert job["permissions"] == {"contents": "read"}
    caches = {s["with"].get("cache") for s in steps(job) if "setup-" in s.get("uses", "")}
    assert {"pip", "npm"} <= caches


def test_plan_triggers_and_target_environment(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    wf = workflows["plan.yml"]
    assert wf["on"]["pull_request"]["branches"] == ["main", "release/**"]
    assert {"labeled", "unlabeled", "synchronize"} <= set(wf["on"]["pull_request"]["types"])
    job = jobs(wf)["plan"]
    assert job["environment"] == "${{ github.base_ref == 'main' && 'dev-plan' || 'uat-plan' }}"
    target = step_named(job, "target")
    for base, env in (("main", "dev"), ("release/1.0", "uat")):
        rc, out = run_step(target["run"], {"BASE_REF": base}, tmp_path)
        assert rc == 0 and out == f"environment={env}\n"
    rc, _ = run_step(target["run"], {"BASE_REF": "feature/x"}, tmp_path)
    assert rc == 1


def test_plan_pipeline_and_destroy_gate(workflows: dict[str, dict[str, Any]]) -> None:
    wf = workflows["plan.yml"]
    plan, comment = jobs(wf)["plan"], jobs(wf)["comment"]
    scripts = "\n".join(s.get("run", "") for s in steps(plan))
    for needed in (
        "make wheel",
        "make synth",
        "terraform init",
        "terraform plan",
        "-out=tfplan",
        "terraform show -json tfplan",
        "python -m tools.plan_summary",
        "--allow-destroy",
    ):
        assert needed in scripts, needed
    summary = step_named(plan, "summary")
    assert summary["env"]["ALLOW_DESTROY"] == (
        "${{ contains(github.event.pull_request.labels.*.name, 'allow-destroy') }}"
    )
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in steps(plan))
    # Least privilege split: the job running PR code cannot write to the PR.
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in steps(comment))
    sticky = step_named(comment, "Post or update the sticky plan comment")
    assert sticky["uses"].startswith("actions/github-script@")
    assert "<!-- plan-summary:plan-${process.env.ENVIRONMENT} -->" in sticky["with"]["script"]
    assert "updateComment" in sticky["with"]["script"]
    assert '--marker "plan-$ENVIRONMENT"' in summary["run"]
    assert marker("plan-dev") == "<!-- plan-summary:plan-dev -->"
    gate = step_named(comment, "Destroy gate")
    assert '"$SUMMARY_RC" = "3"' in gate["run"] and "exit 1" in gate["run"]


def test_deploy_triggers(workflows: dict[str, dict[str, Any]]) -> None:
    on = workflows["deploy.yml"]["on"]
    assert on["push"]["branches"] == ["main", "release/**"]
    assert on["push"]["tags"] == ["v*"]
    choice = on["workflow_dispatch"]["inputs"]["environment"]
    assert choice["type"] == "choice"
    assert choice["options"] == ["sandbox", "dev", "uat", "prod"]


@pytest.mark.parametrize(
    ("event", "ref", "requested", "expected"),
    [
        ("push", "refs/heads/main", "", "dev"),
        ("push", "refs/heads/release/1.4", "", "uat"),
        ("push", "refs/tags/v1.4.0", "", "prod"),
        ("workflow_dispatch", "refs/heads/feature/try", "sandbox", "sandbox"),
        ("workflow_dispatch", "refs/heads/main", "uat", "uat"),
        ("push", "refs/tags/v1.4", "", None),
        ("workflow_dispatch", "refs/heads/main", "prod", None),
    ],
)
def test_deploy_route_step(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    event: str,
    ref: str,
    requested: str,
    expected: str | None,
) -> None:
    """The route step's own script, run as the runner would, maps trigger -> environment."""
    route = step_named(jobs(workflows["deploy.yml"])["route"], "route")
    env = {"EVENT_NAME": event, "REF": ref, "REQUESTED": requested}
    rc, out = run_step(route["run"], env, tmp_path)
    if expected is None:
        assert rc != 0
    else:
        assert rc == 0 and f"environment={expected}\n" in out


def test_deploy_job_environment_concurrency_and_guard(
    workflows: dict[str, dict[str, Any]],
) -> None:
    wf = workflows["deploy.yml"]
    route, deploy = jobs(wf)["route"], jobs(wf)["deploy"]
    checkout = steps(route)[0]
    assert checkout["with"]["fetch-depth"] == 0
    guard = step_named(route, "release-guard")
    assert guard["if"] == "startsWith(github.ref, 'refs/tags/')"
    assert "python3 -m tools.release_guard check-tag" in guard["run"]
    assert guard["env"]["TAG"] == "${{ github.ref_name }}"
    assert deploy["needs"] == "route"
    assert deploy["environment"]["name"] == "${{ needs.route.outputs.environment }}"
    assert deploy["concurrency"] == {
        "group": "deploy-${{ needs.route.outputs.environment }}",
        "cancel-in-progress": False,
    }
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    scripts = "\n".join(s.get("run", "") for s in steps(deploy))
    assert 'npx --no-install cdktf deploy "$DEPLOY_ENV" --auto-approve' in scripts
    ml = step_named(deploy, "Run the ML pipeline job and wait for it")
    assert ml["if"].startswith("env.DEPLOY_ENV == 'dev'")
    assert "python -m tools.run_job" in ml["run"]


def test_drift_matrix_and_issue_handling(workflows: dict[str, dict[str, Any]]) -> None:
    wf = workflows["drift.yml"]
    assert "schedule" in wf["on"] and wf["on"]["schedule"][0]["cron"]
    drift, issues = jobs(wf)["drift"], jobs(wf)["issues"]
    assert drift["strategy"]["matrix"]["environment"] == ["dev", "uat", "prod"]
    assert drift["strategy"]["fail-fast"] is False
    plan = step_named(drift, "plan")
    assert "-detailed-exitcode" in plan["run"]
    assert 'if [ "$rc" -eq 1 ]' in plan["run"] and "exit 1" in plan["run"]
    assert drift["permissions"] == {"contents": "read", "id-token": "write"}
    assert issues["permissions"] == {"issues": "write"}
    script = steps(issues)[-1]["with"]["script"]
    for needed in ("code === '2'", "code === '0'", "state: 'closed'", "Terraform drift: ${env}"):
        assert needed in script, needed
