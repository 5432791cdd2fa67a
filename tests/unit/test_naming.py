"""Deployed names: Azure's rules, determinism, the original accelerator's shape."""

from __future__ import annotations

import re

import pytest

from constructs_lib.naming import (
    InvalidNameError,
    Names,
    ResourceKind,
    default_suffix,
    validate_name,
)


def names(
    env: str = "dev", prefix: str = "mlops", location: str = "westeurope", suffix: str | None = None
) -> Names:
    return Names.for_environment(prefix=prefix, environment=env, location=location, suffix=suffix)


def test_names_are_deterministic() -> None:
    assert names() == names()
    assert default_suffix("mlops", "dev", "westeurope") == default_suffix(
        "mlops", "dev", "westeurope"
    )


def test_suffix_differs_per_environment_and_location() -> None:
    suffixes = {
        default_suffix("mlops", e, loc)
        for e in ("dev", "uat")
        for loc in ("westeurope", "northeurope")
    }
    assert len(suffixes) == 4
    assert all(re.fullmatch(r"[0-9a-f]{4}", s) for s in suffixes)


def test_explicit_suffix_wins() -> None:
    n = names(suffix="zz99")
    assert n.storage_account == "mlopsadlsdevzz99"
    assert n.key_vault == "mlops-kvdevzz99"


def test_original_accelerator_shapes() -> None:
    n = names(suffix="ab12")
    assert n.databricks_workspace == "mlops-dbxwsdevab12"
    assert n.storage_account.startswith("mlopsadlsdev")
    assert n.resource_group == "mlops-dev-databricks-rg"


@pytest.mark.parametrize("env", ["sandbox", "dev", "uat", "prod", "perf01"])
def test_global_names_fit_azure_rules(env: str) -> None:
    n = names(env)
    assert 3 <= len(n.storage_account) <= 24 and re.fullmatch(r"[a-z0-9]+", n.storage_account)
    assert 3 <= len(n.key_vault) <= 24 and "--" not in n.key_vault and n.key_vault[0].isalpha()
    assert len(n.action_group_short) <= 12


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (ResourceKind.STORAGE_ACCOUNT, "Has-Upper"),
        (ResourceKind.STORAGE_ACCOUNT, "a" * 25),
        (ResourceKind.STORAGE_ACCOUNT, "ab"),
        (ResourceKind.KEY_VAULT, "1starts-with-digit"),
        (ResourceKind.KEY_VAULT, "double--hyphen"),
        (ResourceKind.KEY_VAULT, "ends-with-hyphen-"),
        (ResourceKind.KEY_VAULT, "k" * 25),
        (ResourceKind.RESOURCE_GROUP, "ends.with.period."),
        (ResourceKind.LOG_ANALYTICS_WORKSPACE, "abc"),
    ],
)
def test_rule_violations_are_rejected(kind: ResourceKind, name: str) -> None:
    with pytest.raises(InvalidNameError, match=kind.name.lower()):
        validate_name(kind, name)


def test_too_long_name_lists_every_broken_rule() -> None:
    with pytest.raises(InvalidNameError) as info:
        names(env="sandboxeu", prefix="abcdefgh")
    message = str(info.value)
    assert "storage_account name 'abcdefghadlssandboxeu" in message
