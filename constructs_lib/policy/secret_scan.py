"""Find secret-shaped values in synthesized output. Pure Python.

Everything secret must be a reference (a Key Vault secret name, a secret scope key, a Terraform
reference); a literal credential in `cdk.tf.json` would be copied into plans, state and
snapshots. The patterns are the shapes of real Azure, Databricks and generic credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretPattern:
    regex: re.Pattern[str]
    needles: tuple[str, ...]
    """Literal text that every match contains (lower case if the regex ignores case). The regex
    only runs over a text that contains one of them: `str` search is ~100 times faster than these
    regexes, and output usually has no needle at all (measured: 18 ms -> <1 ms per 140 KB stack)."""

    def finditer(self, text: str, lowered: str) -> list[re.Match[str]]:
        haystack = lowered if self.regex.flags & re.IGNORECASE else text
        if not any(needle in haystack for needle in self.needles):
            return []
        return list(self.regex.finditer(text))


PATTERNS: dict[str, SecretPattern] = {
    "Azure storage account key": SecretPattern(
        re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"), ("==",)
    ),
    "storage connection string": SecretPattern(
        re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"), ("AccountKey=",)
    ),
    "SAS token": SecretPattern(re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{20,}"), ("sig=",)),
    "Databricks personal access token": SecretPattern(
        re.compile(r"\bdapi[0-9a-f]{32}(?:-\d)?\b"), ("dapi",)
    ),
    "Entra ID client secret": SecretPattern(
        re.compile(r"\b[A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{31,34}\b"), ("8Q~",)
    ),
    "private key": SecretPattern(
        re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"), ("PRIVATE KEY-----",)
    ),
    "GitHub token": SecretPattern(
        re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), tuple(f"gh{c}_" for c in "pousr")
    ),
    "password argument": SecretPattern(
        re.compile(
            r'"(?:password|client_secret|token|secret|access_key|sas_token)"\s*:\s*"(?!\$\{)[^"]{4,}"',
            re.IGNORECASE,
        ),
        ('"password"', '"client_secret"', '"token"', '"secret"', '"access_key"', '"sas_token"'),
    ),
}


@dataclass(frozen=True)
class SecretHit:
    kind: str
    line: int
    excerpt: str
    """The match with its middle masked, so the report itself leaks nothing."""

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind} ({self.excerpt})"


def _mask(value: str) -> str:
    return value[:6] + "…" + value[-2:] if len(value) > 10 else "…"


def scan_text(text: str) -> list[SecretHit]:
    """Every secret-shaped value in `text`, with its line number."""
    lowered = text.lower()
    hits = [
        SecretHit(kind, text.count("\n", 0, match.start()) + 1, _mask(match.group(0)))
        for kind, pattern in PATTERNS.items()
        for match in pattern.finditer(text, lowered)
    ]
    return sorted(hits, key=lambda h: (h.line, h.kind))
