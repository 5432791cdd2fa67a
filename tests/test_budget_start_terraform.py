"""The budget's default start date, evaluated by the real Terraform CLI (1.11.4).

The expression is taken from the synthesized platform stack and set on Terraform's built-in
`terraform_data` (no provider to download) with the budget's own `ignore_changes`: a saved plan
must not hold the date (a plan approved in the next month would otherwise create the budget
with a past month's start, which Azure refuses); the apply computes it; the next plan keeps it.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cicd.conftest import terraform_env
from tests.conftest import ENVIRONMENTS, only

pytestmark = pytest.mark.synth


def _tf(terraform: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [terraform, f"-chdir={root}", *args, "-no-color"],
        env=terraform_env(root),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _first_of_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m-01T00:00:00Z")


def test_a_saved_plan_leaves_the_start_date_to_the_apply_which_then_keeps_it(
    stacks, terraform_cli: str, tmp_path: Path
) -> None:
    _, budget = only(stacks[ENVIRONMENTS[0]], "azurerm_consumption_budget_resource_group")
    config = {
        "resource": {
            "terraform_data": {
                "budget": {
                    "input": {"start_date": budget["time_period"]["start_date"]},
                    "lifecycle": budget["lifecycle"] | {"ignore_changes": ["input"]},
                }
            }
        }
    }
    assert budget["lifecycle"] == {"ignore_changes": ["time_period"]}
    (tmp_path / "main.tf.json").write_text(json.dumps(config), encoding="utf-8")
    _ok(_tf(terraform_cli, tmp_path, "init", "-input=false"))
    _ok(_tf(terraform_cli, tmp_path, "plan", "-input=false", "-out=saved.tfplan"))
    plan = json.loads(_ok(_tf(terraform_cli, tmp_path, "show", "-json", "saved.tfplan")))
    (change,) = plan["resource_changes"]
    assert change["change"]["actions"] == ["create"]
    # Not in the saved plan: Terraform takes it when the plan is applied.
    assert change["change"]["after_unknown"]["input"] == {"start_date": True}
    assert "start_date" not in (change["change"]["after"].get("input") or {})

    before = _first_of_month()
    _ok(_tf(terraform_cli, tmp_path, "apply", "-input=false", "saved.tfplan"))
    state = json.loads(_ok(_tf(terraform_cli, tmp_path, "show", "-json")))
    (resource,) = state["values"]["root_module"]["resources"]
    assert resource["values"]["input"]["start_date"] in {before, _first_of_month()}

    # Every later plan keeps the created date (the start date is ForceNew on the budget).
    again = _tf(terraform_cli, tmp_path, "plan", "-input=false", "-detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
