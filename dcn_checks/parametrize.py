"""Which cases a check has, computed from the site model at collection time.

A check asks for a case by naming a fixture argument (``site``, ``dcn_site``, ``node``,
``client_binding``, ``site_pair``); the plugin parametrizes it with the cases below, so only
applicable cases exist and their IDs name sites and nodes, never values: ``[dcn0]``,
``[dcn0-hci-0]``, ``[dcn0-hci-0->central]``, ``[central->dcn1]``. Service cases (``glance_service``,
``glance_endpoint``) add the service: ``[controller-0/glance_api_internal]``, ``[central/glance_api]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dcn_checks.glanceconf import GlanceService, get_glance_services
from dcn_checks.model import Node, Site, SiteModel

#: Services whose containers open Ceph clusters as clients (THT mounts CephConfigPath into them).
CLIENT_SERVICES = frozenset({"NovaCompute", "GlanceApi", "GlanceApiEdge", "CinderVolume"})


@dataclass(frozen=True, slots=True)
class NodeCase:
    """A node of a site."""

    site: Site
    node: Node

    @property
    def where(self) -> str:
        """How a failure message names the case: ``dcn0 (dcn0-hci-0)``."""
        return f"{self.site.name} ({self.node.name})"


@dataclass(frozen=True, slots=True)
class ClientBinding:
    """A node that is a client of a cluster: the node's site, the node and the site owning the cluster."""

    site: Site
    node: Node
    cluster_site: Site

    @property
    def where(self) -> str:
        """How a failure message names the case: ``dcn0-hci-0 -> central``."""
        return f"{self.node.name} -> {self.cluster_site.name}"


@dataclass(frozen=True, slots=True)
class SitePair:
    """An ordered pair of sites: ``client`` reaches the cluster of ``server``."""

    client: Site
    server: Site


@dataclass(frozen=True, slots=True)
class DcnPair:
    """An ordered pair of DCN sites: an image made at ``site`` travels through central to ``other``."""

    site: Site
    other: Site

    @property
    def where(self) -> str:
        """``dcn0->dcn1``."""
        return f"{self.site.name}->{self.other.name}"


@dataclass(frozen=True, slots=True)
class GlanceServiceCase:
    """One glance-api service on a node (``glance_api`` or ``glance_api_internal``, by release)."""

    site: Site
    node: Node
    service: GlanceService

    @property
    def where(self) -> str:
        """How a failure message names the case: ``central (controller-0 glance_api_internal)``."""
        return f"{self.site.name} ({self.node.name} {self.service})"


@dataclass(frozen=True, slots=True)
class GlanceEndpointCase:
    """One Glance API of a site as clients reach it: central's public and internal, each DCN site's own."""

    site: Site
    service: GlanceService


def site_of(case: object) -> str | None:
    """The site a case is about, for the report: the site itself, a node's or binding's site, a pair's client."""
    if isinstance(case, Site):
        return case.name
    site = getattr(case, "site", None) or getattr(case, "client", None)
    return site.name if isinstance(site, Site) else None


def is_ceph_client(node: Node) -> bool:
    """Tell whether a node runs a service that opens Ceph clusters (nodes of only CephOSD are not clients)."""
    return bool(node.services & CLIENT_SERVICES)


def clusters_of(model: SiteModel, site: Site) -> tuple[Site, ...]:
    """The sites whose clusters a site's nodes are clients of: its own, plus every DCN site at central
    and central at a DCN site (CephExternalMultiConfig of the source document)."""
    if site.is_central:
        return model.sites
    return (site, model.central)


def site_cases(model: SiteModel) -> list[tuple[Site, str]]:
    return [(site, site.name) for site in model.sites]


def dcn_site_cases(model: SiteModel) -> list[tuple[Site, str]]:
    return [(site, site.name) for site in model.sites if not site.is_central]


def node_cases(model: SiteModel) -> list[tuple[NodeCase, str]]:
    return [(NodeCase(site, node), node.name) for site in model.sites for node in site.nodes if is_ceph_client(node)]


def client_binding_cases(model: SiteModel) -> list[tuple[ClientBinding, str]]:
    return [
        (ClientBinding(site, node, other), f"{node.name}->{other.name}")
        for site in model.sites
        for node in site.nodes
        if is_ceph_client(node)
        for other in clusters_of(model, site)
    ]


def site_pair_cases(model: SiteModel) -> list[tuple[SitePair, str]]:
    return [
        (SitePair(site, other), f"{site.name}->{other.name}")
        for site in model.sites
        for other in clusters_of(model, site)
        if other is not site
    ]


def glance_service_cases(model: SiteModel) -> list[tuple[GlanceServiceCase, str]]:
    return [
        (GlanceServiceCase(site, node, service), f"{node.name}/{service}")
        for site in model.sites
        for node in site.nodes
        for service in get_glance_services(node, model.profile)
    ]


def glance_endpoint_cases(model: SiteModel) -> list[tuple[GlanceEndpointCase, str]]:
    cases = []
    for site in model.sites:
        services = dict.fromkeys(s for node in site.nodes for s in get_glance_services(node, model.profile))
        cases += [(GlanceEndpointCase(site, service), f"{site.name}/{service}") for service in services]
    return cases


def controller_cases(model: SiteModel) -> list[tuple[NodeCase, str]]:
    """Central nodes of the control plane (glance-api, nova-api)."""
    central = model.central
    return [(NodeCase(central, n), n.name) for n in central.nodes if n.has("GlanceApi") or n.has("NovaApi")]


def dcn_compute_cases(model: SiteModel) -> list[tuple[NodeCase, str]]:
    return [(NodeCase(site, node), node.name) for site in model.dcn_sites for node in site.nodes_with("NovaCompute")]


def volume_node_cases(model: SiteModel) -> list[tuple[NodeCase, str]]:
    return [(NodeCase(site, node), node.name) for site in model.sites for node in site.nodes_with("CinderVolume")]


def mon_site_cases(model: SiteModel) -> list[tuple[Site, str]]:
    """Sites with a node that runs a Ceph monitor, where client.admin of the site's cluster is found."""
    return [(site, site.name) for site in model.sites if site.nodes_with("CephMon")]


def compute_node_cases(model: SiteModel) -> list[tuple[NodeCase, str]]:
    """Nodes of every site that run nova-compute (libvirt opens the site's cluster as a client)."""
    return [(NodeCase(site, node), node.name) for site in model.sites for node in site.nodes_with("NovaCompute")]


#: Up to this many DCN sites the round trips cover every ordered pair; beyond it, a ring.
ALL_PAIRS_UP_TO = 3


def dcn_pair_cases(model: SiteModel) -> list[tuple[DcnPair, str]]:
    """The ordered pairs of DCN sites a snapshot travels between: every pair for up to three DCN sites,
    else a ring (each site to the next, the last to the first). Each pair copies a server image (as
    big as the flavor's disk: 1 GiB at the document's size) across the WAN twice, so all n(n-1) pairs
    of 30 sites would be 870 round trips; the ring still makes every site a source and a destination."""
    sites = model.dcn_sites
    if len(sites) <= ALL_PAIRS_UP_TO:
        pairs = [(site, other) for site in sites for other in sites if other is not site]
    else:
        pairs = [(site, sites[(index + 1) % len(sites)]) for index, site in enumerate(sites)]
    return [(DcnPair(site, other), f"{site.name}->{other.name}") for site, other in pairs]


#: Fixture argument name → its cases.
CASES: dict[str, Callable[[SiteModel], list[tuple[object, str]]]] = {
    "site": site_cases,  # type: ignore[dict-item]
    "dcn_site": dcn_site_cases,  # type: ignore[dict-item]
    "node": node_cases,  # type: ignore[dict-item]
    "client_binding": client_binding_cases,  # type: ignore[dict-item]
    "site_pair": site_pair_cases,  # type: ignore[dict-item]
    "dcn_pair": dcn_pair_cases,  # type: ignore[dict-item]
    "mon_site": mon_site_cases,  # type: ignore[dict-item]
    "compute_node": compute_node_cases,  # type: ignore[dict-item]
    "glance_service": glance_service_cases,  # type: ignore[dict-item]
    "glance_endpoint": glance_endpoint_cases,  # type: ignore[dict-item]
    "controller": controller_cases,  # type: ignore[dict-item]
    "dcn_compute": dcn_compute_cases,  # type: ignore[dict-item]
    "volume_node": volume_node_cases,  # type: ignore[dict-item]
}
