"""State made once per run across processes, and the quiet lock of the WAN measurements."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from dcn_checks import runshare

RUN = "3f9a0c1b2d4e"


def _make_in_child(directory: str, counter: str) -> None:
    def make() -> dict[str, object]:
        with open(counter, "a") as made:
            made.write("x")
        time.sleep(0.2)
        return {"id": "golden"}

    runshare.once_per_run(Path(directory), RUN, "golden", make)


def test_once_per_run_makes_the_value_once_for_every_process(tmp_path: Path) -> None:
    counter = tmp_path / "made"
    children = [multiprocessing.Process(target=_make_in_child, args=(str(tmp_path), str(counter))) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(10)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert counter.read_text() == "x"
    assert runshare.once_per_run(tmp_path, RUN, "golden", lambda: {"id": "other"}) == {"id": "golden"}


def test_a_failure_is_recorded_and_every_later_process_fails_with_it(tmp_path: Path) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("HTTP 409: Store for identifier dcn1 not found")

    for _ in range(2):
        with pytest.raises(runshare.SharedStateFailed, match="dcn1 not found"):
            runshare.once_per_run(tmp_path, RUN, "golden", broken, failure=RuntimeError)


def test_an_unexpected_error_is_not_recorded(tmp_path: Path) -> None:
    def bug() -> dict[str, object]:
        raise KeyError("ours")

    with pytest.raises(KeyError):
        runshare.once_per_run(tmp_path, RUN, "golden", bug, failure=RuntimeError)
    assert runshare.once_per_run(tmp_path, RUN, "golden", lambda: {"id": "g"}) == {"id": "g"}


def test_run_files_are_the_records_and_locks_of_that_run_only(tmp_path: Path) -> None:
    runshare.once_per_run(tmp_path, RUN, "golden", lambda: {"id": "g"})
    runshare.once_per_run(tmp_path, "000000000000", "golden", lambda: {"id": "g"})
    assert [path.name for path in runshare.run_files(tmp_path, RUN)] == [f"{RUN}.golden.json", f"{RUN}.golden.lock"]


def test_the_quiet_lock_is_reentrant_for_creates_and_refuses_a_measurement_inside_one(tmp_path: Path) -> None:
    lock = runshare.QuietLock(tmp_path, RUN)
    with lock.busy(), lock.busy(), pytest.raises(RuntimeError, match="inside a create"), lock.quiet():
        pass
    with lock.quiet(), lock.busy():  # a measurement creates what it measures
        pass


def _hold_busy(directory: str, started: multiprocessing.synchronize.Event, release: float) -> None:
    with runshare.QuietLock(Path(directory), RUN).busy():
        started.set()
        time.sleep(release)


def test_a_measurement_waits_for_creates_of_other_processes(tmp_path: Path) -> None:
    started = multiprocessing.Event()
    child = multiprocessing.Process(target=_hold_busy, args=(str(tmp_path), started, 0.5))
    child.start()
    assert started.wait(10)
    begun = time.monotonic()
    with runshare.QuietLock(tmp_path, RUN).quiet():
        waited = time.monotonic() - begun
    child.join(10)
    assert waited >= 0.3
