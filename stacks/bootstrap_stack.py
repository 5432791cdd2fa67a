"""The one-off `bootstrap` stack (replaces the original accelerator's setup.ps1).

Run once by an Azure admin with local state: `npx cdktf deploy bootstrap`. Per environment it
creates the resource group, a state container with an empty state in each of the environment's
state blobs (so the read-only plan identity can plan a stack that was never applied), and two
keyless GitHub identities: a deploy identity (roles on that group only, writes the state, plus
one read-only custom role at subscription scope for the provider's soft-deleted-resource reads)
federated only to the protected GitHub environment `<env>`, and a read-only plan identity
federated only to `<env>-plan`; where the environment's config enables the smoke run (dev), a
third, run-only identity with no Azure role federated only to `<env>-smoke`. With
`databricks_account_id` it also creates each environment's network connectivity configuration
(the admin must be a Databricks account admin too) and binds it to the environment's workspace
on the first run after that workspace exists. Its outputs are exactly the variables to set on
each GitHub environment and on the repository. `prevent_destroy` protects every stateful
resource here (state account, containers and blobs, the identities whose client IDs are set in
GitHub, the network connectivity configurations).

Not read-only itself: its provider registers the resource providers the platform needs while it
starts, so even `terraform plan` of this stack registers any that are unregistered.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.aspects import apply_aspects
from constructs_lib.aspects.tagging import TaggingAspect
from constructs_lib.azure.deployment_identity import (
    DeploymentIdentity,
    GitHubIdentityProps,
    PlanIdentity,
    delegable_roles,
)
from constructs_lib.azure.resource_group import (
    EnvironmentResourceGroup,
    EnvironmentResourceGroupProps,
)
from constructs_lib.azure.resource_providers import REQUIRED_RESOURCE_PROVIDERS
from constructs_lib.azure.smoke_identity import SmokeIdentity, SmokeIdentityProps
from constructs_lib.azure.state_storage import StateStorage, StateStorageProps
from constructs_lib.azure.subscription_reads import SubscriptionReadRole, SubscriptionReadRoleProps
from constructs_lib.cdk import Construct, LocalBackend, TerraformOutput, TerraformStack
from constructs_lib.config.bootstrap import BootstrapConfig
from constructs_lib.config.models import EnvironmentConfig
from constructs_lib.databricks.serverless_network import (
    ServerlessNetwork,
    ServerlessNetworkProps,
    ncc_name,
)
from constructs_lib.naming import (
    BootstrapNames,
    Names,
    deployer_identity_name,
    planner_identity_name,
    smoke_identity_name,
)
from constructs_lib.policy.rules import PolicyContext
from constructs_lib.policy.stack_policy import ProtectStatefulResources, StackPolicy, suppress
from constructs_lib.providers.azurerm.data_azurerm_client_config import DataAzurermClientConfig
from constructs_lib.providers.azurerm.provider import (
    AzurermProvider,
    AzurermProviderFeatures,
    AzurermProviderFeaturesStorage,
)
from constructs_lib.providers.databricks.data_databricks_mws_workspaces import (
    DataDatabricksMwsWorkspaces,
)
from constructs_lib.providers.databricks.provider import DatabricksProvider
from constructs_lib.providers.time.provider import TimeProvider

STACK_NAME = "bootstrap"
DATABRICKS_ACCOUNTS_HOST = "https://accounts.azuredatabricks.net"
"""The Azure Databricks account console API (account-level provider)."""


class BootstrapStack(TerraformStack):
    """Identities, resource groups and remote state for every environment CI deploys."""

    def __init__(
        self, scope: Construct, config: BootstrapConfig, environments: Sequence[EnvironmentConfig]
    ) -> None:
        super().__init__(scope, STACK_NAME)
        # Local state on purpose: this stack creates the remote state storage.
        LocalBackend(self, path=f"../../../terraform.{STACK_NAME}.tfstate")
        AzurermProvider(
            self,
            "azurerm",
            features=[
                AzurermProviderFeatures(
                    # The state account has no shared keys; an admin without a blob data role
                    # would get 403 from the data-plane polling after create (#26785).
                    storage=[AzurermProviderFeaturesStorage(data_plane_available=False)]
                )
            ],
            # Register exactly what the environment stacks need (they register nothing: their
            # deployers have no subscription-scope rights). Never unregisters on destroy.
            resource_provider_registrations="none",
            resource_providers_to_register=list(REQUIRED_RESOURCE_PROVIDERS),
            storage_use_azuread=True,
        )
        # Waits for the admin's data role on the state containers (StateStorage).
        TimeProvider(self, "time")
        client = DataAzurermClientConfig(self, "Client")
        prefix = config.naming.prefix
        names = BootstrapNames.for_prefix(
            prefix=prefix, location=config.location, suffix=config.naming.suffix
        )
        home = EnvironmentResourceGroup(
            self,
            "ResourceGroup",
            EnvironmentResourceGroupProps(name=names.resource_group, location=config.location),
        )
        state = StateStorage(
            self,
            "State",
            StateStorageProps(
                resource_group=home,
                name=names.state_storage_account,
                state_keys={
                    e.name: dict(zip(e.stack_names, e.state_keys, strict=True))
                    for e in environments
                },
                administrator_object_id=client.object_id,
                account_replication_type=config.state_account_replication_type,
            ),
        )
        subscription_reads = SubscriptionReadRole(
            self,
            "SubscriptionReads",
            SubscriptionReadRoleProps(
                name=f"{prefix} deployer subscription reads ({client.subscription_id})",
                subscription_id=client.subscription_id,
            ),
        )
        self.identities: dict[str, DeploymentIdentity] = {}
        self.plan_identities: dict[str, PlanIdentity] = {}
        self.serverless: dict[str, ServerlessNetwork] = {}
        account = self._account_provider(config)
        # The list is read on every plan and any error of it fails the whole plan; Azure's
        # account API reference has been reported not to list it (databricks-sdk-py#734, #332,
        # #1106), so an admin can switch the lookup and the bindings off.
        workspaces = (
            DataDatabricksMwsWorkspaces(self, "AccountWorkspaces", provider=account)
            if account is not None and config.bind_ncc_to_workspaces
            else None
        )
        for env in environments:
            env_names = Names.for_environment(
                prefix=env.naming.prefix,
                environment=env.name,
                location=env.azure.location,
                suffix=env.naming.suffix,
            )
            group = EnvironmentResourceGroup(
                self,
                f"Env-{env.name}",
                EnvironmentResourceGroupProps(
                    name=env_names.resource_group,
                    location=env.azure.location,
                    tags={**env.tags, "environment": env.name, "managed-by": "cdktf"},
                ),
            )
            common = {
                "home": home,
                "target": group,
                "github_repository": config.github_repository,
                "state_container_scope": state.container_scope(env.name),
            }
            deployer = DeploymentIdentity(
                self,
                f"Deployer-{env.name}",
                GitHubIdentityProps(
                    name=deployer_identity_name(prefix, env.name),
                    github_environment=env.name,
                    delegable_role_ids=delegable_roles(azure_ml_enabled=env.azure_ml.enabled),
                    **common,
                ),
            )
            deployer.add_subscription_reads(subscription_reads)
            planner = PlanIdentity(
                self,
                f"Planner-{env.name}",
                GitHubIdentityProps(
                    name=planner_identity_name(prefix, env.name),
                    github_environment=f"{env.name}{config.plan_environment_suffix}",
                    **common,
                ),
            )
            self.identities[env.name] = deployer
            self.plan_identities[env.name] = planner
            for identity in (deployer, planner):
                self._github_environment_output(identity, client)
            if account is not None:
                self._serverless_network(env, env_names, account, workspaces)
        self.smoke_identities = self._add_smoke_identities(config, environments, home, client)
        repository_variables = TerraformOutput(
            self,
            "github_repository_variables",
            description="Variables of the GitHub repository (not of an environment): the "
            "credential-less synthesis job needs the state account to write the backends",
            value={
                "TF_STATE_STORAGE_ACCOUNT": state.account.name,
                "TF_STATE_RESOURCE_GROUP": home.name,
            },
        )
        repository_variables.override_logical_id("github_repository_variables")
        suppress(
            state,
            "MLOPS-DIAG-1",
            "The bootstrap stack runs before any Log Analytics workspace exists; state access is "
            "audited through Entra ID sign-in logs, and every write is kept as a blob version.",
        )
        suppress(
            state,
            "MLOPS-NET-1",
            "GitHub-hosted runners (no fixed IPs) read and write the state; shared keys are off, "
            "so only the per-environment identities with a role on their container get in.",
        )
        apply_aspects(
            self,
            TaggingAspect({**config.tags, "managed-by": "cdktf", "stack": STACK_NAME}),
            ProtectStatefulResources(),
        )
        self.policy = StackPolicy(STACK_NAME, PolicyContext(environment=STACK_NAME, protected=True))

    def _account_provider(self, config: BootstrapConfig) -> DatabricksProvider | None:
        """The account-level databricks provider (the admin's Azure CLI login), if the config
        names the Databricks account."""
        if not config.databricks_account_id:
            return None
        return DatabricksProvider(
            self,
            "databricks_account",
            alias="account",
            host=DATABRICKS_ACCOUNTS_HOST,
            account_id=config.databricks_account_id,
        )

    def _serverless_network(
        self,
        env: EnvironmentConfig,
        env_names: Names,
        account: DatabricksProvider,
        workspaces: DataDatabricksMwsWorkspaces | None,
    ) -> None:
        """The environment's NCC, bound to its workspace once that exists (unless `workspaces`
        is None: bindings off), and the output `serverless_network_<env>`: the subnets to copy
        into `storage.serverless_subnet_ids`."""
        network = ServerlessNetwork(
            self,
            f"Serverless-{env.name}",
            ServerlessNetworkProps(
                name=ncc_name(env.naming.prefix, env.name),
                region=env.azure.location,
                workspace_name=env_names.databricks_workspace,
                provider=account,
                workspaces=workspaces,
            ),
        )
        self.serverless[env.name] = network
        name = f"serverless_network_{env.name}"
        output = TerraformOutput(
            self,
            name,
            description=(
                f"Serverless egress of {env.name}: copy storage_subnet_ids into "
                f"config/{env.name}.yaml (storage.serverless_subnet_ids); re-run the bootstrap "
                "after the environment's first deploy to bind the NCC to its workspace"
            ),
            value={
                "network_connectivity_config_id": network.ncc_id,
                "storage_subnet_ids": network.storage_subnet_ids,
            },
        )
        output.override_logical_id(name)

    def _add_smoke_identities(
        self,
        config: BootstrapConfig,
        environments: Sequence[EnvironmentConfig],
        home: EnvironmentResourceGroup,
        client: DataAzurermClientConfig,
    ) -> dict[str, SmokeIdentity]:
        """A run-only identity per environment with `smoke.enabled` (dev by default): no Azure
        role, federated to `<env>-smoke` only; its rights are CAN_MANAGE_RUN on the smoke's
        jobs, granted in the workspace stack."""
        smoke: dict[str, SmokeIdentity] = {}
        for env in environments:
            if not env.smoke.enabled:
                continue
            identity = SmokeIdentity(
                self,
                f"Smoke-{env.name}",
                SmokeIdentityProps(
                    name=smoke_identity_name(config.naming.prefix, env.name),
                    home=home,
                    github_repository=config.github_repository,
                    github_environment=f"{env.name}{config.smoke_environment_suffix}",
                ),
            )
            name = f"github_environment_{identity.github_environment}"
            output = TerraformOutput(
                self,
                name,
                description=f"Variables of the GitHub environment {identity.github_environment}"
                " (the smoke run needs no subscription)",
                value={
                    "AZURE_CLIENT_ID": identity.identity.client_id,
                    "AZURE_TENANT_ID": client.tenant_id,
                },
            )
            output.override_logical_id(name)
            smoke[env.name] = identity
        return smoke

    def _github_environment_output(
        self, identity: DeploymentIdentity | PlanIdentity, client: DataAzurermClientConfig
    ) -> None:
        """`github_environment_<GitHub environment>`: the variables to set on it."""
        name = f"github_environment_{identity.github_environment}"
        output = TerraformOutput(
            self,
            name,
            description=f"Variables of the GitHub environment {identity.github_environment}",
            value={
                "AZURE_CLIENT_ID": identity.identity.client_id,
                "AZURE_TENANT_ID": client.tenant_id,
                "AZURE_SUBSCRIPTION_ID": client.subscription_id,
            },
        )
        output.override_logical_id(name)
