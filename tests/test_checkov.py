"""checkov passes on every synthesized stack, with the scoped skips of `.checkov-skips.yaml` and
nothing else; a deliberately insecure prod config fails both the policy pack and checkov.

checkov runs from its own venv (`.venv-checkov`, created by `make checkov`). Where it is not
installed the scan tests are skipped, unless MLOPS_REQUIRE_CHECKOV=1 (set by `make test`), in
which case a missing binary fails. A scan is one checkov process over all stacks (~3 s).
"""

from __future__ import annotations

import os
import re
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
    Finding,
    StackResult,
    UsageError,
    format_text,
    read_skips,
    scan,
    unused_skips,
)

pytestmark = pytest.mark.synth
STACKS = (*ENVIRONMENTS, "bootstrap")


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
