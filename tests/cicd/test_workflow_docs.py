"""docs/cicd.md's workflow table names every workflow the repository ships, and nothing else."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_workflow_is_in_the_docs_table() -> None:
    shipped = {p.name for p in (ROOT / ".github" / "workflows").glob("*.yml")}
    text = (ROOT / "docs" / "cicd.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([\w.-]+\.yml)` \|", text, flags=re.MULTILINE))
    assert table == shipped
