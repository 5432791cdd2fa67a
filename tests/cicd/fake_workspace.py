"""A fake Azure Databricks workspace for the smoke tool's tests, with the GitHub OIDC and
Microsoft Entra ID token endpoints it authenticates through.

It answers the Jobs API 2.2 calls the smoke identity's CAN_MANAGE_RUN allows (jobs/get, run-now,
runs/get, runs/get-output, runs/list, runs/cancel), refuses `runs/submit` (403) and anything
else (404), and checks the bearer token on every call. Runs move PENDING -> RUNNING ->
TERMINATED over `polls_to_finish` polls of `runs/get`; a task's logs end with the result line
the scenario gives; the monitoring job's retrain task starts pipeline runs (through the API, or
as a run-job task) while its run is going.

Use `handle` as an in-process transport, or `serve()` for a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.smoke.auth import AZURE_DATABRICKS_APP_ID, JWT_BEARER
from tools.smoke.results import PREFIX
from tools.smoke.transport import Request, Response

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "66666666-7777-8888-9999-000000000000"
GITHUB_REQUEST_TOKEN = "gh-request-token"
STATIC_TOKEN = "dapi-static-token-for-tests"


def result_line(**data: Any) -> str:
    return f"{PREFIX}{json.dumps(data, separators=(',', ':'))}"


@dataclass
class FakeTask:
    task_key: str
    logs: str | None = ""
    """What runs/get-output returns as `logs` (None: no `logs` field)."""
    result_state: str = "SUCCESS"
    kind: str = "python_wheel_task"
    error: str = ""
    retrain_runs: int = 0
    """Runs of the pipeline job this task starts while its run is going."""


@dataclass
class FakeJob:
    key: str
    job_id: int
    tasks: list[FakeTask]
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeRun:
    run_id: int
    job: FakeJob
    start_time: int
    trigger: str = "ONE_TIME"
    trigger_info: dict[str, Any] | None = None
    job_parameters: dict[str, str] = field(default_factory=dict)
    polls: int = 0
    life: str = "PENDING"
    result: str | None = None
    end_time: int = 0
    task_run_ids: dict[str, int] = field(default_factory=dict)
    started_by_smoke: bool = True


class FakeWorkspace:
    def __init__(self, jobs: list[FakeJob], *, polls_to_finish: int = 2) -> None:
        self.jobs = {job.job_id: job for job in jobs}
        self.by_key = {job.key: job for job in jobs}
        self.polls_to_finish = polls_to_finish
        self.runs: dict[int, FakeRun] = {}
        self.task_runs: dict[int, tuple[FakeRun, FakeTask]] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.tokens = {STATIC_TOKEN}
        self.oidc_issued: list[str] = []
        self.oidc_audiences: list[str] = []
        self.aad_requests: list[dict[str, str]] = []
        self.idempotency: dict[str, int] = {}
        self.cancelled: list[int] = []
        self.fail_next: list[int] = []
        """HTTP statuses to answer the next workspace calls with (transient errors)."""
        self.never_finish = False
        self._now = 1_700_000_000_000
        self._next_id = 1000
        self._lock = threading.Lock()

    # --- scenario helpers --------------------------------------------------------------------

    @classmethod
    def green(cls, *, replay: bool = True, retrain: str = "api", **kwargs: Any) -> FakeWorkspace:
        """Every job as the contract says it should end on a healthy deployment."""
        jobs = []
        if replay:
            jobs.append(
                FakeJob("replay", 11, [FakeTask("replay", _logs("replay", "ok", rows=5120))])
            )
        jobs += [
            FakeJob(
                "ml_pipeline",
                12,
                [
                    FakeTask("featurize", _logs("featurize", "ok", rows=90211)),
                    FakeTask("train", _logs("train", "ok", model_version="4")),
                    FakeTask(
                        "evaluate",
                        _logs("evaluate", "passed", model_version="4", champion_version="3"),
                    ),
                    FakeTask("promote", _logs("promote", "promoted", champion_version="4")),
                ],
                {"end-date": "{{job.trigger.time.iso_date}}", "window-days": "28"},
            ),
            FakeJob(
                "batch_inference",
                13,
                [
                    FakeTask("featurize", _logs("featurize", "ok", rows=3100)),
                    FakeTask(
                        "score",
                        _logs("score", "ok", rows_scored=3100, duplicates=0, champion_version="4"),
                    ),
                ],
                {"end-date": "{{job.trigger.time.iso_date}}", "window-days": "1"},
            ),
        ]
        monitor = FakeTask("monitor", _logs("monitor", "ok", verdict="retrain", model_version="4"))
        if retrain == "api":
            retrain_task = FakeTask("retrain", "", retrain_runs=1)
        else:
            retrain_task = FakeTask("retrain", None, kind="run_job_task", retrain_runs=1)
        jobs.append(
            FakeJob(
                "monitoring",
                14,
                [monitor, retrain_task],
                {"end-date": "{{job.trigger.time.iso_date}}", "psi-threshold": "0.2"},
            )
        )
        return cls(jobs, **kwargs)

    def task(self, job_key: str, task_key: str) -> FakeTask:
        (task,) = [t for t in self.by_key[job_key].tasks if t.task_key == task_key]
        return task

    def job_ids(self) -> dict[str, int]:
        return {job.key: job.job_id for job in self.jobs.values()}

    def calls_to(self, path: str) -> list[dict[str, Any]]:
        return [params for _, p, params in self.calls if p == path]

    def run_nows(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (self.jobs[int(body["job_id"])].key, body)
            for body in self.calls_to("/api/2.2/jobs/run-now")
        ]

    def expire_tokens(self) -> None:
        self.tokens = set()

    # --- transport ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            return self._handle(request)

    def _handle(self, request: Request) -> Response:
        parts = urllib.parse.urlsplit(request.url)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        if parts.path.startswith("/oidc/"):
            return self._oidc(request, query)
        if parts.path.endswith("/oauth2/token"):
            return self._aad(request, parts.path)
        self._now += 1000
        body = json.loads(request.body) if request.body else {}
        self.calls.append((request.method, parts.path, {**query, **body}))
        if self.fail_next:
            return _json(self.fail_next.pop(0), {"error_code": "TEMPORARILY_UNAVAILABLE"})
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _json(401, {"error_code": "UNAUTHENTICATED", "message": "invalid token"})
        route = {
            ("GET", "/api/2.2/jobs/get"): self._get_job,
            ("POST", "/api/2.2/jobs/run-now"): self._run_now,
            ("GET", "/api/2.2/jobs/runs/get"): self._get_run,
            ("GET", "/api/2.2/jobs/runs/get-output"): self._get_output,
            ("GET", "/api/2.2/jobs/runs/list"): self._list_runs,
            ("POST", "/api/2.2/jobs/runs/cancel"): self._cancel,
        }.get((request.method, parts.path))
        if parts.path == "/api/2.2/jobs/runs/submit":
            return _json(403, {"error_code": "PERMISSION_DENIED", "message": "cannot submit"})
        if route is None:
            return _json(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": parts.path})
        return route({**query, **body})

    # --- Jobs API ----------------------------------------------------------------------------

    def _get_job(self, params: dict[str, Any]) -> Response:
        job = self.jobs.get(int(params["job_id"]))
        if job is None:
            return _json(403, {"error_code": "PERMISSION_DENIED", "message": "no access"})
        settings = {
            "name": f"mlops-dev-{job.key}",
            "parameters": [{"name": k, "default": v} for k, v in job.parameters.items()],
            "tasks": [{"task_key": t.task_key, t.kind: {}} for t in job.tasks],
            "run_as": {"service_principal_name": "job-principal"},
        }
        return _json(200, {"job_id": job.job_id, "settings": settings})

    def _run_now(self, params: dict[str, Any]) -> Response:
        job = self.jobs.get(int(params["job_id"]))
        if job is None:
            return _json(403, {"error_code": "PERMISSION_DENIED", "message": "no access"})
        token = params.get("idempotency_token")
        if token in self.idempotency:
            return _json(200, {"run_id": self.idempotency[token]})
        overrides = params.get("job_parameters") or {}
        unknown = set(overrides) - set(job.parameters)
        if unknown:
            return _json(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": str(unknown)})
        run = self._new_run(job, job_parameters=overrides)
        if token:
            self.idempotency[token] = run.run_id
        return _json(200, {"run_id": run.run_id, "number_in_job": run.run_id})

    def _new_run(self, job: FakeJob, **kwargs: Any) -> FakeRun:
        self._next_id += 1
        run = FakeRun(self._next_id, job, self._now, **kwargs)
        self.runs[run.run_id] = run
        for task in job.tasks:
            self._next_id += 1
            run.task_run_ids[task.task_key] = self._next_id
            self.task_runs[self._next_id] = (run, task)
        return run

    def _advance(self, run: FakeRun) -> None:
        if run.life in ("TERMINATED",) or self.never_finish:
            if self.never_finish and run.life == "PENDING":
                run.life = "RUNNING"
            return
        run.polls += 1
        if run.polls == 1:
            run.life = "RUNNING"
            for task in run.job.tasks:
                for _ in range(task.retrain_runs):
                    pipeline = self.by_key["ml_pipeline"]
                    if task.kind == "run_job_task":
                        info = {"run_id": run.task_run_ids[task.task_key]}
                        self._new_run(
                            pipeline,
                            trigger="RUN_JOB_TASK",
                            trigger_info=info,
                            started_by_smoke=False,
                        )
                    else:
                        self._new_run(pipeline, started_by_smoke=False)
        if run.polls >= self.polls_to_finish:
            run.life = "TERMINATED"
            failed = [t for t in run.job.tasks if t.result_state != "SUCCESS"]
            run.result = "FAILED" if failed else "SUCCESS"
            run.end_time = self._now

    def _run_body(self, run: FakeRun) -> dict[str, Any]:
        tasks = []
        for task in run.job.tasks:
            state: dict[str, Any] = {"life_cycle_state": run.life}
            if run.life == "TERMINATED":
                state["result_state"] = task.result_state
            tasks.append(
                {
                    "task_key": task.task_key,
                    "run_id": run.task_run_ids[task.task_key],
                    "attempt_number": 0,
                    "state": state,
                    task.kind: {},
                }
            )
        state = {"life_cycle_state": run.life, "state_message": ""}
        if run.result:
            state["result_state"] = run.result
        body = {
            "run_id": run.run_id,
            "job_id": run.job.job_id,
            "start_time": run.start_time,
            "end_time": run.end_time,
            "state": state,
            "tasks": tasks,
            "trigger": run.trigger,
            "run_page_url": f"https://adb-1.azuredatabricks.net/jobs/{run.job.job_id}/runs/{run.run_id}",
        }
        if run.trigger_info:
            body["trigger_info"] = run.trigger_info
        return body

    def _get_run(self, params: dict[str, Any]) -> Response:
        run = self.runs.get(int(params["run_id"]))
        if run is None:
            return _json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run"})
        self._advance(run)
        return _json(200, self._run_body(run))

    def _get_output(self, params: dict[str, Any]) -> Response:
        run_id = int(params["run_id"])
        if run_id in self.runs and len(self.runs[run_id].job.tasks) > 1:
            return _json(
                400,
                {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": "Retrieving the output of runs with multiple tasks is not supported.",
                },
            )
        run, task = self.task_runs[run_id]
        body: dict[str, Any] = {"metadata": {"run_id": run_id, "task_key": task.task_key}}
        logs = task.logs
        if task.task_key == "retrain" and logs == "" and task.retrain_runs:
            started = [
                r.run_id
                for r in self.runs.values()
                if not r.started_by_smoke and r.start_time >= run.start_time
            ]
            logs = _logs("retrain", "retrain_started", retrain_run_id=str(started[0]))
        if logs is not None:
            body["logs"] = logs
        if task.error:
            body["error"] = task.error
        return _json(200, body)

    def _list_runs(self, params: dict[str, Any]) -> Response:
        job_id = int(params["job_id"])
        low = int(params.get("start_time_from", 0))
        high = int(params.get("start_time_to", 2**62))
        runs = [
            self._run_body(r)
            for r in sorted(self.runs.values(), key=lambda r: -r.run_id)
            if r.job.job_id == job_id and low <= r.start_time <= high
        ]
        offset = int(params.get("page_token") or 0)
        limit = int(params.get("limit", 20))
        if not 0 < limit < 25:  # "greater than 0 and less than 25"
            return _json(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "limit"})
        page = runs[offset : offset + limit]
        body: dict[str, Any] = {"runs": page}
        if offset + limit < len(runs):
            body["next_page_token"] = str(offset + limit)
        return _json(200, body)

    def _cancel(self, params: dict[str, Any]) -> Response:
        run = self.runs[int(params["run_id"])]
        self.cancelled.append(run.run_id)
        run.life, run.result, run.end_time = "TERMINATED", "CANCELED", self._now
        return _json(200, {})

    # --- token endpoints ---------------------------------------------------------------------

    def _oidc(self, request: Request, query: dict[str, str]) -> Response:
        if request.headers.get("Authorization") != f"Bearer {GITHUB_REQUEST_TOKEN}":
            return _json(401, {"message": "bad request token"})
        self.oidc_audiences.append(query.get("audience", ""))
        value = f"gh-oidc-{len(self.oidc_issued) + 1}"
        self.oidc_issued.append(value)
        return _json(200, {"count": 1, "value": value})

    def _aad(self, request: Request, path: str) -> Response:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs((request.body or b"").decode()).items()}
        self.aad_requests.append({**form, "tenant": path.split("/")[1]})
        assertion = form.get("client_assertion", "")
        if (
            form.get("client_id") != CLIENT_ID
            or form.get("resource") != AZURE_DATABRICKS_APP_ID
            or form.get("client_assertion_type") != JWT_BEARER
            or form.get("grant_type") != "client_credentials"
            or assertion not in self.oidc_issued
        ):
            return _json(
                400,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS700213: No matching federated identity record found.\r\nTrace ID: x",
                },
            )
        value = f"aad-token-{len(self.aad_requests)}"
        self.tokens.add(value)
        return _json(
            200,
            {
                "token_type": "Bearer",
                "access_token": value,
                "expires_in": "3599",
                "expires_on": str(1_700_000_000 + 3600),
            },
        )

    # --- HTTP server -------------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """A real HTTP server on 127.0.0.1 answering as `handle`; yields its base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                request = Request(self.command, base + self.path, dict(self.headers), body)
                response = fake.handle(request)
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


AAD_EXPIRES_ON = 1_700_000_000 + 3600
"""`expires_on` of every fake Entra ID token (epoch seconds)."""


def _logs(step: str, status: str, **data: Any) -> str:
    return "\n".join(
        [
            "INFO taxi_fare_mlops: starting",
            result_line(step="decoy", status="ignored"),
            "some log line",
            result_line(step=step, status=status, **data),
            "",
        ]
    )


def _json(status: int, body: Any) -> Response:
    return Response(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
