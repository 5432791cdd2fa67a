"""The job contract (issue 12, section 5): every wheel task's effective arguments, the job
parameters Databricks pushes down plus the task's own `named_parameters`, are parsed by the
real argparse parser of the entry point the task calls, for every environment.

Jobs are found by resource type in every synthesized stack (not by stack name), so the test
holds whichever stack the jobs live in. Databricks passes keyword arguments to a Python wheel
task as `--name=value` and pushes job parameters down only to tasks configured with keyword
arguments (docs/platform-assumptions.md, "ML jobs"): every task therefore has named
parameters of its own, and none repeats a job parameter's name.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from taxi_fare_mlops import cli

from tests.conftest import ENVIRONMENTS, resources

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
    named = task["python_wheel_task"].get("named_parameters", {})
    argv = [f"--{k}={resolve(v)}" for k, v in {**pushed, **named}.items()]
    return argv, pushed, named


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
    assert sum(1 for _ in wheel_tasks(stacks)) == 8 * len(ENVIRONMENTS)


def test_every_wheel_task_argv_parses_with_its_entry_points_parser(stacks) -> None:
    checked = 0
    for stack_name, job, task in wheel_tasks(stacks):
        entry_point = task["python_wheel_task"]["entry_point"]
        assert entry_point in cli.PARSERS, f"{stack_name}/{job['name']}: unknown {entry_point}"
        argv, pushed, named = effective_argv(job, task)
        args = parse(entry_point, argv)
        # The values arrive where the code reads them.
        for name, value in {**pushed, **named}.items():
            parsed = getattr(args, name.replace("-", "_"))
            if isinstance(parsed, str):
                assert parsed == resolve(value), name
            else:
                assert parsed is not None, name
        window = cli.window_of(args)
        assert window.bounded, f"{job['name']}/{task['task_key']}: no processing window"
        assert (window.end - window.start).days == int(pushed["window-days"])
        assert args.run_key == DYNAMIC_VALUES["{{job.run_id}}"]
        checked += 1
    assert checked == 8 * len(ENVIRONMENTS)


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


def test_retrain_task_gets_a_numeric_pipeline_job_id(stacks) -> None:
    for _, job, task in wheel_tasks(stacks):
        if task["task_key"] == "retrain":
            argv, _, _ = effective_argv(job, task)
            assert parse("taxi-fare-retrain", argv).pipeline_job_id.isdigit()


def test_an_unknown_parameter_would_fail_the_contract() -> None:
    """The contract check can fail: a parameter no entry point knows is rejected (exit 2)."""
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        cli.PARSERS["taxi-fare-promote"]().parse_args(["--retry-forever=true"])
    assert exc.value.code == 2
