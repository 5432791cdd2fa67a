"""The one place provider bindings are imported from: a facade per provider that resolves to the
binding of the engine in use (`constructs_lib/engine.py`).

How a construct imports a binding (the only way; `tests/unit/test_engine_facades.py` fails on
a direct import of `cdktf_cdktf_provider_*` or `cdktn_provider_*`):

    from constructs_lib.providers.azurerm.resource_group import ResourceGroup
    from constructs_lib.providers.databricks.job import Job, JobTask
    from constructs_lib.providers.time.sleep import Sleep

i.e. the binding's own submodule path with `cdktf_cdktf_provider_<name>` (or
`cdktn_provider_<name>`) replaced by `constructs_lib.providers.<name>`. Both engines' bindings
use the same submodule and class names (generated from the provider schema by the same code
generator), so a construct is written once. An attribute that exists in only one engine's
provider version is a difference between the engines (`tools/engine_diff/`, with a helper in
`constructs_lib/providers/compat.py`), not a branch here. A resource type that only the newer
providers have cannot be used while cdktf, whose bindings lack it, is the default engine.

`constructs_lib.providers.<name>.<submodule>` *is* the binding's module, not a copy: importing
it imports `<binding package>.<submodule>` and returns that very module object (same classes,
same jsii type registrations). Nothing else is imported: a stack that uses three of the ~1,500
submodules of a provider imports those three, which is what the synthesis accelerator's lazy
provider packages rely on (`fast_synth/python_imports.py`, technique A). The mechanism is a
`sys.meta_path` finder for the names under this package, installed when this package is first
imported (which Python does before importing any name under it).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType

from constructs_lib import engine as _engine

__all__ = ["binding_package", "is_binding_module"]


def binding_package(provider: str) -> str:
    """The Python package of `provider`'s binding in the engine of this process."""
    return _engine.current().bindings[provider]


def is_binding_module(module_name: str) -> bool:
    """True if `module_name` belongs to a provider binding of the engine in use (e.g. a class's
    `__module__`)."""
    return any(
        module_name == pkg or module_name.startswith(pkg + ".")
        for pkg in _engine.current().bindings.values()
    )


class _BindingAliasLoader(importlib.abc.Loader):
    """Imports the real binding module and puts it in `sys.modules` under the facade name."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):  # noqa: D102 - the default module, replaced in exec_module
        return None

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102
        # The import system returns what sys.modules holds under the name after exec_module.
        sys.modules[module.__name__] = importlib.import_module(self.target)


class _BindingAliasFinder(importlib.abc.MetaPathFinder):
    """`constructs_lib.providers.<provider>[.<submodule>]` -> the engine's binding module."""

    prefix = __name__ + "."

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if not fullname.startswith(self.prefix):
            return None
        provider, _, rest = fullname[len(self.prefix) :].partition(".")
        if provider not in _engine.PROVIDERS:
            return None
        real = binding_package(provider) + (f".{rest}" if rest else "")
        return importlib.util.spec_from_loader(fullname, _BindingAliasLoader(real), is_package=True)


if not any(isinstance(f, _BindingAliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _BindingAliasFinder())
