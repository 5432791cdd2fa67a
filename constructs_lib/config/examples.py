"""Example values the repository ships with, still present in a config (pure).

The configs in `config/` are a working template: a fresh clone synthesizes, tests and renders
without an Azure tenant. A few values can only come from the platform team (tenant-specific
object IDs, the networks allowed to reach a workspace, who is alerted, the repository allowed
to deploy). The shipped values are recognisable examples (the all-zero GUID, RFC 5737
documentation ranges, `example.com` addresses, `your-org/`); synthesis warns for each one left,
so nobody deploys them by accident.
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
    mails = [
        r.email_address
        for r in config.monitoring.alert_email_receivers
        if r.email_address.lower().endswith("@example.com")
    ]
    if mails:
        found.append(
            Problem(
                source,
                "monitoring.alert_email_receivers",
                f"{', '.join(mails)} is an example address (nobody gets the alerts)",
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
        if db.interactive_cluster.enabled and u.lower().endswith("@example.com")
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


def warnings_for(configs: Iterable, sources: dict[str, str]) -> list[Problem]:
    """Example values of every environment; `sources`: environment name -> config file."""
    return [p for c in configs for p in example_values(c, sources.get(c.name, c.name))]
