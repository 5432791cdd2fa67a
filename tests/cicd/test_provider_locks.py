"""The committed provider lock (providers/.terraform.lock.hcl) and tools.provider_locks, which
puts each stack's entries into its directory for `terraform init -lockfile=readonly`."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.cicd.conftest import ROOT, terraform_env
from tools import provider_locks

LOCK = ROOT / "providers" / ".terraform.lock.hcl"
VERSIONS = ROOT / "providers" / "versions.tf.json"
NOT_YET_LOCKED = {
    "registry.terraform.io/hashicorp/azurerm",
    "registry.terraform.io/databricks/databricks",
}
"""Providers whose hashes could not be sourced where this lock was written (no registry access,
and no public lock file of these versions was found: docs/cicd.md, 'Supply chain'). Until
`make provider-lock` is run with registry access, their stacks fall back to the lock that the
plan job's `terraform init` records. Empty this set when the lock covers them."""


def pinned() -> dict[str, str]:
    spec = json.loads(VERSIONS.read_text(encoding="utf-8"))["terraform"]["required_providers"]
    return {provider_locks.address(p["source"]): p["version"] for p in spec.values()}


@pytest.mark.synth
def test_versions_file_pins_what_the_stacks_require(stacks: dict[str, dict[str, Any]]) -> None:
    needed: dict[str, set[str]] = {}
    for stack in stacks.values():
        for p in stack["terraform"]["required_providers"].values():
            needed.setdefault(provider_locks.address(p["source"]), set()).add(p["version"])
    assert {k: {v} for k, v in pinned().items()} == needed


def test_the_committed_lock_is_exact_and_hash_pinned() -> None:
    entries = provider_locks.read_lock(LOCK)
    versions = pinned()
    for address, entry in entries.items():
        assert versions[address] == entry.version, address
        assert re.search(rf'constraints = "{re.escape(entry.version)}"', entry.text)
        zh = re.findall(r'"zh:([0-9a-f]+)"', entry.text)
        assert zh and all(len(h) == 64 for h in zh), address
    # The known gap, pinned so that it cannot go unnoticed in either direction.
    assert set(versions) - set(entries) == NOT_YET_LOCKED


def _stack(outdir: Path, name: str, providers: dict[str, dict[str, str]]) -> Path:
    stack = outdir / "stacks" / name
    stack.mkdir(parents=True)
    config = {"terraform": {"required_providers": providers}}
    (stack / "cdk.tf.json").write_text(json.dumps(config), encoding="utf-8")
    return stack


def test_each_stack_gets_exactly_its_providers_or_none(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    timed = _stack(
        outdir, "dev-workspace", {"time": {"source": "hashicorp/time", "version": "0.13.1"}}
    )
    azure = _stack(outdir, "dev", {"azurerm": {"source": "azurerm", "version": "4.55.0"}})
    (azure / ".terraform.lock.hcl").write_text("# stale", encoding="utf-8")
    lock = tmp_path / "lock.hcl"
    lock.write_text(LOCK.read_text(encoding="utf-8"), encoding="utf-8")
    assert provider_locks.main([str(outdir), "--lock", str(lock)]) == 0
    text = (timed / ".terraform.lock.hcl").read_text(encoding="utf-8")
    assert re.findall(r'^provider "([^"]+)"', text, re.M) == [
        "registry.terraform.io/hashicorp/time"
    ]
    # azurerm is not in the lock: no lock file at all (a partial one would fail readonly init).
    assert not (azure / ".terraform.lock.hcl").exists()


def test_a_stale_lock_version_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdktf.out"
    _stack(outdir, "dev-workspace", {"time": {"source": "hashicorp/time", "version": "0.14.0"}})
    assert provider_locks.main([str(outdir), "--lock", str(LOCK)]) == 2
    assert (
        "requires registry.terraform.io/hashicorp/time 0.14.0, the committed lock has 0.13.1"
        in (capsys.readouterr().err)
    )


def _mirror(tmp_path: Path) -> tuple[Path, str]:
    """A filesystem mirror with a (fake) hashicorp/time 0.13.1 package; its zh: hash."""
    folder = tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "time"
    folder.mkdir(parents=True)
    package = folder / "terraform-provider-time_0.13.1_linux_amd64.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("terraform-provider-time_v0.13.1", "#!/bin/sh\nexit 1\n")
    return tmp_path / "mirror", hashlib.sha256(package.read_bytes()).hexdigest()


@pytest.mark.parametrize("matching", [True, False])
def test_terraform_installs_only_a_package_the_lock_lists(
    terraform_cli: str, tmp_path: Path, matching: bool
) -> None:
    """The real `terraform init -lockfile=readonly` reads the lock the tool writes: a package
    whose hash the lock does not list is refused (the committed hashes are those of the real
    release, so the fake package is refused); one whose zh: hash it lists is installed."""
    import platform

    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the mirror holds a linux_amd64 package")
    mirror, zh = _mirror(tmp_path)
    env = terraform_env(tmp_path)
    Path(env["TF_CLI_CONFIG_FILE"]).write_text(
        f'provider_installation {{\n  filesystem_mirror {{ path = "{mirror}" }}\n}}\n',
        encoding="utf-8",
    )
    lock = tmp_path / "lock.hcl"
    text = LOCK.read_text(encoding="utf-8")
    if matching:
        text = re.sub(r'"zh:[0-9a-f]{64}",', f'"zh:{zh}",', text, count=1)
    lock.write_text(text, encoding="utf-8")
    stack = _stack(
        tmp_path / "out", "ws", {"time": {"source": "hashicorp/time", "version": "0.13.1"}}
    )
    assert provider_locks.main([str(tmp_path / "out"), "--lock", str(lock)]) == 0
    result = subprocess.run(
        [terraform_cli, "init", "-input=false", "-no-color", "-lockfile=readonly"],
        cwd=stack,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if matching:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1
        assert "doesn't match any of the checksums previously recorded" in " ".join(
            (result.stdout + result.stderr).split()
        )
