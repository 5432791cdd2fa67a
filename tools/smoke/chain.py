"""The smoke run: the deployed jobs in the order a new deployment needs them, on the real
workspace, and what each must show.

    [replay]  -> ml_pipeline -> batch_inference -> monitoring (drift forced) -> retrain started

Each job is started with `run-now` (job parameters only where the plan overrides one, e.g. a
PSI threshold of 0 that forces the monitor's retrain verdict), waited for within one overall
deadline, and judged from the Jobs API only: the run's state, and the `taxi-fare-result:` line
of each wheel task (`runs/get-output`). The retrain run is found in `runs/list` of the pipeline
job, never in a result line. Every run the smoke started and that has not ended is cancelled
when the smoke stops early (failure, deadline, cancelled job).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.smoke.jobs_api import ApiError, JobsApi
from tools.smoke.results import ResultError, StepResult, last_result

TERMINAL_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
NOT_RUN_RESULTS = frozenset({"EXCLUDED", "DISABLED"})
"""Task result states of a task that did not run (a condition was false): no result line."""
RUN_JOB_TRIGGER = "RUN_JOB_TASK"


class SmokeFailed(Exception):
    """The smoke stops: a run failed, an outcome is wrong, or the deadline passed."""


class Interrupted(Exception):
    """The smoke was asked to stop (SIGTERM/SIGINT: the GitHub job was cancelled)."""


@dataclass(frozen=True)
class SmokePlan:
    """Which jobs the smoke runs (keys of the workspace stack's `job_ids` output) and how."""

    job_ids: Mapping[str, int]
    """Job key -> job ID (the workspace stack's output)."""
    run_tag: str
    """Unique per smoke attempt (e.g. `<GitHub run id>-<attempt>`): with the job key it makes
    each `run-now`'s idempotency token, so a retried request never starts a second run."""
    data_job: str = "replay"
    """Lands the data the others read; skipped when the environment has no such job (an
    environment that reads a real source)."""
    pipeline_job: str = "ml_pipeline"
    scoring_job: str = "batch_inference"
    monitoring_job: str = "monitoring"
    job_parameters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Job key -> job parameter overrides for its run (each must be a declared parameter)."""
    expect_retrain: bool = True
    """The monitoring run must start exactly one run of the pipeline job."""

    def steps(self) -> list[tuple[str, str]]:
        """(role, job key) in run order."""
        steps = [("data", self.data_job)] if self.data_job in self.job_ids else []
        return [
            *steps,
            ("pipeline", self.pipeline_job),
            ("scoring", self.scoring_job),
            ("monitoring", self.monitoring_job),
        ]

    def problems(self) -> list[str]:
        """What makes the plan unusable (missing job IDs, overrides for other jobs)."""
        problems = []
        for key in (self.pipeline_job, self.scoring_job, self.monitoring_job):
            if key not in self.job_ids:
                problems.append(
                    f"no job ID for job {key!r} (have: {', '.join(sorted(self.job_ids)) or 'none'})"
                )
        keys = {key for _, key in self.steps()}
        for key in self.job_parameters:
            if key not in keys:
                problems.append(f"a job parameter override names job {key!r}, which is not run")
        return problems

    def idempotency_token(self, key: str) -> str:
        return hashlib.sha256(f"{self.run_tag}:{key}".encode()).hexdigest()  # 64 characters


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class JobRun:
    """One job run the smoke started, as it ended."""

    key: str
    job_id: int
    run_id: int
    run: dict[str, Any]
    results: dict[str, StepResult | None] = field(default_factory=dict)
    """Task key -> its result line (None: the task printed none)."""
    result_errors: dict[str, str] = field(default_factory=dict)
    """Task key -> why its output could not be read or parsed."""
    task_errors: dict[str, str] = field(default_factory=dict)
    """Task key -> the error `runs/get-output` reports for a failed task."""

    @property
    def state(self) -> tuple[str, str | None, str]:
        return run_state(self.run)

    @property
    def succeeded(self) -> bool:
        life, result, _ = self.state
        return life == "TERMINATED" and result == "SUCCESS"

    @property
    def url(self) -> str:
        return str(self.run.get("run_page_url") or "")

    def result_of(self, step: str) -> StepResult | None:
        found = [r for r in self.results.values() if r is not None and r.step == step]
        return found[-1] if found else None


@dataclass
class Report:
    runs: list[JobRun] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    retrain_runs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def markdown(self) -> str:
        title = "passed" if self.ok else "FAILED"
        lines = [f"### Dev smoke run: {title}", ""]
        if self.error:
            lines += [f"**Stopped:** {_md(self.error)}", ""]
        lines += ["| Job | Run | State | Result lines |", "| --- | --- | --- | --- |"]
        for run in self.runs:
            life, result, _ = run.state
            link = f"[{run.run_id}]({run.url})" if run.url else str(run.run_id)
            shown = "; ".join(
                f"`{_md(_result_text(r))}`" for r in run.results.values() if r is not None
            )
            lines.append(f"| `{run.key}` | {link} | {life}/{result} | {shown} |")
        lines += ["", "| Check | | Detail |", "| --- | --- | --- |"]
        for check in self.checks:
            lines.append(
                f"| {_md(check.name)} | {'ok' if check.ok else '**failed**'} | "
                f"{_md(check.detail)} |"
            )
        lines += [f"- {_md(note)}" for note in self.notes]
        return "\n".join(lines) + "\n"


def run_state(run: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """(life cycle state, result state, message) of a run or task run, from `state` or, where
    only the newer `status` is present, from `status`."""
    state = run.get("state") or {}
    life = state.get("life_cycle_state")
    if life:
        return str(life), state.get("result_state"), str(state.get("state_message") or "")
    status = run.get("status") or {}
    current = str(status.get("state") or "UNKNOWN")
    details = status.get("termination_details") or {}
    if current != "TERMINATED":
        return current, None, ""
    code = str(details.get("code") or "UNKNOWN")
    return current, "SUCCESS" if code == "SUCCESS" else code, str(details.get("message") or "")


def latest_attempts(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last attempt of each task, in the order tasks first appear."""
    latest: dict[str, dict[str, Any]] = {}
    for task in tasks:
        key = str(task.get("task_key"))
        if key not in latest or task.get("attempt_number", 0) >= latest[key].get(
            "attempt_number", 0
        ):
            latest[key] = task
    return list(latest.values())


class SmokeRun:
    """Runs a `SmokePlan` against one workspace within `timeout_s`, polling every `poll_s`."""

    def __init__(
        self,
        api: JobsApi,
        plan: SmokePlan,
        *,
        timeout_s: float,
        poll_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = print,
    ) -> None:
        if timeout_s <= 0 or poll_s <= 0:
            raise ValueError("timeout and poll interval must be positive")
        self.api, self.plan = api, plan
        self.timeout_s, self.poll_s = timeout_s, poll_s
        self.clock, self.sleep, self.log = clock, sleep, log
        self.report = Report()
        self._started: list[int] = []
        self._ended: set[int] = set()
        self._deadline = 0.0
        self._settings: dict[str, str] = {}
        """Job key -> its settings as first read, to notice a deploy applying meanwhile."""

    def execute(self) -> Report:
        self._deadline = self.clock() + self.timeout_s
        try:
            self._preflight()
            for role, key in self.plan.steps():
                run = self._run(key)
                self.report.runs.append(run)
                getattr(self, f"_judge_{role}")(run)
            if self.plan.expect_retrain:
                self._judge_retrain(self.report.runs[-1])
            self._judge_unchanged()
        except SmokeFailed as exc:
            self.report.error = str(exc)
        except ApiError as exc:
            self.report.error = f"workspace API: {exc}"
        except Interrupted:
            self.report.error = "interrupted (the job was cancelled)"
        finally:
            self._cancel_unfinished()
        if self.report.error is None and not all(c.ok for c in self.report.checks):
            failed = [c.name for c in self.report.checks if not c.ok]
            self.report.error = f"failed checks: {', '.join(failed)}"
        return self.report

    # --- running ------------------------------------------------------------------------------

    def _preflight(self) -> None:
        """Every job is visible to the smoke identity and declares the overridden parameters,
        before anything is started."""
        for _, key in self.plan.steps():
            job_id = self.plan.job_ids[key]
            settings = self.api.get_job(job_id).get("settings") or {}
            self._settings[key] = json.dumps(settings, sort_keys=True)
            declared = {str(p.get("name")) for p in settings.get("parameters") or []}
            unknown = sorted(set(self.plan.job_parameters.get(key, {})) - declared)
            if unknown:
                raise SmokeFailed(
                    f"job {key!r} ({job_id}) declares no job parameter "
                    f"{', '.join(repr(u) for u in unknown)} (declared: "
                    f"{', '.join(sorted(declared)) or 'none'}); a run-now override must name one"
                )
        if self.plan.data_job not in self.plan.job_ids:
            self.report.notes.append(
                f"no {self.plan.data_job!r} job in this environment: the jobs read its "
                "configured source as it is"
            )

    def _run(self, key: str) -> JobRun:
        job_id = self.plan.job_ids[key]
        overrides = dict(self.plan.job_parameters.get(key, {}))
        run_id = self.api.run_now(
            job_id, job_parameters=overrides, idempotency_token=self.plan.idempotency_token(key)
        )
        self._started.append(run_id)
        shown = f" with {', '.join(f'{k}={v}' for k, v in overrides.items())}" if overrides else ""
        self.log(f"{key}: started run {run_id} of job {job_id}{shown}")
        run = JobRun(key, job_id, run_id, self._wait(key, run_id))
        self._read_outputs(run)
        return run

    def _wait(self, key: str, run_id: int) -> dict[str, Any]:
        last = ""
        while True:
            run = self.api.get_run(run_id)
            life, result, _ = run_state(run)
            if life != last:
                self.log(f"{key}: run {run_id} {life}" + (f"/{result}" if result else ""))
                last = life
            if life in TERMINAL_STATES:
                self._ended.add(run_id)
                return run
            remaining = self._deadline - self.clock()
            if remaining <= 0:
                raise SmokeFailed(
                    f"{key}: run {run_id} was still {life} at the deadline "
                    f"({self.timeout_s / 60:.0f} minutes for the whole smoke)"
                )
            self.sleep(min(self.poll_s, remaining))

    def _read_outputs(self, run: JobRun) -> None:
        for task in latest_attempts(run.run.get("tasks") or []):
            key = str(task.get("task_key"))
            life, result, _ = run_state(task)
            if "python_wheel_task" not in task or life == "SKIPPED" or result in NOT_RUN_RESULTS:
                continue
            task_run_id = task.get("run_id")
            if not isinstance(task_run_id, int):
                run.result_errors[key] = "the task run has no run_id"
                continue
            output = self.api.get_output(task_run_id)
            if output.get("error"):
                run.task_errors[key] = str(output["error"]).splitlines()[0][:300]
            logs = output.get("logs")
            if not isinstance(logs, str) or not logs:
                run.results[key] = None
                run.result_errors[key] = "runs/get-output returned no logs"
                continue
            try:
                run.results[key] = last_result(logs)
            except ResultError as exc:
                run.results[key] = None
                run.result_errors[key] = str(exc)
                continue
            if run.results[key] is None:
                run.result_errors[key] = "no taxi-fare-result line in its logs"

    def _cancel_unfinished(self) -> None:
        for run_id in self._started:
            if run_id in self._ended:
                continue
            try:
                self.api.cancel_run(run_id)
                self.report.notes.append(f"cancelled run {run_id}, which the smoke had started")
                self.log(f"cancelled run {run_id}")
            except ApiError as exc:
                self.report.notes.append(f"could not cancel run {run_id}: {exc}")

    # --- judging ------------------------------------------------------------------------------

    def _judge_common(self, run: JobRun) -> None:
        life, result, message = run.state
        errors = "; ".join(f"{k}: {v}" for k, v in run.task_errors.items())
        detail = f"{life}/{result}" + (f": {message}" if message else "")
        detail += f" ({errors})" if errors else ""
        detail += f" {run.url}" if run.url else ""
        if not self.report.check(f"{run.key}: run succeeded", run.succeeded, detail.strip()):
            raise SmokeFailed(f"{run.key}: run {run.run_id} ended {life}/{result}")
        missing = dict(run.result_errors)
        self.report.check(
            f"{run.key}: every task printed its result line",
            not missing and bool(run.results),
            "; ".join(f"{k}: {v}" for k, v in missing.items())
            or (f"{len(run.results)} task(s)" if run.results else "the run has no wheel task"),
        )

    def _judge_data(self, run: JobRun) -> None:
        self._judge_common(run)
        rows = [r.get("rows") for r in run.results.values() if r is not None]
        self.report.notes.append(f"{run.key}: rows landed per task: {rows}")
        self._stop_if_failed()

    def _judge_pipeline(self, run: JobRun) -> None:
        """The champion after the pipeline: what promote reports, else the latest
        `champion_version` any step reported (evaluate's, when promote prints none)."""
        self._judge_common(run)
        reporting = [r for r in run.results.values() if r and "champion_version" in r.data]
        promote = run.result_of("promote")
        chosen = promote if promote in reporting else (reporting[-1] if reporting else None)
        champion = chosen.get("champion_version") if chosen is not None else None
        if _version(champion):
            detail = f"champion version {champion}"
        elif chosen is None:
            detail = "no champion_version in any result line"
        else:
            evaluate = run.result_of("evaluate")
            detail = (
                f"no champion after {chosen.step} ({chosen.status}); "
                f"evaluate: {evaluate.status if evaluate else 'no result'}"
            )
        self.report.check("a champion exists", _version(champion), detail)
        self._stop_if_failed()

    def _judge_scoring(self, run: JobRun) -> None:
        self._judge_common(run)
        score = run.result_of("score")
        if score is None:
            self.report.check("rows were scored", False, f"no `score` result line in {run.key}")
            raise SmokeFailed("failed checks: rows were scored")
        scored, duplicates = score.get("rows_scored"), score.get("duplicates")
        self.report.check(
            "rows were scored",
            _count(scored) and scored > 0,
            f"rows_scored={scored!r} (status {score.status})",
        )
        self.report.check(
            "no duplicate scores",
            _count(duplicates) and duplicates == 0,
            f"duplicates={duplicates!r}",
        )
        self._stop_if_failed()

    def _judge_monitoring(self, run: JobRun) -> None:
        self._judge_common(run)
        monitor = run.result_of("monitor")
        verdict = monitor.get("verdict") if monitor is not None else None
        self.report.check(
            "a monitor verdict was written",
            isinstance(verdict, str) and bool(verdict.strip()),
            f"verdict={verdict!r}" if monitor is not None else f"no `monitor` result in {run.key}",
        )
        self._stop_if_failed()

    def _judge_retrain(self, monitoring: JobRun) -> None:
        """Exactly one run of the pipeline job was started by the monitoring run: a run the
        monitoring run's run-job task triggered (`trigger_info.run_id` is that task run), or a
        run started through the API while the monitoring run ran that the smoke did not start."""
        pipeline_id = self.plan.job_ids[self.plan.pipeline_job]
        start = int(monitoring.run.get("start_time") or 0)
        end = int(monitoring.run.get("end_time") or 0) or start
        task_runs = {t.get("run_id") for t in monitoring.run.get("tasks") or []}
        found = []
        for run in self.api.list_runs(pipeline_id, start_time_from=start, start_time_to=end + 1):
            run_id = run.get("run_id")
            if run_id in self._started:
                continue
            trigger = run.get("trigger")
            if trigger == RUN_JOB_TRIGGER:
                if (run.get("trigger_info") or {}).get("run_id") in task_runs:
                    found.append(run)
            elif start <= int(run.get("start_time") or 0) <= end:
                found.append(run)
        self.report.retrain_runs = found
        ids = [r.get("run_id") for r in found]
        claimed = [
            r.get("retrain_run_id")
            for r in monitoring.results.values()
            if r is not None and r.get("retrain_run_id") not in (None, "")
        ]
        mismatch = [c for c in claimed if str(c) not in {str(i) for i in ids}]
        detail = f"pipeline runs started by monitoring run {monitoring.run_id}: {ids or 'none'}"
        if mismatch:
            detail += f"; a result line names run(s) {mismatch}, which the Jobs API does not show"
        self.report.check(
            "the retrain run was started once", len(found) == 1 and not mismatch, detail
        )

    def _judge_unchanged(self) -> None:
        """The jobs it ran are still the ones it read first: no other deploy applied new job
        definitions while the smoke ran (its result would otherwise vouch for other code)."""
        changed = [
            key
            for key, before in self._settings.items()
            if json.dumps(
                self.api.get_job(self.plan.job_ids[key]).get("settings") or {}, sort_keys=True
            )
            != before
        ]
        self.report.check(
            "the jobs did not change during the smoke",
            not changed,
            f"changed: {', '.join(changed)} (another deploy applied meanwhile; re-run the smoke)"
            if changed
            else f"{len(self._settings)} job definitions as at the start",
        )

    def _stop_if_failed(self) -> None:
        failed = [c.name for c in self.report.checks if not c.ok]
        if failed:
            raise SmokeFailed(f"failed checks: {', '.join(failed)}")


def _version(value: object) -> bool:
    return (isinstance(value, str) and bool(value.strip())) or _count(value)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _result_text(result: StepResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.data.items())


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
