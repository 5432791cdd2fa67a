"""How `main.py` runs a synthesis, apart from the platform code: a private temporary directory
per run for the jsii kernel (`scratch`) and the all-or-nothing output directory
(`staged_output`). Not about the platform, so outside `constructs_lib/` (the accelerator is
`fast_synth/`)."""
