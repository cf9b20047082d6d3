# The two commands of README.md are `make report` (the main job) and `make test` (our tests).
# Each installs what it needs: the project venv (.venv) and, for the lab, Debian packages and the
# OpenStack venv (python -m dcn_checks.lab.install, idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS := reports
MODEL ?= fixtures/models/dms-example.yaml
RELEASE ?= ussuri
LAB_DIR ?= .lab/report

.PHONY: venv lab-deps check test report clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP)

lab-deps: venv
	$(BIN)/python -m dcn_checks.lab.install

check: venv
	$(BIN)/ruff check dcn_checks suites tests tools bench
	$(BIN)/ruff format --check dcn_checks suites tests tools bench
	$(BIN)/mypy
	$(BIN)/mypy suites

test: check lab-deps
	$(BIN)/pytest tests --junitxml=$(REPORTS)/junit-tests.xml

# The main job: bring the embedded lab up from generated files, run the static, read-only and
# functional suites against it, always bring it down, and exit with the suites' code.
report: lab-deps
	mkdir -p $(REPORTS)
	$(BIN)/dcn-checks generate --model $(MODEL) --out $(REPORTS)/env
	$(BIN)/dcn-checks lint $(REPORTS)/env --release $(RELEASE)
	rc=0; \
	$(BIN)/dcn-checks lab up --lab-dir $(LAB_DIR) --release $(RELEASE) || rc=$$?; \
	if [ $$rc -eq 0 ]; then \
	  $(BIN)/pytest suites/static --env-dir=$(LAB_DIR)/env --release=$(RELEASE) \
	    --junitxml=$(REPORTS)/junit-static.xml || rc=$$?; \
	  $(BIN)/dcn-checks check --target $(LAB_DIR) -m "reads or creates" -n auto \
	    --junitxml=$(REPORTS)/junit-deployment.xml || rc=$$?; \
	fi; \
	$(BIN)/dcn-checks lab down --lab-dir $(LAB_DIR); \
	exit $$rc

clean:
	rm -rf $(REPORTS)/env $(REPORTS)/*.xml
