"""The result line every console script prints last (the contract with the dev smoke run).

    taxi-fare-result: {"step": "score", "status": "ok", "rows_scored": 352, ...}

One compact JSON object on one line, prefixed by ``taxi-fare-result: ``, written as the last
line of stdout whenever a step exits 0, including the expected states of a new deployment
(``no_data``, ``no_champion``...). ``step`` and ``status`` are always present; the other keys
have fixed names (``rows``, ``rows_scored``, ``duplicates``, ``champion_version``,
``model_version``, ``verdict``, ``window_start``, ``window_end``) so that a reader of
``GET /api/2.1/jobs/runs/get-output`` (field ``logs``: the tail of stdout) can assert them
without parsing anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

PREFIX = "taxi-fare-result: "
STATUS = re.compile(r"^[a-z][a-z_]{1,31}$")
"""A short lowercase word (underscores allowed)."""
FIELDS = frozenset(
    {
        "rows",
        "rows_scored",
        "duplicates",
        "champion_version",
        "model_version",
        "verdict",
        "retrain_run_id",
        "window_start",
        "window_end",
        "note",
    }
)
"""Step-specific keys a result may carry (besides ``step`` and ``status``)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value == _midnight(value) else value.isoformat()
    return value


def _midnight(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def result_line(step: str, status: str, **fields: Any) -> str:
    """The one-line result of ``step``; unknown keys and non-word statuses are programming
    errors (the smoke tool asserts these names)."""
    if not STATUS.match(status):
        raise ValueError(f"status must be a short lowercase word, got {status!r}")
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise ValueError(f"unknown result keys {unknown}; allowed: {sorted(FIELDS)}")
    payload: dict[str, Any] = {"step": step, "status": status}
    payload.update({k: _plain(v) for k, v in fields.items()})
    return PREFIX + json.dumps(payload, separators=(",", ":"), default=str)


def parse_result(text: str) -> dict[str, Any] | None:
    """The last result line in ``text`` (e.g. a task run's stdout), or ``None``."""
    for line in reversed(text.splitlines()):
        if line.startswith(PREFIX):
            parsed = json.loads(line[len(PREFIX) :])
            if not isinstance(parsed, Mapping) or not {"step", "status"} <= set(parsed):
                raise ValueError(f"malformed result line: {line!r}")
            return dict(parsed)
    return None
