"""Markdown for a pull-request comment or an issue body.

The output is assembled from blocks that are each balanced on their own (a whole table row, a
whole `<details>` element, a whole code fence). Truncation drops whole blocks only, so the
result never ends inside a tag or a code fence and always stays under `max_chars`.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from tools.plan_summary.diff import ABSENT, AttrChange, attribute_changes, format_value, redact
from tools.plan_summary.model import (
    CREATE,
    DELETE,
    DESTRUCTIVE_KINDS,
    NO_OP,
    REPLACE,
    SUMMARISED_KINDS,
    UPDATE,
    OutputChange,
    Plan,
    ResourceChange,
)

MARKER_PREFIX = "plan-summary"
MAX_ATTRS_PER_RESOURCE = 40
MAX_CREATED_PER_TYPE = 50
MAX_KEY_ATTRS = 4
KEY_ATTRIBUTES = (
    "name",
    "display_name",
    "path",
    "location",
    "sku",
    "sku_name",
    "account_tier",
    "account_replication_type",
    "role_definition_name",
    "scope",
    "application_id",
    "spark_version",
    "node_type_id",
)
"""Attributes that identify a new object to a reviewer, in the order they are shown."""
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


_LINE_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    """`text` with line breaks and other control characters shown as escapes (`\\n`). An
    address can hold any string (a `for_each` key): a line break in it would end the HTML block
    of a `<details>` element, or the list item, and let the rest of it act as Markdown of the
    comment (a code fence, a heading, a closing tag)."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group(0))[1:-1], text)


def _html(text: str) -> str:
    """Text for inside an HTML element, on one line."""
    return html.escape(_one_line(text))


def _code(text: str) -> str:
    """Inline code on one line that survives backticks in the text."""
    text = _one_line(text)
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


def _path_text(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(whole object)"


def _destructive_item(rc: ResourceChange, protected: Collection[str]) -> str:
    """What forces the change first (replace_paths, action_reason), then the flags."""
    line = f"- **{_KIND_LABEL[rc.kind]}** {_code(rc.address)}"
    if rc.kind == REPLACE and rc.replace_paths:
        paths = ", ".join(_code(_path_text(p)) for p in rc.replace_paths[:10])
        more = f" and {len(rc.replace_paths) - 10} more" if len(rc.replace_paths) > 10 else ""
        line += f" — forced by {paths}{more}"
    if rc.action_reason:
        line += f" — reason {_code(rc.action_reason)}"
    if rc.type in protected:
        line += " — **protected type**"
    return line


def _diff_lines(changes: list[AttrChange], forced: set[str] | None = None) -> list[str]:
    forced = forced or set()
    # Attributes that force a replacement first, then the rest in path order.
    ordered = sorted(changes, key=lambda c: (c.path not in forced, c.path))
    lines = [
        f"{'!' if c.path in forced else '~'} {c.path}: {c.before} -> {c.after}"
        for c in ordered[:MAX_ATTRS_PER_RESOURCE]
    ]
    if len(changes) > MAX_ATTRS_PER_RESOURCE:
        lines.append(f"  … {len(changes) - MAX_ATTRS_PER_RESOURCE} more attribute(s)")
    return lines or ["  (no attribute differences visible in the plan)"]


def _changes_of(rc: ResourceChange) -> list[AttrChange]:
    return attribute_changes(
        rc.before,
        rc.after,
        rc.before_sensitive,
        rc.after_sensitive,
        rc.after_unknown,
        limit=VALUE_LIMIT,
    )


def _details(summary: str, lines: list[str]) -> str:
    return f"<details><summary>{summary}</summary>\n\n{_fence(lines)}\n\n</details>"


def _update_item(rc: ResourceChange) -> str:
    changes = _changes_of(rc)
    summary = f"<code>{_html(rc.address)}</code> ({len(changes)} attribute(s))"
    return _details(summary, _diff_lines(changes))


def _replaced_attrs_item(rc: ResourceChange) -> str:
    """For a replace: what changes, the attributes that force it first."""
    forced = {_path_text(p) for p in rc.replace_paths}
    summary = f"<code>{_html(rc.address)}</code> — attributes ('!' forces replacement)"
    return _details(summary, _diff_lines(_changes_of(rc), forced))


def _deleted_item(rc: ResourceChange) -> str:
    value = format_value(redact(rc.before, rc.before_sensitive), VALUE_LIMIT)
    return f"- {_code(rc.address)}: {_code(value)}"


def _drift_item(rc: ResourceChange) -> str:
    # A blank line first: list items and <details> blocks alternate here.
    if rc.kind == DELETE:
        return f"\n- {_code(rc.address)}: deleted outside Terraform"
    changes = _changes_of(rc)
    summary = f"<code>{_html(rc.address)}</code> ({len(changes)} attribute(s) changed)"
    return "\n" + _details(summary, _diff_lines(changes))


def _noise_line(count: int) -> str:
    return (
        f"**Refresh noise:** {count} resource(s) read back differently after the refresh in "
        "ways that change nothing (listed apart below; not drift)."
    )


def _noise_section(noise: list[ResourceChange]) -> Section:
    return Section(
        head=f"<details><summary>Refresh noise ({len(noise)}): read back differently, changes "
        "nothing</summary>\n\nThe refresh recorded these differences, but no planned change "
        "follows from them and the plan relies on none of the attributes (Terraform's "
        "`relevant_attributes`), so Terraform itself does not report them as drift.\n",
        items=[_drift_item(rc) for rc in sorted(noise, key=lambda r: r.address)],
        tail="\n</details>",
    )


def _output_item(oc: OutputChange) -> str:
    before = format_value(redact(oc.before, oc.before_sensitive), VALUE_LIMIT)
    after = format_value(redact(oc.after, oc.after_sensitive, oc.after_unknown), VALUE_LIMIT)
    if oc.kind == CREATE:
        before = ABSENT
    elif oc.kind == DELETE:
        after = ABSENT
    return f"- **{_KIND_LABEL[oc.kind]}** {_code(oc.name)}: {_code(before)} → {_code(after)}"


def key_attributes(rc: ResourceChange) -> list[tuple[str, str]]:
    """Up to MAX_KEY_ATTRS identifying attributes of a planned object, known and not sensitive
    (name, location, SKU, scope ...), in KEY_ATTRIBUTES order."""
    after = rc.after if isinstance(rc.after, dict) else {}
    out: list[tuple[str, str]] = []
    for key in KEY_ATTRIBUTES:
        value = after.get(key)
        sensitive = _masked(rc.after_sensitive, key)
        unknown = _masked(rc.after_unknown, key)
        if value is None or sensitive or unknown or isinstance(value, dict | list):
            continue
        text = value if isinstance(value, str) else format_value(value, 60)
        out.append((key, text[:60]))
        if len(out) == MAX_KEY_ATTRS:
            break
    return out


def _masked(mask: object, key: str) -> bool:
    return mask is True or (isinstance(mask, dict) and mask.get(key) is True)


def _created_type_item(rtype: str, items: list[ResourceChange]) -> str:
    # A blank line first: the bold type line must not continue the previous type's list.
    lines = ["", f"**{_code(rtype)}** ({len(items)})", ""]
    for rc in items[:MAX_CREATED_PER_TYPE]:
        attrs = ", ".join(f"{k} {_code(v)}" for k, v in key_attributes(rc))
        lines.append(f"- {_code(rc.address)}" + (f": {attrs}" if attrs else ""))
    if len(items) > MAX_CREATED_PER_TYPE:
        lines.append(f"- … and {len(items) - MAX_CREATED_PER_TYPE} more")
    return "\n".join(lines)


def render(
    plan: Plan,
    *,
    title: str,
    protected: Collection[str],
    violations: list[ResourceChange],
    allow_destroy: bool,
    max_chars: int,
    marker_name: str = "default",
    notes: Sequence[str] = (),
    extra_sections: Sequence[Section] = (),
) -> str:
    """Markdown for the plan; always shorter than max_chars and balanced. `notes` are
    mandatory paragraphs shown after the title (what the plan was compared with, what it was
    planned against); `extra_sections` come right after the counts."""
    kinds = Counter(rc.kind for rc in plan.summarised)
    mandatory: list[str] = [marker(marker_name), f"### {_html(title)}"]
    if plan.errored:
        mandatory.append(
            "> [!CAUTION]\n> **Plan errored:** Terraform stopped planning on an error, so this "
            "plan is incomplete and cannot be applied. The error is in the workflow log."
        )
    elif not plan.complete:
        mandatory.append(
            "> [!NOTE]\n> Terraform marked this plan incomplete (deferred changes): after it is "
            "applied, another plan will show more changes."
        )
    mandatory += notes
    noise = plan.refresh_noise
    if plan.is_noop:
        mandatory.append("**No changes.** The infrastructure matches the configuration.")
        if not noise:
            return "\n\n".join(mandatory) + "\n"
        mandatory.append(_noise_line(len(noise)))
        return _assemble(mandatory, [_noise_section(noise)], max_chars)
    if plan.never_applied:
        mandatory.append(
            f"**Never applied:** this stack has no resources in its state yet; "
            f"{kinds[CREATE]} to create."
        )
    mandatory.append(
        "**Plan:** "
        + ", ".join(f"{kinds[k]} to {_KIND_LABEL[k]}" for k in (CREATE, UPDATE, REPLACE, DELETE))
        + (" (partial: planning stopped on an error)" if plan.errored else "")
    )
    drifted = plan.relevant_drift
    if drifted:
        mandatory.append(
            f"**Changed outside Terraform:** {len(drifted)} resource(s) differ from the "
            "last applied state in ways this plan acts on or relies on (listed separately below; "
            "they are not changes this plan makes)."
        )
    if noise:
        mandatory.append(_noise_line(len(noise)))
    if plan.changed_outputs:
        mandatory.append(f"**Outputs:** {len(plan.changed_outputs)} to change.")
    if plan.imports:
        mandatory.append(
            f"**Imports:** {len(plan.imports)} existing object(s) adopted into the state "
            "(`import` blocks): planning an import reads the object with the planning "
            "identity, so a stack whose imports are not applied yet cannot be planned by a "
            "read-only identity that may not read it."
        )
    if violations and not allow_destroy:
        mandatory.append(
            "> [!CAUTION]\n> **Blocked:** this plan deletes or replaces "
            f"{len(violations)} protected resource(s). It fails until a maintainer approves "
            "the destruction: the `allow-destroy` label on the pull request (someone other than "
            "its author), or the `allow-destroy` input of a deploy dispatch (docs/cicd.md)."
        )
    elif violations:
        mandatory.append(
            "> [!WARNING]\n> This plan deletes or replaces "
            f"{len(violations)} protected resource(s); the destruction was approved "
            "(`allow-destroy`)."
        )

    sections: list[Section] = []
    if plan.summarised:
        sections.append(_counts_table(plan))
    sections += extra_sections
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
    if drifted:
        sections.append(
            Section(
                head=f"#### Changed outside Terraform ({len(drifted)})\n\n"
                "What the refresh found (`resource_drift`) that leads to a planned change or "
                "touches an attribute the plan relies on (`relevant_attributes`); the plan above "
                "already accounts for it.",
                items=[_drift_item(rc) for rc in sorted(drifted, key=lambda r: r.address)],
            )
        )
    if plan.imports:
        sections.append(
            Section(
                head=f"#### Imported ({len(plan.imports)})",
                items=[
                    f"- {_code(rc.address)} ← ID {_code(rc.importing or '')}"
                    + ("" if rc.kind == NO_OP else f" (then {rc.kind})")
                    for rc in sorted(plan.imports, key=lambda r: r.address)
                ],
            )
        )
    if plan.changed_outputs:
        sections.append(
            Section(
                head=f"#### Output changes ({len(plan.changed_outputs)})",
                items=[_output_item(oc) for oc in plan.changed_outputs],
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
    if noise:
        sections.append(_noise_section(noise))
    creates = plan.changes(CREATE)
    if creates:
        by_type: dict[str, list[ResourceChange]] = {}
        for rc in sorted(creates, key=lambda r: r.address):
            by_type.setdefault(rc.type, []).append(rc)
        sections.append(
            Section(
                head=f"<details><summary>Created ({len(creates)}), by type</summary>\n",
                items=[_created_type_item(t, by_type[t]) for t in sorted(by_type)],
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


__all__ = ["SUMMARISED_KINDS", "Section", "marker", "render"]
