"""Entries named by a reference (a token) keep the order the code gives them; only literal names
are sorted (`constructs_lib.cdk.ordered_by_name`)."""

from __future__ import annotations

from constructs_lib.cdk import Token, ordered_by_name


def _fake_token(name: str) -> bool:
    return name.startswith("${TfToken[")


def test_literal_names_sorted_first_then_tokens_in_the_given_order() -> None:
    items = [
        ("${TfToken[TOKEN.12]}", "CAN_MANAGE_RUN"),  # the smoke principal, listed first
        ("ml-engineers", "CAN_MANAGE_RUN"),
        ("${TfToken[TOKEN.9]}", "CAN_MANAGE_RUN"),  # the job principal, created earlier
        ("admins", "CAN_MANAGE"),
    ]
    ordered = ordered_by_name(items, lambda i: i[0], is_token=_fake_token)
    assert [name for name, _ in ordered] == [
        "admins",
        "ml-engineers",
        "${TfToken[TOKEN.12]}",
        "${TfToken[TOKEN.9]}",
    ]


def test_the_order_does_not_follow_token_numbers() -> None:
    """The same entries whose tokens were numbered the other way round (another token created
    earlier in the app) come out in the same order: sorted() would have swapped them."""
    first = ordered_by_name(["${TfToken[TOKEN.9]}", "${TfToken[TOKEN.12]}"], str, _fake_token)
    second = ordered_by_name(["${TfToken[TOKEN.13]}", "${TfToken[TOKEN.10]}"], str, _fake_token)
    assert first == ["${TfToken[TOKEN.9]}", "${TfToken[TOKEN.12]}"]
    assert second == ["${TfToken[TOKEN.13]}", "${TfToken[TOKEN.10]}"]
    assert sorted(second) != second  # what the old sort did


def test_real_tokens_are_recognised() -> None:
    token = Token.as_string({"a": 1})
    assert ordered_by_name([token, "b", "a"], str) == ["a", "b", token]
