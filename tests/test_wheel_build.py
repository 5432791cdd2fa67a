"""The ML wheel: a reproducible PEP 517 build that carries every entry point the job templates
call."""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from constructs_lib.databricks.job_specs.rendering import TEMPLATES_DIR
from tests.conftest import ROOT

EPOCH = "315532800"  # the Makefile's WHEEL_EPOCH


def build(outdir: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(outdir),
            "ml_src",
        ],
        cwd=ROOT,
        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH},
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = outdir.glob("*.whl")
    return wheel


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first, second = build(tmp_path / "a"), build(tmp_path / "b")
    assert first.name == second.name == "taxi_fare_mlops-0.1.0-py3-none-any.whl"
    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    )


def test_wheel_has_the_entry_points_the_templates_call(tmp_path: Path) -> None:
    wheel = build(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(name).decode())
        metadata = archive.read(name.replace("entry_points.txt", "METADATA")).decode()
    scripts = set(parser["console_scripts"])
    called = set()
    for template in (TEMPLATES_DIR / "jobs").glob("*.yaml.j2"):
        called |= set(re.findall(r'm\.wheel_task\("([a-z-]+)"', template.read_text()))
    assert called, "no wheel tasks found in the templates"
    assert called <= scripts, f"templates call entry points the wheel lacks: {called - scripts}"
    # The runtime provides Spark, MLflow, LightGBM...: the wheel must not reinstall them.
    assert "Requires-Dist" not in "\n".join(
        line for line in metadata.splitlines() if "extra ==" not in line
    )
