"""The service principal every ML job of an environment runs as."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.access_control_rule_set import (
    AccessControlRuleSet,
    AccessControlRuleSetGrantRules,
)
from constructs_lib.providers.databricks.service_principal import ServicePrincipal


@dataclass(frozen=True, kw_only=True)
class JobPrincipalProps:
    display_name: str
    """Name of the Databricks-managed service principal to create, e.g. `mlops-prod-jobs`."""
    existing_application_id: str | None = None
    """Use this existing service principal (already assigned to the workspace) instead of
    creating one. Its rule set is then not managed here: grant the `user_group` the Service
    Principal User role on it yourself."""
    account_id: str | None = None
    """Databricks account ID; required to manage a created principal's rule set."""
    user_group: str
    """Group (the deployers' group) that gets Service Principal User and Manager on a created
    principal: setting a job's `run_as` to a service principal needs Service Principal User,
    even for workspace admins."""


class JobPrincipal(Construct):
    """Creates a Databricks-managed service principal with only workspace access (no cluster,
    pool or SQL entitlements), and lets `user_group` run jobs as it; or refers to an existing
    one. Exposes `application_id` (what `run_as`, grants and ACLs name) and `principal`
    (the created resource, or None)."""

    def __init__(self, scope: Construct, id_: str, props: JobPrincipalProps) -> None:
        super().__init__(scope, id_)
        self.principal: ServicePrincipal | None = None
        self.rule_set: AccessControlRuleSet | None = None
        """Who may use the principal; a job naming it as `run_as` must wait for it."""
        if props.existing_application_id:
            self.application_id: str = props.existing_application_id
            return
        if not props.account_id:
            raise ValueError("JobPrincipal: account_id is required to create a principal")
        self.principal = ServicePrincipal(
            self,
            "ServicePrincipal",
            display_name=props.display_name,
            # Reads the wheel and writes MLflow runs in the workspace; job clusters come
            # from the policy it may use, not from a cluster-create entitlement.
            workspace_access=True,
            allow_cluster_create=False,
            allow_instance_pool_create=False,
            databricks_sql_access=False,
        )
        self.application_id = self.principal.application_id
        group = f"groups/{props.user_group}"
        # Authoritative for this principal's rules: only the deployers' group may use or
        # manage it (docs/platform-assumptions.md).
        self.rule_set = AccessControlRuleSet(
            self,
            "RuleSet",
            name=(
                f"accounts/{props.account_id}/servicePrincipals/"
                f"{self.application_id}/ruleSets/default"
            ),
            grant_rules=[
                AccessControlRuleSetGrantRules(
                    role="roles/servicePrincipal.manager", principals=[group]
                ),
                AccessControlRuleSetGrantRules(
                    role="roles/servicePrincipal.user", principals=[group]
                ),
            ],
        )
