#!/usr/bin/env bash
# Applies the repository rulesets (tools/github/rulesets/*.json) and the GitHub environments
# (tools/github/environments.json) with the GitHub CLI, as a repository admin. Idempotent:
# a ruleset that exists (same name) is updated, a missing one created.
#
#   tools/github/apply-settings.sh OWNER/REPO --reviewers team:SLUG|user:LOGIN
#
# --reviewers: who approves deployments to the environments marked "reviewers" (uat, prod).
# Needs `gh` logged in with admin rights on the repository, and `jq`. See docs/cicd.md.
set -euo pipefail

usage() {
  echo "usage: $0 OWNER/REPO --reviewers team:SLUG|user:LOGIN" >&2
  exit 2
}

[ $# -eq 3 ] && [ "$2" = "--reviewers" ] || usage
repo=$1
reviewers=$3
[[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case "$reviewers" in
  team:?*) reviewer_type=Team
    reviewer_id=$(gh api "orgs/${repo%%/*}/teams/${reviewers#team:}" --jq .id) ;;
  user:?*) reviewer_type=User
    reviewer_id=$(gh api "users/${reviewers#user:}" --jq .id) ;;
  *) usage ;;
esac

existing=$(gh api "repos/$repo/rulesets" --paginate --jq '.[] | [.name, (.id | tostring)] | @tsv')
for file in "$here"/rulesets/*.json; do
  name=$(jq -r .name "$file")
  id=$(awk -F '\t' -v n="$name" '$1 == n { print $2 }' <<< "$existing")
  if [ -n "$id" ]; then
    gh api --method PUT "repos/$repo/rulesets/$id" --input "$file" > /dev/null
    echo "ruleset $name: updated ($id)"
  else
    gh api --method POST "repos/$repo/rulesets" --input "$file" > /dev/null
    echo "ruleset $name: created"
  fi
done

for environment in $(jq -r 'keys[] | select(startswith("_") | not)' "$here/environments.json"); do
  spec=$(jq -c --arg e "$environment" '.[$e]' "$here/environments.json")
  body=$(jq -c --arg t "$reviewer_type" --argjson id "$reviewer_id" '{
      wait_timer: 0,
      reviewers: (if .reviewers then [{type: $t, id: $id}] else [] end),
      prevent_self_review: .reviewers,
      deployment_branch_policy: (if (.refs | length) > 0
        then {protected_branches: false, custom_branch_policies: true} else null end)
    }' <<< "$spec")
  gh api --method PUT "repos/$repo/environments/$environment" --input - <<< "$body" > /dev/null
  if [ "$(jq '.refs | length' <<< "$spec")" -gt 0 ]; then
    have=$(gh api "repos/$repo/environments/$environment/deployment-branch-policies" \
      --jq '.branch_policies[] | "\(.type // "branch") \(.name)"')
    while IFS=' ' read -r type name; do
      if ! grep -qxF "$type $name" <<< "$have"; then
        gh api --method POST "repos/$repo/environments/$environment/deployment-branch-policies" \
          -f "name=$name" -f "type=$type" > /dev/null
      fi
    done < <(jq -r '.refs[] | "\(.type) \(.name)"' <<< "$spec")
  fi
  echo "environment $environment: $(jq -r 'if .reviewers then "reviewers, " else "" end + (if (.refs | length) > 0 then "deploys from " + ([.refs[].name] | join(", ")) else "any branch" end)' <<< "$spec")"
done
