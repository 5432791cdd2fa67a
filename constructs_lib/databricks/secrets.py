"""The environment's secret scope and who may read or manage it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.secret_acl import SecretAcl
from constructs_lib.providers.databricks.secret_scope import SecretScope as DbSecretScope
from constructs_lib.providers.databricks.secret_scope import SecretScopeKeyvaultMetadata


@dataclass(frozen=True, kw_only=True)
class SecretScopeProps:
    name: str
    key_vault_id: str | None
    """ARM ID of the Key Vault that backs the scope (secrets never leave it). None: a
    Databricks-backed scope."""
    key_vault_uri: str | None = None
    """The vault's URI (`https://<name>.vault.azure.net/`); required with `key_vault_id`."""
    readers: Sequence[str] = ()
    """Groups with READ (engineers, data scientists)."""
    job_principal: str | None = None
    """Application ID of the job principal (READ); a reference when the stack creates it."""
    managers: Sequence[str] = ()
    """Principals with MANAGE (admins only). Never `users`."""


class SecretScope(Construct):
    """Key Vault-backed secret scope (or Databricks-backed fallback) with explicit ACLs:
    READ for the job principal and configured groups, MANAGE only for admins."""

    def __init__(self, scope: Construct, id_: str, props: SecretScopeProps) -> None:
        super().__init__(scope, id_)
        if "users" in props.managers:
            raise ValueError("SecretScope: MANAGE must not be granted to all users ('users')")
        metadata = None
        if props.key_vault_id is not None:
            if not props.key_vault_uri:
                raise ValueError("SecretScope: key_vault_id needs key_vault_uri")
            metadata = SecretScopeKeyvaultMetadata(
                resource_id=props.key_vault_id, dns_name=props.key_vault_uri
            )
        self.scope = DbSecretScope(
            self,
            "Scope",
            name=props.name,
            backend_type="AZURE_KEYVAULT" if metadata else "DATABRICKS",
            keyvault_metadata=metadata,
        )
        if props.job_principal is not None:
            SecretAcl(
                self,
                "Read-JobPrincipal",
                scope=self.scope.name,
                principal=props.job_principal,
                permission="READ",
            )
        for principal in sorted(set(props.readers) - set(props.managers)):
            SecretAcl(
                self,
                f"Read-{principal}",
                scope=self.scope.name,
                principal=principal,
                permission="READ",
            )
        for principal in sorted(set(props.managers)):
            SecretAcl(
                self,
                f"Manage-{principal}",
                scope=self.scope.name,
                principal=principal,
                permission="MANAGE",
            )
