"""Which cases a check has, computed from the site model at collection time.

A check asks for a case by naming a fixture argument (``site``, ``dcn_site``, ``node``,
``client_binding``, ``site_pair``); the plugin parametrizes it with the cases below, so only
applicable cases exist and their IDs name sites and nodes, never values: ``[dcn0]``,
``[dcn0-hci-0]``, ``[dcn0-hci-0->central]``, ``[central->dcn1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dcn_checks.model import Node, Site, SiteModel

#: Services whose containers open Ceph clusters as clients (THT mounts CephConfigPath into them).
CLIENT_SERVICES = frozenset({"NovaCompute", "GlanceApi", "GlanceApiEdge", "CinderVolume"})


@dataclass(frozen=True, slots=True)
class NodeCase:
    """A node of a site."""

    site: Site
    node: Node


@dataclass(frozen=True, slots=True)
class ClientBinding:
    """A node that is a client of a cluster: the node's site, the node and the site owning the cluster."""

    site: Site
    node: Node
    cluster_site: Site


@dataclass(frozen=True, slots=True)
class SitePair:
    """An ordered pair of sites: ``client`` reaches the cluster of ``server``."""

    client: Site
    server: Site


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


#: Fixture argument name → its cases.
CASES: dict[str, Callable[[SiteModel], list[tuple[object, str]]]] = {
    "site": site_cases,  # type: ignore[dict-item]
    "dcn_site": dcn_site_cases,  # type: ignore[dict-item]
    "node": node_cases,  # type: ignore[dict-item]
    "client_binding": client_binding_cases,  # type: ignore[dict-item]
    "site_pair": site_pair_cases,  # type: ignore[dict-item]
}
