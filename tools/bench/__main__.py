"""`make bench`: how long and how much memory a full `cdktf synth` of the app takes.

Runs, in one process, several repetitions of each case, interleaved (app, baseline, scale,
make, app, baseline, ...) so that background noise hits every case alike, after one untimed
warm-up run of each (first runs extract the jsii package cache and write .pyc files):

app       `python main.py` at the repository root, all environments in config/, written to a
          temporary CDKTF_OUTDIR. Accelerated as it ships (MLOPS_FAST_SYNTH unset = on).
baseline  `python -I tools/bench/baseline_app/main.py` from a temporary directory: a minimal
          ordinary CDKTF app (cdktf + both provider bindings imported the ordinary way, one
          small stack). Same interpreter and pinned packages as the app (so only the code path
          differs), but a process that never imports constructs_lib or fast_synth; `-I` keeps
          the repository off sys.path. It checks itself that no acceleration is active.
scale     like `app`, with 12 generated environments (copies of config/dev.yaml) of 20 jobs
          each, via `--config-dir` / MLOPS_CONFIG_DIR. As it ships, this is large enough for
          main.py to hand part of the environments to a worker process (fast_synth/workers.py, M).
scale-1p  `scale` with MLOPS_SYNTH_WORKERS=1: everything in one process, for comparison.
make      `make synth` end to end, set-up done: one run of `main.py` (warm: nothing to install
          or build). Writes cdktf.out/ like the real thing. Skipped with --skip-make.
fresh     once, not repeated: `git clone` of the committed HEAD into a temporary directory and
          `make synth` there, from nothing (venv, synthesis-only packages, wheel, synthesis);
          also the size of the clone's .venv afterwards. Uses pip's download cache as the
          machine has it. Skipped with --skip-fresh; with --fresh-test, `make test` runs in the
          clone afterwards (minutes) and its wall time and pytest's own time are reported.
ordinary  (only with --ordinary) `app` with MLOPS_FAST_SYNTH=0: the unaccelerated app.
app-cdktn (only with --cdktn) `app` on CDK Terrain: .venv-cdktn's python, MLOPS_CDK_ENGINE=cdktn
          (the engine dimension; with --ordinary also `ord-cdktn`, unaccelerated). No target.

Per run: wall time and peak memory of the whole process tree (python + the jsii node parent
and kernel child, + the CLI for `make`), sampled from /proc every 20 ms and summed (see
procmon.py). Reported: median (and min/max) per case, ratio app/baseline, PASS/FAIL per
target of issue 7, and a JSON record in .bench/results.json (plus one line appended to
.bench/history.jsonl) so figures can be compared between commits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.bench.procmon import Measurement, run_measured

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).resolve().parent / "baseline_app" / "main.py"

TARGET_WALL_S = 2.0
TARGET_RATIO = 0.2
TARGET_PEAK_MB = 400.0
TARGET_SCALE_FACTOR = 2.0
TARGET_MAKE_FACTOR = 1.3
TARGET_FRESH_S = 60.0
TARGET_FRESH_VENV_MB = 600.0
TARGET_TEST_S = 240.0
SCALE_ENVS = 12
SCALE_JOBS = 20
JOB_TEMPLATES = (
    "ml_pipeline.yaml.j2",
    "batch_inference.yaml.j2",
    "monitoring.yaml.j2",
    "replay.yaml.j2",
)


JOB_TIMEOUTS = {
    "ml_pipeline.yaml.j2": 10800,
    "batch_inference.yaml.j2": 3600,
    "monitoring.yaml.j2": 14400,  # outlasts the ml_pipeline run it starts (MLOPS-JOB-5)
    "replay.yaml.j2": 3600,
}
"""The shipped defaults' timeouts per template."""


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else Path(sys.executable))


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("CHECKPOINT_DISABLE", "1")
    env.pop("MLOPS_FAST_SYNTH", None)
    env.pop("MLOPS_SYNTH_WORKERS", None)
    env.pop("MLOPS_CONFIG_DIR", None)
    env.pop("MLOPS_CDK_ENGINE", None)
    env.pop("CDKTF_OUTDIR", None)
    return env


def _main_has_hook() -> bool:
    try:
        return "fast_synth" in (ROOT / "main.py").read_text(encoding="utf-8")
    except OSError:
        return False


def _app_cmd(extra: list[str], python: str | None = None) -> list[str]:
    if _main_has_hook():
        return [python or _python(), "main.py", *extra]
    # main.py does not call fast_synth.install() yet: do it in a shim, then run main.py.
    shim = (
        "import fast_synth, runpy, sys; fast_synth.install(); "
        f"sys.argv = ['main.py', *{extra!r}]; runpy.run_path('main.py', run_name='__main__')"
    )
    return [_python(), "-c", shim]


def write_scale_configs(dest: Path, envs: int = SCALE_ENVS, jobs: int = SCALE_JOBS) -> list[str]:
    """`envs` copies of config/dev.yaml, each with `jobs` Databricks jobs. Returns the names."""
    import yaml

    base = yaml.safe_load((ROOT / "config" / "dev.yaml").read_text(encoding="utf-8")) or {}
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(1, envs + 1):
        name = f"scale{i:02d}"
        data = json.loads(json.dumps(base))  # deep copy
        databricks = data.setdefault("databricks", {})
        job_map = {}
        for j in range(jobs):
            # `monitoring` triggers `ml_pipeline`, so the first job is always an ml_pipeline.
            key = "ml_pipeline" if j == 0 else f"job_{j:02d}"
            template = JOB_TEMPLATES[j % len(JOB_TEMPLATES)]
            job = {"template": template, "timeout_seconds": JOB_TIMEOUTS[template]}
            if j % 2 == 0:
                job["schedule"] = {"quartz_cron_expression": f"0 {j} 3 * * ?"}
            job_map[key] = job
        databricks["jobs"] = job_map
        (dest / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        names.append(name)
    return names


def _count_stacks(outdir: Path) -> int:
    return len(list((outdir / "stacks").glob("*/cdk.tf.json"))) if outdir.exists() else 0


class Case:
    def __init__(self, name: str, describe: str, expect_stacks: int) -> None:
        self.name = name
        self.describe = describe
        self.expect_stacks = expect_stacks
        self.runs: list[Measurement] = []

    def command(self, outdir: Path) -> tuple[list[str], dict[str, str], str, Path]:
        raise NotImplementedError

    def run_once(self, tmp: Path) -> Measurement:
        outdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=tmp))
        cmd, env, cwd, written = self.command(outdir)
        m = run_measured(cmd, env=env, cwd=cwd)
        stacks = _count_stacks(written)
        if m.returncode != 0 or stacks < self.expect_stacks:
            sys.stderr.write(m.stderr[-3000:])
            raise SystemExit(
                f"bench: case {self.name} failed (exit {m.returncode}, {stacks} stack(s) written,"
                f" expected {self.expect_stacks}): {' '.join(cmd)}"
            )
        shutil.rmtree(outdir, ignore_errors=True)
        return m


class AppCase(Case):
    def __init__(
        self,
        name,
        describe,
        expect,
        *,
        config_dir: Path | None = None,
        fast=True,
        env=None,
        python: str | None = None,
    ):
        super().__init__(name, describe, expect)
        self.config_dir = config_dir
        self.fast = fast
        self.env = env or {}
        self.python = python

    def command(self, outdir):
        env = {**_base_env(), **self.env}
        env["CDKTF_OUTDIR"] = str(outdir)
        if not self.fast:
            env["MLOPS_FAST_SYNTH"] = "0"
        extra = ["--config-dir", str(self.config_dir)] if self.config_dir else []
        if self.config_dir:
            env["MLOPS_CONFIG_DIR"] = str(self.config_dir)
        return _app_cmd(extra, self.python), env, str(ROOT), outdir


def cdktn_cases(ordinary: bool) -> list[AppCase]:
    """The engine dimension (--cdktn): the app on CDK Terrain, from .venv-cdktn."""
    python = ROOT / ".venv-cdktn" / "bin" / "python"
    if not python.exists():
        raise SystemExit("bench: --cdktn needs .venv-cdktn (make cdktn-venv)")
    env = {"MLOPS_CDK_ENGINE": "cdktn"}
    cases = [AppCase("app-cdktn", "app on cdktn (accelerated)", 1, env=env, python=str(python))]
    if ordinary:
        cases.append(
            AppCase(
                "ord-cdktn",
                "app on cdktn, MLOPS_FAST_SYNTH=0",
                1,
                fast=False,
                env=env,
                python=str(python),
            )
        )
    return cases


class BaselineCase(Case):
    def command(self, outdir):
        env = _base_env()
        env["CDKTF_OUTDIR"] = str(outdir)
        return [_python(), "-I", str(BASELINE)], env, str(outdir.parent), outdir


class MakeCase(Case):
    def command(self, outdir):
        env = _base_env()
        env.pop("MAKEFLAGS", None)
        env.pop("MAKELEVEL", None)
        return ["make", "--no-print-directory", "synth"], env, str(ROOT), ROOT / "cdktf.out"


def _dir_mb(path: Path) -> float:
    """Disk usage of a directory tree in MB (allocated blocks, as `du` counts them)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total / 1e6


def run_fresh(tmp: Path, with_test: bool) -> dict:
    """Clone HEAD, `make synth` from nothing (and `make test` if asked); times and sizes."""
    clone = tmp / "fresh"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    env = _base_env()
    for name in ("MAKEFLAGS", "MAKELEVEL", "VIRTUAL_ENV"):
        env.pop(name, None)
    m = run_measured(["make", "--no-print-directory", "synth"], env=env, cwd=str(clone))
    if m.returncode != 0:
        sys.stderr.write(m.stderr[-3000:])
        raise SystemExit(f"bench: fresh `make synth` failed (exit {m.returncode})")
    result = {
        "make_synth_s": round(m.wall_s, 2),
        "make_synth_peak_mb": round(m.peak_rss_mb, 1),
        "venv_mb": round(_dir_mb(clone / ".venv"), 1),
    }
    if with_test:
        start = time.perf_counter()
        proc = subprocess.run(
            ["make", "--no-print-directory", "test"],
            env=env,
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        result["make_test_s"] = round(time.perf_counter() - start, 1)
        result["make_test_exit"] = proc.returncode
        found = re.findall(r" in ([0-9.]+)s", proc.stdout)
        result["pytest_s"] = float(found[-1]) if found else None
    return result


def _summary(case: Case) -> dict:
    walls = [m.wall_s for m in case.runs]
    peaks = [m.peak_rss_mb for m in case.runs]
    return {
        "describe": case.describe,
        "runs": len(case.runs),
        "wall_s": {
            "median": statistics.median(walls),
            "min": min(walls),
            "max": max(walls),
            "all": [round(w, 3) for w in walls],
        },
        "peak_rss_mb": {
            "median": statistics.median(peaks),
            "max": max(peaks),
            "all": [round(p, 1) for p in peaks],
        },
        "max_processes": max(m.max_procs for m in case.runs),
    }


def _git_commit() -> str | None:
    """The checked-out commit, read from .git (no git command)."""
    try:
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = ROOT / ".git" / head[5:]
            return ref.read_text().strip() if ref.exists() else f"{head[5:]} (no commits)"
        return head
    except OSError:
        return None


def _node_version() -> str | None:
    try:
        return subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per case (5)")
    parser.add_argument("--skip-make", action="store_true", help="do not time `make synth`")
    parser.add_argument("--skip-scale", action="store_true", help="do not run the scale case")
    parser.add_argument("--ordinary", action="store_true", help="also time the app unaccelerated")
    parser.add_argument("--skip-fresh", action="store_true", help="do not time a fresh clone")
    parser.add_argument(
        "--fresh-test", action="store_true", help="also run `make test` in the fresh clone"
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first runs")
    parser.add_argument(
        "--cdktn", action="store_true", help="also time the app on CDK Terrain (.venv-cdktn)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "results.json")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    try:
        cases: list[Case] = [
            AppCase("app", "python main.py, all environments (accelerated)", 1),
            BaselineCase("baseline", "naive CDKTF app: cdktf + both bindings, one small stack", 1),
        ]
        if not args.skip_scale:
            config_dir = tmp / "scale-config"
            names = write_scale_configs(config_dir)
            cases.append(
                AppCase(
                    "scale",
                    f"python main.py, {len(names)} environments x {SCALE_JOBS} jobs",
                    len(names),
                    config_dir=config_dir,
                )
            )
            cases.append(
                AppCase(
                    "scale-1p",
                    "scale in one process (MLOPS_SYNTH_WORKERS=1): no worker process",
                    len(names),
                    config_dir=config_dir,
                    env={"MLOPS_SYNTH_WORKERS": "1"},
                )
            )
        if args.ordinary:
            cases.append(AppCase("ordinary", "python main.py, MLOPS_FAST_SYNTH=0", 1, fast=False))
        if args.cdktn:
            cases += cdktn_cases(args.ordinary)
        if not args.skip_make:
            cases.append(MakeCase("make", "make synth (end to end, set-up done, warm)", 1))

        print(f"bench: {args.reps} timed run(s) per case, interleaved; cwd {ROOT}", flush=True)
        if not _main_has_hook():
            print(
                "bench: main.py does not call fast_synth.install(); `app` uses a shim", flush=True
            )
        if not args.no_warmup:
            for case in cases:
                print(f"  warm-up {case.name} ...", flush=True)
                case.run_once(tmp)
        for rep in range(1, args.reps + 1):
            for case in cases:
                m = case.run_once(tmp)
                case.runs.append(m)
                print(
                    f"  run {rep}/{args.reps} {case.name:9s} {m.wall_s:6.2f} s"
                    f" {m.peak_rss_mb:7.0f} MB",
                    flush=True,
                )
        fresh = None
        if not args.skip_fresh:
            print("  fresh clone: make synth from nothing ...", flush=True)
            fresh = run_fresh(tmp, args.fresh_test)
            print(f"  fresh {fresh}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary = {c.name: _summary(c) for c in cases}
    app = summary["app"]["wall_s"]["median"]
    base = summary["baseline"]["wall_s"]["median"]
    checks = [
        ("app wall median <= 2.0 s", app <= TARGET_WALL_S, f"{app:.2f} s"),
        (
            "app wall median <= 0.2 x baseline",
            app <= TARGET_RATIO * base,
            f"{app / base:.3f} x ({app:.2f} / {base:.2f} s)",
        ),
        (
            "app peak memory <= 400 MB (max of runs)",
            summary["app"]["peak_rss_mb"]["max"] <= TARGET_PEAK_MB,
            f"{summary['app']['peak_rss_mb']['max']:.0f} MB",
        ),
    ]
    if "make" in summary:
        warm = summary["make"]["wall_s"]["median"]
        checks.append(
            (
                "warm make synth median <= 1.3 x app",
                warm <= TARGET_MAKE_FACTOR * app,
                f"{warm / app:.2f} x ({warm:.2f} s)",
            )
        )
    if fresh is not None:
        checks.append(
            (
                "fresh clone to first make synth <= 60 s",
                fresh["make_synth_s"] <= TARGET_FRESH_S,
                f"{fresh['make_synth_s']:.1f} s",
            )
        )
        checks.append(
            (
                ".venv after the first make synth <= 600 MB",
                fresh["venv_mb"] <= TARGET_FRESH_VENV_MB,
                f"{fresh['venv_mb']:.0f} MB",
            )
        )
        if "make_test_s" in fresh:
            checks.append(
                (
                    "make test in the fresh clone <= 4 min (and passes)",
                    fresh["make_test_s"] <= TARGET_TEST_S and fresh["make_test_exit"] == 0,
                    f"{fresh['make_test_s']:.0f} s (pytest {fresh['pytest_s']} s, "
                    f"exit {fresh['make_test_exit']})",
                )
            )
    if "scale" in summary:
        scale = summary["scale"]["wall_s"]["median"]
        checks.append(
            (
                "scale wall median <= 2 x app",
                scale <= TARGET_SCALE_FACTOR * app,
                f"{scale / app:.2f} x ({scale:.2f} s)",
            )
        )

    print()
    print(
        f"{'case':10s} {'wall median':>12s} {'min':>7s} {'max':>7s} {'peak MB med':>12s}"
        f" {'peak MB max':>12s}  description"
    )
    for name, s in summary.items():
        w, p = s["wall_s"], s["peak_rss_mb"]
        print(
            f"{name:10s} {w['median']:10.2f} s {w['min']:7.2f} {w['max']:7.2f}"
            f" {p['median']:12.0f} {p['max']:12.0f}  {s['describe']}"
        )
    print(f"\nratio app/baseline (median wall): {app / base:.3f}")
    for label, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    if "scale-1p" in summary:  # reported, not a target: the same work without a worker process
        single = summary["scale-1p"]["wall_s"]["median"]
        print(f"info  scale in one process / app: {single / app:.2f} x ({single:.2f} s)")

    record = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "node": _node_version(),
            "load_avg_at_end": os.getloadavg(),
        },
        "main_has_hook": _main_has_hook(),
        "cases": summary,
        "fresh": fresh,
        "ratio_app_baseline": app / base,
        "targets": [{"target": t, "pass": ok, "value": v} for t, ok, v in checks],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    with (args.out.parent / "history.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
