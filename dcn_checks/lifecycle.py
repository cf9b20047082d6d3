"""Removing what a run created: in dependency order, past errors, and after a killed run (the sweep).

A run records each resource it creates in its ledger (:mod:`dcn_checks.ledger`). Removal runs in
dependency order: servers (they hold volumes), volume snapshots (they hold their volumes), volumes
(clones of images), image copies per store, images, flavors; LIFO within a kind, each resource gone
before the next is asked. Not-found counts as removed; "in use" (a volume still detaching, a clone
still hanging off an image) is retried for a while through the one poll primitive; any other error
is reported and the rest goes on, so one stuck volume never hides the others.

``dcn-checks cleanup`` sweeps the runs that are gone: it takes over each stale ledger (the run's
lock is free), removes what it lists and what carries the run's prefix without being recorded (a
create whose answer never arrived), and deletes the ledger once it is empty. A live run's ledger is
never touched, nor is a lab fixture (``dcnchk-lab-...``), even when a ledger names one.

The cloud is behind a small :class:`Cloud` interface: :class:`SdkCloud` on a real one, a fake in
our unit tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from openstack import exceptions as sdk_errors

from dcn_checks import glance, runshare, waiters
from dcn_checks.errors import GlanceError, InputFileError
from dcn_checks.ledger import (
    LAB_PREFIX,
    LEDGER_SUFFIX,
    Ledger,
    Resource,
    ResourceKind,
    claim_ledger,
    is_lab_fixture,
    run_prefix,
)

if TYPE_CHECKING:
    from openstack.connection import Connection

log = logging.getLogger(__name__)

#: How long a removal waits for a resource to be free, and again for it to be gone.
DELETE_TIMEOUT_S = 180.0
#: Kinds in the order they are removed: whatever holds another goes first.
REMOVAL_ORDER: tuple[ResourceKind, ...] = ("server", "volume_snapshot", "volume", "image_copy", "image", "flavor")


# --- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceState:
    """What a removal watches on the cloud: a status (and a server's task), until the resource is gone."""

    status: str
    task_state: str | None = None


@dataclass(frozen=True, slots=True)
class RemovalFailure:
    """A resource that could not be removed, and why (one line)."""

    resource: Resource
    reason: str

    def line(self) -> str:
        return f"{self.resource.label()}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RemovalReport:
    """What one removal pass removed and what it could not."""

    removed: tuple[Resource, ...]
    failed: tuple[RemovalFailure, ...]


@dataclass(frozen=True, slots=True)
class RunSweep:
    """What a sweep did with one stale run."""

    run_id: str
    report: RemovalReport


@dataclass(frozen=True, slots=True)
class SweepReport:
    """A sweep: the runs it cleaned, the live ones it left alone, and ledgers or runs it could not handle."""

    runs: tuple[RunSweep, ...]
    live: tuple[str, ...]
    errors: tuple[str, ...]


class ResourceNotFound(Exception):
    """The cloud no longer knows the resource (raised by a Cloud's ``delete``)."""


class ResourceInUse(Exception):
    """The cloud refused a delete because something still uses the resource; it may accept it later."""


class Cloud(Protocol):
    """The edge a removal works through: :class:`SdkCloud` on a real cloud, a fake in our unit tests."""

    def delete(self, resource: Resource) -> None:
        """Ask the cloud to delete it; raise ResourceNotFound if it is gone, ResourceInUse if refused for now."""
        ...

    def find(self, resource: Resource) -> ResourceState | None:
        """Its state, or None once the cloud no longer has it."""
        ...

    def find_named(self, prefix: str) -> tuple[Resource, ...]:
        """Servers, volumes, snapshots, images and flavors whose name starts with ``prefix``."""
        ...


# --- removal --------------------------------------------------------------------------------------


def removal_order(resources: Iterable[Resource]) -> tuple[Resource, ...]:
    """``resources`` in :data:`REMOVAL_ORDER` of their kinds, the latest first within a kind."""
    rank = {kind: index for index, kind in enumerate(REMOVAL_ORDER)}
    indexed = list(enumerate(resources))
    return tuple(resource for _, resource in sorted(indexed, key=lambda pair: (rank[pair[1].kind], -pair[0])))


def remove_resources(
    cloud: Cloud,
    resources: Sequence[Resource],
    *,
    timeout_s: float = DELETE_TIMEOUT_S,
    on_removed: Callable[[Resource], None] = lambda resource: None,
    interval_s: float = waiters.DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RemovalReport:
    """Remove ``resources`` in :func:`removal_order`, each gone before the next; report, never raise.

    A copy of an image that is itself in ``resources`` goes with that image (Glance deletes every
    store's data with it, and refuses to delete an image's last copy by store). ``on_removed`` is
    called for each resource as soon as it is gone, so the ledger forgets it even if we die next.
    """
    own_images = {resource.resource_id for resource in resources if resource.kind == "image"}
    removed: list[Resource] = []
    failed: list[RemovalFailure] = []
    for resource in removal_order(resources):
        if resource.kind == "image_copy" and resource.resource_id in own_images:
            continue
        if is_lab_fixture(resource.name) and resource.kind != "image_copy":
            failed.append(RemovalFailure(resource, f"refused: a fixture of the lab ({LAB_PREFIX}…) is never removed"))
            continue
        try:
            _remove(cloud, resource, timeout_s=timeout_s, interval_s=interval_s, clock=clock, sleep=sleep)
        except Exception as err:  # keep going: every resource gets its turn, every failure is reported
            log.warning("could not remove %s: %s", resource.label(), err)
            failed.append(RemovalFailure(resource, _one_line(err)))
            continue
        gone = [resource]
        if resource.kind == "image":
            gone += [r for r in resources if r.kind == "image_copy" and r.resource_id == resource.resource_id]
        for each in gone:
            removed.append(each)
            on_removed(each)
    return RemovalReport(tuple(removed), tuple(failed))


def remove_recorded(
    ledger: Ledger,
    cloud: Cloud,
    *,
    timeout_s: float = DELETE_TIMEOUT_S,
    interval_s: float = waiters.DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RemovalReport:
    """Remove everything ``ledger`` lists (see :func:`remove_resources`); what fails stays recorded."""
    return remove_resources(
        cloud,
        ledger.resources,
        timeout_s=timeout_s,
        on_removed=ledger.forget,
        interval_s=interval_s,
        clock=clock,
        sleep=sleep,
    )


def _remove(
    cloud: Cloud,
    resource: Resource,
    *,
    timeout_s: float,
    interval_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Ask for the delete until the cloud accepts it (retrying "in use"), then wait until it is gone."""
    what = resource.label()

    def request() -> str | None:
        """None once the delete is accepted (or the resource is gone); the refusal while it is in use."""
        try:
            cloud.delete(resource)
        except ResourceNotFound:
            log.info("%s: already gone", what)
        except ResourceInUse as err:
            return f"in use: {_one_line(err)}"
        return None

    waiters.wait_for(
        request,
        lambda refusal: refusal is None,
        timeout_s=timeout_s,
        description=f"{what} free",
        describe=str,
        interval_s=interval_s,
        clock=clock,
        sleep=sleep,
    )
    waiters.wait_for_deleted(
        lambda: cloud.find(resource), what, timeout_s=timeout_s, interval_s=interval_s, clock=clock, sleep=sleep
    )
    log.info("removed %s", what)


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


# --- the sweep ------------------------------------------------------------------------------------


def sweep(
    directory: Path,
    cloud: Cloud,
    *,
    run_ids: Sequence[str] | None = None,
    timeout_s: float = DELETE_TIMEOUT_S,
    interval_s: float = waiters.DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SweepReport:
    """Remove what stale runs left: every run in ``directory``, or those of ``run_ids``.

    A run whose ledger a live process holds is left alone. Of a stale run, the sweep removes what its
    ledger lists and what carries its prefix unrecorded; a ledger that ends empty is deleted, one with
    failures is kept for the next sweep.
    """
    if run_ids is None:
        paths = sorted(directory.glob(f"*{LEDGER_SUFFIX}")) if directory.is_dir() else []
    else:
        paths = [directory / f"{run_id}{LEDGER_SUFFIX}" for run_id in run_ids]
    runs: list[RunSweep] = []
    live: list[str] = []
    errors: list[str] = []
    for path in paths:
        try:
            ledger = claim_ledger(path)
        except (OSError, InputFileError) as err:
            errors.append(f"{path}: {_one_line(err)}")
            continue
        if ledger is None:
            live.append(path.name.removesuffix(LEDGER_SUFFIX))
            continue
        with ledger:
            try:
                recorded = {(r.kind, r.resource_id) for r in ledger.resources}
                for found in cloud.find_named(run_prefix(ledger.run_id)):
                    if (found.kind, found.resource_id) not in recorded:
                        ledger.record(found.kind, found.resource_id, found.name)
            except Exception as err:  # the recorded ones can still go
                errors.append(f"run {ledger.run_id}: cannot list what carries its prefix: {_one_line(err)}")
            report = remove_recorded(
                ledger, cloud, timeout_s=timeout_s, interval_s=interval_s, clock=clock, sleep=sleep
            )
        if not ledger.path.exists():  # every resource is gone: so are the run's shared-state records
            for leftover in runshare.run_files(directory, ledger.run_id):
                leftover.unlink(missing_ok=True)
        runs.append(RunSweep(ledger.run_id, report))
    return SweepReport(tuple(runs), tuple(live), tuple(errors))


# --- the edge: openstacksdk and dcn_checks.glance -------------------------------------------------


class SdkCloud:
    """A :class:`Cloud` over an openstacksdk connection; images go through central's Glance.

    Central's Glance deletes images: an edge Glance refuses an image with a location in a store it
    lacks (glance-lab-notes, gotcha 5). Nova and Cinder answer 400 or 409 while a resource is busy
    (a volume still detaching, a snapshot still creating); Glance answers 409 "in use" while a clone
    still hangs off an image's snapshot, and "active task" while a copy runs. All of those may pass.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def delete(self, resource: Resource) -> None:
        rid, compute, storage = resource.resource_id, self._conn.compute, self._conn.block_storage
        try:
            if resource.kind == "server":
                compute.delete_server(rid, ignore_missing=False)
            elif resource.kind == "volume":
                storage.delete_volume(rid, ignore_missing=False)
            elif resource.kind == "volume_snapshot":
                storage.delete_snapshot(rid, ignore_missing=False)
            elif resource.kind == "flavor":
                compute.delete_flavor(rid, ignore_missing=False)
            elif resource.kind == "image":
                glance.delete_image(self._conn, rid, ignore_missing=False)
            else:
                glance.delete_image_from_store(self._conn, rid, str(resource.store_id), ignore_missing=False)
        except sdk_errors.NotFoundException as err:
            raise ResourceNotFound(resource.label()) from err
        except (sdk_errors.BadRequestException, sdk_errors.ConflictException) as err:
            raise ResourceInUse(_one_line(err)) from err
        except GlanceError as err:
            if err.status == 404:
                raise ResourceNotFound(resource.label()) from err
            if err.status == 409 and ("in use" in err.message or "active task" in err.message):
                raise ResourceInUse(err.message) from err
            raise

    def find(self, resource: Resource) -> ResourceState | None:
        rid = resource.resource_id
        try:
            if resource.kind == "server":
                server = self._conn.compute.get_server(rid)
                return ResourceState(str(server.status), server.task_state)
            if resource.kind == "volume":
                return ResourceState(str(self._conn.block_storage.get_volume(rid).status))
            if resource.kind == "volume_snapshot":
                return ResourceState(str(self._conn.block_storage.get_snapshot(rid).status))
            if resource.kind == "flavor":
                self._conn.compute.get_flavor(rid)
                return ResourceState("present")
            image = glance.get_image(self._conn, rid)
        except sdk_errors.NotFoundException:
            return None
        except GlanceError as err:
            if err.status == 404:
                return None
            raise
        if image.status in ("deleted", "pending_delete"):
            return None
        if resource.kind == "image_copy" and resource.store_id not in image.stores:
            return None
        return ResourceState(image.status)

    def find_named(self, prefix: str) -> tuple[Resource, ...]:
        conn = self._conn
        listed: list[tuple[ResourceKind, Iterable[object]]] = [
            ("server", conn.compute.servers(details=False)),
            ("volume_snapshot", conn.block_storage.snapshots(details=False)),
            ("volume", conn.block_storage.volumes(details=False)),
            ("image", conn.image.images()),
            ("flavor", conn.compute.flavors(details=False)),
        ]
        found = []
        for kind, items in listed:
            for item in items:
                name = getattr(item, "name", None) or ""
                if name.startswith(prefix):
                    found.append(Resource(kind, str(getattr(item, "id", "")), name))
        return tuple(found)
