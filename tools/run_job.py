"""Start the ML pipeline job of a deployed environment and wait for it (databricks-sdk).

    python -m tools.run_job --outputs-file cdktf-outputs.json --stack dev [--timeout-minutes 90]
    python -m tools.run_job --host https://adb-....azuredatabricks.net --job-id 123

The job ID and workspace URL come from the stack outputs `ml_pipeline_job_id` and
`workspace_url` written by `cdktf deploy --outputs-file`. Authentication is databricks-sdk's
default chain (in GitHub Actions: the Azure CLI session of azure/login, or GitHub OIDC via
ARM_CLIENT_ID/ARM_TENANT_ID). Exit 0 when the run succeeds, 1 when it fails, is cancelled or
times out, 2 for bad input.
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


def read_outputs(path: Path, stack: str) -> tuple[str, int]:
    """(workspace host URL, job id) from a `cdktf deploy --outputs-file` JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunJobError(f"outputs file not found: {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunJobError(f"cannot read outputs file {path}: {exc}") from None
    outputs = data.get(stack) if isinstance(data, dict) else None
    if not isinstance(outputs, dict):
        raise RunJobError(f"outputs file {path} has no stack {stack!r}")
    try:
        return normalise_host(str(outputs["workspace_url"])), int(outputs["ml_pipeline_job_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunJobError(
            f"stack {stack!r} lacks workspace_url/ml_pipeline_job_id: {exc}"
        ) from None


def normalise_host(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url:
        raise RunJobError("empty workspace URL")
    return url if url.startswith("https://") else f"https://{url.removeprefix('http://')}"


def run_and_wait(
    client: Any,
    job_id: int,
    *,
    timeout_s: float,
    poll_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Trigger job_id with client.jobs.run_now and poll client.jobs.get_run until it ends."""
    started = client.jobs.run_now(job_id=job_id)
    response = getattr(started, "response", started)
    run_id = int(response.run_id)
    log(f"started run {run_id} of job {job_id}")
    deadline = clock() + timeout_s
    last = ""
    while True:
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


def _client(host: str) -> Any:  # pragma: no cover - needs a workspace
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=host)


def main(argv: list[str] | None = None, client_factory: Callable[[str], Any] = _client) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.run_job", description=__doc__)
    parser.add_argument("--outputs-file", type=Path)
    parser.add_argument("--stack", help="stack (environment) name in the outputs file")
    parser.add_argument("--host", help="workspace URL (instead of --outputs-file)")
    parser.add_argument("--job-id", type=int, help="job ID (instead of --outputs-file)")
    parser.add_argument("--timeout-minutes", type=float, default=90.0)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        if args.outputs_file:
            if not args.stack:
                raise RunJobError("--stack is required with --outputs-file")
            host, job_id = read_outputs(args.outputs_file, args.stack)
        elif args.host and args.job_id is not None:
            host, job_id = normalise_host(args.host), args.job_id
        else:
            raise RunJobError("give --outputs-file and --stack, or --host and --job-id")
    except RunJobError as exc:
        print(f"run_job: error: {exc}", file=sys.stderr)
        return 2
    outcome = run_and_wait(
        client_factory(host),
        job_id,
        timeout_s=args.timeout_minutes * 60,
        poll_s=args.poll_seconds,
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
