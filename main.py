"""Composition root: load every environment's config, build its two stacks (platform and
workspace), synth.

`cdktf synth` runs this file (see cdktf.json); `python main.py --check` does everything synth
does (configs, wheel, templates, policy rules, secret scan) and writes nothing. Synthesis goes
into a staging directory beside the output and replaces the previous output only when every
check passed: a mistake in a user's input exits with status 2 and one line per problem, and
the previous `cdktf.out` is left untouched. A large platform is synthesized by more than one
process (`synthesize`). This is the only module that reads `os.environ`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXIT_USER_ERROR = 2

# jsii prints a banner on every run about Node 20's end of life; it is noise for our users.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(os.environ.get("MLOPS_CONFIG_DIR", ROOT / "config")),
        help="directory of <env>.yaml files (default: config/, or $MLOPS_CONFIG_DIR)",
    )
    parser.add_argument("--check", action="store_true", help="validate inputs only; write nothing")
    # Internal: synthesize only these environments into $CDKTF_OUTDIR and report problems as
    # JSON on stdout (a worker process of `synthesize`, see fast_synth/workers.py, M).
    parser.add_argument("--worker", metavar="ENV,ENV", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_app(configs, wheel, outdir: str | None = None, bootstrap=None, *, every_config=None):
    """The app with two stacks per environment in `configs` (platform `<env>`, then workspace
    `<env>-workspace`, which reads the platform's outputs as cross-stack references) and the
    bootstrap stack (for the environments it names among `every_config`, default `configs`),
    not yet synthesized, and the stacks. Raises `ConfigError` (e.g. a template problem)."""
    from constructs_lib.cdk import App
    from stacks.bootstrap_stack import BootstrapStack
    from stacks.platform_stack import PlatformStack
    from stacks.workspace_stack import WorkspaceStack

    app = App(outdir=outdir) if outdir else App()
    stacks = []
    for config in configs:
        platform = PlatformStack(app, config)
        stacks += [platform, WorkspaceStack(app, config, wheel, platform.outputs)]
    if bootstrap is not None:
        by_name = {c.name: c for c in (configs if every_config is None else every_config)}
        stacks.append(
            BootstrapStack(app, bootstrap, [by_name[name] for name in bootstrap.environments])
        )
    return app, stacks


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 success; 2 a problem with the user's input or environment (config,
    templates, environment variables, output directory, disk), one line each, no traceback;
    1 an internal error (a bug), with its traceback."""
    args = _parse_args(argv)
    from synth_runtime import scratch

    try:
        # Before the jsii kernel starts: it unpacks into $TMPDIR (see synth_runtime/scratch.py).
        scratch_dir = scratch.use_private_tmpdir(os.environ)
    except OSError as exc:
        return _user_error(_temporary_directory_problem(scratch.base_dir(os.environ), exc))
    from constructs_lib import engine

    try:
        # cdktf (the default) or cdktn: which packages constructs_lib.cdk and .providers import.
        cdk = engine.select(os.environ.get(engine.ENGINE_VAR))
    except engine.EngineError as exc:
        return _user_error(str(exc))
    # Before anything imports the engine or a provider package (MLOPS_FAST_SYNTH=0: off).
    import fast_synth

    fast_synth.install(enabled=fast_synth.is_enabled(os.environ), engine=cdk.name)
    from constructs_lib.config import ConfigError, load_environments, remote_state_from_environ
    from constructs_lib.config.bootstrap import load_bootstrap_for
    from constructs_lib.databricks.job_specs.wheel_artifact import locate_wheel
    from synth_runtime.staged_output import StagedOutput, print_warnings

    output = StagedOutput(Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out")))
    try:
        if args.worker is None:
            output.check()  # before the expensive part: refuse a directory we must not replace
        else:
            _check_worker_output(output.target)
        refuse_examples = _switch(os.environ, REFUSE_EXAMPLES_VAR)
        configs = load_environments(args.config_dir, root=ROOT)
        configs = remote_state_from_environ(configs, os.environ)
        configs = _with_this_deployer(configs, os.environ)
        wheel = locate_wheel(ROOT / "ml_src", root=ROOT)
        if args.worker is not None:
            return _worker(args.worker, configs, wheel, output.target)
        bootstrap = load_bootstrap_for(
            configs, args.config_dir / "shared" / "bootstrap.yaml", root=ROOT
        )
        examples = _example_values(configs, args.config_dir, bootstrap)
        # Deploy workflows set it: a deployment never ships an example value.
        if examples and refuse_examples:
            raise ConfigError(examples)
        with output.stage() as staging:
            synthesize(configs, wheel, staging, bootstrap, config_dir=args.config_dir)
            if not args.check:
                # Under `cdktf synth` (it sets this variable for the app): see publish().
                output.publish(
                    carry_over_removed_stacks="CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS"
                    in os.environ
                )
        # Only once everything passed, so an error is always the first thing a user reads.
        for problem in examples:
            print(f"warning: {problem}", file=sys.stderr)
    except ConfigError as exc:
        print_warnings(output)
        return _user_error(str(exc))
    except fast_synth.WorkerFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        fault = _filesystem_fault(exc)
        if fault is None:
            raise  # a bug: Python prints the traceback and exits with status 1
        if str(scratch_dir) in str(exc) or str(scratch_dir) in str(getattr(exc, "filename", "")):
            # The jsii kernel or Python writing this run's temporary files, not the output.
            return _user_error(
                f"temporary directory {scratch_dir.parent}: cannot write this run's files "
                f"({fault}). Fix: {_TMPDIR_FIXES.get(fault.split(':')[0], _TMPDIR_FIX)}"
            )
        return _user_error(
            f"output directory {output.requested}: cannot write the synthesized files "
            f"({fault}). Fix: {_FILESYSTEM_FIXES.get(fault.split(':')[0], _FILESYSTEM_FIX)}"
        )
    print_warnings(output)
    if args.check:
        print(f"ok: {len(configs)} environment(s): {', '.join(c.name for c in configs)}")
    else:
        print(_written_summary(output.requested, output.target))
    return 0


def _written_summary(shown: Path, target: Path) -> str:
    """What a synthesis wrote: every stack with its resource count, as `make synth` shows it."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    rows = []
    for name, entry in sorted(manifest["stacks"].items()):
        stack = json.loads((target / entry["synthesizedStackPath"]).read_text(encoding="utf-8"))
        rows.append((name, sum(len(items) for items in stack.get("resource", {}).values())))
    width = max(len(name) for name, _ in rows)
    lines = [f"wrote {shown}: {len(rows)} stacks, {sum(n for _, n in rows)} resources"]
    lines += [f"  {name:<{width}}  {count:>4} resources" for name, count in rows]
    return "\n".join(lines)


REFUSE_EXAMPLES_VAR = "MLOPS_REFUSE_EXAMPLE_VALUES"
"""On (`1`, `true`, `yes`, `on`): an example value left in a config is an error (exit 2), not
a warning."""
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _switch(environ, name: str) -> bool:
    """A yes/no environment variable: the usual spellings of on and off, in any case; anything
    else is a `ConfigError` (a typo must not switch a safety check off silently)."""
    from constructs_lib.config import ConfigError, Problem
    from constructs_lib.config.errors import shown

    value = environ.get(name, "").strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ConfigError(
        [
            Problem(
                f"environment variable {name}",
                "",
                f"got {shown(environ[name])}: not a yes/no value",
                "set it to 1, true, yes or on (or 0, false, no, off), or unset it",
            )
        ]
    )


DEPLOYER_ID_VARIABLES = ("ARM_CLIENT_ID", "AZURE_CLIENT_ID")
"""Where the identity this run deploys as is named (azure/login, the azurerm provider)."""


def _with_this_deployer(configs, environ):
    """Add the client ID of the identity this process runs as to every environment's
    `databricks.deployer_application_ids`, so rule MLOPS-JOB-3 refuses a job that would run
    as it (CI synthesizes with the deploy identity's variables set)."""
    import re

    ids = {
        v.lower()
        for name in DEPLOYER_ID_VARIABLES
        if re.fullmatch(r"[0-9a-fA-F-]{36}", v := environ.get(name, "").strip())
    }
    if not ids:
        return configs
    return [
        c.model_copy(
            update={
                "databricks": c.databricks.model_copy(
                    update={
                        "deployer_application_ids": tuple(
                            sorted({*c.databricks.deployer_application_ids, *ids})
                        )
                    }
                )
            }
        )
        for c in configs
    ]


def _example_values(configs, config_dir: Path, bootstrap) -> list:
    """Example values the repository ships with that are still in a config
    (`constructs_lib/config/examples.py`): synthesis works, deploying would not."""
    from constructs_lib.config import Problem
    from constructs_lib.config.examples import EXAMPLE_OBJECT_ID, warnings_for

    def shown(path: Path) -> str:
        try:
            path = path.resolve()
        except (RuntimeError, OSError):  # a symlink loop: show the path as given
            return str(path)
        return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)

    found = warnings_for(configs, {c.name: shown(config_dir / f"{c.name}.yaml") for c in configs})
    if bootstrap is not None and bootstrap.databricks_account_id == EXAMPLE_OBJECT_ID:
        found.append(
            Problem(
                shown(config_dir / "shared" / "bootstrap.yaml"),
                "databricks_account_id",
                "is the example all-zero account ID (creating the network connectivity "
                "configurations would fail)",
                "copy your Databricks account ID from the account console (top right)",
            )
        )
    if bootstrap is not None and bootstrap.github_repository.startswith("your-org/"):
        found.append(
            Problem(
                shown(config_dir / "shared" / "bootstrap.yaml"),
                "github_repository",
                f"{bootstrap.github_repository!r} is the example repository",
                "set your fork's owner/name (the deploy identities trust its workflows only)",
            )
        )
    return found


def _user_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


_TMPDIR_FIX = "set TMPDIR to a writable directory with free space"
_TMPDIR_FIXES = {
    "ENOSPC": "the file system is full; free some space, or set TMPDIR to a directory with space",
    "EDQUOT": "the disk quota is exhausted; free some space, or set TMPDIR elsewhere",
    "EROFS": "it is read-only; set TMPDIR to a writable directory",
    "EACCES": "it is not writable for this user; set TMPDIR to a writable directory",
    "ENOENT": "it does not exist; create it, or set TMPDIR to an existing directory",
    "ENOTDIR": "it is not a directory; set TMPDIR to a directory",
}


def _temporary_directory_problem(base: Path, exc: OSError) -> str:
    """One line for a temporary directory this run cannot use (full, read-only, missing)."""
    import errno

    code = errno.errorcode.get(exc.errno or 0, "")
    detail = f"{code}: {exc.strerror}" if code and exc.strerror else str(exc)
    return (
        f"temporary directory {base}: cannot create this run's directory in it ({detail}). "
        f"Fix: {_TMPDIR_FIXES.get(code, _TMPDIR_FIX)}"
    )


_FILESYSTEM_FIX = "check the output directory, its permissions and the free disk space"
_FILESYSTEM_FIXES = {
    "ENOSPC": "the disk is full; free some space and run again",
    "EDQUOT": "the disk quota is exhausted; free some space and run again",
    "EROFS": "the file system is read-only; set CDKTF_OUTDIR to a writable directory",
    "EACCES": "make the output directory writable for this user",
    "EPERM": "make the output directory writable (`chattr -i` an immutable one)",
}


def _filesystem_fault(exc: BaseException) -> str | None:
    """'ENOSPC: no space left on device' and the like if `exc` is the file system refusing a
    write (from Python, or from the jsii kernel, which reports node's error text), else None.
    Only these codes: anything else is a bug and keeps its traceback."""
    import errno
    import re

    if isinstance(exc, OSError) and exc.errno is not None:
        code = errno.errorcode.get(exc.errno, "")
        return f"{code}: {exc.strerror}" if code in _FILESYSTEM_FIXES else None
    match = re.search(r"\b(ENOSPC|EDQUOT|EROFS|EACCES|EPERM): ([^,\n]{0,80})", str(exc))
    return f"{match.group(1)}: {match.group(2)}" if match else None


def synthesize(configs, wheel, staging: Path, bootstrap, *, config_dir: Path) -> None:
    """Build, synthesize and check every stack into `staging`; raises `ConfigError` listing
    every blocking problem.

    A large platform is split into contiguous groups of environments: this process takes the
    first group (and the bootstrap stack), a worker process (`main.py --worker`) each other
    group, all at once; their stacks are then merged into `staging`, byte for byte what one
    process writes (`fast_synth/workers.py`, M; `MLOPS_SYNTH_WORKERS` overrides)."""
    import fast_synth
    from constructs_lib.config import ConfigError, Problem

    weights = [fast_synth.environment_weight(len(c.databricks.jobs)) for c in configs]
    own_extra = (fast_synth.BOOTSTRAP_WEIGHT if bootstrap else 0.0) - fast_synth.WORKER_START_WEIGHT
    try:
        groups = fast_synth.plan_groups(weights, os.environ, first_extra=own_extra)
    except ValueError as exc:
        raise ConfigError(
            [
                Problem(
                    f"environment variable {fast_synth.WORKERS_VAR}",
                    "",
                    str(exc),
                    "unset it, or set it to auto or a number of processes (1: no workers)",
                )
            ]
        ) from None
    command = [sys.executable, str(ROOT / "main.py"), "--config-dir", str(config_dir), "--worker"]
    with fast_synth.Workers(
        [[configs[i].name for i in group] for group in groups[1:]],
        staging,
        lambda names: [*command, ",".join(names)],
        os.environ,
    ) as workers:
        own = [configs[i] for i in groups[0]]
        problems = _synth_checked(own, wheel, staging, bootstrap, every_config=configs)
        problems += [Problem(**p) for p in workers.finish()]
    if problems:
        raise ConfigError(problems)


WORKER_OUTPUT = r"\.[^/]+\.staging-(\d+)\.part-\d+"
"""The only directory a worker writes: a part of its parent's staging directory
(`fast_synth.Workers`), `.<output>.staging-<parent pid>.part-<n>`."""


def _check_worker_output(target: Path) -> None:
    """`main.py --worker` is internal: it writes only into a fresh part of the staging
    directory of the `main.py` that started it, which publishes it after every check. Anything
    else (a user running it by hand on cdktf.out, `.` or another directory) is refused before
    anything is loaded."""
    import re

    from constructs_lib.config import ConfigError, Problem

    match = re.fullmatch(WORKER_OUTPUT, target.name)
    fresh = not target.exists() or (target.is_dir() and not any(target.iterdir()))
    if match is None or int(match.group(1)) != os.getppid() or not fresh:
        raise ConfigError(
            [
                Problem(
                    "main.py --worker",
                    "",
                    f"is internal to a synthesis and writes only into a fresh part of its "
                    f"parent's staging directory, not {target}",
                    "run `python main.py` (or `make synth`); it starts its workers itself",
                )
            ]
        )


def _worker(names_arg: str, configs, wheel, outdir: Path) -> int:
    """`main.py --worker a,b`: synthesize those environments into `outdir` (a fresh directory
    of the parent's choosing) and print the report `fast_synth.Workers` reads: one JSON line
    {"problems": [...]}; exit 2 if there are any."""
    from constructs_lib.config import ConfigError, Problem
    from constructs_lib.config.errors import shown

    by_name = {c.name: c for c in configs}
    names = names_arg.split(",")
    unknown = [n for n in names if n not in by_name]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(
            [
                Problem(
                    "main.py --worker",
                    "",
                    f"got {shown(names_arg)}: not a list of distinct environments of "
                    f"{', '.join(sorted(by_name))}",
                    "run `python main.py`; it starts its workers itself",
                )
            ]
        )
    problems = _synth_checked([by_name[n] for n in names], wheel, outdir)
    print(json.dumps({"problems": [dataclasses.asdict(p) for p in problems]}))
    return EXIT_USER_ERROR if problems else 0


def _synth_checked(configs, wheel, outdir: Path, bootstrap=None, *, every_config=None) -> list:
    """Build and synthesize these stacks into `outdir` and check the output (`build_app`,
    `check_output`); the user problems found, as a list (empty: all good)."""
    from constructs_lib.config import ConfigError

    try:
        app, stacks = build_app(configs, wheel, str(outdir), bootstrap, every_config=every_config)
        app.synth()
        check_output(outdir, stacks)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def check_output(staging: Path, stacks) -> None:
    """Policy findings of every stack (an environment's two stacks judged together, by the
    platform stack's policy) and a secret scan of every output file; raises
    `ConfigError` listing every blocking problem. Unsuppressed warnings are printed."""
    from constructs_lib.config import ConfigError, Problem
    from constructs_lib.policy.rules import SECRET_SCAN_RULE
    from constructs_lib.policy.secret_scan import scan_text
    from constructs_lib.policy.stack_policy import blocking

    texts = {path: path.read_text(encoding="utf-8") for path in sorted(staging.rglob("*.json"))}
    problems: list[Problem] = []
    for policy in (stack.policy for stack in stacks if stack.policy is not None):
        findings = policy.findings(
            *(
                json.loads(texts[staging / "stacks" / name / "cdk.tf.json"])
                for name in policy.stack_names
            )
        )
        for finding in findings:
            if finding.rule.level == "warning" and not finding.suppressed_by:
                print(f"warning: {finding}", file=sys.stderr)
            elif finding.suppressed_by:
                print(
                    f"note: {finding.rule.id} suppressed for {finding.path}: "
                    f"{finding.suppressed_by}"
                )
        problems += [
            Problem(
                f"{finding.path} ({finding.rule.id})",
                "",
                f"{finding.rule.message}: {finding.detail}",
                f"{finding.rule.explanation} Or suppress {finding.rule.id} with a reason "
                "(README, Security)",
            )
            for finding in blocking(findings)
        ]
    for path, text in texts.items():
        problems += [
            Problem(
                f"{path.relative_to(staging)} ({SECRET_SCAN_RULE.id})",
                "",
                f"{SECRET_SCAN_RULE.message}: {hit}",
                "reference the secret by Key Vault secret or secret scope name instead",
            )
            for hit in scan_text(text)
        ]
    if problems:
        raise ConfigError(problems)


if __name__ == "__main__":
    sys.exit(main())
