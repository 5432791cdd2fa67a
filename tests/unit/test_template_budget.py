"""The render budget (`constructs_lib/databricks/job_specs/sandbox.py`): a template that would
run for minutes or allocate gigabytes stops early, as a template error naming the template and
the environment; the real templates stay far inside the budget and barely slow down."""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from constructs_lib.config import load_environments
from constructs_lib.databricks.job_specs import rendering, sandbox, specs
from constructs_lib.databricks.job_specs.rendering import TemplateError, render_spec
from tests.conftest import ROOT

BIG = "{% set s = 'x' * 100000 %}"
LONG = "{% set s = '\\n' * 100000 %}"

# template text -> the start of what the first problem says after "exceeded the render budget: "
BREACHES: dict[str, tuple[str, str]] = {
    "nested loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x: 1",
        "more than 100,000 loop iterations and calls",
    ),
    "nested loops over a long string": (
        BIG + "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}x: 1",
        "more than 100,000 loop iterations and calls",
    ),
    "a recursive macro that branches": (
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}x: {{ f(40) }}",
        "more than 100,000 loop iterations and calls",
    ),
    "~ doubles a string in a recursive macro": (
        "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s|length }}{% endmacro %}"
        "x: {{ d('x', 40) }}",
        "`~` concatenation would be about 2,097,152 characters, more than 1,048,576",
    ),
    "+ doubles a string in a recursive macro": (
        "{% macro d(s, n) %}{{ d(s + s, n - 1) if n else s|length }}{% endmacro %}"
        "x: {{ d('x', 40) }}",
        "`+` would be about 2,097,152 characters",
    ),
    "% formatting with a huge width": (
        "x: {{ '%0999999999d' % 1 }}",
        "`%` formatting: a width or precision of '999999999', more than 100,000",
    ),
    "% formatting with the width from the arguments": (
        "x: {{ '%*d' % (100000000, 1) }}",
        "`%` formatting: a width or precision taken from the arguments (*)",
    ),
    "% formatting repeating a long string": (
        BIG + "x: {{ ('%s%s%s%s%s%s%s%s%s%s%s') % (s, s, s, s, s, s, s, s, s, s, s) }}",
        "`%` formatting would be about 1,100,022 characters",
    ),
    "the format filter with a huge width": (
        "x: {{ '%0999999999d' | format(1) }}",
        "`%` formatting: a width or precision of '999999999'",
    ),
    "str.format with a huge width": (
        "x: {{ '{:>999999999}'.format(1) }}",
        "`str.format`: a width or precision of '999999999'",
    ),
    "str.format with a computed width": (
        "x: {{ '{:{}}'.format(1, 999999999) }}",
        "`str.format`: a width or precision computed from the arguments",
    ),
    "str.format repeating a long string": (
        BIG + "x: {{ '{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}'.format(s) }}",
        "`format` would be about 1,100,000 characters",
    ),
    "the center filter": (
        "x: {{ 'x' | center(1000000000) }}",
        "the center filter's result would be about 1,000,000,000 characters",
    ),
    "str.center": ("x: {{ 'x'.center(1000000000) }}", "`center` would be about 1,000,000,000"),
    "str.ljust": ("x: {{ 'x'.ljust(1000000000) }}", "`ljust` would be about 1,000,000,000"),
    "str.zfill": ("x: {{ 'x'.zfill(1000000000) }}", "`zfill` would be about 1,000,000,000"),
    "str.expandtabs": (
        "{% set s = '\\t' * 100000 %}x: {{ s.expandtabs(100000) }}",
        "`expandtabs` would be about 10,000,100,000",
    ),
    "the indent filter": (
        LONG + "x: {{ s | indent(100000) }}",
        "the indent filter's result would be about 10,000,200,000",
    ),
    "the wordwrap filter": (
        BIG + "x: {{ s | wordwrap(1, wrapstring='y' * 100000) }}",
        "the wordwrap filter's result would be about 10,000,200,000",
    ),
    "the truncate filter": (
        "x: {{ 'x' | truncate(10000000000) }}",
        "truncate length 10000000000 is more than 100,000",
    ),
    "join of a list of long strings": (
        BIG + "x: {{ [s, s, s, s, s, s, s, s, s, s, s] | join(',') }}",
        "the join filter's result would be about 1,100,010",
    ),
    "str.join of a list of long strings": (
        BIG + "x: {{ ','.join([s, s, s, s, s, s, s, s, s, s, s]) }}",
        "`join` would be about 1,100,010",
    ),
    "list of a huge generator": (
        "x: {{ range(100000) | map('center', 100000) | list | length }}",
        "the list filter's input would be about 1,100,022",
    ),
    "str.replace": (BIG + "x: {{ s.replace('x', s) }}", "`replace` would be about 10,000,000,000"),
    "the replace filter": (
        BIG + "x: {{ s | replace('x', s) }}",
        "the replace filter's result would be about 10,000,000,000",
    ),
    "str.translate": (
        BIG + "x: {{ s.translate({120: s}) }}",
        "`translate` would be about 10,000,000,000",
    ),
    "a list literal of long strings output": (
        BIG + "x: {{ [s, s, s, s, s, s, s, s, s, s, s] }}",
        "an output expression would be about 1,100,024",
    ),
    "a list of references to a long string": (
        BIG + "x: {{ ([s] * 100000) | tojson }}",
        "`*` would be about 1,100,002",
    ),
    "batch with a huge count": (
        "x: {{ [1] | batch(1000000000, 'x') | list }}",
        "batch linecount 1000000000 is more than 100,000",
    ),
    "slice with a huge count": (
        "x: {{ [1] | slice(1000000000) | list }}",
        "slice slices 1000000000 is more than 100,000",
    ),
    "static text repeated in a macro's loop": (
        "{% macro m() %}{% for i in range(100000) %}" + "y" * 10000 + "{% endfor %}{% endmacro %}"
        "x: {{ m() | length }}",
        "output more than 4,194,304 characters while rendering",
    ),
    "a constant repeated in a macro's loop": (
        "{% macro m() %}{% for i in range(100000) %}{{ 'x' | center(100000) }}{% endfor %}"
        "{% endmacro %}x: {{ m() | length }}",
        "output more than 4,194,304 characters while rendering",
    ),
    "a set block grows in a loop": (
        "{% set t %}{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}{% endset %}x: 1",
        "output more than 4,194,304 characters while rendering",
    ),
    "a filter block": (
        "{% filter center(1000000000) %}x{% endfilter %}",
        "the center filter's result would be about 1,000,000,000",
    ),
    "a template that includes itself": (
        "x{% include 'jobs/t.yaml.j2' %}",
        "more than 100 includes and imports (does a template include itself?)",
    ),
    "the output streams past 1 Mi characters": (
        "{% for i in range(100) %}{{ 'x' * 100000 }}{% endfor %}",
        "rendered more than 1,048,576 characters",
    ),
}


def _render(tmp_path: Path, text: str) -> None:
    (tmp_path / "jobs").mkdir(exist_ok=True)
    (tmp_path / "jobs" / "t.yaml.j2").write_text(text)
    render_spec("jobs/t.yaml.j2", {}, environment="dev", templates_dir=tmp_path)


@pytest.mark.parametrize("name", list(BREACHES))
def test_a_breach_stops_the_render_early_as_a_template_error(name: str, tmp_path: Path) -> None:
    text, message = BREACHES[name]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        _render(tmp_path, text)
    assert time.monotonic() - started < sandbox.MAX_RENDER_SECONDS + 1
    # ru_maxrss is in KiB: no render allocated anything like the gigabytes asked for.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 300 * 1024
    (problem,) = caught.value.problems
    assert problem.source == "templates/jobs/t.yaml.j2"
    assert problem.field == "environment dev"
    # On a loaded machine the deadline may come before the step limit: both stop the render.
    expected = (
        (message, "rendering took longer than") if "loop iterations" in message else (message,)
    )
    assert problem.message.startswith(
        tuple(f"exceeded the render budget: {m}" for m in expected)
    ), problem.message
    assert "check the template's loops" in problem.fix
    assert "\n" not in str(problem)


def test_the_deadline_is_checked_while_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "MAX_RENDER_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"rendering took longer than 0\.2 s"):
        _render(tmp_path, "{% for i in range(100000) %}{{ '%08d' % i }}{% endfor %}")
    assert time.monotonic() - started < 1.5


def test_ordinary_templates_are_far_inside_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    original = sandbox.render_budget
    budgets: list[sandbox.RenderBudget] = []

    class Recording:
        def __init__(self) -> None:
            self.inner = original()

        def __enter__(self) -> sandbox.RenderBudget:
            budget = self.inner.__enter__()
            budgets.append(budget)
            return budget

        def __exit__(self, *exc) -> None:
            self.inner.__exit__(*exc)

    monkeypatch.setattr(sandbox, "render_budget", Recording)
    rendering._PARSED.clear()
    for config in load_environments(ROOT / "config"):
        refs = specs.placeholder_refs(config, "taxi_fare_mlops", "0.1.0")
        cluster = specs.job_cluster_spec(config, refs)
        specs.interactive_cluster_spec(config, refs)
        for key in config.databricks.jobs:
            specs.job_spec(config, key, refs, cluster)
    # Per environment: the job cluster, the interactive cluster and each job's template.
    expected = sum(2 + len(c.databricks.jobs) for c in load_environments(ROOT / "config"))
    assert len(budgets) == expected == 24
    assert max(b.steps for b in budgets) < 500  # of 100,000
    assert max(b.produced for b in budgets) < 20_000  # of 4 Mi


def test_the_budget_barely_slows_normal_rendering() -> None:
    """The same templates and contexts in the plain immutable sandbox and in the bounded one;
    the budget's checks add a fraction of a millisecond per render (measured: about 1.7 times
    the plain render's ~0.15 ms; a synthesis renders 24 templates)."""
    contexts: list[tuple[str, dict]] = []
    original = specs.render_spec

    def record(template, context, **kwargs):
        contexts.append((template, dict(context)))
        return original(template, context, **kwargs)

    specs.render_spec = record
    try:
        for config in load_environments(ROOT / "config"):
            refs = specs.placeholder_refs(config, "taxi_fare_mlops", "0.1.0")
            cluster = specs.job_cluster_spec(config, refs)
            for key in config.databricks.jobs:
                specs.job_spec(config, key, refs, cluster)
    finally:
        specs.render_spec = original
    bounded = rendering._environment(rendering.TEMPLATES_DIR)
    plain = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(rendering.TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    plain.filters["tojson"] = rendering._tojson

    def plain_pass() -> None:
        for template, context in contexts:
            plain.get_template(template).render(**context)

    def bounded_pass() -> None:
        for template, context in contexts:
            sandbox.metered_render(bounded.get_template(template), context)

    times: dict[str, list[float]] = {"plain": [], "bounded": []}
    for _ in range(7):
        for name, run in (("plain", plain_pass), ("bounded", bounded_pass)):
            started = time.perf_counter()
            for _ in range(5):
                run()
            times[name].append((time.perf_counter() - started) / 5 / len(contexts))
    # Same output, and the bounded render costs at most 3x (well under a millisecond).
    for template, context in contexts:
        assert sandbox.metered_render(
            bounded.get_template(template), context
        ) == plain.get_template(template).render(**context)
    assert min(times["bounded"]) < 3 * min(times["plain"]), times
    assert statistics.median(times["bounded"]) < 0.002, times
