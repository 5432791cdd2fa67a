"""Unity Catalog objects of one environment: credential, external location, catalog, schemas,
an artifacts volume, and grants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_databricks.catalog import Catalog
from cdktf_cdktf_provider_databricks.external_location import ExternalLocation
from cdktf_cdktf_provider_databricks.grants import Grants, GrantsGrant
from cdktf_cdktf_provider_databricks.metastore_assignment import MetastoreAssignment
from cdktf_cdktf_provider_databricks.schema import Schema
from cdktf_cdktf_provider_databricks.storage_credential import (
    StorageCredential,
    StorageCredentialAzureManagedIdentity,
)
from cdktf_cdktf_provider_databricks.volume import Volume
from cdktf_cdktf_provider_time.sleep import Sleep

from constructs_lib.cdk import Construct
from constructs_lib.platform_outputs import PlatformOutputs

# Privileges by role. Writers are the job principal and ML engineers; readers the scientists.
CATALOG_WRITER_PRIVILEGES = (
    "USE_CATALOG",
    "USE_SCHEMA",
    "SELECT",
    "MODIFY",
    "CREATE_TABLE",
    "CREATE_MODEL",
    "CREATE_FUNCTION",
    "READ_VOLUME",
    "WRITE_VOLUME",
    "EXECUTE",
)
CATALOG_READER_PRIVILEGES = ("USE_CATALOG", "USE_SCHEMA", "SELECT", "READ_VOLUME", "EXECUTE")


@dataclass(frozen=True, kw_only=True)
class EnvironmentCatalogProps:
    platform: PlatformOutputs
    """The environment's platform stack: its access connector is the storage credential's
    identity, its Unity Catalog container the catalog's storage root."""
    catalog_name: str
    schema_names: Sequence[str]
    """Schemas to create (features, models, inference)."""
    artifacts_schema: str
    artifacts_volume: str
    writers: Sequence[str] = ()
    """Principals (groups, service principal application IDs) that read and write."""
    readers: Sequence[str] = ()
    """Principals that only read."""
    metastore_id: str | None = None
    """Assign the workspace to this metastore first. Default: already assigned."""
    force_destroy: bool = False
    """Let `terraform destroy` drop a non-empty catalog. Default: refuse."""
    role_propagation_wait: str = "300s"
    """How long the external location waits, after the access connector's role on the data
    lake is (re)created, before Databricks validates access. Azure documents up to 10 minutes
    for a role assignment to take effect; the platform stack's apply already took some."""
    comment_prefix: str = field(default="Managed by databricks-mlops-cdktf")


class EnvironmentCatalog(Construct):
    """One catalog per environment on its own storage root. Exposes `catalog`, `schemas`
    (name -> schema) and `volume`."""

    def __init__(self, scope: Construct, id_: str, props: EnvironmentCatalogProps) -> None:
        super().__init__(scope, id_)
        depends: list = []
        if props.metastore_id:
            depends.append(
                MetastoreAssignment(
                    self,
                    "MetastoreAssignment",
                    metastore_id=props.metastore_id,
                    workspace_id=props.platform.workspace_id,
                )
            )
        self.credential = StorageCredential(
            self,
            "StorageCredential",
            name=f"{props.catalog_name}_storage",
            comment=f"{props.comment_prefix}: access connector of {props.catalog_name}",
            azure_managed_identity=StorageCredentialAzureManagedIdentity(
                access_connector_id=props.platform.access_connector_id
            ),
            depends_on=depends or None,
        )
        # Databricks validates the location's access on create; the connector's role on the
        # data lake (platform stack) may not have propagated yet. Sleeps on first create and
        # whenever the role assignment is recreated (docs/platform-assumptions.md).
        self.role_propagation = Sleep(
            self,
            "ConnectorRolePropagation",
            create_duration=props.role_propagation_wait,
            triggers={"access_connector_role_id": props.platform.access_connector_role_id},
        )
        self.external_location = ExternalLocation(
            self,
            "ExternalLocation",
            name=f"{props.catalog_name}_root",
            url=props.platform.catalog_storage_root,
            credential_name=self.credential.name,
            comment=f"{props.comment_prefix}: storage root of {props.catalog_name}",
            depends_on=[self.role_propagation],
        )
        self.catalog = Catalog(
            self,
            "Catalog",
            name=props.catalog_name,
            storage_root=self.external_location.url,
            comment=f"{props.comment_prefix}: ML assets of this environment",
            isolation_mode="ISOLATED",
            force_destroy=props.force_destroy,
        )
        self.schemas: dict[str, Schema] = {
            name: Schema(
                self,
                f"Schema-{name}",
                catalog_name=self.catalog.name,
                name=name,
                comment=f"{props.comment_prefix}: {name}",
                force_destroy=props.force_destroy,
            )
            for name in dict.fromkeys([*props.schema_names, props.artifacts_schema])
        }
        self.volume = Volume(
            self,
            "ArtifactsVolume",
            catalog_name=self.catalog.name,
            schema_name=self.schemas[props.artifacts_schema].name,
            name=props.artifacts_volume,
            volume_type="MANAGED",
            comment=f"{props.comment_prefix}: job artifacts and reports",
        )
        self.grants = Grants(
            self,
            "CatalogGrants",
            catalog=self.catalog.name,
            grant=_grants(
                {p: CATALOG_WRITER_PRIVILEGES for p in props.writers}
                | {p: CATALOG_READER_PRIVILEGES for p in props.readers if p not in props.writers}
            ),
        )

    @property
    def name(self) -> str:
        return self.catalog.name


def _grants(privileges: Mapping[str, Sequence[str]]) -> list[GrantsGrant]:
    return [
        GrantsGrant(principal=principal, privileges=sorted(privs))
        for principal, privs in sorted(privileges.items())
    ]
