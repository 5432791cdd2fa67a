"""The Python import laziness (fast_synth/python_imports.py, A): the lazy loader on a fake
provider package, in process, without jsii."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

import fast_synth
from fast_synth.python_imports import _LazyProviderFinder


def _fake_package(root: Path, name: str, tail: str) -> None:
    pkg = root / name
    for sub in ("alpha", "beta", "_jsii"):
        (pkg / sub).mkdir(parents=True)
    (pkg / "_jsii" / "__init__.py").write_text("LOADED = True\n")
    (pkg / "alpha" / "__init__.py").write_text("VALUE = 'a'\n")
    (pkg / "beta" / "__init__.py").write_text("VALUE = 'b'\n")
    (pkg / "__init__.py").write_text(
        "import publication\nfrom ._jsii import *\n__all__ = ['alpha', 'beta']\n"
        "publication.publish()\n\nfrom . import alpha\nfrom . import beta\n" + tail
    )


def _import_with_finder(tmp_path: Path, name: str):
    os.environ["MLOPS_FAST_SYNTH_CACHE"] = str(tmp_path / "cache")
    finder = _LazyProviderFinder({name: ("@fake/x", "1.0.0")})
    sys.path.insert(0, str(tmp_path))
    sys.meta_path.insert(0, finder)
    try:
        import importlib

        return importlib.import_module(name)
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        del os.environ["MLOPS_FAST_SYNTH_CACHE"]


def _forget(name: str) -> None:
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]


def test_loader_skips_submodules_until_used(tmp_path: Path) -> None:
    name = "fastsynth_fake_ok"
    _fake_package(tmp_path, name, "")
    try:
        module = _import_with_finder(tmp_path, name)
        assert f"{name}.alpha" not in sys.modules and f"{name}._jsii" in sys.modules
        assert module.alpha.VALUE == "a"  # PEP 562 __getattr__ imports it on first use
        assert f"{name}.alpha" in sys.modules and f"{name}.beta" not in sys.modules
        assert "beta" in dir(module)
        with pytest.raises(AttributeError):
            module.gamma  # noqa: B018
    finally:
        _forget(name)


def test_loader_falls_back_on_unexpected_statement(tmp_path: Path) -> None:
    name = "fastsynth_fake_odd"
    _fake_package(tmp_path, name, "EXTRA = alpha.VALUE\n")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = _import_with_finder(tmp_path, name)
        assert any(issubclass(w.category, fast_synth.FastSynthWarning) for w in caught)
        # the ordinary __init__ ran: eager submodules, and the extra statement too
        assert f"{name}.beta" in sys.modules and module._private.EXTRA == "a"
    finally:
        _forget(name)
