"""The run's results: matrix cells, the baseline gate, the JSON summary round trip, fix snippets, and
the HTML report's content (the browser and PDF checks are in tests/lab/test_run_reports.py)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from dcn_checks import report, results
from dcn_checks.errors import EXIT_BAD_INPUT, InputFileError
from dcn_checks.fixes import fix_snippet, heat_parameters
from dcn_checks.heat import load_catalog
from dcn_checks.model import model_with_sites
from dcn_checks.progress import Progress
from dcn_checks.requirements import CHECKS
from dcn_checks.results import ERROR, FAIL, INFO, NOT_APPLICABLE, NOT_RUN, PASS, CaseResult, RunSummary
from dcn_checks.runcmd import RunPaths, final_exit_code, parse_selection

KEY = "AQBwCgpoAAAAABAAs2Ahbf1gZ0ddVEdmQXh0Qw=="


def case(check_id: str, site: str, verdict: str, requirements: tuple[str, ...] = ("R1",), **more: str) -> CaseResult:
    return CaseResult(
        nodeid=f"suites/x.py::t[{site}]", check_id=check_id, title="t", requirements=requirements,
        suite="reads", site=site, case=site, verdict=verdict, **more,
    )  # fmt: skip


def summary(*cases: CaseResult, exit_code: int = 0) -> RunSummary:
    model = model_with_sites(2)
    return RunSummary(
        run_id="r", started="s", finished="f", duration_s=1.0, exit_code=exit_code, target="t",
        selection=("reads",), deployment=report.deployment_summary(model), cases=cases,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("verdicts", "cell"),
    [
        ((PASS, FAIL, PASS), FAIL),
        ((PASS, ERROR), ERROR),
        ((PASS, INFO), INFO),
        ((NOT_APPLICABLE, PASS), PASS),
        ((NOT_RUN, NOT_APPLICABLE), NOT_APPLICABLE),
        ((NOT_RUN,), NOT_RUN),
        ((), NOT_APPLICABLE),
    ],
)
def test_a_cell_shows_the_worst_verdict_of_its_cases(verdicts: tuple[str, ...], cell: str) -> None:
    assert results.worst(verdicts) == cell


def test_matrix_rows_follow_requirement_numbers_and_columns_the_model_sites() -> None:
    run = summary(case("A", "dcn1", FAIL, ("R10",)), case("B", "dcn0", PASS, ("R9", "R10")), case("C", "central", PASS))
    rows = results.matrix(run)
    assert [requirement for requirement, _ in rows] == ["R1", "R9", "R10"]
    assert run.sites() == ("central", "dcn0", "dcn1")
    r10 = dict(rows)["R10"]
    assert {site: verdict for site, (verdict, _) in r10.items()} == {"central": "n/a", "dcn0": PASS, "dcn1": FAIL}


def test_baseline_gate_counts_only_regressions() -> None:
    before = summary(case("A", "dcn0", PASS), case("B", "dcn1", FAIL), case("C", "dcn1", PASS))
    now = summary(case("A", "dcn0", FAIL), case("B", "dcn1", FAIL), case("D", "dcn0", FAIL))
    changes = results.compare(before, now)
    assert {(c.key, c.before, c.after, c.regression) for c in changes} == {
        ("A[dcn0]", PASS, FAIL, True),
        ("D[dcn0]", NOT_RUN, FAIL, False),
        ("C[dcn1]", PASS, NOT_RUN, False),
    }
    assert results.gated_failures(now, changes, before) == 1
    assert results.gated_failures(now, changes, None) == 3
    fixed = summary(case("A", "dcn0", PASS), case("B", "dcn1", FAIL))
    assert results.gated_failures(fixed, results.compare(before, fixed), before) == 0


@pytest.mark.parametrize(
    ("pytest_code", "interrupted", "gated", "code"),
    [
        (0, False, 0, 0),
        (1, False, 1, 1),
        (1, False, 0, 0),  # with a baseline: the failure was there before
        (2, True, 0, 2),  # Ctrl-C or SIGTERM
        (2, False, 0, 3),  # pytest's 2 without an interrupt: errors during collection
        (3, False, 0, 3),
        (4, False, 0, 4),
        (5, False, 0, 5),
    ],
)
def test_exit_code_of_a_run(pytest_code: int, interrupted: bool, gated: int, code: int) -> None:
    assert final_exit_code(pytest_code, interrupted, gated) == code


def test_summary_round_trips_through_json(tmp_path: Path) -> None:
    run = summary(case("A", "dcn0", FAIL, message="dcn0: seen; expected", fix="x: 1"), case("B", "central", PASS))
    path = tmp_path / "summary.json"
    results.write_summary(run, path)
    assert results.load_summary(path) == run
    assert json.loads(path.read_text())["schema"] == results.SCHEMA


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "no such file"),
        ("{", "not a dcn-checks run summary"),
        ('{"schema": "other"}', "its schema is not"),
        ('{"schema": "dcn-checks/run-summary/1", "cases": []}', "KeyError"),
    ],
)
def test_a_bad_baseline_is_one_line_of_bad_input(tmp_path: Path, content: str | None, said: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputFileError, match=said) as raised:
        results.load_summary(path)
    assert raised.value.exit_code == EXIT_BAD_INPUT
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "suites"),
    [("all", ("static", "reads", "creates")), ("reads,static", ("static", "reads")), ("creates", ("creates",))],
)
def test_selection(value: str, suites: tuple[str, ...]) -> None:
    assert parse_selection(value) == suites


def test_fix_snippets_name_the_stack_file_and_hide_keys() -> None:
    model = model_with_sites(2)
    snippet = fix_snippet(CHECKS["VOLUME-004"], "dcn1", model)
    assert "NovaCrossAZAttach: false" in snippet and "stack dcn1" in snippet
    keys = fix_snippet(CHECKS["KEYS-004"], "dcn0", model)
    assert "<key of client.external on" in keys
    assert "AQ" not in keys
    assert fix_snippet(CHECKS["CLUSTER-004"], "dcn0", model) == ""  # no Heat parameter fixes a down OSD
    own = fix_snippet(CHECKS["GLANCECONF-002"], "dcn1", model)
    assert "GlanceBackendID: dcn1" in own and "GlanceBackendID: central" not in own


def test_heat_parameters_are_the_catalogs_names_in_the_remediation() -> None:
    catalog = load_catalog(model_with_sites(1).profile.catalog)
    text = "Set CinderStorageAvailabilityZone to the site's NovaComputeAvailabilityZone (Set it; THT does)"
    assert heat_parameters(text, catalog) == ("CinderStorageAvailabilityZone", "NovaComputeAvailabilityZone")


def test_html_report_has_matrix_failures_with_fixes_and_no_secret(tmp_path: Path) -> None:
    model = model_with_sites(2)
    failed = case("VOLUME-004", "dcn1", FAIL, ("R32",), message="dcn1: attach of a volume in AZ dcn0 succeeded")
    failed = dataclasses.replace(failed, evidence=f"key = {KEY}".replace(KEY, "***"))
    run = dataclasses.replace(
        summary(failed, case("API-001", "dcn0", PASS, ("R37",)), exit_code=1),
        cases=report.with_fixes([failed, case("API-001", "dcn0", PASS, ("R37",))], model),
    )
    html = report.render_html(run)
    assert 'data-requirement="R32"' in html and 'data-verdict="fail"' in html
    assert "attach of a volume in AZ dcn0 succeeded" in html
    assert "NovaCrossAZAttach: false" in html
    assert "NOT CONFORMANT" in html
    assert KEY not in html
    assert "<script" not in html and "http://" not in html.split("</style>")[0]  # self-contained, no fetch


def test_closing_summary_lists_failures_and_names_the_html_report_last(tmp_path: Path) -> None:
    run = summary(case("A", "dcn0", FAIL, message="dcn0: wrong"), case("B", "dcn1", PASS), exit_code=1)
    out = io.StringIO()
    report.print_closing(run, RunPaths(tmp_path), out)
    lines = out.getvalue().splitlines()
    assert "  FAIL  A[dcn0]: dcn0: wrong" in lines
    assert lines[-1] == f"HTML report:    {tmp_path / 'report.html'}"


class _Report:
    def __init__(self, when: str, outcome: str, site: str) -> None:
        self.when, self.nodeid = when, f"x::t[{site}]"
        self.passed, self.failed, self.skipped = outcome == "passed", outcome == "failed", outcome == "skipped"
        self.user_properties = [("check_id", "API-001"), ("case", site)]


def test_progress_rewrites_one_line_on_a_terminal_and_prints_lines_otherwise() -> None:
    clock = iter(range(100)).__next__
    tty, plain = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (plain, False)):
        progress = Progress(stream, tty=is_tty, clock=clock)
        progress.total = 3
        for when, outcome, site in (("call", "passed", "dcn0"), ("call", "failed", "dcn1"), ("setup", "skipped", "c")):
            progress.pytest_runtest_logreport(_Report(when, outcome, site))  # type: ignore[arg-type]
        progress.finish()
    assert "\r\x1b[K" in tty.getvalue() and "FAIL API-001[dcn1]\n" in tty.getvalue()
    assert "\r" not in plain.getvalue()
    assert plain.getvalue().splitlines()[-1].endswith("3/3 (1 passed, 1 failed, 1 n/a)  n/a   API-001[c]")
