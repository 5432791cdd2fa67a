"""The `taxi-fare-result:` line every ML console script prints last (the contract between the
ML package and this tool, docs/cicd.md "What the smoke asserts"):

    taxi-fare-result: {"step": "score", "status": "ok", "rows_scored": 1204, "duplicates": 0}

The tool reads the last such line of a task run's logs (`runs/get-output` field `logs`, the
tail of stdout/stderr) and nothing else from them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "taxi-fare-result: "


class ResultError(Exception):
    """The last result line of a task's logs is not the contract's JSON object."""


@dataclass(frozen=True)
class StepResult:
    step: str
    status: str
    data: Mapping[str, Any] = field(default_factory=dict)
    """The whole object, `step` and `status` included."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def last_result(logs: str) -> StepResult | None:
    """The last `taxi-fare-result:` line of `logs`, parsed; None when there is none."""
    line = None
    for raw in logs.splitlines():
        text = raw.rstrip("\r")
        if text.startswith(PREFIX):
            line = text[len(PREFIX) :]
    if line is None:
        return None
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ResultError(f"the result line is not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ResultError("the result line is not a JSON object")
    step, status = data.get("step"), data.get("status")
    if not isinstance(step, str) or not step or not isinstance(status, str) or not status:
        raise ResultError("the result line lacks a string `step` or `status`")
    return StepResult(step=step, status=status, data=data)
