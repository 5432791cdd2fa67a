"""Synthesis as users run it: deterministic, offline, machine-independent, through the real
cdktf CLI, extensible by adding a file, and clean when the input is wrong."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, ROOT, run_main, synthesize_to

pytestmark = pytest.mark.synth


def tree_digest(path: Path) -> dict[str, str]:
    """Relative file path -> sha256 of every file under `path`."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_output_names_no_path_of_this_machine(synth_dir: Path) -> None:
    forbidden = [str(ROOT), str(Path.home()), str(synth_dir.parent), "/tmp/"]
    for path in synth_dir.rglob("*.json"):
        text = path.read_text()
        for needle in forbidden:
            assert needle not in text, f"{path.name} contains {needle}"


def test_two_synths_are_byte_identical(synth_dir: Path, tmp_path: Path) -> None:
    second = synthesize_to(tmp_path / "cdktf.out")
    first_files, second_files = tree_digest(synth_dir), tree_digest(second)
    assert sorted(first_files) == sorted(second_files)
    assert first_files == second_files


@pytest.mark.cli
def test_cdktf_cli_synth(synth_dir: Path, tmp_path: Path) -> None:
    """`make synth` runs the real CLI; it must produce what `python main.py` produces."""
    if not (ROOT / "node_modules" / ".bin" / "cdktf").exists():
        pytest.fail("node_modules missing: run `make node` (make test does it)")
    out = tmp_path / "cli.out"
    result = subprocess.run(
        ["npx", "--no-install", "cdktf", "synth", "--output", str(out)],
        cwd=ROOT,
        env={
            **os.environ,
            "CHECKPOINT_DISABLE": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for env in ENVIRONMENTS:
        produced = out / "stacks" / env / "cdk.tf.json"
        assert produced.read_bytes() == (synth_dir / "stacks" / env / "cdk.tf.json").read_bytes(), (
            env
        )


RUN_AS = "11111111-2222-3333-4444-555555555555"


def test_a_fifth_environment_is_a_file(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    text = (config_dir / "dev.yaml").read_text().replace("10.20.", "10.50.")
    # Not in the bootstrap list: it creates its own resource group, and keeps remote state.
    text = text.replace("use_existing_resource_group: true", "use_existing_resource_group: false")
    # A private workspace: UI and API only through its private endpoint.
    text = text.replace(
        "public_network_access_enabled: true", "public_network_access_enabled: false"
    )
    text += (
        "state_backend:\n  type: azurerm\n  resource_group_name: tfstate-rg\n"
        "  storage_account_name: perfstate01\n"
    )
    # ...and exercises the non-default switches: the legacy workspace registry (no Unity
    # Catalog), a Databricks-backed secret scope, an instance pool, a Git folder, run_as.
    text = text.replace(
        "databricks:\n",
        "databricks:\n"
        "  unity_catalog: {enabled: false}\n"
        "  secret_scope_backend: databricks\n"
        "  instance_pool: {enabled: true, min_idle_instances: 1}\n"
        "  git_folder: {url: 'https://github.com/your-org/databricks-mlops-cdktf', branch: main}\n"
        f"  job_run_as_service_principal: {RUN_AS}\n",
        1,
    )
    (config_dir / "perf.yaml").write_text(text)
    out = synthesize_to(tmp_path / "cdktf.out", env={"MLOPS_CONFIG_DIR": str(config_dir)})
    assert sorted(p.name for p in (out / "stacks").iterdir()) == sorted(
        [
            *ENVIRONMENTS,
            *(f"{e}-workspace" for e in ENVIRONMENTS),
            "bootstrap",
            "perf",
            "perf-workspace",
        ]
    )
    stack = json.loads((out / "stacks" / "perf" / "cdk.tf.json").read_text())
    ws_stack = json.loads((out / "stacks" / "perf-workspace" / "cdk.tf.json").read_text())
    (group,) = stack["resource"]["azurerm_resource_group"].values()
    assert group["name"] == "mlops-perf-databricks-rg"
    assert group["tags"]["environment"] == "perf"
    assert stack["terraform"]["backend"] == {
        "azurerm": {
            "container_name": "tfstate",
            "key": "perf.tfstate",
            "resource_group_name": "tfstate-rg",
            "storage_account_name": "perfstate01",
            "use_azuread_auth": True,
            "use_oidc": True,
        }
    }
    # The workspace stack: its own key in the same container, and the platform's state read
    # with exactly the platform's backend settings.
    platform_backend = stack["terraform"]["backend"]["azurerm"]
    assert ws_stack["terraform"]["backend"]["azurerm"] == {
        **platform_backend,
        "key": "perf-workspace.tfstate",
    }
    remote = ws_stack["data"]["terraform_remote_state"]["cross-stack-reference-input-perf"]
    assert remote["backend"] == "azurerm" and remote["config"] == platform_backend
    resources = stack["resource"]
    ((ws_id, workspace),) = resources["azurerm_databricks_workspace"].items()
    assert workspace["public_network_access_enabled"] is False
    assert workspace["network_security_group_rules_required"] == "NoAzureDatabricksRules"
    # Both front-end endpoints (UI/API and browser sign-in), in one privatelink zone.
    workspace_endpoints = {
        e["private_service_connection"]["subresource_names"][0]: e
        for e in resources["azurerm_private_endpoint"].values()
        if e["private_service_connection"]["private_connection_resource_id"]
        == f"${{azurerm_databricks_workspace.{ws_id}.id}}"
    }
    assert sorted(workspace_endpoints) == ["browser_authentication", "databricks_ui_api"]
    zones = {k: z["name"] for k, z in resources["azurerm_private_dns_zone"].items()}
    assert sorted(zones.values()) == [
        "privatelink.azuredatabricks.net",
        "privatelink.vaultcore.azure.net",
    ]
    dbx_zone = next(k for k, name in zones.items() if name == "privatelink.azuredatabricks.net")
    for endpoint in workspace_endpoints.values():
        assert endpoint["private_dns_zone_group"]["private_dns_zone_ids"] == [
            f"${{azurerm_private_dns_zone.{dbx_zone}.id}}"
        ]
    assert workspace_endpoints["browser_authentication"]["name"] == (
        workspace_endpoints["databricks_ui_api"]["name"] + "-browser-authentication"
    )
    resources = ws_stack["resource"]
    assert "databricks_catalog" not in resources and "databricks_registered_model" not in resources
    ((model_id, model),) = resources["databricks_mlflow_model"].items()
    assert model["name"] == "taxi_example_fare_packaged"
    (scope,) = resources["databricks_secret_scope"].values()
    assert scope["backend_type"] == "DATABRICKS" and "keyvault_metadata" not in scope
    ((pool_id, _),) = resources["databricks_instance_pool"].items()
    (repo,) = resources["databricks_repo"].values()
    assert repo["branch"] == "main"
    for job in resources["databricks_job"].values():
        assert job["run_as"] == {"service_principal_name": RUN_AS}
        params = {p["name"]: p["default"] for p in job["parameter"]}
        assert params["catalog"] == "hive_metastore" and params["use-unity-catalog"] == "false"
        assert params["model-name"] == f"${{databricks_mlflow_model.{model_id}.name}}"
        for cluster in job["job_cluster"]:
            assert cluster["new_cluster"]["instance_pool_id"] == (
                f"${{databricks_instance_pool.{pool_id}.instance_pool_id}}"
            )
            assert "node_type_id" not in cluster["new_cluster"]
    acls = {(a["principal"], a["permission"]) for a in resources["databricks_secret_acl"].values()}
    assert (RUN_AS, "READ") in acls


@pytest.fixture
def earlier_output(synth_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "cdktf.out"
    shutil.copytree(synth_dir, out)
    return out


def _copy_project(tmp_path: Path) -> Path:
    """A copy of the project a user could break, with the built wheel."""
    project = tmp_path / "project"
    for name in ("main.py", "cdktf.json"):
        shutil.copy(ROOT / name, project / name) if project.exists() else (
            project.mkdir(),
            shutil.copy(ROOT / name, project / name),
        )
    for name in ("constructs_lib", "fast_synth", "synth_runtime", "stacks", "templates", "config"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "ml_src").mkdir()
    shutil.copy(ROOT / "ml_src" / "pyproject.toml", project / "ml_src" / "pyproject.toml")
    shutil.copytree(ROOT / "ml_src" / "dist", project / "ml_src" / "dist")
    return project


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


POLICY_LIMIT = "protected: false\npolicy: {max_autotermination_minutes: 20}\n"

BROKEN_INPUTS = {
    "wrong type": (
        lambda p: _replace(
            p / "config" / "prod.yaml", "retention_in_days: 365", "retention_in_days: a year"
        ),
        "config/prod.yaml: log_analytics.retention_in_days: got 'a year'",
    ),
    "missing required field": (
        lambda p: _replace(p / "config" / "sandbox.yaml", "  vnet_cidr: 10.10.0.0/20\n", ""),
        "config/sandbox.yaml: network.vnet_cidr: required field is missing",
    ),
    "CIDR not containing the subnets": (
        lambda p: _replace(
            p / "config" / "dev.yaml", "vnet_cidr: 10.20.0.0/20", "vnet_cidr: 10.20.0.0/21"
        ),
        "config/dev.yaml: network: private_endpoint_subnet_cidr 10.20.8.0/26 is not inside vnet_cidr 10.20.0.0/21",
    ),
    "invalid Azure name": (
        lambda p: _replace(
            p / "config" / "uat.yaml",
            "protected: true\n",
            "protected: true\nnaming: {prefix: ml-ops}\n",
        ),
        "config/uat.yaml: naming.prefix: got 'ml-ops'",
    ),
    "unreadable file": (
        lambda p: (p / "config" / "qa.yaml").mkdir(),
        "config/qa.yaml: cannot read the file",
    ),
    "policy violation (interactive cluster idles too long)": (
        lambda p: _replace(p / "config" / "dev.yaml", "protected: false\n", POLICY_LIMIT),
        "dev-workspace/Dbx/Compute/InteractiveCluster-data-scientist-example-com (MLOPS-CL-1): "
        "Interactive clusters autoterminate",
    ),
    "protected public workspace without an IP access list": (
        lambda p: _replace(
            p / "config" / "prod.yaml",
            "  allowed_ip_ranges:\n    - 203.0.113.0/24    # example (RFC 5737 documentation range): your corporate egress\n    - 198.51.100.16/28  # example (RFC 5737 documentation range): your deploy runners' egress\n",
            "",
        ),
        "prod/Databricks/Workspace (MLOPS-DBW-2): A protected environment's public workspace has an IP access list that admits its own compute plane: ",
    ),
    "IP access list entry that is not a CIDR": (
        lambda p: _replace(p / "config" / "uat.yaml", "- 203.0.113.0/24", "- 203.0.113.0/33"),
        "config/uat.yaml: workspace.allowed_ip_ranges[0]: got '203.0.113.0/33'",
    ),
    "IP access list open to the internet": (
        lambda p: _replace(p / "config" / "uat.yaml", "- 203.0.113.0/24", "- 0.0.0.0/0"),
        "config/uat.yaml: workspace.allowed_ip_ranges: 0.0.0.0/0 allows every address",
    ),
    "alert frequency Azure Monitor does not accept": (
        lambda p: _replace(
            p / "config" / "dev.yaml",
            "monitoring:\n",
            "monitoring:\n  job_failure_alert_window_minutes: 20\n",
        ),
        "config/dev.yaml: monitoring.job_failure_alert_window_minutes: 20 is not an evaluation frequency Azure Monitor accepts",
    ),
    "Key Vault-backed scope without the AzureDatabricks principal": (
        lambda p: _replace(
            p / "config" / "dev.yaml",
            "  azure_databricks_principal_object_id: 00000000-0000-0000-0000-000000000000\n",
            "",
        ),
        "config/dev.yaml: databricks.azure_databricks_principal_object_id is required with a Key Vault-backed secret scope",
    ),
    "run_as principal that is not an application ID": (
        lambda p: _replace(
            p / "config" / "uat.yaml",
            "databricks:\n",
            "databricks:\n  job_run_as_service_principal: ml-jobs\n",
        ),
        "config/uat.yaml: databricks.job_run_as_service_principal: got 'ml-jobs'",
    ),
    "owner group missing from the configured groups": (
        lambda p: _replace(
            p / "config" / "prod.yaml",
            "databricks:\n",
            "databricks:\n  unity_catalog: {owner_group: platform-owners}\n",
        ),
        "config/prod.yaml: databricks: unity_catalog.owner_group 'platform-owners' is not one of the configured groups",
    ),
    "suppression without a reason": (
        lambda p: _replace(
            p / "config" / "dev.yaml",
            "protected: false\n",
            "protected: false\npolicy:\n  suppressions: [{rule: MLOPS-CL-1, reason: ''}]\n",
        ),
        "config/dev.yaml: policy.suppressions[0].reason: got '': string should have at least 20",
    ),
    "suppression of an unknown rule": (
        lambda p: _replace(
            p / "config" / "dev.yaml",
            "protected: false\n",
            "protected: false\npolicy:\n  suppressions: [{rule: MLOPS-NOPE, reason: 'a reason that is long enough'}]\n",
        ),
        "config/dev.yaml: policy.suppressions[0].rule: unknown rule 'MLOPS-NOPE'",
    ),
    "literal secret in a template": (
        lambda p: _replace(
            p / "templates" / "jobs" / "batch_inference.yaml.j2",
            "tasks:\n",
            'tags: {"token": "dapi0123456789abcdef0123456789abcdef"}\ntasks:\n',
        ),
        # Refused when the template renders, before anything reaches the output.
        "templates/jobs/batch_inference.yaml.j2: environment dev, rendered line",
    ),
    "unknown config key": (
        lambda p: _replace(
            p / "config" / "dev.yaml", "key_vault:\n", "key_vault:\n  purge: true\n"
        ),
        "config/dev.yaml: key_vault.purge: unknown key 'purge'",
    ),
    "overlapping CIDRs": (
        lambda p: _replace(
            p / "config" / "uat.yaml",
            "container_subnet_cidr: 10.30.4.0/22",
            "container_subnet_cidr: 10.30.0.0/23",
        ),
        "config/uat.yaml: network:",
    ),
    "invalid environment name": (
        lambda p: shutil.copy(p / "config" / "dev.yaml", p / "config" / "QA.yaml"),
        "environment name 'QA' is invalid",
    ),
    "empty config directory": (
        lambda p: [f.unlink() for f in (p / "config").glob("*.yaml")],
        "no environment files (*.yaml) found",
    ),
    "missing wheel": (
        lambda p: shutil.rmtree(p / "ml_src" / "dist"),
        "the ML wheel has not been built. Fix: run `make wheel`",
    ),
    "template with an undefined variable": (
        lambda p: _replace(
            p / "templates" / "jobs" / "batch_inference.yaml.j2",
            "tables.inference",
            "tables.inferense",
        ),
        "templates/jobs/batch_inference.yaml.j2: environment dev: undefined variable",
    ),
    "template rendering invalid YAML": (
        lambda p: _replace(
            p / "templates" / "jobs" / "monitoring.yaml.j2", "tasks:\n", "tasks: [\n"
        ),
        "templates/jobs/monitoring.yaml.j2: environment dev",
    ),
    "template key the provider does not know": (
        lambda p: _replace(
            p / "templates" / "jobs" / "ml_pipeline.yaml.j2",
            "  - task_key: promote\n",
            "  - task_key: promote\n    retry_forever: true\n",
        ),
        "templates/jobs/ml_pipeline.yaml.j2: environment dev: key 'retry_forever'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_INPUTS))
def test_broken_input_exits_2_cleanly_and_keeps_earlier_output(
    case: str, tmp_path: Path, earlier_output: Path
) -> None:
    break_it, expected = BROKEN_INPUTS[case]
    project = _copy_project(tmp_path)
    break_it(project)
    before = tree_digest(earlier_output)
    result = run_main(outdir=earlier_output, cwd=project)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ")
    assert tree_digest(earlier_output) == before


def test_policy_suppression_with_reason_lets_synth_pass(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    _replace(
        project / "config" / "dev.yaml",
        "protected: false\n",
        POLICY_LIMIT.replace(
            "}\n",
            ", suppressions: [{rule: MLOPS-CL-1, path: dev-workspace/Dbx/Compute, "
            "reason: 'Data scientists asked for 30 idle minutes in dev; cost reviewed'}]}\n",
        ),
    )
    result = run_main("--check", cwd=project)
    assert result.returncode == 0, result.stderr


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    result = run_main("--check", outdir=out)
    assert result.returncode == 0, result.stderr
    assert "ok: 4 environment(s): dev, prod, sandbox, uat" in result.stdout
    assert not out.exists()


def test_example_values_warn_after_success_and_fail_a_deployment() -> None:
    result = run_main("--check")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert (
        "warning: config/prod.yaml: databricks.account_id: is the example all-zero account ID"
        in "\n".join(warnings)
    )
    assert any("workspace.allowed_ip_ranges: 203.0.113.0/24" in w for w in warnings)
    strict = run_main("--check", env={"MLOPS_REFUSE_EXAMPLE_VALUES": "1"})
    assert strict.returncode == 2
    assert strict.stderr.startswith("error: ")
    assert "config/dev.yaml: databricks.azure_databricks_principal_object_id: is the example" in (
        strict.stderr
    )


def test_example_values_of_issue_19_warn() -> None:
    """The serverless subnets, the interactive clusters' people and the bootstrap's account ID
    ship as examples: synthesis names each, a deployment refuses them."""
    result = run_main("--check")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    warnings = "\n".join(line for line in lines if line.startswith("warning: "))
    assert "config/prod.yaml: storage.serverless_subnet_ids: holds an example subnet" in warnings
    assert (
        "config/dev.yaml: databricks.interactive_cluster.users: data.scientist@example.com is "
        "an example user"
    ) in warnings
    assert "config/shared/bootstrap.yaml: databricks_account_id: is the example" in warnings


def test_people_editing_production_runs_are_refused(tmp_path: Path) -> None:
    """Environments are data, and rule MLOPS-ML-1 keeps a protected one read-only for people:
    prod with CAN_EDIT on the experiment or on the model (APPLY_TAG) stops synthesis."""
    project = _copy_project(tmp_path)
    _replace(
        project / "config" / "prod.yaml",
        "databricks:\n",
        "databricks:\n  ml:\n    group_permissions:\n"
        "      data_scientists: {experiment: CAN_EDIT, model: CAN_EDIT}\n",
    )
    refused = run_main("--check", cwd=project)
    assert refused.returncode == 2, refused.stderr
    assert "(MLOPS-ML-1)" in refused.stderr
    assert "data-scientists has CAN_EDIT (experiment)" in refused.stderr
    assert "data-scientists has APPLY_TAG on the registered model or its parent" in (refused.stderr)


def test_bootstrap_and_environment_must_name_the_same_databricks_account(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    _replace(
        project / "config" / "shared" / "bootstrap.yaml",
        "databricks_account_id: 00000000-0000-0000-0000-000000000000",
        "databricks_account_id: 12345678-1234-1234-1234-123456789012",
    )
    refused = run_main("--check", cwd=project)
    assert refused.returncode == 2, refused.stderr
    assert "config/dev.yaml: databricks.account_id: is 00000000-0000-0000-0000-000000000000" in (
        refused.stderr
    )


def test_a_job_running_as_the_deploying_identity_is_refused(tmp_path: Path) -> None:
    """CI synthesizes with the deploy identity's client ID set: a protected environment whose
    jobs would run as that identity fails rule MLOPS-JOB-3."""
    deployer = "12345678-aaaa-bbbb-cccc-1234567890ab"
    project = _copy_project(tmp_path)
    _replace(
        project / "config" / "prod.yaml",
        "databricks:\n",
        f"databricks:\n  job_run_as_service_principal: {deployer}\n",
    )
    refused = run_main("--check", cwd=project, env={"ARM_CLIENT_ID": deployer})
    assert refused.returncode == 2, refused.stderr
    assert "prod-workspace/Dbx/Job-ml_pipeline/Job (MLOPS-JOB-3)" in refused.stderr
    assert f"runs as the deploying identity ({deployer})" in refused.stderr
    other = run_main(
        "--check", cwd=project, env={"ARM_CLIENT_ID": "87654321-aaaa-bbbb-cccc-1234567890ab"}
    )
    assert other.returncode == 0, other.stderr
