"""fast_synth end to end: same bytes as `MLOPS_FAST_SYNTH=0`, graceful fallback, and a switch
that really switches off.

The app is synthesized in subprocesses (a fresh interpreter each: the accelerations act on
imports), through a small driver that calls `fast_synth.install()` and then runs main.py the way
the cdktf CLI does (so the tests hold whether or not main.py calls install() itself; install is
idempotent). Budget: about 25 s, most of it the one unaccelerated synthesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fast_synth
from fast_synth.jsii_serialization import CONSTANT_PROPERTIES
from fast_synth.node_hooks import PREFETCH
from tests.conftest import ROOT

STATUS = "FAST_SYNTH_STATUS "

DRIVER = textwrap.dedent(
    """
    import atexit, json, runpy, sys
    import fast_synth
    {prelude}
    fast_synth.install()

    def _report():
        status = fast_synth.status()
        status["provider_submodules_imported"] = sorted(
            m for m in sys.modules if m.startswith("cdktf_cdktf_provider_") and m.count(".") == 1
        )
        sys.stderr.write("{marker}" + json.dumps(status) + "\\n")

    atexit.register(_report)
    sys.argv = ["main.py", *{argv!r}]
    runpy.run_path("main.py", run_name="__main__")
    """
)


def _synth(
    outdir: Path, *, fast: bool, prelude: str = "", argv: tuple[str, ...] = (), rc: int = 0
) -> tuple[dict, str]:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDKTF_OUTDIR": str(outdir),
        fast_synth.ENV_VAR: "1" if fast else "0",
    }
    env.pop("MLOPS_CONFIG_DIR", None)
    code = DRIVER.format(prelude=prelude, marker=STATUS, argv=list(argv))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == rc, result.stderr[-4000:]
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith(STATUS))
    return json.loads(line[len(STATUS) :]), result.stderr


def _files(outdir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()
    }


def _assert_same_tree(expected: Path, actual: Path) -> None:
    want, got = _files(expected), _files(actual)
    assert sorted(got) == sorted(want)
    assert any(name.endswith("cdk.tf.json") for name in want)
    different = [name for name in want if want[name] != got[name]]
    assert not different, f"files differ between the ordinary and the fast path: {different}"


def _wheel_fingerprint() -> list[tuple[str, int, int]]:
    """The ML wheel the stacks embed as an asset (its hash is part of the output)."""
    return sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns)
        for p in (ROOT / "ml_src" / "dist").glob("*.whl")
    )


class _Ordinary:
    """The unaccelerated output, made on demand (again if the wheel is rebuilt meanwhile)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._out: Path | None = None
        self._wheel: list | None = None

    def get(self) -> Path:
        if self._out is None or self._wheel != _wheel_fingerprint():
            self._wheel = _wheel_fingerprint()
            outdir = self._factory.mktemp("ordinary") / "cdktf.out"
            status, _ = _synth(outdir, fast=False)
            # (iii) the switch: nothing installed, every provider submodule imported eagerly.
            assert status["installed"] is False
            assert status["lazy_packages"] == [] and status["node_hook"] is False
            assert len(status["provider_submodules_imported"]) > 1000
            self._out = outdir
        return self._out


@pytest.fixture(scope="module")
def ordinary(tmp_path_factory: pytest.TempPathFactory) -> _Ordinary:
    return _Ordinary(tmp_path_factory)


def _assert_same_as_ordinary(ordinary: _Ordinary, actual: Path, redo) -> None:
    """Compare with the ordinary output; if the wheel was rebuilt during the test (another
    process running `make wheel`), synthesize both again once."""
    before = _wheel_fingerprint()
    expected = ordinary.get()
    if _wheel_fingerprint() != before or _files(expected).keys() != _files(actual).keys():
        redo()
        expected = ordinary.get()
    _assert_same_tree(expected, actual)


def test_fast_path_writes_identical_stacks(ordinary: _Ordinary, tmp_path: Path) -> None:
    def run() -> None:
        status, stderr = _synth(tmp_path / "fast", fast=True)
        assert status["installed"] and status["node_hook"] and status["type_check_memo"]
        assert status["lazy_packages"] == sorted(fast_synth.PROVIDERS)
        assert len(status["prefetch"]) == len(PREFETCH)
        assert len(status["constant_properties"]) == len(CONSTANT_PROPERTIES)
        assert status["fallbacks"] == [] and "mlops-fast-synth:" not in stderr
        assert len(status["provider_submodules_imported"]) < 200  # a few dozen, not ~1,500

    run()
    _assert_same_as_ordinary(ordinary, tmp_path / "fast", run)


def test_unexpected_layout_falls_back_with_a_warning(ordinary: _Ordinary, tmp_path: Path) -> None:
    # Pretend the databricks bindings are a version whose layout was never verified: the
    # Python loader must import that package the ordinary way and the node hook must keep its
    # eager lib/index.js, each saying so, and the output must not change.
    prelude = (
        "fast_synth.PROVIDERS['cdktf_cdktf_provider_databricks'] = "
        "('@cdktf/provider-databricks', '0.0.0-unverified')"
    )

    def run() -> None:
        status, stderr = _synth(tmp_path / "fallback", fast=True, prelude=prelude)
        assert status["installed"]
        assert status["lazy_packages"] == ["cdktf_cdktf_provider_azurerm"]
        assert any("cdktf_cdktf_provider_databricks is version" in f for f in status["fallbacks"])
        assert "FastSynthWarning" in stderr  # the Python warning reached stderr
        assert "mlops-fast-synth: @cdktf/provider-databricks: found" in stderr  # the node hook's

    run()
    _assert_same_as_ordinary(ordinary, tmp_path / "fallback", run)


def test_user_error_exits_cleanly_with_the_kernel_started_early(tmp_path: Path) -> None:
    # install() starts node and queues assembly loads; a config error then exits before any
    # jsii call: the unused kernel is stopped, no traceback, same exit status as always.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.yaml").write_text("protected: [\n")
    status, stderr = _synth(
        tmp_path / "out", fast=True, argv=("--config-dir", str(tmp_path / "config")), rc=2
    )
    assert status["prefetch"] and "Traceback" not in stderr and "Exception ignored" not in stderr
    assert not (tmp_path / "out").exists()


def test_switch_off_patches_nothing() -> None:
    code = textwrap.dedent(
        """
        import sys, typing
        import typeguard
        from jsii._kernel.providers import process
        from jsii import _reference_map
        import fast_synth
        before = list(sys.meta_path)
        assert fast_synth.install() is False
        assert fast_synth.install(enabled=None) is False
        assert sys.meta_path == before
        assert not hasattr(process._NodeProcess._jsii_runtime, "__wrapped__")
        assert not hasattr(_reference_map._try_import_type_module, "__wrapped__")
        assert not hasattr(typing.get_type_hints, "__wrapped__")
        assert not hasattr(typeguard.check_type, "__wrapped__")
        assert not hasattr(process._NodeProcess.__init__, "__wrapped__")
        assert fast_synth.status()["installed"] is False
        print("ok")
        """
    )
    env = {**os.environ, fast_synth.ENV_VAR: "0"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_env_values_that_switch_off(value: str) -> None:
    assert fast_synth.is_enabled({fast_synth.ENV_VAR: value}) is False


@pytest.mark.parametrize("value", [None, "1", "true", ""])
def test_on_by_default(value: str | None) -> None:
    env = {} if value is None else {fast_synth.ENV_VAR: value}
    assert fast_synth.is_enabled(env) is True
