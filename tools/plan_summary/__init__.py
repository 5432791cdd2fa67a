"""Markdown summary of a Terraform JSON plan, with a destroy gate for protected resource types.

Modules: `model` (parse the plan), `diff` (attribute changes, masking), `render` (Markdown),
`policy` (config and the gate), `redacted` (shareable plan JSON), `cli` (entry point).
"""
