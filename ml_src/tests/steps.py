"""Run the console scripts' entry points the way the wheel task launcher does, and read the
result line each prints last."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from taxi_fare_mlops.results import parse_result

MONDAY = date(2024, 3, 4)
"""Day one of the scenarios: a Monday (the weekly ml_pipeline's day)."""


@dataclass
class StepRun:
    """Exit code, result line and the whole stdout of one entry point call."""

    code: int
    result: dict[str, Any]
    out: str

    @property
    def status(self) -> str:
        return self.result.get("status", "")


def run_step(main: Callable[[Sequence[str] | None], int], workdir: Path, *args: str) -> StepRun:
    """Call ``main`` with ``--runtime=local --local-dir=<workdir>`` plus ``args``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(["--runtime=local", f"--local-dir={workdir}", *args]) or 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    text = out.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    result = parse_result(text) or {}
    if code == 0:
        assert lines and lines[-1].startswith("taxi-fare-result: "), f"no result line last:\n{text}"
    return StepRun(code, result, text)


def day(offset: int) -> str:
    """ISO date ``offset`` days after :data:`MONDAY`."""
    return (MONDAY + timedelta(days=offset)).isoformat()
