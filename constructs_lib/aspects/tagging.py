"""Tags on every taggable resource, applied once per stack instead of field by field."""

from __future__ import annotations

from collections.abc import Mapping

import jsii

from constructs_lib.aspects import resource_type
from constructs_lib.cdk import IAspect, IConstruct, TerraformResource


@jsii.implements(IAspect)
class TaggingAspect:
    """Merges `tags` into every Azure resource that has a `tags` argument. Tags set on the
    resource itself win over the environment's, so a construct can specialise one. Databricks
    objects are tagged through `custom_tags` (clusters, pools, jobs) by their constructs: their
    `tags` arguments, where present, are not maps."""

    def __init__(self, tags: Mapping[str, str]) -> None:
        self._tags = dict(sorted(tags.items()))

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or not hasattr(type(node), "tags_input"):
            return
        if not resource_type(node).startswith("azurerm_"):
            return
        own = node.tags_input or {}
        node.tags = {**self._tags, **own}
