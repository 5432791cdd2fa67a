"""Environment configuration: YAML files in `config/`, validated into frozen models.

Pure Python: nothing here imports cdktf, so it is tested without a synth.
"""

from constructs_lib.config.errors import ConfigError, Problem
from constructs_lib.config.loader import (
    load_environment,
    load_environments,
    remote_state_from_environ,
    with_remote_state,
)
from constructs_lib.config.models import EnvironmentConfig

__all__ = [
    "ConfigError",
    "EnvironmentConfig",
    "Problem",
    "load_environment",
    "load_environments",
    "remote_state_from_environ",
    "with_remote_state",
]
