"""Cinder as its API reports it (R41, R42): volume services per site, A/A clusters, availability zones.

Each site's cinder-volume reports in the site's AZ; a DCN site's runs in an active/active cluster
named ``<CinderVolumeCluster>@<backend>`` (e.g. ``dcn0@tripleo_ceph``), which the cluster API shows
from microversion 3.7 on. Every site's AZ must exist with the same name in Nova and Cinder, or a
server and its volumes cannot meet (``cross_az_attach = False``).

The readers use openstacksdk's block-storage resources (services, clusters, zones). The services
and clusters are read at microversion 3.7, the first that shows clusters, rather than at the one
the SDK would negotiate: the evidence then names the documented request and version, and a Cinder
without clusters refuses the version instead of answering without the field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openstack.block_storage.v3._proxy import Proxy as BlockStorageProxy
from openstack.connection import Connection

from dcn_checks.clients import read_listing
from dcn_checks.errors import ParseError, TargetError
from dcn_checks.model import Site
from dcn_checks.serviceconf import Finding

log = logging.getLogger(__name__)

#: Clusters appear in the services and cluster APIs from Block Storage microversion 3.7.
CLUSTER_MICROVERSION = "3.7"
VOLUME_BINARY = "cinder-volume"


@dataclass(frozen=True, slots=True)
class VolumeService:
    """One entry of ``GET /os-services``."""

    binary: str
    host: str
    zone: str
    status: str  # enabled | disabled
    state: str  # up | down
    cluster: str | None


@dataclass(frozen=True, slots=True)
class VolumeCluster:
    """One entry of ``GET /clusters/detail`` (3.7+)."""

    name: str
    binary: str
    state: str
    status: str
    num_hosts: int
    num_down_hosts: int


@dataclass(frozen=True, slots=True)
class AvailabilityZone:
    """One entry of ``GET /os-availability-zone`` (Nova's and Cinder's have the same shape)."""

    name: str
    available: bool


def _entries(body: Mapping[str, Any], key: str, what: str) -> list[Mapping[str, Any]]:
    entries = body.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ParseError(f"{what}: expected a '{key}' list, got {body!r}")
    return entries


def _text(entry: Mapping[str, Any], key: str, what: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise ParseError(f"{what}: entry without '{key}': {entry!r}")
    return value


def parse_volume_services(body: Mapping[str, Any]) -> tuple[VolumeService, ...]:
    """Parse ``GET /os-services``, e.g. ``{"services": [{"binary": "cinder-volume", "host":
    "hostgroup@tripleo_ceph", "zone": "dcn0", "status": "enabled", "state": "up", "cluster":
    "dcn0@tripleo_ceph"}]}`` (``cluster`` from 3.7, null for a service outside any cluster)."""
    what = "GET /os-services"
    return tuple(
        VolumeService(
            binary=_text(entry, "binary", what),
            host=_text(entry, "host", what),
            zone=_text(entry, "zone", what),
            status=_text(entry, "status", what),
            state=_text(entry, "state", what),
            cluster=entry.get("cluster") or None,
        )
        for entry in _entries(body, "services", what)
    )


def parse_volume_clusters(body: Mapping[str, Any]) -> tuple[VolumeCluster, ...]:
    """Parse ``GET /clusters/detail``, e.g. ``{"clusters": [{"name": "dcn0@tripleo_ceph", "binary":
    "cinder-volume", "state": "up", "status": "enabled", "num_hosts": 2, "num_down_hosts": 0}]}``."""
    what = "GET /clusters/detail"
    clusters = []
    for entry in _entries(body, "clusters", what):
        hosts, down = entry.get("num_hosts"), entry.get("num_down_hosts")
        if not isinstance(hosts, int) or not isinstance(down, int):
            raise ParseError(f"{what}: cluster without host counts: {entry!r}")
        clusters.append(
            VolumeCluster(
                name=_text(entry, "name", what),
                binary=_text(entry, "binary", what),
                state=_text(entry, "state", what),
                status=_text(entry, "status", what),
                num_hosts=hosts,
                num_down_hosts=down,
            )
        )
    return tuple(clusters)


def parse_availability_zones(
    body: Mapping[str, Any], what: str = "GET /os-availability-zone"
) -> tuple[AvailabilityZone, ...]:
    """Parse ``GET /os-availability-zone`` of Nova or Cinder, e.g. ``{"availabilityZoneInfo":
    [{"zoneName": "dcn0", "zoneState": {"available": true}, "hosts": null}]}``."""
    zones = []
    for entry in _entries(body, "availabilityZoneInfo", what):
        state = entry.get("zoneState")
        available = state.get("available") if isinstance(state, dict) else None
        if not isinstance(available, bool):
            raise ParseError(f"{what}: zone without zoneState.available: {entry!r}")
        zones.append(AvailabilityZone(_text(entry, "zoneName", what), available))
    return tuple(zones)


# --- decisions ------------------------------------------------------------------------------------


def describe_service(service: VolumeService) -> str:
    """``hostgroup@tripleo_ceph (cluster dcn0@tripleo_ceph) in dcn0, enabled, up``."""
    cluster = f" (cluster {service.cluster})" if service.cluster else ""
    return f"{service.host}{cluster} in {service.zone}, {service.status}, {service.state}"


def is_site_cluster(cluster: str | None, site: Site) -> bool:
    """Whether a Cinder cluster name (``<CinderVolumeCluster>@<backend>``) is the site's A/A cluster."""
    return bool(cluster and site.volume_cluster and cluster.split("@", 1)[0] == site.volume_cluster)


def find_volume_service_findings(services: Sequence[VolumeService], site: Site) -> tuple[Finding, ...]:
    """The site has cinder-volume services in its AZ, all enabled and up, and every cinder-volume of
    its A/A cluster reports in that AZ (a cluster member in another AZ creates the site's volumes
    where no server of the site can attach them)."""
    volume = [s for s in services if s.binary == VOLUME_BINARY]
    in_zone = [s for s in volume if s.zone == site.cinder_az]
    findings: list[Finding] = []
    if not in_zone:
        zones = sorted({s.zone for s in volume if is_site_cluster(s.cluster, site)})
        seen = f"none (the site's cluster reports in {', '.join(zones)})" if zones else "none"
        findings.append(Finding(f"cinder-volume in zone {site.cinder_az}", seen, "at least one, up"))
    for service in in_zone:
        if service.state != "up" or service.status != "enabled":
            findings.append(
                Finding(f"cinder-volume {service.host}", f"{service.status}, {service.state}", "enabled, up")
            )
    for service in volume:
        if is_site_cluster(service.cluster, site) and service.zone != site.cinder_az:
            findings.append(Finding(f"zone of cinder-volume {service.host}", service.zone, site.cinder_az))
    return tuple(findings)


def find_volume_cluster_findings(clusters: Sequence[VolumeCluster], site: Site) -> tuple[Finding, ...]:
    """The site's A/A cluster ``<volume_cluster>@<backend>`` exists, enabled and up, with no down host."""
    wanted = f"{site.volume_cluster}@<backend>"
    mine = [c for c in clusters if c.binary == VOLUME_BINARY and is_site_cluster(c.name, site)]
    if not mine:
        names = ", ".join(sorted(c.name for c in clusters if c.binary == VOLUME_BINARY)) or "none"
        return (Finding("cinder-volume clusters", names, f"one named {wanted}"),)
    findings = []
    for cluster in mine:
        if cluster.state != "up" or cluster.status != "enabled" or cluster.num_down_hosts:
            seen = f"{cluster.status}, {cluster.state}, {cluster.num_down_hosts} of {cluster.num_hosts} hosts down"
            findings.append(Finding(f"cluster {cluster.name}", seen, "enabled, up, no host down"))
    return tuple(findings)


def find_az_agreement_findings(
    compute_zones: Sequence[AvailabilityZone], volume_zones: Sequence[AvailabilityZone], site: Site
) -> tuple[Finding, ...]:
    """The site's AZ is listed, available, by Nova and by Cinder under one name (NovaComputeAvailabilityZone
    = CinderStorageAvailabilityZone), so that a server and its volumes can be in the same AZ.

    Nova lists an AZ only while a compute host is in it, so a site without compute nodes in the model
    (a central site of controllers only) is looked up in Cinder alone."""
    findings = []
    sides = [("Cinder", volume_zones, site.cinder_az)]
    if site.nodes_with("NovaCompute"):
        sides.insert(0, ("Nova", compute_zones, site.az))
    for service, zones, az in sides:
        match = next((zone for zone in zones if zone.name == az), None)
        if match is None or not match.available:
            seen = f"{', '.join(sorted(z.name for z in zones if z.available)) or 'none'}"
            findings.append(Finding(f"{service} availability zones", seen, f"{az} available"))
    if site.az != site.cinder_az:
        findings.append(Finding("Cinder availability zone name", site.cinder_az, f"{site.az} (the Nova AZ)"))
    return tuple(findings)


def describe_zones(zones: Sequence[AvailabilityZone]) -> list[str]:
    """Zones as evidence lines: ``dcn0 (available)``."""
    return [f"{zone.name} ({'available' if zone.available else 'not available'})" for zone in zones]


# --- I/O ------------------------------------------------------------------------------------------


def _cinder_v3(conn: Connection) -> BlockStorageProxy:
    """The SDK's Block Storage v3 proxy: the cluster API and microversions exist only in v3."""
    proxy = conn.block_storage
    if not isinstance(proxy, BlockStorageProxy):
        raise TargetError("cinder: the catalog's block-storage endpoint has no Block Storage API v3")
    return proxy


def get_volume_services(conn: Connection) -> tuple[VolumeService, ...]:
    """``openstack volume service list --service cinder-volume`` (with clusters: microversion 3.7)."""
    return read_listing(
        "cinder",
        f"GET /os-services?binary={VOLUME_BINARY}",
        lambda: _cinder_v3(conn).services(binary=VOLUME_BINARY, microversion=CLUSTER_MICROVERSION),
        "services",
        parse_volume_services,
    )


def get_volume_clusters(conn: Connection) -> tuple[VolumeCluster, ...]:
    """``cinder --os-volume-api-version 3.7 cluster-list --detailed``."""
    return read_listing(
        "cinder",
        "GET /clusters/detail",
        lambda: _cinder_v3(conn).clusters(details=True, microversion=CLUSTER_MICROVERSION),
        "clusters",
        parse_volume_clusters,
    )


def get_volume_zones(conn: Connection) -> tuple[AvailabilityZone, ...]:
    """``openstack availability zone list --volume``."""
    request = "GET /os-availability-zone"
    return read_listing(
        "cinder",
        request,
        lambda: _cinder_v3(conn).availability_zones(),
        "availabilityZoneInfo",
        lambda body: parse_availability_zones(body, f"cinder: {request}"),
    )
