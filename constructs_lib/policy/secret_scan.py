"""Find secret-shaped values in synthesized output. Pure Python.

Everything secret must be a reference (a Key Vault secret name, a secret scope key, a Terraform
reference); a literal credential in `cdk.tf.json` would be copied into plans, state and
snapshots. The patterns are the shapes of real Azure, Databricks and generic credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATTERNS: dict[str, re.Pattern[str]] = {
    "Azure storage account key": re.compile(
        r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"
    ),
    "storage connection string": re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"),
    "SAS token": re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{20,}"),
    "Databricks personal access token": re.compile(r"\bdapi[0-9a-f]{32}(?:-\d)?\b"),
    "Entra ID client secret": re.compile(r"\b[A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{31,34}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "password argument": re.compile(
        r'"(?:password|client_secret|token|secret|access_key|sas_token)"\s*:\s*"(?!\$\{)[^"]{4,}"',
        re.IGNORECASE,
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


_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in PATTERNS.values()), re.IGNORECASE)
"""One pass that finds whether anything at all looks like a secret (output usually has none)."""


def scan_text(text: str) -> list[SecretHit]:
    """Every secret-shaped value in `text`, with its line number."""
    if not _ANY.search(text):
        return []
    hits = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            hits.append(SecretHit(kind, line, _mask(match.group(0))))
    return sorted(hits, key=lambda h: (h.line, h.kind))
