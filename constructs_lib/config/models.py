"""Typed, frozen models of one environment's configuration (`config/<env>.yaml`).

Every difference between environments is a field here; constructs and stacks read fields and
never compare environment names. Defaults are the secure choice; a config file states only what
differs. Field names follow the Azure and Databricks terms (`node_type_id`, `retention_in_days`).
"""

from __future__ import annotations

import re
from datetime import date
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from constructs_lib.azure.job_failure_query import EVALUATION_FREQUENCY_MINUTES
from constructs_lib.config import service_rules

ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")
"""Environment names become parts of Azure names: lowercase letters and digits, 2-10 chars."""
STACK_SUFFIXES: tuple[str, ...] = ("", "-workspace")
"""Each environment is synthesized into one stack per suffix: `<env>` (Azure platform) and
`<env>-workspace` (what is configured inside the Databricks workspace)."""
WORKSPACE_STACK_SUFFIX = STACK_SUFFIXES[1]
"""The suffix of an environment's workspace stack: `<env>-workspace`."""
AZURE_DATABRICKS_APP_ID = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
"""Application ID of the `AzureDatabricks` first-party application (the same in every tenant)."""
RESERVED_STACK_NAMES = frozenset({"bootstrap"})
"""Stack names the app uses for itself (the bootstrap stack, its local state file
`terraform.bootstrap.tfstate`): no environment may create a stack of that name."""
EMAIL_ADDRESS = re.compile(
    r"^(?=.{3,254}$)[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$"
)
"""A plain e-mail address (`name@example.com`): what Azure Monitor and Databricks accept, and
nothing Terraform or a shell could read as syntax."""
MAX_TAG_VALUE_LENGTH = 256
"""Azure's limit for a tag value."""
MAX_TAG_KEY_LENGTH = 128
"""Azure's limit for a tag name on a storage account (512 on most other resources); the
environment's tags reach every storage account."""
MAX_LISTED_IP_RANGES = 999
"""A workspace's IP access lists hold at most 1,000 entries; the stack adds one (the NAT
gateway's public IP, the clusters' egress)."""
MAX_USER_TAGS = 48
"""Azure allows 50 tags per resource; `environment` and `managed-by` are always added."""


def _email(value: str) -> str:
    if not EMAIL_ADDRESS.fullmatch(value):
        from constructs_lib.config.errors import shown

        raise ValueError(
            f"{shown(value)} is not a plain e-mail address; write it as name@example.com"
        )
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]


def _checked(value: str, rule) -> str:
    """`value` if `rule(value)` (a `service_rules` check) finds nothing wrong."""
    from constructs_lib.config.errors import shown

    problem = rule(value) if len(value) <= 200 else f"{shown(value)} is too long to be valid"
    if problem:
        raise ValueError(problem)
    return value


class StrictModel(BaseModel):
    """Base: immutable, unknown keys rejected (a typo is an error, not a silent default)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        use_attribute_docstrings=True,
        # inf and NaN cannot be written as JSON and crash the jsii kernel.
        allow_inf_nan=False,
    )


class NamingSettings(StrictModel):
    """Inputs of the naming helper (`constructs_lib.naming`)."""

    prefix: str = Field(default="mlops", pattern=r"^[a-z][a-z0-9]{1,7}$")
    """Leading part of every deployed name. 2-8 lowercase letters or digits, starting with a
    letter (storage account names allow no hyphens and at most 24 characters)."""
    suffix: str | None = Field(default=None, pattern=r"^[a-z0-9]{4}$")
    """Four characters that make globally unique names (storage, Key Vault) unique to this
    deployment. Default: derived from a hash of prefix, environment and location, so it is
    stable between synths; set it explicitly if that name is already taken in Azure."""


class AzureSettings(StrictModel):
    """Where the environment lives."""

    location: str = Field(pattern=r"^[a-z]+[a-z0-9]*$")
    """Azure region name as the CLI prints it (e.g. `westeurope`)."""
    use_existing_resource_group: bool = False
    """True when the resource group was created by the bootstrap stack; the environment stack
    then reads it instead of creating it."""


class NetworkSettings(StrictModel):
    """The VNet the Databricks workspace is injected into (secure cluster connectivity)."""

    vnet_cidr: IPv4Network
    """Address space of the VNet, e.g. `10.10.0.0/16`."""
    host_subnet_cidr: IPv4Network
    """Databricks "public" (host) subnet. With no_public_ip it has no public addresses.
    At least /26 (Databricks requirement)."""
    container_subnet_cidr: IPv4Network
    """Databricks "private" (container) subnet. At least /26."""
    private_endpoint_subnet_cidr: IPv4Network | None = None
    """Subnet for the workspace's private endpoint; required when the workspace's public network
    access is disabled."""

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkSettings:
        problems: list[str] = []
        subnets = {
            "host_subnet_cidr": self.host_subnet_cidr,
            "container_subnet_cidr": self.container_subnet_cidr,
        }
        if self.private_endpoint_subnet_cidr is not None:
            subnets["private_endpoint_subnet_cidr"] = self.private_endpoint_subnet_cidr
        for name, net in subnets.items():
            if not net.subnet_of(self.vnet_cidr):
                problems.append(
                    f"{name} {net} is not inside vnet_cidr {self.vnet_cidr}; "
                    f"pick a range inside {self.vnet_cidr}"
                )
        for name in ("host_subnet_cidr", "container_subnet_cidr"):
            if subnets[name].prefixlen > 26:
                problems.append(
                    f"{name} {subnets[name]} is smaller than /26, the minimum Databricks accepts; "
                    "use a /26 or larger range"
                )
        names = list(subnets)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if subnets[a].overlaps(subnets[b]):
                    problems.append(
                        f"{a} {subnets[a]} overlaps {b} {subnets[b]}; subnets must not overlap"
                    )
        if problems:
            raise ValueError(" | ".join(problems))
        return self


class WorkspaceSettings(StrictModel):
    """The Azure Databricks workspace."""

    sku: Literal["premium"] = "premium"
    """Unity Catalog, cluster policies and access control need the premium tier."""
    public_network_access_enabled: bool = False
    """Whether the workspace UI and REST API are reachable from the internet. Default off; then a
    private endpoint in `network.private_endpoint_subnet_cidr` serves them, and deployments must
    run from inside the network (self-hosted runners)."""
    no_public_ip: bool = True
    """Secure cluster connectivity: cluster nodes get no public IP addresses."""
    browser_authentication_endpoint: bool = True
    """Without public access: also create the `browser_authentication` private endpoint that
    web sign-in (SSO) needs. Azure shares one per region and private DNS zone; set false only
    when another workspace (a "web auth" workspace) already provides it for this network."""
    allowed_ip_ranges: tuple[IPv4Network, ...] = ()
    """Public addresses (CIDR) allowed to reach the workspace UI and REST API: a workspace IP
    access list (`databricks_ip_access_list`, ALLOW) with IP access lists enabled. Required in
    protected environments whose workspace has public network access (rule MLOPS-DBW-2).
    Include the egress addresses of the runners that deploy (Databricks refuses a list that
    would block the caller). The compute plane's own egress (the NAT gateway's public IP) is
    added by the stack, not listed here. At most 999 entries (a workspace holds 1,000, one is
    the NAT IP). Default: none (no IP restriction)."""

    @field_validator("allowed_ip_ranges")
    @classmethod
    def _ip_ranges(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        if any(net.prefixlen == 0 for net in value):
            raise ValueError(
                "0.0.0.0/0 allows every address; list the specific ranges that need access"
            )
        if len(value) > MAX_LISTED_IP_RANGES:
            raise ValueError(
                f"{len(value)} ranges; list at most {MAX_LISTED_IP_RANGES} (a workspace's IP "
                "access lists hold 1000 entries and the stack adds the NAT gateway's IP)"
            )
        return value


class KeyVaultSettings(StrictModel):
    """The environment's Key Vault (RBAC authorization)."""

    sku_name: Literal["standard", "premium"] = "standard"
    purge_protection_enabled: bool = True
    """Deleted vaults and secrets cannot be purged before the retention ends. Cannot be turned
    off again once on."""
    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)
    """Days a deleted vault or secret can be recovered (Azure allows 7-90)."""
    allowed_ip_ranges: tuple[IPv4Network, ...] = ()
    """Public addresses (CIDR) allowed through the firewall besides trusted Azure services. At
    most 1,000, no private (RFC 1918) range (Key Vault's limits)."""

    @field_validator("allowed_ip_ranges")
    @classmethod
    def _key_vault_ip_rules(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        problems = service_rules.firewall_ip_rule_problems(
            value,
            service="Key Vault",
            max_rules=service_rules.KEY_VAULT_MAX_IP_RULES,
            single_prefixes=True,
        )
        if problems:
            raise ValueError(" | ".join(problems))
        return value


class CustomerManagedKey(StrictModel):
    """An existing Key Vault key and the user-assigned identity that may use it. Both are
    created outside these stacks (the environment's vault firewall is closed to CI runners)."""

    key_vault_key_id: str = Field(
        pattern=r"^https://[a-z0-9-]+\.vault\.azure\.net/keys/[A-Za-z0-9-]+/?$"
    )
    """Versionless key ID, so Azure picks up rotated versions automatically."""
    user_assigned_identity_id: str = Field(
        pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$"
    )
    """ARM ID of an identity with Key Vault Crypto Service Encryption User on the key."""


SubnetId = Annotated[
    str,
    Field(
        pattern=r"^/subscriptions/[0-9a-fA-F-]{36}/resource[Gg]roups/[-A-Za-z0-9_.()]{1,90}/"
        r"providers/Microsoft\.Network/virtualNetworks/[-A-Za-z0-9_.]{1,80}/subnets/"
        r"[-A-Za-z0-9_.]{1,80}$"
    ),
]
"""The ARM ID of a subnet (`/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>`)."""


class StorageSettings(StrictModel):
    """The ADLS Gen2 account holding the medallion layers and the Unity Catalog root."""

    account_replication_type: Literal["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"] = "ZRS"
    """Zone-redundant by default; geo-redundant types for production data."""
    containers: tuple[str, ...] = ("bronze", "silver", "gold")
    """Medallion-layer containers. The Unity Catalog root container is always added."""
    allowed_ip_ranges: tuple[IPv4Network, ...] = ()
    """Public addresses (CIDR) allowed through the storage firewall besides the workspace subnets
    and trusted Azure services. At most 200, no private (RFC 1918) range, no /31 (Azure
    Storage's limits; a single address is written without its /32)."""
    customer_managed_key: CustomerManagedKey | None = None
    """Encrypt the data lake with your own Key Vault key (e.g. in prod). Default: Microsoft-managed
    keys with infrastructure (double) encryption."""
    serverless_subnet_ids: tuple[SubnetId, ...] = ()
    """The stable Azure subnets of the environment's network connectivity configuration (NCC):
    Databricks serverless compute (Lakehouse Monitoring refreshes, serverless jobs and SQL
    warehouses) reaches the data lake from them, so its firewall admits them. Copy them from
    the bootstrap stack's output `serverless_network_<env>` (README, "From zero to deployed").
    Required with a quality monitor (`databricks.ml.quality_monitor.enabled` and Unity
    Catalog): without them every monitor refresh is refused by the firewall."""

    @field_validator("allowed_ip_ranges")
    @classmethod
    def _storage_ip_rules(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        problems = service_rules.firewall_ip_rule_problems(
            value,
            service="Azure Storage",
            max_rules=service_rules.STORAGE_MAX_IP_RULES,
            single_prefixes=False,
        )
        if problems:
            raise ValueError(" | ".join(problems))
        return value

    @property
    def ip_rules(self) -> tuple[str, ...]:
        """`allowed_ip_ranges` as Azure Storage takes them (a single address without /32)."""
        return tuple(service_rules.storage_ip_rule(n) for n in self.allowed_ip_ranges)

    @field_validator("containers")
    @classmethod
    def _container_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [
            c for c in value if not re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]", c)
        ]
        if bad:
            raise ValueError(
                f"invalid container name(s) {bad}; use 3-63 lowercase letters, digits and single "
                "hyphens, starting and ending with a letter or digit"
            )
        return value


class LogAnalyticsSettings(StrictModel):
    """Log Analytics workspace that receives every diagnostic setting."""

    retention_in_days: int = Field(default=90, ge=30, le=730)
    """Days logs are kept (Azure allows 30-730 on PerGB2018)."""
    daily_quota_gb: float = Field(default=-1, ge=-1)
    """Daily ingestion cap in GB; -1 means no cap."""


class EmailReceiver(StrictModel):
    """One e-mail receiver of the environment's action group."""

    name: str = Field(min_length=1, max_length=64)
    email_address: EmailAddress


class MonitoringSettings(StrictModel):
    """Azure Monitor: who is told, and when."""

    alert_email_receivers: tuple[EmailReceiver, ...] = Field(min_length=1)
    """People or distribution lists alerted when a Databricks job fails. At least one."""
    job_failure_alert_severity: int = Field(default=2, ge=0, le=4)
    """Azure Monitor severity of the failed-job alert (0 critical ... 4 verbose)."""
    job_failure_alert_window_minutes: int = 15
    """How often the failed-job alert evaluates, in minutes: one of 5, 10, 15, 30, 45, 60, 120,
    180, 240, 300, 360, 1440 (the frequencies Azure Monitor accepts, from 5). A failed job run
    is reported one to two periods after its final task attempt failed."""

    @field_validator("job_failure_alert_window_minutes")
    @classmethod
    def _alert_frequency(cls, value: int) -> int:
        if value not in EVALUATION_FREQUENCY_MINUTES:
            raise ValueError(
                f"{value} is not an evaluation frequency Azure Monitor accepts; use one of "
                f"{', '.join(map(str, EVALUATION_FREQUENCY_MINUTES))}"
            )
        return value


BUDGET_TIME_GRAINS = (
    "Monthly",
    "Quarterly",
    "Annually",
    "BillingMonth",
    "BillingQuarter",
    "BillingAnnual",
)
"""What `azurerm_consumption_budget_resource_group` accepts (azurerm 4.55.0
`consumption_budget_base.go` 203-216)."""
MAX_BUDGET_NOTIFICATIONS = 5
"""Azure: up to five thresholds per budget (Cost Management, "Create and manage budgets")."""
MAX_BUDGET_CONTACT_EMAILS = 5
"""Azure: up to five e-mail addresses per budget (same page)."""
EARLIEST_BUDGET_START = date(2017, 6, 1)
"""Azure: a budget starts on or after June 1, 2017 (azurerm 4.55.0 `validate/time_period.go`)."""


class BudgetSettings(StrictModel):
    """Cost guardrail: an Azure budget on the environment's resource group that alerts the
    environment's action group and e-mail receivers at the configured percentages of actual
    and forecast cost. Budgets only notify; they never stop a resource."""

    amount: float = Field(ge=1)
    """Budget per time grain, in the subscription's billing currency (Azure accepts 1 or more).
    Required: no amount suits every team."""
    time_grain: Literal[BUDGET_TIME_GRAINS] = "Monthly"  # type: ignore[valid-type]
    """The period after which the spend resets: `Monthly`, `Quarterly`, `Annually`, or the
    invoice-aligned `BillingMonth`, `BillingQuarter`, `BillingAnnual` (pay-as-you-go and
    similar subscriptions only). Changing it replaces the budget."""
    start_date: str | None = None
    """First day of the budget, `YYYY-MM-01`: the first of a month, on or after 2017-06-01.
    Azure also refuses, when the budget is created, a start more than twelve months ahead or in
    the past beyond the current period. Default: the first of the month in which the budget is
    created, computed by Terraform when it applies (`timestamp()`) and then kept
    (`ignore_changes`), so synthesis stays deterministic and neither a new environment nor a
    saved plan applied in a later month sends a stale date. Changing a set date replaces the
    budget."""
    actual_thresholds_percent: tuple[int, ...] = (80, 100)
    """Alert when the actual cost reaches these percentages of `amount` (1-1000 each)."""
    forecast_thresholds_percent: tuple[int, ...] = (100,)
    """Alert when the forecast cost for the period reaches these percentages (1-1000 each).
    With the actual ones at most five in all (Azure's limit)."""
    contact_emails: tuple[EmailAddress, ...] | None = None
    """Who is e-mailed besides the action group (at most five). Default: the addresses of
    `monitoring.alert_email_receivers`."""

    @field_validator("start_date")
    @classmethod
    def _start_date(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            start = date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            start = None
        if start is None:
            raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-01, e.g. 2025-01-01")
        if start.day != 1:
            raise ValueError(
                f"{value} is not the first of a month; Azure budgets start on the first, "
                f"e.g. {start.replace(day=1).isoformat()}"
            )
        if start < EARLIEST_BUDGET_START:
            raise ValueError(f"{value} is before 2017-06-01, the earliest start Azure accepts")
        return value

    @field_validator("actual_thresholds_percent", "forecast_thresholds_percent")
    @classmethod
    def _thresholds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [t for t in value if not 1 <= t <= 1000]
        if bad:
            raise ValueError(
                f"{bad} out of range; a budget threshold is a percentage from 1 to 1000"
            )
        twice = sorted({t for t in value if value.count(t) > 1})
        if twice:
            raise ValueError(f"{twice} listed more than once; list each percentage once")
        return value

    @model_validator(mode="after")
    def _notifications(self) -> BudgetSettings:
        count = len(self.actual_thresholds_percent) + len(self.forecast_thresholds_percent)
        if not 1 <= count <= MAX_BUDGET_NOTIFICATIONS:
            raise ValueError(
                f"{count} thresholds (actual and forecast together); Azure allows 1 to "
                f"{MAX_BUDGET_NOTIFICATIONS} per budget"
            )
        if self.contact_emails is not None and len(self.contact_emails) > MAX_BUDGET_CONTACT_EMAILS:
            raise ValueError(
                f"contact_emails has {len(self.contact_emails)} addresses; Azure allows at most "
                f"{MAX_BUDGET_CONTACT_EMAILS} per budget (use a distribution list)"
            )
        return self


class AzureMlSettings(StrictModel):
    """Optional Azure Machine Learning workspace, wired to the same Key Vault and App Insights."""

    enabled: bool = False
    public_network_access_enabled: bool = False
    """Whether the studio and API are reachable from the internet. Default: private only."""


class LocalStateBackend(StrictModel):
    """Terraform state in a local file per stack (works offline; for trying things out)."""

    type: Literal["local"] = "local"


class AzurermStateBackend(StrictModel):
    """Terraform state in Azure Storage, one key per environment, Azure AD authentication."""

    type: Literal["azurerm"]
    resource_group_name: str = Field(pattern=r"^[-\w.()]{0,89}[-\w()]$")
    storage_account_name: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    container_name: str = Field(default="tfstate", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    key: str | None = None
    """State blob name of the environment's first stack, ending in `.tfstate`; its other stacks
    add their suffix before it (`prod.tfstate`, `prod-workspace.tfstate`). Default:
    `<environment>.tfstate`. Unique across environments (checked)."""

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,200}\.tfstate", value) or any(
            part in (".", "..") for part in value.split("/")
        ):
            raise ValueError(
                "must be a relative blob name ending in .tfstate, of letters, digits, `.`, "
                "`_`, `-` and `/`, with no `.` or `..` segment; e.g. prod.tfstate"
            )
        if "//" in value:
            raise ValueError("must not contain an empty segment (`//`); e.g. prod.tfstate")
        return value


StateBackend = Annotated[LocalStateBackend | AzurermStateBackend, Field(discriminator="type")]


class UnityCatalogSettings(StrictModel):
    """Unity Catalog objects of the environment, or the legacy workspace registry."""

    enabled: bool = True
    """True: catalog, schemas, volume and a Unity Catalog registered model. False (workspaces
    without Unity Catalog): the legacy workspace model registry and Hive metastore."""
    metastore_id: str | None = Field(default=None, pattern=r"^[0-9a-f-]{36}$")
    """Assign the workspace to this metastore. Default: none (new workspaces are assigned to
    the region's metastore automatically)."""
    catalog_name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,254}$")
    """Default: `<prefix>_<environment>`."""
    feature_schema: str = "features"
    model_schema: str = "models"
    inference_schema: str = "inference"
    artifacts_volume: str = "artifacts"
    owner_group: str | None = None
    """Group that owns every Unity Catalog object the stack creates (catalog, schemas,
    volumes, registered model, storage credential, external location). Must be one of
    `databricks.groups`; the deploying identities must be members of it (README,
    prerequisites). Default: `databricks.groups.admins`."""


class DatabricksGroups(StrictModel):
    """Workspace groups (display names) that permissions are granted to."""

    admins: str = "ml-platform-admins"
    """MANAGE on secret scopes, CAN_MANAGE on jobs, clusters, experiment and model; usually the
    owner of the Unity Catalog objects, and the group the environment's deploying identities
    join. Groups are account-wide, so each environment needs its own (checked): otherwise the
    sandbox deployer, which runs any branch, would own prod's catalog. Default in an
    environment file: `ml-platform-admins-<environment>`."""
    ml_engineers: str = "ml-engineers"
    """Run and manage jobs, edit experiments and models."""
    data_scientists: str = "data-scientists"
    """Attach to the interactive cluster, view jobs, edit experiments, read models."""


class JobClusterSettings(StrictModel):
    """The shared job cluster of the ML jobs (constrained by the job cluster policy)."""

    min_workers: int = Field(default=1, ge=0)
    max_workers: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _range(self) -> JobClusterSettings:
        if self.max_workers < self.min_workers:
            raise ValueError(
                f"max_workers must be >= min_workers (got {self.max_workers} < "
                f"{self.min_workers}); raise max_workers or lower min_workers"
            )
        return self


class InteractiveClusterSettings(JobClusterSettings):
    """Interactive ML clusters (the original's `ml_cluster`): one dedicated (single-user)
    cluster per listed person, each running the environment's ML wheel as a library."""

    enabled: bool = False
    """Default off (production has no interactive compute); sandbox and dev turn it on."""
    users: tuple[EmailAddress, ...] = ()
    """The people who get a cluster of their own (Databricks user names, i.e. their e-mail
    addresses), each a member of one of `databricks.groups` so that the workspace knows them.
    Each cluster runs with its user's own identity and Unity Catalog grants (dedicated access
    mode, generally available), and its user may read the wheel it installs. Required when
    `enabled` (README, "Interactive clusters: one per person")."""
    autotermination_minutes: int = Field(default=30, ge=10, le=120)
    """Idle minutes before the cluster stops. Always on: 10-120."""
    min_workers: int = Field(default=1, ge=0)
    max_workers: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _users(self) -> InteractiveClusterSettings:
        if self.enabled and not self.users:
            raise ValueError(
                "enabled is true but users is empty; list the people who get a cluster "
                "(their Databricks user names), or set enabled: false"
            )
        lowered = [u.lower() for u in self.users]
        twice = sorted({u for u in self.users if lowered.count(u.lower()) > 1})
        if twice:
            raise ValueError(f"users lists {', '.join(twice)} more than once; list each once")
        return self


class InstancePoolSettings(StrictModel):
    """Optional pool of idle VMs that job clusters start from (faster starts, costs idle VMs)."""

    enabled: bool = False
    min_idle_instances: int = Field(default=0, ge=0)
    """Idle VMs kept ready; at most `max_capacity`."""
    max_capacity: int = Field(default=10, ge=1)
    """Most VMs in the pool, idle and in use together."""
    idle_instance_autotermination_minutes: int = Field(default=15, ge=0, le=10000)
    """Minutes an idle VM above `min_idle_instances` is kept (Databricks allows 0-10,000)."""

    @model_validator(mode="after")
    def _idle_within_capacity(self) -> InstancePoolSettings:
        if self.min_idle_instances > self.max_capacity:
            raise ValueError(
                f"min_idle_instances ({self.min_idle_instances}) exceeds max_capacity "
                f"({self.max_capacity}), which counts idle and used VMs together; lower "
                "min_idle_instances or raise max_capacity"
            )
        return self


class JobSchedule(StrictModel):
    """Quartz cron schedule of a job."""

    quartz_cron_expression: str
    """Quartz syntax, as Databricks takes it: `seconds minutes hours day-of-month month
    day-of-week [year]`, with `?` in exactly one of day-of-month and day-of-week (checked)."""
    timezone_id: str = "UTC"
    """A Java time-zone ID (an IANA ID such as `Europe/Amsterdam`; checked)."""
    paused: bool | None = None
    """Default: `databricks.schedules_paused` of the environment."""

    @field_validator("quartz_cron_expression")
    @classmethod
    def _quartz(cls, value: str) -> str:
        return _checked(value, service_rules.quartz_cron_problem)

    @field_validator("timezone_id")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        return _checked(value, service_rules.time_zone_problem)


class JobSettings(StrictModel):
    """One Databricks job, rendered from a template in `templates/jobs/`."""

    template: str = Field(pattern=r"^[a-z0-9_]+\.yaml\.j2$")
    """File name in templates/jobs/ (e.g. `ml_pipeline.yaml.j2`)."""
    schedule: JobSchedule | None = None
    """Default: no schedule (triggered by hand, by CI or by another job)."""
    timeout_seconds: int = Field(default=7200, ge=60, le=172800)
    """Whole-run timeout; every job has one."""
    max_retries: int = Field(default=1, ge=0, le=5)
    """Retries of a failed task."""
    window_days: int = Field(default=1, ge=1, le=3660)
    """Processing window of each run: the `window_days` days before the trigger date (job
    parameters `end-date` = `{{job.trigger.time.iso_date}}` and `window-days`; override both
    in "Run now with different parameters" to backfill). Default: 1 day."""


REPLAY_TEMPLATE = "replay.yaml.j2"
"""The job template of the sample replay (lands "today's" trips for the shipped demo)."""
STATIC_SAMPLES: dict[str, tuple[str, str]] = {
    "samples.nyctaxi.trips": ("2016-01-01", "2016-02-29"),
    "/databricks-datasets/nyctaxi-with-zipcodes/subsampled": ("2016-01-01", "2016-02-29"),
    "dbfs:/databricks-datasets/nyctaxi-with-zipcodes/subsampled": ("2016-01-01", "2016-02-29"),
}
"""Fixed samples every workspace carries -> (first, last) pickup date. Their trips never move,
so no scheduled window (the days before the trigger date) ever overlaps them: they can only be
replayed (docs/platform-assumptions.md, "ML jobs")."""


def _default_jobs(replay: bool = True) -> dict[str, JobSettings]:
    jobs = {
        "replay": JobSettings(
            template=REPLAY_TEMPLATE,
            schedule=JobSchedule(quartz_cron_expression="0 30 0 * * ?"),
            timeout_seconds=3600,
        ),
        "ml_pipeline": JobSettings(
            template="ml_pipeline.yaml.j2",
            schedule=JobSchedule(quartz_cron_expression="0 0 2 ? * MON"),
            timeout_seconds=10800,
            window_days=28,
        ),
        "batch_inference": JobSettings(
            template="batch_inference.yaml.j2",
            schedule=JobSchedule(quartz_cron_expression="0 0 5 * * ?"),
            timeout_seconds=3600,
        ),
        "monitoring": JobSettings(
            template="monitoring.yaml.j2",
            schedule=JobSchedule(quartz_cron_expression="0 0 7 * * ?"),
            # Its run_job task waits for the retrain it starts: ml_pipeline's 3 hours (and any
            # queue before it) plus its own tasks (rule MLOPS-JOB-5).
            timeout_seconds=14400,
        ),
    }
    if not replay:
        del jobs["replay"]
    return jobs


class TripsSource(StrictModel):
    """Where the trips every ML job reads come from (job parameters `source-table`, `trip-key`).

    `replay` (the shipped demo): the `replay` job lands "today's" trips into `landing_table`
    (in the feature schema) by replaying a fixed sample onto current dates; its first run
    backfills `backfill_days`. `table`: your own trips table, which the jobs read as is (no
    replay job); it must have the columns of `samples.nyctaxi.trips` and a trip key column.
    """

    kind: Literal["replay", "table"] = "replay"
    table: str | None = Field(
        default=None, pattern=r"^([A-Za-z0-9_]+\.){0,2}[A-Za-z0-9_]+$|^(/|dbfs:/|abfss://)[^\s]+$"
    )
    """kind `table`: the trips table (`catalog.schema.table`; a bare or two-level name is put
    in the environment's catalog and feature schema) or a Delta path."""
    sample: str | None = Field(
        default=None, pattern=r"^([A-Za-z0-9_]+\.){2}[A-Za-z0-9_]+$|^(/|dbfs:/|abfss://)[^\s]+$"
    )
    """kind `replay`: the sample replayed. Default: `samples.nyctaxi.trips` (Unity Catalog) or
    `/databricks-datasets/nyctaxi-with-zipcodes/subsampled` (legacy mode)."""
    landing_table: str = Field(default="trips_landing", pattern=r"^[a-z][a-z0-9_]*$")
    """kind `replay`: the table the replay writes and the jobs read (in the feature schema)."""
    trip_key_column: str = Field(default="trip_id", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The column that identifies a trip (the replay adds `trip_id`); the label step joins on
    it to fill in fares that arrive after scoring."""
    backfill_days: int = Field(default=29, ge=1, le=366)
    """kind `replay`: days of history each run makes sure are landed (the first run lands them
    all): the 28 days of the first training plus one day featurize reads before them."""

    @model_validator(mode="after")
    def _consistent(self) -> TripsSource:
        if self.kind == "table":
            if self.table is None:
                raise ValueError(
                    "trips_source.table is required with kind: table; name your trips table, or "
                    "use kind: replay for the shipped demo"
                )
            if self.table in STATIC_SAMPLES:
                first, last = STATIC_SAMPLES[self.table]
                raise ValueError(
                    f"trips_source.table {self.table!r} is a fixed sample ({first} to {last}): "
                    "no scheduled window ever overlaps it, so every run would find no data; use "
                    "kind: replay (with this sample) or your own live table"
                )
            if self.sample is not None:
                raise ValueError("trips_source.sample is only used with kind: replay; remove it")
        elif self.table is not None:
            raise ValueError(
                "trips_source.table is only used with kind: table; remove it, or set kind: table"
            )
        return self


class QualityMonitorSettings(StrictModel):
    """Lakehouse Monitoring (InferenceLog) on the inference table; Unity Catalog only."""

    enabled: bool = True
    """Default on whenever Unity Catalog is enabled (ignored in legacy mode)."""
    granularities: tuple[str, ...] = Field(default=("1 day",), min_length=1)
    """Aggregation windows of the metric tables: any of `5 minutes`, `30 minutes`, `1 hour`,
    `1 day`, `1 week` ... `4 weeks`, `1 month`, `1 year` (what the API accepts; checked)."""
    quartz_cron_expression: str = "0 0 6 * * ?"
    """Refresh schedule of the metric tables (Quartz syntax, checked). Default: daily 06:00,
    after batch scoring."""
    timezone_id: str = "UTC"
    """A Java time-zone ID (checked)."""
    warehouse_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    """SQL warehouse for the built-in dashboard and for creating the inference table. Default:
    none: no dashboard, and the provider creates the table on a temporary cluster."""

    @field_validator("granularities")
    @classmethod
    def _granularities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [g for g in value if g not in service_rules.MONITOR_GRANULARITIES]
        if bad:
            from constructs_lib.config.errors import shown

            raise ValueError(
                f"{shown(bad)} is not a granularity Lakehouse Monitoring accepts; use any of "
                f"{', '.join(service_rules.MONITOR_GRANULARITIES)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("a granularity is listed twice; list each once")
        return value

    @field_validator("quartz_cron_expression")
    @classmethod
    def _quartz(cls, value: str) -> str:
        return _checked(value, service_rules.quartz_cron_problem)

    @field_validator("timezone_id")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        return _checked(value, service_rules.time_zone_problem)


MlAccessLevel = Literal["CAN_READ", "CAN_EDIT"]
TableAccessLevel = Literal["READ", "WRITE"]


class MlAssetAccess(StrictModel):
    """What one group of people may do to the environment's MLflow experiment, model and
    catalog."""

    experiment: MlAccessLevel = "CAN_READ"
    """CAN_READ: see runs, metrics and artifacts. CAN_EDIT: also log, delete and retag runs,
    which includes the champion's baseline profile that monitoring compares against.
    Default: CAN_READ."""
    model: MlAccessLevel = "CAN_READ"
    """CAN_READ: load and inspect versions (Unity Catalog EXECUTE). CAN_EDIT: also set tags
    (APPLY_TAG), which includes the validation gate's verdict that promotion trusts.
    Default: CAN_READ."""
    tables: TableAccessLevel = "READ"
    """The environment's Unity Catalog catalog. READ: SELECT, READ_VOLUME, EXECUTE on all of
    it. WRITE: also MODIFY, CREATE_TABLE, CREATE_MODEL, CREATE_FUNCTION, WRITE_VOLUME, which
    includes the quality monitor's baseline, the monitoring verdicts and the drift metrics that
    monitoring and the retrain decision trust. Default: READ."""


class MlGroupPermissions(StrictModel):
    """People's access to the MLflow experiment, the registered model and the catalog, per
    group. The admin group always has CAN_MANAGE and the job principal what the jobs need; in a
    protected environment rule MLOPS-ML-1 refuses CAN_EDIT and WRITE for anyone else."""

    ml_engineers: MlAssetAccess = MlAssetAccess()
    data_scientists: MlAssetAccess = MlAssetAccess()


class MlSettings(StrictModel):
    """Names and thresholds the ML jobs get as parameters."""

    experiment_name: str = "nyc_e2e_mlops"
    """MLflow experiment (the original's name), created in the environment's directory. A
    name, not a path: letters, digits, spaces, `_`, `-`, `.`; no `/` (checked)."""
    model_name: str = Field(default="taxi_example_fare_packaged", pattern=r"^[a-z][a-z0-9_]*$")
    """Registered model name (the original's); in Unity Catalog `<catalog>.<models>.<name>`."""
    trips_source: TripsSource = TripsSource()
    """Where the trips come from. Default: replay of the shipped sample (the demo)."""
    min_improvement_over_baseline: float = Field(default=0.05, ge=0, lt=1)
    """Validation gate: the challenger's RMSE must be this fraction below the naive baseline's."""
    min_gain_over_champion: float = Field(default=0.01, ge=0, lt=1)
    """Validation gate: the challenger's RMSE must be this fraction below the champion's, both
    measured on the holdout trips picked up after the champion's training window (trips it
    never saw). Default 1 %: an improvement by noise is not promoted, and quality cannot
    ratchet down release after release."""
    psi_threshold: float = Field(default=0.2, gt=0)
    """Monitoring: population stability index above which a retrain is signalled."""
    inference_table: str = Field(default="taxi_fare_inference", pattern=r"^[a-z][a-z0-9_]*$")
    """Batch scoring log (in the inference schema); declared by the stack in Unity Catalog."""
    metrics_table: str = Field(default="taxi_fare_monitoring", pattern=r"^[a-z][a-z0-9_]*$")
    """The monitoring job's metrics and verdicts, and the expected states every step records
    (in the inference schema)."""
    baseline_table: str = Field(default="taxi_fare_baseline", pattern=r"^[a-z][a-z0-9_]*$")
    """Each model version's scored holdout (written by training; in the inference schema): the
    quality monitor's baseline."""
    label_lookback_days: int = Field(default=7, ge=1, le=90)
    """The label step fills in fares of trips scored in the last N days (late labels)."""
    quality_monitor: QualityMonitorSettings = QualityMonitorSettings()
    group_permissions: MlGroupPermissions = MlGroupPermissions()
    """People's access to the experiment and the model. Default: read only, for both groups
    (what production needs); sandbox and dev let them edit."""

    @field_validator("experiment_name")
    @classmethod
    def _experiment_name_is_a_name(cls, value: str) -> str:
        # The experiment lives at /Shared/<prefix>-<env>/<name>: a `/` or `..` would put it,
        # and its permissions, anywhere in the workspace.
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9 _.-]{0,99}", value) or ".." in value:
            from constructs_lib.config.errors import shown

            raise ValueError(
                f"{shown(value)} is not an experiment name; use 1-100 letters, digits, "
                "spaces, `_`, `-` and `.` (no `/` or `..`: the name is appended to the "
                "environment's workspace directory)"
            )
        return value.strip()


class GitFolderSettings(StrictModel):
    """A Databricks Git folder with the project repository, for notebooks and exploration."""

    url: str = Field(pattern=r"^https://")
    branch: str = "main"


class DatabricksSettings(StrictModel):
    """What is configured inside the Databricks workspace."""

    spark_version: str = "15.4.x-cpu-ml-scala2.12"
    """Databricks Runtime of every cluster: 15.4 LTS ML (Python 3.11, Spark 3.5). Pinned, so
    planning needs no workspace API call; the ML wheel's pins match it (ml_src/README.md). A
    runtime version key (`<major>.<minor>.x-...-scala2.12`; checked)."""
    node_type_id: str = "Standard_DS3_v2"
    """VM size of workers and driver (the original's). One of `allowed_node_type_ids`
    (checked): the job cluster policy refuses any other."""
    allowed_node_type_ids: tuple[str, ...] = Field(
        default=(
            "Standard_DS3_v2",
            "Standard_DS4_v2",
            "Standard_D4ds_v5",
        ),
        min_length=1,
    )
    """VM sizes the job cluster policy allows (its allowlist; the first is its default)."""
    unity_catalog: UnityCatalogSettings = UnityCatalogSettings()
    groups: DatabricksGroups = DatabricksGroups()
    job_run_as_service_principal: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    """Application (client) ID of an existing service principal, assigned to the workspace,
    that every job runs as. Default: the workspace stack creates a Databricks-managed service
    principal `<prefix>-<env>-jobs` for that. Either way it gets exactly the grants the jobs
    need (README, Security) and never the deploying identity's rights."""
    deployer_application_ids: tuple[
        Annotated[
            str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        ],
        ...,
    ] = ()
    """Application (client) IDs of the identities that deploy this environment; rule
    MLOPS-JOB-3 refuses a job that runs as one of them. `main.py` adds the client ID of the
    identity it runs as (`ARM_CLIENT_ID`/`AZURE_CLIENT_ID`), so CI checks its own deployer."""
    account_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    """Databricks account ID (account console, top right). Needed to let the owner group use
    the job principal the stack creates (its rule set is an account-level object); required
    unless `job_run_as_service_principal` names an existing one."""
    job_cluster: JobClusterSettings = JobClusterSettings()
    interactive_cluster: InteractiveClusterSettings = InteractiveClusterSettings()
    instance_pool: InstancePoolSettings = InstancePoolSettings()
    schedules_paused: bool = True
    """Default for every job schedule: paused (deployed but not running on its own)."""
    notification_emails: tuple[EmailAddress, ...] = ()
    """Who is e-mailed when a job run fails. Default: the environment's alert receivers."""
    jobs: dict[str, JobSettings] = Field(default_factory=_default_jobs)
    """Jobs by key; created in this order, so a job can trigger the jobs listed before it.
    Default: `replay` (only with `ml.trips_source.kind: replay`), `ml_pipeline`,
    `batch_inference`, `monitoring`."""
    ml: MlSettings = MlSettings()
    azure_databricks_principal_object_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    """Object ID, in your tenant, of the `AzureDatabricks` enterprise application (app ID
    2ff814a6-3304-4ab8-85cb-cd0e6f879c1d): `az ad sp show --id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d
    --query id -o tsv`. With an RBAC Key Vault, a Key Vault-backed scope can read secrets only
    when this principal has Key Vault Secrets User; the platform stack assigns that role.
    Required with `secret_scope_backend: azure_keyvault` (the default)."""
    secret_scope_backend: Literal["azure_keyvault", "databricks"] = "azure_keyvault"
    """Key Vault-backed scope (secrets stay in Key Vault) or the Databricks-backed fallback."""
    git_folder: GitFolderSettings | None = None
    """Default: no Git folder."""
    restrict_workspace_admins: bool = True
    """Workspace setting `RestrictWorkspaceAdmins` = `RESTRICT_TOKENS_AND_JOB_RUN_AS`:
    workspace admins (every deploying identity, anyone with Contributor on the workspace) may
    then create tokens, and set a job's run_as, only for service principals on which they hold
    the Service Principal User role, and change a job's owner only to themselves. Only an
    account admin can change the setting: one enables it once per environment and the stack
    adopts it (an `import`) and keeps checking it; the deploying identity never holds an
    account role (README, "Deploying"). Default on; sandbox and dev turn it off."""

    @field_validator("spark_version")
    @classmethod
    def _spark_version(cls, value: str) -> str:
        return _checked(value, service_rules.spark_version_problem)

    @field_validator("node_type_id")
    @classmethod
    def _node_type(cls, value: str) -> str:
        return _checked(value, service_rules.node_type_problem)

    @field_validator("allowed_node_type_ids")
    @classmethod
    def _allowed_node_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = [p for v in value if (p := service_rules.node_type_problem(v))]
        if len(set(value)) != len(value):
            problems.append("a node type is listed twice; list each once")
        if problems:
            raise ValueError(" | ".join(problems))
        return value

    @model_validator(mode="after")
    def _node_type_allowed(self) -> DatabricksSettings:
        if self.node_type_id not in self.allowed_node_type_ids:
            raise ValueError(
                f"node_type_id {self.node_type_id!r} is not in allowed_node_type_ids "
                f"({', '.join(self.allowed_node_type_ids)}), the job cluster policy's "
                "allowlist, so every job cluster would be refused; add it to "
                "allowed_node_type_ids or pick one of them"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _jobs_for_the_source(cls, data: object) -> object:
        """Without an explicit `jobs`, the replay job exists only for a replayed source."""
        if isinstance(data, dict) and "jobs" not in data:
            ml = data.get("ml")
            source = ml.get("trips_source") if isinstance(ml, dict) else None
            kind = source.get("kind", "replay") if isinstance(source, dict) else "replay"
            data = {**data, "jobs": _default_jobs(replay=kind == "replay")}
        return data

    @model_validator(mode="after")
    def _replay_job_matches_the_source(self) -> DatabricksSettings:
        replays = [k for k, j in self.jobs.items() if j.template == REPLAY_TEMPLATE]
        kind = self.ml.trips_source.kind
        if kind == "replay" and not replays:
            raise ValueError(
                "ml.trips_source.kind is replay but no job uses templates/jobs/"
                f"{REPLAY_TEMPLATE}; add the replay job to databricks.jobs, or set "
                "ml.trips_source to kind: table with your own trips table"
            )
        if kind == "table" and replays:
            raise ValueError(
                f"databricks.jobs {replays} replay the sample, but ml.trips_source is kind: "
                "table (a live source); remove those jobs"
            )
        return self

    @model_validator(mode="after")
    def _principals(self) -> DatabricksSettings:
        problems = []
        groups = {self.groups.admins, self.groups.ml_engineers, self.groups.data_scientists}
        owner = self.unity_catalog.owner_group
        if owner is not None and owner not in groups:
            problems.append(
                f"unity_catalog.owner_group {owner!r} is not one of the configured groups "
                f"({', '.join(sorted(groups))}); set it to one of them (usually groups.admins)"
            )
        if problems:
            raise ValueError(" | ".join(problems))
        return self

    @property
    def owner_group(self) -> str:
        """Owner of the Unity Catalog objects the stack creates."""
        return self.unity_catalog.owner_group or self.groups.admins

    @field_validator("jobs")
    @classmethod
    def _job_keys(cls, value: dict[str, JobSettings]) -> dict[str, JobSettings]:
        bad = [k for k in value if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", k)]
        if bad:
            raise ValueError(
                f"invalid job key(s) {bad}; use lowercase letters, digits and underscores"
            )
        return value


class PolicySuppression(StrictModel):
    """Silences one policy rule, with the reason written down (printed with every finding)."""

    rule: str
    """Rule ID, e.g. `MLOPS-KV-3` (README, section Security)."""
    reason: str = Field(min_length=20)
    """Why the rule does not apply or is accepted here. Required: at least 20 characters."""
    path: str = ""
    """Construct path prefix it applies to (e.g. `dev-workspace/Dbx/Compute`); empty: both
    stacks of the environment."""

    @field_validator("reason")
    @classmethod
    def _written_reason(cls, value: str) -> str:
        if len(" ".join(value.split())) < 20:
            raise ValueError(
                "the reason is blank or shorter than 20 characters once whitespace is "
                "removed; write why the rule does not apply here"
            )
        return value

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        from constructs_lib.policy.rules import ALL_RULE_IDS

        if value not in ALL_RULE_IDS:
            raise ValueError(
                f"unknown rule {value!r}; use one of {', '.join(sorted(ALL_RULE_IDS))}"
            )
        return value


class PolicySettings(StrictModel):
    """The policy rule pack's knobs for this environment."""

    max_autotermination_minutes: int = Field(default=120, ge=10, le=1440)
    """Upper bound of any interactive cluster's autotermination (rule MLOPS-CL-1)."""
    suppressions: tuple[PolicySuppression, ...] = ()
    """Rules silenced in this environment, each with its reason. Default: none."""
    min_ip_rule_prefix_length: int = Field(default=24, ge=8, le=32)
    """Widest IP range a firewall rule (Key Vault, storage, workspace IP access list) may allow
    in a protected environment (rule MLOPS-NET-2): 24 means at most a /24 (256 addresses).
    Default 24; 8 at the least. `0.0.0.0/0` is refused in every environment."""


def check_tags(value: dict[str, str]) -> dict[str, str]:
    """Azure's tag rules for every resource the tags reach: keys 1-128 characters (a storage
    account's limit; 512 elsewhere) without <>%&\\?/, values at most 256 characters, at most
    `MAX_USER_TAGS` tags. Raises ValueError listing every problem."""
    from constructs_lib.config.errors import shown

    problems = []
    bad = [k for k in value if not k or len(k) > MAX_TAG_KEY_LENGTH or re.search(r"[<>%&\\?/]", k)]
    if bad:
        problems.append(
            f"invalid tag key(s) {shown(bad)}; use 1-{MAX_TAG_KEY_LENGTH} characters without "
            "<>%&\\?/ (Azure's rules; storage accounts allow the fewest characters)"
        )
    long_values = [k for k, v in value.items() if len(v) > MAX_TAG_VALUE_LENGTH]
    if long_values:
        problems.append(
            f"tag value(s) of {shown(long_values)} longer than {MAX_TAG_VALUE_LENGTH} "
            f"characters; shorten them (Azure's limit is {MAX_TAG_VALUE_LENGTH})"
        )
    if len(value) > MAX_USER_TAGS:
        problems.append(
            f"{len(value)} tags; use at most {MAX_USER_TAGS} (Azure allows 50 per "
            "resource and two are always added)"
        )
    if problems:
        raise ValueError(" | ".join(problems))
    return value


DEFAULT_SMOKE_JOBS: tuple[str, ...] = ("replay", "ml_pipeline", "batch_inference", "monitoring")
"""The jobs the dev smoke run starts, in order (tools/smoke/chain.py `SmokePlan` defaults);
`replay` only where the environment has it."""
GUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class SmokeSettings(StrictModel):
    """The smoke run after each deploy of this environment (docs/cicd.md, The dev smoke run):
    a GitHub job runs the ML jobs on the workspace as a run-only identity and asserts their
    outcomes; uat and prod deploy only commits whose smoke passed."""

    enabled: bool = False
    """Create the smoke identity: in the bootstrap stack a user-assigned managed identity
    `<prefix>-<env>-github-smoke` federated to the GitHub environment `<env>-smoke`, with no
    Azure role; in the workspace a service principal for it with CAN_MANAGE_RUN on the smoke's
    jobs and nothing else. Default: off (dev turns it on)."""
    application_id: str | None = Field(default=None, pattern=GUID_PATTERN)
    """Client ID of that identity: `AZURE_CLIENT_ID` of the bootstrap output
    `github_environment_<env>-smoke`. Required when enabled."""
    jobs: tuple[str, ...] | None = None
    """Jobs the smoke identity may run (CAN_MANAGE_RUN on each). Default: those of
    `DEFAULT_SMOKE_JOBS` this environment defines."""


class EnvironmentConfig(StrictModel):
    """Everything that differs between sandbox, dev, uat, prod (and any environment you add)."""

    name: str
    """The environment name: the file name without `.yaml`. Also the stack name."""
    protected: bool = True
    """Protected environments keep their stateful resources from being destroyed by accident
    (Terraform `prevent_destroy`). Default on; sandbox and dev turn it off."""
    naming: NamingSettings = NamingSettings()
    azure: AzureSettings
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags on every taggable resource (applied by an aspect). `environment` and `managed-by`
    are always added."""
    network: NetworkSettings
    workspace: WorkspaceSettings = WorkspaceSettings()
    key_vault: KeyVaultSettings = KeyVaultSettings()
    storage: StorageSettings = StorageSettings()
    log_analytics: LogAnalyticsSettings = LogAnalyticsSettings()
    monitoring: MonitoringSettings
    budget: BudgetSettings
    """The environment's cost budget (required: amount and thresholds are the team's call)."""
    azure_ml: AzureMlSettings = AzureMlSettings()
    databricks: DatabricksSettings = DatabricksSettings()
    policy: PolicySettings = PolicySettings()
    state_backend: StateBackend = LocalStateBackend()
    smoke: SmokeSettings = SmokeSettings()

    @model_validator(mode="before")
    @classmethod
    def _admin_group_per_environment(cls, data: Any) -> Any:
        """`databricks.groups.admins` defaults to `ml-platform-admins-<environment>`."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return data
        databricks = data.get("databricks") if data.get("databricks") is not None else {}
        groups = databricks.get("groups") if isinstance(databricks, dict) else None
        groups = {} if groups is None and isinstance(databricks, dict) else groups
        if not isinstance(groups, dict) or "admins" in groups:
            return data
        return {
            **data,
            "databricks": {
                **databricks,
                "groups": {**groups, "admins": f"ml-platform-admins-{data['name']}"},
            },
        }

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        from constructs_lib.config.errors import shown

        if not ENVIRONMENT_NAME.fullmatch(value):
            raise ValueError(
                f"environment name {shown(value)} is invalid; rename the file to 2-10 lowercase "
                "letters or digits, starting with a letter (e.g. config/qa.yaml)"
            )
        taken = [f"{value}{s}" for s in STACK_SUFFIXES if f"{value}{s}" in RESERVED_STACK_NAMES]
        if taken:
            raise ValueError(
                f"environment name {value!r} is reserved: the app's own stack {taken[0]!r} "
                "(and its local state) uses it; rename the file (e.g. config/boot.yaml)"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        return check_tags(value)

    @model_validator(mode="after")
    def _tenant_specific_ids(self) -> EnvironmentConfig:
        """IDs only the platform team knows, required by what the config asks for."""
        db = self.databricks
        problems = []
        if db.secret_scope_backend == "azure_keyvault" and not (
            db.azure_databricks_principal_object_id
        ):
            problems.append(
                "databricks.azure_databricks_principal_object_id is required with a Key "
                "Vault-backed secret scope (databricks.secret_scope_backend: azure_keyvault, the "
                "default): AzureDatabricks needs Key Vault Secrets User on the vault, or every "
                "secret read is a 403; set it to the output of `az ad sp show --id "
                f"{AZURE_DATABRICKS_APP_ID} --query id -o tsv`"
            )
        if db.job_run_as_service_principal is None and db.account_id is None:
            problems.append(
                "databricks.account_id is required when the stack creates the job principal "
                "(databricks.job_run_as_service_principal is not set): the principal's rule set "
                "is an account-level object; copy the ID from the account console (top right), "
                "or name an existing service principal in job_run_as_service_principal"
            )
        if problems:
            raise ValueError(" | ".join(problems))
        return self

    @model_validator(mode="after")
    def _budget_contacts(self) -> EnvironmentConfig:
        if (
            self.budget.contact_emails is None
            and len(self.monitoring.alert_email_receivers) > MAX_BUDGET_CONTACT_EMAILS
        ):
            raise ValueError(
                f"budget.contact_emails is not set, so the budget would e-mail all "
                f"{len(self.monitoring.alert_email_receivers)} monitoring.alert_email_receivers; "
                f"Azure allows at most {MAX_BUDGET_CONTACT_EMAILS}: set budget.contact_emails"
            )
        return self

    @property
    def budget_contact_emails(self) -> tuple[str, ...]:
        """Who the budget e-mails: `budget.contact_emails`, or the alert receivers."""
        if self.budget.contact_emails is not None:
            return self.budget.contact_emails
        return tuple(r.email_address for r in self.monitoring.alert_email_receivers)

    @model_validator(mode="after")
    def _serverless_reaches_the_data_lake(self) -> EnvironmentConfig:
        db = self.databricks
        if (
            db.unity_catalog.enabled
            and db.ml.quality_monitor.enabled
            and not self.storage.serverless_subnet_ids
        ):
            raise ValueError(
                "databricks.ml.quality_monitor is on but storage.serverless_subnet_ids is empty: "
                "monitor refreshes run on serverless compute, which the data lake's firewall "
                "refuses unless it admits the subnets of the environment's network "
                "connectivity configuration; copy them from the bootstrap output "
                f"serverless_network_{self.name} (or set "
                "databricks.ml.quality_monitor.enabled: false)"
            )
        return self

    @model_validator(mode="after")
    def _private_endpoint_subnet(self) -> EnvironmentConfig:
        if (
            not self.workspace.public_network_access_enabled
            and self.network.private_endpoint_subnet_cidr is None
        ):
            raise ValueError(
                "workspace.public_network_access_enabled is false but "
                "network.private_endpoint_subnet_cidr is not set; add a subnet for the "
                "workspace's private endpoint or enable public network access"
            )
        return self

    @model_validator(mode="after")
    def _smoke_identity(self) -> EnvironmentConfig:
        """The smoke identity runs jobs only: it exists when enabled, is no other identity,
        and is granted only jobs this environment defines."""
        smoke, db = self.smoke, self.databricks
        problems = []
        if smoke.enabled and not smoke.application_id:
            problems.append(
                "smoke.application_id is required when smoke.enabled is true; set it to "
                f"AZURE_CLIENT_ID of the bootstrap output github_environment_{self.name}-smoke"
            )
        others = {db.job_run_as_service_principal, *db.deployer_application_ids} - {None}
        if smoke.application_id and smoke.application_id in others:
            problems.append(
                f"smoke.application_id {smoke.application_id} is also the job principal or a "
                "deployer; the smoke identity must be its own identity that can only run jobs"
            )
        unknown = [j for j in smoke.jobs or () if j not in db.jobs]
        if unknown:
            problems.append(
                f"smoke.jobs names {', '.join(unknown)}, not in databricks.jobs "
                f"({', '.join(db.jobs)}); list only jobs of this environment"
            )
        if problems:
            raise ValueError(" | ".join(problems))
        return self

    @property
    def smoke_jobs(self) -> tuple[str, ...]:
        """Jobs the smoke identity may run: `smoke.jobs`, else `DEFAULT_SMOKE_JOBS` present
        here (in `databricks.jobs` order); empty when the smoke is off."""
        if not self.smoke.enabled:
            return ()
        wanted = self.smoke.jobs if self.smoke.jobs is not None else DEFAULT_SMOKE_JOBS
        return tuple(key for key in self.databricks.jobs if key in wanted)

    @property
    def workspace_stack_name(self) -> str:
        """Name of the environment's workspace stack (its platform stack is `name`)."""
        return self.stack_names[1]

    @property
    def stack_names(self) -> tuple[str, ...]:
        """Names of this environment's stacks (`STACK_SUFFIXES`), in order."""
        return tuple(f"{self.name}{suffix}" for suffix in STACK_SUFFIXES)

    @property
    def state_key(self) -> str:
        """Blob name of this environment's remote state (its first stack)."""
        return self.state_keys[0]

    @property
    def state_keys(self) -> tuple[str, ...]:
        """Blob names of the remote state of each stack (`stack_names`, same order):
        `<key stem><suffix>.tfstate`, e.g. `prod.tfstate`, `prod-workspace.tfstate`."""
        backend = self.state_backend
        stem = self.name
        if isinstance(backend, AzurermStateBackend) and backend.key:
            stem = backend.key.removesuffix(".tfstate")
        return tuple(f"{stem}{suffix}.tfstate" for suffix in STACK_SUFFIXES)

    @property
    def workspace_state_key(self) -> str:
        """Blob name of the workspace stack's remote state (same container as the platform's,
        so one role on the container covers both)."""
        return self.state_keys[1]
