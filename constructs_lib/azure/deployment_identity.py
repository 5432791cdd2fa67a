"""A GitHub Actions deployment identity for one environment: keyless (OIDC), least privilege."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.federated_identity_credential import (
    FederatedIdentityCredential,
)
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
AZURE_AD_TOKEN_AUDIENCE = "api://AzureADTokenExchange"

# Built-in role definition IDs (the same in every tenant).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
DELEGABLE_ROLES = (STORAGE_BLOB_DATA_CONTRIBUTOR, KEY_VAULT_SECRETS_USER)
"""The only roles the deployer may assign: to the Unity Catalog access connector (storage) and
to Azure Databricks (Key Vault-backed secret scope)."""


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
class DeploymentIdentityProps:
    name: str
    home: EnvironmentResourceGroup
    """Where the identity lives (the bootstrap group, so destroying an environment keeps it)."""
    target: EnvironmentResourceGroup
    """The environment's resource group: the only scope the identity gets roles on."""
    github_repository: str
    github_environments: Sequence[str]
    """GitHub environments whose jobs may log in as this identity."""
    state_container_scope: str
    """ARM ID of the environment's state container: the only state it may read and write."""


class DeploymentIdentity(Construct):
    """User-assigned managed identity with federated credentials for the given GitHub
    environments; Contributor and a conditioned Role Based Access Control Administrator on the
    environment's resource group only; Storage Blob Data Contributor on its state container."""

    def __init__(self, scope: Construct, id_: str, props: DeploymentIdentityProps) -> None:
        super().__init__(scope, id_)
        self.identity = UserAssignedIdentity(
            self,
            "Identity",
            name=props.name,
            location=props.home.location,
            resource_group_name=props.home.name,
        )
        self.subjects = [
            github_subject(props.github_repository, e) for e in props.github_environments
        ]
        for env, subject in zip(props.github_environments, self.subjects, strict=True):
            FederatedIdentityCredential(
                self,
                f"GitHub-{env}",
                name=f"github-{env}",
                resource_group_name=props.home.name,
                parent_id=self.identity.id,
                issuer=GITHUB_OIDC_ISSUER,
                audience=[AZURE_AD_TOKEN_AUDIENCE],
                subject=subject,
            )
        principal = self.identity.principal_id
        self.role_assignments = [
            RoleAssignment(
                self,
                "Contributor",
                scope=props.target.id,
                role_definition_name="Contributor",
                principal_id=principal,
                principal_type="ServicePrincipal",
            ),
            RoleAssignment(
                self,
                "RoleAssignmentsLimited",
                scope=props.target.id,
                role_definition_name="Role Based Access Control Administrator",
                principal_id=principal,
                principal_type="ServicePrincipal",
                condition_version="2.0",
                condition=delegation_condition(DELEGABLE_ROLES),
            ),
            RoleAssignment(
                self,
                "StateContainer",
                scope=props.state_container_scope,
                role_definition_name="Storage Blob Data Contributor",
                principal_id=principal,
                principal_type="ServicePrincipal",
            ),
        ]
