"""GitHub Actions identities of one environment: keyless (OIDC), least privilege.

Two per environment, so that a job that only reads never holds a credential that can write:

- `DeploymentIdentity` applies reviewed plans. Its only federated credential is the protected
  GitHub environment `<env>` (deployment branch rules, required reviewers for uat and prod).
- `PlanIdentity` plans, checks drift and reads state. Its only federated credential is the
  unprotected GitHub environment `<env>-plan` (pull requests from any branch use it), so it holds
  read-only roles: Reader on the environment's resource group and Storage Blob Data Reader on
  the environment's state container. It cannot hold the state lock (a blob lease is a write).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.azure.subscription_reads import SubscriptionReadRole
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.federated_identity_credential import (
    FederatedIdentityCredential,
)
from constructs_lib.providers.azurerm.role_assignment import RoleAssignment
from constructs_lib.providers.azurerm.user_assigned_identity import UserAssignedIdentity
from constructs_lib.providers.compat import federated_credential_identity

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
AZURE_AD_TOKEN_AUDIENCE = "api://AzureADTokenExchange"

# Built-in role definition IDs (the same in every tenant; Azure built-in roles reference).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
BUILT_IN_ROLE_IDS: Mapping[str, str] = MappingProxyType(
    {
        "Storage Blob Data Contributor": STORAGE_BLOB_DATA_CONTRIBUTOR,
        "Key Vault Secrets User": KEY_VAULT_SECRETS_USER,
        "Key Vault Administrator": KEY_VAULT_ADMINISTRATOR,
    }
)
"""Name -> ID of every built-in role a platform stack assigns (a test keeps it complete)."""
DELEGABLE_ROLES = (STORAGE_BLOB_DATA_CONTRIBUTOR, KEY_VAULT_SECRETS_USER)
"""The roles every deployer may assign: to the Unity Catalog access connector (storage) and to
Azure Databricks (Key Vault-backed secret scope)."""
AZURE_ML_DELEGABLE_ROLES = (KEY_VAULT_ADMINISTRATOR,)
"""Added for an environment with an Azure ML workspace: its system-assigned identity needs Key
Vault Administrator on the environment's RBAC vault (Azure ML "Set up authentication between
Azure Machine Learning and other services": Key Vault with the RBAC permission model)."""


def delegable_roles(*, azure_ml_enabled: bool) -> tuple[str, ...]:
    """Role definition IDs the deployer of an environment may assign: exactly the roles its
    platform stack assigns."""
    return DELEGABLE_ROLES + (AZURE_ML_DELEGABLE_ROLES if azure_ml_enabled else ())


PLAN_ROLES = ("Reader", "Storage Blob Data Reader")
"""Every role the plan identity holds. Reader has `*/read` actions only and no data actions;
Storage Blob Data Reader reads blobs (no write, no lease, so no state lock)."""


def delegation_condition(role_ids: Sequence[str]) -> str:
    """ABAC condition limiting role assignment writes and deletes to `role_ids`."""
    guids = ", ".join(role_ids)
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals {{{guids}}})) AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        "(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
    )


def github_subject(repository: str, environment: str) -> str:
    """OIDC subject of a GitHub Actions job that runs in `environment` of `repository`."""
    return f"repo:{repository}:environment:{environment}"


@dataclass(frozen=True, kw_only=True)
class FederatedIdentityProps:
    name: str
    """Name of the managed identity (`naming.deployer_identity_name`, `planner_identity_name`,
    `smoke_identity_name`)."""
    home: EnvironmentResourceGroup
    """Where the identity lives (the bootstrap group, so destroying an environment keeps it)."""
    github_repository: str
    """`owner/name` of the repository whose workflows may log in."""
    github_environment: str
    """The one GitHub environment whose jobs may log in as this identity."""


@dataclass(frozen=True, kw_only=True)
class GitHubIdentityProps(FederatedIdentityProps):
    target: EnvironmentResourceGroup
    """The environment's resource group: the only resource group the identity gets a role on."""
    state_container_scope: str
    """ARM ID of the environment's state container: the only state it may reach. It holds both
    of the environment's state keys (`<env>.tfstate`, `<env>-workspace.tfstate`)."""
    delegable_role_ids: Sequence[str] = DELEGABLE_ROLES
    """Role definition IDs a deploy identity may assign on the resource group (its ABAC
    condition); `delegable_roles(...)` of the environment. Ignored by the plan identity."""


class GitHubFederatedIdentity(Construct):
    """A user-assigned managed identity with one federated credential for one GitHub
    environment (no secret exists), and no role: subclasses add theirs with `_role`. Exposes
    `identity`, `github_environment` and `subject`."""

    def __init__(self, scope: Construct, id_: str, props: FederatedIdentityProps) -> None:
        super().__init__(scope, id_)
        self.identity = UserAssignedIdentity(
            self,
            "Identity",
            name=props.name,
            location=props.home.location,
            resource_group_name=props.home.name,
        )
        self.github_environment = props.github_environment
        self.subject = github_subject(props.github_repository, props.github_environment)
        FederatedIdentityCredential(
            self,
            f"GitHub-{props.github_environment}",
            name=f"github-{props.github_environment}",
            **federated_credential_identity(
                identity_id=self.identity.id, identity_resource_group_name=props.home.name
            ),
            issuer=GITHUB_OIDC_ISSUER,
            audience=[AZURE_AD_TOKEN_AUDIENCE],
            subject=self.subject,
        )

    def _role(self, id_: str, scope: str, role: str, **extra: str) -> RoleAssignment:
        return RoleAssignment(
            self,
            id_,
            scope=scope,
            role_definition_name=role,
            principal_id=self.identity.principal_id,
            principal_type="ServicePrincipal",
            **extra,
        )


class DeploymentIdentity(GitHubFederatedIdentity):
    """Applies reviewed plans: Contributor and a conditioned Role Based Access Control
    Administrator on the environment's resource group only; Storage Blob Data Contributor on its
    state container (state writes and the lock). Federated only to the protected GitHub
    environment `<env>`. `add_subscription_reads` adds the custom read-only role the provider
    needs at subscription scope."""

    def __init__(self, scope: Construct, id_: str, props: GitHubIdentityProps) -> None:
        super().__init__(scope, id_, props)
        self.delegable_role_ids = tuple(props.delegable_role_ids)
        self.role_assignments = [
            self._role("Contributor", props.target.id, "Contributor"),
            self._role(
                "RoleAssignmentsLimited",
                props.target.id,
                "Role Based Access Control Administrator",
                condition_version="2.0",
                condition=delegation_condition(self.delegable_role_ids),
            ),
            self._role(
                "StateContainer", props.state_container_scope, "Storage Blob Data Contributor"
            ),
        ]

    def add_subscription_reads(self, role: SubscriptionReadRole) -> RoleAssignment:
        """Assign `role` (soft-deleted Log Analytics workspaces and Key Vaults, read only) to
        this identity at subscription scope."""
        assignment = role.grant(self, "SubscriptionReads", self.identity.principal_id)
        self.role_assignments.append(assignment)
        return assignment


class PlanIdentity(GitHubFederatedIdentity):
    """Plans and drift checks: Reader on the environment's resource group and Storage Blob Data
    Reader on its state container; nothing that writes. Federated only to `<env>-plan`."""

    def __init__(self, scope: Construct, id_: str, props: GitHubIdentityProps) -> None:
        super().__init__(scope, id_, props)
        reader, state_reader = PLAN_ROLES
        self.role_assignments = [
            self._role("Reader", props.target.id, reader),
            self._role("StateContainer", props.state_container_scope, state_reader),
        ]
