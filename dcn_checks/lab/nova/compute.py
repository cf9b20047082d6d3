"""nova-compute's work in the model: build, stop/start, snapshot, delete, attach, on the node's storage.

The API hands each request to this module in a worker thread, as nova-api casts to nova-compute.
Every operation reads the chosen node's nova.conf afresh and runs its RBD commands on that node,
so a node's configuration, keyrings and caps decide the outcome. Status follows storage:

- build: schedule into the requested AZ, prepare volumes, create the root disk (COW clone, copy by
  Glance, download + flat import, or Nova's refusal), "open" volume disks; ACTIVE or ERROR + fault;
- stop/start: SHUTOFF/ACTIVE (start re-opens the disks);
- createImage of an image-backed server: ``Rbd.direct_snapshot`` into the parent pool, registered
  through the node's Glance, so the image lives only in the node's store;
- delete: remove ``vms/<uuid>_disk`` and its snapshots, detach volumes, delete those marked
  ``delete_on_termination``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dcn_checks import waiters
from dcn_checks.errors import LabError, WaitFailed, WaitTimeout
from dcn_checks.lab.nodes import BindMount
from dcn_checks.lab.nova import block_devices, decisions, image_api, rbd_backend, volume_api
from dcn_checks.lab.nova.block_devices import BlockDeviceError, GuestDiskError
from dcn_checks.lab.nova.conf import COMPUTE_CONF, NovaConf, read_nova_conf
from dcn_checks.lab.nova.context import RequestContext
from dcn_checks.lab.nova.decisions import Clone, CopyToStore, ImageView, Refuse
from dcn_checks.lab.nova.rbd_backend import RbdDriver, RbdError
from dcn_checks.lab.nova.records import RUNNING, SHUTDOWN, BlockDevice, Fault, Server
from dcn_checks.lab.nova.service_client import ApiError, ServiceClient, find_endpoint
from dcn_checks.lab.nova.state import NovaState, StateNotFound
from dcn_checks.rbd import Location
from dcn_checks.release import ReleaseProfile

log = logging.getLogger(__name__)

DISK_SUFFIX = "_disk"
#: ``[DEFAULT] instances_path`` under a node root; fetched images land in its ``_base``.
INSTANCES_DIR = "var/lib/nova/instances"


def utcnow() -> str:
    """Nova's timestamp format for servers (``2013-09-03T04:01:32Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BuildAborted(LabError):
    """``BuildAbortException`` (or a failed reschedule): the server goes to ERROR with this fault."""

    def __init__(self, message: str, *, rescheduled: bool = False, code: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        #: A spawn failure: Nova reschedules (detaching volumes but keeping them) instead of aborting.
        self.rescheduled = rescheduled


@dataclass(frozen=True, slots=True)
class ComputeNode:
    """A compute node of the lab: its root directory and how it sees /etc/ceph."""

    name: str
    root: Path
    binds: tuple[BindMount, ...]

    def conf(self) -> NovaConf:
        """The node's nova.conf as it is now on disk."""
        return read_nova_conf(self.root, COMPUTE_CONF)

    def rbd_driver(self, conf: NovaConf) -> RbdDriver:
        return RbdDriver(
            node=self.name,
            binds=self.binds,
            ceph_conf=conf.images_rbd_ceph_conf,
            user=conf.rbd_user,
            pool=conf.images_rbd_pool,
        )


def find_compute_nodes(nodes_dir: Path, ceph_config_host_dir: str) -> dict[str, ComputeNode]:
    """The lab's compute nodes, keyed by ``[DEFAULT] host`` of their nova.conf (as services register)."""
    found: dict[str, ComputeNode] = {}
    for conf_path in sorted(nodes_dir.glob("*/" + COMPUTE_CONF.lstrip("/"))):
        root = conf_path.parents[len(Path(COMPUTE_CONF.lstrip("/")).parts) - 1]
        binds = (BindMount(root / ceph_config_host_dir.lstrip("/"), Path("/etc/ceph")),)
        conf = read_nova_conf(root, COMPUTE_CONF)
        found[conf.host] = ComputeNode(name=conf.host, root=root, binds=binds)
    return found


def node_logger(conf: NovaConf) -> logging.Logger:
    """The logger of one node's nova-compute, writing to the node's ``[DEFAULT] log_file``."""
    logger = logging.getLogger(f"nova.compute.{conf.host}")
    if conf.log_file and not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        Path(conf.log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(conf.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s nova.compute.manager %(message)s"))
        logger.addHandler(handler)
    return logger


def glance_client(conf: NovaConf, ctx: RequestContext) -> ServiceClient:
    """The node's Glance: ``[glance] endpoint_override``, else the catalog's image endpoint."""
    url = conf.glance_endpoint_override or find_endpoint(ctx.catalog, "image")
    if not url:
        raise LabError("no image endpoint in the catalog and no [glance] endpoint_override")
    return ServiceClient(url.rstrip("/"), ctx.token, ctx.service_headers())


def cinder_client(ctx: RequestContext) -> ServiceClient:
    """Cinder from the catalog (``[cinder] catalog_info`` volumev3, internal URL as TripleO sets it)."""
    url = find_endpoint(ctx.catalog, "volumev3")
    if not url:
        raise BlockDeviceError("Cinder (volumev3) is not in the service catalog")
    return ServiceClient(url, ctx.token, ctx.service_headers())


class Compute:
    """nova-compute of every compute node of the lab, sharing the model's state."""

    def __init__(self, state: NovaState, nodes: Mapping[str, ComputeNode], profile: ReleaseProfile) -> None:
        self.state = state
        self.nodes = dict(nodes)
        #: The release whose nova-compute this is (how it registers a snapshot's location).
        self.profile = profile

    # --- helpers ----------------------------------------------------------------------------------

    def node(self, host: str) -> ComputeNode:
        try:
            return self.nodes[host]
        except KeyError:
            raise LabError(f"no compute node {host}") from None

    def _update(self, server_id: str, **changes: Any) -> Server:
        now = utcnow()
        return self.state.update_server(server_id, lambda s: dataclasses.replace(s, updated=now, **changes))

    def _set_bdm(self, server_id: str, index: int, bdm: BlockDevice) -> None:
        def change(server: Server) -> Server:
            devices = list(server.block_devices)
            devices[index] = bdm
            return dataclasses.replace(server, block_devices=tuple(devices))

        self.state.update_server(server_id, change)

    def _fail_build(self, ctx: RequestContext, server_id: str, message: str, code: int = 500) -> None:
        """ERROR with a fault, host cleared (``_nil_out_instance_obj_host_and_node``)."""
        fault = Fault(message=message, code=code, created=utcnow())
        try:
            self._update(server_id, vm_state="error", task_state=None, power_state=0, host=None, fault=fault)
        except StateNotFound:
            return
        log.warning("instance %s: build failed: %s", server_id, message)

    # --- build ------------------------------------------------------------------------------------

    def build(self, ctx: RequestContext, server_id: str, host: str | None, zone: str | None) -> None:
        """Build a server on ``host`` of ``zone`` (the scheduler's pick; None: no valid host)."""
        if host is None:
            self._fail_build(ctx, server_id, decisions.NO_VALID_HOST)
            return
        try:
            self._build_on(ctx, server_id, host, zone)
        except BuildAborted as err:
            self._cleanup_failed_build(ctx, server_id, host, delete_volumes=not err.rescheduled)
            self._fail_build(ctx, server_id, err.message, err.code)
        except StateNotFound:
            log.info("instance %s disappeared during build", server_id)
        except Exception as err:  # a bug of the model: show it as Nova shows unexpected failures
            log.exception("instance %s: unexpected build failure", server_id)
            self._fail_build(ctx, server_id, f"Unexpected build failure: {err}")

    def _build_on(self, ctx: RequestContext, server_id: str, host: str, zone: str | None) -> None:
        node = self.node(host)
        conf = node.conf()
        logger = node_logger(conf)
        started = time.monotonic()
        # The conductor sets the instance's AZ to the selected host's before casting to the compute.
        server = self._update(server_id, host=host, availability_zone=zone, task_state="block_device_mapping")
        logger.info("[instance: %s] Attempting claim on node %s", server_id, host)
        try:
            server = self._prepare_volumes(ctx, conf, server)
        except ApiError as err:
            raise BuildAborted(decisions.build_aborted(server_id, err.message)) from err
        except BlockDeviceError as err:
            raise BuildAborted(decisions.build_aborted(server_id, str(err))) from err
        server = self._update(server_id, task_state="spawning")
        if not server.is_volume_backed:
            self._create_root_disk(ctx, node, conf, server, logger)
        try:
            block_devices.open_volume_disks(node.binds, conf, server)
        except GuestDiskError as err:
            logger.error("[instance: %s] Instance failed to spawn: libvirtError: %s", server_id, err)
            # Spawn failures are rescheduled; with no other host in the AZ the conductor gives up.
            raise BuildAborted(decisions.max_retries_exceeded(server_id), rescheduled=True) from err
        self._update(
            server_id, vm_state="active", task_state=None, power_state=RUNNING, launched_at=utcnow(), fault=None
        )
        logger.info("[instance: %s] Took %.2f seconds to build instance.", server_id, time.monotonic() - started)

    def _prepare_volumes(self, ctx: RequestContext, conf: NovaConf, server: Server) -> Server:
        """``_prep_block_device``: create the volumes Nova must create, then attach every volume."""
        if not any(bdm.destination_type == "volume" for bdm in server.block_devices):
            return server
        cinder = cinder_client(ctx)
        for index, bdm in enumerate(server.block_devices):
            if bdm.destination_type != "volume":
                continue
            if bdm.source_type in ("image", "snapshot", "blank") and bdm.volume_id is None:
                bdm = block_devices.create_volume_for(
                    cinder, conf, server, bdm, record=functools.partial(self._set_bdm, server.id, index)
                )
            bdm = block_devices.attach(cinder, conf, server, bdm, block_devices.device_name(index))
            self._set_bdm(server.id, index, bdm)
        return self.state.get_server(server.id)

    def _create_root_disk(
        self, ctx: RequestContext, node: ComputeNode, conf: NovaConf, server: Server, logger: logging.Logger
    ) -> None:
        """``_create_and_inject_local_root`` with the RBD backend's clone and its fallbacks."""
        glance = glance_client(conf, ctx)
        try:
            image = image_api.get_image(glance, server.image_id)
        except ApiError as err:
            raise BuildAborted(decisions.build_aborted(server.id, err.message)) from err
        disk = f"{server.id}{DISK_SUFFIX}"
        if not conf.uses_rbd:
            self._fetch(glance, node, image, None, disk, logger)
            return
        driver = node.rbd_driver(conf)
        fsid = rbd_backend.get_fsid(driver)
        copy_attempted = False
        copy_failure: str | None = None
        while True:
            cloneable = first_cloneable(driver, decisions.clone_candidates(image, fsid))
            step = decisions.plan_root_disk(
                conf, image, cloneable, copy_attempted=copy_attempted, copy_failure=copy_failure
            )
            if isinstance(step, Clone):
                logger.debug("[instance: %s] Selected location: %s", server.id, step.location)
                try:
                    rbd_backend.clone(driver, step.location, disk)
                except RbdError as err:
                    logger.error("[instance: %s] Instance failed to spawn: %s", server.id, err)
                    raise BuildAborted(decisions.max_retries_exceeded(server.id), rescheduled=True) from err
                break
            if isinstance(step, CopyToStore):
                copy_attempted = True
                logger.info("Asking glance to copy image %s to our rbd store %s", image.image_id, step.store)
                copy_failure = copy_to_store(glance, conf, image.image_id, step.store)
                image = image_api.get_image(glance, server.image_id)
                continue
            if isinstance(step, Refuse):
                logger.warning(
                    "Image %s is not on my ceph and [workarounds]/never_download_image_if_on_rbd=True; "
                    "refusing to fetch and upload.",
                    image.image_id,
                )
                raise BuildAborted(decisions.build_aborted(server.id, step.message))
            self._fetch(glance, node, image, driver, disk, logger)
            break
        size = decisions.root_disk_size(server.flavor)
        if size and size > rbd_backend.size(driver, disk):
            rbd_backend.resize(driver, disk, size)

    def _fetch(
        self,
        glance: ServiceClient,
        node: ComputeNode,
        image: ImageView,
        driver: RbdDriver | None,
        disk: str,
        logger: logging.Logger,
    ) -> None:
        """``fetch_image`` into ``_base/<sha1(image id)>``, then ``rbd import`` (flat) or a local disk file."""
        base = node.root / INSTANCES_DIR / "_base" / hashlib.sha1(image.image_id.encode()).hexdigest()
        logger.info("Downloading image %s from Glance to %s", image.image_id, base)
        image_api.download_image(glance, image.image_id, base)
        if driver is None:
            target = node.root / INSTANCES_DIR / disk.removesuffix(DISK_SUFFIX) / "disk"
            target.parent.mkdir(parents=True, exist_ok=True)
            base.replace(target)
            return
        try:
            rbd_backend.import_image(driver, base, disk)
        finally:
            base.unlink(missing_ok=True)

    def _cleanup_failed_build(self, ctx: RequestContext, server_id: str, host: str, *, delete_volumes: bool) -> None:
        """``_shutdown_instance`` + ``_cleanup_volumes``: remove the disk, detach (and maybe delete) volumes."""
        try:
            server = self.state.get_server(server_id)
            node = self.node(host)
            conf = node.conf()
            if conf.uses_rbd and not server.is_volume_backed:
                rbd_backend.destroy_volume(node.rbd_driver(conf), f"{server_id}{DISK_SUFFIX}")
            if any(bdm.volume_id for bdm in server.block_devices):
                cleared = block_devices.detach_all(cinder_client(ctx), server, delete_volumes=delete_volumes)
                for error in cleared:
                    log.warning("instance %s: cleanup: %s", server_id, error)
                self.state.update_server(
                    server_id,
                    lambda s: dataclasses.replace(
                        s,
                        block_devices=tuple(dataclasses.replace(b, attachment_id=None) for b in s.block_devices),
                    ),
                )
        except (LabError, ApiError) as err:
            log.warning("instance %s: cleanup after failed build: %s", server_id, err)

    # --- power ------------------------------------------------------------------------------------

    def stop(self, ctx: RequestContext, server_id: str) -> None:
        """``stop_instance``: the guest is powered off; the disks stay."""
        self._update(server_id, vm_state="stopped", task_state=None, power_state=SHUTDOWN)

    def start(self, ctx: RequestContext, server_id: str) -> None:
        """``start_instance``: the guest opens its disks again; if one cannot be opened it stays SHUTOFF."""
        server = self.state.get_server(server_id)
        try:
            if server.host is not None:
                node = self.node(server.host)
                conf = node.conf()
                if conf.uses_rbd and not server.is_volume_backed:
                    rbd_backend.info(node.rbd_driver(conf), f"{conf.images_rbd_pool}/{server_id}{DISK_SUFFIX}")
                block_devices.open_volume_disks(node.binds, conf, server)
        except (LabError, RbdError) as err:
            log.warning("instance %s: start failed: %s", server_id, err)
            self._update(server_id, task_state=None)
            return
        self._update(server_id, vm_state="active", task_state=None, power_state=RUNNING)

    # --- snapshot ---------------------------------------------------------------------------------

    def snapshot(self, ctx: RequestContext, server_id: str, image_id: str) -> None:
        """``LibvirtDriver.snapshot`` with ``Rbd.direct_snapshot``; on failure the image record is deleted."""
        server = self.state.get_server(server_id)
        node = self.node(server.host or "")
        conf = node.conf()
        glance = glance_client(conf, ctx)
        logger = node_logger(conf)
        try:
            self._update(server_id, task_state="image_pending_upload")
            self._update(server_id, task_state="image_uploading")
            url = direct_snapshot(node.rbd_driver(conf), glance, server, image_id)
            image_api.update_image(
                glance,
                image_id,
                {"disk_format": "raw", "container_format": "bare", **decisions.snapshot_properties(server.project_id)},
            )
            image_api.add_location(glance, image_id, url, method=self.profile.nova_snapshot_location)
            logger.info("[instance: %s] Snapshot image upload complete", server_id)
        except (LabError, ApiError) as err:
            logger.error("[instance: %s] Failed to snapshot image: %s", server_id, err)
            try:
                image_api.delete_image(glance, image_id)
            except ApiError as cleanup:
                log.warning("instance %s: could not delete failed snapshot image: %s", server_id, cleanup)
        finally:
            with contextlib.suppress(StateNotFound):
                self._update(server_id, task_state=None)

    # --- delete -----------------------------------------------------------------------------------

    def delete(self, ctx: RequestContext, server_id: str, *, build_timeout_s: float = 300.0) -> None:
        """``terminate_instance``: disks, attachments and delete_on_termination volumes, then the record.

        A server still building is deleted once its build has settled, so no disk appears after
        the delete (Nova's build and delete share the instance lock).
        """
        with contextlib.suppress(WaitTimeout):  # a build that never settles is deleted all the same
            waiters.wait_for(
                lambda: self.state.get_server(server_id).vm_state,
                lambda vm_state: vm_state != "building",
                timeout_s=build_timeout_s,
                description=f"build of instance {server_id} settled",
                interval_s=0.2,
            )
        server = self.state.get_server(server_id)
        try:
            if server.host is not None:
                node = self.node(server.host)
                conf = node.conf()
                if conf.uses_rbd:
                    driver = node.rbd_driver(conf)
                    rbd_backend.destroy_volume(driver, f"{server_id}{DISK_SUFFIX}")
            if any(bdm.volume_id for bdm in server.block_devices):
                for error in block_devices.detach_all(cinder_client(ctx), server, delete_volumes=True):
                    log.warning("instance %s: delete: %s", server_id, error)
        except (LabError, ApiError) as err:
            log.warning("instance %s: delete left storage behind: %s", server_id, err)
        self.state.delete_server(server_id)

    # --- volume attach/detach ---------------------------------------------------------------------

    def attach_volume(self, ctx: RequestContext, server_id: str, index: int) -> None:
        """``attach_volume`` on the compute: AZ check, connection, guest open; on failure undo the reservation."""
        server = self.state.get_server(server_id)
        bdm = server.block_devices[index]
        cinder = cinder_client(ctx)
        node = self.node(server.host or "")
        conf = node.conf()
        try:
            attached = block_devices.attach(cinder, conf, server, bdm, bdm.device_name or "")
            self._set_bdm(server_id, index, attached)
            block_devices.open_volume_disks(node.binds, conf, self.state.get_server(server_id))
        except (BlockDeviceError, GuestDiskError, ApiError) as err:
            node_logger(conf).error("[instance: %s] Failed to attach %s: %s", server_id, bdm.volume_id, err)
            if bdm.attachment_id:
                volume_api.attachment_delete(cinder, bdm.attachment_id)
            self._remove_bdm(server_id, bdm.volume_id)

    def detach_volume(self, ctx: RequestContext, server_id: str, volume_id: str) -> None:
        server = self.state.get_server(server_id)
        bdm = next((b for b in server.block_devices if b.volume_id == volume_id), None)
        if bdm is None:
            return
        if bdm.attachment_id:
            volume_api.attachment_delete(cinder_client(ctx), bdm.attachment_id)
        self._remove_bdm(server_id, volume_id)

    def _remove_bdm(self, server_id: str, volume_id: str | None) -> None:
        self.state.update_server(
            server_id,
            lambda s: dataclasses.replace(
                s, block_devices=tuple(b for b in s.block_devices if b.volume_id != volume_id)
            ),
        )


def first_cloneable(driver: RbdDriver, candidates: tuple[Location, ...]) -> tuple[Location, ...]:
    """``Rbd.clone``'s loop: probe each candidate with Nova's user and stop at the first that opens."""
    for location in candidates:
        if rbd_backend.exists(driver, location.pool, location.image, location.snapshot):
            return (location,)
    return ()


def copy_to_store(
    glance: ServiceClient, conf: NovaConf, image_id: str, store: str, *, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """``Rbd.copy_to_store``: ask Glance to copy, poll until done; return the failure reason or None."""
    try:
        image_api.copy_image_to_store(glance, image_id, store)
    except image_api.ImageBadRequest:
        pass  # raced with another node starting the same copy: poll for it
    except image_api.ImageImportImpossible as err:
        return str(err).split(": HTTP", 1)[0]
    try:
        waiters.wait_for(
            lambda: decisions.copy_progress(image_api.get_image(glance, image_id), store),
            lambda progress: progress == "done",
            timeout_s=conf.images_rbd_glance_copy_timeout,
            description=f"copy of image {image_id} to store {store}",
            fail_fast=lambda progress: "failed import" if progress == "failed" else None,
            interval_s=conf.images_rbd_glance_copy_poll_interval,
            sleep=sleep,
        )
    except WaitFailed as err:
        return decisions.copy_unsuccessful(store, err.reason)
    except WaitTimeout:
        return decisions.copy_timed_out(store)
    return None


def direct_snapshot(driver: RbdDriver, glance: ServiceClient, server: Server, image_id: str) -> str:
    """``Rbd.direct_snapshot``: snap the disk, clone it into the parent pool as the image, flatten,
    snap+protect ``snap``; return the location ``rbd://<fsid>/<pool>/<image_id>/snap``."""
    disk = f"{server.id}{DISK_SUFFIX}"
    fsid = rbd_backend.get_fsid(driver)
    parent = rbd_backend.parent_info(driver, disk)
    if parent is not None:
        parent_pool = parent[0]
    else:
        base = image_api.get_image(glance, server.image_id) if server.image_id else None
        found = decisions.parent_pool_from_image(base.locations if base else (), fsid)
        if found is None:
            raise LabError(
                decisions.image_unacceptable(server.image_id, decisions.parent_pool_unknown(server.image_id))
            )
        parent_pool = found
    snapshot_name = uuid.uuid4().hex
    rbd_backend.create_snap(driver, disk, snapshot_name, protect=True)
    source = Location(fsid=fsid, pool=driver.pool, image=disk, snapshot=snapshot_name)
    try:
        rbd_backend.clone(driver, source, image_id, dest_pool=parent_pool)
        rbd_backend.flatten(driver, image_id, pool=parent_pool)
    except RbdError:
        rbd_backend.destroy_volume(driver, image_id, pool=parent_pool)
        raise
    finally:
        rbd_backend.remove_snap(driver, disk, snapshot_name, force=True)
    rbd_backend.create_snap(driver, image_id, decisions.GLANCE_SNAPSHOT, pool=parent_pool, protect=True)
    return decisions.snapshot_url(fsid, parent_pool, image_id)
