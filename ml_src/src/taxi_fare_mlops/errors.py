"""Exceptions that the command-line layer maps to documented exit codes."""

from __future__ import annotations


class PipelineError(Exception):
    """A step cannot run: missing input, bad configuration, unknown model version (exit code 1)."""

    exit_code = 1


class GateRejectedError(PipelineError):
    """The validation gate rejected the challenger model (exit code 3)."""

    exit_code = 3


class RetrainSignal(PipelineError):
    """Monitoring crossed a threshold and asks for retraining (exit code 4, local runtime only)."""

    exit_code = 4
