"""The workspace folder that holds what the jobs execute and record: only admins write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from constructs_lib.cdk import Construct
from constructs_lib.databricks.compute import access_controls
from constructs_lib.providers.databricks.directory import Directory
from constructs_lib.providers.databricks.permissions import Permissions


@dataclass(frozen=True, kw_only=True)
class DeploymentFolderProps:
    path: str
    """Workspace path, outside `/Shared` (where every user can manage everything), e.g.
    `/Deployments/mlops-prod`. Only workspace admins can create top-level folders."""
    managers: Sequence[str]
    """Groups with CAN_MANAGE (the admin group the deployers belong to)."""
    readers: Mapping[str, str] = field(default_factory=dict)
    """Principal -> CAN_READ; e.g. the job principal (application ID), which installs the
    wheel from here and reads its experiment."""
    service_principals: Sequence[str] = ()
    """Application IDs among `readers` (the rest are groups)."""


class DeploymentFolder(Construct):
    """A folder with explicit permissions: the managers CAN_MANAGE, the readers CAN_READ,
    nobody else anything (the permissions resource replaces every direct ACL; the workspace
    admins' CAN_MANAGE is implicit). Exposes `path` (a reference, so children depend on it)
    and `directory`."""

    def __init__(self, scope: Construct, id_: str, props: DeploymentFolderProps) -> None:
        super().__init__(scope, id_)
        if props.path.rstrip("/") in ("/Shared", "/Workspace/Shared") or props.path.startswith(
            ("/Shared/", "/Workspace/Shared/")
        ):
            raise ValueError(f"DeploymentFolder: {props.path} is under /Shared")
        self.directory = Directory(self, "Directory", path=props.path)
        levels = {**{g: "CAN_MANAGE" for g in props.managers}, **props.readers}
        self.permissions = Permissions(
            self,
            "Permissions",
            directory_path=self.directory.path,
            access_control=access_controls(levels, props.service_principals),
        )
        self.path: str = self.directory.path
