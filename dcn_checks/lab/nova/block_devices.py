"""A server's volumes, as ``nova.virt.block_device`` and the compute manager handle them.

Boot from volume at a DCN site turns on two of Nova's rules: the volume Nova creates for an
``image -> volume`` mapping is asked for in the server's AZ only when ``[cinder] cross_az_attach``
is False (``_get_volume_create_az_value``), and every attach first checks that volume and server
share an AZ when it is False (``check_availability_zone``). The guest then opens the volume with
Cinder's connection_info and a libvirt secret of the compute node; with no guest, the model opens
it with ``rbd`` using the same mons, user and key (``rbd_backend.open_guest_disk``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from dcn_checks import waiters
from dcn_checks.errors import LabError, WaitError, WaitTimeout
from dcn_checks.lab.nodes import BindMount
from dcn_checks.lab.nova import decisions, volume_api
from dcn_checks.lab.nova.conf import NovaConf
from dcn_checks.lab.nova.decisions import RbdConnection
from dcn_checks.lab.nova.rbd_backend import RbdError, open_guest_disk
from dcn_checks.lab.nova.records import BlockDevice, Server
from dcn_checks.lab.nova.service_client import ApiError, ServiceClient

log = logging.getLogger(__name__)

#: ``[DEFAULT] block_device_allocate_retries`` (60) x ``block_device_allocate_retries_interval`` (3 s).
VOLUME_CREATE_TIMEOUT_S = 180.0
#: Volume statuses in which Cinder refuses a delete that it would accept a moment later.
_BUSY_VOLUME_STATUSES = frozenset({"detaching", "attaching", "in-use", "reserved", "creating"})


class BlockDeviceError(LabError):
    """A volume could not be prepared; the message is what ``InvalidBDM(str(ex))`` carries."""


class GuestDiskError(LabError):
    """The "guest" could not open a volume disk: libvirt would fail to start the domain."""


def device_name(index: int) -> str:
    """``/dev/vda``, ``/dev/vdb``, ... (virtio disk names in mapping order)."""
    return f"/dev/vd{chr(ord('a') + index)}"


def connector(conf: NovaConf) -> dict[str, object]:
    """The volume connector of the compute host (``LibvirtDriver.get_volume_connector``)."""
    return {
        "host": conf.host,
        "ip": "127.0.0.1",
        "initiator": None,
        "platform": "x86_64",
        "os_type": "linux",
        "multipath": False,
        "do_local_attach": False,
    }


def volume_not_created(volume_id: str, seconds: float, attempts: int, status: str) -> str:
    """``VolumeNotCreated``."""
    return (
        f"Volume {volume_id} did not finish being created even after we waited {int(seconds)} seconds or "
        f"{attempts} attempts. And its status is {status}."
    )


def create_volume_for(
    cinder: ServiceClient,
    conf: NovaConf,
    server: Server,
    bdm: BlockDevice,
    *,
    record: Callable[[BlockDevice], None],
    sleep: Callable[[float], None] = time.sleep,
) -> BlockDevice:
    """``DriverImageBlockDevice``/``DriverSnapshotBlockDevice``/``DriverBlankBlockDevice`` ``_create_volume``.

    The AZ passed to Cinder is ``decisions.volume_create_az``. ``record`` is called with the mapping
    as soon as Cinder returned the volume ID, so a failed build still knows what to clean up.
    """
    size = bdm.volume_size or 0
    az = decisions.volume_create_az(conf, server.availability_zone)
    volume = volume_api.create_volume(
        cinder,
        size=size,
        availability_zone=az,
        image_id=bdm.uuid if bdm.source_type == "image" else None,
        snapshot_id=bdm.uuid if bdm.source_type == "snapshot" else None,
        volume_type=bdm.volume_type,
        name=f"{server.id}-blank-vol" if bdm.source_type == "blank" else "",
    )
    log.info("instance %s: volume %s requested in AZ %s", server.id, volume.id, az or "<cinder default>")
    bdm = dataclasses.replace(bdm, volume_id=volume.id)
    record(bdm)
    volume_id = volume.id
    attempts = 0

    def probe() -> volume_api.Volume:
        nonlocal attempts
        attempts += 1
        return volume_api.get_volume(cinder, volume_id)

    try:
        waiters.wait_for_volume_status(probe, volume_id, timeout_s=VOLUME_CREATE_TIMEOUT_S, sleep=sleep)
    except WaitError as err:
        status = str(getattr(err.last_state, "status", err.last_state))
        raise BlockDeviceError(volume_not_created(volume_id, err.elapsed_s, attempts, status)) from err
    attachment_id = volume_api.attachment_create(cinder, volume.id, server.id)
    bdm = dataclasses.replace(bdm, attachment_id=attachment_id)
    record(bdm)
    return bdm


def attach(cinder: ServiceClient, conf: NovaConf, server: Server, bdm: BlockDevice, mountpoint: str) -> BlockDevice:
    """``DriverVolumeBlockDevice.attach``: the AZ check, then attachment_update and attachment_complete."""
    if bdm.volume_id is None or bdm.attachment_id is None:
        raise BlockDeviceError(f"block device mapping of instance {server.id} has no volume or attachment")
    volume = volume_api.get_volume(cinder, bdm.volume_id)
    refused = decisions.check_availability_zone(
        conf, server.id, server.availability_zone, volume.id, volume.availability_zone
    )
    if refused is not None:
        raise BlockDeviceError(refused)
    info = volume_api.attachment_update(cinder, bdm.attachment_id, connector(conf), mountpoint)
    volume_api.attachment_complete(cinder, bdm.attachment_id)
    return dataclasses.replace(bdm, connection_info=info, device_name=mountpoint)


def open_volume_disks(binds: Sequence[BindMount], conf: NovaConf, server: Server) -> None:
    """Open every attached volume as the guest would; raise GuestDiskError with libvirt's reason."""
    secrets = decisions.libvirt_secrets(conf)
    for bdm in server.attached_volumes:
        if not bdm.connection_info:
            continue
        try:
            connection: RbdConnection = decisions.parse_connection_info(bdm.connection_info)
        except (ValueError, KeyError) as err:
            raise GuestDiskError(f"volume {bdm.volume_id}: {err}") from err
        user, secret_uuid = decisions.guest_auth(connection, conf)
        keyring = secrets.get(secret_uuid or "")
        if secret_uuid is not None and keyring is None:
            raise GuestDiskError(decisions.secret_not_found(secret_uuid))
        try:
            open_guest_disk(
                binds,
                conf.host,
                name=connection.name,
                mons=decisions.mon_addresses(connection),
                user=user,
                keyring=keyring,
            )
        except RbdError as err:
            raise GuestDiskError(f"qemu could not open {connection.name}: {err.detail}") from err


def detach_all(cinder: ServiceClient, server: Server, *, delete_volumes: bool) -> list[str]:
    """``_cleanup_volumes``/``_shutdown_instance``: delete every attachment, and with ``delete_volumes``
    every volume marked ``delete_on_termination``. Keep going past errors; return them."""
    errors: list[str] = []
    for bdm in server.block_devices:
        if bdm.volume_id is None:
            continue
        try:
            if bdm.attachment_id:
                volume_api.attachment_delete(cinder, bdm.attachment_id)
            if delete_volumes and bdm.delete_on_termination:
                _delete_when_detached(cinder, bdm.volume_id)
        except ApiError as err:
            errors.append(str(err))
    return errors


def _delete_when_detached(cinder: ServiceClient, volume_id: str, timeout_s: float = 60.0) -> None:
    """Cinder refuses to delete a volume that is still ``detaching``; wait for it to settle first.

    A volume that does not settle in time is asked to go all the same: Cinder's refusal says why.
    """

    def find() -> volume_api.Volume | None:
        try:
            return volume_api.get_volume(cinder, volume_id)
        except volume_api.VolumeNotFound:
            return None

    try:
        settled = waiters.wait_for(
            find,
            lambda volume: volume is None or volume.status not in _BUSY_VOLUME_STATUSES,
            timeout_s=timeout_s,
            description=f"volume {volume_id} detached",
        )
    except WaitTimeout as err:
        log.warning("%s; deleting it all the same", err)
    else:
        if settled is None:
            return
    volume_api.delete_volume(cinder, volume_id)
