"""Exit status through the installed console scripts, and through the entry-point function
called the way a wheel task launcher calls it (``sys.argv`` set, no arguments, return value
not used): failures must leave as ``SystemExit`` with the code, whatever the caller does."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from taxi_fare_mlops import cli

SCRIPTS = sorted(cli.ENTRY_POINTS)


def console_script(name: str) -> Path:
    return Path(sys.executable).parent / name


def test_every_console_script_is_installed_and_points_at_its_entry_point() -> None:
    installed = {ep.name: ep for ep in entry_points(group="console_scripts")}
    for name in SCRIPTS:
        assert name in installed, f"{name} not installed; run make setup"
        assert installed[name].load() is cli.ENTRY_POINTS[name]
        assert console_script(name).exists()


@pytest.mark.parametrize("name", SCRIPTS)
def test_console_script_exits_2_on_unknown_parameter(name: str) -> None:
    done = subprocess.run(
        [str(console_script(name)), "--no-such-parameter=1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "unrecognized arguments: --no-such-parameter=1" in done.stderr


def test_console_script_names_an_unresolved_dynamic_reference() -> None:
    done = subprocess.run(
        [str(console_script("taxi-fare-score")), "--end-date={{job.trigger.time.iso_dat}}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "unresolved Databricks dynamic value reference" in done.stderr


def test_console_script_exits_1_on_a_pipeline_error(tmp_path: Path) -> None:
    # No model was ever registered in this fresh work directory: version 7 cannot be promoted.
    done = subprocess.run(
        [
            str(console_script("taxi-fare-promote")),
            "--runtime=local",
            f"--local-dir={tmp_path}",
            "--model-version=7",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "PipelineError: model main.taxi_fare.taxi_example_fare_packaged has no version 7" in (
        done.stderr
    )
    assert "taxi-fare-result:" not in done.stdout  # no result line on a failure


def test_console_script_prints_the_result_line_last_in_an_expected_state(tmp_path: Path) -> None:
    """A new deployment: nothing was trained, promote ends green and says why, last line."""
    done = subprocess.run(
        [
            str(console_script("taxi-fare-promote")),
            "--runtime=local",
            f"--local-dir={tmp_path}",
            "--end-date=2024-03-04",
            "--window-days=1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("taxi-fare-result: ")
    assert json.loads(last.removeprefix("taxi-fare-result: ")) == {
        "step": "promote",
        "status": "no_challenger",
        "model_version": None,
        "champion_version": None,
    }


def _launch(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> object:
    """What the wheel task launcher does: load the entry point from the installed metadata,
    set ``sys.argv``, call the function without arguments, ignore what it returns."""
    (ep,) = [ep for ep in entry_points(group="console_scripts") if ep.name == name]
    monkeypatch.setattr(sys, "argv", [name, *args])
    return ep.load()()


def test_launcher_call_fails_with_systemexit_not_a_return_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exc:
        _launch(
            "taxi-fare-promote",
            ["--runtime=local", f"--local-dir={tmp_path}", "--model-version=7"],
            monkeypatch,
        )
    assert exc.value.code == 1
    with pytest.raises(SystemExit) as exc:
        _launch("taxi-fare-monitor", ["--window-days=-1"], monkeypatch)
    assert exc.value.code == 2
