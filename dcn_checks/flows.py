"""The source document's flows at each site, each done once per process and shared by the checks.

Several checks judge one flow from different sides (BOOT-001 the server's state and disk, WAN-001
the central cluster's counters around it, IMAGE-009 the image's copy under it), so each flow is a
memoised step: the first check that needs it runs it, the others get the same result, and a step
that the cloud refused fails every check that needs it with that refusal, at once, instead of
trying again. The golden image (in every store) is made once per run for all processes.

Steps and what the document does for them:

- ``cow_server(site)``: ``openstack server create --image <golden> --availability-zone <site>``;
- ``image_volume(site)`` / ``volume_server(site)``: ``openstack volume create --image`` in the
  site's AZ and a boot from it; ``root_snapshot(site)``: ``server stop``, ``volume snapshot create
  --force`` of its root volume, ``server start``; ``snapshot_server(site)``: a volume from that
  snapshot and a boot from it;
- ``bfv_server(site)``: ``openstack server create --image --boot-from-volume 1``;
- ``server_image(site)``: ``server stop``, ``server image create``, ``server start`` of the COW
  server; ``server_image_at_central(site)``: ``glance image-import --import-method copy-image
  --stores central``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from dcn_checks import cluster, rbd
from dcn_checks.cephcli import ClusterAdmin, admin_failure
from dcn_checks.errors import ParseError
from dcn_checks.glance import GlanceImage
from dcn_checks.lab.nodes import CommandResult
from dcn_checks.model import Site, SiteModel
from dcn_checks.requirements import Verdict
from dcn_checks.workload import ServerState, VolumeState, Workload, refusal

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The golden image: random bytes (RBD must not see zeroes it could skip) of a size that copies fast.
GOLDEN_BYTES = 8 * 1024 * 1024
# Listings of a pool in use that lose the race with a removal before one of them holds still.
LS_RACE_ATTEMPTS = 3


class StepRefused(Exception):
    """A step of a flow was refused or failed by the cloud; ``step`` says which, the message what it said."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


@dataclass(frozen=True, slots=True)
class Golden:
    """The run's golden image: uploaded to central's store, then copied to every DCN store in one call."""

    image_id: str
    name: str
    size: int
    os_hash_value: str
    sha512: str  # of the bytes uploaded
    disk_format: str
    stores_after_upload: tuple[str, ...]
    stores: tuple[str, ...]  # where it is active after the copy
    failed: tuple[str, ...]  # stores Glance reported in os_glance_failed_import
    copy_refusal: str  # what Glance said when it refused the one copy call for every store, or ""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Golden:
        values: dict[str, Any] = {key: tuple(v) if isinstance(v, list) else v for key, v in record.items()}
        return cls(**values)

    def record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def make_golden(workload: Workload, model: SiteModel) -> Golden:
    """Upload the golden image to central's store and copy it to every DCN store with one copy-image call.

    The copy is asked with ``all_stores_must_succeed`` false, so one broken site's store does not keep
    the image from the others; the stores it reached and those Glance gave up on are recorded.
    """
    data = os.urandom(GOLDEN_BYTES)
    central = model.central.store_id
    uploaded = workload.upload_image("golden", data, central)
    stores = [site.store_id for site in model.dcn_sites]
    refused = ""
    final = uploaded
    if stores:
        try:
            final = workload.copy_image_settled(uploaded.image_id, stores)
        except Exception as err:
            refused = _refusal_or_raise(err)
            # Glance refuses the whole call for one store it cannot use: copy to each store alone, so
            # the sites that work are judged on their own and only the broken one fails.
            for store in stores:
                try:
                    workload.copy_image_settled(uploaded.image_id, [store])
                except Exception as each:
                    _refusal_or_raise(each)
            final = workload.wait_for_image(uploaded.image_id, ())
    return Golden(
        image_id=uploaded.image_id,
        name=uploaded.name,
        size=len(data),
        os_hash_value=uploaded.os_hash_value or "",
        sha512=hashlib.sha512(data).hexdigest(),
        disk_format=uploaded.disk_format or "",
        stores_after_upload=tuple(sorted(uploaded.stores)),
        stores=tuple(sorted(final.stores)),
        failed=tuple(sorted(final.failed_import)),
        copy_refusal=refused,
    )


def _refusal_or_raise(err: Exception) -> str:
    said = refusal(err)
    if said is None:
        raise err
    return said


def _step(name: str) -> Callable[[Callable[[Flows, str], T]], Callable[[Flows, str], T]]:
    """Memoise a per-site step of :class:`Flows`: its result, or the refusal that ended it."""

    def decorate(method: Callable[[Flows, str], T]) -> Callable[[Flows, str], T]:
        @functools.wraps(method)
        def wrapper(self: Flows, site: str) -> T:
            key = (name, site)
            if key not in self.done:
                try:
                    self.done[key] = method(self, site)
                except StepRefused as err:
                    self.done[key] = err
                except Exception as err:
                    said = refusal(err)
                    if said is None:
                        raise
                    self.done[key] = StepRefused(f"{name} at {site}", said)
            result = self.done[key]
            if isinstance(result, StepRefused):
                raise result
            return result  # type: ignore[no-any-return]

        return wrapper

    return decorate


@dataclass
class Flows:
    """The document's flows at each DCN site, run on first need and kept for the other checks."""

    workload: Workload
    model: SiteModel
    golden_image: Callable[[], Golden]
    done: dict[tuple[str, str], Any] = field(default_factory=dict)

    def golden(self, site: str) -> Golden:
        """The golden image, which must be in ``site``'s store for the site's flows."""
        golden = self.golden_image()
        store = self.model.site(site).store_id
        if store not in golden.stores:
            why = golden.copy_refusal or (
                "Glance gave up the copy (os_glance_failed_import)" if store in golden.failed else "not copied"
            )
            raise StepRefused(f"golden image {golden.image_id} in store {store}", why)
        return golden

    @_step("COW boot")
    def cow_server(self, site: str) -> ServerState:
        return self.workload.boot(f"cow-{site}", site, image_id=self.golden(site).image_id)

    @_step("volume from image")
    def image_volume(self, site: str) -> VolumeState:
        return self.workload.volume(f"volume-{site}", site, image_id=self.golden(site).image_id)

    @_step("boot from volume")
    def volume_server(self, site: str) -> ServerState:
        return self.workload.boot(f"volume-server-{site}", site, volume_id=self.image_volume(site).volume_id)

    @_step("one-step boot from volume")
    def bfv_server(self, site: str) -> ServerState:
        golden = self.golden(site).image_id
        return self.workload.boot(f"bfv-{site}", site, image_id=golden, new_volume_gib=1, expect_error=True)

    @_step("forced snapshot of the root volume")
    def root_snapshot(self, site: str) -> VolumeState:
        server = self.volume_server(site)
        self.workload.stop(server.server_id)
        try:
            return self.workload.snapshot(self.image_volume(site).volume_id, f"root-snap-{site}")
        finally:
            self.workload.start(server.server_id)

    @_step("boot from a volume of the snapshot")
    def snapshot_server(self, site: str) -> ServerState:
        volume = self.workload.volume(f"from-snap-{site}", site, snapshot_id=self.root_snapshot(site).volume_id)
        return self.workload.boot(f"from-snap-server-{site}", site, volume_id=volume.volume_id)

    @_step("server image")
    def server_image(self, site: str) -> GlanceImage:
        server = self.cow_server(site)
        self.workload.stop(server.server_id)
        try:
            return self.workload.server_image(server.server_id, f"server-image-{site}")
        finally:
            self.workload.start(server.server_id)

    @_step("copy of the server image to central")
    def server_image_at_central(self, site: str) -> GlanceImage:
        image = self.server_image(site)
        return self.workload.copy_image(image.image_id, [self.model.central.store_id])


def need(verdict: Verdict, where: str, expected: str, step: Callable[[], T], mode: str = "") -> T:
    """Run a flow step a check depends on; its refusal fails the check, naming what was expected of it."""
    import pytest

    try:
        return step()
    except StepRefused as err:
        pytest.fail(verdict.message(where, str(err), expected, mode))


@dataclass(frozen=True)
class Pools:
    """What each site's cluster holds now, asked as client.admin on a mon node of the site; a command
    that fails fails the check with CLUSTER-001's message (the admin access, not the check, is at fault)."""

    admins: dict[str, ClusterAdmin]

    def _run(self, site: str, args: Sequence[str], tool: str, parse: Callable[[str], T]) -> T:
        return self._parse(site, args, self.admins[site].run_now(args, tool), parse)

    def _parse(self, site: str, args: Sequence[str], result: CommandResult, parse: Callable[[str], T]) -> T:
        admin = self.admins[site]
        if result.returncode != 0:
            _fail(admin_failure(admin, args, result))
        try:
            return parse(result.stdout)
        except ParseError as err:
            _fail(f"{admin.where}: {err}")

    def ls(self, site: str, pool: str) -> tuple[rbd.RbdEntry, ...]:
        """``rbd -p <pool> ls -l --format json`` on the site's cluster: images and their snapshots.

        ``ls -l`` opens every image it lists, so an image another client removes between the listing and
        the open fails the whole command with ENOENT; on a cloud in use (or beside the run's own other
        workers) that is a race, not a finding, and a fresh listing no longer holds the removed image."""
        args = ["-p", pool, "ls", "-l", "--format", "json"]
        for _ in range(LS_RACE_ATTEMPTS):
            result = self.admins[site].run_now(args, "rbd")
            if not rbd.is_listing_race(result.returncode, result.stderr):
                break
        return self._parse(site, args, result, rbd.parse_rbd_ls)

    def cow_disk_problem(self, site: Site, server_id: str, image_id: str) -> str | None:
        """Why the server's disk is not a COW clone of the image in the site's cluster, or None if it is."""
        disk_name = rbd.vm_disk_name(server_id)
        disk = rbd.find_image(self.ls(site.name, site.pools.vms), disk_name)
        if disk is None:
            return f"no {site.pools.vms}/{disk_name} in {site.cluster}'s cluster"
        if not rbd.is_cow_clone_of(disk, site.pools.images, image_id):
            parent = disk.parent.spec if disk.parent else "none (a flat copy)"
            return f"{site.pools.vms}/{disk_name} has parent {parent}"
        return None

    def osd_ops(self, site: str) -> cluster.OsdOps:
        """Client reads and writes every OSD of the site's cluster has served (``ceph tell osd.N perf dump``)."""
        total = cluster.OsdOps(0, 0)
        for osd in self._run(site, ["osd", "ls", "-f", "json"], "ceph", cluster.parse_osd_ids):
            total += self._run(site, ["tell", f"osd.{osd}", "perf", "dump", "osd"], "ceph", cluster.parse_osd_ops)
        return total


def _fail(message: str) -> NoReturn:
    import pytest

    pytest.fail(message)
