"""Example values (issue 22 §8): every e-mail-like setting is checked for a documentation
domain, and the switch that refuses example values takes the usual spellings of yes and no."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import main
from constructs_lib.config import ConfigError, load_environment
from constructs_lib.config.examples import example_values, is_example_address
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("address", "example"),
    [
        ("team@example.com", True),
        ("team@EXAMPLE.ORG", True),
        ("team@mail.example.net", True),
        ("team@corp.test", True),
        ("team@host.invalid", True),
        ("team@contoso.com", False),
        ("team@example.company.com", False),
        ("team@notexample.com", False),
    ],
)
def test_example_domains(address: str, example: bool) -> None:
    assert is_example_address(address) is example


def test_every_email_setting_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    shutil.copy(ROOT / "config" / "dev.yaml", path)
    path.write_text(
        path.read_text()
        .replace("ml-platform-team@example.com", "ml-platform-team@contoso.com")
        .replace(
            "databricks:\n",
            "databricks:\n  notification_emails: [oncall@contoso.com, jobs@alerts.example.org]\n",
            1,
        )
    )
    config = load_environment(path, root=tmp_path)
    found = [p for p in example_values(config, "config/dev.yaml") if "example" in p.message]
    addresses = [str(p) for p in found if "address" in p.message]
    assert addresses == [
        "config/dev.yaml: databricks.notification_emails: jobs@alerts.example.org is an example "
        "address (nobody gets the mail). Fix: set your team's address or distribution list"
    ]
    # Each setting is reported once: user names (addresses too) by their own check.
    users = [p for p in found if p.field == "databricks.interactive_cluster.users"]
    assert [p.message for p in users] == [
        "data.scientist@example.com is an example user (creating the cluster would fail)"
    ]


@pytest.mark.parametrize(
    ("value", "on"),
    [("1", True), ("true", True), ("TRUE", True), (" yes ", True), ("On", True)]
    + [("", False), ("0", False), ("false", False), ("No", False), ("off", False)],
)
def test_the_refusal_switch_spellings(value: str, on: bool) -> None:
    assert main._switch({main.REFUSE_EXAMPLES_VAR: value}, main.REFUSE_EXAMPLES_VAR) is on
    assert main._switch({}, main.REFUSE_EXAMPLES_VAR) is False


@pytest.mark.parametrize("value", ["2", "ja", "y e s", "true;false"])
def test_an_unknown_spelling_is_an_error_not_off(value: str) -> None:
    with pytest.raises(ConfigError, match="not a yes/no value"):
        main._switch({main.REFUSE_EXAMPLES_VAR: value}, main.REFUSE_EXAMPLES_VAR)
