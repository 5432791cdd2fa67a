"""Everything inside one environment's Databricks workspace, wired from its config."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from constructs_lib.cdk import Construct
from constructs_lib.config.models import EnvironmentConfig
from constructs_lib.databricks.compute import MlCompute, MlComputeProps
from constructs_lib.databricks.deployment_folder import DeploymentFolder, DeploymentFolderProps
from constructs_lib.databricks.job_principal import JobPrincipal, JobPrincipalProps
from constructs_lib.databricks.job_specs import specs
from constructs_lib.databricks.job_specs.wheel_artifact import WheelArtifact
from constructs_lib.databricks.jobs import MlJob, MlJobProps
from constructs_lib.databricks.mlflow_tracking import (
    MlflowTracking,
    MlflowTrackingProps,
    model_schema_privileges,
)
from constructs_lib.databricks.notebook import WorkspaceNotebook, WorkspaceNotebookProps
from constructs_lib.databricks.quality_monitor import QualityMonitor, QualityMonitorProps
from constructs_lib.databricks.secrets import SecretScope, SecretScopeProps
from constructs_lib.databricks.smoke_principal import SmokePrincipal, SmokePrincipalProps
from constructs_lib.databricks.unity_catalog import EnvironmentCatalog, EnvironmentCatalogProps
from constructs_lib.databricks.wheel import WorkspaceWheel, WorkspaceWheelProps
from constructs_lib.platform_outputs import PlatformOutputs
from constructs_lib.providers.databricks.repo import Repo

RETRAIN_TARGET_JOB = specs.RETRAIN_JOB
"""The job the monitoring job runs (run_job_task) when it signals a retrain: the job principal
may run it."""


@dataclass(frozen=True, kw_only=True)
class DatabricksEnvironmentProps:
    config: EnvironmentConfig
    wheel: WheelArtifact
    platform: PlatformOutputs
    """References into the environment's platform stack (workspace, Key Vault, data lake)."""
    verify_metastore: Any = True
    """Read the workspace's metastore during plan to check it exists (a Terraform variable's
    value, see `WorkspaceStack`)."""


class DatabricksEnvironment(Construct):
    """Configures the environment's workspace: the job principal, the deployment folder with
    the wheel and the experiment, Unity Catalog (or the legacy registry), compute, MLflow,
    secrets, jobs and an optional Git folder, all wired by Terraform references. The
    databricks provider is the enclosing stack's. Exposes `job_principal`, `jobs`
    (key -> MlJob) and `pipeline_job_id`."""

    def __init__(self, scope: Construct, id_: str, props: DatabricksEnvironmentProps) -> None:
        super().__init__(scope, id_)
        config, db = props.config, props.config.databricks
        groups = db.groups
        name_prefix = f"{config.naming.prefix}-{config.name}"

        # Who runs the jobs: never the deploying identity.
        self.job_principal = JobPrincipal(
            self,
            "JobPrincipal",
            JobPrincipalProps(
                display_name=f"{name_prefix}-jobs",
                existing_application_id=db.job_run_as_service_principal,
                account_id=db.account_id,
                user_group=db.owner_group,
            ),
        )
        job_sp = self.job_principal.application_id
        sp = [job_sp]

        # Where the code it runs comes from: a folder only admins can write.
        self.folder = DeploymentFolder(
            self,
            "DeploymentFolder",
            DeploymentFolderProps(
                path=specs.workspace_dir(config),
                managers=[groups.admins],
                readers={job_sp: "CAN_READ"},
                service_principals=sp,
            ),
        )
        # Each person with an interactive cluster installs the wheel with their own identity
        # (dedicated access mode), so each may read the wheel file, and nothing else there.
        ic = db.interactive_cluster
        cluster_users = list(ic.users) if ic.enabled else []
        self.wheel = WorkspaceWheel(
            self,
            "Wheel",
            WorkspaceWheelProps(
                wheel=props.wheel, workspace_dir=self.folder.path, readers=cluster_users
            ),
        )
        # The monitoring job's condition reads the verdict as a task value, which Databricks
        # documents for notebooks only: this notebook (packaged in the wheel) publishes it.
        self.verdict_notebook = WorkspaceNotebook(
            self,
            "VerdictNotebook",
            WorkspaceNotebookProps(
                name="publish_verdict",
                source=props.wheel.read_member(
                    f"{props.wheel.package_name}/notebooks/publish_verdict.py"
                ),
                workspace_dir=self.folder.path,
            ),
        )

        # People's access to the experiment and the model, per environment (config); the admin
        # group manages both, the job principal logs runs and owns the model.
        people = db.ml.group_permissions
        people_access = {
            groups.ml_engineers: people.ml_engineers,
            groups.data_scientists: people.data_scientists,
        }
        experiment_permissions = {
            groups.admins: "CAN_MANAGE",
            groups.ml_engineers: people.ml_engineers.experiment,
            groups.data_scientists: people.data_scientists.experiment,
        }
        model_permissions = {
            groups.admins: "CAN_MANAGE",
            groups.ml_engineers: people.ml_engineers.model,
            groups.data_scientists: people.data_scientists.model,
        }

        uc = db.unity_catalog
        self.catalog: EnvironmentCatalog | None = None
        if uc.enabled:
            self.catalog = EnvironmentCatalog(
                self,
                "Catalog",
                EnvironmentCatalogProps(
                    platform=props.platform,
                    catalog_name=specs.catalog_name(config),
                    feature_schema=uc.feature_schema,
                    model_schema=uc.model_schema,
                    inference_schema=uc.inference_schema,
                    artifacts_volume=uc.artifacts_volume,
                    owner=db.owner_group,
                    job_principal=job_sp,
                    writers=[g for g, a in people_access.items() if a.tables == "WRITE"],
                    readers=[g for g, a in people_access.items() if a.tables == "READ"],
                    declared_tables_schema=(
                        uc.inference_schema if db.ml.quality_monitor.enabled else None
                    ),
                    model_schema_grants=model_schema_privileges(model_permissions),
                    metastore_id=uc.metastore_id,
                    verify_metastore=props.verify_metastore,
                    force_destroy=not config.protected,
                ),
            )

        self.compute = MlCompute(
            self,
            "Compute",
            MlComputeProps(
                name_prefix=name_prefix,
                spark_version=db.spark_version,
                node_type_id=db.node_type_id,
                allowed_node_type_ids=db.allowed_node_type_ids,
                job_max_workers=db.job_cluster.max_workers,
                custom_tags=specs.custom_tags(config),
                policy_users=[*sp, groups.ml_engineers],
                service_principals=sp,
                instance_pool=(
                    {
                        "min_idle_instances": db.instance_pool.min_idle_instances,
                        "max_capacity": db.instance_pool.max_capacity,
                        "idle_instance_autotermination_minutes": (
                            db.instance_pool.idle_instance_autotermination_minutes
                        ),
                    }
                    if db.instance_pool.enabled
                    else None
                ),
            ),
        )

        self.mlflow = MlflowTracking(
            self,
            "Mlflow",
            MlflowTrackingProps(
                folder=self.folder.path,
                experiment_name=db.ml.experiment_name,
                model_name=db.ml.model_name,
                catalog=self.catalog,
                model_schema=uc.model_schema,
                job_principal=job_sp,
                experiment_permissions={**experiment_permissions, job_sp: "CAN_EDIT"},
                model_permissions={
                    **model_permissions,
                    # Workspace registry: tags and stage transitions need CAN_MANAGE. In Unity
                    # Catalog the principal owns the model instead (no grant).
                    job_sp: "CAN_MANAGE",
                },
                service_principals=sp,
            ),
        )

        key_vault_backed = db.secret_scope_backend == "azure_keyvault"
        self.secret_scope = SecretScope(
            self,
            "Secrets",
            SecretScopeProps(
                name=name_prefix,
                key_vault_id=props.platform.key_vault_id if key_vault_backed else None,
                key_vault_uri=props.platform.key_vault_uri if key_vault_backed else None,
                readers=[groups.ml_engineers, groups.data_scientists],
                job_principal=job_sp,
                managers=[groups.admins],
            ),
        )

        refs = specs.WorkspaceRefs(
            wheel_path=self.wheel.library_path,
            wheel_package_name=props.wheel.package_name,
            policy_id=self.compute.job_policy.id,
            compute=self.compute.job_cluster_compute(),
            experiment_path=self.mlflow.experiment_path,
            model_name=self.mlflow.model_name,
            run_as=job_sp,
            notebooks={"publish_verdict": self.verdict_notebook.path},
        )
        for user in cluster_users:
            # A library that fails to install fails the cluster's create (provider 1.99), so
            # the cluster starts only once its user may read the wheel.
            self.compute.add_interactive_cluster(
                specs.interactive_cluster_spec(config, refs, user),
                source=f"templates/{specs.INTERACTIVE_CLUSTER_TEMPLATE}",
                environment=config.name,
                permissions={groups.admins: "CAN_MANAGE", user: "CAN_RESTART"},
                users=[user],
                depends_on=[self.wheel.permissions],
            )

        # --- the smoke identity (issue 20 section 3): may run the smoke's jobs, nothing else ---
        self.smoke: SmokePrincipal | None = None
        if config.smoke.enabled and config.smoke.application_id:
            self.smoke = SmokePrincipal(
                self,
                "SmokePrincipal",
                SmokePrincipalProps(
                    application_id=config.smoke.application_id,
                    display_name=f"{name_prefix}-smoke",
                ),
            )
        smoke_runs = (
            {key: {self.smoke.application_id: "CAN_MANAGE_RUN"} for key in config.smoke_jobs}
            if self.smoke is not None
            else {}
        )
        smoke_sp = [self.smoke.application_id] if self.smoke is not None else []
        # --- end smoke block ---

        self.jobs: dict[str, MlJob] = {}
        job_ids: dict[str, str] = {}
        job_cluster = specs.job_cluster_spec(config, refs)  # the same for every job
        for key in db.jobs:
            refs = replace(refs, job_ids=dict(job_ids))
            self.jobs[key] = MlJob(
                self,
                f"Job-{key}",
                MlJobProps(
                    settings=specs.job_settings(config, key, refs, job_cluster),
                    source=f"templates/{specs.job_template(config, key)}",
                    environment=config.name,
                    permissions={
                        groups.admins: "CAN_MANAGE",
                        groups.ml_engineers: "CAN_MANAGE_RUN",
                        groups.data_scientists: "CAN_VIEW",
                        # The monitoring job starts a retrain as the job principal.
                        **({job_sp: "CAN_MANAGE_RUN"} if key == RETRAIN_TARGET_JOB else {}),
                        **smoke_runs.get(key, {}),
                    },
                    service_principals=[*sp, *smoke_sp],
                ),
            )
            job_ids[key] = self.jobs[key].job_id

        # --- ML (issue 14): Lakehouse Monitoring on the inference table, Unity Catalog only ---
        qm = db.ml.quality_monitor
        if self.catalog is not None and qm.enabled:
            self.quality_monitor = QualityMonitor(
                self,
                "QualityMonitor",
                QualityMonitorProps(
                    catalog=self.catalog,
                    schema=uc.inference_schema,
                    table_name=db.ml.inference_table,
                    baseline_table_name=db.ml.baseline_table,
                    owner=job_sp,
                    columns=specs.INFERENCE_TABLE_COLUMNS,
                    assets_dir=f"{self.folder.path}/quality_monitoring",
                    **specs.INFERENCE_LOG_COLUMNS,
                    granularities=qm.granularities,
                    quartz_cron_expression=qm.quartz_cron_expression,
                    timezone_id=qm.timezone_id,
                    notification_emails=specs.notification_emails(config),
                    warehouse_id=qm.warehouse_id,
                ),
            )
        # --- end ML block ---

        if db.git_folder is not None:
            Repo(
                self,
                "GitFolder",
                url=db.git_folder.url,
                branch=db.git_folder.branch,
                path=f"/Workspace/Repos/{name_prefix}/project",
            )

    @property
    def job_ids(self) -> dict[str, str]:
        """Job key -> job ID (Terraform references), in creation order."""
        return {key: job.job_id for key, job in self.jobs.items()}

    @property
    def pipeline_job_id(self) -> str:
        """ID of the `ml_pipeline` job, or of the first job when there is none by that key."""
        job = self.jobs.get("ml_pipeline") or next(iter(self.jobs.values()), None)
        return job.job_id if job else ""
