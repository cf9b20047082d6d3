"""Nova's decisions, as pure functions of nova.conf and of what Glance, Cinder and Ceph reported.

Each function follows one piece of Nova's code (named in its docstring), so that the lab takes the
same path a real compute node would: whether a boot is a COW clone, a copy by Glance, a download
or a refusal; which AZ a volume is created in; whether a volume may be attached; which libvirt
secret a guest disk opens with; where a direct snapshot goes. The messages are Nova's ``msg_fmt``
texts (``nova/exception.py``), because the checks match on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from dcn_checks.lab.nova.conf import NovaConf
from dcn_checks.lab.nova.records import Aggregate, Flavor
from dcn_checks.rbd import Location

GIB = 1024**3
#: The snapshot name glance_store (and Nova's direct snapshot) gives the protected snapshot of an image.
GLANCE_SNAPSHOT = "snap"

# --- Nova's messages --------------------------------------------------------------------------------

NO_LOCATIONS = "No image locations are accessible"
NOT_RAW = "Image is not raw format"
AZ_NOT_AVAILABLE = "The requested availability zone is not available"
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


def image_unacceptable(image_id: str, reason: str) -> str:
    """``ImageUnacceptable``: ``Image %(image_id)s is unacceptable: %(reason)s``."""
    return f"Image {image_id} is unacceptable: {reason}"


def build_aborted(instance_id: str, reason: str) -> str:
    """``BuildAbortException``: what an ImageUnacceptable during spawn becomes (compute manager)."""
    return f"Build of instance {instance_id} aborted: {reason}"


def max_retries_exceeded(instance_id: str) -> str:
    """``MaxRetriesExceeded`` from the conductor once a rescheduled build has no host left."""
    return (
        "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures "
        f"for instance {instance_id}."
    )


def volume_az_mismatch(instance_id: str, volume_id: str, instance_az: str | None, volume_az: str | None) -> str:
    """``InvalidVolume`` raised by ``nova.volume.cinder.API.check_availability_zone``."""
    return (
        f"Invalid volume: Instance {instance_id} and volume {volume_id} are not in the same availability_zone. "
        f"Instance is in {instance_az}. Volume is in {volume_az}"
    )


def copy_unsuccessful(store: str, reason: str) -> str:
    """The ImageUnacceptable reason of ``Rbd.copy_to_store`` when Glance reports the copy failed."""
    return f"Copy to store {store} unsuccessful because: {reason}"


def copy_timed_out(store: str) -> str:
    return f"Copy to store {store} timed out"


def parent_pool_unknown(image_id: str) -> str:
    """``Rbd._get_parent_pool`` when neither the disk's parent nor Glance names a pool on our cluster."""
    return f"Cannot determine the parent storage pool for {image_id}; cannot determine where to store images"


# --- the image of a boot ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageView:
    """An image as nova-compute's Glance client returned it with ``include_locations=True``.

    ``locations`` are the URLs of ``locations`` followed by ``direct_url``, as
    ``nova.image.glance.GlanceImageServiceV2.show`` builds the list: a Glance that hides
    ``locations`` but shows ``direct_url`` still gives Nova its first location.
    """

    image_id: str
    status: str
    disk_format: str | None
    container_format: str | None
    locations: tuple[str, ...]
    stores: tuple[str, ...] = ()
    importing_to_stores: tuple[str, ...] = ()
    failed_import: tuple[str, ...] = ()
    min_disk: int = 0
    size: int | None = None
    properties: Mapping[str, str] | None = None


def parse_nova_rbd_url(url: str) -> Location | None:
    """``RBDDriver.parse_url``: ``rbd://fsid/pool/image/snapshot``, unquoted, no blank part; else None."""
    prefix = "rbd://"
    if not url.startswith(prefix):
        return None
    pieces = [unquote(piece) for piece in url[len(prefix) :].split("/")]
    if "" in pieces or len(pieces) != 4:
        return None
    fsid, pool, image, snapshot = pieces
    return Location(fsid=fsid, pool=pool, image=image, snapshot=snapshot)


def clone_candidates(image: ImageView, local_fsid: str) -> tuple[Location, ...]:
    """The locations ``RBDDriver.is_cloneable`` accepts before its ``exists()`` probe, in Glance's order.

    A location qualifies when it parses as an RBD snapshot, its fsid is the local cluster's and the
    image is raw. The caller still probes each for ``pool/image@snapshot`` with Nova's own user, as
    Nova does, and clones the first that opens.
    """
    if image.disk_format != "raw":
        return ()
    found: list[Location] = []
    for url in image.locations:
        location = parse_nova_rbd_url(url)
        if location is not None and location.fsid == local_fsid and location not in found:
            found.append(location)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Clone:
    """COW clone ``vms/<server>_disk`` from this location (``RBDDriver.clone``)."""

    location: Location


@dataclass(frozen=True, slots=True)
class CopyToStore:
    """Ask Glance to copy the image to the node's store, then try the clone once more (``Rbd.copy_to_store``)."""

    store: str


@dataclass(frozen=True, slots=True)
class Fetch:
    """Download the image through Glance and import it flat (``libvirt_utils.fetch_image`` + ``rbd import``)."""

    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Refuse:
    """Fail the build with this ``ImageUnacceptable`` message (never_download_image_if_on_rbd)."""

    message: str


BootStep = Clone | CopyToStore | Fetch | Refuse


def plan_root_disk(
    conf: NovaConf,
    image: ImageView,
    cloneable: Sequence[Location],
    *,
    copy_attempted: bool = False,
    copy_failure: str | None = None,
) -> BootStep:
    """What nova-compute does next for an image-backed root disk.

    Follows ``LibvirtDriver._create_and_inject_local_root`` (``clone_fallback_to_fetch``) around
    ``Rbd.clone``: a non-raw image is refused by the clone; a cloneable location is cloned; with
    ``images_rbd_glance_store_name`` set (Wallaby+) Glance is asked once to copy the image to that
    store; otherwise, or when the copy failed, the clone's ``ImageUnacceptable`` stands, and with
    ``[workarounds] never_download_image_if_on_rbd`` the build fails on it, else the image is fetched.
    Without RBD ephemeral storage there is no clone: the image is always fetched.
    """
    if not conf.uses_rbd:
        return Fetch()
    if copy_failure is not None:
        reason = copy_failure
    elif image.disk_format not in ("raw", "iso"):
        reason = NOT_RAW
    elif cloneable:
        return Clone(cloneable[0])
    elif conf.images_rbd_glance_store_name and not copy_attempted:
        return CopyToStore(conf.images_rbd_glance_store_name)
    else:
        reason = NO_LOCATIONS
    if conf.never_download_image_if_on_rbd:
        return Refuse(image_unacceptable(image.image_id, reason))
    return Fetch(reason)


def copy_progress(image: ImageView, store: str) -> str:
    """``Rbd.copy_to_store._wait_for_copy``: ``failed``, ``done`` or ``pending`` for the copy to ``store``."""
    if store in image.failed_import:
        return "failed"
    if store not in image.importing_to_stores and store in image.stores:
        return "done"
    return "pending"


def root_disk_size(flavor: Flavor) -> int | None:
    """Bytes the root disk is grown to: ``flavor.root_gb`` GiB, or None for root_gb 0 (keep the image size)."""
    return flavor.disk * GIB if flavor.disk else None


# --- availability zones and hosts -------------------------------------------------------------------


def host_availability_zone(host: str, aggregates: Iterable[Aggregate], default_az: str) -> str:
    """``nova.availability_zones.get_host_availability_zone``: the AZs of the host's aggregates, joined
    with commas, or ``[DEFAULT] default_availability_zone`` when no aggregate of it names one."""
    zones = sorted({agg.availability_zone for agg in aggregates if host in agg.hosts and agg.availability_zone})
    return ",".join(zones) if zones else default_az


def available_zones(compute_hosts: Iterable[str], aggregates: Sequence[Aggregate], default_az: str) -> tuple[str, ...]:
    """The zones of enabled compute services (``availability_zones.get_availability_zones``), sorted."""
    return tuple(sorted({host_availability_zone(host, aggregates, default_az) for host in compute_hosts}))


def hosts_for_zone(
    requested_az: str | None, compute_hosts: Sequence[str], aggregates: Sequence[Aggregate], default_az: str
) -> tuple[str, ...]:
    """The compute hosts the scheduler may pick: those whose AZ is ``requested_az`` (all when None).

    This is what placement's aggregate filter and ``AvailabilityZoneFilter`` leave for a request
    with an AZ; the lab has no capacity to weigh, so the first host is taken.
    """
    if requested_az is None:
        return tuple(compute_hosts)
    return tuple(
        host
        for host in compute_hosts
        if requested_az in host_availability_zone(host, aggregates, default_az).split(",")
    )


# --- volumes ----------------------------------------------------------------------------------------


def volume_create_az(conf: NovaConf, instance_az: str | None) -> str | None:
    """``nova.virt.block_device._get_volume_create_az_value``: the instance's AZ only when
    ``[cinder] cross_az_attach`` is False; otherwise None, so Cinder picks its default AZ."""
    if conf.cross_az_attach:
        return None
    return instance_az


def check_availability_zone(
    conf: NovaConf, instance_id: str, instance_az: str | None, volume_id: str, volume_az: str | None
) -> str | None:
    """``nova.volume.cinder.API.check_availability_zone``: the InvalidVolume message, or None if allowed."""
    if conf.cross_az_attach or instance_az == volume_az:
        return None
    return volume_az_mismatch(instance_id, volume_id, instance_az, volume_az)


def validate_volume_azs_for_create(conf: NovaConf, instance_az: str | None, volume_azs: Sequence[str]) -> str | None:
    """``compute.api.API._validate_vol_az_for_create``: the MismatchVolumeAZException reason, or None.

    Only with ``cross_az_attach`` False: the volumes must share one AZ, and it must be the requested
    one (the case of no requested AZ, where Nova adopts the volumes' AZ, is ``adopted_zone``).
    """
    if conf.cross_az_attach or not volume_azs:
        return None
    if len(set(volume_azs)) > 1:
        return f"Volumes are in different availability zones: {','.join(volume_azs)}"
    if instance_az is not None and instance_az != volume_azs[0]:
        return (
            "Server and volumes are not in the same availability zone. "
            f"Server is in: {instance_az}. Volumes are in: {volume_azs[0]}"
        )
    return None


def adopted_zone(conf: NovaConf, instance_az: str | None, volume_azs: Sequence[str]) -> str | None:
    """The AZ Nova puts in the request spec when no AZ was requested and ``cross_az_attach`` is False:
    the volumes' AZ, unless it is the default AZ (``_validate_vol_az_for_create``)."""
    if conf.cross_az_attach or instance_az is not None or not volume_azs:
        return None
    return None if volume_azs[0] == conf.default_availability_zone else volume_azs[0]


def az_mismatch_message(reason: str) -> str:
    """``MismatchVolumeAZException`` (HTTP 409)."""
    return f"The availability zone between the server and its attached volumes do not match: {reason}."


# --- guest disks ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RbdConnection:
    """The ``data`` of an ``rbd`` connection_info Cinder returns from attachment_update."""

    name: str
    hosts: tuple[str, ...]
    ports: tuple[str, ...]
    auth_enabled: bool
    auth_username: str | None
    secret_uuid: str | None
    cluster_name: str | None = None


def parse_connection_info(info: Mapping[str, object]) -> RbdConnection:
    """Read Cinder's connection_info, e.g. ``{"driver_volume_type": "rbd", "data": {"name":
    "volumes/volume-<id>", "hosts": ["127.0.0.1"], "ports": ["6789"], "auth_enabled": true,
    "auth_username": "openstack", "secret_type": "ceph", "secret_uuid": "<fsid>", ...}}``."""
    if info.get("driver_volume_type") != "rbd":
        raise ValueError(f"connection_info of type {info.get('driver_volume_type')!r}; the model attaches rbd only")
    data = info.get("data")
    if not isinstance(data, Mapping):
        raise ValueError("connection_info has no data")
    hosts = data.get("hosts") or []
    ports = data.get("ports") or []
    secret = data.get("secret_uuid")
    username = data.get("auth_username")
    cluster = data.get("cluster_name")
    return RbdConnection(
        name=str(data["name"]),
        hosts=tuple(str(h) for h in hosts) if isinstance(hosts, list) else (),
        ports=tuple(str(p) for p in ports) if isinstance(ports, list) else (),
        auth_enabled=bool(data.get("auth_enabled")),
        auth_username=str(username) if username else None,
        secret_uuid=str(secret) if secret else None,
        cluster_name=str(cluster) if cluster else None,
    )


def guest_auth(connection: RbdConnection, conf: NovaConf) -> tuple[str | None, str | None]:
    """(username, libvirt secret UUID) of a guest's RBD volume disk.

    ``LibvirtNetVolumeDriver._set_auth_config_rbd``: Cinder's auth values win; Nova's own
    ``rbd_user``/``rbd_secret_uuid`` are used only when Cinder sends no secret UUID or no auth.
    """
    if connection.auth_enabled:
        if connection.secret_uuid is not None:
            return connection.auth_username, connection.secret_uuid
        return conf.rbd_user, conf.rbd_secret_uuid
    if conf.rbd_secret_uuid:
        return conf.rbd_user, conf.rbd_secret_uuid
    return None, None


def mon_addresses(connection: RbdConnection) -> str:
    """``-m`` value for the mons of a connection: each ``host:port`` as a msgr v1 address.

    Cinder reports the mons' legacy (v1) addresses; qemu reaches them on port 6789, which librados
    takes for v1. The lab's mons listen on random ports, so the protocol is spelt out.
    """
    pairs = []
    for host, port in zip(connection.hosts, connection.ports, strict=False):
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        pairs.append(f"v1:{shown}:{port}")
    return ",".join(pairs)


def secret_not_found(secret_uuid: str | None) -> str:
    """libvirt's error when a guest disk names a secret the host does not have."""
    return f"Secret not found: no secret with matching uuid '{secret_uuid}'"


def libvirt_secrets(conf: NovaConf) -> dict[str, str]:
    """The libvirt secrets of a compute node: UUID -> keyring that holds the secret's key.

    TripleO (ussuri/victoria ``nova_libvirt`` init) defines one secret, UUID ``CephClusterFSID``
    (= ``[libvirt] rbd_secret_uuid``), with the key of ``client.<CephClientUserName>`` of the
    stack's own cluster, i.e. ``/etc/ceph/<cluster>.client.<rbd_user>.keyring``.
    """
    if not conf.rbd_secret_uuid or not conf.rbd_user:
        return {}
    name = conf.images_rbd_ceph_conf.rsplit("/", 1)[-1] if conf.images_rbd_ceph_conf else "ceph.conf"
    cluster = name[: -len(".conf")] if name.endswith(".conf") else name
    return {conf.rbd_secret_uuid: f"/etc/ceph/{cluster}.client.{conf.rbd_user}.keyring"}


# --- snapshots --------------------------------------------------------------------------------------


def parent_pool_from_image(locations: Iterable[str], fsid: str) -> str | None:
    """``Rbd._get_parent_pool`` (the hard way): the pool of the first location on our cluster."""
    for url in locations:
        location = parse_nova_rbd_url(url)
        if location is not None and location.fsid == fsid:
            return location.pool
    return None


def snapshot_url(fsid: str, pool: str, image: str, snapshot: str = GLANCE_SNAPSHOT) -> str:
    """``rbd://<fsid>/<pool>/<image>/<snap>`` as ``Rbd.direct_snapshot`` hands it to Glance."""
    return f"rbd://{fsid}/{pool}/{image}/{snapshot}"


def snapshot_properties(project_id: str) -> dict[str, str]:
    """The properties ``LibvirtDriver._create_snapshot_metadata`` sets on the image after upload."""
    return {"image_location": "snapshot", "image_state": "available", "owner_id": project_id}
