#!/usr/bin/env bash
# Prints the just-in-time configuration of ONE ephemeral self-hosted runner for an
# environment's deploy jobs: in that environment's runner group (apply-settings.sh
# --runner-groups), with that environment's label (tools/github/runners.json). A JIT runner
# takes a single job and is then removed by GitHub, so nothing one job leaves on the machine
# reaches the next; start a new one per job (an autoscaler such as actions-runner-controller
# does this for you).
#
#   tools/github/jit-runner.sh OWNER/REPO ENVIRONMENT NAME
#   ./run.sh --jitconfig "$(tools/github/jit-runner.sh acme/mlops prod prod-runner-17)"
#
# Needs `gh` logged in as an organization admin, and `jq`. See docs/cicd.md.
set -euo pipefail

usage() {
  echo "usage: $0 OWNER/REPO ENVIRONMENT NAME" >&2
  exit 2
}

[ $# -eq 3 ] || usage
repo=$1
environment=$2
name=$3
[[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || usage
[[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
org=${repo%%/*}

spec=$(jq -c --arg e "$environment" '.[$e] // empty' "$here/runners.json")
if [ -z "$spec" ] || [[ "$environment" == _* ]]; then
  echo "error: $environment has no runners in tools/github/runners.json" >&2
  exit 2
fi
group=$(jq -r .group <<< "$spec")
label=$(jq -r .label <<< "$spec")
id=$(gh api "orgs/$org/actions/runner-groups" --paginate \
  --jq '.runner_groups[] | [.name, (.id | tostring)] | @tsv' | awk -F '\t' -v g="$group" '$1 == g { print $2 }')
if [ -z "$id" ]; then
  echo "error: runner group $group does not exist; run apply-settings.sh $repo --reviewers ... --runner-groups" >&2
  exit 2
fi
jq -n -c --arg name "$name" --arg runner_label "$label" --argjson group "$id" \
  '{name: $name, runner_group_id: $group, labels: [$runner_label], work_folder: "_work"}' \
  | gh api --method POST "orgs/$org/actions/runners/generate-jitconfig" --input - --jq .encoded_jit_config
