# One entry point for people and CI. `make synth` and `make test` are the README's two commands;
# both create what they need on first run and skip what is already done. `make synth` installs
# only what synthesis needs (.venv/.synth-installed); `make test` and `make ml-local` add the ML
# libraries and test tools (.venv/.installed); only plan, deploy and test need the cdktf CLI.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export CHECKPOINT_DISABLE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The workflow linter and checkov are installed by `make test`: their tests must run, not skip.
export CICD_REQUIRE_ACTIONLINT := 1
export MLOPS_REQUIRE_CHECKOV := 1
# checkov pins libraries that clash with .venv, so it lives in its own environment, installed
# from a frozen requirements file (checkov==3.3.30 and its dependencies).
CHECKOV_VENV := .venv-checkov

ML_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' ml_src/pyproject.toml | head -n 1)
ML_DIST := ml_src/dist
WHEEL := $(ML_DIST)/taxi_fare_mlops-$(ML_VERSION)-py3-none-any.whl
ML_SOURCES := $(shell find ml_src/src -type f -not -path '*/__pycache__/*' 2>/dev/null) ml_src/pyproject.toml
# A fixed timestamp makes the wheel byte-reproducible (same sources, same file hash).
WHEEL_EPOCH := 315532800

.PHONY: help setup venv synth-venv node wheel synth test check lint fmt ml-local render bench \
	clean checkov scan plan deploy env-arg FORCE

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synth-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip==25.3'
	$(PY) -m pip install -q -e '.[build]'
	touch $@

# Everything in one pip run (faster than synthesis packages first, then the rest); it also
# satisfies .synth-installed.
$(VENV)/.installed: pyproject.toml ml_src/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip==25.3'
	$(PY) -m pip install -q -e '.[build,dev]' -e './ml_src[local]'
	touch $(VENV)/.synth-installed $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(WHEEL): $(VENV)/.synth-installed $(ML_SOURCES)
	rm -rf $(ML_DIST)
	SOURCE_DATE_EPOCH=$(WHEEL_EPOCH) $(PY) -m build --wheel --no-isolation --outdir $(ML_DIST) ml_src >/dev/null
	@echo "built $(WHEEL)"

$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q 'pip==25.3'
	$(CHECKOV_VENV)/bin/python -m pip install -q -r tools/checkov-requirements.txt
	touch $@

synth-venv: $(VENV)/.synth-installed ## Create .venv with what synthesis needs (pinned)
venv: $(VENV)/.installed ## Add the ML libraries and test tools to .venv (pinned)
node: node_modules/.installed ## Install the pinned cdktf CLI (npm ci)
wheel: $(WHEEL) ## Build the ML wheel that the jobs run
checkov: $(CHECKOV_VENV)/.installed ## checkov in its own venv
setup: venv node wheel ## Everything test needs

# main.py exits 2 for a problem in the user's input and 1 for a crash (a bug, with its
# traceback). GNU make always exits 2 when a recipe fails, so the last line says which it was
# (make's own "Error N" line shows main.py's status too).
APP_FAILED = { status=$$?; if [ $$status -eq 2 ]; then echo "make: stopped by the input problems above (main.py exit status 2)" >&2; else echo "make: INTERNAL ERROR (main.py exit status $$status), not a problem in your input: please report it with the traceback above" >&2; fi; exit $$status; }

# One run of main.py validates, synthesizes every stack and checks it (the cdktf CLI is not
# involved: its `synth` would run the app a second time). A failure leaves cdktf.out untouched.
synth: $(VENV)/.synth-installed $(WHEEL) .make/synth-env ## Synthesize every stack into cdktf.out/stacks/<stack>/cdk.tf.json
	CDKTF_OUTDIR=cdktf.out $(PY) main.py || $(APP_FAILED)
	@touch .make/synth.stamp

# What plan and deploy reuse: cdktf.out is current when none of the synthesis inputs (config,
# templates, code, the wheel, the variables main.py reads) changed since the last synthesis.
SYNTH_INPUTS := main.py cdktf.json pyproject.toml $(shell find config templates stacks constructs_lib fast_synth synth_runtime -type f -not -path '*/__pycache__/*' 2>/dev/null)
SYNTH_ENV_VARS := TF_STATE_STORAGE_ACCOUNT TF_STATE_RESOURCE_GROUP ARM_CLIENT_ID AZURE_CLIENT_ID \
	MLOPS_CONFIG_DIR MLOPS_REFUSE_EXAMPLE_VALUES MLOPS_FAST_SYNTH MLOPS_SYNTH_WORKERS
.make/synth-env: FORCE
	@mkdir -p .make
	@{ $(foreach v,$(SYNTH_ENV_VARS),echo "$(v)=$${$(v)-<unset>}";) } > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@
.make/synth.stamp: $(VENV)/.synth-installed $(WHEEL) $(SYNTH_INPUTS) .make/synth-env \
		$(if $(wildcard cdktf.out/manifest.json),,FORCE)
	CDKTF_OUTDIR=cdktf.out $(PY) main.py || $(APP_FAILED)
	@touch $@
FORCE:

env-arg:
	@test -n "$(ENV)" || { echo "error: set ENV, e.g. make $(MAKECMDGOALS) ENV=dev" >&2; exit 2; }
	@test -f config/$(ENV).yaml || { echo "error: config/$(ENV).yaml not found. Fix: ENV is an environment name (a file in config/)" >&2; exit 2; }

# An environment is two stacks: <env> (Azure platform) and <env>-workspace (inside the
# Databricks workspace, reading the platform's outputs from its state), applied in that order.
plan: env-arg node .make/synth.stamp ## terraform plan of one environment's two stacks: make plan ENV=dev
	npx --no-install cdktf diff $(ENV) --skip-synth --output cdktf.out
	npx --no-install cdktf diff $(ENV)-workspace --skip-synth --output cdktf.out

deploy: env-arg node .make/synth.stamp ## Deploy one environment (platform, then workspace stack): make deploy ENV=dev
	npx --no-install cdktf deploy $(ENV) $(ENV)-workspace --skip-synth --output cdktf.out

lint: venv ## Formatter check and linter
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

fmt: venv ## Format the code in place
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

scan: synth checkov ## checkov on every stack in cdktf.out (skips and reasons: .checkov.yaml)
	$(PY) -m tools.security_scan --outdir cdktf.out --checkov $(CHECKOV_VENV)/bin/checkov

# The three installs are independent downloads: run them side by side. Then two pytest
# processes side by side, each with its own temporary directory: the ML suite (Spark, MLflow)
# with the accelerator's tests, and the rest (synthesis, stacks, CI/CD); both at once take
# about 60 % of the wall time of one after the other on 2 cores. The first group's output
# follows the second's.
PYTEST_GROUP_1 := ml_src/tests tests/fast_synth
test: ## Lint, then the whole test suite (what CI runs)
	$(MAKE) -j3 venv node checkov
	$(MAKE) wheel lint
	@set +e; base=$$(mktemp -d "$${TMPDIR:-/tmp}/mlops-test.XXXXXX"); \
	$(PY) -m pytest $(PYTEST_GROUP_1) --basetemp=$$base/1 > $$base/group-1.log 2>&1 & first=$$!; \
	$(PY) -m pytest tests $(addprefix --ignore=,$(filter tests/%,$(PYTEST_GROUP_1))) --basetemp=$$base/2; second=$$?; \
	wait $$first; firstrc=$$?; \
	echo "--- $(PYTEST_GROUP_1) ---"; cat $$base/group-1.log; rm -rf $$base; \
	if [ $$second -ne 0 ] || [ $$firstrc -ne 0 ]; then \
	  echo "make test: tests failed ($(PYTEST_GROUP_1): exit $$firstrc; the rest: exit $$second)" >&2; exit 1; \
	fi

# The synthesized jobs of one workspace stack (default: dev), run locally through the installed
# console scripts over three consecutive days of replayed data (a new deployment each time;
# the last day's trips are lengthened so that monitoring starts a retrain).
ML_LOCAL_ENV = $(or $(ENV),dev)
ml-local: venv .make/synth.stamp ## Run an environment's synthesized jobs locally over 3 days of replayed data: make ml-local [ENV=dev]
	@test -f "cdktf.out/stacks/$(ML_LOCAL_ENV)-workspace/cdk.tf.json" || { echo "error: no workspace stack for ENV=$(ML_LOCAL_ENV) in cdktf.out. Fix: ENV is an environment name (a file in config/)" >&2; exit 2; }
	$(PY) -m taxi_fare_mlops.local_pipeline --stack "cdktf.out/stacks/$(ML_LOCAL_ENV)-workspace/cdk.tf.json" --workdir .local/ml --days 3 --drift 0.8 --fresh

render: $(VENV)/.synth-installed $(WHEEL) ## Print the rendered job and cluster specs of one environment: make render ENV=dev
	$(PY) -m tools.render $(or $(ENV),dev)

clean: ## Remove build output (keeps .venv and node_modules)
	rm -rf cdktf.out $(ML_DIST) .pytest_cache .local .make

bench: setup ## Measure synthesis time and memory (writes .bench/results.json)
	$(PY) -m tools.bench

# --- CI requirements (hash-pinned) -----------------------------------------------------------
# The credentialed and summary jobs of .github/workflows install from requirements/*.txt with
# `pip install --require-hashes`; this regenerates them from requirements/*.in, from PyPI only
# (this machine's pip configuration is ignored), with the hash of every file of every release.
PIP_TOOLS_VENV := .venv-piptools
.PHONY: requirements
requirements: ## Regenerate the hash-pinned requirements/*.txt of the CI jobs
	test -x $(PIP_TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(PIP_TOOLS_VENV)
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PIP_TOOLS_VENV)/bin/python -m pip install -q 'pip==25.3' 'pip-tools==7.5.2'
	for f in requirements/*.in; do \
	  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(PIP_TOOLS_VENV)/bin/pip-compile --quiet \
	    --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	    --index-url https://pypi.org/simple --output-file "$${f%.in}.txt" "$$f"; \
	done
