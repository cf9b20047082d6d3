"""Deploying the Nova model in the lab as TripleO deploys Nova: nova-api on the first Controller, the
compute catalog entry at central, and one AZ aggregate per stack built by NovaAZConfig.

NovaAZConfig (THT ``deployment/nova/nova-az-config.yaml``) runs ``os_nova_host_aggregate`` with
``name`` and ``availability_zone`` both the stack's NovaComputeAvailabilityZone (the stack name when
empty, ``render_nova.get_compute_az``) and ``hosts`` the ``[DEFAULT] host`` of every compute of the
stack, read from its nova.conf. The lab does the same through the model's own API, so the aggregates
are what a real deployment would show in ``openstack aggregate list``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import openstack

from dcn_checks.lab.nova.conf import COMPUTE_CONF, read_nova_conf
from dcn_checks.lab.render_model import COMPUTE_ROLES
from dcn_checks.model import Node, Site

log = logging.getLogger(__name__)

#: The Compute API's path in the catalog; TripleO registers ``/v2.1`` without a project ID since Pike.
CATALOG_PATH = "/v2.1"


@dataclass(frozen=True, slots=True)
class AzAggregate:
    """One aggregate NovaAZConfig manages: name and AZ (the same) and the stack's compute hosts."""

    name: str
    hosts: tuple[str, ...]


def api_node(site: Site) -> Node | None:
    """The node that runs nova-api: the site's first Controller (None when it has none)."""
    return next((node for node in site.nodes if node.roles and node.roles[0] == "Controller"), None)


def compute_nodes(site: Site) -> tuple[Node, ...]:
    """The site's nodes whose first role runs nova-compute."""
    return tuple(node for node in site.nodes if node.roles and node.roles[0] in COMPUTE_ROLES)


def az_aggregate(az: str, site: Site, node_roots: Sequence[Path]) -> AzAggregate:
    """The aggregate of a stack: ``az`` with the ``[DEFAULT] host`` of each of its compute node roots."""
    hosts = tuple(read_nova_conf(root, COMPUTE_CONF).host for root in node_roots)
    return AzAggregate(name=az, hosts=hosts)


def configure_availability_zones(conn: openstack.connection.Connection, aggregates: Sequence[AzAggregate]) -> None:
    """``os_nova_host_aggregate`` for each stack: create the aggregate with its AZ if missing, add its hosts."""
    for wanted in aggregates:
        aggregate = conn.compute.find_aggregate(wanted.name, ignore_missing=True)
        if aggregate is None:
            aggregate = conn.compute.create_aggregate(name=wanted.name, availability_zone=wanted.name)
        for host in wanted.hosts:
            if host not in (aggregate.hosts or []):
                aggregate = conn.compute.add_host_to_aggregate(aggregate, host)
        log.info("aggregate %s (AZ %s): hosts %s", wanted.name, wanted.name, ", ".join(wanted.hosts) or "-")
