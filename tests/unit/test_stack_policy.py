"""StackPolicy: rules over a synthesized stack, with suppressions from config and code."""

from __future__ import annotations

import pytest

from constructs_lib.config import ConfigError
from constructs_lib.policy.rules import PolicyContext
from constructs_lib.policy.stack_policy import (
    _CONSTRUCT_SUPPRESSIONS,
    StackPolicy,
    Suppression,
    blocking,
    suppress,
    views_from_stack,
)

CTX = PolicyContext(environment="dev", protected=True)
STACK = {
    "resource": {
        "databricks_secret_acl": {
            "Acl_1": {
                "//": {"metadata": {"path": "dev/Dbx/Secrets/Acl"}},
                "principal": "users",
                "permission": "MANAGE",
            }
        },
        "databricks_cluster": {
            "C_1": {
                "//": {"metadata": {"path": "dev/Dbx/Compute/Cluster"}},
                "autotermination_minutes": 0,
            }
        },
    }
}


def test_views_carry_construct_path_and_address_without_metadata() -> None:
    (cluster, acl) = views_from_stack(STACK)
    assert (cluster.type, cluster.path, cluster.address) == (
        "databricks_cluster",
        "dev/Dbx/Compute/Cluster",
        "databricks_cluster.C_1",
    )
    assert "//" not in acl.attrs and acl.attrs["principal"] == "users"


def test_unsuppressed_errors_block() -> None:
    findings = StackPolicy("dev", CTX).findings(STACK)
    assert sorted(f.rule.id for f in blocking(findings)) == ["MLOPS-CL-1", "MLOPS-SEC-1"]


def test_config_suppression_by_path_prefix() -> None:
    policy = StackPolicy(
        "dev", CTX, [Suppression("MLOPS-CL-1", "reason long enough to count", "dev/Dbx/Compute")]
    )
    findings = policy.findings(STACK)
    assert [f.rule.id for f in blocking(findings)] == ["MLOPS-SEC-1"]
    (silenced,) = [f for f in findings if f.suppressed_by]
    assert silenced.suppressed_by == "reason long enough to count"


def test_prefix_must_match_whole_path_segments() -> None:
    policy = StackPolicy(
        "dev", CTX, [Suppression("MLOPS-CL-1", "reason long enough to count", "dev/Dbx/Comp")]
    )
    assert "MLOPS-CL-1" in [f.rule.id for f in blocking(policy.findings(STACK))]


def test_suppression_of_another_rule_does_not_silence() -> None:
    policy = StackPolicy("dev", CTX, [Suppression("MLOPS-JOB-1", "reason long enough to count")])
    assert len(blocking(policy.findings(STACK))) == 2


class _Node:
    def __init__(self, path: str) -> None:
        self.path = path


class _Construct:
    def __init__(self, path: str) -> None:
        self.node = _Node(path)


def test_suppress_in_code_needs_a_reason_and_a_known_rule() -> None:
    with pytest.raises(ConfigError) as info:
        suppress(_Construct("dev/Dbx"), "MLOPS-NOPE", "short")
    messages = [str(p) for p in info.value.problems]
    assert any("unknown rule 'MLOPS-NOPE'" in m for m in messages)
    assert any("needs a written reason" in m for m in messages)


def test_suppress_in_code_applies_to_its_stack_only() -> None:
    before = list(_CONSTRUCT_SUPPRESSIONS)
    try:
        suppress(_Construct("dev/Dbx/Secrets"), "MLOPS-SEC-1", "accepted in this test on purpose")
        assert [f.rule.id for f in blocking(StackPolicy("dev", CTX).findings(STACK))] == [
            "MLOPS-CL-1"
        ]
        other = {
            "resource": {
                "databricks_secret_acl": {
                    "A": {
                        **STACK["resource"]["databricks_secret_acl"]["Acl_1"],
                        "//": {"metadata": {"path": "uat/Dbx/Secrets/Acl"}},
                    }
                }
            }
        }
        assert [f.rule.id for f in blocking(StackPolicy("uat", CTX).findings(other))] == [
            "MLOPS-SEC-1"
        ]
    finally:
        _CONSTRUCT_SUPPRESSIONS[:] = before
