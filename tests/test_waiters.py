"""The poll primitive: when it returns, when it gives up, and what it says, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from dcn_checks import waiters
from dcn_checks.errors import EXIT_INTERNAL, DcnChecksError, WaitError, WaitFailed, WaitTimeout


@dataclass
class FakeTime:
    """A clock that moves only when the waiter sleeps (plus ``probe_cost`` per probe)."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def probe_of(states: list[object], fake: FakeTime, probe_cost: float = 0.0) -> Callable[[], object]:
    """A probe that returns ``states`` one by one (the last one for ever); an exception in it is raised."""
    items: Iterator[object] = iter(states)
    last: list[object] = [None]

    def probe() -> object:
        fake.now += probe_cost
        last[0] = next(items, last[0])
        if isinstance(last[0], Exception):
            raise last[0]
        return last[0]

    return probe


def wait(fake: FakeTime, probe: Callable[[], object], predicate: Callable[[object], bool], **options: Any) -> object:
    """``wait_for`` on the fake clock, with a 10 s timeout and description "x" unless told otherwise."""
    options = {"timeout_s": 10.0, "description": "x", **options}
    return waiters.wait_for(probe, predicate, clock=fake.clock, sleep=fake.sleep, **options)


def is_done(state: object) -> bool:
    return state == "done"


def terminal(state: object) -> str | None:
    return "the image was killed" if state == "killed" else None


@pytest.mark.parametrize(
    ("states", "interval_s", "expected_sleeps"),
    [
        pytest.param(["done"], 1.0, [], id="already-there-no-sleep"),
        pytest.param(["queued", "saving", "done"], 1.0, [1.0, 1.0], id="third-probe"),
        pytest.param(["queued", "done"], 0.25, [0.25], id="own-interval"),
    ],
)
def test_wait_for_returns_first_state_that_satisfies_the_predicate(
    states: list[object], interval_s: float, expected_sleeps: list[float]
) -> None:
    fake = FakeTime()
    result = wait(
        fake,
        probe_of(states, fake),
        is_done,
        timeout_s=10,
        description="image active",
        interval_s=interval_s,
    )
    assert result == "done"
    assert fake.sleeps == expected_sleeps


@pytest.mark.parametrize(
    ("timeout_s", "interval_s", "probe_cost", "expected_sleeps", "expected_probes"),
    [
        pytest.param(3.0, 1.0, 0.0, [1.0, 1.0, 1.0], 4, id="probes-again-at-deadline"),
        pytest.param(2.5, 1.0, 0.0, [1.0, 1.0, 0.5], 4, id="last-sleep-cut-to-deadline"),
        pytest.param(0.0, 1.0, 0.0, [], 1, id="zero-timeout-probes-once"),
        pytest.param(2.0, 1.0, 0.75, [1.0], 2, id="slow-probe-counts-against-timeout"),
    ],
)
def test_wait_for_times_out_with_last_state_and_elapsed_time(
    timeout_s: float, interval_s: float, probe_cost: float, expected_sleeps: list[float], expected_probes: int
) -> None:
    fake = FakeTime()
    with pytest.raises(WaitTimeout) as caught:
        wait(
            fake,
            probe_of(["queued", "saving"], fake, probe_cost),
            is_done,
            timeout_s=timeout_s,
            description="image abc in store(s) dcn0",
            interval_s=interval_s,
        )
    err = caught.value
    assert fake.sleeps == pytest.approx(expected_sleeps)
    assert err.last_state == ("saving" if expected_probes > 1 else "queued")
    assert err.elapsed_s == pytest.approx(fake.now - 100.0)
    assert err.elapsed_s >= timeout_s
    assert err.description == "image abc in store(s) dcn0"
    assert str(err).startswith(f"timed out after {err.elapsed_s:.1f}s ({expected_probes} probes) waiting for image abc")
    assert str(err).endswith(f"last state: {err.last_state!r}")


@pytest.mark.parametrize(
    ("states", "expected_probes"),
    [
        pytest.param(["killed"], 1, id="terminal-at-once"),
        pytest.param(["queued", "saving", "killed"], 3, id="terminal-later"),
    ],
)
def test_wait_for_fails_fast_on_terminal_state(states: list[object], expected_probes: int) -> None:
    fake = FakeTime()
    with pytest.raises(WaitFailed) as caught:
        wait(
            fake,
            probe_of(states, fake),
            is_done,
            timeout_s=600,
            description="image active",
            fail_fast=terminal,
            interval_s=1.0,
        )
    assert len(fake.sleeps) == expected_probes - 1
    assert caught.value.reason == "the image was killed"
    assert caught.value.last_state == "killed"
    assert "gave up waiting for image active after" in str(caught.value)
    assert "the image was killed; last state: 'killed'" in str(caught.value)


def test_wait_for_asks_fail_fast_only_when_the_predicate_fails() -> None:
    fake = FakeTime()
    asked: list[object] = []

    def fail_fast(state: object) -> str | None:
        asked.append(state)
        return None

    wait(
        fake,
        probe_of(["queued", "done"], fake),
        is_done,
        timeout_s=5,
        description="x",
        fail_fast=fail_fast,
    )
    assert asked == ["queued"]


@pytest.mark.parametrize(
    ("states", "retry_on", "outcome"),
    [
        pytest.param([ConnectionError("reset"), "done"], (ConnectionError,), "done", id="retried-then-done"),
        pytest.param([ConnectionError("reset")], (ConnectionError,), WaitTimeout, id="retried-until-timeout"),
        pytest.param([KeyError("bug")], (ConnectionError,), KeyError, id="other-exception-propagates"),
        pytest.param([ConnectionError("reset")], (), ConnectionError, id="no-retry-by-default"),
    ],
)
def test_wait_for_retries_only_the_exceptions_it_is_told_to(
    states: list[object], retry_on: tuple[type[Exception], ...], outcome: object
) -> None:
    fake = FakeTime()

    def run() -> object:
        return wait(fake, probe_of(states, fake), is_done, timeout_s=2, retry_on=retry_on)

    if isinstance(outcome, type) and issubclass(outcome, BaseException):
        with pytest.raises(outcome) as caught:
            run()
        if outcome is WaitTimeout:
            assert isinstance(caught.value.last_state, ConnectionError)  # type: ignore[attr-defined]
            assert str(caught.value).endswith("last state: ConnectionError: reset")
    else:
        assert run() == outcome


def test_wait_for_quotes_the_described_state_shortened() -> None:
    fake = FakeTime()
    with pytest.raises(WaitTimeout) as caught:
        wait(
            fake,
            probe_of([{"status": "queued"}], fake),
            lambda state: False,
            timeout_s=0,
            description="x",
            describe=lambda state: "status=queued " + "x" * 1000,
        )
    quoted = str(caught.value).split("last state: ", 1)[1]
    assert len(quoted) == waiters.STATE_QUOTE_CHARS
    assert quoted.startswith("status=queued x") and quoted.endswith("...")
    assert caught.value.last_state == {"status": "queued"}


@pytest.mark.parametrize(
    ("timeout_s", "interval_s"),
    [pytest.param(-1.0, 1.0, id="negative-timeout"), pytest.param(1.0, 0.0, id="zero-interval")],
)
def test_wait_for_refuses_nonsense_timing(timeout_s: float, interval_s: float) -> None:
    with pytest.raises(ValueError):
        waiters.wait_for(lambda: "done", is_done, timeout_s=timeout_s, description="x", interval_s=interval_s)


@pytest.mark.parametrize("error", [WaitTimeout, WaitFailed])
def test_wait_errors_are_dcn_checks_errors_that_exit_3(error: type[WaitError]) -> None:
    assert issubclass(error, WaitError)
    assert issubclass(error, DcnChecksError)
    assert error.exit_code == EXIT_INTERNAL
