"""What the processes of one run share on disk: state made once, and quiet windows for measurements.

Under ``pytest -n auto`` every xdist worker is its own process with its own session fixtures, so a
session fixture alone would make the golden image once per worker. The processes of a run meet in
the run's ledger directory (``dcn-checks-runs/`` beside the target file), named by the run ID:

- :func:`once_per_run` makes a value once for the whole run under an ``flock`` and keeps it in a
  JSON record; a failure is recorded as well, so the other workers fail with the same message at
  once instead of trying again.
- :class:`QuietLock` lets a check measure the central cluster with nothing else of the run
  creating or deleting meanwhile: every create-and-wait takes it shared, the measurement takes it
  exclusive. A gate lock in front gives the exclusive side preference, so a measurement is not
  starved by workers that keep creating.

The kernel drops every ``flock`` when its process dies, so a killed worker blocks nobody.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcn_checks.errors import DcnChecksError


class SharedStateFailed(DcnChecksError):
    """The shared state of the run could not be made; every process that needs it fails with this message."""


def run_files(directory: Path, run_id: str) -> tuple[Path, ...]:
    """The files of a run's shared state (records and locks), for the run's holder to remove at its end."""
    return tuple(sorted(directory.glob(f"{run_id}.*.json"))) + tuple(sorted(directory.glob(f"{run_id}.*.lock")))


@contextmanager
def _flock(path: Path, operation: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # drops the lock


def once_per_run(
    directory: Path, run_id: str, key: str, make: Callable[[], dict[str, Any]], *, failure: type[Exception] = Exception
) -> dict[str, Any]:
    """Return the record ``key`` of the run, calling ``make`` in the first process that asks for it.

    An exception of type ``failure`` from ``make`` is recorded by its message and raised as
    SharedStateFailed here and in every later process; any other exception propagates unrecorded.
    """
    record = directory / f"{run_id}.{key}.json"
    with _flock(directory / f"{run_id}.{key}.lock", fcntl.LOCK_EX):
        if record.exists():
            saved = json.loads(record.read_text())
        else:
            try:
                saved = {"value": make()}
            except failure as err:
                saved = {"error": str(err)}
            staging = record.with_suffix(".new")
            staging.write_text(json.dumps(saved))
            staging.replace(record)
    if "error" in saved:
        raise SharedStateFailed(str(saved["error"]))
    value: dict[str, Any] = saved["value"]
    return value


@dataclass
class QuietLock:
    """Shared by whatever creates or deletes, exclusive for a measurement; re-entrant within a process."""

    directory: Path
    run_id: str
    _depth: int = field(default=0, repr=False)

    @property
    def _gate(self) -> Path:
        return self.directory / f"{self.run_id}.gate.lock"

    @property
    def _main(self) -> Path:
        return self.directory / f"{self.run_id}.quiet.lock"

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Hold while creating or deleting: waits while a measurement runs, lets others create alongside."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with _flock(self._gate, fcntl.LOCK_SH):
            fd = os.open(self._main, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_SH)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            os.close(fd)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Hold while measuring: no other process of the run creates or deletes until it is released."""
        if self._depth:
            raise RuntimeError("a measurement cannot start inside a create or delete of its own process")
        with _flock(self._gate, fcntl.LOCK_EX), _flock(self._main, fcntl.LOCK_EX):
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
