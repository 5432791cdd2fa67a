"""fast_synth/js/: real JavaScript files, each valid for Node (`node --check`), self-contained
(only Node's built-in modules and its siblings), and copied byte for byte beside jsii's runtime
with the config.json that `js/config.js` reads."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

import fast_synth
from fast_synth import node_hooks
from tests.conftest import ROOT

JS_DIR = ROOT / "fast_synth" / "js"
JS_FILES = sorted(JS_DIR.glob("*.js"))
REQUIRE = re.compile(r"""\brequire\(\s*(['"])([^'"]+)\1\s*\)""")
LINE_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def test_the_directory_holds_the_scripts() -> None:
    names = {p.name for p in JS_FILES}
    assert {"entry.js", "hook.js", "config.js"} <= names
    assert sorted(node_hooks.js_sources()) == sorted(names)


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_node_check(path: Path) -> None:
    result = subprocess.run(
        ["node", "--check", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def node_builtins() -> set[str]:
    result = subprocess.run(
        ["node", "-p", "JSON.stringify(require('module').builtinModules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_self_contained_commonjs(path: Path, node_builtins: set[str]) -> None:
    source = path.read_text()
    assert source.startswith("'use strict';\n")
    assert "__" + "PACKAGES__" not in source and "__HOOK__" not in source  # no placeholders
    for _, name in REQUIRE.findall(LINE_COMMENT.sub("", source)):
        if name.startswith("./"):
            assert (JS_DIR / name).is_file(), f"{path.name} requires a missing {name}"
        else:
            assert name in node_builtins, f"{path.name} requires {name}, not a Node built-in"


def test_written_as_they_are_with_their_config(tmp_path: Path) -> None:
    program = tmp_path / "lib" / "program.js"
    entry = node_hooks.write_node_scripts(
        tmp_path / "bin" / node_hooks.SCRIPTS_DIR,
        runtime=tmp_path / "bin" / "jsii-runtime.js",
        program=program,
        packages={"@x/y": "1.2.3"},
    )
    assert entry == tmp_path / "bin" / node_hooks.SCRIPTS_DIR / "entry.js"
    for path in JS_FILES:
        assert (entry.parent / path.name).read_bytes() == path.read_bytes()
    expected = {
        "core": "cdktf",
        "packages": {"@x/y": "1.2.3"},
        "runtime": str(tmp_path / "bin" / "jsii-runtime.js"),
        "program": str(program),
        "kernelEagerAssert": node_hooks.KERNEL_EAGER_ASSERT,
    }
    read_by_node = subprocess.run(
        ["node", "-p", f"JSON.stringify(require({json.dumps(str(entry.parent / 'config.js'))}))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(read_by_node.stdout) == expected
    relay = node_hooks.write_node_scripts(tmp_path / "relay", runtime="r.js", program=None)
    config = json.loads((relay.parent / node_hooks.CONFIG_FILE).read_text())
    assert config["program"] is None
    assert config["packages"] == {a: v for a, v in fast_synth.PROVIDERS.values()}
