"""Put the committed provider lock into every synthesized stack.

    python -m tools.provider_locks OUTDIR [--lock providers/.terraform.lock.hcl]

`providers/.terraform.lock.hcl` is the one dependency lock file of the project (`make
provider-lock` writes it with `terraform providers lock` from providers/versions.tf.json). Each
stack directory `OUTDIR/stacks/<stack>/` gets a `.terraform.lock.hcl` with exactly the entries
of the providers that stack requires: `terraform init -lockfile=readonly` refuses a lock whose
set of providers differs from the configuration's (hashicorp/terraform v1.11.4
internal/command/init.go, "Provider dependency changes detected"), so a stack may not carry
entries it does not use. Terraform then installs only a package whose hash the lock lists.

A stack whose providers are not all in the committed lock gets no lock file and a warning (the
workflows then let `terraform init` record the hashes it downloads, and the apply reuses that
lock); a lock entry whose version differs from the stack's is an error (exit 2): the committed
lock is out of date. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LOCK = Path("providers/.terraform.lock.hcl")
REGISTRY = "registry.terraform.io"
HEADER = (
    '# This file is maintained automatically by "terraform init".\n'
    "# Manual edits may be lost in future updates.\n"
)
_BLOCK = re.compile(r'^provider "([^"]+)" \{\n(.*?)^\}\n', re.M | re.S)
_VERSION = re.compile(r'^\s*version\s*=\s*"([^"]+)"', re.M)


class LockError(Exception):
    """The committed lock cannot serve the stacks (one line for the log)."""


@dataclass(frozen=True)
class Entry:
    address: str
    version: str
    text: str


def read_lock(path: Path) -> dict[str, Entry]:
    """The provider blocks of a lock file, by provider address."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LockError(f"cannot read {path}: {exc.strerror}") from None
    entries = {}
    for match in _BLOCK.finditer(text):
        version = _VERSION.search(match.group(2))
        if version is None:
            raise LockError(f"{path}: provider {match.group(1)} has no version")
        entries[match.group(1)] = Entry(match.group(1), version.group(1), match.group(0))
    return entries


def address(source: str) -> str:
    """The full provider address of a `required_providers` source (`azurerm` ->
    `registry.terraform.io/hashicorp/azurerm`)."""
    parts = source.lower().split("/")
    if len(parts) == 1:
        parts = ["hashicorp", *parts]
    if len(parts) == 2:
        parts = [REGISTRY, *parts]
    return "/".join(parts)


def required(stack_json: Path) -> dict[str, str]:
    """Provider address -> exact version the stack requires."""
    config = json.loads(stack_json.read_text(encoding="utf-8"))
    providers = config.get("terraform", {}).get("required_providers", {})
    return {address(p["source"]): str(p["version"]) for p in providers.values()}


def lock_stack(stack_dir: Path, entries: dict[str, Entry]) -> list[str]:
    """Write the stack's lock file; return the providers the committed lock lacks."""
    needed = required(stack_dir / "cdk.tf.json")
    target = stack_dir / ".terraform.lock.hcl"
    for provider, version in sorted(needed.items()):
        entry = entries.get(provider)
        if entry is not None and entry.version != version:
            raise LockError(
                f"{stack_dir.name} requires {provider} {version}, the committed lock has "
                f"{entry.version}: run `make provider-lock` and commit providers/"
            )
    missing = sorted(f"{p} {v}" for p, v in needed.items() if p not in entries)
    if missing:
        target.unlink(missing_ok=True)
        return missing
    blocks = [entries[p].text for p in sorted(needed)]
    target.write_text(HEADER + "\n" + "\n".join(blocks), encoding="utf-8")
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.provider_locks", description=__doc__)
    parser.add_argument("outdir", type=Path, help="cdktf.out")
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    args = parser.parse_args(argv)
    try:
        entries = read_lock(args.lock)
        stacks = sorted(p.parent for p in (args.outdir / "stacks").glob("*/cdk.tf.json"))
        if not stacks:
            raise LockError(f"no stacks in {args.outdir}/stacks")
        for stack_dir in stacks:
            missing = lock_stack(stack_dir, entries)
            if missing:
                print(
                    f"::warning title=Provider lock::{stack_dir.name}: {args.lock} has no entry "
                    f"for {', '.join(missing)}; terraform init records the hashes it downloads "
                    "(run `make provider-lock` and commit providers/)"
                )
            else:
                print(f"{stack_dir.name}: .terraform.lock.hcl from {args.lock}")
    except (LockError, json.JSONDecodeError, KeyError) as exc:
        print(f"::error title=Provider lock::{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
