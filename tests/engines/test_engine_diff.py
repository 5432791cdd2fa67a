"""The cdktf and the cdktn output of the same configs differ exactly by the documented
differences (tools/engine_diff/expected_differences.yaml), resource by resource and attribute by
attribute; and the comparison itself catches what it must."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.conftest import STACKS
from tools.engine_diff import (
    DIFFERENCES_FILE,
    Difference,
    UsageError,
    compare,
    format_report,
    mapping_function,
    read_differences,
)

pytestmark = pytest.mark.synth
DIFFERENCES = read_differences()


def test_every_stack_synthesizes_on_both_engines(synth_dir: Path, cdktn_dir: Path) -> None:
    for out in (synth_dir, cdktn_dir):
        manifest = json.loads((out / "manifest.json").read_text())
        assert sorted(manifest["stacks"]) == sorted(STACKS)
        for stack in STACKS:
            assert json.loads((out / "stacks" / stack / "cdk.tf.json").read_text())["resource"]


def test_the_outputs_differ_exactly_by_the_documented_differences(
    synth_dir: Path, cdktn_dir: Path
) -> None:
    report = compare(synth_dir, cdktn_dir, DIFFERENCES)
    text = format_report(report, {d.id: d for d in DIFFERENCES})
    print(text)  # the documented differences, with where they applied (pytest -s)
    assert report.problems == [], text
    assert report.stale() == [], text
    # Every stack carries the framework version; the provider pins appear once per stack that
    # uses the provider (azurerm: 4 platform stacks + bootstrap; databricks: 4 workspace stacks
    # + the bootstrap's account-level provider; time: 4 workspace stacks + bootstrap).
    assert report.applied["framework-version-in-stacks"] == len(STACKS)
    assert report.applied["azurerm-provider-version"] == 5
    assert report.applied["databricks-provider-version"] == 5
    assert report.applied["time-provider-version"] == 5
    # One state blob per environment stack (4 environments x 2 stacks), all in the bootstrap.
    assert report.applied["azurerm5-storage-blob-container-id"] == 8


def _copy(src: Path, tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(src, tmp_path / name))


def _edit_stack(out: Path, stack: str, edit) -> None:
    path = out / "stacks" / stack / "cdk.tf.json"
    body = json.loads(path.read_text())
    edit(body)
    path.write_text(json.dumps(body))


def test_an_undocumented_attribute_change_is_named_by_resource_and_attribute(
    synth_dir: Path, cdktn_dir: Path, tmp_path: Path
) -> None:
    out = _copy(cdktn_dir, tmp_path, "cdktn.out")
    (kv,) = json.loads((out / "stacks/prod/cdk.tf.json").read_text())["resource"][
        "azurerm_key_vault"
    ]

    def edit(body):
        body["resource"]["azurerm_key_vault"][kv]["purge_protection_enabled"] = False

    _edit_stack(out, "prod", edit)
    report = compare(synth_dir, out, DIFFERENCES)
    assert report.problems == [
        f"prod: resource.azurerm_key_vault.{kv}.purge_protection_enabled: cdktf (with the "
        "documented differences) true, cdktn false"
    ]


def test_a_renamed_address_shows_as_one_resource_lost_and_one_gained(
    synth_dir: Path, cdktn_dir: Path, tmp_path: Path
) -> None:
    """A construct ID change (a new address: destroy and create) is never explained away."""
    out = _copy(cdktn_dir, tmp_path, "cdktn.out")
    (sa,) = json.loads((out / "stacks/dev/cdk.tf.json").read_text())["resource"][
        "azurerm_storage_account"
    ]

    def edit(body):
        accounts = body["resource"]["azurerm_storage_account"]
        accounts["Storage_Account_RENAMED"] = accounts.pop(sa)

    _edit_stack(out, "dev", edit)
    report = compare(synth_dir, out, DIFFERENCES)
    assert sorted(report.problems) == [
        f"dev: resource.azurerm_storage_account.{sa}: only in the cdktf output",
        "dev: resource.azurerm_storage_account.Storage_Account_RENAMED: only in the cdktn output",
    ]


def test_a_changed_asset_and_a_missing_stack_are_reported(
    synth_dir: Path, cdktn_dir: Path, tmp_path: Path
) -> None:
    out = _copy(cdktn_dir, tmp_path, "cdktn.out")
    (wheel,) = (out / "stacks" / "dev-workspace" / "assets").rglob("*.whl")
    wheel.write_bytes(wheel.read_bytes() + b"x")
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["stacks"]["uat-workspace"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    problems = compare(synth_dir, out, DIFFERENCES).problems
    assert f"{wheel.relative_to(out)}: the files differ" in problems
    assert any(p.startswith("manifest.json: stacks.uat-workspace: ") for p in problems)


def test_a_documented_difference_that_applies_nowhere_is_stale(
    synth_dir: Path, cdktn_dir: Path
) -> None:
    extra = Difference(
        id="never-applies",
        kind="argument",
        reason="a rename no resource of this app has",
        evidence="a test of the comparison itself",
        resource="azurerm_linux_virtual_machine",
        from_="size",
        to="vm_size",
    )
    report = compare(synth_dir, cdktn_dir, [*DIFFERENCES, extra])
    assert report.stale() == ["never-applies"] and not report.ok


def test_a_documented_value_that_does_not_match_is_a_problem(
    synth_dir: Path, cdktn_dir: Path
) -> None:
    wrong = [
        Difference(**{**d.__dict__, "cdktf": "4.54.0"}) if d.id == "azurerm-provider-version" else d
        for d in DIFFERENCES
    ]
    problems = compare(synth_dir, cdktn_dir, wrong).problems
    assert "dev: terraform.required_providers.azurerm.version: documented " in "".join(problems)


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("same", ["a"], ["a"]),
        ("negated", True, False),
        ("blocks_of:service", ["a", "b"], [{"service": "a"}, {"service": "b"}]),
        (
            "reference_attribute:id",
            "${azurerm_private_dns_zone.Z_1.name}",
            "${azurerm_private_dns_zone.Z_1.id}",
        ),
    ],
)
def test_mappings(spec: str, value, expected) -> None:
    assert mapping_function(spec)(value) == expected


@pytest.mark.parametrize(
    ("spec", "value"),
    [("negated", "true"), ("blocks_of:service", "a"), ("reference_attribute:id", "name")],
)
def test_a_mapping_refuses_a_value_of_another_shape(spec: str, value) -> None:
    with pytest.raises(ValueError):
        mapping_function(spec)(value)


ENTRY = """
  - id: x
    kind: argument
    resource: azurerm_subnet
    from: a
    to: b
    reason: a reason of five words
    evidence: evidence of five words here
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("other: []", "one key, `differences:`"),
        ("differences:" + ENTRY + ENTRY, "unique"),
        ("differences:" + ENTRY.replace("argument", "rename"), "`kind` must be one of"),
        ("differences:" + ENTRY.replace("a reason of five words", "short"), "`reason`"),
        ("differences:" + ENTRY.replace("    from: a\n", ""), "`from` needed"),
        ("differences:" + ENTRY + "    mapping: upper\n", "unknown mapping"),
        ("differences:" + ENTRY + "    colour: red\n", "unknown key(s) colour"),
        (
            "differences:\n  - {id: v, kind: value, path: [x], cdktf: 1, "
            "reason: a reason of five words, evidence: evidence of five words here}",
            "`cdktf` and `cdktn` values needed",
        ),
    ],
)
def test_a_malformed_differences_file_is_a_usage_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(UsageError, match=__import__("re").escape(message)):
        read_differences(path)


def test_every_documented_difference_says_what_it_means_for_a_deployed_environment() -> None:
    assert DIFFERENCES_FILE.is_file()
    for diff in DIFFERENCES:
        assert diff.deployed, diff.id
    # The argument changes are exactly the helpers of constructs_lib/providers/compat.py.
    assert sorted(d.resource for d in DIFFERENCES if d.kind == "argument") == [
        "azurerm_application_insights",
        "azurerm_federated_identity_credential",
        "azurerm_private_dns_zone_virtual_network_link",
        "azurerm_storage_blob",
        "azurerm_subnet",
    ]


def test_the_command_exits_0_on_the_real_outputs_and_1_on_a_difference(
    synth_dir: Path, cdktn_dir: Path, tmp_path: Path, capsys
) -> None:
    from tools.engine_diff.__main__ import main

    assert main([str(synth_dir), str(cdktn_dir)]) == 0
    assert "no undocumented difference" in capsys.readouterr().out
    assert main([str(synth_dir), str(synth_dir)]) == 1
    assert main([str(synth_dir), str(tmp_path / "missing")]) == 2
