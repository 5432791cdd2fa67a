"""Databricks workspace constructs: Unity Catalog, compute, jobs, secrets, MLflow, the wheel."""
