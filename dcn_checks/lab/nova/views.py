"""The Compute v2.1 response bodies, shaped per microversion as ``nova/api/openstack/compute/views`` does.

The model advertises microversions 2.1 to 2.87 (Ussuri's maximum, the lab's default release), and
shapes what openstacksdk and the ``openstack`` CLI read: the embedded flavor (2.47), ``swap`` as an
integer (2.75), ``delete_on_termination`` of attachments (2.79), ``uuid`` of aggregates (2.41),
service IDs as UUIDs (2.53). Admin-only fields (``OS-EXT-SRV-ATTR:*``, ``host_status``, fault
``details``) are shown to admins only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dcn_checks.lab.nova.records import Aggregate, BlockDevice, ComputeService, Flavor, Server

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 87)
Version = tuple[int, int]


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def parse_version(text: str) -> Version:
    """``2.79`` -> (2, 79); ``latest`` -> the maximum. ValueError for anything else."""
    if text.strip().lower() == "latest":
        return MAX_VERSION
    major, _, minor = text.strip().partition(".")
    return int(major), int(minor or 0)


def requested_version(headers: Mapping[str, str]) -> Version:
    """The microversion of a request: ``OpenStack-API-Version: compute X.Y`` or the legacy
    ``X-OpenStack-Nova-API-Version``; 2.1 when neither is sent. ValueError for a malformed value."""
    value = headers.get("HTTP_OPENSTACK_API_VERSION", "")
    for part in value.split(","):
        service, _, version = part.strip().partition(" ")
        if service.lower() == "compute" and version:
            return parse_version(version)
    legacy = headers.get("HTTP_X_OPENSTACK_NOVA_API_VERSION")
    if legacy:
        return parse_version(legacy)
    return MIN_VERSION


def version_document(base_url: str) -> dict[str, Any]:
    """``GET /v2.1``: the document keystoneauth discovers microversions from."""
    return {"version": _version(base_url)}


def versions_document(base_url: str) -> dict[str, Any]:
    """``GET /``: the versions list."""
    return {"versions": [_version(base_url)]}


def _version(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": version_text(MAX_VERSION),
        "min_version": version_text(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url}/v2.1/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


def _links(base_url: str, kind: str, item_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{base_url}/v2.1/{kind}/{item_id}"},
        {"rel": "bookmark", "href": f"{base_url}/{kind}/{item_id}"},
    ]


def _usage_time(value: str | None) -> str | None:
    """``OS-SRV-USG:launched_at`` is written without a zone designator (``2013-09-23T13:53:12.000000``)."""
    return None if value is None else value.rstrip("Z") + ".000000"


def flavor_view(flavor: Flavor, version: Version, base_url: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "vcpus": flavor.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "OS-FLV-DISABLED:disabled": False,
        "swap": flavor.swap if version >= (2, 75) or flavor.swap else "",
        "rxtx_factor": flavor.rxtx_factor,
        "os-flavor-access:is_public": flavor.is_public,
        "links": _links(base_url, "flavors", flavor.id),
    }
    if version >= (2, 55):
        view["description"] = flavor.description
    if version >= (2, 61):
        view["extra_specs"] = dict(flavor.extra_specs)
    return view


def flavor_summary(flavor: Flavor, version: Version, base_url: str) -> dict[str, Any]:
    view: dict[str, Any] = {"id": flavor.id, "name": flavor.name, "links": _links(base_url, "flavors", flavor.id)}
    if version >= (2, 55):
        view["description"] = flavor.description
    return view


def host_id(project_id: str, host: str | None) -> str:
    """``hostId``: sha224 of project and host, so tenants can tell co-location without seeing hosts."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def server_view(server: Server, version: Version, base_url: str, *, is_admin: bool) -> dict[str, Any]:
    """``GET /servers/{id}`` at ``version``."""
    view: dict[str, Any] = {
        "id": server.id,
        "name": server.name,
        "status": server.status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": dict(server.metadata),
        "hostId": host_id(server.project_id, server.host),
        "image": (
            {"id": server.image_id, "links": _links(base_url, "images", server.image_id)[1:]} if server.image_id else ""
        ),
        "flavor": _embedded_flavor(server.flavor, version, base_url),
        "created": server.created,
        "updated": server.updated,
        "addresses": {},
        "accessIPv4": "",
        "accessIPv6": "",
        "links": _links(base_url, "servers", server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": server.availability_zone or "",
        "config_drive": "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": _usage_time(server.launched_at),
        "OS-SRV-USG:terminated_at": None,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [_volume_attached(bdm, version) for bdm in server.attached_volumes],
        "security_groups": [{"name": "default"}],
    }
    if server.status in ("BUILD", "ACTIVE"):
        view["progress"] = 0 if server.status == "BUILD" else 100
    if is_admin:
        view.update(
            {
                "OS-EXT-SRV-ATTR:host": server.host,
                "OS-EXT-SRV-ATTR:hypervisor_hostname": server.host,
                "OS-EXT-SRV-ATTR:instance_name": f"instance-{server.id[:8]}",
            }
        )
        if version >= (2, 3):
            view.update(
                {
                    "OS-EXT-SRV-ATTR:hostname": server.name,
                    "OS-EXT-SRV-ATTR:launch_index": 0,
                    "OS-EXT-SRV-ATTR:reservation_id": f"r-{server.id[:8]}",
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:kernel_id": "",
                    "OS-EXT-SRV-ATTR:ramdisk_id": "",
                    "OS-EXT-SRV-ATTR:user_data": None,
                }
            )
        if version >= (2, 16):
            view["host_status"] = "UP" if server.host else ""
    if version >= (2, 9):
        view["locked"] = False
    if version >= (2, 19):
        view["description"] = server.description
    if version >= (2, 26):
        view["tags"] = []
    if version >= (2, 63):
        view["trusted_image_certificates"] = None
    if version >= (2, 71):
        view["server_groups"] = []
    if version >= (2, 73):
        view["locked_reason"] = None
    if server.fault is not None and server.status in ("ERROR", "DELETED"):
        fault: dict[str, Any] = {
            "code": server.fault.code,
            "created": server.fault.created,
            "message": server.fault.message,
        }
        if is_admin and server.fault.details:
            fault["details"] = server.fault.details
        view["fault"] = fault
    return view


def server_summary(server: Server, base_url: str) -> dict[str, Any]:
    return {"id": server.id, "name": server.name, "links": _links(base_url, "servers", server.id)}


def _embedded_flavor(flavor: Flavor, version: Version, base_url: str) -> dict[str, Any]:
    if version < (2, 47):
        return {"id": flavor.id, "links": _links(base_url, "flavors", flavor.id)[1:]}
    return {
        "vcpus": flavor.vcpus,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "ephemeral": flavor.ephemeral,
        "swap": flavor.swap,
        "original_name": flavor.name,
        "extra_specs": dict(flavor.extra_specs),
    }


def _volume_attached(bdm: BlockDevice, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {"id": bdm.volume_id}
    if version >= (2, 3):
        view["delete_on_termination"] = bdm.delete_on_termination
    return view


def volume_attachment_view(server_id: str, bdm: BlockDevice, version: Version) -> dict[str, Any]:
    """``GET /servers/{id}/os-volume_attachments/{volume_id}``."""
    view: dict[str, Any] = {"serverId": server_id, "volumeId": bdm.volume_id, "device": bdm.device_name}
    if version < (2, 89):
        view["id"] = bdm.volume_id
    if version >= (2, 70):
        view["tag"] = None
    if version >= (2, 79):
        view["delete_on_termination"] = bdm.delete_on_termination
    return view


def _aggregate_time(value: str | None) -> str | None:
    return None if value is None else value.rstrip("Z") + ".000000"


def aggregate_view(aggregate: Aggregate, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": aggregate.id,
        "name": aggregate.name,
        "availability_zone": aggregate.availability_zone,
        "hosts": list(aggregate.hosts),
        "metadata": dict(aggregate.metadata),
        "created_at": _aggregate_time(aggregate.created_at),
        "updated_at": _aggregate_time(aggregate.updated_at),
        "deleted": False,
        "deleted_at": None,
    }
    if version >= (2, 41):
        view["uuid"] = aggregate.uuid
    return view


def service_view(service: ComputeService, zone: str, version: Version) -> dict[str, Any]:
    return {
        "id": service.id if version >= (2, 53) else int(service.id[:8], 16) % 100000,
        "binary": service.binary,
        "host": service.host,
        "zone": zone,
        "status": service.status,
        "state": service.state,
        "updated_at": _aggregate_time(service.updated_at),
        "disabled_reason": service.disabled_reason,
        "forced_down": service.forced_down,
    }


def availability_zones_view(
    zones: Sequence[str], hosts_by_zone: Mapping[str, Iterable[ComputeService]] | None
) -> dict[str, Any]:
    """``GET /os-availability-zone`` (``hosts_by_zone`` None) or ``/detail`` (admin)."""
    info = []
    names = list(zones) + [zone for zone in (hosts_by_zone or {}) if zone not in zones]
    for zone in names:
        hosts: dict[str, Any] | None = None
        if hosts_by_zone is not None:
            hosts = {}
            for service in hosts_by_zone.get(zone, ()):
                hosts.setdefault(service.host, {})[service.binary] = {
                    "available": service.status == "enabled",
                    "active": service.state == "up",
                    "updated_at": _aggregate_time(service.updated_at),
                }
        info.append({"zoneName": zone, "zoneState": {"available": True}, "hosts": hosts})
    return {"availabilityZoneInfo": info}
