"""A shareable copy of the JSON plan with every sensitive value masked.

`terraform show -json` prints sensitive values in clear text. The workflows keep this copy as
the long-lived plan artifact; the raw plan is deleted when the run ends (docs/cicd.md).
"""

from __future__ import annotations

from typing import Any

from tools.plan_summary.diff import redact, to_plain
from tools.plan_summary.model import Plan, ResourceChange


def _change(rc: ResourceChange) -> dict[str, Any]:
    return {
        "address": rc.address,
        "type": rc.type,
        "mode": rc.mode,
        "actions": list(rc.actions),
        "action_reason": rc.action_reason,
        "before": to_plain(redact(rc.before, rc.before_sensitive)),
        "after": to_plain(redact(rc.after, rc.after_sensitive, rc.after_unknown)),
        "replace_paths": [list(p) for p in rc.replace_paths],
    }


def redacted_plan(plan: Plan) -> dict[str, Any]:
    return {
        "note": "Redacted by tools.plan_summary: sensitive values are masked.",
        "format_version": plan.format_version,
        "terraform_version": plan.terraform_version,
        "errored": plan.errored,
        "complete": plan.complete,
        "applyable": plan.applyable,
        "resource_changes": [_change(rc) for rc in plan.resource_changes],
        "resource_drift": [_change(rc) for rc in plan.resource_drift],
        "output_changes": {
            oc.name: {
                "actions": list(oc.actions),
                "before": to_plain(redact(oc.before, oc.before_sensitive)),
                "after": to_plain(redact(oc.after, oc.after_sensitive, oc.after_unknown)),
            }
            for oc in plan.output_changes
        },
    }
