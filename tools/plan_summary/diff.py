"""Attribute-level differences of one resource change, with sensitive values masked.

Terraform's JSON plan carries sensitive values in clear text in `before`/`after`; only the
`before_sensitive`/`after_sensitive` masks say which ones they are. Every value that leaves this
module has gone through `redact`, so a masked value can never be printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SENSITIVE = "(sensitive value)"
UNKNOWN = "(known after apply)"
ABSENT = "(none)"


class _Marker:
    """A placeholder that renders as bare text (not a JSON string)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


_SENSITIVE = _Marker(SENSITIVE)
_UNKNOWN = _Marker(UNKNOWN)


@dataclass(frozen=True)
class AttrChange:
    path: str
    before: str
    after: str


def _sub(mask: Any, key: str | int) -> Any:
    """The part of a sensitive/unknown mask that applies to a child element."""
    if mask is True:
        return True
    if isinstance(mask, dict) and isinstance(key, str):
        return mask.get(key, False)
    if isinstance(mask, list) and isinstance(key, int) and 0 <= key < len(mask):
        return mask[key]
    return False


def any_true(mask: Any) -> bool:
    """Whether any part of a sensitive/unknown mask is set."""
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(any_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(any_true(v) for v in mask)
    return False


def redact(value: Any, sensitive: Any, unknown: Any = False) -> Any:
    """Return a copy of value with sensitive parts and unknown parts replaced by markers."""
    if sensitive is True:
        return _SENSITIVE
    if unknown is True:
        return _UNKNOWN
    if isinstance(value, dict):
        keys = set(value)
        if isinstance(unknown, dict):
            keys |= {k for k, v in unknown.items() if any_true(v)}
        return {k: redact(value.get(k), _sub(sensitive, k), _sub(unknown, k)) for k in sorted(keys)}
    if isinstance(value, list):
        return [redact(v, _sub(sensitive, i), _sub(unknown, i)) for i, v in enumerate(value)]
    if value is None and any_true(unknown):
        return _UNKNOWN
    return value


def _dumps(value: Any) -> str:
    if isinstance(value, _Marker):
        return value.text
    return json.dumps(to_plain(value), sort_keys=True, default=repr, ensure_ascii=False)


def format_value(value: Any, limit: int = 120) -> str:
    """One-line text for an already redacted value, shortened to `limit` characters."""
    if value is None:
        return ABSENT
    text = _dumps(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def to_plain(value: Any) -> Any:
    """Replace the markers left by `redact` with their text (JSON-serialisable result)."""
    if isinstance(value, _Marker):
        return value.text
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def attribute_changes(
    before: Any,
    after: Any,
    before_sensitive: Any = False,
    after_sensitive: Any = False,
    after_unknown: Any = False,
    *,
    limit: int = 120,
) -> list[AttrChange]:
    """Leaf-level changes between before and after, values redacted and formatted."""
    out: list[AttrChange] = []

    def record(path: str, b: Any, bs: Any, a: Any, as_: Any, au: Any) -> None:
        out.append(
            AttrChange(
                path=path or "(whole object)",
                before=format_value(redact(b, bs), limit),
                after=format_value(redact(a, as_, au), limit),
            )
        )

    def walk(path: str, b: Any, a: Any, bs: Any, as_: Any, au: Any) -> None:
        if au is True:
            record(path, b, bs, None, as_, True)
            return
        if bs is True or as_ is True:
            # Compare the clear values, print only the markers.
            if b != a:
                record(path, b, bs, a, as_, au)
            return
        if isinstance(b, dict) and isinstance(a, dict):
            keys = set(b) | set(a)
            if isinstance(au, dict):
                keys |= {k for k, v in au.items() if any_true(v)}
            for k in sorted(keys):
                walk(
                    _join(path, k),
                    b.get(k),
                    a.get(k),
                    _sub(bs, k),
                    _sub(as_, k),
                    _sub(au, k),
                )
            return
        if isinstance(b, list) and isinstance(a, list) and len(b) == len(a):
            for i in range(len(a)):
                walk(_join(path, i), b[i], a[i], _sub(bs, i), _sub(as_, i), _sub(au, i))
            return
        if b != a or any_true(au):
            record(path, b, bs, a, as_, au)

    walk("", before, after, before_sensitive, after_sensitive, after_unknown)
    return out
