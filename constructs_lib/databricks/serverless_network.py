"""Serverless egress of one environment: its network connectivity configuration (NCC) and the
NCC's binding to the environment's workspace. Account-level objects (an account admin's).

Lakehouse Monitoring refreshes, serverless jobs and SQL warehouses run in Databricks'
serverless compute plane, not in the environment's VNet: the data lake's firewall admits them
only from the stable subnets of the NCC attached to the workspace (Azure Databricks docs,
"Configure a firewall for serverless compute access"). The NCC must exist before the platform
stack writes its subnets into that firewall, and the binding needs the workspace the platform
stack creates, so both live in the bootstrap stack (run by an admin, who is an account admin):
its first run creates the NCC; once the environment's workspace exists, its next run binds it
(README, "From zero to deployed").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs_lib.cdk import Construct, Token
from constructs_lib.providers.databricks.data_databricks_mws_workspaces import (
    DataDatabricksMwsWorkspaces,
)
from constructs_lib.providers.databricks.mws_ncc_binding import MwsNccBinding
from constructs_lib.providers.databricks.mws_network_connectivity_config import (
    MwsNetworkConnectivityConfig,
)
from constructs_lib.providers.databricks.provider import DatabricksProvider

NCC_NAME_MAX = 30
"""The NCC name: 3-30 letters, digits, `-` and `_` (provider validation)."""


def ncc_name(prefix: str, environment: str) -> str:
    """`<prefix>-<env>-ncc` (at most 8 + 10 + 6 characters, always within the limit)."""
    name = f"{prefix}-{environment}-ncc"
    if not 3 <= len(name) <= NCC_NAME_MAX:
        raise ValueError(f"NCC name {name!r} is not 3-{NCC_NAME_MAX} characters")
    return name


@dataclass(frozen=True, kw_only=True)
class ServerlessNetworkProps:
    name: str
    """NCC name, e.g. `mlops-prod-ncc` (`ncc_name`)."""
    region: str
    """Azure region of the environment's workspace (an NCC serves workspaces of its region)."""
    workspace_name: str
    """The environment's Azure Databricks workspace (`dbxws<env>`): bound once the account
    lists a workspace of that name."""
    provider: DatabricksProvider
    """An account-level databricks provider (host `https://accounts.azuredatabricks.net`)."""
    workspaces: DataDatabricksMwsWorkspaces | None
    """The account's workspaces (name -> ID), read once per stack. None: no binding (the NCC
    is bound by hand)."""


class ServerlessNetwork(Construct):
    """The NCC of one environment and its binding to the environment's workspace, once that
    workspace exists (no binding without `workspaces`). Exposes `ncc`, `binding` (or None),
    `ncc_id` and `storage_subnet_ids` (a Terraform expression: the NCC's stable Azure
    service-endpoint subnets)."""

    def __init__(self, scope: Construct, id_: str, props: ServerlessNetworkProps) -> None:
        super().__init__(scope, id_)
        self.ncc = MwsNetworkConnectivityConfig(
            self,
            "Ncc",
            provider=props.provider,
            name=props.name,
            region=props.region,
        )
        self.ncc_id: str = self.ncc.network_connectivity_config_id
        self.binding: MwsNccBinding | None = None
        if props.workspaces is not None:
            ids = f"data.databricks_mws_workspaces.{props.workspaces.friendly_unique_id}.ids"
            workspace = json.dumps(props.workspace_name)
            # Bound only when the account already lists the workspace: the bootstrap runs
            # before the platform stack creates it, and again afterwards to bind it. A
            # workspace takes one NCC; the provider cannot unbind (its delete is a no-op).
            self.binding = MwsNccBinding(
                self,
                "Binding",
                provider=props.provider,
                count=Token.as_number(f"${{contains(keys({ids}), {workspace}) ? 1 : 0}}"),
                network_connectivity_config_id=self.ncc_id,
                workspace_id=Token.as_number(f"${{lookup({ids}, {workspace}, 0)}}"),
            )
        ncc = f"databricks_mws_network_connectivity_config.{self.ncc.friendly_unique_id}"
        self.storage_subnet_ids: str = (
            f"${{flatten({ncc}.egress_config[*].default_rules[*]"
            ".azure_service_endpoint_rule[*].subnets)}"
        )
