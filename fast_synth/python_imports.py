"""Python import laziness: the provider packages import only the submodules a stack uses (A),
and the garbage collector runs far less often (C).

A. *Lazy provider packages.* The provider packages' top-level ``__init__.py`` ends with ~1,500
   ``from . import <resource>`` lines (one per Terraform resource/data source); importing
   *any* class, e.g. ``cdktf_cdktf_provider_azurerm.resource_group.ResourceGroup``, first runs
   that ``__init__``: seconds of CPU and hundreds of MB of class objects. A ``sys.meta_path``
   finder takes over the loading of the provider packages' top-level ``__init__`` only. It runs
   the original file's statements up to and including its ``publication.publish()`` call
   (docstring, imports, ``from ._jsii import *`` which loads the jsii assembly into the kernel,
   ``__all__``, ``publish()``) and leaves out the trailing block of ``from . import
   <submodule>`` statements. A module-level ``__getattr__`` (PEP 562) on the published module
   imports a submodule on first attribute access, and ``from pkg import *`` still works because
   ``__all__`` is unchanged (the import system imports submodules named in ``__all__``).
   Submodules are ordinary, unmodified modules: importing
   ``cdktf_cdktf_provider_azurerm.resource_group`` gives exactly the class objects it gives
   without the finder. The jsii runtime resolves objects returned from JavaScript by their jsii
   type name; if such a type lives in a submodule nobody imported, ``_try_import_type_module``
   is wrapped so the submodule is imported by name and, failing that, *all* submodules of the
   package are imported (the ordinary eager behaviour), so a lookup never fails where it used
   to succeed.
   *Why safe:* the left-out statements only bind submodules; the layout check
   (:func:`_compile_lazy_root`) refuses any file in which the kept statements could depend on
   them. The compiled lazy ``__init__`` is cached like a ``.pyc`` (keyed by path, mtime, size
   and interpreter) in ``$MLOPS_FAST_SYNTH_CACHE`` or ``~/.cache/mlops-fast-synth`` (saves
   ~45 ms per run).
   The same finder runs the *post-import steps* of other families (G,
   :mod:`fast_synth.jsii_serialization`) right after ``constructs`` and ``cdktf`` are imported.

C. *Garbage collector.* Python's cyclic collector repeatedly walks all of those objects while
   the app runs and again at interpreter teardown. The gen-0 threshold is raised from 700 to
   50,000 allocations, so the collector runs a few dozen times instead of hundreds, and
   ``gc.freeze()`` runs last at exit so that interpreter teardown does not walk every object
   once more. This changes when memory is reclaimed, never what the program computes.
"""

from __future__ import annotations

import ast
import atexit
import gc
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

from .common import dist_version, fallback, layout, state

#: A step run on a module right after it is imported (or at once if it already is).
PostImportStep = Callable[[ModuleType], None]

_finder: _LazyProviderFinder | None = None


# --------------------------------------------------------------------------------------------
# A. lazy provider packages
# --------------------------------------------------------------------------------------------


class _LayoutError(Exception):
    pass


def install_lazy_packages(post_import: Mapping[str, PostImportStep] | None = None) -> None:
    """A: put the lazy finder first on ``sys.meta_path`` for the verified provider packages,
    and run ``post_import[name]`` on module ``name`` once it is imported."""
    global _finder
    post_import = dict(post_import or {})
    plans: dict[str, tuple[str, str]] = {}
    # cdktn's provider packages skip their submodule imports themselves: nothing to plan.
    providers = {} if layout().lazy_python_packages else layout().providers
    for pkg, (assembly, expected) in providers.items():
        if pkg in sys.modules:
            # e.g. a test process that built stacks before calling main(): nothing to do, and
            # nothing unexpected about the package, so no warning.
            state.fallbacks.append(f"{pkg} was imported before fast_synth.install()")
            continue
        found = dist_version(pkg)
        if found is None:
            continue  # not installed: nothing to accelerate, nothing to warn about
        if found != expected:
            fallback(f"{pkg} is version {found}, layout verified for {expected}")
            continue
        plans[pkg] = (assembly, expected)
    _finder = _LazyProviderFinder(plans, post_import)
    sys.meta_path.insert(0, _finder)
    if plans:
        _wrap_jsii_type_lookup()
    for name, step in post_import.items():
        if name in sys.modules:  # imported before install(): patch in place
            step(sys.modules[name])


class _LazyProviderFinder(importlib.abc.MetaPathFinder):
    """Hands out specs for the provider root packages whose loader skips submodule imports,
    and for the modules with a post-import step."""

    def __init__(
        self,
        plans: dict[str, tuple[str, str]],
        post_import: Mapping[str, PostImportStep] | None = None,
    ) -> None:
        self.plans = plans
        self.post_import = dict(post_import or {})

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if fullname not in self.plans and fullname not in self.post_import:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.submodule_search_locations:
            return None
        if not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        if fullname in self.plans:
            spec.loader = _LazyRootLoader(spec.loader, fullname, spec.origin)
        else:
            spec.loader = _PostImportLoader(spec.loader, fullname, self.post_import[fullname])
        return spec


class _PostImportLoader(importlib.abc.Loader):
    """The original loader, then ``step(module)``."""

    def __init__(self, original, name: str, step: PostImportStep) -> None:
        self._original = original
        self._name = name
        self._step = step

    def __getattr__(self, item):
        return getattr(self._original, item)

    def create_module(self, spec):
        return self._original.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._original.exec_module(module)
        try:
            self._step(sys.modules.get(self._name, module))
        except Exception as exc:  # noqa: BLE001 - an optimisation must never break the import
            fallback(f"post-import step for {self._name} failed ({exc})")


class _LazyRootLoader(importlib.abc.Loader):
    def __init__(self, original: importlib.machinery.SourceFileLoader, name: str, origin: str):
        self._original = original
        self._name = name
        self._origin = origin

    def __getattr__(self, item):  # get_filename, get_resource_reader, is_package, ...
        return getattr(self._original, item)

    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        try:
            code, submodules = _lazy_root_code(self._name, self._origin)
        except (_LayoutError, OSError, SyntaxError, ValueError) as exc:
            fallback(f"{self._name}/__init__.py has an unexpected layout ({exc})")
            self._original.exec_module(module)
            return
        exec(code, module.__dict__)
        public = sys.modules.get(self._name, module)
        _add_lazy_getattr(public, self._name, submodules)
        state.lazy_packages[self._name] = submodules


_CODE_CACHE_VERSION = "1"


def _code_cache_path(origin: str) -> Path | None:
    """Where the compiled lazy ``__init__`` of ``origin`` is kept: keyed like a .pyc (path,
    mtime, size, interpreter) plus this module's cache version. None: no usable cache dir."""
    try:
        st = os.stat(origin)
    except OSError:
        return None
    base = os.environ.get("MLOPS_FAST_SYNTH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "mlops-fast-synth",
    )
    import hashlib

    key = "|".join(
        [
            origin,
            str(st.st_mtime_ns),
            str(st.st_size),
            sys.implementation.cache_tag or "",
            _CODE_CACHE_VERSION,
        ]
    )
    return Path(base) / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".bin")


def _lazy_root_code(name: str, origin: str):
    """The lazy ``__init__`` code of ``name`` (see :func:`_compile_lazy_root`), cached on disk."""
    import marshal

    cache = _code_cache_path(origin)
    if cache is not None:
        try:
            code, subs = marshal.loads(cache.read_bytes())
            if hasattr(code, "co_code") and isinstance(subs, tuple):
                return code, frozenset(subs)
        except (OSError, ValueError, EOFError, TypeError):
            pass
    code, submodules = _compile_lazy_root(name, origin)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps((code, tuple(sorted(submodules)))))
            os.replace(tmp, cache)
        except OSError:
            pass
    return code, submodules


def _compile_lazy_root(name: str, origin: str):
    """Compile the package ``__init__`` without its trailing ``from . import <sub>`` block."""
    src = Path(origin).read_text(encoding="utf-8")
    tree = ast.parse(src, filename=origin)
    body = tree.body
    pkg_dir = Path(origin).parent

    def is_publish(node: ast.stmt) -> bool:
        return (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "publish"
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == "publication"
            and not node.value.args
            and not node.value.keywords
        )

    publish_at = [i for i, node in enumerate(body) if is_publish(node)]
    if len(publish_at) != 1:
        raise _LayoutError("expected exactly one publication.publish()")
    cut = publish_at[0] + 1
    kept, tail = body[:cut], body[cut:]
    submodules: list[str] = []
    for node in tail:
        if not (
            isinstance(node, ast.ImportFrom)
            and node.level == 1
            and node.module is None
            and len(node.names) == 1
            and node.names[0].asname is None
        ):
            raise _LayoutError(f"unexpected statement after publish() at line {node.lineno}")
        sub = node.names[0].name
        if not (pkg_dir / sub / "__init__.py").is_file():
            raise _LayoutError(f"'from . import {sub}' is not a subpackage")
        submodules.append(sub)
    if len(submodules) < 2:
        raise _LayoutError("no trailing block of submodule imports")
    subset = set(submodules)
    saw_jsii = False
    for node in kept:
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and sub.level:
                if sub.module == "_jsii" and [a.name for a in sub.names] == ["*"]:
                    saw_jsii = True
                    continue
                raise _LayoutError(f"unexpected relative import at line {sub.lineno}")
            if isinstance(sub, ast.Name) and sub.id in subset:
                raise _LayoutError(f"kept code refers to submodule {sub.id!r} (line {sub.lineno})")
    if not saw_jsii:
        raise _LayoutError("no 'from ._jsii import *'")
    module = ast.Module(body=kept, type_ignores=[])
    return compile(module, origin, "exec", dont_inherit=True), frozenset(submodules)


def _add_lazy_getattr(public: ModuleType, name: str, submodules: frozenset[str]) -> None:
    def __getattr__(attr: str):  # PEP 562: only called when normal lookup fails
        if attr in submodules:
            return importlib.import_module(f"{name}.{attr}")
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    def __dir__():
        return sorted(set(public.__dict__) | submodules)

    public.__getattr__ = __getattr__  # type: ignore[attr-defined]
    public.__dir__ = __dir__  # type: ignore[attr-defined]


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _wrap_jsii_type_lookup() -> None:
    """Make the jsii runtime import a not-yet-imported submodule when it meets one of its types."""
    try:
        from jsii import _reference_map as refmap
    except ImportError as exc:  # pragma: no cover - jsii is a hard dependency of cdktf
        fallback(f"jsii runtime not importable ({exc})")
        return
    original = getattr(refmap, "_try_import_type_module", None)
    assembly_to_pkg = {assembly: pkg for pkg, (assembly, _) in layout().providers.items()}
    registries = [
        getattr(refmap, n, None) for n in ("_types", "_data_types", "_enums", "_interfaces")
    ]
    if original is None or any(r is None for r in registries):
        # Older jsii without lazy-type support: it never asks, so it must see all submodules.
        fallback("jsii runtime has no _try_import_type_module hook (provider packages stay eager)")
        if _finder is not None:
            _finder.plans.clear()
        return

    def known(fqn: str) -> bool:
        return any(fqn in r for r in registries)

    def _try_import_type_module(class_fqn: str) -> bool:
        result = original(class_fqn)
        parts = class_fqn.split(".")
        pkg = assembly_to_pkg.get(parts[0])
        if pkg is None or pkg not in state.lazy_packages or known(class_fqn):
            return result
        subs = state.lazy_packages[pkg]
        if len(parts) > 2:
            guess = _CAMEL.sub("_", parts[1]).lower()
            if guess in subs:
                importlib.import_module(f"{pkg}.{guess}")
                if known(class_fqn):
                    return True
        for sub in sorted(subs):  # the ordinary, eager behaviour
            importlib.import_module(f"{pkg}.{sub}")
        return True

    _try_import_type_module.__wrapped__ = original  # type: ignore[attr-defined]
    refmap._try_import_type_module = _try_import_type_module


# --------------------------------------------------------------------------------------------
# C. garbage collector
# --------------------------------------------------------------------------------------------

#: gen-0 threshold while the app runs (CPython's default is 700). Fewer, larger collections.
GC_THRESHOLD0 = 50_000


def install_gc_tuning() -> None:
    """C: raise the gen-0 threshold; freeze the heap last at exit."""
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GC_THRESHOLD0), gen1, gen2)
    atexit.register(gc.freeze)  # registered first, so it runs last: right before teardown
    state.gc_frozen = True
