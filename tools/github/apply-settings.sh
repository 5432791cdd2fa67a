#!/usr/bin/env bash
# Applies the repository rulesets (tools/github/rulesets/*.json) and the GitHub environments
# (tools/github/environments.json) with the GitHub CLI, as a repository admin; with
# --runner-groups also the runner groups of the self-hosted deploy runners
# (tools/github/runners.json), as an organization admin. Idempotent: what exists (same name) is
# updated, what is missing created, deployment branch policies it does not manage removed.
#
#   tools/github/apply-settings.sh OWNER/REPO --reviewers team:SLUG|user:LOGIN [--runner-groups]
#
# --reviewers: who approves deployments to the environments marked "reviewers" (uat, prod,
# deploy-approval), and who must own every path in .github/CODEOWNERS: the rulesets require
# code-owner review, so the script refuses to apply them while CODEOWNERS names anyone else or
# GitHub cannot resolve an owner (the review would silently not be required).
# --runner-groups: one runner group per environment of runners.json, for this repository only,
# restricted to the deploy workflow at the refs that environment deploys from (the branches
# and the newest release tag as they are now: re-run after creating a release branch or tag).
# Needs `gh` logged in with admin rights, and `jq`. See docs/cicd.md.
set -euo pipefail

usage() {
  echo "usage: $0 OWNER/REPO --reviewers team:SLUG|user:LOGIN [--runner-groups]" >&2
  exit 2
}

[ $# -eq 3 ] || [ $# -eq 4 ] || usage
[ "$2" = "--reviewers" ] || usage
repo=$1
reviewers=$3
runner_groups=false
if [ $# -eq 4 ]; then
  [ "$4" = "--runner-groups" ] || usage
  runner_groups=true
fi
[[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || usage
org=${repo%%/*}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
codeowners="$here/../../.github/CODEOWNERS"

case "$reviewers" in
  team:?*) reviewer_type=Team
    owner="@$org/${reviewers#team:}"
    reviewer_id=$(gh api "orgs/$org/teams/${reviewers#team:}" --jq .id) ;;
  user:?*) reviewer_type=User
    owner="@${reviewers#user:}"
    reviewer_id=$(gh api "users/${reviewers#user:}" --jq .id) ;;
  *) usage ;;
esac

# --- code owners: required by the rulesets, so they must resolve ------------------------------
others=$(grep -vE '^\s*(#|$)' "$codeowners" | awk -v o="$owner" '{ for (i = 2; i <= NF; i++) if ($i != o) print $1 " " $i }')
if [ -n "$others" ]; then
  echo "error: .github/CODEOWNERS must name $owner (the --reviewers) on every line, not:" >&2
  echo "$others" >&2
  exit 2
fi
errors=$(gh api "repos/$repo/codeowners/errors" --jq '.errors | length')
if [ "$errors" != "0" ]; then
  echo "error: GitHub reports $errors error(s) in the default branch's CODEOWNERS (gh api repos/$repo/codeowners/errors); commit the fixed file first" >&2
  exit 2
fi
echo "code owners: $owner"

# --- rulesets ---------------------------------------------------------------------------------
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

# --- environments -----------------------------------------------------------------------------
for environment in $(jq -r 'keys[] | select(startswith("_") | not)' "$here/environments.json"); do
  spec=$(jq -c --arg e "$environment" '.[$e]' "$here/environments.json")
  # can_admins_bypass: false: repository admins cannot "bypass protection rules" (the required
  # reviewers, the deployment branch policy); GitHub's default is true. The field is not in the
  # request-body list of GitHub's REST reference for "Create or update an environment" (it is in
  # the environment GitHub returns, and GitHub accepts it: docs/platform-assumptions.md), so the
  # value GitHub stored is read back below.
  body=$(jq -c --arg t "$reviewer_type" --argjson id "$reviewer_id" '{
      wait_timer: 0,
      reviewers: (if .reviewers then [{type: $t, id: $id}] else [] end),
      prevent_self_review: .reviewers,
      can_admins_bypass: false,
      deployment_branch_policy: (if (.refs | length) > 0
        then {protected_branches: false, custom_branch_policies: true} else null end)
    }' <<< "$spec")
  gh api --method PUT "repos/$repo/environments/$environment" --input - <<< "$body" > /dev/null
  # Where there is something to bypass (reviewers or deployment refs), refuse to go on unless
  # GitHub reports the bypass off: an admin could otherwise deploy without the second person.
  if [ "$(jq '.reviewers or ((.refs | length) > 0)' <<< "$spec")" = true ]; then
    bypass=$(gh api "repos/$repo/environments/$environment" --jq '.can_admins_bypass')
    if [ "$bypass" != false ]; then
      echo "error: environment $environment: GitHub reports can_admins_bypass=${bypass:-(missing)}, not false; turn off \"Allow administrators to bypass configured protection rules\" in its settings and re-run" >&2
      exit 1
    fi
  fi
  if [ "$(jq '.refs | length' <<< "$spec")" -gt 0 ]; then
    have=$(gh api "repos/$repo/environments/$environment/deployment-branch-policies" \
      --jq '.branch_policies[] | "\(.id) \(.type // "branch") \(.name)"')
    want=$(jq -r '.refs[] | "\(.type) \(.name)"' <<< "$spec")
    while IFS=' ' read -r type name; do
      if ! cut -d' ' -f2- <<< "$have" | grep -qxF "$type $name"; then
        gh api --method POST "repos/$repo/environments/$environment/deployment-branch-policies" \
          -f "name=$name" -f "type=$type" > /dev/null
      fi
    done <<< "$want"
    # A policy added by hand widens who can deploy: remove every policy the spec does not list.
    while IFS=' ' read -r id type name; do
      if [ -n "$id" ] && ! grep -qxF "$type $name" <<< "$want"; then
        gh api --method DELETE "repos/$repo/environments/$environment/deployment-branch-policies/$id" > /dev/null
        echo "environment $environment: removed the unmanaged deployment policy $type $name"
      fi
    done <<< "$have"
  fi
  echo "environment $environment: $(jq -r 'if .reviewers then "reviewers, " else "" end + (if (.refs | length) > 0 then "deploys from " + ([.refs[].name] | join(", ")) else "any branch" end)' <<< "$spec")"
done

# --- runner groups of the self-hosted deploy runners ------------------------------------------
if [ "$runner_groups" = true ]; then
  repo_id=$(gh api "repos/$repo" --jq .id)
  branches=$(gh api "repos/$repo/branches" --paginate --jq '.[].name')
  # The newest plain release tag: the only one the deploy workflow deploys (release_guard).
  newest_tag=$(gh api "repos/$repo/tags" --paginate --jq '.[].name' \
    | grep -E '^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$' | sort -t. -k1.2,1n -k2,2n -k3,3n | tail -n 1 || true)
  groups=$(gh api "orgs/$org/actions/runner-groups" --paginate --jq '.runner_groups[] | [.name, (.id | tostring)] | @tsv')
  for environment in $(jq -r 'keys[] | select(startswith("_") | not)' "$here/runners.json"); do
    group=$(jq -r --arg e "$environment" '.[$e].group' "$here/runners.json")
    label=$(jq -r --arg e "$environment" '.[$e].label' "$here/runners.json")
    # Refs are matched exactly, without patterns (GitHub's "selected workflows"): expand the
    # environment's deployment refs into the refs that exist now.
    refs=()
    while IFS=' ' read -r type pattern; do
      if [ "$type" = tag ]; then
        if [ -n "$newest_tag" ]; then refs+=("refs/tags/$newest_tag"); fi
      else
        while IFS= read -r branch; do
          # shellcheck disable=SC2053 # the pattern is a glob on purpose (release/*)
          if [ -n "$branch" ] && [[ "$branch" == $pattern ]]; then refs+=("refs/heads/$branch"); fi
        done <<< "$branches"
      fi
    done < <(jq -r --arg e "$environment" '.[$e].refs[] | "\(.type) \(.name)"' "$here/environments.json")
    workflows=$(printf '%s\n' "${refs[@]}" | jq -R --arg r "$repo" 'select(length > 0) | "\($r)/.github/workflows/deploy.yml@\(.)"' | jq -s -c .)
    body=$(jq -n -c --arg name "$group" --argjson wf "$workflows" '{
        name: $name, visibility: "selected", allows_public_repositories: false,
        restricted_to_workflows: true, selected_workflows: $wf
      }')
    id=$(awk -F '\t' -v n="$group" '$1 == n { print $2 }' <<< "$groups")
    if [ -n "$id" ]; then
      gh api --method PATCH "orgs/$org/actions/runner-groups/$id" --input - <<< "$body" > /dev/null
    else
      id=$(gh api --method POST "orgs/$org/actions/runner-groups" --input - --jq .id <<< "$body")
    fi
    gh api --method PUT "orgs/$org/actions/runner-groups/$id/repositories" --input - \
      <<< "{\"selected_repository_ids\": [$repo_id]}" > /dev/null
    echo "runner group $group ($id): label $label, this repository only, $(jq -r 'join(", ")' <<< "$workflows")"
  done
  echo "register each runner as ephemeral: tools/github/jit-runner.sh $repo <environment> <name>"
fi
