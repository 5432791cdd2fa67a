"""Databricks jobs from rendered templates, with the settings every job must have."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from constructs_lib.cdk import Construct
from constructs_lib.databricks.compute import access_controls
from constructs_lib.databricks.job_specs.job_settings import MlJobSettings, enforce_job_settings
from constructs_lib.databricks.job_specs.rendering import TemplateError
from constructs_lib.databricks.spec_mapping import SpecMapper, to_provider_shape
from constructs_lib.providers.databricks.job import Job
from constructs_lib.providers.databricks.permissions import Permissions


@dataclass(frozen=True, kw_only=True)
class MlJobProps:
    settings: MlJobSettings
    """The rendered spec and the settings the config enforces on it."""
    source: str
    """Template the spec came from, for error messages."""
    environment: str
    permissions: Mapping[str, str] = field(default_factory=dict)
    """Principal -> CAN_VIEW / CAN_MANAGE_RUN / CAN_MANAGE."""
    service_principals: Sequence[str] = ()
    """Application IDs among the permission principals (the rest are groups)."""


class MlJob(Construct):
    """One Databricks job built from a rendered template plus enforced settings, and its
    permissions. Exposes `job`."""

    def __init__(self, scope: Construct, id_: str, props: MlJobProps) -> None:
        super().__init__(scope, id_)
        spec = enforce_job_settings(props.settings)
        kwargs = SpecMapper(source=props.source, environment=props.environment).build(
            Job, to_provider_shape(spec, "job")
        )
        try:
            self.job = Job(self, "Job", **kwargs)
        except TypeError as exc:  # typeguard: a top-level value of the wrong type
            raise TemplateError.single(
                props.source, props.environment, str(exc), "match the Jobs API shape"
            ) from None
        self.job_id: str = self.job.id
        """The job's ID (a Terraform reference), read once."""
        if props.permissions:
            Permissions(
                self,
                "Permissions",
                job_id=self.job_id,
                access_control=access_controls(props.permissions, props.service_principals),
            )
