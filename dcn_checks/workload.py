"""What the functional checks create on a cloud: flavors, images, copies, servers, volumes, snapshots.

Every resource is recorded in the run's ledger the moment the API returns its ID, before any wait,
so an interrupted or killed run leaves the list of what to remove (:mod:`dcn_checks.ledger`). Every
wait goes through :mod:`dcn_checks.waiters` with the target's timeout. What comes back is a frozen
value read at the edge, not an SDK resource, so the checks decide on plain data.

A wait that ends in ERROR, a timeout, or an HTTP refusal by the cloud is a finding about the
deployment, which the checks turn into their verdict (:func:`refusal`); a cloud that does not
answer at all is not, and stays the error it is (exit 4).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from openstack import exceptions as sdk_exc

from dcn_checks import glance, lifecycle, waiters
from dcn_checks.errors import GlanceError, WaitError
from dcn_checks.glance import GlanceImage
from dcn_checks.ledger import Ledger, ResourceKind

if TYPE_CHECKING:
    from openstack.connection import Connection

    from dcn_checks.runshare import QuietLock

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

#: The document's flavor: 1 GiB root disk, the size of vms/<uuid>_disk in its rbd listing.
FLAVOR_RAM_MIB = 64
FLAVOR_DISK_GIB = 1
#: The document's volumes are 8 GiB; 1 GiB proves the same clone and keeps a lab small.
VOLUME_GIB = 1
HTTP_OVER_QUOTA = 413


@dataclass(frozen=True, slots=True)
class ServerState:
    """A server as the checks judge it."""

    server_id: str
    name: str
    status: str
    availability_zone: str
    host: str
    fault: str
    volume_ids: tuple[str, ...]

    def describe(self) -> str:
        """``ERROR in dcn0 on - (No valid host was found.)``."""
        fault = f" ({self.fault})" if self.fault else ""
        return f"{self.status} in {self.availability_zone or '-'} on {self.host or '-'}{fault}"


@dataclass(frozen=True, slots=True)
class VolumeState:
    """A volume or a volume snapshot as the checks judge it."""

    volume_id: str
    status: str
    availability_zone: str
    size_gib: int
    attached_to: tuple[str, ...] = ()


def server_state(server: Any) -> ServerState:
    """Read an SDK Server into a :class:`ServerState` (Nova's ``fault.message`` for ERROR)."""
    fault = server.fault if isinstance(server.fault, Mapping) else {}
    return ServerState(
        server_id=str(server.id),
        name=str(server.name or ""),
        status=str(server.status or ""),
        availability_zone=str(server.availability_zone or ""),
        host=str(server.compute_host or server.hypervisor_hostname or ""),
        fault=str(fault.get("message", "")),
        volume_ids=tuple(str(a["id"]) for a in server.attached_volumes or [] if isinstance(a, Mapping)),
    )


def volume_state(volume: Any) -> VolumeState:
    """Read an SDK Volume or Snapshot into a :class:`VolumeState`."""
    attachments = getattr(volume, "attachments", None) or []
    return VolumeState(
        volume_id=str(volume.id),
        status=str(volume.status or ""),
        availability_zone=str(getattr(volume, "availability_zone", "") or ""),
        size_gib=int(volume.size or 0),
        attached_to=tuple(str(a.get("server_id")) for a in attachments if isinstance(a, Mapping)),
    )


def refusal(err: BaseException) -> str | None:
    """What the cloud said when it refused or failed an operation, or None when ``err`` is no such answer.

    A refusal (an HTTP status), a failed wait and a timed-out wait are what the deployment did; a
    connection that could not be made is not, and the caller lets it propagate.
    """
    if isinstance(err, WaitError):
        return str(err)
    if isinstance(err, GlanceError) and err.status is not None:
        return f"HTTP {err.status}: {err.message}"
    if isinstance(err, sdk_exc.HttpException) and err.status_code == HTTP_OVER_QUOTA:
        return None  # the project's quota, not the deployment: see over_quota
    if isinstance(err, sdk_exc.HttpException) and err.status_code is not None:
        details = str(err.details or err.message or "").strip().splitlines()
        return f"HTTP {err.status_code}: {details[0] if details else type(err).__name__}"
    return None


def _busy(method: Callable[P, R]) -> Callable[P, R]:
    """Run a create-and-wait under the run's quiet lock, shared (see :class:`dcn_checks.runshare.QuietLock`)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        workload = args[0]
        assert isinstance(workload, Workload)
        with workload.busy():
            return method(*args, **kwargs)

    return wrapper


def over_quota(err: BaseException) -> str | None:
    """The cloud's words when ``err`` is a quota refusal (413): the run needs more room, the deployment
    is not wrong; None otherwise."""
    if isinstance(err, sdk_exc.HttpException) and err.status_code == HTTP_OVER_QUOTA:
        details = str(err.details or err.message or "").strip().splitlines()
        return details[0] if details else "over quota"
    return None


@dataclass
class Workload:
    """Creates through one connection into one ledger, and waits with one timeout."""

    conn: Connection
    ledger: Ledger
    timeout_s: float
    interval_s: float = 0.5
    flavor_id: str | None = None  # the target's flavor, else one made at first use
    lock: QuietLock | None = None
    _made_flavor: str | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Hold the run's quiet lock shared while creating, deleting or waiting for either."""
        if self.lock is None:
            yield
            return
        with self.lock.busy():
            yield

    # --- flavors and images ------------------------------------------------------------------------

    @_busy
    def flavor(self) -> str:
        """The flavor of the boots: the target's, or one of the document's size made once for the run."""
        if self.flavor_id:
            return self.flavor_id
        if self._made_flavor is None:
            name = self.ledger.name("flavor")
            flavor = self.conn.compute.create_flavor(
                name=name, ram=FLAVOR_RAM_MIB, vcpus=1, disk=FLAVOR_DISK_GIB, is_public=True
            )
            self._made_flavor = self.ledger.record("flavor", str(flavor.id), name)
        return self._made_flavor

    @_busy
    def upload_image(self, purpose: str, data: bytes, store: str, *, endpoint: str | None = None) -> GlanceImage:
        """``glance image-create --disk-format raw --file ... --store <store>``; return it active."""
        image = glance.create_image(self.conn, self.ledger.name(purpose), endpoint=endpoint)
        self.ledger.record("image", image.image_id, image.name)
        glance.upload_image_to_store(self.conn, image.image_id, data, store, endpoint=endpoint)
        return self.wait_for_image(image.image_id, (store,))

    @_busy
    def import_image(self, purpose: str, url: str, store: str) -> GlanceImage:
        """``glance image-create-via-import --disk-format qcow2 --import-method web-download --uri URL
        --stores <store>``; return the image once it is active there."""
        image = glance.create_image(self.conn, self.ledger.name(purpose), disk_format="qcow2")
        self.ledger.record("image", image.image_id, image.name)
        glance.import_from_url(self.conn, image.image_id, url, (store,))
        return self.wait_for_image(image.image_id, (store,))

    @_busy
    def copy_image(
        self, image_id: str, stores: Collection[str], *, all_stores_must_succeed: bool = True
    ) -> GlanceImage:
        """``glance image-import --import-method copy-image --stores ...`` through central; wait for every copy.

        Each copy is recorded before the call: a run killed while Glance copies still names the copy.
        """
        self._record_copies(image_id, stores)
        glance.copy_image_to_stores(self.conn, image_id, stores, all_stores_must_succeed=all_stores_must_succeed)
        return self.wait_for_image(image_id, stores)

    @_busy
    def copy_image_settled(self, image_id: str, stores: Collection[str]) -> GlanceImage:
        """copy-image to ``stores`` with ``all_stores_must_succeed`` false; wait until Glance is done with
        every store, and return the image however that went (``stores`` and ``failed_import`` say)."""
        self._record_copies(image_id, stores)
        glance.copy_image_to_stores(self.conn, image_id, stores, all_stores_must_succeed=False)
        wanted = frozenset(stores)
        return waiters.wait_for(
            glance.image_probe(self.conn, image_id),
            lambda image: (
                image.status == "active"
                and not image.importing_to_stores
                and wanted <= image.stores | image.failed_import
            ),
            timeout_s=self.timeout_s,
            description=f"copy-image of {image_id} to {','.join(sorted(wanted))} settled",
            describe=glance.describe_image_state,
            interval_s=self.interval_s,
        )

    def _record_copies(self, image_id: str, stores: Collection[str]) -> None:
        for store in stores:
            self.ledger.record("image_copy", image_id, store_id=store)

    def wait_for_image(self, image_id: str, stores: Collection[str], *, endpoint: str | None = None) -> GlanceImage:
        """Wait until the image is active in ``stores`` with no import under way (central's Glance by default)."""
        return waiters.wait_for_image_in_stores(
            glance.image_probe(self.conn, image_id, endpoint=endpoint),
            image_id,
            stores,
            timeout_s=self.timeout_s,
            interval_s=self.interval_s,
        )

    # --- servers -----------------------------------------------------------------------------------

    @_busy
    def boot(
        self,
        purpose: str,
        availability_zone: str,
        *,
        image_id: str | None = None,
        volume_id: str | None = None,
        new_volume_gib: int | None = None,
        expect_error: bool = False,
    ) -> ServerState:
        """``openstack server create --availability-zone AZ`` from an image (COW), an existing volume
        (``--volume``) or an image into a new volume (``--image --boot-from-volume N``); no NIC.

        Waits for ACTIVE, or ACTIVE or ERROR with ``expect_error``. A boot volume Nova makes is
        recorded as soon as the server shows it, since it outlives the server.
        """
        args: dict[str, Any] = {"networks": "none"}
        if volume_id is not None:
            args["block_device_mapping"] = [
                {"uuid": volume_id, "source_type": "volume", "destination_type": "volume", "boot_index": 0}
            ]
        elif new_volume_gib is not None:
            args["block_device_mapping"] = [
                {
                    "uuid": image_id,
                    "source_type": "image",
                    "destination_type": "volume",
                    "volume_size": new_volume_gib,
                    "boot_index": 0,
                    "delete_on_termination": True,
                }
            ]
        else:
            args["image_id"] = image_id
        name = self.ledger.name(purpose)
        created = self.conn.compute.create_server(
            name=name, flavor_id=self.flavor(), availability_zone=availability_zone, **args
        )
        self.ledger.record("server", str(created.id), name)
        statuses = ("ACTIVE", "ERROR") if expect_error else ("ACTIVE",)
        server = self._wait_server(str(created.id), statuses)
        for volume in server.volume_ids:
            if volume != volume_id:
                self.ledger.record("volume", volume)
        return server

    def get_server(self, server_id: str) -> ServerState:
        return server_state(self.conn.compute.get_server(server_id))

    @_busy
    def stop(self, server_id: str) -> ServerState:
        """``openstack server stop``; wait for SHUTOFF (the document stops a server before its snapshots)."""
        self.conn.compute.stop_server(server_id)
        return self._wait_server(server_id, ("SHUTOFF",))

    @_busy
    def start(self, server_id: str) -> ServerState:
        """``openstack server start`` once the stopped server's task (a snapshot) is done; wait for ACTIVE."""
        self._wait_server(server_id, ("SHUTOFF",))
        self.conn.compute.start_server(server_id)
        return self._wait_server(server_id, ("ACTIVE",))

    @_busy
    def server_image(self, server_id: str, purpose: str) -> GlanceImage:
        """``openstack server image create --name ... --wait``: the snapshot image, active."""
        name = self.ledger.name(purpose)
        image = self.conn.compute.create_server_image(server_id, name, wait=False)
        image_id = str(image.id if hasattr(image, "id") else image)
        self.ledger.record("image", image_id, name)
        return self.wait_for_image(image_id, ())

    @_busy
    def attach(self, server_id: str, volume_id: str) -> None:
        """``openstack server add volume``; the cloud's refusal raises (see :func:`refusal`)."""
        self.conn.compute.create_volume_attachment(server_id, volume_id=volume_id)

    def _wait_server(self, server_id: str, statuses: Collection[str]) -> ServerState:
        return server_state(
            waiters.wait_for_server_status(
                lambda: self.conn.compute.get_server(server_id),
                server_id,
                statuses,
                timeout_s=self.timeout_s,
                interval_s=self.interval_s,
            )
        )

    # --- volumes -----------------------------------------------------------------------------------

    @_busy
    def volume(
        self, purpose: str, availability_zone: str, *, image_id: str | None = None, snapshot_id: str | None = None
    ) -> VolumeState:
        """``openstack volume create --size 1 --availability-zone AZ --image ID`` (or ``--snapshot``, or
        neither: an empty volume); available."""
        name = self.ledger.name(purpose)
        args: dict[str, Any] = {}
        if image_id:
            args["image_id"] = image_id
        if snapshot_id:
            args["snapshot_id"] = snapshot_id
        created = self.conn.block_storage.create_volume(
            name=name, size=VOLUME_GIB, availability_zone=availability_zone, **args
        )
        self.ledger.record("volume", str(created.id), name)
        return self._wait_volume(lambda: self.conn.block_storage.get_volume(created.id), str(created.id), "volume")

    def wait_volume_settled(self, volume_id: str) -> VolumeState:
        """Wait until an attach or detach is over (the volume ``available`` or ``in-use``); return it."""
        return self._wait_volume(
            lambda: self.conn.block_storage.get_volume(volume_id), volume_id, "volume", ("available", "in-use")
        )

    def discard(self, kind: ResourceKind, resource_id: str) -> None:
        """Remove what a check made and no longer needs, now (a run holds few volumes at once: quotas)."""
        resource = next(r for r in self.ledger.resources if r.kind == kind and r.resource_id == resource_id)
        with self.busy():
            report = lifecycle.remove_resources(
                lifecycle.SdkCloud(self.conn), [resource], timeout_s=self.timeout_s, on_removed=self.ledger.forget
            )
        for failure in report.failed:
            log.warning("could not remove %s yet: %s", failure.resource.label(), failure.reason)

    def get_volume(self, volume_id: str) -> VolumeState:
        return volume_state(self.conn.block_storage.get_volume(volume_id))

    @_busy
    def snapshot(self, volume_id: str, purpose: str, *, force: bool = True) -> VolumeState:
        """``openstack volume snapshot create --volume ID --force``: a snapshot of an in-use volume, available."""
        name = self.ledger.name(purpose)
        created = self.conn.block_storage.create_snapshot(volume_id=volume_id, name=name, is_forced=force)
        self.ledger.record("volume_snapshot", str(created.id), name)
        return self._wait_volume(
            lambda: self.conn.block_storage.get_snapshot(created.id), str(created.id), "volume snapshot"
        )

    def _wait_volume(
        self, probe: Callable[[], Any], volume_id: str, kind: str, statuses: Collection[str] = ("available",)
    ) -> VolumeState:
        return volume_state(
            waiters.wait_for_volume_status(
                probe, volume_id, statuses, kind=kind, timeout_s=self.timeout_s, interval_s=self.interval_s
            )
        )
