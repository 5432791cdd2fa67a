"""The cost budget's config (issue 19, §5b): what Azure and azurerm 4.55.0 accept, checked
before anything is synthesized (`consumption_budget_base.go`, `validate/time_period.go`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib.config import ConfigError, load_environment, load_environments
from tests.conftest import ROOT

BASE = (ROOT / "config" / "dev.yaml").read_text(encoding="utf-8")
BUDGET = """budget:
  # Cost guardrail on the resource group: e-mails the action group and the alert receivers at
  # these percentages of the amount (billing currency). Budgets only notify, never stop.
  amount: 1000
  actual_thresholds_percent: [80, 100]
  forecast_thresholds_percent: [100]
"""


def _load(tmp_path: Path, budget: str, receivers: int = 1):
    assert BUDGET in BASE
    text = BASE.replace(BUDGET, budget)
    if receivers > 1:
        extra = "".join(
            f"    - name: r{i}\n      email_address: r{i}@example.org\n"
            for i in range(receivers - 1)
        )
        text = text.replace(
            "      email_address: ml-platform-team@example.com\n",
            "      email_address: ml-platform-team@example.com\n" + extra,
        )
    path = tmp_path / "dev.yaml"
    path.write_text(text, encoding="utf-8")
    return load_environment(path)


def _problems(tmp_path: Path, budget: str, receivers: int = 1) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, budget, receivers)
    return str(caught.value)


def test_shipped_budget_loads_with_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, BUDGET)
    assert config.budget.amount == 1000
    assert config.budget.time_grain == "Monthly"
    assert config.budget.start_date is None
    assert config.budget_contact_emails == ("ml-platform-team@example.com",)


def test_every_environment_has_a_budget() -> None:
    configs = {c.name: c for c in load_environments(ROOT / "config")}
    assert {name: c.budget.amount for name, c in configs.items()} == {
        "sandbox": 500,
        "dev": 1000,
        "uat": 2000,
        "prod": 10000,
    }


def test_a_config_without_a_budget_is_refused(tmp_path: Path) -> None:
    assert "budget: required field is missing" in _problems(tmp_path, "")


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ("budget: {amount: 0.5}", "budget.amount"),
        ("budget: {amount: 100, time_grain: Weekly}", "budget.time_grain"),
        ("budget: {amount: 100, start_date: 2025-01-15}", "is not the first of a month"),
        ("budget: {amount: 100, start_date: 2017-05-01}", "before 2017-06-01"),
        ("budget: {amount: 100, start_date: 2025-13-01}", "is not a date"),
        ("budget: {amount: 100, start_date: next month}", "is not a date"),
        ("budget: {amount: 100, actual_thresholds_percent: [0]}", "from 1 to 1000"),
        ("budget: {amount: 100, forecast_thresholds_percent: [1001]}", "from 1 to 1000"),
        ("budget: {amount: 100, actual_thresholds_percent: [80, 80]}", "more than once"),
        (
            "budget: {amount: 100, actual_thresholds_percent: [50, 60, 70, 80],"
            " forecast_thresholds_percent: [90, 100]}",
            "6 thresholds",
        ),
        (
            "budget: {amount: 100, actual_thresholds_percent: [], forecast_thresholds_percent: []}",
            "0 thresholds",
        ),
        (
            "budget: {amount: 100, contact_emails: [a@x.org, b@x.org, c@x.org, d@x.org, e@x.org,"
            " f@x.org]}",
            "at most 5 per budget",
        ),
    ],
)
def test_what_azure_refuses_is_refused_with_the_field(
    tmp_path: Path, budget: str, expected: str
) -> None:
    problems = _problems(tmp_path, budget + "\n")
    assert "dev.yaml: budget" in problems
    assert expected in problems


def test_too_many_alert_receivers_need_explicit_budget_contacts(tmp_path: Path) -> None:
    problems = _problems(tmp_path, BUDGET, receivers=6)
    assert "set budget.contact_emails" in problems
    config = _load(
        tmp_path,
        BUDGET + "  contact_emails: [finops@example.org]\n",
        receivers=6,
    )
    assert config.budget_contact_emails == ("finops@example.org",)


def test_a_fixed_start_date_is_kept(tmp_path: Path) -> None:
    config = _load(tmp_path, "budget: {amount: 100, start_date: 2025-01-01}\n")
    assert config.budget.start_date == "2025-01-01"
