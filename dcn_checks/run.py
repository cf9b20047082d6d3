"""One run of the suites against a target: its ID, its ledger, its end, and how it survives signals.

The process pytest starts first (the xdist controller, or the only process without xdist) owns the
run: it picks the run ID, holds the ledger's lock for the whole run, and at the very end, after
every worker has removed what it made, removes whatever is still recorded (the golden image every
worker shared, or what a crashed worker left). Workers learn the run ID from the controller
(``pytest_configure_node``) and join the ledger (:func:`dcn_checks.ledger.join_ledger`).

SIGTERM (a CI job cancelled, ``timeout``, ``kill``) becomes KeyboardInterrupt, as SIGINT is, so
that pytest's teardown and this module's end run for both. SIGKILL leaves the ledger stale, for
``dcn-checks cleanup``.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

from dcn_checks import lifecycle, runshare
from dcn_checks.errors import DcnChecksError
from dcn_checks.ledger import Ledger, ledger_dir, new_run_id, open_ledger

if TYPE_CHECKING:
    import openstack.connection

log = logging.getLogger(__name__)

#: The key of the run ID in an xdist worker's ``workerinput``.
WORKER_RUN_ID = "dcn_checks_run_id"
#: How long the end of a run waits for each removal (a server's delete, a copy's).
REMOVE_TIMEOUT_S = 300.0


def interrupt_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt in the main thread, so teardown runs as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not interrupt the cleanup
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def worker_run_id(config: pytest.Config) -> str | None:
    """The run ID an xdist worker was given; None in the controller or without xdist."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return None if workerinput is None else workerinput.get(WORKER_RUN_ID)


@dataclass
class RunHolder:
    """The controller's side of a run (a pytest plugin): the run ID, the ledger's lock, the final removal."""

    target_file: Path
    cloud: openstack.connection.Connection | None
    run_id: str = field(default_factory=new_run_id)
    ledger: Ledger | None = None
    error: DcnChecksError | None = None  # why the ledger could not be opened; creates checks fail with it
    left: list[str] = field(default_factory=list)

    def open(self) -> None:
        try:
            self.ledger = open_ledger(self.target_file, self.run_id)
        except DcnChecksError as err:
            self.error = err

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:  # xdist's hook: a worker is about to start
        node.workerinput[WORKER_RUN_ID] = self.run_id

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After pytest's own teardown (every worker's fixtures are done): remove what is still recorded."""
        if self.ledger is None:
            return
        try:
            self.ledger.reload()
            if self.ledger.resources and self.cloud is not None:
                report = lifecycle.remove_recorded(
                    self.ledger, lifecycle.SdkCloud(self.cloud), timeout_s=REMOVE_TIMEOUT_S
                )
                self.left = [failure.line() for failure in report.failed]
        finally:
            if not self.ledger.resources:
                for path in runshare.run_files(ledger_dir(self.target_file), self.run_id):
                    path.unlink(missing_ok=True)
            self.ledger.close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.left:
            terminalreporter.write_line(
                f"dcn-checks: run {self.run_id} could not remove {len(self.left)} resource(s), e.g. {self.left[0]}; "
                f"they stay recorded for 'dcn-checks cleanup --target {self.target_file} --run-id {self.run_id}'"
            )
