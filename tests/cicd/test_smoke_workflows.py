"""The dev smoke run in the workflows (issue 20, section 3), with the workflow harness:

- smoke.yml (reusable, called by deploy.yml after the dev workspace apply): its one job as the
  run-only smoke identity, and its `run:` step under bash against a fake workspace API (with
  the fake GitHub OIDC and Entra ID token endpoints): green and red;
- smoke-gate.yml (reusable, called by deploy.yml before synthesis): its github-script under Node
  against a recording GitHub client, for every kind of evidence, including a red smoke that
  blocks a uat deploy;
- deploy.yml: nothing of a uat or prod deploy runs unless the gate passed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.config import load_environments
from tests.cicd.expressions import evaluate
from tests.cicd.fake_workspace import (
    CLIENT_ID,
    GITHUB_REQUEST_TOKEN,
    TENANT_ID,
    FakeWorkspace,
    result_line,
)
from tests.cicd.harness import calls_named, run_github_script, run_step
from tests.conftest import ROOT, resources, workspace

CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}
SHA = "a" * 40
TREE = "t" * 40
REPO = {"owner": "o", "repo": "r"}
SMOKE_CHECK = "dev smoke / smoke run"


def jobs(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return wf["jobs"]


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in job.get("steps", []) if s.get("name") == name]
    return found


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def ancestors(wf: dict[str, Any], job_id: str) -> set[str]:
    found: set[str] = set()
    todo = needs(jobs(wf)[job_id])
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo += needs(jobs(wf)[current])
    return found


@pytest.fixture
def smoke_job(workflows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (job,) = jobs(workflows["smoke.yml"]).values()
    return job


@pytest.fixture
def gate(workflows: dict[str, dict[str, Any]]) -> tuple[str, dict[str, str]]:
    (job,) = jobs(workflows["smoke-gate.yml"]).values()
    step = step_named(job, "Require a green dev smoke run of this commit")
    assert step["uses"].startswith("actions/github-script@")
    return step["with"]["script"], {k: str(v) for k, v in step["env"].items()}


# --- smoke.yml -----------------------------------------------------------------------------------


def test_the_smoke_workflow_is_reusable_with_the_stack_outputs_as_inputs(
    workflows: dict[str, dict[str, Any]],
) -> None:
    call = workflows["smoke.yml"]["on"]["workflow_call"]
    assert set(call) == {"inputs"}
    assert {k: (v["type"], v["required"]) for k, v in call["inputs"].items()} == {
        "environment": ("string", True),
        "runner": ("string", True),
        "workspace-url": ("string", True),
        "job-ids": ("string", True),
    }
    assert set(workflows["smoke.yml"]["on"]) == {"workflow_call"}


def test_the_smoke_job_is_the_run_only_identity_with_nothing_installed(smoke_job) -> None:
    assert smoke_job["name"] == "smoke run"
    assert smoke_job["environment"] == {"name": "${{ inputs.environment }}-smoke"}
    assert smoke_job["permissions"] == {"contents": "read", "id-token": "write"}
    assert smoke_job["env"]["ARM_CLIENT_ID"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert smoke_job["env"]["ARM_TENANT_ID"] == "${{ vars.AZURE_TENANT_ID }}"
    assert smoke_job["concurrency"] == {
        "group": "smoke-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    uses = [s["uses"].split("@")[0] for s in smoke_job["steps"] if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python"]  # no azure/login, no installs
    checkout = smoke_job["steps"][0]["with"]
    assert checkout["persist-credentials"] is False
    assert checkout["sparse-checkout"].split() == ["tools/__init__.py", "tools/smoke"]
    assert checkout["sparse-checkout-cone-mode"] is False
    script = step_named(smoke_job, "Run the deployed jobs and assert their outcomes")["run"]
    assert not re.search(r"\bpip\b", script) and "DATABRICKS_TOKEN" not in script
    assert "--auth" not in script  # the default: github-oidc-azure
    # The tool's deadline is below the job's, so the tool cancels its own runs.
    wait = float(re.search(r"--timeout-minutes (\d+)", script).group(1))
    assert wait + 10 <= smoke_job["timeout-minutes"] and wait <= 300
    assert float(re.search(r"--poll-seconds (\d+)", script).group(1)) > 0
    assert '--run-tag "$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT"' in script
    assert '--summary-file "$GITHUB_STEP_SUMMARY"' in script


def test_deploy_calls_the_smoke_after_the_workspace_apply_of_the_smoked_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    caller = jobs(workflows["deploy.yml"])["smoke"]
    assert caller["uses"] == "./.github/workflows/smoke.yml"
    assert caller["name"] == "dev smoke"
    assert needs(caller) == [
        "route",
        "plan-platform",
        "gate-platform",
        "apply-platform",
        "gate-workspace",
        "apply-workspace",
    ]
    assert caller["permissions"] == {"contents": "read", "id-token": "write"}
    # What was just applied, else (a deploy that applied nothing) what the state holds.
    assert caller["with"] == {
        "environment": "${{ needs.route.outputs.environment }}",
        "runner": "${{ needs.route.outputs.runner }}",
        "workspace-url": (
            "${{ needs.apply-workspace.outputs.workspace-url"
            " || needs.plan-platform.outputs.workspace-url }}"
        ),
        "job-ids": (
            "${{ needs.apply-workspace.outputs.job-ids || needs.plan-platform.outputs.job-ids }}"
        ),
    }
    apply = jobs(workflows["deploy.yml"])["apply-workspace"]
    assert apply["outputs"]["job-ids"] == "${{ steps.outputs.outputs.job-ids }}"
    plan = jobs(workflows["deploy.yml"])["plan-platform"]
    assert plan["outputs"]["job-ids"] == "${{ steps.deployed.outputs.job-ids }}"
    # The environment it smokes is the one whose config enables the smoke identity.
    smoked = re.findall(r"environment == '(\w+)'", caller["if"])
    assert smoked == [n for n, c in sorted(CONFIGS.items()) if c.smoke.enabled] == ["dev"]
    assert "inputs.smoke" in caller["if"]
    dispatch = workflows["deploy.yml"]["on"]["workflow_dispatch"]["inputs"]["smoke"]
    assert dispatch["type"] == "boolean" and dispatch["default"] is True


def _smoke_runs(workflows: dict[str, dict[str, Any]], **results: str) -> bool:
    """Whether deploy.yml's smoke job runs in dev, from its own `if`, given each needed job's
    result (`<job>=<result>` or `<job>=<result>/<changes>/<workspace-changes>` for the gates)."""
    needs_: dict[str, Any] = {"route": {"result": "success", "outputs": {"environment": "dev"}}}
    for job, value in results.items():
        result, *changes = value.split("/")
        outputs = {}
        if changes:
            outputs["changes"] = changes[0]
        if len(changes) > 1:
            outputs["workspace-changes"] = changes[1]
        needs_[job.replace("_", "-")] = {"result": result, "outputs": outputs}
    context = {"needs": needs_, "github": {"event_name": "push"}, "inputs": {}}
    return bool(evaluate(jobs(workflows["deploy.yml"])["smoke"]["if"], context))


@pytest.mark.parametrize(
    ("case", "results", "runs"),
    [
        (
            "both stacks applied",
            dict(
                gate_platform="success/true/true",
                apply_platform="success",
                gate_workspace="success/true",
                apply_workspace="success",
            ),
            True,
        ),
        (
            "nothing to apply anywhere (a docs-only commit): still smoked, uat needs it",
            dict(
                gate_platform="success/false/false",
                apply_platform="skipped",
                gate_workspace="skipped",
                apply_workspace="skipped",
            ),
            True,
        ),
        (
            "platform applied, the workspace plan is a no-op",
            dict(
                gate_platform="success/true/false",
                apply_platform="success",
                gate_workspace="success/false",
                apply_workspace="skipped",
            ),
            True,
        ),
        (
            "the workspace apply failed",
            dict(
                gate_platform="success/true/true",
                apply_platform="success",
                gate_workspace="success/true",
                apply_workspace="failure",
            ),
            False,
        ),
        (
            "the platform gate failed (e.g. a protected resource destroyed)",
            dict(
                gate_platform="failure",
                apply_platform="skipped",
                gate_workspace="skipped",
                apply_workspace="skipped",
            ),
            False,
        ),
        (
            "the platform apply failed",
            dict(
                gate_platform="success/true/true",
                apply_platform="failure",
                gate_workspace="skipped",
                apply_workspace="skipped",
            ),
            False,
        ),
        (
            "the workspace approval was not given (apply skipped, changes pending)",
            dict(
                gate_platform="success/true/true",
                apply_platform="success",
                gate_workspace="success/true",
                apply_workspace="skipped",
            ),
            False,
        ),
        (
            "the platform approval was not given",
            dict(
                gate_platform="success/true/false",
                apply_platform="skipped",
                gate_workspace="skipped",
                apply_workspace="skipped",
            ),
            False,
        ),
    ],
)
def test_the_smoke_runs_once_the_workspace_is_what_the_commit_describes(
    workflows: dict[str, dict[str, Any]], case: str, results: dict[str, str], runs: bool
) -> None:
    """Applied now or already (a no-op deploy): smoked, so the smoke gate can find a green smoke
    of every commit on main; any failure or pending change: not smoked."""
    assert _smoke_runs(workflows, plan_platform="success", **results) is runs, case


@pytest.mark.synth
def test_every_forced_override_names_a_declared_parameter_of_the_deployed_job(
    smoke_job, stacks: dict[str, dict[str, Any]]
) -> None:
    """The smoke forces the retrain verdict with a run-now job parameter override: it must be a
    job parameter the synthesized job declares (the contract with the ML jobs; every task of
    the job accepts the pushed-down parameter: tests/test_job_contract.py)."""
    script = step_named(smoke_job, "Run the deployed jobs and assert their outcomes")["run"]
    overrides = re.findall(r"--job-parameter (\w+):([\w.-]+)=(\S+)", script)
    assert overrides == [("monitoring", "psi-threshold", "0")]
    for env, config in CONFIGS.items():
        if not config.smoke.enabled:
            continue
        by_name = {
            j["name"]: j for j in resources(workspace(stacks, env), "databricks_job").values()
        }
        for key, name, _ in overrides:
            job = by_name[f"mlops-{env}-{key}"]
            declared = {p["name"]: p["default"] for p in job.get("parameter", [])}
            assert declared[name] == str(config.databricks.ml.psi_threshold)
            assert key in config.smoke_jobs


def _run_smoke_step(
    smoke_job: dict[str, Any], fake: FakeWorkspace, tmp_path: Path, url: str
) -> Any:
    script = step_named(smoke_job, "Run the deployed jobs and assert their outcomes")["run"]
    env = {
        "WORKSPACE_URL": url,
        "JOB_IDS": json.dumps(fake.job_ids()),
        "ARM_CLIENT_ID": CLIENT_ID,
        "ARM_TENANT_ID": TENANT_ID,
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{url}/oidc/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
        "GITHUB_RUN_ID": "777",
        "GITHUB_RUN_ATTEMPT": "2",
    }
    return run_step(script, env, tmp_path, cwd=ROOT)


def test_the_smoke_step_passes_on_a_healthy_deployment(smoke_job, tmp_path: Path) -> None:
    """The workflow's own script, the real tool and HTTP, the fake workspace and token
    endpoints: the GitHub OIDC token is exchanged for the smoke identity's Entra ID token and
    every job runs in order, the monitoring job with the forced PSI threshold."""
    fake = FakeWorkspace.green(polls_to_finish=1)
    fake.tokens = set()  # only what the fake Entra ID issues
    # The authority is the real Entra ID by default; point the step at the fake through the
    # one option the script does not set.
    with fake.serve() as url:
        smoke_job = _with_authority(smoke_job, url)
        run = _run_smoke_step(smoke_job, fake, tmp_path, url)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.summary.startswith("### Dev smoke run: passed")
    assert [k for k, _ in fake.run_nows()] == [
        "replay",
        "ml_pipeline",
        "batch_inference",
        "monitoring",
    ]
    assert fake.run_nows()[-1][1]["job_parameters"] == {"psi-threshold": "0"}
    assert [r["client_id"] for r in fake.aad_requests] == [CLIENT_ID]
    assert [r["tenant"] for r in fake.aad_requests] == [TENANT_ID]
    assert "/api/2.2/jobs/runs/submit" not in [p for _, p, _ in fake.calls]


def test_a_red_smoke_fails_the_step_with_an_annotation(smoke_job, tmp_path: Path) -> None:
    fake = FakeWorkspace.green(polls_to_finish=1)
    fake.tokens = set()
    retrain = fake.task("monitoring", "retrain")
    retrain.retrain_runs = 0
    retrain.logs = result_line(step="retrain", status="not_needed")
    with fake.serve() as url:
        run = _run_smoke_step(_with_authority(smoke_job, url), fake, tmp_path, url)
    assert run.rc == 1
    assert (
        "::error title=Dev smoke run failed::failed checks: the retrain run was started once"
        in (run.stderr)
    )
    assert run.summary.startswith("### Dev smoke run: FAILED")
    assert "| the retrain run was started once | **failed** |" in run.summary


def _with_authority(smoke_job: dict[str, Any], url: str) -> dict[str, Any]:
    """The smoke job with its tool pointed at the fake Entra ID (a test-only change)."""
    step = step_named(smoke_job, "Run the deployed jobs and assert their outcomes")
    script = step["run"].replace(
        "python -m tools.smoke ", f"python -m tools.smoke --azure-authority {url} "
    )
    assert script != step["run"]
    new_step = {**step, "run": script}
    return {**smoke_job, "steps": [new_step if s is step else s for s in smoke_job["steps"]]}


# --- smoke-gate.yml ------------------------------------------------------------------------------


def _run(
    run_id: int,
    *,
    sha: str = SHA,
    tree: str = TREE,
    branch: str = "main",
    event: str = "push",
    repo: str = "o/r",
) -> dict[str, Any]:
    return {
        "id": run_id,
        "head_sha": sha,
        "head_commit": {"id": sha, "tree_id": tree},
        "head_branch": branch,
        "event": event,
        "head_repository": {"full_name": repo},
        "html_url": f"https://github.com/o/r/actions/runs/{run_id}",
    }


def _jobs(conclusion: str | None, name: str = SMOKE_CHECK) -> dict[str, Any]:
    listed = [{"name": "apply dev-workspace", "conclusion": "success"}]
    if conclusion is not None:
        listed.append(
            {"name": name, "conclusion": conclusion, "html_url": f"https://x/job/{conclusion}"}
        )
    return {"total_count": len(listed), "jobs": listed}


def run_gate(
    gate: tuple[str, dict[str, str]],
    tmp_path: Path,
    *,
    environment: str,
    runs: list[dict[str, Any]] | dict[str, Any],
    smoke_jobs: dict[int, dict[str, Any]] | None = None,
    sha: str = SHA,
    tree: str = TREE,
) -> dict[str, Any]:
    script, env = gate
    env["ENVIRONMENT"] = environment
    pages = runs if isinstance(runs, dict) else {"1": {"workflow_runs": runs}}
    return run_github_script(
        script,
        tmp_path,
        context={"repo": REPO, "sha": sha, "payload": {}},
        answers={
            "git.getCommit": {"sha": sha, "tree": {"sha": tree}},
            "actions.listWorkflowRuns": {"__by": "page", "values": pages},
            "actions.listJobsForWorkflowRun": {
                "__by": "run_id",
                "values": {str(k): v for k, v in (smoke_jobs or {}).items()},
            },
        },
        env=env,
    )


def test_the_gate_names_the_smoke_check_the_deploy_workflow_produces(
    workflows: dict[str, dict[str, Any]], gate: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """The check a reusable workflow's job produces is "<caller job name> / <job name>"; the
    branch is the one the deploy workflow routes to the smoked environment."""
    _, env = gate
    (smoke,) = jobs(workflows["smoke.yml"]).values()
    assert env["SMOKE_JOB"] == f"{jobs(workflows['deploy.yml'])['smoke']['name']} / {smoke['name']}"
    assert env["SMOKE_JOB"] == SMOKE_CHECK
    assert env["SMOKE_WORKFLOW"] == "deploy.yml"
    route = step_named(jobs(workflows["deploy.yml"])["route"], "Route the run to an environment")
    routed = run_step(
        route["run"],
        {"EVENT_NAME": "push", "REF": f"refs/heads/{env['SMOKE_BRANCH']}", "REQUESTED": ""},
        tmp_path,
    )
    assert routed.outputs["environment"] == "dev" and CONFIGS["dev"].smoke.enabled
    required = json.loads(env["REQUIRED_FOR"])
    assert required == ["uat", "prod"]
    assert all(CONFIGS[e].protected and not CONFIGS[e].smoke.enabled for e in required)
    assert int(env["MAX_RUNS"]) > 0


@pytest.mark.parametrize("environment", ["sandbox", "dev"])
def test_environments_that_need_no_smoke_pass_without_asking(
    gate: tuple[str, dict[str, str]], tmp_path: Path, environment: str
) -> None:
    out = run_gate(gate, tmp_path, environment=environment, runs=[])
    assert out["failed"] is None and out["calls"] == []


@pytest.mark.parametrize("environment", ["uat", "prod"])
def test_a_green_smoke_of_the_commit_lets_the_deploy_go_on(
    gate: tuple[str, dict[str, str]], tmp_path: Path, environment: str
) -> None:
    out = run_gate(
        gate, tmp_path, environment=environment, runs=[_run(7)], smoke_jobs={7: _jobs("success")}
    )
    assert out["failed"] is None
    assert out["outputs"] == {"smoke-url": "https://x/job/success"}
    (listed,) = calls_named(out, "actions.listWorkflowRuns")
    assert listed == {
        "owner": "o",
        "repo": "r",
        "workflow_id": "deploy.yml",
        "branch": "main",
        "status": "completed",
        "per_page": 100,
        "page": 1,
    }
    (jobs_call,) = calls_named(out, "actions.listJobsForWorkflowRun")
    assert jobs_call["run_id"] == 7 and jobs_call["filter"] == "latest"
    assert calls_named(out, "git.getCommit") == [{"owner": "o", "repo": "r", "commit_sha": SHA}]


@pytest.mark.parametrize("conclusion", ["failure", "timed_out"])
def test_a_red_smoke_blocks_a_uat_deploy(
    gate: tuple[str, dict[str, str]], tmp_path: Path, conclusion: str
) -> None:
    """The acceptance case: the newest dev smoke of the commit is red; an older green one of
    the same content does not outweigh it."""
    out = run_gate(
        gate,
        tmp_path,
        environment="uat",
        runs=[_run(9), _run(7)],
        smoke_jobs={9: _jobs(conclusion), 7: _jobs("success")},
    )
    assert out["failed"].startswith(f"the newest dev smoke of this content is red ({conclusion})")
    assert f"https://x/job/{conclusion}" in out["failed"]
    assert [c["run_id"] for c in calls_named(out, "actions.listJobsForWorkflowRun")] == [9]


def test_a_missing_smoke_blocks_a_prod_deploy(
    gate: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    out = run_gate(gate, tmp_path, environment="prod", runs=[])
    assert out["failed"].startswith(f"no green dev smoke of {SHA} (tree {TREE})")


@pytest.mark.parametrize(
    "untrusted",
    [
        _run(7, branch="feature/x"),  # the deploy workflow dispatched from another branch
        _run(7, event="pull_request"),
        _run(7, event="schedule"),
        _run(7, repo="fork/r"),  # a fork's run
        _run(7, sha="b" * 40, tree="u" * 40),  # other content
    ],
)
def test_only_runs_of_main_in_this_repository_with_this_content_count(
    gate: tuple[str, dict[str, str]], tmp_path: Path, untrusted: dict[str, Any]
) -> None:
    out = run_gate(
        gate, tmp_path, environment="uat", runs=[untrusted], smoke_jobs={7: _jobs("success")}
    )
    assert out["failed"] is not None and out["failed"].startswith("no green dev smoke")
    assert calls_named(out, "actions.listJobsForWorkflowRun") == []


def test_a_release_merge_commit_with_a_smoked_tree_passes(
    gate: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """A merge commit on a release branch whose content equals a smoked main commit: the same
    tree is the same code, configuration and workflows (docs/cicd.md)."""
    out = run_gate(
        gate,
        tmp_path,
        environment="uat",
        sha="c" * 40,
        runs=[_run(7, sha=SHA, tree=TREE)],
        smoke_jobs={7: _jobs("success")},
    )
    assert out["failed"] is None


@pytest.mark.parametrize("newest", ["skipped", "cancelled", None, "renamed"])
def test_a_smoke_that_did_not_finish_is_no_evidence_either_way(
    gate: tuple[str, dict[str, str]], tmp_path: Path, newest: str | None
) -> None:
    newest_jobs = _jobs("success", name="other / job") if newest == "renamed" else _jobs(newest)
    out = run_gate(
        gate,
        tmp_path,
        environment="uat",
        runs=[_run(9), _run(7)],
        smoke_jobs={9: newest_jobs, 7: _jobs("success")},
    )
    assert out["failed"] is None
    assert [c["run_id"] for c in calls_named(out, "actions.listJobsForWorkflowRun")] == [9, 7]


def test_older_pages_are_read_within_the_bound(
    gate: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    other = [_run(1000 + i, sha="b" * 40, tree="u" * 40) for i in range(100)]
    pages = {"1": {"workflow_runs": other}, "2": {"workflow_runs": [_run(7)]}}
    out = run_gate(gate, tmp_path, environment="uat", runs=pages, smoke_jobs={7: _jobs("success")})
    assert out["failed"] is None
    assert [c["page"] for c in calls_named(out, "actions.listWorkflowRuns")] == [1, 2]

    script, env = gate
    out = run_gate((script, {**env, "MAX_RUNS": "100"}), tmp_path, environment="uat", runs=pages,
                   smoke_jobs={7: _jobs("success")})  # fmt: skip
    assert out["failed"].startswith(f"no green dev smoke of {SHA} (tree {TREE}) among the last 100")
    assert [c["page"] for c in calls_named(out, "actions.listWorkflowRuns")] == [1]


# --- deploy.yml: nothing of uat or prod runs unless the gate passed -----------------------------


def _simulate(wf: dict[str, Any], given: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Every job's result when the jobs in `given` ended as given and every job that runs
    succeeds reporting changes (the worst case): each job's own `if`, as GitHub evaluates it (no
    status function in it means `success() && (...)`), in dependency order."""
    results: dict[str, dict[str, Any]] = dict(given)
    changed = {"changes": "true", "workspace-changes": "true", "approval": "needed"}
    pending = [j for j in jobs(wf) if j not in results]
    while pending:
        job_id = next(j for j in pending if all(n in results for n in needs(jobs(wf)[j])))
        pending.remove(job_id)
        cond = str(jobs(wf)[job_id].get("if", "success()"))
        cond = cond.removeprefix("${{").removesuffix("}}")
        if not re.search(r"\b(always|success|failure|cancelled)\(\)", cond):
            cond = f"success() && ({cond})"
        context = {
            "needs": {n: results[n] for n in needs(jobs(wf)[job_id])},
            "github": {"event_name": "push"},
            "inputs": {},
        }
        ran = bool(evaluate(cond, context))
        results[job_id] = {"result": "success" if ran else "skipped", "outputs": changed}
    return {k: v["result"] for k, v in results.items()}


def test_the_gate_runs_first_and_every_deploy_job_depends_on_it(
    workflows: dict[str, dict[str, Any]],
) -> None:
    wf = workflows["deploy.yml"]
    caller = jobs(wf)["smoke-gate"]
    assert caller["uses"] == "./.github/workflows/smoke-gate.yml"
    # Only when the route deploys at all (creating a release branch deploys nothing).
    assert needs(caller) == ["route"]
    assert caller["if"] == "needs.route.outputs.deploy == 'true'"
    assert caller["permissions"] == {"actions": "read", "contents": "read"}
    assert caller["with"] == {"environment": "${{ needs.route.outputs.environment }}"}
    assert "smoke-gate" in needs(jobs(wf)["synth"])
    (gate_job,) = jobs(workflows["smoke-gate.yml"]).values()
    assert gate_job["permissions"] == {"actions": "read", "contents": "read"}
    assert not any("run" in s or s.get("uses", "").startswith("actions/checkout") for s in
                   gate_job["steps"])  # fmt: skip
    route = {
        "result": "success",
        "outputs": {"environment": "uat", "deploy": "true", "runner": "ubuntu-24.04"},
    }
    # A failed (or skipped) gate: nothing that synthesizes, plans, approves, applies or smokes
    # runs, whatever each job's condition says; only the credential-less lookup of the reviewed
    # change sets and the cleanup of artifacts may.
    for gate in ("failure", "skipped", "cancelled"):
        ran = _simulate(wf, {"route": route, "smoke-gate": {"result": gate, "outputs": {}}})
        ran_jobs = {j for j, r in ran.items() if r == "success"} - {"route"}
        assert ran_jobs <= {"reviewed", "cleanup"}, (gate, ran_jobs)
    for job_id in ("reviewed", "cleanup"):
        job = jobs(wf)[job_id]
        assert "environment" not in job and "id-token" not in job.get("permissions", {})
    # A green gate: everything downstream can run (the simulation reaches the smoke).
    ran = _simulate(wf, {"route": route, "smoke-gate": {"result": "success", "outputs": {}}})
    gated = [j for j in jobs(wf) if "smoke-gate" in ancestors(wf, j)]
    assert len(gated) >= 7  # synth, plan, gate and apply of both stacks, smoke
    assert all(ran[j] == "success" for j in ("synth", "plan-platform", "apply-workspace")), ran
    # The cleanup job runs after anything; it deletes artifacts and applies nothing.
    cleanup = jobs(wf)["cleanup"]
    assert "environment" not in cleanup and cleanup["permissions"] == {"actions": "write"}
