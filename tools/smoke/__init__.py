"""The dev smoke run: after each dev deploy, the deployed jobs run on the real workspace as a
new deployment would run them, and their outcomes are asserted through the Jobs API
(`python -m tools.smoke`, the reusable workflow `.github/workflows/smoke.yml`, docs/cicd.md).

Standard library only: it runs in a job that holds the smoke identity's token and installs
nothing. Modules: `transport` (HTTP, no redirects, https only), `auth` (GitHub OIDC -> Entra ID),
`jobs_api` (the Jobs API calls CAN_MANAGE_RUN allows), `results` (the `taxi-fare-result:` line),
`chain` (what runs in which order and what each run must show), `cli`.
"""
