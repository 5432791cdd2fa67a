"""Run a command and measure its wall time and the peak memory of its whole process tree.

The CDKTF Python app is two processes (python + the jsii node kernel, which itself is a
node parent + a node child running the kernel), so ``ru_maxrss`` of one child is not the
figure we want. We sample ``/proc`` every ``interval`` seconds, find every descendant of the
started process and sum their resident set sizes (``/proc/<pid>/statm``). The peak of that
sum is reported. Summing RSS counts shared pages (libc, the node binary) once per process,
so the figure errs on the high side. Linux only; no third-party dependency.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    max_procs: int
    cpu_s: dict = None  # "<pid> <comm>" -> user+system CPU seconds, last sample before exit
    stdout: str = ""
    stderr: str = ""


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # comm may contain spaces/parens: the ppid is the second field after the last ')'.
        rest = data[data.rindex(b")") + 2 :].split()
        kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


def _tree(root: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> tuple[str, float] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    comm = data[data.index(b"(") + 1 : data.rindex(b")")].decode(errors="replace")
    rest = data[data.rindex(b")") + 2 :].split()
    return comm, (int(rest[11]) + int(rest[12])) / _TICK


def tree_rss_bytes(root: int) -> tuple[int, int]:
    pids = _tree(root)
    return sum(_rss_bytes(p) for p in pids), len(pids)


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    interval: float = 0.02,
    timeout: float = 600,
) -> Measurement:
    peak = 0
    max_procs = 0
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out: dict[str, bytes] = {}

    def _drain(name: str, stream) -> None:
        out[name] = stream.read()

    threads = [
        threading.Thread(target=_drain, args=("stdout", proc.stdout), daemon=True),
        threading.Thread(target=_drain, args=("stderr", proc.stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    cpu: dict[str, float] = {}
    while proc.poll() is None:
        pids = _tree(proc.pid)
        rss, n = sum(_rss_bytes(p) for p in pids), len(pids)
        for p in pids:
            c = _cpu(p)
            if c is not None:
                cpu[f"{p} {c[0]}"] = c[1]
        peak = max(peak, rss)
        max_procs = max(max_procs, n)
        if time.perf_counter() - start > timeout:
            proc.kill()
        time.sleep(interval)
    wall = time.perf_counter() - start
    for t in threads:
        t.join(timeout=10)
    return Measurement(
        wall_s=wall,
        peak_rss_mb=peak / 2**20,
        returncode=proc.returncode,
        max_procs=max_procs,
        cpu_s=cpu,
        stdout=out.get("stdout", b"").decode("utf-8", "replace"),
        stderr=out.get("stderr", b"").decode("utf-8", "replace"),
    )
