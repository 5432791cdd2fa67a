"""Run the synthesized Databricks jobs locally, as Databricks would run them.

The jobs are read from a workspace stack's synthesized Terraform JSON
(``cdktf.out/stacks/<env>-workspace/cdk.tf.json``, resources ``databricks_job``): task order
(``depends_on``, with condition outcomes), entry points, named parameters, job parameters,
notebook tasks, condition tasks and run-job tasks. Values are resolved the way the platform
resolves them:

* **job parameters** are the job's ``parameter`` defaults (or a run-job task's
  ``job_parameters``), their dynamic value references resolved at trigger time, and are pushed
  down to every task with key-value parameters: ``--name=value`` before a wheel task's own
  ``named_parameters`` (no task repeats a job parameter; the contract tests check it), widgets
  of a notebook task;
* **dynamic value references**: ``{{job.trigger.time.iso_date}}`` (the UTC date the run was
  triggered: for a scheduled run, its scheduled time), ``{{job.run_id}}``, ``{{job.id}}``,
  ``{{job.parameters.<name>}}`` and ``{{tasks.<key>.values.<name>}}`` (task values); any other
  reference is an error here (Databricks would pass it through as text);
* **Terraform references** (``${type.name.attribute}``) are looked up in the same JSON: a
  literal attribute is used as is (resolved recursively), and the few computed ones use the
  documented local mapping :data:`COMPUTED_ATTRIBUTES` (a job's ``id`` is its local run
  number, a registered model's ``full_name`` is ``catalog.schema.name``...).

Local stand-ins (the only values that differ from Databricks): every wheel task and notebook
also gets ``--runtime=local --local-dir=<dir>``, and :data:`LOCAL_TABLES` maps the paths of
Databricks datasets to local tables. A wheel task runs its console script (a subprocess, or the
entry point loaded from the installed metadata and called as the wheel launcher calls it); a
notebook task runs the notebook's source (decoded from its ``databricks_notebook`` resource)
with a small ``dbutils`` stand-in (widgets and task values); a run-job task runs the target
job. Each task's last ``taxi-fare-result:`` line is its result.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import subprocess
import sys
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from taxi_fare_mlops.results import parse_result

TERRAFORM_REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}")
DYNAMIC_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_.`-]+)\s*\}\}")
LOCAL_TABLES: dict[str, str] = {
    "/databricks-datasets/nyctaxi-with-zipcodes/subsampled": "samples.nyctaxi.trips",
    "dbfs:/databricks-datasets/nyctaxi-with-zipcodes/subsampled": "samples.nyctaxi.trips",
}
"""Databricks dataset paths -> the local table that stands in for them."""


def _full_name(resource: Mapping[str, Any], resolve: Callable[[str], str]) -> str:
    return ".".join(resolve(resource[k]) for k in ("catalog_name", "schema_name", "name"))


COMPUTED_ATTRIBUTES: dict[tuple[str, str], Callable[[Mapping[str, Any], Callable], str]] = {
    ("databricks_registered_model", "full_name"): _full_name,
    ("databricks_notebook", "workspace_path"): lambda r, res: "/Workspace" + res(r["path"]),
    ("databricks_workspace_file", "workspace_path"): lambda r, res: "/Workspace" + res(r["path"]),
    ("databricks_service_principal", "application_id"): lambda r, res: "local-job-principal",
}
"""Attributes Terraform only knows after apply, and what they are locally (documented
provider semantics: ``full_name`` = ``catalog.schema.name``, ``workspace_path`` = ``/Workspace``
+ ``path``). A job's ``id`` is handled by the runner (its local job ID)."""


class LocalJobError(Exception):
    """A job cannot be run locally (unknown reference, task type, failed task)."""


# --- reading the jobs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One task of a job, in the provider's shape."""

    key: str
    depends_on: tuple[tuple[str, str | None], ...]
    """(task key, required condition outcome or None)."""
    spec: Mapping[str, Any]

    @property
    def kind(self) -> str:
        """``python_wheel_task``, ``notebook_task``, ``condition_task`` or ``run_job_task``."""
        for kind in ("python_wheel_task", "notebook_task", "condition_task", "run_job_task"):
            if kind in self.spec:
                return kind
        raise LocalJobError(f"task {self.key}: no task type the local runner knows")


@dataclass(frozen=True)
class Schedule:
    """A job's Quartz schedule."""

    quartz_cron_expression: str
    timezone_id: str
    paused: bool


@dataclass(frozen=True)
class Job:
    """One ``databricks_job`` resource."""

    resource_id: str
    job_id: str
    name: str
    parameters: Mapping[str, str]
    tasks: tuple[Task, ...]
    schedule: Schedule | None


def load_stack(path: Path) -> dict[str, Any]:
    """A synthesized stack's JSON (``cdk.tf.json``)."""
    if not path.is_file():
        raise LocalJobError(f"{path} not found; run `make synth` first")
    return json.loads(path.read_text())


def read_jobs(stack: Mapping[str, Any]) -> dict[str, Job]:
    """Every job of the stack, by resource ID, with local job IDs 1, 2, ... in JSON order."""
    jobs: dict[str, Job] = {}
    resources = stack.get("resource", {}).get("databricks_job", {})
    for number, (resource_id, body) in enumerate(resources.items(), start=1):
        tasks = tuple(
            Task(
                key=t["task_key"],
                depends_on=tuple(
                    (d["task_key"], d.get("outcome")) for d in t.get("depends_on", [])
                ),
                spec=t,
            )
            for t in body.get("task", [])
        )
        schedule = body.get("schedule")
        jobs[resource_id] = Job(
            resource_id=resource_id,
            job_id=str(number),
            name=body["name"],
            parameters={p["name"]: p["default"] for p in body.get("parameter", [])},
            tasks=_in_dependency_order(tasks, body["name"]),
            schedule=(
                Schedule(
                    schedule["quartz_cron_expression"],
                    schedule.get("timezone_id", "UTC"),
                    schedule.get("pause_status") == "PAUSED",
                )
                if schedule
                else None
            ),
        )
    return jobs


def _in_dependency_order(tasks: tuple[Task, ...], job: str) -> tuple[Task, ...]:
    done: list[Task] = []
    pending = list(tasks)
    while pending:
        ready = [t for t in pending if all(d in {x.key for x in done} for d, _ in t.depends_on)]
        if not ready:
            raise LocalJobError(f"job {job}: task dependencies form a cycle or name no task")
        done.append(ready[0])
        pending.remove(ready[0])
    return tuple(done)


# --- Quartz schedules ----------------------------------------------------------------------------
_DAY_NAMES = {
    name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)
}


def _field(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> set[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part in ("*", "?"):
            lo, hi = low, high
        elif "-" in part:
            a, b = part.split("-")
            lo, hi = _value(a, names), _value(b, names)
        else:
            lo = _value(part, names)
            hi = high if step > 1 else lo
        values.update(range(lo, hi + 1, step))
    return values


def _value(text: str, names: Mapping[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise LocalJobError(f"Quartz field value {text!r} is not supported locally")
    return int(text)


def firing_times(schedule: Schedule, day: date) -> list[datetime]:
    """The UTC instants at which ``schedule`` fires during ``day`` in its time zone.

    Supports the Quartz subset the configs use: seconds, minutes, hours, day of month, month
    and day of week with ``*``, ``?``, numbers, ranges, lists, steps and day names."""
    parts = schedule.quartz_cron_expression.split()
    if len(parts) not in (6, 7):
        raise LocalJobError(f"not a Quartz expression: {schedule.quartz_cron_expression!r}")
    seconds, minutes, hours = (_field(parts[i], 0, (59, 59, 23)[i]) for i in range(3))
    days, months = _field(parts[3], 1, 31), _field(parts[4], 1, 12)
    weekdays = _field(parts[5], 1, 7, _DAY_NAMES)
    quartz_weekday = (day.isoweekday() % 7) + 1  # Quartz: 1 = Sunday
    if day.month not in months:
        return []
    if parts[3] != "?" and day.day not in days:
        return []
    if parts[5] != "?" and quartz_weekday not in weekdays:
        return []
    zone = zoneinfo.ZoneInfo(schedule.timezone_id)
    return sorted(
        datetime.combine(day, time(h, m, s), tzinfo=zone).astimezone(UTC)
        for h in hours
        for m in minutes
        for s in seconds
    )


# --- running -------------------------------------------------------------------------------------
@dataclass
class TaskRun:
    """What one task did."""

    key: str
    kind: str
    state: str
    """``SUCCESS``, ``FAILED`` or ``EXCLUDED`` (a condition outcome did not select it)."""
    result: dict[str, Any] | None = None
    outcome: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    child: JobRun | None = None


@dataclass
class JobRun:
    """One run of one job."""

    job: str
    run_id: str
    trigger_time: datetime
    parameters: dict[str, str]
    tasks: list[TaskRun] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Every task succeeded or was excluded by a condition."""
        return all(t.state in ("SUCCESS", "EXCLUDED") for t in self.tasks)

    def result(self, key: str) -> dict[str, Any]:
        """The result line of task ``key`` (empty when it has none)."""
        return next((t.result or {} for t in self.tasks if t.key == key), {})


class LocalJobRunner:
    """Runs jobs of one synthesized workspace stack against a local work directory."""

    def __init__(
        self,
        stack: Mapping[str, Any],
        local_dir: Path,
        in_process: bool = False,
        python: str = sys.executable,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.stack = stack
        self.local_dir = local_dir
        self.in_process = in_process
        self.python = python
        self.echo = echo or (lambda _: None)
        self.jobs = read_jobs(stack)
        self._runs = 0

    # references
    def job_by_name(self, name: str) -> Job:
        """The job named ``name``, or whose name ends with ``-<name>``."""
        for job in self.jobs.values():
            if job.name == name or job.name.endswith(f"-{name}"):
                return job
        raise LocalJobError(f"no job named {name!r}; jobs: {[j.name for j in self.jobs.values()]}")

    def terraform(self, value: str) -> str:
        """``value`` with every Terraform reference replaced by its (local) value."""

        def replace(match: re.Match[str]) -> str:
            type_, name, attribute = match.groups()
            resource = self.stack.get("resource", {}).get(type_, {}).get(name)
            if resource is None:
                raise LocalJobError(f"{match.group(0)}: no such resource in the stack")
            if type_ == "databricks_job" and attribute == "id":
                return self.jobs[name].job_id
            if attribute in resource and isinstance(resource[attribute], str):
                return self.terraform(resource[attribute])
            computed = COMPUTED_ATTRIBUTES.get((type_, attribute))
            if computed is None:
                raise LocalJobError(
                    f"{match.group(0)}: a computed attribute without a local value; add it to "
                    "COMPUTED_ATTRIBUTES"
                )
            return computed(resource, self.terraform)

        return TERRAFORM_REFERENCE.sub(replace, value)

    def dynamic(self, value: str, run: JobRun, values: Mapping[str, Mapping[str, Any]]) -> str:
        """``value`` with every dynamic value reference resolved for ``run``."""

        def replace(match: re.Match[str]) -> str:
            ref = match.group(1).replace("`", "")
            if ref == "job.trigger.time.iso_date":
                return run.trigger_time.astimezone(UTC).date().isoformat()
            if ref == "job.trigger.time.iso_datetime":
                return run.trigger_time.astimezone(UTC).isoformat()
            if ref == "job.run_id":
                return run.run_id
            if ref == "job.id":
                return self.job_by_name(run.job).job_id
            if ref.startswith("job.parameters."):
                return run.parameters[ref.removeprefix("job.parameters.")]
            if ref.startswith("tasks.") and ".values." in ref:
                task, _, key = ref.removeprefix("tasks.").partition(".values.")
                if key not in values.get(task, {}):
                    raise LocalJobError(f"{match.group(0)}: task {task} set no value {key!r}")
                return str(values[task][key])
            raise LocalJobError(f"{match.group(0)}: dynamic value reference unknown locally")

        return DYNAMIC_REFERENCE.sub(replace, value)

    def resolve(self, value: str, run: JobRun, values: Mapping[str, Mapping[str, Any]]) -> str:
        """A task or job parameter as the platform would pass it (plus the local stand-ins)."""
        resolved = self.dynamic(self.terraform(value), run, values)
        return LOCAL_TABLES.get(resolved, resolved)

    # running
    def run_job(
        self,
        job: Job,
        trigger_time: datetime,
        overrides: Mapping[str, str] | None = None,
    ) -> JobRun:
        """Run ``job`` once, as if triggered at ``trigger_time``."""
        self._runs += 1
        run = JobRun(job.name, f"{self._runs:06d}", trigger_time, {})
        raw = {**job.parameters, **(overrides or {})}
        run.parameters = {k: self.resolve(v, run, {}) for k, v in raw.items()}
        self.echo(f"  run {run.run_id} {job.name} (trigger {trigger_time.isoformat()})")
        values: dict[str, dict[str, Any]] = {}
        by_key: dict[str, TaskRun] = {}
        for task in job.tasks:
            selected = all(
                by_key[dep].state == "SUCCESS"
                and (outcome is None or by_key[dep].outcome == outcome)
                for dep, outcome in task.depends_on
            )
            if not selected:
                task_run = TaskRun(task.key, task.kind, "EXCLUDED")
            else:
                task_run = self._run_task(task, run, values)
            by_key[task.key] = task_run
            run.tasks.append(task_run)
            values[task.key] = task_run.values
            self.echo(
                f"    {task.key:<16} {task_run.state:<9}"
                + (f" {json.dumps(task_run.result)}" if task_run.result else "")
                + (f" outcome={task_run.outcome}" if task_run.outcome else "")
            )
            if task_run.state == "FAILED":
                break
        return run

    def _run_task(self, task: Task, run: JobRun, values: dict[str, dict[str, Any]]) -> TaskRun:
        spec = task.spec[task.kind]
        if task.kind == "python_wheel_task":
            named = {
                k: self.resolve(v, run, values) for k, v in spec.get("named_parameters", {}).items()
            }
            # A job parameter wins over a task parameter of the same key (Databricks docs,
            # "Configure job parameters": job parameter pushdown).
            argv = [f"--{k}={v}" for k, v in {**named, **run.parameters}.items()]
            return self._wheel(task.key, spec["entry_point"], argv)
        if task.kind == "notebook_task":
            widgets = {
                **{
                    k: self.resolve(v, run, values)
                    for k, v in spec.get("base_parameters", {}).items()
                },
                **run.parameters,
            }
            return self._notebook(
                task.key, self.resolve(spec["notebook_path"], run, values), widgets
            )
        if task.kind == "condition_task":
            left = self.resolve(spec["left"], run, values)
            right = self.resolve(spec["right"], run, values)
            outcome = _compare(spec["op"], left, right)
            return TaskRun(task.key, task.kind, "SUCCESS", outcome="true" if outcome else "false")
        target_id = self.resolve(str(spec["job_id"]), run, values)
        target = next((j for j in self.jobs.values() if j.job_id == target_id), None)
        if target is None:
            raise LocalJobError(f"task {task.key}: run_job_task names unknown job {target_id}")
        # The parent's job parameters are pushed down into the run it starts and win over the
        # task's own (Databricks docs, "Configure job parameters": pushdown includes Run Job).
        overrides = {
            **{k: self.resolve(v, run, values) for k, v in spec.get("job_parameters", {}).items()},
            **run.parameters,
        }
        undeclared = sorted(set(overrides) - set(target.parameters))
        if undeclared:
            raise LocalJobError(
                f"task {task.key}: run_job_task would push {', '.join(undeclared)} into "
                f"{target.name}, which does not declare it"
            )
        child = self.run_job(target, run.trigger_time, overrides)
        state = "SUCCESS" if child.succeeded else "FAILED"
        return TaskRun(task.key, task.kind, state, child=child)

    def _local_args(self) -> list[str]:
        return ["--runtime=local", f"--local-dir={self.local_dir}"]

    def _wheel(self, key: str, entry_point: str, argv: list[str]) -> TaskRun:
        argv = [*argv, *self._local_args()]
        if self.in_process:
            code, output = _call_entry_point(entry_point, argv)
        else:
            script = Path(self.python).parent / entry_point
            done = subprocess.run(
                [str(script), *argv], capture_output=True, text=True, timeout=3600
            )
            code, output = done.returncode, done.stdout + done.stderr
        state = "SUCCESS" if code == 0 else "FAILED"
        return TaskRun(key, "python_wheel_task", state, parse_result(output), output=output)

    def _notebook(self, key: str, path: str, widgets: Mapping[str, str]) -> TaskRun:
        source = self._notebook_source(path)
        widgets = {**widgets, "runtime": "local", "local-dir": str(self.local_dir)}
        if self.in_process:
            code, output, values = _exec_notebook(source, widgets)
        else:
            code, output, values = self._notebook_subprocess(source, widgets)
        state = "SUCCESS" if code == 0 else "FAILED"
        return TaskRun(
            key, "notebook_task", state, parse_result(output), values=values, output=output
        )

    def _notebook_source(self, path: str) -> str:
        for body in self.stack.get("resource", {}).get("databricks_notebook", {}).values():
            if self.terraform(body["path"]) == path and "content_base64" in body:
                return base64.b64decode(body["content_base64"]).decode()
        raise LocalJobError(f"notebook {path}: no databricks_notebook with inline content")

    def _notebook_subprocess(
        self, source: str, widgets: Mapping[str, str]
    ) -> tuple[int, str, dict[str, Any]]:
        program = (
            "import json, sys\n"
            "from taxi_fare_mlops.local_jobs import _exec_notebook\n"
            "code, out, values = _exec_notebook(sys.argv[1], json.loads(sys.argv[2]))\n"
            "sys.stdout.write(out)\n"
            "sys.stdout.write('\\nlocal-task-values: ' + json.dumps(values) + '\\n')\n"
            "sys.exit(code)\n"
        )
        done = subprocess.run(
            [self.python, "-c", program, source, json.dumps(dict(widgets))],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        values: dict[str, Any] = {}
        for line in done.stdout.splitlines():
            if line.startswith("local-task-values: "):
                values = json.loads(line.removeprefix("local-task-values: "))
        return done.returncode, done.stdout + done.stderr, values


def _compare(op: str, left: str, right: str) -> bool:
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "EQUAL_TO": lambda a, b: a == b,
        "NOT_EQUAL": lambda a, b: a != b,
        "GREATER_THAN": lambda a, b: a > b,
        "GREATER_THAN_OR_EQUAL": lambda a, b: a >= b,
        "LESS_THAN": lambda a, b: a < b,
        "LESS_THAN_OR_EQUAL": lambda a, b: a <= b,
    }
    if op not in ops:
        raise LocalJobError(f"condition op {op!r} unknown")
    try:
        return ops[op](float(left), float(right))
    except ValueError:
        return ops[op](left, right)


def _call_entry_point(name: str, argv: list[str]) -> tuple[int, str]:
    """Load the console script's entry point from the installed metadata and call it with
    ``argv``, as the wheel task launcher does; returns (exit code, stdout)."""
    matches = [ep for ep in entry_points(group="console_scripts") if ep.name == name]
    if not matches:
        raise LocalJobError(f"console script {name} is not installed (make setup)")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = matches[0].load()(argv) or 0
        except SystemExit as exc:
            code = _exit_code(exc)
    return int(code), out.getvalue()


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


class _Widgets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def get(self, name: str) -> str:
        if name not in self._values:
            raise ValueError(f"InputWidgetNotDefined: {name}")
        return self._values[name]


class _TaskValues:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        json.dumps(value)  # task values must be JSON
        self.values[key] = value


class _Jobs:
    def __init__(self) -> None:
        self.taskValues = _TaskValues()  # noqa: N815 - dbutils' own name


class LocalDbutils:
    """The parts of a notebook's ``dbutils`` the notebooks here use: ``widgets.get`` and
    ``jobs.taskValues.set``."""

    def __init__(self, widgets: Mapping[str, str]) -> None:
        self.widgets = _Widgets(widgets)
        self.jobs = _Jobs()


def _exec_notebook(source: str, widgets: Mapping[str, str]) -> tuple[int, str, dict[str, Any]]:
    """Run a notebook's source with a local ``dbutils``; (exit code, stdout, task values)."""
    dbutils = LocalDbutils(widgets)
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            namespace = {"dbutils": dbutils, "__name__": "__main__"}
            exec(compile(source, "<notebook>", "exec"), namespace)  # noqa: S102
        except SystemExit as exc:
            code = _exit_code(exc)
    return code, out.getvalue(), dbutils.jobs.taskValues.values


def scheduled_runs(jobs: Iterable[Job], day: date) -> list[tuple[datetime, Job]]:
    """The (trigger time, job) pairs of ``day``, in time order (paused schedules included:
    locally every schedule runs)."""
    runs = [(t, job) for job in jobs if job.schedule for t in firing_times(job.schedule, day)]
    return sorted(runs, key=lambda pair: (pair[0], pair[1].name))


def monday_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())
