"""Case tables for every policy rule: non-compliant cases, and one compliant case each."""

from __future__ import annotations

import pytest

from constructs_lib.policy.rules import (
    RULES_BY_ID,
    PolicyContext,
    ResourceView,
    evaluate,
)
from constructs_lib.policy.secret_scan import scan_text
from tests.unit.exposure_cases import EXPOSURE_CASES, EXPOSURE_COMPLIANT

DEV = PolicyContext(environment="dev", protected=False, max_autotermination_minutes=120)
PROD = PolicyContext(environment="prod", protected=True, max_autotermination_minutes=120)
DEPLOYER = "11111111-1111-1111-1111-111111111111"
JOB_SP = "${databricks_service_principal.jobs.application_id}"
PROD_CI = PolicyContext(
    environment="prod",
    protected=True,
    admin_groups=("ml-platform-admins",),
    deployer_principals=(DEPLOYER,),
)


def view(type_: str, attrs: dict, name: str = "x") -> ResourceView:
    return ResourceView(type=type_, path=f"dev/{name}", address=f"{type_}.{name}", attrs=attrs)


def ids(views: list[ResourceView], ctx: PolicyContext = DEV) -> list[str]:
    return sorted({f.rule.id for f in evaluate(views, ctx)})


WORKSPACE_OK = {"custom_parameters": {"no_public_ip": True, "virtual_network_id": "${vnet.id}"}}
STORAGE_OK = {
    "min_tls_version": "TLS1_2",
    "https_traffic_only_enabled": True,
    "allow_nested_items_to_be_public": False,
}
VAULT_OK = {
    "rbac_authorization_enabled": True,
    "soft_delete_retention_days": 90,
    "purge_protection_enabled": True,
}
JOB_OK = {
    "timeout_seconds": 3600,
    "email_notifications": {"on_failure": ["a@example.com"]},
    "max_concurrent_runs": 1,
    "job_cluster": [{"job_cluster_key": "c", "new_cluster": {"policy_id": "${p.id}"}}],
}

CASES = [
    # (rule, resource type, non-compliant attributes, context)
    (
        "MLOPS-DBW-1",
        "azurerm_databricks_workspace",
        {"custom_parameters": {"no_public_ip": False, "virtual_network_id": "v"}},
        DEV,
    ),
    (
        "MLOPS-DBW-1",
        "azurerm_databricks_workspace",
        {"custom_parameters": {"no_public_ip": True}},
        DEV,
    ),
    ("MLOPS-DBW-1", "azurerm_databricks_workspace", {}, DEV),
    ("MLOPS-ST-1", "azurerm_storage_account", {**STORAGE_OK, "min_tls_version": "TLS1_0"}, DEV),
    (
        "MLOPS-ST-1",
        "azurerm_storage_account",
        {**STORAGE_OK, "https_traffic_only_enabled": False},
        DEV,
    ),
    (
        "MLOPS-ST-2",
        "azurerm_storage_account",
        {**STORAGE_OK, "allow_nested_items_to_be_public": True},
        DEV,
    ),
    (
        "MLOPS-ST-2",
        "azurerm_storage_account",
        {k: v for k, v in STORAGE_OK.items() if k != "allow_nested_items_to_be_public"},
        DEV,
    ),
    ("MLOPS-KV-1", "azurerm_key_vault", {**VAULT_OK, "rbac_authorization_enabled": False}, DEV),
    ("MLOPS-KV-1", "azurerm_key_vault", {**VAULT_OK, "access_policy": [{"object_id": "o"}]}, DEV),
    ("MLOPS-KV-2", "azurerm_key_vault", {**VAULT_OK, "soft_delete_retention_days": None}, DEV),
    ("MLOPS-KV-3", "azurerm_key_vault", {**VAULT_OK, "purge_protection_enabled": False}, PROD),
    ("MLOPS-CL-1", "databricks_cluster", {"autotermination_minutes": 0}, DEV),
    ("MLOPS-CL-1", "databricks_cluster", {"autotermination_minutes": 600}, DEV),
    ("MLOPS-CL-1", "databricks_cluster", {}, DEV),
    ("MLOPS-JOB-1", "databricks_job", {**JOB_OK, "timeout_seconds": 0}, DEV),
    ("MLOPS-JOB-1", "databricks_job", {**JOB_OK, "email_notifications": {"on_failure": []}}, DEV),
    (
        "MLOPS-JOB-1",
        "databricks_job",
        {k: v for k, v in JOB_OK.items() if k != "max_concurrent_runs"},
        DEV,
    ),
    (
        "MLOPS-JOB-2",
        "databricks_job",
        {**JOB_OK, "job_cluster": [{"job_cluster_key": "c", "new_cluster": {}}]},
        DEV,
    ),
    (
        "MLOPS-JOB-2",
        "databricks_job",
        {**JOB_OK, "task": [{"task_key": "t", "new_cluster": {"spark_version": "x"}}]},
        DEV,
    ),
    ("MLOPS-JOB-3", "databricks_job", JOB_OK, PROD),
    ("MLOPS-JOB-3", "databricks_job", {**JOB_OK, "run_as": {"user_name": "a@example.com"}}, PROD),
    (
        "MLOPS-JOB-3",
        "databricks_job",
        {
            **JOB_OK,
            "run_as": {"service_principal_name": "${data.databricks_current_user.me.user_name}"},
        },
        PROD,
    ),
    (
        "MLOPS-JOB-3",
        "databricks_job",
        {**JOB_OK, "run_as": {"service_principal_name": DEPLOYER}},
        PROD_CI,
    ),
    ("MLOPS-SEC-1", "databricks_secret_acl", {"principal": "users", "permission": "MANAGE"}, DEV),
    ("MLOPS-SEC-1", "databricks_secret_acl", {"principal": "users", "permission": "WRITE"}, DEV),
]
COMPLIANT = [
    ("MLOPS-DBW-1", "azurerm_databricks_workspace", WORKSPACE_OK, PROD),
    ("MLOPS-ST-1", "azurerm_storage_account", STORAGE_OK, PROD),
    ("MLOPS-ST-2", "azurerm_storage_account", STORAGE_OK, PROD),
    ("MLOPS-KV-1", "azurerm_key_vault", VAULT_OK, PROD),
    ("MLOPS-KV-2", "azurerm_key_vault", VAULT_OK, PROD),
    ("MLOPS-KV-3", "azurerm_key_vault", {**VAULT_OK, "purge_protection_enabled": False}, DEV),
    ("MLOPS-CL-1", "databricks_cluster", {"autotermination_minutes": 30}, PROD),
    ("MLOPS-JOB-1", "databricks_job", JOB_OK, PROD),
    (
        "MLOPS-JOB-3",
        "databricks_job",
        {**JOB_OK, "run_as": {"service_principal_name": JOB_SP}},
        PROD_CI,
    ),
    ("MLOPS-JOB-3", "databricks_job", JOB_OK, DEV),
    ("MLOPS-JOB-2", "databricks_job", JOB_OK, PROD),
    ("MLOPS-SEC-1", "databricks_secret_acl", {"principal": "users", "permission": "READ"}, PROD),
]
# The exposure rules (MLOPS-NET-1, MLOPS-NET-2, MLOPS-ST-3) keep their tables in exposure_cases.py.
CASES += EXPOSURE_CASES
COMPLIANT += EXPOSURE_COMPLIANT


@pytest.mark.parametrize(("rule_id", "type_", "attrs", "ctx"), CASES)
def test_non_compliant_is_found(rule_id: str, type_: str, attrs: dict, ctx: PolicyContext) -> None:
    findings = [f for f in evaluate([view(type_, attrs)], ctx) if f.rule.id == rule_id]
    assert findings, f"{rule_id} missed {attrs}"
    assert all(f.path == "dev/x" and f.detail for f in findings)


@pytest.mark.parametrize(("rule_id", "type_", "attrs", "ctx"), COMPLIANT)
def test_compliant_passes(rule_id: str, type_: str, attrs: dict, ctx: PolicyContext) -> None:
    assert [f for f in evaluate([view(type_, attrs)], ctx) if f.rule.id == rule_id] == []


def test_every_resource_rule_has_cases() -> None:
    covered = {c[0] for c in CASES} & {c[0] for c in COMPLIANT}
    resource_rules = {rid for rid, r in RULES_BY_ID.items() if r.applies_to}
    assert resource_rules <= covered


def test_rules_are_documented() -> None:
    for rule in RULES_BY_ID.values():
        assert rule.id.startswith("MLOPS-") and rule.message and len(rule.explanation) > 20
        assert rule.level in ("error", "warning")


# --- MLOPS-DIAG-1 (a stack rule) ----------------------------------------------------------------


def _diag(target: str) -> ResourceView:
    return view("azurerm_monitor_diagnostic_setting", {"target_resource_id": target}, name="d")


@pytest.mark.parametrize(
    "type_", ["azurerm_databricks_workspace", "azurerm_key_vault", "azurerm_storage_account"]
)
def test_missing_diagnostics_is_found(type_: str) -> None:
    resource = view(type_, {}, name="r")
    other = _diag("${azurerm_key_vault.other.id}")
    (finding,) = [f for f in evaluate([resource, other], DEV) if f.rule.id == "MLOPS-DIAG-1"]
    assert finding.path == "dev/r" and f"{type_}.r" in finding.detail


def test_diagnostics_present_passes_also_for_storage_sub_resource() -> None:
    views = [
        view("azurerm_key_vault", VAULT_OK, name="kv"),
        view("azurerm_storage_account", STORAGE_OK, name="sa"),
        _diag("${azurerm_key_vault.kv.id}"),
        _diag("${azurerm_storage_account.sa.id}/blobServices/default"),
    ]
    assert "MLOPS-DIAG-1" not in ids(views)


def test_diagnostic_of_a_similarly_named_resource_does_not_count() -> None:
    views = [view("azurerm_key_vault", VAULT_OK, name="kv"), _diag("${azurerm_key_vault.kv2.id}")]
    assert "MLOPS-DIAG-1" in ids(views)


# --- MLOPS-LEAK-1 (secret scan of the output) ---------------------------------------------------

LEAKS = {
    "Azure storage account key": '"key": "' + "A" * 86 + '=="',
    "storage connection string": '"cs": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abcdefghijklmnopqrstuvwxyz0123456789=="',
    "SAS token": '"url": "https://a.blob.core.windows.net/c?sv=2022&sig=abcdefghijklmnopqrstuvwxyz0123%3D"',
    "Databricks personal access token": '"token_value": "dapi0123456789abcdef0123456789abcdef"',
    "Entra ID client secret": '"x": "abc8Q~abcdefghijklmnopqrstuvwxyz0123456"',
    "private key": '"pem": "-----BEGIN RSA PRIVATE KEY-----\\nMII"',
    "GitHub token": '"t": "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"',
    "password argument": '"password": "hunter22"',
}


@pytest.mark.parametrize("kind", sorted(LEAKS))
def test_secret_shapes_are_found_and_masked(kind: str) -> None:
    hits = scan_text("{\n  " + LEAKS[kind] + "\n}")
    assert kind in {h.kind for h in hits}
    hit = next(h for h in hits if h.kind == kind)
    assert hit.line == 2
    assert "hunter22" not in str(hit) and "dapi0123456789abcdef0123456789abcdef" not in str(hit)


def test_references_and_ordinary_values_are_not_secrets() -> None:
    text = (
        '{"password": "${data.azurerm_key_vault_secret.db.value}", '
        '"client_id": "00000000-0000-0000-0000-000000000000", '
        '"md5": "${filemd5(\\"assets/x.whl\\")}", "name": "mlops-dev-kv"}'
    )
    assert scan_text(text) == []


# --- MLOPS-DBW-2 (a stack rule over both stacks of an environment) -----------------------------

PUBLIC_WS = {**WORKSPACE_OK, "public_network_access_enabled": True}
IP_LISTS_ON = {"custom_config": {"enableIpAccessLists": "true"}}
EGRESS_OUTPUT = "cross-stack-output-azurerm_public_ipNetwork_EgressIpip_address"
EGRESS_REF = (
    f"${{data.terraform_remote_state.cross-stack-reference-input-dev.outputs.{EGRESS_OUTPUT}}}"
)
# The platform stack's NAT gateway egress, as the rule sees it (resources and the output the
# workspace stack's cross-stack reference points to).
NAT_EGRESS = [
    view("azurerm_public_ip", {"sku": "Standard"}, name="ip"),
    view("azurerm_nat_gateway", {}, name="nat"),
    view(
        "azurerm_nat_gateway_public_ip_association",
        {
            "nat_gateway_id": "${azurerm_nat_gateway.nat.id}",
            "public_ip_address_id": "${azurerm_public_ip.ip.id}",
        },
        name="natip",
    ),
    view(
        "azurerm_subnet_nat_gateway_association",
        {
            "nat_gateway_id": "${azurerm_nat_gateway.nat.id}",
            "subnet_id": "${azurerm_subnet.host.id}",
        },
        name="hostnat",
    ),
    ResourceView(
        type="output",
        path=f"output.{EGRESS_OUTPUT}",
        address=f"output.{EGRESS_OUTPUT}",
        attrs={"value": "${azurerm_public_ip.ip.ip_address}", "sensitive": True},
    ),
]
ALLOW = {
    "label": "l",
    "list_type": "ALLOW",
    "ip_addresses": ["203.0.113.0/24", EGRESS_REF],
    "enabled": True,
}

IP_ACCESS_CASES = {
    # name: (views, context, found?)
    "protected public workspace without a list": (
        [view("azurerm_databricks_workspace", PUBLIC_WS, name="ws")],
        PROD,
        True,
    ),
    "public access is the provider default (unset)": (
        [view("azurerm_databricks_workspace", WORKSPACE_OK, name="ws")],
        PROD,
        True,
    ),
    "list present but IP access lists not enabled": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_ip_access_list", ALLOW, name="allow"),
        ],
        PROD,
        True,
    ),
    "enabled but only a BLOCK list": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view("databricks_ip_access_list", {**ALLOW, "list_type": "BLOCK"}, name="block"),
        ],
        PROD,
        True,
    ),
    "enabled but the list is disabled": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view("databricks_ip_access_list", {**ALLOW, "enabled": False}, name="allow"),
        ],
        PROD,
        True,
    ),
    "allow list open to the internet": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view("databricks_ip_access_list", {**ALLOW, "ip_addresses": ["0.0.0.0/0"]}, name="a"),
        ],
        PROD,
        True,
    ),
    "compliant: enabled ALLOW list with the compute plane's egress IP": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view("databricks_ip_access_list", ALLOW, name="allow"),
            *NAT_EGRESS,
        ],
        PROD,
        False,
    ),
    "compliant: the egress IP referenced within one stack": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": ["${azurerm_public_ip.ip.ip_address}"]},
                name="allow",
            ),
            *NAT_EGRESS,
        ],
        PROD,
        False,
    ),
    "compliant: the egress IP in a second ALLOW list": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": ["203.0.113.0/24"]},
                name="people",
            ),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": [EGRESS_REF]},
                name="compute",
            ),
            *NAT_EGRESS,
        ],
        PROD,
        False,
    ),
    "list without the compute plane's egress IP (clusters cannot start)": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": ["203.0.113.0/24"]},
                name="allow",
            ),
            *NAT_EGRESS,
        ],
        PROD,
        True,
    ),
    "egress IP only in a disabled list": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": ["203.0.113.0/24"]},
                name="people",
            ),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": [EGRESS_REF], "enabled": False},
                name="compute",
            ),
            *NAT_EGRESS,
        ],
        PROD,
        True,
    ),
    "a reference to another output is not the egress IP": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view(
                "databricks_ip_access_list",
                {
                    **ALLOW,
                    "ip_addresses": [
                        "${data.terraform_remote_state.cross-stack-reference-input-dev"
                        ".outputs.cross-stack-output-other}"
                    ],
                },
                name="allow",
            ),
            *NAT_EGRESS,
        ],
        PROD,
        True,
    ),
    "lists on but no NAT gateway egress to allow": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view("databricks_ip_access_list", ALLOW, name="allow"),
        ],
        PROD,
        True,
    ),
    "unprotected environment with lists on must allow its egress too": (
        [
            view("azurerm_databricks_workspace", PUBLIC_WS, name="ws"),
            view("databricks_workspace_conf", IP_LISTS_ON, name="conf"),
            view(
                "databricks_ip_access_list",
                {**ALLOW, "ip_addresses": ["203.0.113.0/24"]},
                name="allow",
            ),
            *NAT_EGRESS,
        ],
        DEV,
        True,
    ),
    "compliant: private workspace needs no list": (
        [
            view(
                "azurerm_databricks_workspace",
                {**WORKSPACE_OK, "public_network_access_enabled": False},
                name="ws",
            )
        ],
        PROD,
        False,
    ),
    "compliant: unprotected environment": (
        [view("azurerm_databricks_workspace", PUBLIC_WS, name="ws")],
        DEV,
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(IP_ACCESS_CASES))
def test_public_workspace_ip_access_list_rule(case: str) -> None:
    views, ctx, found = IP_ACCESS_CASES[case]
    findings = [f for f in evaluate(views, ctx) if f.rule.id == "MLOPS-DBW-2"]
    assert bool(findings) is found
    for finding in findings:
        assert finding.path == "dev/ws"
        assert f"config/{ctx.environment}.yaml: workspace.allowed_ip_ranges" in finding.detail


def test_the_missing_egress_ip_is_named() -> None:
    views, ctx, _ = IP_ACCESS_CASES[
        "list without the compute plane's egress IP (clusters cannot start)"
    ]
    (finding,) = [f for f in evaluate(views, ctx) if f.rule.id == "MLOPS-DBW-2"]
    assert "${azurerm_public_ip.ip.ip_address}" in finding.detail
    assert "no enabled ALLOW list holds the compute plane's egress IP" in finding.detail


# --- MLOPS-JOB-4 (a stack rule: what a job executes lives where only admins write) ------------

WHEEL_JOB = {
    **JOB_OK,
    "task": [
        {
            "task_key": "train",
            "python_wheel_task": {"package_name": "p", "entry_point": "e"},
            "library": [{"whl": "${databricks_workspace_file.wheel.workspace_path}"}],
        }
    ],
}
FOLDER = view("databricks_directory", {"path": "/Deployments/mlops-prod"}, name="folder")
WHEEL_FILE = view(
    "databricks_workspace_file",
    {"path": "${databricks_directory.folder.path}/wheels/1.0/p.whl"},
    name="wheel",
)


def _folder_acl(*entries: tuple[str, str, str]) -> ResourceView:
    return view(
        "databricks_permissions",
        {
            "directory_path": "${databricks_directory.folder.path}",
            "access_control": [
                {kind: who, "permission_level": level} for kind, who, level in entries
            ],
        },
        name="acl",
    )


ADMINS_MANAGE = ("group_name", "ml-platform-admins", "CAN_MANAGE")
JOB_READS = ("service_principal_name", JOB_SP, "CAN_READ")

CODE_LOCATION_CASES = {
    # name: (views, found?)
    "wheel under /Shared": (
        [
            view(
                "databricks_job",
                {
                    **WHEEL_JOB,
                    "task": [
                        {
                            **WHEEL_JOB["task"][0],
                            "library": [{"whl": "/Workspace/Shared/mlops/p.whl"}],
                        }
                    ],
                },
                name="job",
            )
        ],
        True,
    ),
    "wheel in a folder without explicit permissions": (
        [view("databricks_job", WHEEL_JOB, name="job"), FOLDER, WHEEL_FILE],
        True,
    ),
    "folder where a non-admin group can edit": (
        [
            view("databricks_job", WHEEL_JOB, name="job"),
            FOLDER,
            WHEEL_FILE,
            _folder_acl(ADMINS_MANAGE, JOB_READS, ("group_name", "data-scientists", "CAN_EDIT")),
        ],
        True,
    ),
    "folder where the job principal can manage": (
        [
            view("databricks_job", WHEEL_JOB, name="job"),
            FOLDER,
            WHEEL_FILE,
            _folder_acl(ADMINS_MANAGE, ("service_principal_name", JOB_SP, "CAN_MANAGE")),
        ],
        True,
    ),
    "unresolvable library path": (
        [view("databricks_job", WHEEL_JOB, name="job")],
        True,
    ),
    "task file under /Shared": (
        [
            view(
                "databricks_job",
                {
                    **JOB_OK,
                    "task": [
                        {"task_key": "t", "spark_python_task": {"python_file": "/Shared/x.py"}}
                    ],
                },
                name="job",
            )
        ],
        True,
    ),
    "volume where a non-admin can write": (
        [
            view(
                "databricks_job",
                {
                    **JOB_OK,
                    "task": [{"task_key": "t", "library": [{"whl": "/Volumes/c/s/v/p.whl"}]}],
                },
                name="job",
            ),
            view(
                "databricks_grants",
                {
                    "volume": "c.s.v",
                    "grant": [{"principal": "ml-engineers", "privileges": ["WRITE_VOLUME"]}],
                },
                name="g",
            ),
        ],
        True,
    ),
    "a person may edit the wheel file itself": (
        [
            view("databricks_job", WHEEL_JOB, name="job"),
            FOLDER,
            WHEEL_FILE,
            _folder_acl(ADMINS_MANAGE, JOB_READS),
            view(
                "databricks_permissions",
                {
                    "workspace_file_path": "${databricks_workspace_file.wheel.path}",
                    "access_control": [
                        {"user_name": "someone@example.com", "permission_level": "CAN_EDIT"}
                    ],
                },
                name="wheel_acl",
            ),
        ],
        True,
    ),
    "compliant: a person reads the wheel file (an interactive cluster installs it)": (
        [
            view("databricks_job", WHEEL_JOB, name="job"),
            FOLDER,
            WHEEL_FILE,
            _folder_acl(ADMINS_MANAGE, JOB_READS),
            view(
                "databricks_permissions",
                {
                    "workspace_file_path": "${databricks_workspace_file.wheel.path}",
                    "access_control": [
                        {"user_name": "someone@example.com", "permission_level": "CAN_READ"}
                    ],
                },
                name="wheel_acl",
            ),
        ],
        False,
    ),
    "compliant: deployment folder, admins manage, job principal reads": (
        [
            view("databricks_job", WHEEL_JOB, name="job"),
            FOLDER,
            WHEEL_FILE,
            _folder_acl(ADMINS_MANAGE, JOB_READS),
        ],
        False,
    ),
    "compliant: volume only admins write": (
        [
            view(
                "databricks_job",
                {
                    **JOB_OK,
                    "task": [{"task_key": "t", "library": [{"whl": "/Volumes/c/s/v/p.whl"}]}],
                },
                name="job",
            ),
            view(
                "databricks_grants",
                {
                    "volume": "c.s.v",
                    "grant": [
                        {"principal": "ml-platform-admins", "privileges": ["WRITE_VOLUME"]},
                        {"principal": JOB_SP, "privileges": ["READ_VOLUME"]},
                    ],
                },
                name="g",
            ),
        ],
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CODE_LOCATION_CASES))
def test_job_code_location_rule(case: str) -> None:
    views, found = CODE_LOCATION_CASES[case]
    findings = [f for f in evaluate(views, PROD_CI) if f.rule.id == "MLOPS-JOB-4"]
    assert bool(findings) is found, [f.detail for f in findings]
    for finding in findings:
        assert finding.path == "dev/job" and "task " in finding.detail


# --- MLOPS-CL-2 (a stack rule): a dedicated cluster's user reads its workspace libraries ---------

PERSON = "data.scientist@example.com"
WHEEL_READ = view(
    "databricks_permissions",
    {
        "workspace_file_path": "${databricks_workspace_file.wheel.path}",
        "access_control": [{"user_name": PERSON, "permission_level": "CAN_READ"}],
    },
    name="wheel_acl",
)


def _cluster(**changes) -> ResourceView:
    attrs = {
        "autotermination_minutes": 30,
        "data_security_mode": "SINGLE_USER",
        "single_user_name": PERSON,
        "library": [{"whl": "${databricks_workspace_file.wheel.workspace_path}"}],
        "depends_on": ["databricks_permissions.wheel_acl"],
    }
    attrs.update(changes)
    return view("databricks_cluster", {k: v for k, v in attrs.items() if v is not None}, "cl")


CLUSTER_LIBRARY_CASES = {
    # name: (views, found?)
    "the user has no grant on the wheel": (
        [_cluster(depends_on=None), FOLDER, WHEEL_FILE, _folder_acl(ADMINS_MANAGE, JOB_READS)],
        True,
    ),
    "the grant names another user": (
        [
            _cluster(single_user_name="someone.else@example.com"),
            FOLDER,
            WHEEL_FILE,
            WHEEL_READ,
        ],
        True,
    ),
    "a group dedicated cluster and a grant to a person of it": (
        [_cluster(single_user_name="data-scientists"), FOLDER, WHEEL_FILE, WHEEL_READ],
        True,
    ),
    "the cluster does not wait for the grant": (
        [
            _cluster(depends_on=["databricks_permission_assignment.groups"]),
            FOLDER,
            WHEEL_FILE,
            WHEEL_READ,
        ],
        True,
    ),
    "unresolvable library path": (
        [_cluster(library=[{"whl": "${databricks_workspace_file.gone.workspace_path}"}])],
        True,
    ),
    "compliant: the user reads the wheel file and the cluster waits for it": (
        [_cluster(), FOLDER, WHEEL_FILE, WHEEL_READ],
        False,
    ),
    "compliant: a grant on the folder covers the file": (
        [
            _cluster(depends_on=["databricks_permissions.acl"]),
            FOLDER,
            WHEEL_FILE,
            _folder_acl(ADMINS_MANAGE, ("user_name", PERSON, "CAN_READ")),
        ],
        False,
    ),
    "compliant: the assigned principal is an admin group": (
        [_cluster(single_user_name="ml-platform-admins", depends_on=None), FOLDER, WHEEL_FILE],
        False,
    ),
    "compliant: a shared (standard) cluster is not judged here": (
        [_cluster(data_security_mode="USER_ISOLATION", single_user_name=None, depends_on=None)],
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CLUSTER_LIBRARY_CASES))
def test_dedicated_cluster_library_rule(case: str) -> None:
    views, found = CLUSTER_LIBRARY_CASES[case]
    findings = [f for f in evaluate(views, PROD_CI) if f.rule.id == "MLOPS-CL-2"]
    assert bool(findings) is found, [f.detail for f in findings]
    for finding in findings:
        assert finding.path == "dev/cl"


# --- MLOPS-ML-1 (a stack rule): people only read what production trusts --------------------------

MODEL = view(
    "databricks_registered_model",
    {
        "catalog_name": "${databricks_catalog.cat.name}",
        "schema_name": "${databricks_schema.models.name}",
        "name": "m",
        "owner": JOB_SP,
    },
    name="model",
)


TABLE = view(
    "databricks_sql_table",
    {
        "catalog_name": "${databricks_catalog.cat.name}",
        "schema_name": "${databricks_schema.inference.name}",
        "name": "taxi_fare_baseline",
        "owner": JOB_SP,
    },
    name="baseline",
)


def _experiment_acl(*entries: tuple[str, str, str]) -> ResourceView:
    return view(
        "databricks_permissions",
        {
            "experiment_id": "${databricks_mlflow_experiment.exp.id}",
            "access_control": [
                {kind: who, "permission_level": level} for kind, who, level in entries
            ],
        },
        name="exp_acl",
    )


def _grants(securable: str, target: str, *grants: tuple[str, list[str]]) -> ResourceView:
    return view(
        "databricks_grants",
        {
            securable: target,
            "grant": [{"principal": p, "privileges": privs} for p, privs in grants],
        },
        name=f"grants_{securable}",
    )


PEOPLE_READ = _experiment_acl(
    ADMINS_MANAGE,
    ("group_name", "ml-engineers", "CAN_READ"),
    ("service_principal_name", JOB_SP, "CAN_EDIT"),
)
PEOPLE_CASES = {
    # name: (views, found in prod?)
    "a group edits the experiment": (
        [_experiment_acl(ADMINS_MANAGE, ("group_name", "data-scientists", "CAN_EDIT"))],
        True,
    ),
    "a user manages the experiment": (
        [_experiment_acl(("user_name", PERSON, "CAN_MANAGE"))],
        True,
    ),
    "a group may tag the model through its schema": (
        [
            MODEL,
            _grants("schema", "${databricks_schema.models.id}", ("ml-engineers", ["APPLY_TAG"])),
        ],
        True,
    ),
    "a group holds all privileges on the model's catalog": (
        [
            MODEL,
            _grants(
                "catalog", "${databricks_catalog.cat.name}", ("ml-engineers", ["ALL_PRIVILEGES"])
            ),
        ],
        True,
    ),
    "a group may tag the model itself": (
        [
            MODEL,
            _grants(
                "model",
                "${databricks_registered_model.model.full_name}",
                ("data-scientists", ["APPLY_TAG", "EXECUTE"]),
            ),
        ],
        True,
    ),
    "a group edits the workspace-registry model": (
        [
            view(
                "databricks_permissions",
                {
                    "registered_model_id": "${databricks_mlflow_model.m.registered_model_id}",
                    "access_control": [
                        {"group_name": "ml-engineers", "permission_level": "CAN_EDIT"}
                    ],
                },
                name="legacy",
            )
        ],
        True,
    ),
    "compliant: people read, admins manage, the job principal writes": (
        [
            PEOPLE_READ,
            MODEL,
            _grants(
                "schema",
                "${databricks_schema.models.id}",
                ("ml-platform-admins", ["ALL_PRIVILEGES"]),
                (JOB_SP, ["CREATE_MODEL", "EXECUTE", "USE_SCHEMA"]),
                ("11111111-2222-3333-4444-555555555555", ["APPLY_TAG"]),
            ),
            _grants(
                "catalog", "${databricks_catalog.cat.name}", ("ml-engineers", ["MODIFY", "EXECUTE"])
            ),
        ],
        False,
    ),
    "a group may modify the monitored tables through the catalog": (
        [
            TABLE,
            _grants("catalog", "${databricks_catalog.cat.name}", ("ml-engineers", ["MODIFY"])),
        ],
        True,
    ),
    "a group may modify the monitored tables through their schema": (
        [
            TABLE,
            _grants("schema", "${databricks_schema.inference.id}", ("data-scientists", ["MODIFY"])),
        ],
        True,
    ),
    "a user holds all privileges on a monitored table": (
        [
            TABLE,
            _grants("table", "${databricks_sql_table.baseline.id}", (PERSON, ["ALL_PRIVILEGES"])),
        ],
        True,
    ),
    "a group may modify the catalog when no table is declared (quality monitor off)": (
        [
            view(
                "databricks_catalog",
                {"name": "mlops_prod", "owner": "ml-platform-admins"},
                name="cat",
            ),
            _grants("catalog", "${databricks_catalog.cat.name}", ("ml-engineers", ["MODIFY"])),
        ],
        True,
    ),
    "a group may create and modify tables in the features schema": (
        [
            view(
                "databricks_schema",
                {"catalog_name": "${databricks_catalog.cat.name}", "name": "features"},
                name="features",
            ),
            _grants("schema", "${databricks_schema.features.id}", ("ml-engineers", ["MODIFY"])),
        ],
        True,
    ),
    "compliant: people read the tables, admins and the job principal write them": (
        [
            TABLE,
            _grants(
                "catalog",
                "${databricks_catalog.cat.name}",
                ("ml-engineers", ["SELECT", "USE_CATALOG", "USE_SCHEMA"]),
            ),
            _grants(
                "schema",
                "${databricks_schema.inference.id}",
                ("ml-platform-admins", ["MODIFY", "SELECT"]),
                (JOB_SP, ["CREATE_TABLE", "MODIFY", "SELECT", "USE_SCHEMA"]),
            ),
        ],
        False,
    ),
    "compliant: APPLY_TAG on another schema": (
        [
            MODEL,
            _grants("schema", "${databricks_schema.features.id}", ("ml-engineers", ["APPLY_TAG"])),
        ],
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(PEOPLE_CASES))
def test_people_permissions_rule(case: str) -> None:
    views, found = PEOPLE_CASES[case]
    findings = [f for f in evaluate(views, PROD_CI) if f.rule.id == "MLOPS-ML-1"]
    assert bool(findings) is found, [f.detail for f in findings]
    # Environments are data: the same grants pass where the environment is not protected.
    dev = PolicyContext(environment="dev", protected=False, admin_groups=("ml-platform-admins",))
    assert not [f for f in evaluate(views, dev) if f.rule.id == "MLOPS-ML-1"]


# --- MLOPS-JOB-5 (a stack rule): a job that runs another outlasts it ----------------------------


def _job(name: str, timeout: int, runs: str | None = None) -> ResourceView:
    task = {"task_key": "retrain", "run_job_task": {"job_id": f"${{databricks_job.{runs}.id}}"}}
    return view(
        "databricks_job",
        {"timeout_seconds": timeout, "task": [task] if runs else [{"task_key": "t"}]},
        name=name,
    )


@pytest.mark.parametrize(
    ("parent_timeout", "found"), [(3600, True), (10800, True), (10801, False), (14400, False)]
)
def test_a_job_that_runs_another_outlasts_it(parent_timeout: int, found: bool) -> None:
    views = [_job("pipeline", 10800), _job("monitoring", parent_timeout, runs="pipeline")]
    findings = [f for f in evaluate(views, PROD_CI) if f.rule.id == "MLOPS-JOB-5"]
    assert bool(findings) is found, [f.detail for f in findings]
    if found:
        assert "timeout 10800 s" in findings[0].detail


def test_a_job_without_a_timeout_is_unlimited_for_the_rule() -> None:
    """No timeout (0 or unset) means no limit: a limited parent cannot outlast an unlimited
    child; an unlimited parent outlasts anything."""
    child_unlimited = [_job("pipeline", 0), _job("monitoring", 14400, runs="pipeline")]
    parent_unlimited = [_job("pipeline", 10800), _job("monitoring", 0, runs="pipeline")]
    found = [f for f in evaluate(child_unlimited, PROD_CI) if f.rule.id == "MLOPS-JOB-5"]
    assert found and "no timeout" in found[0].detail
    assert not [f for f in evaluate(parent_unlimited, PROD_CI) if f.rule.id == "MLOPS-JOB-5"]


def test_the_shipped_monitoring_job_outlasts_the_pipeline_it_runs() -> None:
    from constructs_lib.config import load_environments
    from tests.conftest import ROOT

    for config in load_environments(ROOT / "config", root=ROOT):
        jobs = config.databricks.jobs
        assert jobs["monitoring"].timeout_seconds > jobs["ml_pipeline"].timeout_seconds
