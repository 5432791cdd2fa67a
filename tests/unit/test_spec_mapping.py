"""The mapping layer from Jobs / Clusters API shapes to Databricks provider arguments."""

from __future__ import annotations

import pytest

from constructs_lib.databricks.job_specs.job_settings import (
    JOB_DEFAULTS,
    MlJobSettings,
    enforce_job_settings,
)
from constructs_lib.databricks.job_specs.rendering import TemplateError
from constructs_lib.databricks.spec_mapping import to_provider_shape

JOB = {
    "name": "x",
    "parameters": [{"name": "catalog", "default": "c"}],
    "job_clusters": [
        {"job_cluster_key": "k", "new_cluster": {"spark_version": "15.4.x-cpu-ml-scala2.12"}}
    ],
    "tasks": [
        {
            "task_key": "a",
            "libraries": [{"whl": "/w.whl"}],
            "python_wheel_task": {"package_name": "p", "entry_point": "e", "parameters": ["kept"]},
        },
    ],
    "environments": [],
}


def test_job_renames() -> None:
    out = to_provider_shape(JOB, "job")
    assert set(out) == {"name", "parameter", "job_cluster", "task", "environment"}
    task = out["task"][0]
    assert task["library"] == [{"whl": "/w.whl"}] and "libraries" not in task
    # `parameters` of a python_wheel_task is a provider field of the same name
    assert task["python_wheel_task"]["parameters"] == ["kept"]


def test_cluster_renames_libraries_only() -> None:
    out = to_provider_shape(
        {"cluster_name": "c", "libraries": [{"whl": "w"}], "spark_conf": {}}, "cluster"
    )
    assert out == {"cluster_name": "c", "library": [{"whl": "w"}], "spark_conf": {}}


def test_input_is_not_mutated() -> None:
    before = repr(JOB)
    to_provider_shape(JOB, "job")
    assert repr(JOB) == before


def test_both_api_and_provider_key_is_an_error() -> None:
    with pytest.raises(
        ValueError, match="both 'tasks' and 'task' given; use only the API name 'tasks'"
    ):
        to_provider_shape({"tasks": [], "task": []}, "job")


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        to_provider_shape({}, "pipeline")


def _props(**overrides) -> MlJobSettings:
    base = dict(
        name="mlops-dev-x",
        spec={
            "tasks": [
                {"task_key": "a", "python_wheel_task": {}},
                {"task_key": "b", "condition_task": {}},
            ],
            "max_concurrent_runs": 5,
            "tags": {"t": "template"},
        },
        timeout_seconds=600,
        max_retries=2,
        notification_emails=["a@example.com"],
        schedule={
            "quartz_cron_expression": "0 0 1 * * ?",
            "timezone_id": "UTC",
            "pause_status": "PAUSED",
        },
        tags={"environment": "dev"},
    )
    base.update(overrides)
    return MlJobSettings(**base)


def test_enforced_settings_win_over_template() -> None:
    spec = enforce_job_settings(_props())
    assert spec["max_concurrent_runs"] == 1
    assert spec["timeout_seconds"] == 600
    assert spec["email_notifications"] == {"on_failure": ["a@example.com"]}
    assert spec["schedule"]["pause_status"] == "PAUSED"
    assert spec["tags"] == {"t": "template", "environment": "dev"}
    assert spec["queue"] == JOB_DEFAULTS["queue"]


def test_retries_only_on_wheel_tasks_and_template_values_kept() -> None:
    spec = enforce_job_settings(
        _props(
            spec={
                "tasks": [
                    {"task_key": "a", "python_wheel_task": {}, "max_retries": 0},
                    {"task_key": "b", "python_wheel_task": {}},
                    {"task_key": "c", "condition_task": {}},
                ]
            }
        )
    )
    retries = [t.get("max_retries") for t in spec["tasks"]]
    assert retries == [0, 2, None]


def test_run_as_only_when_configured() -> None:
    assert "run_as" not in enforce_job_settings(_props())
    sp = "11111111-2222-3333-4444-555555555555"
    assert enforce_job_settings(_props(run_as_service_principal=sp))["run_as"] == {
        "service_principal_name": sp
    }


def test_no_schedule_when_none() -> None:
    assert "schedule" not in enforce_job_settings(_props(schedule=None))


@pytest.mark.synth
class TestProviderStructs:
    """Needs the provider bindings (jsii): building structs from provider-shaped dicts."""

    def test_nested_dicts_become_structs(self) -> None:
        from constructs_lib.databricks.spec_mapping import SpecMapper
        from constructs_lib.providers.databricks.job import Job, JobTask

        kwargs = SpecMapper(source="t", environment="dev").build(
            Job, to_provider_shape(JOB | {"environments": []}, "job")
        )
        (task,) = kwargs["task"]
        assert isinstance(task, JobTask)
        assert task.python_wheel_task.entry_point == "e"

    def test_unknown_keys_are_all_reported_with_allowed_keys(self) -> None:
        from constructs_lib.databricks.spec_mapping import SpecMapper
        from constructs_lib.providers.databricks.job import Job

        bad = {
            "name": "x",
            "tasks": [{"task_key": "a", "bogus": 1, "python_wheel_task": {"package_nme": "p"}}],
            "max_concurent_runs": 1,
        }
        with pytest.raises(TemplateError) as info:
            SpecMapper(source="templates/jobs/x.yaml.j2", environment="uat").build(
                Job, to_provider_shape(bad, "job")
            )
        messages = [str(p) for p in info.value.problems]
        assert len(messages) == 3
        assert all(
            m.startswith("templates/jobs/x.yaml.j2: environment uat: key ") for m in messages
        )
        assert any("'package_nme'" in m and "package_name" in m for m in messages)
        assert any("'max_concurent_runs'" in m and "max_concurrent_runs" in m for m in messages)

    def test_wrong_shape_is_reported(self) -> None:
        from constructs_lib.databricks.spec_mapping import SpecMapper
        from constructs_lib.providers.databricks.job import Job

        with pytest.raises(TemplateError, match=r"Job\.task must be a list of mappings, got dict"):
            SpecMapper(source="t", environment="dev").build(
                Job, {"name": "x", "task": {"task_key": "a"}}
            )

    def test_reference_in_number_field_becomes_number_token(self) -> None:
        from constructs_lib.cdk import Token
        from constructs_lib.databricks.spec_mapping import SpecMapper
        from constructs_lib.providers.databricks.job import Job

        reference = Token.as_string(Token.as_any("${databricks_job.x.id}"))
        kwargs = SpecMapper(source="t", environment="dev").build(
            Job, {"name": "x", "task": [{"task_key": "r", "run_job_task": {"job_id": reference}}]}
        )
        job_id = kwargs["task"][0].run_job_task.job_id
        assert isinstance(job_id, float) and Token.is_unresolved(job_id)
