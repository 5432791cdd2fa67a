"""Run checkov on every synthesized stack and summarize the result per stack.

    python -m tools.security_scan [--outdir cdktf.out] [--checkov .venv-checkov/bin/checkov]
                                  [--config .checkov.yaml] [--markdown] [--accepted]

One checkov process scans `<outdir>/stacks` (every `<stack>/cdk.tf.json`, terraform_json
framework, settings and skipped checks from `.checkov.yaml`); results are grouped by stack:

    dev: passed 41, failed 0, skipped 0

followed by one line per failed check (check ID, resource, construct path, file). `--markdown`
prints a per-stack table and the skipped checks with their reasons (the comment next to each
ID in the config) for the README instead. `--accepted` runs only the skipped checks and lists
what they would flag, to review the skip list.

Exit status: 0 all checks passed; 1 a check failed, a stack could not be parsed or no check ran
on it; 2 usage error (missing outdir, stacks, checkov binary or config).
checkov lives in its own venv (`make checkov`): its dependency pins clash with the project's.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
DEFAULT_CONFIG = ROOT / ".checkov.yaml"
STACK_FILE = "cdk.tf.json"
_SKIP_LINE = re.compile(r"^\s*-\s*(?P<id>CKV2?_[A-Z0-9]+_\d+)\s*(?:#\s*(?P<reason>.*?))?\s*$")


class UsageError(Exception):
    """Bad invocation or missing prerequisite (exit status 2)."""


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    """`<type>.<logical id>` in the stack's cdk.tf.json."""
    construct_path: str
    file: str


@dataclass
class StackResult:
    name: str
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: int = 0
    parse_error: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.parse_error and self.passed > 0


def read_skip_reasons(config: Path) -> dict[str, str]:
    """Check ID -> reason (its trailing comment) for each entry of the config's `skip-check`
    list; an entry without a comment maps to ""."""
    reasons: dict[str, str] = {}
    in_list = False
    for line in config.read_text().splitlines():
        if re.match(r"^skip-check\s*:", line):
            in_list = True
            continue
        if in_list:
            if line.strip() == "" or line.lstrip().startswith("#"):
                continue
            match = _SKIP_LINE.match(line)
            if not match:
                break  # the next top-level key ends the list
            reasons[match["id"]] = match["reason"] or ""
    return reasons


def _resource_index(stack_file: Path) -> dict[str, tuple[str, str]]:
    """Logical ID -> (resource type, construct path) of every resource in a stack."""
    index: dict[str, tuple[str, str]] = {}
    try:
        stack = json.loads(stack_file.read_text())
    except json.JSONDecodeError:
        return index  # checkov reports it as a parsing error
    for type_, blocks in stack.get("resource", {}).items():
        for logical_id, body in blocks.items():
            path = body.get("//", {}).get("metadata", {}).get("path", "")
            index[logical_id] = (type_, path)
    return index


def _reports(stdout: str) -> list[dict[str, Any]]:
    """checkov prints one JSON report, a list of them (several frameworks), or a bare summary
    when nothing was scanned."""
    if not stdout.strip():
        return []  # checkov prints nothing when every selected check is skipped
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise UsageError(f"checkov did not print JSON ({exc}): {stdout[:500]!r}") from exc
    return data if isinstance(data, list) else [data]


def scan(
    outdir: Path,
    checkov: Path,
    config: Path = DEFAULT_CONFIG,
    only_checks: Sequence[str] | None = None,
) -> dict[str, StackResult]:
    """Scan `<outdir>/stacks/*` in one checkov run; stack name -> result. `only_checks` runs
    just those checks and ignores the config's skip list (to see what a skip hides)."""
    stacks_dir = outdir / "stacks"
    if not stacks_dir.is_dir():
        raise UsageError(f"{stacks_dir} not found: synthesize first (make synth)")
    stack_files = sorted(stacks_dir.glob(f"*/{STACK_FILE}"))
    if not stack_files:
        raise UsageError(f"no */{STACK_FILE} under {stacks_dir}")
    if not checkov.is_file():
        raise UsageError(f"checkov not found at {checkov}: run `make checkov`")
    if not config.is_file():
        raise UsageError(f"checkov config {config} not found")

    command = [str(checkov), "--config-file", str(config), "-d", str(stacks_dir.resolve())]
    if only_checks:
        command += ["--check", ",".join(only_checks), "--skip-check", ""]
    proc = subprocess.run(
        [*command, "--output", "json"], capture_output=True, text=True, timeout=900, check=False
    )
    # 0: all passed, 1: failed checks; anything else is checkov itself failing.
    if proc.returncode not in (0, 1):
        raise UsageError(f"checkov exited {proc.returncode}:\n{proc.stderr[-3000:]}")

    results = {f.parent.name: StackResult(f.parent.name) for f in stack_files}
    indexes = {f.parent.name: _resource_index(f) for f in stack_files}
    for report in _reports(proc.stdout):
        for error in report.get("results", {}).get("parsing_errors", []):
            name = Path(error).parent.name
            if name in results:
                results[name].parse_error = True
        checks = report.get("results", {})
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for record in checks.get(kind, []):
                stack_file = Path(record["file_abs_path"])
                result = results.get(stack_file.parent.name)
                if result is None:
                    continue
                if kind == "passed_checks":
                    result.passed += 1
                elif kind == "skipped_checks":
                    result.skipped += 1
                else:
                    # Python checks report `resource.<id>`, graph checks `<type>.<id>`.
                    logical_id = record["resource"].rsplit(".", 1)[-1]
                    type_, path = indexes[result.name].get(logical_id, ("resource", ""))
                    result.failed.append(
                        Finding(
                            check_id=record["check_id"],
                            check_name=record["check_name"],
                            resource=f"{type_}.{logical_id}",
                            construct_path=path,
                            file=str(stack_file),
                        )
                    )
    return results


def scan_counting_skips(
    outdir: Path, checkov: Path, config: Path, reasons: dict[str, str]
) -> dict[str, StackResult]:
    """`scan`, with each stack's `skipped` set to the number of findings the skip list hides
    (checkov does not report config-skipped checks at all, so a second run counts them)."""
    results = scan(outdir, checkov, config)
    if reasons:
        hidden = scan(outdir, checkov, config, list(reasons))
        for name, result in results.items():
            result.skipped = len(hidden[name].failed) if name in hidden else 0
    return results


def format_text(results: dict[str, StackResult]) -> str:
    lines: list[str] = []
    for result in results.values():
        lines.append(
            f"{result.name}: passed {result.passed}, failed {len(result.failed)}, "
            f"skipped {result.skipped}"
        )
        if result.parse_error:
            lines.append(f"  ERROR {result.name}/{STACK_FILE} could not be parsed by checkov")
        elif result.passed + len(result.failed) == 0:
            lines.append(f"  ERROR no check ran on {result.name}/{STACK_FILE}")
        for f in sorted(result.failed, key=lambda f: (f.check_id, f.resource)):
            lines.append(
                f"  FAILED {f.check_id} {f.resource} ({f.construct_path}) {f.file}: {f.check_name}"
            )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(results: dict[str, StackResult], reasons: dict[str, str]) -> str:
    lines = ["| Stack | Passed | Failed | Skipped |", "| --- | ---: | ---: | ---: |"]
    for r in results.values():
        lines.append(f"| {r.name} | {r.passed} | {len(r.failed)} | {r.skipped} |")
    if reasons:
        lines += ["", "| Skipped check | Reason |", "| --- | --- |"]
        lines += [f"| {check} | {_cell(reason)} |" for check, reason in reasons.items()]
    failures = [f for r in results.values() for f in r.failed]
    if failures:
        lines += ["", "| Failed check | Resource | Construct |", "| --- | --- | --- |"]
        lines += [f"| {f.check_id} | `{f.resource}` | `{f.construct_path}` |" for f in failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.security_scan", description=__doc__)
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--checkov", type=Path, default=DEFAULT_CHECKOV)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--accepted",
        action="store_true",
        help="run only the skipped checks and list what they flag (review aid; exit 0)",
    )
    args = parser.parse_args(argv)
    try:
        if not args.config.is_file():
            raise UsageError(f"checkov config {args.config} not found")
        reasons = read_skip_reasons(args.config)
        if args.accepted:
            results = scan(args.outdir, args.checkov, args.config, list(reasons))
        else:
            results = scan_counting_skips(args.outdir, args.checkov, args.config, reasons)
    except UsageError as exc:
        print(f"security_scan: {exc}", file=sys.stderr)
        return 2
    if args.markdown:
        print(format_markdown(results, reasons))
    else:
        print(format_text(results))
    if args.accepted:
        return 0
    return 0 if all(r.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
