"""Faster synthesis for this app: load only the provider code a stack really uses.

A plain CDKTF Python app that imports the prebuilt ``azurerm`` and ``databricks`` bindings pays,
before it writes a byte, for code it never runs: Python eagerly imports ~1,500 submodules per
provider, the jsii kernel (node) ``require()``\\s as many compiled modules, the garbage
collector walks all of them, and every jsii call is a round trip between two processes.
:func:`install` removes most of that; ``main.py`` calls it first thing. The techniques, one
module per family (``README.md`` in this directory lists them, why each is safe and how it
falls back):

* :mod:`fast_synth.python_imports`: lazy provider packages (A), garbage collector (C);
* :mod:`fast_synth.jsii_serialization`: memoized type checks (D), constant properties (G),
  struct serialization (H), request serialization (K);
* :mod:`fast_synth.node_hooks` and ``js/``: lazy provider index (B), one node process (E), early
  start (F), stack traces on demand (I), ``resolve()`` leaves (J), lazy assertion messages (L);
* :mod:`fast_synth.workers`: more than one process for a large platform (M), used by
  ``main.py`` directly.

Switch and fallback: on by default; ``MLOPS_FAST_SYNTH=0`` (also ``false``/``no``/``off``)
turns everything off (:func:`install` then patches nothing, and workers are never started).
:func:`install` must run before the first import of ``cdktf`` or a provider package; a provider
package already imported is left alone. Anything unexpected (a different package version, a
file whose shape is not the one a technique was written for, jsii internals that moved) turns
off only the affected technique, with a :class:`FastSynthWarning` (Python) or a
``mlops-fast-synth:`` line on stderr (node), and the ordinary path runs instead. Never a crash.
``tests/fast_synth/`` synthesizes every stack with and without acceleration and compares the
files byte for byte.

Not done, on purpose: ``os._exit`` at the end (exit already takes ~30 ms once the heap is small,
and the kernel's ``atexit`` hook must still shut node down cleanly), disabling typeguard (it
would change error behaviour: the app turns typeguard's TypeErrors into user messages),
skipping or shortening cdktf's creation stack traces (capturing them costs ~10 us each, ~45 per
``databricks_job``, but they are what the error for an unresolvable token shows), or
``NODE_OPTIONS`` (it would leak into every node process the app starts).
"""

from __future__ import annotations

from typing import Any

from . import jsii_serialization, node_hooks, python_imports
from .common import (
    DEFAULT_ENGINE,
    ENV_VAR,
    LAYOUTS,
    PROVIDERS,
    FastSynthWarning,
    fallback,
    is_enabled,
    state,
)
from .workers import (
    BOOTSTRAP_WEIGHT,
    JOB_WEIGHT,
    PARALLEL_FROM_WEIGHT,
    WORKER_START_WEIGHT,
    WORKERS_VAR,
    WorkerFailed,
    Workers,
    environment_weight,
    merge_stacks,
    partition,
    plan_groups,
    process_count,
    stable_stringify,
)

__all__ = [
    "BOOTSTRAP_WEIGHT",
    "DEFAULT_ENGINE",
    "ENV_VAR",
    "LAYOUTS",
    "JOB_WEIGHT",
    "PARALLEL_FROM_WEIGHT",
    "PROVIDERS",
    "WORKERS_VAR",
    "WORKER_START_WEIGHT",
    "FastSynthWarning",
    "WorkerFailed",
    "Workers",
    "environment_weight",
    "install",
    "is_enabled",
    "merge_stacks",
    "partition",
    "plan_groups",
    "process_count",
    "stable_stringify",
    "status",
]


def install(enabled: bool | None = None, engine: str = DEFAULT_ENGINE) -> bool:
    """Switch the accelerations on for this process. Returns True if anything was installed.

    ``enabled``: None (the default) reads ``MLOPS_FAST_SYNTH`` (:func:`is_enabled`). ``engine``:
    the CDK engine the app uses (``cdktf`` or ``cdktn``, ``constructs_lib/engine.py``); one
    without a verified layout (:data:`LAYOUTS`) is not accelerated (a warning). Call before the
    first import of the engine or any provider package. Idempotent.
    """
    if enabled is None:
        enabled = is_enabled()
    if not enabled or state.installed:
        return state.installed
    if engine not in LAYOUTS:
        fallback(f"engine {engine!r} has no verified layout (nothing accelerated)")
        return False
    state.installed = True
    state.engine = engine
    core = LAYOUTS[engine].core
    # The order matters: A's finder also runs G's post-import steps; C's atexit hook must be
    # registered before F's (atexit runs last-in first-out, gc.freeze() last).
    python_imports.install_lazy_packages(post_import=jsii_serialization.post_import_steps(core))
    node_hooks.install_node_scripts()
    python_imports.install_gc_tuning()
    jsii_serialization.install_type_check_memo()
    jsii_serialization.install_struct_serialization()
    jsii_serialization.install_request_serialization()
    node_hooks.install_prefetch()
    return True


def status() -> dict[str, Any]:
    """What is active in this process (for tests and the bench)."""
    return {
        "installed": state.installed,
        "engine": state.engine,
        "lazy_packages": sorted(state.lazy_packages),
        "node_hook": state.node_hook,
        "gc_frozen": state.gc_frozen,
        "type_check_memo": state.type_check_memo,
        "prefetch": list(state.prefetch),
        "constant_properties": list(state.constant_properties),
        "fallbacks": list(state.fallbacks),
    }
