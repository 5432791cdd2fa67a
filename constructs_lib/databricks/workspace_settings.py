"""Workspace settings that limit what workspace admins can do."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.restrict_workspace_admins_setting import (
    RestrictWorkspaceAdminsSetting,
    RestrictWorkspaceAdminsSettingRestrictWorkspaceAdmins,
)

RESTRICTED = "RESTRICT_TOKENS_AND_JOB_RUN_AS"
"""Workspace admins create tokens, and set a job's run_as, only for service principals on
which they hold the Service Principal User role, and change a job's owner only to
themselves."""
SETTING_IMPORT_ID = "global"
"""The import ID of the workspace's (single) setting object (provider docs)."""


@dataclass(frozen=True, kw_only=True)
class RestrictWorkspaceAdminsProps:
    adopt_existing: bool = True
    """Adopt the workspace's setting (a Terraform `import` block) instead of writing it: only
    an account admin may change it, and the identity that applies this stack is no account
    admin. An account admin enables it once; every later plan reads it and shows an update if
    someone turned it off, which the deploying identity cannot apply (the apply fails, loudly).
    Default: adopt."""


class RestrictWorkspaceAdmins(Construct):
    """`databricks_restrict_workspace_admins_setting` = `RESTRICT_TOKENS_AND_JOB_RUN_AS`.
    Exposes `setting`."""

    def __init__(self, scope: Construct, id_: str, props: RestrictWorkspaceAdminsProps) -> None:
        super().__init__(scope, id_)
        self.setting = RestrictWorkspaceAdminsSetting(
            self,
            "Setting",
            restrict_workspace_admins=RestrictWorkspaceAdminsSettingRestrictWorkspaceAdmins(
                status=RESTRICTED
            ),
        )
        if props.adopt_existing:
            self.setting.import_from(SETTING_IMPORT_ID)
