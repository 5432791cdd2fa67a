"""Render the Jinja templates in `templates/` into Databricks API-shaped dicts.

Pure Python (no cdktf): a template renders YAML, which is parsed into a dict; every decision is
made by the caller and passed in as plain values. `StrictUndefined` turns a misspelt variable
into an error, and every error names the template file, the environment and the fix.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from constructs_lib.config.errors import ConfigError, Problem

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

DYNAMIC_REFERENCE = re.compile(
    r"\{\{\s*(job|tasks|task|run|workspace|job_run)\.[A-Za-z0-9_.\-\[\]]+\s*\}\}"
)
"""Databricks dynamic value references (`{{tasks.monitor.values.retrain}}`) are Databricks
syntax that must survive rendering; templates emit them with the `dynamic` macro."""


# libyaml's parser when PyYAML was built with it (several times faster), else the pure one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TemplateError(ConfigError):
    """A template could not be rendered into a spec."""

    @classmethod
    def single(cls, source: str, environment: str, message: str, fix: str) -> TemplateError:
        return cls([Problem(source, f"environment {environment}", message, fix)])


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # renders YAML, not HTML  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson"] = _tojson
    return env


def _tojson(value: Any) -> str:
    """JSON (a subset of YAML) with stable key order, for embedding values in YAML safely."""
    return json.dumps(value, sort_keys=False, ensure_ascii=False, default=_undefined_to_error)


def _undefined_to_error(value: Any) -> Any:
    """`json.dumps` hook: an undefined variable anywhere in the value (also inside a dict or list
    literal) raises Jinja's UndefinedError naming it, instead of a TypeError."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here
    raise TypeError(f"cannot render a {type(value).__name__} as JSON")


_ENVIRONMENTS: dict[Path, jinja2.Environment] = {}
_PARSED: dict[str, bytes] = {}
"""Rendered text -> its parsed YAML (marshalled): environments and jobs that render the same
text (the job cluster, jobs of the same template) parse it once."""


def render_spec(
    template: str,
    context: Mapping[str, Any],
    *,
    environment: str,
    templates_dir: Path = TEMPLATES_DIR,
) -> dict[str, Any]:
    """Render `templates_dir/template` with `context` and parse it into a dict.

    Raises `TemplateError` naming `templates/<template>` and the environment for an undefined
    variable, a Jinja syntax error, YAML that does not parse, or YAML that is not a mapping.
    """
    source = f"templates/{template}"
    where = f"environment {environment}"
    jenv = _ENVIRONMENTS.get(templates_dir)
    if jenv is None:
        jenv = _ENVIRONMENTS[templates_dir] = _environment(templates_dir)
    try:
        text = jenv.get_template(template).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            [
                Problem(
                    f"templates/{exc.name}",
                    where,
                    "template not found",
                    f"create it, or fix the name (templates live in {templates_dir.name}/)",
                )
            ]
        ) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            [
                Problem(
                    source,
                    where,
                    f"undefined variable: {exc.message}",
                    "fix the name, or use one of the variables passed in: "
                    + ", ".join(sorted(context)),
                )
            ]
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        name = f"templates/{exc.name}" if exc.name else source
        raise TemplateError(
            [
                Problem(
                    name,
                    f"{where}, line {exc.lineno}",
                    f"Jinja syntax error: {exc.message}",
                    "fix the template syntax",
                )
            ]
        ) from None
    cached = _PARSED.get(text)
    if cached is not None:
        return marshal.loads(cached)  # a fresh copy: callers may change what they get
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", rendered line {mark.line + 1}" if mark else ""
        raise TemplateError(
            [
                Problem(
                    source,
                    f"{where}{line}",
                    f"rendered YAML does not parse: {getattr(exc, 'problem', exc)}",
                    "check indentation and quote values with `| tojson`; "
                    f"see the output of `make render ENV={environment}`",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise TemplateError(
            [
                Problem(
                    source,
                    where,
                    f"rendered to a {type(data).__name__}, expected a mapping",
                    "a template renders one YAML mapping in the Databricks API shape",
                )
            ]
        )
    # A value marshal cannot copy (e.g. a YAML date) is simply parsed again next time.
    with contextlib.suppress(ValueError):
        _PARSED[text] = marshal.dumps(data)
    return data


def leftover_template_syntax(text: str) -> list[str]:
    """Jinja markers left in rendered output, ignoring Databricks dynamic value references."""
    cleaned = DYNAMIC_REFERENCE.sub("", text)
    return re.findall(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", cleaned)
