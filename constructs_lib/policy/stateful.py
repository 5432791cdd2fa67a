"""The one list of resource types whose loss loses data or identity.

Pure Python (no cdktf import): read by the `prevent_destroy` aspect of protected environments
(`constructs_lib.policy.stack_policy.ProtectStatefulResources`) and by the plan summary's destroy
gate (`tools/plan_summary`), so the two can never disagree.
"""

from __future__ import annotations

STATEFUL_TYPES: tuple[str, ...] = (
    # Azure: data, keys, logs, and identities other resources are bound to.
    "azurerm_databricks_workspace",  # workspace URL/ID, notebooks, DBFS root
    "azurerm_databricks_access_connector",  # a new one is a new managed identity (UC storage)
    "azurerm_storage_account",  # data lake, Unity Catalog root, Terraform state
    "azurerm_storage_container",  # the data inside a container goes with it
    "azurerm_storage_blob",  # the bootstrap's state blobs: an environment's Terraform state
    "azurerm_key_vault",  # secrets (and the soft-delete/purge window of its name)
    "azurerm_log_analytics_workspace",  # audit and diagnostic logs
    "azurerm_application_insights",  # telemetry; its connection string is an identity
    "azurerm_machine_learning_workspace",  # Azure ML assets and registries
    "azurerm_user_assigned_identity",  # deployment identities: client IDs set in GitHub
    "azurerm_public_ip",  # the clusters' egress address: IP access lists and firewalls allow it
    # Databricks: Unity Catalog objects and the registry.
    "databricks_catalog",
    "databricks_schema",
    "databricks_volume",
    "databricks_sql_table",  # the inference log (scored rows and their late labels)
    "databricks_registered_model",
    "databricks_storage_credential",
    "databricks_external_location",
    "databricks_mlflow_experiment",  # run history and metrics the gate compares against
    "databricks_service_principal",  # the job principal: grants and run_as are bound to it
    # Databricks: what production runs and where its code lives. A job's ID is in its run
    # history, alerts and the monitoring job's retrain parameter; the deployment folder holds
    # the wheel and the experiment (deleting it deletes them).
    "databricks_job",
    "databricks_directory",
    # A new network connectivity configuration has new subnets: every data lake firewall
    # that admits the old ones would refuse serverless compute until updated.
    "databricks_mws_network_connectivity_config",
)
"""Resource types whose destruction or replacement loses data or identity. Protected
environments put `lifecycle.prevent_destroy` on every resource of these types, and the plan
summary fails a plan that deletes or replaces one unless the change is approved."""
