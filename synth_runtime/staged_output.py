"""All-or-nothing synthesis output: write into a staging directory beside the real output and
swap it in only when every check passed. Pure Python (no cdktf).

What it promises (tests/unit/test_staged_output.py, tests/test_hostile_input.py):

* It never deletes what it did not create. The output directory carries a marker file
  (`MARKER`); an existing directory is replaced only if it is empty, carries the marker, or is
  a cdktf output (only `manifest.json`, `stacks/` and the marker in it). Anything else (say
  `CDKTF_OUTDIR=.` or `CDKTF_OUTDIR=$HOME`) is refused before synthesis starts.
* A symlinked output directory is updated where it points: the real directory is replaced,
  the link stays.
* Leftovers of a killed run (`.<name>.staging-<pid>`, its worker parts `...part-<n>`, and
  `.<name>.previous-<pid>`) are removed at the next run once their process is gone; if a run
  died between its two renames, the previous output is put back first.
* A file-system failure (read-only, full disk, immutable files, permissions) is an
  `OutputError`: one line naming the directory, the reason and the fix (exit status 2).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from constructs_lib.config.errors import ConfigError, Problem
from synth_runtime.scratch import process_alive

MARKER = ".mlops-cdktf-output"
"""File in every output directory this app writes: it may be replaced by the next synth."""
MARKER_TEXT = (
    "Written by databricks-mlops-cdktf (main.py). The whole directory is replaced by the next\n"
    "synth: keep nothing of yours in it.\n"
)
_CDKTF_ENTRIES = frozenset({"manifest.json", "stacks", MARKER})

_FIXES = {
    errno.EROFS: "the file system is read-only; set CDKTF_OUTDIR to a writable directory",
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is exhausted; free some space and run again",
    errno.EACCES: "make the directory and its parent writable for this user",
    errno.EPERM: "make the directory and its parent writable (an immutable file or directory, "
    "`chattr +i`, cannot be replaced: `chattr -i` it)",
    errno.ENOTEMPTY: "remove the directory in the way, or set CDKTF_OUTDIR elsewhere",
}


class OutputError(ConfigError):
    """The output directory cannot be used or written (a user-fixable condition)."""


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def filesystem_fix(error: OSError) -> str:
    return _FIXES.get(error.errno or 0, "check the directory, its permissions and free space")


def _pid_alive(pid: int) -> bool:
    # Our own pid: a leftover of an earlier process that had it.
    return pid != os.getpid() and process_alive(pid)


class StagedOutput:
    """`stage()` yields a fresh directory next to `target`; `publish()` (inside the `with`)
    replaces `target` by it. Leaving the block without `publish()`, or with an exception,
    removes the staging directory and leaves `target` as it was."""

    def __init__(self, target: Path) -> None:
        self.requested = target
        # A symlinked output directory is updated where it points (the link stays).
        self.target = Path(os.path.realpath(target))
        self._staging: Path | None = None
        self.warnings: list[str] = []
        """Leftovers that could not be removed (printed by the caller; not an error)."""

    def _error(self, message: str, fix: str) -> OutputError:
        return OutputError(
            [Problem(f"output directory {shown_path(self.requested)}", "", message, fix)]
        )

    def _fs_error(self, action: str, exc: OSError) -> OutputError:
        return self._error(f"cannot {action} ({exc.strerror or exc})", filesystem_fix(exc))

    def check(self) -> None:
        """Refuse an output directory this app must not replace, before anything is done."""
        target = self.target
        if target.parent == target:
            raise self._error(
                "is the root of the file system", "set CDKTF_OUTDIR to a directory of its own"
            )
        if target.exists() and not target.is_dir():
            raise self._error(
                "exists and is not a directory", "remove it, or set CDKTF_OUTDIR elsewhere"
            )
        if target.is_dir() and not self._replaceable(target):
            raise self._error(
                f"exists, is not empty and was not written by this app (no {MARKER} file): it "
                "would be replaced as a whole",
                "set CDKTF_OUTDIR to a new or empty directory (default: cdktf.out), or move "
                "its contents away",
            )

    @staticmethod
    def _replaceable(directory: Path) -> bool:
        try:
            entries = set(os.listdir(directory))
        except OSError:
            return False
        if not entries or MARKER in entries:
            return True
        return "manifest.json" in entries and entries <= _CDKTF_ENTRIES

    def _sweep(self) -> None:
        """Remove the leftovers of killed runs (their process is gone); put back a previous
        output that a killed run had moved aside but not yet replaced."""
        parent, name = self.target.parent, self.target.name
        pattern = re.compile(
            rf"\.{re.escape(name)}\.(staging|previous)-(\d+)(?:\.part-\d+)?",
        )
        stale: list[tuple[str, Path]] = []
        try:
            entries = sorted(os.listdir(parent))
        except OSError:
            return
        for entry in entries:
            match = pattern.fullmatch(entry)
            if match and not _pid_alive(int(match.group(2))):
                stale.append((match.group(1), parent / entry))
        for kind, path in stale:
            if kind == "previous" and not os.path.lexists(self.target):
                try:
                    os.rename(path, self.target)
                    continue
                except OSError:
                    pass
            shutil.rmtree(path, onerror=self._note_leftover)

    def _note_leftover(self, _function, path: str, exc_info) -> None:
        error = exc_info[1]
        if isinstance(error, FileNotFoundError):
            return
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        message = f"could not remove {shown_path(Path(path))} ({reason}); remove it by hand"
        if message not in self.warnings:
            self.warnings.append(message)

    @contextmanager
    def stage(self) -> Iterator[Path]:
        self.check()
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fs_error(f"create {shown_path(parent)}", exc) from None
        self._sweep()
        # Same parent directory: the final rename is atomic on one file system.
        staging = parent / f".{self.target.name}.staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir()
        except OSError as exc:
            raise self._fs_error(
                f"create the staging directory in {shown_path(parent)}", exc
            ) from None
        self._staging = staging
        try:
            yield staging
        finally:
            self._staging = None
            if os.path.lexists(staging):
                shutil.rmtree(staging, onerror=self._note_leftover)

    def publish(self, *, carry_over_removed_stacks: bool = False) -> None:
        """Replace the output by the staging directory (two renames; the first is undone if
        the second fails). `carry_over_removed_stacks`: leave an empty directory for each stack
        the new output no longer has, for a caller that deletes them itself afterwards: the
        cdktf CLI lists the stack directories before running the app and removes the ones the
        new manifest lacks, failing on one that is gone (cli-core 0.21.0,
        `SynthStack.synth`: `fs.rmSync(orphanedDirectory)`)."""
        if self._staging is None:
            raise RuntimeError("publish() must be called inside stage()")
        staging, target = self._staging, self.target
        self.check()  # again: it could have changed during the synthesis
        previous = target.parent / f".{target.name}.previous-{os.getpid()}"
        try:
            (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
            moved_aside = False
            if os.path.lexists(target):
                if carry_over_removed_stacks:
                    self._carry_over(target / "stacks", staging / "stacks")
                os.rename(target, previous)
                moved_aside = True
            try:
                os.rename(staging, target)
            except OSError:
                if moved_aside:
                    os.rename(previous, target)
                raise
        except OSError as exc:
            raise self._fs_error(f"replace {shown_path(self.requested)}", exc) from None
        shutil.rmtree(previous, onerror=self._note_leftover)

    @staticmethod
    def _carry_over(old_stacks: Path, new_stacks: Path) -> None:
        """An empty directory in `new_stacks` for each stack directory only `old_stacks` has:
        the caller deletes it; none of the old content reaches the new output."""
        if not old_stacks.is_dir() or not new_stacks.is_dir():
            return
        for entry in old_stacks.iterdir():
            if entry.is_dir() and not (new_stacks / entry.name).exists():
                (new_stacks / entry.name).mkdir()


def print_warnings(output: StagedOutput) -> None:
    for message in output.warnings:
        print(f"warning: {message}", file=sys.stderr)
