"""The poll primitive: when it returns, when it gives up, and what it says, on a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dcn_checks import glance, waiters
from dcn_checks.errors import EXIT_INTERNAL, DcnChecksError, WaitError, WaitFailed, WaitTimeout
from dcn_checks.glance import GlanceImage


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


# --- the waits of the cloud's resources -------------------------------------------------------------

GLANCE_DATA = Path(__file__).parent / "data" / "glance"


@dataclass(frozen=True)
class Server:
    status: str
    task_state: str | None = None


@dataclass(frozen=True)
class Volume:
    status: str


def captured_image(name: str, **change: object) -> GlanceImage:
    return glance.parse_image(json.loads((GLANCE_DATA / name).read_text()) | change)


def timing(fake: FakeTime) -> dict[str, Any]:
    return {"timeout_s": 10.0, "interval_s": 1.0, "clock": fake.clock, "sleep": fake.sleep}


@pytest.mark.parametrize(
    ("states", "wanted", "probes"),
    [
        pytest.param([Server("BUILD", "spawning"), Server("ACTIVE")], ("ACTIVE",), 2, id="built"),
        pytest.param([Server("ACTIVE", "powering-off"), Server("SHUTOFF")], ("SHUTOFF",), 2, id="stopped"),
        pytest.param([Server("ACTIVE", "image_uploading"), Server("ACTIVE")], ("ACTIVE",), 2, id="task-must-end"),
        pytest.param([Server("BUILD"), Server("ERROR")], ("ACTIVE", "ERROR"), 2, id="error-wanted"),
    ],
)
def test_wait_for_server_status_returns_when_status_holds_and_no_task_is_left(
    states: list[object], wanted: tuple[str, ...], probes: int
) -> None:
    fake = FakeTime()
    result = waiters.wait_for_server_status(probe_of(states, fake), "s1", wanted, **timing(fake))
    assert result == states[-1]
    assert len(fake.sleeps) == probes - 1


@pytest.mark.parametrize("status", ["ERROR", "DELETED"])
def test_wait_for_server_status_fails_fast_when_the_server_goes_to_a_terminal_status(status: str) -> None:
    fake = FakeTime()
    states: list[object] = [Server("BUILD", "spawning"), Server(status)]
    with pytest.raises(WaitFailed) as caught:
        waiters.wait_for_server_status(probe_of(states, fake), "s1", **timing(fake))
    assert caught.value.reason == f"server went to {status}"
    assert str(caught.value).startswith("gave up waiting for server s1 ACTIVE after 1.0s")
    assert str(caught.value).endswith(f"last state: {status} task=None")


def test_wait_for_server_status_times_out_with_status_and_task() -> None:
    fake = FakeTime()
    states: list[object] = [Server("BUILD", "spawning")]
    with pytest.raises(WaitTimeout) as caught:
        waiters.wait_for_server_status(probe_of(states, fake), "s1", ("ACTIVE", "ERROR"), **timing(fake))
    assert "waiting for server s1 ACTIVE/ERROR; last state: BUILD task=spawning" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        pytest.param({}, "volume v1", id="volume"),
        pytest.param({"kind": "volume snapshot"}, "volume snapshot v1", id="snapshot"),
    ],
)
@pytest.mark.parametrize(
    ("states", "outcome"),
    [
        pytest.param(["creating", "downloading", "available"], "available", id="available"),
        pytest.param(["creating", "error"], "volume is error", id="error"),
        pytest.param(["extending", "error_extending"], "volume is error_extending", id="error-of-an-action"),
        pytest.param(["deleting", "error_deleting"], "volume is error_deleting", id="error-deleting"),
    ],
)
def test_cinder_waits_return_at_the_status_and_fail_fast_on_any_error_status(
    kind: dict[str, str], what: str, states: list[str], outcome: str
) -> None:
    fake = FakeTime()
    probe = probe_of([Volume(status) for status in states], fake)
    if outcome == "available":
        assert waiters.wait_for_volume_status(probe, "v1", **kind, **timing(fake)) == Volume("available")
        return
    with pytest.raises(WaitFailed) as caught:
        waiters.wait_for_volume_status(probe, "v1", **kind, **timing(fake))
    assert caught.value.reason == outcome.replace("volume", what, 1)
    assert len(fake.sleeps) == len(states) - 1


def test_cinder_wait_for_an_error_status_returns_it() -> None:
    fake = FakeTime()
    probe = probe_of([Volume("creating"), Volume("error")], fake)
    assert waiters.wait_for_volume_status(probe, "v1", ("error",), **timing(fake)) == Volume("error")


@pytest.mark.parametrize(
    ("captures", "stores", "outcome"),
    [
        pytest.param(
            ["image-copy-accepted.json", "image-copy-importing-dcn1.json", "image-copy-task-still-held.json",
             "image-active-three-stores.json"],
            ("central", "dcn0", "dcn1"),
            "settled",
            id="copy-waits-for-the-task-to-let-go",
        ),
        pytest.param(["image-queued.json", "image-active-central.json"], ("central",), "settled", id="upload"),
        pytest.param(
            ["image-copy-importing-dcn0-dcn1.json", "image-copy-failed-dcn1-synthetic.json"],
            ("central", "dcn0", "dcn1"),
            "Glance reports the import to dcn1 failed (os_glance_failed_import)",
            id="failed-import",
        ),
        pytest.param(["image-queued.json", ("image-queued.json", "killed")], ("central",), "image is killed",
                     id="killed"),
    ],
)  # fmt: skip
def test_wait_for_image_in_stores_waits_for_every_store_and_fails_fast_on_a_failed_import(
    captures: list[Any], stores: tuple[str, ...], outcome: str
) -> None:
    fake = FakeTime()
    images: list[object] = [
        captured_image(c) if isinstance(c, str) else captured_image(c[0], status=c[1]) for c in captures
    ]
    probe = probe_of(images, fake)
    if outcome == "settled":
        assert waiters.wait_for_image_in_stores(probe, "i1", stores, **timing(fake)) == images[-1]
        assert len(fake.sleeps) == len(images) - 1
        return
    with pytest.raises(WaitFailed) as caught:
        waiters.wait_for_image_in_stores(probe, "i1", stores, **timing(fake))
    assert caught.value.reason == outcome
    assert "waiting for image i1 in store(s)" in str(caught.value)


@pytest.mark.parametrize(
    ("states", "outcome"),
    [
        pytest.param([Volume("deleting"), None], None, id="gone"),
        pytest.param([Server("ERROR", "deleting"), None], None, id="error-server-being-deleted"),
        pytest.param([Volume("deleting"), Volume("error_deleting")], "Cinder could not delete x1 (error_deleting)",
                     id="error-deleting"),
        pytest.param([Server("ACTIVE", "deleting"), Server("ERROR")], "Nova could not delete x1 (ERROR, no task)",
                     id="server-delete-failed"),
    ],
)  # fmt: skip
def test_wait_for_deleted_returns_once_gone_and_fails_fast_when_the_delete_failed(
    states: list[object], outcome: str | None
) -> None:
    fake = FakeTime()
    if outcome is None:
        waiters.wait_for_deleted(probe_of(states, fake), "x1", **timing(fake))
        assert len(fake.sleeps) == 1
        return
    with pytest.raises(WaitFailed) as caught:
        waiters.wait_for_deleted(probe_of(states, fake), "x1", **timing(fake))
    assert caught.value.reason == outcome
