"""Find secret-shaped values in config values, rendered templates and synthesized output.

Pure Python. Everything secret must be a reference (a Key Vault secret name, a secret scope key,
a Terraform reference); a literal credential in `cdk.tf.json` would be copied into plans, state
and snapshots, and one in an error message into CI logs.

Two detector sets run over every text:

* **detect-secrets** (Yelp, pinned in pyproject.toml): the regex plugins listed in
  `DETECT_SECRETS_PLUGINS` (AWS, GitHub, GitLab, Slack, Stripe, JWT, private keys, basic-auth
  URLs, ...). Its keyword and entropy plugins are left out: they flag hashes and names in the
  output and cost ~200 ms per run; the IP plugin flags the CIDRs the config is made of.
* **our own rules** (`PATTERNS`) for the formats this platform handles that detect-secrets misses
  or only partly covers: Entra ID client secrets (`xxx7Q~...`), Azure storage account keys
  alone and in connection strings, SAS signatures, Databricks personal access tokens
  (`dapi...`) and OAuth secrets (`dose...`),
  GitHub fine-grained tokens (`github_pat_...`), credentials inside any URL, every PEM private
  key header (also `ENCRYPTED PRIVATE KEY`), and `"password": "literal"` style arguments.

A token split by an interpolation (`dapi0123${""}4567...`, or `{{ "dapi01" }}23...` in a
template) is found too: every text is also scanned with its `${...}`, `%{...}`, `{{...}}` and
`{%...%}` sequences removed. Hits never carry the value: `redact()` shows its first four
characters and its length, and `redact_secrets()` rewrites any text (an error message) the same
way before it is printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

DETECT_SECRETS_PLUGINS: tuple[tuple[str, str], ...] = (
    ("aws", "AWSKeyDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("jwt", "JwtTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("npm", "NpmDetector"),
    ("openai", "OpenAIDetector"),
    ("private_key", "PrivateKeyDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"),
    ("square_oauth", "SquareOAuthDetector"),
    ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("twilio", "TwilioKeyDetector"),
)
"""(module in `detect_secrets.plugins`, class) of the detect-secrets plugins that run."""


@dataclass(frozen=True)
class SecretPattern:
    regex: re.Pattern[str]
    needles: tuple[str, ...]
    """Literal text that every match contains (lower case if the regex ignores case). The regex
    only runs over a text that contains one of them: `str` search is ~100 times faster than these
    regexes, and output usually has no needle at all (measured: 18 ms -> <1 ms per 140 KB stack)."""
    group: int = 0
    """The regex group that is the secret itself (0: the whole match)."""

    def spans(self, text: str, lowered: str) -> Iterator[tuple[int, int]]:
        haystack = lowered if self.regex.flags & re.IGNORECASE else text
        if not any(needle in haystack for needle in self.needles):
            return
        for match in self.regex.finditer(text):
            if match.group(self.group):
                yield match.span(self.group)


_URL_CREDENTIALS = re.compile(
    # scheme://user:password@host; the password is the secret (a `${...}` reference is not).
    r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/?#@:\"'<>]+:(?!\$\{)([^\s/?#@\"'<>]+)@"
)

PATTERNS: dict[str, SecretPattern] = {
    "Azure storage account key": SecretPattern(
        re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"), ("==",)
    ),
    "storage connection string": SecretPattern(
        re.compile(r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/=]{20,})"),
        ("AccountKey=", "SharedAccessKey="),
        group=1,
    ),
    "SAS token": SecretPattern(
        re.compile(r"(?:^|[?&\s\"'])sig=([A-Za-z0-9%+/=]{20,})"), ("sig=",), group=1
    ),
    "Databricks personal access token": SecretPattern(
        re.compile(r"(?<![A-Za-z0-9])dapi[0-9a-f]{32}(?:-\d)?(?![A-Za-z0-9])"), ("dapi",)
    ),
    "Databricks OAuth secret": SecretPattern(
        re.compile(r"(?<![A-Za-z0-9])dose[0-9a-f]{32}(?![A-Za-z0-9])"), ("dose",)
    ),
    "Entra ID client secret": SecretPattern(
        re.compile(
            r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"
        ),
        ("Q~",),
    ),
    "private key": SecretPattern(
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), ("PRIVATE KEY",)
    ),
    "GitHub token": SecretPattern(
        re.compile(
            r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"
            r"(?![A-Za-z0-9_])"
        ),
        (*(f"gh{c}_" for c in "pousr"), "github_pat_"),
    ),
    "credentials in a URL": SecretPattern(_URL_CREDENTIALS, ("://",), group=1),
    "password argument": SecretPattern(
        re.compile(
            r'"(?:password|client_secret|token|secret|access_key|sas_token)"\s*:\s*"(?!\$\{)([^"]{4,})"',
            re.IGNORECASE,
        ),
        ('"password"', '"client_secret"', '"token"', '"secret"', '"access_key"', '"sas_token"'),
        group=1,
    ),
}

SECRET_KEY_NAMES = re.compile(
    r"(?i)(?:password|passwd|pwd|secret|client_secret|token|api_key|apikey|access_key|"
    r"account_key|sas_token|private_key|connection_string)"
)
"""Mapping keys whose literal value is a credential (config values, tags)."""

_INTERPOLATION = re.compile(r"\$\{[^}\n]*\}|%\{[^}\n]*\}|\{\{[^\n]*?\}\}|\{%[^\n]*?%\}")
"""Terraform (`${...}`, `%{...}`) and Jinja (`{{...}}`, `{%...%}`) sequences, one line at most."""


@dataclass(frozen=True)
class SecretHit:
    kind: str
    line: int
    redacted: str
    """`redact()` of the value: its first four characters and its length, never the value."""

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind} ({self.redacted})"


def redact(value: str) -> str:
    """What a report may show of a secret: its first four characters and its length."""
    return f"{value[:4]}… ({len(value)} chars)"


@cache
def _plugins() -> tuple[Any, ...]:
    import importlib

    return tuple(
        getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)()
        for module, name in DETECT_SECRETS_PLUGINS
    )


def _spans(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every secret in `text`, ours first, then detect-secrets'."""
    if len(text) <= _CACHED_TEXT_CHARS:
        return list(_cached_spans(text))
    return list(_uncached_spans(text))


_CACHED_TEXT_CHARS = 4096
"""Strings up to this length are memoized (at most 4096 of them: 16 MB held at worst)."""


@lru_cache(maxsize=4096)
def _cached_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    """`_spans` of a short string, memoized: the environments' files repeat most of their
    strings (keys, names, shared values), and detect-secrets' plugins dominate the scan's cost."""
    return _uncached_spans(text)


def _uncached_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    lowered = text.lower()
    found = [
        (kind, start, end)
        for kind, pattern in PATTERNS.items()
        for start, end in pattern.spans(text, lowered)
    ]
    for plugin in _plugins():
        for value in set(plugin.analyze_string(text)):
            if not isinstance(value, str) or len(value) < 8:
                continue
            start = text.find(value)
            while start != -1:
                end = start + len(value)
                if not any(s <= start and end <= e for _, s, e in found):
                    found.append((f"{plugin.secret_type} (detect-secrets)", start, end))
                start = text.find(value, end)
    return tuple(found)


def _joined(text: str) -> str | None:
    """`text` without interpolation sequences (a token split by one is whole again), or None
    when it has none."""
    if "{" not in text:
        return None
    joined = _INTERPOLATION.sub("", text)
    return joined if joined != text else None


def scan_text(text: str) -> list[SecretHit]:
    """Every secret-shaped value in `text`, with its line number."""
    hits: dict[tuple[int, str, str], SecretHit] = {}
    for variant in filter(None, (text, _joined(text))):
        for kind, start, end in _spans(variant):
            line = variant.count("\n", 0, start) + 1
            value = variant[start:end]
            hits.setdefault((line, kind, value), SecretHit(kind, line, redact(value)))
    return sorted(hits.values(), key=lambda h: (h.line, h.kind))


def secret_kinds(value: str) -> list[tuple[str, str]]:
    """(kind, redacted) of every secret in one string value."""
    found: dict[tuple[str, str], None] = {}
    for variant in filter(None, (value, _joined(value))):
        for kind, start, end in _spans(variant):
            found[(kind, redact(variant[start:end]))] = None
    return list(found)


def scan_data(data: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(dotted key path, kind, redacted) for every secret in a parsed YAML/JSON tree: in any
    string (keys too), and any literal value under a credential-like key name."""
    hits: list[tuple[str, str, str]] = []
    for where, key, value in walk_strings(data, path):
        for kind, shown in secret_kinds(value):
            hits.append((where, kind, shown))
        if (
            key is not None
            and value is not key
            and SECRET_KEY_NAMES.fullmatch(key)
            and value.strip()
            and not value.startswith("${")
        ):
            hits.append((where, f"literal value of a {key!r} key", redact(value)))
    return hits


def walk_strings(data: Any, path: str = "") -> Iterator[tuple[str, str | None, str]]:
    """(dotted path, the mapping key it sits under or None, string) for every string in a tree,
    mapping keys included (yielded with themselves as the key). Iterative: no recursion limit."""
    stack: list[tuple[str, str | None, Any]] = [(path, None, data)]
    while stack:
        where, key, value = stack.pop()
        if isinstance(value, str):
            yield where, key, value
        elif isinstance(value, Mapping):
            items = list(value.items())
            for k, v in reversed(items):
                child = f"{where}.{k}" if where else str(k)
                if isinstance(k, str):
                    yield child, k, k
                stack.append((child, k if isinstance(k, str) else None, v))
        elif isinstance(value, list | tuple):
            for i, v in reversed(list(enumerate(value))):
                stack.append((f"{where}[{i}]", key, v))


def redact_secrets(text: str) -> str:
    """`text` with every secret-shaped value replaced by `redact()` of it (for error messages).
    A text that still holds a secret once its interpolation sequences are removed (a token split
    by one) is withheld whole: its pieces cannot be told apart from the rest."""
    out, last = [], 0
    for start, end in sorted({(s, e) for _, s, e in _spans(text)}):
        if start < last:
            continue
        out += [text[last:start], redact(text[start:end])]
        last = end
    out.append(text[last:])
    redacted = "".join(out)
    joined = _joined(redacted)
    if joined is not None and _spans(joined):
        return f"<withheld: a secret split by an interpolation ({len(text)} chars)>"
    return redacted
