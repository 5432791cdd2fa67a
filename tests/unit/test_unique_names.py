"""Names that must be unique beyond one environment are unique across all of them (issue 22 §7):
globally unique Azure names, resource groups, Unity Catalog catalogs, a named job principal,
and the bootstrap stack's own names. Checked when the configs are loaded; the problem names
both files and fields."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from constructs_lib.config import ConfigError, load_environments
from constructs_lib.config.bootstrap import load_bootstrap_for
from constructs_lib.config.loader import deployed_unique_names
from tests.conftest import ROOT

APP_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def _add(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _problems(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_environments(config_dir, root=config_dir.parent)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_configs_are_unique() -> None:
    configs = load_environments(ROOT / "config", root=ROOT)
    names = [(scope, name) for c in configs for scope, _f, name in deployed_unique_names(c)]
    assert len(names) == len(set(names)) >= 4 * 5


def test_a_storage_account_reached_through_different_prefixes(config_dir: Path) -> None:
    """`ab` + adls + `adlsxy` and `abadls` + adls + `xy` are the same account name."""
    shutil.copy(config_dir / "dev.yaml", config_dir / "adlsxy.yaml")
    shutil.copy(config_dir / "dev.yaml", config_dir / "xy.yaml")
    _add(config_dir / "adlsxy.yaml", "naming: {prefix: ab, suffix: abcd}\n")
    _add(config_dir / "xy.yaml", "naming: {prefix: abadls, suffix: abcd}\n")
    assert _problems(config_dir) == [
        "config/xy.yaml: naming.prefix/naming.suffix: the storage account (global) name "
        "'abadlsadlsxyabcd' is also environment 'adlsxy' (config/adlsxy.yaml, "
        "naming.prefix/naming.suffix)'s. Fix: names of this scope must differ between "
        "environments: change the prefix, set naming.suffix, or name another catalog, principal "
        "or group (default admin group: ml-platform-admins-<environment>)"
    ]


def test_two_environments_share_a_catalog(config_dir: Path) -> None:
    text = (config_dir / "uat.yaml").read_text()
    (config_dir / "uat.yaml").write_text(
        text.replace(
            "databricks:\n", "databricks:\n  unity_catalog: {catalog_name: mlops_dev}\n", 1
        )
    )
    (problem,) = _problems(config_dir)
    assert problem.startswith(
        "config/uat.yaml: databricks.unity_catalog.catalog_name: the Unity Catalog catalog "
        "(metastore) name 'mlops_dev' is also environment 'dev' (config/dev.yaml, naming.prefix)'s"
    )


def test_two_environments_share_a_job_principal(config_dir: Path) -> None:
    for env in ("dev", "prod"):
        path = config_dir / f"{env}.yaml"
        path.write_text(
            path.read_text().replace(
                "databricks:\n", f"databricks:\n  job_run_as_service_principal: {APP_ID}\n", 1
            )
        )
    (problem,) = _problems(config_dir)
    assert problem.startswith(
        "config/prod.yaml: databricks.job_run_as_service_principal: the job principal (account) "
        f"name '{APP_ID}' is also environment 'dev'"
    )


def test_an_environment_cannot_deploy_the_bootstrap_state_account(config_dir: Path) -> None:
    """`abadls` + tfstate + suffix (bootstrap) and `ab` + adls + `tfstate` + suffix."""
    shutil.copy(config_dir / "dev.yaml", config_dir / "tfstate.yaml")
    _add(config_dir / "tfstate.yaml", "naming: {prefix: ab, suffix: wxyz}\n")
    bootstrap = config_dir / "shared" / "bootstrap.yaml"
    _add(bootstrap, "naming: {prefix: abadls, suffix: wxyz}\n")
    configs = load_environments(config_dir, root=config_dir.parent)
    with pytest.raises(ConfigError) as caught:
        load_bootstrap_for(configs, bootstrap, root=config_dir.parent)
    (problem,) = [str(p) for p in caught.value.problems]
    assert problem.startswith(
        "config/tfstate.yaml: naming.prefix/naming.suffix: the storage account (global) name "
        "'abadlstfstatewxyz' is also the bootstrap stack's state account"
    )


def test_two_environments_share_an_admin_group(config_dir: Path) -> None:
    """Groups are account-wide and each environment's deployers join its admin group, which owns
    its catalog: a shared one would let the sandbox deployer (any branch) own prod's catalog."""
    _add(config_dir / "sandbox.yaml", "")
    text = (config_dir / "sandbox.yaml").read_text()
    (config_dir / "sandbox.yaml").write_text(
        text.replace(
            "databricks:\n", "databricks:\n  groups: {admins: ml-platform-admins-prod}\n", 1
        )
    )
    problems = _problems(config_dir)
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        "config/sandbox.yaml: databricks.groups.admins: the admin group (account) name "
        "'ml-platform-admins-prod' is also environment 'prod'"
    ) or problems[0].startswith(
        "config/prod.yaml: databricks.groups.admins: the admin group (account) name "
        "'ml-platform-admins-prod' is also environment 'sandbox'"
    )


def test_the_admin_group_defaults_to_one_per_environment() -> None:
    configs = load_environments(ROOT / "config", root=ROOT)
    assert {c.name: c.databricks.groups.admins for c in configs} == {
        c.name: f"ml-platform-admins-{c.name}" for c in configs
    }
