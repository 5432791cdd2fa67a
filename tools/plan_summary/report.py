"""One stack's plan outcome, as the workflows' summary and gate jobs report it.

    python -m tools.plan_summary.report PLAN_DIR --stack dev [--title T] [--marker M]
        [--allow-destroy] [--output FILE] [--status-json FILE] [--config FILE]
        [--platform-plan FILE] [--change-set FILE] [--max-chars N]
        [--deploy [--reviewed FILE --reviewed-label TEXT]]

A Terraform-only plan job leaves, per stack, a directory (PLAN_DIR):

    result          one line: `ok`, `failed`, or `skipped <reason>`
    plan.json       `terraform show -json` of the saved plan, when Terraform wrote one
    plan.log        Terraform's output (init, plan; -no-color)
    config.tf.json  (workspace stacks) the synthesized configuration, before it was pointed at
                    the platform plan's outputs (tools.plan_summary.crossstack)

This prints the plan summary when Terraform planned (`tools.plan_summary`), a "plan failed"
report with Terraform's error when it did not, or a note when the stack was not planned; and
exits as the gate decides:

    0  planned (or skipped on purpose, or a workspace plan that needs the platform apply
       first); nothing blocks
    2  unusable input, one line on stderr: plan JSON (not UTF-8, not JSON, nested too deep, a
       number out of range), change set or config, an unreadable result file, an output that
       cannot be written (e.g. its directory is missing)
    3  a protected resource is deleted or replaced without approval
    4  Terraform reported errors while planning (an errored, partial plan)
    5  the plan failed or never ran (no result, or `failed`)

`--platform-plan` (workspace stacks): the platform plan the stack was planned against; the
report says which platform outputs it reads, how they change, and which workspace changes
follow from them. `--change-set FILE` writes this plan's change set (pull requests record the
reviewed one). `--deploy` (the deploy's gates) says whether the apply runs (`changes`) and, with
`--reviewed FILE`, compares this plan's change set with the reviewed one (a missing file means
nothing was reviewed; without `--reviewed` the environment is not planned at pull-request time);
the status says whether the apply needs an explicit approval (`approval`, empty when not).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

from tools.plan_summary import changeset, cli, crossstack
from tools.plan_summary.model import PlanError, load_plan
from tools.plan_summary.policy import DEFAULT_CONFIG, load_policy
from tools.plan_summary.render import Section, marker
from tools.safe_input import (
    InputError,
    OneLineParser,
    check_writable,
    one_line,
    read_text,
    write_text,
)

EXIT_PLAN_FAILED = 5
MAX_RESULT_BYTES = 4 << 10
MAX_LOG_BYTES = 32 << 20
ERROR_LINES = 60
ERROR_CHARS = 6_000
PREVENT_DESTROY_ERROR = "Instance cannot be destroyed"
"""Terraform's summary when a plan would destroy a resource with `lifecycle.prevent_destroy`
(hashicorp/terraform v1.11.4 internal/terraform/node_resource_abstract_instance.go)."""


def error_excerpt(log: str) -> str:
    """Terraform's error diagnostics from a -no-color log: from the first `Error:` line on
    (at most ERROR_LINES lines / ERROR_CHARS characters); the last lines if there is none."""
    lines = log.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.lstrip("│ ").startswith("Error:")]
    chosen = lines[starts[0] :] if starts else lines[-ERROR_LINES // 2 :]
    text = "\n".join(chosen[:ERROR_LINES])
    if len(text) > ERROR_CHARS:
        text = text[:ERROR_CHARS] + "\n…"
    return text or "(Terraform printed nothing)"


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


def _error_block(log: str | None, open_: bool = True) -> str:
    excerpt = error_excerpt(log) if log is not None else "(no log: the plan job did not finish)"
    state = " open" if open_ else ""
    return (
        f"<details{state}><summary>Terraform's error</summary>\n\n{_fence(excerpt)}\n\n</details>\n"
    )


PREVENT_DESTROY_NOTE = (
    "> [!CAUTION]\n> **Refused by `prevent_destroy`:** this environment protects stateful "
    "resources with `lifecycle.prevent_destroy`, and the plan would destroy one. The "
    "`allow-destroy` label cannot override it: change the code instead. Keep the resource "
    "(revert the change that replaces it), move it with a `moved` block if only its address "
    "changes, or remove the protection in a reviewed change of its own (docs/cicd.md)."
)


def _prevent_destroy(log: str | None) -> bool:
    return log is not None and PREVENT_DESTROY_ERROR in log


def failed_markdown(title: str, marker_name: str, log: str | None) -> str:
    note = f"{PREVENT_DESTROY_NOTE}\n\n" if _prevent_destroy(log) else ""
    return (
        f"{marker(marker_name)}\n\n### {title}\n\n"
        "> [!CAUTION]\n> **Plan failed:** Terraform did not produce a plan, so there is nothing "
        "to review or apply. The check fails until a commit plans cleanly.\n\n"
        f"{note}{_error_block(log)}"
    )


def skipped_markdown(title: str, marker_name: str, reason: str) -> str:
    return f"{marker(marker_name)}\n\n### {title}\n\n> [!NOTE]\n> **Not planned:** {reason}\n"


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _output_list(outputs: list[crossstack.PlatformOutput]) -> str:
    return ", ".join(_code(o.label) for o in outputs)


def cross_stack_notes(cross: crossstack.CrossStack) -> list[str]:
    """What a reviewer must know about the platform outputs the workspace stack reads."""
    if not cross.outputs:
        return []
    changes = cross.with_status(crossstack.CHANGES)
    unknown = cross.with_status(crossstack.UNKNOWN)
    new = cross.with_status(crossstack.NEW, crossstack.MISSING)
    parts = [
        f"**Planned against the platform plan:** this stack reads {len(cross.outputs)} "
        "platform output(s), taken from the platform plan above, not from the platform's state"
    ]
    details = []
    if changes:
        details.append(f"{len(changes)} change ({_output_list(changes)})")
    if unknown:
        details.append(
            f"{len(unknown)} are unknown until the platform apply ({_output_list(unknown)})"
        )
    if new:
        details.append(f"{len(new)} are new ({_output_list(new)})")
    notes = [parts[0] + (": " + "; ".join(details) if details else "; none of them changes") + "."]
    if cross.needs_platform_apply:
        notes.append(
            "> [!IMPORTANT]\n> **Needs the platform apply first:** this stack reads platform "
            f"output(s) that the platform's state does not have yet ({_output_list(new)}). What "
            "could be planned against the platform plan is shown; the deploy applies the "
            "platform, then plans this stack against it and shows that plan before its apply."
        )
    moved = [cross.outputs[n] for n in sorted(cross.provider_outputs)]
    if moved:
        notes.append(
            "> [!WARNING]\n> **The workspace itself changes:** this stack's provider connects "
            f"to platform output(s) that change ({_output_list(moved)}). A plan from state "
            "cannot see what the new workspace holds: after the platform apply, the deploy's "
            "refreshed plan shows what has to be created again."
        )
    return notes


def caused_section(cross: crossstack.CrossStack, plan: Any) -> list[Section]:
    caused = cross.caused(plan)
    if not caused:
        return []
    items = [
        f"- **{rc.kind}** {_code(rc.address)} ← {_output_list(outputs)}" for rc, outputs in caused
    ]
    return [
        Section(
            head=f"#### Changes caused by platform outputs ({len(caused)})\n\n"
            "Workspace changes that follow from platform outputs this pull request changes "
            "(directly, or through other workspace resources):",
            items=items,
        )
    ]


def needs_platform_apply_markdown(
    title: str, marker_name: str, cross: crossstack.CrossStack, log: str | None
) -> str:
    waiting = sorted(cross.uses)
    listed = "\n".join(f"- {_code(a)}" for a in waiting[:50]) or "- (none found)"
    more = f"\n- … and {len(waiting) - 50} more" if len(waiting) > 50 else ""
    unknown = cross.with_status(crossstack.UNKNOWN, crossstack.NEW, crossstack.MISSING)
    return (
        f"{marker(marker_name)}\n\n### {title}\n\n"
        "> [!IMPORTANT]\n> **Needs the platform apply first:** this stack cannot be planned "
        "before the platform plan is applied: it reads platform output(s) that are unknown "
        f"until then or that the platform's state does not have yet ({_output_list(unknown)}). "
        "This is not an error of the pull request; the deploy applies the platform, then plans "
        "this stack against it and shows that plan before its apply.\n\n"
        f"What can be shown: the workspace resources that read those outputs (directly or "
        f"through other resources), planned after the platform apply:\n\n{listed}{more}\n\n"
        f"{_error_block(log, open_=False)}"
    )


def comparison_note(
    current: changeset.ChangeSet, reviewed_path: Path | None, label: str
) -> tuple[str, str, str]:
    """(status, approval reason, Markdown) of the comparison with the reviewed change set."""
    if current.empty:
        return (
            "no-changes",
            "",
            (
                "**Nothing to apply:** no resource or output changes; the apply and its approval "
                "are skipped."
            ),
        )
    if reviewed_path is None:
        return (
            "not-compared",
            "",
            ("**Not compared:** this environment is not planned at pull-request time."),
        )
    where = f" ({label})" if label else ""
    if not reviewed_path.is_file():
        return (
            "missing",
            "no reviewed plan",
            (
                "> [!WARNING]\n> **Not reviewed:** no pull-request plan was found for this commit"
                f"{where}. Applying it needs an explicit approval (the `approve` job)."
            ),
        )
    reviewed = changeset.load(reviewed_path)
    difference = changeset.compare(reviewed, current)
    if difference.identical:
        return (
            "identical",
            "",
            (f"**As reviewed:** the same addresses and actions as the pull request's plan{where}."),
        )
    lines = [f"+ {line}" for line in difference.only_now[:40]] + [
        f"- {line}" for line in difference.only_reviewed[:40]
    ]
    omitted = len(difference.only_now) + len(difference.only_reviewed) - len(lines)
    if omitted > 0:
        lines.append(f"… {omitted} more")
    return (
        "different",
        "the plan differs from the reviewed one",
        (
            "> [!WARNING]\n> **Differs from the reviewed plan**"
            f"{where}: applying it needs an explicit approval (the `approve` job). `+` is planned "
            f"now but was not reviewed, `-` was reviewed but is not planned now.\n\n"
            f"{_fence(chr(10).join(lines)).replace('```text', '```diff', 1)}"
        ),
    )


def _write(path: Path | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
    else:
        write_text(path, text, "output")


def _read_log(path: Path) -> str | None:
    """Terraform's log (its first MAX_LOG_BYTES), undecodable bytes replaced; None if absent."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_LOG_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path.name}: {exc.strerror or exc})"


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m tools.plan_summary.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("plan_dir", type=Path)
    parser.add_argument("--stack", required=True, help="stack name, for messages")
    parser.add_argument("--title", default=None)
    parser.add_argument("--marker", default=None)
    parser.add_argument("--allow-destroy", action="store_true")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--max-chars", type=int, default=None)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--status-json", type=Path)
    parser.add_argument("--platform-plan", type=Path, help="the platform plan.json (workspace)")
    parser.add_argument("--change-set", type=Path, help="write this plan's change set here")
    parser.add_argument(
        "--deploy",
        action="store_true",
        help="a deploy gate: say whether the apply runs and whether it needs an approval",
    )
    parser.add_argument("--reviewed", type=Path, help="the reviewed change set to compare with")
    parser.add_argument("--reviewed-label", default="", help="where the reviewed plan is from")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_writable(args.output, "output")
        check_writable(args.status_json, "status file")
        check_writable(args.change_set, "change set")
    except InputError as exc:
        print(f"plan_summary.report: error: {exc}", file=sys.stderr)
        return cli.EXIT_BAD_INPUT
    try:
        return _run(args)
    except (PlanError, InputError) as exc:
        print(f"plan_summary.report: error: {one_line(exc, 500)}", file=sys.stderr)
        if args.output is not None:
            title = one_line(args.title or f"Terraform plan — {args.stack}", cli.MAX_TITLE)
            try:
                write_text(
                    args.output,
                    f"{marker(args.marker or f'plan-{args.stack}')}\n\n### {title}\n\n"
                    "> [!CAUTION]\n> **Summary failed:** the plan or its inputs could not be "
                    "read; the check fails. The reason is in the workflow log.\n",
                    "output",
                )
            except InputError as write_error:
                print(f"plan_summary.report: error: {write_error}", file=sys.stderr)
        return cli.EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    title = one_line(args.title or f"Terraform plan — {args.stack}", cli.MAX_TITLE)
    marker_name = args.marker or f"plan-{args.stack}"
    result_file = args.plan_dir / "result"
    result = (
        read_text(result_file, "result file", MAX_RESULT_BYTES).strip()
        if result_file.is_file()
        else ""
    )
    log = _read_log(args.plan_dir / "plan.log")
    plan_json = args.plan_dir / "plan.json"
    config_file = args.plan_dir / "config.tf.json"
    cross = (
        crossstack.load(config_file, args.platform_plan)
        if args.platform_plan is not None and config_file.is_file()
        else None
    )
    policy = load_policy(args.config)
    max_chars = cli.max_chars_of(policy, args.max_chars)
    status: dict[str, Any]

    # A workspace plan that fails while it reads platform outputs the platform plan does not
    # know yet cannot be made before the platform apply; that is not the pull request's error
    # (unless Terraform refused to destroy a protected resource).
    waiting = (
        result == "failed"
        and cross is not None
        and bool(cross.with_status(crossstack.UNKNOWN, crossstack.NEW, crossstack.MISSING))
        and not _prevent_destroy(log)
    )
    if result.startswith("skipped"):
        # One line of plain text: a reason must not end the note or add Markdown of its own.
        reason = html.escape(one_line(result.removeprefix("skipped").strip(), 500))
        reason = reason or "skipped by the workflow"
        _write(args.output, skipped_markdown(title, marker_name, reason))
        status = {"exit_code": 0, "result": "skipped", "reason": reason}
        code = 0
    elif waiting and cross is not None:
        _write(args.output, needs_platform_apply_markdown(title, marker_name, cross, log))
        status = {"exit_code": 0, "result": "needs-platform-apply", "reviewed": "not-compared"}
        code = 0
    elif result == "ok" or (result == "failed" and plan_json.is_file()):
        # A failed plan that still wrote a plan file is an errored (partial) plan: summarise it
        # (the summary says "Plan errored" and exits 4), then add Terraform's error.
        plan = load_plan(plan_json)
        current = changeset.ChangeSet.of(args.stack, plan)
        notes: list[str] = []
        sections: list[Section] = []
        compared = ("not-compared", "")
        if result == "ok" and args.deploy:
            state, reason, note = comparison_note(current, args.reviewed, args.reviewed_label)
            compared = (state, reason)
            notes.append(note)
        if _prevent_destroy(log):
            notes.append(PREVENT_DESTROY_NOTE)
        if cross is not None:
            notes += cross_stack_notes(cross)
            sections += caused_section(cross, plan)
        outcome = cli.evaluate(
            plan,
            policy,
            title=title,
            marker_name=marker_name,
            allow_destroy=args.allow_destroy,
            max_chars=max_chars,
            notes=notes,
            extra_sections=sections,
        )
        markdown = outcome.markdown
        code = outcome.code
        if result == "failed":
            code = max(code, cli.EXIT_ERRORED)
            markdown += "\n" + _error_block(log)
        _write(args.output, markdown)
        cli.explain(outcome, plan)
        status = outcome.status
        approval = compared[1]
        if outcome.violations and args.allow_destroy and not approval:
            approval = "allow-destroy: protected resources are deleted or replaced"
        status.update(
            {
                "result": "needs-platform-apply"
                if result == "ok" and cross is not None and cross.needs_platform_apply
                else result,
                "exit_code": code,
                "changes": not current.empty,
                "reviewed": compared[0],
                "approval": approval,
            }
        )
        if args.change_set is not None and result == "ok":
            write_text(
                args.change_set, json.dumps(current.to_json(), indent=2) + "\n", "change set"
            )
    else:
        _write(args.output, failed_markdown(title, marker_name, log))
        status = {"exit_code": EXIT_PLAN_FAILED, "result": "failed"}
        code = EXIT_PLAN_FAILED
        print(f"plan_summary.report: {one_line(args.stack, 100)}: the plan failed", file=sys.stderr)
    status["stack"] = args.stack
    if args.status_json:
        write_text(args.status_json, json.dumps(status, indent=2) + "\n", "status file")
    return code


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
