"""One private temporary directory per run, for the jsii kernel and jsii's Python runtime,
removed at exit and swept by the next run if the run was killed.

Why: the jsii kernel (node) unpacks every assembly into `$TMPDIR/jsii-kernel-XXXXXX` and removes
it only in its `exit` handler, which does not run when node is stopped by a signal; the
synthesis accelerator stops an unused kernel with SIGTERM after a config error
(`_abandon_unused_prefetch` in `fast_synth/node_hooks.py`), and Ctrl-C reaches node too: every
such run left ~100 MB in /tmp. jsii's Python runtime also writes its entry script into a
`tempfile.TemporaryDirectory` that a killed app never removes. With `TMPDIR` (node, and every
process the app starts) and `tempfile.tempdir` (Python) pointing into one directory of ours,
whatever is left there goes with that directory.

Pure Python, no cdktf; `main.py` calls `use_private_tmpdir(os.environ)` before anything starts
the kernel.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

PREFIX = "mlops-synth-"
_NAME = re.compile(rf"{re.escape(PREFIX)}(\d+)-[A-Za-z0-9_]+")


def process_alive(pid: int) -> bool:
    """Whether a process with this ID exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(base: Path) -> list[Path]:
    """Remove this user's run directories in `base` whose process is gone; the ones removed."""
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if not match or process_alive(int(match.group(1))):
            continue
        try:
            if entry.is_symlink() or entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


PROBE_BYTES = 64 << 10
"""Written once into a new run directory: a full file system is reported before anything
starts (on tmpfs a directory can still be created when no byte is left)."""


def base_dir(environ: MutableMapping[str, str]) -> Path:
    """Where this run's directory goes: `TMPDIR` as given when it is set (a full, read-only or
    missing `TMPDIR` is reported, never silently replaced by another directory, as
    `tempfile.gettempdir()` would), else the system's temporary directory."""
    value = environ.get("TMPDIR")
    return Path(value) if value else Path(tempfile.gettempdir())


def private_dir(base: Path | None = None) -> Path:
    """A new directory of this run in `base` (default: the system temporary directory; swept by
    `sweep` once this process is gone), removed at exit: `atexit` runs handlers last-in
    first-out, so register it before starting anything that must stop before it is removed.
    Raises `OSError` (ENOSPC for a full file system) if it cannot be created or written."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    atexit.register(shutil.rmtree, path, True)
    probe = path / "probe"
    with open(probe, "wb") as handle:
        handle.write(bytes(PROBE_BYTES))
        handle.flush()
        os.fsync(handle.fileno())
    probe.unlink()
    return path


def use_private_tmpdir(environ: MutableMapping[str, str]) -> Path:
    """Sweep what killed runs left, create this run's directory, point `TMPDIR` in `environ`
    and `tempfile` at it, and remove it at exit (registered now, so it runs after jsii's own
    exit handler, which stops node). Raises `OSError` if the temporary directory is missing,
    not writable or full."""
    base = base_dir(environ)
    sweep(base)
    path = private_dir(base)
    environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)
    return path
