"""Values the services reject are refused at synthesis (`constructs_lib/config/service_rules.py`
and the config models that call it): each rule's case table, and the one line a config gets."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from constructs_lib.config import ConfigError, load_environment
from constructs_lib.config import service_rules as rules
from tests.conftest import ROOT

# --- Databricks Runtime version keys and node types -----------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "15.4.x-cpu-ml-scala2.12",
        "15.4.x-scala2.12",
        "15.4.x-gpu-ml-scala2.12",
        "15.4.x-photon-scala2.12",
        "14.3.x-aarch64-photon-scala2.12",
        "16.4.x-scala2.13",
    ],
)
def test_runtime_version_keys_accepted(value: str) -> None:
    assert rules.spark_version_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "15.4",
        "15.4 LTS ML",
        "15.4.x-cpu-ml",
        "15.4.x-cpu-ml-scala2.12 ",
        "15.4-cpu-ml-scala2.12",
        "latest",
        "15.4.x-cpu-ml-scala2.12;rm",
        "apache-spark-2.4.x-scala2.11",
        "",
    ],
)
def test_malformed_runtime_versions_refused(value: str) -> None:
    assert "is not a Databricks Runtime version key" in (rules.spark_version_problem(value) or "")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Standard_DS3_v2", True),
        ("Standard_D4ds_v5", True),
        ("Standard_NC4as_T4_v3", True),
        ("Standard DS3 v2", False),
        ("DS3_v2", False),
        ("Standard_", False),
        ("m5.xlarge", False),
    ],
)
def test_node_type_names(value: str, ok: bool) -> None:
    assert (rules.node_type_problem(value) is None) is ok


# --- Quartz cron ------------------------------------------------------------------------------

VALID_CRON = [
    # The shipped schedules, and the examples of the Quartz CronTrigger tutorial.
    "0 0 2 ? * MON",
    "0 0 5 * * ?",
    "0 0 6 * * ?",
    "0 0 12 * * ?",
    "0 15 10 ? * *",
    "0 15 10 * * ? 2030",
    "0 * 14 * * ?",
    "0 0/5 14 * * ?",
    "0 0/5 14,18 * * ?",
    "0 0-5 14 * * ?",
    "0 10,44 14 ? 3 WED",
    "0 15 10 ? * MON-FRI",
    "0 15 10 15 * ?",
    "0 15 10 L * ?",
    "0 15 10 L-2 * ?",
    "0 15 10 ? * 6L",
    "0 15 10 ? * 6L 2030-2035",
    "0 15 10 ? * 6#3",
    "0 0 12 1/5 * ?",
    "0 11 11 11 11 ?",
    "0 0 12 LW * ?",
    "0 0 12 15W * ?",
    "0 0 2 ? JAN-MAR SUN",
    "0 0 2 ? * mon",
    "0 0 22-2 * * ?",
]


@pytest.mark.parametrize("expression", VALID_CRON)
def test_quartz_expressions_accepted(expression: str) -> None:
    assert rules.quartz_cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 2 * * MON", "exactly one of day-of-month (*) and day-of-week (MON) must be '?'"),
        ("0 0 2 ? * ?", "exactly one of day-of-month (?) and day-of-week (?) must be '?'"),
        ("0 2 * * 1", "has 5 fields; a Quartz cron expression has 6 or 7"),
        ("0 0 2 * * ? 2030 x", "has 8 fields"),
        ("0 60 2 * * ?", "minutes '60' is not a value, range or increment of 0-59"),
        ("0 0 24 * * ?", "hours '24' is not a value"),
        ("0 0 2 32 * ?", "day-of-month '32' is not a value"),
        ("0 0 2 ? 13 *", "month '13' is not a value, range or increment of 1-12 or JAN-DEC"),
        ("0 0 2 ? * 8", "day-of-week '8' is not a value"),
        ("0 0 2 ? * MON#6", "day#n needs a day 1-7 (or SUN-SAT) and n 1-5"),
        ("0 0 2 L,15 * ?", "combines L, W or # with a list"),
        ("0 0/0 2 * * ?", "the increment after / must be 1-59"),
        ("0 0/61 2 * * ?", "the increment after / must be 1-59"),
        ("0 0 2 ? * FOO", "day-of-week 'FOO' is not a value"),
        ("? 0 2 * * ?", "'?' may only stand alone in day-of-month or day-of-week"),
        ("0 0 2 ?,1 * MON", "'?' may only stand alone"),
        ("0 0 2 ? JAN/2 MON", "an increment needs a number before the /"),
        ("0 0 2 * * ? 1969", "year '1969' is not a value"),
        ("0 0 2 L-31 * ?", "L-n: n must be at most 30"),
        ("0 0 2 * * ? ,", "year '' is not a value"),
    ],
)
def test_invalid_quartz_expressions_refused(expression: str, message: str) -> None:
    problem = rules.quartz_cron_problem(expression)
    assert problem is not None and message in problem, problem
    assert problem.endswith("(06:30 every day)")  # the fix: an example


# --- Time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["UTC", "Europe/Amsterdam", "America/New_York", "US/Eastern", "Etc/GMT+5", "PST"]
)
def test_java_time_zone_ids_accepted(value: str) -> None:
    assert rules.time_zone_problem(value) is None


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("utc", " (did you mean 'UTC'?)"),
        ("europe/amsterdam", " (did you mean 'Europe/Amsterdam'?)"),
        ("Europe/Amsterdm", ""),
        ("GMT+1", ""),
        ("Mars/Olympus_Mons", ""),
        ("", ""),
    ],
)
def test_unknown_time_zones_refused(value: str, hint: str) -> None:
    assert rules.time_zone_problem(value) == (
        f"{value!r} is not a Java time-zone ID{hint}; use an IANA ID such as UTC, "
        "Europe/Amsterdam or America/New_York"
    )


def test_the_time_zone_list_is_the_pinned_package_not_the_machine() -> None:
    zones = rules.iana_time_zones()
    assert 550 < len(zones) < 700 and "Europe/Kyiv" in zones


# --- Firewall rules ---------------------------------------------------------------------------


def test_storage_ip_rules_as_azure_takes_them() -> None:
    assert rules.storage_ip_rule(IPv4Network("203.0.113.7/32")) == "203.0.113.7"
    assert rules.storage_ip_rule(IPv4Network("203.0.113.0/24")) == "203.0.113.0/24"


@pytest.mark.parametrize(
    ("ranges", "kwargs", "problem"),
    [
        (
            [f"20.0.{i // 256}.{i % 256}/32" for i in range(201)],
            {"service": "Azure Storage", "max_rules": 200, "single_prefixes": False},
            "201 IP rules; Azure Storage takes at most 200",
        ),
        (
            ["10.1.0.0/16", "20.1.0.0/16"],
            {"service": "Key Vault", "max_rules": 1000, "single_prefixes": True},
            "10.1.0.0/16 is a private (RFC 1918) range, which Key Vault IP rules refuse",
        ),
        (
            ["192.168.4.0/24"],
            {"service": "Azure Storage", "max_rules": 200, "single_prefixes": False},
            "192.168.4.0/24 is a private (RFC 1918) range",
        ),
        (
            ["20.1.1.0/31"],
            {"service": "Azure Storage", "max_rules": 200, "single_prefixes": False},
            "20.1.1.0/31 is a /31, which Azure Storage IP rules refuse",
        ),
    ],
)
def test_firewall_ip_rule_limits(ranges: list[str], kwargs: dict, problem: str) -> None:
    found = rules.firewall_ip_rule_problems(tuple(IPv4Network(r) for r in ranges), **kwargs)
    assert len(found) == 1 and found[0].startswith(problem), found


# --- The line a config gets -------------------------------------------------------------------


@pytest.fixture
def dev_config(tmp_path: Path) -> Path:
    path = tmp_path / "dev.yaml"
    shutil.copy(ROOT / "config" / "dev.yaml", path)
    return path


def _problem(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_environment(path, root=path.parent)
    (problem,) = caught.value.problems
    return str(problem)


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        (
            "databricks:\n",
            "databricks:\n  spark_version: '15.4 LTS ML'\n",
            "dev.yaml: databricks.spark_version: '15.4 LTS ML' is not a Databricks Runtime "
            "version key. Fix: use the key the workspace lists",
        ),
        (
            "databricks:\n",
            "databricks:\n  node_type_id: Standard_E8s_v3\n",
            "dev.yaml: databricks: node_type_id 'Standard_E8s_v3' is not in allowed_node_type_ids "
            "(Standard_DS3_v2, Standard_DS4_v2, Standard_D4ds_v5), the job cluster policy's "
            "allowlist, so every job cluster would be refused. Fix: add it to "
            "allowed_node_type_ids or pick one of them",
        ),
        (
            "databricks:\n",
            "databricks:\n  allowed_node_type_ids: []\n",
            "dev.yaml: databricks.allowed_node_type_ids: got list: tuple should have at least 1 "
            "item after validation, not 0",
        ),
        (
            "databricks:\n",
            "databricks:\n  instance_pool: {enabled: true, min_idle_instances: 20, max_capacity: 5}\n",
            "dev.yaml: databricks.instance_pool: min_idle_instances (20) exceeds max_capacity (5), "
            "which counts idle and used VMs together. Fix: lower min_idle_instances or raise "
            "max_capacity",
        ),
        (
            "  ml:\n",
            "  ml:\n    quality_monitor: {granularities: ['1 day', '2 days']}\n",
            "dev.yaml: databricks.ml.quality_monitor.granularities: ['2 days'] is not a "
            "granularity Lakehouse Monitoring accepts. Fix: use any of 5 minutes, 30 minutes, "
            "1 hour, 1 day, 1 week, 2 weeks, 3 weeks, 4 weeks, 1 month, 1 year",
        ),
        (
            "  ml:\n",
            "  ml:\n    quality_monitor: {timezone_id: 'Europe/Amsterdm'}\n",
            "dev.yaml: databricks.ml.quality_monitor.timezone_id: 'Europe/Amsterdm' is not a "
            "Java time-zone ID. Fix: use an IANA ID such as UTC",
        ),
        (
            "databricks:\n",
            "databricks:\n  jobs:\n    ml_pipeline: {template: ml_pipeline.yaml.j2, schedule: "
            "{quartz_cron_expression: '0 0 2 * * MON'}}\n",
            "dev.yaml: databricks.jobs.ml_pipeline.schedule.quartz_cron_expression: '0 0 2 * * "
            "MON': exactly one of day-of-month (*) and day-of-week (MON) must be '?' (Quartz "
            "supports no other combination). Fix: e.g. '0 0 2 ? * MON'",
        ),
        (
            "  account_replication_type: LRS\n",
            "  account_replication_type: LRS\n  allowed_ip_ranges: [10.20.0.0/16]\n",
            "dev.yaml: storage.allowed_ip_ranges: 10.20.0.0/16 is a private (RFC 1918) range, "
            "which Azure Storage IP rules refuse",
        ),
    ],
)
def test_a_value_the_service_rejects_is_one_line_naming_field_and_fix(
    dev_config: Path, old: str, new: str, line: str
) -> None:
    assert _problem(dev_config, old, new).startswith(line)
