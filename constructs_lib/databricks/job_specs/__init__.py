"""The pure job-spec pipeline (no cdktf import), top-down:

1. `rendering`: render a Jinja template of `templates/` (sandboxed) into a Jobs / Clusters
   API-shaped dict;
2. `specs`: the job and cluster specs of one environment, with every decision made in Python
   from its config and passed to the templates as plain values;
3. `job_settings`: what every job gets whatever its template says (name, timeout, run_as, ...);
4. `wheel_artifact`: the built ML wheel the specs point at.

`constructs_lib/databricks/spec_mapping.py` maps these API-shaped specs to the provider's
structs, and the constructs beside it (`jobs.py`, `compute.py`) create the resources.
"""
