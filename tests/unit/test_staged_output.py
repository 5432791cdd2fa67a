"""All-or-nothing output: the previous output survives any failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib.staged_output import StagedOutput


def _previous(tmp_path: Path) -> Path:
    target = tmp_path / "cdktf.out"
    (target / "stacks" / "dev").mkdir(parents=True)
    (target / "stacks" / "dev" / "cdk.tf.json").write_text("old")
    return target


def test_publish_replaces_the_output(tmp_path: Path) -> None:
    target = _previous(tmp_path)
    output = StagedOutput(target)
    with output.stage() as staging:
        (staging / "new.json").write_text("new")
        output.publish()
    assert sorted(p.name for p in target.iterdir()) == ["new.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]  # nothing left behind


def test_failure_keeps_the_previous_output(tmp_path: Path) -> None:
    target = _previous(tmp_path)
    with pytest.raises(RuntimeError, match="boom"), StagedOutput(target).stage() as staging:
        (staging / "half.json").write_text("half")
        raise RuntimeError("boom")
    assert (target / "stacks" / "dev" / "cdk.tf.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


def test_no_publish_means_no_change(tmp_path: Path) -> None:
    target = _previous(tmp_path)
    with StagedOutput(target).stage() as staging:
        (staging / "checked.json").write_text("x")
    assert (target / "stacks" / "dev" / "cdk.tf.json").read_text() == "old"


def test_first_output_is_created(tmp_path: Path) -> None:
    output = StagedOutput(tmp_path / "sub" / "cdktf.out")
    with output.stage() as staging:
        (staging / "a.json").write_text("a")
        output.publish()
    assert (tmp_path / "sub" / "cdktf.out" / "a.json").read_text() == "a"


def test_publish_outside_stage_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="inside stage"):
        StagedOutput(tmp_path / "x").publish()
