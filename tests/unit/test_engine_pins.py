"""The CDK Terrain engine is pinned like the rest: its Python environment from hash-pinned
requirements that share the default engine's pins for everything but the engine, and its CLI
from a lock file in its own npm project."""

from __future__ import annotations

import json
import re
import tomllib

from constructs_lib import engine
from tests.conftest import ROOT

REQUIREMENTS_IN = ROOT / "requirements" / "cdktn.in"
REQUIREMENTS_TXT = ROOT / "requirements" / "cdktn.txt"
CLI_DIR = ROOT / "engines" / "cdktn"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", re.MULTILINE)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, str]:
    return {_norm(name): version for name, version in PIN.findall(text)}


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["build"]]
    return _pins("\n".join(s.split(";")[0].strip() for s in specs))


def test_the_shared_synthesis_dependencies_have_the_default_engines_pins() -> None:
    default, cdktn = _pyproject_pins(), _pins(REQUIREMENTS_IN.read_text())
    engine_only = {"cdktf", "constructs"} | {
        _norm(p) for e in engine.ENGINES.values() for p in e.bindings.values()
    }
    shared = {name: v for name, v in default.items() if name not in engine_only}
    assert shared and {name: cdktn.get(name) for name in shared} == shared


def test_cdktn_and_its_bindings_are_pinned_exactly() -> None:
    assert {
        name: version
        for name, version in _pins(REQUIREMENTS_IN.read_text()).items()
        if name.startswith("cdktn")
    } == {
        "cdktn": "0.24.0",
        "cdktn-provider-azurerm": "18.9.0",
        "cdktn-provider-databricks": "18.11.0",
        "cdktn-provider-time": "14.0.2",
    }


def test_the_compiled_requirements_pin_every_package_with_hashes() -> None:
    text = REQUIREMENTS_TXT.read_text()
    entries = [e for e in re.split(r"\n(?=[a-z0-9])", text) if PIN.match(e)]
    pinned = _pins(text)
    assert len(entries) == len(pinned) >= 20
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
    for name, version in _pins(REQUIREMENTS_IN.read_text()).items():
        assert pinned.get(name) == version, name
    # What the cdktn packages require: the engine's constructs range, never cdktf.
    assert "cdktf" not in pinned and pinned["constructs"].startswith("10.7.")


def test_the_cdktn_cli_is_pinned_in_its_own_locked_npm_project() -> None:
    package = json.loads((CLI_DIR / "package.json").read_text())
    lock = json.loads((CLI_DIR / "package-lock.json").read_text())
    assert package["devDependencies"] == {"cdktn-cli": "0.24.0"}
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert lock["packages"]["node_modules/cdktn-cli"]["version"] == "0.24.0"
    assert all(
        entry.get("integrity", "").startswith("sha512-")
        for path, entry in lock["packages"].items()
        if path and not entry.get("link") and not entry.get("inBundle")  # bundled: in a tarball
    )
    # The default CLI's project is separate and unchanged.
    default = json.loads((ROOT / "package.json").read_text())
    assert default["devDependencies"] == {"cdktf-cli": "0.21.0"}
