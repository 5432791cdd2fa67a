"""Environment configs: valid files load; every kind of mistake is reported clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from constructs_lib.config import ConfigError, load_environment, load_environments
from tests.conftest import ENVIRONMENTS, ROOT

CONFIG = ROOT / "config"


def test_four_environments_load_sorted() -> None:
    configs = load_environments(CONFIG)
    assert [c.name for c in configs] == sorted(ENVIRONMENTS)


def test_models_are_frozen() -> None:
    config = load_environment(CONFIG / "dev.yaml")
    with pytest.raises(Exception, match="frozen"):
        config.protected = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "protected", "purge"),
    [("sandbox", False, False), ("dev", False, False), ("uat", True, True), ("prod", True, True)],
)
def test_protection_differs_by_data_only(env: str, protected: bool, purge: bool) -> None:
    config = load_environment(CONFIG / f"{env}.yaml")
    assert config.protected is protected
    assert config.key_vault.purge_protection_enabled is purge


def test_secure_defaults_when_a_file_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "qa.yaml"
    path.write_text(
        "azure: {location: westeurope}\n"
        "network: {vnet_cidr: 10.9.0.0/20, host_subnet_cidr: 10.9.0.0/22,"
        " container_subnet_cidr: 10.9.4.0/22, private_endpoint_subnet_cidr: 10.9.8.0/26}\n"
        "monitoring: {alert_email_receivers: [{name: a, email_address: a@example.com}]}\n"
        # A budget has no default amount (issue 19: every environment has one).
        "budget: {amount: 100}\n"
        # Tenant-specific IDs have no default (the Key Vault scope and the job principal).
        "databricks: {azure_databricks_principal_object_id: 11111111-2222-3333-4444-555555555555,"
        " account_id: 66666666-7777-8888-9999-000000000000}\n"
        # So are the subnets of its network connectivity configuration (the quality monitor,
        # on by default, refreshes on serverless compute behind the data lake's firewall).
        f"storage: {{serverless_subnet_ids: [{SERVERLESS_SUBNET}]}}\n"
    )
    config = load_environment(path)
    assert config.protected is True
    assert config.workspace.public_network_access_enabled is False
    assert config.workspace.no_public_ip is True
    assert config.key_vault.purge_protection_enabled is True
    assert config.databricks.interactive_cluster.enabled is False
    assert config.databricks.schedules_paused is True
    assert config.state_backend.type == "local"
    # People read, and workspace admins are restricted, unless an environment says otherwise.
    assert config.databricks.restrict_workspace_admins is True
    for group in ("ml_engineers", "data_scientists"):
        access = getattr(config.databricks.ml.group_permissions, group)
        assert (access.experiment, access.model) == ("CAN_READ", "CAN_READ")


SERVERLESS_SUBNET = (
    "/subscriptions/8c4f2a10-1111-2222-3333-444455556666/resourceGroups/prod-rg/providers/"
    "Microsoft.Network/virtualNetworks/kaas-vnet/subnets/worker-subnet"
)


def test_a_quality_monitor_needs_the_serverless_subnets(tmp_path: Path) -> None:
    text = (CONFIG / "dev.yaml").read_text()
    start = text.index("  serverless_subnet_ids:\n")
    end = text.index("\n", text.index("    - /subscriptions/", start)) + 1
    path = _write(tmp_path, "dev.yaml", text[:start] + text[end:])
    (problem,) = _problems(path)
    assert problem.startswith("dev.yaml: databricks.ml.quality_monitor is on but ")
    assert "storage.serverless_subnet_ids is empty" in problem
    assert "bootstrap output serverless_network_dev" in problem
    # Without a monitor the subnets are not needed.
    without = text[:start] + text[end:]
    off = _write(
        tmp_path,
        "dev.yaml",
        without.replace("  ml:\n", "  ml:\n    quality_monitor: {enabled: false}\n", 1),
    )
    assert load_environment(off, root=tmp_path).storage.serverless_subnet_ids == ()


@pytest.mark.parametrize(
    "value",
    [
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
        "10.0.0.0/24",
        SERVERLESS_SUBNET + "/extra",
    ],
)
def test_serverless_subnets_must_be_subnet_ids(tmp_path: Path, value: str) -> None:
    text = (CONFIG / "dev.yaml").read_text()
    start = text.index("    - /subscriptions/")
    end = text.index("\n", start)
    path = _write(tmp_path, "dev.yaml", text[:start] + f"    - {value}" + text[end:])
    (problem,) = _problems(path)
    assert "storage.serverless_subnet_ids" in problem


def test_interactive_clusters_need_their_people(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "    users:\n      - data.scientist@example.com\n", "")
    (problem,) = _problems(path)
    assert "databricks.interactive_cluster" in problem
    assert "enabled is true but users is empty. Fix: list the people who get a cluster" in problem
    twice = _dev_with(
        tmp_path,
        "      - data.scientist@example.com\n",
        "      - data.scientist@example.com\n      - Data.Scientist@example.com\n",
    )
    (problem,) = _problems(twice)
    assert "more than once" in problem


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _dev_with(tmp_path: Path, old: str, new: str, name: str = "dev.yaml") -> Path:
    text = (CONFIG / "dev.yaml").read_text()
    assert old in text, old
    return _write(tmp_path, name, text.replace(old, new, 1))


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_environment(path, root=path.parent)
    return [str(p) for p in info.value.problems]


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "key_vault:\n", "key_vault:\n  purge_protection: true\n")
    (problem,) = _problems(path)
    assert problem.startswith(
        "dev.yaml: key_vault.purge_protection: unknown key 'purge_protection'"
    )
    assert "purge_protection_enabled" in problem  # the allowed keys are listed


def test_wrong_type_shows_value(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "retention_in_days: 30", "retention_in_days: thirty")
    (problem,) = _problems(path)
    assert "log_analytics.retention_in_days" in problem
    assert "'thirty'" in problem


def test_out_of_range_value(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "soft_delete_retention_days: 7", "soft_delete_retention_days: 3")
    (problem,) = _problems(path)
    assert "key_vault.soft_delete_retention_days" in problem and "got 3" in problem


def test_overlapping_cidrs(tmp_path: Path) -> None:
    path = _dev_with(
        tmp_path, "container_subnet_cidr: 10.20.4.0/22", "container_subnet_cidr: 10.20.2.0/23"
    )
    (problem,) = _problems(path)
    assert "network" in problem and "overlaps" in problem
    assert "10.20.0.0/22" in problem and "10.20.2.0/23" in problem


def test_subnet_outside_vnet(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "host_subnet_cidr: 10.20.0.0/22", "host_subnet_cidr: 10.99.0.0/22")
    (problem,) = _problems(path)
    assert "is not inside vnet_cidr 10.20.0.0/20" in problem


def test_subnet_too_small_for_databricks(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "host_subnet_cidr: 10.20.0.0/22", "host_subnet_cidr: 10.20.0.0/27")
    assert any("smaller than /26" in p for p in _problems(path))


def test_missing_required_field(tmp_path: Path) -> None:
    text = (CONFIG / "dev.yaml").read_text()
    start = text.index("azure:\n")
    text = text[:start] + text[text.index("tags:\n") :]
    (problem,) = _problems(_write(tmp_path, "dev.yaml", text))
    assert problem.startswith("dev.yaml: azure: required field is missing. Fix: add `azure`")


def test_invalid_prefix_breaks_naming_rule(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "protected: false\n", "protected: false\nnaming: {prefix: ML_Ops}\n")
    (problem,) = _problems(path)
    assert "naming.prefix" in problem and "'ML_Ops'" in problem


def test_too_long_storage_name_is_caught_before_azure(tmp_path: Path) -> None:
    text = (
        (CONFIG / "dev.yaml")
        .read_text()
        .replace("protected: false\n", "protected: false\nnaming: {prefix: abcdefgh}\n")
    )
    problems = _problems(_write(tmp_path, "sandboxeu.yaml", text))
    assert any("storage_account name" in p and "3-24 lowercase" in p for p in problems)


def test_invalid_environment_name_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "Dev-EU.yaml"
    shutil.copy(CONFIG / "dev.yaml", path)
    (problem,) = _problems(path)
    assert "environment name 'Dev-EU' is invalid" in problem


def test_name_key_is_rejected(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "protected: false\n", "protected: false\nname: dev\n")
    (problem,) = _problems(path)
    assert "comes from the file name" in problem


def test_duplicate_key(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "protected: false\n", "protected: false\nprotected: true\n")
    (problem,) = _problems(path)
    assert "duplicate key 'protected'" in problem and "line" in problem


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "dev.yaml", "azure:\n  location: [westeurope\n")
    (problem,) = _problems(path)
    assert "invalid YAML" in problem and "line" in problem


def test_missing_file(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path / "qa.yaml")
    assert "qa.yaml: file not found" in problem


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "qa.yaml").mkdir()  # a directory where a file is expected: cannot be read
    (problem,) = _problems(tmp_path / "qa.yaml")
    assert "cannot read the file" in problem


def test_empty_config_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no environment files \(\*\.yaml\) found"):
        load_environments(tmp_path)


def test_yml_extension_is_pointed_out(tmp_path: Path) -> None:
    shutil.copy(CONFIG / "dev.yaml", tmp_path / "qa.yml")
    with pytest.raises(ConfigError, match=r"rename it to qa\.yaml"):
        load_environments(tmp_path)


def test_every_problem_of_every_file_at_once(tmp_path: Path) -> None:
    _dev_with(tmp_path, "retention_in_days: 30", "retention_in_days: thirty")
    _dev_with(tmp_path, "key_vault:\n", "key_vault:\n  bogus: 1\n", name="qa.yaml")
    with pytest.raises(ConfigError) as info:
        load_environments(tmp_path)
    assert len(info.value.problems) == 2
    assert info.value.render().startswith("2 problems found:")


def test_job_cluster_range(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, "    max_workers: 2\n", "    max_workers: 0\n")
    assert any("databricks.job_cluster.max_workers" in p for p in _problems(path))
    path = _dev_with(
        tmp_path,
        "    min_workers: 1\n    max_workers: 2\n",
        "    min_workers: 3\n    max_workers: 2\n",
    )
    assert any("max_workers must be >= min_workers (got 2 < 3)" in p for p in _problems(path))


def test_private_workspace_needs_endpoint_subnet(tmp_path: Path) -> None:
    text = (CONFIG / "dev.yaml").read_text()
    text = text.replace("  private_endpoint_subnet_cidr: 10.20.8.0/26\n", "")
    text = text.replace(
        "public_network_access_enabled: true", "public_network_access_enabled: false"
    )
    (problem,) = _problems(_write(tmp_path, "dev.yaml", text))
    assert "private_endpoint_subnet_cidr is not set" in problem


def test_remote_state_override_gives_each_environment_its_container() -> None:
    from constructs_lib.config import with_remote_state

    configs = with_remote_state(
        load_environments(CONFIG), storage_account_name="mlopstfstate1234", resource_group_name="rg"
    )
    for config in configs:
        backend = config.state_backend
        assert backend.type == "azurerm"
        assert (backend.storage_account_name, backend.container_name) == (
            "mlopstfstate1234",
            config.name,
        )
        assert config.state_key == f"{config.name}.tfstate"


def test_bootstrap_requires_existing_resource_group_switch(tmp_path: Path) -> None:
    from constructs_lib.config.bootstrap import load_bootstrap_for

    configs = [
        c.model_copy(
            update={"azure": c.azure.model_copy(update={"use_existing_resource_group": False})}
        )
        if c.name == "uat"
        else c
        for c in load_environments(CONFIG)
    ]
    with pytest.raises(
        ConfigError, match=r"config/uat.yaml: azure.use_existing_resource_group: is false"
    ):
        load_bootstrap_for(configs, CONFIG / "shared" / "bootstrap.yaml")


def test_bootstrap_lists_only_known_environments(tmp_path: Path) -> None:
    from constructs_lib.config.bootstrap import load_bootstrap_for

    path = _write(
        tmp_path,
        "bootstrap.yaml",
        "github_repository: o/r\nlocation: westeurope\nenvironments: [dev, qa]\n",
    )
    with pytest.raises(ConfigError, match="environment 'qa' has no config file"):
        load_bootstrap_for(load_environments(CONFIG), path)


def test_bootstrap_rejects_unknown_keys(tmp_path: Path) -> None:
    from constructs_lib.config.bootstrap import load_bootstrap

    path = _write(
        tmp_path, "bootstrap.yaml", "github_repository: o/r\nlocation: westeurope\nrepo: x\n"
    )
    with pytest.raises(ConfigError, match="repo: unknown key 'repo'"):
        load_bootstrap(path)


def test_each_environment_has_a_stack_and_a_state_blob_per_suffix(tmp_path: Path) -> None:
    config = load_environment(CONFIG / "prod.yaml")
    assert config.stack_names == ("prod", "prod-workspace")
    assert config.state_keys == ("prod.tfstate", "prod-workspace.tfstate")
    custom = _dev_with(
        tmp_path,
        "protected: false\n",
        "protected: false\nstate_backend: {type: azurerm, resource_group_name: rg, "
        "storage_account_name: st01, key: envs/dev.tfstate}\n",
    )
    assert load_environment(custom).state_keys == ("envs/dev.tfstate", "envs/dev-workspace.tfstate")


def test_a_stack_name_taken_by_the_app_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The check is generic: any stack name of an environment that the app already uses."""
    from constructs_lib.config import loader

    monkeypatch.setattr(loader, "RESERVED_STACK_NAMES", frozenset({"bootstrap", "qa-workspace"}))
    shutil.copy(CONFIG / "dev.yaml", tmp_path / "qa.yaml")
    with pytest.raises(ConfigError) as info:
        load_environments(tmp_path)
    (problem,) = [str(p) for p in info.value.problems]
    assert problem == (
        f"{tmp_path / 'qa.yaml'}: environment 'qa' would create stack 'qa-workspace', which the "
        "app itself already uses. Fix: rename the file to another environment name"
    )


def test_bootstrap_is_a_reserved_environment_name(tmp_path: Path) -> None:
    path = tmp_path / "bootstrap.yaml"
    shutil.copy(CONFIG / "dev.yaml", path)
    (problem,) = _problems(path)
    assert problem.startswith("bootstrap.yaml: environment name 'bootstrap' is reserved")


def test_remote_state_values_are_validated() -> None:
    from constructs_lib.config import with_remote_state

    with pytest.raises(ConfigError) as info:
        with_remote_state(
            load_environments(CONFIG), storage_account_name="", resource_group_name="rg."
        )
    assert [str(p) for p in info.value.problems] == [
        "environment variable TF_STATE_STORAGE_ACCOUNT: is set but empty. Fix: set it to the "
        "bootstrap stack's output for this environment (README, Deploying), or unset "
        "TF_STATE_STORAGE_ACCOUNT to keep local state",
        "environment variable TF_STATE_RESOURCE_GROUP: got 'rg.': not a resource group name "
        "(1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a "
        "period). Fix: set it to the bootstrap stack's output for this environment (the state "
        "account's resource group), or unset TF_STATE_RESOURCE_GROUP and "
        "TF_STATE_STORAGE_ACCOUNT to keep local state",
    ]


# --- the smoke identity (docs/cicd.md, The dev smoke run) ----------------------------------

SMOKE_ID = "  application_id: 00000000-0000-0000-0000-000000000000\n"


def test_the_smoke_is_on_in_dev_only_and_runs_the_jobs_dev_defines() -> None:
    from constructs_lib.config.models import DEFAULT_SMOKE_JOBS

    configs = {c.name: c for c in load_environments(CONFIG)}
    assert {n for n, c in configs.items() if c.smoke.enabled} == {"dev"}
    assert configs["dev"].smoke_jobs == ("replay", "ml_pipeline", "batch_inference", "monitoring")
    assert all(configs[n].smoke_jobs == () for n in ("sandbox", "uat", "prod"))
    # The tool's defaults are the config's: one list of what the smoke runs.
    from tools.smoke.chain import SmokePlan

    plan = SmokePlan(job_ids={}, run_tag="x")
    assert (
        plan.data_job,
        plan.pipeline_job,
        plan.scoring_job,
        plan.monitoring_job,
    ) == DEFAULT_SMOKE_JOBS


def test_an_enabled_smoke_needs_its_identity(tmp_path: Path) -> None:
    (problem,) = _problems(_dev_with(tmp_path, SMOKE_ID, ""))
    assert problem == (
        "dev.yaml: smoke.application_id is required when smoke.enabled is true. Fix: set it "
        "to AZURE_CLIENT_ID of the bootstrap output github_environment_dev-smoke"
    )


def test_the_smoke_identity_is_no_other_identity(tmp_path: Path) -> None:
    other = "11111111-2222-3333-4444-555555555555"
    path = _dev_with(
        tmp_path,
        "databricks:\n",
        f"databricks:\n  job_run_as_service_principal: {other}\n",
    )
    text = path.read_text().replace(SMOKE_ID, f"  application_id: {other}\n")
    (problem,) = _problems(_write(tmp_path, "dev.yaml", text))
    assert f"smoke.application_id {other} is also the job principal or a deployer" in problem


def test_the_smoke_may_only_name_jobs_of_its_environment(tmp_path: Path) -> None:
    path = _dev_with(tmp_path, SMOKE_ID, SMOKE_ID + "  jobs: [ml_pipeline, backfill]\n")
    (problem,) = _problems(path)
    assert "smoke.jobs names backfill, not in databricks.jobs" in problem
    path = _dev_with(tmp_path, SMOKE_ID, SMOKE_ID + "  jobs: [monitoring, ml_pipeline]\n")
    assert load_environment(path).smoke_jobs == ("ml_pipeline", "monitoring")


def test_the_example_smoke_identity_warns_and_a_deployment_refuses_it() -> None:
    from constructs_lib.config.examples import example_values

    dev = load_environment(CONFIG / "dev.yaml")
    found = [p for p in example_values(dev, "config/dev.yaml") if p.field == "smoke.application_id"]
    assert len(found) == 1 and "github_environment_dev-smoke" in found[0].fix
    real = dev.model_copy(
        update={
            "smoke": dev.smoke.model_copy(
                update={"application_id": "11111111-2222-3333-4444-555555555555"}
            )
        }
    )
    assert not [p for p in example_values(real, "x") if p.field == "smoke.application_id"]


# --- the trips source (issue 20) ---------------------------------------------------------------
def _dev_ml(tmp_path: Path, ml_yaml: str) -> Path:
    """dev.yaml with `ml_yaml` under `databricks:`; an `  ml:` block is merged into dev's own."""
    if ml_yaml.startswith("  ml:\n"):
        return _dev_with(tmp_path, "  ml:\n", ml_yaml)
    return _dev_with(tmp_path, "  schedules_paused: true\n", f"  schedules_paused: true\n{ml_yaml}")


def test_the_shipped_demo_replays_the_sample() -> None:
    dev = load_environment(CONFIG / "dev.yaml", root=ROOT)
    assert dev.databricks.ml.trips_source.kind == "replay"
    assert list(dev.databricks.jobs) == ["replay", "ml_pipeline", "batch_inference", "monitoring"]


def test_a_real_source_gets_no_replay_job(tmp_path: Path) -> None:
    path = _dev_ml(tmp_path, "  ml:\n    trips_source: {kind: table, table: lake.taxi.trips}\n")
    config = load_environment(path, root=tmp_path)
    assert list(config.databricks.jobs) == ["ml_pipeline", "batch_inference", "monitoring"]


def test_a_fixed_sample_as_the_source_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = _dev_ml(
        tmp_path, "  ml:\n    trips_source: {kind: table, table: samples.nyctaxi.trips}\n"
    )
    (problem,) = _problems(path)
    assert "databricks.ml.trips_source" in problem
    assert "fixed sample (2016-01-01 to 2016-02-29)" in problem and "kind: replay" in problem


def test_a_table_source_needs_its_table(tmp_path: Path) -> None:
    (problem,) = _problems(_dev_ml(tmp_path, "  ml:\n    trips_source: {kind: table}\n"))
    assert "trips_source.table is required with kind: table" in problem


def test_replay_without_a_replay_job_is_refused(tmp_path: Path) -> None:
    path = _dev_ml(
        tmp_path,
        "  jobs:\n    ml_pipeline: {template: ml_pipeline.yaml.j2, window_days: 28}\n",
    )
    (problem,) = _problems(path)
    assert "no job uses templates/jobs/replay.yaml.j2" in problem
