"""Render the Jinja templates in `templates/` into Databricks API-shaped dicts.

Pure Python (no cdktf): a template renders YAML, which is parsed into a dict; every decision is
made by the caller and passed in as plain values. Every error names the template file, the
environment and the fix, and exits with status 2 (a template is user input); none is a traceback.

A template is treated as untrusted input:

* It runs in Jinja's `ImmutableSandboxedEnvironment`: no attribute that starts with `_` (no
  `__globals__`, `__class__`, `__subclasses__`), no unsafe callables (`str.format` is checked),
  no changing the values passed in, `range()` capped at 100,000 items. The globals `lipsum`,
  `cycler`, `joiner` and `namespace` are removed (unused, and `namespace` lets a loop grow a
  value without bound). `StrictUndefined` turns a misspelt variable into an error.
* It renders within a budget enforced while it runs (`sandbox.BoundedSandbox`): at most
  100,000 loop iterations and calls and 3 seconds, at most 1 Mi characters of output (4 Mi
  counting macro bodies), no value longer than 1 Mi characters built by any operator, method
  or filter (`*`, `**`, `%`, `~`, `+`, `format`, `join`, `replace`, `center`, `indent`,
  `wordwrap`, ... checked before they allocate where their inputs allow a large result).
* Templates are read from `templates/` only: a name with `..`, an absolute path, or a symlink
  that resolves outside the directory is refused.
* The rendered text is scanned for secrets, then parsed by the hardened YAML loader
  (`constructs_lib.config.safe_yaml`: no duplicate keys, no inf/NaN, no integer beyond 2**53,
  bounded depth and aliases).
* No string of the result may contain a Terraform interpolation (`${`) or directive (`%{`)
  unless it is one of the references passed in through the context (cdktf tokens such as the
  cluster policy ID): a template cannot make `terraform plan` evaluate an expression.
  Databricks dynamic value references (`{{tasks.monitor.values.retrain}}`) are untouched.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SecurityError

from constructs_lib.config import safe_yaml
from constructs_lib.config.errors import ConfigError, Problem
from constructs_lib.databricks.job_specs.sandbox import (
    MAX_RENDERED_CHARS,
    BoundedSandbox,
    RenderBudgetError,
    metered_render,
)
from constructs_lib.policy.secret_scan import scan_text, walk_strings

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"

DYNAMIC_REFERENCE = re.compile(
    r"\{\{\s*(job|tasks|task|run|workspace|job_run)\.[A-Za-z0-9_.\-\[\]]+\s*\}\}"
)
"""Databricks dynamic value references (`{{tasks.monitor.values.retrain}}`) are Databricks
syntax that must survive rendering; templates emit them with the `dynamic` macro."""

TERRAFORM_SEQUENCE = re.compile(r"[$%]\{")
"""Start of a Terraform interpolation (`${`) or template directive (`%{`)."""
_REFERENCE = re.compile(r"\$\{[^}]*\}")
"""A whole `${...}` sequence, as cdktf writes a token or a reference."""

_REMOVED_GLOBALS = ("lipsum", "cycler", "joiner", "namespace")


class TemplateError(ConfigError):
    """A template could not be rendered into a spec."""

    @classmethod
    def single(cls, source: str, environment: str, message: str, fix: str) -> TemplateError:
        return cls([Problem(source, f"environment {environment}", message, fix)])


class _TemplatesOnlyLoader(jinja2.FileSystemLoader):
    """`FileSystemLoader` that also refuses a template whose real path (symlinks resolved)
    lies outside the templates directory. (Names with `..` or absolute names are refused by
    Jinja itself; a FIFO or device is not a file there, so it is "not found".)"""

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        contents, filename, uptodate = super().get_source(environment, template)
        real = os.path.realpath(filename)
        roots = [os.path.realpath(p) for p in self.searchpath]
        if not any(real == r or real.startswith(r + os.sep) for r in roots):
            raise jinja2.TemplateNotFound(template, "resolves outside the templates directory")
        if len(contents) > MAX_RENDERED_CHARS:
            raise jinja2.TemplateNotFound(template, "larger than 1 MiB")
        return contents, filename, uptodate


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = BoundedSandbox(
        loader=_TemplatesOnlyLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # renders YAML, not HTML  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for name in _REMOVED_GLOBALS:
        env.globals.pop(name, None)
    env.add_filter("tojson", _tojson)
    return env


def _tojson(value: Any) -> str:
    """JSON (a subset of YAML) with stable key order, for embedding values in YAML safely.
    inf and NaN are refused (`ValueError`): JSON has no such numbers."""
    return json.dumps(
        value, sort_keys=False, ensure_ascii=False, allow_nan=False, default=_undefined_to_error
    )


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

_RENDER_FAULTS = (
    ArithmeticError,  # {{ 1/0 }}, overflow
    LookupError,  # a missing key or index of a value passed in
    TypeError,  # {{ 1 + "a" }}, calling what is not callable, a value JSON cannot hold
    ValueError,  # {{ "x" | int(base=99) }}, inf/NaN through tojson
    AttributeError,
)
"""Python errors a template's own expressions raise while rendering (its input, not our code:
the only code of ours that runs is the `tojson` filter)."""


def render_spec(
    template: str,
    context: Mapping[str, Any],
    *,
    environment: str,
    templates_dir: Path = TEMPLATES_DIR,
) -> dict[str, Any]:
    """Render `templates_dir/template` with `context` and parse it into a dict.

    Raises `TemplateError` naming `templates/<template>` and the environment for anything wrong
    with the template: an undefined variable, a syntax error, a sandbox violation, a runtime
    error of its expressions, endless recursion, a secret, YAML that does not parse or is not a
    mapping of the expected shape, or a Terraform interpolation sequence."""
    source = f"templates/{template}"
    where = f"environment {environment}"
    jenv = _ENVIRONMENTS.get(templates_dir)
    if jenv is None:
        jenv = _ENVIRONMENTS[templates_dir] = _environment(templates_dir)

    def problem(message: str, fix: str, field: str = where, name: str = source) -> TemplateError:
        return TemplateError([Problem(name, field, message, fix)])

    try:
        text = metered_render(jenv.get_template(template), context)
    except jinja2.TemplateNotFound as exc:
        reason = exc.message if exc.message and exc.message != exc.name else "template not found"
        if "not found in search path" in reason:
            reason = "template not found"
        raise problem(
            reason,
            f"create it, or fix the name (templates live in {templates_dir.name}/; no `..`)",
            name=f"templates/{exc.name}",
        ) from None
    except jinja2.UndefinedError as exc:
        raise problem(
            f"undefined variable: {exc.message}",
            "fix the name, or use one of the variables passed in: " + ", ".join(sorted(context)),
        ) from None
    except RenderBudgetError as exc:
        raise problem(
            f"exceeded the render budget: {exc}",
            "a spec is a few KB rendered in milliseconds; check the template's loops, "
            "recursive macros and the widths and counts it passes to filters",
        ) from None
    except SecurityError as exc:
        raise problem(
            f"refused by the template sandbox: {exc}",
            "templates render data from the variables passed in; they cannot reach Python "
            "internals, change their inputs or build huge values",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        name = f"templates/{exc.name}" if exc.name else source
        raise problem(
            f"Jinja syntax error: {exc.message}",
            "fix the template syntax",
            field=f"{where}, line {exc.lineno}",
            name=name,
        ) from None
    except jinja2.TemplateError as exc:
        raise problem(f"template error: {exc.message or exc}", "fix the template") from None
    except MemoryError:
        raise problem(
            "ran out of memory while rendering",
            "a spec is a few KB; check the template's loops and the values it builds",
        ) from None
    except RecursionError:
        raise problem(
            "rendering recursed too deeply (a macro, include or import that reaches itself)",
            "break the cycle",
        ) from None
    except UnicodeDecodeError as exc:
        raise problem(
            f"a template is not valid UTF-8 (byte {exc.start + 1}; this one or one it "
            "imports or includes)",
            "save the template as UTF-8",
        ) from None
    except _RENDER_FAULTS as exc:
        raise problem(
            f"an expression failed while rendering: {type(exc).__name__}: {exc}",
            "fix the expression; see `make render ENV=" + environment + "`",
        ) from None
    cached = _PARSED.get(text)
    if cached is not None:
        data = marshal.loads(cached)  # a fresh copy: callers may change what they get
    else:
        _refuse_secrets(text, source, where)
        try:
            data = safe_yaml.load(text)
        except safe_yaml.YamlInputError as exc:
            line = f", rendered line {exc.line}" if exc.line else ""
            message = (
                f"rendered YAML does not parse: {exc.message.removeprefix('invalid YAML: ')}"
                if exc.message.startswith("invalid YAML: ")
                else f"rendered YAML is refused: {exc.message}"
            )
            raise problem(
                message,
                "check indentation and quote values with `| tojson`; "
                f"see the output of `make render ENV={environment}`",
                field=f"{where}{line}",
            ) from None
        if not isinstance(data, dict):
            raise problem(
                f"rendered to a {type(data).__name__}, expected a mapping",
                "a template renders one YAML mapping in the Databricks API shape",
            )
        # A value marshal cannot copy is simply parsed again next time.
        with contextlib.suppress(ValueError):
            _PARSED[text] = marshal.dumps(data)
    problems = _shape_problems(data) + _interpolation_problems(data, context)
    if problems:
        raise TemplateError(
            [Problem(source, f"{where}: {path}", message, fix) for path, message, fix in problems]
        )
    return data


def _refuse_secrets(text: str, source: str, where: str) -> None:
    hits = scan_text(text)
    if hits:
        raise TemplateError(
            [
                Problem(
                    source,
                    f"{where}, rendered line {hit.line}",
                    f"looks like a secret: {hit.kind} ({hit.redacted})",
                    "reference secrets by secret scope and key (e.g. "
                    "{{secrets/<scope>/<key>}} in Spark conf) or Key Vault name, never literally",
                )
                for hit in hits
            ]
        )


_LISTS_OF_MAPPINGS = ("tasks", "job_clusters", "parameters", "environments")
_MAPPINGS = ("tags", "custom_tags", "spark_conf", "spark_env_vars")


def _shape_problems(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The top-level keys the code iterates must have the Jobs/Clusters API shape (deeper keys
    are checked against the provider's schema by `spec_mapping`)."""
    problems = []
    for key in _LISTS_OF_MAPPINGS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            problems.append(
                (
                    key,
                    f"must be a list of mappings, got {_kind(value)}",
                    f"write `{key}:` as a YAML list of mappings (`- key: value`)",
                )
            )
    for key in _MAPPINGS:
        value = data.get(key)
        if value is not None and not isinstance(value, Mapping):
            problems.append(
                (
                    key,
                    f"must be a mapping, got {_kind(value)}",
                    f"write `{key}:` as a mapping of names to values",
                )
            )
    return problems


def _kind(value: Any) -> str:
    if isinstance(value, list):
        inner = sorted({type(v).__name__ for v in value})
        return f"a list of {', '.join(inner)}" if inner else "an empty list"
    return f"a {type(value).__name__}"


def _interpolation_problems(
    data: Mapping[str, Any], context: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """Strings (keys and values) with `${` or `%{` other than the references passed in."""
    allowed: set[str] = set()
    for _where, _key, value in walk_strings(dict(context)):
        if "${" in value:
            allowed.update(_REFERENCE.findall(value))
    problems = []
    for path, _key, value in walk_strings(data):
        if not TERRAFORM_SEQUENCE.search(value):
            continue
        rest = _REFERENCE.sub(lambda m: "" if m.group(0) in allowed else m.group(0), value)
        found = TERRAFORM_SEQUENCE.search(rest)
        if found:
            problems.append(
                (
                    path,
                    f"contains {found.group(0)!r}, which Terraform would evaluate as an "
                    "expression or directive",
                    "remove it: templates may pass through the references they are given "
                    "(variables), but not write Terraform syntax themselves",
                )
            )
    return problems


def leftover_template_syntax(text: str) -> list[str]:
    """Jinja markers left in rendered output, ignoring Databricks dynamic value references."""
    cleaned = DYNAMIC_REFERENCE.sub("", text)
    return re.findall(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", cleaned)
