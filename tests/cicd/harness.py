"""Run the workflows' own scripts as a runner would, against fakes.

- `run_step`: a `run:` script under bash with the step's environment, `GITHUB_OUTPUT`,
  `GITHUB_ENV`, `GITHUB_STEP_SUMMARY` and `RUNNER_TEMP` (and fake binaries first on PATH).
- `fake_terraform` / `fake_az` / `fake_gh`: small bash stand-ins that log their arguments and
  answer as the test scripts them.
- `run_github_script`: an `actions/github-script` body under Node, with `github`, `context` and
  `core` replaced by recorders; API answers come from a table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cicd.conftest import ROOT

NODE = shutil.which("node")


@dataclass
class StepRun:
    rc: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def _parse_kv(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV syntax: `k=v` lines and `k<<DELIM ... DELIM` blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            key, delim = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delim:
                    break
                body.append(inner)
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def run_step(
    script: str,
    env: dict[str, str],
    tmp_path: Path,
    *,
    cwd: Path | None = None,
    bin_dir: Path | None = None,
) -> StepRun:
    """Run a workflow `run:` script with bash -e, as the runner does."""
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(parents=True, exist_ok=True)
    files = {name: tmp_path / name for name in ("github_output", "github_env", "step_summary")}
    for path in files.values():
        path.write_text("", encoding="utf-8")
    # The test's Python first (`python -m tools...` steps), then the fakes before everything.
    path_var = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    if bin_dir is not None:
        path_var = f"{bin_dir}{os.pathsep}{path_var}"
    full_env = {
        **os.environ,
        "RUNNER_TEMP": str(runner_temp),
        **env,
        "PATH": path_var,
        "GITHUB_OUTPUT": str(files["github_output"]),
        "GITHUB_ENV": str(files["github_env"]),
        "GITHUB_STEP_SUMMARY": str(files["step_summary"]),
    }
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return StepRun(
        rc=result.returncode,
        stdout=result.stdout,
        stderr=result.stderr,
        outputs=_parse_kv(files["github_output"].read_text(encoding="utf-8")),
        env=_parse_kv(files["github_env"].read_text(encoding="utf-8")),
        summary=files["step_summary"].read_text(encoding="utf-8"),
    )


FAKE_TERRAFORM = r"""#!/usr/bin/env bash
# Fake terraform: logs "<stack> <args>" and answers per FAKE_TF_* variables:
#   FAKE_TF_<CMD>_RC_<stack>   exit code of init/plan/show/apply/output for that stack
#   FAKE_TF_PLAN_FILE_<stack>  1: plan writes its -out file even when it fails (errored plan)
#   FAKE_TF_OUTPUTS_<stack>    what `output -json` prints (default: one output)
#   FAKE_TF_SHOW_<stack>       what `show -json` prints (default: an empty format 1.2 plan)
#   FAKE_TF_STATE_<stack>      what `state pull` prints (default: lineage L, serial 1)
# (<stack> with - replaced by _)
set -euo pipefail
dir=.
if [[ "${1:-}" == -chdir=* ]]; then dir="${1#-chdir=}"; shift; fi
stack=$(basename "$dir")
key=${stack//-/_}
cmd=$1
shift
echo "$stack $cmd $*" >> "$FAKE_TF_LOG"
rc_var="FAKE_TF_${cmd^^}_RC_${key}"
rc=${!rc_var:-0}
case "$cmd" in
  init)
    if [ "$rc" -eq 0 ] && [ ! -f "$dir/.terraform.lock.hcl" ]; then
      echo "# lock $stack" > "$dir/.terraform.lock.hcl"
    fi
    echo "Initializing $stack"
    ;;
  plan)
    file_var="FAKE_TF_PLAN_FILE_${key}"
    for arg in "$@"; do
      if [[ "$arg" == -out=* ]] && { [ "$rc" -ne 1 ] || [ "${!file_var:-0}" = 1 ]; }; then
        echo "saved plan of $stack" > "$dir/${arg#-out=}"
      fi
    done
    if [ "$rc" -eq 1 ]; then echo "Error: planning $stack failed" >&2; fi
    ;;
  show)
    show_var="FAKE_TF_SHOW_${key}"
    if [ -n "${!show_var:-}" ]; then
      echo "${!show_var}"
    else
      echo '{"format_version": "1.2", "planned_values": {}, "resource_changes": []}'
    fi
    ;;
  output)
    out_var="FAKE_TF_OUTPUTS_${key}"
    if [ -n "${!out_var:-}" ]; then
      echo "${!out_var}"
    else
      echo '{"workspace_url": {"value": "adb-1.net", "sensitive": false}}'
    fi
    ;;
  apply)
    echo "Applied $stack"
    ;;
  state)
    state_var="FAKE_TF_STATE_${key}"
    default='{"version": 4, "lineage": "L", "serial": 1, "outputs": {}}'
    echo "${!state_var:-$default}"
    ;;
esac
exit "$rc"
"""

FAKE_AZ = r"""#!/usr/bin/env bash
# Fake az: logs its arguments; `storage blob show` prints the next line of FAKE_AZ_BLOB
# (one "<etag>\t<lease state>" answer per call).
set -euo pipefail
echo "$*" >> "$FAKE_AZ_LOG"
if [ "$1 $2 $3" = "storage blob show" ]; then
  n=$(grep -c '^storage blob show' "$FAKE_AZ_LOG")
  sed -n "${n}p" "$FAKE_AZ_BLOB"
fi
"""

FAKE_GH = r"""#!/usr/bin/env bash
# Fake gh: logs "<args>" (and stdin for --input -/file) as one JSON line per call and answers
# from FAKE_GH_ANSWERS (a JSON object): "<METHOD> <path>" first, then "<path>" for a GET;
# the answer is printed as it is (already what --jq would print).
set -euo pipefail
input=""
method=GET
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--input" ]; then
    next=${args[$((i + 1))]}
    if [ "$next" = "-" ]; then input=$(cat); else input=$(cat "$next"); fi
  fi
  if [ "${args[$i]}" = "--method" ] || [ "${args[$i]}" = "-X" ]; then method=${args[$((i + 1))]}; fi
done
# One jq run (jq starts slowly): the log line, then the answer.
printf '%s\037' "$@" | jq -R -s -r --arg input "$input" --arg method "$method" \
  --slurpfile answers "$FAKE_GH_ANSWERS" '
    (split("\u001f")[:-1]) as $args
    | ($args | map(select(. != "api" and . != "--paginate" and . != "-"))) as $rest
    | ([range(0; $rest | length)] | map(select(($rest[.] | startswith("-") | not)
        and (. == 0 or ([$rest[. - 1]] | inside(["--method", "-X", "--input", "--jq", "-f", "-F"]) | not))))
        | first // null) as $i
    | (if $i == null then "" else $rest[$i] end) as $path
    | {args: $args, input: $input} | tojson,
      ($answers[0]["\($method) \($path)"] // (if $method == "GET" then $answers[0][$path] else null end) // empty)
  ' > "$FAKE_GH_LOG.out"
head -n 1 "$FAKE_GH_LOG.out" >> "$FAKE_GH_LOG"
tail -n +2 "$FAKE_GH_LOG.out"
"""


def fake_bin(tmp_path: Path, **scripts: str) -> Path:
    """A directory with the given fake executables (name -> bash source)."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    for name, source in scripts.items():
        path = bin_dir / name
        path.write_text(source, encoding="utf-8")
        path.chmod(0o755)
    return bin_dir


_HARNESS = textwrap.dedent(
    r"""
    const fs = require('fs');
    const [scriptPath, setupPath] = process.argv.slice(2);
    const setup = JSON.parse(fs.readFileSync(setupPath, 'utf8'));
    const calls = [];
    const record = { outputs: {}, notices: [], warnings: [], infos: [], failed: null };
    const answer = (name, params) => {
      let value = setup.answers[name];
      if (value && value.__by) value = value.values[String(params[value.__by])];
      if (value && value.__error) {
        const error = new Error(value.__error.message || 'error');
        error.status = value.__error.status;
        throw error;
      }
      return value === undefined ? {} : value;
    };
    const rest = new Proxy({}, {
      get: (_, ns) => new Proxy({}, {
        get: (__, method) => async (params) => {
          const name = `${ns}.${method}`;
          calls.push([name, params]);
          return { data: answer(name, params) };
        },
      }),
    });
    const github = { rest, paginate: async (fn, params) => (await fn(params)).data };
    const core = {
      setOutput: (k, v) => { record.outputs[k] = String(v); },
      info: (m) => record.infos.push(m),
      notice: (m) => record.notices.push(m),
      warning: (m) => record.warnings.push(m),
      setFailed: (m) => { record.failed = m; },
    };
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
    const body = fs.readFileSync(scriptPath, 'utf8');
    new AsyncFunction('require', 'github', 'context', 'core', body)(require, github, setup.context, core)
      .then(() => { console.log(JSON.stringify({ calls, ...record })); })
      .catch((error) => { console.log(JSON.stringify({ calls, ...record, error: String(error) })); });
    """
)


def run_github_script(
    script: str,
    tmp_path: Path,
    *,
    context: dict[str, Any],
    answers: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run an `actions/github-script` body under Node with recording fakes."""
    assert NODE, "node is needed (it is installed for the cdktf CLI)"
    work = tmp_path / "gh-script"
    work.mkdir(parents=True, exist_ok=True)
    (work / "harness.js").write_text(_HARNESS, encoding="utf-8")
    (work / "script.js").write_text(script, encoding="utf-8")
    (work / "setup.json").write_text(
        json.dumps({"context": context, "answers": answers or {}}), encoding="utf-8"
    )
    result = subprocess.run(
        [NODE, str(work / "harness.js"), str(work / "script.js"), str(work / "setup.json")],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "error" not in outcome, outcome.get("error")
    return outcome


def calls_named(outcome: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [params for call, params in outcome["calls"] if call == name]


# --- reading the workflows ------------------------------------------------------------------


def jobs(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return wf["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in steps(job) if s.get("name") == name or s.get("id") == name]
    assert len(found) == 1, f"no single step {name!r}"
    return found[0]


def step_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if s.get("uses", "").startswith(f"{action}@")]


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def environment_template(job: dict[str, Any]) -> str | None:
    env = job.get("environment")
    return env["name"] if isinstance(env, dict) else env


def github_script(job: dict[str, Any], name: str) -> tuple[str, dict[str, str]]:
    step = step_named(job, name)
    assert step["uses"].startswith("actions/github-script@")
    return step["with"]["script"], {k: str(v) for k, v in step.get("env", {}).items()}


def tf_calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines()


def stack_dirs(tmp_path: Path, *stacks: str, backend: dict[str, str] | None = None) -> Path:
    """A working directory with cdktf.out/stacks/<stack>/cdk.tf.json."""
    work = tmp_path / "work"
    for stack in stacks:
        d = work / "cdktf.out" / "stacks" / stack
        d.mkdir(parents=True)
        body = {
            "terraform": {"backend": {"azurerm": {**(backend or {}), "key": f"{stack}.tfstate"}}}
        }
        (d / "cdk.tf.json").write_text(json.dumps(body), encoding="utf-8")
    return work
