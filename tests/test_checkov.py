"""checkov passes on every synthesized stack, with the skips of `.checkov.yaml` and nothing else.

checkov runs from its own venv (`.venv-checkov`, created by `make checkov`). Where it is not
installed the scan tests are skipped, unless MLOPS_REQUIRE_CHECKOV=1 (set by `make test`), in
which case a missing binary fails. Both scans (with and without the skip list) take one checkov
process each over all stacks, a few seconds apiece.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS
from tools.security_scan import (
    DEFAULT_CHECKOV,
    DEFAULT_CONFIG,
    StackResult,
    format_text,
    read_skip_reasons,
    scan,
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
    return scan(synth_dir, checkov, DEFAULT_CONFIG)


@pytest.mark.parametrize("stack", STACKS)
def test_no_failed_checks(scan_results: dict[str, StackResult], stack: str) -> None:
    result = scan_results[stack]
    assert not result.parse_error, f"checkov could not parse {stack}/cdk.tf.json"
    # checkov's terraform_json runner reports nothing for a file it cannot read as Terraform;
    # passed checks prove that it saw this stack's resources.
    assert result.passed > 0, f"no checkov check ran on {stack}"
    if result.failed:
        pytest.fail(format_text({stack: result}), pytrace=False)


def test_every_skipped_check_still_flags_something(synth_dir: Path, checkov: Path) -> None:
    """A skip whose check no longer fails anywhere is stale: remove it from .checkov.yaml."""
    skipped = read_skip_reasons(DEFAULT_CONFIG)
    results = scan(synth_dir, checkov, DEFAULT_CONFIG, only_checks=list(skipped))
    flagged = {f.check_id for r in results.values() for f in r.failed}
    assert sorted(set(skipped) - flagged) == []


def test_every_skip_has_a_reason() -> None:
    reasons = read_skip_reasons(DEFAULT_CONFIG)
    assert reasons, "no skip-check entries found in .checkov.yaml"
    missing = [check for check, reason in reasons.items() if len(reason.split()) < 5]
    assert missing == [], f"skip-check entries without a reason comment: {missing}"


def test_config_scans_terraform_json_only() -> None:
    text = DEFAULT_CONFIG.read_text()
    assert re.search(r"^framework:\s*\n\s*-\s*terraform_json\b", text, re.MULTILINE)
    # Every `- ID` line in the file belongs to skip-check (none is lost by the parser).
    ids = re.findall(r"^\s*-\s*(CKV2?_[A-Z0-9]+_\d+)", text, re.MULTILINE)
    assert ids == list(read_skip_reasons(DEFAULT_CONFIG))
