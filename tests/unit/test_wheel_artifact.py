"""Locating the built ML wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib.config import ConfigError
from constructs_lib.databricks.job_specs.wheel_artifact import locate_wheel


def _project(tmp_path: Path, *, built: bool) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "taxi-fare-mlops"\nversion = "1.2.3"\n'
    )
    if built:
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist" / "taxi_fare_mlops-1.2.3-py3-none-any.whl").write_bytes(b"wheel")
    return tmp_path


def test_locates_the_version_in_pyproject(tmp_path: Path) -> None:
    wheel = locate_wheel(_project(tmp_path, built=True))
    assert (wheel.package_name, wheel.version, wheel.distribution) == (
        "taxi_fare_mlops",
        "1.2.3",
        "taxi-fare-mlops",
    )
    assert wheel.filename == "taxi_fare_mlops-1.2.3-py3-none-any.whl"
    assert wheel.sha256 == "ba59926159d2aa256eb8739b8da7e2b574b960e1202c6d624cbe981cef996c91"


def test_missing_wheel_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"the ML wheel has not been built. Fix: run `make wheel`"
    ):
        locate_wheel(_project(tmp_path, built=False), root=tmp_path)


def test_unreadable_pyproject(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the ML package's name and version"):
        locate_wheel(tmp_path)
