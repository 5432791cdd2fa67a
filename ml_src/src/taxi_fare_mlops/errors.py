"""Exceptions that the command-line layer maps to documented exit codes.

Expected outcomes (a gate rejection, a window without traffic, a retrain signal) are not
exceptions: the step succeeds and records its verdict. Only a step that cannot do its job raises.
"""

from __future__ import annotations


class PipelineError(Exception):
    """A step cannot run: missing input, bad configuration, unknown model version (exit code 1)."""

    exit_code = 1


class RegistryError(PipelineError):
    """The model registry failed for a reason other than "not found" (permission denied,
    throttling, an API the registry does not support...). Never read as "no champion"."""
