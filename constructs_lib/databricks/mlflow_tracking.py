"""MLflow: the environment's experiment and registered model, with permissions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from constructs_lib.cdk import Construct, TerraformResourceLifecycle
from constructs_lib.databricks.compute import access_controls
from constructs_lib.databricks.unity_catalog import EnvironmentCatalog
from constructs_lib.providers.databricks.grants import Grants, GrantsGrant
from constructs_lib.providers.databricks.mlflow_experiment import MlflowExperiment
from constructs_lib.providers.databricks.mlflow_model import MlflowModel
from constructs_lib.providers.databricks.permissions import Permissions
from constructs_lib.providers.databricks.registered_model import RegisteredModel


@dataclass(frozen=True, kw_only=True)
class MlflowTrackingProps:
    folder: str
    """Workspace folder of the experiment (the deployment folder: only admins write there)."""
    experiment_name: str
    model_name: str
    catalog: EnvironmentCatalog | None
    """Register the model in Unity Catalog (`catalog.models.name`); None: workspace registry."""
    job_principal: str
    """Application ID the jobs run as. It owns the Unity Catalog model: creating versions and
    moving aliases is reserved to the owner (docs/platform-assumptions.md)."""
    model_schema: str = "models"
    experiment_permissions: Mapping[str, str] = field(default_factory=dict)
    """Principal -> CAN_READ / CAN_EDIT / CAN_MANAGE on the experiment."""
    model_permissions: Mapping[str, str] = field(default_factory=dict)
    """Principal -> CAN_READ / CAN_EDIT / CAN_MANAGE (workspace registry), or READ / EDIT
    mapped to Unity Catalog privileges."""
    service_principals: Sequence[str] = ()


_UC_MODEL_PRIVILEGES = {
    "CAN_READ": ["EXECUTE"],
    "CAN_EDIT": ["APPLY_TAG", "EXECUTE"],
    "CAN_MANAGE": ["ALL_PRIVILEGES"],
}


class MlflowTracking(Construct):
    """Experiment and registered model of one environment. Exposes `experiment`,
    `experiment_path` and `model_name` (fully qualified in Unity Catalog)."""

    def __init__(self, scope: Construct, id_: str, props: MlflowTrackingProps) -> None:
        super().__init__(scope, id_)
        self.experiment = MlflowExperiment(
            self,
            "Experiment",
            name=f"{props.folder}/{props.experiment_name}",
            description="Training runs of the taxi fare model (managed by Terraform).",
        )
        self.experiment_path: str = self.experiment.name
        Permissions(
            self,
            "ExperimentPermissions",
            experiment_id=self.experiment.id,
            access_control=access_controls(props.experiment_permissions, props.service_principals),
        )
        # The jobs move aliases (UC) and tags (workspace registry); Terraform does not own them,
        # and the provider reads them back into state (docs/platform-assumptions.md).
        if props.catalog is not None:
            model = RegisteredModel(
                self,
                "RegisteredModel",
                catalog_name=props.catalog.name,
                schema_name=props.catalog.schemas[props.model_schema].name,
                name=props.model_name,
                comment=(
                    "Taxi fare regressor; the ML jobs move its `champion` and `challenger` aliases."
                ),
                owner=props.job_principal,
                lifecycle=TerraformResourceLifecycle(ignore_changes=["aliases"]),
            )
            self.model_name: str = model.full_name
            Grants(
                self,
                "ModelGrants",
                model=model.full_name,
                grant=[
                    GrantsGrant(principal=p, privileges=_UC_MODEL_PRIVILEGES[lvl])
                    for p, lvl in sorted(props.model_permissions.items())
                    if p != props.job_principal
                ],
            )
        else:
            legacy = MlflowModel(
                self,
                "RegisteredModel",
                name=props.model_name,
                description="Taxi fare regressor (workspace model registry).",
                lifecycle=TerraformResourceLifecycle(ignore_changes=["tags"]),
            )
            self.model_name = legacy.name
            Permissions(
                self,
                "ModelPermissions",
                registered_model_id=legacy.registered_model_id,
                access_control=access_controls(props.model_permissions, props.service_principals),
            )
