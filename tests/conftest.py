"""Shared fixtures. The expensive synthesis runs once per test session, through the real entry
point (`python main.py`), into a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("sandbox", "dev", "uat", "prod")
STACKS = (*ENVIRONMENTS, *(f"{env}-workspace" for env in ENVIRONMENTS), "bootstrap")
"""Every synthesized stack: each environment's platform and workspace stacks, the bootstrap."""


def run_main(
    *args: str,
    outdir: Path | None = None,
    cwd: Path = ROOT,
    env: dict | None = None,
    python: str | Path = sys.executable,
):
    """Run `python main.py ARGS` like the cdktf CLI does; returns the CompletedProcess.
    `python`: the interpreter (another engine's venv, tests/engines/)."""
    full_env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **(env or {})}
    if outdir is not None:
        full_env["CDKTF_OUTDIR"] = str(outdir)
    return subprocess.run(
        [str(python), str(cwd / "main.py"), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def synthesize_to(outdir: Path, **kwargs: Any) -> Path:
    result = run_main(outdir=outdir, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"synth failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return outdir


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """The session's one synthesis (default engine) into `synth_dir`: its completed process
    (stdout and stderr carry the policy pack's notes and warnings)."""
    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    result = run_main(outdir=outdir)
    if result.returncode != 0:
        pytest.fail(f"synth failed ({result.returncode}):\n{result.stderr[-4000:]}")
    result.outdir = outdir  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="session")
def synth_dir(synth_run: subprocess.CompletedProcess) -> Path:
    """`cdktf.out`-shaped directory with every environment's stack."""
    return synth_run.outdir  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def stacks(synth_dir: Path) -> dict[str, dict[str, Any]]:
    """Environment name -> parsed `cdk.tf.json`."""
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted((synth_dir / "stacks").glob("*/cdk.tf.json"))
    }


def resources(stack: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """Logical ID -> resource body, for one resource type."""
    return stack.get("resource", {}).get(type_, {})


def only(stack: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    """The single resource of `type_` (fails if there is not exactly one)."""
    found = resources(stack, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def ref(type_: str, logical_id: str, attribute: str) -> str:
    """The Terraform reference string cdktf writes for an attribute of a resource."""
    return f"${{{type_}.{logical_id}.{attribute}}}"


def workspace(stacks: dict[str, dict[str, Any]], env: str) -> dict[str, Any]:
    """The workspace stack (`<env>-workspace`) of an environment."""
    return stacks[f"{env}-workspace"]


def remote_ref(
    stacks: dict[str, dict[str, Any]], env: str, type_: str, logical_id: str, attribute: str
) -> str:
    """How the workspace stack of `env` reads an attribute of a platform-stack resource: a
    cross-stack reference through one output of the platform stack and its remote state."""
    target = ref(type_, logical_id, attribute)
    names = [
        name
        for name, output in stacks[env].get("output", {}).items()
        if name.startswith("cross-stack-output-") and output["value"] == target
    ]
    assert len(names) == 1, f"expected one cross-stack output for {target}, found {names}"
    return f"${{data.terraform_remote_state.cross-stack-reference-input-{env}.outputs.{names[0]}}}"


def job_principal_resource(stack: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(logical ID, body) of the job principal a workspace stack creates (the other service
    principal, where the smoke is enabled, is the smoke identity's)."""
    (found,) = [
        (k, v)
        for k, v in resources(stack, "databricks_service_principal").items()
        if v["//"]["metadata"]["path"].endswith("/JobPrincipal/ServicePrincipal")
    ]
    return found


def job_principal(stack: dict[str, Any]) -> str:
    """How a workspace stack names the application ID of its job principal (created)."""
    sp_id, _ = job_principal_resource(stack)
    return ref("databricks_service_principal", sp_id, "application_id")


@pytest.fixture(scope="session")
def terraform_cli() -> str:
    """The real Terraform CLI (CI installs 1.11.4). Tests that use it run only Terraform's
    built-in provider or a local mirror: nothing is downloaded. Skipped where Terraform is not
    installed, unless CICD_REQUIRE_TERRAFORM=1 (set by the checks workflow)."""
    import shutil

    found = shutil.which("terraform")
    if found is None:
        if os.environ.get("CICD_REQUIRE_TERRAFORM") == "1":
            pytest.fail("terraform not found; the checks workflow installs 1.11.4")
        pytest.skip("terraform is not installed")
    return found
