"""All-or-nothing output: the previous output survives any failure, and nothing the app did not
create is ever deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synth_runtime.staged_output import MARKER, OutputError, StagedOutput


def _previous(tmp_path: Path, marker: bool = True) -> Path:
    target = tmp_path / "cdktf.out"
    (target / "stacks" / "dev").mkdir(parents=True)
    (target / "stacks" / "dev" / "cdk.tf.json").write_text("old")
    if marker:
        (target / MARKER).write_text("ours")
    return target


def _publish(output: StagedOutput, **files: str) -> None:
    with output.stage() as staging:
        for name, text in files.items():
            (staging / name).write_text(text)
        output.publish()


def test_publish_replaces_the_output(tmp_path: Path) -> None:
    target = _previous(tmp_path)
    _publish(StagedOutput(target), **{"new.json": "new"})
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.json"]
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


def test_first_output_is_created_with_the_marker(tmp_path: Path) -> None:
    output = StagedOutput(tmp_path / "sub" / "cdktf.out")
    _publish(output, **{"a.json": "a"})
    assert (tmp_path / "sub" / "cdktf.out" / "a.json").read_text() == "a"
    assert (tmp_path / "sub" / "cdktf.out" / MARKER).is_file()


def test_publish_outside_stage_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="inside stage"):
        StagedOutput(tmp_path / "x").publish()


def test_foreign_directory_is_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    output = StagedOutput(target)
    with pytest.raises(OutputError, match="was not written by this app") as info:
        output.check()
    with pytest.raises(OutputError), output.stage():
        pass
    assert (target / "thesis.tex").read_text() == "years of work"
    assert "Fix: set CDKTF_OUTDIR to a new or empty directory" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize(
    "entries", [[], ["manifest.json", "stacks"], ["manifest.json", "stacks", MARKER], [MARKER]]
)
def test_empty_marked_or_cdktf_shaped_directories_may_be_replaced(
    tmp_path: Path, entries: list[str]
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    for name in entries:
        (target / name).mkdir() if name == "stacks" else (target / name).write_text("{}")
    _publish(StagedOutput(target), **{"new.json": "n"})
    assert (target / "new.json").read_text() == "n"


def test_cdktf_shaped_directory_with_something_else_is_refused(tmp_path: Path) -> None:
    target = _previous(tmp_path, marker=False)
    (target / "manifest.json").write_text("{}")
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError):
        StagedOutput(target).check()


def test_a_file_or_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        StagedOutput(tmp_path / "f").check()
    with pytest.raises(OutputError, match="root of the file system"):
        StagedOutput(Path("/")).check()


def test_symlinked_output_is_updated_where_it_points(tmp_path: Path) -> None:
    real = _previous(tmp_path / "real")
    link = tmp_path / "cdktf.out"
    link.symlink_to(real)
    _publish(StagedOutput(link), **{"new.json": "new"})
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert (real / "new.json").read_text() == "new"
    assert not (real / "stacks").exists()


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_leftovers_of_killed_runs_are_removed_live_ones_kept(tmp_path: Path) -> None:
    target = _previous(tmp_path)
    dead = _dead_pid()
    for name in (
        f".cdktf.out.staging-{dead}",
        f".cdktf.out.staging-{dead}.part-1",
        f".cdktf.out.previous-{dead}",
        f".cdktf.out.staging-{os.getppid()}",  # a live process: another run
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_text("x")
    (tmp_path / ".other.staging-1").mkdir()  # not ours: another output's name
    _publish(StagedOutput(target), **{"new.json": "n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".cdktf.out.staging-" + str(os.getppid()),
        ".other.staging-1",
        "cdktf.out",
    ]


def test_a_run_killed_between_its_renames_gets_its_output_back(tmp_path: Path) -> None:
    previous = _previous(tmp_path).rename(tmp_path / f".cdktf.out.previous-{_dead_pid()}")
    output = StagedOutput(tmp_path / "cdktf.out")
    with output.stage():
        pass  # a --check run: nothing published
    assert not previous.exists()
    assert (tmp_path / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").read_text() == "old"


def test_failed_second_rename_puts_the_previous_output_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _previous(tmp_path)
    output = StagedOutput(target)
    real_rename = os.rename

    def rename(src, dst):
        if ".staging-" in str(src):
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    with pytest.raises(OutputError) as info, output.stage() as staging:
        (staging / "new.json").write_text("new")
        monkeypatch.setattr(os, "rename", rename)
        output.publish()
    monkeypatch.undo()
    (line,) = str(info.value).splitlines()[1:]
    assert line == (
        f"  - output directory {target}: cannot replace {target} (No space left on device). "
        "Fix: the disk is full; free some space and run again"
    )
    assert (target / "stacks" / "dev" / "cdk.tf.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_removed_stacks_are_left_empty_for_the_cdktf_cli(tmp_path: Path) -> None:
    target = _previous(tmp_path)
    output = StagedOutput(target)
    with output.stage() as staging:
        (staging / "stacks" / "prod").mkdir(parents=True)
        output.publish(carry_over_removed_stacks=True)
    assert sorted(p.name for p in (target / "stacks").iterdir()) == ["dev", "prod"]
    assert list((target / "stacks" / "dev").iterdir()) == []  # no old content survives
