"""The secret scanner: our rules and the detect-secrets plugins find every format, report it
redacted, and leave references, hashes and ordinary names alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.config.errors import Problem
from constructs_lib.policy.secret_scan import (
    DETECT_SECRETS_PLUGINS,
    redact,
    redact_secrets,
    scan_data,
    scan_text,
)
from tests.conftest import ROOT

SECRETS = {
    # kind -> (the secret as it would appear, the part a report must never show)
    "Entra ID client secret": ("Abc7Q~" + "x1Y2z3" * 5 + "AbCd", "x1Y2z3x1Y2z3"),
    "Databricks personal access token": ("dapi" + "0123456789abcdef" * 2 + "-2", "456789abcdef"),
    "Databricks OAuth secret": ("dose" + "fedcba9876543210" * 2, "9876543210fedcba"),
    "GitHub token": ("github_pat_11ABCDEFG0" + "a" * 12 + "_" + "B" * 59, "aaaaaaaaaaaa_BBB"),
    "credentials in a URL": ("https://deploy:N0tAR3alPassword@git.example.com/r.git", "N0tAR3al"),
    "private key": ("-----BEGIN ENCRYPTED PRIVATE KEY-----", "ENCRYPTED PRIVATE KEY"),
    "Azure storage account key": ("A1b2" * 21 + "Cd==", "A1b2A1b2A1b2"),
    "storage connection string": (
        "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + "Q" * 44,
        "QQQQQQQQQQQQ",
    ),
    "SAS token": ("?sv=2022-11-02&sp=r&sig=" + "AbC123dEf456" * 3, "dEf456AbC123"),
    "AWS Access Key (detect-secrets)": ("AKIA" + "ABCDEFGHIJKLMNOP", "EFGHIJKLMNOP"),
    "Slack Token (detect-secrets)": ("xoxb-" + "1234567890-" * 2 + "a" * 24, "aaaaaaaaaaaa"),
    "JSON Web Token (detect-secrets)": (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ),
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_every_format_is_found_in_text_and_reported_redacted(kind: str) -> None:
    secret, hidden = SECRETS[kind]
    hits = scan_text('{\n  "value": "' + secret + '"\n}')
    assert kind in {h.kind for h in hits}, hits
    assert all(h.line == 2 for h in hits)
    assert all(hidden not in str(h) for h in hits)


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_every_format_is_found_in_config_values(kind: str) -> None:
    secret, hidden = SECRETS[kind]
    hits = scan_data({"tags": {"note": f"see {secret} there"}})
    assert hits and all(where == "tags.note" for where, _, _ in hits)
    assert all(hidden not in shown for _, _, shown in hits)


def test_redacted_form_is_first_four_characters_and_length() -> None:
    assert redact("dapi0123456789abcdef0123456789abcdef") == "dapi… (36 chars)"


@pytest.mark.parametrize(
    "split",
    [
        'dapi0123456789abcdef${""}0123456789abcdef',
        "dapi0123456789abcdef%{ if true }%{ endif }0123456789abcdef",
        "dapi0123456789abcdef{{ x }}0123456789abcdef",
        "ghp_abcdefghijklmnopqr{% raw %}stuvwxyz0123456789AB",
    ],
)
def test_a_token_split_by_an_interpolation_is_found_and_withheld(split: str) -> None:
    (hit,) = scan_text(split)
    assert hit.kind in {"Databricks personal access token", "GitHub token"}
    assert "0123456789abcdef0123" not in str(hit) and "stuvwxyz" not in str(hit)
    assert (
        redact_secrets(f"got {split!r}")
        == f"<withheld: a secret split by an interpolation ({len(split) + 6} chars)>"
    )


def test_credential_keys_with_literal_values_in_config() -> None:
    hits = scan_data({"tags": {"password": "hunter2hunter2", "token": "${var.t}", "owner": "me"}})
    assert hits == [("tags.password", "literal value of a 'password' key", "hunt… (14 chars)")]


def test_secrets_in_keys_and_lists_are_found() -> None:
    pat = SECRETS["Databricks personal access token"][0]
    hits = scan_data({"a": [{"b": [pat]}], pat: 1})
    assert sorted(where for where, _, _ in hits) == ["a[0].b[0]", f"{pat}"]


def test_error_messages_never_echo_a_secret() -> None:
    secret = SECRETS["Entra ID client secret"][0]
    problem = Problem("config/dev.yaml", "naming.prefix", f"got {secret!r}: invalid", "fix it")
    assert str(problem) == (
        "config/dev.yaml: naming.prefix: got 'Abc7… (40 chars)': invalid. Fix: fix it"
    )


def test_long_values_and_newlines_in_a_message_stay_one_short_line() -> None:
    problem = Problem("f", "k", "got " + "x\n" * 10_000, "fix")
    assert "\n" not in str(problem) and len(str(problem)) < 2100


# Values that are not secrets and occur in this project's configs and output.
NOT_SECRETS = [
    "${data.azurerm_key_vault_secret.db.value}",
    "00000000-0000-0000-0000-000000000000",
    '${filemd5("assets/x.whl")}',
    "abfss://unity-catalog@adlsdev.dfs.core.windows.net/",
    "https://github.com/your-org/databricks-mlops-cdktf",
    "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i",
    "https://${azurerm_databricks_workspace.W.workspace_url}",
    "0e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "{{tasks.monitor.values.retrain}}",
    "10.20.0.0/22",
    "Standard_DS3_v2",
]


@pytest.mark.parametrize("value", NOT_SECRETS)
def test_ordinary_values_are_not_secrets(value: str) -> None:
    assert scan_text(json.dumps({"value": value})) == []
    assert scan_data({"value": value}) == []


def test_the_repository_configs_and_templates_are_clean() -> None:
    files = [*(ROOT / "config").rglob("*.yaml"), *(ROOT / "templates").rglob("*.j2")]
    assert files
    for path in files:
        assert scan_text(path.read_text()) == [], path


def test_the_synthesized_output_is_clean(synth_dir: Path) -> None:
    for path in synth_dir.rglob("*.json"):
        assert scan_text(path.read_text()) == [], path


def test_the_detect_secrets_plugins_are_importable() -> None:
    import importlib

    for module, name in DETECT_SECRETS_PLUGINS:
        assert hasattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)
