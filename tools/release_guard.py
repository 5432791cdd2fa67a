"""Which environment a workflow run deploys to, and the guard for production tags.

    python -m tools.release_guard route --event EVENT --ref REF [--input ENV]
        prints `environment=<env>` (for $GITHUB_OUTPUT) or refuses with exit 1.
    python -m tools.release_guard check-tag TAG [--remote origin] [--repo DIR]
        exit 0 if TAG is a release version (vMAJOR.MINOR.PATCH) whose commit is on a
        `<remote>/release/*` branch, exit 1 with a clear message otherwise.
    python -m tools.release_guard check-tip --ref REF --sha SHA [--remote origin] [--repo DIR]
        exit 0 if SHA is what is deployed from REF now: the tip of the branch (as fetched), or
        the commit of the tag, which is the newest release tag; exit 1 otherwise (a re-run of
        an old run, or an old tag, would deploy an older commit).
    python -m tools.release_guard runner --environment ENV --runners JSON [--spec FILE]
        prints `runner=<label>`: the environment's own runner label from the spec
        (tools/github/runners.json) when the repository variable WORKSPACE_RUNNERS (JSON) names
        one for ENV, `ubuntu-24.04` when it names none; exit 1 for a label that is not ENV's.

Exit status: 0 routed or accepted; 1 refused (a GitHub error annotation on one line); 2 unusable
input, one line: a ref that is not a well-formed full Git ref name (whitespace, control
characters, `..`, ...: nothing Git itself would produce, so never routed), a repository
directory that does not exist, or a usage error.

The mapping (docs/cicd.md):
    push to main                 -> dev
    push to release/**           -> uat
    push of tag v*               -> prod (tag format and release-branch check)
    workflow_dispatch            -> the chosen environment; prod only from a release branch or
                                    a release tag (the tag check applies)
Standard library only: the routing job runs it with the runner's python3 before any set-up.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tools.safe_input import InputError, OneLineParser, one_line, parse_json, read_text

ENVIRONMENTS = ("sandbox", "dev", "uat", "prod")
HOSTED_RUNNER = "ubuntu-24.04"
RUNNER_SPEC = Path(__file__).resolve().parent / "github" / "runners.json"
# SemVer 2.0 core with a leading v; pre-release and build suffixes are refused for prod.
RELEASE_TAG = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
SEMVER_TAG = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class GuardError(Exception):
    """A refusal; the message is printed as a GitHub error annotation."""


class InputProblem(GuardError):
    """Unusable input: refused as well, but reported as a usage problem (exit status 2)."""


_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def check_ref(ref: str) -> None:
    """`InputProblem` unless `ref` is a full Git ref name (`refs/...`) that `git check-ref-format`
    accepts: no whitespace or control characters, none of `~^:?*[\\`, no `..`, `@{` or `//`, no
    component starting with `.` or ending in `.lock`, not ending in `/` or `.`."""
    components = ref.split("/")
    if (
        not ref.startswith("refs/")
        or _REF_FORBIDDEN.search(ref)
        or ref.endswith(("/", "."))
        or any(c.startswith(".") or c.endswith(".lock") for c in components)
    ):
        raise InputProblem(
            f"--ref {one_line(repr(ref), 200)} is not a well-formed Git ref "
            "(refs/heads/<branch> or refs/tags/<tag>, as GitHub sets github.ref)"
        )


def validate_tag(tag: str) -> None:
    if RELEASE_TAG.fullmatch(tag):
        return
    if SEMVER_TAG.fullmatch(tag):
        raise GuardError(
            f"tag {tag!r} is a pre-release or carries build metadata; production deploys only "
            "plain release versions vMAJOR.MINOR.PATCH (e.g. v1.4.0)"
        )
    raise GuardError(
        f"tag {tag!r} is not a semantic version; production tags look like vMAJOR.MINOR.PATCH "
        "(e.g. v1.4.0)"
    )


def _git(repo: Path, *args: str) -> str:
    if not repo.is_dir():
        raise InputProblem(f"--repo {one_line(repo)}: not a directory (the checked-out repository)")
    try:
        result = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False, timeout=60
        )
    except OSError as exc:
        raise InputProblem(f"cannot run git: {exc.strerror or exc}") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["git failed"])[-1]
        raise GuardError(f"git {' '.join(args)}: {one_line(detail)}")
    return result.stdout


def release_branches_containing(repo: Path, commit: str, remote: str = "origin") -> list[str]:
    """Remote release branches (`<remote>/release/...`) whose history contains commit."""
    out = _git(repo, "branch", "-r", "--contains", commit, "--format=%(refname:short)")
    prefix = f"{remote}/release/"
    return sorted(line.strip() for line in out.splitlines() if line.strip().startswith(prefix))


def check_tag(tag: str, repo: Path = Path("."), remote: str = "origin") -> list[str]:
    """Validate a production tag; return the release branches that contain its commit."""
    validate_tag(tag)
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}").strip()
    branches = release_branches_containing(repo, commit, remote)
    if not branches:
        raise GuardError(
            f"tag {tag} (commit {commit[:12]}) is not on any release/* branch; production is "
            "deployed only from tags on release branches. Tag a commit of a release/* branch "
            "(fetch-depth: 0 is needed to see the branches)."
        )
    return branches


def _version(tag: str) -> tuple[int, int, int]:
    major, minor, patch = RELEASE_TAG.match(tag).groups()  # type: ignore[union-attr]
    return int(major), int(minor), int(patch)


def check_tip(ref: str, sha: str, repo: Path = Path("."), remote: str = "origin") -> str:
    """Refuse to deploy a commit that is not what REF deploys now; return a one-line reason
    for the log when it is."""
    check_ref(ref)
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise InputProblem(f"--sha {one_line(sha)!r}: not a full commit SHA (40 hex digits)")
    if ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
        tip = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}")
        if tip.strip() != sha:
            raise GuardError(
                f"commit {sha[:12]} is not the tip of {branch} (now {tip.strip()[:12]}): a re-run "
                "of an older run would deploy an older commit. Deploy the branch's tip (push, or "
                "dispatch the workflow again)."
            )
        return f"{sha[:12]} is the tip of {branch}"
    if ref.startswith("refs/tags/"):
        tag = ref.removeprefix("refs/tags/")
        validate_tag(tag)
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
        if commit.strip() != sha:
            raise GuardError(f"tag {tag} points to {commit.strip()[:12]}, not to {sha[:12]}")
        releases = [t for t in _git(repo, "tag", "--list", "v*").split() if RELEASE_TAG.match(t)]
        newest = max(releases, key=_version)
        if _version(newest) > _version(tag):
            raise GuardError(
                f"tag {tag} is older than the newest release tag {newest}: deploying it would "
                "deploy an older commit. Roll forward with a new tag instead."
            )
        return f"{tag} ({sha[:12]}) is the newest release tag"
    raise GuardError(f"no tip to compare with for {ref}")


def runner(environment: str, runners_json: str, spec_file: Path = RUNNER_SPEC) -> str:
    """The runner label of an environment's deploy jobs, refusing any other environment's."""
    try:
        requested = parse_json(runners_json or "{}", "WORKSPACE_RUNNERS")
    except InputError as exc:
        raise InputProblem(one_line(exc)) from None
    if not isinstance(requested, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in requested.items()
    ):
        raise GuardError('WORKSPACE_RUNNERS must map environments to labels: {"prod": "..."}')
    label = requested.get(environment)
    if label is None:
        return HOSTED_RUNNER
    try:
        spec = parse_json(read_text(spec_file, "--spec"), f"--spec {spec_file.name}")
    except InputError as exc:
        raise InputProblem(one_line(exc)) from None
    if not isinstance(spec, dict):
        raise InputProblem(f"--spec {spec_file.name}: expected a JSON object")
    own = (spec.get(environment) or {}).get("label")
    if label != own:
        owner = [e for e, v in spec.items() if isinstance(v, dict) and v.get("label") == label]
        whose = f"the runner of {owner[0]}" if owner else "not a runner label of this repository"
        raise GuardError(
            f"WORKSPACE_RUNNERS gives {environment} the runner label {label!r} ({whose}); "
            f"{environment} deploys only on its own runners, label {own!r} "
            f"({spec_file.name}), or on {HOSTED_RUNNER} when WORKSPACE_RUNNERS names none"
        )
    return label


def route(event: str, ref: str, requested: str = "") -> str:
    """The environment for a workflow run, or GuardError; InputProblem for a malformed ref."""
    check_ref(ref)
    if event == "workflow_dispatch":
        if requested not in ENVIRONMENTS:
            raise GuardError(f"choose one of {', '.join(ENVIRONMENTS)} (got {requested!r})")
        if requested == "prod" and not (
            ref.startswith("refs/heads/release/") or ref.startswith("refs/tags/")
        ):
            raise GuardError(
                f"prod can be dispatched only from a release/* branch or a release tag, not {ref}"
            )
        return requested
    if event == "push":
        if ref == "refs/heads/main":
            return "dev"
        if ref.startswith("refs/heads/release/") and len(ref) > len("refs/heads/release/"):
            return "uat"
        if ref.startswith("refs/tags/"):
            return "prod"
    raise GuardError(f"no environment is deployed for {one_line(event)} of {ref}")


def _annotate(message: str) -> None:
    # Workflow-command syntax: GitHub shows it as an error on the run. Its data escapes % and
    # line breaks (actions/toolkit, core/src/command.ts `escapeData`), so nothing in the
    # message can end the command and start another.
    data = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::error title=Deploy refused::{data}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m tools.release_guard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_route = sub.add_parser("route", help="print environment=<env> for this run")
    p_route.add_argument("--event", required=True)
    p_route.add_argument("--ref", required=True)
    p_route.add_argument("--input", default="", help="workflow_dispatch environment input")
    p_tag = sub.add_parser("check-tag", help="refuse tags that are not on a release branch")
    p_tag.add_argument("tag", help="tag name without refs/tags/, e.g. v1.2.3")
    p_tag.add_argument("--remote", default="origin")
    p_tag.add_argument("--repo", type=Path, default=Path("."))
    p_tip = sub.add_parser("check-tip", help="refuse a commit that is not what REF deploys now")
    p_tip.add_argument("--ref", required=True)
    p_tip.add_argument("--sha", required=True)
    p_tip.add_argument("--remote", default="origin")
    p_tip.add_argument("--repo", type=Path, default=Path("."))
    p_runner = sub.add_parser("runner", help="print runner=<label> for the environment")
    p_runner.add_argument("--environment", required=True)
    p_runner.add_argument("--runners", default="", help="WORKSPACE_RUNNERS (JSON)")
    p_runner.add_argument("--spec", type=Path, default=RUNNER_SPEC)
    args = parser.parse_args(argv)
    try:
        if args.command == "route":
            env = route(args.event, args.ref, args.input)
            if env == "prod" and args.ref.startswith("refs/tags/"):
                validate_tag(args.ref.removeprefix("refs/tags/"))
            print(f"environment={env}")
        elif args.command == "check-tip":
            print(check_tip(args.ref, args.sha, args.repo, args.remote))
        elif args.command == "runner":
            print(f"runner={runner(args.environment, args.runners, args.spec)}")
        else:
            branches = check_tag(args.tag, args.repo, args.remote)
            print(f"tag {args.tag} is on {', '.join(branches)}")
    except InputProblem as exc:
        print(f"release_guard: error: {exc}", file=sys.stderr)
        return 2
    except GuardError as exc:
        _annotate(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
