"""A small evaluator of GitHub Actions expressions (`${{ ... }}`), for the harness.

Enough of the language the workflows use: literals, property access (`a.b`, `a['b']`), `!`,
`==`/`!=`/`<`/`<=`/`>`/`>=`, `&&`/`||` (which return one of their operands, as GitHub's do),
parentheses, the functions startsWith, endsWith, contains, format, join, toJSON, fromJSON, and
the status functions always, success, failure, cancelled (from the context's `needs` results
and its `cancelled` flag).
Semantics from docs.github.com/actions/reference/evaluate-expressions-in-workflows-and-actions:
falsy values are false, 0, -0, "", null (and NaN); string comparison ignores case; a missing
property is null.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[<>!().,\[\]])"
    r"|(?P<name>[A-Za-z_][\w-]*))"
)
_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
    return out


def truthy(value: Any) -> bool:
    return value not in (False, 0, "", None) and value == value  # noqa: PLR0124 (NaN)


def _loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


class _Parser:
    def __init__(self, text: str, context: dict[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.context = context

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value!r}, got {token!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> Any:
        left = self.unary()
        token = self.peek()
        if token and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.unary()
            if op == "==":
                return _loose_equal(left, right)
            if op == "!=":
                return not _loose_equal(left, right)
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                op
            ]
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "number":
            return float(value) if "." in value else int(value)
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if value == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "name":
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            if self.peek() == ("op", "("):
                return self.call(value)
            return self.context.get(value)
        raise ExpressionError(f"unexpected {value!r}")

    def postfix(self, value: Any) -> Any:
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                value = None
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        low = name.lower()
        text = [str(a).lower() if a is not None else "" for a in args]
        if low == "startswith":
            return text[0].startswith(text[1])
        if low == "endswith":
            return text[0].endswith(text[1])
        if low == "contains":
            if isinstance(args[0], list):
                return any(_loose_equal(item, args[1]) for item in args[0])
            return text[1] in text[0]
        if low == "format":
            return re.sub(r"\{(\d+)\}", lambda m: str(args[1 + int(m.group(1))]), args[0])
        if low == "join":
            return (args[1] if len(args) > 1 else ",").join(str(a) for a in args[0])
        if low == "tojson":
            return json.dumps(args[0], indent=2)
        if low == "fromjson":
            return json.loads(args[0])
        # Status functions: the context says how the run is going ("job" results in `needs`).
        if low == "always":
            return True
        if low == "cancelled":
            return bool(self.context.get("cancelled"))
        if low in ("success", "failure"):
            results = [n.get("result") for n in (self.context.get("needs") or {}).values()]
            if low == "success":
                return all(r == "success" for r in results) and not self.context.get("cancelled")
            return any(r == "failure" for r in results)
        raise ExpressionError(f"unknown function {name}")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """The value of one expression (without `${{ }}`)."""
    return _Parser(expression, context).parse()


def render(template: str, context: dict[str, Any]) -> str:
    """A string with every `${{ ... }}` replaced by its value (as GitHub prints it)."""

    def sub(match: re.Match[str]) -> str:
        value = evaluate(match.group(1), context)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return _EXPRESSION.sub(sub, template)
