"""`python -m tools.smoke`: the dev smoke run, from the command line or the smoke workflow.

Exit status: 0 when every check passed; 1 when a run failed, a check failed, the deadline
passed or the workspace API refused (every run the smoke started and that is still going is
cancelled first); 2 for unusable input (one line on stderr, nothing started).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from tools.smoke.auth import DEFAULT_AUTHORITY, GitHubOidcAzure, StaticToken, TokenSource
from tools.smoke.chain import Interrupted, Report, SmokePlan, SmokeRun
from tools.smoke.jobs_api import JobsApi
from tools.smoke.transport import Transport, check_base_url, check_token_url, urllib_transport

MAX_TIMEOUT_MINUTES = 300.0
"""GitHub-hosted runners stop a job after 6 hours; the workflow's job timeout sits above this."""
MAX_POLL_SECONDS = 600.0
JOB_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")
"""Databricks job parameter keys: `_`, `-`, `.` and alphanumerics."""
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_JOB_ID = 2**63 - 1


class UsageError(Exception):
    """Unusable input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m tools.smoke", description=__doc__)
    p.add_argument("--host", required=True, help="workspace URL (stack output workspace_url)")
    p.add_argument(
        "--job-ids",
        required=True,
        help="job key -> job ID, as JSON (stack output job_ids), or @FILE holding it",
    )
    p.add_argument(
        "--auth",
        choices=("github-oidc-azure", "token"),
        default="github-oidc-azure",
        help="github-oidc-azure (ARM_CLIENT_ID, ARM_TENANT_ID and the job's OIDC "
        "token) or token (DATABRICKS_TOKEN, for a run by hand); default %(default)s",
    )
    p.add_argument("--azure-authority", default=DEFAULT_AUTHORITY, help="%(default)s")
    p.add_argument("--data-job", default="replay", help="%(default)s (skipped if absent)")
    p.add_argument("--pipeline-job", default="ml_pipeline", help="%(default)s")
    p.add_argument("--scoring-job", default="batch_inference", help="%(default)s")
    p.add_argument("--monitoring-job", default="monitoring", help="%(default)s")
    p.add_argument(
        "--job-parameter",
        action="append",
        default=[],
        metavar="JOB:NAME=VALUE",
        help="override a declared job parameter for the smoke's run of JOB (repeatable), "
        "e.g. monitoring:psi-threshold=0 to force the retrain verdict",
    )
    p.add_argument(
        "--no-retrain-expected",
        action="store_true",
        help="do not require the monitoring run to start one pipeline run",
    )
    p.add_argument(
        "--timeout-minutes",
        type=_bounded(MAX_TIMEOUT_MINUTES),
        default=180.0,
        help=f"deadline of the whole smoke (0 < m <= {MAX_TIMEOUT_MINUTES:.0f}); "
        "runs still going then are cancelled",
    )
    p.add_argument(
        "--poll-seconds",
        type=_bounded(MAX_POLL_SECONDS),
        default=30.0,
        help=f"interval between run polls (0 < s <= {MAX_POLL_SECONDS:.0f})",
    )
    p.add_argument(
        "--run-tag",
        default="",
        help="unique per attempt (default: GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT, else random)",
    )
    p.add_argument(
        "--summary-file", type=Path, help="append a Markdown report (GITHUB_STEP_SUMMARY)"
    )
    return p


def _bounded(upper: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value <= upper:  # also refuses nan
            raise argparse.ArgumentTypeError(f"must be > 0 and <= {upper:g} (got {text})")
        return value

    return parse


def parse_job_ids(text: str) -> dict[str, int]:
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--job-ids: cannot read {text[1:]!r}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise UsageError(
            '--job-ids: not JSON; give an object such as {"ml_pipeline": 123}'
        ) from None
    if not isinstance(data, dict) or not data:
        raise UsageError('--job-ids: expected a non-empty JSON object such as {"ml_pipeline": 123}')
    ids: dict[str, int] = {}
    for key, value in data.items():
        if not JOB_KEY.fullmatch(key):
            raise UsageError(f"--job-ids: {key[:70]!r} is not a job key (lowercase, digits, _)")
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_JOB_ID:
            raise UsageError(
                f"--job-ids: the ID of {key!r} is not a positive job ID: {value!r:.70}"
            )
        ids[key] = value
    return ids


def parse_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        job, sep, rest = item.partition(":")
        name, eq, value = rest.partition("=")
        if not sep or not eq or not JOB_KEY.fullmatch(job) or not PARAMETER_NAME.fullmatch(name):
            raise UsageError(
                f"--job-parameter {item[:80]!r}: expected JOB:NAME=VALUE, e.g. "
                "monitoring:psi-threshold=0"
            )
        if len(value) > 1000 or any(c in value for c in "\r\n\0"):
            raise UsageError(f"--job-parameter {job}:{name}: the value must be one short line")
        if name in overrides.setdefault(job, {}):
            raise UsageError(f"--job-parameter {job}:{name} is given twice")
        overrides[job][name] = value
    return overrides


def token_source(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    transport: Transport,
    wall: Callable[[], float],
) -> TokenSource:
    if args.auth == "token":
        value = environ.get("DATABRICKS_TOKEN", "")
        if not value.strip():
            raise UsageError("--auth token: DATABRICKS_TOKEN is not set")
        return StaticToken(value)
    missing = [
        name
        for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        if not environ.get(name)
    ]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} not set: the GitHub job needs `permissions: id-token: "
            "write` (or use --auth token by hand)"
        )
    for name in ("ARM_CLIENT_ID", "ARM_TENANT_ID"):
        if not GUID.fullmatch(environ.get(name, "")):
            raise UsageError(
                f"{name} is not a GUID (got {environ.get(name, '')[:40]!r}): set AZURE_CLIENT_ID "
                "and AZURE_TENANT_ID on the GitHub environment <env>-smoke (README, deploy steps)"
            )
    try:
        request_url = environ["ACTIONS_ID_TOKEN_REQUEST_URL"]
        check_token_url(request_url, "ACTIONS_ID_TOKEN_REQUEST_URL")
        authority = check_base_url(args.azure_authority, "--azure-authority")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return GitHubOidcAzure(
        transport=transport,
        request_url=request_url,
        request_token=environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        client_id=environ["ARM_CLIENT_ID"],
        tenant_id=environ["ARM_TENANT_ID"],
        authority=authority,
        clock=wall,
    )


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM/SIGINT (GitHub cancelling the job: SIGINT, then SIGTERM) stop the wait, so the
    runs get cancelled; a second signal does not interrupt that cancelling."""
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            return
        received.append(signum)
        raise Interrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _annotation(text: str) -> str:
    """A message for a `::error::` workflow command (one line, its special characters encoded)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _print_report(report: Report) -> None:
    print("--- smoke checks ---")
    for check in report.checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    for note in report.notes:
        print(f"note: {note}")


def main(
    argv: list[str] | None = None,
    *,
    transport: Transport | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    environ = os.environ if environ is None else environ
    transport = transport or urllib_transport()
    try:
        args = _parser().parse_args(argv)
        host = check_base_url(args.host, "--host")
        run_tag = args.run_tag or (
            f"{environ['GITHUB_RUN_ID']}-{environ.get('GITHUB_RUN_ATTEMPT', '1')}"
            if environ.get("GITHUB_RUN_ID")
            else uuid.uuid4().hex
        )
        plan = SmokePlan(
            job_ids=parse_job_ids(args.job_ids),
            run_tag=run_tag,
            data_job=args.data_job,
            pipeline_job=args.pipeline_job,
            scoring_job=args.scoring_job,
            monitoring_job=args.monitoring_job,
            job_parameters=parse_overrides(args.job_parameter),
            expect_retrain=not args.no_retrain_expected,
        )
        if plan.problems():
            raise UsageError(f"--job-ids: {plan.problems()[0]}")
        tokens = token_source(args, environ, transport, wall)
    except (UsageError, ValueError) as exc:
        print(f"smoke: error: {exc}", file=sys.stderr)
        return 2
    api = JobsApi(host, tokens, transport, sleep=sleep)
    smoke = SmokeRun(
        api,
        plan,
        timeout_s=args.timeout_minutes * 60,
        poll_s=args.poll_seconds,
        clock=clock,
        sleep=sleep,
        log=lambda line: print(line, flush=True),
    )
    with _stop_on_signals():
        report = smoke.execute()
    _print_report(report)
    if args.summary_file is not None:
        with contextlib.suppress(OSError), args.summary_file.open("a", encoding="utf-8") as fh:
            fh.write(report.markdown())
    if report.ok:
        print("smoke: passed")
        return 0
    print(f"::error title=Dev smoke run failed::{_annotation(str(report.error))}", file=sys.stderr)
    return 1
