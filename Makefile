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

test: check lab-deps
	$(BIN)/pytest tests --junitxml=$(REPORTS)/junit-tests.xml

report: venv
	mkdir -p $(REPORTS)
	$(BIN)/dcn-checks generate --model $(MODEL) --out $(REPORTS)/env
	$(BIN)/dcn-checks lint $(REPORTS)/env --release $(RELEASE)
	$(BIN)/pytest suites/static --env-dir=$(REPORTS)/env --release=$(RELEASE) --junitxml=$(REPORTS)/junit-static.xml

clean:
	rm -rf $(REPORTS)/env $(REPORTS)/*.xml
