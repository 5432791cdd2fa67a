"""The one module that imports CDK for Terraform core.

Everything else imports `App`, `TerraformStack`, ... from here, so moving to CDK Terrain
(`cdktn`, the community continuation of CDKTF after its archival in December 2025) is a change
to this file only. Provider bindings are imported where they are used, by their submodule path.
"""

from __future__ import annotations

from cdktf import (
    App,
    Aspects,
    AzurermBackend,
    DefaultTokenResolver,
    Fn,
    IAspect,
    LocalBackend,
    Postcondition,
    StringConcat,
    TerraformAsset,
    TerraformElement,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
    Token,
    Tokenization,
)
from cdktf import AssetType as AssetType
from constructs import Construct, IConstruct


def resolve(scope: IConstruct, value: object) -> object:
    """`value` with every token resolved as it is written to the JSON (references become
    `${type.name.attr}` strings), from `scope`'s stack."""
    return Tokenization.resolve(
        value, scope=scope, resolver=DefaultTokenResolver(StringConcat()), preparing=False
    )


__all__ = [
    "App",
    "AssetType",
    "Aspects",
    "AzurermBackend",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "LocalBackend",
    "Postcondition",
    "TerraformAsset",
    "TerraformElement",
    "TerraformOutput",
    "TerraformResource",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "TerraformVariable",
    "Token",
    "resolve",
]
