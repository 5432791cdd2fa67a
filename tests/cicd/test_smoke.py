"""The dev smoke tool (`python -m tools.smoke`) against a fake workspace API: the chain it
runs, what it asserts, how it authenticates, its bounded wait, the runs it cancels and the
input it refuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT
from tests.cicd.fake_workspace import (
    CLIENT_ID,
    GITHUB_REQUEST_TOKEN,
    STATIC_TOKEN,
    TENANT_ID,
    FakeWorkspace,
    result_line,
)
from tools.smoke import cli
from tools.smoke.auth import AZURE_DATABRICKS_APP_ID, GitHubOidcAzure
from tools.smoke.chain import SmokePlan
from tools.smoke.results import ResultError, last_result
from tools.smoke.transport import Request, Response, check_base_url, urllib_transport

HOST = "http://127.0.0.1:9"  # never contacted: the fake is the transport
OIDC_ENV = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": f"{HOST}/oidc/idtoken?api-version=2.0",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
    "ARM_CLIENT_ID": CLIENT_ID,
    "ARM_TENANT_ID": TENANT_ID,
}
FORCE_DRIFT = ["--job-parameter", "monitoring:psi-threshold=0"]
CHECKS = [
    "replay: run succeeded",
    "replay: every task printed its result line",
    "ml_pipeline: run succeeded",
    "ml_pipeline: every task printed its result line",
    "a champion exists",
    "batch_inference: run succeeded",
    "batch_inference: every task printed its result line",
    "rows were scored",
    "no duplicate scores",
    "monitoring: run succeeded",
    "monitoring: every task printed its result line",
    "a monitor verdict was written",
    "the retrain run was started once",
    "the jobs did not change during the smoke",
]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def smoke(
    fake: FakeWorkspace,
    *extra: str,
    tmp_path: Path,
    environ: dict[str, str] | None = None,
    job_ids: dict[str, int] | None = None,
    time_: FakeTime | None = None,
) -> tuple[int, str]:
    """Run the CLI in-process against `fake`; (exit status, summary file text)."""
    summary = tmp_path / "summary.md"
    clock = time_ or FakeTime()
    argv = [
        "--host", HOST,
        "--job-ids", json.dumps(job_ids if job_ids is not None else fake.job_ids()),
        "--run-tag", "4242-1",
        "--poll-seconds", "30",
        "--summary-file", str(summary),
        *extra,
    ]  # fmt: skip
    rc = cli.main(
        argv,
        transport=fake.handle,
        environ=environ if environ is not None else {"DATABRICKS_TOKEN": STATIC_TOKEN},
        clock=clock.clock,
        wall=lambda: 1_700_000_000.0,
        sleep=clock.sleep,
    )
    return rc, summary.read_text(encoding="utf-8") if summary.exists() else ""


def checks_in(summary: str) -> list[tuple[str, str]]:
    """(check, ok/**failed**) rows of the summary's check table, in order."""
    table = summary.split("| Check | | Detail |", 1)[1].split("\n")[2:]
    rows = [line.split(" | ") for line in table if line.startswith("| ")]
    return [(row[0][2:], row[1]) for row in rows]


def token_args() -> list[str]:
    return ["--auth", "token", *FORCE_DRIFT]


# --- the chain ---------------------------------------------------------------------------------


def test_a_healthy_deployment_passes_every_check(tmp_path: Path, capsys) -> None:
    fake = FakeWorkspace.green()
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "FAIL" not in out and "smoke: passed" in out
    assert summary.startswith("### Dev smoke run: passed")
    assert checks_in(summary) == [(check, "ok") for check in CHECKS]


def test_the_jobs_run_in_order_as_they_are_deployed_with_only_the_drift_override(
    tmp_path: Path,
) -> None:
    fake = FakeWorkspace.green()
    assert smoke(fake, *token_args(), tmp_path=tmp_path)[0] == 0
    started = fake.run_nows()
    assert [key for key, _ in started] == ["replay", "ml_pipeline", "batch_inference", "monitoring"]
    for key, body in started:
        expected = {"psi-threshold": "0"} if key == "monitoring" else None
        assert body.get("job_parameters") == expected, key
    # Each job is waited for before the next starts: every run-now follows the end of the last.
    paths = [p for _, p, _ in fake.calls]
    assert "/api/2.2/jobs/runs/submit" not in paths
    assert {p for p in paths} <= {
        "/api/2.2/jobs/get",
        "/api/2.2/jobs/run-now",
        "/api/2.2/jobs/runs/get",
        "/api/2.2/jobs/runs/get-output",
        "/api/2.2/jobs/runs/list",
    }
    # Every job is checked before the first is started.
    assert paths[:4] == ["/api/2.2/jobs/get"] * 4 and paths[4] == "/api/2.2/jobs/run-now"


def test_every_run_now_has_its_own_stable_idempotency_token(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    smoke(fake, *token_args(), tmp_path=tmp_path)
    tokens = [body["idempotency_token"] for _, body in fake.run_nows()]
    assert len(set(tokens)) == 4 and all(len(t) == 64 for t in tokens)
    plan = SmokePlan(job_ids=fake.job_ids(), run_tag="4242-1")
    assert tokens[1] == plan.idempotency_token("ml_pipeline")
    assert plan.idempotency_token("ml_pipeline") != SmokePlan(
        job_ids=fake.job_ids(), run_tag="4242-2"
    ).idempotency_token("ml_pipeline")


def test_a_retried_run_now_does_not_start_a_second_run(tmp_path: Path) -> None:
    """A 503 on run-now is retried with the same token: the workspace returns the same run."""
    fake = FakeWorkspace.green()
    fake.fail_next = []
    original = fake.handle

    def flaky(request: Request) -> Response:
        response = original(request)
        if request.url.endswith("/run-now") and not getattr(flaky, "done", False):
            flaky.done = True  # type: ignore[attr-defined]
            return Response(503, b'{"error_code": "TEMPORARILY_UNAVAILABLE"}')
        return response

    time_ = FakeTime()
    argv = [
        "--host",
        HOST,
        "--job-ids",
        json.dumps(fake.job_ids()),
        "--run-tag",
        "t",
        *token_args(),
    ]
    rc = cli.main(
        argv,
        transport=flaky,
        environ={"DATABRICKS_TOKEN": STATIC_TOKEN},
        clock=time_.clock,
        sleep=time_.sleep,
    )
    assert rc == 0
    replay_runs = [r for r in fake.runs.values() if r.job.key == "replay"]
    assert len(replay_runs) == 1 and len(fake.run_nows()) == 5


def test_an_environment_without_a_replay_job_starts_at_the_pipeline(tmp_path: Path, capsys) -> None:
    fake = FakeWorkspace.green(replay=False)
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 0
    assert [key for key, _ in fake.run_nows()] == ["ml_pipeline", "batch_inference", "monitoring"]
    assert "no 'replay' job in this environment" in summary


def test_a_failed_pipeline_run_stops_the_smoke_with_the_task_error(tmp_path: Path, capsys) -> None:
    fake = FakeWorkspace.green()
    train = fake.task("ml_pipeline", "train")
    train.result_state, train.error = "FAILED", "PipelineError: 0 training rows in window"
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    err = capsys.readouterr().err
    assert rc == 1
    assert [key for key, _ in fake.run_nows()] == ["replay", "ml_pipeline"]
    assert "| ml_pipeline: run succeeded | **failed** | TERMINATED/FAILED" in summary
    assert "train: PipelineError: 0 training rows in window" in summary
    assert "::error title=Dev smoke run failed::ml_pipeline: run" in err


@pytest.mark.parametrize(
    ("job", "task", "logs", "check", "detail"),
    [
        (
            "ml_pipeline",
            "promote",
            result_line(step="promote", status="unchanged", champion_version=None),
            "a champion exists",
            "no champion after promote (unchanged)",
        ),
        (
            "batch_inference",
            "score",
            result_line(step="score", status="ok", rows_scored=10, duplicates=2),
            "no duplicate scores",
            "duplicates=2",
        ),
        (
            "batch_inference",
            "score",
            result_line(step="score", status="no_data", rows_scored=0, duplicates=0),
            "rows were scored",
            "rows_scored=0 (status no_data)",
        ),
        (
            "batch_inference",
            "score",
            result_line(step="score", status="ok", rows_scored=10),
            "no duplicate scores",
            "duplicates=None",
        ),
        (
            "monitoring",
            "monitor",
            result_line(step="monitor", status="no_data", verdict=""),
            "a monitor verdict was written",
            "verdict=''",
        ),
        (
            "monitoring",
            "monitor",
            "no result line at all\n",
            "monitoring: every task printed its result line",
            "monitor: no taxi-fare-result line",
        ),
        (
            "batch_inference",
            "score",
            result_line(step="score", status="ok", rows_scored=True, duplicates=0),
            "rows were scored",
            "rows_scored=True",
        ),
    ],
)
def test_a_wrong_outcome_fails_its_check(
    tmp_path: Path, job: str, task: str, logs: str, check: str, detail: str
) -> None:
    fake = FakeWorkspace.green()
    fake.task(job, task).logs = logs
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1
    assert f"| {check} | **failed** | {detail}" in summary
    order = ["replay", "ml_pipeline", "batch_inference", "monitoring"]
    # Nothing after the failing job is started.
    assert [key for key, _ in fake.run_nows()] == order[: order.index(job) + 1]


def test_without_a_champion_from_promote_the_latest_champion_version_counts(tmp_path: Path) -> None:
    """promote printing no champion_version: the version evaluate compared against is the
    champion (3 here); a first deployment whose model was rejected has none at all."""
    fake = FakeWorkspace.green()
    fake.task("ml_pipeline", "promote").logs = result_line(step="promote", status="rejected")
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 0 and "| a champion exists | ok | champion version 3 |" in summary

    fake.task("ml_pipeline", "evaluate").logs = result_line(
        step="evaluate", status="rejected", champion_version=None
    )
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1
    assert (
        "| a champion exists | **failed** | no champion after evaluate (rejected); evaluate: rejected |"
        in summary
    )


@pytest.mark.parametrize(("runs", "ok"), [(0, False), (1, True), (2, False)])
def test_the_retrain_run_must_be_started_exactly_once(tmp_path: Path, runs: int, ok: bool) -> None:
    fake = FakeWorkspace.green()
    retrain = fake.task("monitoring", "retrain")
    retrain.retrain_runs = runs
    if runs == 0:
        retrain.logs = result_line(step="retrain", status="not_needed")
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == (0 if ok else 1)
    assert f"| the retrain run was started once | {'ok' if ok else '**failed**'} |" in summary


def test_a_retrain_through_a_run_job_task_is_found_by_its_trigger(tmp_path: Path) -> None:
    """With a run-job task (B's condition-task design), the pipeline run's trigger_info names
    the monitoring run's task run; another job's run-job trigger in the same window is not
    counted."""
    fake = FakeWorkspace.green(retrain="run_job")
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 0, summary
    (child,) = [r for r in fake.runs.values() if r.trigger == "RUN_JOB_TASK"]
    assert f"{child.run_id}" in summary

    fake = FakeWorkspace.green(retrain="run_job")
    original = fake._advance

    def also_foreign(run) -> None:  # another job's run-job task starts the pipeline too
        original(run)
        if run.job.key == "monitoring" and run.polls == 1:
            fake._new_run(
                fake.by_key["ml_pipeline"],
                trigger="RUN_JOB_TASK",
                trigger_info={"run_id": 1},
                started_by_smoke=False,
            )

    fake._advance = also_foreign  # type: ignore[method-assign]
    assert smoke(fake, *token_args(), tmp_path=tmp_path)[0] == 0


def test_the_retrain_run_is_found_across_pages_of_runs(tmp_path: Path) -> None:
    """runs/list returns at most 20 runs a page (the API's limit is below 25)."""
    fake = FakeWorkspace.green(retrain="run_job")
    original = fake._advance

    def many_foreign(run) -> None:
        if run.job.key == "monitoring" and run.polls == 0:
            for _ in range(45):  # other jobs' run-job tasks, before and after the retrain
                fake._new_run(
                    fake.by_key["ml_pipeline"],
                    trigger="RUN_JOB_TASK",
                    trigger_info={"run_id": 1},
                    started_by_smoke=False,
                )
        original(run)

    fake._advance = many_foreign  # type: ignore[method-assign]
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 0, summary
    pages = fake.calls_to("/api/2.2/jobs/runs/list")
    assert len(pages) == 3 and {int(p["limit"]) for p in pages} == {20}


def test_a_result_line_naming_a_run_the_jobs_api_does_not_show_fails(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    retrain = fake.task("monitoring", "retrain")
    retrain.retrain_runs = 1
    retrain.logs = result_line(step="retrain", status="retrain_started", retrain_run_id="999999")
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1
    assert "a result line names run(s) ['999999'], which the Jobs API does not show" in summary


def test_no_retrain_expected_skips_the_retrain_check(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    fake.task("monitoring", "retrain").retrain_runs = 0
    fake.task("monitoring", "retrain").logs = result_line(step="retrain", status="not_needed")
    rc, summary = smoke(fake, "--auth", "token", "--no-retrain-expected", tmp_path=tmp_path)
    assert rc == 0
    assert [name for name, _ in checks_in(summary)] == [
        c for c in CHECKS if c != "the retrain run was started once"
    ]


# --- outputs the smoke identity may not be able to read -------------------------------------


def test_a_task_without_logs_fails_and_says_so(tmp_path: Path) -> None:
    """Whether CAN_MANAGE_RUN returns `logs` in runs/get-output is an assumption the smoke run
    settles (docs/platform-assumptions.md): no logs is a red smoke, never a silent pass."""
    fake = FakeWorkspace.green()
    fake.task("batch_inference", "score").logs = None
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1
    assert "score: runs/get-output returned no logs" in summary


def test_a_malformed_result_line_fails(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    fake.task("ml_pipeline", "train").logs = "taxi-fare-result: {not json\n"
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1
    assert "train: the result line is not JSON" in summary


def test_output_is_read_per_task_run_never_for_the_job_run(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    smoke(fake, *token_args(), tmp_path=tmp_path)
    read = {int(p["run_id"]) for p in fake.calls_to("/api/2.2/jobs/runs/get-output")}
    assert read and read <= set(fake.task_runs)
    assert not read & set(fake.runs)


# --- bounded wait, cancellation -------------------------------------------------------------


def test_the_wait_is_bounded_and_the_run_is_cancelled_at_the_deadline(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    fake.never_finish = True
    time_ = FakeTime()
    rc, summary = smoke(
        fake, *token_args(), "--timeout-minutes", "10", tmp_path=tmp_path, time_=time_
    )
    assert rc == 1
    (replay,) = [r.run_id for r in fake.runs.values() if r.job.key == "replay"]
    assert fake.cancelled == [replay]
    assert time_.now == pytest.approx(600.0)
    assert max(time_.sleeps) <= 30.0 and len(time_.sleeps) == 20
    assert "replay: run" in summary and "still RUNNING at the deadline (10 minutes" in summary
    assert f"cancelled run {replay}, which the smoke had started" in summary


def test_an_interrupted_smoke_cancels_what_it_started(tmp_path: Path) -> None:
    from tools.smoke.chain import Interrupted

    fake = FakeWorkspace.green(polls_to_finish=3)
    time_ = FakeTime()

    def sleep(seconds: float) -> None:
        time_.sleep(seconds)
        if any(r.job.key == "ml_pipeline" for r in fake.runs.values()):
            raise Interrupted("SIGTERM")

    argv = ["--host", HOST, "--job-ids", json.dumps(fake.job_ids()), *token_args()]
    rc = cli.main(
        argv,
        transport=fake.handle,
        environ={"DATABRICKS_TOKEN": STATIC_TOKEN},
        clock=time_.clock,
        sleep=sleep,
    )
    assert rc == 1
    (pipeline,) = [r.run_id for r in fake.runs.values() if r.job.key == "ml_pipeline"]
    assert fake.cancelled == [pipeline]  # the finished replay run is left alone


@pytest.mark.parametrize(
    "signals", [(signal.SIGTERM,), (signal.SIGINT, signal.SIGTERM)], ids=["term", "int-term"]
)
def test_a_cancelled_job_cancels_the_running_job_run(tmp_path: Path, signals) -> None:
    """As GitHub cancels a job (SIGINT, then SIGTERM): the real CLI over HTTP, stopped while it
    waits; a second signal does not interrupt the cancelling."""
    fake = FakeWorkspace.green()
    fake.never_finish = True
    with fake.serve() as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.smoke", "--host", url, "--job-ids",
             json.dumps(fake.job_ids()), "--auth", "token", "--poll-seconds", "0.05"],
            cwd=ROOT, env={**os.environ, "DATABRICKS_TOKEN": STATIC_TOKEN},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not fake.runs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.runs, "the smoke never started a run"
        time.sleep(0.3)
        for sig in signals:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1, err
    (run_id,) = fake.runs
    assert fake.cancelled == [run_id]
    assert "interrupted" in err and "Traceback" not in err


def test_an_undeclared_override_fails_before_anything_starts(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    rc, summary = smoke(
        fake, "--auth", "token", "--job-parameter", "monitoring:drift-mode=forced",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert rc == 1 and fake.run_nows() == []
    assert "job 'monitoring' (14) declares no job parameter 'drift-mode'" in summary
    assert "declared: end-date, psi-threshold" in summary


def test_a_refused_call_names_the_right_the_smoke_identity_holds(tmp_path: Path, capsys) -> None:
    fake = FakeWorkspace.green()
    rc, _ = smoke(
        fake, *token_args(), tmp_path=tmp_path, job_ids={**fake.job_ids(), "monitoring": 77}
    )
    err = capsys.readouterr().err
    assert rc == 1 and fake.run_nows() == []
    assert "jobs/get: HTTP 403 (PERMISSION_DENIED: no access)" in err
    assert "CAN_MANAGE_RUN" in err


def test_transient_errors_are_retried_within_a_bound(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    fake.fail_next = [503, 429]
    time_ = FakeTime()
    assert smoke(fake, *token_args(), tmp_path=tmp_path, time_=time_)[0] == 0
    assert time_.sleeps[:2] == [2.0, 4.0]

    fake = FakeWorkspace.green()
    fake.fail_next = [503] * 5
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1 and "jobs/get: HTTP 503" in summary


# --- authentication ---------------------------------------------------------------------------


def test_github_oidc_is_exchanged_for_an_azure_databricks_token(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    fake.tokens = set()  # only tokens the fake Entra ID issues are accepted
    rc, _ = smoke(fake, *FORCE_DRIFT, tmp_path=tmp_path, environ=OIDC_ENV)
    assert rc == 0
    assert fake.oidc_audiences == ["api://AzureADTokenExchange"]
    (request,) = fake.aad_requests
    assert request == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "resource": AZURE_DATABRICKS_APP_ID,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "gh-oidc-1",
        "tenant": TENANT_ID,
    }


def test_a_401_fetches_a_new_token_with_a_fresh_oidc_token(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    fake.tokens = set()
    original = fake._get_run
    calls = {"n": 0}

    def expire_once(params: dict[str, Any]) -> Response:
        calls["n"] += 1
        if calls["n"] == 3:
            fake.expire_tokens()
        return original(params)

    fake._get_run = expire_once  # type: ignore[method-assign]
    assert smoke(fake, *FORCE_DRIFT, tmp_path=tmp_path, environ=OIDC_ENV)[0] == 0
    assert [r["client_assertion"] for r in fake.aad_requests] == ["gh-oidc-1", "gh-oidc-2"]


def test_tokens_are_renewed_before_they_expire_each_with_a_new_oidc_token() -> None:
    fake = FakeWorkspace.green()
    now = {"t": 1_700_000_000.0}
    source = GitHubOidcAzure(
        transport=fake.handle,
        request_url=f"{HOST}/oidc/idtoken?api-version=2.0",
        request_token=GITHUB_REQUEST_TOKEN,
        client_id=CLIENT_ID,
        tenant_id=TENANT_ID,
        authority=HOST,
        clock=lambda: now["t"],
    )
    first = source.token()
    now["t"] += 3000  # 600 s left: reused
    assert source.token() == first
    now["t"] += 400  # 200 s left, inside the 300 s margin: renewed
    second = source.token()
    assert second != first
    assert fake.oidc_issued == ["gh-oidc-1", "gh-oidc-2"]


def test_a_refused_federation_is_a_red_smoke_without_a_token_in_the_message(
    tmp_path: Path, capsys
) -> None:
    fake = FakeWorkspace.green()
    env = {**OIDC_ENV, "ARM_CLIENT_ID": "99999999-2222-3333-4444-555555555555"}
    rc, _ = smoke(fake, *FORCE_DRIFT, tmp_path=tmp_path, environ=env)
    err = capsys.readouterr().err
    assert rc == 1 and fake.run_nows() == []
    assert "AADSTS700213: No matching federated identity record found." in err
    assert "gh-oidc-1" not in err and "Trace ID" not in err


# --- input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "environ", "message"),
    [
        (["--host", "http://adb-1.azuredatabricks.net"], None, "--host must use https://"),
        (
            ["--host", "https://user:pw@adb-1.net"],
            None,
            "--host must be a URL with a host and no user name",
        ),
        (["--host", "https://adb-1.net/api"], None, "--host must be a bare URL"),
        (["--job-ids", "{nope"], None, "--job-ids: not JSON"),
        (["--job-ids", "[1, 2]"], None, "--job-ids: expected a non-empty JSON object"),
        (["--job-ids", '{"ML": 1}'], None, "--job-ids: 'ML' is not a job key"),
        (
            ["--job-ids", '{"ml_pipeline": -1}'],
            None,
            "the ID of 'ml_pipeline' is not a positive job ID",
        ),
        (
            ["--job-ids", '{"ml_pipeline": true}'],
            None,
            "the ID of 'ml_pipeline' is not a positive job ID",
        ),
        (
            ["--job-ids", '{"ml_pipeline": 1, "monitoring": 2}'],
            None,
            "--job-ids: no job ID for job 'batch_inference'",
        ),
        (["--job-ids", "@/nonexistent/ids.json"], None, "--job-ids: cannot read"),
        (["--job-parameter", "monitoring-psi=0"], None, "expected JOB:NAME=VALUE"),
        (["--job-parameter", "monitoring:psi threshold=0"], None, "expected JOB:NAME=VALUE"),
        (["--job-parameter", "backfill:x=1"], None, "names job 'backfill', which is not run"),
        (
            ["--job-parameter", "monitoring:a=1", "--job-parameter", "monitoring:a=2"],
            None,
            "given twice",
        ),
        (["--timeout-minutes", "0"], None, "must be > 0 and <= 300"),
        (["--timeout-minutes", "nan"], None, "must be > 0 and <= 300"),
        (["--timeout-minutes", "301"], None, "must be > 0 and <= 300"),
        (["--poll-seconds", "-1"], None, "must be > 0 and <= 600"),
        (["--poll-seconds", "x"], None, "not a number"),
        (["--auth", "pat"], None, "invalid choice"),
        ([], {}, "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set"),
        ([], {**OIDC_ENV, "ARM_CLIENT_ID": ""}, "ARM_CLIENT_ID is not a GUID"),
        (
            [],
            {**OIDC_ENV, "ACTIONS_ID_TOKEN_REQUEST_URL": "http://example.com/x"},
            "ACTIONS_ID_TOKEN_REQUEST_URL must use https://",
        ),
        (
            ["--azure-authority", "http://login.example.com"],
            OIDC_ENV,
            "--azure-authority must use https://",
        ),
        (["--auth", "token"], {}, "--auth token: DATABRICKS_TOKEN is not set"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2_before_any_call(
    capsys, args: list[str], environ: dict[str, str] | None, message: str
) -> None:
    fake = FakeWorkspace.green()
    base = {"--host": HOST, "--job-ids": json.dumps(fake.job_ids())}
    for flag in ("--host", "--job-ids"):
        if flag in args:
            base.pop(flag)
    argv = [x for kv in base.items() for x in kv] + args
    rc = cli.main(argv, transport=fake.handle, environ=OIDC_ENV if environ is None else environ)
    captured = capsys.readouterr()
    assert rc == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smoke: error: "), captured.err
    assert message in lines[0]
    assert fake.calls == [] and fake.oidc_issued == []


def test_job_ids_may_come_from_a_file_and_as_strings(tmp_path: Path) -> None:
    fake = FakeWorkspace.green()
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps({k: str(v) for k, v in fake.job_ids().items()}), encoding="utf-8")
    time_ = FakeTime()
    argv = ["--host", HOST, "--job-ids", f"@{ids}", *token_args()]
    rc = cli.main(
        argv,
        transport=fake.handle,
        environ={"DATABRICKS_TOKEN": STATIC_TOKEN},
        clock=time_.clock,
        sleep=time_.sleep,
    )
    assert rc == 0


# --- pieces --------------------------------------------------------------------------------------


def test_the_last_result_line_wins_and_other_lines_are_ignored() -> None:
    logs = "\r\n".join(
        [
            "x",
            result_line(step="a", status="ok"),
            "taxi-fare-result:{}",
            result_line(step="b", status="ok", rows=3),
            "tail",
        ]
    )
    result = last_result(logs)
    assert (result.step, result.status, result.get("rows")) == ("b", "ok", 3)
    assert last_result("nothing here\n") is None
    for bad in (
        'taxi-fare-result: ["x"]',
        'taxi-fare-result: {"step": "a"}',
        'taxi-fare-result: {"step": "", "status": "ok"}',
    ):
        with pytest.raises(ResultError):
            last_result(bad)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("adb-1.2.azuredatabricks.net", "https://adb-1.2.azuredatabricks.net"),
        ("https://adb-1.2.azuredatabricks.net/", "https://adb-1.2.azuredatabricks.net"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://10.0.0.1", None),
        ("ftp://adb-1.net", None),
        ("https://adb-1.net?x=1", None),
        ("https://", None),
    ],
)
def test_tokens_go_to_https_or_loopback_only(value: str, ok: str | None) -> None:
    if ok is None:
        with pytest.raises(ValueError):
            check_base_url(value, "--host")
    else:
        assert check_base_url(value, "--host") == ok


def test_the_http_transport_never_follows_a_redirect() -> None:
    """A redirect would carry the Authorization header to another host."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/start"
        response = urllib_transport(5)(Request("GET", url, {"Authorization": "Bearer x"}))
    finally:
        server.shutdown()
        server.server_close()
    assert response.status == 302 and seen == ["/start"]


def test_the_token_lifetime_is_read_relative_to_the_runners_clock() -> None:
    """`expires_in` wins over `expires_on`: a runner whose clock is off by hours neither
    refreshes on every call nor keeps an expired token."""
    fake = FakeWorkspace.green()
    now = {"t": 2_000_000_000.0}  # years after the fake's absolute expires_on
    source = GitHubOidcAzure(
        transport=fake.handle,
        request_url=f"{HOST}/oidc/idtoken?api-version=2.0",
        request_token=GITHUB_REQUEST_TOKEN,
        client_id=CLIENT_ID,
        tenant_id=TENANT_ID,
        authority=HOST,
        clock=lambda: now["t"],
    )
    first = source.token()
    now["t"] += 60
    assert source.token() == first and len(fake.aad_requests) == 1


def test_a_deploy_applying_during_the_smoke_makes_it_red(tmp_path: Path) -> None:
    """Another run's apply that changes a job while the smoke runs: the smoke would vouch for
    code it did not run, so it fails and says so."""
    fake = FakeWorkspace.green()
    original = fake._advance

    def redeploy(run) -> None:
        original(run)
        if run.job.key == "batch_inference" and run.polls == 1:
            fake.by_key["ml_pipeline"].parameters["window-days"] = "14"

    fake._advance = redeploy  # type: ignore[method-assign]
    rc, summary = smoke(fake, *token_args(), tmp_path=tmp_path)
    assert rc == 1
    assert (
        "| the jobs did not change during the smoke | **failed** | changed: ml_pipeline "
        "(another deploy applied meanwhile; re-run the smoke) |"
    ) in summary
