"""One stack's plan outcome, as the workflows' summary jobs report it.

    python -m tools.plan_summary.report PLAN_DIR --stack dev --title T --marker M
        [--allow-destroy] [--output FILE] [--status-json FILE] [--config FILE]

A Terraform-only plan job leaves, per stack, a directory (PLAN_DIR):

    result      one line: `ok`, `failed`, or `skipped <reason>`
    plan.json   `terraform show -json` of the saved plan, when Terraform wrote one
    plan.log    Terraform's output (init, plan; -no-color)

This prints the plan summary when Terraform planned (`tools.plan_summary`), a "plan failed"
report with Terraform's error when it did not, or a note when the stack was not planned; and
exits as the gate decides:

    0  planned (or skipped on purpose); nothing blocks
    2  unusable input, one line on stderr: plan JSON (not UTF-8, not JSON, nested too deep, a
       number out of range), bad config, an unreadable result file, an output that cannot be
       written (e.g. its directory is missing)
    3  a protected resource is deleted or replaced without approval
    4  Terraform reported errors while planning (an errored, partial plan)
    5  the plan failed or never ran (no result, or `failed`)
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from tools.plan_summary import cli
from tools.plan_summary.policy import DEFAULT_CONFIG
from tools.plan_summary.render import marker
from tools.safe_input import (
    InputError,
    OneLineParser,
    check_writable,
    one_line,
    parse_json,
    read_text,
    write_text,
)

EXIT_PLAN_FAILED = 5
ERROR_LINES = 60
ERROR_CHARS = 6_000
MAX_RESULT_BYTES = 4 << 10
MAX_LOG_BYTES = 32 << 20


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


def failed_markdown(title: str, marker_name: str, log: str | None) -> str:
    excerpt = error_excerpt(log) if log is not None else "(no log: the plan job did not finish)"
    return (
        f"{marker(marker_name)}\n\n### {title}\n\n"
        "> [!CAUTION]\n> **Plan failed:** Terraform did not produce a plan, so there is nothing "
        "to review or apply. The check fails until a commit plans cleanly.\n\n"
        f"<details open><summary>Terraform's error</summary>\n\n{_fence(excerpt)}\n\n</details>\n"
    )


def skipped_markdown(title: str, marker_name: str, reason: str) -> str:
    return f"{marker(marker_name)}\n\n### {title}\n\n> [!NOTE]\n> **Not planned:** {reason}\n"


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


def run(argv: list[str] | None = None) -> int:
    try:
        return _run(argv)
    except InputError as exc:
        print(f"plan_summary.report: error: {exc}", file=sys.stderr)
        return cli.EXIT_BAD_INPUT


def _run(argv: list[str] | None) -> int:
    parser = OneLineParser(prog="python -m tools.plan_summary.report", description=__doc__)
    parser.add_argument("plan_dir", type=Path)
    parser.add_argument("--stack", required=True, help="stack name, for messages")
    parser.add_argument("--title", default=None)
    parser.add_argument("--marker", default=None)
    parser.add_argument("--allow-destroy", action="store_true")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--status-json", type=Path)
    args = parser.parse_args(argv)
    check_writable(args.output, "output")
    check_writable(args.status_json, "status file")
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

    if result.startswith("skipped"):
        # One line of plain text: a reason must not end the note or add Markdown of its own.
        reason = html.escape(one_line(result.removeprefix("skipped").strip(), 500))
        reason = reason or "skipped by the workflow"
        _write(args.output, skipped_markdown(title, marker_name, reason))
        status = {"exit_code": 0, "result": "skipped", "reason": reason, "stack": args.stack}
        code = 0
    elif result == "ok" or (result == "failed" and plan_json.is_file()):
        # A failed plan that still wrote a plan file is an errored (partial) plan: summarise it
        # (the summary says "Plan errored" and exits 4), then add Terraform's error.
        summary_args = [
            str(plan_json),
            "--title",
            title,
            "--marker",
            marker_name,
            "--config",
            str(args.config),
        ]
        if args.allow_destroy:
            summary_args.append("--allow-destroy")
        if args.output:
            summary_args += ["--output", str(args.output)]
        status_file = args.status_json or args.plan_dir / ".status.json"
        summary_args += ["--status-json", str(status_file)]
        code = cli.run(summary_args)
        if code == cli.EXIT_BAD_INPUT:
            return code
        status = parse_json(read_text(status_file, "status file"), "status file")
        if result == "failed":
            code = max(code, cli.EXIT_ERRORED)
            extra = (
                f"\n<details open><summary>Terraform's error</summary>\n\n"
                f"{_fence(error_excerpt(log or ''))}\n\n</details>\n"
            )
            if args.output:
                _write(args.output, args.output.read_text(encoding="utf-8") + extra)
            else:
                sys.stdout.write(extra)
        status.update({"result": result, "stack": args.stack, "exit_code": code})
    else:
        _write(args.output, failed_markdown(title, marker_name, log))
        status = {"exit_code": EXIT_PLAN_FAILED, "result": "failed", "stack": args.stack}
        code = EXIT_PLAN_FAILED
        print(f"plan_summary.report: {one_line(args.stack, 100)}: the plan failed", file=sys.stderr)
    if args.status_json:
        write_text(args.status_json, json.dumps(status, indent=2) + "\n", "status file")
    return code


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
