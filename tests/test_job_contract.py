"""The job contract (issue 12, section 5): every wheel task's effective arguments, the job
parameters Databricks pushes down plus the task's own `named_parameters`, are parsed by the
real argparse parser of the entry point the task calls, for every environment; the notebook
task's widgets by its notebook's parser; the trips source reaches every job; and no scheduled
job reads a source its window can never overlap (issue 20).

Jobs are found by resource type in every synthesized stack (not by stack name), so the test
holds whichever stack the jobs live in. Databricks passes keyword arguments to a Python wheel
task as `--name=value` and pushes job parameters down only to tasks configured with keyword
arguments (docs/platform-assumptions.md, "ML jobs"): every task therefore has named
parameters of its own, and none repeats a job parameter's name.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from taxi_fare_mlops import cli

from constructs_lib.config import load_environments
from constructs_lib.databricks.job_specs import specs
from constructs_lib.databricks.job_specs.source_coverage import window_source_problems
from tests.conftest import ENVIRONMENTS, ROOT, resources

CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}
WHEEL_TASKS_PER_ENVIRONMENT = 9  # replay 1, ml_pipeline 4, batch_inference 2, monitoring 2

# What Databricks substitutes for the dynamic value references the templates use, and what
# Terraform substitutes for the references to other resources. An unknown reference fails the
# test: add it here once you know what it resolves to.
DYNAMIC_VALUES = {
    "{{job.trigger.time.iso_date}}": "2024-05-06",
    "{{job.run_id}}": "550315892394120",
}
TERRAFORM_REFERENCE = re.compile(r"\$\{([a-z_]+)\.[^.}]+\.([a-z_]+)\}")
TERRAFORM_VALUES = {
    ("databricks_job", "id"): "123456789",
    ("databricks_mlflow_experiment", "name"): "/Workspace/mlops/nyc_e2e_mlops",
    ("databricks_registered_model", "full_name"): "mlops_dev.models.taxi_example_fare_packaged",
    ("databricks_mlflow_model", "name"): "taxi_example_fare_packaged",
    ("databricks_notebook", "path"): "/Deployments/mlops-dev/notebooks/publish_verdict",
}


def resolve(value: str) -> str:
    for reference, example in DYNAMIC_VALUES.items():
        value = value.replace(reference, example)
    assert "{{" not in value, f"unknown dynamic value reference in {value!r}"

    def terraform(match: re.Match[str]) -> str:
        key = (match.group(1), match.group(2))
        assert key in TERRAFORM_VALUES, f"unknown Terraform reference {match.group(0)}"
        return TERRAFORM_VALUES[key]

    return TERRAFORM_REFERENCE.sub(terraform, value)


def wheel_tasks(stacks: dict[str, Any]) -> Iterator[tuple[str, dict, dict]]:
    for stack_name, stack in stacks.items():
        for job in resources(stack, "databricks_job").values():
            for task in job.get("task", []):
                if "python_wheel_task" in task:
                    yield stack_name, job, task


def effective_argv(job: dict, task: dict) -> tuple[list[str], dict[str, str], dict[str, str]]:
    pushed = {p["name"]: p["default"] for p in job.get("parameter", [])}
    if "notebook_task" in task:
        named = task["notebook_task"].get("base_parameters", {})
    else:
        named = task["python_wheel_task"].get("named_parameters", {})
    # A pushed-down job parameter wins over a task parameter of the same key (Databricks docs,
    # "Configure job parameters"); no task repeats one (test below), so the order is moot.
    argv = [f"--{k}={resolve(v)}" for k, v in {**named, **pushed}.items()]
    return argv, pushed, named


def notebook_tasks(stacks: dict[str, Any]) -> Iterator[tuple[str, dict, dict]]:
    for stack_name, stack in stacks.items():
        for job in resources(stack, "databricks_job").values():
            for task in job.get("task", []):
                if "notebook_task" in task:
                    yield stack_name, job, task


def parse(entry_point: str, argv: list[str]) -> argparse.Namespace:
    parser = cli.PARSERS[entry_point]()
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"{entry_point} rejects {argv}:\n{errors.getvalue()}")


def test_jobs_are_found_in_every_environment(stacks) -> None:
    found = {name for name, _, _ in wheel_tasks(stacks)}
    assert {e for e in ENVIRONMENTS} <= {n.removesuffix("-workspace") for n in found}
    assert sum(1 for _ in wheel_tasks(stacks)) == WHEEL_TASKS_PER_ENVIRONMENT * len(ENVIRONMENTS)


def test_every_wheel_task_argv_parses_with_its_entry_points_parser(stacks) -> None:
    checked = 0
    for stack_name, job, task in wheel_tasks(stacks):
        entry_point = task["python_wheel_task"]["entry_point"]
        assert entry_point in cli.PARSERS, f"{stack_name}/{job['name']}: unknown {entry_point}"
        argv, pushed, named = effective_argv(job, task)
        args = parse(entry_point, argv)
        # The values arrive where the code reads them.
        for name, value in {**named, **pushed}.items():
            parsed = getattr(args, name.replace("-", "_"))
            if isinstance(parsed, str):
                assert parsed == resolve(value), name
            else:
                assert parsed is not None, name
        window = cli.window_of(args)
        assert window.bounded, f"{job['name']}/{task['task_key']}: no processing window"
        window_days = {**named, **pushed}["window-days"]
        assert (window.end - window.start).days == int(window_days)
        assert args.run_key == DYNAMIC_VALUES["{{job.run_id}}"]
        checked += 1
    assert checked == WHEEL_TASKS_PER_ENVIRONMENT * len(ENVIRONMENTS)


def test_no_task_parameter_shadows_a_job_parameter(stacks) -> None:
    for stack_name, job, task in wheel_tasks(stacks):
        _, pushed, named = effective_argv(job, task)
        clash = sorted(set(pushed) & set(named))
        assert not clash, f"{stack_name}/{job['name']}/{task['task_key']}: {clash}"


def test_every_wheel_task_has_named_parameters_of_its_own(stacks) -> None:
    """An empty `named_parameters` is not documented to receive pushed-down job parameters."""
    for stack_name, job, task in wheel_tasks(stacks):
        named = task["python_wheel_task"].get("named_parameters") or {}
        assert named, f"{stack_name}/{job['name']}/{task['task_key']} has no named_parameters"
        assert "parameters" not in task["python_wheel_task"]  # positional: no pushdown


def test_promote_gets_explicit_parameters(stacks) -> None:
    promotes = [t for _, _, t in wheel_tasks(stacks) if t["task_key"] == "promote"]
    assert len(promotes) == len(ENVIRONMENTS)
    for task in promotes:
        assert task["python_wheel_task"]["named_parameters"] == {"require-gate": "true"}


def test_the_notebook_task_parameters_parse_with_its_notebooks_parser(stacks) -> None:
    found = 0
    for stack_name, job, task in notebook_tasks(stacks):
        notebook = task["notebook_task"]["notebook_path"]
        name = resolve(notebook).rsplit("/", 1)[-1]
        assert name in cli.NOTEBOOK_PARSERS, f"{stack_name}/{job['name']}: unknown {notebook}"
        argv, pushed, _ = effective_argv(job, task)
        parser = cli.NOTEBOOK_PARSERS[name]()
        with contextlib.redirect_stderr(io.StringIO()):
            args = parser.parse_args(argv)
        assert cli.window_of(args).bounded
        assert args.source_table == pushed["source-table"]
        found += 1
    assert found == len(ENVIRONMENTS)


def test_the_retrain_runs_the_pipeline_job_when_the_verdict_says_so(stacks) -> None:
    for stack_name, stack in stacks.items():
        jobs = resources(stack, "databricks_job")
        for job in jobs.values():
            tasks = {t["task_key"]: t for t in job.get("task", [])}
            if "retrain" not in tasks:
                continue
            condition = tasks["retrain_needed"]["condition_task"]
            assert condition == {
                "op": "EQUAL_TO",
                "left": "{{tasks.retrain_verdict.values.retrain}}",
                "right": "true",
            }
            assert "notebook_task" in tasks["retrain_verdict"]
            assert tasks["retrain"]["depends_on"] == [
                {"task_key": "retrain_needed", "outcome": "true"}
            ]
            target = tasks["retrain"]["run_job_task"]["job_id"]
            pipeline = next(k for k, j in jobs.items() if j["name"].endswith("-ml_pipeline"))
            assert target == f"${{databricks_job.{pipeline}.id}}", stack_name
            # Neither is retried: a retried run_job task could start a second pipeline run.
            assert "max_retries" not in tasks["retrain"]
            assert "max_retries" not in tasks["retrain_needed"]


def test_a_started_job_receives_only_parameters_it_declares_with_its_own_values(stacks) -> None:
    """Databricks pushes a job's parameters down into its Run Job tasks, and a pushed-down job
    parameter wins over the started job's own value of the same key: the ML pipeline run that
    monitoring starts would otherwise train on monitoring's one-day window. So every parameter
    a job pushes into the job it starts is one that job declares, with the same default (the
    window length travels as a task parameter in the starting job)."""
    edges = 0
    for stack_name, stack in stacks.items():
        jobs = resources(stack, "databricks_job")
        for job in jobs.values():
            pushed = {p["name"]: p["default"] for p in job.get("parameter", [])}
            for task in job.get("task", []):
                if "run_job_task" not in task:
                    continue
                target = task["run_job_task"]["job_id"]
                (child,) = [j for k, j in jobs.items() if target == f"${{databricks_job.{k}.id}}"]
                declared = {p["name"]: p["default"] for p in child.get("parameter", [])}
                where = f"{stack_name}: {job['name']} -> {child['name']}"
                assert set(pushed) <= set(declared), (where, sorted(set(pushed) - set(declared)))
                differ = {k: (v, declared[k]) for k, v in pushed.items() if declared[k] != v}
                assert not differ, (where, differ)
                assert "window-days" not in pushed and "window-days" in declared, where
                assert "job_parameters" not in task["run_job_task"], where
                edges += 1
    assert edges == len(ENVIRONMENTS)  # monitoring -> ml_pipeline in every environment


def test_every_job_declares_the_psi_threshold_a_run_may_override(stacks) -> None:
    """The dev smoke run forces the retrain verdict with a run-now override of the monitoring
    job's `psi-threshold`; every job declares it (it is pushed into the retrain run)."""
    for env in ENVIRONMENTS:
        expected = str(CONFIGS[env].databricks.ml.psi_threshold)
        for job in resources(stacks[f"{env}-workspace"], "databricks_job").values():
            params = {p["name"]: p["default"] for p in job["parameter"]}
            assert params["psi-threshold"] == expected, job["name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_trips_source_from_config_reaches_every_job(stacks, env: str) -> None:
    expected = specs.source_table(CONFIGS[env])
    jobs = resources(stacks[f"{env}-workspace"], "databricks_job")
    assert len(jobs) == len(CONFIGS[env].databricks.jobs)
    for job in jobs.values():
        params = {p["name"]: p["default"] for p in job["parameter"]}
        assert params["source-table"] == expected, job["name"]
        assert params["trip-key"] == CONFIGS[env].databricks.ml.trips_source.trip_key_column
        for task in job["task"]:
            if "python_wheel_task" in task:
                argv, _, _ = effective_argv(job, task)
                args = parse(task["python_wheel_task"]["entry_point"], argv)
                assert args.source_table == expected


def test_a_configured_table_reaches_every_job_and_drops_the_replay() -> None:
    config = CONFIGS["dev"].model_copy(deep=True)
    raw = config.model_dump()
    raw["databricks"]["ml"]["trips_source"] = {"kind": "table", "table": "lake.taxi.trips"}
    del raw["databricks"]["jobs"]
    configured = type(config).model_validate(raw)
    assert "replay" not in configured.databricks.jobs
    refs = specs.placeholder_refs(configured, "taxi_fare_mlops", "0.1.0")
    for key in configured.databricks.jobs:
        params = specs.job_parameters(configured, refs, key)
        assert (params["source-table"], params["source-kind"]) == ("lake.taxi.trips", "table")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_scheduled_window_can_overlap_its_source(stacks, env: str) -> None:
    jobs = resources(stacks[f"{env}-workspace"], "databricks_job")
    assert window_source_problems(jobs, datetime.now(UTC).date()) == []


def test_a_fixed_sample_without_the_replay_fails_the_window_contract(stacks) -> None:
    """What a config reading samples.nyctaxi.trips directly would synthesize: no job of it can
    ever find data (the config model refuses it too; this contract also guards templates)."""
    jobs = copy.deepcopy(resources(stacks["dev-workspace"], "databricks_job"))
    for key in [k for k, j in jobs.items() if j["name"].endswith("-replay")]:
        del jobs[key]
    for job in jobs.values():
        for p in job["parameter"]:
            if p["name"] == "source-table":
                p["default"] = "samples.nyctaxi.trips"
    problems = window_source_problems(jobs, datetime.now(UTC).date())
    assert len(problems) == 3, problems
    assert all("never overlaps samples.nyctaxi.trips" in p for p in problems)
    # The legacy dataset path is the same sample.
    for job in jobs.values():
        for p in job["parameter"]:
            if p["name"] == "source-table":
                p["default"] = "/databricks-datasets/nyctaxi-with-zipcodes/subsampled"
    assert len(window_source_problems(jobs, datetime.now(UTC).date())) == 3


def test_an_unscheduled_replay_does_not_keep_its_landing_table_current(stacks) -> None:
    jobs = copy.deepcopy(resources(stacks["dev-workspace"], "databricks_job"))
    replay = next(j for j in jobs.values() if j["name"].endswith("-replay"))
    del replay["schedule"]
    problems = window_source_problems(jobs, datetime.now(UTC).date())
    assert len(problems) == 3 and all("unscheduled replay" in p for p in problems)


def test_an_unknown_parameter_would_fail_the_contract() -> None:
    """The contract check can fail: a parameter no entry point knows is rejected (exit 2)."""
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        cli.PARSERS["taxi-fare-promote"]().parse_args(["--retry-forever=true"])
    assert exc.value.code == 2
