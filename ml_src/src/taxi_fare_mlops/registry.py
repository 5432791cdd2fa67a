"""Model registry access in both registries the jobs run against.

* Unity Catalog (``databricks-uc``) and the local SQLite registry: versions are found by
  **alias** (``@champion``, ``@challenger``).
* The workspace model registry (``databricks``, legacy mode): MLflow 2.13.1's
  ``DatabricksWorkspaceModelRegistryRestStore`` raises ``MlflowException("Method
  'set_registered_model_alias' is unsupported ...")`` for every alias call
  (``set_registered_model_alias``, ``delete_registered_model_alias``,
  ``get_model_version_by_alias``; see mlflow/store/model_registry/
  databricks_workspace_model_registry_rest_store.py at v2.13.1). There the same pointers are
  **registered-model tags** (``champion_version=<v>``), which that store supports.

"Not found" (no such alias, tag, version or model) is the only error read as "none"; anything
else (permission denied, throttling, an unsupported method, an unknown endpoint) raises
:class:`RegistryError`, so a broken registry can never look like "no champion yet". For a
missing alias, Unity Catalog answers ``RESOURCE_DOES_NOT_EXIST`` (the code MLflow's own Unity
Catalog store treats as "missing" for alias lookups) and newer Databricks APIs ``NOT_FOUND``;
both mean "none" (docs/platform-assumptions.md, "ML jobs").

The gate's verdict is one version tag (``gate_verdict``, a small JSON object with the status,
the champion it was compared with and the evaluate run), written in one call, so a failure can
never pair a new verdict with an old champion or an old "passed" with a new champion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from taxi_fare_mlops.errors import PipelineError, RegistryError

CHALLENGER = "challenger"
CHAMPION = "champion"
GATE_VERDICT_TAG = "gate_verdict"
"""The gate's verdict on a version, one JSON tag: ``{"status", "champion", "run"}``."""
BASELINE_PROFILE_ARTIFACT = "monitoring/baseline_profile.json"
NO_VERSION = "none"

PointerMode = Literal["alias", "tag"]

# Error codes that mean "this alias / version / model does not exist". ENDPOINT_NOT_FOUND is
# deliberately absent: it means the *API* does not exist on that server (mlflow's
# rest_utils.call_endpoints treats it as "try another endpoint"), not that a version is missing.
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
# MLflow 2.13.1's SQLAlchemy registry reports a missing alias as INVALID_PARAMETER_VALUE with
# "Registered model alias <alias> not found." (sqlalchemy_store.get_model_version_by_alias).
_SQL_MISSING_ALIAS = re.compile(r"Registered model alias \S+ not found")


def is_not_found(exc: MlflowException) -> bool:
    """Whether ``exc`` says that the requested alias, version or model does not exist."""
    if exc.error_code in _NOT_FOUND_CODES:
        return True
    return exc.error_code == "INVALID_PARAMETER_VALUE" and bool(
        _SQL_MISSING_ALIAS.search(exc.message)
    )


@dataclass(frozen=True)
class GateVerdict:
    """What ``evaluate`` decided about a version, and against which champion."""

    status: str
    """``passed`` or ``rejected``."""
    champion: str
    """The champion version it was compared with, or ``none``."""
    run: str = ""
    """The evaluate run that holds the report."""

    def to_tag(self) -> str:
        """The tag value (compact JSON; well below every registry's tag size limit)."""
        return json.dumps(
            {"status": self.status, "champion": self.champion, "run": self.run},
            separators=(",", ":"),
        )

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> GateVerdict | None:
        """The verdict recorded on a version, or ``None`` when it was never evaluated."""
        raw = tags.get(GATE_VERDICT_TAG)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["status"]), str(data["champion"]), str(data.get("run", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise PipelineError(f"unreadable {GATE_VERDICT_TAG} tag {raw!r}") from exc


def pointer_tag(role: str) -> str:
    """Registered-model tag that holds the version of ``role`` in tag mode."""
    return f"{role}_version"


def _fail(action: str, model_name: str, exc: MlflowException) -> RegistryError:
    return RegistryError(
        f"model registry error while {action} for {model_name}: {exc.error_code}: {exc.message}"
        " Fix: check the job principal's privileges on the model and the registry URI"
        " (databricks-uc for Unity Catalog, databricks for the workspace registry)."
    )


@dataclass(frozen=True)
class ModelRegistry:
    """The versions of one registered model and its ``champion``/``challenger`` pointers."""

    client: MlflowClient
    model_name: str
    mode: PointerMode = "alias"
    """``alias`` (Unity Catalog, SQLite) or ``tag`` (workspace model registry)."""

    def version(self, version: str) -> ModelVersion:
        """An explicit version; fails clearly when it does not exist."""
        try:
            return self.client.get_model_version(self.model_name, str(version))
        except MlflowException as exc:
            if is_not_found(exc):
                raise PipelineError(f"model {self.model_name} has no version {version}") from exc
            raise _fail(f"reading version {version}", self.model_name, exc) from exc

    def pointed(self, role: str) -> ModelVersion | None:
        """The version ``role`` points to, or ``None`` when it (or the model) does not exist.

        Alias mode reads the registered model first: a missing model is
        ``RESOURCE_DOES_NOT_EXIST``. When its alias list is not empty (the server lists
        aliases, and one is set: after the first training, ``@challenger``), an alias missing
        from the list is missing, without relying on the code a by-alias lookup returns for
        it; otherwise the alias is looked up and a "not found" code means missing.
        """
        try:
            model = self.client.get_registered_model(self.model_name)
        except MlflowException as exc:
            if is_not_found(exc):
                return None
            raise _fail(f"reading {self.model_name}", self.model_name, exc) from exc
        if self.mode == "alias":
            listed = {alias: str(version) for alias, version in (model.aliases or {}).items()}
            if listed:
                return self.version(listed[role]) if role in listed else None
            try:
                return self.client.get_model_version_by_alias(self.model_name, role)
            except MlflowException as exc:
                if is_not_found(exc):
                    return None
                raise _fail(f"reading alias @{role}", self.model_name, exc) from exc
        value = model.tags.get(pointer_tag(role))
        if not value or value == NO_VERSION:
            return None
        # The tag names a version that must exist: a dangling pointer is an error, not "none".
        return self.version(value)

    def point(self, role: str, version: str) -> None:
        """Point ``role`` at ``version`` (one write: an alias or a registered-model tag)."""
        try:
            if self.mode == "alias":
                self.client.set_registered_model_alias(self.model_name, role, str(version))
            else:
                self.client.set_registered_model_tag(
                    self.model_name, pointer_tag(role), str(version)
                )
        except MlflowException as exc:
            raise _fail(f"pointing {role} at v{version}", self.model_name, exc) from exc

    def check_available(self) -> None:
        """Fail fast, with the fix, when the registry refuses this workspace.

        Databricks disabled the workspace model registry for workspaces in new accounts whose
        default catalog is in Unity Catalog (from April 2024): legacy mode needs a workspace
        where it is still enabled.
        """
        try:
            self.client.search_registered_models(max_results=1)
        except MlflowException as exc:
            if self.mode == "tag":
                raise RegistryError(
                    f"the workspace model registry refused a request for {self.model_name}:"
                    f" {exc.error_code}: {exc.message} Fix: legacy mode"
                    " (databricks.unity_catalog.enabled: false) needs the workspace model"
                    " registry, which Databricks disabled from April 2024 for workspaces of new"
                    " accounts whose default catalog is in Unity Catalog; use Unity Catalog"
                    " mode, or a workspace where the workspace model registry is enabled"
                    " (README, legacy mode)."
                ) from exc
            raise _fail("listing registered models", self.model_name, exc) from exc

    def write_verdict(self, version: str, verdict: GateVerdict) -> None:
        """Record the gate's verdict on ``version`` in one tag write."""
        self.tag_version(version, GATE_VERDICT_TAG, verdict.to_tag())

    def tag_version(self, version: str, key: str, value: str) -> None:
        """Set a tag on one version (supported by every registry)."""
        try:
            self.client.set_model_version_tag(self.model_name, str(version), key, value)
        except MlflowException as exc:
            raise _fail(f"tagging v{version} with {key}", self.model_name, exc) from exc

    def resolve(self, version: str | None, role: str) -> ModelVersion:
        """An explicit ``version`` if given, else the version ``role`` points to."""
        if version:
            return self.version(version)
        found = self.pointed(role)
        if found is None:
            where = f"alias @{role}" if self.mode == "alias" else f"tag {pointer_tag(role)}"
            raise PipelineError(f"model {self.model_name} has no version with {where}")
        return found
