"""All-or-nothing synthesis output: write into a staging directory beside the real output and
swap it in only when every check passed. Pure Python (no cdktf)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StagedOutput:
    """`stage()` yields a fresh directory next to `target`; `publish()` (inside the `with`)
    replaces `target` by it. Leaving the block without `publish()`, or with an exception,
    removes the staging directory and leaves `target` as it was."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._staging: Path | None = None

    @contextmanager
    def stage(self) -> Iterator[Path]:
        parent = self.target.parent
        parent.mkdir(parents=True, exist_ok=True)
        # Same parent directory: the final rename is atomic on one file system.
        staging = parent / f".{self.target.name}.staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        self._staging = staging
        try:
            yield staging
        finally:
            self._staging = None
            shutil.rmtree(staging, ignore_errors=True)

    def publish(self) -> None:
        if self._staging is None:
            raise RuntimeError("publish() must be called inside stage()")
        previous = self.target.parent / f".{self.target.name}.previous-{os.getpid()}"
        if self.target.exists():
            os.rename(self.target, previous)
        os.rename(self._staging, self.target)
        shutil.rmtree(previous, ignore_errors=True)
