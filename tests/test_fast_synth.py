"""constructs_lib.fast_synth: same bytes, graceful fallback, and a switch that really switches off.

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
import warnings
from pathlib import Path

import pytest

from constructs_lib import fast_synth

ROOT = Path(__file__).resolve().parent.parent
STATUS = "FAST_SYNTH_STATUS "

DRIVER = textwrap.dedent(
    """
    import atexit, json, runpy, sys
    from constructs_lib import fast_synth
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
        assert len(status["prefetch"]) == len(fast_synth.PREFETCH)
        assert len(status["constant_properties"]) == len(fast_synth.CONSTANT_PROPERTIES)
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
        from constructs_lib import fast_synth
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


# --- the Python loader on a fake package (in process, no jsii) ----------------------------------


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
    finder = fast_synth._LazyProviderFinder({name: ("@fake/x", "1.0.0")})
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


# --- the node hook on a fake package ------------------------------------------------------------

LAZY = (
    "Object.defineProperty(exports, '{k}', {{ get: function () {{ return require('./{d}'); }} }});"
)
EAGER = 'exports.{k} = require("./{d}");'


def _node_package(root: Path, *, lazy: str | None, version: str = "14.23.1") -> Path:
    pkg = root / "node_modules" / "@cdktf" / "provider-azurerm"
    (pkg / "lib" / "res-a").mkdir(parents=True)
    (pkg / "lib" / "res-a" / "index.js").write_text("exports.A = 1;\n")
    (pkg / "package.json").write_text(
        json.dumps({"name": "@cdktf/provider-azurerm", "version": version, "main": "lib/index.js"})
    )
    (pkg / "lib" / "index.js").write_text(
        '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n'
        + EAGER.format(k="resA", d="res-a")
        + "\n"
    )
    if lazy is not None:
        (pkg / "lib" / "lazy-index.js").write_text(lazy)
    return pkg


def _node_with_hook(
    root: Path, script: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run `script` in node with fast_synth's hook preloaded, as the kernel process does."""
    hook = root / "hook.js"
    packages = {a: v for a, v in fast_synth.PROVIDERS.values()}
    hook.write_text(fast_synth._NODE_HOOK.replace("__PACKAGES__", json.dumps(packages)))
    return subprocess.run(
        ["node", "--require", str(hook), "-e", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _resolve_with_hook(root: Path) -> subprocess.CompletedProcess:
    return _node_with_hook(
        root,
        "const r = require('module').createRequire(process.cwd() + '/');"
        "const p = r.resolve('@cdktf/provider-azurerm');"
        "console.log(p); console.log(JSON.stringify(r(p).resA));",
    )


def test_node_hook_picks_lazy_index(tmp_path: Path) -> None:
    _node_package(tmp_path, lazy='"use strict";\n' + LAZY.format(k="resA", d="res-a") + "\n")
    result = _resolve_with_hook(tmp_path)
    assert result.returncode == 0, result.stderr
    path, keys = result.stdout.splitlines()
    assert path.endswith("lib/lazy-index.js") and json.loads(keys) == {"A": 1}
    assert "mlops-fast-synth" not in result.stderr


@pytest.mark.parametrize(
    "lazy, version, message",
    [
        (None, "14.23.1", "no lib/lazy-index.js"),
        ("module.exports = {};\n", "14.23.1", "does not export the same modules"),
        (LAZY.format(k="resA", d="res-a") + "\n", "99.0.0", "expected version 14.23.1"),
    ],
)
def test_node_hook_keeps_index_when_unsure(tmp_path: Path, lazy, version, message) -> None:
    _node_package(tmp_path, lazy=lazy, version=version)
    result = _resolve_with_hook(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("lib/index.js")
    assert "mlops-fast-synth: @cdktf/provider-azurerm: " in result.stderr
    assert message in result.stderr


# --- I: cdktf's stack traces, formatted only when read --------------------------------------------

CDKTF_STACK_TRACE = Path(
    next(
        iter(
            sorted(
                Path.home().glob(
                    ".cache/aws/jsii/package-cache/cdktf/*/*/lib/tokens/private/stack-trace.js"
                )
            )
        ),
        ROOT / "node_modules" / "cdktf" / "lib" / "tokens" / "private" / "stack-trace.js",
    )
)


def _stack_trace_module(root: Path, source: str) -> Path:
    target = root / "node_modules" / "cdktf" / "lib" / "tokens" / "private" / "stack-trace.js"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    return target


def _capture_with_hook(root: Path, module: Path) -> subprocess.CompletedProcess:
    return _node_with_hook(
        root,
        f"const st = require({json.dumps(str(module))});"
        "function caller() { return st.captureStackTrace(); }"
        "const lines = caller();"
        "console.log(JSON.stringify({isArray: Array.isArray(lines), n: lines.length,"
        " first: lines[0], joined: lines.join('|').length > 0, spread: [...lines].length}));",
    )


def test_stack_traces_are_deferred_but_read_the_same(tmp_path: Path) -> None:
    if not CDKTF_STACK_TRACE.is_file():
        pytest.skip("cdktf's stack-trace.js not found (jsii package cache or node_modules)")
    module = _stack_trace_module(tmp_path, CDKTF_STACK_TRACE.read_text())
    result = _capture_with_hook(tmp_path, module)
    assert result.returncode == 0, result.stderr
    assert "mlops-fast-synth" not in result.stderr
    seen = json.loads(result.stdout)
    assert seen["isArray"] and seen["n"] > 1 and seen["spread"] == seen["n"] and seen["joined"]
    assert seen["first"].startswith("caller ")  # the frame that asked, as the original reports


def test_unknown_stack_trace_module_stays_eager(tmp_path: Path) -> None:
    module = _stack_trace_module(
        tmp_path, "exports.captureStackTrace = function () { return ['kept']; };\n"
    )
    result = _capture_with_hook(tmp_path, module)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["first"] == "kept"
    assert "is not the stack-trace module" in result.stderr


# --- J: leaves of cdktf's resolve() returned directly ----------------------------------------------

CDKTF_NODE_PACKAGE = ROOT / "node_modules" / "cdktf"
RESOLVE_JS = Path("lib") / "tokens" / "private" / "resolve.js"

# Every kind of value resolve() meets, including the ones the fast path must leave alone: tokens
# in values and keys, escapes, number-token-shaped text, map-token placeholders (errors), list
# tokens in string context (error), and nesting at and beyond the depth limit (error).
RESOLVE_CASES = r"""
const cdktf = require(process.env.CDKTF_PACKAGE);
const { App, TerraformStack, Token, Lazy, Fn, Tokenization, DefaultTokenResolver,
        StringConcat } = cdktf;
const stack = new TerraformStack(new App({ outdir: process.env.OUTDIR }), 'resolve-cases');
const lazyString = Token.asString(Lazy.stringValue({ produce: () => 'produced' }));
const lazyNumber = Token.asNumber(Lazy.numberValue({ produce: () => 42 }));
const lazyList = Token.asList(Lazy.listValue({ produce: () => ['a', 'b'] }));
const nested = (depth, leaf, wrap) => { let v = leaf; for (let i = 0; i < depth; i++) v = wrap(v); return v; };
const cases = {
  plain: { s: 'text', t: true, f: false, n: null, u: undefined, num: 1.5, zero: 0,
           list: [1, 'two', false, null, undefined, [], {}], empty: '' },
  tokens: { s: lazyString, concat: `pre-${lazyString}-post`, n: lazyNumber, l: lazyList,
            inList: ['x', lazyString], numInString: `n=${lazyNumber}`,
            fn: Fn.join(',', ['a', lazyString]) },
  tokenKey: { [lazyString]: 'value', plain: lazyString },
  escapes: { a: '${var.x}', b: 'a ${b} c', c: '}{', d: '$${x}', e: '${', f: '}' },
  numberShaped: { a: 'a-e-b', b: '1e+5', c: '-1.8881545897087626e+289', d: 'x.e.y',
                  e: 'e-mail', f: '1.5e3-e' },
  stringMap: { a: Token.STRING_MAP_TOKEN_VALUE },
  anyMap: ['x', Token.ANY_MAP_TOKEN_VALUE],
  mapKey: { [Token.STRING_MAP_TOKEN_VALUE]: 1 },
  listInString: { a: `x${lazyList}` },
  depth199: nested(199, 'leaf', (v) => ({ k: v })),
  depth200: nested(200, 'leaf', (v) => ({ k: v })),
  depth201: nested(201, 'leaf', (v) => ({ k: v })),
  depth200list: nested(200, true, (v) => [v]),
  depth201list: nested(201, null, (v) => [v]),
};
const resolver = new DefaultTokenResolver(new StringConcat());
const out = {};
for (const [name, value] of Object.entries(cases)) {
  for (const preparing of [false, true]) {
    try {
      out[name + (preparing ? '/preparing' : '')] = { ok: Tokenization.resolve(value,
        { scope: stack, resolver, preparing }) };
    } catch (e) {
      out[name + (preparing ? '/preparing' : '')] = { error: String(e && e.message) };
    }
  }
}
const edited = require(process.env.CDKTF_PACKAGE + '/lib/tokens/private/resolve.js')
  .resolve.toString().includes('__mlopsLeaf');
console.log(JSON.stringify({ out, edited }));
"""


def _resolve_cases(tmp_path: Path, *, hook: bool) -> tuple[dict, str]:
    env = {**os.environ, "CDKTF_PACKAGE": str(CDKTF_NODE_PACKAGE), "OUTDIR": str(tmp_path)}
    if hook:
        result = _node_with_hook(tmp_path, RESOLVE_CASES, env=env)
    else:
        result = subprocess.run(
            ["node", "-e", RESOLVE_CASES],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.mark.skipif(
    not CDKTF_NODE_PACKAGE.is_dir(), reason="node_modules/cdktf missing (make node)"
)
def test_resolve_leaves_give_the_same_results_and_errors(tmp_path: Path) -> None:
    plain, plain_err = _resolve_cases(tmp_path, hook=False)
    fast, fast_err = _resolve_cases(tmp_path, hook=True)
    assert plain["edited"] is False and fast["edited"] is True
    assert "mlops-fast-synth" not in fast_err
    assert fast["out"] == plain["out"]
    assert fast_err == plain_err  # e.g. the same escape warnings
    # the table really reaches both sides of every guard
    out = plain["out"]
    assert out["plain"]["ok"]["list"] == [1, "two", False, None, [], {}]
    assert out["tokens"]["ok"]["concat"] == "pre-produced-post"
    assert out["tokenKey"]["ok"] == {"produced": "value", "plain": "produced"}
    assert "error" in out["stringMap"] and "error" in out["listInString"]
    assert "ok" in out["depth199"] and "ok" in out["depth200list"]
    assert "error" in out["depth201"] and "error" in out["depth201list"]


def test_unknown_resolve_module_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "node_modules" / "cdktf" / RESOLVE_JS
    target.parent.mkdir(parents=True)
    target.write_text("exports.resolve = function resolve(obj) { return obj; };\n")
    result = _node_with_hook(
        tmp_path,
        f"const r = require({json.dumps(str(target))}).resolve;"
        "console.log(JSON.stringify([r('x'), r.toString().includes('__mlopsLeaf')]));",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["x", False]
    assert "is not the resolve module fast_synth knows" in result.stderr


def _kernel_cdktf_resolve() -> Path | None:
    found = sorted(Path.home().glob(f".cache/aws/jsii/package-cache/cdktf/*/*/{RESOLVE_JS}"))
    return found[0] if found else None


def test_the_kernel_cdktf_is_the_one_the_edits_were_written_for() -> None:
    """The kernel runs cdktf from jsii's package cache; the edits must match it exactly once
    each (a cdktf upgrade fails here instead of silently losing J)."""
    path = _kernel_cdktf_resolve() or CDKTF_NODE_PACKAGE / RESOLVE_JS
    if not path.is_file():
        pytest.skip("no cdktf resolve.js on this machine yet")
    source = path.read_text()
    needles = [
        "const tokenMap = token_map_1.TokenMap.instance();",
        "const resolvedKey = makeContext()[0].resolve(key);",
        "const value = makeContext(key)[0].resolve(obj[key]);",
        ".map((x, i) => makeContext(`${i}`)[0].resolve(x))",
    ]
    assert [source.count(n) for n in needles] == [1, 1, 1, 1]
    for needle in needles:
        assert needle in fast_synth._NODE_HOOK


# --- K: requests serialized without cattrs' walk ---------------------------------------------------


class _Native:
    """Stands for a jsii object inside a payload (cattrs passes it through; json uses its ref)."""

    def __init__(self) -> None:
        from jsii._kernel.types import ObjRef

        self.__jsii_ref__ = ObjRef(ref="native@1")


def test_request_payloads_unstructure_exactly_as_cattrs_does(monkeypatch) -> None:
    import enum

    from jsii._kernel import types as jt
    from jsii._kernel.providers import process as jp

    class Colour(enum.Enum):
        RED = "red"

    Colour.__jsii_type__ = "test.Colour"
    native = _Native()
    payload = [
        "s",
        1,
        2.5,
        True,
        None,
        native,
        Colour.RED,
        {"$jsii.struct": {"fqn": "x.Y", "data": {"a": [1, {"b": None}], "c": native}}},
        {"$jsii.map": {"k": ["v", {"deep": [[], {}]}]}},
        jt.ObjRef(ref="x@1"),
    ]
    requests = [
        jt.CreateRequest(
            fqn="x.Y", args=payload, overrides=[jt.Override(method="m")], interfaces=["x.I"]
        ),
        jt.InvokeRequest(objref=jt.ObjRef(ref="x@1"), method="m", args=payload),
        jt.InvokeRequest(objref=jt.ObjRef(ref="x@1"), method="m", args=None),
        jt.StaticInvokeRequest(fqn="x.Y", method="m", args=[]),
        jt.SetRequest(objref=jt.ObjRef(ref="x@1"), property="p", value=payload[7]),
        jt.SetRequest(objref=jt.ObjRef(ref="x@1"), property="p", value=Colour.RED),
    ]

    class Probe(jp._NodeProcess):  # the serializer only: never started, nothing to stop
        def __del__(self) -> None:
            pass

    init = jp._NodeProcess.__init__
    monkeypatch.setattr(jp._NodeProcess, "__init__", init)  # undo the install below afterwards
    ordinary, fast = object.__new__(Probe), object.__new__(Probe)
    getattr(init, "__wrapped__", init)(ordinary)
    fast_synth._install_request_serialization()
    jp._NodeProcess.__init__(fast)
    for request in requests:
        want = ordinary._serializer.unstructure(request)
        got = fast._serializer.unstructure(request)
        assert got == want and list(got) == list(want), request
        assert json.dumps(got, default=jp.jdefault) == json.dumps(want, default=jp.jdefault)


# --- L: the kernel's assertion message, built only when it fails -----------------------------------


def test_the_kernel_edits_match_jsii_exactly_once() -> None:
    import jsii._embedded.jsii as embedded

    program = (Path(embedded.__file__).parent / "lib__program.js").read_text()
    assert program.count(fast_synth.KERNEL_EAGER_ASSERT) == 1  # L
    assert program.count("readFD:3,writeFD:3") == 1  # E


def test_request_serialization_falls_back_when_jsii_changes(monkeypatch) -> None:
    from jsii._kernel import types as jt
    from jsii._kernel.providers import process as jp

    init = jp._NodeProcess.__init__
    monkeypatch.setattr(jp._NodeProcess, "__init__", getattr(init, "__wrapped__", init))
    monkeypatch.delattr(jt, "SetRequest")
    before = jp._NodeProcess.__init__
    with pytest.warns(fast_synth.FastSynthWarning, match="not the ones K was written for"):
        fast_synth._install_request_serialization()
    assert jp._NodeProcess.__init__ is before


def _run_entry(tmp_path: Path, program_source: str) -> tuple[str, str]:
    """Run fast_synth's kernel entry script (E) on a stand-in kernel program; returns what the
    program wrote to stdout and stderr (the entry wraps both as base64 lines on stderr)."""
    import base64

    program = tmp_path / "program.js"
    program.write_text(program_source)
    hook = tmp_path / "hook.js"
    packages = {a: v for a, v in fast_synth.PROVIDERS.values()}
    hook.write_text(fast_synth._NODE_HOOK.replace("__PACKAGES__", json.dumps(packages)))
    entry = tmp_path / "entry.js"
    entry.write_text(
        fast_synth._NODE_ENTRY.replace("__HOOK__", json.dumps(str(hook)))
        .replace("__RUNTIME__", json.dumps(str(tmp_path / "unused-runtime.js")))
        .replace("__PROGRAM__", json.dumps(str(program)))
        .replace("__EAGER_ASSERT__", json.dumps(fast_synth.KERNEL_EAGER_ASSERT))
    )
    result = subprocess.run(
        ["node", str(entry)], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    streams = {"stdout": "", "stderr": ""}
    for line in result.stderr.splitlines():
        for kind, data in json.loads(line).items():
            streams[kind] += base64.b64decode(data).decode()
    return streams["stdout"], streams["stderr"]


def test_kernel_assertion_message_is_built_only_on_failure(tmp_path: Path) -> None:
    program = (
        "// readFD:3,writeFD:3\n"
        f"function check(e) {{ return {fast_synth.KERNEL_EAGER_ASSERT}; }}\n"
        "process.stdout.write(String(check.toString().includes('null!=e||')));\n"
    )
    out, err = _run_entry(tmp_path, program)
    assert (out, err) == ("true", "")


def test_unknown_kernel_assertion_stays_eager(tmp_path: Path) -> None:
    out, err = _run_entry(tmp_path, "// readFD:3,writeFD:3\nprocess.stdout.write('ran');\n")
    assert out == "ran"
    assert "the kernel type assertion is not the one expected; it stays eager" in err
