"""Load `config/<env>.yaml` files into `EnvironmentConfig`, reporting every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from constructs_lib.config.errors import ConfigError, Problem
from constructs_lib.config.models import AzurermStateBackend, EnvironmentConfig
from constructs_lib.naming import InvalidNameError, Names

# libyaml's parser when PyYAML was built with it (several times faster), else the pure one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe loader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _display(path: Path, root: Path | None) -> str:
    """Path as the user knows it: relative to the repository root when possible."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
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
                message, _, fix = part.partition("; ")
                problems.append(Problem(source, field, message, fix))
        else:
            shown = value if not isinstance(value, dict | list) else type(value).__name__
            problems.append(
                Problem(
                    source,
                    field,
                    f"got {shown!r}: {err['msg'][0].lower()}{err['msg'][1:]}",
                    "change the value to match; see the field's documentation in "
                    "constructs_lib/config/models.py",
                )
            )
    return problems


def load_environment(path: Path, *, root: Path | None = None) -> EnvironmentConfig:
    """Load and validate one environment file; raise `ConfigError` with every problem."""
    source = _display(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(source, "", "file not found", f"create {source} (copy config/dev.yaml)")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            [
                Problem(
                    source,
                    "",
                    f"cannot read the file ({reason})",
                    "check its permissions and encoding",
                )
            ]
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [Problem(source, line, f"invalid YAML: {detail}", "fix the YAML syntax")]
        ) from None
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
    if "name" in data:
        raise ConfigError(
            [
                Problem(
                    source,
                    "name",
                    f"the environment name comes from the file name, got name={data['name']!r}",
                    "remove `name:`; rename the file to config/<name>.yaml instead",
                )
            ]
        )
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
    """Load every `*.yaml` directly in `config_dir` (sorted by name); one error for all files."""
    shown = _display(config_dir, root)
    if not config_dir.is_dir():
        raise ConfigError(
            [Problem(shown, "", "config directory not found", f"create {shown}/<env>.yaml files")]
        )
    files = sorted(config_dir.glob("*.yaml"))
    stray = sorted(config_dir.glob("*.yml"))
    problems: list[Problem] = [
        Problem(
            _display(p, root),
            "",
            "environment files must end in .yaml",
            f"rename it to {p.stem}.yaml",
        )
        for p in stray
    ]
    if not files and not stray:
        problems.append(
            Problem(
                shown,
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
    if problems:
        raise ConfigError(problems)
    return configs


def with_remote_state(
    configs: list[EnvironmentConfig], *, storage_account_name: str, resource_group_name: str
) -> list[EnvironmentConfig]:
    """Point every environment at the bootstrap stack's remote state: one container per
    environment (named after it) in `storage_account_name`. Used by CI, which gets the account
    from the GitHub environment's `TF_STATE_STORAGE_ACCOUNT` variable."""
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
