"""``dcn-checks run`` on the labs: exit codes, the baseline gate, and reports that agree with each other.

The healthy runs are the session's three runs of every suite (``healthy_runs``, shared with the
functional suite's test); the faulty one is the volume lab of test_reads_services.py (two faults:
dcn1's Cinder in another AZ, dcn0's cinder-volume stopped). The HTML report is opened in Debian's
Chromium (headless) and printed to PDF, whose text pdftotext reads.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lab_support import REPO, VOLUME_FAULTS, ReportRun, dcn_run
from test_reads_services import VOLUME_LAB, wait_until_volume_service_down

from dcn_checks import results
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.model import load_model

pytestmark = pytest.mark.lab

CLI = REPO / ".venv" / "bin" / "dcn-checks"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip
#: What the volume lab's two faults fail in the static and read-only suites, and nothing else: the read-only
#: cases of test_reads_services.py, and the lint of dcn1's environment files, whose Cinder AZ is not Nova's.
FAULT_CASES = {case.key for found in VOLUME_LAB.values() for case in found} | {"STATIC-006[dcn1]"}
ALLURE_STATUS = {
    "passed": results.PASS, "failed": results.FAIL, "broken": results.ERROR, "skipped": results.NOT_APPLICABLE,
}  # fmt: skip


@pytest.fixture(scope="module")
def volume_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    lab = deploy_lab(*VOLUME_FAULTS)
    wait_until_volume_service_down(lab, "dcn0")
    return lab


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def fault_run(volume_lab: LabInfo, reports: Path, healthy_runs: list[ReportRun]) -> ReportRun:
    """The fault lab's static and read-only suites, gated on the healthy run as baseline."""
    baseline = healthy_runs[1].run_dir / "summary.json"  # type: ignore[operator]
    return dcn_run("--target", str(volume_lab.lab_dir), "--select", "static,reads", "-n", "auto",
                   "--baseline", str(baseline), report_dir=reports)  # fmt: skip


# --- what the reports say ------------------------------------------------------------------------


def junit_verdicts(path: Path) -> dict[str, str]:
    verdicts = {}
    for case in ElementTree.parse(path).iter("testcase"):
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        verdict = results.PASS
        for kind, said in (("failure", results.FAIL), ("error", results.ERROR), ("skipped", results.NOT_APPLICABLE)):
            if case.find(kind) is not None:
                verdict = said
        key = f"{properties['check_id']}[{properties['case']}]" if properties.get("case") else properties["check_id"]
        verdicts[key] = results.INFO if properties.get("outcome") == "info" else verdict
    return verdicts


def allure_verdicts(directory: Path) -> dict[str, str]:
    verdicts = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text())
        labels = {label["name"]: label["value"] for label in data["labels"]}
        case = data["name"].partition("[")[2].rpartition("]")[0].split("@")[0]
        key = f"{labels['check_id']}[{case}]" if case else labels["check_id"]
        verdict = ALLURE_STATUS[data["status"]]
        verdicts[key] = results.INFO if key.startswith("ROUNDTRIP-004") and verdict == results.PASS else verdict
    return verdicts


class _Cases(HTMLParser):
    """Every case block of the HTML report (data-case, data-verdict) and every matrix cell."""

    def __init__(self) -> None:
        super().__init__()
        self.cases: dict[str, str] = {}
        self.cells: dict[tuple[str, str], str] = {}
        self._requirement = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-requirement"):
            self._requirement = str(found["data-requirement"])
        if tag == "td" and found.get("data-site") and found.get("data-verdict"):
            self.cells[(self._requirement, str(found["data-site"]))] = str(found["data-verdict"])
        if tag == "div" and found.get("data-case") and found.get("data-verdict"):
            self.cases[str(found["data-case"])] = str(found["data-verdict"])


def html_report(run: ReportRun) -> _Cases:
    parser = _Cases()
    parser.feed((run.run_dir / "report.html").read_text())  # type: ignore[operator]
    return parser


def expected_cells(run: ReportRun) -> dict[tuple[str, str], str]:
    rows = results.matrix(run.summary)
    return {(requirement, site): verdict for requirement, row in rows for site, (verdict, _) in row.items()}


def assert_reports_agree(run: ReportRun) -> None:
    """JUnit, allure and the HTML report say what the JSON summary says, case by case."""
    summary = run.verdicts()
    ran = {key: verdict for key, verdict in summary.items() if verdict != results.NOT_RUN}
    assert run.run_dir is not None
    assert junit_verdicts(run.run_dir / "junit.xml") == ran
    assert allure_verdicts(run.run_dir / "allure-results") == ran
    page = html_report(run)
    assert page.cases == summary
    assert page.cells == expected_cells(run)


def test_a_healthy_run_is_conformant_and_its_reports_agree(healthy_runs: list[ReportRun]) -> None:
    run = healthy_runs[1]
    assert run.exit_code == 0, run.stderr[-3000:]
    assert set(run.verdicts().values()) <= {results.PASS, results.INFO, results.NOT_APPLICABLE}
    assert run.summary.counts()[results.INFO] == 2  # ROUNDTRIP-004, both ordered pairs
    assert_reports_agree(run)
    assert (run.run_dir / "allure-report" / "index.html").stat().st_size > 100_000  # type: ignore[operator]
    assert run.stdout.rstrip().splitlines()[-1] == f"HTML report:    {run.run_dir / 'report.html'}"
    assert (run.run_dir.parent / "latest").resolve() in {r.run_dir for r in healthy_runs}  # type: ignore[union-attr]


def test_n_auto_gives_the_verdicts_and_matrix_of_n_1(healthy_runs: list[ReportRun]) -> None:
    one, auto = healthy_runs[0], healthy_runs[1]
    assert one.verdicts() == auto.verdicts()
    assert expected_cells(one) == expected_cells(auto)


def test_a_faulty_lab_fails_exactly_its_cells_with_messages_and_fixes(fault_run: ReportRun) -> None:
    assert fault_run.exit_code == 1, fault_run.stderr[-3000:]
    assert set(fault_run.failed()) == FAULT_CASES
    assert_reports_agree(fault_run)
    failed_cells = {cell for cell, verdict in html_report(fault_run).cells.items() if verdict == results.FAIL}
    assert failed_cells == {
        (requirement, case.site)
        for case in fault_run.summary.cases
        if case.verdict == results.FAIL
        for requirement in case.requirements
    }
    assert {site for _, site in failed_cells} == {"dcn0", "dcn1"}
    by_key = {case.key: case for case in fault_run.summary.cases}
    assert "CinderStorageAvailabilityZone: dcn1" in by_key["CINDERCONF-001[dcn1-hci-0]"].fix
    assert all(by_key[key].message and by_key[key].remediation for key in FAULT_CASES)


def test_the_baseline_gate_counts_regressions_and_the_report_shows_them(
    fault_run: ReportRun, volume_lab: LabInfo, reports: Path
) -> None:
    regressions = {change.key for change in fault_run.summary.changes if change.regression}
    assert regressions == FAULT_CASES  # gated on the healthy run: every failure is new
    html = (fault_run.run_dir / "report.html").read_text()  # type: ignore[operator]
    assert "Changed since the baseline" in html and ">REGRESSION<" in html

    again = dcn_run("--target", str(volume_lab.lab_dir), "--select", "static,reads",
                    "--baseline", str(fault_run.run_dir / "summary.json"), report_dir=reports)  # type: ignore[operator]  # fmt: skip

    assert again.exit_code == 0, again.stdout[-2000:] + again.stderr[-2000:]  # the same failures: no regression
    assert set(again.failed()) == FAULT_CASES
    assert ">NO REGRESSION<" in (again.run_dir / "report.html").read_text()  # type: ignore[operator]


def lab_secrets(lab: LabInfo) -> set[str]:
    """Every cephx key and password the lab holds: keyrings, service configs, clouds.yaml."""
    found = set()
    pattern = re.compile(r"(?:key|password)\s*[=:]\s*['\"]?([A-Za-z0-9+/=_.-]{8,})")
    for path in [*lab.nodes_dir.rglob("*"), lab.clouds_yaml]:
        if path.is_file() and path.suffix in (".keyring", ".conf", ".yaml", ".ini", "") and path.stat().st_size < 1e6:
            try:
                found |= set(pattern.findall(path.read_text(errors="ignore")))
            except OSError:
                continue
    return {secret for secret in found if secret not in ("true", "false", "None") and not secret.startswith("/")}


def test_no_key_or_password_in_any_artifact(healthy_runs: list[ReportRun], healthy_lab: LabInfo) -> None:
    secrets = lab_secrets(healthy_lab)
    assert any(secret.startswith("AQ") for secret in secrets)  # the scan knows the keys it looks for
    encoded = {base64.b64encode(secret.encode()).decode()[:-4] for secret in secrets}
    for run in healthy_runs:
        texts = [run.stdout, run.stderr]
        texts += [p.read_text(errors="ignore") for p in run.run_dir.rglob("*") if p.is_file()]  # type: ignore[union-attr]
        for text in texts:
            assert not [secret for secret in secrets | encoded if secret in text]


# --- the HTML report in a browser --------------------------------------------------------------


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"dcnchk-chromium-{os.getpid()}"
    try:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)  # made here for this browser only


def test_the_browser_shows_the_matrix_and_a_failures_evidence_and_fix(fault_run: ReportRun) -> None:
    page = fault_run.run_dir / "report.html"  # type: ignore[operator]
    dom = chromium("--dump-dom", page.as_uri()).stdout
    parser = _Cases()
    parser.feed(dom)
    assert parser.cells == expected_cells(fault_run)
    start = dom.index('data-case="CINDERCONF-001[dcn1-hci-0]"')
    failure = dom[start : dom.index('<div class="case', start)]
    assert "CinderStorageAvailabilityZone: dcn1" in failure  # the fix
    assert "storage_availability_zone = dcn1-storage" in failure  # the evidence


def test_the_report_prints_to_a_pdf_that_holds_the_matrix(fault_run: ReportRun, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", (fault_run.run_dir / "report.html").as_uri())  # type: ignore[operator]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Requirements by site" in text
    row = next(line for line in text.splitlines() if re.match(r"\s*R34\s", line))
    assert row.split()[1:] == [verdict for (req, _), verdict in expected_cells(fault_run).items() if req == "R34"]


# --- exit codes ---------------------------------------------------------------------------------


def run_cli(*args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), "run", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout_s)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--target", "/nonexistent/target.yaml"), "/nonexistent"),
        (("--select", "everything"), "--select: 'everything' is not one of"),
        (("--baseline", "/nonexistent/summary.json"), "no such file"),
        (("--target", "x", "--keep-lab"), "--keep-lab goes only without --target"),
        (("--report-dir", "/proc/version"), "--report-dir"),
    ],
)
def test_bad_input_is_exit_4_in_one_line_before_anything_runs(args: tuple[str, ...], said: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 4, done.stderr
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_unknown_site_is_exit_4_and_nothing_selected_is_exit_5(healthy_lab: LabInfo, tmp_path: Path) -> None:
    unknown = run_cli("--target", str(healthy_lab.lab_dir), "--only-sites", "dcn9", "--report-dir", str(tmp_path))
    assert unknown.returncode == 4, unknown.stderr[-2000:]
    assert "--only-sites: 'dcn9' is not a site of the model" in unknown.stderr
    nothing = run_cli("--target", str(healthy_lab.lab_dir), "--select", "static", "--report-dir", str(tmp_path),
                      "--", "-k", "no_check_has_this_name")  # fmt: skip
    assert nothing.returncode == 5, nothing.stderr[-2000:]


def test_a_bug_of_ours_is_exit_3_and_an_error_verdict(healthy_lab: LabInfo, tmp_path: Path) -> None:
    crash = REPO / "tests" / "data" / "run" / "crashing_check.py"
    done = dcn_run("--target", str(healthy_lab.lab_dir), "--", str(crash), report_dir=tmp_path)
    assert done.exit_code == 3, done.stderr[-2000:]
    assert done.verdicts() == {"API-001": results.ERROR}
    assert done.failed()["API-001"] == "ZeroDivisionError: division by zero"


def test_an_interrupted_run_is_exit_2_with_its_reports(healthy_lab: LabInfo, tmp_path: Path) -> None:
    proc = subprocess.Popen([str(CLI), "run", "--target", str(healthy_lab.lab_dir), "--select", "reads",
                             "--report-dir", str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first case has ended: the run is under way
        assert re.match(r"\[\s*[\d.]+s\]", first), first
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 2, err[-2000:]
    summary = results.load_summary(next(p for p in tmp_path.iterdir() if not p.is_symlink()) / "summary.json")
    assert summary.exit_code == 2 and results.NOT_RUN in summary.counts() and summary.counts()[results.NOT_RUN] > 0


def test_progress_on_a_terminal_rewrites_one_line(healthy_lab: LabInfo, tmp_path: Path) -> None:
    """In a pseudo-terminal the progress is one line rewritten in place (carriage return, erase line)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the run, on the terminal
        os.chdir(REPO)
        os.execv(str(CLI), [str(CLI), "run", "--target", str(healthy_lab.lab_dir), "--select", "static",
                            "--report-dir", str(tmp_path)])  # fmt: skip
    output = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert text.count("\r\x1b[K") >= 10
    assert re.search(r"\r\x1b\[K\[\s*[\d.]+s\] +\d+/\d+ \(\d+ passed, 0 failed\)  STATIC-0\d\d\[", text)
    assert "HTML report:" in text.splitlines()[-1]
    assert load_model(healthy_lab.model_path).central.name in text


def test_without_a_target_the_run_brings_its_own_lab_up_and_down(tmp_path: Path) -> None:
    """README's main command, on the read-only suites: its own lab, deployed from generated files, is up
    for the run and gone after it, directory included; the reports name it as the target."""
    before = set((REPO / ".lab").glob("run-*"))
    done = dcn_run("--select", "static,reads", "-n", "auto", report_dir=tmp_path, timeout_s=900)
    assert done.exit_code == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert set((REPO / ".lab").glob("run-*")) == before
    assert "lab down: stopped" in done.stderr
    assert done.summary.target.startswith("own lab (")
    assert {case.suite for case in done.summary.cases if case.verdict == results.PASS} == {"static", "reads"}
    assert done.stdout.rstrip().splitlines()[-1].startswith("HTML report:")
