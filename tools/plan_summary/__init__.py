"""Markdown summary of a Terraform JSON plan, with a destroy gate for protected resource types.

Modules: `model` (parse the plan), `diff` (attribute changes, masking), `render` (Markdown),
`policy` (config and the gate; the protected types are `STATEFUL_TYPES`), `redacted` (shareable
plan JSON), `cli` (entry point), `report` (one stack's outcome in the workflows: planned,
failed or skipped).
"""
