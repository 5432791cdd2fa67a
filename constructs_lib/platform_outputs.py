"""What an environment's workspace stack needs from its platform stack.

The Databricks provider's documentation requires the configuration that creates a workspace
and the one that manages it to be separate (docs/platform-assumptions.md, "Stacks and
providers"). So every environment is two stacks: the platform stack (everything azurerm) and
the workspace stack (everything the databricks provider manages). `main.py` passes the
platform stack's `PlatformOutputs` to the workspace stack; each value is a Terraform reference
into the platform stack, which cdktf turns into a platform output and a `terraform_remote_state`
read in the workspace stack (a cross-stack reference). Nothing here is re-derived from names.

Pure: no cdktf import (the values are token strings).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class PlatformOutputs:
    """References into the platform stack of one environment."""

    workspace_url: str
    """Host name of the workspace (`adb-<id>.<n>.azuredatabricks.net`, no scheme)."""
    workspace_resource_id: str
    """ARM ID of the workspace; the databricks provider logs in to it with Azure auth."""
    workspace_id: str
    """Numeric workspace ID (metastore assignment, workspace bindings)."""
    access_connector_id: str
    """ARM ID of the Unity Catalog access connector (the storage credential's identity)."""
    access_connector_role_id: str
    """ARM ID of the access connector's role assignment on the data lake; the external
    location waits for it to propagate."""
    key_vault_id: str
    """ARM ID of the environment's Key Vault (Key Vault-backed secret scope)."""
    key_vault_uri: str
    """`https://<vault>.vault.azure.net/` (Key Vault-backed secret scope)."""
    storage_account_name: str
    """The data lake account."""
    catalog_container_name: str
    """Container that holds the catalog's managed storage."""
    compute_egress_ip_address: str
    """Public IP address of the NAT gateway: where the clusters (secure cluster connectivity,
    no public IPs) reach the control plane from. A workspace IP access list must allow it."""

    def abfss_url(self, container: str, path: str = "") -> str:
        """`abfss://<container>@<account>.dfs.core.windows.net/<path>`."""
        suffix = f"/{path.strip('/')}" if path else "/"
        return f"abfss://{container}@{self.storage_account_name}.dfs.core.windows.net{suffix}"

    @property
    def catalog_storage_root(self) -> str:
        """abfss URL of the catalog's storage root."""
        return self.abfss_url(self.catalog_container_name)
