"""Where a stack keeps its Terraform state: the bootstrap's storage account, or a local file."""

from __future__ import annotations

from constructs_lib.cdk import AzurermBackend, LocalBackend, TerraformStack
from constructs_lib.config.models import AzurermStateBackend, LocalStateBackend


def add_state_backend(
    stack: TerraformStack,
    backend: AzurermStateBackend | LocalStateBackend,
    key: str,
    stack_name: str,
) -> None:
    """The remote backend (blob `key` in the environment's container, Entra ID auth, OIDC in
    CI) or, without one, `terraform.<stack_name>.tfstate` in the project root.

    Both stacks of an environment use the same backend kind, so cdktf can turn a cross-stack
    reference into a `terraform_remote_state` read with the same settings."""
    if isinstance(backend, AzurermStateBackend):
        AzurermBackend(
            stack,
            resource_group_name=backend.resource_group_name,
            storage_account_name=backend.storage_account_name,
            container_name=backend.container_name,
            key=key,
            use_azuread_auth=True,
            use_oidc=True,
        )
    else:
        # Relative to the stack directory (cdktf.out/stacks/<stack>): the state file lives in
        # the project root, survives a clean of cdktf.out, and names no machine path.
        LocalBackend(stack, path=f"../../../terraform.{stack_name}.tfstate")
