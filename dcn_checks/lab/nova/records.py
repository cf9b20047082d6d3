"""What the model's Nova knows: servers, flavors, aggregates, compute services, block device mappings.

These are the fields Nova's own objects carry that the API shows or the compute side acts on. They
are frozen: a change is a new value written through ``state``. Times are ISO 8601 strings in UTC as
Nova stores them, handed in by the caller (no clock here).

A server's status is derived from ``vm_state`` and ``task_state`` as Nova's API does
(``nova/api/openstack/common.py`` ``_STATE_MAP``): ``building`` -> BUILD, ``active`` -> ACTIVE,
``stopped`` -> SHUTOFF, ``error`` -> ERROR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

VmState = Literal["building", "active", "stopped", "error", "deleted"]
SourceType = Literal["image", "volume", "snapshot", "blank"]
DestinationType = Literal["local", "volume"]

#: ``nova.compute.power_state`` values the model uses.
NOSTATE = 0
RUNNING = 1
SHUTDOWN = 4

_STATUS: dict[str, str] = {
    "building": "BUILD",
    "active": "ACTIVE",
    "stopped": "SHUTOFF",
    "error": "ERROR",
    "deleted": "DELETED",
}


@dataclass(frozen=True, slots=True)
class Flavor:
    """A flavor; a server keeps a copy of the one it was built with (microversion 2.47 embeds it)."""

    id: str
    name: str
    ram: int
    vcpus: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None
    extra_specs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A host aggregate; ``availability_zone`` is its ``availability_zone`` metadata, as Nova keeps it."""

    id: int
    uuid: str
    name: str
    availability_zone: str | None
    hosts: tuple[str, ...]
    metadata: Mapping[str, str]
    created_at: str
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class ComputeService:
    """A nova service record (``os-services``); compute services are found from the nodes' nova.conf."""

    id: str
    binary: str
    host: str
    updated_at: str
    status: str = "enabled"
    state: str = "up"
    disabled_reason: str | None = None
    forced_down: bool = False


@dataclass(frozen=True, slots=True)
class BlockDevice:
    """One ``block_device_mapping_v2`` entry, plus what the build learnt (volume and attachment IDs)."""

    source_type: SourceType
    destination_type: DestinationType
    boot_index: int | None
    uuid: str | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False
    volume_type: str | None = None
    volume_id: str | None = None
    attachment_id: str | None = None
    device_name: str | None = None
    #: Cinder's connection_info from attachment_update, kept as Nova keeps it in the BDM.
    connection_info: Mapping[str, Any] | None = None

    @property
    def is_root_volume(self) -> bool:
        """The root disk is a Cinder volume (boot from volume)."""
        return self.boot_index == 0 and self.destination_type == "volume"


@dataclass(frozen=True, slots=True)
class Fault:
    """An instance fault as the API shows it on an ERROR server."""

    message: str
    code: int
    created: str
    details: str = ""


@dataclass(frozen=True, slots=True)
class Server:
    """One server (instance) of the model."""

    id: str
    name: str
    project_id: str
    user_id: str
    flavor: Flavor
    image_id: str
    created: str
    updated: str
    vm_state: VmState = "building"
    task_state: str | None = "scheduling"
    power_state: int = NOSTATE
    requested_az: str | None = None
    availability_zone: str | None = None
    host: str | None = None
    launched_at: str | None = None
    block_devices: tuple[BlockDevice, ...] = ()
    fault: Fault | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    key_name: str | None = None
    description: str | None = None
    #: The base image's properties Nova keeps in system metadata (``image_*``), for snapshots.
    image_properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """The API status (BUILD, ACTIVE, SHUTOFF, ERROR)."""
        return _STATUS[self.vm_state]

    @property
    def is_volume_backed(self) -> bool:
        """Booted from a volume: no image_ref, root disk is a BDM with destination volume."""
        return any(bdm.is_root_volume for bdm in self.block_devices)

    @property
    def root_volume(self) -> BlockDevice | None:
        return next((bdm for bdm in self.block_devices if bdm.is_root_volume), None)

    @property
    def attached_volumes(self) -> tuple[BlockDevice, ...]:
        """Volume BDMs that have a volume (``os-extended-volumes:volumes_attached``)."""
        return tuple(bdm for bdm in self.block_devices if bdm.destination_type == "volume" and bdm.volume_id)


def server_to_dict(server: Server) -> dict[str, Any]:
    """A JSON-ready dict of ``server`` (the form ``state`` stores)."""
    return dataclasses.asdict(server)


def server_from_dict(data: Mapping[str, Any]) -> Server:
    """The inverse of :func:`server_to_dict`."""
    values = dict(data)
    values["flavor"] = flavor_from_dict(values["flavor"])
    values["block_devices"] = tuple(BlockDevice(**bdm) for bdm in values.get("block_devices", ()))
    fault = values.get("fault")
    values["fault"] = Fault(**fault) if fault else None
    return Server(**values)


def flavor_from_dict(data: Mapping[str, Any]) -> Flavor:
    return Flavor(**data)


def aggregate_from_dict(data: Mapping[str, Any]) -> Aggregate:
    values = dict(data)
    values["hosts"] = tuple(values.get("hosts", ()))
    return Aggregate(**values)
