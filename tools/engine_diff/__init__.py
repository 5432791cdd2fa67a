"""Compare two synthesized outputs of the same configs, one per CDK engine (cdktf and cdktn),
resource by resource and attribute by attribute, against the documented differences.

    python -m tools.engine_diff CDKTF_OUT CDKTN_OUT [--differences FILE]

(`make cdktn-check` writes them to cdktf.out and cdktn.out.)

The documented differences are data (`expected_differences.yaml` beside this file): each has an
ID, a reason and its evidence, and is one of

- `value`: the value at a JSON path of every stack (or of `manifest.json`) changes from exactly
  `cdktf:` to exactly `cdktn:` (framework and provider versions);
- `argument`: a resource argument renamed or reshaped in the newer provider: on every resource
  of `resource:` that has `from:`, the cdktf value of `from:` is mapped (`mapping:`) to the cdktn
  argument `to:`, and the arguments in `drop:` disappear.

`compare` applies every documented difference to the cdktf output and then requires the result
to equal the cdktn output exactly (same stacks, same files, same resources, same addresses, same
attributes, same values). It reports every remaining difference by stack, block, resource and
attribute, how often each documented difference applied, and every documented difference that
applied nowhere (stale documentation). Non-JSON files (the wheel asset) must be byte-identical.

Exit status of the command: 0 the outputs differ exactly by the documented differences; 1 an
undocumented difference or a stale entry; 2 usage error (a missing directory or a malformed
differences file).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DIFFERENCES_FILE = Path(__file__).resolve().parent / "expected_differences.yaml"
KINDS = ("value", "argument")
FILES = ("stack", "manifest")
_ABSENT = object()


class UsageError(Exception):
    """A missing output directory or a malformed differences file (exit status 2)."""


def _blocks_of(key: str) -> Callable[[Any], Any]:
    def mapped(value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        return [{key: item} for item in value]

    return mapped


def _reference_attribute(attribute: str) -> Callable[[Any], Any]:
    reference = re.compile(r"^\$\{([A-Za-z0-9_.-]+)\.[A-Za-z0-9_]+\}$")

    def mapped(value: Any) -> Any:
        match = reference.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"expected a ${{type.name.attribute}} reference, got {value!r}")
        return f"${{{match.group(1)}.{attribute}}}"

    return mapped


def _negated(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"expected a boolean, got {value!r}")
    return not value


def mapping_function(spec: str) -> Callable[[Any], Any]:
    """`same`, `negated`, `blocks_of:<key>` (each list item becomes a block `{key: item}`) or
    `reference_attribute:<attr>` (`${type.name.x}` becomes `${type.name.<attr>}`)."""
    name, _, arg = spec.partition(":")
    if name == "same" and not arg:
        return lambda value: value
    if name == "negated" and not arg:
        return _negated
    if name == "blocks_of" and arg:
        return _blocks_of(arg)
    if name == "reference_attribute" and arg:
        return _reference_attribute(arg)
    raise UsageError(
        f"unknown mapping {spec!r} (same, negated, blocks_of:<key>, "
        "reference_attribute:<attribute>)"
    )


@dataclass(frozen=True)
class Difference:
    """One documented difference between the engines' outputs."""

    id: str
    kind: str
    reason: str
    evidence: str
    file: str = "stack"
    path: tuple[str, ...] = ()
    cdktf: Any = None
    cdktn: Any = None
    resource: str = ""
    from_: str = ""
    to: str = ""
    drop: tuple[str, ...] = ()
    mapping: str = "same"
    deployed: str = ""
    """What the difference means for an environment deployed with the other engine."""


def read_differences(path: Path = DIFFERENCES_FILE) -> list[Difference]:
    """The documented differences of `path`; raises UsageError naming the entry and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"differences"}:
        raise UsageError(f"{path}: expected one key, `differences:`")
    out: list[Difference] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["differences"] or []):
        where = f"{path}: differences[{i}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: expected a mapping")
        kind = entry.get("kind")
        ident = entry.get("id")
        if not isinstance(ident, str) or not ident or ident in seen:
            raise UsageError(f"{where}: `id` must be a unique non-empty string (got {ident!r})")
        seen.add(ident)
        if kind not in KINDS:
            raise UsageError(f"{where} ({ident}): `kind` must be one of {', '.join(KINDS)}")
        for text in ("reason", "evidence"):
            if not isinstance(entry.get(text), str) or len(entry[text].split()) < 5:
                raise UsageError(f"{where} ({ident}): `{text}` needs a written sentence")
        common = {
            "id": ident,
            "kind": kind,
            "reason": " ".join(entry["reason"].split()),
            "evidence": " ".join(entry["evidence"].split()),
            "deployed": " ".join(str(entry.get("deployed", "")).split()),
        }
        if kind == "value":
            allowed = {"id", "kind", "reason", "evidence", "deployed", "file", "path"}
            allowed |= {"cdktf", "cdktn"}
            file_ = entry.get("file", "stack")
            path_ = entry.get("path")
            if file_ not in FILES or not isinstance(path_, list) or not path_:
                raise UsageError(f"{where} ({ident}): `file` (stack|manifest) and `path` needed")
            if "cdktf" not in entry or "cdktn" not in entry:
                raise UsageError(f"{where} ({ident}): `cdktf` and `cdktn` values needed")
            diff = Difference(
                **common,
                file=file_,
                path=tuple(str(p) for p in path_),
                cdktf=entry["cdktf"],
                cdktn=entry["cdktn"],
            )
        else:
            allowed = {"id", "kind", "reason", "evidence", "deployed", "resource", "from", "to"}
            allowed |= {"drop", "mapping"}
            for key in ("resource", "from", "to"):
                if not isinstance(entry.get(key), str) or not entry[key]:
                    raise UsageError(f"{where} ({ident}): `{key}` needed")
            mapping = entry.get("mapping", "same")
            mapping_function(mapping)  # validates
            diff = Difference(
                **common,
                resource=entry["resource"],
                from_=entry["from"],
                to=entry["to"],
                drop=tuple(entry.get("drop") or ()),
                mapping=mapping,
            )
        unknown = set(entry) - allowed
        if unknown:
            raise UsageError(f"{where} ({ident}): unknown key(s) {', '.join(sorted(unknown))}")
        out.append(diff)
    return out


@dataclass
class Report:
    """What `compare` found."""

    applied: dict[str, int] = field(default_factory=dict)
    """Difference ID -> how many places it applied to."""
    problems: list[str] = field(default_factory=list)
    """Every difference the documentation does not explain, one line each."""

    def stale(self) -> list[str]:
        """Documented differences that applied nowhere."""
        return [ident for ident, count in self.applied.items() if count == 0]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.stale()


def _get(tree: Any, path: Iterable[str]) -> Any:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return _ABSENT
        tree = tree[key]
    return tree


def _set(tree: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _apply_value(diff: Difference, where: str, tree: dict, report: Report) -> None:
    found = _get(tree, diff.path)
    if found is _ABSENT:
        return
    if found != diff.cdktf:
        report.problems.append(
            f"{where}: {'.'.join(diff.path)}: documented ({diff.id}) as {diff.cdktf!r} under "
            f"cdktf, found {found!r}"
        )
        return
    _set(tree, diff.path, diff.cdktn)
    report.applied[diff.id] += 1


def _apply_argument(diff: Difference, where: str, tree: dict, report: Report) -> None:
    mapped = mapping_function(diff.mapping)
    for block in ("resource", "data"):
        for name, body in (tree.get(block, {}).get(diff.resource) or {}).items():
            if diff.from_ not in body:
                continue
            at = f"{where}: {block}.{diff.resource}.{name}"
            missing = [d for d in diff.drop if d not in body]
            if missing:
                report.problems.append(
                    f"{at}: documented ({diff.id}) to drop {', '.join(missing)} with "
                    f"{diff.from_}, but cdktf does not set it"
                )
                continue
            try:
                body[diff.to] = mapped(body.pop(diff.from_))
            except ValueError as exc:
                report.problems.append(f"{at}.{diff.from_}: {diff.mapping} ({diff.id}): {exc}")
                continue
            for dropped in diff.drop:
                del body[dropped]
            report.applied[diff.id] += 1


def _describe(value: Any) -> str:
    text = "absent" if value is _ABSENT else json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:160] + "…"


def _tree_diff(expected: Any, actual: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            _tree_diff(expected.get(key, _ABSENT), actual.get(key, _ABSENT), f"{path}.{key}", out)
        return
    if expected != actual:
        out.append(
            f"{path}: cdktf (with the documented differences) {_describe(expected)}, "
            f"cdktn {_describe(actual)}"
        )


def _stack_diff(stack: str, expected: dict, actual: dict, out: list[str]) -> None:
    """Differences block by block: resources and data sources by type and address, so a line
    names the resource and the attribute."""
    for block in sorted(set(expected) | set(actual)):
        e, a = expected.get(block, _ABSENT), actual.get(block, _ABSENT)
        if block in ("resource", "data") and isinstance(e, dict) and isinstance(a, dict):
            for type_ in sorted(set(e) | set(a)):
                te, ta = e.get(type_, {}), a.get(type_, {})
                for name in sorted(set(te) | set(ta)):
                    address = f"{block}.{type_}.{name}"
                    if name not in ta:
                        out.append(f"{stack}: {address}: only in the cdktf output")
                    elif name not in te:
                        out.append(f"{stack}: {address}: only in the cdktn output")
                    else:
                        _tree_diff(te[name], ta[name], f"{stack}: {address}", out)
        else:
            _tree_diff(e, a, f"{stack}: {block}", out)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def compare(
    cdktf_out: Path, cdktn_out: Path, differences: Iterable[Difference] | None = None
) -> Report:
    """Apply the documented differences to `cdktf_out` and compare the result with
    `cdktn_out` (see the module docstring)."""
    diffs = list(read_differences() if differences is None else differences)
    report = Report(applied={d.id: 0 for d in diffs})
    for out in (cdktf_out, cdktn_out):
        if not (out / "manifest.json").is_file():
            raise UsageError(f"{out}: no manifest.json (synthesize it first)")
    manifest_e, manifest_a = _load(cdktf_out / "manifest.json"), _load(cdktn_out / "manifest.json")
    for diff in diffs:
        if diff.kind == "value" and diff.file == "manifest":
            _apply_value(diff, "manifest.json", manifest_e, report)
    stacks_e = manifest_e.get("stacks", {})
    stacks_a = manifest_a.get("stacks", {})
    _stack_diff("manifest.json", manifest_e, manifest_a, report.problems)
    for stack in sorted(set(stacks_e) & set(stacks_a)):
        rel = stacks_e[stack]["synthesizedStackPath"]
        expected, actual = _load(cdktf_out / rel), _load(cdktn_out / rel)
        expected = copy.deepcopy(expected)
        for diff in diffs:
            if diff.kind == "value" and diff.file == "stack":
                _apply_value(diff, stack, expected, report)
            elif diff.kind == "argument":
                _apply_argument(diff, stack, expected, report)
        _stack_diff(stack, expected, actual, report.problems)
    report.problems += _other_files(cdktf_out, cdktn_out)
    return report


def _other_files(cdktf_out: Path, cdktn_out: Path) -> list[str]:
    """Every file besides manifest.json and the stacks' JSON: same names, same bytes."""

    def files(root: Path) -> dict[str, Path]:
        return {
            str(p.relative_to(root)): p
            for p in root.rglob("*")
            if p.is_file() and p.suffix != ".json" and not p.name.startswith(".")
        }

    a, b = files(cdktf_out), files(cdktn_out)
    out = [f"{name}: only in the cdktf output" for name in sorted(set(a) - set(b))]
    out += [f"{name}: only in the cdktn output" for name in sorted(set(b) - set(a))]
    out += [
        f"{name}: the files differ"
        for name in sorted(set(a) & set(b))
        if a[name].read_bytes() != b[name].read_bytes()
    ]
    return out


def format_report(report: Report, differences: Mapping[str, Difference]) -> str:
    """The documented differences with their counts, then every problem."""
    lines = ["documented differences (cdktf -> cdktn), places applied:"]
    for ident, count in report.applied.items():
        diff = differences[ident]
        what = (
            f"{'.'.join(diff.path)}: {diff.cdktf!r} -> {diff.cdktn!r}"
            if diff.kind == "value"
            else f"{diff.resource}.{diff.from_}"
            + (f" (+ {', '.join(diff.drop)})" if diff.drop else "")
            + f" -> {diff.to} ({diff.mapping})"
        )
        lines.append(f"  {ident:<40} {count:>3}  {what}")
    stale = report.stale()
    if stale:
        lines.append("stale (documented, applied nowhere): " + ", ".join(stale))
    if report.problems:
        lines.append(f"{len(report.problems)} undocumented difference(s):")
        lines += [f"  {p}" for p in report.problems]
    else:
        lines.append("no undocumented difference")
    return "\n".join(lines)
