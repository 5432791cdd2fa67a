"""The one-off `bootstrap` stack (replaces the original accelerator's setup.ps1).

Run once by an Azure admin with local state: `npx cdktf deploy bootstrap`. Per environment it
creates the resource group, a state container, and two keyless GitHub identities: a deploy
identity (roles on that group only, writes the state) federated only to the protected GitHub
environment `<env>`, and a read-only plan identity federated only to `<env>-plan`. Its outputs
are exactly the variables to set on each GitHub environment and on the repository.
`prevent_destroy` protects every stateful resource here (state account and containers, the
identities whose client IDs are set in GitHub).
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.aspects import apply_aspects
from constructs_lib.aspects.tagging import TaggingAspect
from constructs_lib.azure.deployment_identity import (
    DeploymentIdentity,
    GitHubIdentityProps,
    PlanIdentity,
)
from constructs_lib.azure.resource_group import (
    EnvironmentResourceGroup,
    EnvironmentResourceGroupProps,
)
from constructs_lib.azure.resource_providers import REQUIRED_RESOURCE_PROVIDERS
from constructs_lib.azure.state_storage import StateStorage, StateStorageProps
from constructs_lib.cdk import Construct, LocalBackend, TerraformOutput, TerraformStack
from constructs_lib.config.bootstrap import BootstrapConfig
from constructs_lib.config.models import EnvironmentConfig
from constructs_lib.naming import (
    BootstrapNames,
    Names,
    deployer_identity_name,
    planner_identity_name,
)
from constructs_lib.policy.rules import PolicyContext
from constructs_lib.policy.stack_policy import ProtectStatefulResources, StackPolicy, suppress
from constructs_lib.providers.azurerm.data_azurerm_client_config import DataAzurermClientConfig
from constructs_lib.providers.azurerm.provider import (
    AzurermProvider,
    AzurermProviderFeatures,
    AzurermProviderFeaturesStorage,
)

STACK_NAME = "bootstrap"


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
                environments=[e.name for e in environments],
                account_replication_type=config.state_account_replication_type,
            ),
        )
        self.identities: dict[str, DeploymentIdentity] = {}
        self.plan_identities: dict[str, PlanIdentity] = {}
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
                    **common,
                ),
            )
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
