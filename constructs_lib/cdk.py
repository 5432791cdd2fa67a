"""The one module that imports the CDK framework core: CDK for Terraform (`cdktf`, the default)
or CDK Terrain (`cdktn`), whichever `constructs_lib/engine.py` selected for this process.

Everything else imports `App`, `TerraformStack`, `Fn`, ... from here; provider bindings come
from `constructs_lib.providers` (one facade per provider). The two engines export these names
with the same signatures (cdktn is a fork of cdktf 0.21), so nothing else changes with the
engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from constructs import Construct, IConstruct

from constructs_lib import engine as _engine

_core = importlib.import_module(_engine.current().core)

App = _core.App
AssetType = _core.AssetType
Aspects = _core.Aspects
AzurermBackend = _core.AzurermBackend
DefaultTokenResolver = _core.DefaultTokenResolver
Fn = _core.Fn
IAspect = _core.IAspect
LocalBackend = _core.LocalBackend
Postcondition = _core.Postcondition
StringConcat = _core.StringConcat
TerraformAsset = _core.TerraformAsset
TerraformElement = _core.TerraformElement
TerraformOutput = _core.TerraformOutput
TerraformResource = _core.TerraformResource
TerraformResourceLifecycle = _core.TerraformResourceLifecycle
TerraformStack = _core.TerraformStack
TerraformVariable = _core.TerraformVariable
Token = _core.Token
Tokenization = _core.Tokenization

T = TypeVar("T")


def ordered_by_name(
    items: Iterable[T], name: Callable[[T], str], is_token: Callable[[str], bool] | None = None
) -> list[T]:
    """`items` whose name is a literal string, sorted by it, then those whose name is an
    unresolved token (a reference such as a service principal's application ID), in the given
    order. A token prints as `${TfToken[TOKEN.<n>]}`, numbered in creation order across the
    whole app, so sorting by it would order entries by how many tokens happened to exist before:
    an unrelated change elsewhere would reorder them (a snapshot diff, a noisy review)."""
    is_token = is_token or _is_unresolved
    literal: list[T] = []
    tokens: list[T] = []
    for item in items:
        (tokens if is_token(name(item)) else literal).append(item)
    return sorted(literal, key=name) + tokens


def _is_unresolved(text: str) -> bool:
    """`Token.is_unresolved` for a string, without a round trip to node for the strings that
    cannot hold a token: every string token the framework encodes contains `TfToken[`."""
    return "TfToken[" in text and bool(Token.is_unresolved(text))


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
    "ordered_by_name",
    "resolve",
]
