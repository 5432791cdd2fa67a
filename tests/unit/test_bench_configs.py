"""The bench's generated `scale` environments stay valid configs as the config model grows.

`make bench` writes 12 copies of config/dev.yaml with 20 jobs each; a rule added to the config
model (e.g. "a replay source needs the replay job") once made the scale case exit 2 and the
bench report nothing. Loading the generated files is cheap; synthesizing them is the bench's job.
"""

from __future__ import annotations

from pathlib import Path

from constructs_lib.config import load_environments
from tests.conftest import ROOT
from tools.bench.__main__ import JOB_TEMPLATES, SCALE_ENVS, SCALE_JOBS, write_scale_configs


def test_scale_configs_load(tmp_path: Path) -> None:
    names = write_scale_configs(tmp_path)
    envs = load_environments(tmp_path, root=ROOT)
    assert [e.name for e in envs] == names
    assert len(names) == SCALE_ENVS
    for env in envs:
        assert len(env.databricks.jobs) == SCALE_JOBS
        templates = {job.template for job in env.databricks.jobs.values()}
        assert templates == set(JOB_TEMPLATES)
        # MLOPS-JOB-5: the monitoring jobs run `ml_pipeline` and must outlast it.
        pipeline = env.databricks.jobs["ml_pipeline"].timeout_seconds
        for job in env.databricks.jobs.values():
            if job.template == "monitoring.yaml.j2":
                assert job.timeout_seconds > pipeline


def test_every_shipped_job_template_is_benchmarked() -> None:
    shipped = {p.name for p in (ROOT / "templates" / "jobs").glob("*.yaml.j2")}
    assert set(JOB_TEMPLATES) == shipped
