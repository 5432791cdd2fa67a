"""The workspace IP access list: who may reach the UI and REST API over the internet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.ip_access_list import IpAccessList
from constructs_lib.providers.databricks.workspace_conf import WorkspaceConf


@dataclass(frozen=True, kw_only=True)
class WorkspaceIpAccessListProps:
    label: str
    """Name of the list in the workspace, e.g. `mlops-prod-allowed`."""
    allowed_ip_ranges: Sequence[str]
    """IPv4 addresses or CIDR ranges allowed (at most 1,000 entries). Must include the
    deployer's egress address: Databricks refuses a list that would block the caller."""
    compute_egress_ip_addresses: Sequence[str] = ()
    """The public IPs the workspace's own compute plane reaches the control plane from (the NAT
    gateway's, usually a platform-stack reference). With secure cluster connectivity, classic
    compute cannot launch unless they are allowed (Azure Databricks, "Configure IP access lists
    for workspaces"; rule MLOPS-DBW-2). Added to the list after `allowed_ip_ranges`."""


class WorkspaceIpAccessList(Construct):
    """Turns IP access lists on for the workspace (`enableIpAccessLists`) and creates one ALLOW
    list. With Private Link, the list applies only to requests over the public internet.
    Exposes `conf` and `allow_list`."""

    def __init__(self, scope: Construct, id_: str, props: WorkspaceIpAccessListProps) -> None:
        super().__init__(scope, id_)
        if not props.allowed_ip_ranges:
            raise ValueError("WorkspaceIpAccessList: allowed_ip_ranges is empty")
        self.conf = WorkspaceConf(self, "Conf", custom_config={"enableIpAccessLists": "true"})
        # The list depends on the setting, so a destroy deletes the list first and then resets
        # the setting (the provider's documented order).
        self.allow_list = IpAccessList(
            self,
            "Allow",
            label=props.label,
            list_type="ALLOW",
            ip_addresses=[*props.allowed_ip_ranges, *props.compute_egress_ip_addresses],
            enabled=True,
            depends_on=[self.conf],
        )
