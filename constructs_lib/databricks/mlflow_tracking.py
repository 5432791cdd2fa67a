"""MLflow: the environment's experiment and registered model, with permissions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from constructs_lib.cdk import Construct, TerraformResourceLifecycle
from constructs_lib.databricks.compute import access_controls
from constructs_lib.databricks.unity_catalog import EnvironmentCatalog
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
    """Workspace registry only: principal -> CAN_READ / CAN_EDIT / CAN_MANAGE on the model. In
    Unity Catalog people's access to the model comes from grants on its schema
    (`model_schema_privileges`), which its owner group manages."""
    service_principals: Sequence[str] = ()


UC_MODEL_SCHEMA_PRIVILEGES: Mapping[str, tuple[str, ...]] = {
    "CAN_READ": (),
    "CAN_EDIT": ("APPLY_TAG",),
    "CAN_MANAGE": ("ALL_PRIVILEGES",),
}
"""What a model permission level adds on the models schema (inherited by the registered
model) in Unity Catalog. CAN_READ adds nothing: the catalog grants give EXECUTE (load a
version) to every group that reads the catalog."""


def model_schema_privileges(levels: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Principal -> Unity Catalog privileges on the models schema for model permission
    `levels` (principals whose level adds nothing are left out). Granted on the schema, not
    on the model: after the job principal takes the model over, only its owner (or a
    metastore admin) may change grants on the model itself (docs/platform-assumptions.md),
    while the schema stays the owner group's."""
    return {p: UC_MODEL_SCHEMA_PRIVILEGES[lvl] for p, lvl in levels.items() if lvl != "CAN_READ"}


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
            # The deployer creates the model (comment included) and hands it to the job
            # principal in the same create call; afterwards only the owner or a metastore admin
            # may change its comment, so a later comment edit is not applied (ignored), and
            # people's access is granted on the models schema, never on the model itself.
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
                lifecycle=TerraformResourceLifecycle(ignore_changes=["aliases", "comment"]),
                # The provider reads the model back right after handing it to the job principal;
                # that read needs EXECUTE, which the deployers get from the models schema's
                # grants: without this wait the two race and a lost race taints the model.
                depends_on=[props.catalog.schema_grants[props.model_schema]],
            )
            self.model_name: str = model.full_name
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
