"""tools.run_job: start the ML pipeline job and wait for its result (fake workspace client)."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tools.run_job import RunJobError, main, normalise_host, read_outputs, run_and_wait


class Life(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    TERMINATED = "TERMINATED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class FakeJobs:
    def __init__(self, states: list[tuple[Life, str | None]]) -> None:
        self.states = states
        self.polls = 0
        self.started: list[int] = []
        self.cancelled: list[int] = []

    def run_now(self, job_id: int) -> Any:
        self.started.append(job_id)
        return SimpleNamespace(response=SimpleNamespace(run_id=77))

    def get_run(self, run_id: int) -> Any:
        life, result = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        state = SimpleNamespace(life_cycle_state=life, result_state=result, state_message="msg")
        return SimpleNamespace(state=state, run_page_url="https://adb-1.net/run/77")

    def cancel_run(self, run_id: int) -> None:
        self.cancelled.append(run_id)


def client(states: list[tuple[Life, str | None]]) -> Any:
    return SimpleNamespace(jobs=FakeJobs(states))


def test_success_after_polling() -> None:
    c = client([(Life.PENDING, None), (Life.RUNNING, None), (Life.TERMINATED, "SUCCESS")])
    outcome = run_and_wait(c, 5, timeout_s=100, sleep=lambda s: None, log=lambda m: None)
    assert outcome.succeeded and outcome.run_id == 77
    assert c.jobs.started == [5] and c.jobs.polls == 3


@pytest.mark.parametrize(
    "final", [(Life.TERMINATED, "FAILED"), (Life.INTERNAL_ERROR, None), (Life.TERMINATED, None)]
)
def test_failures(final: tuple[Life, str | None]) -> None:
    outcome = run_and_wait(
        client([final]), 5, timeout_s=100, sleep=lambda s: None, log=lambda m: None
    )
    assert not outcome.succeeded


def test_timeout_cancels_the_run() -> None:
    c = client([(Life.RUNNING, None)])
    ticks = iter(range(0, 10_000, 50))
    outcome = run_and_wait(
        c, 5, timeout_s=120, sleep=lambda s: None, clock=lambda: next(ticks), log=lambda m: None
    )
    assert outcome.life_cycle_state == "TIMEDOUT" and not outcome.succeeded
    assert c.jobs.cancelled == [77]


def test_outputs_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text(
        json.dumps(
            {"dev": {"workspace_url": "adb-1.2.azuredatabricks.net", "ml_pipeline_job_id": "42"}}
        )
    )
    assert read_outputs(path, "dev") == ("https://adb-1.2.azuredatabricks.net", 42)
    with pytest.raises(RunJobError, match="no stack 'uat'"):
        read_outputs(path, "uat")
    assert normalise_host("https://x.net/") == "https://x.net"


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out.json"
    path.write_text(json.dumps({"dev": {"workspace_url": "h", "ml_pipeline_job_id": 3}}))
    ok = client([(Life.TERMINATED, "SUCCESS")])
    args = ["--outputs-file", str(path), "--stack", "dev", "--poll-seconds", "0"]
    assert main(args, client_factory=lambda host: ok) == 0
    failed = client([(Life.TERMINATED, "FAILED")])
    assert main(args, client_factory=lambda host: failed) == 1
    assert "::error title=ML pipeline failed::run 77 ended TERMINATED/FAILED" in (
        capsys.readouterr().err
    )
    assert main(["--stack", "dev"], client_factory=lambda host: ok) == 2
