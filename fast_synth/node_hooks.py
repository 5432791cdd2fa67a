"""The node side: the jsii kernel runs with hooks of ours, in one process, started early
(B, E, F, I, J, L).

The JavaScript lives in real files, ``fast_synth/js/*.js`` (CommonJS, Node 20, each
self-contained: only Node's built-in modules and its siblings). jsii's Python runtime copies its
embedded runtime into a temporary directory and starts ``node <that dir>/bin/jsii-runtime.js``;
:func:`install_node_scripts` wraps ``_NodeProcess._jsii_runtime`` so that it also copies every
file of ``fast_synth/js/`` into ``<that dir>/bin/mlops-fast-synth/`` (:func:`write_node_scripts`)
and returns the copy of ``entry.js`` instead. What only Python knows (the provider versions,
the paths of jsii's runtime and kernel program, the kernel text L edits) is written beside them
as ``config.json`` and read by ``js/config.js``: the scripts are copied byte for byte, never
formatted.

B. *Lazy provider index* (``js/lazy-index.js``, installed by ``js/hook.js``). The kernel
   ``require()``\\s a provider package by name, resolving its ``package.json`` ``main``
   (``lib/index.js``), which requires all ~1,500 compiled resource modules. The same tarball
   ships ``lib/lazy-index.js``: the same export names, each defined as a getter that
   ``require()``\\s its module on first use. The hook wraps ``Module._resolveFilename`` so that,
   for the provider packages of :data:`~fast_synth.common.PROVIDERS` only, a resolution of the
   package name to ``lib/index.js`` returns ``lib/lazy-index.js`` instead. Nothing in the kernel
   enumerates a module's exports; it walks them by name (``exports.resourceGroup
   .ResourceGroup``), which the getters answer with the very same module objects.
   *Why safe:* the hook checks the package name and version in ``package.json`` and that
   ``lazy-index.js`` exports exactly the same names as ``index.js`` (each as a plain
   ``require('./<dir>')`` getter); otherwise it keeps ``index.js`` and prints a warning.
E. *One node process instead of two* (``js/entry.js``). ``bin/jsii-runtime.js`` only relays: it
   spawns a second node running ``lib/program.js`` (the kernel) with an extra pipe for the
   protocol, and wraps the kernel's console output into ``{"stdout"|"stderr": base64}`` lines
   on stderr. The entry script runs that same ``program.js`` in the first process instead, on
   stdin/stdout (the one textual change: ``readFD:3,writeFD:3`` -> ``readFD:0,writeFD:1``,
   checked to occur exactly once), with ``process.stdout``/``process.stderr`` replaced by
   streams that write exactly those wrapped lines, and with ``--preserve-symlinks`` as the relay
   gives its child. Every request/response now crosses one pipe instead of two: less CPU, ~40 MB
   less memory. If ``program.js`` does not look as expected, or ``JSII_DEBUG`` is set, the entry
   falls back to the relay (plus the hook of B).
F. *Early start* (Python). :func:`install_prefetch` starts the node process immediately and
   queues the ``load`` requests for constructs, cdktf and the two providers that their
   ``_jsii`` modules will send anyway (same name, version and tarball, read from those files
   without importing them). Node unpacks and loads the assemblies while Python is still
   importing the app; the matching requests are then answered from the queue. See
   :func:`install_prefetch` for why the protocol order is preserved. A prefetch nobody uses (a
   config error) is stopped with SIGTERM, which skips the kernel's own removal of
   ``$TMPDIR/jsii-kernel-*``, so node gets a ``TMPDIR`` of its own that is removed at exit
   (``synth_runtime/scratch.py``).
I. *Stack traces formatted on demand* (``js/stack-traces.js``). cdktf captures a full stack
   trace for every token and complex attribute it creates, to show it if that object later
   fails to resolve. The hook keeps the capture but formats the lines only when something reads
   them.
J. *Leaves of cdktf's resolve() returned directly* (``js/resolve-leaves.js``). A synth resolves
   every value three times; for each object key and each leaf value the original builds a
   resolution context (two closures, an options copy, a prefix copy) and runs up to three
   regexes, though a plain string, a boolean, ``null`` or ``undefined`` resolves to itself. The
   hook edits ``lib/tokens/private/resolve.js`` at its three call sites to return such a leaf at
   once, after the same tests the original runs (no string/list token marker, no number-token
   shape, not a map-token placeholder, inside the depth limit); anything else takes the original
   path. Measured on the 12 x 20 scale case: resolution 537 -> 192 ms.
L. *Kernel assertion messages built on failure only* (``js/entry.js``). The kernel asserts that
   each value it (de)serializes has type information with a message that runs
   ``util.inspect`` eagerly on every call; the entry script (E) makes the message lazy:
   ``null!=e||assert(...)`` (:data:`KERNEL_EAGER_ASSERT`).

Each source edit of E, I, J and L checks that its text occurs exactly once in the file it edits
and otherwise leaves that file untouched and prints a ``mlops-fast-synth:`` line.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from .common import PROVIDERS, fallback, layout, state

#: The kernel's (jsii 1.142.0, minified) assertion whose message L makes lazy.
KERNEL_EAGER_ASSERT = (
    "(0,B.default)(null!=e,`Kernel error: expected type information, got ${(0,K.inspect)(e)}`)"
)
#: Run the kernel inside the node process Python starts (E); False: keep jsii's two processes.
SINGLE_PROCESS = True
#: V8 flags for the kernel process (E): a larger young generation means far fewer scavenges
#: while synthesis allocates millions of short-lived objects. Memory, not behaviour.
NODE_FLAGS = ("--max-semi-space-size=32",)
#: Directory beside jsii's ``bin/jsii-runtime.js`` that receives the copies of ``js/``.
SCRIPTS_DIR = "mlops-fast-synth"
#: The file, written beside the copies, that ``js/config.js`` reads.
CONFIG_FILE = "config.json"
ENTRY = "entry.js"
HOOK = "hook.js"


def js_sources() -> dict[str, bytes]:
    """File name -> content of every ``.js`` file of ``fast_synth/js/``."""
    folder = importlib.resources.files(__package__).joinpath("js")
    return {
        item.name: item.read_bytes()
        for item in folder.iterdir()
        if item.name.endswith(".js") and item.is_file()
    }


def write_node_scripts(
    dest: Path,
    *,
    runtime: str | os.PathLike[str],
    program: str | os.PathLike[str] | None,
    packages: dict[str, str] | None = None,
    core: str = "cdktf",
    kernel_eager_assert: str = KERNEL_EAGER_ASSERT,
) -> Path:
    """Copy every ``fast_synth/js/*.js`` into ``dest`` and write ``dest/config.json`` (see
    ``js/config.js``); returns the path of the copy of ``entry.js``.

    ``runtime``: jsii's ``bin/jsii-runtime.js`` (the relay); ``program``: jsii's
    ``lib/program.js`` to run in the entry's own process, or None to keep the relay;
    ``packages``: assembly name -> version of the providers whose ``lib/lazy-index.js`` the hook
    may use (default: :data:`~fast_synth.common.PROVIDERS`); ``core``: the framework's npm
    package, whose ``resolve.js`` and ``stack-trace.js`` the hook edits (``cdktf`` or
    ``cdktn``). Raises ``OSError``."""
    if packages is None:
        packages = {assembly: version for assembly, version in PROVIDERS.values()}
    config = {
        "core": core,
        "packages": packages,
        "runtime": str(runtime),
        "program": None if program is None else str(program),
        "kernelEagerAssert": kernel_eager_assert,
    }
    dest.mkdir(parents=True, exist_ok=True)
    (dest / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    for name, content in js_sources().items():
        (dest / name).write_bytes(content)
    return dest / ENTRY


class _PreserveSymlinksPopen:
    """Stands in for the ``subprocess`` module inside jsii's ``_NodeProcess.start`` only: adds
    ``--preserve-symlinks`` (which bin/jsii-runtime.js gives its kernel child) to our entry."""

    def __init__(self, real: Any, entry_suffix: str) -> None:
        self._real = real
        self._entry_suffix = entry_suffix

    def __getattr__(self, item):
        return getattr(self._real, item)

    def Popen(self, args, *rest, **kwargs):  # noqa: N802 - mirrors subprocess.Popen
        if isinstance(args, list) and args and str(args[-1]).endswith(self._entry_suffix):
            args = [args[0], "--preserve-symlinks", *NODE_FLAGS, *args[1:]]
        return self._real.Popen(args, *rest, **kwargs)


def install_node_scripts() -> None:
    """B, E, I, J, L: make jsii start ``js/entry.js`` (copied beside its runtime) instead of
    its relay, with ``--preserve-symlinks`` and :data:`NODE_FLAGS`."""
    try:
        from jsii._kernel.providers import process as jsii_process
    except ImportError as exc:
        fallback(f"jsii kernel process provider not importable ({exc})")
        return
    node_process = getattr(jsii_process, "_NodeProcess", None)
    original = getattr(node_process, "_jsii_runtime", None)
    original_start = getattr(node_process, "start", None)
    if node_process is None or original is None or original_start is None:
        fallback("jsii _NodeProcess._jsii_runtime not found (node side not accelerated)")
        return
    if not hasattr(jsii_process, "subprocess"):
        fallback("jsii process provider layout changed (node side not accelerated)")
        return
    packages = {assembly: version for assembly, version in layout().providers.values()}
    core = layout().core

    def _jsii_runtime(self) -> str:
        runtime = original(self)
        try:
            base = Path(runtime).parent
            entry = write_node_scripts(
                base / SCRIPTS_DIR,
                runtime=runtime,
                program=base.parent / "lib" / "program.js" if SINGLE_PROCESS else None,
                packages=packages,
                core=core,
            )
        except OSError as exc:
            fallback(f"cannot write the node hook ({exc})")
            return runtime
        return str(entry)

    def start(self) -> None:
        real = jsii_process.subprocess
        jsii_process.subprocess = _PreserveSymlinksPopen(real, os.path.join(SCRIPTS_DIR, ENTRY))
        try:
            original_start(self)
        finally:
            jsii_process.subprocess = real

    _jsii_runtime.__wrapped__ = original  # type: ignore[attr-defined]
    start.__wrapped__ = original_start  # type: ignore[attr-defined]
    node_process._jsii_runtime = _jsii_runtime
    node_process.start = start
    state.node_hook = True


# --------------------------------------------------------------------------------------------
# F. start the kernel early and load the assemblies while Python imports the app
# --------------------------------------------------------------------------------------------

#: Python packages whose jsii assembly is loaded ahead of time (in dependency order), for the
#: default engine; :func:`prefetch_packages` gives them for the engine in use.
PREFETCH = ("constructs", "cdktf", *PROVIDERS)


def prefetch_packages() -> tuple[str, ...]:
    """:data:`PREFETCH` for the engine :func:`fast_synth.install` was given."""
    return ("constructs", layout().core, *layout().providers)


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


def install_prefetch() -> None:
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
    for pkg in prefetch_packages():
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
        fallback(f"jsii runtime not importable for prefetch ({exc})")
        return
    node_process = jsii_process._NodeProcess
    needed = ("start", "send", "handshake", "_next_message", "_serializer")
    provider = getattr(kernel, "provider", None)
    if not all(hasattr(node_process, n) for n in needed[:4]) or not isinstance(
        provider, jsii_process.ProcessProvider
    ):
        fallback("jsii process provider layout changed (no prefetch)")
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
        # its own, removed at exit (synth_runtime/scratch.py).
        from synth_runtime import scratch

        process = _early_process(provider, node_process, start, tmpdir=scratch.private_dir())
        process._mlops_pending = []
        assert process._process.stdin is not None
        for name, version, tarball in loads:
            req = LoadRequest(name=name, version=version, tarball=tarball)
            data = json.dumps(process._serializer.unstructure(req)).encode("utf-8")
            process._process.stdin.write(data + b"\n")
            process._mlops_pending.append((name, version, tarball))
        process._process.stdin.flush()
        state.prefetch = [name for name, _, _ in loads]
        # Runs before jsii's own atexit stop() (registered earlier, atexit is LIFO).
        atexit.register(_abandon_unused_prefetch, process)
    except Exception as exc:  # noqa: BLE001 - never fail the app for an optimisation
        node_process.send = original_send
        fallback(f"could not start the jsii kernel early ({exc})")


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
    the hello line is read by the first request (see ``send`` in :func:`install_prefetch`).
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
