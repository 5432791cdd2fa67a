"""One plan across an environment's two stacks (tools.plan_summary.crossstack and the
workflows' `against_platform_plan`): the workspace stack planned against the platform PLAN's
outputs, not the platform's state.

The unit tests use configurations shaped like cdktf's (a `terraform_remote_state` data source
`cross-stack-reference-input-<env>` and outputs `cross-stack-output-...`). The end-to-end tests
run the workflows' own plan step with the real Terraform CLI on two small stacks made of
Terraform's built-in `terraform_data` resource (no provider to download), applied to local
state first, so every plan, unknown value and replacement is Terraform's own.
"""

from __future__ import annotations

from typing import Any

from tools.plan_summary import crossstack
from tools.plan_summary.model import parse_plan

DS = "cross-stack-reference-input-dev"


def ref(output: str) -> str:
    return f"${{data.terraform_remote_state.{DS}.outputs.{output}}}"


def workspace_config() -> dict[str, Any]:
    """A workspace stack as cdktf writes it: the provider and three resources read platform
    outputs; the schema reads the catalog; the job reads nothing from the platform."""
    return {
        "data": {"terraform_remote_state": {DS: {"backend": "azurerm", "config": {}}}},
        "provider": {
            "databricks": [{"host": ref("cross-stack-output-ws_url"), "alias": None}],
        },
        "resource": {
            "databricks_catalog": {
                "Catalog": {
                    "storage_root": "abfss://uc@" + ref("cross-stack-output-lake_name") + "/"
                }
            },
            "databricks_schema": {"Schema": {"catalog_name": "${databricks_catalog.Catalog.name}"}},
            "databricks_storage_credential": {
                "Cred": {"access_connector_id": ref("cross-stack-output-connector_id")}
            },
            "databricks_job": {"Job": {"name": "train"}},
        },
    }


def platform_plan(**actions: tuple[list[str], bool]) -> dict[str, Any]:
    """A platform plan whose output_changes are {name: (actions, after_unknown)}."""
    changes = {}
    planned = {}
    for short, (acts, unknown) in actions.items():
        name = f"cross-stack-output-{short}"
        changes[name] = {
            "actions": acts,
            "before": None if acts == ["create"] else "old",
            "after": None if unknown else "new",
            "after_unknown": unknown,
            "before_sensitive": True,
            "after_sensitive": True,
        }
        planned[name] = {"sensitive": True} | ({} if unknown else {"value": "new"})
    return {
        "format_version": "1.2",
        "planned_values": {"outputs": planned, "root_module": {}},
        "output_changes": changes,
        "configuration": {
            "root_module": {
                "outputs": {
                    "cross-stack-output-lake_name": {
                        "expression": {
                            "references": [
                                "azurerm_storage_account.Lake.name",
                                "azurerm_storage_account.Lake",
                            ]
                        },
                        "sensitive": True,
                    }
                }
            }
        },
    }


def test_changed_outputs_reach_the_resources_that_read_them_and_what_reads_those() -> None:
    cross = crossstack.analyse(
        workspace_config(),
        platform_plan(
            lake_name=(["update"], False),
            connector_id=(["no-op"], False),
            ws_url=(["no-op"], False),
        ),
    )
    assert cross.outputs["cross-stack-output-lake_name"].status == crossstack.CHANGES
    assert cross.outputs["cross-stack-output-lake_name"].label == (
        "azurerm_storage_account.Lake.name"
    )
    assert cross.outputs["cross-stack-output-connector_id"].status == crossstack.UNCHANGED
    assert dict(cross.uses) == {
        "databricks_catalog.Catalog": frozenset({"cross-stack-output-lake_name"}),
        "databricks_schema.Schema": frozenset({"cross-stack-output-lake_name"}),
    }
    assert not cross.provider_outputs and not cross.needs_platform_apply


def test_unknown_and_new_outputs_are_told_apart() -> None:
    cross = crossstack.analyse(
        workspace_config(),
        platform_plan(
            lake_name=(["update"], False),
            connector_id=(["update"], True),
            ws_url=(["create"], False),
        ),
    )
    statuses = {n.removeprefix("cross-stack-output-"): o.status for n, o in cross.outputs.items()}
    assert statuses == {
        "connector_id": crossstack.UNKNOWN,
        "lake_name": crossstack.CHANGES,
        "ws_url": crossstack.NEW,
    }
    assert cross.needs_platform_apply
    assert cross.provider_outputs == {"cross-stack-output-ws_url"}
    # An output the platform plan does not have at all (its plan failed, or a typo).
    missing = crossstack.analyse(workspace_config(), {})
    assert {o.status for o in missing.outputs.values()} == {crossstack.MISSING}


def test_caused_changes_are_the_planned_changes_of_affected_resources() -> None:
    cross = crossstack.analyse(workspace_config(), platform_plan(lake_name=(["update"], False)))
    plan = parse_plan(
        {
            "format_version": "1.2",
            "resource_changes": [
                {
                    "address": "databricks_catalog.Catalog",
                    "type": "databricks_catalog",
                    "change": {"actions": ["delete", "create"], "before": {}, "after": {}},
                },
                {
                    "address": "databricks_job.Job",
                    "type": "databricks_job",
                    "change": {"actions": ["update"], "before": {}, "after": {}},
                },
            ],
        }
    )
    caused = cross.caused(plan)
    assert [(rc.address, [o.name for o in outs]) for rc, outs in caused] == [
        ("databricks_catalog.Catalog", ["cross-stack-output-lake_name"])
    ]
