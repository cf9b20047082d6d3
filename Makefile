# The two commands of README.md are `make report` (the main job) and `make test` (our tests).
# Each installs what it needs: the project venv (.venv) and, for the lab, Debian packages and the
# OpenStack venv (python -m dcn_checks.lab.install, idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS := reports
RELEASE ?= ussuri

.PHONY: venv lab-deps report-deps test-deps check test report clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP)

lab-deps: venv
	$(BIN)/python -m dcn_checks.lab.install

# The allure 3 CLI (npm registry) that renders allure's HTML report.
report-deps: venv
	$(BIN)/python -m dcn_checks.tools allure

# Our tests also open the HTML report in Debian's Chromium and read its PDF with pdftotext.
test-deps: venv
	$(BIN)/python -m dcn_checks.tools allure browser

check: venv
	$(BIN)/ruff check dcn_checks suites tests tools bench
	$(BIN)/ruff format --check dcn_checks suites tests tools bench
	$(BIN)/mypy
	$(BIN)/mypy suites

test: check lab-deps test-deps
	$(BIN)/pytest tests --junitxml=$(REPORTS)/junit-tests.xml

# The main job: bring the embedded lab up from generated files, run the static, read-only and
# functional suites against it in one session, write every report into reports/<run id>/ (JUnit,
# JSON summary, allure results and HTML, the HTML compliance report), bring the lab down, and exit
# with the run's code (0 conformant, 1 a check failed, 2 interrupted, 3 internal, 4 bad input).
report: lab-deps report-deps
	$(BIN)/dcn-checks run --release $(RELEASE) --report-dir $(REPORTS) -n auto

clean:
	rm -rf $(REPORTS)/env $(REPORTS)/*.xml
