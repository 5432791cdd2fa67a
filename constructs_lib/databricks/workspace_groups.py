"""The account-level groups the workspace's permissions name, assigned to the workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.permission_assignment import PermissionAssignment

GROUP_REFERENCING_TYPES: tuple[str, ...] = (
    "databricks_access_control_rule_set",
    "databricks_catalog",
    "databricks_cluster",
    "databricks_external_location",
    "databricks_grants",
    "databricks_permissions",
    "databricks_schema",
    "databricks_secret_acl",
    "databricks_storage_credential",
    "databricks_volume",
)
"""Resource types that name groups (grants, ACLs, permissions, owners, a group-assigned
cluster, the job principal's rule set): created only after the groups are assigned to the
workspace."""


@dataclass(frozen=True, kw_only=True)
class WorkspaceGroupsProps:
    group_names: Sequence[str]
    """Display names of existing account-level groups (Unity Catalog grants need account
    groups; workspace-local groups cannot receive them)."""


class WorkspaceGroups(Construct):
    """Assigns each account-level group to the workspace with the USER permission
    (`databricks_permission_assignment`), so grants, ACLs and permissions that name it find
    it. Exposes `assignments` (group -> resource)."""

    def __init__(self, scope: Construct, id_: str, props: WorkspaceGroupsProps) -> None:
        super().__init__(scope, id_)
        self.assignments: dict[str, PermissionAssignment] = {
            name: PermissionAssignment(
                self, f"Assign-{name}", group_name=name, permissions=["USER"]
            )
            for name in sorted(set(props.group_names))
        }
