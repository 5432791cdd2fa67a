"""`make render ENV=...` / `python -m tools.render`: review output of the rendered specs."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT
from tools.render import main, render_environment


def test_dev_renders_clusters_and_every_job() -> None:
    docs = list(yaml.safe_load_all(render_environment("dev", ROOT / "config")))
    assert len(docs) == 6  # job cluster, interactive cluster, four jobs
    names = [d.get("name") for d in docs[2:]]
    assert names == [
        "mlops-dev-replay",
        "mlops-dev-ml_pipeline",
        "mlops-dev-batch_inference",
        "mlops-dev-monitoring",
    ]
    assert all(d["max_concurrent_runs"] == 1 and d["timeout_seconds"] > 0 for d in docs[2:])


def test_prod_has_no_interactive_cluster_and_filters_one_job() -> None:
    docs = list(yaml.safe_load_all(render_environment("prod", ROOT / "config", job="monitoring")))
    assert [d.get("name", d.get("spark_version")) for d in docs] == [
        "15.4.x-cpu-ml-scala2.12",
        "mlops-prod-monitoring",
    ]


def test_unknown_environment_exits_2(capsys) -> None:
    assert main(["qa"]) == 2
    err = capsys.readouterr().err
    assert "no environment 'qa'" in err and "use one of dev, prod, sandbox, uat" in err
