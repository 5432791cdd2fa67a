"""Example values the repository ships with, still present in a config (pure).

The configs in `config/` are a working template: a fresh clone synthesizes, tests and renders
without an Azure tenant. A few values can only come from the platform team (tenant-specific
object IDs, the networks allowed to reach a workspace, who is alerted, the repository allowed
to deploy). The shipped values are recognisable examples (the all-zero GUID, RFC 5737
documentation ranges, addresses at documentation domains such as `example.com` in any e-mail
setting, `your-org/`); synthesis warns for each one left, and refuses them where
`MLOPS_REFUSE_EXAMPLE_VALUES` is on (deployments), so nobody deploys them by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network

from constructs_lib.config.errors import Problem

EXAMPLE_OBJECT_ID = "00000000-0000-0000-0000-000000000000"
DOCUMENTATION_RANGES = tuple(
    IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
"""RFC 5737 TEST-NET-1/2/3: reserved for documentation, never routed."""


def _is_documentation_range(net: IPv4Network) -> bool:
    return any(net.subnet_of(doc) for doc in DOCUMENTATION_RANGES)


def example_values(config, source: str) -> list[Problem]:
    """Problems (used as warnings) for every example value left in one environment's config."""
    found: list[Problem] = []
    db = config.databricks
    if db.azure_databricks_principal_object_id == EXAMPLE_OBJECT_ID:
        found.append(
            Problem(
                source,
                "databricks.azure_databricks_principal_object_id",
                "is the example all-zero object ID (the role assignment would fail on apply)",
                "set it to the output of `az ad sp show --id "
                "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d --query id -o tsv`",
            )
        )
    if db.account_id == EXAMPLE_OBJECT_ID:
        found.append(
            Problem(
                source,
                "databricks.account_id",
                "is the example all-zero account ID (the job principal's rule set would fail "
                "on apply)",
                "copy your Databricks account ID from the account console (top right)",
            )
        )
    if config.smoke.enabled and config.smoke.application_id == EXAMPLE_OBJECT_ID:
        found.append(
            Problem(
                source,
                "smoke.application_id",
                "is the example all-zero client ID (the smoke identity's service principal "
                "would fail on apply)",
                f"set it to AZURE_CLIENT_ID of the bootstrap output "
                f"github_environment_{config.name}-smoke",
            )
        )
    for key, ranges in (
        ("workspace.allowed_ip_ranges", config.workspace.allowed_ip_ranges),
        ("key_vault.allowed_ip_ranges", config.key_vault.allowed_ip_ranges),
        ("storage.allowed_ip_ranges", config.storage.allowed_ip_ranges),
    ):
        docs = [str(n) for n in ranges if _is_documentation_range(n)]
        if docs:
            found.append(
                Problem(
                    source,
                    key,
                    f"{', '.join(docs)} is an example (documentation) range that no network uses",
                    "replace it with your networks and your deploy runners' egress addresses",
                )
            )
    by_field: dict[str, list[str]] = {}
    for field, value in _email_settings(config.model_dump(mode="json")):
        # User names are addresses too; their own check below says what they are for.
        if field in _CHECKED_APART:
            continue
        if is_example_address(value):
            by_field.setdefault(field, []).append(value)
    for field, mails in by_field.items():
        found.append(
            Problem(
                source,
                field,
                f"{', '.join(mails)} is an example address (nobody gets the mail)",
                "set your team's address or distribution list",
            )
        )
    examples = [
        s for s in config.storage.serverless_subnet_ids if f"/{EXAMPLE_OBJECT_ID}/" in s.lower()
    ]
    if examples:
        found.append(
            Problem(
                source,
                "storage.serverless_subnet_ids",
                "holds an example subnet in the all-zero subscription (serverless compute, and "
                "so every quality monitor refresh, would still be refused by the firewall)",
                f"copy the subnets from the bootstrap output serverless_network_{config.name}",
            )
        )
    people = [
        u
        for u in db.interactive_cluster.users
        if db.interactive_cluster.enabled and is_example_address(u)
    ]
    if people:
        found.append(
            Problem(
                source,
                "databricks.interactive_cluster.users",
                f"{', '.join(people)} is an example user (creating the cluster would fail)",
                "list the people who get an interactive cluster (their Databricks user names)",
            )
        )
    return found


_CHECKED_APART = frozenset({"databricks.interactive_cluster.users"})
"""Address-shaped settings with a check of their own in `example_values`."""
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
"""RFC 2606 section 3: second-level domains reserved for documentation."""
EXAMPLE_TLDS = ("example", "test", "invalid", "localhost")
"""RFC 2606 section 2 / RFC 6761: top-level names that never deliver mail."""


def is_example_address(address: str) -> bool:
    """An address at a documentation domain (`example.com`, `x.example.org`, `*.test`, ...)."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    return (
        any(domain == d or domain.endswith(f".{d}") for d in EXAMPLE_DOMAINS)
        or domain.rpartition(".")[2] in EXAMPLE_TLDS
    )


def _email_settings(data: object, path: str = "") -> list[tuple[str, str]]:
    """(field, value) of every string setting that holds an e-mail address, anywhere in the
    config (`monitoring.alert_email_receivers`, `databricks.notification_emails`, and any
    added later); list positions are folded into their field."""
    from constructs_lib.config.models import EMAIL_ADDRESS

    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _email_settings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list | tuple):
        for value in data:
            found += _email_settings(value, path)
    elif isinstance(data, str) and EMAIL_ADDRESS.fullmatch(data):
        found.append((path.rsplit(".email_address", 1)[0], data))
    return found


def warnings_for(configs: Iterable, sources: dict[str, str]) -> list[Problem]:
    """Example values of every environment; `sources`: environment name -> config file."""
    return [p for c in configs for p in example_values(c, sources.get(c.name, c.name))]
