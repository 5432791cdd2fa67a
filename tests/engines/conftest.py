"""Fixtures of the engine comparison: the same configs synthesized by CDK Terrain (cdktn, from
.venv-cdktn) beside the session's default-engine synthesis (`synth_dir`).

.venv-cdktn is created by `make cdktn-venv` (`make test` does it). Where it is missing these
tests skip, unless MLOPS_REQUIRE_CDKTN=1 (set by `make test` and the cdktn workflow), in which
case they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import engine
from tests.conftest import ROOT, run_main

CDKTN = engine.ENGINES["cdktn"]
CDKTN_PYTHON = ROOT / CDKTN.venv / "bin" / "python"
STATE_ENV = {"TF_STATE_STORAGE_ACCOUNT": "stmlopstfstate01", "TF_STATE_RESOURCE_GROUP": "rg-tf"}


@pytest.fixture(scope="session")
def cdktn_python() -> Path:
    if not CDKTN_PYTHON.is_file():
        if os.environ.get("MLOPS_REQUIRE_CDKTN") == "1":
            pytest.fail(f"{CDKTN_PYTHON} not found; run `make cdktn-venv`")
        pytest.skip("no .venv-cdktn (make cdktn-venv)")
    return CDKTN_PYTHON


def run_cdktn(cdktn_python: Path, *args: str, outdir: Path, env: dict | None = None):
    """`main.py` on CDK Terrain, as `make synth CDK=cdktn` runs it."""
    return run_main(
        *args, outdir=outdir, python=cdktn_python, env={engine.ENGINE_VAR: "cdktn", **(env or {})}
    )


def synthesized(result: subprocess.CompletedProcess, outdir: Path) -> Path:
    if result.returncode != 0:
        pytest.fail(f"synth failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return outdir


@pytest.fixture(scope="session")
def cdktn_run(cdktn_python: Path, tmp_path_factory: pytest.TempPathFactory):
    """Every stack synthesized by cdktn (the same configs as `synth_dir`)."""
    outdir = tmp_path_factory.mktemp("cdktn") / "cdktn.out"
    result = run_cdktn(cdktn_python, outdir=outdir)
    synthesized(result, outdir)
    result.outdir = outdir  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="session")
def cdktn_dir(cdktn_run) -> Path:
    return cdktn_run.outdir


def load_stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


@pytest.fixture(scope="session")
def cdktn_stacks(cdktn_dir: Path) -> dict[str, dict[str, Any]]:
    return load_stacks(cdktn_dir)


@pytest.fixture(scope="session")
def remote_pair(cdktn_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One environment (dev) with the bootstrap's remote state, as CI synthesizes it, on both
    engines, and on cdktn once more without the accelerator: engine name (or `cdktn-plain`)
    -> output directory."""
    base = tmp_path_factory.mktemp("remote-pair")
    config = base / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "dev.yaml", config / "dev.yaml")
    env = {**STATE_ENV, "MLOPS_CONFIG_DIR": str(config)}
    out = {name: base / name / "out" for name in ("cdktf", "cdktn", "cdktn-plain")}
    synthesized(run_main(outdir=out["cdktf"], env=env), out["cdktf"])
    synthesized(run_cdktn(cdktn_python, outdir=out["cdktn"], env=env), out["cdktn"])
    plain = run_cdktn(cdktn_python, outdir=out["cdktn-plain"], env={**env, "MLOPS_FAST_SYNTH": "0"})
    synthesized(plain, out["cdktn-plain"])
    return out
