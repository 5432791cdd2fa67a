"""The few Jobs API 2.2 calls the smoke identity may make: it holds CAN_MANAGE_RUN on the
jobs it runs and nothing else, so it reads job settings and runs, starts runs of existing jobs
(never `runs/submit`), reads their output and cancels them.

Paths and fields as in databricks-sdk-go v0.93.0 (service/jobs/impl.go, model.go), the SDK of
the pinned provider.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from tools.smoke.auth import AuthError, TokenSource
from tools.smoke.transport import Request, Response, Transport, TransportError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
MAX_PAGES = 20


class ApiError(Exception):
    """A Jobs API call failed for good (after retries); the message names the call."""

    def __init__(self, message: str, *, status: int | None = None, error_code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class JobsApi:
    """Jobs API client of one workspace. Transient failures (no response, 429, 5xx) are retried
    up to MAX_ATTEMPTS times with exponential back-off; a 401 fetches a new token once."""

    def __init__(
        self,
        host: str,
        tokens: TokenSource,
        transport: Transport,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._host = host.rstrip("/")
        self._tokens = tokens
        self._transport = transport
        self._sleep = sleep

    # --- calls -------------------------------------------------------------------------------

    def get_job(self, job_id: int) -> dict[str, Any]:
        return self._call("GET", "/api/2.2/jobs/get", query={"job_id": job_id})

    def run_now(
        self, job_id: int, *, job_parameters: Mapping[str, str], idempotency_token: str
    ) -> int:
        body: dict[str, Any] = {"job_id": job_id, "idempotency_token": idempotency_token}
        if job_parameters:
            body["job_parameters"] = dict(job_parameters)
        answer = self._call("POST", "/api/2.2/jobs/run-now", body=body)
        run_id = answer.get("run_id")
        if not isinstance(run_id, int):
            raise ApiError(f"jobs/run-now of job {job_id} returned no run_id")
        return run_id

    def get_run(self, run_id: int) -> dict[str, Any]:
        """The run with all its task runs (API 2.2 pages tasks beyond 100)."""
        run = self._call("GET", "/api/2.2/jobs/runs/get", query={"run_id": run_id})
        tasks = list(run.get("tasks") or [])
        token = run.get("next_page_token")
        for _ in range(MAX_PAGES):
            if not token:
                break
            page = self._call(
                "GET", "/api/2.2/jobs/runs/get", query={"run_id": run_id, "page_token": token}
            )
            tasks.extend(page.get("tasks") or [])
            token = page.get("next_page_token")
        run["tasks"] = tasks
        return run

    def get_output(self, task_run_id: int) -> dict[str, Any]:
        return self._call("GET", "/api/2.2/jobs/runs/get-output", query={"run_id": task_run_id})

    def list_runs(
        self, job_id: int, *, start_time_from: int, start_time_to: int
    ) -> list[dict[str, Any]]:
        """Runs of `job_id` started in [from, to] (epoch milliseconds), newest first."""
        query: dict[str, Any] = {
            "job_id": job_id,
            "start_time_from": start_time_from,
            "start_time_to": start_time_to,
            # "greater than 0 and less than 25" (databricks-sdk-go v0.93.0 ListRunsRequest)
            "limit": 20,
        }
        runs: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self._call("GET", "/api/2.2/jobs/runs/list", query=query)
            runs.extend(page.get("runs") or [])
            token = page.get("next_page_token")
            if not token:
                return runs
            query = {**query, "page_token": token}
        raise ApiError(f"jobs/runs/list of job {job_id}: more than {MAX_PAGES} pages of runs")

    def cancel_run(self, run_id: int) -> None:
        self._call("POST", "/api/2.2/jobs/runs/cancel", body={"run_id": run_id})

    # --- plumbing ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        url = f"{self._host}{path}"
        if query:
            url = f"{url}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode() if body is not None else None
        call = path.removeprefix("/api/2.2/")
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                token = self._tokens.token(force=False)
            except AuthError as exc:
                raise ApiError(f"{call}: no access token: {exc}") from None
            try:
                response = self._transport(Request(method, url, self._headers(token), data))
            except TransportError as exc:
                if attempt >= MAX_ATTEMPTS:
                    raise ApiError(f"{call}: {exc}") from None
                self._sleep(2.0**attempt)
                continue
            if response.status == 401 and not refreshed:
                refreshed = True
                try:
                    self._tokens.token(force=True)
                except AuthError as exc:
                    raise ApiError(f"{call}: HTTP 401, and no new token: {exc}") from None
                continue
            if response.status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                self._sleep(2.0**attempt)
                continue
            return self._decode(call, response)

    @staticmethod
    def _headers(token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "databricks-mlops-cdktf-smoke/1"
        return headers

    @staticmethod
    def _decode(call: str, response: Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= response.status < 300 and isinstance(body, dict):
            return body
        code = str(body.get("error_code", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        detail = f"{code}: {message}" if code or message else "no error details"
        hint = ""
        if response.status == 403:
            hint = (
                " (the smoke identity holds CAN_MANAGE_RUN on the smoke's jobs only: "
                "docs/cicd.md, The dev smoke run)"
            )
        raise ApiError(
            f"{call}: HTTP {response.status} ({detail[:500]}){hint}",
            status=response.status,
            error_code=code,
        )
