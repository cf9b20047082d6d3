"""The wheel runs the suites: built from the checkout, installed into a fresh venv outside it, run from
another directory against the healthy lab, it passes the static and read-only suites as the checkout does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lab_support import REPO

from dcn_checks.lab.deploy import LabInfo
from dcn_checks.results import NOT_APPLICABLE, PASS, load_summary

pytestmark = pytest.mark.lab


def test_an_installed_wheel_runs_the_suites_from_any_directory(healthy_lab: LabInfo, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    (wheel,) = dist.glob("dcn_checks-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # The dependencies come from the project's venv, seen through a path entry (which runs none of its .pth
    # files, so the checkout's editable dcn_checks stays invisible): a minute of pip less, same packages.
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "project-deps.pth").write_text(str(next((REPO / ".venv" / "lib").glob("python3*/site-packages"))) + "\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import dcn_checks; print(dcn_checks.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout  # fmt: skip
    assert where.startswith(str(site)), where  # the wheel's package, not the checkout's
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    done = subprocess.run(
        [str(venv / "bin" / "dcn-checks"), "run", "--target", str(healthy_lab.lab_dir), "--select", "static,reads",
         "-n", "auto", "--report-dir", "reports"],
        cwd=elsewhere, capture_output=True, text=True, timeout=900,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (summary_path,) = (path for path in (elsewhere / "reports").glob("*/summary.json") if not path.parent.is_symlink())
    summary = load_summary(summary_path)
    ran = [case for case in summary.cases if case.suite in ("static", "reads")]
    assert ran and {case.verdict for case in ran} <= {PASS, NOT_APPLICABLE}
    assert all(case.nodeid.startswith("suites/") for case in summary.cases)
    assert str(REPO) not in (elsewhere / "reports").joinpath(summary_path.parent.name, "junit.xml").read_text()
