"""A check with a bug (tests/lab/test_run_reports.py): its case is an error, and the run exits 3, not 1."""

import pytest

from dcn_checks.target import Target


@pytest.mark.check("API-001", requirements=["R37"])
@pytest.mark.reads
def test_crashes(target: Target) -> None:
    crash = 1 / 0  # the bug: ZeroDivisionError, never a verdict
    del crash
