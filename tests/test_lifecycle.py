"""Removing what a run made, on a fake cloud at the outer edge: order, not-found, in use, errors, the sweep.

The fake stands for the cloud's API only (what :class:`dcn_checks.lifecycle.SdkCloud` wraps); the
ledger, the order, the retries and the waits are the real ones, on a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_target import write_target
from test_waiters import FakeTime

from dcn_checks import ledger, lifecycle
from dcn_checks.cli import main
from dcn_checks.ledger import Resource
from dcn_checks.lifecycle import ResourceInUse, ResourceNotFound, ResourceState

RUN = "3f9a0c1b2d4e"
Key = tuple[str, str, str | None]


def key(resource: Resource) -> Key:
    return (resource.kind, resource.resource_id, resource.store_id)


@dataclass
class FakeCloud:
    """The cloud's API as removal sees it: what exists, what refuses for now, what is broken."""

    present: dict[Key, Resource] = field(default_factory=dict)
    #: Deletes refused as "in use" before one is accepted.
    busy: dict[Key, int] = field(default_factory=dict)
    #: Deletes that fail with this error (an HTTP 500, a dropped connection).
    broken: dict[Key, str] = field(default_factory=dict)
    #: Resources that stay after their delete was accepted, in this status.
    stuck: dict[Key, str] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)

    def add(self, *resources: Resource) -> FakeCloud:
        self.present.update({key(resource): resource for resource in resources})
        return self

    def delete(self, resource: Resource) -> None:
        self.deletes.append(resource.label())
        if key(resource) in self.broken:
            raise RuntimeError(self.broken[key(resource)])
        if key(resource) not in self.present:
            raise ResourceNotFound(resource.label())
        if self.busy.get(key(resource), 0) > 0:
            self.busy[key(resource)] -= 1
            raise ResourceInUse("Invalid volume: Volume status must be available or error")
        if key(resource) not in self.stuck:
            del self.present[key(resource)]
        if resource.kind == "image":  # Glance deletes the image's data in every store
            self.present = {k: r for k, r in self.present.items() if r.resource_id != resource.resource_id}

    def find(self, resource: Resource) -> ResourceState | None:
        if key(resource) not in self.present:
            return None
        return ResourceState(self.stuck.get(key(resource), "deleting"))

    def find_named(self, prefix: str) -> tuple[Resource, ...]:
        return tuple(r for r in self.present.values() if r.name.startswith(prefix) and r.kind != "image_copy")


SERVER = Resource("server", "s1", f"dcnchk-{RUN}-cow-dcn0")
BOOT_VOLUME = Resource("volume", "v0")
VOLUME = Resource("volume", "v1", f"dcnchk-{RUN}-data")
SNAPSHOT = Resource("volume_snapshot", "n1", f"dcnchk-{RUN}-snap")
IMAGE = Resource("image", "i1", f"dcnchk-{RUN}-cirros")
COPY_OF_OWN = Resource("image_copy", "i1", f"dcnchk-{RUN}-cirros", "dcn1")
COPY_OF_OPERATORS = Resource("image_copy", "i9", "rhel-9", "dcn0")
FLAVOR = Resource("flavor", "f1", f"dcnchk-{RUN}-tiny")
#: In the order a workflow creates them.
CREATED = (FLAVOR, IMAGE, COPY_OF_OWN, COPY_OF_OPERATORS, VOLUME, SERVER, BOOT_VOLUME, SNAPSHOT)


def remove(
    cloud: FakeCloud, resources: tuple[Resource, ...], fake: FakeTime, **options: Any
) -> lifecycle.RemovalReport:
    timing = {"timeout_s": 10.0, "interval_s": 1.0, "clock": fake.clock, "sleep": fake.sleep} | options
    return lifecycle.remove_resources(cloud, resources, **timing)


def test_removal_order_puts_holders_first_and_the_latest_first_within_a_kind() -> None:
    assert lifecycle.removal_order(CREATED) == (
        SERVER, SNAPSHOT, BOOT_VOLUME, VOLUME, COPY_OF_OPERATORS, COPY_OF_OWN, IMAGE, FLAVOR
    )  # fmt: skip
    assert set(lifecycle.REMOVAL_ORDER) == set(ledger.ResourceKind.__args__)  # type: ignore[attr-defined]


def test_removal_deletes_in_dependency_order_each_gone_before_the_next() -> None:
    fake = FakeTime()
    cloud = FakeCloud().add(*CREATED)
    report = remove(cloud, CREATED, fake)
    assert report.failed == ()
    assert set(report.removed) == set(CREATED)
    # The copy of the run's own image goes with the image: Glance refuses to delete an image's last copy.
    assert cloud.deletes == [
        r.label() for r in (SERVER, SNAPSHOT, BOOT_VOLUME, VOLUME, COPY_OF_OPERATORS, IMAGE, FLAVOR)
    ]
    assert cloud.present == {}


def test_a_resource_already_gone_counts_as_removed() -> None:
    fake = FakeTime()
    cloud = FakeCloud().add(IMAGE)
    report = remove(cloud, (VOLUME, IMAGE), fake)
    assert (report.removed, report.failed) == ((VOLUME, IMAGE), ())
    assert fake.sleeps == []


def test_a_resource_in_use_is_asked_again_until_it_is_free() -> None:
    fake = FakeTime()
    cloud = FakeCloud(busy={key(VOLUME): 2}).add(VOLUME, IMAGE)
    report = remove(cloud, (IMAGE, VOLUME), fake)
    assert (report.removed, report.failed) == ((VOLUME, IMAGE), ())
    assert cloud.deletes == [VOLUME.label()] * 3 + [IMAGE.label()]
    assert fake.sleeps == [1.0, 1.0]


def test_a_resource_in_use_for_too_long_is_reported_with_the_refusal_and_the_rest_goes() -> None:
    fake = FakeTime()
    cloud = FakeCloud(busy={key(VOLUME): 99}).add(VOLUME, IMAGE)
    report = remove(cloud, (IMAGE, VOLUME), fake, timeout_s=3.0)
    assert report.removed == (IMAGE,)
    (failure,) = report.failed
    assert failure.resource == VOLUME
    assert failure.line().startswith(f"volume v1 (dcnchk-{RUN}-data): timed out after 3.0s")
    assert failure.line().endswith("last state: in use: Invalid volume: Volume status must be available or error")


def test_errors_are_reported_one_line_each_without_hiding_the_others() -> None:
    fake = FakeTime()
    cloud = FakeCloud(
        broken={key(SERVER): "HTTP 500: nova-api went away\nTraceback ..."}, stuck={key(SNAPSHOT): "error_deleting"}
    ).add(*CREATED)
    report = remove(cloud, CREATED, fake)
    server, snapshot = report.failed
    assert server.line() == f"server s1 (dcnchk-{RUN}-cow-dcn0): HTTP 500: nova-api went away"
    assert snapshot.resource == SNAPSHOT
    assert snapshot.reason.startswith(f"gave up waiting for {SNAPSHOT.label()} deleted after 0.0s: Cinder could not")
    assert set(report.removed) == set(CREATED) - {SERVER, SNAPSHOT}


def test_a_lab_fixture_is_never_removed_even_when_listed() -> None:
    fake = FakeTime()
    seed = Resource("image", "i0", "dcnchk-lab-seed")
    cloud = FakeCloud().add(seed)
    report = remove(cloud, (seed,), fake)
    assert report.removed == ()
    assert "never removed" in report.failed[0].reason
    assert cloud.deletes == [] and key(seed) in cloud.present


# --- a run's ledger and the sweep ------------------------------------------------------------------


def stale_run(target: Path, *resources: Resource, run_id: str = RUN) -> Path:
    """A ledger whose run ended with ``resources`` still listed (its lock is free)."""
    book = ledger.open_ledger(target, run_id)
    for resource in resources:
        book.record(resource.kind, resource.resource_id, resource.name, store_id=resource.store_id)
    book.close()
    return book.path


def sweep(directory: Path, cloud: FakeCloud, **options: Any) -> lifecycle.SweepReport:
    fake = FakeTime()
    return lifecycle.sweep(
        directory, cloud, timeout_s=10.0, interval_s=1.0, clock=fake.clock, sleep=fake.sleep, **options
    )


def test_removing_what_a_ledger_lists_forgets_each_at_once_and_keeps_only_the_failures(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    book = ledger.open_ledger(target, RUN)
    for resource in (IMAGE, VOLUME):
        book.record(resource.kind, resource.resource_id, resource.name)
    cloud = FakeCloud(broken={key(VOLUME): "HTTP 503"}).add(IMAGE, VOLUME)
    fake = FakeTime()
    with book:
        report = lifecycle.remove_recorded(book, cloud, timeout_s=5, clock=fake.clock, sleep=fake.sleep)
    assert report.removed == (IMAGE,)
    (run,) = ledger.find_runs(ledger.ledger_dir(target))
    assert run.record.resources == (VOLUME,) and not run.live


def test_the_sweep_empties_stale_runs_and_leaves_live_ones_alone(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    stale = stale_run(target, IMAGE, VOLUME)
    live_run = "0123456789ab"
    live_volume = Resource("volume", "v7", f"dcnchk-{live_run}-data")
    cloud = FakeCloud().add(IMAGE, VOLUME, live_volume)
    with ledger.open_ledger(target, live_run) as live:
        live.record("volume", "v7", live_volume.name)
        report = sweep(stale.parent, cloud)
        assert report.live == (live_run,)
        assert [(run.run_id, set(run.report.removed)) for run in report.runs] == [(RUN, {IMAGE, VOLUME})]
        assert list(cloud.present) == [key(live_volume)]
        assert not stale.exists()
        live.forget(live.resources[0])


def test_the_sweep_removes_what_carries_a_stale_runs_prefix_unrecorded(tmp_path: Path) -> None:
    """A create whose answer never came (the run died first) left a resource that only its name ties to the run."""
    target = tmp_path / "target.yaml"
    stale = stale_run(target, IMAGE)
    unrecorded = Resource("volume", "v2", f"dcnchk-{RUN}-data")
    others = (Resource("image", "i5", "dcnchk-0123456789ab-cirros"), Resource("image", "i0", "dcnchk-lab-seed"))
    cloud = FakeCloud().add(IMAGE, unrecorded, *others)
    (run,) = sweep(stale.parent, cloud).runs
    assert set(run.report.removed) == {IMAGE, unrecorded}
    assert set(cloud.present) == {key(other) for other in others}


def test_a_sweep_that_cannot_remove_everything_keeps_the_rest_for_the_next(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    stale = stale_run(target, IMAGE, VOLUME)
    cloud = FakeCloud(broken={key(IMAGE): "HTTP 500"}).add(IMAGE, VOLUME)
    (run,) = sweep(stale.parent, cloud).runs
    assert (run.report.removed, [f.resource for f in run.report.failed]) == ((VOLUME,), [IMAGE])
    cloud.broken.clear()
    (again,) = sweep(stale.parent, cloud).runs
    assert (again.report.removed, again.report.failed) == ((IMAGE,), ())
    assert sweep(stale.parent, cloud) == lifecycle.SweepReport((), (), ())


def test_a_malformed_ledger_is_reported_and_the_other_runs_still_swept(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    stale = stale_run(target, IMAGE)
    (stale.parent / "bad.jsonl").write_text("not a ledger\n")
    report = sweep(stale.parent, FakeCloud().add(IMAGE))
    assert [run.run_id for run in report.runs] == [RUN]
    assert len(report.errors) == 1 and "bad.jsonl: line 1: not JSON" in report.errors[0]


# --- dcn-checks cleanup: its input and what it says before it touches the cloud -----------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--run-id", RUN, "--stale"], "cleanup: argument --stale: not allowed with argument --run-id",
                     id="exclusive"),
        pytest.param(["--run-id", "lab"], "cleanup: --run-id: 'lab' is not a run ID", id="not-a-run-id"),
        pytest.param(["--run-id", "0123456789ab"], "cleanup: no run 0123456789ab is recorded in {runs} (runs: ",
                     id="unknown-run"),
        pytest.param(["--run-id", "aaaaaaaaaaaa"], "cleanup: run aaaaaaaaaaaa is live (PID ", id="live-run"),
    ],
)  # fmt: skip
def test_cleanup_refuses_bad_input_in_one_line_with_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    target = write_target(tmp_path)
    stale_run(target, IMAGE)
    with ledger.open_ledger(target, "aaaaaaaaaaaa"):
        assert main(["cleanup", "--target", str(tmp_path), *args]) == 4
    err = capsys.readouterr().err
    assert err.startswith("dcn-checks: " + message.format(runs=ledger.ledger_dir(target)))
    assert len(err.strip().splitlines()) == 1
    assert ledger.find_runs(ledger.ledger_dir(target))[0].record.resources == (IMAGE,)  # nothing was touched


def test_cleanup_without_an_option_lists_the_runs_and_removes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = write_target(tmp_path)
    stale_run(target, IMAGE, VOLUME)
    with ledger.open_ledger(target, "aaaaaaaaaaaa"):
        assert main(["cleanup", "--target", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in out] == [[RUN, "stale", "2"], ["aaaaaaaaaaaa", "live", "0"]]
    assert ledger.find_runs(ledger.ledger_dir(target))[0].record.resources == (IMAGE, VOLUME)


def test_cleanup_stale_with_only_live_runs_says_so_and_needs_no_cloud(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = write_target(tmp_path)  # its cloud is unreachable: connecting would be exit 4
    with ledger.open_ledger(target, "aaaaaaaaaaaa"):
        assert main(["cleanup", "--target", str(tmp_path), "--stale"]) == 0
    err = capsys.readouterr().err
    assert "left alone: run aaaaaaaaaaaa is live (PID " in err
    assert err.strip().endswith(f"nothing to clean up in {ledger.ledger_dir(target)}")
