"""The pull request's gate is the base branch's (issue 21 §1) and its comments say what they
are about (§7): run against the workflows' own steps and scripts.

The summary job is where a pull request could otherwise grade itself: it runs the plan summary
and the destroy gate. Here its checkout is rendered from the workflow with a pull request's
payload, and its step runs in the tree that checkout selects, next to a copy of the tree with a
hostile change to the tool or to the protected list.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT
from tests.cicd.expressions import render
from tests.cicd.harness import (
    calls_named,
    github_script,
    jobs,
    run_github_script,
    run_step,
    step_named,
    step_using,
)

PAYLOAD = {
    "event": {
        "pull_request": {
            "number": 7,
            "base": {"sha": "BASE", "ref": "main"},
            "head": {"sha": "HEAD"},
        }
    }
}


def hostile_tree(tmp_path: Path, change: str) -> Path:
    """The pull request's tree: the summary tool and the policy pack, changed to pass."""
    tree = tmp_path / "pr-tree"
    for part in ("tools", "config/shared", "requirements"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    policy = tree / "constructs_lib" / "policy"
    policy.mkdir(parents=True)
    (tree / "constructs_lib" / "__init__.py").write_text("", encoding="utf-8")
    (policy / "__init__.py").write_text("", encoding="utf-8")
    stateful = (ROOT / "constructs_lib" / "policy" / "stateful.py").read_text(encoding="utf-8")
    if change == "protected list":
        stateful += "\nSTATEFUL_TYPES = ()\n"
    (policy / "stateful.py").write_text(stateful, encoding="utf-8")
    if change == "summary tool":
        report = tree / "tools" / "plan_summary" / "report.py"
        text = report.read_text(encoding="utf-8")
        text = text.replace(
            "def run(argv: list[str] | None = None) -> int:\n",
            (
                "def run(argv: list[str] | None = None) -> int:\n    _real_run(argv)\n    return 0\n\n\n"
                "def _real_run(argv: list[str] | None = None) -> int:\n"
            ),
        )
        report.write_text(text, encoding="utf-8")
    return tree


def _plans(tmp_path: Path) -> None:
    """dev deletes a protected Key Vault; its workspace plans no change."""
    fixtures = Path(__file__).parent / "fixtures"
    for stack, fixture in (("dev", "delete_protected.json"), ("dev-workspace", "noop.json")):
        folder = tmp_path / "runner_temp" / "plans" / "plan-dev" / stack
        folder.mkdir(parents=True)
        (folder / "result").write_text("ok\n")
        (folder / "plan.json").write_text((fixtures / fixture).read_text(encoding="utf-8"))


SUMMARY_ENV = {
    "ENVIRONMENTS": '["dev"]',
    "SYNTH": "success",
    "ALLOW_DESTROY": "false",
    "HEAD_SHA": "HEAD",
    "BASE_REF": "main",
    "BASE_SHA": "BASE",
    "PULL_REQUEST": "7",
    "RUN_URL": "https://github.com/o/r/actions/runs/1",
}


@pytest.mark.parametrize("change", ["summary tool", "protected list"])
def test_a_pull_request_editing_the_gate_cannot_make_it_green(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, change: str
) -> None:
    """The summary job checks out the BASE commit for the tool and the protected list and reads
    the pull request's plans as data. Run in the tree its checkout selects, the destroy gate
    fails; the same step run on the pull request's tree would have passed."""
    summary = jobs(workflows["plan.yml"])["summary"]
    (checkout,) = step_using(summary, "actions/checkout")
    trees = {"BASE": ROOT, "HEAD": hostile_tree(tmp_path, change)}
    selected = render(checkout["with"]["ref"], {"github": PAYLOAD})
    assert selected == "BASE"
    step = step_named(summary, "Summaries, change sets and the destroy gate")
    _plans(tmp_path)
    gated = run_step(step["run"], SUMMARY_ENV, tmp_path, cwd=trees[selected])
    assert gated.rc == 1 and "**Blocked:**" in gated.summary
    _plans(tmp_path / "control")
    hostile = run_step(step["run"], SUMMARY_ENV, tmp_path / "control", cwd=trees["HEAD"])
    assert hostile.rc == 0, "the control must show that the change would pass if trusted"


def test_the_gate_is_not_the_pull_requests_to_redefine(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """What the pull request's own code still runs, and why that is safe: synthesis (no
    credentials; its output is what the plan shows) and Terraform on that output. The job that
    judges the plan runs the base's code; a change to the workflows themselves needs a code
    owner's review (tools/github/rulesets, .github/CODEOWNERS)."""
    plan = jobs(workflows["plan.yml"])
    for job_id, job in plan.items():
        for checkout in step_using(job, "actions/checkout"):
            ref = checkout.get("with", {}).get("ref")
            if job_id == "summary":
                assert ref == "${{ github.event.pull_request.base.sha }}"
            else:
                assert job_id == "synth" and ref is None, job_id
                assert "id-token" not in job["permissions"]
    owners = (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8")
    assert "\n/.github/ " in owners and "\n/tools/plan_summary/ " in owners


# --- plan comments: the commit, the run, and when they are outdated --------------------------


def _comment(body: str, kind: str = "Bot", id_: int = 1) -> dict[str, Any]:
    return {"id": id_, "user": {"type": kind}, "body": body}


def test_a_new_plan_run_marks_the_earlier_plan_comments_outdated(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    script, env = github_script(
        jobs(workflows["plan.yml"])["outdated"], "Mark the plan comments outdated"
    )
    env["RUN_URL"] = "https://github.com/o/r/actions/runs/2"
    comments = [
        _comment("<!-- plan-summary:plan-dev -->\n\n### Terraform plan — dev\n\nold plan", id_=11),
        _comment("<!-- plan-summary:plan-dev -->\nforged by a user", kind="User", id_=12),
        _comment("a bot comment of another tool", id_=13),
    ]
    context = {
        "repo": {"owner": "o", "repo": "r"},
        "payload": {"pull_request": {"number": 7, "head": {"sha": "c" * 40}}},
    }
    out = run_github_script(
        script, tmp_path, context=context, answers={"issues.listComments": comments}, env=env
    )
    (update,) = calls_named(out, "issues.updateComment")
    assert update["comment_id"] == 11
    body = update["body"]
    assert body.startswith("<!-- plan-summary:plan-dev -->\n<!-- plan-summary:outdated -->\n")
    assert f"**Outdated:** a new plan run started for `{'c' * 12}`" in body
    assert "(https://github.com/o/r/actions/runs/2)" in body
    assert "<details><summary>The earlier plan</summary>" in body and "old plan" in body
    # Marked twice (another run started): one note, one earlier plan, no nesting.
    out = run_github_script(
        script,
        tmp_path / "again",
        context=context,
        answers={"issues.listComments": [_comment(body, id_=11)]},
        env=env,
    )
    (again,) = calls_named(out, "issues.updateComment")
    assert again["body"].count("**Outdated:**") == 1
    assert again["body"].count("<details><summary>The earlier plan</summary>") == 1


def test_a_failed_synthesis_says_so_on_the_plan_comments(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    script, env = github_script(
        jobs(workflows["plan.yml"])["comment"], "Post or update one sticky comment per stack"
    )
    env.update(
        {"REPORTS": str(tmp_path / "none"), "RUN_URL": "https://github.com/o/r/actions/runs/3"}
    )
    context = {
        "repo": {"owner": "o", "repo": "r"},
        "payload": {"pull_request": {"number": 7, "head": {"sha": "d" * 40}}},
    }
    comments = [_comment("<!-- plan-summary:plan-dev -->\nold", id_=21)]
    out = run_github_script(
        script, tmp_path, context=context, answers={"issues.listComments": comments}, env=env
    )
    (update,) = calls_named(out, "issues.updateComment")
    assert "**Outdated:** synthesis or planning failed for `dddddddddddd`" in update["body"]
    assert out["failed"] is None and not calls_named(out, "issues.createComment")


def test_a_failed_synthesis_writes_no_report(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """So that the comment job marks the earlier comments outdated instead of posting a "plan
    failed" for every stack that was never planned."""
    step = step_named(
        jobs(workflows["plan.yml"])["summary"], "Summaries, change sets and the destroy gate"
    )
    run = run_step(step["run"], {**SUMMARY_ENV, "SYNTH": "failure"}, tmp_path, cwd=ROOT)
    assert run.rc == 1 and "synthesis failed; nothing was planned" in run.stdout
    assert not list((tmp_path / "runner_temp" / "reports").glob("*.md"))


def test_plan_comments_carry_the_head_commit_and_the_run(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    summary = jobs(workflows["plan.yml"])["summary"]
    step = step_named(summary, "Summaries, change sets and the destroy gate")
    _plans(tmp_path)
    run = run_step(step["run"], SUMMARY_ENV, tmp_path, cwd=ROOT)
    report = (tmp_path / "runner_temp" / "reports" / "dev-workspace.md").read_text()
    assert report.startswith("<!-- plan-summary:plan-dev-workspace -->")
    assert report.rstrip().endswith(
        "<sub>Planned for `HEAD` into `main` · [workflow run](https://github.com/o/r/actions/runs/1)</sub>"
    )
    assert run.rc == 1  # the protected deletion of the fixture
    assert summary["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"
    meta = json.loads((tmp_path / "runner_temp" / "change-sets" / "dev" / "meta.json").read_text())
    assert meta["head_sha"] == "HEAD" and meta["pull_request"] == 7
