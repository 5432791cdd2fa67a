"""tools.run_job: start the ML pipeline job and wait for its result (fake workspace client)."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tools.run_job import (
    DEFAULT_AUTH_TYPE,
    RunJobError,
    main,
    normalise_host,
    read_outputs,
    run_and_wait,
)


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


def quiet(**kwargs: Any) -> dict[str, Any]:
    return {"sleep": lambda s: None, "log": lambda m: None, **kwargs}


def test_success_after_polling() -> None:
    c = client([(Life.PENDING, None), (Life.RUNNING, None), (Life.TERMINATED, "SUCCESS")])
    outcome = run_and_wait(lambda: c, 5, timeout_s=100, **quiet())
    assert outcome.succeeded and outcome.run_id == 77
    assert c.jobs.started == [5] and c.jobs.polls == 3


@pytest.mark.parametrize(
    "final", [(Life.TERMINATED, "FAILED"), (Life.INTERNAL_ERROR, None), (Life.TERMINATED, None)]
)
def test_failures(final: tuple[Life, str | None]) -> None:
    c = client([final])
    outcome = run_and_wait(lambda: c, 5, timeout_s=100, **quiet())
    assert not outcome.succeeded


def test_timeout_cancels_the_run() -> None:
    c = client([(Life.RUNNING, None)])
    ticks = iter(range(0, 10_000, 50))
    outcome = run_and_wait(lambda: c, 5, timeout_s=120, **quiet(clock=lambda: next(ticks)))
    assert outcome.life_cycle_state == "TIMEDOUT" and not outcome.succeeded
    assert c.jobs.cancelled == [77]


def test_a_long_wait_re_authenticates_instead_of_holding_one_assertion() -> None:
    """A new client (a fresh GitHub OIDC token) every reauth period, never one for the whole
    wait: the run goes on for 100 simulated minutes, the client is replaced every 20."""
    shared = FakeJobs([(Life.RUNNING, None)] * 200 + [(Life.TERMINATED, "SUCCESS")])
    made: list[float] = []
    now = [0.0]

    def connect() -> Any:
        made.append(now[0])
        return SimpleNamespace(jobs=shared)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    outcome = run_and_wait(
        connect,
        5,
        timeout_s=110 * 60,
        poll_s=30,
        reauth_s=20 * 60,
        sleep=sleep,
        clock=lambda: now[0],
        log=lambda m: None,
    )
    assert outcome.succeeded
    assert made == [0.0, 1200.0, 2400.0, 3600.0, 4800.0, 6000.0]


def test_outputs_files_of_both_stacks(tmp_path: Path) -> None:
    """`terraform output -json` of the platform and the workspace stack, merged; sensitive
    outputs are never read."""
    platform, workspace = tmp_path / "dev.json", tmp_path / "dev-workspace.json"
    platform.write_text(
        json.dumps(
            {
                "workspace_url": {"value": "adb-1.2.azuredatabricks.net", "sensitive": False},
                "insights_key": {"value": "s3cret", "sensitive": True},
            }
        )
    )
    workspace.write_text(json.dumps({"ml_pipeline_job_id": {"value": "42", "sensitive": False}}))
    assert read_outputs([platform, workspace]) == ("https://adb-1.2.azuredatabricks.net", 42)
    hidden = tmp_path / "hidden.json"
    hidden.write_text(json.dumps({"ml_pipeline_job_id": {"value": 1, "sensitive": True}}))
    with pytest.raises(RunJobError, match="ml_pipeline_job_id"):
        read_outputs([platform, hidden])
    with pytest.raises(RunJobError, match="outputs file not found"):
        read_outputs([tmp_path / "missing.json"])
    assert normalise_host("https://x.net/") == "https://x.net"


def test_main_exit_codes_and_explicit_auth_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, str]] = []

    def factory(states: list[tuple[Life, str | None]]) -> Any:
        fake = client(states)

        def make(host: str, auth_type: str) -> Any:
            seen.append((host, auth_type))
            return fake

        return make

    args = ["--host", "adb-3.azuredatabricks.net", "--job-id", "3", "--poll-seconds", "1"]
    assert main(args, client_factory=factory([(Life.TERMINATED, "SUCCESS")])) == 0
    assert seen == [("https://adb-3.azuredatabricks.net", "github-oidc-azure")]
    assert DEFAULT_AUTH_TYPE == "github-oidc-azure"
    assert main(args, client_factory=factory([(Life.TERMINATED, "FAILED")])) == 1
    assert "::error title=ML pipeline failed::run 77 ended TERMINATED/FAILED" in (
        capsys.readouterr().err
    )
    assert main([], client_factory=factory([])) == 2
    # The wait is bounded.
    for bad in ("0", "121", "600"):
        with pytest.raises(SystemExit):
            main([*args, "--timeout-minutes", bad], client_factory=factory([]))
