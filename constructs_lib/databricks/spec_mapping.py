"""Turn Databricks API-shaped specs (what templates render) into provider arguments.

Two steps, both small and tested:

1. `to_provider_shape` renames the few keys where the Jobs / Clusters API and the Terraform
   provider differ (`tasks` -> `task`, `job_clusters` -> `job_cluster`, `libraries` ->
   `library`, job `parameters` -> `parameter`, `environments` -> `environment`). Pure Python.
2. `build_arguments` turns nested dicts into the provider binding's typed structs, using the
   binding's own type hints as the schema. A key the provider does not know is reported with
   the keys it does know; a Terraform reference in a number field (a job ID) becomes a number
   token.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from constructs_lib.cdk import Token
from constructs_lib.config.errors import Problem
from constructs_lib.databricks.job_specs.rendering import TemplateError
from constructs_lib.providers import is_binding_module

# API name -> provider name, by the kind of object the key appears in.
_RENAMES: dict[str, dict[str, str]] = {
    "job": {
        "tasks": "task",
        "job_clusters": "job_cluster",
        "parameters": "parameter",
        "environments": "environment",
    },
    "task": {"libraries": "library"},
    "cluster": {"libraries": "library"},
}
_TASK_CONTAINERS = {"task"}  # provider keys whose items are tasks


def to_provider_shape(spec: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Rename API keys to provider keys for a `job` or `cluster` spec (a new dict)."""
    if kind not in ("job", "cluster"):
        raise ValueError(f"kind must be 'job' or 'cluster', got {kind!r}")
    renames = _RENAMES[kind]
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in spec.items():
        new_key = renames.get(key, key)
        if new_key in out:
            api_key = next((a for a, p in renames.items() if p == new_key), key)
            raise ValueError(
                f"both {origin[new_key]!r} and {key!r} given; use only the API name {api_key!r}"
            )
        origin[new_key] = key
        if kind == "job" and new_key in _TASK_CONTAINERS and isinstance(value, list):
            value = [_rename_task(t) for t in value]
        out[new_key] = value
    return out


def _rename_task(task: Any) -> Any:
    if not isinstance(task, Mapping):
        return task
    renames = _RENAMES["task"]
    out = {renames.get(k, k): v for k, v in task.items()}
    if isinstance(out.get("for_each_task"), Mapping) and "task" in out["for_each_task"]:
        inner = dict(out["for_each_task"])
        inner["task"] = _rename_task(inner["task"])
        out["for_each_task"] = inner
    return out


_CONSTRUCT_ONLY = {
    "scope",
    "id_",
    "connection",
    "count",
    "depends_on",
    "for_each",
    "lifecycle",
    "provider",
    "provisioners",
    "return",
}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return {k: v for k, v in typing.get_type_hints(cls.__init__).items() if k != "return"}


_STRUCT_IN: dict[int, tuple[Any, tuple[type | None, bool]]] = {}


def _struct_in(annotation: Any) -> tuple[type | None, bool]:
    """(struct class, is_list) found in a binding annotation, or (None, False). Remembered per
    annotation object (they come from the cached `_hints`, so they live for the whole run)."""
    entry = _STRUCT_IN.get(id(annotation))
    if entry is None:
        entry = _STRUCT_IN[id(annotation)] = (annotation, _find_struct(annotation))
    return entry[1]


def _find_struct(annotation: Any) -> tuple[type | None, bool]:
    for arg in typing.get_args(annotation) or (annotation,):
        origin = typing.get_origin(arg)
        if origin in (Sequence, list, typing.Sequence) or (
            origin is not None and getattr(origin, "__name__", "") == "Sequence"
        ):
            inner, _ = _find_struct(typing.get_args(arg)[0])
            if inner is not None:
                return inner, True
        elif isinstance(arg, type) and _is_struct(arg):
            return arg, False
    return None, False


def _is_struct(cls: type) -> bool:
    module = getattr(cls, "__module__", "")
    return is_binding_module(module) and not hasattr(cls, "__jsii_proxy_class__")


def _is_number(annotation: Any) -> bool:
    args = typing.get_args(annotation) or (annotation,)
    return float in args and str not in args


class SpecMapper:
    """Builds typed provider arguments from a provider-shaped dict, reporting unknown keys."""

    def __init__(self, *, source: str, environment: str) -> None:
        self._source = source
        self._where = f"environment {environment}"
        self._problems: list[Problem] = []

    def build(self, resource_class: type, args: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for `resource_class(scope, id_, **kwargs)`. Raises `TemplateError`
        with every unknown key or wrong shape found."""
        hints = {k: v for k, v in _hints(resource_class).items() if k not in _CONSTRUCT_ONLY}
        out = self._fields(hints, args, path=resource_class.__name__)
        if self._problems:
            problems, self._problems = self._problems, []
            raise TemplateError(problems)
        return out

    def _fields(
        self, hints: Mapping[str, Any], data: Mapping[str, Any], path: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in hints:
                self._problems.append(
                    Problem(
                        self._source,
                        self._where,
                        f"key {key!r} at {path} is not known to the Databricks provider",
                        "remove or rename it; keys allowed there: " + ", ".join(sorted(hints)),
                    )
                )
                continue
            out[key] = self._value(hints[key], value, f"{path}.{key}")
        return out

    def _value(self, annotation: Any, value: Any, path: str) -> Any:
        struct, is_list = _struct_in(annotation)
        if struct is not None:
            if is_list:
                items = value if isinstance(value, list) else None
                if items is None:
                    self._shape(path, value, "a list of mappings")
                    return None
                return [self._struct(struct, item, f"{path}[{i}]") for i, item in enumerate(items)]
            return self._struct(struct, value, path)
        if _is_number(annotation) and isinstance(value, str) and Token.is_unresolved(value):
            return Token.as_number(value)
        return value

    def _struct(self, struct: type, value: Any, path: str) -> Any:
        if not isinstance(value, Mapping):
            self._shape(path, value, "a mapping")
            return None
        fields = self._fields(_hints(struct), value, path)
        try:
            return struct(**fields)
        except TypeError as exc:  # typeguard: a value of the wrong type, or a missing key
            self._problems.append(
                Problem(
                    self._source,
                    self._where,
                    f"{path}: {exc}",
                    "match the Databricks API shape (see the provider docs for this block)",
                )
            )
            return None

    def _shape(self, path: str, value: Any, expected: str) -> None:
        self._problems.append(
            Problem(
                self._source,
                self._where,
                f"{path} must be {expected}, got {type(value).__name__}",
                "match the Databricks API shape (see the provider docs for this block)",
            )
        )
