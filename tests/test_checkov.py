"""checkov passes on every synthesized stack, with the scoped skips of `.checkov-skips.yaml` and
nothing else; a deliberately insecure prod config fails both the policy pack and checkov.

checkov runs from its own venv (`.venv-checkov`, created by `make checkov`). Where it is not
installed the scan tests are skipped, unless MLOPS_REQUIRE_CHECKOV=1 (set by `make test`), in
which case a missing binary fails. A scan is one checkov process over all stacks (~3 s).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS, ROOT, run_main
from tools.security_scan import (
    DEFAULT_CHECKOV,
    DEFAULT_CONFIG,
    DEFAULT_SKIPS,
    POLICY_PACK_TYPE_PREFIXES,
    STACK_FILE,
    UNSCANNED_BLOCKS,
    Finding,
    StackResult,
    UsageError,
    format_text,
    protected_stacks,
    read_skips,
    scan,
    unused_skips,
)
from tools.security_scan import _stage as stage_for_checkov

pytestmark = pytest.mark.synth
STACKS = (*ENVIRONMENTS, "bootstrap")
WORKSPACE_STACKS = tuple(f"{env}-workspace" for env in ENVIRONMENTS)


@pytest.fixture(scope="module")
def checkov() -> Path:
    if not DEFAULT_CHECKOV.is_file():
        if os.environ.get("MLOPS_REQUIRE_CHECKOV") == "1":
            pytest.fail(f"checkov not found at {DEFAULT_CHECKOV}; run `make checkov`")
        pytest.skip("checkov not installed (make checkov)")
    return DEFAULT_CHECKOV


@pytest.fixture(scope="module")
def scan_results(synth_dir: Path, checkov: Path) -> dict[str, StackResult]:
    return scan(synth_dir, checkov, DEFAULT_CONFIG, read_skips(DEFAULT_SKIPS))


@pytest.mark.parametrize("stack", STACKS)
def test_no_failed_checks(scan_results: dict[str, StackResult], stack: str) -> None:
    result = scan_results[stack]
    assert not result.parse_error, f"checkov could not parse {stack}/cdk.tf.json"
    # checkov's terraform_json runner reports nothing for a file it cannot read as Terraform;
    # passed checks prove that it saw this stack's resources.
    assert result.passed > 0, f"no checkov check ran on {stack}"
    if result.failed:
        pytest.fail(format_text({stack: result}), pytrace=False)


@pytest.mark.parametrize("stack", WORKSPACE_STACKS)
def test_workspace_stacks_are_covered_by_the_policy_pack(
    scan_results: dict[str, StackResult], stack: str
) -> None:
    """checkov has no checks for databricks_* and time_* resources: no check runs on a
    workspace stack, which is reported as the policy rule pack's and passes."""
    result = scan_results[stack]
    assert result.passed == 0 and not result.failed and not result.parse_error
    assert result.resources > 30
    assert all(t.startswith(POLICY_PACK_TYPE_PREFIXES) for t in result.resource_types)
    assert result.policy_pack_only and result.ok
    assert (
        f"{stack}: passed 0, failed 0, skipped 0\n  covered by the policy rule pack: checkov has "
        f"no checks for its {result.resources} resources (databricks_*, time_*)"
    ) in format_text(scan_results)


@pytest.mark.parametrize("stack", ["uat-workspace", "prod-workspace"])
def test_a_stack_with_an_import_block_is_parsed(
    stacks, scan_results: dict[str, StackResult], stack: str
) -> None:
    """checkov 3.3.30 cannot parse a JSON `import` block (the restrict-workspace-admins setting
    of protected environments); the scan leaves it out of the copy checkov reads."""
    assert stacks[stack]["import"] and "import" in UNSCANNED_BLOCKS
    assert not scan_results[stack].parse_error and scan_results[stack].ok


def test_only_the_unscanned_blocks_are_left_out_of_the_scanned_copy(tmp_path: Path) -> None:
    resource = {"azurerm_resource_group": {"Rg": {"name": "rg", "location": "westeurope"}}}
    with_import = {"import": [{"id": "global", "to": "x.y"}], "resource": resource}
    plain = '{"resource": {}}\n'
    for name, text in (("a", json.dumps(with_import)), ("b", plain)):
        (tmp_path / "out" / name).mkdir(parents=True)
        (tmp_path / "out" / name / STACK_FILE).write_text(text)
    files = sorted((tmp_path / "out").glob(f"*/{STACK_FILE}"))
    staged = stage_for_checkov(files, tmp_path / "staging")
    assert json.loads((staged / "a" / STACK_FILE).read_text()) == {"resource": resource}
    assert (staged / "b" / STACK_FILE).read_text() == plain  # untouched: no such block
    assert "import" in json.loads(files[0].read_text())  # the synthesized file is not changed


def test_a_stack_checkov_should_cover_fails_when_no_check_ran() -> None:
    azure = StackResult("dev", resource_types=("azurerm_key_vault", "databricks_job"), resources=2)
    assert not azure.policy_pack_only and not azure.ok
    assert "ERROR no check ran on dev/cdk.tf.json" in format_text({"dev": azure})
    empty = StackResult("dev", resource_types=(), resources=0)
    assert not empty.ok


def test_checkov_has_no_checks_for_the_policy_pack_types(checkov: Path) -> None:
    """What POLICY_PACK_TYPE_PREFIXES relies on: no check definition of the installed checkov
    names a databricks_* or time_* resource type (azurerm_databricks_* is Azure's)."""
    package = next(checkov.parent.parent.glob("lib/python3*/site-packages/checkov"))
    pattern = re.compile(r"[\"'](databricks|time)_[a-z_]+[\"']")
    files = [p for p in package.rglob("*") if p.suffix in (".py", ".json", ".yaml")]
    assert len(files) > 1000
    hits = [str(p) for p in files if pattern.search(p.read_text(errors="replace"))]
    assert hits == []


def test_every_skip_entry_still_accepts_something(scan_results: dict[str, StackResult]) -> None:
    """An entry that accepts no finding is stale (or scoped wrongly): remove or fix it."""
    stale = unused_skips(scan_results, read_skips(DEFAULT_SKIPS))
    assert [(s.check, s.scope) for s in stale] == []


def test_sandbox_only_skips_accept_nothing_outside_the_sandbox(
    scan_results: dict[str, StackResult],
) -> None:
    for result in scan_results.values():
        for finding, skip in result.accepted:
            if skip.stacks == ("sandbox",):
                assert result.name == "sandbox", (finding, skip)


def test_a_skip_covers_only_its_stacks_and_resources() -> None:
    (aml,) = [s for s in read_skips(DEFAULT_SKIPS) if s.check == "CKV2_AZURE_40"]
    finding = Finding(
        "CKV2_AZURE_40", "shared key", "azurerm_storage_account.X", "sandbox/AzureMl/Storage", ""
    )
    assert aml.covers("sandbox", finding)
    assert not aml.covers("prod", finding)
    assert not aml.covers(
        "sandbox",
        finding.__class__(**{**finding.__dict__, "construct_path": "sandbox/Storage/Account"}),
    )
    assert not aml.covers(
        "sandbox", finding.__class__(**{**finding.__dict__, "check_id": "CKV_AZURE_33"})
    )


def test_no_skip_is_global_in_checkov_config() -> None:
    text = DEFAULT_CONFIG.read_text()
    assert re.search(r"^framework:\s*\n\s*-\s*terraform_json\b", text, re.MULTILINE)
    assert not re.search(r"^skip-check\s*:|^\s*-\s*CKV", text, re.MULTILINE)


def test_every_skip_is_scoped_and_has_a_reason() -> None:
    skips = read_skips(DEFAULT_SKIPS)
    assert len(skips) >= 10
    for skip in skips:
        assert skip.stacks and (skip.types or skip.paths), skip
        assert len(skip.reason.split()) >= 5, skip


PROTECTED = frozenset({"uat", "uat-workspace", "prod", "prod-workspace"})
REASON = "a reason that is long enough to count"


def test_protected_stacks_come_from_the_configs() -> None:
    assert protected_stacks() == PROTECTED


def test_the_shipped_skips_pass_the_protected_rule() -> None:
    skips = read_skips(DEFAULT_SKIPS, protected_stacks())
    wildcards = [s for s in skips if s.stacks == ("*",)]
    assert len(wildcards) == 7
    assert all(len(s.protected_reason.split()) >= 10 for s in wildcards)
    assert all(s.protected_reason == "" for s in skips if s.stacks != ("*",))


@pytest.mark.parametrize(
    ("entry", "refused"),
    [
        ("stacks: ['*'], types: [azurerm_key_vault]", "prod, prod-workspace, uat, uat-workspace"),
        ("stacks: ['u*'], types: [azurerm_key_vault]", "uat, uat-workspace"),
        ("stacks: ['*'], paths: ['*/KeyVault/Vault']", "prod, prod-workspace, uat, uat-workspace"),
        ("stacks: [prod, 'uat*'], types: [azurerm_key_vault]", "uat, uat-workspace"),
        (
            "stacks: ['*'], paths: ['prod/KeyVault/Vault', 'u*/KeyVault/Vault']",
            "uat, uat-workspace",
        ),
        ("stacks: ['*'], types: [x], protected_reason: short", "protected_reason must be"),
        ("stacks: [sandbox, dev], types: [azurerm_key_vault]", None),
        ("stacks: [prod], types: [azurerm_key_vault]", None),
        ("stacks: ['uat', 'uat-workspace'], types: [azurerm_key_vault]", None),
        ("stacks: ['*'], paths: ['sandbox/AzureMl/Storage']", None),
        ("stacks: ['*'], paths: ['prod/KeyVault/Vault']", None),
        (f"stacks: ['*'], types: [x], protected_reason: '{REASON} in prod'", None),
    ],
)
def test_a_wildcard_cannot_widen_a_skip_to_protected_stacks(
    tmp_path: Path, entry: str, refused: str | None
) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(f"skips: [{{check: CKV_AZURE_42, {entry}, reason: '{REASON}'}}]\n")
    if refused is None:
        (skip,) = read_skips(path, PROTECTED)
        assert skip.check == "CKV_AZURE_42"
    else:
        with pytest.raises(UsageError, match=re.escape(refused)) as caught:
            read_skips(path, PROTECTED)
        assert "\n" not in str(caught.value)
    if refused != "protected_reason must be":
        read_skips(path)  # without protected stacks (a repository with none): any scope


def test_make_scan_passes_on_the_shipped_project(tmp_path: Path, checkov: Path) -> None:
    """`make scan` itself, from a copy of the project (it ran checkov by a path relative to
    the project while checkov's working directory was the stacks directory)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("main.py", "cdktf.json", "Makefile", "pyproject.toml", ".checkov.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copy(DEFAULT_SKIPS, project / DEFAULT_SKIPS.name)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in (
        "constructs_lib",
        "fast_synth",
        "synth_runtime",
        "stacks",
        "templates",
        "config",
        "tools",
    ):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    (project / "ml_src").mkdir()
    shutil.copy(ROOT / "ml_src" / "pyproject.toml", project / "ml_src" / "pyproject.toml")
    shutil.copytree(ROOT / "ml_src" / "dist", project / "ml_src" / "dist")
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / ".venv-checkov").symlink_to(checkov.parent.parent)
    wheel = next((project / "ml_src" / "dist").glob("*.whl")).relative_to(project)
    proc = subprocess.run(
        [
            "make",
            "--no-print-directory",
            *("-o", ".venv/.synth-installed", "-o", str(wheel), "-o", ".venv-checkov/.installed"),
            "scan",
        ],
        cwd=project,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for stack in STACKS:
        assert re.search(rf"^{stack}: passed [1-9]\d*, failed 0, skipped \d+$", proc.stdout, re.M)
    for stack in WORKSPACE_STACKS:
        assert f"{stack}: passed 0, failed 0, skipped 0\n  covered by the policy rule pack" in (
            proc.stdout
        )
    assert not re.search(r"^  (FAILED|ERROR) ", proc.stdout, re.M)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "skips: [{check: CKV_AZURE_33, stacks: ['*'], types: [x], reason: '   '}]",
            "written reason",
        ),
        (
            "skips: [{check: CKV_AZURE_33, stacks: ['*'], reason: 'long enough reason here ok'}]",
            "resource types or paths",
        ),
        (
            "skips: [{check: nope, stacks: ['*'], types: [x], reason: 'long enough reason here ok'}]",
            "checkov ID",
        ),
        ("skip-check: [CKV_AZURE_33]", "one key, `skips:`"),
        ("skips: [{check: CKV_AZURE_33, check: CKV_AZURE_34}]", "duplicate key"),
    ],
)
def test_malformed_skip_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)):
        read_skips(path)


INSECURE_PROD = textwrap.dedent(
    """
    azure_ml:
      enabled: true
      public_network_access_enabled: true
    """
)


def _insecure_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    (config / "shared").mkdir(parents=True)
    text = (ROOT / "config" / "prod.yaml").read_text()
    text = text.replace(
        "  purge_protection_enabled: true\n",
        "  purge_protection_enabled: true\n  allowed_ip_ranges: [0.0.0.0/0]\n",
    )
    text = text.replace(
        "  account_replication_type: GZRS\n",
        "  account_replication_type: GZRS\n  allowed_ip_ranges: [203.0.112.0/20]\n",
    )
    (config / "prod.yaml").write_text(text + INSECURE_PROD)
    return config


def test_insecure_prod_fails_the_policy_pack_and_checkov(tmp_path: Path, checkov: Path) -> None:
    config = _insecure_config(tmp_path)
    gated = run_main("--check", env={"MLOPS_CONFIG_DIR": str(config)})
    assert gated.returncode == 2, gated.stderr
    for line in (
        "prod/AzureMl/Workspace (MLOPS-NET-1)",
        "prod/AzureMl/Storage (MLOPS-NET-1)",
        "prod/AzureMl/Storage (MLOPS-ST-3)",
        "prod/KeyVault/Vault (MLOPS-NET-2): Firewall IP rules are narrow (never 0.0.0.0/0): "
        "network_acls.ip_rules allows '0.0.0.0/0'",
        "prod/Storage/Account (MLOPS-NET-2): Firewall IP rules are narrow (never 0.0.0.0/0): "
        "network_rules.ip_rules allows '203.0.112.0/20' (4,096 addresses), wider than /24",
    ):
        assert line in gated.stderr
    assert "Traceback" not in gated.stderr
    # The same stack, synthesized without the gate, fails checkov: the sandbox's reasons for
    # the same checks do not reach prod.
    out = tmp_path / "ungated"
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "import fast_synth; fast_synth.install();"
        "import main;"
        "from constructs_lib.config import load_environments;"
        "from constructs_lib.databricks.job_specs.wheel_artifact import locate_wheel;"
        "configs = load_environments(Path(sys.argv[2]));"
        "wheel = locate_wheel(Path(sys.argv[1]) / 'ml_src');"
        "app, _ = main.build_app(configs, wheel, sys.argv[3]); app.synth()"
    )
    synth = subprocess.run(
        [sys.executable, "-c", script, str(ROOT), str(config), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert synth.returncode == 0, synth.stderr[-3000:]
    results = scan(out, checkov, DEFAULT_CONFIG, read_skips(DEFAULT_SKIPS))
    failed = {(f.check_id, f.construct_path) for f in results["prod"].failed}
    assert {
        ("CKV_AZURE_144", "prod/AzureMl/Workspace"),  # public Azure ML workspace
        ("CKV2_AZURE_40", "prod/AzureMl/Storage"),  # shared keys
        ("CKV_AZURE_59", "prod/AzureMl/Storage"),  # public storage, no firewall
    } <= failed
