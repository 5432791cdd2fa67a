"""Can a scheduled job's processing window ever overlap the trips it reads? Pure Python over
the jobs of a synthesized workspace stack (provider shape: `parameter`, `task`, `schedule`).

A scheduled run processes the `window-days` days before its trigger date, so its source must
have trips of *current* dates. A fixed sample (`STATIC_SAMPLES`, e.g. `samples.nyctaxi.trips`:
January and February 2016) never has: reading it directly means every run finds no data. The
replay's landing table has, as long as a scheduled replay job writes it. Any other table is
taken to be live (its dates are not knowable at synthesis time).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from constructs_lib.config.models import STATIC_SAMPLES

REPLAY_ENTRY_POINT = "taxi-fare-replay"


def _parameters(job: Mapping[str, Any]) -> dict[str, str]:
    return {p["name"]: p.get("default", "") for p in job.get("parameter", [])}


def is_replay_job(job: Mapping[str, Any]) -> bool:
    """Whether the job runs the replay (it reads the fixed sample on purpose)."""
    return any(
        t.get("python_wheel_task", {}).get("entry_point") == REPLAY_ENTRY_POINT
        for t in job.get("task", [])
    )


def window_source_problems(
    jobs: Mapping[str, Mapping[str, Any]],
    today: date,
    static_samples: Mapping[str, tuple[str, str]] = STATIC_SAMPLES,
) -> list[str]:
    """One message per scheduled job whose window, triggered `today`, cannot overlap its
    source; empty when every scheduled job can find data."""
    replayed = {
        _parameters(job).get("source-table")
        for job in jobs.values()
        if is_replay_job(job) and job.get("schedule")
    }
    problems = []
    for job in jobs.values():
        if not job.get("schedule") or is_replay_job(job):
            continue
        params = _parameters(job)
        name = job.get("name", "?")
        source = params.get("source-table")
        if not source:
            problems.append(f"{name}: no source-table job parameter")
            continue
        days = int(params.get("window-days", "1"))
        start, end = today - timedelta(days=days), today
        if source in static_samples:
            first, last = (date.fromisoformat(d) for d in static_samples[source])
            if not (start <= last and first < end):
                problems.append(
                    f"{name}: its window [{start}, {end}) never overlaps {source} ({first} to "
                    f"{last}, a fixed sample); replay the sample (ml.trips_source.kind: replay)"
                )
        elif (
            any(
                is_replay_job(j) and _parameters(j).get("source-table") == source
                for j in jobs.values()
            )
            and source not in replayed
        ):
            problems.append(f"{name}: {source} is written only by an unscheduled replay job")
    return problems
