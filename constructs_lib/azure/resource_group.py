"""The environment's resource group: created here, or read when the bootstrap stack made it."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.azurerm.data_azurerm_resource_group import DataAzurermResourceGroup
from constructs_lib.providers.azurerm.resource_group import ResourceGroup


@dataclass(frozen=True, kw_only=True)
class EnvironmentResourceGroupProps:
    name: str
    """Resource group name (from `constructs_lib.naming.Names`)."""
    location: str
    """Azure region of the group and of every resource in it."""
    use_existing: bool = False
    """Read an existing group (created by the bootstrap stack) instead of creating it."""
    tags: dict[str, str] | None = None
    """Tags of a created group. Default: none here (the stack's tagging aspect adds them)."""


class EnvironmentResourceGroup(Construct):
    """Holds every resource of one environment. Exposes `name`, `id` and `location`."""

    def __init__(self, scope: Construct, id_: str, props: EnvironmentResourceGroupProps) -> None:
        super().__init__(scope, id_)
        self.location = props.location
        if props.use_existing:
            existing = DataAzurermResourceGroup(self, "Existing", name=props.name)
            self.name: str = existing.name
            self.id: str = existing.id
            self.resource: ResourceGroup | None = None
        else:
            self.resource = ResourceGroup(
                self, "Group", name=props.name, location=props.location, tags=props.tags
            )
            self.name = self.resource.name
            self.id = self.resource.id
