"""Measure the read-only suite against a lab: wall time with ``-n auto`` and serially, and cases run.

Budget (issue 5): under 20 s with ``-n auto`` on a 3-site lab. Uses a running lab (``--lab-dir``)
or brings one up for the run and down again afterwards.

    .venv/bin/python bench/reads_suite.py [--lab-dir .lab/default] [--sites 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dcn_checks.lab import deploy, install
from dcn_checks.model import model_with_sites

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "dcn-checks"


def timed_run(lab_dir: Path, *extra: str) -> tuple[float, str]:
    """Run the read-only suite once; return its wall time and pytest's summary line."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(CLI), "check", "--target", str(lab_dir), "-m", "reads", "-q", "-p", "no:cacheprovider", *extra],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return elapsed, f"exit {proc.returncode}: {summary}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, default=None, help="a running lab (default: bring one up)")
    parser.add_argument("--sites", type=int, default=2, help="DCN sites when bringing a lab up")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    lab_dir = args.lab_dir
    own_lab = lab_dir is None
    if own_lab:
        (ROOT / ".lab").mkdir(exist_ok=True)
        lab_dir = Path(tempfile.mkdtemp(prefix="bench-reads-", dir=ROOT / ".lab"))
        lab_dir.chmod(0o755)
        started = time.monotonic()
        deploy.up(lab_dir, model_with_sites(args.sites), venv=install.ensure_lab_deps().venv)
        print(f"lab up                   {time.monotonic() - started:6.1f} s")
    try:
        for label, extra in (("-n auto", ("-n", "auto")), ("serial", ())):
            times = []
            for _ in range(args.runs):
                elapsed, summary = timed_run(lab_dir, *extra)
                times.append(elapsed)
            print(f"reads suite {label:8}    median {statistics.median(times):5.1f} s  "
                  f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)  {summary}")  # fmt: skip
        print("budget: under 20 s with -n auto on a 3-site lab")
    finally:
        if own_lab:
            deploy.down(lab_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
