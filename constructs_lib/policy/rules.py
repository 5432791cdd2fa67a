"""Policy rules: each a pure function with an ID, a one-line message, an explanation and a level.

A *resource rule* looks at one resource (its Terraform type, construct path and arguments as
`to_terraform()` gives them); a *stack rule* looks at all resources of a stack at once (for
"every X has a Y"). A rule returns the problems it found as strings (empty: compliant).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class ResourceView:
    """One resource as a rule sees it."""

    type: str
    """Terraform resource type, e.g. `azurerm_key_vault`."""
    path: str
    """Construct path, e.g. `prod/KeyVault/Vault`."""
    address: str
    """Terraform address, e.g. `azurerm_key_vault.KeyVault_DE550064`."""
    attrs: Mapping[str, Any]
    """Arguments as synthesized (references are unresolved token strings)."""


@dataclass(frozen=True)
class PolicyContext:
    """What rules may know about the environment."""

    environment: str
    protected: bool
    """Protected environments (uat, prod) must have purge protection and the like."""
    max_autotermination_minutes: int = 120
    admin_groups: tuple[str, ...] = ()
    """Groups trusted to write what jobs execute (the owner group of the environment)."""
    deployer_principals: tuple[str, ...] = ()
    """Application IDs of the identities that deploy the environment (jobs must not run as
    them)."""
    min_ip_rule_prefix_length: int = 24
    """Widest IP range a firewall rule may allow in a protected environment (MLOPS-NET-2)."""


@dataclass(frozen=True)
class Rule:
    id: str
    message: str
    """One line: what must hold."""
    explanation: str
    """Why, and how to comply."""
    level: Level
    applies_to: tuple[str, ...] = ()
    """Resource types of a resource rule (check(view, ctx) -> [detail]); empty for a stack
    rule (check(views, ctx) -> [(construct path, detail)])."""
    check: Callable[..., list[Any]] = field(repr=False, default=lambda *_: [])


@dataclass(frozen=True)
class Finding:
    rule: Rule
    path: str
    """Construct path of the offending resource (or the stack)."""
    detail: str
    suppressed_by: str | None = None
    """The reason of the suppression that silenced it, if any."""

    def __str__(self) -> str:
        return (
            f"[{self.rule.level}] {self.rule.id} {self.path}: {self.rule.message} ({self.detail})"
        )


def _block(value: Any) -> Mapping[str, Any]:
    """A nested block as a mapping (single blocks synthesize as a dict or a one-item list)."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], Mapping) else {}
    return value if isinstance(value, Mapping) else {}


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    return [v for v in value or [] if isinstance(v, Mapping)]


# --- resource rules -----------------------------------------------------------------------------


def _workspace_isolated(view: ResourceView, ctx: PolicyContext) -> list[str]:
    params = _block(view.attrs.get("custom_parameters"))
    problems = []
    if params.get("no_public_ip") is not True:
        problems.append("custom_parameters.no_public_ip is not true")
    if not params.get("virtual_network_id"):
        problems.append("custom_parameters.virtual_network_id is not set (not VNet-injected)")
    return problems


def _storage_transport(view: ResourceView, ctx: PolicyContext) -> list[str]:
    problems = []
    if view.attrs.get("min_tls_version") != "TLS1_2":
        problems.append(f"min_tls_version is {view.attrs.get('min_tls_version')!r}, not 'TLS1_2'")
    if view.attrs.get("https_traffic_only_enabled") is False:
        problems.append("https_traffic_only_enabled is false")
    return problems


def _storage_no_public_blobs(view: ResourceView, ctx: PolicyContext) -> list[str]:
    if view.attrs.get("allow_nested_items_to_be_public") is not False:
        return ["allow_nested_items_to_be_public is not false"]
    return []


def _key_vault_rbac(view: ResourceView, ctx: PolicyContext) -> list[str]:
    rbac = view.attrs.get("rbac_authorization_enabled", view.attrs.get("enable_rbac_authorization"))
    problems = [] if rbac is True else ["rbac_authorization_enabled is not true"]
    if view.attrs.get("access_policy"):
        problems.append("access policies are set (use Azure RBAC role assignments)")
    return problems


def _key_vault_soft_delete(view: ResourceView, ctx: PolicyContext) -> list[str]:
    days = view.attrs.get("soft_delete_retention_days")
    if not isinstance(days, int | float) or days < 7:
        return [f"soft_delete_retention_days is {days!r}, expected 7-90"]
    return []


def _key_vault_purge_protection(view: ResourceView, ctx: PolicyContext) -> list[str]:
    if ctx.protected and view.attrs.get("purge_protection_enabled") is not True:
        return [f"environment {ctx.environment} is protected but purge_protection_enabled is off"]
    return []


def _cluster_autotermination(view: ResourceView, ctx: PolicyContext) -> list[str]:
    minutes = view.attrs.get("autotermination_minutes")
    if not isinstance(minutes, int | float) or not 1 <= minutes <= ctx.max_autotermination_minutes:
        return [
            f"autotermination_minutes is {minutes!r}, expected 1-{ctx.max_autotermination_minutes}"
        ]
    return []


def _job_guardrails(view: ResourceView, ctx: PolicyContext) -> list[str]:
    problems = []
    if not view.attrs.get("timeout_seconds"):
        problems.append("no timeout_seconds")
    if not _block(view.attrs.get("email_notifications")).get("on_failure") and not _block(
        view.attrs.get("webhook_notifications")
    ).get("on_failure"):
        problems.append("no failure notification")
    if not view.attrs.get("max_concurrent_runs"):
        problems.append("no max_concurrent_runs")
    return problems


def _run_job_timeouts(views: Sequence[ResourceView], ctx: PolicyContext) -> list[tuple[str, str]]:
    """Every job with a `run_job_task` has a `timeout_seconds` longer than the job it runs."""
    jobs = {v.address: v for v in views if v.type == "databricks_job"}
    findings = []
    for parent in jobs.values():
        own = parent.attrs.get("timeout_seconds") or 0
        for task in _blocks(parent.attrs.get("task")):
            target = _reference_address(_block(task.get("run_job_task")).get("job_id"))
            child = jobs.get(target) if target else None
            if child is None:
                continue
            theirs = child.attrs.get("timeout_seconds") or 0
            if not isinstance(own, int | float) or not isinstance(theirs, int | float):
                continue
            if own and not theirs:  # 0 or unset: no limit
                findings.append(
                    (
                        parent.path,
                        f"task {task.get('task_key')!r} runs {child.path}, which has no "
                        f"timeout, but this job's timeout is {own} s",
                    )
                )
            elif own and own <= theirs:
                findings.append(
                    (
                        parent.path,
                        f"task {task.get('task_key')!r} runs {child.path} (timeout {theirs} s) "
                        f"but this job's timeout is {own} s",
                    )
                )
    return findings


def _job_clusters_use_policy(view: ResourceView, ctx: PolicyContext) -> list[str]:
    problems = []
    for cluster in _blocks(view.attrs.get("job_cluster")):
        if not _block(cluster.get("new_cluster")).get("policy_id"):
            problems.append(f"job cluster {cluster.get('job_cluster_key')!r} has no policy_id")
    for task in _blocks(view.attrs.get("task")):
        if task.get("new_cluster") and not _block(task["new_cluster"]).get("policy_id"):
            problems.append(f"task {task.get('task_key')!r} cluster has no policy_id")
    return problems


def _secret_acl_not_all_users(view: ResourceView, ctx: PolicyContext) -> list[str]:
    if view.attrs.get("principal") == "users" and view.attrs.get("permission") in (
        "MANAGE",
        "WRITE",
    ):
        return [f"{view.attrs.get('permission')} granted to all users"]
    return []


# --- stack rules --------------------------------------------------------------------------------

_DIAGNOSED = {
    "azurerm_databricks_workspace": "the Databricks workspace",
    "azurerm_key_vault": "the Key Vault",
    "azurerm_storage_account": "the storage account",
}


def _diagnostics_present(
    views: Sequence[ResourceView], ctx: PolicyContext
) -> list[tuple[str, str]]:
    # Targets are references such as `${azurerm_key_vault.KeyVault_DE550064.id}` or, for
    # storage, `${azurerm_storage_account.X.id}/blobServices/default`.
    targets = " ".join(
        str(v.attrs.get("target_resource_id", ""))
        for v in views
        if v.type == "azurerm_monitor_diagnostic_setting"
    )
    return [
        (v.path, f"{_DIAGNOSED[v.type]} {v.address} has no diagnostic setting")
        for v in views
        if v.type in _DIAGNOSED and "${" + v.address + "." not in targets
    ]


_REMOTE_OUTPUT = re.compile(r"\$\{data\.terraform_remote_state\.[^.}]+\.outputs\.([^.}]+)\}")


def _resolved(entry: str, outputs: Mapping[str, str]) -> str:
    """An IP access list entry with a cross-stack reference (`terraform_remote_state` output of
    the platform stack) replaced by the output's own value (`${azurerm_public_ip.X.ip_address}`)."""
    match = _REMOTE_OUTPUT.fullmatch(entry)
    return outputs.get(match.group(1), entry) if match else entry


def _compute_egress_ips(views: Sequence[ResourceView]) -> list[str]:
    """References to the addresses the compute plane leaves the VNet from: the public IPs of
    every NAT gateway associated with a subnet."""
    gateways_in_use = {
        v.attrs.get("nat_gateway_id")
        for v in views
        if v.type == "azurerm_subnet_nat_gateway_association"
    }
    ip_ids = sorted(
        str(v.attrs.get("public_ip_address_id"))
        for v in views
        if v.type == "azurerm_nat_gateway_public_ip_association"
        and v.attrs.get("nat_gateway_id") in gateways_in_use
    )
    return [i.removesuffix(".id}") + ".ip_address}" for i in ip_ids if i.endswith(".id}")]


def _public_workspace_has_ip_access_list(
    views: Sequence[ResourceView], ctx: PolicyContext
) -> list[tuple[str, str]]:
    """A protected environment whose workspace is reachable from the internet restricts the
    UI and REST API to known addresses: IP access lists switched on, one enabled ALLOW list
    with at least one range, none of them 0.0.0.0/0. And in any environment, once IP access
    lists are on, a workspace with secure cluster connectivity has the compute plane's egress
    addresses (its NAT gateway's public IPs) in an enabled ALLOW list: otherwise classic
    compute cannot reach the control plane and no cluster starts (Azure Databricks, "Configure
    IP access lists for workspaces", requirements)."""
    workspaces = [v for v in views if v.type == "azurerm_databricks_workspace"]
    public = [
        v for v in workspaces if v.attrs.get("public_network_access_enabled", True) is not False
    ]
    switched_on = any(
        str(_block(v.attrs.get("custom_config")).get("enableIpAccessLists", "")).lower() == "true"
        for v in views
        if v.type == "databricks_workspace_conf"
    )
    allow_lists = [
        v
        for v in views
        if v.type == "databricks_ip_access_list"
        and v.attrs.get("list_type") == "ALLOW"
        and v.attrs.get("enabled", True) is not False
        and v.attrs.get("ip_addresses")
    ]
    findings: list[tuple[str, str]] = []
    if ctx.protected and public:
        open_ranges = [
            f"{v.address} allows {addr}"
            for v in allow_lists
            for addr in v.attrs.get("ip_addresses", [])
            if str(addr).endswith("/0")
        ]
        problems = []
        if not switched_on:
            problems.append("IP access lists are not enabled (databricks_workspace_conf)")
        if not allow_lists:
            problems.append("no enabled ALLOW list with at least one range")
        problems += open_ranges
        findings += [
            (
                v.path,
                f"{v.address} has public network access; " + "; ".join(problems) + " "
                f"(config/{ctx.environment}.yaml: workspace.allowed_ip_ranges)",
            )
            for v in public
            if problems
        ]
    secure_connectivity = [
        v
        for v in workspaces
        if _block(v.attrs.get("custom_parameters")).get("no_public_ip") is True
    ]
    if switched_on and secure_connectivity:
        outputs = {
            v.address.removeprefix("output."): str(v.attrs.get("value", ""))
            for v in views
            if v.type == "output"
        }
        allowed = {
            _resolved(str(addr), outputs)
            for v in allow_lists
            for addr in v.attrs.get("ip_addresses", [])
        }
        egress = _compute_egress_ips(views)
        if not egress:
            problem = (
                "IP access lists are on, but the compute plane has no stable egress IP (a NAT "
                "gateway's public IP) that an ALLOW list could hold"
            )
        else:
            missing = [e for e in egress if e not in allowed]
            problem = (
                f"IP access lists are on, but no enabled ALLOW list holds the compute plane's "
                f"egress IP {', '.join(missing)} (clusters could not reach the control plane)"
                if missing
                else ""
            )
        if problem:
            findings += [
                (
                    v.path,
                    f"{problem}; the workspace stack adds it from the platform stack's outputs "
                    f"(config/{ctx.environment}.yaml: workspace.allowed_ip_ranges)",
                )
                for v in secure_connectivity
            ]
    return findings


_DEPLOYER_REFERENCES = (
    "data.databricks_current_user.",
    "data.databricks_current_service_principal.",
)


def _job_runs_as_its_own_principal(view: ResourceView, ctx: PolicyContext) -> list[str]:
    """Protected environments: every job runs as a service principal that is not the
    deploying identity (without `run_as` a job runs as its creator, the deployer)."""
    if not ctx.protected:
        return []
    run_as = _block(view.attrs.get("run_as"))
    if not run_as:
        return ["no run_as: the job would run as its creator, the deploying identity"]
    if run_as.get("user_name"):
        return [f"runs as the user {run_as['user_name']!r}, not a service principal"]
    principal = str(run_as.get("service_principal_name", ""))
    if not principal:
        return ["run_as names no service principal"]
    if any(ref in principal for ref in _DEPLOYER_REFERENCES) or principal in (
        ctx.deployer_principals
    ):
        return [f"runs as the deploying identity ({principal})"]
    return []


_REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")
_WRITE_LEVELS = frozenset({"CAN_EDIT", "CAN_RUN", "CAN_MANAGE"})
_VOLUME_WRITE = frozenset({"WRITE_VOLUME", "ALL_PRIVILEGES", "MANAGE"})


def _resolve(value: Any, by_address: Mapping[str, ResourceView], depth: int = 0) -> str | None:
    """A string with references to literal attributes of other resources substituted
    (`workspace_path` of a workspace file is `/Workspace` + its path); None if a reference
    leads to something unknown before apply."""
    if not isinstance(value, str) or depth > 5:
        return None

    def substitute(match: re.Match) -> str:
        rtype, name, attr = match.groups()
        view = by_address.get(f"{rtype}.{name}")
        if view is None:
            raise LookupError
        if rtype == "databricks_workspace_file" and attr == "workspace_path":
            inner = _resolve(view.attrs.get("path"), by_address, depth + 1)
            if inner is None:
                raise LookupError
            return "/Workspace" + inner
        inner = _resolve(view.attrs.get(attr), by_address, depth + 1)
        if inner is None:
            raise LookupError
        return inner

    try:
        return _REFERENCE.sub(substitute, value)
    except LookupError:
        return None


def _workspace_path(path: str) -> str:
    return path.removeprefix("/Workspace") or "/"


def _job_code_paths(job: ResourceView) -> list[tuple[str, str]]:
    """(task key, path) of every library and task file a job executes."""
    found = []
    for task in _blocks(job.attrs.get("task")):
        key = str(task.get("task_key", "?"))
        for library in _blocks(task.get("library")):
            for kind in ("whl", "jar", "egg", "requirements"):
                if library.get(kind):
                    found.append((key, library[kind]))
        for block, attr in (
            ("spark_python_task", "python_file"),
            ("notebook_task", "notebook_path"),
        ):
            path = _block(task.get(block)).get(attr)
            if path:
                found.append((key, path))
    return found


def _job_code_only_admins_write(
    views: Sequence[ResourceView], ctx: PolicyContext
) -> list[tuple[str, str]]:
    """What a job executes lives where only admins can write: not under /Shared (every user
    manages everything there), and in a folder whose explicit permissions give write levels
    to the admin groups only (or, for a volume, WRITE VOLUME to the admin groups only)."""
    by_address = {v.address: v for v in views}
    folders = [
        (path, v)
        for v in views
        if v.type == "databricks_permissions" and "directory_path" in v.attrs
        for path in [_resolve(v.attrs["directory_path"], by_address)]
        if path is not None
    ]
    volume_grants = [v for v in views if v.type == "databricks_grants" and "volume" in v.attrs]
    findings = []
    for job in (v for v in views if v.type == "databricks_job"):
        for task, raw in _job_code_paths(job):
            path = _resolve(raw, by_address)
            where = f"task {task}: {raw}"
            if path is None:
                findings.append((job.path, f"{where} cannot be resolved to a known location"))
                continue
            if path.startswith("/Volumes/"):
                findings += _volume_writers(job, where, path, volume_grants, by_address, ctx)
                continue
            local = _workspace_path(path)
            if local == "/Shared" or local.startswith("/Shared/"):
                findings.append((job.path, f"{where} is under /Shared, where every user can write"))
                continue
            covering = [
                (folder, v)
                for folder, v in folders
                if local.startswith(_workspace_path(folder).rstrip("/") + "/")
            ]
            if not covering:
                findings.append(
                    (job.path, f"{where} is in no folder with explicit permissions in this stack")
                )
                continue
            _, acl = max(covering, key=lambda item: len(item[0]))
            # The folder's ACL, and any ACL on the file itself (e.g. a person's read grant for
            # an interactive cluster): neither may let anyone but the admin groups write.
            own = [
                v
                for v in views
                if v.type == "databricks_permissions"
                and "workspace_file_path" in v.attrs
                and (target := _resolve(v.attrs["workspace_file_path"], by_address)) is not None
                and _workspace_path(target) == local
            ]
            writers = [
                str(a.get("group_name") or a.get("user_name") or a.get("service_principal_name"))
                for entry in (acl, *own)
                for a in _blocks(entry.attrs.get("access_control"))
                if a.get("permission_level") in _WRITE_LEVELS
                and not (a.get("group_name") and a["group_name"] in ctx.admin_groups)
            ]
            if writers:
                findings.append(
                    (job.path, f"{where}: {', '.join(sorted(writers))} can write its folder")
                )
    return findings


def _volume_writers(job, where, path, grants, by_address, ctx) -> list[tuple[str, str]]:
    volume = ".".join(path.split("/")[2:5])
    for grant in grants:
        if _resolve(grant.attrs.get("volume"), by_address) == volume:
            writers = [
                str(g.get("principal"))
                for g in _blocks(grant.attrs.get("grant"))
                if _VOLUME_WRITE & set(g.get("privileges", []))
                and g.get("principal") not in ctx.admin_groups
            ]
            if writers:
                return [(job.path, f"{where}: {', '.join(sorted(writers))} can write the volume")]
            return []
    return [(job.path, f"{where}: no grants on volume {volume} in this stack")]


_READ_LEVELS = frozenset({"CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"})
_DEDICATED_MODES = frozenset({"SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED"})
_PRINCIPAL_KEYS = ("user_name", "group_name", "service_principal_name")


def _reference_address(value: Any) -> str | None:
    """`type.name` of the resource a `${type.name.attr}` reference points to, else None."""
    match = _REFERENCE.fullmatch(str(value)) if isinstance(value, str) else None
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _interactive_libraries_readable(
    views: Sequence[ResourceView], ctx: PolicyContext
) -> list[tuple[str, str]]:
    """A dedicated cluster installs its libraries with its assigned principal's identity, and a
    library that fails to install fails the cluster's create (provider 1.99): every workspace
    library of such a cluster is readable by that principal through explicit permissions in
    the stack, and the cluster waits for them (`depends_on`)."""
    by_address = {v.address: v for v in views}
    acls = []
    for v in views:
        if v.type != "databricks_permissions":
            continue
        for key, exact in (("workspace_file_path", True), ("directory_path", False)):
            if key in v.attrs:
                target = _resolve(v.attrs[key], by_address)
                if target is not None:
                    acls.append((_workspace_path(target), exact, v))
    findings = []
    for cluster in (v for v in views if v.type == "databricks_cluster"):
        owner = cluster.attrs.get("single_user_name")
        if cluster.attrs.get("data_security_mode") not in _DEDICATED_MODES or not owner:
            continue
        waits_for = set(cluster.attrs.get("depends_on") or [])
        for library in _blocks(cluster.attrs.get("library")):
            for kind in ("whl", "jar", "requirements"):
                raw = library.get(kind)
                if not raw:
                    continue
                path = _resolve(raw, by_address)
                if path is None:
                    findings.append((cluster.path, f"{kind} {raw} cannot be resolved"))
                    continue
                if not path.startswith("/") or path.startswith("/Volumes/"):
                    continue  # object storage or a volume: Unity Catalog grants apply
                if owner in ctx.admin_groups:
                    continue
                local = _workspace_path(path)
                granting = [
                    v
                    for target, exact, v in acls
                    if (local == target if exact else local.startswith(target.rstrip("/") + "/"))
                    and any(
                        owner in (a.get(k) for k in _PRINCIPAL_KEYS)
                        and a.get("permission_level") in _READ_LEVELS
                        for a in _blocks(v.attrs.get("access_control"))
                    )
                ]
                if not granting:
                    findings.append(
                        (cluster.path, f"{owner} cannot read {kind} {local} (no explicit grant)")
                    )
                elif not any(v.address in waits_for for v in granting):
                    findings.append(
                        (
                            cluster.path,
                            f"the cluster does not depend on the grant that lets {owner} read "
                            f"{local} ({granting[0].address})",
                        )
                    )
    return findings


_PEOPLE_EXPERIMENT_WRITE = frozenset({"CAN_EDIT", "CAN_MANAGE"})
_PEOPLE_LEGACY_MODEL_WRITE = frozenset(
    {"CAN_EDIT", "CAN_MANAGE", "CAN_MANAGE_STAGING_VERSIONS", "CAN_MANAGE_PRODUCTION_VERSIONS"}
)
_PEOPLE_MODEL_WRITE = frozenset({"APPLY_TAG", "ALL_PRIVILEGES", "MANAGE"})
_PEOPLE_TABLE_WRITE = frozenset({"MODIFY", "ALL_PRIVILEGES", "MANAGE"})
_APPLICATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _is_person(principal: Any, ctx: PolicyContext) -> bool:
    """A user or group other than the admin groups (service principals are application IDs,
    literal or a reference to a created principal)."""
    text = str(principal)
    return not (
        text in ctx.admin_groups
        or _APPLICATION_ID.match(text)
        or text.startswith("${databricks_service_principal.")
    )


def _people_grants_on(
    views: Sequence[ResourceView],
    ctx: PolicyContext,
    target_types: tuple[str, ...],
    securable_key: str,
    risky_privileges: frozenset[str],
    what: str,
) -> list[tuple[str, str]]:
    """People's grants of `risky_privileges` on a resource of `target_types`, its schema or its
    catalog (privileges are inherited downwards)."""
    targets = [v for v in views if v.type in target_types]
    addresses = {t.address for t in targets}
    for t in targets:
        addresses |= {_reference_address(t.attrs.get(k)) for k in ("schema_name", "catalog_name")}
    addresses.discard(None)
    findings = []
    for v in views:
        if v.type != "databricks_grants":
            continue
        securable = next(
            (v.attrs[k] for k in (securable_key, "schema", "catalog") if k in v.attrs), None
        )
        if _reference_address(securable) not in addresses:
            continue
        for g in _blocks(v.attrs.get("grant")):
            risky = sorted(risky_privileges & set(g.get("privileges", [])))
            if risky and _is_person(g.get("principal"), ctx):
                findings.append(
                    (
                        v.path,
                        f"{g.get('principal')} has {', '.join(risky)} on {what} ({securable})",
                    )
                )
    return findings


def _people_read_what_production_trusts(
    views: Sequence[ResourceView], ctx: PolicyContext
) -> list[tuple[str, str]]:
    """Protected environments: people (anyone but the admin groups and service principals)
    only read the MLflow experiment and the registered model. CAN_EDIT on the experiment lets
    them delete or retag runs, including the champion's baseline profile monitoring compares
    against; APPLY_TAG (or more) on the model, its schema or its catalog lets them set the
    validation gate's verdict that promotion trusts; MODIFY (or more) on the declared tables,
    their schema or their catalog lets them rewrite the baseline, verdicts and drift metrics
    that monitoring and the retrain decision read."""
    if not ctx.protected:
        return []
    findings = []
    for v in views:
        if v.type != "databricks_permissions":
            continue
        for key, levels in (
            ("experiment_id", _PEOPLE_EXPERIMENT_WRITE),
            ("registered_model_id", _PEOPLE_LEGACY_MODEL_WRITE),
        ):
            if key not in v.attrs:
                continue
            for a in _blocks(v.attrs.get("access_control")):
                who = a.get("user_name") or a.get("group_name")
                if who and a.get("permission_level") in levels and _is_person(who, ctx):
                    findings.append(
                        (v.path, f"{who} has {a['permission_level']} ({key.removesuffix('_id')})")
                    )
    # The tables monitoring, scoring and the retrain decision trust (features, the quality
    # monitor's baseline, the verdicts, the drift metrics: declared by the stack or written by
    # the jobs into its catalog): no person may write the catalog, a schema or a table of it.
    # And the registered model: no person may tag it.
    findings += _people_grants_on(
        views,
        ctx,
        ("databricks_sql_table", "databricks_schema", "databricks_catalog"),
        "table",
        _PEOPLE_TABLE_WRITE,
        "the environment's catalog, a schema or a table of it",
    )
    findings += _people_grants_on(
        views,
        ctx,
        ("databricks_registered_model",),
        "model",
        _PEOPLE_MODEL_WRITE,
        "the registered model or its parent",
    )
    return findings


RULES: tuple[Rule, ...] = (
    Rule(
        "MLOPS-JOB-3",
        "Jobs of a protected environment run as their own service principal",
        "A job without run_as runs as its creator: the deploying identity, workspace admin and "
        "owner of the catalog. Every job runs as the environment's job principal "
        "(databricks.job_run_as_service_principal, or the one the stack creates).",
        "error",
        ("databricks_job",),
        _job_runs_as_its_own_principal,
    ),
    Rule(
        "MLOPS-JOB-4",
        "What a job executes lives where only admins can write",
        "Anyone who can replace a job's wheel or task file runs code as the job's principal at "
        "its next run. Keep code in the deployment folder (admins CAN_MANAGE, the job "
        "principal CAN_READ), never under /Shared.",
        "error",
        (),
        _job_code_only_admins_write,
    ),
    Rule(
        "MLOPS-DBW-2",
        "A protected environment's public workspace has an IP access list that admits its "
        "own compute plane",
        "With public network access, anyone on the internet can reach the workspace sign-in "
        "and REST API; set workspace.allowed_ip_ranges (your networks and the deploying "
        "runners' egress addresses), or turn workspace.public_network_access_enabled off. "
        "Whenever IP access lists are on, the NAT gateway's public IP (the clusters' egress "
        "with secure cluster connectivity) must be in an ALLOW list, or no cluster starts.",
        "error",
        (),
        _public_workspace_has_ip_access_list,
    ),
    Rule(
        "MLOPS-DBW-1",
        "Databricks workspace is VNet-injected with no public IP",
        "Secure cluster connectivity keeps cluster nodes off the internet; set "
        "workspace.no_public_ip and inject the workspace into the environment's VNet.",
        "error",
        ("azurerm_databricks_workspace",),
        _workspace_isolated,
    ),
    Rule(
        "MLOPS-ST-1",
        "Storage accepts TLS 1.2 over HTTPS only",
        "Older TLS versions and plain HTTP expose data in transit.",
        "error",
        ("azurerm_storage_account",),
        _storage_transport,
    ),
    Rule(
        "MLOPS-ST-2",
        "Storage allows no public blob access",
        "Anonymous blob access leaks data; set allow_nested_items_to_be_public = false.",
        "error",
        ("azurerm_storage_account",),
        _storage_no_public_blobs,
    ),
    Rule(
        "MLOPS-KV-1",
        "Key Vault uses Azure RBAC, not access policies",
        "RBAC gives auditable, least-privilege access that access policies cannot.",
        "error",
        ("azurerm_key_vault",),
        _key_vault_rbac,
    ),
    Rule(
        "MLOPS-KV-2",
        "Key Vault keeps deleted secrets recoverable (soft delete)",
        "Soft delete with 7-90 days of retention lets a deleted secret be recovered.",
        "error",
        ("azurerm_key_vault",),
        _key_vault_soft_delete,
    ),
    Rule(
        "MLOPS-KV-3",
        "Key Vault of a protected environment has purge protection",
        "Without purge protection a deleted vault can be purged at once, losing its secrets; "
        "set key_vault.purge_protection_enabled in protected environments.",
        "error",
        ("azurerm_key_vault",),
        _key_vault_purge_protection,
    ),
    Rule(
        "MLOPS-DIAG-1",
        "Workspace, Key Vault and storage send diagnostics to Log Analytics",
        "Audit logs are the only record of who did what; add a diagnostic setting for each.",
        "error",
        (),
        _diagnostics_present,
    ),
    Rule(
        "MLOPS-CL-1",
        "Interactive clusters autoterminate within the configured maximum",
        "An idle cluster that never stops costs money all night; set autotermination_minutes "
        "within policy.max_autotermination_minutes.",
        "error",
        ("databricks_cluster",),
        _cluster_autotermination,
    ),
    Rule(
        "MLOPS-CL-2",
        "A dedicated cluster's user can read the workspace libraries it installs",
        "A dedicated (single-user) cluster installs libraries with its assigned user's "
        "identity, and a library that fails to install fails the cluster's create (the apply "
        "keeps failing). Grant the user CAN_READ on the library (not write: it is what the jobs "
        "run) and make the cluster depend on that grant.",
        "error",
        (),
        _interactive_libraries_readable,
    ),
    Rule(
        "MLOPS-ML-1",
        "In a protected environment people only read the experiment, the model and the tables",
        "Runs, the champion's baseline, the gate's verdict tag, the monitoring verdicts and the "
        "drift metrics are what monitoring, promotion and the retrain decision trust. Give "
        "people CAN_READ on the experiment, no APPLY_TAG on the model and READ on the tables "
        "(databricks.ml.group_permissions); the jobs write them as the job principal.",
        "error",
        (),
        _people_read_what_production_trusts,
    ),
    Rule(
        "MLOPS-JOB-1",
        "Every job has a timeout, a failure notification and max_concurrent_runs",
        "A hung or failing job must stop and be noticed; overlapping runs corrupt tables.",
        "error",
        ("databricks_job",),
        _job_guardrails,
    ),
    Rule(
        "MLOPS-JOB-5",
        "A job that runs another job has a longer timeout than that job",
        "A run_job task waits for the run it starts, so the parent's timeout also covers the "
        "child's run (and any queue before it): a shorter one times the parent out, e-mails "
        "on-call and may cancel the child. Set the parent's timeout_seconds above the child's "
        "(databricks.jobs.<key>.timeout_seconds).",
        "error",
        (),
        _run_job_timeouts,
    ),
    Rule(
        "MLOPS-JOB-2",
        "Job clusters use a cluster policy",
        "Policies pin the runtime, VM sizes, security mode and cost tags of job clusters.",
        "error",
        ("databricks_job",),
        _job_clusters_use_policy,
    ),
    Rule(
        "MLOPS-SEC-1",
        "No secret scope ACL grants MANAGE or WRITE to all users",
        "Every user could read and replace the credentials (a flaw of the original accelerator).",
        "error",
        ("databricks_secret_acl",),
        _secret_acl_not_all_users,
    ),
)


# --- exposure rules: public network access, shared keys, open IP ranges -------------------------
# Each a resource rule over the synthesized JSON. The Databricks workspace's own public access is
# the lead's rule (a protected environment with a public workspace needs an IP access list);
# Application Insights and Log Analytics stay public on purpose (no Azure Monitor Private Link
# Scope exists here), so no rule covers them.

_FIREWALL_BLOCK = {"azurerm_storage_account": "network_rules", "azurerm_key_vault": "network_acls"}


def _no_public_network_access(view: ResourceView, ctx: PolicyContext) -> list[str]:
    # azurerm defaults public_network_access_enabled to true for all three types.
    if view.attrs.get("public_network_access_enabled", True) is False:
        return []
    if view.type == "azurerm_machine_learning_workspace":
        return ["public_network_access_enabled is not false: studio and API face the internet"]
    block = _FIREWALL_BLOCK[view.type]
    action = _block(view.attrs.get(block)).get("default_action")
    if action != "Deny":
        return [
            f"public network access is on and {block}.default_action is {action!r}, not "
            "'Deny': reachable from the whole internet"
        ]
    return []


def _storage_no_shared_keys(view: ResourceView, ctx: PolicyContext) -> list[str]:
    # azurerm defaults shared_access_key_enabled to true.
    if view.attrs.get("shared_access_key_enabled", True) is not False:
        return [
            "shared_access_key_enabled is not false: the account keys (and SAS tokens signed "
            "with them) grant full access, bypassing Entra ID and RBAC"
        ]
    return []


_IP_RULE_ARGUMENTS = {
    "azurerm_storage_account": ("network_rules", "ip_rules"),
    "azurerm_key_vault": ("network_acls", "ip_rules"),
    "databricks_ip_access_list": (None, "ip_addresses"),
}


def _ip_rules_narrow(view: ResourceView, ctx: PolicyContext) -> list[str]:
    block, argument = _IP_RULE_ARGUMENTS[view.type]
    if view.type == "databricks_ip_access_list" and view.attrs.get("list_type") == "BLOCK":
        return []
    entries = (_block(view.attrs.get(block)) if block else view.attrs).get(argument) or []
    if not isinstance(entries, list):
        return []  # one Terraform reference for the whole list: nothing literal to judge
    where = f"{block}.{argument}" if block else argument
    problems = []
    for entry in entries:
        if not isinstance(entry, str) or entry.startswith("${"):
            continue
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            problems.append(f"{where} entry {entry[:60]!r} is not an IP address or range")
            continue
        widest = ctx.min_ip_rule_prefix_length + (96 if network.version == 6 else 0)
        if network.prefixlen == 0:
            problems.append(f"{where} allows {entry!r}: every address on the internet")
        elif ctx.protected and network.prefixlen < widest:
            problems.append(
                f"{where} allows {entry!r} ({network.num_addresses:,} addresses), wider than "
                f"/{widest} in protected environment {ctx.environment}"
            )
    return problems


EXPOSURE_RULES: tuple[Rule, ...] = (
    Rule(
        "MLOPS-NET-1",
        "Key Vault, storage and Azure ML are not open to the whole internet",
        "Turn public network access off, or keep it behind a firewall that denies by default "
        "(network_rules / network_acls default_action = Deny); an Azure ML workspace needs "
        "azure_ml.public_network_access_enabled: false.",
        "error",
        ("azurerm_storage_account", "azurerm_key_vault", "azurerm_machine_learning_workspace"),
        _no_public_network_access,
    ),
    Rule(
        "MLOPS-NET-2",
        "Firewall IP rules are narrow (never 0.0.0.0/0)",
        "An allow rule for 0.0.0.0/0 opens the firewall to everyone; in protected environments "
        "no rule may be wider than policy.min_ip_rule_prefix_length (default /24). List the "
        "egress addresses that need access instead.",
        "error",
        tuple(_IP_RULE_ARGUMENTS),
        _ip_rules_narrow,
    ),
    Rule(
        "MLOPS-ST-3",
        "Storage accounts allow no shared key access",
        "Set shared_access_key_enabled = false so that only Entra ID identities with RBAC "
        "roles reach the data; account keys cannot be scoped, audited per user or revoked "
        "without rotating them everywhere.",
        "error",
        ("azurerm_storage_account",),
        _storage_no_shared_keys,
    ),
)
RULES = (*RULES, *EXPOSURE_RULES)
# --- end of exposure rules ----------------------------------------------------------------------

RULES_BY_ID: Mapping[str, Rule] = {r.id: r for r in RULES}
SECRET_SCAN_RULE = Rule(
    "MLOPS-LEAK-1",
    "No literal credential in the synthesized JSON",
    "Secrets are referenced by Key Vault or secret scope names only; a key, token, password or "
    "connection string in the output would end up in state files, plans and snapshots.",
    "error",
)
ALL_RULE_IDS = frozenset([*RULES_BY_ID, SECRET_SCAN_RULE.id])


def evaluate(
    views: Iterable[ResourceView], ctx: PolicyContext, rules: Sequence[Rule] = RULES
) -> list[Finding]:
    """Every finding of `rules` over `views` (unsuppressed)."""
    views = list(views)
    findings: list[Finding] = []
    for rule in rules:
        if rule.applies_to:
            for view in views:
                if view.type in rule.applies_to:
                    findings += [Finding(rule, view.path, d) for d in rule.check(view, ctx)]
        else:
            findings += [Finding(rule, path, d) for path, d in rule.check(views, ctx)]
    return findings
