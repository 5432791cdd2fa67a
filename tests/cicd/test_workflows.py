"""The GitHub workflows, checked by running their own scripts against fakes (bash for `run:`
steps with fake terraform/az, Node for `actions/github-script` steps), plus the rules that
keep credentials away from unreviewed code.

Behaviour over strings: environment names are rendered from the workflows' own routing scripts
and compared with the federated-credential subjects of the synthesized bootstrap stack; gates
are run with every outcome; applies are run against a fake terraform that records what they do.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT, WORKFLOWS
from tests.cicd.expressions import render as render_expression
from tests.cicd.harness import (
    calls_named,
    environment_template,
    github_script,
    jobs,
    needs,
    run_github_script,
    run_step,
    scripts,
    stack_dirs,
    step_named,
    step_using,
    steps,
    tf_calls,
)
from tests.conftest import resources

EXPECTED = {"checks.yml", "plan.yml", "deploy.yml", "drift.yml"}
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
ALLOWED_PROVIDERS = {
    "registry.terraform.io/hashicorp/azurerm",
    "registry.terraform.io/databricks/databricks",
    "registry.terraform.io/hashicorp/time",
}
DATABRICKS_APP = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
COMMANDS = re.compile(r"(^|\s)(make|npm|npx|cdktf) ", re.M)
"""Commands that build or run the project (synthesis, tests, the cdktf CLI)."""


# --- helpers -----------------------------------------------------------------------------


def all_steps(workflows: dict[str, dict[str, Any]]):
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            for step in steps(job):
                yield fname, job_id, job, step


def render(template: str, values: dict[str, str]) -> str:
    """Substitute `${{ expr }}` with values[expr] (every expression must be known)."""

    def sub(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"unknown expression {match.group(1)!r}"
        return values[match.group(1)]

    return EXPRESSION.sub(sub, template)


def is_credentialed(job: dict[str, Any]) -> bool:
    return job.get("permissions", {}).get("id-token") == "write"


def runs_terraform_apply(job: dict[str, Any]) -> bool:
    return bool(re.search(r"terraform .*\bapply\b", scripts(job)))


def cli_config(job: dict[str, Any]) -> str:
    script = step_named(job, "Terraform CLI configuration (provider allowlist)")["run"]
    return script.split("<<'TFRC'\n", 1)[1].split("\nTFRC", 1)[0]


# --- structure and hygiene -----------------------------------------------------------------


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
        if uses:
            assert not uses.startswith("./"), f"{fname}: local actions run repository code"
            assert SHA_PIN.match(uses), f"{fname}: {uses} is not pinned to a 40-hex SHA"
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            # A job calling a reusable workflow of this repository runs it at the same commit.
            if re.fullmatch(r"    uses: \./\.github/workflows/[\w-]+\.yml", line):
                continue
            if re.match(r"^\s*(- )?uses: ", line):
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
        assert is_credentialed(job), f"{fname}:{job_id}"
        inputs = step["with"]
        assert not {"client-secret", "creds"} & set(inputs), f"{fname}:{job_id}"
        assert inputs["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
        assert inputs["tenant-id"] == "${{ vars.AZURE_TENANT_ID }}"
        assert inputs["subscription-id"] == "${{ vars.AZURE_SUBSCRIPTION_ID }}"
    assert logins == 3  # deploy: apply-platform, apply-workspace; drift: drift


def test_no_auto_approve_and_no_cdktf_deploy_anywhere(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for fname, job_id, _, step in all_steps(workflows):
        script = step.get("run", "")
        assert "auto-approve" not in script, f"{fname}:{job_id}"
        assert not re.search(r"cdktf (deploy|apply|diff)", script), f"{fname}:{job_id}"


# --- untrusted code and credentials never meet -----------------------------------------------


def test_credentialed_jobs_are_environment_bound_terraform_only(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """A job that can mint an OIDC token is bound to a GitHub environment (so to one identity),
    and runs Terraform only: no checkout, no project code, nothing installed. The one exception
    is the smoke run (smoke.yml: the merged smoke tool, standard library only, nothing
    installed). A job calling a reusable workflow only passes its permissions on: the called
    workflow's jobs are checked where they are defined."""
    credentialed = 0
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            if not is_credentialed(job) or "uses" in job:
                continue
            credentialed += 1
            where = f"{fname}:{job_id}"
            assert environment_template(job), f"{where} is not bound to an environment"
            text = scripts(job)
            assert not COMMANDS.search(text), where
            if (fname, job_id) == ("smoke.yml", "smoke"):
                assert "pip " not in text and "requirements" not in text
                assert re.search(r"(^|\s)python -m tools\.smoke ", text)
                continue
            assert not step_using(job, "actions/checkout"), f"{where} checks out code"
            assert not step_using(job, "actions/setup-python"), where
            assert not re.search(r"(^|\s)(python3?|pip) ", text), where
    assert credentialed == 6


def test_no_job_that_runs_pull_request_code_can_mint_a_token(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """In the pull request workflows, the jobs that check out and run the pull request's code
    (synthesis, tests, project tools) have no `id-token: write`, and the credentialed job has
    no checkout and runs no project code."""
    pr_workflows = [f for f, wf in workflows.items() if "pull_request" in wf["on"]]
    assert set(pr_workflows) == {"checks.yml", "plan.yml", "cdktn.yml"}
    runners_of_code = 0
    for fname in pr_workflows:
        for job_id, job in jobs(workflows[fname]).items():
            text = scripts(job)
            runs_code = bool(step_using(job, "actions/checkout")) or bool(
                COMMANDS.search(text) or re.search(r"(^|\s)(python3?|pip) ", text)
            )
            if runs_code:
                runners_of_code += 1
                assert not is_credentialed(job), f"{fname}:{job_id} runs PR code with a token"
            if is_credentialed(job):
                assert not runs_code, f"{fname}:{job_id}"
    assert runners_of_code == 5  # checks: test; plan: synth, summary; cdktn: check, latest


def test_jobs_that_write_to_github_run_no_code(workflows: dict[str, dict[str, Any]]) -> None:
    writers = {"pull-requests", "issues", "statuses", "actions"}
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            perms = job["permissions"]
            if any(perms.get(p) == "write" for p in writers):
                assert not step_using(job, "actions/checkout"), f"{fname}:{job_id}"
                assert not is_credentialed(job), f"{fname}:{job_id}"


def _deploy_environments(workflows: dict[str, dict[str, Any]], tmp_path: Path) -> set[str]:
    route = step_named(jobs(workflows["deploy.yml"])["route"], "route")
    routed = set()
    for event, ref, requested in itertools.product(
        ("push", "workflow_dispatch"),
        ("refs/heads/main", "refs/heads/release/1.4", "refs/tags/v1.4.0", "refs/heads/x"),
        ("", "sandbox", "dev", "uat", "prod"),
    ):
        run = run_step(
            route["run"], {"EVENT_NAME": event, "REF": ref, "REQUESTED": requested}, tmp_path
        )
        if run.rc == 0:
            routed.add(run.outputs["environment"])
    assert routed == {"sandbox", "dev", "uat", "prod"}
    names = set()
    for job in jobs(workflows["deploy.yml"]).values():
        template = environment_template(job)
        # Environments with an identity; deploy-approval only holds reviewers.
        if template and is_credentialed(job):
            for env in routed:
                names.add(render(template, {"needs.route.outputs.environment": env}))
    # The smoke run's environment: smoke.yml's, for the environment deploy.yml smokes.
    smoked = re.search(r"environment == '(\w+)'", jobs(workflows["deploy.yml"])["smoke"]["if"])
    (smoke_job,) = jobs(workflows["smoke.yml"]).values()
    names.add(render(environment_template(smoke_job), {"inputs.environment": smoked.group(1)}))
    return names


def _plan_environments(workflows: dict[str, dict[str, Any]], tmp_path: Path) -> set[str]:
    wf = workflows["plan.yml"]
    targets = step_named(jobs(wf)["targets"], "targets")
    planned = []
    for base in ("main", "release/1.4"):
        run = run_step(targets["run"], {"BASE_REF": base, "ACTION": "opened"}, tmp_path)
        assert run.rc == 0
        planned += json.loads(run.outputs["environments"])
    template = environment_template(jobs(wf)["plan"])
    return {render(template, {"matrix.environment": env}) for env in planned}


def _drift_environments(workflows: dict[str, dict[str, Any]]) -> set[str]:
    wf = workflows["drift.yml"]
    _, env = github_script(jobs(wf)["resolve"], "resolve")
    template = environment_template(jobs(wf)["drift"])
    return {render(template, {"matrix.environment": e}) for e in json.loads(env["ENVIRONMENTS"])}


@pytest.mark.synth
def test_environment_names_are_the_federated_subjects_of_the_bootstrap(
    workflows: dict[str, dict[str, Any]], stacks: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Every GitHub environment a workflow runs in, rendered from the workflows' own routing,
    is the subject of exactly one federated credential in the synthesized bootstrap stack, and
    every subject is used."""
    used = (
        _deploy_environments(workflows, tmp_path)
        | _plan_environments(workflows, tmp_path)
        | _drift_environments(workflows)
    )
    subjects = [
        c["subject"]
        for c in resources(stacks["bootstrap"], "azurerm_federated_identity_credential").values()
    ]
    federated = [s.rsplit(":environment:", 1)[1] for s in subjects]
    assert len(federated) == len(set(federated))
    assert used == set(federated)
    assert used == {
        *("sandbox", "dev", "uat", "prod"),
        *("sandbox-plan", "dev-plan", "uat-plan", "prod-plan"),
        "dev-smoke",
    }


@pytest.mark.synth
def test_only_deploy_environment_jobs_hold_the_writing_identity(
    workflows: dict[str, dict[str, Any]], stacks: dict[str, dict[str, Any]]
) -> None:
    """Which identity a GitHub environment gets is read from the bootstrap JSON (the identity
    its federated credential belongs to). Jobs in an environment of a deploy identity are
    exactly the applies; jobs in a plan or smoke identity's environment never apply."""
    bootstrap = stacks["bootstrap"]
    identities = resources(bootstrap, "azurerm_user_assigned_identity")
    writer: dict[str, bool] = {}
    for cred in resources(bootstrap, "azurerm_federated_identity_credential").values():
        key = cred["parent_id"].split(".")[1]
        environment = cred["subject"].rsplit(":environment:", 1)[1]
        writer[environment] = identities[key]["name"].endswith("-github-deployer")
    assert {e for e, w in writer.items() if w} == {"sandbox", "dev", "uat", "prod"}
    assert writer["dev-smoke"] is False
    values = {
        "needs.route.outputs.environment": "dev",
        "matrix.environment": "dev",
        "inputs.environment": "dev",
    }
    holders = set()
    for fname, wf in workflows.items():
        for job_id, job in jobs(wf).items():
            template = environment_template(job)
            if not template:
                continue
            name = render(template, values)
            if name not in writer:
                # No identity is federated to it (deploy-approval): it can mint nothing.
                assert not is_credentialed(job), f"{fname}:{job_id}"
                continue
            if writer[name]:
                holders.add((fname, job_id))
            else:
                assert not runs_terraform_apply(job), f"{fname}:{job_id} applies as planner"
    assert holders == {("deploy.yml", "apply-platform"), ("deploy.yml", "apply-workspace")}


# --- the required check cannot be skipped -----------------------------------------------------


def test_checks_jobs_are_never_skipped(workflows: dict[str, dict[str, Any]]) -> None:
    """A skipped required job counts as passed: the checks workflow never skips one."""
    for job_id, job in jobs(workflows["checks.yml"]).items():
        assert job.get("if", "always()") == "always()", job_id


def _targets(workflows: dict[str, dict[str, Any]], tmp_path: Path, **env: str):
    step = step_named(jobs(workflows["plan.yml"])["targets"], "targets")
    return run_step(step["run"], {"ACTION": "opened", "BASE_CHANGED": "false", **env}, tmp_path)


def _required_checks() -> dict[str, set[str]]:
    rulesets = ROOT / "tools" / "github" / "rulesets"
    out = {}
    for name in ("main", "release-branches"):
        data = json.loads((rulesets / f"{name}.json").read_text(encoding="utf-8"))
        (rule,) = [r for r in data["rules"] if r["type"] == "required_status_checks"]
        out[name] = {c["context"] for c in rule["parameters"]["required_status_checks"]}
    return out


def test_the_plan_gate_is_never_skipped_and_named_after_what_it_planned(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The gate runs whatever happened before it (`if: always()`, a skipped job would count as
    passed) and needs every job but the cleanup. Its name, the required check, says which
    environments were planned: `plan gate (dev)` is what main's ruleset requires and
    `plan gate (uat, prod)` what the release branches' ruleset requires."""
    wf = workflows["plan.yml"]
    gate = jobs(wf)["gate"]
    assert gate["if"] == "always()"
    assert set(needs(gate)) == set(jobs(wf)) - {"gate", "cleanup"}
    required = _required_checks()
    for base, ruleset in (("main", "main"), ("release/1.4", "release-branches")):
        run = _targets(workflows, tmp_path, BASE_REF=base)
        assert run.rc == 0 and run.outputs["replan"] == "true"
        name = render_expression(gate["name"], {"needs": {"targets": {"outputs": run.outputs}}})
        assert required[ruleset] == {"make test", name}
    # Every other job runs only when the run re-plans (or always, after the ones that do).
    for job_id, job in jobs(wf).items():
        if job_id in ("targets", "gate", "cleanup"):
            continue
        assert "needs.targets.outputs.replan == 'true'" in job["if"], job_id


def test_a_retargeted_pull_request_is_planned_again(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Retargeted from main to a release branch (`edited` with a changed base), the pull request
    is planned for uat and prod and gets the release branches' required check; the green
    `plan gate (dev)` of its head commit satisfies nothing there. An edit of the title or
    description re-plans nothing and reports under a name no ruleset requires."""
    wf = workflows["plan.yml"]
    assert "edited" in wf["on"]["pull_request"]["types"]
    retarget = _targets(
        workflows, tmp_path, BASE_REF="release/1.4", ACTION="edited", BASE_CHANGED="true"
    )
    assert retarget.outputs["replan"] == "true"
    assert json.loads(retarget.outputs["environments"]) == ["uat", "prod"]
    assert retarget.outputs["check"] == "plan gate (uat, prod)"
    assert "plan gate (dev)" not in _required_checks()["release-branches"]
    edit = _targets(workflows, tmp_path, BASE_REF="release/1.4", ACTION="edited")
    assert edit.outputs["replan"] == "false"
    assert edit.outputs["check"] not in set().union(*_required_checks().values())
    # The retarget shares the pull request's concurrency group (it cancels the older plan);
    # a mere edit gets its own and cancels nothing.
    group = wf["concurrency"]["group"]

    def rendered(action: str, changes: dict) -> str:
        event = {"action": action, "changes": changes, "pull_request": {"number": 7}}
        return render_expression(group, {"github": {"event": event, "run_id": 99}})

    assert rendered("synchronize", {}) == rendered("edited", {"base": {"ref": {"from": "main"}}})
    assert rendered("synchronize", {}) == "plan-7-plan"
    assert rendered("edited", {"title": {"from": "x"}}) == "plan-7-99"
    # The gate of an edit passes without looking at the skipped jobs.
    gate = step_named(jobs(wf)["gate"], "Synthesis, every plan and the destroy gate passed")
    skipped = json.dumps({"synth": {"result": "skipped"}})
    assert run_step(gate["run"], {"NEEDS": skipped, "REPLAN": "false"}, tmp_path).rc == 0
    assert run_step(gate["run"], {"NEEDS": skipped, "REPLAN": "true"}, tmp_path).rc == 1


@pytest.mark.parametrize(
    ("results", "rc"),
    [
        ({"approval": "success", "synth": "success", "plan": "success", "summary": "success"}, 0),
        ({"approval": "success", "synth": "failure", "plan": "skipped", "summary": "failure"}, 1),
        ({"approval": "success", "synth": "success", "plan": "success", "summary": "failure"}, 1),
        ({"approval": "success", "synth": "success", "plan": "cancelled", "summary": "success"}, 1),
        ({"approval": "success", "synth": "success", "plan": "skipped", "summary": "success"}, 1),
        ({"targets": "failure", "synth": "skipped"}, 1),
    ],
)
def test_gate_fails_unless_every_job_succeeded(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, results: dict[str, str], rc: int
) -> None:
    gate = step_named(
        jobs(workflows["plan.yml"])["gate"], "Synthesis, every plan and the destroy gate passed"
    )
    needs_json = json.dumps({k: {"result": v, "outputs": {}} for k, v in results.items()})
    replan = "" if results.get("targets") == "failure" else "true"
    run = run_step(gate["run"], {"NEEDS": needs_json, "REPLAN": replan}, tmp_path)
    assert run.rc == rc
    for job_id, result in results.items():
        line = f"::error title=Plan gate::{job_id}: {result}"
        assert (line in run.stdout) is (result != "success")


def test_plans_dev_for_main_and_uat_plus_prod_for_release(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    wf = workflows["plan.yml"]
    assert wf["on"]["pull_request"]["branches"] == ["main", "release/**"]
    assert {"labeled", "unlabeled", "synchronize", "edited"} <= set(
        wf["on"]["pull_request"]["types"]
    )
    for base, expected in (("main", ["dev"]), ("release/1.4", ["uat", "prod"])):
        run = _targets(workflows, tmp_path, BASE_REF=base)
        assert run.rc == 0 and json.loads(run.outputs["environments"]) == expected
    assert _targets(workflows, tmp_path, BASE_REF="feature/x").rc == 1


def test_fork_pull_requests_fail_the_plan(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    refuse = step_named(jobs(workflows["plan.yml"])["plan"], "Refuse fork pull requests")
    ok = run_step(refuse["run"], {"HEAD_REPOSITORY": "o/r", "REPOSITORY": "o/r"}, tmp_path)
    fork = run_step(refuse["run"], {"HEAD_REPOSITORY": "x/r", "REPOSITORY": "o/r"}, tmp_path)
    assert ok.rc == 0 and fork.rc == 1 and "forks get no cloud credentials" in fork.stdout


# --- the destroy approval is bound to the head commit ------------------------------------------


def _pr_context(
    action: str,
    *,
    label: str | None = None,
    sender: str = "reviewer",
    labels: tuple[str, ...] = (),
    fork: bool = False,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "action": action,
        "sender": {"login": sender},
        "pull_request": {
            "number": 7,
            "user": {"login": "author"},
            "labels": [{"name": n} for n in labels],
            "head": {"sha": "a" * 40, "repo": {"full_name": "x/r" if fork else "o/r"}},
        },
    }
    if label:
        payload["label"] = {"name": label}
    return {"repo": {"owner": "o", "repo": "r"}, "payload": payload, "runId": 1}


def _approval(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    context: dict[str, Any],
    answers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The approval script; by default the labeler has write permission and the pull request
    has one commit by its author, committed through GitHub's web flow."""
    script, env = github_script(jobs(workflows["plan.yml"])["approval"], "decide")
    defaults = {
        "repos.getCollaboratorPermissionLevel": {"permission": "write"},
        "pulls.listCommits": [
            {"author": {"login": "author"}, "committer": {"login": "web-flow"}},
        ],
    }
    return run_github_script(
        script, tmp_path, context=context, answers={**defaults, **(answers or {})}, env=env
    )


def test_destroy_approval_by_a_reviewer_is_recorded_on_the_head_commit(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = _approval(
        workflows,
        tmp_path,
        _pr_context("labeled", label="allow-destroy", labels=("allow-destroy",)),
    )
    assert out["outputs"]["allow-destroy"] == "true"
    (status,) = calls_named(out, "repos.createCommitStatus")
    assert status["sha"] == "a" * 40 and status["state"] == "success"
    assert status["context"] == "destroy-approval" and "@reviewer" in status["description"]


def test_the_author_cannot_approve_their_own_destruction(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = _approval(
        workflows,
        tmp_path,
        _pr_context("labeled", label="allow-destroy", sender="author", labels=("allow-destroy",)),
    )
    assert out["outputs"]["allow-destroy"] == "false"
    assert not calls_named(out, "repos.createCommitStatus")
    assert calls_named(out, "issues.removeLabel") == [
        {"owner": "o", "repo": "r", "issue_number": 7, "name": "allow-destroy"}
    ]


@pytest.mark.parametrize(
    ("sender", "answers", "reason"),
    [
        ("pair", {}, "is an author of this pull request"),
        (
            "reviewer",
            {"repos.getCollaboratorPermissionLevel": {"permission": "read"}},
            "has read permission",
        ),
    ],
)
def test_only_a_writer_who_wrote_none_of_it_approves_destruction(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    sender: str,
    answers: dict[str, Any],
    reason: str,
) -> None:
    """Not the pull request's author, not the author or committer of any of its commits (a
    pair who pushed a commit to it), and not someone who can label but not write (triage)."""
    commits = [
        {"author": {"login": "author"}, "committer": {"login": "web-flow"}},
        {"author": {"login": "author"}, "committer": {"login": "pair"}},
    ]
    out = _approval(
        workflows,
        tmp_path,
        _pr_context("labeled", label="allow-destroy", sender=sender, labels=("allow-destroy",)),
        {"pulls.listCommits": commits, **answers},
    )
    assert out["outputs"]["allow-destroy"] == "false"
    assert not calls_named(out, "repos.createCommitStatus")
    assert len(calls_named(out, "issues.removeLabel")) == 1
    assert any(reason in w for w in out["warnings"]), out["warnings"]
    (query,) = calls_named(out, "repos.getCollaboratorPermissionLevel")
    assert query["username"] == sender


@pytest.mark.parametrize("action", ["synchronize", "opened", "reopened", "edited"])
def test_a_new_commit_needs_a_new_approval(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, action: str
) -> None:
    out = _approval(workflows, tmp_path, _pr_context(action, labels=("allow-destroy",)))
    assert out["outputs"]["allow-destroy"] == "false"
    assert len(calls_named(out, "issues.removeLabel")) == 1
    assert not calls_named(out, "repos.listCommitStatusesForRef")


@pytest.mark.parametrize(
    ("statuses", "allowed"),
    [
        (
            [
                {
                    "context": "destroy-approval",
                    "state": "success",
                    "creator": {"login": "github-actions[bot]"},
                }
            ],
            "true",
        ),
        (
            [
                {
                    "context": "destroy-approval",
                    "state": "failure",
                    "creator": {"login": "github-actions[bot]"},
                },
                {
                    "context": "destroy-approval",
                    "state": "success",
                    "creator": {"login": "github-actions[bot]"},
                },
            ],
            "false",
        ),
        (
            [{"context": "destroy-approval", "state": "success", "creator": {"login": "mallory"}}],
            "false",
        ),
        ([], "false"),
    ],
)
def test_another_label_keeps_an_approval_given_for_this_commit_only(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, statuses: list[dict], allowed: str
) -> None:
    out = _approval(
        workflows,
        tmp_path,
        _pr_context("labeled", label="documentation", labels=("allow-destroy", "documentation")),
        {"repos.listCommitStatusesForRef": statuses},
    )
    assert out["outputs"]["allow-destroy"] == allowed
    (query,) = calls_named(out, "repos.listCommitStatusesForRef")
    assert query["ref"] == "a" * 40


def test_removing_the_label_withdraws_the_approval(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = _approval(workflows, tmp_path, _pr_context("unlabeled", label="allow-destroy"))
    assert out["outputs"]["allow-destroy"] == "false"
    (status,) = calls_named(out, "repos.createCommitStatus")
    assert status["state"] == "failure"


def test_fork_pull_requests_cannot_be_approved(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = _approval(
        workflows,
        tmp_path,
        _pr_context("labeled", label="allow-destroy", labels=("allow-destroy",), fork=True),
    )
    assert out["outputs"]["allow-destroy"] == "false" and out["calls"] == []


# --- pull request plans -------------------------------------------------------------------------


def _pr_plan(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path], **fake: str
):
    bin_dir, log = terraform
    work = stack_dirs(tmp_path, "dev", "dev-workspace")
    step = step_named(jobs(workflows["plan.yml"])["plan"], "plan")
    run = run_step(
        step["run"],
        {"ENVIRONMENT": "dev", "FAKE_TF_LOG": str(log), **fake},
        tmp_path,
        cwd=work,
        bin_dir=bin_dir,
    )
    out = tmp_path / "runner_temp" / "plan"
    results = {s: (out / s / "result").read_text().strip() for s in ("dev", "dev-workspace")}
    return run, results, tf_calls(log), out


def test_pr_plan_refreshes_the_platform_and_plans_the_workspace_from_state(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    run, results, calls, out = _pr_plan(workflows, tmp_path, terraform)
    assert run.rc == 0 and run.outputs["failed"] == "0"
    assert results == {"dev": "ok", "dev-workspace": "ok"}
    plans = [c for c in calls if " plan " in c]
    assert plans == [
        "dev plan -input=false -no-color -lock=false -out=tfplan",
        "dev-workspace plan -input=false -no-color -lock=false -out=tfplan -refresh=false"
        " -var=verify_metastore=false",
    ]
    assert not any(" apply" in c for c in calls)
    assert (out / "dev" / "plan.json").is_file() and (out / "dev-workspace" / "plan.json").is_file()


def test_pr_plan_plans_the_workspace_only_against_a_platform_plan(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    """The workspace stack is planned against the platform plan's outputs; without a platform
    plan there is nothing to plan it against (tests/cicd/test_cross_stack.py runs the real
    Terraform through this step)."""
    run, results, calls, out = _pr_plan(workflows, tmp_path, terraform, FAKE_TF_PLAN_RC_dev="1")
    assert run.outputs["failed"] == "1" and results["dev"] == "failed"
    assert results["dev-workspace"].startswith("skipped the platform plan failed")
    assert not any(c.startswith("dev-workspace") for c in calls)
    # Planned: the workspace's own configuration is kept for the summary.
    run, results, calls, out = _pr_plan(workflows, tmp_path / "ok", terraform)
    assert (out / "dev-workspace" / "config.tf.json").is_file()


def test_a_failed_pr_plan_is_recorded_and_fails_the_job(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    run, results, _, out = _pr_plan(
        workflows,
        tmp_path,
        terraform,
        FAKE_TF_PLAN_RC_dev_workspace="1",
        FAKE_TF_PLAN_FILE_dev_workspace="1",
    )
    assert run.rc == 0 and run.outputs["failed"] == "1"
    assert results == {"dev": "ok", "dev-workspace": "failed"}
    assert (
        "Error: planning dev-workspace failed" in (out / "dev-workspace" / "plan.log").read_text()
    )
    # The errored plan file is still shown as JSON, for the summary.
    assert (out / "dev-workspace" / "plan.json").is_file()
    fail = step_named(jobs(workflows["plan.yml"])["plan"], "Fail on a failed plan")
    assert run_step(fail["run"], {"FAILED": "1", "ENVIRONMENT": "dev"}, tmp_path).rc == 1
    assert run_step(fail["run"], {"FAILED": "0", "ENVIRONMENT": "dev"}, tmp_path).rc == 0


def test_pr_plan_stops_at_a_failed_init(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    run, results, calls, out = _pr_plan(workflows, tmp_path, terraform, FAKE_TF_INIT_RC_dev="1")
    assert results["dev"] == "failed" and run.outputs["failed"] == "1"
    assert not any(c.startswith("dev plan") for c in calls)
    assert not (out / "dev" / "plan.json").exists()


def test_artifact_backend_check_refuses_local_or_foreign_state(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    step = step_named(jobs(workflows["plan.yml"])["plan"], "Check the artifact's state backends")
    env = {"ENVIRONMENT": "dev", "TF_STATE_STORAGE_ACCOUNT": "sttf"}
    good = stack_dirs(
        tmp_path / "a",
        "dev",
        "dev-workspace",
        backend={"container_name": "dev", "storage_account_name": "sttf"},
    )
    assert run_step(step["run"], env, tmp_path, cwd=good).rc == 0
    wrong = stack_dirs(
        tmp_path / "b",
        "dev",
        "dev-workspace",
        backend={"container_name": "prod", "storage_account_name": "sttf"},
    )
    run = run_step(step["run"], env, tmp_path, cwd=wrong)
    assert run.rc == 1 and "does not use the remote state sttf/dev/dev.tfstate" in run.stdout
    missing = stack_dirs(
        tmp_path / "c", "dev", backend={"container_name": "dev", "storage_account_name": "sttf"}
    )
    assert run_step(step["run"], env, tmp_path, cwd=missing).rc == 1


@pytest.mark.synth
def test_provider_allowlist_covers_exactly_what_the_stacks_need(
    workflows: dict[str, dict[str, Any]], stacks: dict[str, dict[str, Any]]
) -> None:
    """Every Terraform job installs providers only from one allowlist (TF_CLI_CONFIG_FILE);
    the synthesized stacks need nothing outside it."""
    configs = []
    for wf in workflows.values():
        for job in jobs(wf).values():
            if is_credentialed(job) and step_using(job, "hashicorp/setup-terraform"):
                configs.append(cli_config(job))
    assert len(configs) == 5 and len(set(configs)) == 1
    listed = set(re.findall(r'"(registry\.terraform\.io/[^"]+)"', configs[0]))
    assert listed == ALLOWED_PROVIDERS
    needed = set()
    for stack in stacks.values():
        for provider in stack["terraform"].get("required_providers", {}).values():
            source = provider["source"]
            parts = source.split("/")
            if len(parts) == 1:
                parts = ["hashicorp", *parts]
            if len(parts) == 2:
                parts = ["registry.terraform.io", *parts]
            needed.add("/".join(parts))
    assert needed and needed <= ALLOWED_PROVIDERS


# --- deploy: the reviewed plan file is what is applied -------------------------------------------


def test_deploy_triggers(workflows: dict[str, dict[str, Any]]) -> None:
    on = workflows["deploy.yml"]["on"]
    assert on["push"]["branches"] == ["main", "release/**"]
    assert on["push"]["tags"] == ["v*"]
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == ["sandbox", "dev", "uat", "prod"]
    assert inputs["allow-destroy"]["default"] is False


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
    route = step_named(jobs(workflows["deploy.yml"])["route"], "route")
    run = run_step(
        route["run"], {"EVENT_NAME": event, "REF": ref, "REQUESTED": requested}, tmp_path
    )
    if expected is None:
        assert run.rc != 0
    else:
        assert run.rc == 0 and run.outputs["environment"] == expected


def test_release_guard_runs_for_tags(workflows: dict[str, dict[str, Any]]) -> None:
    route = jobs(workflows["deploy.yml"])["route"]
    assert steps(route)[0]["with"]["fetch-depth"] == 0
    guard = step_named(route, "release-guard")
    assert guard["if"] == "startsWith(github.ref, 'refs/tags/')"
    assert "python3 -m tools.release_guard check-tag" in guard["run"]
    assert guard["env"]["TAG"] == "${{ github.ref_name }}"


def _uploads(job: dict[str, Any]) -> dict[str, str]:
    return {
        s["with"]["name"]: s["with"]["path"] for s in step_using(job, "actions/upload-artifact")
    }


def _downloads(job: dict[str, Any]) -> dict[str, str]:
    return {
        s["with"]["name"]: s["with"]["path"]
        for s in step_using(job, "actions/download-artifact")
        if "name" in s["with"]
    }


def _ancestors(wf: dict[str, Any], job_id: str) -> set[str]:
    seen: set[str] = set()
    todo = needs(jobs(wf)[job_id])
    while todo:
        j = todo.pop()
        if j not in seen:
            seen.add(j)
            todo += needs(jobs(wf)[j])
    return seen


def test_every_apply_uses_a_gated_plan_file_of_the_same_run(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """Each job that applies downloads a plan artifact of this run attempt, which a job it
    depends on made with `terraform plan -out`, and which a gate it depends on summarised with
    the destroy gate (tools.plan_summary.report) before the environment's approval."""
    wf = workflows["deploy.yml"]
    appliers = [j for j, job in jobs(wf).items() if runs_terraform_apply(job)]
    assert appliers == ["apply-platform", "apply-workspace"]
    for job_id in appliers:
        job = jobs(wf)[job_id]
        plan_artifacts = [n for n in _downloads(job) if n.startswith("plan-")]
        assert len(plan_artifacts) == 1, job_id
        artifact = plan_artifacts[0]
        assert artifact.endswith("-${{ github.run_attempt }}")
        makers = [j for j, other in jobs(wf).items() if artifact in _uploads(other)]
        assert len(makers) == 1
        maker = jobs(wf)[makers[0]]
        assert re.search(r"terraform .*\bplan\b.*-out=tfplan", scripts(maker))
        gates = [
            j
            for j, other in jobs(wf).items()
            if artifact in _downloads(other) and "tools.plan_summary.report" in scripts(other)
        ]
        assert len(gates) == 1
        ancestors = _ancestors(wf, job_id)
        assert {makers[0], gates[0]} <= ancestors or makers[0] == job_id
        assert gates[0] in ancestors
        assert environment_template(job) == "${{ needs.route.outputs.environment }}"
        # One group for the whole run (the workflow's), none of its own: a job in the group its
        # own run holds would wait for itself.
        assert "concurrency" not in job


@pytest.mark.parametrize(
    ("job_id", "stack"), [("apply-platform", "dev"), ("apply-workspace", "dev-workspace")]
)
def test_apply_steps_apply_the_saved_plan_and_nothing_else(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    terraform: tuple[Path, Path],
    job_id: str,
    stack: str,
) -> None:
    bin_dir, log = terraform
    job = jobs(workflows["deploy.yml"])[job_id]
    (apply,) = [s for s in steps(job) if re.search(r"terraform .*\bapply\b", s.get("run", ""))]
    work = stack_dirs(tmp_path, stack)
    saved = tmp_path / "runner_temp" / "plan" / stack
    saved.mkdir(parents=True)
    (saved / "tfplan").write_text("saved plan", encoding="utf-8")
    (saved / "terraform.lock.hcl").write_text("# lock from the plan job", encoding="utf-8")
    run = run_step(
        apply["run"], {"STACK": stack, "FAKE_TF_LOG": str(log)}, tmp_path, cwd=work, bin_dir=bin_dir
    )
    assert run.rc == 0, run.stderr
    calls = [c for c in tf_calls(log) if c.startswith(stack)]
    assert calls == [
        f"{stack} init -input=false -no-color -lockfile=readonly",
        f"{stack} apply -input=false -no-color {saved / 'tfplan'}",
    ]
    lock = work / "cdktf.out" / "stacks" / stack / ".terraform.lock.hcl"
    assert lock.read_text(encoding="utf-8") == "# lock from the plan job"
    # A failing apply fails the step.
    failing = run_step(
        apply["run"],
        {
            "STACK": stack,
            "FAKE_TF_LOG": str(log),
            f"FAKE_TF_APPLY_RC_{stack.replace('-', '_')}": "1",
        },
        tmp_path,
        cwd=work,
        bin_dir=bin_dir,
    )
    assert failing.rc == 1


def test_deploy_plans_record_results_and_keep_the_plan_file(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    bin_dir, log = terraform
    wf = workflows["deploy.yml"]
    platform = step_named(jobs(wf)["plan-platform"], "plan")
    work = stack_dirs(
        tmp_path,
        "uat",
        "uat-workspace",
        backend={"container_name": "uat", "storage_account_name": "sttf"},
    )
    env = {
        "STACK": "uat",
        "ENVIRONMENT": "uat",
        "TF_STATE_STORAGE_ACCOUNT": "sttf",
        "FAKE_TF_LOG": str(log),
    }
    run = run_step(platform["run"], env, tmp_path, cwd=work, bin_dir=bin_dir)
    assert run.rc == 0, run.stderr
    dest = tmp_path / "runner_temp" / "plan" / "uat"
    assert (dest / "result").read_text().strip() == "ok"
    assert {p.name for p in dest.iterdir()} >= {
        "tfplan",
        "plan.json",
        "terraform.lock.hcl",
        "plan.log",
    }
    assert "uat plan -input=false -no-color -lock=false -out=tfplan" in tf_calls(log)
    # The workspace against the platform plan (shown to the approver of the platform apply).
    assert (dest.parent / "uat-workspace" / "result").read_text().strip() == "ok"
    assert (
        "uat-workspace plan -input=false -no-color -lock=false -refresh=false "
        "-var=verify_metastore=false -out=predicted"
    ) in tf_calls(log)
    workspace = step_named(jobs(wf)["apply-platform"], "plan-workspace")
    run = run_step(
        workspace["run"],
        {
            "STACK": "uat-workspace",
            "ENVIRONMENT": "uat",
            "FAKE_TF_LOG": str(log),
            "FAKE_TF_PLAN_RC_uat_workspace": "1",
        },
        tmp_path,
        cwd=work,
        bin_dir=bin_dir,
    )
    assert run.rc == 1
    result = tmp_path / "runner_temp" / "workspace-plan" / "uat-workspace" / "result"
    assert result.read_text().strip() == "failed"
    # Refreshed and with the lock: no -lock=false, no -refresh=false.
    assert "uat-workspace plan -input=false -no-color -out=tfplan" in tf_calls(log)
    # The platform state it read its outputs from is recorded with the plan.
    recorded = tmp_path / "runner_temp" / "workspace-plan" / "uat-workspace" / "platform-state.json"
    assert json.loads(recorded.read_text()) == {"lineage": "L", "serial": 1}
    assert "uat state pull" in tf_calls(log)


def test_deploy_gates_fail_on_a_blocked_or_failed_plan(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, fixture_path: Path
) -> None:
    """The gate job's own script, run on plans the tool sees: a protected deletion blocks unless
    the dispatch input allows it; a failed plan always blocks."""
    gate = step_named(jobs(workflows["deploy.yml"])["gate-platform"], "gate")
    assert (
        jobs(workflows["deploy.yml"])["gate-platform"]["env"]["ALLOW_DESTROY"]
        == "${{ github.event_name == 'workflow_dispatch' && inputs.allow-destroy }}"
    )
    plan_dir = tmp_path / "runner_temp" / "plan" / "prod"
    plan_dir.mkdir(parents=True)
    (plan_dir / "result").write_text("ok\n")
    (plan_dir / "plan.json").write_text((fixture_path / "delete_protected.json").read_text())
    env = {"STACK": "prod", "COMPARE": "false", "REVIEWED_LABEL": ""}
    blocked = run_step(gate["run"], {**env, "ALLOW_DESTROY": "false"}, tmp_path)
    assert blocked.rc == 3 and "**Blocked:**" in blocked.summary
    allowed = run_step(gate["run"], {**env, "ALLOW_DESTROY": "true"}, tmp_path)
    assert allowed.rc == 0 and "the destruction was approved" in allowed.summary
    # An allow-destroy dispatch needs a second person (the approve job), dev included.
    assert (
        allowed.outputs["approval"] == "allow-destroy: protected resources are deleted or replaced"
    )
    (plan_dir / "result").write_text("failed\n")
    (plan_dir / "plan.json").unlink()
    failed = run_step(gate["run"], {**env, "ALLOW_DESTROY": "true"}, tmp_path)
    assert failed.rc == 5 and "**Plan failed:**" in failed.summary


def test_databricks_auth_is_explicit_and_fresh(workflows: dict[str, dict[str, Any]]) -> None:
    """Jobs that apply or plan the workspace stack with the deploy identity use the Azure CLI
    strategy (the only one that sends the management token with an OIDC login), after a fresh
    azure/login and an immediate token fetch; read-only plans name github-oidc-azure."""
    wf = workflows["deploy.yml"]
    for job_id in ("apply-platform", "apply-workspace"):
        job = jobs(wf)[job_id]
        assert job["env"]["DATABRICKS_AUTH_TYPE"] == "azure-cli"
        names = [s.get("name", s.get("uses", "")) for s in steps(job)]
        login = names.index("Azure CLI login (OIDC, for the Databricks provider)")
        warm = names.index("Fetch the Databricks and management tokens now")
        workspace = [
            i
            for i, s in enumerate(steps(job))
            if "-workspace" in str(s.get("env", {}).get("STACK", "")) and "run" in s
        ]
        assert workspace and login < warm < min(workspace)
        fetch = steps(job)[warm]["run"]
        assert DATABRICKS_APP in fetch and "https://management.core.windows.net/" in fetch
    assert jobs(workflows["plan.yml"])["plan"]["env"]["DATABRICKS_AUTH_TYPE"] == "github-oidc-azure"


def test_stack_outputs_step_never_passes_sensitive_outputs(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    bin_dir, log = terraform
    step = step_named(jobs(workflows["deploy.yml"])["apply-workspace"], "outputs")
    work = stack_dirs(tmp_path, "dev", "dev-workspace")
    run = run_step(
        step["run"],
        {
            "ENVIRONMENT": "dev",
            "FAKE_TF_LOG": str(log),
            "FAKE_TF_OUTPUTS_dev": json.dumps(
                {
                    "workspace_url": {"value": "adb-9.azuredatabricks.net", "sensitive": False},
                    "insights_connection_string": {
                        "value": "InstrumentationKey=s3cret",
                        "sensitive": True,
                    },
                }
            ),
            "FAKE_TF_OUTPUTS_dev_workspace": json.dumps(
                {
                    "ml_pipeline_job_id": {"value": 42, "sensitive": False},
                    "job_ids": {"value": {"ml_pipeline": "42", "monitoring": "43"}},
                }
            ),
        },
        tmp_path,
        cwd=work,
        bin_dir=bin_dir,
    )
    assert run.rc == 0, run.stderr
    assert run.outputs == {
        "workspace-url": "https://adb-9.azuredatabricks.net",
        "job-id": "42",
        "job-ids": '{"ml_pipeline":"42","monitoring":"43"}',
    }
    assert "s3cret" not in run.summary and "adb-9" in run.summary


# --- drift against what is deployed ---------------------------------------------------------


def test_drift_is_not_dispatchable_from_other_branches(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    wf = workflows["drift.yml"]
    assert set(wf["on"]) == {"schedule", "workflow_dispatch"}
    guard = step_named(jobs(wf)["resolve"], "Only from the default branch")
    env = {"DEFAULT_BRANCH": "main", "EVENT_NAME": "workflow_dispatch"}
    assert run_step(guard["run"], {**env, "REF": "refs/heads/main"}, tmp_path).rc == 0
    refused = run_step(guard["run"], {**env, "REF": "refs/heads/feature/x"}, tmp_path)
    assert refused.rc == 1 and "Drift refused" in refused.stdout
    unknown = {"DEFAULT_BRANCH": "", "EVENT_NAME": "workflow_dispatch", "REF": "refs/heads/x"}
    assert run_step(guard["run"], unknown, tmp_path).rc == 1
    # A schedule runs the default branch's workflow; its payload has no repository.
    nightly = {"DEFAULT_BRANCH": "", "EVENT_NAME": "schedule", "REF": "refs/heads/main"}
    assert run_step(guard["run"], nightly, tmp_path).rc == 0


def _resolve(workflows: dict[str, dict[str, Any]], tmp_path: Path, answers: dict[str, Any]):
    script, env = github_script(jobs(workflows["drift.yml"])["resolve"], "resolve")
    return run_github_script(
        script,
        tmp_path,
        context={"repo": {"owner": "o", "repo": "r"}, "payload": {}},
        answers=answers,
        env=env,
    )


def test_drift_checks_the_commit_last_deployed_successfully(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    answers = {
        "actions.listWorkflowRuns": [],
        "repos.listDeployments": {
            "__by": "environment",
            "values": {
                "dev": [{"id": 3, "sha": "c3"}, {"id": 2, "sha": "c2"}, {"id": 1, "sha": "c1"}],
                "uat": [{"id": 5, "sha": "u5"}],
                "prod": [],
            },
        },
        "repos.listDeploymentStatuses": {
            "__by": "deployment_id",
            "values": {
                "3": [{"state": "failure"}],
                "2": [{"state": "success"}],
                "1": [{"state": "inactive"}],
                "5": [{"state": "success"}],
            },
        },
    }
    out = _resolve(workflows, tmp_path, answers)
    assert json.loads(out["outputs"]["matrix"]) == {
        "include": [{"environment": "dev", "sha": "c2"}, {"environment": "uat", "sha": "u5"}]
    }
    assert json.loads(out["outputs"]["skipped"]) == {
        "prod": "never deployed by the deploy workflow"
    }
    queried = [p["workflow_id"] for p in calls_named(out, "actions.listWorkflowRuns")]
    assert set(queried) == {"deploy.yml"}


def test_a_waiting_deploy_holds_back_the_drift_check_of_its_own_environment_only(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """A uat deploy waiting for approval for days does not suspend the drift checks of dev and
    prod. The deploy workflow's run-name says which environment a run deploys; a run whose
    name says none holds back every environment."""
    deployments = {
        "repos.listDeployments": [{"id": 1, "sha": "c1"}],
        "repos.listDeploymentStatuses": [{"state": "success"}],
    }
    waiting = [{"display_title": "deploy uat", "html_url": "https://github.com/o/r/actions/runs/9"}]
    out = _resolve(workflows, tmp_path, {"actions.listWorkflowRuns": waiting, **deployments})
    checked = [i["environment"] for i in json.loads(out["outputs"]["matrix"])["include"]]
    assert checked == ["dev", "prod"]
    assert json.loads(out["outputs"]["skipped"]) == {
        "uat": "a deploy run of uat is in progress (https://github.com/o/r/actions/runs/9)"
    }
    unknown = [{"display_title": "Deploy", "html_url": "https://github.com/o/r/actions/runs/8"}]
    out = _resolve(workflows, tmp_path / "b", {"actions.listWorkflowRuns": unknown, **deployments})
    assert json.loads(out["outputs"]["matrix"]) == {"include": []}


def test_deploy_runs_are_named_after_their_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """The run-name the drift check reads is the environment the route job chooses (and the
    workflow's concurrency group): rendered from the workflow for every trigger the release
    guard routes."""
    from tools.release_guard import GuardError, route

    deploy = workflows["deploy.yml"]
    for event, ref, requested in itertools.product(
        ("push", "workflow_dispatch"),
        ("refs/heads/main", "refs/heads/release/1.4", "refs/tags/v1.4.0"),
        ("", "sandbox", "dev", "uat", "prod"),
    ):
        try:
            environment = route(event, ref, requested)
        except GuardError:
            continue
        context = {
            "github": {"event_name": event, "ref": ref},
            "inputs": {"environment": requested},
        }
        assert render_expression(deploy["run-name"], context) == f"deploy {environment}"
        assert render_expression(deploy["concurrency"]["group"], context) == (
            f"deploy-{environment}"
        )


def test_drift_with_nothing_deployed_ends_green_with_a_notice(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Audit F7: before the first deploy (or while every deployed environment is being
    deployed) the matrix is empty, and GitHub fails a job with an empty matrix: the nightly run
    was red every night. The matrix jobs are skipped instead (a skipped job does not fail the
    run), the issues job still runs, opens nothing and says why."""
    from tests.cicd.expressions import evaluate

    wf = jobs(workflows["drift.yml"])
    answers = {"actions.listWorkflowRuns": [], "repos.listDeployments": []}
    out = _resolve(workflows, tmp_path, answers)
    assert json.loads(out["outputs"]["matrix"]) == {"include": []}
    assert out["outputs"]["any"] == "false"
    (notice,) = out["notices"]
    assert notice.startswith("Nothing to check for drift tonight (dev: never deployed")
    outputs = {k: out["outputs"][k] for k in ("matrix", "skipped", "any")}
    assert wf["resolve"]["outputs"]["any"] == "${{ steps.resolve.outputs.any }}"

    def runs(job_id: str, resolve_outputs: dict[str, str], upstream: str) -> bool:
        results = {"resolve": {"result": "success", "outputs": resolve_outputs}}
        for need in wf[job_id]["needs"] if isinstance(wf[job_id]["needs"], list) else []:
            results.setdefault(need, {"result": upstream})
        condition = wf[job_id].get("if", "success()")
        return bool(evaluate(condition, {"needs": results}))

    for job_id in ("synth", "drift", "report"):
        assert not runs(job_id, outputs, "skipped"), job_id
    assert runs("issues", outputs, "skipped") and runs("cleanup", outputs, "skipped")
    # The issues job with that empty matrix: no issue opened, updated or closed, no failure.
    script, env = github_script(
        wf["issues"], "Open, update or close one drift issue per environment"
    )
    env.update(
        {
            "REPORTS": str(tmp_path / "none"),
            "MATRIX": outputs["matrix"],
            "SKIPPED": outputs["skipped"],
            "RUN_URL": "https://github.com/o/r/actions/runs/1",
        }
    )
    issues = run_github_script(
        script, tmp_path / "issues", context={"repo": {"owner": "o", "repo": "r"}}, env=env
    )
    assert issues["failed"] is None
    assert [c for c, _ in issues["calls"]] == []
    assert "dev: not checked: never deployed by the deploy workflow" in issues["notices"]
    # With something deployed, the matrix jobs run as before.
    deployed = {
        "actions.listWorkflowRuns": [],
        "repos.listDeployments": [{"id": 1, "sha": "c1"}],
        "repos.listDeploymentStatuses": [{"state": "success"}],
    }
    some = _resolve(workflows, tmp_path / "some", deployed)
    assert some["outputs"]["any"] == "true" and some["notices"] == []
    some_outputs = {k: some["outputs"][k] for k in ("matrix", "skipped", "any")}
    for job_id in ("synth", "drift", "report"):
        assert runs(job_id, some_outputs, "success"), job_id


def test_drift_job_shares_the_deploy_concurrency_group(
    workflows: dict[str, dict[str, Any]],
) -> None:
    drift = jobs(workflows["drift.yml"])["drift"]
    deploy = workflows["deploy.yml"]
    for env in ("dev", "uat", "prod"):
        context = {"github": {"event_name": "workflow_dispatch"}, "inputs": {"environment": env}}
        assert render(drift["concurrency"]["group"], {"matrix.environment": env}) == (
            render_expression(deploy["concurrency"]["group"], context)
        )
    assert drift["concurrency"]["cancel-in-progress"] is False
    assert deploy["concurrency"]["cancel-in-progress"] is False
    synth = jobs(workflows["drift.yml"])["synth"]
    assert step_using(synth, "actions/checkout")[0]["with"]["ref"] == "${{ matrix.sha }}"


def _drift_plan(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    terraform: tuple[Path, Path],
    blob_answers: list[str],
    **fake: str,
):
    """The drift step; each state check asks az for the platform's and then the workspace's
    blob (one `<etag>\t<lease>` answer each)."""
    bin_dir, log = terraform
    tmp_path.mkdir(parents=True, exist_ok=True)
    az_log = tmp_path / "az.log"
    az_log.write_text("")
    blob = tmp_path / "blob.txt"
    blob.write_text("\n".join(blob_answers) + "\n")
    work = stack_dirs(tmp_path, "prod", "prod-workspace")
    step = step_named(jobs(workflows["drift.yml"])["drift"], "plan")
    run = run_step(
        step["run"],
        {
            "ENVIRONMENT": "prod",
            "TF_STATE_STORAGE_ACCOUNT": "sttf",
            "FAKE_TF_LOG": str(log),
            "FAKE_AZ_LOG": str(az_log),
            "FAKE_AZ_BLOB": str(blob),
            **fake,
        },
        tmp_path,
        cwd=work,
        bin_dir=bin_dir,
    )
    results = {
        stack: (tmp_path / "runner_temp" / "drift" / stack / "result").read_text().strip()
        for stack in ("prod", "prod-workspace")
    }
    return run, results, tf_calls(log), az_log.read_text()


STEADY = ["e1\tavailable", "w1\tavailable"] * 2


def test_drift_plans_both_stacks_changes_as_ok_and_errors_as_failed(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    run, results, calls, az = _drift_plan(
        workflows, tmp_path, terraform, STEADY, FAKE_TF_PLAN_RC_prod="2"
    )
    assert run.rc == 0 and results == {"prod": "ok", "prod-workspace": "ok"}
    assert "prod plan -input=false -no-color -lock=false -detailed-exitcode -out=tfplan" in calls
    # The workspace stack from its state, against the platform plan (no Databricks call).
    assert (
        "prod-workspace plan -input=false -no-color -lock=false -detailed-exitcode -out=tfplan"
        " -refresh=false -var=verify_metastore=false"
    ) in calls
    show = "storage blob show --auth-mode login --account-name sttf --container-name prod --name"
    assert az.count(f"{show} prod.tfstate") == 2 and az.count(f"{show} prod-workspace.tfstate") == 2
    _, failed, calls, _ = _drift_plan(
        workflows, tmp_path / "b", terraform, STEADY, FAKE_TF_PLAN_RC_prod="1"
    )
    assert failed["prod"] == "failed"
    assert failed["prod-workspace"].startswith("skipped the platform plan failed")


def test_drift_plan_never_reports_while_the_state_is_locked_or_moving(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, terraform: tuple[Path, Path]
) -> None:
    run, results, calls, _ = _drift_plan(
        workflows, tmp_path, terraform, ["e1\tavailable", "w1\tleased"]
    )
    assert run.rc == 0
    assert all(r.startswith("skipped the state of prod is locked") for r in results.values())
    assert not any(" plan " in c for c in calls)
    _, moved, _, _ = _drift_plan(
        workflows,
        tmp_path / "b",
        terraform,
        ["e1\tavailable", "w1\tavailable", "e1\tavailable", "w2\tavailable"],
    )
    assert all(r.startswith("skipped the state of prod changed during") for r in moved.values())


def _issues(
    workflows: dict[str, dict[str, Any]],
    tmp_path: Path,
    reports: dict[str, Any],
    open_issues: list[dict[str, Any]],
):
    script, env = github_script(
        jobs(workflows["drift.yml"])["issues"],
        "Open, update or close one drift issue per environment",
    )
    folder = tmp_path / "reports"
    folder.mkdir(parents=True)
    for environment, (status, markdown) in reports.items():
        stacks = status if isinstance(status, list) else [status]
        (folder / f"{environment}.json").write_text(json.dumps({"stacks": stacks}))
        (folder / f"{environment}.md").write_text(markdown)
    env.update(
        {
            "REPORTS": str(folder),
            "MATRIX": json.dumps(
                {"include": [{"environment": e, "sha": f"sha-{e}"} for e in reports]}
            ),
            "SKIPPED": "{}",
            "RUN_URL": "https://github.com/o/r/actions/runs/1",
        }
    )
    return run_github_script(
        script,
        tmp_path,
        context={"repo": {"owner": "o", "repo": "r"}, "payload": {}},
        answers={"issues.listForRepo": open_issues, "issues.create": {"number": 9}},
        env=env,
    )


def test_drift_opens_an_issue_on_drift_and_on_a_failed_check(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    drift = {
        "result": "ok",
        "exit_code": 0,
        "resource_drift": ["azurerm_key_vault.kv"],
        "resource_changes": {"create": 0, "update": 0, "replace": 0, "delete": 0},
    }
    failed = {"result": "failed", "exit_code": 5}
    out = _issues(
        workflows,
        tmp_path,
        {
            "dev": (drift, "### Drift — dev\nkv"),
            "prod": (failed, "### Drift — prod\n**Plan failed:**"),
        },
        [],
    )
    created = calls_named(out, "issues.create")
    assert [c["title"] for c in created] == ["Terraform drift: dev", "Terraform drift: prod"]
    assert "Drift found for the deployed commit sha-dev" in created[0]["body"]
    assert "The drift check itself failed for the deployed commit sha-prod" in created[1]["body"]
    assert all(c["labels"] == ["drift"] for c in created)


def test_refresh_noise_alone_never_opens_a_drift_issue(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """What a refresh as the read-only identity reads back differently (keys it cannot list,
    unset blocks read back as []) is not drift: no issue, and an open one is closed. Drift of
    the workspace stack, or an output that changes, opens one."""
    changes = {"create": 0, "update": 0, "replace": 0, "delete": 0}
    noise = {
        "result": "ok",
        "exit_code": 0,
        "resource_drift": [],
        "refresh_noise": ["azurerm_storage_account.lake"],
        "resource_changes": changes,
        "output_changes": [],
    }
    clean_workspace = {**noise, "refresh_noise": []}
    out = _issues(workflows, tmp_path, {"dev": ([noise, clean_workspace], "noise")}, [])
    assert not calls_named(out, "issues.create")
    assert any("refresh-noise difference(s), no drift" in n for n in out["notices"])
    opened = [{"number": 5, "title": "Terraform drift: dev"}]
    out = _issues(workflows, tmp_path / "b", {"dev": ([noise, clean_workspace], "x")}, opened)
    assert calls_named(out, "issues.update")[0]["state"] == "closed"
    workspace_drift = {**clean_workspace, "resource_changes": {**changes, "update": 1}}
    out = _issues(workflows, tmp_path / "c", {"dev": ([noise, workspace_drift], "ws")}, [])
    assert [c["title"] for c in calls_named(out, "issues.create")] == ["Terraform drift: dev"]
    outputs = {**clean_workspace, "output_changes": ["workspace_url"]}
    out = _issues(workflows, tmp_path / "d", {"uat": ([outputs, clean_workspace], "out")}, [])
    assert [c["title"] for c in calls_named(out, "issues.create")] == ["Terraform drift: uat"]


def test_drift_updates_an_open_issue_closes_it_when_clean_and_leaves_skipped_alone(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    clean = {
        "result": "ok",
        "exit_code": 0,
        "resource_drift": [],
        "resource_changes": {"create": 0, "update": 0, "replace": 0, "delete": 0},
    }
    open_issue = [{"number": 4, "title": "Terraform drift: uat"}]
    out = _issues(workflows, tmp_path, {"uat": (clean, "no drift")}, open_issue)
    assert [c["issue_number"] for c in calls_named(out, "issues.update")] == [4]
    assert calls_named(out, "issues.update")[0]["state"] == "closed"
    skipped = {"result": "skipped", "exit_code": 0, "reason": "locked"}
    out = _issues(workflows, tmp_path / "b", {"uat": (skipped, "skipped")}, open_issue)
    assert not calls_named(out, "issues.update") and not calls_named(out, "issues.create")
    changes = {
        "result": "ok",
        "exit_code": 0,
        "resource_drift": [],
        "resource_changes": {"create": 0, "update": 2, "replace": 0, "delete": 0},
    }
    out = _issues(workflows, tmp_path / "c", {"uat": (changes, "two updates")}, open_issue)
    (update,) = calls_named(out, "issues.update")
    assert update["issue_number"] == 4 and "two updates" in update["body"]


# --- summaries, comments, cleanup ------------------------------------------------------------


def test_pr_summary_step_reports_every_stack_and_gates(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, fixture_path: Path
) -> None:
    step = step_named(
        jobs(workflows["plan.yml"])["summary"], "Summaries, change sets and the destroy gate"
    )
    plans = tmp_path / "runner_temp" / "plans" / "plan-uat"
    for stack, fixture in (
        ("uat", "creates_only.json"),
        ("uat-workspace", "update_sensitive.json"),
    ):
        (plans / stack).mkdir(parents=True)
        (plans / stack / "result").write_text("ok\n")
        (plans / stack / "plan.json").write_text((fixture_path / fixture).read_text())
    env = {
        "ENVIRONMENTS": '["uat", "prod"]',
        "SYNTH": "success",
        "ALLOW_DESTROY": "false",
        "HEAD_SHA": "h" * 40,
        "BASE_REF": "release/1.4",
        "BASE_SHA": "b" * 40,
        "PULL_REQUEST": "7",
        "RUN_URL": "https://github.com/o/r/actions/runs/41",
    }
    run = run_step(step["run"], env, tmp_path)
    reports = tmp_path / "runner_temp" / "reports"
    # Every comment says which commit it planned, into which base, and links the run.
    footer = f"<sub>Planned for `{'h' * 40}` into `release/1.4` · [workflow run]({env['RUN_URL']})"
    assert (
        footer in (reports / "uat.md").read_text() and footer in (reports / "prod.md").read_text()
    )
    # The reviewed change sets, for the deploy after the merge.
    sets = tmp_path / "runner_temp" / "change-sets" / "uat"
    assert json.loads((sets / "meta.json").read_text()) == {
        "format": 1,
        "environment": "uat",
        "head_sha": "h" * 40,
        "base_ref": "release/1.4",
        "base_sha": "b" * 40,
        "pull_request": 7,
        "run_url": env["RUN_URL"],
    }
    created = json.loads((sets / "uat.change-set.json").read_text())
    assert ["azurerm_storage_account.lake", ["create"]] in created["resources"]
    assert not (tmp_path / "runner_temp" / "change-sets" / "prod" / "prod.change-set.json").exists()
    # prod never planned (no artifact): a "plan failed" report and a failing step.
    assert run.rc == 1
    assert sorted(p.name for p in reports.glob("*.md")) == [
        "prod-workspace.md",
        "prod.md",
        "uat-workspace.md",
        "uat.md",
    ]
    assert (reports / "uat.md").read_text().startswith("<!-- plan-summary:plan-uat -->")
    assert "**Plan failed:**" in (reports / "prod.md").read_text()
    assert "s3cr3t" not in run.summary
    for stack in ("prod", "prod-workspace"):
        (tmp_path / "runner_temp" / "plans" / "plan-prod" / stack).mkdir(parents=True)
        (tmp_path / "runner_temp" / "plans" / "plan-prod" / stack / "result").write_text("ok\n")
        (tmp_path / "runner_temp" / "plans" / "plan-prod" / stack / "plan.json").write_text(
            (fixture_path / "noop.json").read_text()
        )
    assert run_step(step["run"], env, tmp_path).rc == 0


def test_pr_comments_are_sticky_per_stack(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    script, env = github_script(
        jobs(workflows["plan.yml"])["comment"], "Post or update one sticky comment per stack"
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "dev.md").write_text("<!-- plan-summary:plan-dev -->\nnew dev")
    (reports / "dev-workspace.md").write_text("<!-- plan-summary:plan-dev-workspace -->\nnew ws")
    existing = [
        {"id": 11, "user": {"type": "Bot"}, "body": "<!-- plan-summary:plan-dev -->\nold"},
        {
            "id": 12,
            "user": {"type": "User"},
            "body": "<!-- plan-summary:plan-dev-workspace -->\nfake",
        },
    ]
    out = run_github_script(
        script,
        tmp_path,
        context={"repo": {"owner": "o", "repo": "r"}, "payload": {"pull_request": {"number": 7}}},
        answers={"issues.listComments": existing, "issues.createComment": {"id": 13}},
        env={**env, "REPORTS": str(reports)},
    )
    assert [
        (c["comment_id"], c["body"].endswith("new dev"))
        for c in calls_named(out, "issues.updateComment")
    ] == [(11, True)]
    # A user's comment with the marker is never edited; the bot creates its own.
    assert [c["body"].endswith("new ws") for c in calls_named(out, "issues.createComment")] == [
        True
    ]


@pytest.mark.parametrize(
    ("fname", "keep"),
    [("plan.yml", "reports"), ("deploy.yml", "cdktf-out-1"), ("drift.yml", "drift-reports")],
)
def test_cleanup_deletes_the_raw_plans_only(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, fname: str, keep: str
) -> None:
    cleanup = jobs(workflows[fname])["cleanup"]
    assert cleanup["if"] == "always()" and cleanup["permissions"] == {"actions": "write"}
    script = steps(cleanup)[0]["with"]["script"]
    raw = "drift-dev" if fname == "drift.yml" else "plan-dev"
    artifacts = [{"id": 1, "name": raw}, {"id": 2, "name": keep}]
    out = run_github_script(
        script,
        tmp_path,
        context={"repo": {"owner": "o", "repo": "r"}, "runId": 5},
        answers={"actions.listWorkflowRunArtifacts": artifacts},
    )
    assert [c["artifact_id"] for c in calls_named(out, "actions.deleteArtifact")] == [1]
    assert calls_named(out, "actions.listWorkflowRunArtifacts")[0]["run_id"] == 5


def test_checks_run_the_readme_test_command(workflows: dict[str, dict[str, Any]]) -> None:
    wf = workflows["checks.yml"]
    assert "pull_request" in wf["on"] and "push" in wf["on"]
    job = jobs(wf)["test"]
    assert job["name"] == "make test"
    assert any(s.get("run", "").rstrip().endswith("make test") for s in steps(job))
    assert job["permissions"] == {"contents": "read"}


def test_summary_jobs_install_only_hash_pinned_requirements(
    workflows: dict[str, dict[str, Any]],
) -> None:
    installs = 0
    for fname, job_id, _, step in all_steps(workflows):
        run = step.get("run", "")
        if "pip install" in run:
            installs += 1
            assert "--require-hashes" in run and "--no-deps" in run, f"{fname}:{job_id}"
            assert re.search(r"-r requirements/[\w-]+\.txt", run), f"{fname}:{job_id}"
    assert installs == 4  # plan: summary; deploy: 2 gates; drift: report (the smoke: none)


def test_requirements_files_pin_every_package_with_hashes() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name in ("smoke", "plan-summary"):
        text = (ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8")
        packages = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, flags=re.M)
        assert packages, name
        blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", text, flags=re.M)[1:]
        assert len(blocks) == len(packages)
        for block in blocks:
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), block.splitlines()[0]
        pins = dict(packages)
        if name == "smoke":
            assert pins["databricks-sdk"] == "0.162.0"
            assert not {"cdktf", "jsii", "pytest"} & set(pins)
        else:
            assert set(pins) == {"pyyaml"}
            assert f'"pyyaml=={pins["pyyaml"]}"' in pyproject


def test_dependabot_watches_actions_pip_and_npm() -> None:
    import yaml

    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "pip", "npm"}
    assert set(ecosystems["pip"]["directories"]) == {"/", "/ml_src", "/requirements"}
    for path in ecosystems["pip"]["directories"]:
        assert (
            any((ROOT / path.lstrip("/")).glob("*.txt"))
            or (ROOT / path.lstrip("/") / "pyproject.toml").exists()
        )


def test_drift_issue_without_reports_counts_as_a_failed_check(
    workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The report job failed: no reports at all. Each checked environment still gets an issue
    saying the check failed (the download step may fail without failing the job)."""
    issues = jobs(workflows["drift.yml"])["issues"]
    assert step_using(issues, "actions/download-artifact")[0]["continue-on-error"] is True
    script, env = github_script(issues, "Open, update or close one drift issue per environment")
    env.update(
        {
            "REPORTS": str(tmp_path / "missing"),
            "MATRIX": json.dumps({"include": [{"environment": "uat", "sha": "s1"}]}),
            "SKIPPED": "{}",
            "RUN_URL": "https://github.com/o/r/actions/runs/1",
        }
    )
    out = run_github_script(
        script,
        tmp_path,
        context={"repo": {"owner": "o", "repo": "r"}, "payload": {}},
        answers={"issues.listForRepo": [], "issues.create": {"number": 3}},
        env=env,
    )
    (created,) = calls_named(out, "issues.create")
    assert created["title"] == "Terraform drift: uat"
    assert "The drift check itself failed for the deployed commit s1" in created["body"]


@pytest.mark.synth
def test_databricks_providers_leave_the_auth_type_to_the_workflow(
    stacks: dict[str, dict[str, Any]],
) -> None:
    """The workflows choose the Databricks auth type (`DATABRICKS_AUTH_TYPE`): a provider block
    that set `auth_type` would override it. `azure_workspace_resource_id` must be set: with it
    the Azure CLI strategy sends the workspace resource ID and the management token that a Key
    Vault-backed secret scope needs."""
    configured = 0
    for name, stack in stacks.items():
        for provider in stack.get("provider", {}).get("databricks", []):
            assert "auth_type" not in provider, name
            if provider.get("host") == "https://accounts.azuredatabricks.net":
                # The bootstrap's account-level provider (NCCs): an admin's CLI login, never a
                # workflow; it has no workspace to name.
                assert name == "bootstrap" and provider.get("alias") == "account", name
                continue
            configured += 1
            assert provider.get("azure_workspace_resource_id"), name
            assert not {"token", "azure_client_secret", "client_secret"} & set(provider), name
    assert configured >= 4


def test_the_read_only_pr_plan_reads_no_databricks_data_source(stacks) -> None:
    """`-refresh=false` still reads data sources: every Databricks data source of a workspace
    stack is switched off by the variable the PR plan sets (the only other data source reads
    the platform's state, which the plan identity may read)."""
    for name, stack in stacks.items():
        if not name.endswith("-workspace"):
            continue
        assert stack["variable"]["verify_metastore"]["default"] is True
        for rtype, items in stack.get("data", {}).items():
            if rtype == "terraform_remote_state":
                continue
            assert rtype.startswith("databricks_"), rtype
            for body in items.values():
                assert body["count"] == "${var.verify_metastore ? 1 : 0}", (name, rtype)


def test_deployments_refuse_example_values(workflows: dict[str, dict[str, Any]]) -> None:
    """main.py turns the example-value warnings into errors with this switch."""
    import main

    synth = workflows["deploy.yml"]["jobs"]["synth"]
    assert synth["env"][main.REFUSE_EXAMPLES_VAR] == "1"


def test_jobs_that_call_the_workspace_api_run_where_its_ip_access_list_allows(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """uat/prod workspaces admit only listed networks (rule MLOPS-DBW-2): the jobs that call
    the workspace API run on the runner the route job chose for the environment (its own
    self-hosted label from tools/github/runners.json when WORKSPACE_RUNNERS names one, GitHub's
    hosted runner otherwise; another environment's label is refused: test_deploy_flow.py); the
    smoke's reusable workflow runs on the runner deploy.yml hands it."""
    jobs_ = workflows["deploy.yml"]["jobs"]
    for name in ("apply-platform", "apply-workspace"):
        assert jobs_[name]["runs-on"] == "${{ needs.route.outputs.runner }}", name
    assert jobs_["smoke"]["with"]["runner"] == "${{ needs.route.outputs.runner }}"
    (smoke,) = workflows["smoke.yml"]["jobs"].values()
    assert smoke["runs-on"] == "${{ inputs.runner }}"
    assert jobs_["route"]["outputs"]["runner"] == "${{ steps.runner.outputs.runner }}"
    assert jobs_["synth"]["runs-on"] == "ubuntu-24.04"
