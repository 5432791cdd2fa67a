"""A small notebook of the ML package, deployed into the environment's deployment folder."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cdktf_cdktf_provider_databricks.notebook import Notebook

from constructs_lib.cdk import Construct

ML_NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "ml_src" / "notebooks"
"""Where the ML package's notebooks live in this repository (Databricks source format)."""


@dataclass(frozen=True, kw_only=True)
class WorkspaceNotebookProps:
    name: str
    """File stem under `ml_src/notebooks/` (`<name>.py`), also the notebook's name."""
    workspace_dir: str
    """The environment's deployment folder (a reference, so the upload waits for it)."""
    source_dir: Path = ML_NOTEBOOKS_DIR
    """Directory of the notebook sources. Default: `ml_src/notebooks/`."""


class WorkspaceNotebook(Construct):
    """Uploads `<source_dir>/<name>.py` as the Python notebook `<workspace_dir>/notebooks/<name>`.

    The content is inlined (`content_base64`): the notebooks here are a few lines, so the state
    stays small (the provider discourages inlining large notebooks), and the synthesized JSON
    carries the exact source without naming a path of the build machine. Exposes `path`."""

    def __init__(self, scope: Construct, id_: str, props: WorkspaceNotebookProps) -> None:
        super().__init__(scope, id_)
        source = props.source_dir / f"{props.name}.py"
        content = source.read_bytes()
        if not content.startswith(b"# Databricks notebook source"):
            raise ValueError(f"{source} is not in Databricks notebook source format")
        self.notebook = Notebook(
            self,
            "Notebook",
            path=f"{props.workspace_dir}/notebooks/{props.name}",
            language="PYTHON",
            content_base64=base64.b64encode(content).decode("ascii"),
        )
        self.path: str = self.notebook.path
        """The notebook's workspace path (a reference: tasks depend on the upload)."""
