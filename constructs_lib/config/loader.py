"""Load `config/<env>.yaml` files into `EnvironmentConfig`, reporting every problem at once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from constructs_lib.config import safe_yaml
from constructs_lib.config.errors import ConfigError, Problem, shown
from constructs_lib.config.models import (
    RESERVED_STACK_NAMES,
    AzurermStateBackend,
    EnvironmentConfig,
)
from constructs_lib.naming import InvalidNameError, Names

TERRAFORM_SEQUENCE = re.compile(r"[$%]\{")
"""`${` starts a Terraform interpolation and `%{` a template directive, in any string of the
synthesized JSON (Terraform's JSON syntax evaluates every string as a template). Config values
and template output may not contain them (README, "Strings that reach Terraform")."""


def input_problems(data: Any, source: str, prefix: str = "") -> list[Problem]:
    """Problems with the raw strings of an input file (values and keys, known or not): a
    Terraform interpolation sequence, or something that looks like a secret. Checked before
    validation, so no later message can quote what is wrong with them."""
    from constructs_lib.policy.secret_scan import scan_data, walk_strings

    problems = [
        Problem(
            source,
            where,
            f"contains {TERRAFORM_SEQUENCE.search(value).group(0)!r}, which Terraform would "
            "evaluate as an expression or directive",
            "remove it: config values are literal text, and `${`/`%{` are refused in them "
            "(README, Security)",
        )
        for where, _key, value in walk_strings(data, prefix)
        if TERRAFORM_SEQUENCE.search(value)
    ]
    problems += [
        Problem(
            source,
            where,
            f"looks like a secret: {kind} ({redacted})",
            "remove it; secrets are referenced by Key Vault secret or secret scope name, never "
            "written into config",
        )
        for where, kind, redacted in scan_data(data, prefix)
    ]
    return problems


def read_yaml(path: Path, source: str, *, missing_fix: str) -> Any:
    """Read and parse one input file with the hardened loader (`safe_yaml`); `ConfigError`
    naming `source` for a missing, unreadable or malformed file."""
    try:
        text = safe_yaml.read_text(path)
    except FileNotFoundError:
        raise ConfigError([Problem(source, "", "file not found", missing_fix)]) from None
    except safe_yaml.InputFileError as exc:
        raise ConfigError(
            [Problem(source, "", f"cannot read the file ({exc.reason})", exc.fix)]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [
                Problem(
                    source,
                    "",
                    f"cannot read the file ({exc.strerror or exc})",
                    "check its permissions",
                )
            ]
        ) from None
    try:
        return safe_yaml.load(text)
    except safe_yaml.YamlInputError as exc:
        fix = (
            "remove one of them"
            if exc.message.startswith("duplicate key")
            else "fix the value"
            if "number" in exc.message or "integer" in exc.message
            else "fix the YAML"
        )
        raise ConfigError([Problem(source, exc.where, exc.message, fix)]) from None


def _display(path: Path, root: Path | None) -> str:
    """Path as the user knows it: relative to the repository root when possible."""
    if root is not None:
        try:
            absolute = path.resolve()
        except (RuntimeError, OSError):  # a symlink loop: the path as written
            absolute = Path(os.path.abspath(path))
        try:
            return str(absolute.relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The nested model class at `loc`, to list the keys that are allowed there."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        annotation = fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return None
    return current if isinstance(current, type) else None


def problems_from_validation(
    exc: ValidationError,
    source: str,
    data: dict[str, Any],
    model: type[BaseModel] = EnvironmentConfig,
) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p not in ("local", "azurerm"))
        field = _dotted(loc)
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            allowed = [a for a in allowed if a != "name"] if not loc[:-1] else allowed
            problems.append(
                Problem(
                    source,
                    field,
                    f"unknown key {loc[-1]!r}",
                    "remove it or fix its spelling"
                    + (f"; allowed keys here: {', '.join(allowed)}" if allowed else ""),
                )
            )
        elif kind == "missing":
            parent = _model_at(model, loc[:-1])
            info = parent.model_fields.get(str(loc[-1])) if parent else None
            hint = f" ({info.description.split('.')[0]})" if info and info.description else ""
            problems.append(
                Problem(source, field, "required field is missing", f"add `{loc[-1]}`{hint}")
            )
        elif kind == "value_error":
            text = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
            for part in text.split(" | "):
                # "message; fix": the last "; " (a quoted value may contain one too).
                message, _, fix = part.rpartition("; ") if "; " in part else (part, "", "")
                problems.append(Problem(source, field, message, fix))
        else:
            got = shown(value) if not isinstance(value, dict | list) else type(value).__name__
            problems.append(
                Problem(
                    source,
                    field,
                    f"got {got}: {err['msg'][0].lower()}{err['msg'][1:]}",
                    "change the value to match; see the field's documentation in "
                    "constructs_lib/config/models.py",
                )
            )
    return problems


def load_environment(path: Path, *, root: Path | None = None) -> EnvironmentConfig:
    """Load and validate one environment file; raise `ConfigError` with every problem."""
    source = _display(path, root)
    data = read_yaml(path, source, missing_fix=f"create {source} (copy config/dev.yaml)")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    source,
                    "",
                    f"expected a mapping of settings, got a {type(data).__name__}",
                    "start the file with keys such as `azure:` and `network:`",
                )
            ]
        )
    problems = input_problems(data, source)
    if "name" in data:
        problems.append(
            Problem(
                source,
                "name",
                f"the environment name comes from the file name, got name={shown(data['name'])}",
                "remove `name:`; rename the file to config/<name>.yaml instead",
            )
        )
    if problems:
        raise ConfigError(problems)
    try:
        config = EnvironmentConfig.model_validate({"name": path.stem, **data})
    except ValidationError as exc:
        problems = problems_from_validation(exc, source, data)
        if any(p.field == "name" for p in problems):
            problems = [
                Problem(source, "", p.message, p.fix) if p.field == "name" else p for p in problems
            ]
        raise ConfigError(problems) from None
    try:
        Names.for_environment(
            prefix=config.naming.prefix,
            environment=config.name,
            location=config.azure.location,
            suffix=config.naming.suffix,
        )
    except InvalidNameError as exc:
        raise ConfigError(
            [
                Problem(
                    source, "naming.prefix", msg, "shorten naming.prefix or the environment name"
                )
                for msg in str(exc).split("; ")
            ]
        ) from None
    return config


def load_environments(config_dir: Path, *, root: Path | None = None) -> list[EnvironmentConfig]:
    """Load every `*.yaml` directly in `config_dir` (sorted by name); one error for all files.
    Also checked across files: no two environments share a stack name or a state blob."""
    shown_dir = _display(config_dir, root)
    if not config_dir.is_dir():
        looped = config_dir.is_symlink() and not config_dir.exists()
        raise ConfigError(
            [
                Problem(
                    shown_dir,
                    "",
                    "config directory is a broken symbolic link or a link loop"
                    if looped
                    else "config directory not found",
                    "point the link at a directory of <env>.yaml files"
                    if looped
                    else f"create {shown_dir}/<env>.yaml files",
                )
            ]
        )
    try:
        entries = sorted(config_dir.iterdir())
    except OSError as exc:
        raise ConfigError(
            [Problem(shown_dir, "", f"cannot list the directory ({exc.strerror})", "check it")]
        ) from None
    files = [p for p in entries if p.suffix == ".yaml"]
    # A name the loader would otherwise skip silently: another spelling of .yaml/.yml.
    stray = [p for p in entries if p.suffix.lower() in (".yaml", ".yml") and p.suffix != ".yaml"]
    problems: list[Problem] = [
        Problem(
            _display(p, root),
            "",
            f"environment files must end in .yaml (lower case), not {p.suffix}",
            f"rename it to {p.stem}.yaml",
        )
        for p in stray
    ]
    if not files and not stray:
        problems.append(
            Problem(
                shown_dir,
                "",
                "no environment files (*.yaml) found",
                "add one file per environment, e.g. dev.yaml",
            )
        )
    configs: list[EnvironmentConfig] = []
    for path in files:
        try:
            configs.append(load_environment(path, root=root))
        except ConfigError as exc:
            problems.extend(exc.problems)
    sources = {c.name: _display(config_dir / f"{c.name}.yaml", root) for c in configs}
    problems += stack_name_problems(configs, sources)
    problems += state_key_problems(configs, sources)
    problems += unique_name_problems(configs, sources)
    if problems:
        raise ConfigError(problems)
    return configs


def stack_name_problems(configs: list[EnvironmentConfig], sources: dict[str, str]) -> list[Problem]:
    """Every environment's stacks (`EnvironmentConfig.stack_names`) must differ from the stacks
    of every other environment and from the app's other stacks (`RESERVED_STACK_NAMES`): one
    stack name is one `cdktf.out/stacks/<name>` directory and one local state file."""
    owner: dict[str, str] = dict.fromkeys(RESERVED_STACK_NAMES, "the app itself")
    problems = []
    for config in configs:
        for stack in config.stack_names:
            if stack in owner:
                problems.append(
                    Problem(
                        sources[config.name],
                        "",
                        f"environment {config.name!r} would create stack {stack!r}, which "
                        f"{owner[stack]} already uses",
                        "rename the file to another environment name",
                    )
                )
            else:
                owner[stack] = f"environment {config.name!r}"
    return problems


def state_key_problems(configs: list[EnvironmentConfig], sources: dict[str, str]) -> list[Problem]:
    """No two stacks may keep their remote state in the same blob (one would overwrite the
    other's state and Terraform would plan to destroy or recreate everything)."""
    owner: dict[tuple[str, str, str], str] = {}
    problems = []
    for config in configs:
        backend = config.state_backend
        if not isinstance(backend, AzurermStateBackend):
            continue  # local state: terraform.<stack>.tfstate, unique with the stack names
        for key in config.state_keys:
            blob = (backend.storage_account_name, backend.container_name, key)
            if blob in owner:
                problems.append(
                    Problem(
                        sources[config.name],
                        "state_backend.key",
                        f"state blob {backend.storage_account_name}/"
                        f"{backend.container_name}/{key} is also used by {owner[blob]}",
                        "give each environment its own key (default: <environment>.tfstate) "
                        "or container",
                    )
                )
            else:
                owner[blob] = f"environment {config.name!r}"
    return problems


def deployed_unique_names(config: EnvironmentConfig) -> list[tuple[str, str, str]]:
    """(scope, config field that sets it, name) of every name of this environment that must be
    unique beyond it: globally (storage accounts, Key Vault: DNS names), per subscription
    (resource groups), per Unity Catalog metastore (the catalog, which also names its storage
    credential and external location), and the job principal when the config names one."""
    names = Names.for_environment(
        prefix=config.naming.prefix,
        environment=config.name,
        location=config.azure.location,
        suffix=config.naming.suffix,
    )
    naming = "naming.prefix/naming.suffix"
    found = [
        ("storage account (global)", naming, names.storage_account),
        ("Key Vault (global)", naming, names.key_vault),
        ("resource group (subscription)", "naming.prefix", names.resource_group),
        ("resource group (subscription)", "naming.prefix", names.managed_resource_group),
    ]
    if config.azure_ml.enabled:
        found.append(("storage account (global)", naming, names.machine_learning_storage_account))
    uc = config.databricks.unity_catalog
    if uc.enabled:
        found.append(
            (
                "Unity Catalog catalog (metastore)",
                "databricks.unity_catalog.catalog_name" if uc.catalog_name else "naming.prefix",
                uc.catalog_name or f"{config.naming.prefix}_{config.name}",
            )
        )
    # Account groups: an environment's deploying identities join its admin group, which owns its
    # catalog and manages its job principal; shared, one environment's deployer would own another's.
    db = config.databricks
    found.append(("admin group (account)", "databricks.groups.admins", db.groups.admins))
    if db.owner_group != db.groups.admins:
        found.append(
            ("admin group (account)", "databricks.unity_catalog.owner_group", db.owner_group)
        )
    if config.databricks.job_run_as_service_principal:
        found.append(
            (
                "job principal (account)",
                "databricks.job_run_as_service_principal",
                config.databricks.job_run_as_service_principal,
            )
        )
    return found


def unique_name_problems(
    configs: list[EnvironmentConfig],
    sources: dict[str, str],
    taken: dict[tuple[str, str], str] | None = None,
) -> list[Problem]:
    """No two environments may deploy the same globally, subscription- or account-scoped name
    (two configs can reach the same storage account name through different prefixes and
    environment names, or share a catalog or a job principal); `taken` holds names used
    elsewhere (the bootstrap stack's), as (scope, name) -> who."""
    owner: dict[tuple[str, str], str] = dict(taken or {})
    problems = []
    for config in configs:
        try:
            names = deployed_unique_names(config)
        except InvalidNameError:
            continue  # reported by load_environment
        for scope, field, name in names:
            key = (scope.split(" (")[0].lower(), name.lower())
            if key in owner:
                problems.append(
                    Problem(
                        sources[config.name],
                        field,
                        f"the {scope} name {name!r} is also {owner[key]}'s",
                        "names of this scope must differ between environments: change the "
                        "prefix, set naming.suffix, or name another catalog, principal or "
                        "group (default admin group: ml-platform-admins-<environment>)",
                    )
                )
            else:
                owner[key] = f"environment {config.name!r} ({sources[config.name]}, {field})"
    return problems


STATE_ACCOUNT_VAR = "TF_STATE_STORAGE_ACCOUNT"
STATE_GROUP_VAR = "TF_STATE_RESOURCE_GROUP"
_STATE_FIX = (
    "set it to the bootstrap stack's output for this environment (README, Deploying), "
    "or unset {var} to keep local state"
)


def remote_state_from_environ(
    configs: list[EnvironmentConfig], environ: Mapping[str, str]
) -> list[EnvironmentConfig]:
    """`configs` with the remote state named by `TF_STATE_STORAGE_ACCOUNT` and
    `TF_STATE_RESOURCE_GROUP` (`with_remote_state`), or unchanged (local state) when neither is
    set. Either one set without the other, or set but empty, is a `ConfigError`: half a
    backend would otherwise fall back silently to local state or to a guessed resource group."""
    account, group = environ.get(STATE_ACCOUNT_VAR), environ.get(STATE_GROUP_VAR)
    if account is None and group is None:
        return configs
    problems = []
    for missing, given in ((account, STATE_GROUP_VAR), (group, STATE_ACCOUNT_VAR)):
        if missing is None:
            absent = STATE_ACCOUNT_VAR if given == STATE_GROUP_VAR else STATE_GROUP_VAR
            problems.append(
                Problem(
                    f"environment variable {absent}",
                    "",
                    f"is not set, but {given} is: the remote state needs both",
                    f"set {absent} too (the bootstrap stack's output github_repository_variables "
                    f"has both), or unset {given} to keep local state",
                )
            )
    try:
        configured = with_remote_state(
            configs,
            storage_account_name=account if account is not None else "unset",
            resource_group_name=group if group is not None else "unset",
        )
    except ConfigError as exc:
        raise ConfigError(list(exc.problems) + problems) from None
    if problems:
        raise ConfigError(problems)
    return configured


def with_remote_state(
    configs: list[EnvironmentConfig], *, storage_account_name: str, resource_group_name: str
) -> list[EnvironmentConfig]:
    """Point every environment at the bootstrap stack's remote state: one container per
    environment (named after it) in `storage_account_name`. Used by CI, which gets the account
    from the GitHub environment's `TF_STATE_STORAGE_ACCOUNT` variable. `ConfigError` naming
    the environment variable if either value is not a valid Azure name."""
    problems = []
    if not re.fullmatch(r"[a-z0-9]{3,24}", storage_account_name):
        problems.append(
            Problem(
                f"environment variable {STATE_ACCOUNT_VAR}",
                "",
                "is set but empty"
                if not storage_account_name.strip()
                else f"got {shown(storage_account_name)}: not a storage account name "
                "(3-24 lowercase letters and digits)",
                _STATE_FIX.format(var=STATE_ACCOUNT_VAR),
            )
        )
    if not re.fullmatch(r"[-\w.()]{0,89}[-\w()]", resource_group_name):
        problems.append(
            Problem(
                f"environment variable {STATE_GROUP_VAR}",
                "",
                "is set but empty"
                if not resource_group_name.strip()
                else f"got {shown(resource_group_name)}: not a resource group name (1-90 "
                "letters, digits, underscores, hyphens, periods and parentheses, not ending "
                "in a period)",
                "set it to the bootstrap stack's output for this environment (the state "
                f"account's resource group), or unset {STATE_GROUP_VAR} and "
                f"{STATE_ACCOUNT_VAR} to keep local state",
            )
        )
    if problems:
        raise ConfigError(problems)
    return [
        c.model_copy(
            update={
                "state_backend": AzurermStateBackend(
                    type="azurerm",
                    resource_group_name=resource_group_name,
                    storage_account_name=storage_account_name,
                    container_name=c.name,
                )
            }
        )
        for c in configs
    ]
