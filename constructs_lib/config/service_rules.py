"""Values Azure, Databricks and the providers accept, checked at synthesis (pure).

A config value that the service or provider refuses would otherwise synthesize, pass every
check, and fail at `terraform plan`, at apply, or at a job's first run. Each rule here cites
where it comes from (`docs/platform-assumptions.md`, "Values the services accept"); the config
models call them and report the field, the value and the fix (exit status 2).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from ipaddress import IPv4Network

# --- Databricks runtime and node types ------------------------------------------------------

SPARK_VERSION = re.compile(r"[1-9][0-9]?\.[0-9]{1,2}\.x-(?:[a-z0-9]+-)*scala2\.1[0-9]")
"""A Databricks Runtime version key as `GET /api/2.0/clusters/spark-versions` lists it:
`<major>.<minor>.x-[<variant>-...]scala<2.12|2.13>` (`15.4.x-cpu-ml-scala2.12`,
`15.4.x-scala2.12`, `16.4.x-scala2.13`); databricks-sdk-go v0.93.0
`service/compute/ext_spark_version.go` 37 and 58-99 parse and select keys of exactly this
shape."""

AZURE_VM_SIZE = re.compile(r"Standard_[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*")
"""An Azure VM size name, which is what Azure Databricks calls a node type
(`Standard_DS3_v2`, `Standard_D4ds_v5`, `Standard_NC4as_T4_v3`)."""


def spark_version_problem(value: str) -> str | None:
    if SPARK_VERSION.fullmatch(value):
        return None
    return (
        f"{value!r} is not a Databricks Runtime version key; use the key the workspace lists "
        "(Compute > Databricks Runtime version, or `databricks clusters spark-versions`), "
        "e.g. 15.4.x-cpu-ml-scala2.12 (15.4 LTS ML, what the ML wheel is built for)"
    )


def node_type_problem(value: str) -> str | None:
    if AZURE_VM_SIZE.fullmatch(value):
        return None
    return (
        f"{value!r} is not an Azure VM size name; use the node type the workspace lists "
        "(`databricks clusters list-node-types`), e.g. Standard_DS3_v2"
    )


# --- Quartz cron expressions (jobs and Lakehouse Monitoring schedules) ------------------------

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (
    # name, lowest, highest, names (for months and days)
    ("seconds", 0, 59, ()),
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2099, ()),
)
_EXAMPLE = "e.g. '0 0 2 ? * MON' (02:00 every Monday) or '0 30 6 * * ?' (06:30 every day)"


def _value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if names and text in names:
        return names.index(text) + 1
    if text.isdigit() and len(text) <= 4 and low <= int(text) <= high:
        return int(text)
    return None


def _item_problem(item: str, index: int) -> str | None:
    """What is wrong with one comma-separated item of field `index`, or None."""
    name, low, high, names = _FIELDS[index]
    if item == "*":
        return None
    if name == "day-of-month" and re.fullmatch(r"L(?:-([0-9]{1,2}))?W?", item):
        offset = re.fullmatch(r"L(?:-([0-9]{1,2}))?W?", item).group(1)  # type: ignore[union-attr]
        return None if offset is None or int(offset) <= 30 else "L-n: n must be at most 30"
    if name == "day-of-month" and item.endswith("W"):
        return None if _value(item[:-1], 1, 31, ()) else f"{item!r}: nW needs a day 1-31"
    if name == "day-of-week":
        if item == "L":
            return None
        if item.endswith("L"):
            return None if _value(item[:-1], 1, 7, _DAYS) else f"{item!r}: nL needs a day 1-7"
        if "#" in item:
            day, _, nth = item.partition("#")
            if _value(day, 1, 7, _DAYS) and nth in ("1", "2", "3", "4", "5"):
                return None
            return f"{item!r}: day#n needs a day 1-7 (or SUN-SAT) and n 1-5"
    base, slash, step = item.partition("/")
    if slash:
        if not step.isdigit() or not 1 <= int(step) <= (high if index < 6 else 2099 - 1970):
            return f"{item!r}: the increment after / must be 1-{high}"
        if base == "*":
            return None
    start, dash, end = base.partition("-")
    if _value(start, low, high, names) is None or (dash and _value(end, low, high, names) is None):
        allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
        return f"{item!r} is not a value, range or increment of {allowed}"
    if names and slash and not start.isdigit():
        return f"{item!r}: an increment needs a number before the / (Quartz ignores it otherwise)"
    return None


def quartz_cron_problem(expression: str) -> str | None:
    """What Quartz (2.3.2 `org.quartz.CronExpression`, which Databricks schedules use) would
    refuse in `expression`, or None. Fields: seconds, minutes, hours, day-of-month, month,
    day-of-week and an optional year, separated by spaces; lists, ranges and increments in each;
    `L`, `W`, `LW` in day-of-month, `L` and `#` in day-of-week; exactly one of day-of-month and
    day-of-week is `?`. Names are case-insensitive."""
    fields = expression.upper().split()
    if not 6 <= len(fields) <= 7:
        return (
            f"{expression!r} has {len(fields)} fields; a Quartz cron expression has 6 or 7 "
            f"(seconds minutes hours day-of-month month day-of-week [year]); {_EXAMPLE}"
        )
    for index, text in enumerate(fields):
        name = _FIELDS[index][0]
        items = text.split(",")
        if "?" in text:
            if name not in ("day-of-month", "day-of-week") or text != "?":
                return (
                    f"{expression!r}: '?' may only stand alone in day-of-month or day-of-week; "
                    f"{_EXAMPLE}"
                )
            continue
        if len(items) > 1 and any(re.search(r"[LW#]", i) for i in items):
            return (
                f"{expression!r}: {name} {text!r} combines L, W or # with a list, which Quartz "
                f"does not support; {_EXAMPLE}"
            )
        for item in items:
            problem = _item_problem(item, index)
            if problem:
                return f"{expression!r}: {name} {problem}; {_EXAMPLE}"
    if (fields[3] == "?") == (fields[5] == "?"):
        return (
            f"{expression!r}: exactly one of day-of-month ({fields[3]}) and day-of-week "
            f"({fields[5]}) must be '?' (Quartz supports no other combination); {_EXAMPLE}"
        )
    return None


# --- Time zones -----------------------------------------------------------------------------

JAVA_SHORT_IDS = frozenset(
    {
        "ACT",
        "AET",
        "AGT",
        "ART",
        "AST",
        "BET",
        "BST",
        "CAT",
        "CNT",
        "CST",
        "CTT",
        "EAT",
        "ECT",
        "EST",
        "HST",
        "IET",
        "IST",
        "JST",
        "MIT",
        "MST",
        "NET",
        "NST",
        "PLT",
        "PNT",
        "PRT",
        "PST",
        "SST",
        "VST",
    }
)
"""`java.time.ZoneId.SHORT_IDS`, which `java.util.TimeZone` also accepts (the provider's own
example for monitors uses `PST`)."""


@cache
def iana_time_zones() -> frozenset[str]:
    """Every time-zone ID of the IANA database in the pinned `tzdata` package (the database
    Java's time-zone IDs come from), links included (`US/Eastern`, `Asia/Calcutta`)."""
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def time_zone_problem(value: str) -> str | None:
    if value in iana_time_zones() or value in JAVA_SHORT_IDS:
        return None
    close = sorted(z for z in iana_time_zones() if z.lower() == value.lower())
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"{value!r} is not a Java time-zone ID{hint}; use an IANA ID such as UTC, "
        "Europe/Amsterdam or America/New_York"
    )


# --- Lakehouse Monitoring -------------------------------------------------------------------

MONITOR_GRANULARITIES = (
    "5 minutes",
    "30 minutes",
    "1 hour",
    "1 day",
    "1 week",
    "2 weeks",
    "3 weeks",
    "4 weeks",
    "1 month",
    "1 year",
)
"""The aggregation windows Lakehouse Monitoring accepts: databricks-sdk-go v0.93.0
`service/catalog/model.go` 5764-5767 ("5 minutes", "30 minutes", "1 hour", "1 day",
"<n> week(s)", "1 month", "1 year") and `service/dataquality/model.go` 13-43 (the same as an
enum, with 1-4 weeks)."""


# --- Azure firewall rules -------------------------------------------------------------------

PRIVATE_RANGES = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
"""RFC 1918: Azure Storage and Key Vault IP rules take public addresses only."""
STORAGE_MAX_IP_RULES = 200
STORAGE_MAX_VNET_RULES = 200
KEY_VAULT_MAX_IP_RULES = 1000
KEY_VAULT_MAX_VNET_RULES = 200


def firewall_ip_rule_problems(
    ranges: tuple[IPv4Network, ...], *, service: str, max_rules: int, single_prefixes: bool
) -> list[str]:
    """Problems of a firewall's IP rules: more than `max_rules`, private (RFC 1918) ranges,
    and, where the service takes single addresses only without a prefix (`single_prefixes`
    False: Azure Storage), /31 ranges."""
    problems = []
    if len(ranges) > max_rules:
        problems.append(
            f"{len(ranges)} IP rules; {service} takes at most {max_rules}; merge ranges into "
            "wider ones (rule MLOPS-NET-2 bounds how wide in protected environments)"
        )
    private = [str(n) for n in ranges if any(n.subnet_of(p) for p in PRIVATE_RANGES)]
    if private:
        problems.append(
            f"{', '.join(private)} is a private (RFC 1918) range, which {service} IP rules "
            "refuse; private networks reach it through virtual-network rules or private "
            "endpoints, so remove it"
        )
    if not single_prefixes:
        pairs = [str(n) for n in ranges if n.prefixlen == 31]
        if pairs:
            problems.append(
                f"{', '.join(pairs)} is a /31, which {service} IP rules refuse (prefixes up to "
                "/30, or single addresses); list its two addresses separately"
            )
    return problems


def storage_ip_rule(network: IPv4Network) -> str:
    """How Azure Storage takes an IP rule: a CIDR up to /30, a single address without `/32`
    (azurerm refuses `/31` and `/32` prefixes)."""
    return str(network.network_address) if network.prefixlen == 32 else str(network)
