"""The live progress of ``dcn-checks run``: one line rewritten in place on a terminal, plain lines otherwise.

A pytest plugin of the controller, which sees every case as it ends (under xdist too). On a
terminal the line shows the elapsed time, the count done of the total, the verdicts so far and the
last case (site and check); a pipe or a CI log gets one line per case instead, which greps well
and never holds carriage returns.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

import pytest

from dcn_checks.results import ERROR, FAIL, NOT_APPLICABLE, PASS

SYMBOLS = {PASS: "pass", FAIL: "FAIL", ERROR: "ERROR", NOT_APPLICABLE: "n/a"}


class Progress:
    """Counts ended cases and shows them; ``stream`` is the run's terminal (stderr)."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.total = 0
        self.done = 0
        self.counts = {PASS: 0, FAIL: 0, ERROR: 0, NOT_APPLICABLE: 0}
        self._line_open = False

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = max(self.total, len(session.items))

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        verdict = _ended(report)
        if verdict is None:
            return
        self.done += 1
        self.counts[verdict] += 1
        case = _case_name(report)
        if self.tty:
            self._rewrite(f"{self._head()}  {case}")
            if verdict in (FAIL, ERROR):
                self._print(f"{SYMBOLS[verdict]} {case}")
        else:
            self._print(f"{self._head()}  {SYMBOLS[verdict]:5} {case}")

    def finish(self) -> None:
        """Close the rewritten line, so what follows starts on a line of its own."""
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False

    def _head(self) -> str:
        elapsed = self.clock() - self.started
        counts = f"{self.counts[PASS]} passed, {self.counts[FAIL]} failed"
        if self.counts[ERROR]:
            counts += f", {self.counts[ERROR]} errors"
        if self.counts[NOT_APPLICABLE]:
            counts += f", {self.counts[NOT_APPLICABLE]} n/a"
        width = len(str(self.total or self.done))
        return f"[{elapsed:6.1f}s] {self.done:>{width}}/{self.total or '?'} ({counts})"

    def _rewrite(self, line: str) -> None:
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()
        self._line_open = True

    def _print(self, line: str) -> None:
        if self._line_open:
            self.stream.write("\r\x1b[K")
        self.stream.write(line + "\n")
        self.stream.flush()
        self._line_open = False


def _ended(report: pytest.TestReport) -> str | None:
    """The verdict of the phase that ends a case for the display, or None while the case goes on."""
    if report.when != "call" and (report.when != "setup" or report.passed):
        return None
    if report.skipped:
        return NOT_APPLICABLE
    if report.passed:
        return PASS
    return FAIL if getattr(report, "dcn_unjudged", None) is None else ERROR


def _case_name(report: pytest.TestReport) -> str:
    """``CHECK-ID[case]`` from the case's properties, else its test name."""
    properties = dict(report.user_properties)
    check_id = properties.get("check_id")
    case = properties.get("case")
    if check_id:
        return f"{check_id}[{case}]" if case else str(check_id)
    return report.nodeid.rsplit("::", 1)[-1]
