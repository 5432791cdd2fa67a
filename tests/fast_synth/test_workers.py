"""Synthesis in more than one process (fast_synth/workers.py, M): the same bytes as one process,
the same user errors wherever they are found, and a crashed worker reported, not hung.

The end-to-end cases force workers with MLOPS_SYNTH_WORKERS (the four environments are below
the automatic threshold); the pieces (planning, splitting, merging, the manifest format) are
tested directly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fast_synth
from fast_synth.workers import _cpu_count
from tests.conftest import ROOT, run_main, synthesize_to
from tests.test_synthesis import BROKEN_INPUTS, _copy_project, tree_digest

pytestmark = pytest.mark.synth

FOUR_PROCESSES = {fast_synth.WORKERS_VAR: "4"}  # dev here; prod, sandbox, uat in workers


def test_workers_write_the_bytes_one_process_writes(synth_dir: Path, tmp_path: Path) -> None:
    out = synthesize_to(tmp_path / "cdktf.out", env=FOUR_PROCESSES)
    assert tree_digest(out) == tree_digest(synth_dir)
    assert not list(tmp_path.glob("*part-*")), "worker directories are removed"


def test_problems_found_in_workers_are_reported_like_ours(synth_dir: Path, tmp_path: Path) -> None:
    break_it, expected = BROKEN_INPUTS["template key the provider does not know"]
    project = _copy_project(tmp_path)
    break_it(project)
    earlier = tmp_path / "earlier"
    shutil.copytree(synth_dir, earlier)
    before = tree_digest(earlier)
    result = run_main(outdir=earlier, cwd=project, env=FOUR_PROCESSES)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert expected in result.stderr  # dev: this process
    for env in ("prod", "sandbox", "uat"):  # the workers
        assert expected.replace("environment dev", f"environment {env}") in result.stderr
    assert tree_digest(earlier) == before
    assert not list(tmp_path.glob("**/*part-*"))


def test_a_bad_worker_setting_is_a_user_error(tmp_path: Path) -> None:
    result = run_main("--check", env={fast_synth.WORKERS_VAR: "two"})
    assert result.returncode == 2
    assert "environment variable MLOPS_SYNTH_WORKERS: MLOPS_SYNTH_WORKERS='two'" in result.stderr
    assert "Fix: unset it, or set it to auto" in result.stderr


# --- the pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weights, value, enabled, expected",
    [
        ([1.15] * 4, "auto", True, 1),  # the four environments: one process
        ([2.0] * 12, "auto", True, min(2, _cpu_count())),  # 12 x 20 jobs
        ([2.0] * 12, "1", True, 1),
        ([1.0] * 3, "8", True, 3),  # never more processes than environments
        ([2.0] * 12, "3", False, 1),  # MLOPS_FAST_SYNTH=0: one process, always
        ([], "auto", True, 1),
    ],
)
def test_process_count(weights, value, enabled, expected) -> None:
    environ = {fast_synth.WORKERS_VAR: value, fast_synth.ENV_VAR: "1" if enabled else "0"}
    assert fast_synth.process_count(weights, environ) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_process_count_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="neither 'auto' nor a positive integer"):
        fast_synth.process_count([1.0], {fast_synth.WORKERS_VAR: value})


@pytest.mark.parametrize(
    "weights, parts, extra, expected",
    [
        ([2.0] * 12, 2, 0.0, [(0, 6), (6, 12)]),
        ([2.0] * 12, 2, -3.0, [(0, 7), (7, 12)]),  # this process starts first: it takes more
        ([1, 1, 10], 2, 0.0, [(0, 2), (2, 3)]),
        ([1] * 5, 3, 0.0, [(0, 2), (2, 3), (3, 5)]),
        ([1] * 2, 5, 0.0, [(0, 1), (1, 2)]),  # no empty group
        ([5], 2, 0.0, [(0, 1)]),
    ],
)
def test_partition(weights, parts, extra, expected) -> None:
    groups = fast_synth.partition(weights, parts, extra)
    assert [(g.start, g.stop) for g in groups] == expected


STABLE_CASES = {
    "manifest": {
        "version": "0.21.0",
        "stacks": {"b": {"dependencies": [], "annotations": [], "name": "b"}, "a": {"x": {}}},
    },
    "scalars": {"t": True, "f": False, "n": None, "i": 3, "s": 'quote " é ✓ \\ \n \t \u0001'},
    "nested lists": [[], [[]], [1, {"k": []}]],
}
JSON_STABLE_STRINGIFY = ROOT / "node_modules" / "cdktf" / "node_modules" / "json-stable-stringify"


@pytest.mark.skipif(not JSON_STABLE_STRINGIFY.is_dir(), reason="npm packages missing (make node)")
def test_stable_stringify_writes_what_cdktf_writes() -> None:
    script = (
        f"const s = require({json.dumps(str(JSON_STABLE_STRINGIFY))});"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf-8'));"
        "process.stdout.write(JSON.stringify(Object.fromEntries("
        "Object.entries(cases).map(([k, v]) => [k, s(v, {space: 2})]))));"
    )
    result = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(STABLE_CASES),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    expected = json.loads(result.stdout)
    assert {k: fast_synth.stable_stringify(v) for k, v in STABLE_CASES.items()} == expected


def _part(root: Path, name: str, *, version: str = "0.21.0", deps: list | None = None) -> Path:
    """A directory shaped like a worker's output, with one stack."""
    (root / "stacks" / name).mkdir(parents=True)
    (root / "stacks" / name / "cdk.tf.json").write_text("{}")
    entry = {
        "annotations": [],
        "constructPath": name,
        "dependencies": deps or [],
        "name": name,
        "stackMetadataPath": f"stacks/{name}/metadata.json",
        "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
        "workingDirectory": f"stacks/{name}",
    }
    manifest = {"stacks": {name: entry}, "version": version}
    (root / "manifest.json").write_text(fast_synth.stable_stringify(manifest))
    return root


def test_merge_keeps_dependencies_within_a_part(tmp_path: Path) -> None:
    """An environment's workspace stack depends on its platform stack; both come from the
    same worker, so the dependency survives the merge."""
    dest, part = _part(tmp_path / "dest", "b"), _part(tmp_path / "part", "a")
    _add_stack(part, "a-workspace", deps=["a"])
    assert fast_synth.merge_stacks(dest, part) == ["a", "a-workspace"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["stacks"]["a-workspace"]["dependencies"] == ["a"]


def _add_stack(part: Path, name: str, *, deps: list) -> None:
    other = _part(part.parent / f"tmp-{name}", name, deps=deps)
    (other / "stacks" / name).rename(part / "stacks" / name)
    manifest = json.loads((part / "manifest.json").read_text())
    manifest["stacks"][name] = json.loads((other / "manifest.json").read_text())["stacks"][name]
    (part / "manifest.json").write_text(fast_synth.stable_stringify(manifest))


def test_merge_moves_stacks_and_rewrites_the_manifest(tmp_path: Path) -> None:
    dest, part = _part(tmp_path / "dest", "b"), _part(tmp_path / "part", "a")
    assert fast_synth.merge_stacks(dest, part) == ["a"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert list(manifest["stacks"]) == ["a", "b"]  # keys sorted, as cdktf writes them
    assert manifest["stacks"]["a"]["workingDirectory"] == "stacks/a"
    assert (dest / "stacks" / "a" / "cdk.tf.json").is_file()
    assert not (part / "stacks" / "a").exists()


@pytest.mark.parametrize(
    "part_kwargs, message",
    [
        ({"name": "b"}, "synthesized twice"),
        ({"name": "a", "version": "0.20.0"}, "cdktf version differs"),
        ({"name": "a", "deps": ["b"]}, "depends on stacks of another part"),
    ],
)
def test_merge_refuses_what_it_cannot_merge(tmp_path: Path, part_kwargs, message) -> None:
    dest = _part(tmp_path / "dest", "b")
    part = _part(tmp_path / "part", **part_kwargs)
    with pytest.raises(ValueError, match=message):
        fast_synth.merge_stacks(dest, part)


def _python(code: str):
    return lambda names: [sys.executable, "-c", code, *names]


def test_a_crashed_worker_fails_the_run_and_is_cleaned_up(tmp_path: Path, capsys) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    crash = "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"
    with (
        pytest.raises(fast_synth.WorkerFailed, match=r"worker for qa stopped \(exit 3\)"),
        fast_synth.Workers([["qa"]], staging, _python(crash), os.environ) as workers,
    ):
        workers.finish()
    assert "boom" in capsys.readouterr().err  # relayed
    assert not list(tmp_path.glob("*part-*"))


def test_a_worker_without_report_fails_the_run(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    with (
        pytest.raises(fast_synth.WorkerFailed, match="without its report"),
        fast_synth.Workers([["qa"]], staging, _python("print('not json')"), os.environ) as workers,
    ):
        workers.finish()


def test_reported_problems_come_back_and_nothing_is_merged(tmp_path: Path) -> None:
    staging = _part(tmp_path / "staging", "dev")
    problem = {"source": "config/qa.yaml", "field": "x", "message": "bad", "fix": "fix it"}
    code = f"import json, sys; print(json.dumps({{'problems': [{problem!r}]}})); sys.exit(2)"
    with fast_synth.Workers([["qa"]], staging, _python(code), os.environ) as workers:
        assert workers.finish() == [problem]
    assert sorted(p.name for p in (staging / "stacks").iterdir()) == ["dev"]


def test_an_error_here_stops_the_workers(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    with (
        pytest.raises(RuntimeError, match="ours"),
        fast_synth.Workers([["qa"]], staging, _python("import time; time.sleep(60)"), os.environ),
    ):
        raise RuntimeError("ours")
    assert not list(tmp_path.glob("*part-*"))
