"""Azure platform constructs: network, workspace, Key Vault, storage, monitoring, Azure ML."""
