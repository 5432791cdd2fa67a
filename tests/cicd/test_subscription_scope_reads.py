"""azurerm's start-up read at subscription scope is switched off wherever Terraform runs the
provider with a resource-group-scoped identity (issue 19, §1b).

azurerm v4.55.0 lists the subscription's resource providers while it configures itself unless
registration is off *and* enhanced validation is off (`internal/resourceproviders/
registration.go` 25-36, `internal/features/enhanced_validation.go` 18-25): every plan, apply and
drift run of the plan and deploy identities would fail with 403 on
`Microsoft.Resources/subscriptions/providers/read`.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from tests.cicd.conftest import ROOT

VARIABLE = "ARM_PROVIDER_ENHANCED_VALIDATION"
# Terraform commands that configure the providers (and so run the provider's start-up code).
CONFIGURES_PROVIDERS = re.compile(
    r"\bterraform\b(?:\s+-chdir=\S+)?\s+(?:plan|apply|refresh|import|destroy|console)\b"
    r"|\bcdktf\s+(?:deploy|diff|destroy)\b"
)


def _steps_configuring_providers(workflow: dict[str, Any]):
    for job_id, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            if CONFIGURES_PROVIDERS.search(str(step.get("run", ""))):
                env = {
                    **workflow.get("env", {}),
                    **job.get("env", {}),
                    **step.get("env", {}),
                }
                yield job_id, step.get("name", step.get("id", "?")), env


def test_every_step_that_runs_the_azurerm_provider_disables_enhanced_validation(
    workflows,
) -> None:
    found = []
    for name, workflow in workflows.items():
        for job_id, step, env in _steps_configuring_providers(workflow):
            found.append(f"{name}:{job_id}")
            assert str(env.get(VARIABLE, "")).lower() == "false", (
                f"{name}: job {job_id}, step {step!r} runs Terraform without "
                f"{VARIABLE}=false (workflow, job or step env)"
            )
    # The test cannot pass by finding nothing: plans, applies and the drift check run Terraform.
    assert {f.split(":")[0] for f in found} >= {"plan.yml", "deploy.yml", "drift.yml"}, found


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        ({"env": {VARIABLE: "false"}, "jobs": {"a": {"steps": [{"run": "terraform plan"}]}}}, 1),
        ({"jobs": {"a": {"steps": [{"run": "terraform -chdir=x apply tfplan"}]}}}, 1),
        ({"jobs": {"a": {"steps": [{"run": "terraform show -json tfplan"}]}}}, 0),
        ({"jobs": {"a": {"steps": [{"run": "npx cdktf deploy dev"}]}}}, 1),
    ],
)
def test_the_step_finder_recognises_terraform_runs(workflow, expected: int) -> None:
    assert len(list(_steps_configuring_providers(workflow))) == expected


def test_a_step_overriding_the_variable_is_caught() -> None:
    workflow = {
        "env": {VARIABLE: "false"},
        "jobs": {"a": {"steps": [{"run": "terraform plan", "env": {VARIABLE: "true"}}]}},
    }
    ((_, _, env),) = _steps_configuring_providers(workflow)
    assert env[VARIABLE] == "true"


@pytest.mark.parametrize("target", ["plan", "deploy"])
def test_make_plan_and_deploy_disable_enhanced_validation(target: str) -> None:
    """`make plan`/`make deploy` run the provider with whoever is logged in, a CI identity too."""
    result = subprocess.run(
        ["make", "-n", target, "ENV=dev"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    cdktf = [line for line in result.stdout.splitlines() if CONFIGURES_PROVIDERS.search(line)]
    assert cdktf, result.stdout
    assert all(line.startswith(f"{VARIABLE}=false ") for line in cdktf), cdktf
