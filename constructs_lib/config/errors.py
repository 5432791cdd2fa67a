"""User-facing errors: every problem names the file, the field, the value and the fix."""

from __future__ import annotations

from dataclasses import dataclass


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
        where = f"{self.source}: {self.field}" if self.field else self.source
        text = f"{where}: {self.message}"
        return f"{text}. Fix: {self.fix}" if self.fix else text


class ConfigError(Exception):
    """Raised with every problem found, so the user fixes them all in one round."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])
