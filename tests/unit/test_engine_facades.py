"""The CDK engine is chosen in one place: only `constructs_lib/cdk.py` (framework core) and
`constructs_lib/providers/` (one facade per provider) import the engine's packages; every other
module imports through them (`constructs_lib/engine.py`)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from constructs_lib import engine
from tests.conftest import ROOT

FACADES = {"constructs_lib/cdk.py", "constructs_lib/providers/__init__.py"}
"""The modules that may import an engine's packages (they do it by name, from ENGINES)."""
EXEMPT = {
    # The bench's baseline is, by definition, an ordinary CDKTF app that imports cdktf and the
    # bindings the usual way and never loads this repository's code (tools/bench/__main__.py).
    "tools/bench/baseline_app/main.py": "the bench's ordinary CDKTF app",
}
FORBIDDEN = frozenset(pkg for e in engine.ENGINES.values() for pkg in e.packages())
"""Every engine's core and binding packages."""


def engine_imports(source: str, filename: str = "<source>") -> list[str]:
    """`line: module` for every import of an engine package in `source`: import statements,
    and `importlib.import_module` / `__import__` with a literal name."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names = [node.args[0].value]
        found += [f"{node.lineno}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    return found


def python_files() -> list[str]:
    """Every Python file of the repository (tracked or new, not ignored), relative paths."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(p for p in set(out.splitlines()) if (ROOT / p).is_file())


def test_no_module_outside_the_facades_imports_an_engine_package() -> None:
    files = python_files()
    assert "stacks/platform_stack.py" in files and len(files) > 50  # the walk sees the code
    offenders = {
        path: hits
        for path in files
        if path not in FACADES and path not in EXEMPT
        if (hits := engine_imports((ROOT / path).read_text(encoding="utf-8"), path))
    }
    assert offenders == {}, (
        "import the framework from constructs_lib.cdk and bindings from "
        "constructs_lib.providers.<provider>.<submodule> (constructs_lib/providers/__init__.py)"
    )


def test_the_exempt_files_exist_and_still_need_their_exemption() -> None:
    for path in EXEMPT:
        assert engine_imports((ROOT / path).read_text(encoding="utf-8"), path), path


@pytest.mark.parametrize(
    "source",
    [
        "import cdktf",
        "import cdktn.testing_matchers",
        "from cdktf import App",
        "from cdktn_provider_azurerm.resource_group import ResourceGroup",
        "from cdktf_cdktf_provider_databricks import job",
        "import importlib\nimportlib.import_module('cdktf_cdktf_provider_time.sleep')",
        "__import__('cdktn')",
    ],
)
def test_the_check_finds_every_kind_of_direct_import(source: str) -> None:
    assert len(engine_imports(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "from constructs_lib.providers.azurerm.resource_group import ResourceGroup",
        "from constructs_lib.cdk import App",
        "import constructs",
        "from . import cdktf",  # a relative import is this repository's own module
        "x = 'cdktf_cdktf_provider_azurerm'",
    ],
)
def test_the_check_leaves_other_imports_alone(source: str) -> None:
    assert engine_imports(source) == []


def test_every_engine_names_a_binding_for_every_provider() -> None:
    for eng in engine.ENGINES.values():
        assert set(eng.bindings) == set(engine.PROVIDERS), eng.name
    assert engine.ENGINES[engine.DEFAULT].core == "cdktf"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_facade_module_is_the_binding_module_and_imports_nothing_else() -> None:
    """The facade returns the binding's own module object, and importing one submodule imports
    that one (per-submodule laziness, with the accelerator as main.py installs it)."""
    result = _run(
        """
        import sys
        import fast_synth
        fast_synth.install(enabled=True)
        from constructs_lib.providers.azurerm.resource_group import ResourceGroup
        from constructs_lib.providers.databricks import job as facade_job
        import cdktf_cdktf_provider_azurerm.resource_group as real_rg
        import cdktf_cdktf_provider_databricks.job as real_job
        assert ResourceGroup is real_rg.ResourceGroup
        assert facade_job is real_job
        assert sys.modules["constructs_lib.providers.azurerm.resource_group"] is real_rg
        loaded = sorted(
            m for m in sys.modules
            if m.startswith("cdktf_cdktf_provider_") and not m.endswith("._private")
        )
        print(",".join(loaded))
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [
        "cdktf_cdktf_provider_azurerm,cdktf_cdktf_provider_azurerm._jsii,"
        "cdktf_cdktf_provider_azurerm.resource_group,cdktf_cdktf_provider_databricks,"
        "cdktf_cdktf_provider_databricks._jsii,cdktf_cdktf_provider_databricks.job"
    ]


def test_is_binding_module_knows_the_bindings_of_the_engine_in_use() -> None:
    from constructs_lib.providers import binding_package, is_binding_module

    assert binding_package("databricks") == "cdktf_cdktf_provider_databricks"
    assert is_binding_module("cdktf_cdktf_provider_databricks.job")
    assert not is_binding_module("cdktf_cdktf_provider_databricksx.job")
    assert not is_binding_module("constructs_lib.databricks.jobs")


def test_an_unknown_engine_is_refused_with_the_fix() -> None:
    with pytest.raises(engine.EngineError, match=r"unknown engine 'terraform-cdk'.*Fix: set it"):
        engine.select("terraform-cdk")


def test_an_engine_that_is_not_installed_names_its_make_command() -> None:
    result = _run(
        """
        from constructs_lib import engine
        missing = [e for e in engine.ENGINES.values() if not engine._installed(e.core)]
        if not missing:
            print("SKIP both engines installed")
        else:
            try:
                engine.select(missing[0].name)
            except engine.EngineError as exc:
                print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    if result.stdout.startswith("SKIP"):
        pytest.skip("every engine is installed in this Python")
    assert "not installed in this Python" in result.stdout
    assert "Fix: run `make synth CDK=" in result.stdout


def test_another_engine_cannot_be_selected_once_one_is_imported() -> None:
    result = _run(
        """
        from constructs_lib import engine
        import constructs_lib.cdk  # the default engine, imported
        try:
            engine.select("cdktn")
        except engine.EngineError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "already uses 'cdktf'" in result.stdout


def test_main_refuses_an_unknown_engine_with_exit_2(tmp_path: Path) -> None:
    from tests.conftest import run_main

    result = run_main("--check", env={engine.ENGINE_VAR: "pulumi"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: environment variable MLOPS_CDK_ENGINE: unknown")
    assert "Traceback" not in result.stderr
