"""Command line: `python -m tools.plan_summary PLAN_JSON [options]`.

Exit codes:
  0  summary printed; nothing blocks the plan
  2  unusable input (missing file, not JSON, not a plan, bad config): one line on stderr
  3  summary printed, but a protected resource type is deleted or replaced and
     --allow-destroy was not given (the destroy gate)
  4  summary printed, but Terraform reported errors while planning (`errored`): the plan is
     incomplete and must not be applied; never reported as "No changes."

`--status-json FILE` also writes the outcome as JSON (counts, drift, outputs, protected
addresses, exit code) for the workflows' drift issues and gates.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.plan_summary.model import SUMMARISED_KINDS, Plan, PlanError, ResourceChange, load_plan
from tools.plan_summary.policy import (
    DEFAULT_CONFIG,
    GITHUB_COMMENT_LIMIT,
    MIN_MAX_CHARS,
    Policy,
    load_policy,
)
from tools.plan_summary.redacted import redacted_plan
from tools.plan_summary.render import Section, render
from tools.safe_input import InputError, OneLineParser, check_writable, one_line

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_BLOCKED = 3
EXIT_ERRORED = 4
MAX_TITLE = 200


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m tools.plan_summary",
        description="Summarise a Terraform JSON plan as Markdown and apply the destroy gate.",
        epilog="Exit codes: 0 ok, 2 unusable input, 3 protected resource deleted/replaced, "
        "4 Terraform reported errors while planning.",
    )
    parser.add_argument("plan_json", type=Path, help="output of `terraform show -json PLANFILE`")
    parser.add_argument(
        "--allow-destroy",
        action="store_true",
        help="do not fail when protected resources are deleted or replaced",
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="%(default)s")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=None,
        help=f"longest output ({MIN_MAX_CHARS}..{GITHUB_COMMENT_LIMIT}; default from config)",
    )
    parser.add_argument("--title", default="Terraform plan", help="heading of the summary")
    parser.add_argument(
        "--marker",
        default="default",
        help="name in the hidden HTML marker that identifies the sticky comment",
    )
    parser.add_argument("--output", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--redacted-json", type=Path, help="also write the plan with sensitive values masked"
    )
    parser.add_argument(
        "--status-json", type=Path, help="also write the outcome (counts, drift, exit code)"
    )
    return parser


def status(plan: Plan, violations: list[ResourceChange], allow_destroy: bool, code: int) -> dict:
    """The machine-readable outcome: what the workflows decide on (no attribute values)."""
    kinds = Counter(rc.kind for rc in plan.summarised)
    return {
        "exit_code": code,
        "errored": plan.errored,
        "complete": plan.complete,
        "no_changes": plan.is_noop,
        "never_applied": plan.never_applied,
        "resource_changes": {kind: kinds[kind] for kind in SUMMARISED_KINDS},
        "resource_drift": sorted(rc.address for rc in plan.relevant_drift),
        "refresh_noise": sorted(rc.address for rc in plan.refresh_noise),
        "output_changes": sorted(oc.name for oc in plan.changed_outputs),
        "imports": sorted(rc.address for rc in plan.imports),
        "protected_destroyed": sorted(rc.address for rc in violations),
        "destroy_allowed": allow_destroy,
    }


@dataclass(frozen=True)
class Outcome:
    """What the summary decided for one plan: the exit code, the Markdown and the status."""

    code: int
    markdown: str
    status: dict
    violations: list[ResourceChange]


def evaluate(
    plan: Plan,
    policy: Policy,
    *,
    title: str,
    marker_name: str,
    allow_destroy: bool,
    max_chars: int,
    notes: Sequence[str] = (),
    extra_sections: Sequence[Section] = (),
) -> Outcome:
    """The destroy gate and the Markdown of one parsed plan."""
    violations = policy.violations(plan)
    code = EXIT_OK
    if violations and not allow_destroy:
        code = EXIT_BLOCKED
    if plan.errored:
        code = EXIT_ERRORED
    markdown = render(
        plan,
        title=one_line(title, MAX_TITLE),
        protected=policy.protected_types,
        violations=violations,
        allow_destroy=allow_destroy,
        max_chars=max_chars,
        marker_name=marker_name,
        notes=notes,
        extra_sections=extra_sections,
    )
    return Outcome(code, markdown, status(plan, violations, allow_destroy, code), violations)


def explain(outcome: Outcome, plan: Plan) -> None:
    """The one-line reasons on stderr (errored plan, destroy gate)."""
    if plan.errored:
        print(
            "plan_summary: errored: Terraform reported errors while planning; the plan is "
            "incomplete and must not be applied",
            file=sys.stderr,
        )
    if outcome.code == EXIT_BLOCKED:
        violations = outcome.violations
        names = ", ".join(rc.address for rc in violations[:5])
        more = f" and {len(violations) - 5} more" if len(violations) > 5 else ""
        print(
            f"plan_summary: blocked: protected resource(s) deleted or replaced: {names}{more}; "
            "add the `allow-destroy` label (or pass --allow-destroy) after review",
            file=sys.stderr,
        )


def max_chars_of(policy: Policy, requested: int | None) -> int:
    max_chars = policy.max_chars if requested is None else requested
    if not MIN_MAX_CHARS <= max_chars <= GITHUB_COMMENT_LIMIT:
        raise PlanError(f"--max-chars must be between {MIN_MAX_CHARS} and {GITHUB_COMMENT_LIMIT}")
    return max_chars


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for path, what in (
            (args.output, "output"),
            (args.redacted_json, "redacted plan"),
            (args.status_json, "status file"),
        ):
            check_writable(path, what)
    except InputError as exc:
        print(f"plan_summary: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        policy = load_policy(args.config)
        max_chars = max_chars_of(policy, args.max_chars)
        plan = load_plan(args.plan_json)
    except PlanError as exc:
        print(f"plan_summary: error: {one_line(exc, 500)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    outcome = evaluate(
        plan,
        policy,
        title=args.title,
        marker_name=args.marker,
        allow_destroy=args.allow_destroy,
        max_chars=max_chars,
    )
    try:
        if args.output:
            args.output.write_text(outcome.markdown, encoding="utf-8")
        else:
            sys.stdout.write(outcome.markdown)
        if args.redacted_json:
            args.redacted_json.write_text(
                json.dumps(redacted_plan(plan), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        if args.status_json:
            args.status_json.write_text(
                json.dumps(outcome.status, indent=2) + "\n", encoding="utf-8"
            )
    except OSError as exc:
        print(f"plan_summary: error: cannot write output: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    explain(outcome, plan)
    return outcome.code


def main() -> None:
    sys.exit(run())
