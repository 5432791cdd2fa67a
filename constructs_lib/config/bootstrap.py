"""Configuration of the one-off `bootstrap` stack (`config/shared/bootstrap.yaml`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from constructs_lib.config.errors import ConfigError, Problem
from constructs_lib.config.loader import (
    input_problems,
    problems_from_validation,
    read_yaml,
    unique_name_problems,
)
from constructs_lib.config.models import (
    EnvironmentConfig,
    NamingSettings,
    StrictModel,
    check_tags,
)

BOOTSTRAP_FILE = Path("config/shared/bootstrap.yaml")


class BootstrapConfig(StrictModel):
    """What an admin sets once, before the first CI deployment."""

    github_repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """`owner/name` of the GitHub repository whose workflows may log in (OIDC subjects)."""
    location: str = Field(pattern=r"^[a-z]+[a-z0-9]*$")
    """Region of the bootstrap resource group (identities and state storage)."""
    naming: NamingSettings = NamingSettings()
    tags: dict[str, str] = Field(default_factory=dict)
    environments: tuple[str, ...] = ("sandbox", "dev", "uat", "prod")
    """Environments that get an identity, a state container and a resource group; each must
    have a `config/<name>.yaml`."""
    plan_environment_suffix: str = "-plan"
    """Plans and drift checks run in GitHub environments `<env><suffix>` (no approval gate, any
    branch); only the environment's read-only plan identity trusts their OIDC subject."""
    smoke_environment_suffix: str = Field(default="-smoke", pattern=r"^-[a-z]{1,20}$")
    """The smoke run of an environment with `smoke.enabled` runs in the GitHub environment
    `<env><suffix>` (deployable from `main` only); only that environment's smoke identity, which
    holds no Azure role, trusts its OIDC subject."""
    state_account_replication_type: str = Field(
        default="ZRS", pattern=r"^(LRS|ZRS|GRS|RAGRS|GZRS|RAGZRS)$"
    )
    databricks_account_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    """Databricks account (account console, top right) of every environment's workspace. With
    it, the bootstrap also creates each environment's network connectivity configuration
    (serverless egress) and binds it to the environment's workspace once that exists: the admin
    who runs the bootstrap must then be an account admin too. Default: none (no NCC)."""
    bind_ncc_to_workspaces: bool = True
    """With `databricks_account_id`: list the account's workspaces (account API) and bind each
    environment's NCC to its workspace once the list has it. The list is read on every plan of
    the bootstrap, first run included, and any error of it fails the whole plan (state, identities
    and NCCs too). `false` skips the list and the bindings (the NCCs stay; removing a binding
    that exists only drops it from the state, the workspace keeps its NCC): for an account
    whose API refuses the list; then bind each NCC in the account console (README, "From zero
    to deployed", step 5)."""

    @field_validator("environments")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(
                f"listed more than once: {', '.join(twice)}; list each environment once"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        return check_tags(value)


def load_bootstrap(path: Path, *, root: Path | None = None) -> BootstrapConfig:
    """Load and validate the bootstrap config; `ConfigError` lists every problem."""
    source = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    data = (
        read_yaml(path, source, missing_fix="create it from the README's bootstrap section") or {}
    )
    if not isinstance(data, dict):
        raise ConfigError([Problem(source, "", "expected a mapping of settings", "see the README")])
    problems = input_problems(data, source)
    if problems:
        raise ConfigError(problems)
    try:
        return BootstrapConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(exc, source, data, model=BootstrapConfig)
        ) from None


def load_bootstrap_for(
    environments: Sequence[EnvironmentConfig], path: Path, *, root: Path | None = None
) -> BootstrapConfig | None:
    """The bootstrap config if `path` exists (None otherwise), checked against the loaded
    environments: each listed environment needs its config, and must use the resource group
    the bootstrap stack creates."""
    if not path.exists() and not path.is_symlink():
        return None
    config = load_bootstrap(path, root=root)
    source = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    known = {e.name: e for e in environments}
    problems = []
    for name in config.environments:
        env = known.get(name)
        if env is None:
            problems.append(
                Problem(
                    source,
                    "environments",
                    f"environment {name!r} has no config file",
                    f"add config/{name}.yaml or remove {name!r} from the list",
                )
            )
        elif (
            config.databricks_account_id
            and env.databricks.account_id
            and env.databricks.account_id != config.databricks_account_id
        ):
            problems.append(
                Problem(
                    f"config/{name}.yaml",
                    "databricks.account_id",
                    f"is {env.databricks.account_id}, but config/shared/bootstrap.yaml names "
                    f"account {config.databricks_account_id} (the bootstrap binds this "
                    "environment's workspace to a network connectivity configuration there)",
                    "use the same Databricks account ID in both files",
                )
            )
        elif not env.azure.use_existing_resource_group:
            problems.append(
                Problem(
                    f"config/{name}.yaml",
                    "azure.use_existing_resource_group",
                    "is false, but the bootstrap stack creates this environment's resource group",
                    "set it to true, or remove the environment from config/shared/bootstrap.yaml",
                )
            )
    problems += _bootstrap_name_problems(config, environments, source)
    if problems:
        raise ConfigError(problems)
    return config


def _bootstrap_name_problems(
    config: BootstrapConfig, environments: Sequence[EnvironmentConfig], source: str
) -> list[Problem]:
    """The bootstrap's state account is a global name too: no environment may deploy it."""
    from constructs_lib.naming import BootstrapNames, InvalidNameError

    try:
        names = BootstrapNames.for_prefix(
            prefix=config.naming.prefix, location=config.location, suffix=config.naming.suffix
        )
    except InvalidNameError as exc:
        return [Problem(source, "naming.prefix", str(exc), "shorten naming.prefix")]
    taken = {
        ("storage account", names.state_storage_account.lower()): (
            f"the bootstrap stack's state account ({source}, naming)"
        ),
        ("resource group", names.resource_group.lower()): (
            f"the bootstrap stack's resource group ({source}, naming)"
        ),
    }
    return unique_name_problems(
        list(environments), {e.name: f"config/{e.name}.yaml" for e in environments}, taken
    )
