"""Every template renders for every environment; template mistakes are reported clearly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from constructs_lib.config import load_environments
from constructs_lib.databricks.job_specs import specs
from constructs_lib.databricks.job_specs.rendering import (
    TEMPLATES_DIR,
    TemplateError,
    leftover_template_syntax,
    render_spec,
)
from tests.conftest import ROOT

CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}
JOB_TEMPLATES = sorted(p.name for p in (TEMPLATES_DIR / "jobs").glob("*.yaml.j2"))


def refs(env: str) -> specs.WorkspaceRefs:
    return specs.placeholder_refs(CONFIGS[env], "taxi_fare_mlops", "0.1.0")


@pytest.mark.parametrize("env", sorted(CONFIGS))
@pytest.mark.parametrize("key", ["replay", "ml_pipeline", "batch_inference", "monitoring"])
def test_job_renders_clean(env: str, key: str) -> None:
    spec = specs.job_spec(CONFIGS[env], key, refs(env))
    text = json.dumps(spec)
    assert leftover_template_syntax(text) == []
    assert not re.search(r"adb-\d+\.\d+\.azuredatabricks\.net", text), "hard-coded workspace host"
    assert not re.search(r"(?i)(dapi[0-9a-f]{32}|client_secret|password)", text)
    tasks = spec["tasks"]
    assert len({t["task_key"] for t in tasks}) == len(tasks)
    for task in tasks:
        if "python_wheel_task" in task:
            assert task["libraries"] == [{"whl": refs(env).wheel_path}]
            assert task["python_wheel_task"]["package_name"] == "taxi_fare_mlops"
            assert all(
                isinstance(v, str) for v in task["python_wheel_task"]["named_parameters"].values()
            )


def test_every_job_template_is_used_by_default() -> None:
    used = {j.template for j in CONFIGS["dev"].databricks.jobs.values()}
    assert used == set(JOB_TEMPLATES)


def test_pipeline_task_order_and_entry_points() -> None:
    spec = specs.job_spec(CONFIGS["dev"], "ml_pipeline", refs("dev"))
    tasks = spec["tasks"]
    assert [t["task_key"] for t in tasks] == ["featurize", "train", "evaluate", "promote"]
    assert [t["python_wheel_task"]["entry_point"] for t in tasks] == [
        "taxi-fare-featurize",
        "taxi-fare-train",
        "taxi-fare-evaluate",
        "taxi-fare-promote",
    ]
    assert [t.get("depends_on") for t in tasks[1:]] == [
        [{"task_key": "featurize"}],
        [{"task_key": "train"}],
        [{"task_key": "evaluate"}],
    ]
    names = [p["name"] for p in spec["parameters"]]
    assert names == [
        "catalog",
        "schema",
        "feature-schema",
        "inference-schema",
        "experiment-name",
        "model-name",
        "use-unity-catalog",
        "source-table",
        "source-kind",
        "trip-key",
        "metrics-table",
        "end-date",
        "window-days",
        "run-key",
        "psi-threshold",
    ]
    defaults = {p["name"]: p["default"] for p in spec["parameters"]}
    assert defaults["end-date"] == "{{job.trigger.time.iso_date}}"
    assert defaults["window-days"] == "28"  # ml_pipeline trains on the 28 days before
    assert defaults["run-key"] == "{{job.run_id}}"
    # promote has parameters of its own, so it is a keyword-argument task (see README).
    assert tasks[3]["python_wheel_task"]["named_parameters"] == {"require-gate": "true"}


def test_monitoring_runs_the_pipeline_when_the_recorded_verdict_says_so() -> None:
    """No credentials in any task: a notebook publishes the monitor's recorded verdict as a
    task value (documented for notebooks only), a condition task reads it, and a run_job task
    runs the pipeline job."""
    spec = specs.job_spec(CONFIGS["prod"], "monitoring", refs("prod"))
    by_key = {t["task_key"]: t for t in spec["tasks"]}
    assert [t["task_key"] for t in spec["tasks"]] == [
        "label",
        "monitor",
        "retrain_verdict",
        "retrain_needed",
        "retrain",
    ]
    assert by_key["label"]["python_wheel_task"]["entry_point"] == "taxi-fare-label"
    assert by_key["monitor"]["depends_on"] == [{"task_key": "label"}]
    assert by_key["retrain_verdict"]["notebook_task"] == {
        "notebook_path": "/Deployments/mlops-prod/notebooks/publish_verdict",
        "source": "WORKSPACE",
        "base_parameters": {"window-days": "1"},
    }
    # Its window length is a task parameter of each task, not a job parameter: job parameters
    # are pushed into the ml_pipeline run the retrain task starts and would override its own.
    assert "window-days" not in {p["name"] for p in spec["parameters"]}
    for key in ("label", "monitor"):
        assert by_key[key]["python_wheel_task"]["named_parameters"]["window-days"] == "1"
    assert by_key["retrain_needed"]["condition_task"]["left"] == (
        "{{tasks.retrain_verdict.values.retrain}}"
    )
    assert by_key["retrain"] == {
        "task_key": "retrain",
        "depends_on": [{"task_key": "retrain_needed", "outcome": "true"}],
        "run_job_task": {"job_id": "<job id of ml_pipeline>"},
    }
    # The metrics table is a job parameter: the monitor writes and the notebook reads the same.
    assert {p["name"] for p in spec["parameters"]} >= {"metrics-table", "source-table"}


def test_batch_inference_refreshes_features_then_scores_one_window() -> None:
    spec = specs.job_spec(CONFIGS["dev"], "batch_inference", refs("dev"))
    assert [t["python_wheel_task"]["entry_point"] for t in spec["tasks"]] == [
        "taxi-fare-featurize",
        "taxi-fare-score",
    ]
    defaults = {p["name"]: p["default"] for p in spec["parameters"]}
    assert (defaults["end-date"], defaults["window-days"]) == ("{{job.trigger.time.iso_date}}", "1")


def test_gate_defaults_require_a_minimum_gain() -> None:
    spec = specs.job_spec(CONFIGS["prod"], "ml_pipeline", refs("prod"))
    evaluate = spec["tasks"][2]["python_wheel_task"]["named_parameters"]
    assert evaluate["min-gain-over-champion"] == "0.01"


def test_replay_lands_the_sample_with_its_backfill() -> None:
    spec = specs.job_spec(CONFIGS["dev"], "replay", refs("dev"))
    (task,) = spec["tasks"]
    assert task["python_wheel_task"]["entry_point"] == "taxi-fare-replay"
    assert task["python_wheel_task"]["named_parameters"] == {
        "sample-table": "samples.nyctaxi.trips",
        "backfill-days": "29",
    }
    defaults = {p["name"]: p["default"] for p in spec["parameters"]}
    assert defaults["source-table"] == "mlops_dev.features.trips_landing"
    assert (defaults["end-date"], defaults["window-days"]) == ("{{job.trigger.time.iso_date}}", "1")


@pytest.mark.parametrize("env", sorted(CONFIGS))
def test_cluster_templates_render(env: str) -> None:
    config = CONFIGS[env]
    job_cluster = specs.job_cluster_spec(config, refs(env))
    assert job_cluster["data_security_mode"] == "SINGLE_USER"
    assert job_cluster["autoscale"]["max_workers"] == config.databricks.job_cluster.max_workers
    assert job_cluster["policy_id"] == "<job cluster policy id>"
    interactive = specs.interactive_cluster_spec(config, refs(env))
    assert (
        interactive["autotermination_minutes"]
        == config.databricks.interactive_cluster.autotermination_minutes
    )
    assert leftover_template_syntax(json.dumps(interactive)) == []


def test_schedules_paused_per_config() -> None:
    assert specs.job_schedule(CONFIGS["dev"], "ml_pipeline")["pause_status"] == "PAUSED"
    assert specs.job_schedule(CONFIGS["prod"], "ml_pipeline")["pause_status"] == "UNPAUSED"


@pytest.fixture
def broken_templates(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, target)
    return target


def test_undefined_variable_names_template_and_environment(broken_templates: Path) -> None:
    path = broken_templates / "jobs" / "ml_pipeline.yaml.j2"
    path.write_text(
        path.read_text()
        .replace("wheel.package_name", "whel.package_name", 1)
        .replace(
            '{{ m.wheel_task("taxi-fare-featurize", wheel',
            '{{ m.wheel_task("taxi-fare-featurize", whel',
            1,
        )
    )
    with pytest.raises(TemplateError) as info:
        render_spec(
            "jobs/ml_pipeline.yaml.j2",
            {
                "wheel": {},
                "job_parameters": {},
                "job_cluster": {},
                "schemas": {},
                "gate": {},
                "tables": {"pickup_features": "p", "dropoff_features": "d", "baseline": "b"},
            },
            environment="dev",
            templates_dir=broken_templates,
        )
    (problem,) = info.value.problems
    assert str(problem).startswith(
        "templates/jobs/ml_pipeline.yaml.j2: environment dev: undefined variable"
    )
    assert "whel" in str(problem)


def test_invalid_yaml_reports_rendered_line(broken_templates: Path) -> None:
    (broken_templates / "jobs" / "bad.yaml.j2").write_text("name: ok\ntasks: [unclosed\n")
    with pytest.raises(
        TemplateError,
        match=r"templates/jobs/bad\.yaml\.j2: environment uat, rendered line \d+: "
        r"rendered YAML does not parse",
    ):
        render_spec("jobs/bad.yaml.j2", {}, environment="uat", templates_dir=broken_templates)


def test_non_mapping_is_rejected(broken_templates: Path) -> None:
    (broken_templates / "jobs" / "list.yaml.j2").write_text("- a\n- b\n")
    with pytest.raises(TemplateError, match="rendered to a list, expected a mapping"):
        render_spec("jobs/list.yaml.j2", {}, environment="dev", templates_dir=broken_templates)


def test_missing_template(broken_templates: Path) -> None:
    with pytest.raises(
        TemplateError, match=r"templates/jobs/nope\.yaml\.j2: environment dev: template not found"
    ):
        render_spec("jobs/nope.yaml.j2", {}, environment="dev", templates_dir=broken_templates)


def test_jinja_syntax_error(broken_templates: Path) -> None:
    (broken_templates / "jobs" / "syntax.yaml.j2").write_text("name: {{ oops\n")
    with pytest.raises(TemplateError, match=r"line 1: Jinja syntax error"):
        render_spec("jobs/syntax.yaml.j2", {}, environment="dev", templates_dir=broken_templates)


def test_leftover_detection_ignores_databricks_references() -> None:
    assert leftover_template_syntax('{"a": "{{tasks.monitor.values.retrain}}"}') == []
    assert leftover_template_syntax('{"a": "{{ wheel.path }}"}') == ["{{ wheel.path }}"]
    assert leftover_template_syntax("x: {% if a %}") == ["{% if a %}"]


def test_templates_have_no_nested_conditionals() -> None:
    for path in TEMPLATES_DIR.rglob("*.j2"):
        depth = 0
        for token in re.findall(r"\{%-?\s*(if|endif)\b", path.read_text()):
            depth += 1 if token == "if" else -1
            assert depth <= 1, f"{path.name}: nested conditional"


def test_rendered_yaml_is_plain_data() -> None:
    text = yaml.safe_dump(specs.job_spec(CONFIGS["dev"], "batch_inference", refs("dev")))
    assert "!!python" not in text


def test_undefined_variable_piped_to_tojson_is_an_error(broken_templates: Path) -> None:
    """Regression: `{{ missing | tojson }}` used to raise a TypeError (a traceback for users)."""
    (broken_templates / "jobs" / "t.yaml.j2").write_text("name: {{ missing | tojson }}\n")
    with pytest.raises(TemplateError, match="undefined variable: 'missing' is undefined"):
        render_spec("jobs/t.yaml.j2", {}, environment="dev", templates_dir=broken_templates)


def test_undefined_inside_a_dict_literal_is_an_error(broken_templates: Path) -> None:
    (broken_templates / "jobs" / "t.yaml.j2").write_text('p: {{ {"a": schemas.nope} | tojson }}\n')
    with pytest.raises(
        TemplateError, match="undefined variable: 'dict object' has no attribute 'nope'"
    ):
        render_spec(
            "jobs/t.yaml.j2", {"schemas": {}}, environment="dev", templates_dir=broken_templates
        )
