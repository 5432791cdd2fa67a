"""Start the ML pipeline job of a deployed environment and wait for it, within a bound.

    python -m tools.run_job --outputs-file dev.json --outputs-file dev-workspace.json
    python -m tools.run_job --host https://adb-....azuredatabricks.net --job-id 123

The workspace URL and job ID are the stack outputs `workspace_url` and `ml_pipeline_job_id`
(`terraform output -json` of the environment's stacks; sensitive outputs are never read), or are
given directly. Exit 0 when the run succeeds; 1 when it fails, is cancelled, times out, or the
wait itself fails (the workspace API, the network, a signal): the run is then cancelled; 2 for
unusable input, one line, before anything is started: a job ID that is not a positive integer,
a workspace URL that is not an https host, a poll interval outside 1-600 s, a timeout outside
(0, 120] minutes, an unreadable or malformed outputs file, or no Databricks SDK.

Authentication is explicit (`--auth-type`, default `github-oidc-azure`: the GitHub OIDC token of
the job, exchanged for a Microsoft Entra ID token of the Azure identity in ARM_CLIENT_ID /
ARM_TENANT_ID). databricks-sdk 0.162.0 fetches that OIDC token once per client and reuses it as
the client assertion for every refresh (`credentials_provider.github_oidc_azure`); GitHub's OIDC
tokens expire after minutes and Entra ID refuses an expired assertion (AADSTS700024). So the
wait is bounded (`--timeout-minutes`, at most MAX_TIMEOUT_MINUTES) and the client is re-created,
with a fresh OIDC token, every `--reauth-minutes` (well inside the access token's lifetime of
at least 60 minutes), instead of holding one assertion through the whole wait.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools.safe_input import (
    InputError,
    OneLineParser,
    bounded_float,
    one_line,
    positive_int,
    read_json,
)

TERMINAL_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
DEFAULT_AUTH_TYPE = "github-oidc-azure"
MAX_TIMEOUT_MINUTES = 120.0
DEFAULT_REAUTH_MINUTES = 20.0
MIN_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 600.0

ClientFactory = Callable[[str, str], Any]
"""(host, auth_type) -> a databricks-sdk WorkspaceClient (or a fake with `.jobs`)."""


class RunJobError(Exception):
    """Unusable input or environment (exit status 2), found before anything is started."""


class Interrupted(BaseException):
    """The process was asked to stop (SIGTERM: a cancelled workflow run)."""


@dataclass(frozen=True)
class Outcome:
    run_id: int
    life_cycle_state: str
    result_state: str | None
    state_message: str
    run_page_url: str | None

    @property
    def succeeded(self) -> bool:
        return self.life_cycle_state == "TERMINATED" and self.result_state == "SUCCESS"


def _name(value: Any) -> str | None:
    """Enum member or plain string -> its name (databricks-sdk returns enums)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def read_outputs(paths: list[Path]) -> tuple[str, int]:
    """(workspace host URL, job id) from `terraform output -json` files of the environment's
    stacks (merged; sensitive outputs are skipped)."""
    outputs: dict[str, Any] = {}
    for path in paths:
        try:
            data = read_json(path, "outputs file", max_bytes=16 << 20)
        except InputError as exc:
            raise RunJobError(str(exc)) from None
        if not isinstance(data, dict):
            raise RunJobError(f"{one_line(path)} is not `terraform output -json` output")
        for name, output in data.items():
            if isinstance(output, dict) and "value" in output and not output.get("sensitive"):
                outputs[name] = output["value"]
    missing = [n for n in ("workspace_url", "ml_pipeline_job_id") if n not in outputs]
    if missing:
        raise RunJobError(
            f"the outputs lack a usable {' and '.join(missing)} (missing, or sensitive)"
        )
    return normalise_host(outputs["workspace_url"]), job_id(outputs["ml_pipeline_job_id"])


def job_id(value: Any) -> int:
    """A job ID from an output: a positive integer (a JSON integer or a string of digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and re.fullmatch(r"[1-9][0-9]{0,18}", value):
        return int(value)
    raise RunJobError(f"ml_pipeline_job_id {one_line(repr(value), 60)} is not a positive integer")


def normalise_host(url: Any) -> str:
    """`https://<host>` of a workspace URL (`adb-1.2.azuredatabricks.net`, with or without a
    scheme or a trailing slash); `RunJobError` for anything else."""
    if not isinstance(url, str) or not url.strip():
        raise RunJobError("empty workspace URL")
    text = url.strip().rstrip("/")
    if not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        text = f"https://{text}"
    elif text.lower().startswith("http://"):
        text = f"https://{text[len('http://') :]}"
    parts = urlsplit(text)
    if (
        parts.scheme != "https"
        or not re.fullmatch(
            r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?", parts.netloc
        )
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise RunJobError(
            f"workspace URL {one_line(repr(url), 80)} is not an https URL of a host "
            "(e.g. https://adb-1234567890123456.7.azuredatabricks.net)"
        )
    return f"https://{parts.netloc}"


def run_and_wait(
    connect: Callable[[], Any],
    job_id: int,
    *,
    timeout_s: float,
    poll_s: float = 30.0,
    reauth_s: float = DEFAULT_REAUTH_MINUTES * 60,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Trigger job_id and poll until it ends or `timeout_s` passes (then cancel it).
    `connect()` makes a new authenticated client; it is called again every `reauth_s`. If
    anything fails once the run has started (the API, a re-authentication, a signal), the run
    is cancelled before the error propagates."""
    if not poll_s > 0 or not timeout_s > 0 or not reauth_s > 0:
        raise RunJobError("the poll interval, timeout and re-authentication period must be > 0")
    client = connect()
    connected = clock()
    started = client.jobs.run_now(job_id=job_id)
    response = getattr(started, "response", started)
    run_id = int(response.run_id)
    log(f"started run {run_id} of job {job_id}")
    try:
        return _wait(
            client, connect, connected, run_id, timeout_s, poll_s, reauth_s, sleep, clock, log
        )
    except BaseException:
        _cancel_after_failure(client, connect, run_id, log)
        raise


def _wait(client, connect, connected, run_id, timeout_s, poll_s, reauth_s, sleep, clock, log):
    deadline = clock() + timeout_s
    last = ""
    while True:
        if clock() - connected >= reauth_s:
            client = connect()
            connected = clock()
            log("re-authenticated (fresh OIDC token)")
        run = client.jobs.get_run(run_id=run_id)
        state = run.state
        life = _name(state.life_cycle_state) or "UNKNOWN"
        if life != last:
            log(f"run {run_id}: {life}")
            last = life
        if life in TERMINAL_STATES:
            return Outcome(
                run_id=run_id,
                life_cycle_state=life,
                result_state=_name(state.result_state),
                state_message=str(state.state_message or ""),
                run_page_url=getattr(run, "run_page_url", None),
            )
        if clock() >= deadline:
            log(f"timed out after {timeout_s:.0f}s; cancelling run {run_id}")
            client.jobs.cancel_run(run_id=run_id)
            return Outcome(
                run_id, "TIMEDOUT", None, "timed out", getattr(run, "run_page_url", None)
            )
        sleep(poll_s)


def _cancel_after_failure(client: Any, connect: Callable[[], Any], run_id: int, log) -> None:
    """Cancel a started run after a failure: with the client at hand, else a fresh one."""
    for attempt in (lambda: client, connect):
        try:
            attempt().jobs.cancel_run(run_id=run_id)
        except Exception as exc:  # best effort: the original error follows
            log(f"could not cancel run {run_id}: {one_line(exc, 200)}")
            continue
        log(f"cancelled run {run_id} after the failure below")
        return
    log(f"run {run_id} may still be running: cancel it in the workspace")


def _client(host: str, auth_type: str) -> Any:  # pragma: no cover - needs a workspace
    try:
        from databricks.sdk import WorkspaceClient
    except ImportError:
        raise RunJobError(
            "the Databricks SDK is not installed: pip install --require-hashes -r "
            "requirements/smoke.txt"
        ) from None

    # azure_client_id / azure_tenant_id come from ARM_CLIENT_ID / ARM_TENANT_ID.
    return WorkspaceClient(host=host, auth_type=auth_type)


def _stop(signum: int, _frame: Any) -> None:
    raise Interrupted(f"stopped by signal {signal.Signals(signum).name}")


def main(argv: list[str] | None = None, client_factory: ClientFactory = _client) -> int:
    parser = OneLineParser(prog="python -m tools.run_job", description=__doc__)
    parser.add_argument(
        "--outputs-file",
        type=Path,
        action="append",
        default=[],
        help="`terraform output -json` of a stack (repeat for the platform and workspace)",
    )
    parser.add_argument("--host", help="workspace URL (instead of --outputs-file)")
    parser.add_argument("--job-id", type=positive_int, help="job ID (instead of --outputs-file)")
    parser.add_argument("--auth-type", default=DEFAULT_AUTH_TYPE, help="%(default)s")
    minutes = bounded_float(0, MAX_TIMEOUT_MINUTES, "minutes")
    parser.add_argument(
        "--timeout-minutes",
        type=minutes,
        default=60.0,
        help=f"longest wait, then the run is cancelled (<= {MAX_TIMEOUT_MINUTES:.0f})",
    )
    parser.add_argument("--reauth-minutes", type=minutes, default=DEFAULT_REAUTH_MINUTES)
    parser.add_argument(
        "--poll-seconds",
        type=bounded_float(MIN_POLL_SECONDS, MAX_POLL_SECONDS, "seconds", low_inclusive=True),
        default=30.0,
        help=f"pause between polls ({MIN_POLL_SECONDS:g}-{MAX_POLL_SECONDS:g} s)",
    )
    args = parser.parse_args(argv)
    try:
        if not re.fullmatch(r"[a-z0-9-]{1,64}", args.auth_type):
            raise RunJobError(
                f"--auth-type {one_line(repr(args.auth_type), 80)} is not an auth type"
            )
        if args.outputs_file:
            host, job = read_outputs(args.outputs_file)
        elif args.host and args.job_id is not None:
            host, job = normalise_host(args.host), args.job_id
        else:
            raise RunJobError("give --outputs-file, or --host and --job-id")
    except RunJobError as exc:
        print(f"run_job: error: {exc}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        outcome = run_and_wait(
            lambda: client_factory(host, args.auth_type),
            job,
            timeout_s=args.timeout_minutes * 60,
            poll_s=args.poll_seconds,
            reauth_s=args.reauth_minutes * 60,
        )
    except RunJobError as exc:  # before the run started (e.g. no SDK)
        print(f"run_job: error: {exc}", file=sys.stderr)
        return 2
    except (Exception, Interrupted, KeyboardInterrupt) as exc:
        print(
            f"::error title=ML pipeline run failed::{_workflow_data(type(exc).__name__)}: "
            f"{_workflow_data(one_line(exc, 500))}",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    where = f" ({outcome.run_page_url})" if outcome.run_page_url else ""
    if outcome.succeeded:
        print(f"run {outcome.run_id} succeeded{where}")
        return 0
    print(
        f"::error title=ML pipeline failed::run {outcome.run_id} ended "
        f"{outcome.life_cycle_state}/{outcome.result_state}: "
        f"{_workflow_data(one_line(outcome.state_message, 500))}{where}",
        file=sys.stderr,
    )
    return 1


def _workflow_data(text: str) -> str:
    """Text for a GitHub workflow command (actions/toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


if __name__ == "__main__":
    sys.exit(main())
