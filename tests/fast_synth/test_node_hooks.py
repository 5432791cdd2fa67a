"""The node side (fast_synth/node_hooks.py and fast_synth/js/): each hook on a stand-in of the
file it acts on, the same results as without it, and the fallback when that file is not the one
it was written for (B, E, I, J, L). The scripts run exactly as the kernel gets them: copied by
`node_hooks.write_node_scripts` with their config.json."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from fast_synth import node_hooks
from tests.conftest import ROOT

JS_DIR = ROOT / "fast_synth" / "js"


def _scripts(
    root: Path,
    *,
    program: Path | None = None,
    runtime: Path | None = None,
    packages: dict[str, str] | None = None,
    core: str = "cdktf",
) -> Path:
    """fast_synth/js/ copied into `root`/scripts, as beside jsii's runtime; the directory."""
    entry = node_hooks.write_node_scripts(
        root / "scripts",
        runtime=runtime or root / "unused-runtime.js",
        program=program,
        packages=packages,
        core=core,
    )
    return entry.parent


# --- B: the lazy provider index, on a fake package ----------------------------------------------

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
    root: Path, script: str, env: dict | None = None, **scripts
) -> subprocess.CompletedProcess:
    """Run `script` in node with fast_synth's hook preloaded, as the kernel process does
    (`scripts`: the packages and core of its config.json, see `_scripts`)."""
    hook = _scripts(root, **scripts) / node_hooks.HOOK
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


# CDK Terrain's index.js wraps each submodule in TypeScript's __importStar (which returns an ES
# module unchanged) and requires `./<dir>/index`; its lazy-index.js marks itself an ES module.
IMPORT_STAR = (
    "var __importStar = (this && this.__importStar) || (function () {\n"
    "    return function (mod) {\n"
    "        if (mod && mod.__esModule) return mod;\n"
    "        return { default: mod };\n"
    "    };\n"
    "})();\n"
)
ES_MODULE = 'Object.defineProperty(exports, "__esModule", { value: true });'


def _cdktn_node_package(root: Path, *, star_helper: str = IMPORT_STAR) -> Path:
    pkg = root / "node_modules" / "@cdktn" / "provider-azurerm"
    (pkg / "lib" / "res-a").mkdir(parents=True)
    (pkg / "lib" / "res-a" / "index.js").write_text(f"{ES_MODULE}\nexports.A = 1;\n")
    (pkg / "package.json").write_text(
        json.dumps({"name": "@cdktn/provider-azurerm", "version": "18.9.0", "main": "lib/index.js"})
    )
    (pkg / "lib" / "index.js").write_text(
        f'"use strict";\n{star_helper}{ES_MODULE}\n'
        'exports.resA = __importStar(require("./res-a/index"));\n'
    )
    (pkg / "lib" / "lazy-index.js").write_text(
        f'"use strict";\n{ES_MODULE}\n// generated by cdktn get\n'
        + LAZY.format(k="resA", d="res-a")
        + "\n//# sourceMappingURL=data:application/json;base64,e30=\n"
    )
    return pkg


def _resolve_cdktn_with_hook(root: Path) -> subprocess.CompletedProcess:
    return _node_with_hook(
        root,
        "const r = require('module').createRequire(process.cwd() + '/');"
        "const p = r.resolve('@cdktn/provider-azurerm');"
        "console.log(p); console.log(JSON.stringify(r(p).resA.A));",
        packages={"@cdktn/provider-azurerm": "18.9.0"},
        core="cdktn",
    )


def test_node_hook_picks_the_lazy_index_of_a_cdktn_package(tmp_path: Path) -> None:
    _cdktn_node_package(tmp_path)
    result = _resolve_cdktn_with_hook(tmp_path)
    assert result.returncode == 0, result.stderr
    path, value = result.stdout.splitlines()
    assert path.endswith("lib/lazy-index.js") and json.loads(value) == 1
    assert "mlops-fast-synth" not in result.stderr


def test_node_hook_keeps_a_cdktn_index_whose_import_star_is_unknown(tmp_path: Path) -> None:
    """Without the helper that returns ES modules unchanged, index.js's exports could be other
    objects than lazy-index.js's getters return: keep index.js."""
    _cdktn_node_package(
        tmp_path, star_helper="var __importStar = function (mod) { return { m: mod }; };\n"
    )
    result = _resolve_cdktn_with_hook(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("lib/index.js")
    assert "does not export the same modules" in result.stderr


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


def _cdktn_stack_trace_source() -> str | None:
    """CDK Terrain's stack-trace.js, read from the cdktn package of .venv-cdktn (None: absent)."""
    import tarfile

    tarballs = sorted(
        (ROOT / ".venv-cdktn").glob("lib/python3*/site-packages/cdktn/_jsii/cdktn@*.jsii.tgz")
    )
    if not tarballs:
        return None
    with tarfile.open(tarballs[-1]) as tar:
        member = tar.extractfile("package/lib/tokens/private/stack-trace.js")
        return member.read().decode() if member else None


def test_cdktn_creation_stacks_are_deferred_with_their_switch(tmp_path: Path) -> None:
    """cdktn's captureCreationStack (what its tokens call) is deferred like captureStackTrace,
    reports the same frames, and still honours CDKTN_DISABLE_CREATION_STACK."""
    source = _cdktn_stack_trace_source()
    if source is None:
        if os.environ.get("MLOPS_REQUIRE_CDKTN") == "1":
            pytest.fail(".venv-cdktn has no cdktn package (make cdktn-venv)")
        pytest.skip("no .venv-cdktn (make cdktn-venv)")
    target = tmp_path / "node_modules" / "cdktn" / "lib" / "tokens" / "private" / "stack-trace.js"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    script = (
        f"const st = require({json.dumps(str(target))});"
        "function caller() { return st.captureCreationStack(); }"
        "const lines = caller();"
        "console.log(JSON.stringify({isArray: Array.isArray(lines), n: lines.length,"
        " first: lines[0], spread: [...lines].length}));"
    )
    for env, expected_n in (({}, None), ({"CDKTN_DISABLE_CREATION_STACK": "1"}, 0)):
        result = _node_with_hook(tmp_path, script, env={**os.environ, **env}, core="cdktn")
        assert result.returncode == 0, result.stderr
        assert "mlops-fast-synth" not in result.stderr
        seen = json.loads(result.stdout)
        assert seen["isArray"] and seen["spread"] == seen["n"]
        if expected_n is None:
            assert seen["n"] > 1 and seen["first"].startswith("caller ")
        else:
            assert seen["n"] == expected_n


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
    edits = (JS_DIR / "resolve-leaves.js").read_text()
    for needle in needles:
        assert needle in edits


# --- E, L: the kernel in the entry's process, its assertion message built only on failure ---------


def test_the_kernel_edits_match_jsii_exactly_once() -> None:
    import jsii._embedded.jsii as embedded

    program = (Path(embedded.__file__).parent / "lib__program.js").read_text()
    assert program.count(node_hooks.KERNEL_EAGER_ASSERT) == 1  # L
    assert program.count("readFD:3,writeFD:3") == 1  # E
    assert "const NEEDLE = 'readFD:3,writeFD:3';" in (JS_DIR / "entry.js").read_text()


def _run_entry(
    tmp_path: Path, program_source: str, runtime_source: str | None = None
) -> subprocess.CompletedProcess:
    """Run fast_synth's kernel entry script (E) on a stand-in kernel program (and, for the
    relay, a stand-in bin/jsii-runtime.js)."""
    program = tmp_path / "program.js"
    program.write_text(program_source)
    runtime = tmp_path / "jsii-runtime.js"
    runtime.write_text(runtime_source or "throw new Error('the relay must not run');\n")
    entry = _scripts(tmp_path, program=program, runtime=runtime) / node_hooks.ENTRY
    result = subprocess.run(
        ["node", str(entry)], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    return result


def _wrapped(stderr: str) -> tuple[str, str]:
    """What the kernel wrote to stdout and stderr: the entry wraps both as base64 lines on
    stderr, as jsii's relay does."""
    streams = {"stdout": "", "stderr": ""}
    for line in stderr.splitlines():
        for kind, data in json.loads(line).items():
            streams[kind] += base64.b64decode(data).decode()
    return streams["stdout"], streams["stderr"]


def test_kernel_runs_in_the_entry_process(tmp_path: Path) -> None:
    program = (
        "// readFD:3,writeFD:3\n"
        "process.stdout.write('out:' + JSON.stringify(process.execArgv));\n"
        "process.stderr.write('err');\n"
    )
    out, err = _wrapped(_run_entry(tmp_path, program).stderr)
    assert out == "out:[]"  # no relay, no second process: the kernel ran here
    assert "err" in err


def test_unexpected_kernel_program_falls_back_to_the_relay(tmp_path: Path) -> None:
    runtime = "process.stdout.write(JSON.stringify(process.execArgv));\n"
    result = _run_entry(tmp_path, "// not the kernel\n", runtime)
    _, err = _wrapped(result.stderr)
    assert "unexpected jsii kernel program" in err and "kernel runs in a child process" in err
    # the relay runs, and gives the kernel child the hook
    hook = str(tmp_path / "scripts" / node_hooks.HOOK)
    assert json.loads(result.stdout) == ["--require", hook]


def test_kernel_assertion_message_is_built_only_on_failure(tmp_path: Path) -> None:
    program = (
        "// readFD:3,writeFD:3\n"
        f"function check(e) {{ return {node_hooks.KERNEL_EAGER_ASSERT}; }}\n"
        "process.stdout.write(String(check.toString().includes('null!=e||')));\n"
    )
    out, err = _wrapped(_run_entry(tmp_path, program).stderr)
    assert (out, err) == ("true", "")


def test_unknown_kernel_assertion_stays_eager(tmp_path: Path) -> None:
    program = "// readFD:3,writeFD:3\nprocess.stdout.write('ran');\n"
    out, err = _wrapped(_run_entry(tmp_path, program).stderr)
    assert out == "ran"
    assert "the kernel type assertion is not the one expected; it stays eager" in err
