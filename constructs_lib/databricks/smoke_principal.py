"""The smoke identity inside the workspace: a service principal that can run jobs and nothing
else."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.service_principal import ServicePrincipal


@dataclass(frozen=True, kw_only=True)
class SmokePrincipalProps:
    application_id: str
    """Client ID of the Azure managed identity the smoke run logs in as (bootstrap stack,
    `constructs_lib/azure/smoke_identity.py`)."""
    display_name: str
    """Shown in the workspace, e.g. `mlops-dev-smoke`."""


class SmokePrincipal(Construct):
    """Adds the smoke identity to the workspace as an Azure-managed service principal with
    workspace access only (no cluster, pool or SQL entitlement, in no group, no grant). The
    environment gives it CAN_MANAGE_RUN on the jobs the smoke runs; the runs execute as each
    job's `run_as` (the job principal), so it needs no data access. Exposes `application_id`, a
    reference to the created principal (so an ACL naming it waits for it)."""

    def __init__(self, scope: Construct, id_: str, props: SmokePrincipalProps) -> None:
        super().__init__(scope, id_)
        self.principal = ServicePrincipal(
            self,
            "ServicePrincipal",
            application_id=props.application_id,
            display_name=props.display_name,
            # Calls the Jobs API; every runtime it starts comes from the jobs' own policy.
            workspace_access=True,
            allow_cluster_create=False,
            allow_instance_pool_create=False,
            databricks_sql_access=False,
        )
        self.application_id: str = self.principal.application_id
