"""Run checkov on every synthesized stack and summarize the result per stack.

    python -m tools.security_scan [--outdir cdktf.out] [--checkov .venv-checkov/bin/checkov]
                                  [--config .checkov.yaml] [--skips .checkov-skips.yaml]
                                  [--markdown] [--accepted]

One checkov process scans `<outdir>/stacks` (every `<stack>/cdk.tf.json`, terraform_json
framework, settings from `.checkov.yaml`, every check). A failed check is *accepted* only if an
entry of `.checkov-skips.yaml` names its check, its stack and its resource (type or construct
path): a reason written for the sandbox can never hide the same finding in prod (checkov's own
`skip-check` is global, and its terraform_json runner reads no inline skip comments). Results are
grouped by stack:

    dev: passed 41, failed 0, skipped 13

("skipped": accepted findings) followed by one line per failed check (check ID, resource,
construct path, file). `--accepted` lists every accepted finding with its reason. `--markdown`
prints a per-stack table and the skip entries with their scope and reason, for the README.

An entry that covers a protected environment's stacks (`protected: true` in
`config/<env>.yaml`: uat, prod) must name them (in `stacks`, or their resources in `paths`); an
entry whose wildcard covers them is refused unless its `protected_reason` says why the finding
is accepted there too. A reason written for the sandbox never reaches prod by a `*`.

checkov has no checks for the resources of the databricks and time providers, so on a
workspace stack (`<env>-workspace`) no check runs: such a stack is reported as covered by the
policy rule pack (`constructs_lib/policy/`, run by every synthesis), not as a failure. A stack
on which no check ran that holds any other resource type is a failure.

checkov 3.3.30's terraform_json parser cannot read a top-level `import` block (it fails the
whole file: "this method receives only dicts"), and checkov has no check on one: each stack is
scanned as a staged copy without its `import` blocks (`UNSCANNED_BLOCKS`), which changes no
resource, and findings still name the synthesized file.

Exit status: 0 all checks passed or were accepted; 1 a check failed, a stack could not be
parsed or no check ran on a stack checkov should cover; 2 usage error (missing outdir, stacks,
checkov binary, config, an unreadable environment config, or an invalid skip file): one line.
checkov lives in its own venv (`make checkov`): its dependency pins clash with the project's.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
DEFAULT_CONFIG = ROOT / ".checkov.yaml"
DEFAULT_SKIPS = ROOT / ".checkov-skips.yaml"
DEFAULT_CONFIG_DIR = ROOT / "config"
STACK_FILE = "cdk.tf.json"
CHECK_ID = re.compile(r"CKV2?_[A-Z0-9]+_\d+")
POLICY_PACK_TYPE_PREFIXES = ("databricks_", "time_")
"""Resource types checkov 3.3.30 has no checks for (no check of its terraform runner names a
`databricks_*` or `time_*` type: `tests/test_checkov.py` pins it); the policy rule pack judges
them (MLOPS-JOB-1..4, MLOPS-CL-1, MLOPS-SEC-1, MLOPS-DBW-2, MLOPS-NET-2, MLOPS-LEAK-1)."""
UNSCANNED_BLOCKS = ("import",)
"""Top-level blocks left out of the copy checkov scans: checkov 3.3.30's terraform_json parser
fails a file holding one (`checkov/terraform_json/parser.py` `handle_block_type` hands each
`{"id": ..., "to": ...}` entry's values to `hclify`, which takes only dicts) and no check reads
them. The restrict-workspace-admins setting's `import` block is one (protected environments)."""
_GLOB = re.compile(r"[*?\[]")


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


@dataclass(frozen=True)
class Skip:
    """One accepted finding class: a check, in some stacks, on some resources."""

    check: str
    stacks: tuple[str, ...]
    """Stack names (fnmatch patterns)."""
    types: tuple[str, ...]
    """Terraform resource types."""
    paths: tuple[str, ...]
    """Construct paths (fnmatch patterns)."""
    reason: str
    protected_reason: str = ""
    """Why the finding is accepted in the protected stacks a wildcard of `stacks` covers."""

    def covers(self, stack: str, finding: Finding) -> bool:
        type_ = finding.resource.split(".", 1)[0]
        return (
            finding.check_id == self.check
            and any(fnmatch.fnmatchcase(stack, s) for s in self.stacks)
            and (
                type_ in self.types
                or any(fnmatch.fnmatchcase(finding.construct_path, p) for p in self.paths)
            )
        )

    @property
    def scope(self) -> str:
        where = ", ".join([*self.types, *self.paths])
        stacks = "every stack" if self.stacks == ("*",) else ", ".join(self.stacks)
        return f"{stacks}: {where}"


@dataclass
class StackResult:
    name: str
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: int = 0
    """Failed checks accepted by a skip entry (listed in `accepted`)."""
    accepted: list[tuple[Finding, Skip]] = field(default_factory=list)
    parse_error: bool = False
    resource_types: tuple[str, ...] = ()
    """Every resource type in the stack (from its cdk.tf.json)."""
    resources: int = 0

    @property
    def policy_pack_only(self) -> bool:
        """No check ran because checkov has none for any resource here (a workspace stack):
        the policy rule pack covers it."""
        return (
            not self.parse_error
            and self.passed + len(self.failed) + self.skipped == 0
            and bool(self.resource_types)
            and all(t.startswith(POLICY_PACK_TYPE_PREFIXES) for t in self.resource_types)
        )

    @property
    def ok(self) -> bool:
        return (
            not self.failed and not self.parse_error and (self.passed > 0 or self.policy_pack_only)
        )


def protected_stacks(config_dir: Path = DEFAULT_CONFIG_DIR) -> frozenset[str]:
    """The stacks of every environment whose config says `protected: true` (uat, prod);
    `UsageError` if the configs cannot be loaded."""
    from constructs_lib.config import ConfigError, load_environments

    try:
        configs = load_environments(config_dir, root=ROOT)
    except ConfigError as exc:
        first = exc.problems[0] if exc.problems else exc
        raise UsageError(f"cannot read the environment configs: {first}") from None
    return frozenset(stack for c in configs if c.protected for stack in c.stack_names)


def _covers_stack(skip: Skip, stack: str) -> bool:
    """Whether an entry can accept a finding in `stack`: one of its stack patterns matches,
    and it names resource types (any stack's) or a construct path that can start there."""
    return any(fnmatch.fnmatchcase(stack, s) for s in skip.stacks) and (
        bool(skip.types) or any(fnmatch.fnmatchcase(stack, p.split("/", 1)[0]) for p in skip.paths)
    )


def _names_stack(skip: Skip, stack: str) -> bool:
    """Whether an entry names `stack` itself: in `stacks`, or as the literal first part of
    one of its construct paths (`prod/Storage/Account`)."""
    return stack in skip.stacks or any(
        p.split("/", 1)[0] == stack and not _GLOB.search(p.split("/", 1)[0]) for p in skip.paths
    )


def read_skips(path: Path, protected: Collection[str] = ()) -> list[Skip]:
    """The entries of the skip file; `UsageError` naming the entry for anything malformed, or
    for a wildcard that covers one of the `protected` stacks without naming it and without a
    `protected_reason`."""
    from constructs_lib.config import safe_yaml

    try:
        data = safe_yaml.load(safe_yaml.read_text(path))
    except FileNotFoundError:
        raise UsageError(f"skip file {path} not found") from None
    except (OSError, safe_yaml.YamlInputError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    entries = data.get("skips") if isinstance(data, dict) else None
    if not isinstance(entries, list) or set(data) != {"skips"}:
        raise UsageError(f"{path}: expected one key, `skips:`, with a list of entries")
    skips = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name}: skips[{number}]"
        if not isinstance(entry, dict) or not set(entry) <= {
            "check",
            "stacks",
            "types",
            "paths",
            "reason",
            "protected_reason",
        }:
            raise UsageError(
                f"{where}: keys are check, stacks, types, paths, reason, protected_reason"
            )
        check, reason = entry.get("check"), entry.get("reason")
        protected_reason = entry.get("protected_reason", "")
        lists = {k: entry.get(k) or [] for k in ("stacks", "types", "paths")}
        if not isinstance(check, str) or not CHECK_ID.fullmatch(check):
            raise UsageError(f"{where}: check must be a checkov ID such as CKV_AZURE_33")
        if not all(
            isinstance(v, list) and all(isinstance(i, str) for i in v) for v in lists.values()
        ):
            raise UsageError(f"{where}: stacks, types and paths are lists of strings")
        if not lists["stacks"] or not (lists["types"] or lists["paths"]):
            raise UsageError(f"{where}: name the stacks and the resource types or paths it covers")
        if not isinstance(reason, str) or len(" ".join(reason.split())) < 20:
            raise UsageError(f"{where}: a written reason (at least 20 characters) is required")
        if not isinstance(protected_reason, str) or (
            "protected_reason" in entry and len(" ".join(protected_reason.split())) < 20
        ):
            raise UsageError(
                f"{where}: protected_reason must be a written reason (at least 20 characters)"
            )
        skip = Skip(
            check,
            *(tuple(lists[k]) for k in ("stacks", "types", "paths")),
            reason.strip(),
            " ".join(protected_reason.split()),
        )
        unnamed = sorted(
            stack
            for stack in protected
            if _covers_stack(skip, stack) and not _names_stack(skip, stack)
        )
        if unnamed and not protected_reason:
            raise UsageError(
                f"{where} ({check}): stacks {lists['stacks']} cover the protected stacks "
                f"{', '.join(unnamed)} without naming them. Fix: list the stacks it holds for "
                "(or their resources in paths), or add protected_reason: why the finding is "
                "accepted in uat/prod too"
            )
        skips.append(skip)
    return skips


def _resource_index(stack_file: Path) -> dict[str, tuple[str, str]]:
    """Logical ID -> (resource type, construct path) of every resource in a stack."""
    index: dict[str, tuple[str, str]] = {}
    try:
        stack = json.loads(stack_file.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        return index  # checkov reports it as a parsing error
    resources = stack.get("resource", {}) if isinstance(stack, dict) else {}
    for type_, blocks in resources.items() if isinstance(resources, dict) else ():
        for logical_id, body in blocks.items() if isinstance(blocks, dict) else ():
            meta = body.get("//", {}) if isinstance(body, dict) else {}
            path = meta.get("metadata", {}).get("path", "") if isinstance(meta, dict) else ""
            index[logical_id] = (type_, str(path))
    return index


def _stage(stack_files: Sequence[Path], staging: Path) -> Path:
    """Copy each `<stack>/cdk.tf.json` under `staging/stacks/`, without `UNSCANNED_BLOCKS`
    (a file that is not a JSON object is copied as it is: checkov reports it unparsable)."""
    scanned_dir = staging / "stacks"
    for stack_file in stack_files:
        target = scanned_dir / stack_file.parent.name / STACK_FILE
        target.parent.mkdir(parents=True)
        text = stack_file.read_text(encoding="utf-8")
        try:
            stack = json.loads(text)
        except (ValueError, RecursionError):
            stack = None
        if isinstance(stack, dict) and any(block in stack for block in UNSCANNED_BLOCKS):
            kept = {k: v for k, v in stack.items() if k not in UNSCANNED_BLOCKS}
            text = json.dumps(kept, indent=2)
        target.write_text(text, encoding="utf-8")
    return scanned_dir


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
    skips: Sequence[Skip] = (),
    only_checks: Sequence[str] | None = None,
) -> dict[str, StackResult]:
    """Scan `<outdir>/stacks/*` in one checkov run; stack name -> result, with each failed
    check that an entry of `skips` covers moved to `accepted`. `only_checks` runs just those
    checks."""
    stacks_dir = outdir / "stacks"
    if not stacks_dir.is_dir():
        raise UsageError(f"{stacks_dir} not found: synthesize first (make synth)")
    stack_files = sorted(stacks_dir.glob(f"*/{STACK_FILE}"))
    if not stack_files:
        raise UsageError(f"no */{STACK_FILE} under {stacks_dir}")
    checkov = checkov.absolute()  # checkov runs in the stacks directory: a relative path breaks
    if not checkov.is_file():
        raise UsageError(f"checkov not found at {checkov}: run `make checkov`")
    if not config.is_file():
        raise UsageError(f"checkov config {config} not found")

    with tempfile.TemporaryDirectory(prefix="security-scan-") as staging:
        scanned_dir = _stage(stack_files, Path(staging))
        command = [
            str(checkov),
            "--config-file",
            str(config.resolve()),
            "-d",
            str(scanned_dir),
        ]
        if only_checks:
            command += ["--check", ",".join(only_checks)]
        # cwd: checkov also reads a `.checkov.yaml` of its working directory; only ours counts.
        proc = subprocess.run(
            [*command, "--output", "json"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=scanned_dir,
        )
    # 0: all passed, 1: failed checks; anything else is checkov itself failing.
    if proc.returncode not in (0, 1):
        raise UsageError(f"checkov exited {proc.returncode}:\n{proc.stderr[-3000:]}")

    indexes = {f.parent.name: _resource_index(f) for f in stack_files}
    results = {
        name: StackResult(
            name,
            resource_types=tuple(sorted({type_ for type_, _path in index.values()})),
            resources=len(index),
        )
        for name, index in indexes.items()
    }
    for report in _reports(proc.stdout):
        for error in report.get("results", {}).get("parsing_errors", []):
            name = Path(error).parent.name
            if name in results:
                results[name].parse_error = True
        checks = report.get("results", {})
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for record in checks.get(kind, []):
                result = results.get(Path(record["file_abs_path"]).parent.name)
                if result is None:
                    continue
                stack_file = stacks_dir / result.name / STACK_FILE
                if kind == "passed_checks":
                    result.passed += 1
                elif kind == "skipped_checks":
                    result.skipped += 1
                else:
                    # Python checks report `resource.<id>`, graph checks `<type>.<id>`.
                    logical_id = record["resource"].rsplit(".", 1)[-1]
                    type_, path = indexes[result.name].get(logical_id, ("resource", ""))
                    finding = Finding(
                        check_id=record["check_id"],
                        check_name=record["check_name"],
                        resource=f"{type_}.{logical_id}",
                        construct_path=path,
                        file=str(stack_file),
                    )
                    skip = next((s for s in skips if s.covers(result.name, finding)), None)
                    if skip is None:
                        result.failed.append(finding)
                    else:
                        result.accepted.append((finding, skip))
                        result.skipped += 1
    return results


def unused_skips(results: dict[str, StackResult], skips: Sequence[Skip]) -> list[Skip]:
    """Entries that accepted no finding: stale, or scoped wrongly."""
    used = {skip for r in results.values() for _, skip in r.accepted}
    return [s for s in skips if s not in used]


def format_text(results: dict[str, StackResult]) -> str:
    lines: list[str] = []
    for result in results.values():
        lines.append(
            f"{result.name}: passed {result.passed}, failed {len(result.failed)}, "
            f"skipped {result.skipped}"
        )
        if result.parse_error:
            lines.append(f"  ERROR {result.name}/{STACK_FILE} could not be parsed by checkov")
        elif result.policy_pack_only:
            kinds = ", ".join(f"{prefix}*" for prefix in POLICY_PACK_TYPE_PREFIXES)
            lines.append(
                f"  covered by the policy rule pack: checkov has no checks for its "
                f"{result.resources} resources ({kinds})"
            )
        elif result.passed + len(result.failed) == 0:
            lines.append(f"  ERROR no check ran on {result.name}/{STACK_FILE}")
        for f in sorted(result.failed, key=lambda f: (f.check_id, f.resource)):
            lines.append(
                f"  FAILED {f.check_id} {f.resource} ({f.construct_path}) {f.file}: {f.check_name}"
            )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_accepted(results: dict[str, StackResult]) -> str:
    return "\n".join(
        f"{r.name}: accepted {f.check_id} {f.resource} ({f.construct_path}): {skip.reason}"
        for r in results.values()
        for f, skip in sorted(r.accepted, key=lambda a: (a[0].check_id, a[0].resource))
    )


def format_markdown(results: dict[str, StackResult], skips: Sequence[Skip]) -> str:
    lines = ["| Stack | Passed | Failed | Skipped |", "| --- | ---: | ---: | ---: |"]
    for r in results.values():
        if r.policy_pack_only:
            lines.append(f"| {r.name} | policy rule pack ({r.resources} resources) | | |")
        else:
            lines.append(f"| {r.name} | {r.passed} | {len(r.failed)} | {r.skipped} |")
    if skips:
        lines += [
            "",
            "| Skipped check | Where | Reason | Why it holds in uat/prod |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {s.check} | {_cell(s.scope)} | {_cell(s.reason)} | "
            f"{_cell(s.protected_reason) or 'names them, or does not apply there'} |"
            for s in skips
        ]
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
    parser.add_argument("--skips", type=Path, default=DEFAULT_SKIPS)
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help="environment configs (which stacks are protected)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--accepted",
        action="store_true",
        help="also list every accepted finding with its reason",
    )
    args = parser.parse_args(argv)
    try:
        if not args.config.is_file():
            raise UsageError(f"checkov config {args.config} not found")
        skips = read_skips(args.skips, protected_stacks(args.config_dir))
        results = scan(args.outdir, args.checkov, args.config, skips)
    except UsageError as exc:
        print(f"security_scan: {exc}", file=sys.stderr)
        return 2
    if args.markdown:
        print(format_markdown(results, skips))
    else:
        print(format_text(results))
        if args.accepted:
            print(format_accepted(results))
    return 0 if all(r.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
