"""One plan across an environment's two stacks (tools.plan_summary.crossstack and the
workflows' `against_platform_plan`): the workspace stack planned against the platform PLAN's
outputs, not the platform's state.

The unit tests use configurations shaped like cdktf's (a `terraform_remote_state` data source
`cross-stack-reference-input-<env>` and outputs `cross-stack-output-...`). The end-to-end tests
run the workflows' own plan step with the real Terraform CLI on two small stacks made of
Terraform's built-in `terraform_data` resource (no provider to download), applied to local
state first, so every plan, unknown value and replacement is Terraform's own.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.cicd.conftest import CONFIG
from tools.plan_summary import crossstack, report
from tools.plan_summary.model import parse_plan

DS = "cross-stack-reference-input-dev"


def ref(output: str) -> str:
    return f"${{data.terraform_remote_state.{DS}.outputs.{output}}}"


def workspace_config() -> dict[str, Any]:
    """A workspace stack as cdktf writes it: the provider and three resources read platform
    outputs; the schema reads the catalog; the job reads nothing from the platform."""
    return {
        "data": {"terraform_remote_state": {DS: {"backend": "azurerm", "config": {}}}},
        "provider": {
            "databricks": [{"host": ref("cross-stack-output-ws_url"), "alias": None}],
        },
        "resource": {
            "databricks_catalog": {
                "Catalog": {
                    "storage_root": "abfss://uc@" + ref("cross-stack-output-lake_name") + "/"
                }
            },
            "databricks_schema": {"Schema": {"catalog_name": "${databricks_catalog.Catalog.name}"}},
            "databricks_storage_credential": {
                "Cred": {"access_connector_id": ref("cross-stack-output-connector_id")}
            },
            "databricks_job": {"Job": {"name": "train"}},
        },
    }


def platform_plan(**actions: tuple[list[str], bool]) -> dict[str, Any]:
    """A platform plan whose output_changes are {name: (actions, after_unknown)}."""
    changes = {}
    planned = {}
    for short, (acts, unknown) in actions.items():
        name = f"cross-stack-output-{short}"
        changes[name] = {
            "actions": acts,
            "before": None if acts == ["create"] else "old",
            "after": None if unknown else "new",
            "after_unknown": unknown,
            "before_sensitive": True,
            "after_sensitive": True,
        }
        planned[name] = {"sensitive": True} | ({} if unknown else {"value": "new"})
    return {
        "format_version": "1.2",
        "planned_values": {"outputs": planned, "root_module": {}},
        "output_changes": changes,
        "configuration": {
            "root_module": {
                "outputs": {
                    "cross-stack-output-lake_name": {
                        "expression": {
                            "references": [
                                "azurerm_storage_account.Lake.name",
                                "azurerm_storage_account.Lake",
                            ]
                        },
                        "sensitive": True,
                    }
                }
            }
        },
    }


def test_changed_outputs_reach_the_resources_that_read_them_and_what_reads_those() -> None:
    cross = crossstack.analyse(
        workspace_config(),
        platform_plan(
            lake_name=(["update"], False),
            connector_id=(["no-op"], False),
            ws_url=(["no-op"], False),
        ),
    )
    assert cross.outputs["cross-stack-output-lake_name"].status == crossstack.CHANGES
    assert cross.outputs["cross-stack-output-lake_name"].label == (
        "azurerm_storage_account.Lake.name"
    )
    assert cross.outputs["cross-stack-output-connector_id"].status == crossstack.UNCHANGED
    assert dict(cross.uses) == {
        "databricks_catalog.Catalog": frozenset({"cross-stack-output-lake_name"}),
        "databricks_schema.Schema": frozenset({"cross-stack-output-lake_name"}),
    }
    assert not cross.provider_outputs and not cross.needs_platform_apply


def test_unknown_and_new_outputs_are_told_apart() -> None:
    cross = crossstack.analyse(
        workspace_config(),
        platform_plan(
            lake_name=(["update"], False),
            connector_id=(["update"], True),
            ws_url=(["create"], False),
        ),
    )
    statuses = {n.removeprefix("cross-stack-output-"): o.status for n, o in cross.outputs.items()}
    assert statuses == {
        "connector_id": crossstack.UNKNOWN,
        "lake_name": crossstack.CHANGES,
        "ws_url": crossstack.NEW,
    }
    assert cross.needs_platform_apply
    assert cross.provider_outputs == {"cross-stack-output-ws_url"}
    # An output the platform plan does not have at all (its plan failed, or a typo).
    missing = crossstack.analyse(workspace_config(), {})
    assert {o.status for o in missing.outputs.values()} == {crossstack.MISSING}


def test_caused_changes_are_the_planned_changes_of_affected_resources() -> None:
    cross = crossstack.analyse(workspace_config(), platform_plan(lake_name=(["update"], False)))
    plan = parse_plan(
        {
            "format_version": "1.2",
            "resource_changes": [
                {
                    "address": "databricks_catalog.Catalog",
                    "type": "databricks_catalog",
                    "change": {"actions": ["delete", "create"], "before": {}, "after": {}},
                },
                {
                    "address": "databricks_job.Job",
                    "type": "databricks_job",
                    "change": {"actions": ["update"], "before": {}, "after": {}},
                },
            ],
        }
    )
    caused = cross.caused(plan)
    assert [(rc.address, [o.name for o in outs]) for rc, outs in caused] == [
        ("databricks_catalog.Catalog", ["cross-stack-output-lake_name"])
    ]


# --- end to end, with the real Terraform CLI -------------------------------------------------


def _ref(output: str) -> str:
    return ref(f"cross-stack-output-{output}")


def _write_stacks(
    root: Path, *, lake_name: str, new_output: bool = False, workspace_extra: dict | None = None
) -> Path:
    """A platform and a workspace stack shaped like cdktf's, of Terraform's built-in
    terraform_data only, with local state in `root`. The catalog's storage root is made from the
    lake's name (a new name replaces it, as a catalog's storage_root forces replacement); the
    grant reads the connector role assignment's ID (unknown when that is replaced)."""
    stacks = root / "cdktf.out" / "stacks"
    platform: dict[str, Any] = {
        "terraform": {"backend": {"local": {"path": str(root / "dev.tfstate")}}},
        "variable": {"lake_name": {"default": lake_name}},
        "resource": {
            "terraform_data": {
                "lake": {"input": "${var.lake_name}"},
                "connector_role": {"triggers_replace": ["${terraform_data.lake.input}"]},
            }
        },
        "output": {
            "cross-stack-output-lake_name": {
                "value": "${terraform_data.lake.input}",
                "sensitive": True,
            },
            "cross-stack-output-role_id": {
                "value": "${terraform_data.connector_role.id}",
                "sensitive": True,
            },
        },
    }
    if new_output:
        platform["resource"]["terraform_data"]["metastore"] = {"input": "uc"}
        platform["output"]["cross-stack-output-metastore_id"] = {
            "value": "${terraform_data.metastore.id}",
            "sensitive": True,
        }
    workspace: dict[str, Any] = {
        "terraform": {"backend": {"local": {"path": str(root / "dev-workspace.tfstate")}}},
        "variable": {"verify_metastore": {"type": "bool", "default": True}},
        "data": {
            "terraform_remote_state": {
                DS: {
                    "backend": "local",
                    "config": {"path": str(root / "dev.tfstate")},
                    "workspace": "${terraform.workspace}",
                }
            }
        },
        "resource": {
            "terraform_data": {
                "catalog": {
                    "triggers_replace": [f"abfss://uc@{_ref('lake_name')}.dfs.core.windows.net/"]
                },
                "schema": {"input": "${terraform_data.catalog.id}"},
                "grant": {"input": _ref("role_id")},
                "job": {"input": "train"},
                **(workspace_extra or {}),
            }
        },
    }
    for name, body in (("dev", platform), ("dev-workspace", workspace)):
        (stacks / name).mkdir(parents=True, exist_ok=True)
        (stacks / name / "cdk.tf.json").write_text(json.dumps(body, indent=1), encoding="utf-8")
    return stacks


def _tf(terraform_cli: str, env: dict[str, str], stack: Path, *args: str) -> str:
    result = subprocess.run(
        [terraform_cli, f"-chdir={stack}", *args, "-no-color", "-input=false"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _deployed(terraform_cli: str, tmp_path: Path, **kwargs: Any) -> tuple[Path, dict[str, str]]:
    """Both stacks applied once (setting up the test's state; the workflows never apply
    without a reviewed plan file)."""
    from tests.cicd.conftest import terraform_env

    env = terraform_env(tmp_path)
    stacks = _write_stacks(tmp_path, **kwargs)
    for name in ("dev", "dev-workspace"):
        _tf(terraform_cli, env, stacks / name, "init")
        _tf(terraform_cli, env, stacks / name, "apply", "-auto-approve")
    return stacks, env


def _pr_plan(workflows: dict, tmp_path: Path, env: dict[str, str]):
    """plan.yml's own plan step, with the real Terraform, in the pull request's cdktf.out."""
    from tests.cicd.harness import jobs, run_step, step_named

    step = step_named(jobs(workflows["plan.yml"])["plan"], "plan")
    run = run_step(step["run"], {**env, "ENVIRONMENT": "dev"}, tmp_path, cwd=tmp_path)
    assert run.rc == 0, run.stdout + run.stderr
    return tmp_path / "runner_temp" / "plan"


def _summary(out: Path, tmp_path: Path) -> tuple[int, str, dict]:
    target, status = tmp_path / "ws.md", tmp_path / "ws.json"
    rc = report.run(
        [str(out / "dev-workspace"), "--stack", "dev-workspace", "--config", str(CONFIG)]
        + ["--platform-plan", str(out / "dev" / "plan.json")]
        + ["--output", str(target), "--status-json", str(status)]
    )
    return rc, target.read_text(encoding="utf-8"), json.loads(status.read_text(encoding="utf-8"))


def test_a_platform_plan_that_renames_storage_shows_the_catalog_replacement(
    workflows: dict, terraform_cli: str, tmp_path: Path
) -> None:
    """The pull request renames the data lake. Planned against the platform's state, the
    workspace shows nothing (the control); planned by the workflow against the platform plan,
    it shows the catalog's replacement, the schema that follows it and the grant whose role
    assignment is replaced, each attributed to the platform output it reads."""
    stacks, env = _deployed(terraform_cli, tmp_path, lake_name="stold")
    _write_stacks(tmp_path, lake_name="stnew")
    control = _tf(
        terraform_cli, env, stacks / "dev-workspace", "plan", "-refresh=false", "-lock=false"
    )
    assert "No changes." in control
    out = _pr_plan(workflows, tmp_path, env)
    assert (out / "dev" / "result").read_text().strip() == "ok"
    assert (out / "dev-workspace" / "result").read_text().strip() == "ok"
    plan = json.loads((out / "dev-workspace" / "plan.json").read_text())
    actions = {rc["address"]: rc["change"]["actions"] for rc in plan["resource_changes"]}
    assert actions["terraform_data.catalog"] == ["delete", "create"]
    assert actions["terraform_data.grant"] == ["update"] and actions["terraform_data.job"] == [
        "no-op"
    ]
    rc, text, status = _summary(out, tmp_path)
    assert rc == 0 and status["result"] == "ok"
    assert "**Planned against the platform plan:** this stack reads 2 platform output(s)" in text
    assert "1 change (`terraform_data.lake.input`)" in text
    assert "1 are unknown until the platform apply (`terraform_data.connector_role.id`)" in text
    caused = text.split("#### Changes caused by platform outputs (3)")[1]
    assert "- **replace** `terraform_data.catalog` ← `terraform_data.lake.input`" in caused
    assert "- **update** `terraform_data.schema` ← `terraform_data.lake.input`" in caused
    assert "- **update** `terraform_data.grant` ← `terraform_data.connector_role.id`" in caused
    assert "terraform_data.job" not in caused
    assert (
        '"abfss://uc@stold.dfs.core.windows.net/" -> "abfss://uc@stnew.dfs.core.windows.net/"'
        in text
    )


def test_a_new_cross_stack_output_needs_the_platform_apply_first(
    workflows: dict, terraform_cli: str, tmp_path: Path
) -> None:
    """The pull request adds a platform output the workspace reads. Against the platform's
    state the workspace plan fails ("Unsupported attribute": the control, and the reason such a
    pull request could never merge); against the platform plan it is planned with the value
    unknown, and reported as needing the platform apply first, not as an error."""
    uses_new = {"metastore_binding": {"input": _ref("metastore_id")}}
    stacks, env = _deployed(terraform_cli, tmp_path, lake_name="st")
    _write_stacks(tmp_path, lake_name="st", new_output=True, workspace_extra=uses_new)
    control = subprocess.run(
        [terraform_cli, f"-chdir={stacks / 'dev-workspace'}", "plan", "-no-color", "-lock=false"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert control.returncode == 1 and "Unsupported attribute" in control.stderr
    out = _pr_plan(workflows, tmp_path, env)
    assert (out / "dev-workspace" / "result").read_text().strip() == "ok"
    rc, text, status = _summary(out, tmp_path)
    assert rc == 0 and status["result"] == "needs-platform-apply"
    assert "**Needs the platform apply first:**" in text
    assert "(`terraform_data.metastore.id`)" in text
    assert "- **create** `terraform_data.metastore_binding` ← `terraform_data.metastore.id`" in text


def test_a_workspace_plan_that_cannot_be_made_before_the_platform_apply_is_not_an_error(
    workflows: dict, terraform_cli: str, tmp_path: Path
) -> None:
    """A new output that decides how many objects exist (count) cannot be planned while it is
    unknown: Terraform fails; the report shows what depends on it and passes the gate."""
    counted = {
        "metastore_binding": {
            "count": "${length(" + _ref("metastore_id")[2:-1] + ") > 0 ? 1 : 0}",
            "input": "binding",
        }
    }
    stacks, env = _deployed(terraform_cli, tmp_path, lake_name="st")
    _write_stacks(tmp_path, lake_name="st", new_output=True, workspace_extra=counted)
    out = _pr_plan(workflows, tmp_path, env)
    assert (out / "dev-workspace" / "result").read_text().strip() == "failed"
    assert "Invalid count argument" in (out / "dev-workspace" / "plan.log").read_text()
    rc, text, status = _summary(out, tmp_path)
    assert rc == 0 and status["result"] == "needs-platform-apply"
    assert "**Needs the platform apply first:** this stack cannot be planned" in text
    assert "- `terraform_data.metastore_binding`" in text
    assert "Invalid count argument" in text  # Terraform's error, folded


def test_the_three_workflows_point_the_workspace_at_the_same_platform_plan(
    workflows: dict,
) -> None:
    """The PR plan, the deploy's prediction and the nightly drift check use one definition."""
    from tests.cicd.harness import jobs, step_named

    pattern = re.compile(r"( *)against_platform_plan\(\) \{\n.*?\n\1\}\n", re.S)
    bodies = [
        pattern.search(step_named(jobs(workflows[f])[j], "plan")["run"]).group(0)
        for f, j in (("plan.yml", "plan"), ("deploy.yml", "plan-platform"), ("drift.yml", "drift"))
    ]
    assert len(set(bodies)) == 1
