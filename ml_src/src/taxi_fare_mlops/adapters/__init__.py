"""Runtime adapters: where the Databricks-only APIs live, behind small interfaces."""

from __future__ import annotations

import os
from typing import Literal

Runtime = Literal["local", "databricks"]
RUNTIME_CHOICES = ("auto", "local", "databricks")


def detect_runtime(requested: str = "auto") -> Runtime:
    """Resolve ``auto`` with the ``DATABRICKS_RUNTIME_VERSION`` variable that clusters set."""
    if requested == "auto":
        return "databricks" if os.environ.get("DATABRICKS_RUNTIME_VERSION") else "local"
    if requested not in ("local", "databricks"):
        raise ValueError(f"unknown runtime {requested!r}; choose one of {RUNTIME_CHOICES}")
    return requested  # type: ignore[return-value]
