"""Repository rulesets and GitHub environments (tools/github/): the data, and the `gh api`
script that applies it, run against a fake `gh`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT, load_workflow
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


def test_main_and_release_branches_need_review_and_the_required_checks() -> None:
    sets = rulesets()
    job_names = {
        load_workflow("checks.yml")["jobs"]["test"]["name"],
        load_workflow("plan.yml")["jobs"]["gate"]["name"],
    }
    for name, include in (
        ("main", "~DEFAULT_BRANCH"),
        ("release-branches", "refs/heads/release/**"),
    ):
        ruleset = sets[name]
        assert ruleset["target"] == "branch" and ruleset["enforcement"] == "active"
        assert ruleset["conditions"]["ref_name"]["include"] == [include]
        assert ruleset["bypass_actors"] == []
        review = rule(ruleset, "pull_request")
        assert review["required_approving_review_count"] >= 1
        assert review["dismiss_stale_reviews_on_push"] is True
        assert review["require_last_push_approval"] is True
        checks = rule(ruleset, "required_status_checks")
        assert checks["strict_required_status_checks_policy"] is True
        # The required checks are the workflows' own job names, from GitHub Actions only.
        assert {c["context"] for c in checks["required_status_checks"]} == job_names
        assert {c["integration_id"] for c in checks["required_status_checks"]} == {ACTIONS_APP_ID}
        rule(ruleset, "deletion")
        rule(ruleset, "non_fast_forward")


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


def test_environments_match_the_workflows_and_protect_deploys() -> None:
    spec = json.loads((GITHUB / "environments.json").read_text(encoding="utf-8"))
    envs = {k: v for k, v in spec.items() if not k.startswith("_")}
    assert set(envs) == {
        *("sandbox", "dev", "uat", "prod"),
        *("sandbox-plan", "dev-plan", "uat-plan", "prod-plan"),
        "dev-smoke",
    }
    assert [e for e, v in envs.items() if v["reviewers"]] == ["uat", "prod"]
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


def test_apply_script_creates_missing_and_updates_existing_rulesets(tmp_path: Path) -> None:
    answers = {
        "orgs/acme/teams/release-managers": "42",
        "repos/acme/mlops/rulesets": "main\t7\nrelease-tags\t9",
        "repos/acme/mlops/environments/dev/deployment-branch-policies": "branch main",
        "repos/acme/mlops/environments/uat/deployment-branch-policies": "",
        "repos/acme/mlops/environments/prod/deployment-branch-policies": "branch release/*",
    }
    run, calls = _run(tmp_path, answers, "acme/mlops", "--reviewers", "team:release-managers")
    assert run.rc == 0, run.stderr
    methods = [(c["args"][2], c["args"][3]) for c in calls if c["args"][1] == "--method"]
    sets = rulesets()
    for name, ruleset in sets.items():
        expected = {
            "main": "repos/acme/mlops/rulesets/7",
            "release-tags": "repos/acme/mlops/rulesets/9",
        }
        if name in expected:
            assert ("PUT", expected[name]) in methods
        sent = [json.loads(c["input"]) for c in calls if c["input"] and '"rules"' in c["input"]]
        assert ruleset in sent
    assert methods.count(("POST", "repos/acme/mlops/rulesets")) == len(sets) - 2
    # Environments: reviewers only where marked, with self-review prevented.
    bodies = {
        c["args"][3].rsplit("/", 1)[1]: json.loads(c["input"])
        for c in calls
        if c["args"][1:3] == ["--method", "PUT"] and "/environments/" in c["args"][3]
    }
    assert set(bodies) == {
        "sandbox",
        "dev",
        "uat",
        "prod",
        "sandbox-plan",
        "dev-plan",
        "uat-plan",
        "prod-plan",
        "dev-smoke",
    }
    assert bodies["prod"]["reviewers"] == [{"type": "Team", "id": 42}]
    assert bodies["prod"]["prevent_self_review"] is True
    assert bodies["prod"]["deployment_branch_policy"] == {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    assert (
        bodies["dev-plan"]["reviewers"] == []
        and bodies["dev-plan"]["deployment_branch_policy"] is None
    )
    # Branch policies: only the missing ones are added.
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
    assert "environment prod: reviewers, deploys from release/*, v*" in run.stdout


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("acme/mlops",),
        ("acme/mlops", "--reviewers", "everyone"),
        ("not a repo", "--reviewers", "user:a"),
    ],
)
def test_apply_script_refuses_bad_arguments(tmp_path: Path, args: tuple[str, ...]) -> None:
    quoted = tuple(f"'{a}'" for a in args)
    run, calls = _run(tmp_path, {}, *quoted)
    assert run.rc == 2 and "usage:" in run.stderr
    assert calls == []
