"""Faster ``cdktf synth`` for this app: load only the provider code a stack really uses.

Why
---
A plain CDKTF Python app that imports the prebuilt ``azurerm`` and ``databricks`` bindings pays,
before it writes a byte, for code it never runs:

1. **Python eagerly imports every submodule.** The provider packages' top-level ``__init__.py``
   ends with ~1,500 ``from . import <resource>`` lines (one per Terraform resource/data source).
   Importing *any* class, e.g. ``cdktf_cdktf_provider_azurerm.resource_group.ResourceGroup``,
   first runs that ``__init__``: seconds of CPU and hundreds of MB of class objects.
2. **The jsii kernel (node) ``require()``\\s the provider's eager ``lib/index.js``**, which in turn
   requires all ~1,500 compiled resource modules. The same tarball ships ``lib/lazy-index.js``:
   the same export names, each defined as a getter that ``require()``\\s its module on first use.
3. **Python's cyclic garbage collector** repeatedly walks all of those objects while the app runs
   and again at interpreter teardown.
4. **Every jsii call is a round trip** Python -> node relay -> node kernel and back, thousands
   of them per synth; both processes wait for each other.

What :func:`install` does (each trick is independent and individually guarded)
------------------------------------------------------------------------------

A. *Lazy provider packages (Python).* A ``sys.meta_path`` finder takes over the loading of the
   provider packages' top-level ``__init__`` only. It runs the original file's statements up to
   and including its ``publication.publish()`` call (docstring, imports, ``from ._jsii import *``
   which loads the jsii assembly into the kernel, ``__all__``, ``publish()``) and leaves out the
   trailing block of ``from . import <submodule>`` statements. A module-level ``__getattr__``
   (PEP 562) on the published module imports a submodule on first attribute access, and
   ``from pkg import *`` still works because ``__all__`` is unchanged (the import system imports
   submodules named in ``__all__``). Submodules are ordinary, unmodified modules: importing
   ``cdktf_cdktf_provider_azurerm.resource_group`` gives exactly the class objects it gives today.
   The jsii runtime resolves objects returned from JavaScript by their jsii type name; if such a
   type lives in a submodule nobody imported, :func:`_try_import_type_module` is wrapped so the
   submodule is imported by name and, failing that, *all* submodules of the package are imported
   (the ordinary eager behaviour), so a lookup never fails where it used to succeed.
   *Why safe:* the left-out statements only bind submodules; the layout check below refuses any
   file in which the kept statements could depend on them. The compiled lazy ``__init__`` is
   cached like a ``.pyc`` (keyed by path, mtime, size and interpreter) in
   ``$MLOPS_FAST_SYNTH_CACHE`` or ``~/.cache/mlops-fast-synth`` (saves ~45 ms per run).
B. *Lazy provider index (node).* The jsii kernel ``require()``\\s a package by name, resolving its
   ``package.json`` ``main`` (``lib/index.js``). jsii's Python runtime starts node with the
   script returned by ``_NodeProcess._jsii_runtime()``; we return a small entry script written
   next to the embedded runtime (see E) that first loads a hook. The hook wraps
   ``Module._resolveFilename`` so that, for the provider packages listed here only, a resolution
   of the package name to ``lib/index.js`` returns ``lib/lazy-index.js`` instead. Nothing in the
   kernel enumerates a module's exports; it walks them by name (``exports.resourceGroup
   .ResourceGroup``), which the getters answer with the very same module objects.
   *Why safe:* the hook checks the package name and version in ``package.json`` and that
   ``lazy-index.js`` exports exactly the same names as ``index.js`` (each as a plain
   ``require('./<dir>')`` getter); otherwise it keeps ``index.js`` and prints a warning.
C. *Garbage collector.* The gen-0 threshold is raised from 700 to 50,000 allocations, so the
   collector runs a few dozen times instead of hundreds, and ``gc.freeze()`` runs last at exit
   so that interpreter teardown does not walk every object once more. This changes when memory
   is reclaimed, never what the program computes.
D. *Memoized type checks.* The bindings call ``typing.get_type_hints(<stub>)`` and
   ``typeguard.check_type`` for every argument of every constructor. Hints of the generated
   ``_typecheckingstub__*`` functions are computed once per stub; a *passing* check of a
   primitive value (str/int/float/bool/None), whose outcome depends only on the value's type,
   is remembered per (type, expected type). Failures always run the real check, so the same
   TypeError (with the same message) is raised as before. See :func:`_install_type_check_memo`.
E. *One node process instead of two.* ``bin/jsii-runtime.js`` only relays: it spawns a second
   node running ``lib/program.js`` (the kernel) with an extra pipe for the protocol, and wraps
   the kernel's console output into ``{"stdout"|"stderr": base64}`` lines on stderr. Our entry
   script runs that same ``program.js`` in the first process instead, on stdin/stdout (the one
   textual change: ``readFD:3,writeFD:3`` -> ``readFD:0,writeFD:1``, checked to occur exactly
   once), with ``process.stdout``/``process.stderr`` replaced by streams that write exactly
   those wrapped lines, and with ``--preserve-symlinks`` as the relay gives its child. Every
   request/response now crosses one pipe instead of two: less CPU, ~40 MB less memory. If
   ``program.js`` does not look as expected, or ``JSII_DEBUG`` is set, the entry falls back to
   the relay (plus the hook of B).
F. *Early start.* :func:`install` starts the node process immediately and queues the ``load``
   requests for constructs, cdktf and the two providers that their ``_jsii`` modules will send
   anyway (same name, version and tarball, read from those files without importing them). Node
   unpacks and loads the assemblies while Python is still importing the app; the matching
   requests are then answered from the queue. See :func:`_install_prefetch` for why the
   protocol order is preserved. A prefetch nobody uses (a config error) is stopped with
   SIGTERM, which skips the kernel's own removal of ``$TMPDIR/jsii-kernel-*``, so node gets a
   ``TMPDIR`` of its own that is removed at exit (``constructs_lib/scratch.py``).

G. *Properties that cannot change.* ``construct.node``, ``node.path``, ``node.scopes`` and a
   resource's ``terraform_resource_type`` are fixed once the object exists, yet every read is a
   round trip to node (aspects read them for every construct). The getters listed in
   :data:`CONSTANT_PROPERTIES` keep the first answer on the Python object (lists are copied on
   every read). The answer is the very object jsii would return again (one proxy per JS object).

H. *Struct serialization without the getters.* To send a struct (e.g. a ``JobTask``) to node,
   jsii reads each of its properties through the generated getter, which evaluates
   ``typing.cast(typing.Optional[...], self._values.get(name))``: building the ``typing``
   object costs far more than the value. :func:`_install_struct_serialization` reads
   ``self._values.get(name)`` directly for objects that are jsii structs (a
   ``__jsii_name_mapping__`` and a ``_values`` dict): exactly what the getters return, as the
   generated code does nothing else. Everything else goes to jsii's own function. Optional
   properties that were never set (absent from ``_values``; the generated ``__init__`` stores
   only non-``None`` optionals and always stores required ones) are left out instead of being
   sent as ``null``: the kernel drops ``null`` optionals when it deserializes a struct (its
   ``mapValues`` skips ``undefined``), so JavaScript receives the same object, and a
   ``JobConfig`` shrinks from 55 keys to the dozen a job sets.
I. *Stack traces formatted on demand (node).* cdktf captures a full stack trace for every token
   and complex attribute it creates, to show it if that object later fails to resolve. The
   hook keeps the capture but formats the lines only when something reads them.
J. *Leaves of cdktf's resolve() returned directly (node).* A synth resolves every value three
   times; for each object key and each leaf value the original builds a resolution context (two
   closures, an options copy, a prefix copy) and runs up to three regexes, though a plain
   string, a boolean, ``null`` or ``undefined`` resolves to itself. The hook edits
   ``lib/tokens/private/resolve.js`` at its three call sites to return such a leaf at once,
   after the same tests the original runs (no string/list token marker, no number-token shape,
   not a map-token placeholder, inside the depth limit); anything else takes the original path.
   Measured on the 12 x 20 scale case: resolution 537 -> 192 ms.
K. *Requests serialized without cattrs' walk (Python).* jsii unstructures every request with
   cattrs, which copies the argument tree by dispatching on the class of each of its tens of
   thousands of elements. For create/invoke/set requests the payload (already made of plain
   dicts, lists and scalars by jsii) is copied directly; any other value still goes to cattrs,
   so the dict is the one cattrs builds. Scale case: 0.21 -> 0.11 s.
L. *Kernel assertion messages built on failure only (node).* The kernel asserts that each value
   it (de)serializes has type information with a message that runs ``util.inspect`` eagerly on
   every call; the entry script (E) makes the message lazy: ``null!=e||assert(...)``.

What ``main.py`` uses besides (not installed by :func:`install`)
-----------------------------------------------------------------

M. *More than one process for a large platform.* Environments are independent stacks. When
   the estimated work (:func:`environment_weight`: one per environment plus 0.05 per job) is
   at least :data:`PARALLEL_FROM_WEIGHT`, ``main.py`` splits the environments into contiguous
   groups (:func:`plan_groups`), keeps the first (and the bootstrap stack) and starts
   ``main.py --worker <envs>`` for each other group at once (:class:`Workers`); each worker
   synthesizes and checks its group into its own directory and reports its problems as JSON.
   Their stacks are then moved into the staging directory and ``manifest.json`` is rewritten
   the way cdktf writes it (:func:`merge_stacks`, :func:`stable_stringify`): the output is
   byte for byte what one process writes (tested). User errors found by a worker are
   reported like this process's; a crashed worker fails the run (exit 1) with its stderr.
   Costs a second kernel (~1 s of CPU, ~250 MB), so below the threshold everything stays in
   one process: the four environments of ``config/`` are. ``MLOPS_SYNTH_WORKERS=<n>`` sets
   the number of processes (``1``: never a worker); ``MLOPS_FAST_SYNTH=0`` also means one.

Each source edit of I, J and L checks that its text occurs exactly once in the file it edits
and otherwise leaves that file untouched and prints a ``mlops-fast-synth:`` line.

Not done, on purpose: ``os._exit`` at the end (exit already takes ~30 ms once the heap is small,
and the kernel's ``atexit`` hook must still shut node down cleanly), disabling typeguard (it
would change error behaviour: the app turns typeguard's TypeErrors into user messages),
skipping or shortening cdktf's creation stack traces (capturing them costs ~10 us each, ~45 per
``databricks_job``, but they are what the error for an unresolvable token shows), or
``NODE_OPTIONS`` (it would leak into every node process the app starts).

Switch and fallback
-------------------
* On by default. ``MLOPS_FAST_SYNTH=0`` (also ``false``/``no``/``off``) turns everything off:
  :func:`install` then patches nothing, and the app runs exactly the ordinary code path.
  ``install(enabled=...)`` overrides the environment.
* :func:`install` must run before the first import of ``cdktf`` or a provider package (main.py
  calls it first thing). A provider package that is already imported is left alone (recorded
  in :func:`status`, no warning: e.g. tests that build stacks in-process, then call main()).
* Anything unexpected (a different package version, an ``__init__`` whose shape is not the one
  described in A, a missing ``lazy-index.js``, jsii internals that moved) turns off only the
  affected trick, with a :class:`FastSynthWarning` (Python) or a ``mlops-fast-synth:`` line on
  stderr (node), and the ordinary path runs instead. Never a crash.
* ``tests/test_fast_synth.py`` synthesizes every stack with and without acceleration and
  compares the files byte for byte.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["ENV_VAR", "FastSynthWarning", "PROVIDERS", "install", "is_enabled", "status"]

ENV_VAR = "MLOPS_FAST_SYNTH"

#: Python package -> (jsii assembly name, version the layout was verified against).
PROVIDERS: dict[str, tuple[str, str]] = {
    "cdktf_cdktf_provider_azurerm": ("@cdktf/provider-azurerm", "14.23.1"),
    "cdktf_cdktf_provider_databricks": ("@cdktf/provider-databricks", "15.16.1"),
}

_FALSE = {"0", "false", "no", "off"}


class FastSynthWarning(RuntimeWarning):
    """An acceleration was skipped; the ordinary (slower, equivalent) path is used instead."""


@dataclass
class _State:
    installed: bool = False
    lazy_packages: dict[str, frozenset[str]] = field(default_factory=dict)  # pkg -> submodules
    node_hook: bool = False
    gc_frozen: bool = False
    type_check_memo: bool = False
    prefetch: list[str] = field(default_factory=list)
    constant_properties: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)


_state = _State()
_finder: _LazyProviderFinder | None = None


def is_enabled(environ: Any = None) -> bool:
    """True unless ``MLOPS_FAST_SYNTH`` is set to 0/false/no/off."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "1").strip().lower() not in _FALSE


def status() -> dict[str, Any]:
    """What is active in this process (for tests and the bench)."""
    return {
        "installed": _state.installed,
        "lazy_packages": sorted(_state.lazy_packages),
        "node_hook": _state.node_hook,
        "gc_frozen": _state.gc_frozen,
        "type_check_memo": _state.type_check_memo,
        "prefetch": list(_state.prefetch),
        "constant_properties": list(_state.constant_properties),
        "fallbacks": list(_state.fallbacks),
    }


def _fallback(msg: str) -> None:
    _state.fallbacks.append(msg)
    warnings.warn(
        f"mlops-fast-synth: {msg}; using the ordinary path", FastSynthWarning, stacklevel=3
    )


def install(enabled: bool | None = None) -> bool:
    """Switch the accelerations on for this process. Returns True if anything was installed.

    Call before the first import of ``cdktf`` or any provider package. Idempotent.
    """
    if enabled is None:
        enabled = is_enabled()
    if not enabled or _state.installed:
        return _state.installed
    _state.installed = True
    _install_python_lazy_packages()
    _install_node_lazy_index()
    _install_gc_tuning()
    _install_type_check_memo()
    _install_struct_serialization()
    _install_request_serialization()
    _install_prefetch()
    return True


# --------------------------------------------------------------------------------------------
# A. Python: lazy provider packages
# --------------------------------------------------------------------------------------------


class _LayoutError(Exception):
    pass


def _dist_version(pkg: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg.replace("_", "-"))
    except PackageNotFoundError:
        return None


def _install_python_lazy_packages() -> None:
    global _finder
    plans: dict[str, tuple[str, str]] = {}
    for pkg, (assembly, expected) in PROVIDERS.items():
        if pkg in sys.modules:
            # e.g. a test process that built stacks before calling main(): nothing to do, and
            # nothing unexpected about the package, so no warning.
            _state.fallbacks.append(f"{pkg} was imported before fast_synth.install()")
            continue
        found = _dist_version(pkg)
        if found is None:
            continue  # not installed: nothing to accelerate, nothing to warn about
        if found != expected:
            _fallback(f"{pkg} is version {found}, layout verified for {expected}")
            continue
        plans[pkg] = (assembly, expected)
    _finder = _LazyProviderFinder(plans)
    sys.meta_path.insert(0, _finder)
    if plans:
        _wrap_jsii_type_lookup()
    for name, step in _POST_IMPORT.items():
        if name in sys.modules:  # imported before install(): patch in place
            step(sys.modules[name])


class _LazyProviderFinder(importlib.abc.MetaPathFinder):
    """Hands out specs for the provider root packages whose loader skips submodule imports."""

    def __init__(self, plans: dict[str, tuple[str, str]]) -> None:
        self.plans = plans

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if fullname not in self.plans and fullname not in _POST_IMPORT:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.submodule_search_locations:
            return None
        if not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        if fullname in self.plans:
            spec.loader = _LazyRootLoader(spec.loader, fullname, spec.origin)
        else:
            spec.loader = _PostImportLoader(spec.loader, fullname)
        return spec


class _PostImportLoader(importlib.abc.Loader):
    """The original loader, then :data:`_POST_IMPORT` ``[name](module)``."""

    def __init__(self, original, name: str) -> None:
        self._original = original
        self._name = name

    def __getattr__(self, item):
        return getattr(self._original, item)

    def create_module(self, spec):
        return self._original.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._original.exec_module(module)
        try:
            _POST_IMPORT[self._name](sys.modules.get(self._name, module))
        except Exception as exc:  # noqa: BLE001 - an optimisation must never break the import
            _fallback(f"post-import step for {self._name} failed ({exc})")


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
            _fallback(f"{self._name}/__init__.py has an unexpected layout ({exc})")
            self._original.exec_module(module)
            return
        exec(code, module.__dict__)
        public = sys.modules.get(self._name, module)
        _add_lazy_getattr(public, self._name, submodules)
        _state.lazy_packages[self._name] = submodules


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
        _fallback(f"jsii runtime not importable ({exc})")
        return
    original = getattr(refmap, "_try_import_type_module", None)
    assembly_to_pkg = {assembly: pkg for pkg, (assembly, _) in PROVIDERS.items()}
    registries = [
        getattr(refmap, n, None) for n in ("_types", "_data_types", "_enums", "_interfaces")
    ]
    if original is None or any(r is None for r in registries):
        # Older jsii without lazy-type support: it never asks, so it must see all submodules.
        _fallback("jsii runtime has no _try_import_type_module hook (provider packages stay eager)")
        if _finder is not None:
            _finder.plans.clear()
        return

    def known(fqn: str) -> bool:
        return any(fqn in r for r in registries)

    def _try_import_type_module(class_fqn: str) -> bool:
        result = original(class_fqn)
        parts = class_fqn.split(".")
        pkg = assembly_to_pkg.get(parts[0])
        if pkg is None or pkg not in _state.lazy_packages or known(class_fqn):
            return result
        subs = _state.lazy_packages[pkg]
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
# B. node: make the jsii kernel require lib/lazy-index.js
# --------------------------------------------------------------------------------------------

_NODE_HOOK = r"""'use strict';
// Written by constructs_lib/fast_synth.py. Loaded with --require into the jsii kernel process.
const Module = require('module');
const fs = require('fs');
const path = require('path');
const PACKAGES = __PACKAGES__;
const LAZY_LINE = new RegExp(
  "^Object\\.defineProperty\\(exports, '([A-Za-z0-9_$]+)', " +
  "\\{ get: function \\(\\) \\{ return require\\('(\\.\\/[A-Za-z0-9_.-]+)'\\); \\} \\}\\);$");
const EAGER_LINE = /^exports\.([A-Za-z0-9_$]+) = require\("(\.\/[A-Za-z0-9_.-]+)"\);$/;
const decided = new Map();

function warn(msg) {
  process.stderr.write('mlops-fast-synth: ' + msg + '; using lib/index.js\n');
}

function exportsOf(file, re, strict) {
  const out = new Map();
  for (const raw of fs.readFileSync(file, 'utf-8').split('\n')) {
    const line = raw.trim();
    const m = re.exec(line);
    if (m) { out.set(m[1], m[2]); continue; }
    if (!strict || line === '' || line === '"use strict";' || line.startsWith('//') ||
        line.startsWith('/*') || line.startsWith('*')) continue;
    return null;  // anything else in lazy-index.js: not the file we know
  }
  return out;
}

function lazyIndexFor(request, resolved) {
  if (decided.has(resolved)) return decided.get(resolved);
  let result = resolved;
  try {
    const libDir = path.dirname(resolved);
    const pkgDir = path.dirname(libDir);
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf-8'));
    const lazy = path.join(libDir, 'lazy-index.js');
    if (path.basename(resolved) !== 'index.js' || path.basename(libDir) !== 'lib') {
      warn(`${request}: main is ${resolved}, not lib/index.js`);
    } else if (pkg.name !== request || pkg.version !== PACKAGES[request]) {
      warn(`${request}: found ${pkg.name}@${pkg.version}, expected version ${PACKAGES[request]}`);
    } else if (!fs.existsSync(lazy)) {
      warn(`${request}: no lib/lazy-index.js`);
    } else {
      const eager = exportsOf(resolved, EAGER_LINE, false);
      const lazyExports = exportsOf(lazy, LAZY_LINE, true);
      const same = lazyExports !== null && eager.size > 0 && eager.size === lazyExports.size &&
        [...eager].every(([k, v]) => lazyExports.get(k) === v);
      if (same) result = lazy;
      else warn(`${request}: lib/lazy-index.js does not export the same modules as lib/index.js`);
    }
  } catch (e) {
    warn(`${request}: ${e && e.message}`);
  }
  decided.set(resolved, result);
  return result;
}

// I. cdktf records a fully formatted stack trace ("creationStack") for every token and
// complex list it creates, only to show it if that object later fails to resolve. The capture
// stays; formatting (the costly part) is deferred until someone reads the lines.
const STACK_TRACE_TAIL = path.join('lib', 'tokens', 'private', 'stack-trace.js');
function lazyLines(holder) {
  let lines = null;
  const real = () => lines || (lines = holder.stack
    ? holder.stack.split('\n').slice(1).map((s) => s.replace(/^\s*at\s+/, ''))
    : []);
  return new Proxy([], {
    get: (_t, p) => {
      const a = real();
      const v = Reflect.get(a, p, a);
      return typeof v === 'function' ? v.bind(a) : v;
    },
    has: (_t, p) => Reflect.has(real(), p),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_t, p) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), p);
      if (d) d.configurable = p !== 'length';
      return d;
    },
    set: (_t, p, v) => Reflect.set(real(), p, v),
  });
}
function deferStackTraces(exp, filename) {
  const original = exp && exp.captureStackTrace;
  if (typeof original !== 'function' || Object.keys(exp).join(',') !== 'captureStackTrace' ||
      !/Error\.captureStackTrace\(object, below\)/.test(String(original)) ||
      !/\.slice\(1\)/.test(String(original))) {
    process.stderr.write('mlops-fast-synth: ' + filename +
      ' is not the stack-trace module fast_synth knows; stack traces stay eager\n');
    return;
  }
  exp.captureStackTrace = function captureStackTrace(below) {
    below = below || captureStackTrace;
    const holder = {};
    const previousLimit = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = Number.MAX_SAFE_INTEGER;
      Error.captureStackTrace(holder, below);
    } finally {
      Error.stackTraceLimit = previousLimit;
    }
    return lazyLines(holder);
  };
}

// J. cdktf's resolve() walks every synthesized value three times per synth (preparing run,
// per-element run, whole-stack run). For each object key and each leaf value it builds a
// resolution context (two closures, an options copy, a prefix copy) and runs up to three
// regular expressions, though a plain string, a boolean, null or undefined resolves to itself.
// The edits below return such leaves directly at the three call sites, after the very tests the
// original would run: no token marker, no number-token shape, not a map-token placeholder, and
// within the depth limit. Everything else takes the original path unchanged.
const RESOLVE_TAIL = path.join('lib', 'tokens', 'private', 'resolve.js');
const RESOLVE_ANCHOR = 'const tokenMap = token_map_1.TokenMap.instance();';
const RESOLVE_HELPERS = `
function __mlopsPlainString(s) {
    return typeof s === "string" &&
        s.indexOf(encoding_1.BEGIN_STRING_TOKEN_MARKER) === -1 &&
        s.indexOf(encoding_1.BEGIN_LIST_TOKEN_MARKER) === -1 &&
        s !== token_1.Token.STRING_MAP_TOKEN_VALUE &&
        s !== token_1.Token.ANY_MAP_TOKEN_VALUE &&
        !encoding_1.TokenString.forNumbers(s).test();
}
function __mlopsLeaf(v) {
    return v === undefined || v === null || typeof v === "boolean" || __mlopsPlainString(v);
}
`;
const RESOLVE_EDITS = [
  [RESOLVE_ANCHOR, RESOLVE_ANCHOR + RESOLVE_HELPERS],
  ['const resolvedKey = makeContext()[0].resolve(key);',
   'const resolvedKey = __mlopsPlainString(key) ? key : makeContext()[0].resolve(key);'],
  ['const value = makeContext(key)[0].resolve(obj[key]);',
   'const __mlopsValue = obj[key];\n' +
   '        const value = prefix.length < 200 && __mlopsLeaf(__mlopsValue) ? __mlopsValue : ' +
   'makeContext(key)[0].resolve(__mlopsValue);'],
  ['.map((x, i) => makeContext(`${i}`)[0].resolve(x))',
   '.map((x, i) => (prefix.length < 200 && __mlopsLeaf(x) ? x : ' +
   'makeContext(`${i}`)[0].resolve(x)))'],
];
function fastResolveSource(content, filename) {
  let out = content;
  for (const [needle, replacement] of RESOLVE_EDITS) {
    if (out.split(needle).length !== 2) {
      process.stderr.write('mlops-fast-synth: ' + filename +
        ' is not the resolve module fast_synth knows; resolution stays as it is\n');
      return content;
    }
    out = out.replace(needle, () => replacement);
  }
  return out;
}

function isCdktfFile(filename, tail) {
  return typeof filename === 'string' && filename.endsWith(path.sep + tail) &&
    filename.includes(path.sep + 'cdktf' + path.sep);
}
const originalCompile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (isCdktfFile(filename, RESOLVE_TAIL)) content = fastResolveSource(content, filename);
  const result = originalCompile.call(this, content, filename);
  if (isCdktfFile(filename, STACK_TRACE_TAIL)) deferStackTraces(this.exports, filename);
  return result;
};

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const resolved = originalResolve.call(this, request, ...rest);
  if (typeof request === 'string' && Object.prototype.hasOwnProperty.call(PACKAGES, request)) {
    return lazyIndexFor(request, resolved);
  }
  return resolved;
};
"""

_NODE_ENTRY = r"""'use strict';
// Written by constructs_lib/fast_synth.py; started by the jsii Python runtime in place of the
// embedded bin/jsii-runtime.js. See the module docstring (B, E).
const fs = require('fs');
const path = require('path');
const Module = require('module');
const HOOK = __HOOK__;
const RUNTIME = __RUNTIME__;
const PROGRAM = __PROGRAM__;
const NEEDLE = 'readFD:3,writeFD:3';
// L. The kernel asserts that every value it (de)serializes has type information, with a message
// built eagerly: util.inspect() of the type on every call, only to be dropped when the assertion
// holds (always, unless the kernel is broken). Evaluate the message only when it fails.
const EAGER_ASSERT = __EAGER_ASSERT__;

function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf-8');
  let off = 0;
  while (off < buf.length) {
    try { off += fs.writeSync(fd, buf, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
// The Python side reads stderr lines of {"stdout"|"stderr": base64}, as bin/jsii-runtime.js
// writes them for its child's output.
function emit(kind, chunk, encoding) {
  const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding);
  writeAll(2, JSON.stringify({ [kind]: b.toString('base64') }) + '\n');
}
function relay(reason) {
  if (reason) emit('stderr', 'mlops-fast-synth: ' + reason + '; kernel runs in a child process\n');
  process.execArgv.push('--require', HOOK);
  require(RUNTIME);
}

let source = null;
let reason = null;
if (process.env.JSII_DEBUG || !PROGRAM) {
  reason = null;  // keep jsii's own process layout when debugging jsii
} else {
  try {
    source = fs.readFileSync(PROGRAM, 'utf-8');
  } catch (e) {
    reason = 'cannot read ' + PROGRAM;
  }
  if (source !== null && source.split(NEEDLE).length !== 2) {
    source = null;
    reason = 'unexpected jsii kernel program (' + PROGRAM + ')';
  }
}
if (source === null) {
  relay(reason);
} else {
  const { Writable } = require('stream');
  const stream = (kind, fd) => {
    const w = new Writable({ write(chunk, enc, cb) { emit(kind, chunk, enc); cb(); } });
    w.fd = fd;
    w.isTTY = false;
    return w;
  };
  const out = stream('stdout', 1);
  const err = stream('stderr', 2);
  const std = (get) => ({ configurable: true, enumerable: true, get });
  Object.defineProperty(process, 'stdout', std(() => out));
  Object.defineProperty(process, 'stderr', std(() => err));
  require(HOOK);
  const program = new Module(PROGRAM, module);
  program.filename = PROGRAM;
  program.paths = Module._nodeModulePaths(path.dirname(PROGRAM));
  let kernel = source.replace(NEEDLE, 'readFD:0,writeFD:1');
  if (kernel.split(EAGER_ASSERT).length === 2) {
    kernel = kernel.replace(EAGER_ASSERT, () => 'null!=e||' + EAGER_ASSERT);
  } else {
    emit('stderr', 'mlops-fast-synth: the kernel type assertion is not the one expected; ' +
      'it stays eager\n');
  }
  program._compile(kernel, PROGRAM);
}
"""

#: The kernel's (jsii 1.142.0, minified) assertion whose message L makes lazy.
KERNEL_EAGER_ASSERT = (
    "(0,B.default)(null!=e,`Kernel error: expected type information, got ${(0,K.inspect)(e)}`)"
)
#: Run the kernel inside the node process Python starts (E); False: keep jsii's two processes.
SINGLE_PROCESS = True
#: V8 flags for the kernel process (E): a larger young generation means far fewer scavenges
#: while synthesis allocates millions of short-lived objects. Memory, not behaviour.
NODE_FLAGS = ("--max-semi-space-size=32",)


class _PreserveSymlinksPopen:
    """Stands in for the ``subprocess`` module inside jsii's ``_NodeProcess.start`` only: adds
    ``--preserve-symlinks`` (which bin/jsii-runtime.js gives its kernel child) to our entry."""

    def __init__(self, real: Any, entry_name: str) -> None:
        self._real = real
        self._entry_name = entry_name

    def __getattr__(self, item):
        return getattr(self._real, item)

    def Popen(self, args, *rest, **kwargs):  # noqa: N802 - mirrors subprocess.Popen
        if isinstance(args, list) and args and str(args[-1]).endswith(self._entry_name):
            args = [args[0], "--preserve-symlinks", *NODE_FLAGS, *args[1:]]
        return self._real.Popen(args, *rest, **kwargs)


def _install_node_lazy_index() -> None:
    try:
        from jsii._kernel.providers import process as jsii_process
    except ImportError as exc:
        _fallback(f"jsii kernel process provider not importable ({exc})")
        return
    node_process = getattr(jsii_process, "_NodeProcess", None)
    original = getattr(node_process, "_jsii_runtime", None)
    original_start = getattr(node_process, "start", None)
    if node_process is None or original is None or original_start is None:
        _fallback("jsii _NodeProcess._jsii_runtime not found (node side not accelerated)")
        return
    if not hasattr(jsii_process, "subprocess"):
        _fallback("jsii process provider layout changed (node side not accelerated)")
        return
    packages = {assembly: version for assembly, version in PROVIDERS.values()}
    entry_name = "mlops-fast-synth-entry.js"

    def _jsii_runtime(self) -> str:
        runtime = original(self)
        try:
            base = Path(runtime).parent
            program = base.parent / "lib" / "program.js"
            hook = base / "mlops-fast-synth-hook.js"
            entry = base / entry_name
            hook.write_text(_NODE_HOOK.replace("__PACKAGES__", json.dumps(packages)), "utf-8")
            text = (
                _NODE_ENTRY.replace("__HOOK__", json.dumps(str(hook)))
                .replace("__RUNTIME__", json.dumps(str(runtime)))
                .replace("__PROGRAM__", json.dumps(str(program) if SINGLE_PROCESS else ""))
                .replace("__EAGER_ASSERT__", json.dumps(KERNEL_EAGER_ASSERT))
            )
            entry.write_text(text, "utf-8")
        except OSError as exc:
            _fallback(f"cannot write the node hook ({exc})")
            return runtime
        return str(entry)

    def start(self) -> None:
        real = jsii_process.subprocess
        jsii_process.subprocess = _PreserveSymlinksPopen(real, entry_name)
        try:
            original_start(self)
        finally:
            jsii_process.subprocess = real

    _jsii_runtime.__wrapped__ = original  # type: ignore[attr-defined]
    start.__wrapped__ = original_start  # type: ignore[attr-defined]
    node_process._jsii_runtime = _jsii_runtime
    node_process.start = start
    _state.node_hook = True


# --------------------------------------------------------------------------------------------
# F. start the kernel early and load the assemblies while Python imports the app
# --------------------------------------------------------------------------------------------

#: Python packages whose jsii assembly is loaded ahead of time (in dependency order).
PREFETCH = ("constructs", "cdktf", *PROVIDERS)

_LOAD_CALL = re.compile(
    r"""jsii\.JSIIAssembly\.load\(\s*"([^"]+)",\s*"([^"]+)",\s*__name__\[0:-6\],\s*"([^"]+)",?\s*\)"""
)


def _assembly_of(pkg: str) -> tuple[str, str, str] | None:
    """(name, version, tarball path) declared by ``<pkg>/_jsii/__init__.py``, without importing."""
    spec = importlib.util.find_spec(pkg) if pkg not in sys.modules else None
    if spec is None or not spec.submodule_search_locations:
        return None
    jsii_dir = Path(list(spec.submodule_search_locations)[0]) / "_jsii"
    try:
        found = _LOAD_CALL.findall((jsii_dir / "__init__.py").read_text(encoding="utf-8"))
    except OSError:
        return None
    if len(found) != 1 or not (jsii_dir / found[0][2]).is_file():
        return None
    name, version, filename = found[0]
    return name, version, str(jsii_dir / filename)


def _install_prefetch() -> None:
    """F. Start node now and queue the assembly loads; the answers are read when asked for.

    The jsii kernel answers requests strictly in order. We write the ``load`` requests the
    packages' ``_jsii`` modules are going to send anyway (same name, version, tarball) right
    after starting the process, without waiting; node extracts and loads them while Python is
    still importing the app. When Python later sends one of those very requests, the queued
    answer is returned instead of sending it again. Any other request first reads (and
    discards) the queued answers, so the order on the pipe is never confused. A queued load
    that failed is simply sent again, so its error surfaces exactly as before.
    """
    loads = []
    for pkg in PREFETCH:
        if pkg in sys.modules:
            return  # too late: something already talks to the kernel
        found = _assembly_of(pkg)
        if found is None:
            return  # not installed / unknown layout: no prefetch (not an error)
        loads.append(found)
    try:
        from jsii._kernel.providers import process as jsii_process
        from jsii._kernel.types import LoadRequest
        from jsii._runtime import kernel
    except ImportError as exc:
        _fallback(f"jsii runtime not importable for prefetch ({exc})")
        return
    node_process = jsii_process._NodeProcess
    needed = ("start", "send", "handshake", "_next_message", "_serializer")
    provider = getattr(kernel, "provider", None)
    if not all(hasattr(node_process, n) for n in needed[:4]) or not isinstance(
        provider, jsii_process.ProcessProvider
    ):
        _fallback("jsii process provider layout changed (no prefetch)")
        return
    start = node_process.start
    original_send = node_process.send
    okay = jsii_process._OkayResponse
    response_union = jsii_process._ProcessResponse

    def send(self, request, response_type):
        pending = getattr(self, "_mlops_pending", None)
        if pending is None:
            return original_send(self, request, response_type)
        if not getattr(self, "_mlops_hello", False):
            self._mlops_hello = True
            type(self).handshake(self)
        if (
            isinstance(request, LoadRequest)
            and pending
            and pending[0] == (request.name, request.version, request.tarball)
        ):
            pending.pop(0)
            resp = self._serializer.structure(self._next_message(), response_union)
            if not pending:
                self._mlops_pending = None
            if isinstance(resp, okay):
                return self._serializer.structure(resp.ok, response_type)
            return original_send(self, request, response_type)  # same error, from the source
        while pending:  # a different request: consume the queued answers first
            pending.pop(0)
            self._next_message()
        self._mlops_pending = None
        return original_send(self, request, response_type)

    send.__wrapped__ = original_send  # type: ignore[attr-defined]
    node_process.send = send
    try:
        # The kernel unpacks into $TMPDIR/jsii-kernel-* and removes it only on a normal exit;
        # an abandoned prefetch is stopped with SIGTERM (below), so node gets a directory of
        # its own, removed at exit (constructs_lib/scratch.py).
        from constructs_lib import scratch

        process = _early_process(provider, node_process, start, tmpdir=scratch.private_dir())
        process._mlops_pending = []
        assert process._process.stdin is not None
        for name, version, tarball in loads:
            req = LoadRequest(name=name, version=version, tarball=tarball)
            data = json.dumps(process._serializer.unstructure(req)).encode("utf-8")
            process._process.stdin.write(data + b"\n")
            process._mlops_pending.append((name, version, tarball))
        process._process.stdin.flush()
        _state.prefetch = [name for name, _, _ in loads]
        # Runs before jsii's own atexit stop() (registered earlier, atexit is LIFO).
        atexit.register(_abandon_unused_prefetch, process)
    except Exception as exc:  # noqa: BLE001 - never fail the app for an optimisation
        node_process.send = original_send
        _fallback(f"could not start the jsii kernel early ({exc})")


def _abandon_unused_prefetch(process) -> None:
    """At exit: if queued loads were never asked for, nothing else was ever sent to node either
    (any other request drains the queue first), so node holds no work of ours; stop it now
    instead of letting it finish loading assemblies nobody will use (e.g. after a config
    error). jsii's own stop() then finds stdin closed and just reaps the process."""
    if not getattr(process, "_mlops_pending", None):
        return
    try:
        process._process.terminate()
        process._process.wait(timeout=5)
    except Exception:  # noqa: BLE001
        return
    with contextlib.suppress(Exception):  # a broken pipe from the stopped process
        process._process.stdin.close()


def _early_process(provider, node_process, start, tmpdir=None):
    """``provider._process`` (a memoized property that starts node), without the handshake:
    the hello line is read by the first request (see ``send`` in :func:`_install_prefetch`).
    ``tmpdir``: node's ``TMPDIR`` (this process's environment is left as it was)."""

    def no_handshake(self):
        self.handshake = lambda: None  # instance attribute, removed right after start
        try:
            start(self)
        finally:
            del self.handshake

    node_process.start = no_handshake
    saved = os.environ.get("TMPDIR")
    if tmpdir is not None:
        os.environ["TMPDIR"] = str(tmpdir)  # jsii copies os.environ for node in start()
    try:
        return provider._process
    finally:
        node_process.start = start
        if tmpdir is not None:
            if saved is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = saved


# --------------------------------------------------------------------------------------------
# G. remember properties that cannot change
# --------------------------------------------------------------------------------------------

#: (module, class, Python property, jsii name) whose value is fixed once the object exists:
#: ``Construct.node`` is ``readonly node: Node`` set in the constructor (constructs 10); a
#: construct's ``path`` is derived from its ids and scopes, which never change (constructs are
#: never re-parented); ``terraformResourceType`` is a ``readonly`` set in the resource's
#: constructor; ``scopes`` (the ancestors) are as fixed as ``path``. Reading them through jsii
#: costs a round trip to node every time.
CONSTANT_PROPERTIES = (
    ("constructs", "Construct", "node", "node"),
    ("constructs", "_IConstructProxy", "node", "node"),
    ("constructs", "Node", "path", "path"),
    ("constructs", "Node", "scopes", "scopes"),  # a list: every read gets a fresh copy
    ("cdktf", "TerraformResource", "terraform_resource_type", "terraformResourceType"),
    ("cdktf", "_ITerraformResourceProxy", "terraform_resource_type", "terraformResourceType"),
    ("cdktf", "TerraformDataSource", "terraform_resource_type", "terraformResourceType"),
)


def _cache_constant_properties(module: ModuleType) -> None:
    """Wrap the getters listed in :data:`CONSTANT_PROPERTIES` for ``module``: the first read
    goes to jsii as before and is kept in the object's ``__dict__``; later reads return it (the
    very same Python object jsii would have returned: it keeps one proxy per JS object)."""
    from jsii._reference_map import InterfaceDynamicProxy

    for mod, cls_name, attr, jsii_name in CONSTANT_PROPERTIES:
        if mod != module.__name__:
            continue
        cls = getattr(module, cls_name, None) or getattr(
            getattr(module, "_private", None), cls_name, None
        )
        prop = getattr(cls, "__dict__", {}).get(attr)
        fget = getattr(prop, "fget", None)
        member = getattr(fget, "__jsii_name__", None)
        if not isinstance(prop, property) or prop.fset is not None or member != jsii_name:
            _fallback(f"{mod}.{cls_name}.{attr} is not the read-only jsii property expected")
            continue
        key = f"_mlops_fast_synth_{attr}"

        def getter(self, _fget=fget, _key=key):
            store = getattr(self, "__dict__", None)
            if store is None or isinstance(self, InterfaceDynamicProxy):
                return _fget(self)
            try:
                value = store[_key]
            except KeyError:
                value = store[_key] = _fget(self)
            return list(value) if type(value) is list else value

        getter.__wrapped__ = fget  # type: ignore[attr-defined]
        getter.__name__ = getattr(fget, "__name__", attr)
        getter.__doc__ = prop.__doc__
        setattr(cls, attr, property(getter, None, None, prop.__doc__))
        _state.constant_properties.append(f"{mod}.{cls_name}.{attr}")


_POST_IMPORT = {"constructs": _cache_constant_properties, "cdktf": _cache_constant_properties}


# --------------------------------------------------------------------------------------------
# C. garbage collector
# --------------------------------------------------------------------------------------------

#: gen-0 threshold while the app runs (CPython's default is 700). Fewer, larger collections.
GC_THRESHOLD0 = 50_000


def _install_gc_tuning() -> None:
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GC_THRESHOLD0), gen1, gen2)
    atexit.register(gc.freeze)  # registered first, so it runs last: right before teardown
    _state.gc_frozen = True


# --------------------------------------------------------------------------------------------
# D. memoized type checks (same answers, computed once)
# --------------------------------------------------------------------------------------------

_PRIMITIVES = (str, int, float, bool, type(None))


def _install_type_check_memo() -> None:
    """Cache the two pure computations the bindings repeat on every constructor call.

    * ``typing.get_type_hints(_typecheckingstub__<hash>)``: the generated bindings evaluate the
      annotations of a module-level stub function each time a class is instantiated. The stub
      never changes once its module is imported, so its hints are computed once (each caller gets
      a fresh copy of the dict). Any other call goes straight to ``typing.get_type_hints``.
    * ``typeguard.check_type`` (typeguard 2.x) of a *primitive* value (str, int, float, bool,
      None) or of a jsii struct instance: whether it passes depends only on the value's type
      (and, for ``str`` against a sequence type, on whether it is empty), so a *pass* is
      remembered per (type, expected type, emptiness). Failures are never cached: they run the
      original check, which raises the same TypeError as before. Expected types containing
      ``Literal`` or forward references are never cached.
    """
    import typing

    try:
        import typeguard
    except ImportError:  # pragma: no cover
        return
    original_hints = typing.get_type_hints
    original_check = getattr(typeguard, "check_type", None)
    memo_cls = getattr(typeguard, "_TypeCheckMemo", None)
    if (
        original_check is None
        or memo_cls is None
        or not str(_dist_version("typeguard")).startswith("2.")
    ):
        _fallback("typeguard is not 2.x (type checks not memoized)")
        return
    hints_cache: dict[Any, dict[str, Any]] = {}

    def get_type_hints(obj, globalns=None, localns=None, include_extras=False):
        if (
            globalns is None
            and localns is None
            and not include_extras
            and getattr(obj, "__name__", "").startswith("_typecheckingstub__")
        ):
            hints = hints_cache.get(obj)
            if hints is None:
                hints = hints_cache[obj] = original_hints(obj)
            return dict(hints)
        return original_hints(obj, globalns, localns, include_extras)

    # Keyed by id(): hashing a typing object walks it recursively, which cost more than the
    # check. The expected types are the values of the cached hints above, alive for the whole
    # run; `cacheable` also keeps a reference to each, so an id is never reused.
    cacheable: dict[int, tuple[Any, bool]] = {}
    passed: set[tuple[Any, int, bool]] = set()

    def check_type(argname, value, expected_type, memo=None, *, globals=None, locals=None):
        vtype = type(value)
        key = None
        # A primitive, or a jsii struct (a plain class, checked by isinstance against the
        # annotation's union): the outcome depends only on the value's type.
        if vtype in _PRIMITIVES or "__jsii_name_mapping__" in vtype.__dict__:
            entry = cacheable.get(id(expected_type))
            if entry is None:
                text = repr(expected_type)
                entry = cacheable[id(expected_type)] = (
                    expected_type,
                    "Literal" not in text and "ForwardRef" not in text,
                )
            if entry[1]:
                key = (vtype, id(expected_type), vtype is str and not value)
                if key in passed:
                    return None
        if memo is None:
            frame = sys._getframe(1)
            memo = memo_cls(
                frame.f_globals if globals is None else globals,
                frame.f_locals if locals is None else locals,
            )
        original_check(argname, value, expected_type, memo)
        if key is not None:
            passed.add(key)
        return None

    get_type_hints.__wrapped__ = original_hints  # type: ignore[attr-defined]
    check_type.__wrapped__ = original_check  # type: ignore[attr-defined]
    typing.get_type_hints = get_type_hints
    typeguard.check_type = check_type
    _state.type_check_memo = True


# --------------------------------------------------------------------------------------------
# H. struct serialization without the generated getters
# --------------------------------------------------------------------------------------------


def _install_struct_serialization() -> None:
    try:
        import enum

        import jsii._kernel as kernel_module
        from jsii._runtime import python_jsii_mapping
    except ImportError as exc:  # pragma: no cover - jsii is a dependency of cdktf
        _fallback(f"jsii kernel module not importable ({exc})")
        return
    original = getattr(kernel_module, "_make_reference_for_native", None)
    if original is None or "$jsii.struct" not in (original.__code__.co_consts or ()):
        _fallback("jsii's struct serializer is not the one H was written for")
        return
    if getattr(original, "__wrapped__", None) is not None:
        return  # already installed

    def make_reference_for_native(kernel, d):  # type: ignore[no-untyped-def]
        values = getattr(d, "_values", None) if not isinstance(d, dict | list) else None
        if isinstance(values, dict) and not isinstance(d, enum.Enum):
            fqn = getattr(d, "__jsii_type__", None)
            mapping = python_jsii_mapping(d) if fqn is not None else None
            if mapping is not None:
                return {
                    "$jsii.struct": {
                        "fqn": fqn,
                        "data": {
                            jsii_name: make_reference_for_native(kernel, values[python_name])
                            for python_name, jsii_name in mapping.items()
                            if python_name in values
                        },
                    }
                }
        # jsii's own code for everything else; its recursion calls the module global, which is
        # this function, so nested structs take the fast branch too.
        return original(kernel, d)

    make_reference_for_native.__wrapped__ = original  # type: ignore[attr-defined]
    kernel_module._make_reference_for_native = make_reference_for_native


# --------------------------------------------------------------------------------------------
# K. requests serialized without cattrs' walk over the arguments
# --------------------------------------------------------------------------------------------

#: Request types whose payload can be large (a job's whole settings tree) -> (field, is a list).
_PAYLOAD_FIELDS = {
    "CreateRequest": ("args", True),
    "InvokeRequest": ("args", True),
    "StaticInvokeRequest": ("args", True),
    "SetRequest": ("value", False),
}
_PLAIN = (str, int, float, bool, type(None))


def _install_request_serialization() -> None:
    try:
        import attrs
        from jsii._kernel import types as jsii_types
        from jsii._kernel.providers import process as jsii_process
    except ImportError as exc:  # pragma: no cover - jsii depends on attrs and cattrs
        _fallback(f"jsii request types not importable ({exc})")
        return
    node_process = jsii_process._NodeProcess
    original_init = node_process.__init__
    if getattr(original_init, "__wrapped__", None) is not None:
        return  # already installed
    classes = {name: getattr(jsii_types, name, None) for name in _PAYLOAD_FIELDS}
    if not all(
        cls is not None
        and attrs.has(cls)
        and _PAYLOAD_FIELDS[name][0] in {a.name for a in attrs.fields(cls)}
        for name, cls in classes.items()
    ):
        _fallback("jsii request types are not the ones K was written for")
        return

    def __init__(self, *args, **kwargs):  # noqa: N807 - wraps _NodeProcess.__init__
        original_init(self, *args, **kwargs)
        serializer = getattr(self, "_serializer", None)
        try:
            for name, cls in classes.items():
                original = serializer.get_unstructure_hook(cls)
                serializer.register_unstructure_hook(
                    cls, _payload_hook(serializer, original, *_PAYLOAD_FIELDS[name], attrs.evolve)
                )
        except Exception as exc:  # noqa: BLE001 - never fail the app for an optimisation
            _fallback(f"cannot register jsii request serializers ({exc})")

    __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
    node_process.__init__ = __init__


def _payload_hook(serializer, original, field_name: str, is_list: bool, evolve):
    """jsii's own hook for the request with an empty payload, plus the payload copied by
    :func:`_copy_payload`: the same dict cattrs builds. cattrs unstructures a field by its
    declared type: ``List[Any]`` (``args``) gives a list of values unstructured by their runtime
    class, ``Any`` (``value``) the value unstructured by its runtime class."""
    unstructure = serializer.unstructure
    empty = [] if is_list else None

    def hook(request):
        payload = getattr(request, field_name)
        out = original(evolve(request, **{field_name: empty}))
        if payload is None:
            out[field_name] = None
        elif is_list:
            out[field_name] = [_copy_payload(v, unstructure) for v in payload]
        else:
            out[field_name] = _copy_payload(payload, unstructure)
        return out

    return hook


def _copy_payload(value, unstructure):
    """What ``cattrs.Converter.unstructure`` returns for a request payload, built directly.

    The payload comes from jsii's ``_make_reference_for_native``: plain dicts, lists and
    scalars, plus jsii objects that ``json.dumps`` turns into references later. cattrs copies
    dicts and lists by dispatching on every element's class (tens of thousands of lookups per
    job tree); exact ``dict``/``list``/scalar values are copied here the same way, and every
    other value (enums, attrs classes, subclasses, jsii objects) still goes to cattrs.
    """
    kind = type(value)
    if kind is dict:
        return {
            _copy_payload(k, unstructure): _copy_payload(v, unstructure) for k, v in value.items()
        }
    if kind is list:
        return [_copy_payload(v, unstructure) for v in value]
    if kind in _PLAIN:
        return value
    return unstructure(value)


# --------------------------------------------------------------------------------------------
# M. more than one process for a large platform
# --------------------------------------------------------------------------------------------

WORKERS_VAR = "MLOPS_SYNTH_WORKERS"
#: Cost of one environment stack relative to one job in it (measured on 2 cores: ~90 ms per
#: environment, ~4.5 ms per job).
JOB_WEIGHT = 0.05
#: Total weight from which a second process pays for its start-up (~1 s of CPU, ~250 MB).
#: Measured with `python main.py`, 1 vs 2 processes on this 2-vCPU machine (3 runs each):
#: 8 environments x 3 jobs (weight 9.2) +0.15 s, 10 x 3 (11.5) +0.07 s, 12 x 3 (13.8) +-0,
#: 12 x 20 (24) -0.35 s of wall time.
PARALLEL_FROM_WEIGHT = 16.0
#: Weight of the work this process gets done before a worker it starts catches up (the worker
#: starts after the configs are read, then imports on cores this process is using). Measured on
#: 12 x 20: with an even split this process waited 0.3-0.4 s for the worker, with 7 of the 12
#: environments here the worker finished first.
WORKER_START_WEIGHT = 3.0
#: Weight of the bootstrap stack (only this process synthesizes it).
BOOTSTRAP_WEIGHT = 1.0


def environment_weight(job_count: int) -> float:
    """Estimated synthesis cost of one environment stack with `job_count` Databricks jobs."""
    return 1.0 + JOB_WEIGHT * job_count


def process_count(weights: list[float], environ: Any = None) -> int:
    """How many processes should synthesize environments of these weights: 1 (this process
    only) unless acceleration is on and the platform is large enough to repay a worker's
    start-up; at most one per CPU and per environment. ``MLOPS_SYNTH_WORKERS`` (``auto``, the
    default, or a positive integer) overrides the estimate. Raises ``ValueError`` for any
    other value of it."""
    environ = os.environ if environ is None else environ
    raw = str(environ.get(WORKERS_VAR, "auto")).strip().lower() or "auto"
    if raw == "auto":
        wanted = None
    elif raw.isdigit() and int(raw) >= 1:
        wanted = int(raw)
    else:
        raise ValueError(f"{WORKERS_VAR}={raw!r} is neither 'auto' nor a positive integer")
    if not is_enabled(environ) or not weights:
        return 1
    if wanted is None:
        total = sum(weights)
        if total < PARALLEL_FROM_WEIGHT:
            return 1
        wanted = min(_cpu_count(), int(total // (PARALLEL_FROM_WEIGHT / 2)))
    return max(1, min(wanted, len(weights)))


def _cpu_count() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def plan_groups(weights: list[float], environ: Any = None, first_extra: float = 0.0) -> list[range]:
    """Which environments each process synthesizes: :func:`process_count` contiguous groups
    from :func:`partition`; the first is this process's. Raises ``ValueError`` for a bad
    ``MLOPS_SYNTH_WORKERS``."""
    return partition(weights, process_count(weights, environ), first_extra)


def partition(weights: list[float], parts: int, first_extra: float = 0.0) -> list[range]:
    """Split indices ``0..len(weights)`` into ``parts`` contiguous, non-empty ranges of about
    equal weight; the first range also carries ``first_extra`` (work only this process does).
    Contiguous ranges keep the stacks in configuration order within each process."""
    count = len(weights)
    parts = max(1, min(parts, count))
    before = [first_extra]  # before[i]: weight of the indices below i, plus first_extra
    for weight in weights:
        before.append(before[-1] + weight)
    cuts: list[int] = []
    for k in range(1, parts):
        target = before[-1] * k / parts
        lowest, highest = (cuts[-1] if cuts else 0) + 1, count - (parts - k)
        cuts.append(min(range(lowest, highest + 1), key=lambda c: abs(before[c] - target)))
    edges = [0, *cuts, count]
    return [range(a, b) for a, b in zip(edges, edges[1:], strict=False)]


class WorkerFailed(RuntimeError):
    """A worker stopped without its report (a crash, not a user error), or its output could
    not be merged. The message says which environments; the worker's stderr was relayed."""


class Workers:
    """Worker processes, one per group of environment names, each started at once with
    ``command(names)`` in ``environ`` plus ``CDKTF_OUTDIR`` set to its own fresh directory
    beside ``staging`` (and ``MLOPS_SYNTH_WORKERS=1`` so that it starts none itself). A
    worker writes one JSON line, ``{"problems": [...]}``, and exits 0, or 2 when it found
    problems.

    :meth:`finish` waits for every worker in order, relays its stderr (its warnings come after
    this process's), moves the stacks of a successful one into ``staging`` (:func:`merge_stacks`)
    and returns all reported problems. Leaving the ``with`` block stops any worker still
    running (an error in this process) and removes the worker directories."""

    def __init__(self, groups: list[list[str]], staging: Path, command, environ: Any) -> None:
        import subprocess
        import tempfile

        self._staging = staging
        self._files = contextlib.ExitStack()
        self._running: list[tuple[list[str], Path, Any, Any, Any]] = []
        for number, names in enumerate(groups, start=1):
            part = staging.parent / f"{staging.name}.part-{number}"
            shutil.rmtree(part, ignore_errors=True)
            env = {**environ, "CDKTF_OUTDIR": str(part), WORKERS_VAR: "1"}
            # Files, not pipes: a worker never waits for us to read its output.
            out = self._files.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115
            err = self._files.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115
            process = subprocess.Popen(  # noqa: S603 - the app itself, with our own arguments
                command(names), env=env, stdout=out, stderr=err, text=True
            )
            self._running.append((names, part, process, out, err))

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info) -> None:
        for _names, part, process, _out, _err in self._running:
            if process.poll() is None:
                process.kill()
                process.wait()
            shutil.rmtree(part, ignore_errors=True)
        self._files.close()

    def finish(self) -> list[dict]:
        problems: list[dict] = []
        for names, part, process, out_file, err_file in self._running:
            process.wait()
            out_file.seek(0)
            err_file.seek(0)
            out, err = out_file.read(), err_file.read()
            sys.stderr.write(err)
            # Its notes (suppressed findings) come before its report, the last line.
            sys.stdout.write("".join(out.strip().splitlines(keepends=True)[:-1]))
            which = f"the synthesis worker for {', '.join(names)}"
            try:
                report = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
                reported = list(report["problems"])
            except (ValueError, KeyError, TypeError, IndexError):
                reported = None
            if process.returncode not in (0, 2) or reported is None:
                raise WorkerFailed(
                    f"{which} stopped (exit {process.returncode}) without its report; its "
                    f"output is above. {WORKERS_VAR}=1 synthesizes in one process"
                )
            problems += reported
            if process.returncode == 0:
                try:
                    merge_stacks(self._staging, part)
                except (OSError, ValueError, KeyError) as exc:
                    raise WorkerFailed(f"cannot merge the output of {which}: {exc}") from exc
        return problems


def merge_stacks(dest: Path, part: Path) -> list[str]:
    """Move the stacks a worker synthesized into ``part`` over to ``dest`` and add them to
    ``dest/manifest.json``. The manifest is written the way cdktf writes it
    (``json-stable-stringify`` with two spaces: keys sorted), so the result is byte for byte
    the manifest one process would have written. Returns the stack names moved."""
    manifest, theirs = (json.loads((d / "manifest.json").read_text("utf-8")) for d in (dest, part))
    if manifest.get("version") != theirs.get("version"):
        raise ValueError(f"{part}: cdktf version differs from {dest}")
    stacks = manifest.setdefault("stacks", {})
    moved = []
    for name, entry in theirs.get("stacks", {}).items():
        if name in stacks:
            raise ValueError(f"stack {name!r} was synthesized twice")
        # An environment's stacks are synthesized together (its workspace stack depends on
        # its platform stack); a dependency on another part's stack cannot be merged.
        foreign = set(entry.get("dependencies") or ()) - set(theirs["stacks"])
        if foreign:
            raise ValueError(f"stack {name!r} depends on stacks of another part: {sorted(foreign)}")
        workdir = Path(entry["workingDirectory"])
        (dest / workdir).parent.mkdir(parents=True, exist_ok=True)
        os.replace(part / workdir, dest / workdir)
        stacks[name] = entry
        moved.append(name)
    (dest / "manifest.json").write_text(stable_stringify(manifest), "utf-8")
    return moved


def stable_stringify(value: Any, level: int = 0, space: str = "  ") -> str:
    """``require('json-stable-stringify')(value, {space})`` in Python, for JSON data: keys
    sorted, empty arrays and objects still broken over two lines (``[\\n  ]``), no final
    newline. Strings and numbers are written as ``JSON.stringify`` writes them (for
    integers and the strings a manifest holds)."""
    indent = "\n" + space * level
    if isinstance(value, dict):
        items = [
            f"{indent}{space}{json.dumps(key, ensure_ascii=False)}: "
            f"{stable_stringify(value[key], level + 1, space)}"
            for key in sorted(value)
        ]
        return "{" + ",".join(items) + indent + "}"
    if isinstance(value, list):
        items = [f"{indent}{space}{stable_stringify(v, level + 1, space)}" for v in value]
        return "[" + ",".join(items) + indent + "]"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)
