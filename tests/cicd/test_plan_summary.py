"""tools.plan_summary: Markdown of a Terraform JSON plan and the destroy gate."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cicd.conftest import CONFIG, FIXTURES, ROOT, oversized_plan
from tools.plan_summary.cli import EXIT_BAD_INPUT, EXIT_BLOCKED, EXIT_OK, run
from tools.plan_summary.diff import attribute_changes, redact, to_plain
from tools.plan_summary.model import PlanError, load_plan, parse_plan
from tools.plan_summary.policy import GITHUB_COMMENT_LIMIT, load_policy
from tools.plan_summary.render import marker


def summarise(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = run([*args, "--config", str(CONFIG)])
    out, err = capsys.readouterr()
    return rc, out, err


def _outside_code(markdown: str) -> str:
    """The Markdown without fenced code blocks and inline code spans (literal text there)."""
    kept, fence = [], ""
    for line in markdown.splitlines():
        if fence:
            if line.strip() == fence:
                fence = ""
            continue
        opening = re.match(r"^(`{3,})", line)
        if opening:
            fence = opening.group(1)
            continue
        kept.append(line)
    assert fence == "", "unclosed code fence"
    return re.sub(r"(`+).+?\1", "", "\n".join(kept))


def assert_balanced(markdown: str) -> None:
    """Every <details>/<summary> closed in order, and every code fence closed."""
    text = _outside_code(markdown)
    assert text.count("<summary>") == text.count("</summary>")
    depth = 0
    for tag in re.findall(r"</?details>", text):
        depth += -1 if tag.startswith("</") else 1
        assert depth >= 0
    assert depth == 0


def test_creates_only(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "creates_only.json"), "--title", "Plan dev")
    assert rc == EXIT_OK and err == ""
    assert out.startswith(marker("default"))
    assert "**Plan:** 3 to create, 0 to update, 0 to replace, 0 to delete" in out
    assert "| `azurerm_storage_account` | 1 |  |  |  |" in out
    assert "- `azurerm_databricks_workspace.main`" in out
    # Data-source reads are not changes.
    assert "azurerm_client_config" not in out
    assert "Destructive" not in out and "Blocked" not in out
    assert_balanced(out)


def test_update_masks_sensitive_values(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = summarise(capsys, str(FIXTURES / "update_sensitive.json"))
    assert rc == EXIT_OK
    assert "s3cr3t" not in out
    assert "~ string_value: (sensitive value) -> (sensitive value)" in out
    assert "~ purge_protection_enabled: false -> true" in out
    assert '~ tags.owner: "platform" -> "mlops"' in out
    assert '~ tags.cost_center: (none) -> "42"' in out
    assert '~ network_acls[0].default_action: "Allow" -> "Deny"' in out
    assert '~ url: "https://adb-1.azuredatabricks.net/#job/1" -> (known after apply)' in out
    assert "Updated in place (3)" in out
    assert_balanced(out)


def test_sensitive_values_never_leak_from_nested_structures() -> None:
    before = {"conf": {"password": "hunter2", "user": "a"}, "list": ["p1", "visible"]}
    after = {"conf": {"password": "hunter3", "user": "b"}, "list": ["p1", "visible", "new"]}
    mask = {"conf": {"password": True}, "list": [True]}
    changes = attribute_changes(before, after, mask, mask, {})
    text = json.dumps([c.__dict__ for c in changes])
    assert "hunter" not in text and "p1" not in text
    assert {c.path for c in changes} == {"conf.password", "conf.user", "list"}
    assert to_plain(redact(before, True)) == "(sensitive value)"


def test_replace_of_protected_resource_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "replace_protected.json"))
    assert rc == EXIT_BLOCKED
    assert "**Blocked:**" in out and "`allow-destroy`" in out
    assert "blocked" in err and "azurerm_storage_account.lake" in err
    assert "AKEY" not in out
    # Destructive actions come first, protected type flagged, forcing attribute named.
    destructive = out.index("#### Destructive changes (2)")
    assert destructive < out.index("Why resources are replaced")
    assert (
        "- **replace** `azurerm_storage_account.lake` — **protected type** (forced by `location`)"
        in out
    )
    assert '! location: "westeurope" -> "northeurope"' in out
    assert "- **delete** `azurerm_role_assignment.reader`" in out
    assert_balanced(out)


def test_allow_destroy_passes_but_warns(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "replace_protected.json"), "--allow-destroy")
    assert rc == EXIT_OK and err == ""
    assert "Blocked" not in out
    assert "allowed by the `allow-destroy` label" in out


def test_noop_plan(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = summarise(capsys, str(FIXTURES / "noop.json"))
    assert rc == EXIT_OK
    assert "**No changes.**" in out
    assert "|" not in out


def test_oversized_plan_is_truncated_safely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "big.json"
    plan.write_text(json.dumps(oversized_plan()), encoding="utf-8")
    rc, out, _ = summarise(capsys, str(plan))
    policy = load_policy(CONFIG)
    assert rc == EXIT_OK
    assert len(out) <= policy.max_chars < GITHUB_COMMENT_LIMIT
    assert "This summary was truncated" in out
    assert "**Plan:** 400 to create, 400 to update" in out
    assert_balanced(out)
    # Smaller limits too, down to the minimum.
    for limit in (2000, 5000, 12345):
        rc, out, _ = summarise(capsys, str(plan), "--max-chars", str(limit))
        assert rc == EXIT_OK
        assert len(out) <= limit
        assert "truncated" in out
        assert_balanced(out)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "plan file not found"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "not a Terraform JSON plan"),
        ('{"format_version": "1.0", "values": {}}', "Terraform state, not a plan"),
        ('{"format_version": "1.2", "resource_changes": [{"address": "x"}]}', "lacks address"),
        ('{"format_version": "9.0", "planned_values": {}}', "unsupported plan format_version"),
    ],
)
def test_unusable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    rc, out, err = summarise(capsys, str(path))
    assert rc == EXIT_BAD_INPUT
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("protected_resource_types: azurerm_key_vault\n", encoding="utf-8")
    rc = run([str(FIXTURES / "noop.json"), "--config", str(config)])
    assert rc == EXIT_BAD_INPUT
    assert "must be a list" in capsys.readouterr().err


def test_shared_config_lists_the_protected_types() -> None:
    policy = load_policy(CONFIG)
    assert {
        "azurerm_databricks_workspace",
        "azurerm_storage_account",
        "azurerm_key_vault",
        "azurerm_log_analytics_workspace",
        "databricks_catalog",
        "databricks_registered_model",
    } <= policy.protected_types


def test_replace_action_order_and_parse_errors() -> None:
    plan = load_plan(FIXTURES / "replace_protected.json")
    kinds = {rc.address: rc.kind for rc in plan.resource_changes}
    assert kinds["azurerm_storage_account.lake"] == "replace"
    with pytest.raises(PlanError, match="unknown change.actions"):
        parse_plan(
            {
                "format_version": "1.2",
                "resource_changes": [{"address": "a", "type": "t", "change": {"actions": ["x"]}}],
            }
        )


def test_redacted_json_has_no_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "redacted.json"
    rc, _, _ = summarise(
        capsys, str(FIXTURES / "update_sensitive.json"), "--redacted-json", str(out)
    )
    assert rc == EXIT_OK
    text = out.read_text(encoding="utf-8")
    assert "s3cr3t" not in text
    assert json.loads(text)["resource_changes"][0]["after"]["string_value"] == "(sensitive value)"


def test_module_entry_point_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan_summary", str(tmp_path / "missing.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("plan_summary: error: plan file not found")
    blocked = subprocess.run(
        [sys.executable, "-m", "tools.plan_summary", str(FIXTURES / "replace_protected.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert blocked.returncode == EXIT_BLOCKED
    assert "**Blocked:**" in blocked.stdout


def test_state_file_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "state_not_plan.json"))
    assert rc == EXIT_BAD_INPUT and out == ""
    assert "Terraform state, not a plan" in err
