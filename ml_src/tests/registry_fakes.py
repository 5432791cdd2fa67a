"""Registry fakes that behave like the real Databricks stores where it matters.

``WorkspaceRegistryFake`` stores everything in SQLite but answers every alias call exactly as
MLflow 2.13.1's ``DatabricksWorkspaceModelRegistryRestStore`` does: it *calls that class's own
methods*, which raise ``MlflowException("Method '...' is unsupported for models in the
Workspace Model Registry ...")``. A SQLite registry alone supports aliases and would hide that.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.store.model_registry.databricks_workspace_model_registry_rest_store import (
    DatabricksWorkspaceModelRegistryRestStore as RealWorkspaceStore,
)
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
from mlflow.tracking._model_registry.utils import _get_store_registry

WORKSPACE_FAKE_SCHEME = "fake-workspace-registry"


class WorkspaceRegistryFake(SqlAlchemyStore):
    """SQLite storage; alias methods are the real workspace store's (they raise)."""

    def set_registered_model_alias(self, name, alias, version):  # noqa: ANN001, ANN201
        return RealWorkspaceStore.set_registered_model_alias(self, name, alias, version)

    def delete_registered_model_alias(self, name, alias):  # noqa: ANN001, ANN201
        return RealWorkspaceStore.delete_registered_model_alias(self, name, alias)

    def get_model_version_by_alias(self, name, alias):  # noqa: ANN001, ANN201
        return RealWorkspaceStore.get_model_version_by_alias(self, name, alias)


def _build(store_uri: str, **_: object) -> WorkspaceRegistryFake:
    return WorkspaceRegistryFake("sqlite:" + store_uri[len(WORKSPACE_FAKE_SCHEME) + 1 :])


def workspace_registry_uri(database: Path) -> str:
    """A registry URI served by :class:`WorkspaceRegistryFake` over the SQLite ``database``."""
    _get_store_registry().register(WORKSPACE_FAKE_SCHEME, _build)
    return f"{WORKSPACE_FAKE_SCHEME}:///{database.resolve()}"
