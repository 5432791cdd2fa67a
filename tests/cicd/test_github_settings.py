"""Repository rulesets and GitHub environments (tools/github/): the data, and the `gh api`
script that applies it, run against a fake `gh`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT, load_workflow
from tests.cicd.expressions import render
from tests.cicd.harness import FAKE_GH, fake_bin, run_step

GITHUB = ROOT / "tools" / "github"
SCRIPT = GITHUB / "apply-settings.sh"
ACTIONS_APP_ID = 15368  # the GitHub Actions app: only its checks satisfy the rule


def rulesets() -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((GITHUB / "rulesets").glob("*.json"))
    }


def rule(ruleset: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [r for r in ruleset["rules"] if r["type"] == kind]
    return found.get("parameters", {})


def _gate_name(base: str, tmp_path: Path) -> str:
    """The required check's name, rendered from plan.yml's own targets step."""
    plan = load_workflow("plan.yml")
    step = next(s for s in plan["jobs"]["targets"]["steps"] if s.get("id") == "targets")
    run = run_step(step["run"], {"BASE_REF": base, "ACTION": "opened"}, tmp_path)
    assert run.rc == 0
    return render(plan["jobs"]["gate"]["name"], {"needs": {"targets": {"outputs": run.outputs}}})


def test_main_and_release_branches_need_review_and_the_required_checks(tmp_path: Path) -> None:
    sets = rulesets()
    test_job = load_workflow("checks.yml")["jobs"]["test"]["name"]
    for name, include, base in (
        ("main", "~DEFAULT_BRANCH", "main"),
        ("release-branches", "refs/heads/release/**", "release/1.4"),
    ):
        ruleset = sets[name]
        assert ruleset["target"] == "branch" and ruleset["enforcement"] == "active"
        assert ruleset["conditions"]["ref_name"]["include"] == [include]
        assert ruleset["bypass_actors"] == []
        review = rule(ruleset, "pull_request")
        assert review["required_approving_review_count"] >= 1
        assert review["dismiss_stale_reviews_on_push"] is True
        assert review["require_last_push_approval"] is True
        # A change to the workflows, the gate's tool or the protected list needs a code owner.
        assert review["require_code_owner_review"] is True
        checks = rule(ruleset, "required_status_checks")
        assert checks["strict_required_status_checks_policy"] is True
        # The required checks are the workflows' own job names, from GitHub Actions only; the
        # plan gate's name says which environments it planned (a retargeted pull request's
        # earlier gate satisfies no other branch's ruleset).
        expected = {test_job, _gate_name(base, tmp_path)}
        assert {c["context"] for c in checks["required_status_checks"]} == expected
        assert {c["integration_id"] for c in checks["required_status_checks"]} == {ACTIONS_APP_ID}
        rule(ruleset, "deletion")
        rule(ruleset, "non_fast_forward")
    assert _gate_name("main", tmp_path) == "plan gate (dev)"
    assert _gate_name("release/1.4", tmp_path) == "plan gate (uat, prod)"


CODEOWNERS = ROOT / ".github" / "CODEOWNERS"
OWNED = (
    ".github/workflows/plan.yml",
    ".github/CODEOWNERS",
    "tools/plan_summary/report.py",
    "tools/release_guard.py",
    "tools/github/apply-settings.sh",
    "providers/.terraform.lock.hcl",
    "constructs_lib/policy/stateful.py",
    "config/shared/plan_summary.yaml",
    "stacks/bootstrap_stack.py",
)
"""What decides the gate or what is protected: the workflows, the summary tool, the policy pack
and its stateful-types list, the shared configuration, the bootstrap stack."""


def _owners(path: str) -> list[str]:
    """GitHub's rule: the last matching line wins (gitignore-style patterns; the ones here are
    anchored directories, files and one trailing wildcard)."""
    owners: list[str] = []
    for line in CODEOWNERS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, *who = line.split()
        pattern = pattern.lstrip("/")
        if pattern.endswith("/"):
            hit = path.startswith(pattern)
        elif pattern.endswith("*"):
            hit = path.startswith(pattern[:-1])
        else:
            hit = path == pattern
        if hit:
            owners = who
    return owners


@pytest.mark.parametrize("path", OWNED)
def test_code_owners_guard_what_decides_the_gate(path: str) -> None:
    assert (ROOT / path).exists(), path
    assert _owners(path) == ["@databricks-mlops-cdktf/platform-owners"]


def test_environments_match_the_workflows_and_protect_deploys() -> None:
    spec = json.loads((GITHUB / "environments.json").read_text(encoding="utf-8"))
    envs = {k: v for k, v in spec.items() if not k.startswith("_")}
    assert set(envs) == {
        *("sandbox", "dev", "uat", "prod"),
        *("sandbox-plan", "dev-plan", "uat-plan", "prod-plan"),
        "deploy-approval",
        "dev-smoke",
    }
    assert [e for e, v in envs.items() if v["reviewers"]] == ["uat", "prod", "deploy-approval"]
    assert envs["prod"]["refs"] == [
        {"name": "release/*", "type": "branch"},
        {"name": "v*", "type": "tag"},
    ]
    assert envs["dev"]["refs"] == [{"name": "main", "type": "branch"}]
    # Plans come from pull requests of any branch: the plan environments cannot restrict them,
    # which is why their identities only read.
    for name in ("sandbox-plan", "dev-plan", "uat-plan", "prod-plan"):
        assert envs[name] == {"reviewers": False, "refs": []}
    # The smoke identity runs jobs only, and only for what was merged to main.
    assert envs["dev-smoke"] == {"reviewers": False, "refs": [{"name": "main", "type": "branch"}]}
    # Every workflow job in deploy-approval is an approval only: no token, no checkout.
    deploy = load_workflow("deploy.yml")
    approvers = [j for j in deploy["jobs"].values() if j.get("environment") == "deploy-approval"]
    assert len(approvers) == 2
    for job in approvers:
        assert "id-token" not in job["permissions"]
        assert not any(s.get("uses", "").startswith("actions/checkout@") for s in job["steps"])


def test_release_tags_are_immutable_and_only_admins_create_releases() -> None:
    sets = rulesets()
    tags = sets["release-tags"]
    assert tags["target"] == "tag" and tags["conditions"]["ref_name"]["include"] == ["refs/tags/v*"]
    assert {r["type"] for r in tags["rules"]} == {"update", "deletion", "non_fast_forward"}
    assert tags["bypass_actors"] == []
    admin_only = [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]
    for name, target, ref in (
        ("release-tag-creation", "tag", "refs/tags/v*"),
        ("release-branch-creation", "branch", "refs/heads/release/**"),
    ):
        ruleset = sets[name]
        assert ruleset["target"] == target
        assert ruleset["conditions"]["ref_name"]["include"] == [ref]
        assert [r["type"] for r in ruleset["rules"]] == ["creation"]
        assert ruleset["bypass_actors"] == admin_only
    # A bypass actor bypasses every rule of its ruleset: the creation rules stand alone.
    for name, ruleset in sets.items():
        if ruleset["bypass_actors"]:
            assert [r["type"] for r in ruleset["rules"]] == ["creation"], name


def _run(tmp_path: Path, answers: dict[str, str], *args: str):
    log = tmp_path / "gh.log"
    log.write_text("", encoding="utf-8")
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    bin_dir = fake_bin(tmp_path, gh=FAKE_GH)
    run = run_step(
        f'set -euo pipefail\n"{SCRIPT}" {" ".join(args)}',
        {"FAKE_GH_LOG": str(log), "FAKE_GH_ANSWERS": str(answers_file)},
        tmp_path,
        bin_dir=bin_dir,
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return run, calls


REPO = "databricks-mlops-cdktf/mlops"
TEAM = "team:platform-owners"


def _answers(**extra: str) -> dict[str, str]:
    return {
        "orgs/databricks-mlops-cdktf/teams/platform-owners": "42",
        f"repos/{REPO}/codeowners/errors": "0",
        f"repos/{REPO}/rulesets": "main\t7\nrelease-tags\t9",
        f"repos/{REPO}/environments/dev/deployment-branch-policies": "1 branch main",
        f"repos/{REPO}/environments/uat/deployment-branch-policies": "3 branch feature/*",
        f"repos/{REPO}/environments/prod/deployment-branch-policies": "5 branch release/*",
        # What GitHub stores (read back): no admin bypass where there is something to bypass.
        **{f"repos/{REPO}/environments/{e}": "false" for e in PROTECTED},
        **extra,
    }


# The environments with reviewers or deployment refs: an admin bypass would skip them.
PROTECTED = ("dev", "uat", "prod", "deploy-approval", "dev-smoke")


def _calls(calls: list[dict], method: str, suffix: str = "") -> list[str]:
    return [
        c["args"][3]
        for c in calls
        if c["args"][1:3] == ["--method", method] and c["args"][3].endswith(suffix)
    ]


def test_apply_script_creates_missing_and_updates_existing_rulesets(tmp_path: Path) -> None:
    run, calls = _run(tmp_path, _answers(), REPO, "--reviewers", TEAM)
    assert run.rc == 0, run.stderr
    methods = [(c["args"][2], c["args"][3]) for c in calls if c["args"][1] == "--method"]
    sets = rulesets()
    for name, ruleset in sets.items():
        expected = {"main": f"repos/{REPO}/rulesets/7", "release-tags": f"repos/{REPO}/rulesets/9"}
        if name in expected:
            assert ("PUT", expected[name]) in methods
        sent = [json.loads(c["input"]) for c in calls if c["input"] and '"rules"' in c["input"]]
        assert ruleset in sent
    assert methods.count(("POST", f"repos/{REPO}/rulesets")) == len(sets) - 2
    # Environments: reviewers only where marked, with self-review prevented.
    bodies = {
        c["args"][3].rsplit("/", 1)[1]: json.loads(c["input"])
        for c in calls
        if c["args"][1:3] == ["--method", "PUT"] and "/environments/" in c["args"][3]
    }
    assert set(bodies) == {
        *("sandbox", "dev", "uat", "prod"),
        *("sandbox-plan", "dev-plan", "uat-plan", "prod-plan"),
        "deploy-approval",
        "dev-smoke",
    }
    assert bodies["prod"]["reviewers"] == [{"type": "Team", "id": 42}]
    assert bodies["prod"]["prevent_self_review"] is True
    # Audit F4: repository admins cannot bypass the reviewers or the deployment refs.
    assert {e: b["can_admins_bypass"] for e, b in bodies.items()} == dict.fromkeys(bodies, False)
    read_back = [
        c["args"][1] for c in calls if "--jq" in c["args"] and c["args"][-1] == ".can_admins_bypass"
    ]
    assert sorted(read_back) == sorted(f"repos/{REPO}/environments/{e}" for e in PROTECTED)
    assert bodies["deploy-approval"]["reviewers"] == [{"type": "Team", "id": 42}]
    assert bodies["deploy-approval"]["deployment_branch_policy"] is None
    assert bodies["prod"]["deployment_branch_policy"] == {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    assert (
        bodies["dev-plan"]["reviewers"] == []
        and bodies["dev-plan"]["deployment_branch_policy"] is None
    )
    # Branch policies: the missing ones are added, the unmanaged one (uat: feature/*) removed.
    added = [
        (c["args"][3].split("/")[4], c["args"][5], c["args"][7])
        for c in calls
        if c["args"][1:3] == ["--method", "POST"]
        and c["args"][3].endswith("deployment-branch-policies")
    ]
    assert sorted(added) == sorted(
        [
            ("prod", "name=v*", "type=tag"),
            ("dev-smoke", "name=main", "type=branch"),
            ("uat", "name=main", "type=branch"),
            ("uat", "name=release/*", "type=branch"),
        ]
    )
    assert _calls(calls, "DELETE") == [
        f"repos/{REPO}/environments/uat/deployment-branch-policies/3"
    ]
    assert "removed the unmanaged deployment policy branch feature/*" in run.stdout
    assert "environment prod: reviewers, deploys from release/*, v*" in run.stdout


@pytest.mark.parametrize("stored", ["true", ""])
def test_the_script_stops_when_github_keeps_the_admin_bypass(tmp_path: Path, stored: str) -> None:
    """GitHub's REST reference does not list can_admins_bypass among the fields "Create or
    update an environment" accepts: what GitHub stored is read back, and an environment whose
    reviewers an admin could still bypass stops the script (exit 1) before the next one."""
    answers = _answers(**{f"repos/{REPO}/environments/prod": stored})
    run, calls = _run(tmp_path, answers, REPO, "--reviewers", TEAM)
    assert run.rc == 1
    assert "environment prod: GitHub reports can_admins_bypass=" in run.stderr
    assert "Allow administrators to bypass configured protection rules" in run.stderr
    written = [c["args"][3] for c in calls if c["args"][1:3] == ["--method", "PUT"]]
    assert f"repos/{REPO}/environments/prod" in written
    assert f"repos/{REPO}/environments/sandbox" not in written  # after prod, alphabetically


@pytest.mark.parametrize(
    ("reviewers", "answers", "message"),
    [
        (
            "team:release-managers",
            {"orgs/databricks-mlops-cdktf/teams/release-managers": "7"},
            "must name @databricks-mlops-cdktf/release-managers",
        ),
        (TEAM, {f"repos/{REPO}/codeowners/errors": "2"}, "GitHub reports 2 error(s)"),
    ],
)
def test_rulesets_are_not_applied_while_code_owners_would_not_be_required(
    tmp_path: Path, reviewers: str, answers: dict[str, str], message: str
) -> None:
    """Code-owner review is only as good as CODEOWNERS: a line naming someone else than the
    approving team, or an owner GitHub cannot resolve (which GitHub silently ignores), stops
    the script before any ruleset is written."""
    run, calls = _run(tmp_path, _answers(**answers), REPO, "--reviewers", reviewers)
    assert run.rc == 2 and message in run.stderr
    assert not [c for c in calls if "--method" in c["args"]]


def test_runner_groups_admit_only_the_deploy_workflow_at_the_environments_refs(
    tmp_path: Path,
) -> None:
    """One group per environment with self-hosted runners (runners.json), for this repository
    only, no public repositories, restricted to deploy.yml at the refs the environment deploys
    from as they exist now: GitHub matches selected workflows on the exact ref, without
    patterns, so release/* and v* are expanded (the newest release tag only, the one the
    deploy workflow deploys)."""
    answers = _answers(
        **{
            f"repos/{REPO}": "1234",
            f"repos/{REPO}/branches": "main\nrelease/1.3\nrelease/1.4\nfeature/x",
            f"repos/{REPO}/tags": "v1.4.0\nv1.10.1\nv1.10.0-rc.1\nv1.9.0",
            "orgs/databricks-mlops-cdktf/actions/runner-groups": "mlops-deploy-prod\t11",
            "POST orgs/databricks-mlops-cdktf/actions/runner-groups": "12",
        }
    )
    run, calls = _run(tmp_path, answers, REPO, "--reviewers", TEAM, "--runner-groups")
    assert run.rc == 0, run.stderr
    bodies = {
        (c["args"][2], c["args"][3]): json.loads(c["input"])
        for c in calls
        if c["args"][1] == "--method" and "runner-groups" in c["args"][3]
    }
    prod = bodies[("PATCH", "orgs/databricks-mlops-cdktf/actions/runner-groups/11")]
    uat = bodies[("POST", "orgs/databricks-mlops-cdktf/actions/runner-groups")]
    wf = f"{REPO}/.github/workflows/deploy.yml@"
    assert prod == {
        "name": "mlops-deploy-prod",
        "visibility": "selected",
        "allows_public_repositories": False,
        "restricted_to_workflows": True,
        "selected_workflows": [
            f"{wf}refs/heads/release/1.3",
            f"{wf}refs/heads/release/1.4",
            f"{wf}refs/tags/v1.10.1",
        ],
    }
    assert uat["name"] == "mlops-deploy-uat" and uat["selected_workflows"] == [
        f"{wf}refs/heads/main",
        f"{wf}refs/heads/release/1.3",
        f"{wf}refs/heads/release/1.4",
    ]
    for group in (11, 12):
        key = ("PUT", f"orgs/databricks-mlops-cdktf/actions/runner-groups/{group}/repositories")
        assert bodies[key] == {"selected_repository_ids": [1234]}


def test_jit_runner_is_ephemeral_in_the_environments_group_with_its_label(
    tmp_path: Path,
) -> None:
    answers = {
        "orgs/acme/actions/runner-groups": "mlops-deploy-prod\t11",
        "POST orgs/acme/actions/runners/generate-jitconfig": "ZW5jb2RlZA==",
    }
    log = tmp_path / "gh.log"
    log.write_text("", encoding="utf-8")
    (tmp_path / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    run = run_step(
        f'set -euo pipefail\n"{GITHUB / "jit-runner.sh"}" acme/mlops prod runner-1',
        {"FAKE_GH_LOG": str(log), "FAKE_GH_ANSWERS": str(tmp_path / "answers.json")},
        tmp_path,
        bin_dir=fake_bin(tmp_path, gh=FAKE_GH),
    )
    assert run.rc == 0, run.stderr
    assert run.stdout.strip() == "ZW5jb2RlZA=="
    (post,) = [json.loads(line) for line in log.read_text().splitlines() if "POST" in line]
    assert json.loads(post["input"]) == {
        "name": "runner-1",
        "runner_group_id": 11,
        "labels": ["deploy-prod"],
        "work_folder": "_work",
    }
    refused = run_step(
        f'set -euo pipefail\n"{GITHUB / "jit-runner.sh"}" acme/mlops dev runner-1',
        {"FAKE_GH_LOG": str(log), "FAKE_GH_ANSWERS": str(tmp_path / "answers.json")},
        tmp_path,
        bin_dir=fake_bin(tmp_path, gh=FAKE_GH),
    )
    assert refused.rc == 2 and "dev has no runners" in refused.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("acme/mlops",),
        ("acme/mlops", "--reviewers", "everyone"),
        ("not a repo", "--reviewers", "user:a"),
        ("acme/mlops", "--reviewers", "user:a", "--everything"),
    ],
)
def test_apply_script_refuses_bad_arguments(tmp_path: Path, args: tuple[str, ...]) -> None:
    quoted = tuple(f"'{a}'" for a in args)
    run, calls = _run(tmp_path, {}, *quoted)
    assert run.rc == 2 and "usage:" in run.stderr
    assert calls == []
