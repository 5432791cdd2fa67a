"""Synthesis workers (M): more than one process for a large platform. Used by ``main.py``, not
installed by :func:`fast_synth.install`.

M. Environments are independent stacks. When the estimated work (:func:`environment_weight`:
   one per environment plus 0.05 per job) is at least :data:`PARALLEL_FROM_WEIGHT`, ``main.py``
   splits the environments into contiguous groups (:func:`plan_groups`), keeps the first (and
   the bootstrap stack) and starts ``main.py --worker <envs>`` for each other group at once
   (:class:`Workers`); each worker synthesizes and checks its group into its own directory and
   reports its problems as JSON. Their stacks are then moved into the staging directory and
   ``manifest.json`` is rewritten the way cdktf writes it (:func:`merge_stacks`,
   :func:`stable_stringify`): the output is byte for byte what one process writes (tested).
   User errors found by a worker are reported like this process's; a crashed worker fails the
   run (exit 1) with its stderr. Costs a second kernel (~1 s of CPU, ~250 MB), so below the
   threshold everything stays in one process: the four environments of ``config/`` are.
   ``MLOPS_SYNTH_WORKERS=<n>`` sets the number of processes (``1``: never a worker);
   ``MLOPS_FAST_SYNTH=0`` also means one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .common import is_enabled

WORKERS_VAR = "MLOPS_SYNTH_WORKERS"
"""Number of synthesis processes: `auto` (the default) or a positive integer (`1`: no worker)."""
#: Cost of one environment stack relative to one job in it (measured on 2 cores: ~90 ms per
#: environment, ~4.5 ms per job).
JOB_WEIGHT = 0.05
#: Total weight from which a second process pays for its start-up (~1 s of CPU, ~250 MB).
#: Measured with `python main.py`, 1 vs 2 processes on this 2-vCPU machine (3 runs each):
#: 8 environments x 3 jobs (weight 9.2) +0.15 s, 10 x 3 (11.5) +0.07 s, 12 x 3 (13.8) +-0,
#: 12 x 20 (24) -0.35 s of wall time.
PARALLEL_FROM_WEIGHT = 16.0
#: Weight of the work this process gets done before a worker it starts catches up (the worker
#: starts after the configs are read, then imports on cores this process is using). Measured on
#: 12 x 20: with an even split this process waited 0.3-0.4 s for the worker, with 7 of the 12
#: environments here the worker finished first.
WORKER_START_WEIGHT = 3.0
#: Weight of the bootstrap stack (only this process synthesizes it).
BOOTSTRAP_WEIGHT = 1.0


def environment_weight(job_count: int) -> float:
    """Estimated synthesis cost of one environment stack with `job_count` Databricks jobs."""
    return 1.0 + JOB_WEIGHT * job_count


def process_count(weights: list[float], environ: Any = None) -> int:
    """How many processes should synthesize environments of these weights: 1 (this process
    only) unless acceleration is on and the platform is large enough to repay a worker's
    start-up; at most one per CPU and per environment. ``MLOPS_SYNTH_WORKERS`` (``auto``, the
    default, or a positive integer) overrides the estimate. Raises ``ValueError`` for any
    other value of it."""
    environ = os.environ if environ is None else environ
    raw = str(environ.get(WORKERS_VAR, "auto")).strip().lower() or "auto"
    if raw == "auto":
        wanted = None
    elif raw.isdigit() and int(raw) >= 1:
        wanted = int(raw)
    else:
        raise ValueError(f"{WORKERS_VAR}={raw!r} is neither 'auto' nor a positive integer")
    if not is_enabled(environ) or not weights:
        return 1
    if wanted is None:
        total = sum(weights)
        if total < PARALLEL_FROM_WEIGHT:
            return 1
        wanted = min(_cpu_count(), int(total // (PARALLEL_FROM_WEIGHT / 2)))
    return max(1, min(wanted, len(weights)))


def _cpu_count() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def plan_groups(weights: list[float], environ: Any = None, first_extra: float = 0.0) -> list[range]:
    """Which environments each process synthesizes: :func:`process_count` contiguous groups
    from :func:`partition`; the first is this process's. Raises ``ValueError`` for a bad
    ``MLOPS_SYNTH_WORKERS``."""
    return partition(weights, process_count(weights, environ), first_extra)


def partition(weights: list[float], parts: int, first_extra: float = 0.0) -> list[range]:
    """Split indices ``0..len(weights)`` into ``parts`` contiguous, non-empty ranges of about
    equal weight; the first range also carries ``first_extra`` (work only this process does).
    Contiguous ranges keep the stacks in configuration order within each process."""
    count = len(weights)
    parts = max(1, min(parts, count))
    before = [first_extra]  # before[i]: weight of the indices below i, plus first_extra
    for weight in weights:
        before.append(before[-1] + weight)
    cuts: list[int] = []
    for k in range(1, parts):
        target = before[-1] * k / parts
        lowest, highest = (cuts[-1] if cuts else 0) + 1, count - (parts - k)
        cuts.append(min(range(lowest, highest + 1), key=lambda c: abs(before[c] - target)))
    edges = [0, *cuts, count]
    return [range(a, b) for a, b in zip(edges, edges[1:], strict=False)]


class WorkerFailed(RuntimeError):
    """A worker stopped without its report (a crash, not a user error), or its output could
    not be merged. The message says which environments; the worker's stderr was relayed."""


class Workers:
    """Worker processes, one per group of environment names, each started at once with
    ``command(names)`` in ``environ`` plus ``CDKTF_OUTDIR`` set to its own fresh directory
    beside ``staging`` (and ``MLOPS_SYNTH_WORKERS=1`` so that it starts none itself). A
    worker writes one JSON line, ``{"problems": [...]}``, and exits 0, or 2 when it found
    problems.

    :meth:`finish` waits for every worker in order, relays its stderr (its warnings come after
    this process's), moves the stacks of a successful one into ``staging`` (:func:`merge_stacks`)
    and returns all reported problems. Leaving the ``with`` block stops any worker still
    running (an error in this process) and removes the worker directories."""

    def __init__(self, groups: list[list[str]], staging: Path, command, environ: Any) -> None:
        import subprocess
        import tempfile

        self._staging = staging
        self._files = contextlib.ExitStack()
        self._running: list[tuple[list[str], Path, Any, Any, Any]] = []
        for number, names in enumerate(groups, start=1):
            part = staging.parent / f"{staging.name}.part-{number}"
            shutil.rmtree(part, ignore_errors=True)
            env = {**environ, "CDKTF_OUTDIR": str(part), WORKERS_VAR: "1"}
            # Files, not pipes: a worker never waits for us to read its output.
            out = self._files.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115
            err = self._files.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115
            process = subprocess.Popen(  # noqa: S603 - the app itself, with our own arguments
                command(names), env=env, stdout=out, stderr=err, text=True
            )
            self._running.append((names, part, process, out, err))

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info) -> None:
        for _names, part, process, _out, _err in self._running:
            if process.poll() is None:
                process.kill()
                process.wait()
            shutil.rmtree(part, ignore_errors=True)
        self._files.close()

    def finish(self) -> list[dict]:
        problems: list[dict] = []
        for names, part, process, out_file, err_file in self._running:
            process.wait()
            out_file.seek(0)
            err_file.seek(0)
            out, err = out_file.read(), err_file.read()
            sys.stderr.write(err)
            # Its notes (suppressed findings) come before its report, the last line.
            sys.stdout.write("".join(out.strip().splitlines(keepends=True)[:-1]))
            which = f"the synthesis worker for {', '.join(names)}"
            try:
                report = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
                reported = list(report["problems"])
            except (ValueError, KeyError, TypeError, IndexError):
                reported = None
            if process.returncode not in (0, 2) or reported is None:
                raise WorkerFailed(
                    f"{which} stopped (exit {process.returncode}) without its report; its "
                    f"output is above. {WORKERS_VAR}=1 synthesizes in one process"
                )
            problems += reported
            if process.returncode == 0:
                try:
                    merge_stacks(self._staging, part)
                except (OSError, ValueError, KeyError) as exc:
                    raise WorkerFailed(f"cannot merge the output of {which}: {exc}") from exc
        return problems


def merge_stacks(dest: Path, part: Path) -> list[str]:
    """Move the stacks a worker synthesized into ``part`` over to ``dest`` and add them to
    ``dest/manifest.json``. The manifest is written the way cdktf writes it
    (``json-stable-stringify`` with two spaces: keys sorted), so the result is byte for byte
    the manifest one process would have written. Returns the stack names moved."""
    manifest, theirs = (json.loads((d / "manifest.json").read_text("utf-8")) for d in (dest, part))
    if manifest.get("version") != theirs.get("version"):
        raise ValueError(f"{part}: cdktf version differs from {dest}")
    stacks = manifest.setdefault("stacks", {})
    moved = []
    for name, entry in theirs.get("stacks", {}).items():
        if name in stacks:
            raise ValueError(f"stack {name!r} was synthesized twice")
        # An environment's stacks are synthesized together (its workspace stack depends on
        # its platform stack); a dependency on another part's stack cannot be merged.
        foreign = set(entry.get("dependencies") or ()) - set(theirs["stacks"])
        if foreign:
            raise ValueError(f"stack {name!r} depends on stacks of another part: {sorted(foreign)}")
        workdir = Path(entry["workingDirectory"])
        (dest / workdir).parent.mkdir(parents=True, exist_ok=True)
        os.replace(part / workdir, dest / workdir)
        stacks[name] = entry
        moved.append(name)
    (dest / "manifest.json").write_text(stable_stringify(manifest), "utf-8")
    return moved


def stable_stringify(value: Any, level: int = 0, space: str = "  ") -> str:
    """``require('json-stable-stringify')(value, {space})`` in Python, for JSON data: keys
    sorted, empty arrays and objects still broken over two lines (``[\\n  ]``), no final
    newline. Strings and numbers are written as ``JSON.stringify`` writes them (for
    integers and the strings a manifest holds)."""
    indent = "\n" + space * level
    if isinstance(value, dict):
        items = [
            f"{indent}{space}{json.dumps(key, ensure_ascii=False)}: "
            f"{stable_stringify(value[key], level + 1, space)}"
            for key in sorted(value)
        ]
        return "{" + ",".join(items) + indent + "}"
    if isinstance(value, list):
        items = [f"{indent}{space}{stable_stringify(v, level + 1, space)}" for v in value]
        return "[" + ",".join(items) + indent + "]"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)
