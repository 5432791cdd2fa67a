"""Shared fixtures of the CI/CD tests: the fixture plans and the parsed workflows."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
WORKFLOWS = ROOT / ".github" / "workflows"
CONFIG = ROOT / "config" / "shared" / "plan_summary.yaml"


def load_workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1: PyYAML reads the bare key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load_workflow(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


@pytest.fixture
def fixture_path() -> Path:
    return FIXTURES


def oversized_plan(resources: int = 400) -> dict[str, Any]:
    """A plan far over GitHub's comment limit: many updates with long attribute values."""
    base = json.loads((FIXTURES / "update_sensitive.json").read_text(encoding="utf-8"))
    template = base["resource_changes"][1]  # azurerm_key_vault.main, in-place update
    changes = []
    for i in range(resources):
        rc = copy.deepcopy(template)
        rc["address"] = f'module.env_{i:03d}.azurerm_key_vault.main["{"k" * 30}"]'
        rc["change"]["before"]["description"] = "before-" + "x" * 300
        rc["change"]["after"]["description"] = "after-" + "`<details>```" * 30
        changes.append(rc)
    for i in range(resources):
        changes.append(
            {
                "address": f"module.env_{i:03d}.azurerm_storage_account.lake",
                "mode": "managed",
                "type": "azurerm_storage_account",
                "name": "lake",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"name": f"st{i}"},
                    "after_unknown": {"id": True},
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        )
    base["resource_changes"] = changes
    return base


def terraform_env(tmp_path: Path) -> dict[str, str]:
    """An environment for the real Terraform CLI: no user CLI configuration, no checkpoint."""
    import os

    config = tmp_path / "terraform.tfrc"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TF_")},
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }


@pytest.fixture
def terraform(tmp_path: Path) -> tuple[Path, Path]:
    """(bin dir with a fake terraform and az that log their arguments, the terraform log)."""
    from tests.cicd.harness import FAKE_AZ, FAKE_TERRAFORM, fake_bin

    log = tmp_path / "terraform.log"
    log.write_text("", encoding="utf-8")
    return fake_bin(tmp_path, terraform=FAKE_TERRAFORM, az=FAKE_AZ), log
