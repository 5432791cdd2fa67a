"""The shipped uat/prod workspace ranges are RFC 5737 documentation examples: warned on
synthesis, refused where a deployment synthesizes (`MLOPS_REFUSE_EXAMPLE_VALUES=1`, issue 19 §2)."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from constructs_lib.config import load_environments
from constructs_lib.config.examples import example_values
from tests.conftest import ROOT, run_main

CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}


@pytest.mark.parametrize("env", ["uat", "prod"])
def test_shipped_workspace_ranges_are_flagged_as_examples(env: str) -> None:
    config = CONFIGS[env]
    assert config.workspace.allowed_ip_ranges
    assert all(
        any(net.subnet_of(IPv4Network(doc)) for doc in ("203.0.113.0/24", "198.51.100.0/24"))
        for net in config.workspace.allowed_ip_ranges
    )
    problems = [p for p in example_values(config, f"config/{env}.yaml") if "workspace" in str(p)]
    (problem,) = problems
    assert "workspace.allowed_ip_ranges" in str(problem)
    assert "203.0.113.0/24, 198.51.100.16/28" in str(problem)


def test_real_ranges_are_not_flagged() -> None:
    config = CONFIGS["prod"].model_copy(
        update={
            "workspace": CONFIGS["prod"].workspace.model_copy(
                update={"allowed_ip_ranges": (IPv4Network("20.50.1.0/28"),)}
            )
        }
    )
    assert not [p for p in example_values(config, "config/prod.yaml") if "workspace" in str(p)]


def test_deployments_refuse_the_example_ranges() -> None:
    refused = run_main("--check", env={"MLOPS_REFUSE_EXAMPLE_VALUES": "1"})
    assert refused.returncode == 2
    for env in ("uat", "prod"):
        assert f"config/{env}.yaml: workspace.allowed_ip_ranges: 203.0.113.0/24" in refused.stderr
