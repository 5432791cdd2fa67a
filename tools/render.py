"""Print the rendered Databricks job and cluster specs of one environment, for review.

    .venv/bin/python -m tools.render dev            # or: make render ENV=dev
    .venv/bin/python -m tools.render prod --job monitoring

The specs are shown as the Jobs / Clusters API sees them, after the settings every job gets
(name, schedule, timeout, notifications, one run at a time). Terraform references (policy ID,
uploaded wheel path, job IDs) appear as readable placeholders. No cdktf, no network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from constructs_lib.config import ConfigError, Problem, load_environments
from constructs_lib.databricks.job_specs import specs
from constructs_lib.databricks.job_specs.job_settings import enforce_job_settings
from constructs_lib.databricks.job_specs.specs import WorkspaceRefs
from constructs_lib.databricks.job_specs.wheel_artifact import read_project_metadata

ROOT = Path(__file__).resolve().parent.parent


def render_environment(env: str, config_dir: Path, job: str | None = None) -> str:
    """YAML documents: the job cluster, the interactive clusters (if enabled), each job."""
    configs = {c.name: c for c in load_environments(config_dir, root=ROOT)}
    if env not in configs:
        raise ConfigError(
            [
                Problem(
                    str(config_dir),
                    "",
                    f"no environment {env!r}",
                    f"use one of {', '.join(sorted(configs))}",
                )
            ]
        )
    config = configs[env]
    distribution, version = read_project_metadata(ROOT / "ml_src")
    refs: WorkspaceRefs = specs.placeholder_refs(config, distribution.replace("-", "_"), version)
    docs: list[tuple[str, dict]] = [
        (specs.JOB_CLUSTER_TEMPLATE, specs.job_cluster_spec(config, refs))
    ]
    if config.databricks.interactive_cluster.enabled:
        docs += [
            (specs.INTERACTIVE_CLUSTER_TEMPLATE, specs.interactive_cluster_spec(config, refs, u))
            for u in config.databricks.interactive_cluster.users
        ]
    for key in config.databricks.jobs:
        if job and key != job:
            continue
        spec = enforce_job_settings(specs.job_settings(config, key, refs))
        docs.append((specs.job_template(config, key), spec))
    return "".join(
        f"---\n# {env}: templates/{source}\n" + yaml.safe_dump(body, sort_keys=False, width=100)
        for source, body in docs
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.render", description=__doc__.splitlines()[0]
    )
    parser.add_argument("environment", help="environment name (a config/<name>.yaml)")
    parser.add_argument("--job", help="only this job key")
    parser.add_argument("--config-dir", type=Path, default=ROOT / "config")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render_environment(args.environment, args.config_dir, args.job))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
