"""User-facing errors: every problem names the file, the field, the value and the fix.

A problem is printed as one line, whatever it quotes: a value that looks like a secret is shown
redacted (first four characters and length, `constructs_lib.policy.secret_scan`), and a long
value is cut (`shown()`), so a pasted credential or a YAML alias bomb never reaches a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_SHOWN = 60
"""Characters of a quoted value that a message shows before cutting it."""
MAX_PART = 2000
"""Characters of one part of a problem line (source, field, message, fix) at most."""


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """`repr(value)` for a message, cut to about `limit` characters with the full length noted."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, str | bytes | list | tuple | dict) else len(text)
    return f"{text[:limit]}… ({size} {'chars' if isinstance(value, str) else 'items'})"


def _cut(text: str, limit: int = MAX_PART) -> str:
    text = " ".join(text.split())  # one line: no newline from a quoted value survives
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


@dataclass(frozen=True)
class Problem:
    """One mistake in a user's input (a config file, a template, a missing build artefact)."""

    source: str
    """The file the problem is in, relative to the repository (e.g. `config/dev.yaml`)."""
    field: str
    """Dotted path of the offending key (e.g. `network.vnet_cidr`); empty for the whole file."""
    message: str
    """What is wrong, including the value received."""
    fix: str = ""
    """What to do about it."""

    def __str__(self) -> str:
        from constructs_lib.policy.secret_scan import redact_secrets

        source, field, message, fix = (
            _cut(redact_secrets(part)) for part in (self.source, self.field, self.message, self.fix)
        )
        where = f"{source}: {field}" if field else source
        text = f"{where}: {message}"
        return f"{text}. Fix: {fix}" if fix else text


class ConfigError(Exception):
    """Raised with every problem found, so the user fixes them all in one round."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])
