"""Trip data: the deterministic local generator and the readers for the Databricks samples."""
