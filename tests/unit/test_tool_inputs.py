"""What the workflows' tools accept (issue 22 §5, §8): `tools/safe_input.py` and its use by the
plan summary, the release guard and the job runner. Every user error is one line and exit
status 2 before anything starts; a started job run is cancelled on any failure; a plan address
cannot break out of the comment's structure. (The hostile-input table runs the tools' entry
points on a representative case of each class; these are the detailed cases.)"""

from __future__ import annotations

import argparse
import enum
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.cicd.test_plan_summary import assert_balanced
from tools import release_guard, run_job, safe_input
from tools.plan_summary.cli import EXIT_BAD_INPUT, run
from tools.plan_summary.model import parse_plan
from tools.plan_summary.render import render
from tools.safe_input import InputError

CONFIG = Path(__file__).resolve().parents[2] / "config" / "shared" / "plan_summary.yaml"

# --- safe_input -------------------------------------------------------------------------------


def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"is not a regular file \(a FIFO, socket or device\)"):
        safe_input.read_json(fifo, "plan file")
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"^plan file not found: "),
        (b"\xef\xbb\xbf{}", None),  # a UTF-8 BOM is not JSON either
        (b'{"a": "\xc3"}', r"is not valid UTF-8 \(byte 8, line 1\)$"),
        (
            b'{"a":\n  1,}',
            r"is not JSON \(Expecting property name enclosed in double quotes at line 2",
        ),
        (b"[" * 100_000 + b"]" * 100_000, r"is nested too deeply \(more than 128 levels\)$"),
        (b"[" * 129 + b"]" * 129, r"is nested too deeply \(more than 128 levels\)$"),
        (b"9" * 4301, r"is not usable JSON: Exceeds the limit \(4300 digits\)"),
        (b'{"a": NaN}', r"is not usable JSON: NaN is not a JSON number$"),
        (b'{"a": -Infinity}', r"is not usable JSON: -Infinity is not a JSON number$"),
        (b'{"a": 1e999}', r"is not usable JSON: the number 1e999 is out of range$"),
    ],
)
def test_unusable_json_is_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        safe_input.read_json(path, "plan file")
    text = str(caught.value)
    assert "\n" not in text and len(text) < 600
    if message:
        assert re.search(message, text), text


def test_json_within_the_bounds_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text("[" * 128 + "]" * 128 + "\n")
    assert safe_input.read_json(path) is not None
    path.write_text('{"n": ' + "9" * 4300 + ', "f": 1.5e308}')
    assert safe_input.read_json(path)["f"] == 1.5e308
    with pytest.raises(InputError, match="is a directory"):
        safe_input.read_json(tmp_path)
    with pytest.raises(InputError, match="bytes, more than the 10 accepted"):
        safe_input.read_json(path, max_bytes=10)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1", True),
        ("9223372036854775807", True),
        ("9223372036854775808", False),
        ("0", False),
        ("-3", False),
        ("1_000", False),
        (" 12", False),
        ("12\n", False),
        ("1e3", False),
        ("0x10", False),
        ("٣", False),  # a non-ASCII digit int() would accept
        ("", False),
    ],
)
def test_positive_int_ids(text: str, ok: bool) -> None:
    if ok:
        assert safe_input.positive_int(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="is not a positive integer ID"):
            safe_input.positive_int(text)


@pytest.mark.parametrize("text", ["0", "-1", "0.5", "601", "nan", "inf", "-inf", "1e9", "x"])
def test_poll_interval_bounds(text: str) -> None:
    parse = safe_input.bounded_float(1, 600, "seconds", low_inclusive=True)
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)
    assert parse("1") == 1 and parse("600") == 600


def test_one_line_parser_errors(capsys: pytest.CaptureFixture[str]) -> None:
    parser = safe_input.OneLineParser(prog="tool")
    parser.add_argument("--n", type=int, required=True)
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--n", "x\ny"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "tool: error: argument --n: invalid int value: 'x\\ny' (see --help)\n"
    )


# --- tools.run_job --------------------------------------------------------------------------


class Life(enum.Enum):
    RUNNING = "RUNNING"
    TERMINATED = "TERMINATED"


class FakeJobs:
    def __init__(self, fail_on_poll: int | None = None, error: BaseException | None = None):
        self.polls = 0
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.fail_on_poll = fail_on_poll
        self.error = error or RuntimeError("503 Service Unavailable")

    def run_now(self, job_id: int) -> Any:
        self.started.append(job_id)
        return SimpleNamespace(run_id=77)

    def get_run(self, run_id: int) -> Any:
        self.polls += 1
        if self.polls == self.fail_on_poll:
            raise self.error
        state = SimpleNamespace(life_cycle_state=Life.RUNNING, result_state=None, state_message="")
        return SimpleNamespace(state=state, run_page_url=None)

    def cancel_run(self, run_id: int) -> None:
        self.cancelled.append(run_id)


def _wait(jobs: FakeJobs, **kwargs: Any) -> list[str]:
    log: list[str] = []
    client = SimpleNamespace(jobs=jobs)
    options = {"timeout_s": 3600, "poll_s": 30, "sleep": lambda s: None, "log": log.append}
    run_job.run_and_wait(lambda: client, 5, **{**options, **kwargs})
    return log


@pytest.mark.parametrize(
    "error", [RuntimeError("503"), KeyboardInterrupt(), run_job.Interrupted("SIGTERM")]
)
def test_a_started_run_is_cancelled_on_any_failure(error: BaseException) -> None:
    jobs = FakeJobs(fail_on_poll=3, error=error)
    with pytest.raises(type(error)):
        _wait(jobs)
    assert jobs.started == [5] and jobs.cancelled == [77]


def test_a_failed_re_authentication_still_cancels_the_run() -> None:
    jobs = FakeJobs()
    client = SimpleNamespace(jobs=jobs)
    calls = [0]
    now = [0.0]

    def connect() -> Any:
        calls[0] += 1
        if calls[0] == 2:
            raise PermissionError("AADSTS700024: client assertion is not within its valid range")
        return client

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(PermissionError):
        run_job.run_and_wait(
            connect, 5, timeout_s=3600, poll_s=60, reauth_s=120, sleep=sleep,
            clock=lambda: now[0], log=lambda m: None,
        )  # fmt: skip
    assert jobs.cancelled == [77]


def test_a_run_that_cannot_be_cancelled_is_named() -> None:
    jobs = FakeJobs(fail_on_poll=1)
    jobs.cancel_run = lambda run_id: (_ for _ in ()).throw(RuntimeError("network down"))
    log: list[str] = []
    with pytest.raises(RuntimeError, match="503"):
        run_job.run_and_wait(
            lambda: SimpleNamespace(jobs=jobs), 5, timeout_s=60, poll_s=1,
            sleep=lambda s: None, log=log.append,
        )  # fmt: skip
    assert log[-1] == "run 77 may still be running: cancel it in the workspace"


def test_non_positive_intervals_never_start_a_run() -> None:
    jobs = FakeJobs()
    for kwargs in ({"poll_s": 0}, {"poll_s": -1}, {"timeout_s": 0}, {"reauth_s": 0}):
        with pytest.raises(run_job.RunJobError):
            _wait(jobs, **kwargs)
    assert jobs.started == []


def test_main_reports_a_failed_wait_on_one_line_and_cancels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = FakeJobs(fail_on_poll=1, error=RuntimeError("HTTP 500\n::add-mask::x"))
    code = run_job.main(
        ["--host", "adb-1.2.azuredatabricks.net", "--job-id", "5", "--poll-seconds", "1"],
        client_factory=lambda host, auth: SimpleNamespace(jobs=jobs),
    )
    err = capsys.readouterr().err
    assert code == 1 and jobs.cancelled == [77]
    assert err == "::error title=ML pipeline run failed::RuntimeError: HTTP 500\\n::add-mask::x\n"


def test_sigterm_during_the_wait_cancels_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    """A cancelled workflow run stops the step with SIGTERM: the job run is cancelled too."""
    jobs = FakeJobs()
    original = jobs.get_run

    def get_run(run_id: int) -> Any:
        if jobs.polls == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # the handler runs in this thread and raises here
        return original(run_id)

    jobs.get_run = get_run
    assert threading.current_thread() is threading.main_thread()
    code = run_job.main(
        ["--host", "adb-1.2.azuredatabricks.net", "--job-id", "5", "--poll-seconds", "1"],
        client_factory=lambda host, auth: SimpleNamespace(jobs=jobs),
    )
    assert code == 1 and jobs.cancelled == [77]
    assert "Interrupted: stopped by signal SIGTERM" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is not run_job._stop  # restored


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--job-id", "5"], "give --outputs-file, or --host and --job-id"),
        (["--host", "adb-1.net", "--job-id", "0"], "argument --job-id: '0' is not a positive"),
        (["--host", "adb-1.net", "--job-id", "5", "--poll-seconds", "0.01"], "--poll-seconds"),
        (["--host", "adb-1.net", "--job-id", "5", "--timeout-minutes", "nan"], "out of range"),
        (["--host", "a b.net", "--job-id", "5"], "is not an https URL of a host"),
        (["--host", "https://me@adb-1.net", "--job-id", "5"], "is not an https URL of a host"),
        (["--host", "ftp://adb-1.net", "--job-id", "5"], "is not an https URL of a host"),
        (["--host", "adb-1.net", "--job-id", "5", "--auth-type", "pat\n"], "is not an auth type"),
    ],
)
def test_main_refuses_before_starting(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    started: list[str] = []
    try:
        code = run_job.main(argv, client_factory=lambda *a: started.append("x"))
    except SystemExit as exc:  # a usage error found by the argument parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and started == []
    assert len(err.splitlines()) == 1 and message in err, err


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (42, True),
        ("42", True),
        (True, False),
        (12.5, False),
        (-1, False),
        ("4 2", False),
        (None, False),
    ],
)
def test_job_ids_in_outputs(tmp_path: Path, value: Any, ok: bool) -> None:
    path = tmp_path / "out.json"
    path.write_text(
        json.dumps(
            {
                "workspace_url": {"value": "adb-1.2.azuredatabricks.net"},
                "ml_pipeline_job_id": {"value": value},
            }
        )
    )
    if ok:
        assert run_job.read_outputs([path]) == ("https://adb-1.2.azuredatabricks.net", 42)
    else:
        with pytest.raises(run_job.RunJobError, match="is not a positive integer"):
            run_job.read_outputs([path])


def test_a_missing_sdk_is_exit_2_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    def no_sdk(host: str, auth: str) -> Any:
        raise run_job.RunJobError("the Databricks SDK is not installed")

    assert run_job.main(["--host", "adb-1.net", "--job-id", "5"], client_factory=no_sdk) == 2
    assert capsys.readouterr().err == "run_job: error: the Databricks SDK is not installed\n"


# --- tools.release_guard --------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        "refs/tags/v1.0.0 ",
        "refs/tags/v1.0.0\n",
        "refs/tags/ v1.0.0",
        "refs/tags/v1.0.0\t",
        "refs/heads/release/1.0\r",
        "refs/heads/main..x",
        "refs/heads/@{1}",
        "refs/heads/release//1",
        "refs/heads/release/1.lock",
        "refs/heads/.hidden",
        "refs/tags/v1.0.0~1",
        "heads/main",
        "",
    ],
)
def test_a_malformed_ref_is_never_routed(ref: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert release_guard.main(["route", "--event", "push", "--ref", ref]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("release_guard: error: --ref ") and len(err.splitlines()) == 1
    with pytest.raises(release_guard.GuardError):
        release_guard.route("push", ref)


@pytest.mark.parametrize("tag", ["v1.0.0\n", "v1.0.0-rc.1\n"])
def test_a_tag_with_a_trailing_line_break_is_not_a_release(tag: str) -> None:
    with pytest.raises(release_guard.GuardError):
        release_guard.validate_tag(tag)


def test_refusals_cannot_inject_workflow_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        release_guard.main(["route", "--event", "x\n::add-mask::y %", "--ref", "refs/heads/a"]) == 1
    )
    err = capsys.readouterr().err
    assert err == (
        "::error title=Deploy refused::no environment is deployed for x\\n::add-mask::y %25 of "
        "refs/heads/a\n"
    )


def test_a_missing_repository_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert release_guard.main(["check-tag", "v1.0.0", "--repo", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("release_guard: error: --repo ")


# --- tools.plan_summary: inputs and the comment's structure -----------------------------------

HOSTILE_ADDRESSES = [
    'aws_x.y["a\n\n```\n# pwned\n</details>"]',
    'aws_x.y["a\r\r<details><summary>x</summary>"]',
    'aws_x.y["a\u2028\u2029</summary></details>\n\n- item"]',
]


def _plan(addresses: list[str], actions: list[str]) -> dict:
    return {
        "format_version": "1.2",
        "planned_values": {},
        "resource_changes": [
            {
                "address": address,
                "type": "aws_x",
                "mode": "managed",
                "change": {"actions": actions, "before": {"a": 1}, "after": {"a": 2}},
            }
            for address in addresses
        ],
        "resource_drift": [
            {
                "address": address,
                "type": "aws_x",
                "mode": "managed",
                "change": {"actions": ["update"], "before": {"a": 0}, "after": {"a": 1}},
            }
            for address in addresses
        ],
    }


@pytest.mark.parametrize("actions", [["update"], ["delete", "create"], ["delete"], ["create"]])
def test_an_address_with_line_breaks_stays_on_its_line(actions: list[str]) -> None:
    plan = parse_plan(_plan(HOSTILE_ADDRESSES, actions))
    markdown = render(
        plan, title="T\n\n# x", protected=(), violations=[], allow_destroy=False, max_chars=60_000
    )
    assert_balanced(markdown)
    assert not re.search(r"^# (pwned|x)", markdown, re.MULTILINE)
    assert not re.search(r"^- item", markdown, re.MULTILINE)
    assert "\r" not in markdown and "\u2028" not in markdown and "\u2029" not in markdown
    for line in markdown.splitlines():
        if "aws_x.y" in line and "<code>" in line:
            assert "</code>" in line  # the summary's address closes on its own line
    # Shown escaped, on the drift summary's line (every plan here has drift).
    assert (
        "<details><summary><code>aws_x.y[&quot;a\\n\\n```\\n# pwned\\n&lt;/details&gt;&quot;]"
        "</code> (1 attribute(s) changed)</summary>"
    ) in markdown


def test_the_summary_refuses_outputs_it_cannot_write_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan(["a.b"], ["create"])))
    for option in ("--output", "--status-json", "--redacted-json"):
        code = run([str(plan), option, str(tmp_path / "no-dir" / "x"), "--config", str(CONFIG)])
        err = capsys.readouterr().err
        assert code == EXIT_BAD_INPUT and len(err.splitlines()) == 1
        assert "its directory does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (b"max_chars: 5000\n" + b"x: &a [1]\ny: *a\n", "anchors and aliases are not supported"),
        (b"a: " + b"[" * 50 + b"]" * 50 + b"\n", "nested more than 8 levels deep"),
        (b"max_chars: \xff\n", "is not valid UTF-8"),
        (b"a: " + b"[" * 60_000 + b"\n", "nested more than 8 levels deep"),
    ],
)
def test_a_hostile_summary_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: bytes, message: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(config)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan(["a.b"], ["create"])))
    assert run([str(plan), "--config", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err, err
