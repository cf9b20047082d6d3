"""Nova as its API reports it (R40, R42): the AZ aggregate of each DCN site and its compute services.

TripleO writes no AZ into nova.conf: the NovaAZConfig service of each stack creates a host aggregate
whose ``availability_zone`` is NovaComputeAvailabilityZone (the stack name when empty) and adds the
stack's computes to it. So a site's AZ exists in Nova exactly when that aggregate exists with the
site's compute hosts in it, and a server asked for in AZ ``dcn0`` lands on a dcn0 compute only then.

Nova reports hosts by the name nova-compute registers (``[DEFAULT] host``, often an FQDN such as
``dcn0-hci-0.localdomain``); the site model names nodes by their short name, so hosts are compared
by the part before the first dot.

The readers use openstacksdk's resources at the microversion it negotiates (aggregates, services
and zones keep the fields read here at every microversion from 2.1 on).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openstack.connection import Connection

from dcn_checks.clients import read_listing
from dcn_checks.errors import ParseError
from dcn_checks.model import Site
from dcn_checks.serviceconf import Finding
from dcn_checks.volumeapi import AvailabilityZone, parse_availability_zones

log = logging.getLogger(__name__)

COMPUTE_BINARY = "nova-compute"


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One entry of ``GET /os-aggregates``."""

    name: str
    availability_zone: str | None
    hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ComputeService:
    """One entry of ``GET /os-services``."""

    binary: str
    host: str
    zone: str
    status: str  # enabled | disabled
    state: str  # up | down


def short_host(host: str) -> str:
    """``dcn0-hci-0.localdomain`` -> ``dcn0-hci-0``."""
    return host.split(".", 1)[0]


def _entries(body: Mapping[str, Any], key: str, what: str) -> list[Mapping[str, Any]]:
    entries = body.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ParseError(f"{what}: expected a '{key}' list, got {body!r}")
    return entries


def parse_aggregates(body: Mapping[str, Any]) -> tuple[Aggregate, ...]:
    """Parse ``GET /os-aggregates``, e.g. ``{"aggregates": [{"id": 1, "name": "dcn0", "availability_zone":
    "dcn0", "hosts": ["dcn0-hci-0.localdomain"], "metadata": {"availability_zone": "dcn0"}}]}``."""
    aggregates = []
    for entry in _entries(body, "aggregates", "GET /os-aggregates"):
        name, zone, hosts = entry.get("name"), entry.get("availability_zone"), entry.get("hosts") or []
        if not isinstance(name, str) or not (zone is None or isinstance(zone, str)) or not isinstance(hosts, list):
            raise ParseError(f"GET /os-aggregates: malformed aggregate {entry!r}")
        aggregates.append(Aggregate(name, zone or None, tuple(str(host) for host in hosts)))
    return tuple(aggregates)


def parse_compute_services(body: Mapping[str, Any]) -> tuple[ComputeService, ...]:
    """Parse ``GET /os-services``, e.g. ``{"services": [{"binary": "nova-compute", "host":
    "dcn0-hci-0.localdomain", "zone": "dcn0", "status": "enabled", "state": "up"}]}``."""
    services = []
    for entry in _entries(body, "services", "GET /os-services"):
        values = [entry.get(key) for key in ("binary", "host", "zone", "status", "state")]
        if not all(isinstance(value, str) for value in values):
            raise ParseError(f"GET /os-services: malformed service {entry!r}")
        services.append(ComputeService(*values))  # type: ignore[arg-type]
    return tuple(services)


# --- decisions ------------------------------------------------------------------------------------


def compute_hosts(site: Site) -> frozenset[str]:
    """The site model's compute nodes of a site (nodes with NovaCompute), by short name."""
    return frozenset(node.name for node in site.nodes_with("NovaCompute"))


def find_aggregate_findings(aggregates: Sequence[Aggregate], site: Site) -> tuple[Finding, ...]:
    """Exactly one aggregate has the site's AZ, and its hosts are the site's compute nodes: a missing
    host cannot be scheduled in the AZ, a foreign host takes the site's servers to another site."""
    mine = [a for a in aggregates if a.availability_zone == site.az]
    if len(mine) != 1:
        names = ", ".join(a.name for a in mine) or "none"
        return (Finding(f"aggregates with availability_zone {site.az}", names, "exactly one"),)
    aggregate = mine[0]
    hosts = sorted(short_host(host) for host in aggregate.hosts)
    wanted = sorted(compute_hosts(site))
    if hosts == wanted:
        return ()
    return (Finding(f"hosts of aggregate {aggregate.name}", ", ".join(hosts) or "none", ", ".join(wanted)),)


def find_compute_service_findings(services: Sequence[ComputeService], site: Site) -> tuple[Finding, ...]:
    """Every compute node of the site runs nova-compute in the site's AZ, enabled and up."""
    computes = {short_host(s.host): s for s in services if s.binary == COMPUTE_BINARY}
    findings = []
    for host in sorted(compute_hosts(site)):
        service = computes.get(host)
        if service is None:
            findings.append(Finding(f"nova-compute on {host}", None, f"in zone {site.az}, enabled and up"))
        elif service.zone != site.az or service.state != "up" or service.status != "enabled":
            seen = f"in zone {service.zone}, {service.status}, {service.state}"
            findings.append(Finding(f"nova-compute on {host}", seen, f"in zone {site.az}, enabled and up"))
    return tuple(findings)


def describe_aggregates(aggregates: Sequence[Aggregate]) -> list[str]:
    """Aggregates as evidence lines: ``dcn0: az dcn0, hosts dcn0-hci-0``."""
    return [f"{a.name}: az {a.availability_zone or '-'}, hosts {', '.join(a.hosts) or '-'}" for a in aggregates]


def describe_services(services: Sequence[ComputeService]) -> list[str]:
    """Compute services as evidence lines."""
    return [f"{s.binary} {s.host} in {s.zone}, {s.status}, {s.state}" for s in services]


# --- I/O ------------------------------------------------------------------------------------------


def get_aggregates(conn: Connection) -> tuple[Aggregate, ...]:
    """``openstack aggregate list --long``."""
    return read_listing("nova", "GET /os-aggregates", conn.compute.aggregates, "aggregates", parse_aggregates)


def get_compute_services(conn: Connection) -> tuple[ComputeService, ...]:
    """``openstack compute service list --service nova-compute``."""
    return read_listing(
        "nova",
        f"GET /os-services?binary={COMPUTE_BINARY}",
        lambda: conn.compute.services(binary=COMPUTE_BINARY),
        "services",
        parse_compute_services,
    )


def get_compute_zones(conn: Connection) -> tuple[AvailabilityZone, ...]:
    """``openstack availability zone list --compute``."""
    request = "GET /os-availability-zone"
    return read_listing(
        "nova",
        request,
        conn.compute.availability_zones,
        "availabilityZoneInfo",
        lambda body: parse_availability_zones(body, f"nova: {request}"),
    )
