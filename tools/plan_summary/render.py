"""Markdown for a pull-request comment or an issue body.

The output is assembled from blocks that are each balanced on their own (a whole table row, a
whole `<details>` element, a whole code fence). Truncation drops whole blocks only, so the
result never ends inside a tag or a code fence and always stays under `max_chars`.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field

from tools.plan_summary.diff import attribute_changes, format_value, redact
from tools.plan_summary.model import (
    CREATE,
    DELETE,
    DESTRUCTIVE_KINDS,
    REPLACE,
    SUMMARISED_KINDS,
    UPDATE,
    Plan,
    ResourceChange,
)

MARKER_PREFIX = "plan-summary"
MAX_ATTRS_PER_RESOURCE = 40
VALUE_LIMIT = 120
TRUNCATION_NOTE = (
    "\n> [!NOTE]\n> This summary was truncated to stay under GitHub's comment size limit: "
    "{omitted} item(s) left out. The full plan is in the workflow run's artifacts.\n"
)
# Room kept for the note (with a large count) when budgeting.
_NOTE_RESERVE = len(TRUNCATION_NOTE.format(omitted=10**9))

_KIND_LABEL = {CREATE: "create", UPDATE: "update", REPLACE: "replace", DELETE: "delete"}
_KIND_SIGN = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DELETE: "-"}


def marker(name: str) -> str:
    """The hidden HTML comment that identifies a sticky comment or issue body."""
    safe = "".join(c for c in name if c.isalnum() or c in "-_.:") or "default"
    return f"<!-- {MARKER_PREFIX}:{safe} -->"


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = text.replace("\n", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fence(lines: list[str], lang: str = "diff") -> str:
    body = "\n".join(lines)
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}{lang}\n{body}\n{fence}"


@dataclass
class Section:
    """A group of items shown only if at least its frame fits; items are dropped whole."""

    head: str
    items: list[str] = field(default_factory=list)
    tail: str = ""


def _counts_table(plan: Plan) -> Section:
    per_type: dict[str, Counter[str]] = {}
    for rc in plan.summarised:
        per_type.setdefault(rc.type, Counter())[rc.kind] += 1
    head = "| Resource type | Create | Update | Replace | Delete |\n|---|---:|---:|---:|---:|"
    rows = []
    # Types with destructive changes first, then by name.
    for rtype in sorted(
        per_type, key=lambda t: (-sum(per_type[t][k] for k in (REPLACE, DELETE)), t)
    ):
        c = per_type[rtype]
        cells = " | ".join(str(c[k]) if c[k] else "" for k in (CREATE, UPDATE, REPLACE, DELETE))
        rows.append(f"| {_code(rtype)} | {cells} |")
    return Section(head=head, items=rows, tail="")


def _destructive_item(rc: ResourceChange, protected: frozenset[str]) -> str:
    flag = " — **protected type**" if rc.type in protected else ""
    line = f"- **{_KIND_LABEL[rc.kind]}** {_code(rc.address)}{flag}"
    if rc.kind == REPLACE and rc.replace_paths:
        paths = ", ".join(_code(_path_text(p)) for p in rc.replace_paths[:10])
        line += f" (forced by {paths})"
    if rc.action_reason:
        line += f" — reason: {_code(rc.action_reason)}"
    return line


def _path_text(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(whole object)"


def _update_item(rc: ResourceChange) -> str:
    changes = attribute_changes(
        rc.before,
        rc.after,
        rc.before_sensitive,
        rc.after_sensitive,
        rc.after_unknown,
        limit=VALUE_LIMIT,
    )
    lines = [f"~ {c.path}: {c.before} -> {c.after}" for c in changes[:MAX_ATTRS_PER_RESOURCE]]
    if len(changes) > MAX_ATTRS_PER_RESOURCE:
        lines.append(f"  … {len(changes) - MAX_ATTRS_PER_RESOURCE} more attribute(s)")
    if not lines:
        lines = ["  (no attribute differences visible in the plan)"]
    summary = f"<code>{html.escape(rc.address)}</code> ({len(changes)} attribute(s))"
    return f"<details><summary>{summary}</summary>\n\n{_fence(lines)}\n\n</details>"


def _create_item(rc: ResourceChange) -> str:
    return f"- {_code(rc.address)}"


def _replaced_attrs_item(rc: ResourceChange) -> str:
    """For a replace: what changes, so the reviewer sees why."""
    changes = attribute_changes(
        rc.before, rc.after, rc.before_sensitive, rc.after_sensitive, rc.after_unknown
    )
    forced = {_path_text(p) for p in rc.replace_paths}
    lines = []
    for c in changes[:MAX_ATTRS_PER_RESOURCE]:
        sign = "!" if c.path in forced else "~"
        lines.append(f"{sign} {c.path}: {c.before} -> {c.after}")
    if len(changes) > MAX_ATTRS_PER_RESOURCE:
        lines.append(f"  … {len(changes) - MAX_ATTRS_PER_RESOURCE} more attribute(s)")
    if not lines:
        lines = ["  (no attribute differences visible in the plan)"]
    summary = f"<code>{html.escape(rc.address)}</code> — attributes ('!' forces replacement)"
    return f"<details><summary>{summary}</summary>\n\n{_fence(lines)}\n\n</details>"


def _deleted_item(rc: ResourceChange) -> str:
    value = format_value(redact(rc.before, rc.before_sensitive), VALUE_LIMIT)
    return f"- {_code(rc.address)}: {_code(value)}"


def render(
    plan: Plan,
    *,
    title: str,
    protected: frozenset[str],
    violations: list[ResourceChange],
    allow_destroy: bool,
    max_chars: int,
    marker_name: str = "default",
) -> str:
    """Markdown for the plan; always shorter than max_chars and balanced."""
    kinds = Counter(rc.kind for rc in plan.summarised)
    mandatory: list[str] = [marker(marker_name), f"### {html.escape(title)}"]
    if plan.errored:
        mandatory.append("> [!WARNING]\n> Terraform reported errors while planning; see the log.")
    if plan.is_noop:
        mandatory.append("**No changes.** The infrastructure matches the configuration.")
        return "\n\n".join(mandatory) + "\n"
    mandatory.append(
        "**Plan:** "
        + ", ".join(f"{kinds[k]} to {_KIND_LABEL[k]}" for k in (CREATE, UPDATE, REPLACE, DELETE))
    )
    if violations and not allow_destroy:
        mandatory.append(
            "> [!CAUTION]\n> **Blocked:** this plan deletes or replaces "
            f"{len(violations)} protected resource(s). The check fails until a maintainer "
            "reviews it and adds the `allow-destroy` label to the pull request."
        )
    elif violations:
        mandatory.append(
            "> [!WARNING]\n> This plan deletes or replaces "
            f"{len(violations)} protected resource(s); allowed by the `allow-destroy` label."
        )

    sections: list[Section] = [_counts_table(plan)]
    destructive = [rc for rc in plan.summarised if rc.kind in DESTRUCTIVE_KINDS]
    # Replacements and deletions of protected types first.
    destructive.sort(key=lambda rc: (rc.type not in protected, rc.kind != DELETE, rc.address))
    if destructive:
        sections.append(
            Section(
                head=f"#### Destructive changes ({len(destructive)})",
                items=[_destructive_item(rc, protected) for rc in destructive],
            )
        )
        replaced = [rc for rc in destructive if rc.kind == REPLACE]
        deleted = [rc for rc in destructive if rc.kind == DELETE]
        if replaced:
            sections.append(
                Section(
                    head="<details><summary>Why resources are replaced</summary>\n",
                    items=[_replaced_attrs_item(rc) for rc in replaced],
                    tail="\n</details>",
                )
            )
        if deleted:
            sections.append(
                Section(
                    head="<details><summary>Deleted objects (last known values)</summary>\n",
                    items=[_deleted_item(rc) for rc in deleted],
                    tail="\n</details>",
                )
            )
    updates = plan.changes(UPDATE)
    if updates:
        sections.append(
            Section(
                head=f"<details><summary>Updated in place ({len(updates)})</summary>\n",
                items=[_update_item(rc) for rc in sorted(updates, key=lambda r: r.address)],
                tail="\n</details>",
            )
        )
    creates = plan.changes(CREATE)
    if creates:
        sections.append(
            Section(
                head=f"<details><summary>Created ({len(creates)})</summary>\n",
                items=[_create_item(rc) for rc in sorted(creates, key=lambda r: r.address)],
                tail="\n</details>",
            )
        )
    return _assemble(mandatory, sections, max_chars)


def _assemble(mandatory: list[str], sections: list[Section], max_chars: int) -> str:
    out = "\n\n".join(mandatory)
    budget = max_chars - _NOTE_RESERVE - 1
    omitted = 0
    for section in sections:
        frame = len("\n\n") + len(section.head) + len("\n") + len(section.tail)
        if len(out) + frame > budget:
            omitted += len(section.items)
            continue
        body = section.head
        for index, item in enumerate(section.items):
            if len(out) + len(body) + len("\n") + len(item) + len(section.tail) + 2 > budget:
                omitted += len(section.items) - index
                break
            body += "\n" + item
        out += "\n\n" + body + section.tail
    if omitted:
        out += "\n" + TRUNCATION_NOTE.format(omitted=omitted)
    return out.rstrip("\n") + "\n"


__all__ = ["SUMMARISED_KINDS", "marker", "render"]
