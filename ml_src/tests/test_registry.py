"""The registry adapter in both modes: which errors mean "none", which fail, and the workspace
registry (no aliases at MLflow 2.13.1) through a fake that raises where the real store raises."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode

from registry_fakes import workspace_registry_uri
from taxi_fare_mlops.errors import PipelineError, RegistryError
from taxi_fare_mlops.registry import CHAMPION, ModelRegistry, is_not_found, pointer_tag

MODEL = "taxi_example_fare_packaged"


class _Raising:
    """A client whose every registry read fails with one MlflowException."""

    def __init__(self, exc: MlflowException) -> None:
        self.exc = exc

    def __getattr__(self, name: str):  # noqa: ANN204
        def fail(*_: object, **__: object) -> None:
            raise self.exc

        return fail


@pytest.mark.parametrize(
    ("error_code", "message"),
    [
        ("PERMISSION_DENIED", "User does not have EXECUTE on Model"),
        ("REQUEST_LIMIT_EXCEEDED", "Too many requests"),
        ("TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable"),
        ("ENDPOINT_NOT_FOUND", "No API found for 'GET /mlflow/registered-models/alias'"),
        ("INTERNAL_ERROR", "Method 'get_model_version_by_alias' is unsupported for models in"),
        ("INVALID_PARAMETER_VALUE", "Invalid model name"),
    ],
)
@pytest.mark.parametrize("mode", ["alias", "tag"])
def test_registry_errors_are_not_read_as_no_champion(
    mode: str, error_code: str, message: str
) -> None:
    registry = ModelRegistry(
        _Raising(MlflowException(message, error_code=ErrorCode.Value(error_code))), MODEL, mode
    )
    with pytest.raises(RegistryError, match=f"{error_code}: {message}"):
        registry.pointed(CHAMPION)


@pytest.mark.parametrize(
    ("error_code", "message"),
    [
        ("RESOURCE_DOES_NOT_EXIST", "Registered Model with name=x not found"),
        ("NOT_FOUND", "Alias champion not found"),
        ("INVALID_PARAMETER_VALUE", "Registered model alias champion not found."),  # SQLite
    ],
)
def test_genuine_not_found_means_none(error_code: str, message: str) -> None:
    exc = MlflowException(message, error_code=ErrorCode.Value(error_code))
    assert is_not_found(exc)
    assert ModelRegistry(_Raising(exc), MODEL, "alias").pointed(CHAMPION) is None


class _UnityCatalogLike:
    """A Unity Catalog registry as MLflow 2.13.1's UC store returns it: the registered model
    with its aliases; a by-alias lookup of a missing alias fails with ``by_alias_error``."""

    def __init__(self, aliases: dict[str, str], by_alias_error: MlflowException) -> None:
        self.aliases, self.by_alias_error, self.by_alias_calls = aliases, by_alias_error, 0

    def get_registered_model(self, name: str):
        from mlflow.entities.model_registry import RegisteredModel, RegisteredModelAlias

        return RegisteredModel(
            name, aliases=[RegisteredModelAlias(a, v) for a, v in self.aliases.items()]
        )

    def get_model_version(self, name: str, version: str):
        from mlflow.entities.model_registry import ModelVersion

        return ModelVersion(name, version, creation_timestamp=0)

    def get_model_version_by_alias(self, name: str, alias: str):
        self.by_alias_calls += 1
        if alias in self.aliases:
            return self.get_model_version(name, self.aliases[alias])
        raise self.by_alias_error


def test_first_evaluate_finds_no_champion_without_relying_on_the_alias_error_code() -> None:
    """After the first training, @challenger is listed and @champion is not: "no champion",
    whatever code a by-alias lookup would have returned."""
    unknown = MlflowException("odd", error_code=ErrorCode.Value("BAD_REQUEST"))
    store = _UnityCatalogLike({"challenger": "1"}, unknown)
    registry = ModelRegistry(store, "main.models.m", "alias")
    assert registry.pointed(CHAMPION) is None
    assert str(registry.pointed("challenger").version) == "1"
    assert store.by_alias_calls == 0


def test_unity_catalog_missing_alias_code_means_none() -> None:
    """Without listed aliases the alias is looked up; Unity Catalog answers a missing alias with
    RESOURCE_DOES_NOT_EXIST (how MLflow's UC store reads it), which means none; another code
    fails the step."""
    from mlflow.exceptions import RestException

    missing = RestException(
        {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Alias champion not found"}
    )
    assert ModelRegistry(_UnityCatalogLike({}, missing), "m", "alias").pointed(CHAMPION) is None
    denied = RestException({"error_code": "PERMISSION_DENIED", "message": "no EXECUTE"})
    with pytest.raises(RegistryError, match="PERMISSION_DENIED"):
        ModelRegistry(_UnityCatalogLike({}, denied), "m", "alias").pointed(CHAMPION)


def test_a_refused_workspace_registry_fails_fast_with_the_prerequisite() -> None:
    disabled = MlflowException(
        "Workspace Model Registry is disabled", error_code=ErrorCode.Value("FEATURE_DISABLED")
    )
    with pytest.raises(RegistryError, match="disabled from April 2024") as raised:
        ModelRegistry(_Raising(disabled), MODEL, "tag").check_available()
    assert "FEATURE_DISABLED" in str(raised.value) and "Unity Catalog mode" in str(raised.value)


def test_the_real_workspace_store_refuses_aliases(tmp_path: Path) -> None:
    uri = workspace_registry_uri(tmp_path / "ws.db")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws.db'}", registry_uri=uri)
    client.create_registered_model(MODEL)
    with pytest.raises(MlflowException, match="unsupported for models in the Workspace Model"):
        client.set_registered_model_alias(MODEL, CHAMPION, "1")
    # Alias mode against this registry fails loudly instead of finding "no champion".
    with pytest.raises(RegistryError, match="is unsupported"):
        ModelRegistry(client, MODEL, "alias").pointed(CHAMPION)


def test_tag_mode_points_and_resolves_without_aliases(tmp_path: Path) -> None:
    uri = workspace_registry_uri(tmp_path / "ws.db")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws.db'}", registry_uri=uri)
    registry = ModelRegistry(client, MODEL, "tag")
    assert registry.pointed(CHAMPION) is None  # model not registered yet: genuinely none
    client.create_registered_model(MODEL)
    assert registry.pointed(CHAMPION) is None  # model without the tag: none
    source = tmp_path / "model"
    source.mkdir()
    version = client.create_model_version(MODEL, source=source.as_uri()).version
    registry.point(CHAMPION, version)
    assert client.get_registered_model(MODEL).tags[pointer_tag(CHAMPION)] == str(version)
    assert str(registry.pointed(CHAMPION).version) == str(version)


def test_tag_pointing_at_a_deleted_version_is_an_error(tmp_path: Path) -> None:
    uri = workspace_registry_uri(tmp_path / "ws.db")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws.db'}", registry_uri=uri)
    client.create_registered_model(MODEL)
    client.set_registered_model_tag(MODEL, pointer_tag(CHAMPION), "9")
    with pytest.raises(PipelineError, match="has no version 9"):
        ModelRegistry(client, MODEL, "tag").pointed(CHAMPION)
