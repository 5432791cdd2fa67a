"""Compute: the job cluster policy, an optional instance pool and the interactive ML cluster."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.cdk import Construct, ordered_by_name
from constructs_lib.databricks.job_specs.rendering import TemplateError
from constructs_lib.databricks.job_specs.specs import user_slug
from constructs_lib.databricks.spec_mapping import SpecMapper, to_provider_shape
from constructs_lib.providers.databricks.cluster import Cluster
from constructs_lib.providers.databricks.cluster_policy import ClusterPolicy
from constructs_lib.providers.databricks.instance_pool import (
    InstancePool,
    InstancePoolAzureAttributes,
)
from constructs_lib.providers.databricks.permissions import Permissions, PermissionsAccessControl


def job_cluster_policy_definition(
    *,
    spark_version: str,
    allowed_node_type_ids: Sequence[str],
    max_workers: int,
    custom_tags: Mapping[str, str],
    instance_pool: bool,
) -> dict[str, Any]:
    """Cluster policy for job clusters: pinned runtime, allowed VM sizes, single-user data
    security, bounded autoscaling and fixed cost tags. Pure: tested without a synth."""
    definition: dict[str, Any] = {
        "cluster_type": {"type": "fixed", "value": "job"},
        "spark_version": {"type": "fixed", "value": spark_version},
        "data_security_mode": {"type": "fixed", "value": "SINGLE_USER"},
        "autoscale.max_workers": {
            "type": "range",
            "maxValue": max_workers,
            "defaultValue": max_workers,
        },
        "autoscale.min_workers": {
            "type": "range",
            "minValue": 0,
            "maxValue": max_workers,
            "defaultValue": 1,
        },
    }
    if instance_pool:
        definition["instance_pool_id"] = {"type": "unlimited", "isOptional": False}
    else:
        definition["node_type_id"] = {
            "type": "allowlist",
            "values": list(allowed_node_type_ids),
            "defaultValue": allowed_node_type_ids[0],
        }
    for key, value in sorted(custom_tags.items()):
        definition[f"custom_tags.{key}"] = {"type": "fixed", "value": value}
    return definition


def access_controls(
    levels: Mapping[str, str], service_principals: Sequence[str] = (), users: Sequence[str] = ()
) -> list[PermissionsAccessControl]:
    """`databricks_permissions` entries from principal -> level. Principals listed in
    `service_principals` are application IDs, those in `users` user names; all others are
    group names."""
    return [
        PermissionsAccessControl(service_principal_name=p, permission_level=lvl)
        if p in service_principals
        else PermissionsAccessControl(user_name=p, permission_level=lvl)
        if p in users
        else PermissionsAccessControl(group_name=p, permission_level=lvl)
        for p, lvl in ordered_by_name(list(levels.items()), lambda item: item[0])
    ]


@dataclass(frozen=True, kw_only=True)
class MlComputeProps:
    name_prefix: str
    """Prefix of compute names, e.g. `mlops-dev`."""
    spark_version: str
    node_type_id: str
    allowed_node_type_ids: Sequence[str]
    job_max_workers: int
    custom_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every VM (cost attribution); enforced by the policy."""
    policy_users: Sequence[str] = ()
    """Groups allowed to use the job cluster policy (CAN_USE)."""
    service_principals: Sequence[str] = ()
    """Application IDs among the principals (the rest are groups)."""
    instance_pool: Mapping[str, int] | None = None
    """`min_idle_instances`, `max_capacity`, `idle_instance_autotermination_minutes`, or None
    for no pool."""


class MlCompute(Construct):
    """The job cluster policy (and optional pool) that every ML job cluster uses. Add each
    person's interactive cluster with `add_interactive_cluster`."""

    def __init__(self, scope: Construct, id_: str, props: MlComputeProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.instance_pool: InstancePool | None = None
        if props.instance_pool is not None:
            self.instance_pool = InstancePool(
                self,
                "InstancePool",
                instance_pool_name=f"{props.name_prefix}-ml-pool",
                node_type_id=props.node_type_id,
                preloaded_spark_versions=[props.spark_version],
                azure_attributes=InstancePoolAzureAttributes(availability="ON_DEMAND_AZURE"),
                custom_tags=dict(props.custom_tags),
                **props.instance_pool,
            )
        definition = job_cluster_policy_definition(
            spark_version=props.spark_version,
            allowed_node_type_ids=props.allowed_node_type_ids,
            max_workers=props.job_max_workers,
            custom_tags=props.custom_tags,
            instance_pool=self.instance_pool is not None,
        )
        self.job_policy = ClusterPolicy(
            self,
            "JobClusterPolicy",
            name=f"{props.name_prefix}-ml-job-clusters",
            description="Job clusters of the ML jobs: pinned ML runtime, allowed VM sizes, "
            "single-user data security, bounded autoscaling, cost tags.",
            definition=json.dumps(definition, sort_keys=True),
        )
        Permissions(
            self,
            "JobClusterPolicyPermissions",
            cluster_policy_id=self.job_policy.id,
            access_control=access_controls(
                {p: "CAN_USE" for p in props.policy_users}, props.service_principals
            ),
        )
        self.interactive_clusters: dict[str, Cluster] = {}
        """Assigned user -> their interactive cluster."""

    def job_cluster_compute(self) -> dict[str, str]:
        """What the job cluster template gets as `compute`: the pool or the VM size."""
        if self.instance_pool is not None:
            return {"instance_pool_id": self.instance_pool.instance_pool_id}
        return {"node_type_id": self._props.node_type_id}

    def add_interactive_cluster(
        self,
        spec: Mapping[str, Any],
        *,
        source: str,
        environment: str,
        permissions: Mapping[str, str],
        users: Sequence[str] = (),
        depends_on: Sequence[Any] = (),
    ) -> Cluster:
        """Create an interactive cluster from a Clusters API-shaped spec (a rendered template),
        dedicated to its `single_user_name`, and grant `permissions` (principal -> CAN_ATTACH_TO
        / CAN_RESTART / CAN_MANAGE; `users` are user names, the rest groups or the service
        principals of the props). `depends_on`: what must exist before the cluster starts and
        installs its libraries (the grant that lets its user read the wheel). Its construct ID
        is derived from the assigned user, so a cluster keeps its address when others are
        added or removed."""
        if not spec.get("autotermination_minutes"):
            raise TemplateError.single(
                source,
                environment,
                "an interactive cluster must set autotermination_minutes",
                "set it to 10-120 minutes",
            )
        user = str(spec.get("single_user_name", ""))
        kwargs = SpecMapper(source=source, environment=environment).build(
            Cluster, to_provider_shape(spec, "cluster")
        )
        suffix = user_slug(user)
        cluster = Cluster(
            self, f"InteractiveCluster-{suffix}", depends_on=list(depends_on) or None, **kwargs
        )
        Permissions(
            self,
            f"InteractiveClusterPermissions-{suffix}",
            cluster_id=cluster.cluster_id,
            access_control=access_controls(permissions, self._props.service_principals, users),
        )
        self.interactive_clusters[user] = cluster
        return cluster
