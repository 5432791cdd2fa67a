"""Naive baseline for `make bench`: the smallest ordinary CDKTF Python app with both bindings.

It imports `cdktf` and the azurerm and databricks provider bindings the ordinary way (never
`constructs_lib` or `fast_synth`, so none of our accelerations apply), builds one small stack
(a resource group, the Databricks provider and one job) and synthesizes it into
`$CDKTF_OUTDIR`. Whatever an ordinary app pays before it writes a byte, this pays too. The
bench runs it as `python -I tools/bench/baseline_app/main.py` from a temporary directory with
the same interpreter and pinned packages as the app (`-I`: no script directory or user site on
`sys.path`, no PYTHON* variables).
"""

import sys

from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from cdktf_cdktf_provider_databricks.job import Job, JobTask, JobTaskNotebookTask
from cdktf_cdktf_provider_databricks.provider import DatabricksProvider

if (
    "constructs_lib" in sys.modules
    or "fast_synth" in sys.modules
    or any(type(f).__name__ == "_LazyProviderFinder" for f in sys.meta_path)
):
    sys.exit("baseline must run without the project's accelerations")

app = App()
stack = TerraformStack(app, "baseline")
AzurermProvider(stack, "azurerm", features=[{}])
rg = ResourceGroup(stack, "rg", name="rg-bench-baseline", location="westeurope")
DatabricksProvider(stack, "databricks", host="https://adb-0000000000000000.0.azuredatabricks.net")
Job(
    stack,
    "job",
    name="bench-baseline",
    task=[JobTask(task_key="main", notebook_task=JobTaskNotebookTask(notebook_path="/Shared/x"))],
    tags={"resource_group": rg.name},
)
app.synth()
