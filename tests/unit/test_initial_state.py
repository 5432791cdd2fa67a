"""The empty state the bootstrap writes into every state blob (issue 19, §1).

Terraform's azurerm backend treats a missing blob and a zero-byte blob alike as "no state" and
then writes one itself (a lease, an empty state, a release), which the read-only plan identity
may not. The document must be a state Terraform reads as such.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from constructs_lib.initial_state import TERRAFORM_VERSION, empty_state_document, state_lineage

TERRAFORM = shutil.which("terraform")


def test_document_is_an_empty_version_4_state() -> None:
    lineage = state_lineage("acct", "dev", "dev.tfstate")
    document = json.loads(empty_state_document(lineage))
    assert document["version"] == 4
    assert document["serial"] == 1  # a read serial of 0 counts as "changed" on persist
    assert document["lineage"] == lineage
    assert document["resources"] == [] and document["outputs"] == {}
    assert document["terraform_version"] == TERRAFORM_VERSION


def test_lineage_is_stable_and_unique_per_blob() -> None:
    first = state_lineage("acct", "dev", "dev.tfstate")
    assert first == state_lineage("acct", "dev", "dev.tfstate")
    assert first != state_lineage("acct", "dev", "dev-workspace.tfstate")
    assert first != state_lineage("acct", "uat", "dev.tfstate")
    assert first != state_lineage("other", "dev", "dev.tfstate")


def _show(path: Path) -> subprocess.CompletedProcess:
    assert TERRAFORM is not None
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    return subprocess.run(
        [TERRAFORM, "show", "-no-color", path.name],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed (CI installs 1.11.4)")
def test_terraform_reads_the_document_as_a_state_and_a_zero_byte_blob_as_none(
    tmp_path: Path,
) -> None:
    """With the pinned Terraform: the document is a state (no resources); an empty file is
    "no state", the case in which the backend would write."""
    version = subprocess.run([TERRAFORM, "version", "-json"], capture_output=True, text=True)
    assert json.loads(version.stdout)["terraform_version"] == TERRAFORM_VERSION
    state = tmp_path / "dev.tfstate"
    state.write_text(empty_state_document(state_lineage("a", "dev", "dev.tfstate")))
    shown = _show(state)
    assert shown.returncode == 0, shown.stderr
    assert "The state file is empty. No resources are represented." in shown.stdout
    empty = tmp_path / "empty.tfstate"
    empty.write_bytes(b"")
    refused = _show(empty)
    assert refused.returncode == 1
    assert "no state" in refused.stderr
