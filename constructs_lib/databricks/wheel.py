"""Uploads the ML wheel into the workspace at a versioned path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.cdk import AssetType, Construct, Fn, TerraformAsset
from constructs_lib.databricks.job_specs.wheel_artifact import WheelArtifact
from constructs_lib.providers.databricks.permissions import Permissions, PermissionsAccessControl
from constructs_lib.providers.databricks.workspace_file import WorkspaceFile


@dataclass(frozen=True, kw_only=True)
class WorkspaceWheelProps:
    wheel: WheelArtifact
    """The built ML wheel; its path and version are fixed at synth time."""
    workspace_dir: str
    """The environment's deployment folder (only admins write there), e.g.
    `/Deployments/mlops-dev`; a reference, so the upload waits for the folder."""
    readers: Sequence[str] = ()
    """User names that may read this wheel file (and nothing else in the folder): the people
    whose dedicated interactive clusters install it with their own identity. Default: nobody
    beyond the folder's permissions (the job principal reads it through the folder)."""


class WorkspaceWheel(Construct):
    """Copies the wheel into the stack's output (`TerraformAsset`, so the JSON names it by a
    path relative to the stack directory) and uploads it as a workspace file under
    `<workspace_dir>/wheels/<version>/`. A new version is a new path, so jobs pick it up; a
    rebuilt wheel of the same version changes the file's MD5 and Terraform replaces it.
    `library_path` is what job tasks and interactive clusters install; `permissions` lets the
    `readers` read the file."""

    def __init__(self, scope: Construct, id_: str, props: WorkspaceWheelProps) -> None:
        super().__init__(scope, id_)
        wheel = props.wheel
        self.asset = TerraformAsset(self, "Asset", path=str(wheel.path), type=AssetType.FILE)
        self.file = WorkspaceFile(
            self,
            "File",
            path=f"{props.workspace_dir}/wheels/{wheel.version}/{wheel.filename}",
            source=self.asset.path,
            md5=Fn.filemd5(self.asset.path),
        )
        # An object-level grant: the readers see this file (and its parent folder's name),
        # nothing else in the folder (docs/platform-assumptions.md, interactive clusters).
        self.permissions: Permissions | None = None
        """CAN_READ on the file for `readers`, or None; clusters that install the wheel as
        one of them depend on it."""
        if props.readers:
            self.permissions = Permissions(
                self,
                "Permissions",
                workspace_file_path=self.file.path,
                access_control=[
                    PermissionsAccessControl(user_name=u, permission_level="CAN_READ")
                    for u in sorted(props.readers)
                ],
            )
        # A reference, not a copied string: tasks depend on the upload.
        self.library_path: str = self.file.workspace_path
        self.package_name = wheel.package_name
        self.version = wheel.version
