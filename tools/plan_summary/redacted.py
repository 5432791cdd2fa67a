"""A shareable copy of the JSON plan with every sensitive value masked.

`terraform show -json` prints sensitive values in clear text. The workflows upload this copy as
the plan artifact instead of the raw plan, so a secret never lands in an artifact.
"""

from __future__ import annotations

from typing import Any

from tools.plan_summary.diff import redact, to_plain
from tools.plan_summary.model import Plan


def redacted_plan(plan: Plan) -> dict[str, Any]:
    changes = []
    for rc in plan.resource_changes:
        changes.append(
            {
                "address": rc.address,
                "type": rc.type,
                "mode": rc.mode,
                "actions": list(rc.actions),
                "action_reason": rc.action_reason,
                "before": to_plain(redact(rc.before, rc.before_sensitive)),
                "after": to_plain(redact(rc.after, rc.after_sensitive, rc.after_unknown)),
                "replace_paths": [list(p) for p in rc.replace_paths],
            }
        )
    return {
        "note": "Redacted by tools.plan_summary: sensitive values are masked.",
        "format_version": plan.format_version,
        "terraform_version": plan.terraform_version,
        "errored": plan.errored,
        "resource_changes": changes,
    }
