"""Deployed names, from one place that knows each Azure resource's naming rules.

Names follow the original accelerator (`databricks-<env>-rg`, `dbxws<env>`, `adls<env>` plus a
four-character suffix) with the configured prefix in front, and are deterministic: the suffix is
a hash of prefix, environment and location unless the config sets one. Pure Python.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class NameRule:
    """Azure's rule for one resource type's name."""

    min_length: int
    max_length: int
    pattern: str
    """Full-match regex of the allowed characters and shape."""
    description: str
    """The rule in words, for error messages."""


class ResourceKind(Enum):
    """Every kind of Azure resource this project names, with Azure's naming rule."""

    RESOURCE_GROUP = NameRule(
        1,
        90,
        r"[A-Za-z0-9._()-]*[A-Za-z0-9_()-]",
        "1-90 letters, digits, . _ - ( ), not ending in .",
    )
    VIRTUAL_NETWORK = NameRule(
        2, 64, r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9_]", "2-64 letters, digits, . _ -"
    )
    SUBNET = NameRule(
        1, 80, r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?", "1-80 letters, digits, . _ -"
    )
    NETWORK_SECURITY_GROUP = NameRule(
        1, 80, r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?", "1-80 letters, digits, . _ -"
    )
    NAT_GATEWAY = NameRule(
        1, 80, r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?", "1-80 letters, digits, . _ -"
    )
    DATABRICKS_WORKSPACE = NameRule(3, 64, r"[A-Za-z0-9_-]+", "3-64 letters, digits, _ -")
    ACCESS_CONNECTOR = NameRule(3, 64, r"[A-Za-z0-9_-]+", "3-64 letters, digits, _ -")
    KEY_VAULT = NameRule(
        3,
        24,
        r"[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*[a-zA-Z0-9]",
        "3-24 letters, digits and single hyphens, starting with a letter",
    )
    STORAGE_ACCOUNT = NameRule(
        3, 24, r"[a-z0-9]+", "3-24 lowercase letters and digits, globally unique"
    )
    LOG_ANALYTICS_WORKSPACE = NameRule(
        4, 63, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "4-63 letters, digits and hyphens"
    )
    APPLICATION_INSIGHTS = NameRule(1, 260, r"[^%&\\?/]+", "1-260 characters except % & \\ ? /")
    ACTION_GROUP = NameRule(1, 260, r"[A-Za-z0-9_-]+", "1-260 letters, digits, _ -")
    ACTION_GROUP_SHORT = NameRule(1, 12, r"[A-Za-z0-9_-]+", "1-12 letters, digits, _ -")
    ALERT_RULE = NameRule(
        1, 260, r"[^*#&+:<>?@%{}\\/]+", "1-260 characters except * # & + : < > ? @ % { } \\ /"
    )
    MACHINE_LEARNING_WORKSPACE = NameRule(
        3,
        33,
        r"[A-Za-z0-9][A-Za-z0-9_-]*",
        "3-33 letters, digits, _ -, starting with a letter or digit",
    )
    PRIVATE_ENDPOINT = NameRule(
        2, 64, r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9_]", "2-64 letters, digits, . _ -"
    )
    MANAGED_IDENTITY = NameRule(3, 128, r"[A-Za-z0-9][A-Za-z0-9_-]*", "3-128 letters, digits, _ -")
    # azurerm 4.55.0 internal/services/consumption/validate/name.go
    CONSUMPTION_BUDGET = NameRule(1, 63, r"[-_a-zA-Z0-9]+", "1-63 letters, digits, _ -")


class InvalidNameError(ValueError):
    """A generated name breaks Azure's rule for its resource type."""


def validate_name(kind: ResourceKind, name: str) -> str:
    """Return `name` if it satisfies `kind`'s rule, else raise with the rule in words."""
    rule = kind.value
    if not (rule.min_length <= len(name) <= rule.max_length) or not re.fullmatch(
        rule.pattern, name
    ):
        raise InvalidNameError(
            f"{kind.name.lower()} name {name!r} ({len(name)} chars) breaks Azure's rule: "
            f"{rule.description}"
        )
    return name


def default_suffix(prefix: str, environment: str, location: str) -> str:
    """Four stable characters from a hash of the deployment's identity (no randomness)."""
    digest = hashlib.sha256(f"{prefix}/{environment}/{location}".encode()).hexdigest()
    return digest[:4]


@dataclass(frozen=True)
class Names:
    """All deployed names of one environment. Build with `Names.for_environment`."""

    resource_group: str
    virtual_network: str
    host_subnet: str
    container_subnet: str
    private_endpoint_subnet: str
    network_security_group: str
    nat_gateway: str
    databricks_workspace: str
    managed_resource_group: str
    access_connector: str
    key_vault: str
    storage_account: str
    log_analytics_workspace: str
    application_insights: str
    action_group: str
    action_group_short: str
    job_failure_alert: str
    budget: str
    workspace_private_endpoint: str
    machine_learning_workspace: str
    machine_learning_storage_account: str

    @classmethod
    def for_environment(
        cls, *, prefix: str, environment: str, location: str, suffix: str | None = None
    ) -> Names:
        """Every name for one environment; raises `InvalidNameError` listing each rule broken."""
        sfx = suffix or default_suffix(prefix, environment, location)
        base = f"{prefix}-{environment}"
        candidates = {
            "resource_group": (ResourceKind.RESOURCE_GROUP, f"{base}-databricks-rg"),
            "virtual_network": (ResourceKind.VIRTUAL_NETWORK, f"{base}-vnet"),
            "host_subnet": (ResourceKind.SUBNET, "databricks-host"),
            "container_subnet": (ResourceKind.SUBNET, "databricks-container"),
            "private_endpoint_subnet": (ResourceKind.SUBNET, "private-endpoints"),
            "network_security_group": (
                ResourceKind.NETWORK_SECURITY_GROUP,
                f"{base}-databricks-nsg",
            ),
            "nat_gateway": (ResourceKind.NAT_GATEWAY, f"{base}-databricks-nat"),
            "databricks_workspace": (
                ResourceKind.DATABRICKS_WORKSPACE,
                f"{prefix}-dbxws{environment}{sfx}",
            ),
            "managed_resource_group": (
                ResourceKind.RESOURCE_GROUP,
                f"{base}-databricks-managed-rg",
            ),
            "access_connector": (ResourceKind.ACCESS_CONNECTOR, f"{base}-dbx-access-connector"),
            "key_vault": (ResourceKind.KEY_VAULT, f"{prefix}-kv{environment}{sfx}"),
            "storage_account": (ResourceKind.STORAGE_ACCOUNT, f"{prefix}adls{environment}{sfx}"),
            "log_analytics_workspace": (ResourceKind.LOG_ANALYTICS_WORKSPACE, f"{base}-log"),
            "application_insights": (ResourceKind.APPLICATION_INSIGHTS, f"{base}-appi"),
            "action_group": (ResourceKind.ACTION_GROUP, f"{base}-ml-alerts"),
            "action_group_short": (
                ResourceKind.ACTION_GROUP_SHORT,
                f"{prefix[:4]}{environment}"[:12],
            ),
            "job_failure_alert": (ResourceKind.ALERT_RULE, f"{base}-databricks-job-failed"),
            "budget": (ResourceKind.CONSUMPTION_BUDGET, f"{base}-budget"),
            "workspace_private_endpoint": (ResourceKind.PRIVATE_ENDPOINT, f"{base}-dbxws-pe"),
            "machine_learning_workspace": (
                ResourceKind.MACHINE_LEARNING_WORKSPACE,
                f"{base}-mlw{sfx}",
            ),
            "machine_learning_storage_account": (
                ResourceKind.STORAGE_ACCOUNT,
                f"{prefix}mlw{environment}{sfx}",
            ),
        }
        errors: list[str] = []
        values: dict[str, str] = {}
        for field, (kind, name) in candidates.items():
            try:
                values[field] = validate_name(kind, name)
            except InvalidNameError as exc:
                errors.append(str(exc))
        if errors:
            raise InvalidNameError("; ".join(errors))
        return cls(**values)


@dataclass(frozen=True)
class BootstrapNames:
    """Names of the bootstrap stack's shared resources."""

    resource_group: str
    state_storage_account: str

    @classmethod
    def for_prefix(cls, *, prefix: str, location: str, suffix: str | None = None) -> BootstrapNames:
        sfx = suffix or default_suffix(prefix, "bootstrap", location)
        return cls(
            resource_group=validate_name(ResourceKind.RESOURCE_GROUP, f"{prefix}-tfstate-rg"),
            state_storage_account=validate_name(
                ResourceKind.STORAGE_ACCOUNT, f"{prefix}tfstate{sfx}"
            ),
        )


def deployer_identity_name(prefix: str, environment: str) -> str:
    """The GitHub Actions identity of one environment."""
    return validate_name(ResourceKind.MANAGED_IDENTITY, f"{prefix}-{environment}-github-deployer")


def planner_identity_name(prefix: str, environment: str) -> str:
    """The read-only GitHub Actions identity of one environment (plans and drift checks)."""
    return validate_name(ResourceKind.MANAGED_IDENTITY, f"{prefix}-{environment}-github-planner")


def smoke_identity_name(prefix: str, environment: str) -> str:
    """The run-only GitHub Actions identity of one environment (the smoke run)."""
    return validate_name(ResourceKind.MANAGED_IDENTITY, f"{prefix}-{environment}-github-smoke")
