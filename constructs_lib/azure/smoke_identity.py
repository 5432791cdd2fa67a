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
    FederatedIdentityProps,
    GitHubFederatedIdentity,
)


@dataclass(frozen=True, kw_only=True)
class SmokeIdentityProps(FederatedIdentityProps):
    """`github_environment` is `<env>-smoke`; `home` the bootstrap group, with the other GitHub
    identities."""


class SmokeIdentity(GitHubFederatedIdentity):
    """A managed identity with one federated credential (`<env>-smoke`) and no role. Exposes
    `identity`, `github_environment` and `subject`."""
