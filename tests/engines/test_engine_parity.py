"""What must not change when a deployed environment moves from cdktf to cdktn: Terraform
addresses (and so state entries), state backends and keys, outputs and cross-stack reads, the
policy pack's and checkov's verdicts; and the accelerator runs on cdktn without a fallback."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from constructs_lib.policy.stack_policy import protected_addresses
from constructs_lib.policy.stateful import STATEFUL_TYPES
from tests.conftest import ROOT, STACKS, run_main
from tests.engines.conftest import load_stacks, run_cdktn
from tests.test_addresses import CONFIGS, ENV_OF, PINNED, _addresses
from tests.test_checkov import _insecure_config
from tools.security_scan import DEFAULT_CHECKOV, DEFAULT_CONFIG, read_skips, scan

pytestmark = pytest.mark.synth


# --- addresses and state ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(PINNED))
def test_stateful_addresses_are_pinned_on_cdktn(cdktn_stacks, stack: str) -> None:
    """tests/test_addresses.py's pins, on the cdktn output."""
    assert _addresses(cdktn_stacks[stack], set(STATEFUL_TYPES)) == PINNED[stack]


@pytest.mark.parametrize("stack", sorted(PINNED))
def test_protected_environments_prevent_destroy_on_cdktn(cdktn_stacks, stack: str) -> None:
    expected = PINNED[stack] if CONFIGS[ENV_OF[stack]].protected else []
    assert protected_addresses(cdktn_stacks[stack]) == expected


def _names(stack: dict) -> dict[str, list[str]]:
    return {
        "resources": sorted(f"{t}.{n}" for t, items in stack["resource"].items() for n in items),
        "data": sorted(f"{t}.{n}" for t, items in stack.get("data", {}).items() for n in items),
        "outputs": sorted(stack.get("output", {})),
        "variables": sorted(stack.get("variable", {})),
        "providers": sorted(stack.get("provider", {})),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_address_output_and_variable_is_the_same(stacks, cdktn_stacks, stack: str) -> None:
    """Same resource and data addresses (the keys of the state), outputs (what other stacks
    and the workflows read) and variables."""
    assert _names(cdktn_stacks[stack]) == _names(stacks[stack])
    assert len(_names(stacks[stack])["resources"]) > 0


@pytest.mark.parametrize("stack", STACKS)
def test_local_state_backends_are_the_same(stacks, cdktn_stacks, stack: str) -> None:
    backend = stacks[stack]["terraform"]["backend"]
    assert backend == {"local": {"path": f"../../../terraform.{stack}.tfstate"}}
    assert cdktn_stacks[stack]["terraform"]["backend"] == backend


def test_remote_state_backends_keys_and_cross_stack_reads_are_the_same(remote_pair) -> None:
    """With the bootstrap's remote state (as CI synthesizes): the same container and blob key
    per stack, and the workspace stack reads the platform's state the same way."""
    tf, tn = load_stacks(remote_pair["cdktf"]), load_stacks(remote_pair["cdktn"])
    assert sorted(tf) == sorted(tn) == ["dev", "dev-workspace"]
    for stack in tf:
        (backend,) = tf[stack]["terraform"]["backend"].values()
        assert backend["key"] and backend["storage_account_name"] == "stmlopstfstate01"
        assert tn[stack]["terraform"]["backend"] == tf[stack]["terraform"]["backend"]
        assert tn[stack].get("data", {}).get("terraform_remote_state") == tf[stack].get(
            "data", {}
        ).get("terraform_remote_state")
    assert tf["dev-workspace"]["data"]["terraform_remote_state"]


# --- policy pack and checkov ---------------------------------------------------------------------


def _verdict_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The policy pack's notes (suppressed findings), warnings and errors of a synthesis."""
    lines = (result.stdout + result.stderr).splitlines()
    return sorted(ln for ln in lines if re.match(r"^(note|warning|error): ", ln))


def test_the_policy_pack_gives_the_same_verdicts(synth_run, cdktn_run) -> None:
    assert synth_run.returncode == cdktn_run.returncode == 0
    verdicts = _verdict_lines(synth_run)
    assert any(v.startswith("note: MLOPS-") for v in verdicts)
    assert _verdict_lines(cdktn_run) == verdicts


def test_an_insecure_prod_is_refused_the_same_way_on_both(cdktn_python, tmp_path: Path) -> None:
    config = _insecure_config(tmp_path)
    (config / "shared").rmdir()  # prod alone: no bootstrap stack needed to judge it
    env = {"MLOPS_CONFIG_DIR": str(config)}
    cdktf = run_main("--check", env=env)
    cdktn = run_cdktn(cdktn_python, "--check", outdir=tmp_path / "unused", env=env)
    assert cdktf.returncode == cdktn.returncode == 2, cdktn.stderr[-3000:]
    errors = [ln for ln in cdktf.stderr.splitlines() if "(MLOPS-" in ln]
    assert len(errors) >= 5
    assert [ln for ln in cdktn.stderr.splitlines() if "(MLOPS-" in ln] == errors


@pytest.fixture(scope="module")
def checkov() -> Path:
    if not DEFAULT_CHECKOV.is_file():
        if os.environ.get("MLOPS_REQUIRE_CHECKOV") == "1":
            pytest.fail(f"checkov not found at {DEFAULT_CHECKOV}; run `make checkov`")
        pytest.skip("checkov not installed (make checkov)")
    return DEFAULT_CHECKOV


def _checkov_view(results) -> dict[str, dict[str, list]]:
    return {
        name: {
            "failed": sorted((f.check_id, f.resource) for f in r.failed),
            "accepted": sorted((f.check_id, f.resource) for f, _ in r.accepted),
            "passed": r.passed,
        }
        for name, r in results.items()
    }


def test_checkov_gives_the_same_findings_with_the_same_scoped_skips(
    synth_dir: Path, cdktn_dir: Path, checkov: Path
) -> None:
    skips = read_skips(ROOT / ".checkov-skips.yaml")
    tf = _checkov_view(scan(synth_dir, checkov, DEFAULT_CONFIG, skips))
    tn = _checkov_view(scan(cdktn_dir, checkov, DEFAULT_CONFIG, skips))
    assert all(not v["failed"] for v in tn.values()), tn
    assert tn == tf


# --- the accelerator on cdktn ----------------------------------------------------------------------


def test_the_accelerator_runs_on_cdktn_without_a_fallback(cdktn_run) -> None:
    assert "mlops-fast-synth" not in cdktn_run.stderr


def test_cdktn_output_is_the_same_with_and_without_the_accelerator(remote_pair) -> None:
    a, b = remote_pair["cdktn"], remote_pair["cdktn-plain"]
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_the_engine_switch_of_main_refuses_cdktn_where_it_is_not_installed(tmp_path) -> None:
    """The default venv has no cdktn: MLOPS_CDK_ENGINE=cdktn exits 2 and names the fix."""
    result = run_main("--check", env={"MLOPS_CDK_ENGINE": "cdktn"})
    assert result.returncode == 2
    assert "error: engine 'cdktn' (MLOPS_CDK_ENGINE=cdktn): package(s) cdktn," in result.stderr
    assert "make synth CDK=cdktn" in result.stderr and "Traceback" not in result.stderr


# --- the cdktn CLI ---------------------------------------------------------------------------------

CDKTN_CLI = ROOT / "engines" / "cdktn" / "node_modules" / ".bin" / "cdktn"


def _node_major() -> int:
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    return int(version.strip().lstrip("v").split(".")[0] or 0)


@pytest.mark.cli
def test_the_cdktn_cli_synthesizes_the_app_through_cdktf_json(
    cdktn_python: Path, cdktn_dir: Path, tmp_path: Path
) -> None:
    """What `make plan/deploy CDK=cdktn` rely on: the cdktn CLI reads this project (cdktf.json,
    CDKTF_OUTDIR, the manifest) and gets the same output as `make synth CDK=cdktn`. It needs
    Node >= 22.19 (cdktn-cli 0.24.0); the cdktn workflow requires it (MLOPS_REQUIRE_CDKTN_CLI)."""
    if not CDKTN_CLI.exists() or _node_major() < 22:
        if os.environ.get("MLOPS_REQUIRE_CDKTN_CLI") == "1":
            pytest.fail(f"needs {CDKTN_CLI} (make cdktn-node) and Node >= 22.19")
        pytest.skip("no cdktn CLI, or Node < 22 (make cdktn-node; the cdktn workflow runs it)")
    out = tmp_path / "cli.out"
    result = subprocess.run(
        [
            str(CDKTN_CLI),
            "synth",
            "--app",
            f"env MLOPS_CDK_ENGINE=cdktn {cdktn_python} main.py",
            "--output",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Generated Terraform code for the stacks" in result.stdout
    for stack in STACKS:
        rel = Path("stacks") / stack / "cdk.tf.json"
        assert (out / rel).read_bytes() == (cdktn_dir / rel).read_bytes(), stack
