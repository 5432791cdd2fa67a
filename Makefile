# One entry point for people and CI. `make synth` and `make test` are the README's two commands;
# both create what they need on first run and skip what is already done. `make synth` installs
# only what synthesis needs (.venv/.synth-installed); `make test` and `make ml-local` add the ML
# libraries and test tools (.venv/.installed); only plan, deploy and test need the cdktf CLI.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# --- Variables a target takes --------------------------------------------------------------------
# ENV (plan, deploy, render) names an environment. It is checked here, by make itself, while the
# Makefile is read, so no recipe (and no shell) ever sees a value that fails: 2-10 lowercase
# letters or digits starting with a letter (the rule of constructs_lib/config/models.py), and
# config/<ENV>.yaml must exist ($MLOPS_CONFIG_DIR/<ENV>.yaml when that is set). The raw text is
# read with $(value ...): a variable given on the command line or in the environment is
# otherwise expanded by make, and `$(shell ...)` in it would run. Recipes quote it as well.
ENV_GOALS := plan deploy render ml-local
_LETTERS := a b c d e f g h i j k l m n o p q r s t u v w x y z
_DIGITS := 0 1 2 3 4 5 6 7 8 9
_empty :=
_space := $(_empty) $(_empty)
define _newline


endef
# $(call _without,text,chars): text with every one of the chars removed.
_without = $(if $(2),$(call _without,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
# $(call _spaced,text,chars): text with a space after each of the chars (for counting them).
_spaced = $(if $(2),$(call _spaced,$(subst $(firstword $(2)),$(firstword $(2)) ,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
# The value as one line, for a message.
_shown = '$(subst $(_newline),\n,$(1))'
# $(call _env_name_problem,value): empty if value is an environment name, else what is wrong.
_env_name_problem = $(strip \
  $(if $(call _without,$(1),$(_LETTERS) $(_DIGITS)),has characters other than lowercase letters and digits,\
  $(if $(filter $(firstword $(call _spaced,$(1),$(_LETTERS) $(_DIGITS))),$(_LETTERS)),\
  $(if $(filter 2 3 4 5 6 7 8 9 10,$(words $(call _spaced,$(1),$(_LETTERS) $(_DIGITS)))),,is not 2-10 characters long),\
  does not start with a letter)))
# $(call choice_arg,NAME,allowed values): stop unless $(NAME), when given, is exactly one of
# them. The hook for any other switch a target takes, e.g. an engine switch, placed before any
# line that expands it (even an `ifeq ($(CDK),...)` would run a `$(shell ...)` in the value):
#   CDK ?= cdktf
#   $(call choice_arg,CDK,cdktf cdktn)
#   override CDK := $(value CDK)
_equal = $(and $(findstring $(1),$(2)),$(findstring $(2),$(1)))
choice_arg = $(if $(value $(1)),$(if $(strip $(foreach c,$(2),$(call _equal,$(c),$(value $(1))))),,\
  $(error error: $(1)=$(call _shown,$(value $(1))) is not one of: $(2). Fix: set $(1) to one of them)))
MLOPS_CONFIG_DIR_SHOWN := $(if $(value MLOPS_CONFIG_DIR),$(value MLOPS_CONFIG_DIR),config)
ifneq ($(filter $(ENV_GOALS),$(MAKECMDGOALS)),)
  _env_raw := $(value ENV)
  ifeq ($(_env_raw),)
    ifneq ($(filter plan deploy,$(MAKECMDGOALS)),)
      $(error error: ENV is not set. Fix: name the environment, e.g. make $(firstword $(filter plan deploy,$(MAKECMDGOALS))) ENV=dev)
    endif
    _env_raw := dev
  endif
  _env_problem := $(call _env_name_problem,$(_env_raw))
  ifneq ($(_env_problem),)
    $(error error: ENV=$(call _shown,$(_env_raw)) $(_env_problem), so it is not an environment name. Fix: ENV is the name of a file in $(MLOPS_CONFIG_DIR_SHOWN)/ without .yaml (2-10 lowercase letters or digits, starting with a letter), e.g. ENV=dev)
  endif
  ifeq ($(wildcard $(MLOPS_CONFIG_DIR_SHOWN)/$(_env_raw).yaml),)
    $(error error: ENV=$(_env_raw): $(MLOPS_CONFIG_DIR_SHOWN)/$(_env_raw).yaml not found. Fix: ENV names an environment file; these exist: $(or $(sort $(basename $(notdir $(wildcard $(MLOPS_CONFIG_DIR_SHOWN)/*.yaml)))),none))
  endif
  override ENV := $(_env_raw)
endif

# The CDK engine (README, "Upgrading to CDK Terrain"): cdktf, CDK for Terraform 0.21 with its
# provider bindings (the default), or cdktn, CDK Terrain 0.24 with current providers. This line
# is the one switch: `make synth CDK=cdktn` for one run, or set the default here to move the
# repository (the workflows run `make synth` and Terraform on cdktf.out, so they follow). Each
# engine has its own Python environment and CLI; both write cdktf.out (the cdktn CLI's default
# too), and the synthesis stamp records the engine. main.py reads MLOPS_CDK_ENGINE, which only
# these recipes set. Checked like ENV, before anything expands it.
CDK ?= cdktf
$(call choice_arg,CDK,cdktf cdktn)
override CDK := $(value CDK)

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
# The engine comparison (tests/engines/) must run too: `make test` creates .venv-cdktn.
export MLOPS_REQUIRE_CDKTN := 1
# checkov pins libraries that clash with .venv, so it lives in its own environment, installed
# from a frozen requirements file (checkov==3.3.30 and its dependencies).
CHECKOV_VENV := .venv-checkov

CDKTN_VENV := .venv-cdktn
CDKTN_NODE := engines/cdktn
ifeq ($(CDK),cdktf)
ENGINE_PY := $(PY)
ENGINE_SYNTH_INSTALLED := $(VENV)/.synth-installed
ENGINE_NODE_INSTALLED := node_modules/.installed
ENGINE_CLI := npx --no-install cdktf
else
ENGINE_PY := $(CDKTN_VENV)/bin/python
ENGINE_SYNTH_INSTALLED := $(CDKTN_VENV)/.installed
ENGINE_NODE_INSTALLED := $(CDKTN_NODE)/node_modules/.installed cdktn-node-version
ENGINE_CLI := $(CDKTN_NODE)/node_modules/.bin/cdktn
endif

ML_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' ml_src/pyproject.toml | head -n 1)
ML_DIST := ml_src/dist
WHEEL := $(ML_DIST)/taxi_fare_mlops-$(ML_VERSION)-py3-none-any.whl
ML_SOURCES := $(shell find ml_src/src -type f -not -path '*/__pycache__/*' 2>/dev/null) ml_src/pyproject.toml
# A fixed timestamp makes the wheel byte-reproducible (same sources, same file hash).
WHEEL_EPOCH := 315532800

.PHONY: help setup venv synth-venv node wheel synth test check lint fmt ml-local render bench \
	clean checkov scan plan deploy FORCE cdktn-venv cdktn-node cdktn-check cdktn-latest

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# $(call locked,NAME) 'COMMANDS': run COMMANDS (one bash script) holding the lock .make/NAME.lock,
# so that of two `make` runs in one clone the second waits while the first installs or builds,
# then repeats the step (each is idempotent). The kernel releases the lock of a killed run.
locked = mkdir -p .make && $(PYTHON) -c 'import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644); os.set_inheritable(fd, True); fcntl.flock(fd, fcntl.LOCK_EX); os.execvp("bash", ["bash", "-euo", "pipefail", "-xc", sys.argv[2]])' .make/$(1).lock

$(VENV)/.synth-installed: pyproject.toml
	@$(call locked,venv) '\
	  test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	  $(PY) -m pip install -q --upgrade "pip==25.3"; \
	  $(PY) -m pip install -q -e ".[build]"; \
	  touch $@'

# Everything in one pip run (faster than synthesis packages first, then the rest); it also
# satisfies .synth-installed.
$(VENV)/.installed: pyproject.toml ml_src/pyproject.toml
	@$(call locked,venv) '\
	  test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	  $(PY) -m pip install -q --upgrade "pip==25.3"; \
	  $(PY) -m pip install -q -e ".[build,dev]" -e "./ml_src[local]"; \
	  touch $(VENV)/.synth-installed $@'

node_modules/.installed: package.json package-lock.json
	@$(call locked,node) '\
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	  touch $@'

# CDK Terrain: its own venv from the hash-pinned requirements/cdktn.txt (cdktn, its three
# provider bindings and the synthesis dependencies; the app runs from the repository root, so
# nothing else is installed), and its CLI in engines/cdktn/node_modules.
$(CDKTN_VENV)/.installed: requirements/cdktn.txt
	@$(call locked,cdktn-venv) '\
	  test -x $(CDKTN_VENV)/bin/python || $(PYTHON) -m venv $(CDKTN_VENV); \
	  $(CDKTN_VENV)/bin/python -m pip install -q "pip==25.3"; \
	  $(CDKTN_VENV)/bin/python -m pip install -q --require-hashes -r requirements/cdktn.txt; \
	  touch $@'

$(CDKTN_NODE)/node_modules/.installed: $(CDKTN_NODE)/package.json $(CDKTN_NODE)/package-lock.json
	@$(call locked,cdktn-node) '\
	  cd $(CDKTN_NODE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	  touch node_modules/.installed'

# cdktn-cli 0.24.0 declares node >= 22.19; on Node 20 its synth/diff/deploy stop with
# "util.markAsUncloneable is not a function" (measured), so say so first.
.PHONY: cdktn-node-version
cdktn-node-version:
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' || \
	  { echo "error: the cdktn CLI (plan/deploy with CDK=cdktn) needs Node >= 22.19, found $$(node --version). Fix: install Node 22 (synthesis itself runs on Node 20)" >&2; exit 2; }

# Built by the engine's own venv (same pinned build and hatchling, same bytes), in a directory
# of its own and moved into place (a rename): a synthesis running at the same time reads either
# the old or the new file, never a half-written one. The wheel is byte-reproducible, so two
# builds of the same sources give the same file.
$(WHEEL): $(ENGINE_SYNTH_INSTALLED) $(ML_SOURCES)
	@$(call locked,wheel) '\
	  mkdir -p $(ML_DIST); tmp=$$(mktemp -d $(ML_DIST)/.build-XXXXXX); trap "rm -rf $$tmp" EXIT; \
	  SOURCE_DATE_EPOCH=$(WHEEL_EPOCH) $(ENGINE_PY) -m build --wheel --no-isolation --outdir $$tmp ml_src >/dev/null; \
	  mv -f $$tmp/$(notdir $(WHEEL)) $@; \
	  find $(ML_DIST) -maxdepth 1 -name "*.whl" ! -name $(notdir $(WHEEL)) -delete'
	@echo "built $(WHEEL)"

$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt
	@$(call locked,checkov) '\
	  test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV); \
	  $(CHECKOV_VENV)/bin/python -m pip install -q "pip==25.3"; \
	  $(CHECKOV_VENV)/bin/python -m pip install -q -r tools/checkov-requirements.txt; \
	  touch $@'

synth-venv: $(VENV)/.synth-installed ## Create .venv with what synthesis needs (pinned)
venv: $(VENV)/.installed ## Add the ML libraries and test tools to .venv (pinned)
node: node_modules/.installed ## Install the pinned cdktf CLI (npm ci)
wheel: $(WHEEL) ## Build the ML wheel that the jobs run
checkov: $(CHECKOV_VENV)/.installed ## checkov in its own venv
cdktn-venv: $(CDKTN_VENV)/.installed ## Create .venv-cdktn: CDK Terrain and its bindings (hash-pinned)
cdktn-node: $(CDKTN_NODE)/node_modules/.installed ## Install the pinned cdktn CLI (engines/cdktn)
setup: venv node wheel ## Everything test needs

# main.py exits 2 for a problem in the user's input and 1 for a crash (a bug, with its
# traceback). GNU make always exits 2 when a recipe fails, so the last line says which it was
# (make's own "Error N" line shows main.py's status too).
APP_FAILED = { status=$$?; if [ $$status -eq 2 ]; then echo "make: stopped by the input problems above (main.py exit status 2)" >&2; else echo "make: INTERNAL ERROR (main.py exit status $$status), not a problem in your input: please report it with the traceback above" >&2; fi; exit $$status; }

# One run of main.py validates, synthesizes every stack and checks it (the cdktf CLI is not
# involved: its `synth` would run the app a second time). A failure leaves cdktf.out untouched.
# CDK=cdktn: the same with CDK Terrain.
synth: $(ENGINE_SYNTH_INSTALLED) $(WHEEL) .make/synth-env ## Synthesize every stack into cdktf.out/stacks/<stack>/cdk.tf.json (CDK=cdktn: with CDK Terrain)
	MLOPS_CDK_ENGINE=$(CDK) CDKTF_OUTDIR=cdktf.out $(ENGINE_PY) main.py || $(APP_FAILED)
	@touch .make/synth.stamp

# What plan and deploy reuse: cdktf.out is current when none of the synthesis inputs (config,
# templates, code, the wheel, the variables main.py reads) changed since the last synthesis.
SYNTH_INPUTS := main.py cdktf.json pyproject.toml $(shell find config templates stacks constructs_lib fast_synth synth_runtime -type f -not -path '*/__pycache__/*' 2>/dev/null)
SYNTH_ENV_VARS := TF_STATE_STORAGE_ACCOUNT TF_STATE_RESOURCE_GROUP ARM_CLIENT_ID AZURE_CLIENT_ID \
	MLOPS_CONFIG_DIR MLOPS_REFUSE_EXAMPLE_VALUES MLOPS_FAST_SYNTH MLOPS_SYNTH_WORKERS
# Written to a file of its own and renamed into place only if it changed: two runs at once
# never share a temporary file.
.make/synth-env: FORCE
	@mkdir -p .make
	@tmp=$$(mktemp .make/synth-env.XXXXXX); \
	{ echo "CDK=$(CDK)"; $(foreach v,$(SYNTH_ENV_VARS),echo "$(v)=$${$(v)-<unset>}";) } > "$$tmp"; \
	if cmp -s "$$tmp" $@; then rm -f "$$tmp"; else mv -f "$$tmp" $@; fi
.make/synth.stamp: $(ENGINE_SYNTH_INSTALLED) $(WHEEL) $(SYNTH_INPUTS) .make/synth-env \
		$(if $(wildcard cdktf.out/manifest.json),,FORCE)
	MLOPS_CDK_ENGINE=$(CDK) CDKTF_OUTDIR=cdktf.out $(ENGINE_PY) main.py || $(APP_FAILED)
	@touch $@
FORCE:

# An environment is two stacks: <env> (Azure platform) and <env>-workspace (inside the
# Databricks workspace, reading the platform's outputs from its state), applied in that order.
# azurerm's enhanced validation lists the subscription's resource providers at start-up, which
# an identity with roles on one resource group may not (docs/platform-assumptions.md).
AZURERM_ENV := ARM_PROVIDER_ENHANCED_VALIDATION=false
plan: $(ENGINE_NODE_INSTALLED) .make/synth.stamp ## terraform plan of one environment's two stacks: make plan ENV=dev (CDK=cdktn)
	$(AZURERM_ENV) $(ENGINE_CLI) diff '$(ENV)' --skip-synth --output cdktf.out
	$(AZURERM_ENV) $(ENGINE_CLI) diff '$(ENV)-workspace' --skip-synth --output cdktf.out

deploy: $(ENGINE_NODE_INSTALLED) .make/synth.stamp ## Deploy one environment (platform, then workspace stack): make deploy ENV=dev (CDK=cdktn)
	$(AZURERM_ENV) $(ENGINE_CLI) deploy '$(ENV)' '$(ENV)-workspace' --skip-synth --output cdktf.out

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
PYTEST_GROUP_1 := ml_src/tests tests/fast_synth tests/engines
test: ## Lint, then the whole test suite (what CI runs)
	$(MAKE) -j4 venv node checkov cdktn-venv
	$(MAKE) wheel lint
	@set +e; base=$$(mktemp -d "$${TMPDIR:-/tmp}/mlops-test.XXXXXX"); \
	$(PY) -m pytest $(PYTEST_GROUP_1) --basetemp=$$base/1 > $$base/group-1.log 2>&1 & first=$$!; \
	$(PY) -m pytest tests $(addprefix --ignore=,$(filter tests/%,$(PYTEST_GROUP_1))) --basetemp=$$base/2; second=$$?; \
	wait $$first; firstrc=$$?; \
	echo "--- $(PYTEST_GROUP_1) ---"; cat $$base/group-1.log; rm -rf $$base; \
	if [ $$second -ne 0 ] || [ $$firstrc -ne 0 ]; then \
	  echo "make test: tests failed ($(PYTEST_GROUP_1): exit $$firstrc; the rest: exit $$second)" >&2; exit 1; \
	fi

# CDK Terrain, checked on its own (the cdktn workflow, or locally): both engines synthesize the
# same configs (cdktf.out with cdktf, cdktn.out with cdktn; the policy pack runs in each
# synthesis; afterwards cdktf.out is the default engine's output again), the outputs differ
# exactly by tools/engine_diff/expected_differences.yaml, checkov with the scoped skips passes on
# the cdktn output, and the engine tests (addresses, state keys, same policy and checkov
# verdicts, accelerator) plus the default engine's address pins and snapshots pass.
ENGINE_TESTS := tests/engines tests/unit/test_engine_facades.py tests/unit/test_engine_pins.py \
	tests/test_addresses.py tests/test_snapshots.py
cdktn-check: ## CDK Terrain: synthesize with cdktn, diff against cdktf, checkov and the engine tests
	$(MAKE) -j4 venv cdktn-venv cdktn-node checkov
	$(MAKE) wheel CDK=cdktf
	MLOPS_CDK_ENGINE=cdktn CDKTF_OUTDIR=cdktn.out $(CDKTN_VENV)/bin/python main.py || $(APP_FAILED)
	$(MAKE) synth CDK=cdktf
	$(PY) -m tools.engine_diff cdktf.out cdktn.out
	$(PY) -m tools.security_scan --outdir cdktn.out --checkov $(CHECKOV_VENV)/bin/checkov
	MLOPS_REQUIRE_CDKTN_CLI=1 $(PY) -m pytest $(ENGINE_TESTS) -q

# The weekly canary of the cdktn workflow: the newest cdktn and bindings on PyPI (unpinned, in
# their own venv), synthesized and compared with cdktf.out. It fails when a new release breaks
# synthesis or changes the output beyond the documented differences (a new provider version
# included): the signal to move the pins of requirements/cdktn.in and the documentation.
CDKTN_LATEST_VENV := .venv-cdktn-latest
cdktn-latest: ## Canary: synthesize with the newest cdktn releases (unpinned) and diff against cdktf
	$(MAKE) synth CDK=cdktf
	rm -rf $(CDKTN_LATEST_VENV)
	$(PYTHON) -m venv $(CDKTN_LATEST_VENV)
	$(CDKTN_LATEST_VENV)/bin/python -m pip install -q 'pip==25.3'
	grep -v '^cdktn' requirements/cdktn.in > $(CDKTN_LATEST_VENV)/shared.txt
	$(CDKTN_LATEST_VENV)/bin/python -m pip install -q -r $(CDKTN_LATEST_VENV)/shared.txt \
	  cdktn cdktn-provider-azurerm cdktn-provider-databricks cdktn-provider-time
	$(CDKTN_LATEST_VENV)/bin/python -m pip list 2>/dev/null | grep -i '^cdktn'
	MLOPS_CDK_ENGINE=cdktn CDKTF_OUTDIR=cdktn-latest.out $(CDKTN_LATEST_VENV)/bin/python main.py || $(APP_FAILED)
	$(PY) -m tools.engine_diff cdktf.out cdktn-latest.out

# The synthesized jobs of one workspace stack (default: dev), run locally through the installed
# console scripts over three consecutive days of replayed data (a new deployment each time;
# the last day's trips are lengthened so that monitoring starts a retrain).
ML_LOCAL_ENV = $(or $(ENV),dev)
ml-local: venv .make/synth.stamp ## Run an environment's synthesized jobs locally over 3 days of replayed data: make ml-local [ENV=dev]
	@test -f "cdktf.out/stacks/$(ML_LOCAL_ENV)-workspace/cdk.tf.json" || { echo "error: no workspace stack for ENV=$(ML_LOCAL_ENV) in cdktf.out. Fix: ENV is an environment name (a file in config/)" >&2; exit 2; }
	$(PY) -m taxi_fare_mlops.local_pipeline --stack "cdktf.out/stacks/$(ML_LOCAL_ENV)-workspace/cdk.tf.json" --workdir .local/ml --days 3 --drift 0.8 --fresh

render: $(VENV)/.synth-installed $(WHEEL) ## Print the rendered job and cluster specs of one environment: make render ENV=dev
	$(PY) -m tools.render '$(ENV)' --config-dir "$${MLOPS_CONFIG_DIR:-config}"

clean: ## Remove build output (keeps .venv and node_modules)
	rm -rf cdktf.out cdktn.out cdktn-latest.out $(ML_DIST) .pytest_cache .local .make

bench: setup ## Measure synthesis time and memory (writes .bench/results.json)
	$(PY) -m tools.bench

# --- Provider lock ----------------------------------------------------------------------------
# providers/.terraform.lock.hcl: the hashes of every provider the stacks require (versions in
# providers/versions.tf.json), for the platforms CI and developers use. The workflows copy each
# stack's entries into its directory and run terraform init -lockfile=readonly. Needs
# registry.terraform.io; commit the result.
.PHONY: provider-lock
provider-lock: ## Record the providers' hashes in providers/.terraform.lock.hcl (needs the registry)
	cd providers && terraform providers lock -platform=linux_amd64 -platform=linux_arm64 \
	  -platform=darwin_amd64 -platform=darwin_arm64 -platform=windows_amd64

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
