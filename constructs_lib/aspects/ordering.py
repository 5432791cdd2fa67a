"""Order resources after others without threading `depends_on` through every construct."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import jsii

from constructs_lib.aspects import resource_type
from constructs_lib.cdk import IAspect, IConstruct, TerraformResource


@jsii.implements(IAspect)
class DependsOn:
    """Adds `dependencies` to `depends_on` of every resource whose type is in `types` (keeping
    what it already depends on). E.g. every grant, ACL and permission that names a workspace
    group waits for the group's assignment to the workspace."""

    def __init__(self, types: Iterable[str], dependencies: Sequence[TerraformResource]) -> None:
        self._types = frozenset(types)
        self._dependencies = list(dependencies)
        self._addresses: list[str] | None = None

    def visit(self, node: IConstruct) -> None:
        if (
            self._dependencies
            and isinstance(node, TerraformResource)
            and resource_type(node) in self._types
        ):
            # Plain `type.logical_id` strings: what cdktf writes for constructor-given
            # dependencies (a resource's `fqn` would render as an interpolation, "${...}").
            existing = list(node.depends_on or [])
            if self._addresses is None:  # logical IDs are final once aspects run: read them once
                self._addresses = [
                    f"{resource_type(d)}.{d.friendly_unique_id}" for d in self._dependencies
                ]
            addresses = self._addresses
            node.depends_on = [*existing, *(a for a in addresses if a not in existing)]
