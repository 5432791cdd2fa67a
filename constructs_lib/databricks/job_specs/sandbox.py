"""The bounded Jinja sandbox that renders templates: a time and memory budget enforced while a
template runs, not after. Pure Python (no cdktf).

Jinja's `ImmutableSandboxedEnvironment` keeps a template away from Python internals and its
inputs, but not from spending time or memory: nested loops, recursive macros, string
concatenation, `%` formatting or a filter with a huge width can run for minutes or allocate
gigabytes long before the rendered text is measured. Here every way a template can repeat work
or grow a value is metered while it runs, against one budget per render (`render_budget`):

* **Time and steps.** Every loop iteration (`{% for %}`, also over a filter's generator), every
  call (macros, methods, globals) and every filter call is a step; a render may take at most
  `MAX_STEPS` steps and `MAX_RENDER_SECONDS` seconds (checked at every step). Loops are metered
  by rewriting each `for` of the parsed template so that it iterates through
  a budget hook (`_budget_loop`); includes and imports are counted (at most `MAX_INCLUDES`).
* **Output.** Everything a template outputs is charged as it is produced, in macro bodies and
  `{% set %}` blocks too (expressions through `finalize`, static text by a charge that the
  rewrite puts before each output statement): at most `MAX_PRODUCED_CHARS` per render. The
  caller streams the top-level output (`template.generate()`) against `MAX_RENDERED_CHARS`.
* **Values.** No operation may build a value whose text is longer than `MAX_VALUE_CHARS`:
  the size of a result is checked *before* it is built wherever the inputs allow a large
  result from small inputs (`*`, `**`, `%`, `~`, `str.format`, `str.join`, `str.replace`,
  `center`/`ljust`/`rjust`/`zfill`/`expandtabs`/`translate`, the filters `center`, `indent`,
  `wordwrap`, `truncate`, `format`, `join`, `replace`, `batch`, `slice`, `string`, `pprint`,
  `tojson`, `xmlattr`, `urlencode`), and after every call, filter and operator otherwise.
  A filter that consumes a generator (`list`, `join`, `sum`, `sort`, ...) consumes it through a
  meter that counts its items and their size.

A breach raises `RenderBudgetError` (a `SecurityError`), which the caller reports as a template
error naming the template and the environment (exit status 2). Normal rendering costs a few
hundred steps and a few KB; the checks add about 10 % to a render's own time (measured by
`tests/unit/test_templates.py::test_the_budget_barely_slows_normal_rendering`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import operator
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from constructs_lib.config.errors import shown

MAX_RENDERED_CHARS = 1 << 20
"""Largest text a template may render (1 Mi characters; the specs here are ~2 KB)."""
MAX_PRODUCED_CHARS = 4 * MAX_RENDERED_CHARS
"""Characters a render may output in all, counting macro bodies and `{% set %}` blocks (whose
text is output again by whoever uses it)."""
MAX_VALUE_CHARS = MAX_RENDERED_CHARS
"""Longest text any single value may have (a string, or a list or mapping written out)."""
MAX_SEQUENCE_RESULT = 100_000
"""Longest string or list, and largest number of digits, that `*` or `**` may produce."""
MAX_STEPS = 100_000
"""Loop iterations, calls and filter calls of one render (a spec takes at most a few hundred)."""
MAX_INCLUDES = 100
"""Includes and imports one render may run (the specs here import one macro file)."""
MAX_RENDER_SECONDS = 3.0
"""Wall time of one render (a spec takes milliseconds)."""


class RenderBudgetError(SecurityError):
    """A template exceeded its time, step, output or value budget."""


@dataclass
class RenderBudget:
    """What one render has used so far; `tick` and `charge` raise when it is exhausted."""

    deadline: float
    max_steps: int = MAX_STEPS
    max_produced: int = MAX_PRODUCED_CHARS
    steps: int = 0
    produced: int = 0
    includes: int = 0
    stopped: str | None = None
    """Set by the caller streaming the output: the next step or charge raises this, inside the
    template, so the error unwinds its frames (nested includes too) as any other does."""

    def tick(self) -> None:
        if self.stopped is not None:
            raise RenderBudgetError(self.stopped)
        self.steps += 1
        if self.steps > self.max_steps:
            raise RenderBudgetError(
                f"more than {self.max_steps:,} loop iterations and calls (a spec needs a few "
                "hundred)"
            )
        if time.monotonic() > self.deadline:
            raise RenderBudgetError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")

    def include(self) -> None:
        self.tick()
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            raise RenderBudgetError(
                f"more than {MAX_INCLUDES} includes and imports (does a template include itself?)"
            )

    def charge(self, chars: int) -> None:
        if self.stopped is not None:
            raise RenderBudgetError(self.stopped)
        self.produced += chars
        if self.produced > self.max_produced:
            raise RenderBudgetError(
                f"output more than {self.max_produced:,} characters while rendering (macro "
                "bodies and set blocks included)"
            )


_BUDGET: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar(
    "render_budget", default=None
)


@contextlib.contextmanager
def render_budget() -> Iterator[RenderBudget]:
    """The budget of the render inside the block (one per `render_spec` call)."""
    budget = RenderBudget(deadline=time.monotonic() + MAX_RENDER_SECONDS, max_steps=MAX_STEPS)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


# --- sizes ---------------------------------------------------------------------------------------


def text_size(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """About how many characters `str(value)` has (strings exactly; containers with their
    brackets and separators), without building it. Stops counting once past `limit`, so a list
    of 100,000 references to one long string costs no more than `limit` steps."""
    if type(value) is str:
        return len(value)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, bytes | bytearray):
            total += 4 * len(item) + 3  # repr: \xNN per byte at most
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() * 3 // 10 + 2
        elif isinstance(item, float | complex):
            total += 24
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total <= limit:
                stack.extend(item)
        else:
            total += 16  # an object passed in (its repr is short) or an iterator (not consumed)
        if total > limit:
            return total
    return total


def _refuse_size(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise RenderBudgetError(
            f"{what} would be about {size:,} characters, more than {MAX_VALUE_CHARS:,}"
        )


def _checked(value: Any, what: str) -> Any:
    """`value` if its text fits `MAX_VALUE_CHARS`."""
    if type(value) is str:
        if len(value) > MAX_VALUE_CHARS:
            _refuse_size(len(value), what)
    elif isinstance(value, str | list | tuple | dict | set | frozenset | bytes):
        _refuse_size(text_size(value), what)
    return value


def _is_iterator(value: Any) -> bool:
    return hasattr(value, "__next__") and not isinstance(value, str | bytes)


def _metered(iterable: Iterable[Any], what: str) -> Iterator[Any]:
    """Items of `iterable` for a consumer that keeps them (a filter building a list or string):
    each item is a step, and their text may add up to at most `MAX_VALUE_CHARS`."""
    total = 0
    for item in iterable:
        _tick()
        total += text_size(item) + 2
        _refuse_size(total, what)
        yield item


def _materialized(value: Any, what: str) -> Any:
    """A concrete list of an iterator's items (metered), or `value` itself."""
    return list(_metered(value, what)) if _is_iterator(value) else value


# --- format strings ------------------------------------------------------------------------------

_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?"
    r"(?P<kind>[a-zA-Z%])"
)


def _width_of(text: str | None, what: str) -> int:
    if text is None:
        return 0
    if text == "*":
        raise RenderBudgetError(f"{what}: a width or precision taken from the arguments (*)")
    if len(text) > 6 or int(text) > MAX_SEQUENCE_RESULT:
        raise RenderBudgetError(
            f"{what}: a width or precision of {shown(text)}, more than {MAX_SEQUENCE_RESULT:,}"
        )
    return int(text)


def percent_format_size(fmt: str, args: Any) -> int:
    """Estimated length of `fmt % args`; `RenderBudgetError` for a width or precision over
    `MAX_SEQUENCE_RESULT` or taken from the arguments."""
    what = "`%` formatting"
    if isinstance(args, Mapping):
        positional: list[Any] = []
    elif isinstance(args, tuple):
        positional = list(args)
    else:
        positional = [args]
    total = len(fmt)
    index = 0
    for match in _PERCENT_SPEC.finditer(fmt):
        if match.group("kind") == "%":
            continue
        width = _width_of(match.group("width"), what)
        precision = _width_of(match.group("precision"), what)
        key = match.group("key")
        if key is not None and isinstance(args, Mapping):
            arg = args.get(key, "")
        elif index < len(positional):
            arg = positional[index]
            index += 1
        else:
            arg = ""
        total += max(width, precision + 24, text_size(arg))
        if total > MAX_VALUE_CHARS:
            break
    return total


def brace_format_size(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """Estimated length of `fmt.format(*args, **kwargs)`; `RenderBudgetError` for a width or
    precision over `MAX_SEQUENCE_RESULT` or computed from the arguments (`{:{}}`)."""
    what = "`str.format`"
    total = 0
    auto = 0
    largest = max((text_size(a) for a in (*args, *kwargs.values())), default=0)
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return len(fmt)  # str.format raises the same error itself
    for literal, field, spec, _conversion in parsed:
        total += len(literal)
        if field is None:
            continue
        spec = spec or ""
        if "{" in spec:
            raise RenderBudgetError(f"{what}: a width or precision computed from the arguments")
        widths = re.findall(r"\d+", spec)
        width = max((_width_of(w, what) for w in widths), default=0)
        head = re.split(r"[.\[]", field, maxsplit=1)[0]
        if head == "":
            arg = args[auto] if auto < len(args) else ""
            auto += 1
        elif head.isdigit():
            arg = args[int(head)] if int(head) < len(args) else ""
        else:
            arg = kwargs.get(head, "")
        size = text_size(arg) if head == field else largest  # `{0.x}`, `{0[k]}`: a part of it
        total += max(width, size)
        if total > MAX_VALUE_CHARS:
            break
    return total


# --- str methods and filters that can grow a value from small inputs -----------------------------


def _str_method_size(method: str, text: str, args: tuple[Any, ...], kwargs: dict) -> int | None:
    """Estimated length of `text.<method>(*args, **kwargs)`, for the methods whose result can be
    much longer than their inputs; None for the others (checked after the call)."""
    bound = {**dict(enumerate(args)), **kwargs}
    if method in ("center", "ljust", "rjust", "zfill"):
        width = bound.get(0, bound.get("width", 0))
        return max(len(text), width) if isinstance(width, int) else None
    if method == "expandtabs":
        size = bound.get(0, bound.get("tabsize", 8))
        return len(text) + text.count("\t") * size if isinstance(size, int) else None
    if method == "replace":
        old, new = bound.get(0, bound.get("old")), bound.get(1, bound.get("new"))
        count = bound.get(2, bound.get("count", -1))
        if not isinstance(old, str) or not isinstance(new, str) or not isinstance(count, int):
            return None
        hits = text.count(old) if old else len(text) + 1
        hits = hits if count < 0 else min(hits, count)
        return len(text) + hits * max(0, len(new) - len(old))
    if method == "translate":
        table = bound.get(0, bound.get("table"))
        longest = (
            max((text_size(v) for v in table.values()), default=1)
            if isinstance(table, Mapping)
            else 1
        )
        return len(text) * max(1, longest)
    if method == "format":
        return brace_format_size(text, args, kwargs)
    if method == "format_map":
        mapping = args[0] if args and isinstance(args[0], Mapping) else {}
        return brace_format_size(text, (), mapping)
    return None


def _join_size(sep: str, items: Iterable[Any]) -> int:
    items = list(items)
    return sum(text_size(i) for i in items) + len(sep) * max(0, len(items) - 1)


def _filter_size(name: str, bound: Mapping[str, Any]) -> int | None:
    """Estimated length of a filter's result from its bound arguments, for the filters that
    can build a large value from small inputs; None for the others."""
    value = bound.get("value", bound.get("s", bound.get("d")))
    if name == "center":
        return max(text_size(value), _int(bound.get("width", 80)))
    if name == "indent":
        width = bound.get("width", 4)
        per_line = len(width) if isinstance(width, str) else _int(width)
        text = str(value) if isinstance(value, str) else ""
        return len(text) + (text.count("\n") + 1) * per_line
    if name == "wordwrap":
        text = value if isinstance(value, str) else ""
        width = max(1, _int(bound.get("width", 79)))
        wrap = bound.get("wrapstring") or "\n"
        return len(text) + (len(text) // width + text.count("\n") + 1) * text_size(wrap)
    if name == "truncate":
        _refuse_int(bound.get("length", 255), "truncate length")
        _refuse_int(bound.get("leeway") or 0, "truncate leeway")
        return text_size(value) + text_size(bound.get("end", "..."))
    if name == "format":
        params = bound.get("kwargs") or bound.get("args") or ()
        return percent_format_size(str(value), params) if isinstance(value, str) else None
    if name == "join":
        sep = bound.get("d", "")
        return _join_size(sep if isinstance(sep, str) else "", value or ())
    if name == "replace":
        count = bound.get("count")
        return _str_method_size(
            "replace",
            value if isinstance(value, str) else str(value),
            (bound.get("old"), bound.get("new"), -1 if count is None else count),
            {},
        )
    if name in ("batch", "slice"):
        key = "linecount" if name == "batch" else "slices"
        _refuse_int(bound.get(key), f"{name} {key}")
        return None
    if name in ("string", "pprint", "xmlattr", "urlencode", "forceescape", "e"):
        return text_size(value) * (6 if name in ("xmlattr", "urlencode", "e") else 1)
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _refuse_int(value: Any, what: str) -> None:
    if isinstance(value, int) and abs(value) > MAX_SEQUENCE_RESULT:
        raise RenderBudgetError(f"{what} {shown(value)} is more than {MAX_SEQUENCE_RESULT:,}")


_SIZED_FILTERS = frozenset(
    {
        "center",
        "indent",
        "wordwrap",
        "truncate",
        "format",
        "join",
        "replace",
        "batch",
        "slice",
        "string",
        "pprint",
        "xmlattr",
        "urlencode",
        "forceescape",
        "e",
    }
)
"""Filters whose result is estimated from their arguments before they run (`_filter_size`)."""
_VALUE_SIZED_FILTERS = frozenset({"tojson"})
"""Filters whose result is about as long as their input's text (checked before they run)."""


def _budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` (a filter) with the budget: a step per call, generator arguments consumed through
    a meter, its result's size estimated before the call where it can outgrow its inputs, and
    checked after it."""
    start = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    signature: inspect.Signature | None = None
    if name in _SIZED_FILTERS:
        with contextlib.suppress(TypeError, ValueError):
            signature = inspect.signature(func)
            # The user's arguments only: drop the context Jinja passes first (the signature of
            # an async-variant filter is its inner function's, without that parameter).
            params = list(signature.parameters.values())
            if start and params and params[0].name in ("eval_ctx", "env", "environment"):
                signature = signature.replace(parameters=params[1:])
    what = f"the {name} filter's result"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if any(_is_iterator(a) for a in args):
            args = (
                *args[:start],
                *(_materialized(a, f"the {name} filter's input") for a in args[start:]),
            )
        if name in _VALUE_SIZED_FILTERS and len(args) > start:
            _refuse_size(text_size(args[start]), what)
        elif signature is not None:
            try:
                bound = signature.bind(*args[start:], **kwargs)
            except TypeError:
                bound = None  # the call itself raises the same TypeError
            if bound is not None:
                bound.apply_defaults()
                size = _filter_size(name, bound.arguments)
                if size is not None:
                    _refuse_size(size, what)
        return _checked(func(*args, **kwargs), what)

    return wrapper


# --- the environment -----------------------------------------------------------------------------


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """`ImmutableSandboxedEnvironment` with the render budget (module docstring). The size
    limits of `*` and `**` use Jinja's documented extension points (`intercepted_binops`,
    `call_binop`, `call`); loops, concatenation and static output are metered by a rewrite of
    the parsed template (`_parse`)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.filters = {name: _budgeted_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(_HOOKS)

    def add_filter(self, name: str, func: Callable[..., Any]) -> None:
        """Register a filter with the budget applied to it."""
        self.filters[name] = _budgeted_filter(name, func)

    # Expressions -------------------------------------------------------------------------------

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        _tick()
        if op == "**":
            if isinstance(left, int | float) and isinstance(right, int | float):
                digits = abs(right) * max(1.0, len(str(int(abs(left)))) if left else 1.0)
                if digits > MAX_SEQUENCE_RESULT:
                    raise SecurityError(f"{shown(left)} ** {shown(right)} is too large")
            return _checked(operator.pow(left, right), "`**`")
        if op == "%":
            if isinstance(left, str):
                _refuse_size(percent_format_size(left, right), "`%` formatting")
            return _checked(operator.mod(left, right), "`%`")
        if op == "+":
            return _checked(operator.add(left, right), "`+`")
        for seq, count in ((left, right), (right, left)):
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(count, int)
                and len(seq) * count > MAX_SEQUENCE_RESULT
            ):
                raise SecurityError(
                    f"repeating a {type(seq).__name__} {count} times is too large "
                    f"(over {MAX_SEQUENCE_RESULT:,} items)"
                )
        return _checked(operator.mul(left, right), "`*`")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        name = getattr(method, "__name__", "")
        if isinstance(owner, str | bytes):
            if name == "join":
                items = _materialized(args[0], "`join`") if args else ()
                args = (items, *args[1:])
                _refuse_size(_join_size(owner if isinstance(owner, str) else "", items), "`join`")
            elif isinstance(owner, str):
                size = _str_method_size(name, owner, args, kwargs)
                if size is not None:
                    _refuse_size(size, f"`{name}`")
        if any(_is_iterator(a) for a in args):
            args = tuple(_materialized(a, f"the arguments of {name or 'a call'}") for a in args)
        return _checked(
            super().call(__context, __obj, *args, **kwargs), f"the result of {name or 'a call'}"
        )

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        tree = _rewrite(tree)
        tree.set_environment(self)
        return tree


# Metering hooks that the rewritten template calls. They are registered as filters that take the
# context, so Jinja calls them directly (not through `call`) and never folds them into constants
# when it compiles a template.


@jinja2.pass_context
def _budget_loop(_context: Any, iterable: Any) -> Iterator[Any]:
    """The items of a `{% for %}` loop, one step each."""
    budget = _BUDGET.get()
    if budget is None:
        yield from iterable
        return
    for item in iterable:
        budget.tick()
        yield item


@jinja2.pass_context
def _budget_concat(_context: Any, parts: tuple[Any, ...]) -> str:
    """`a ~ b ~ c`, refused before it is built if it would be too long."""
    _tick()
    _refuse_size(sum(text_size(p) for p in parts), "`~` concatenation")
    return "".join(map(str, parts))


@jinja2.pass_context
def _budget_static(_context: Any, chars: int) -> str:
    """Charge the static text of an output statement each time it runs."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(chars)
    return ""


@jinja2.pass_context
def _budget_include(_context: Any, name: Any) -> Any:
    """The name of a template about to be included or imported (counted)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.include()
    return name


_HOOKS = {
    "budget_include": _budget_include,
    "budget_loop": _budget_loop,
    "budget_concat": _budget_concat,
    "budget_static": _budget_static,
}


@jinja2.pass_eval_context
def _finalize(_eval_ctx: Any, value: Any) -> Any:
    """Every expression output (`{{ ... }}`), before it is turned into text. It takes the
    evaluation context only so that Jinja calls it at run time for constants too (a finalize
    without one is applied to constant output once, when the template is compiled)."""
    size = text_size(value, MAX_PRODUCED_CHARS)
    _refuse_size(size, "an output expression")
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(size)
    return value


def _hook(name: str, value: nodes.Expr, lineno: int) -> nodes.Filter:
    return nodes.Filter(value, name, [], [], None, None, lineno=lineno)


def _rewrite(node: nodes.Node) -> nodes.Node:
    """Route loops, includes, `~` and static output of a parsed template through the budget
    hooks."""
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, nodes.Node):
            setattr(node, field, _rewrite(value))
        elif isinstance(value, list):
            setattr(node, field, [_rewrite(v) if isinstance(v, nodes.Node) else v for v in value])
    if isinstance(node, nodes.For):
        node.iter = _hook("budget_loop", node.iter, node.lineno)
    elif isinstance(node, nodes.Include | nodes.Import | nodes.FromImport):
        node.template = _hook("budget_include", node.template, node.lineno)
    elif isinstance(node, nodes.Concat):
        parts = nodes.Tuple(list(node.nodes), "load", lineno=node.lineno)
        return _hook("budget_concat", parts, node.lineno)
    elif isinstance(node, nodes.Output):
        static = sum(len(c.data) for c in node.nodes if isinstance(c, nodes.TemplateData))
        if static:
            node.nodes.insert(
                0, _hook("budget_static", nodes.Const(static, lineno=node.lineno), node.lineno)
            )
    return node


def metered_render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render `template` within a fresh budget, streaming its output: `RenderBudgetError` as
    soon as the text passes `MAX_RENDERED_CHARS` or the time runs out. (The error is raised
    inside the template, at its next output or step, so that it unwinds the template's frames
    as it goes, rather than leaving a deep chain of suspended generators to close.)"""
    with render_budget() as budget:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                budget.stopped = (
                    f"rendered more than {MAX_RENDERED_CHARS:,} characters (a spec is a few KB)"
                )
            elif time.monotonic() > budget.deadline:
                budget.stopped = f"rendering took longer than {MAX_RENDER_SECONDS:g} s"
            else:
                chunks.append(chunk)
        if budget.stopped is not None:
            raise RenderBudgetError(budget.stopped)
        return "".join(chunks)
