"""tools.release_guard: trigger -> environment routing and the production tag guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cicd.conftest import ROOT
from tools.release_guard import (
    GuardError,
    check_tag,
    check_tip,
    main,
    route,
    runner,
    validate_tag,
)

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.invalid",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """origin (bare) with main and release/1.0, tags on both; a full clone as CI checks out."""
    base = tmp_path_factory.mktemp("git")
    work, origin, ci = base / "work", base / "origin.git", base / "ci"
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    git(base, "init", "-q", "-b", "main", str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "first")
    git(work, "checkout", "-q", "-b", "release/1.0")
    git(work, "commit", "-q", "--allow-empty", "-m", "release fix")
    git(work, "tag", "v1.0.0")
    git(work, "tag", "v1.0.1-rc.1")
    git(work, "checkout", "-q", "main")
    git(work, "commit", "-q", "--allow-empty", "-m", "feature on main only")
    git(work, "tag", "v1.1.0")
    git(work, "tag", "-a", "v1.2.0", "-m", "annotated, main only")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main", "release/1.0", "--tags")
    # What actions/checkout with fetch-depth: 0 leaves: remote-tracking branches and tags.
    git(base, "clone", "-q", "--no-local", str(origin), str(ci))
    return ci


def test_tag_on_release_branch_is_accepted(clone: Path) -> None:
    assert check_tag("v1.0.0", clone) == ["origin/release/1.0"]


@pytest.mark.parametrize("tag", ["v1.1.0", "v1.2.0"])
def test_tag_outside_release_branches_is_refused(clone: Path, tag: str) -> None:
    with pytest.raises(GuardError, match="is not on any release/\\* branch"):
        check_tag(tag, clone)


def test_missing_tag_is_refused(clone: Path) -> None:
    with pytest.raises(GuardError, match="git rev-parse"):
        check_tag("v9.9.9", clone)


def test_prerelease_tag_is_refused_even_on_release_branch(clone: Path) -> None:
    with pytest.raises(GuardError, match="pre-release"):
        check_tag("v1.0.1-rc.1", clone)


@pytest.mark.parametrize("tag", ["v1.0.0", "v0.1.0", "v10.20.30"])
def test_valid_release_tags(tag: str) -> None:
    validate_tag(tag)


@pytest.mark.parametrize("tag", ["1.0.0", "v1.0", "v01.0.0", "v1.0.0.0", "vX.Y.Z", "v1.0.0 ", ""])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(GuardError, match="not a semantic version"):
        validate_tag(tag)


def test_cli_refusal_is_a_github_error_annotation(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-tag", "v1.1.0", "--repo", str(clone)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("::error title=Deploy refused::tag v1.1.0")
    assert main(["check-tag", "v1.0.0", "--repo", str(clone)]) == 0
    assert "origin/release/1.0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("event", "ref", "requested", "expected"),
    [
        ("push", "refs/heads/main", "", "dev"),
        ("push", "refs/heads/release/1.0", "", "uat"),
        ("push", "refs/heads/release/2025.11", "", "uat"),
        ("push", "refs/tags/v1.2.3", "", "prod"),
        ("workflow_dispatch", "refs/heads/feature/x", "sandbox", "sandbox"),
        ("workflow_dispatch", "refs/heads/main", "dev", "dev"),
        ("workflow_dispatch", "refs/heads/feature/x", "uat", "uat"),
        ("workflow_dispatch", "refs/heads/release/1.0", "prod", "prod"),
        ("workflow_dispatch", "refs/tags/v1.2.3", "prod", "prod"),
    ],
)
def test_route(event: str, ref: str, requested: str, expected: str) -> None:
    assert route(event, ref, requested) == expected


@pytest.mark.parametrize(
    ("event", "ref", "requested"),
    [
        ("push", "refs/heads/feature/x", ""),
        ("push", "refs/heads/release/", ""),
        ("pull_request", "refs/pull/1/merge", ""),
        ("workflow_dispatch", "refs/heads/main", "prod"),
        ("workflow_dispatch", "refs/heads/main", "staging"),
    ],
)
def test_route_refusals(event: str, ref: str, requested: str) -> None:
    with pytest.raises(GuardError):
        route(event, ref, requested)


def test_route_cli_output_for_github_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "--event", "push", "--ref", "refs/heads/main"]) == 0
    assert capsys.readouterr().out == "environment=dev\n"
    assert main(["route", "--event", "push", "--ref", "refs/tags/v1.2"]) == 1
    assert "not a semantic version" in capsys.readouterr().err


def test_runs_with_the_runner_python_as_a_module() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.release_guard",
            "route",
            "--event",
            "push",
            "--ref",
            "refs/heads/release/1.0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "environment=uat\n"


# --- never deploy an older commit -----------------------------------------------------------


def test_the_tip_of_the_branch_is_deployed(clone: Path) -> None:
    tip = git(clone, "rev-parse", "origin/main")
    assert check_tip("refs/heads/main", tip, clone) == f"{tip[:12]} is the tip of main"


def test_an_older_commit_of_the_branch_is_refused(clone: Path) -> None:
    """A re-run of an old run carries the old commit: the branch has moved on since."""
    older = git(clone, "rev-parse", "origin/main~1")
    with pytest.raises(GuardError, match="is not the tip of main"):
        check_tip("refs/heads/main", older, clone)
    assert (
        main(["check-tip", "--ref", "refs/heads/main", "--sha", older, "--repo", str(clone)]) == 1
    )


def test_only_the_newest_release_tag_is_deployed(clone: Path) -> None:
    newest = git(clone, "rev-parse", "v1.2.0^{commit}")
    assert check_tip("refs/tags/v1.2.0", newest, clone).startswith("v1.2.0 (")
    old = git(clone, "rev-parse", "v1.0.0^{commit}")
    with pytest.raises(GuardError, match="older than the newest release tag v1.2.0"):
        check_tip("refs/tags/v1.0.0", old, clone)
    with pytest.raises(GuardError, match="points to"):
        check_tip("refs/tags/v1.2.0", old, clone)


# --- runners: an environment's jobs run on its own runners only -----------------------------


def test_an_environment_runs_on_its_own_runner_label_or_a_hosted_one() -> None:
    assert runner("prod", '{"prod": "deploy-prod", "uat": "deploy-uat"}') == "deploy-prod"
    assert runner("dev", '{"prod": "deploy-prod"}') == "ubuntu-24.04"
    assert runner("uat", "") == "ubuntu-24.04"


@pytest.mark.parametrize(
    ("environment", "runners", "message"),
    [
        ("uat", '{"uat": "deploy-prod"}', "the runner of prod"),
        ("dev", '{"dev": "deploy-prod"}', "the runner of prod"),
        ("prod", '{"prod": "self-hosted"}', "not a runner label of this repository"),
        ("prod", "[]", "must map environments to labels"),
        ("prod", "{", "not JSON"),
    ],
)
def test_a_foreign_runner_label_is_refused(environment: str, runners: str, message: str) -> None:
    with pytest.raises(GuardError, match=message):
        runner(environment, runners)


def test_runner_labels_are_unique_per_environment() -> None:
    spec = json.loads((ROOT / "tools" / "github" / "runners.json").read_text(encoding="utf-8"))
    labels = [v["label"] for k, v in spec.items() if not k.startswith("_")]
    groups = [v["group"] for k, v in spec.items() if not k.startswith("_")]
    assert len(set(labels)) == len(labels) and len(set(groups)) == len(groups)
    for environment, value in spec.items():
        if not environment.startswith("_"):
            assert value["label"].endswith(f"-{environment}")
