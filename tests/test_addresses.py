"""Terraform addresses of stateful resources are API: a refactor that renames a construct
would destroy and recreate the workspace, storage, Key Vault, logs or catalog. These addresses
are pinned; changing one needs a `moved` block (or `terraform state mv`) and a deliberate edit
here."""

from __future__ import annotations

import pytest

from constructs_lib.config import load_environments
from constructs_lib.policy.stack_policy import protected_addresses
from constructs_lib.policy.stateful import STATEFUL_TYPES
from tests.conftest import ENVIRONMENTS, ROOT

pytestmark = pytest.mark.synth
CONFIGS = {c.name: c for c in load_environments(ROOT / "config")}

PLATFORM = [
    "azurerm_application_insights.Observability_AppInsights_E0E5903B",
    "azurerm_databricks_access_connector.Databricks_AccessConnector_6C9AB67D",
    "azurerm_databricks_workspace.Databricks_Workspace_9F8FBBCD",
    "azurerm_key_vault.KeyVault_DE550064",
    "azurerm_log_analytics_workspace.Observability_LogAnalytics_C0C98C3C",
    # The clusters' egress: the workspace IP access list and downstream firewalls allow it.
    "azurerm_public_ip.Network_EgressIp_2A6E0FAB",
    "azurerm_storage_account.Storage_Account_C87105F1",
    "azurerm_storage_container.Storage_Container-bronze_200D1233",
    "azurerm_storage_container.Storage_Container-gold_FD8BA3D3",
    "azurerm_storage_container.Storage_Container-silver_F1BA9FF8",
    "azurerm_storage_container.Storage_Container-unity-catalog_EAE66DBF",
]
WORKSPACE = [
    "databricks_catalog.Dbx_Catalog_8CD9B60E",
    # The deployment folder (wheel, experiment) and the jobs: what production runs (issue 19).
    "databricks_directory.Dbx_DeploymentFolder_Directory_F556B4FD",
    "databricks_external_location.Dbx_Catalog_ExternalLocation_B98F0DFF",
    "databricks_job.Dbx_Job-batch_inference_Job_E23E60A3",
    "databricks_job.Dbx_Job-ml_pipeline_Job_3D2EAFAC",
    "databricks_job.Dbx_Job-monitoring_Job_9A27AC08",
    "databricks_job.Dbx_Job-replay_Job_3D745B58",
    "databricks_mlflow_experiment.Dbx_Mlflow_Experiment_4E467838",
    "databricks_registered_model.Dbx_Mlflow_RegisteredModel_BC8B4924",
    "databricks_schema.Dbx_Catalog_Schema-features_AF679CA1",
    "databricks_schema.Dbx_Catalog_Schema-inference_39370D17",
    "databricks_schema.Dbx_Catalog_Schema-models_1940B9B9",
    "databricks_service_principal.Dbx_JobPrincipal_ServicePrincipal_B4F8D328",
    "databricks_sql_table.Dbx_QualityMonitor_BaselineTable_CA3134DA",
    "databricks_sql_table.Dbx_QualityMonitor_InferenceTable_06EE31F2",
    "databricks_storage_credential.Dbx_Catalog_StorageCredential_539766B6",
    "databricks_volume.Dbx_Catalog_ArtifactsVolume_DA512460",
]
PINNED = {env: PLATFORM for env in ENVIRONMENTS} | {
    f"{env}-workspace": WORKSPACE for env in ENVIRONMENTS
}
PINNED["sandbox"] = sorted(
    [
        *PLATFORM,
        "azurerm_machine_learning_workspace.AzureMl_Workspace_9573D012",
        "azurerm_storage_account.AzureMl_Storage_463222CF",
    ]
)
# dev runs the smoke (config/dev.yaml `smoke.enabled`): its identity is a service principal too.
PINNED["dev-workspace"] = sorted(
    [*WORKSPACE, "databricks_service_principal.Dbx_SmokePrincipal_ServicePrincipal_D2AC0D8B"]
)
STACKS = sorted(PINNED)
ENV_OF = {stack: stack.removesuffix("-workspace") for stack in STACKS}


def _addresses(stack: dict, types: set[str]) -> list[str]:
    return sorted(
        f"{rtype}.{name}"
        for rtype, items in stack["resource"].items()
        if rtype in types
        for name in items
    )


@pytest.mark.parametrize("stack", STACKS)
def test_stateful_addresses_are_pinned(stacks, stack: str) -> None:
    assert _addresses(stacks[stack], set(STATEFUL_TYPES)) == PINNED[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_protected_environments_prevent_destroy(stacks, stack: str) -> None:
    env = ENV_OF[stack]
    expected = PINNED[stack] if CONFIGS[env].protected else []
    assert protected_addresses(stacks[stack]) == expected
    assert CONFIGS[env].protected is (env in ("uat", "prod"))


def test_every_stateful_type_in_a_stack_is_pinned(stacks) -> None:
    """A new stateful resource must be added here (and is then protected in uat/prod)."""
    for stack in STACKS:
        found = {a.split(".")[0] for a in _addresses(stacks[stack], set(STATEFUL_TYPES))}
        assert found == {a.split(".")[0] for a in PINNED[stack]}, stack
