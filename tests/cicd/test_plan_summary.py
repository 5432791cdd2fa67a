"""tools.plan_summary: Markdown of a Terraform JSON plan and the destroy gate."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.policy.stateful import STATEFUL_TYPES
from tests.cicd.conftest import CONFIG, FIXTURES, ROOT, oversized_plan
from tools.plan_summary import report
from tools.plan_summary.cli import EXIT_BAD_INPUT, EXIT_BLOCKED, EXIT_ERRORED, EXIT_OK, run
from tools.plan_summary.diff import attribute_changes, redact, to_plain
from tools.plan_summary.model import PlanError, load_plan, parse_plan
from tools.plan_summary.policy import GITHUB_COMMENT_LIMIT, Policy, load_policy
from tools.plan_summary.render import key_attributes, marker


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


# The eight kinds of plan a reviewer meets, in Terraform's documented JSON plan format
# (format_version 1.2, as `terraform show -json` of Terraform 1.11 writes it). Each asserts the
# rendered text and the exit code.


def test_create_lists_new_objects_by_type_with_key_attributes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "creates_only.json"), "--title", "Plan dev")
    assert rc == EXIT_OK and err == ""
    assert out.startswith(marker("default") + "\n\n### Plan dev\n")
    assert "**Plan:** 3 to create, 0 to update, 0 to replace, 0 to delete" in out
    assert "| `azurerm_storage_account` | 1 |  |  |  |" in out
    assert "<details><summary>Created (3), by type</summary>" in out
    assert (
        "**`azurerm_resource_group`** (1)\n\n"
        "- `azurerm_resource_group.main`: name `rg-mlops-dev`, location `westeurope`"
    ) in out
    assert "- `azurerm_storage_account.lake`: name `stmlopsdev`, account_tier `Standard`" in out
    assert "- `azurerm_databricks_workspace.main`: name `dbw-mlops-dev`, sku `premium`" in out
    # Types in name order; data-source reads are not changes.
    assert out.index("azurerm_databricks_workspace.main") < out.index(
        "azurerm_storage_account.lake"
    )
    assert "azurerm_client_config" not in out
    assert "Destructive" not in out and "Blocked" not in out and "No changes" not in out
    assert_balanced(out)


def test_update_with_sensitive_values_masks_them(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "update_sensitive.json"))
    assert rc == EXIT_OK and err == ""
    assert "s3cr3t" not in out
    assert "**Plan:** 0 to create, 3 to update, 0 to replace, 0 to delete" in out
    assert "~ string_value: (sensitive value) -> (sensitive value)" in out
    assert "~ purge_protection_enabled: false -> true" in out
    assert '~ tags.owner: "platform" -> "mlops"' in out
    assert '~ tags.cost_center: (none) -> "42"' in out
    assert '~ network_acls[0].default_action: "Allow" -> "Deny"' in out
    assert '~ url: "https://adb-1.azuredatabricks.net/#job/1" -> (known after apply)' in out
    assert "Updated in place (3)" in out
    assert_balanced(out)


def test_replace_lists_forcing_attributes_and_reason_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "replace_protected.json"))
    assert rc == EXIT_BLOCKED
    assert "**Plan:** 0 to create, 0 to update, 1 to replace, 1 to delete" in out
    assert "**Blocked:**" in out and "`allow-destroy`" in out
    assert "blocked" in err and "azurerm_storage_account.lake" in err
    assert "AKEY" not in out
    # Destructive actions first; for each, what forces it (replace_paths, then action_reason).
    assert out.index("#### Destructive changes (2)") < out.index("Why resources are replaced")
    assert (
        "- **replace** `azurerm_storage_account.lake` — forced by `location`, `is_hns_enabled`"
        " — reason `replace_because_cannot_update` — **protected type**"
    ) in out
    assert (
        "- **delete** `azurerm_role_assignment.reader` — reason `delete_because_no_resource_config`"
    ) in out
    # In the attribute list the forcing attributes ('!') come before every other change.
    diff = out[out.index("('!' forces replacement)") :]
    lines = [line for line in diff.splitlines() if line[:2] in ("! ", "~ ")]
    assert lines[:2] == [
        "! is_hns_enabled: false -> true",
        '! location: "westeurope" -> "northeurope"',
    ]
    assert '~ tags.owner: "platform" -> "mlops"' in lines[2:]
    assert "~ primary_access_key: (sensitive value) -> (sensitive value)" in lines[2:]
    assert_balanced(out)


def test_delete_of_a_protected_type_is_blocked(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "delete_protected.json"))
    assert rc == EXIT_BLOCKED
    assert "**Plan:** 0 to create, 0 to update, 0 to replace, 1 to delete" in out
    assert "**Blocked:** this plan deletes or replaces 1 protected resource(s)." in out
    assert (
        "- **delete** `azurerm_key_vault.main` — reason `delete_because_no_resource_config`"
        " — **protected type**"
    ) in out
    assert '- `azurerm_key_vault.main`: `{"location": "westeurope", "name": "kv-mlops-dev"' in out
    assert err.startswith("plan_summary: blocked: protected resource(s) deleted or replaced: ")
    assert "azurerm_key_vault.main" in err
    rc, out, err = summarise(capsys, str(FIXTURES / "delete_protected.json"), "--allow-destroy")
    assert rc == EXIT_OK and err == ""
    assert "the destruction was approved (`allow-destroy`)" in out and "Blocked" not in out
    assert_balanced(out)


def test_drift_that_matters_is_shown_apart_and_refresh_noise_apart_from_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Terraform's meaning of drift: what leads to a planned change (the role assignment deleted
    outside and re-created, the Key Vault tag reverted) or touches an attribute the plan relies
    on (`relevant_attributes`: the identity's new principal_id forces the role assignment's
    replacement). The storage account's keys reading back empty (the read-only identity cannot
    list them) and an unset block reading back as [] change nothing: refresh noise, listed
    apart, with the keys never printed."""
    rc, out, err = summarise(capsys, str(FIXTURES / "drift_relevant.json"))
    assert rc == EXIT_OK and err == ""
    assert "**Plan:** 1 to create, 1 to update, 1 to replace, 0 to delete" in out
    assert "**Changed outside Terraform:** 3 resource(s) differ" in out
    assert "#### Changed outside Terraform (3)" in out
    drift = out.split("#### Changed outside Terraform (3)")[1].split("Refresh noise (2)")[0]
    assert "- `azurerm_role_assignment.reader`: deleted outside Terraform" in drift
    assert '~ tags.owner: "platform" -> "someone-else"' in drift
    assert '~ principal_id: "2222" -> "3333"' in drift
    assert "storage_account.lake" not in drift and "resource_group.main" not in drift
    assert "**Refresh noise:** 2 resource(s) read back differently" in out
    noise = out.split("Refresh noise (2): read back differently, changes nothing")[1]
    assert "<code>azurerm_storage_account.lake</code> (3 attribute(s) changed)" in noise
    assert "~ network_rules[0].private_link_access: (none) -> []" in noise
    assert "~ primary_access_key: (sensitive value) -> (sensitive value)" in noise
    assert '~ tags.created-by: (none) -> "portal"' in noise
    assert "k3y-0ld" not in out
    assert_balanced(out)


def test_refresh_noise_alone_is_no_changes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status_file = tmp_path / "status.json"
    rc, out, err = summarise(
        capsys, str(FIXTURES / "drift_noise_only.json"), "--status-json", str(status_file)
    )
    assert rc == EXIT_OK and err == ""
    assert "**No changes.** The infrastructure matches the configuration." in out
    assert "Changed outside Terraform" not in out
    assert "Refresh noise (2)" in out and "k3y-0ld" not in out
    status = json.loads(status_file.read_text(encoding="utf-8"))
    assert status["no_changes"] is True and status["resource_drift"] == []
    assert status["refresh_noise"] == [
        "azurerm_resource_group.main",
        "azurerm_storage_account.lake",
    ]
    assert_balanced(out)


@pytest.mark.parametrize(
    ("relevant", "drifted_path", "matters"),
    [
        ([("x.a", ("id",))], ("id",), True),
        ([("x.a", ("tags",))], ("tags", "owner"), True),  # a relevant path covers what is below
        ([("x.a", ("network_rules", 0, "ip_rules"))], ("network_rules",), True),
        ([("x.a", ("network_rules", "0"))], ("network_rules", 0, "x"), True),  # "0" is index 0
        ([("x.a", ("id",))], ("primary_access_key",), False),
        ([("x.b", ("primary_access_key",))], ("primary_access_key",), False),  # other resource
        ([("", ("primary_access_key",))], ("primary_access_key",), True),  # any resource
        ([], ("id",), False),
    ],
)
def test_drift_relevance_follows_terraforms_attribute_matcher(
    relevant: list[tuple[str, tuple]], drifted_path: tuple, matters: bool
) -> None:
    def nest(path: tuple, leaf: str) -> object:
        value: object = leaf
        for step in reversed(path):
            value = [value] if isinstance(step, int) else {step: value}
        return value

    before, after = nest(drifted_path, "old"), nest(drifted_path, "new")
    plan = parse_plan(
        {
            "format_version": "1.2",
            "resource_drift": [
                {
                    "address": "x.a",
                    "type": "x",
                    "change": {"actions": ["update"], "before": before, "after": after},
                }
            ],
            "resource_changes": [],
            "relevant_attributes": [
                {"resource": address, "attribute": list(path)} for address, path in relevant
            ],
        }
    )
    assert [rc.address for rc in plan.relevant_drift] == (["x.a"] if matters else [])
    assert [rc.address for rc in plan.refresh_noise] == ([] if matters else ["x.a"])


def test_output_only_change_masks_sensitive_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = summarise(capsys, str(FIXTURES / "output_only.json"))
    assert rc == EXIT_OK and err == ""
    assert "No changes" not in out
    assert "**Outputs:** 3 to change." in out
    assert "#### Output changes (3)" in out
    assert (
        '- **update** `workspace_url`: `"adb-1.azuredatabricks.net"` → '
        '`"adb-2.azuredatabricks.net"`'
    ) in out
    assert '- **create** `storage_account_name`: `(none)` → `"stmlopsdev"`' in out
    assert (
        "- **update** `insights_connection_string`: `(sensitive value)` → `(sensitive value)`"
    ) in out
    assert "secret" not in out and "key_vault_uri" not in out  # no-op outputs are not listed
    assert_balanced(out)


def test_errored_plan_exits_non_zero_and_never_says_no_changes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status_file = tmp_path / "status.json"
    rc, out, err = summarise(
        capsys, str(FIXTURES / "errored.json"), "--status-json", str(status_file)
    )
    assert rc == EXIT_ERRORED == 4
    assert "No changes" not in out
    assert "**Plan errored:** Terraform stopped planning on an error" in out
    assert "(partial: planning stopped on an error)" in out
    assert err.startswith("plan_summary: errored: Terraform reported errors while planning")
    status = json.loads(status_file.read_text(encoding="utf-8"))
    assert status["exit_code"] == 4 and status["errored"] is True and status["complete"] is False
    assert status["no_changes"] is False
    # Errored wins over the destroy gate: a partial plan is never "allowed".
    data = json.loads((FIXTURES / "delete_protected.json").read_text(encoding="utf-8"))
    data["errored"] = True
    both = tmp_path / "both.json"
    both.write_text(json.dumps(data), encoding="utf-8")
    rc, _, _ = summarise(capsys, str(both), "--allow-destroy")
    assert rc == EXIT_ERRORED


def test_empty_plan_says_no_changes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status_file = tmp_path / "status.json"
    rc, out, err = summarise(
        capsys,
        str(FIXTURES / "noop.json"),
        "--title",
        "Plan dev",
        "--status-json",
        str(status_file),
    )
    assert rc == EXIT_OK and err == ""
    assert out == (
        "<!-- plan-summary:default -->\n\n### Plan dev\n\n"
        "**No changes.** The infrastructure matches the configuration.\n"
    )
    assert json.loads(status_file.read_text(encoding="utf-8"))["no_changes"] is True


def test_status_json_reports_drift_outputs_and_protected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status_file = tmp_path / "status.json"
    rc, _, _ = summarise(
        capsys, str(FIXTURES / "drift_relevant.json"), "--status-json", str(status_file)
    )
    drift = json.loads(status_file.read_text(encoding="utf-8"))
    assert rc == 0 and drift["exit_code"] == 0
    assert drift["resource_drift"] == [
        "azurerm_key_vault.main",
        "azurerm_role_assignment.reader",
        "azurerm_user_assigned_identity.jobs",
    ]
    assert drift["refresh_noise"] == ["azurerm_resource_group.main", "azurerm_storage_account.lake"]
    assert drift["resource_changes"] == {"create": 1, "update": 1, "replace": 1, "delete": 0}
    rc, _, _ = summarise(
        capsys, str(FIXTURES / "replace_protected.json"), "--status-json", str(status_file)
    )
    blocked = json.loads(status_file.read_text(encoding="utf-8"))
    assert rc == 3 and blocked["exit_code"] == 3
    assert blocked["protected_destroyed"] == ["azurerm_storage_account.lake"]
    assert (
        blocked["resource_changes"]["replace"] == 1 and blocked["resource_changes"]["delete"] == 1
    )
    # No attribute values in the status (it is uploaded and read by the workflows).
    assert "westeurope" not in status_file.read_text(encoding="utf-8")


def test_key_attributes_skip_sensitive_and_unknown_values() -> None:
    plan = parse_plan(
        {
            "format_version": "1.2",
            "resource_changes": [
                {
                    "address": "x.y",
                    "type": "x",
                    "change": {
                        "actions": ["create"],
                        "after": {"name": "n", "location": None, "sku": "s", "path": "p"},
                        "after_unknown": {"location": True},
                        "after_sensitive": {"path": True},
                    },
                }
            ],
        }
    )
    assert key_attributes(plan.resource_changes[0]) == [("name", "n"), ("sku", "s")]


def test_sensitive_values_never_leak_from_nested_structures() -> None:
    before = {"conf": {"password": "hunter2", "user": "a"}, "list": ["p1", "visible"]}
    after = {"conf": {"password": "hunter3", "user": "b"}, "list": ["p1", "visible", "new"]}
    mask = {"conf": {"password": True}, "list": [True]}
    changes = attribute_changes(before, after, mask, mask, {})
    text = json.dumps([c.__dict__ for c in changes])
    assert "hunter" not in text and "p1" not in text
    assert {c.path for c in changes} == {"conf.password", "conf.user", "list"}
    assert to_plain(redact(before, True)) == "(sensitive value)"


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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("protected_resource_types: [azurerm_key_vault]\n", "STATEFUL_TYPES"),
        ("max_chars: 10\n", "max_chars must be between"),
        ("colour: blue\n", "unknown keys ['colour']"),
        ("- a list\n", "is not a mapping"),
    ],
)
def test_bad_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")
    rc = run([str(FIXTURES / "noop.json"), "--config", str(config)])
    assert rc == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_protected_types_are_the_policy_packs_one_list() -> None:
    """The gate uses STATEFUL_TYPES itself (not a copy), and the shared config no longer
    carries a list of its own."""
    policy = load_policy(CONFIG)
    assert policy.protected_types is STATEFUL_TYPES
    assert Policy().protected_types is STATEFUL_TYPES
    assert "protected_resource_types" not in CONFIG.read_text(encoding="utf-8")
    assert policy.max_chars == 60_000
    # Every stateful type blocks, and only those.
    for rtype in STATEFUL_TYPES:
        plan = parse_plan(
            {
                "format_version": "1.2",
                "resource_changes": [
                    {"address": f"{rtype}.a", "type": rtype, "change": {"actions": ["delete"]}},
                    {
                        "address": "azurerm_role_assignment.b",
                        "type": "azurerm_role_assignment",
                        "change": {"actions": ["delete"]},
                    },
                ],
            }
        )
        assert [rc.address for rc in policy.violations(plan)] == [f"{rtype}.a"]


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
    rc, _, _ = summarise(capsys, str(FIXTURES / "output_only.json"), "--redacted-json", str(out))
    outputs = json.loads(out.read_text(encoding="utf-8"))["output_changes"]
    assert "secret" not in json.dumps(outputs)
    assert outputs["insights_connection_string"]["after"] == "(sensitive value)"
    assert outputs["workspace_url"]["after"] == "adb-2.azuredatabricks.net"
    rc, _, _ = summarise(capsys, str(FIXTURES / "drift_relevant.json"), "--redacted-json", str(out))
    assert "k3y-0ld" not in out.read_text(encoding="utf-8")
    drift = json.loads(out.read_text(encoding="utf-8"))["resource_drift"]
    assert [d["address"] for d in drift][:2] == [
        "azurerm_resource_group.main",
        "azurerm_storage_account.lake",
    ]


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


# --- tools.plan_summary.report: one stack's outcome as the workflows report it ---------------


def _plan_dir(
    tmp_path: Path, result: str | None, fixture: str | None = None, log: str | None = None
) -> Path:
    plan_dir = tmp_path / "dev"
    plan_dir.mkdir(parents=True)
    if result is not None:
        (plan_dir / "result").write_text(result + "\n", encoding="utf-8")
    if fixture is not None:
        (plan_dir / "plan.json").write_text((FIXTURES / fixture).read_text(encoding="utf-8"))
    if log is not None:
        (plan_dir / "plan.log").write_text(log, encoding="utf-8")
    return plan_dir


def _report(plan_dir: Path, tmp_path: Path, *extra: str) -> tuple[int, str, dict]:
    out, status = tmp_path / "out.md", tmp_path / "status.json"
    rc = report.run(
        [
            str(plan_dir),
            "--stack",
            "dev",
            "--output",
            str(out),
            "--status-json",
            str(status),
            "--config",
            str(CONFIG),
            *extra,
        ]
    )
    return rc, out.read_text(encoding="utf-8"), json.loads(status.read_text(encoding="utf-8"))


def test_report_of_a_planned_stack_is_the_summary(tmp_path: Path) -> None:
    rc, text, status = _report(_plan_dir(tmp_path, "ok", "delete_protected.json"), tmp_path)
    assert rc == EXIT_BLOCKED
    assert text.startswith("<!-- plan-summary:plan-dev -->\n\n### Terraform plan — dev\n")
    assert "**Blocked:**" in text
    assert status["result"] == "ok" and status["protected_destroyed"] == ["azurerm_key_vault.main"]


def test_report_of_a_failed_plan_shows_terraforms_error(tmp_path: Path) -> None:
    log = (
        "Initializing the backend...\n\nPlanning...\n\n"
        "Error: retrieving Key Vault: unexpected status 403 (Forbidden)\n\n"
        "  with azurerm_key_vault.main,\n  on cdk.tf.json line 12\n"
    )
    rc, text, status = _report(_plan_dir(tmp_path, "failed", log=log), tmp_path)
    assert rc == report.EXIT_PLAN_FAILED == 5
    assert "**Plan failed:** Terraform did not produce a plan" in text
    assert "```text\nError: retrieving Key Vault: unexpected status 403 (Forbidden)\n" in text
    assert "Initializing the backend" not in text  # the excerpt starts at the error
    assert "No changes" not in text
    assert status == {"exit_code": 5, "result": "failed", "stack": "dev"}


def test_report_of_an_errored_plan_file_is_errored_with_the_error(tmp_path: Path) -> None:
    plan_dir = _plan_dir(tmp_path, "failed", "errored.json", log="Error: Unsupported attribute\n")
    rc, text, status = _report(plan_dir, tmp_path)
    assert rc == EXIT_ERRORED
    assert "**Plan errored:**" in text and "Error: Unsupported attribute" in text
    assert status["errored"] is True and status["result"] == "failed"


def test_report_of_a_missing_or_skipped_plan(tmp_path: Path) -> None:
    rc, text, status = _report(tmp_path / "never-ran", tmp_path)
    assert rc == 5 and "(no log: the plan job did not finish)" in text
    skipped = _plan_dir(tmp_path, "skipped the platform stack dev has not been applied yet")
    rc, text, status = _report(skipped, tmp_path)
    assert rc == 0
    assert "> **Not planned:** the platform stack dev has not been applied yet" in text
    assert status["result"] == "skipped"


def test_error_excerpt_is_bounded() -> None:
    log = "\n".join(["noise"] * 10 + ["│ Error: boom"] + [f"detail {i}" for i in range(500)])
    excerpt = report.error_excerpt(log)
    assert excerpt.startswith("│ Error: boom")
    assert len(excerpt.splitlines()) == report.ERROR_LINES
    assert report.error_excerpt("just one line") == "just one line"


def test_a_stack_never_applied_says_so_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    """The bootstrap creates the empty state blobs, so the read-only identity can plan a stack
    that has never been applied: every resource is created, and the summary says why."""
    rc, out, _ = summarise(capsys, str(FIXTURES / "creates_only.json"))
    assert rc == EXIT_OK
    assert "**Never applied:** this stack has no resources in its state yet; 3 to create." in out
    rc, out, _ = summarise(capsys, str(FIXTURES / "drift_relevant.json"))
    assert "Never applied" not in out  # a prior state with resources


def test_an_errored_plan_refused_by_prevent_destroy_says_to_change_the_code(
    tmp_path: Path,
) -> None:
    log = (
        "Error: Instance cannot be destroyed\n\n  on cdk.tf.json line 40:\n\n"
        "Resource azurerm_storage_account.lake has lifecycle.prevent_destroy set, but the plan "
        "calls for this resource to be destroyed.\n"
    )
    rc, text, _ = _report(_plan_dir(tmp_path, "failed", log=log), tmp_path)
    assert rc == 5
    assert "**Refused by `prevent_destroy`:**" in text
    assert "The `allow-destroy` label cannot override it: change the code instead." in text
    assert "add the `allow-destroy` label" not in text
    other = tmp_path / "other"
    other.mkdir()
    rc, text, _ = _report(_plan_dir(other, "failed", log="Error: 403 Forbidden\n"), other)
    assert "prevent_destroy" not in text


# --- change sets: what was reviewed against what is applied -------------------------------


def _change_set(plan_dir: Path, tmp_path: Path, stack: str = "dev") -> dict:
    target = tmp_path / f"{stack}.change-set.json"
    rc = report.run(
        [str(plan_dir), "--stack", stack, "--change-set", str(target), "--config", str(CONFIG)]
        + ["--output", str(tmp_path / "cs.md")]
    )
    assert rc in (EXIT_OK, EXIT_BLOCKED)
    return json.loads(target.read_text(encoding="utf-8"))


def test_a_change_set_holds_addresses_and_actions_only(tmp_path: Path) -> None:
    data = _change_set(_plan_dir(tmp_path, "ok", "replace_protected.json"), tmp_path)
    assert data["format"] == 1 and data["stack"] == "dev"
    assert ["azurerm_storage_account.lake", ["delete", "create"]] in data["resources"]
    assert all(len(entry) == 2 for entry in data["resources"])
    text = json.dumps(data)
    assert "westeurope" not in text and "northeurope" not in text  # no values
    # Reads of data sources and no-ops are not changes.
    data = _change_set(_plan_dir(tmp_path / "c", "ok", "creates_only.json"), tmp_path)
    assert [a for a, _ in data["resources"]] == [
        "azurerm_databricks_workspace.main",
        "azurerm_resource_group.main",
        "azurerm_storage_account.lake",
    ]


def _deploy_gate(
    tmp_path: Path, fixture: str, reviewed: dict | None, *extra: str
) -> tuple[int, str, dict]:
    work = tmp_path / fixture.removesuffix(".json")
    work.mkdir(parents=True)
    args = ["--deploy"]
    if reviewed is not None:
        path = work / "reviewed.json"
        if reviewed:
            path.write_text(json.dumps(reviewed), encoding="utf-8")
        args += ["--reviewed", str(path), "--reviewed-label", "PR #7, run 41"]
    return _report(_plan_dir(work, "ok", fixture), work, *args, *extra)


def test_a_deploy_plan_identical_to_the_reviewed_one_proceeds(tmp_path: Path) -> None:
    reviewed = _change_set(_plan_dir(tmp_path / "pr", "ok", "update_sensitive.json"), tmp_path)
    rc, text, status = _deploy_gate(tmp_path / "deploy", "update_sensitive.json", reviewed)
    assert rc == EXIT_OK
    assert "**As reviewed:** the same addresses and actions as the pull request's plan" in text
    assert "(PR #7, run 41)" in text
    assert status["reviewed"] == "identical" and status["approval"] == ""
    assert status["changes"] is True


def test_a_deploy_plan_that_differs_from_the_reviewed_one_needs_approval(tmp_path: Path) -> None:
    reviewed = _change_set(_plan_dir(tmp_path / "pr", "ok", "update_sensitive.json"), tmp_path)
    rc, text, status = _deploy_gate(tmp_path / "deploy", "creates_only.json", reviewed)
    assert rc == EXIT_OK
    assert "**Differs from the reviewed plan** (PR #7, run 41)" in text
    assert "+ create azurerm_storage_account.lake" in text
    assert "- update azurerm_key_vault.main" in text
    assert status["reviewed"] == "different"
    assert status["approval"] == "the plan differs from the reviewed one"
    assert_balanced(text)


def test_a_deploy_plan_nobody_reviewed_needs_approval(tmp_path: Path) -> None:
    rc, text, status = _deploy_gate(tmp_path, "creates_only.json", {})
    assert rc == EXIT_OK and "**Not reviewed:** no pull-request plan was found" in text
    assert status["reviewed"] == "missing" and status["approval"] == "no reviewed plan"


def test_a_no_op_deploy_plan_skips_the_apply_and_its_approval(tmp_path: Path) -> None:
    rc, text, status = _deploy_gate(tmp_path, "noop.json", {})
    assert rc == EXIT_OK
    assert "**Nothing to apply:**" in text
    assert status["changes"] is False and status["approval"] == ""
    # Refresh noise alone is nothing to apply either.
    rc, text, status = _deploy_gate(tmp_path / "n", "drift_noise_only.json", {})
    assert status["changes"] is False and status["approval"] == ""


def test_an_environment_not_planned_at_pull_request_time_is_not_compared(
    tmp_path: Path,
) -> None:
    rc, text, status = _deploy_gate(tmp_path, "creates_only.json", None)
    assert "**Not compared:**" in text
    assert status["reviewed"] == "not-compared" and status["approval"] == ""


def test_an_allow_destroy_deploy_needs_a_second_persons_approval(tmp_path: Path) -> None:
    reviewed = _change_set(_plan_dir(tmp_path / "pr", "ok", "delete_protected.json"), tmp_path)
    rc, _, status = _deploy_gate(tmp_path / "d", "delete_protected.json", reviewed)
    assert rc == EXIT_BLOCKED
    rc, _, status = _deploy_gate(
        tmp_path / "a", "delete_protected.json", reviewed, "--allow-destroy"
    )
    assert rc == EXIT_OK and status["reviewed"] == "identical"
    assert status["approval"] == "allow-destroy: protected resources are deleted or replaced"


def test_a_malformed_reviewed_change_set_is_unusable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir = _plan_dir(tmp_path, "ok", "creates_only.json")
    (tmp_path / "reviewed.json").write_text('{"format": 1, "stack": "dev"}', encoding="utf-8")
    out = tmp_path / "out.md"
    rc = report.run(
        [str(plan_dir), "--stack", "dev", "--deploy", "--reviewed", str(tmp_path / "reviewed.json")]
        + ["--output", str(out), "--config", str(CONFIG)]
    )
    assert rc == EXIT_BAD_INPUT
    assert "resources is not a list" in capsys.readouterr().err
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!-- plan-summary:plan-dev -->") and "**Summary failed:**" in text


def test_an_import_is_shown_counted_and_part_of_the_change_set(tmp_path: Path) -> None:
    """Terraform 1.5+ plans an `import` block as a change with `importing` (here a no-op after
    the import): not "No changes", listed with its ID, in the status and in the change set the
    deploy compares, so a plan that newly imports is not taken for the reviewed no-op."""
    from tools.plan_summary.changeset import ChangeSet

    plan = load_plan(FIXTURES / "import_only.json")
    address = "databricks_restrict_workspace_admins_setting.RestrictAdmins_Setting_1F5F4D5B"
    assert [rc.importing for rc in plan.imports] == ["global"]
    assert not plan.is_noop
    status_file = tmp_path / "status.json"
    out = tmp_path / "out.md"
    rc = run(
        [str(FIXTURES / "import_only.json"), "--config", str(CONFIG)]
        + ["--output", str(out), "--status-json", str(status_file)]
    )
    text = out.read_text(encoding="utf-8")
    assert rc == EXIT_OK
    assert "No changes" not in text
    assert "**Imports:** 1 existing object(s)" in text
    assert f"- `{address}` ← ID `global`" in text
    assert json.loads(status_file.read_text())["imports"] == [address]
    change_set = ChangeSet.of("uat-workspace", plan)
    assert change_set.resources == ((address, ("no-op", "import")),)
    assert not change_set.empty
