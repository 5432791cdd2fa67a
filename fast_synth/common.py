"""What every family of the accelerator shares: the switch, the provider versions the
techniques were verified against, and the record of what is active and what fell back
(:func:`fast_synth.status` reports it)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

ENV_VAR = "MLOPS_FAST_SYNTH"
"""The switch: on unless set to ``0``/``false``/``no``/``off``."""

#: Python package -> (jsii assembly name, version the layout was verified against), for the
#: default engine (cdktf).
PROVIDERS: dict[str, tuple[str, str]] = {
    "cdktf_cdktf_provider_azurerm": ("@cdktf/provider-azurerm", "14.23.1"),
    "cdktf_cdktf_provider_databricks": ("@cdktf/provider-databricks", "15.16.1"),
}

#: The same for CDK Terrain (cdktn). Its Python packages are lazy already (jsii-pacmak's
#: ``_SUBMODULES`` + PEP 562 ``__getattr__``), so A has nothing to do for them.
CDKTN_PROVIDERS: dict[str, tuple[str, str]] = {
    "cdktn_provider_azurerm": ("@cdktn/provider-azurerm", "18.9.0"),
    "cdktn_provider_databricks": ("@cdktn/provider-databricks", "18.11.0"),
}


@dataclass(frozen=True)
class Layout:
    """What the techniques rely on for one CDK engine (``main.py`` names the engine)."""

    core: str
    """Python package (and jsii/npm package) of the framework core: ``cdktf`` or ``cdktn``."""
    providers: dict[str, tuple[str, str]]
    """The big provider packages: Python package -> (jsii assembly name, verified version)."""
    lazy_python_packages: bool = False
    """The provider packages import their submodules lazily themselves (A not needed)."""


#: Engine name (``constructs_lib/engine.py``) -> the layout verified for it.
LAYOUTS: dict[str, Layout] = {
    "cdktf": Layout(core="cdktf", providers=PROVIDERS),
    "cdktn": Layout(core="cdktn", providers=CDKTN_PROVIDERS, lazy_python_packages=True),
}
DEFAULT_ENGINE = "cdktf"

_FALSE = {"0", "false", "no", "off"}


class FastSynthWarning(RuntimeWarning):
    """An acceleration was skipped; the ordinary (slower, equivalent) path is used instead."""


@dataclass
class State:
    """What :func:`fast_synth.install` switched on in this process, and what it skipped."""

    installed: bool = False
    engine: str = DEFAULT_ENGINE
    lazy_packages: dict[str, frozenset[str]] = field(default_factory=dict)  # pkg -> submodules
    node_hook: bool = False
    gc_frozen: bool = False
    type_check_memo: bool = False
    prefetch: list[str] = field(default_factory=list)
    constant_properties: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)


state = State()


def layout() -> Layout:
    """The layout of the engine :func:`fast_synth.install` was given (default: cdktf)."""
    return LAYOUTS[state.engine]


def is_enabled(environ: Any = None) -> bool:
    """True unless ``MLOPS_FAST_SYNTH`` is set to 0/false/no/off."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "1").strip().lower() not in _FALSE


def fallback(msg: str) -> None:
    """Record that a technique is skipped and warn (:class:`FastSynthWarning`)."""
    state.fallbacks.append(msg)
    warnings.warn(
        f"mlops-fast-synth: {msg}; using the ordinary path", FastSynthWarning, stacklevel=3
    )


def dist_version(pkg: str) -> str | None:
    """The installed version of the distribution of Python package ``pkg`` (None: absent)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg.replace("_", "-"))
    except PackageNotFoundError:
        return None
