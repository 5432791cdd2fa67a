"""Start the ML pipeline job of a deployed environment and wait for it, within a bound.

    python -m tools.run_job --outputs-file dev.json --outputs-file dev-workspace.json
    python -m tools.run_job --host https://adb-....azuredatabricks.net --job-id 123

The workspace URL and job ID are the stack outputs `workspace_url` and `ml_pipeline_job_id`
(`terraform output -json` of the environment's stacks; sensitive outputs are never read), or are
given directly. Exit 0 when the run succeeds, 1 when it fails, is cancelled or times out, 2 for
bad input.

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

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TERMINAL_STATES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
DEFAULT_AUTH_TYPE = "github-oidc-azure"
MAX_TIMEOUT_MINUTES = 120.0
DEFAULT_REAUTH_MINUTES = 20.0

ClientFactory = Callable[[str, str], Any]
"""(host, auth_type) -> a databricks-sdk WorkspaceClient (or a fake with `.jobs`)."""


class RunJobError(Exception):
    pass


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
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunJobError(f"outputs file not found: {path}") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise RunJobError(f"cannot read outputs file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise RunJobError(f"{path} is not `terraform output -json` output")
        for name, output in data.items():
            if isinstance(output, dict) and "value" in output and not output.get("sensitive"):
                outputs[name] = output["value"]
    try:
        return normalise_host(str(outputs["workspace_url"])), int(outputs["ml_pipeline_job_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunJobError(
            f"the outputs lack a usable workspace_url / ml_pipeline_job_id ({exc!r})"
        ) from None


def normalise_host(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url:
        raise RunJobError("empty workspace URL")
    return url if url.startswith("https://") else f"https://{url.removeprefix('http://')}"


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
    `connect()` makes a new authenticated client; it is called again every `reauth_s`."""
    client = connect()
    connected = clock()
    started = client.jobs.run_now(job_id=job_id)
    response = getattr(started, "response", started)
    run_id = int(response.run_id)
    log(f"started run {run_id} of job {job_id}")
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


def _client(host: str, auth_type: str) -> Any:  # pragma: no cover - needs a workspace
    from databricks.sdk import WorkspaceClient

    # azure_client_id / azure_tenant_id come from ARM_CLIENT_ID / ARM_TENANT_ID.
    return WorkspaceClient(host=host, auth_type=auth_type)


def _bounded_minutes(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_TIMEOUT_MINUTES:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= {MAX_TIMEOUT_MINUTES:.0f}")
    return value


def main(argv: list[str] | None = None, client_factory: ClientFactory = _client) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.run_job", description=__doc__)
    parser.add_argument(
        "--outputs-file",
        type=Path,
        action="append",
        default=[],
        help="`terraform output -json` of a stack (repeat for the platform and workspace)",
    )
    parser.add_argument("--host", help="workspace URL (instead of --outputs-file)")
    parser.add_argument("--job-id", type=int, help="job ID (instead of --outputs-file)")
    parser.add_argument("--auth-type", default=DEFAULT_AUTH_TYPE, help="%(default)s")
    parser.add_argument(
        "--timeout-minutes",
        type=_bounded_minutes,
        default=60.0,
        help=f"longest wait, then the run is cancelled (<= {MAX_TIMEOUT_MINUTES:.0f})",
    )
    parser.add_argument("--reauth-minutes", type=_bounded_minutes, default=DEFAULT_REAUTH_MINUTES)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        if args.outputs_file:
            host, job_id = read_outputs(args.outputs_file)
        elif args.host and args.job_id is not None:
            host, job_id = normalise_host(args.host), args.job_id
        else:
            raise RunJobError("give --outputs-file, or --host and --job-id")
    except RunJobError as exc:
        print(f"run_job: error: {exc}", file=sys.stderr)
        return 2
    outcome = run_and_wait(
        lambda: client_factory(host, args.auth_type),
        job_id,
        timeout_s=args.timeout_minutes * 60,
        poll_s=args.poll_seconds,
        reauth_s=args.reauth_minutes * 60,
    )
    where = f" ({outcome.run_page_url})" if outcome.run_page_url else ""
    if outcome.succeeded:
        print(f"run {outcome.run_id} succeeded{where}")
        return 0
    print(
        f"::error title=ML pipeline failed::run {outcome.run_id} ended "
        f"{outcome.life_cycle_state}/{outcome.result_state}: {outcome.state_message}{where}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
