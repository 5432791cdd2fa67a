"""A small notebook of the ML package, deployed into the environment's deployment folder."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from constructs_lib.cdk import Construct
from constructs_lib.providers.databricks.notebook import Notebook


@dataclass(frozen=True, kw_only=True)
class WorkspaceNotebookProps:
    name: str
    """The notebook's name in `<workspace_dir>/notebooks/`."""
    source: bytes
    """Its Python source in Databricks notebook format (read from the built wheel, which
    packages it as `<package>/notebooks/<name>.py`)."""
    workspace_dir: str
    """The environment's deployment folder (a reference, so the upload waits for it)."""


class WorkspaceNotebook(Construct):
    """Uploads `source` as the Python notebook `<workspace_dir>/notebooks/<name>`.

    The content is inlined (`content_base64`): the notebooks here are a few lines, so the state
    stays small (the provider discourages inlining large notebooks), and the synthesized JSON
    carries the exact source without naming a path of the build machine. Exposes `path`."""

    def __init__(self, scope: Construct, id_: str, props: WorkspaceNotebookProps) -> None:
        super().__init__(scope, id_)
        if not props.source.startswith(b"# Databricks notebook source"):
            raise ValueError(f"notebook {props.name} is not in Databricks notebook source format")
        self.notebook = Notebook(
            self,
            "Notebook",
            path=f"{props.workspace_dir}/notebooks/{props.name}",
            language="PYTHON",
            content_base64=base64.b64encode(props.source).decode("ascii"),
        )
        self.path: str = self.notebook.path
        """The notebook's workspace path (a reference: tasks depend on the upload)."""
