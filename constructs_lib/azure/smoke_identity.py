"""The smoke identity of one environment: keyless (OIDC) and without any Azure role.

A user-assigned managed identity whose only federated credential is the GitHub environment
`<env>-smoke` (deployable from `main` only). It holds no role assignment at all: its only rights
are inside the Databricks workspace, where the workspace stack adds it as a service principal
with CAN_MANAGE_RUN on the jobs the smoke runs (constructs_lib/databricks/smoke_principal.py).
The jobs run as their `run_as` job principal, so the smoke identity needs no data access.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.azure.deployment_identity import (
    AZURE_AD_TOKEN_AUDIENCE,
    GITHUB_OIDC_ISSUER,
    github_subject,
)
from constructs_lib.azure.resource_group import EnvironmentResourceGroup
from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.federated_identity_credential import (
    FederatedIdentityCredential,
)
from constructs_lib.providers.azurerm.user_assigned_identity import UserAssignedIdentity
from constructs_lib.providers.compat import federated_credential_identity


@dataclass(frozen=True, kw_only=True)
class SmokeIdentityProps:
    name: str
    """Name of the managed identity (`naming.smoke_identity_name`)."""
    home: EnvironmentResourceGroup
    """Where the identity lives (the bootstrap group, with the other GitHub identities)."""
    github_repository: str
    """`owner/name` of the repository whose workflows may log in."""
    github_environment: str
    """The one GitHub environment whose jobs may log in as this identity (`<env>-smoke`)."""


class SmokeIdentity(Construct):
    """A managed identity with one federated credential and no role. Exposes `identity`,
    `github_environment` and `subject`."""

    def __init__(self, scope: Construct, id_: str, props: SmokeIdentityProps) -> None:
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
