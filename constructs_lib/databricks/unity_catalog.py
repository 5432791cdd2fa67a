"""Unity Catalog objects of one environment: a metastore check, credential, external location,
catalog, schemas, an artifacts volume, and grants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.cdk import (
    Construct,
    Fn,
    Postcondition,
    TerraformResourceLifecycle,
    Token,
    ordered_by_name,
)
from constructs_lib.platform_outputs import PlatformOutputs
from constructs_lib.providers.databricks.catalog import Catalog
from constructs_lib.providers.databricks.data_databricks_current_metastore import (
    DataDatabricksCurrentMetastore,
)
from constructs_lib.providers.databricks.external_location import ExternalLocation
from constructs_lib.providers.databricks.grants import Grants, GrantsGrant
from constructs_lib.providers.databricks.metastore_assignment import MetastoreAssignment
from constructs_lib.providers.databricks.schema import Schema
from constructs_lib.providers.databricks.storage_credential import (
    StorageCredential,
    StorageCredentialAzureManagedIdentity,
)
from constructs_lib.providers.databricks.volume import Volume
from constructs_lib.providers.time.sleep import Sleep

# Privileges by role. ML engineers read and write the whole catalog; scientists read.
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

# What the job principal needs, object by object, and why (README, Security).
JOB_CATALOG_PRIVILEGES = ("USE_CATALOG",)
"""To reach any schema of the catalog."""
JOB_TABLE_SCHEMA_PRIVILEGES = ("CREATE_TABLE", "MODIFY", "SELECT", "USE_SCHEMA")
"""Feature and inference schemas: featurize and scoring create, merge into and read their
tables; monitoring reads them."""
JOB_MODEL_SCHEMA_PRIVILEGES = ("CREATE_MODEL", "EXECUTE", "USE_SCHEMA")
"""Models schema: register the model if it is missing (CREATE_MODEL) and load its versions
(EXECUTE). New versions and alias changes need ownership of the registered model, which the
job principal holds (`MlflowTracking`)."""
JOB_VOLUME_PRIVILEGES = ("READ_VOLUME", "WRITE_VOLUME")
"""Artifacts volume: reports and intermediate files of the runs."""
OWNER_DECLARED_TABLE_PRIVILEGES = ("MODIFY", "SELECT")
"""The owner group (the deployers) on the schema whose tables the stack declares (the quality
monitor's inference and baseline tables, owned by the job principal): owning a catalog or schema
gives no SELECT or MODIFY on its tables (Unity Catalog ownership docs), yet creating the quality
monitor needs SELECT on the table (QualityMonitors.Create, databricks-sdk-go v0.93.0) and the
provider alters a declared table's columns and properties with SQL run as the deployer (MODIFY)."""

NO_METASTORE = "no_metastore"
"""What `databricks_current_metastore` reports when the workspace has no metastore."""


@dataclass(frozen=True, kw_only=True)
class EnvironmentCatalogProps:
    platform: PlatformOutputs
    """The environment's platform stack: its access connector is the storage credential's
    identity, its Unity Catalog container the catalog's storage root."""
    catalog_name: str
    feature_schema: str
    model_schema: str
    inference_schema: str
    artifacts_volume: str
    """Managed volume in the models schema."""
    owner: str
    """Group that owns every object created here (the deployers are members)."""
    job_principal: str
    """Application ID of the service principal the jobs run as (minimal grants below)."""
    writers: Sequence[str] = ()
    """Groups that read and write the whole catalog (non-protected environments: in a
    protected one, rule MLOPS-ML-1 refuses people who can write the tables monitoring and the
    retrain decision trust)."""
    readers: Sequence[str] = ()
    """Groups that only read."""
    declared_tables_schema: str | None = None
    """The schema whose tables the stack declares (`databricks_sql_table`, owned by the job
    principal): the owner group gets `OWNER_DECLARED_TABLE_PRIVILEGES` on it. Default: none."""
    model_schema_grants: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Further principal -> privileges on the models schema, inherited by the registered model
    (e.g. the admin group's ALL_PRIVILEGES, APPLY_TAG where people may tag the model).
    Default: none (the job principal's are always there)."""
    metastore_id: str | None = None
    """Assign the workspace to this metastore first. Default: already assigned."""
    verify_metastore: Any = True
    """Whether the plan reads the workspace's metastore to check it exists: a boolean or a
    Terraform variable's value (the read-only pull-request plans switch it off, as they may
    not call the workspace API). Default: always."""
    force_destroy: bool = False
    """Let `terraform destroy` drop a non-empty catalog. Default: refuse."""
    role_propagation_wait: str = "300s"
    """How long the external location waits, after the access connector's role on the data
    lake is (re)created, before Databricks validates access. Azure documents several minutes
    for a role assignment to take effect; the platform stack's apply already took some."""
    comment_prefix: str = field(default="Managed by databricks-mlops-cdktf")


class EnvironmentCatalog(Construct):
    """One catalog per environment on its own storage root, after a plan-time check that the
    workspace has a metastore. Credential and external location are isolated to this
    workspace. Exposes `catalog`, `schemas` (name -> schema), `volume` and `metastore`."""

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
        # A workspace without a metastore fails here, in the plan, with one clear message,
        # instead of half-way through the apply (docs/platform-assumptions.md).
        self.metastore = DataDatabricksCurrentMetastore(
            self,
            "CurrentMetastore",
            count=(
                1
                if props.verify_metastore is True
                else Token.as_number(Fn.conditional(props.verify_metastore, 1, 0))
            ),
            depends_on=depends or None,
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition=f'${{self.id != "{NO_METASTORE}"}}',
                        error_message=(
                            "The workspace has no Unity Catalog metastore. Fix: assign it one "
                            "in the account console, or set "
                            "databricks.unity_catalog.metastore_id (or enabled: false)."
                        ),
                    )
                ]
            ),
        )
        after_check = [self.metastore]
        self.credential = StorageCredential(
            self,
            "StorageCredential",
            name=f"{props.catalog_name}_storage",
            comment=f"{props.comment_prefix}: access connector of {props.catalog_name}",
            azure_managed_identity=StorageCredentialAzureManagedIdentity(
                access_connector_id=props.platform.access_connector_id
            ),
            owner=props.owner,
            # Usable from this workspace only (the provider binds the creating workspace).
            isolation_mode="ISOLATION_MODE_ISOLATED",
            depends_on=after_check,
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
            owner=props.owner,
            isolation_mode="ISOLATION_MODE_ISOLATED",
            depends_on=[self.role_propagation],
        )
        self.catalog = Catalog(
            self,
            "Catalog",
            name=props.catalog_name,
            storage_root=self.external_location.url,
            comment=f"{props.comment_prefix}: ML assets of this environment",
            owner=props.owner,
            isolation_mode="ISOLATED",
            force_destroy=props.force_destroy,
        )
        schema_names = (props.feature_schema, props.model_schema, props.inference_schema)
        self.schemas: dict[str, Schema] = {
            name: Schema(
                self,
                f"Schema-{name}",
                catalog_name=self.catalog.name,
                name=name,
                comment=f"{props.comment_prefix}: {name}",
                owner=props.owner,
                force_destroy=props.force_destroy,
            )
            for name in dict.fromkeys(schema_names)
        }
        self.volume = Volume(
            self,
            "ArtifactsVolume",
            catalog_name=self.catalog.name,
            schema_name=self.schemas[props.model_schema].name,
            name=props.artifacts_volume,
            volume_type="MANAGED",
            comment=f"{props.comment_prefix}: job artifacts and reports",
            owner=props.owner,
        )
        job = props.job_principal
        self.grants = Grants(
            self,
            "CatalogGrants",
            catalog=self.catalog.name,
            grant=_grants(
                {p: CATALOG_WRITER_PRIVILEGES for p in props.writers}
                | {p: CATALOG_READER_PRIVILEGES for p in props.readers if p not in props.writers}
                | {job: JOB_CATALOG_PRIVILEGES}
            ),
        )
        # One authoritative grants resource per schema: the job principal's privileges (the
        # groups' come from the catalog), and on the models schema what people may do to the
        # registered model (its owner is the job principal: grants on the schema stay within
        # the owner group's rights).
        schema_privileges: dict[str, dict[str, Sequence[str]]] = {
            props.feature_schema: {job: JOB_TABLE_SCHEMA_PRIVILEGES},
            props.inference_schema: {job: JOB_TABLE_SCHEMA_PRIVILEGES},
            props.model_schema: {
                **{p: tuple(privs) for p, privs in props.model_schema_grants.items() if privs},
                job: JOB_MODEL_SCHEMA_PRIVILEGES,
            },
        }
        if props.declared_tables_schema is not None:
            schema_privileges[props.declared_tables_schema] = {
                **schema_privileges[props.declared_tables_schema],
                props.owner: OWNER_DECLARED_TABLE_PRIVILEGES,
            }
        self.schema_grants: dict[str, Grants] = {
            name: Grants(
                self,
                f"SchemaGrants-{name}",
                schema=self.schemas[name].id,
                grant=_grants(privileges),
            )
            for name, privileges in schema_privileges.items()
        }
        Grants(
            self,
            "VolumeGrants",
            volume=self.volume.id,
            grant=_grants({job: JOB_VOLUME_PRIVILEGES}),
        )

    @property
    def name(self) -> str:
        return self.catalog.name


def _grants(privileges: Mapping[str, Sequence[str]]) -> list[GrantsGrant]:
    return [
        GrantsGrant(principal=principal, privileges=sorted(privs))
        for principal, privs in ordered_by_name(list(privileges.items()), lambda item: item[0])
    ]
