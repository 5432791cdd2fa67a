"""The deploy applies what was reviewed, one run per environment at a time, only the newest
commit, on the environment's own runners (issue 21 §3, §5, §6 and §4's stale workspace plan):
run against the deploy workflow's own steps, scripts and job conditions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import FIXTURES, ROOT
from tests.cicd.expressions import evaluate
from tests.cicd.harness import (
    calls_named,
    github_script,
    jobs,
    run_github_script,
    run_step,
    scripts,
    stack_dirs,
    step_named,
)
from tests.cicd.test_release_guard import git

DEPLOY = "deploy.yml"


def test_every_job_that_runs_terraform_turns_enhanced_validation_off(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """azurerm 4.x checks every location and resource provider against the subscription when
    planning unless ARM_PROVIDER_ENHANCED_VALIDATION is false (issue 19 §1b)."""
    found = 0
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            if re.search(r"(^|\s)terraform ", scripts(job)):
                found += 1
                env = job.get("env", {})
                assert env.get("ARM_PROVIDER_ENHANCED_VALIDATION") == "false", f"{fname}:{job_id}"
    assert found == 5  # plan: plan; deploy: plan-platform, apply-*; drift: drift


# --- what is applied is what was reviewed ---------------------------------------------------


def _gate(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    fixture: str,
    reviewed_fixture: str | None,
    *,
    compare: str = "true",
):
    """gate-platform's own step on a plan, with the reviewed change set of another plan."""
    from tools.plan_summary import changeset
    from tools.plan_summary.model import load_plan

    plan_dir = tmp_path / "runner_temp" / "plan" / "dev"
    plan_dir.mkdir(parents=True)
    (plan_dir / "result").write_text("ok\n")
    (plan_dir / "plan.json").write_text((FIXTURES / fixture).read_text())
    predicted = plan_dir.parent / "dev-workspace"
    predicted.mkdir()
    (predicted / "result").write_text("ok\n")
    (predicted / "plan.json").write_text((FIXTURES / "noop.json").read_text())
    if reviewed_fixture is not None:
        reviewed = tmp_path / "runner_temp" / "reviewed"
        reviewed.mkdir(parents=True)
        change_set = changeset.ChangeSet.of("dev", load_plan(FIXTURES / reviewed_fixture))
        (reviewed / "dev.change-set.json").write_text(json.dumps(change_set.to_json()))
    step = step_named(jobs(workflows[DEPLOY])["gate-platform"], "gate")
    env = {
        "STACK": "dev",
        "ALLOW_DESTROY": "false",
        "COMPARE": compare,
        "REVIEWED_LABEL": "PR #7, plan run https://github.com/o/r/actions/runs/41",
    }
    return run_step(step["run"], env, tmp_path)


def _next_jobs(workflows: dict[str, dict[str, Any]], gate: dict[str, str], approve: str):
    """Whether approve-platform and apply-platform run, from their own `if` conditions."""
    deploy = jobs(workflows[DEPLOY])
    outputs = {"workspace-changes": "false", **gate}
    approve_runs = evaluate(
        deploy["approve-platform"]["if"],
        {"needs": {"gate-platform": {"result": "success", "outputs": outputs}}},
    )
    context = {
        "needs": {
            "gate-platform": {"result": "success", "outputs": outputs},
            "approve-platform": {"result": approve if approve_runs else "skipped"},
        }
    }
    return bool(approve_runs), bool(evaluate(deploy["apply-platform"]["if"], context))


def test_a_deploy_plan_that_differs_from_the_reviewed_one_stops_for_approval(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """dev deploys after the merge without reviewers; a plan that is not what the pull request
    showed goes through the approve job (GitHub environment deploy-approval, required reviewers)
    first, and is applied only if that job succeeds (an approver, not an author)."""
    run = _gate(workflows, tmp_path, "creates_only.json", "update_sensitive.json")
    assert run.rc == 0
    assert run.outputs["approval"] == "the plan differs from the reviewed one"
    assert "**Differs from the reviewed plan** (PR #7, plan run" in run.summary
    assert "+ create azurerm_storage_account.lake" in run.summary
    assert _next_jobs(workflows, run.outputs, approve="success") == (True, True)
    assert _next_jobs(workflows, run.outputs, approve="failure") == (True, False)
    approve = jobs(workflows[DEPLOY])["approve-platform"]
    assert approve["environment"] == "deploy-approval"
    environments = json.loads((ROOT / "tools" / "github" / "environments.json").read_text())
    assert environments["deploy-approval"]["reviewers"] is True


def test_a_deploy_plan_identical_to_the_reviewed_one_proceeds_without_a_second_approval(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    run = _gate(workflows, tmp_path, "update_sensitive.json", "update_sensitive.json")
    assert run.rc == 0 and run.outputs["approval"] == "" and run.outputs["changes"] == "true"
    assert "**As reviewed:**" in run.summary
    assert _next_jobs(workflows, run.outputs, approve="skipped") == (False, True)


def test_a_commit_nobody_reviewed_stops_for_approval(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    run = _gate(workflows, tmp_path, "update_sensitive.json", None)
    assert run.outputs["approval"] == "no reviewed plan"
    assert _next_jobs(workflows, run.outputs, approve="success") == (True, True)


def test_a_no_op_plan_skips_the_apply_and_its_approval(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    run = _gate(workflows, tmp_path, "noop.json", None)
    assert run.outputs == {"changes": "false", "approval": "", "workspace-changes": "false"}
    assert _next_jobs(workflows, run.outputs, approve="skipped") == (False, False)
    # The workspace is still planned and applied when the platform plan predicts changes there.
    predicted = {**run.outputs, "workspace-changes": "true"}
    assert _next_jobs(workflows, predicted, approve="skipped") == (False, True)
    apply = step_named(
        jobs(workflows[DEPLOY])["apply-platform"],
        "terraform apply of the reviewed plan file (platform stack)",
    )
    assert apply["if"] == "needs.gate-platform.outputs.changes == 'true'"
    workspace = jobs(workflows[DEPLOY])["apply-workspace"]
    context = {
        "needs": {
            "gate-workspace": {
                "result": "success",
                "outputs": {"changes": "false", "approval": ""},
            },
            "approve-workspace": {"result": "skipped"},
        }
    }
    assert evaluate(workspace["if"], context) is False


def test_sandbox_is_not_compared_with_a_pull_request(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    run = _gate(workflows, tmp_path, "update_sensitive.json", None, compare="false")
    assert run.outputs["approval"] == "" and "**Not compared:**" in run.summary
    _, env = github_script(jobs(workflows[DEPLOY])["reviewed"], "find")
    targets = jobs(workflows["plan.yml"])["targets"]["steps"][0]["run"]
    planned = set(re.findall(r'"(\w+)"', targets.split("case")[1].split("esac")[0]))
    assert set(json.loads(env["PLANNED_AT_PR"])) == planned == {"dev", "uat", "prod"}


def _reviewed(workflows, tmp_path, answers, sha="m" * 40):
    script, env = github_script(jobs(workflows[DEPLOY])["reviewed"], "find")
    env["ENVIRONMENT"] = "dev"
    context = {"repo": {"owner": "o", "repo": "r"}, "sha": sha, "actor": "merger"}
    return run_github_script(script, tmp_path, context=context, answers=answers, env=env)


HEAD = "h" * 40


def _merged_pr(number: int = 7, base: str = "main") -> dict[str, Any]:
    return {
        "number": number,
        "merged_at": "2025-01-01T00:00:00Z",
        "merge_commit_sha": "m" * 40,
        "user": {"login": "author"},
        "head": {"sha": HEAD, "ref": "feat", "repo": {"full_name": "o/r"}},
        "base": {"ref": base},
    }


def _plan_run(run_id: int, **fields: Any) -> dict[str, Any]:
    """A successful plan.yml run of the pull request's head, as the Actions API lists it."""
    return {
        "id": run_id,
        "run_number": run_id,
        "html_url": f"https://x/{run_id}",
        "path": ".github/workflows/plan.yml",
        "event": "pull_request",
        "head_sha": HEAD,
        "head_branch": "feat",
        "head_repository": {"full_name": "o/r"},
        # Open pull requests only: empty once the pull request is merged (GitHub's OpenAPI
        # description of workflow-run.pull_requests).
        "pull_requests": [],
        **fields,
    }


def test_the_reviewed_plan_is_found_from_the_merge_commit(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Merge commit -> its merged pull request -> the pull request's head commit -> the newest
    successful plan run of that commit that recorded change sets (an edit's run records none)."""
    answers = {
        "repos.listPullRequestsAssociatedWithCommit": [
            {"number": 3, "merged_at": None, "merge_commit_sha": "x", "user": {"login": "z"}},
            _merged_pr(),
        ],
        "pulls.listCommits": [{"author": {"login": "pair"}, "committer": {"login": "web-flow"}}],
        "pulls.list": [_merged_pr()],
        "actions.listWorkflowRuns": [_plan_run(40), _plan_run(42), _plan_run(41)],
        "actions.listWorkflowRunArtifacts": {
            "__by": "run_id",
            "values": {
                "42": [{"name": "reports", "expired": False}],
                "41": [{"name": "change-sets", "expired": False}],
                "40": [{"name": "change-sets", "expired": False}],
            },
        },
    }
    out = _reviewed(workflows, tmp_path, answers)
    assert out["outputs"]["run-id"] == "41"
    assert out["outputs"]["head-sha"] == HEAD and out["outputs"]["base-ref"] == "main"
    assert out["outputs"]["pull-request"] == "7"
    assert out["outputs"]["label"] == "PR #7, plan run https://x/41"
    assert json.loads(out["outputs"]["authors"]) == ["author", "merger", "pair"]
    (query,) = calls_named(out, "actions.listWorkflowRuns")
    assert query["head_sha"] == HEAD and query["status"] == "success"
    assert query["workflow_id"] == "plan.yml" and query["event"] == "pull_request"
    (siblings,) = calls_named(out, "pulls.list")
    assert siblings["state"] == "all" and siblings["head"] == "o:feat"
    none = _reviewed(workflows, tmp_path / "b", {"repos.listPullRequestsAssociatedWithCommit": []})
    assert "run-id" not in none["outputs"] and none["outputs"]["compare"] == "true"


FORGED = {"name": "change-sets", "expired": False}


@pytest.mark.parametrize(
    ("case", "runs", "siblings"),
    [
        # PR #2 (feat @ same head -> evil-base) still open: its run says whose it is.
        (
            "second PR open",
            [
                _plan_run(
                    52,
                    pull_requests=[{"number": 8, "base": {"ref": "evil-base"}}],
                ),
                _plan_run(51),
            ],
            [_merged_pr(), {**_merged_pr(8, "evil-base"), "merged_at": None}],
        ),
        # PR #2 closed before the merge: no run lists a pull request any more, so no run of
        # that head commit can be attributed; none is taken.
        (
            "second PR closed",
            [_plan_run(52), _plan_run(51)],
            [_merged_pr(), {**_merged_pr(8, "evil-base"), "merged_at": None}],
        ),
        # The same head commit pushed to another branch for the second pull request.
        (
            "other head branch",
            [_plan_run(52, head_branch="feat2")],
            [_merged_pr()],
        ),
        # Another workflow file of the plan workflow's name (path differs).
        (
            "other workflow file",
            [_plan_run(52, path=".github/workflows/plan-copy.yml")],
            [_merged_pr()],
        ),
        (
            "another pull request's merge ref",
            [_plan_run(52, path=".github/workflows/plan.yml@refs/pull/8/merge")],
            [_merged_pr()],
        ),
        (
            "a fork's branch of that name",
            [_plan_run(52, head_repository={"full_name": "w/r"})],
            [_merged_pr()],
        ),
    ],
)
def test_a_second_pull_request_of_the_same_head_into_another_base_is_not_the_review(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    case: str,
    runs: list[dict[str, Any]],
    siblings: list[dict[str, Any]],
) -> None:
    """Audit F2: a writer opens PR #8 from the reviewed PR #7's head commit into a base branch
    of their own, whose edited plan.yml uploads a change set equal to what the deploy will plan
    (and a meta.json naming PR #7's head and base). That run is newer than PR #7's own. It is
    never taken as PR #7's review: the deploy finds no reviewed plan, which needs the explicit
    approval."""
    answers = {
        "repos.listPullRequestsAssociatedWithCommit": [_merged_pr()],
        "pulls.listCommits": [],
        "pulls.list": siblings,
        "actions.listWorkflowRuns": runs,
        "actions.listWorkflowRunArtifacts": [FORGED],
    }
    out = _reviewed(workflows, tmp_path, answers)
    assert "run-id" not in out["outputs"], case
    assert out["outputs"]["label"].startswith("PR #7, ")
    assert "plan run https://x/52" not in out["outputs"]["label"]
    # And the gate then stops for the approval (nothing reviewed, in a compared environment).
    gate = _gate(workflows, tmp_path / "gate", "update_sensitive.json", None)
    assert gate.outputs["approval"] == "no reviewed plan"
    # The control: had the forged change set (equal to the deploy's plan) been taken, the gate
    # would have said "As reviewed" and skipped the approval.
    forged = _gate(workflows, tmp_path / "forged", "update_sensitive.json", "update_sensitive.json")
    assert forged.outputs["approval"] == "" and "**As reviewed:**" in forged.summary


def test_an_open_sibling_of_the_same_base_does_not_hide_the_review(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The control of the test above: PR #7's own run is taken when nothing else proposes its
    head commit into another base (a run listing PR #7 into main is fine)."""
    answers = {
        "repos.listPullRequestsAssociatedWithCommit": [_merged_pr()],
        "pulls.listCommits": [],
        "pulls.list": [_merged_pr()],
        "actions.listWorkflowRuns": [
            _plan_run(53, path=".github/workflows/plan.yml@refs/pull/8/merge"),
            _plan_run(51, pull_requests=[{"number": 7, "base": {"ref": "main"}}]),
            _plan_run(52, path=".github/workflows/plan.yml@refs/pull/7/merge"),
        ],
        "actions.listWorkflowRunArtifacts": [FORGED],
    }
    out = _reviewed(workflows, tmp_path, answers)
    # 53 is PR #8's merge ref; 52 PR #7's own (newest of PR #7's runs).
    assert out["outputs"]["run-id"] == "52"


@pytest.mark.parametrize(
    ("head", "base", "number", "kept"),
    [
        ("h", "main", "7", True),
        ("other", "main", "7", False),
        ("h", "evil-base", "7", False),
        ("h", "main", "8", False),
        ("h", "main", "", False),
    ],
)
def test_only_change_sets_of_that_pull_request_are_kept(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    head: str,
    base: str,
    number: str,
    kept: bool,
) -> None:
    step = step_named(
        jobs(workflows[DEPLOY])["reviewed"],
        "This environment's change sets, if they are of that pull request",
    )
    folder = tmp_path / "runner_temp" / "change-sets" / "dev"
    folder.mkdir(parents=True)
    meta = {"head_sha": "h", "base_ref": "main", "pull_request": 7}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "dev.change-set.json").write_text("{}")
    env = {"ENVIRONMENT": "dev", "HEAD_SHA": head, "BASE_REF": base, "PULL_REQUEST": number}
    run_step(step["run"], env, tmp_path)
    assert (tmp_path / "runner_temp" / "reviewed" / "dev.change-set.json").exists() is kept


# --- approvals: never by an author of the change ----------------------------------------------


@pytest.mark.parametrize(
    ("job_id", "environment"),
    [
        ("apply-platform", "uat"),
        ("apply-workspace", "prod"),
        ("approve-platform", "deploy-approval"),
    ],
)
def test_an_author_of_the_change_cannot_approve_its_deploy(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, job_id: str, environment: str
) -> None:
    """GitHub's self-review prevention excludes only who triggered the run (the merger, the
    tag's pusher); the pull request's author and its committers are refused here too."""
    script, env = github_script(
        jobs(workflows[DEPLOY])[job_id], "The approver is not an author of the change"
    )
    env.update({"ENVIRONMENT": environment, "AUTHORS": '["author", "pair"]'})
    context = {"repo": {"owner": "o", "repo": "r"}, "runId": 9}

    def review(login: str, name: str) -> dict[str, Any]:
        return {"state": "approved", "environments": [{"name": name}], "user": {"login": login}}

    out = run_github_script(
        script,
        tmp_path,
        context=context,
        answers={"actions.getReviewsForRun": [review("pair", environment), review("lead", "x")]},
        env=env,
    )
    assert out["failed"] and "@pair approved" in out["failed"]
    out = run_github_script(
        script,
        tmp_path / "ok",
        context=context,
        answers={"actions.getReviewsForRun": [review("lead", environment)]},
        env=env,
    )
    assert out["failed"] is None and any("approved by @lead" in i for i in out["infos"])


APPROVER_JOBS = ("approve-platform", "approve-workspace", "apply-platform", "apply-workspace")


@pytest.mark.parametrize("job_id", APPROVER_JOBS)
@pytest.mark.parametrize(
    ("environment", "required"),
    [("deploy-approval", True), ("uat", True), ("prod", True), ("dev", False), ("sandbox", False)],
)
def test_a_job_that_needs_an_approval_fails_when_none_is_recorded(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    job_id: str,
    environment: str,
    required: bool,
) -> None:
    """Audit F4: an administrator's "bypass protection rules", or an environment that lost its
    reviewers (or was auto-created by the first run before apply-settings.sh), lets the job run
    with no approval recorded. In an environment with required reviewers that is a failure,
    not "none required"; dev and sandbox need none."""
    script, env = github_script(
        jobs(workflows[DEPLOY])[job_id], "The approver is not an author of the change"
    )
    env.update({"ENVIRONMENT": environment, "AUTHORS": '["author"]'})
    context = {"repo": {"owner": "o", "repo": "r"}, "runId": 9}
    other = [{"state": "approved", "environments": [{"name": "x"}], "user": {"login": "lead"}}]
    out = run_github_script(
        script, tmp_path, context=context, answers={"actions.getReviewsForRun": other}, env=env
    )
    if required:
        assert out["failed"] and "none is recorded for this run" in out["failed"]
        assert environment in out["failed"]
    else:
        assert out["failed"] is None
        assert any("none required" in i for i in out["infos"])


def test_the_approvers_check_knows_the_environments_with_reviewers(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """The list in the workflow is the environments marked with reviewers in
    tools/github/environments.json, in every job that checks approvers."""
    spec = json.loads((ROOT / "tools" / "github" / "environments.json").read_text())
    with_reviewers = {
        name for name, v in spec.items() if not name.startswith("_") and v["reviewers"]
    }
    for job_id in APPROVER_JOBS:
        _, env = github_script(
            jobs(workflows[DEPLOY])[job_id], "The approver is not an author of the change"
        )
        assert set(json.loads(env["APPROVAL_REQUIRED"])) == with_reviewers, job_id


# --- never an older commit, never interleaved -------------------------------------------------


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, str, str]:
    """A checkout as the route job has it (fetch-depth 0): main with two commits."""
    origin, work, ci = tmp_path / "origin.git", tmp_path / "work", tmp_path / "ci"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "older")
    older = git(work, "rev-parse", "HEAD")
    git(work, "commit", "-q", "--allow-empty", "-m", "newer")
    tip = git(work, "rev-parse", "HEAD")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", "--no-local", str(origin), str(ci))
    return ci, older, tip


def _tip_step(workflows, tmp_path, cwd, **env):
    """The route job's step, in a checkout: the git history of `cwd`, this repository's tools."""
    step = step_named(jobs(workflows[DEPLOY])["route"], "tip")
    return run_step(
        step["run"], {"CREATED": "false", "PYTHONPATH": str(ROOT), **env}, tmp_path, cwd=cwd
    )


def test_an_older_commit_is_refused(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, clone: tuple[Path, str, str]
) -> None:
    """Re-running an old run carries its old commit: the route job refuses it; the newest
    commit deploys."""
    ci, older, tip = clone
    refused = _tip_step(workflows, tmp_path, ci, REF="refs/heads/main", SHA=older)
    assert refused.rc == 1 and "is not the tip of main" in refused.stderr
    assert "deploy" not in refused.outputs
    accepted = _tip_step(workflows, tmp_path, ci, REF="refs/heads/main", SHA=tip)
    assert accepted.rc == 0 and accepted.outputs["deploy"] == "true"


@pytest.mark.parametrize("job_id", ["apply-platform", "apply-workspace"])
def test_an_apply_approved_after_a_newer_commit_landed_is_refused(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, job_id: str
) -> None:
    """An approval can come days later; by then the newer commit's run waits behind this one
    (the workflow's concurrency group), and this run must not apply its older commit."""
    script, env = github_script(jobs(workflows[DEPLOY])[job_id], "Still the commit to deploy")
    context = {
        "repo": {"owner": "o", "repo": "r"},
        "ref": "refs/heads/release/1.4",
        "sha": "a" * 40,
    }
    moved = run_github_script(
        script,
        tmp_path,
        context=context,
        answers={"repos.getBranch": {"commit": {"sha": "b" * 40}}},
    )
    assert "would deploy an older commit" in moved["failed"]
    assert calls_named(moved, "repos.getBranch")[0]["branch"] == "release/1.4"
    same = run_github_script(
        script,
        tmp_path / "s",
        context=context,
        answers={"repos.getBranch": {"commit": {"sha": "a" * 40}}},
    )
    assert same["failed"] is None
    # A tag: an annotated tag object is followed to its commit.
    tag_context = {**context, "ref": "refs/tags/v1.4.0"}
    answers = {
        "git.getRef": {"object": {"type": "tag", "sha": "t" * 40}},
        "git.getTag": {"object": {"sha": "a" * 40}},
    }
    tagged = run_github_script(script, tmp_path / "t", context=tag_context, answers=answers)
    assert tagged["failed"] is None
    assert calls_named(tagged, "git.getRef")[0]["ref"] == "tags/v1.4.0"


def test_creating_a_release_branch_deploys_nothing(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """uat's first deploy of a release is the merge of a pull request into the branch, which
    planned uat and prod at pull-request time."""
    run = _tip_step(
        workflows, tmp_path, tmp_path, REF="refs/heads/release/1.5", SHA="x", CREATED="true"
    )
    assert run.rc == 0 and run.outputs["deploy"] == "false"
    assert "Nothing deployed" in run.stdout
    deploy = jobs(workflows[DEPLOY])
    for job_id in ("synth", "reviewed"):
        assert deploy[job_id]["if"] == "needs.route.outputs.deploy == 'true'"
    assert deploy["route"]["steps"][0]["with"]["fetch-depth"] == 0


def test_deploys_of_one_environment_never_interleave(workflows: dict[str, dict[str, Any]]) -> None:
    """One concurrency group for the whole run of an environment (rendered for every trigger in
    test_workflows.py), never cancelled; no job opens a group of its own."""
    deploy = workflows[DEPLOY]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert deploy["concurrency"]["group"].startswith("deploy-${{")
    assert not [j for j, job in jobs(deploy).items() if "concurrency" in job]


# --- runners ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "runners", "rc", "runner"),
    [
        ("prod", '{"prod": "deploy-prod"}', 0, "deploy-prod"),
        ("dev", '{"prod": "deploy-prod"}', 0, "ubuntu-24.04"),
        ("uat", '{"uat": "deploy-prod"}', 1, None),
        ("dev", '{"dev": "deploy-uat"}', 1, None),
    ],
)
def test_a_foreign_runner_label_is_refused(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    environment: str,
    runners: str,
    rc: int,
    runner: str | None,
) -> None:
    step = step_named(jobs(workflows[DEPLOY])["route"], "runner")
    assert step["env"]["RUNNERS"] == "${{ vars.WORKSPACE_RUNNERS }}"
    run = run_step(step["run"], {"ENVIRONMENT": environment, "RUNNERS": runners}, tmp_path)
    assert run.rc == rc
    if runner is None:
        assert "Deploy refused" in run.stderr and run.outputs == {}
    else:
        assert run.outputs["runner"] == runner


# --- a stale workspace plan -------------------------------------------------------------------


@pytest.mark.parametrize(("serial", "rc"), [(1, 0), (2, 1)])
def test_a_stale_workspace_plan_is_refused(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    terraform: tuple[Path, Path],
    serial: int,
    rc: int,
) -> None:
    """The workspace plan records the platform state (lineage and serial) it read the
    platform's outputs from; if that state moved before the workspace apply (another apply, a
    manual change), the apply is refused instead of applying against outdated outputs."""
    bin_dir, log = terraform
    work = stack_dirs(tmp_path, "dev", "dev-workspace")
    saved = tmp_path / "runner_temp" / "plan" / "dev-workspace"
    saved.mkdir(parents=True)
    (saved / "platform-state.json").write_text('{"lineage": "L", "serial": 1}')
    step = step_named(
        jobs(workflows[DEPLOY])["apply-workspace"],
        "Refuse a stale workspace plan (the platform state moved since it was made)",
    )
    state = json.dumps({"version": 4, "lineage": "L", "serial": serial, "outputs": {}})
    run = run_step(
        step["run"],
        {
            "ENVIRONMENT": "dev",
            "STACK": "dev-workspace",
            "FAKE_TF_LOG": str(log),
            "FAKE_TF_STATE_dev": state,
        },
        tmp_path,
        cwd=work,
        bin_dir=bin_dir,
    )
    assert run.rc == rc
    if rc:
        assert "Stale workspace plan" in run.stdout and '"serial":2' in run.stdout
    names = [s.get("name", "") for s in jobs(workflows[DEPLOY])["apply-workspace"]["steps"]]
    assert names.index(step["name"]) < names.index(
        "terraform apply of the reviewed plan file (workspace stack)"
    )
