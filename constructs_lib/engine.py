"""Which CDK engine synthesizes the app: CDK for Terraform (`cdktf`, the default) or CDK Terrain
(`cdktn`, its community continuation after CDKTF's archival in December 2025).

Pure Python: nothing here imports an engine. The engine is chosen once per process, before the
first import of `constructs_lib.cdk` or `constructs_lib.providers` (`main.py` calls
:func:`select` with `$MLOPS_CDK_ENGINE`; without a call the engine is :data:`DEFAULT`). Those
two modules are the only ones that import the engine's packages (`tests/unit/
test_engine_facades.py` fails on any other import of them):

- `constructs_lib.cdk`: the framework core (`App`, `TerraformStack`, `Fn`, ...);
- `constructs_lib.providers`: the provider bindings, one facade per provider
  (`constructs_lib.providers.azurerm`, `.databricks`, `.time`).

Each engine lives in its own virtual environment (`.venv` for cdktf, `.venv-cdktn` for cdktn:
`make synth CDK=cdktn`); both engines in one environment is not a supported set-up (their
`constructs` pins differ).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ENGINE_VAR = "MLOPS_CDK_ENGINE"
"""The environment variable `main.py` reads to choose the engine (`make synth CDK=...` sets it)."""

PROVIDERS = ("azurerm", "databricks", "time")
"""The providers the app uses; each has one facade, `constructs_lib.providers.<name>`."""


@dataclass(frozen=True)
class Engine:
    """One CDK engine: its core package and the prebuilt binding package of each provider."""

    name: str
    """What `$MLOPS_CDK_ENGINE` and `make ... CDK=` take."""
    core: str
    """The Python package of the framework core."""
    bindings: Mapping[str, str] = field(default_factory=dict)
    """Provider (`azurerm`, `databricks`, `time`) -> Python package of its prebuilt binding."""
    venv: str = ".venv"
    """The virtual environment (relative to the repository) that `make` installs it into."""

    def packages(self) -> tuple[str, ...]:
        """Every Python package of this engine: the core, then the bindings."""
        return (self.core, *self.bindings.values())


ENGINES: Mapping[str, Engine] = MappingProxyType(
    {
        "cdktf": Engine(
            name="cdktf",
            core="cdktf",
            bindings=MappingProxyType(
                {
                    "azurerm": "cdktf_cdktf_provider_azurerm",
                    "databricks": "cdktf_cdktf_provider_databricks",
                    "time": "cdktf_cdktf_provider_time",
                }
            ),
            venv=".venv",
        ),
        "cdktn": Engine(
            name="cdktn",
            core="cdktn",
            bindings=MappingProxyType(
                {
                    "azurerm": "cdktn_provider_azurerm",
                    "databricks": "cdktn_provider_databricks",
                    "time": "cdktn_provider_time",
                }
            ),
            venv=".venv-cdktn",
        ),
    }
)
"""Every supported engine, by name."""

DEFAULT = "cdktf"
"""The engine without a choice: CDK for Terraform 0.21 with the cdktf provider bindings (what this
project is specified and pinned on)."""

_selected: Engine | None = None


class EngineError(Exception):
    """The requested engine is unknown, not installed here, or another one is already in use.
    The message names the value and the fix (main.py prints it and exits 2)."""


def select(name: str | None) -> Engine:
    """Use engine `name` (None or empty: :data:`DEFAULT`) in this process and return it.

    Raises :class:`EngineError` if the name is unknown, if its packages are not installed in
    this Python, or if another engine's packages were already imported."""
    global _selected
    wanted = (name or "").strip() or DEFAULT
    engine = ENGINES.get(wanted)
    if engine is None:
        raise EngineError(
            f"environment variable {ENGINE_VAR}: unknown engine {_shown(wanted)}. "
            f"Fix: set it to one of {', '.join(sorted(ENGINES))}, or unset it ({DEFAULT})"
        )
    if _selected is not None and _selected is not engine:
        raise EngineError(
            f"engine {engine.name!r} requested, but this process already uses "
            f"{_selected.name!r}. Fix: choose the engine before the first import of "
            "constructs_lib.cdk or constructs_lib.providers"
        )
    for other in ENGINES.values():
        if other is not engine and any(pkg in sys.modules for pkg in other.packages()):
            raise EngineError(
                f"engine {engine.name!r} requested, but {other.name!r} is already imported. "
                "Fix: choose the engine before the first import of constructs_lib.cdk or "
                "constructs_lib.providers"
            )
    missing = [pkg for pkg in engine.packages() if not _installed(pkg)]
    if missing:
        here = [e.name for e in ENGINES.values() if _installed(e.core)]
        raise EngineError(
            f"engine {engine.name!r} ({ENGINE_VAR}={engine.name}): package(s) "
            f"{', '.join(missing)} not installed in this Python ({sys.executable}; engines "
            f"installed here: {', '.join(here) or 'none'}). Fix: run `make synth CDK="
            f"{engine.name}`, which creates {engine.venv} with it, and use "
            f"{engine.venv}/bin/python"
        )
    _selected = engine
    return engine


def current() -> Engine:
    """The engine of this process: the one :func:`select` chose, else :data:`DEFAULT` (which is
    then fixed for the rest of the process)."""
    global _selected
    if _selected is None:
        _selected = ENGINES[DEFAULT]
    return _selected


def _shown(value: str, limit: int = 60) -> str:
    """`repr(value)`, cut (this module imports nothing of the app before the engine is chosen,
    so not constructs_lib.config.errors.shown)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(value)} chars)"


def _installed(package: str) -> bool:
    if package in sys.modules:
        return True
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False
