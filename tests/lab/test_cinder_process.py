"""Cinder in the healthy lab looks as the document's verification commands expect.

``openstack volume service list``: one cinder-volume per site, in the site's zone, up; the DCN ones
in their active/active cluster (``cinder cluster-list``); the scheduler at central. ``openstack
availability zone list --volume`` names every site. Cinder is ``volumev3`` in central's catalog, and
each cinder-volume runs on its site's node, reading that node's rendered cinder.conf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from lab_support import cinder_client, connect, openstack_cli
from openstack.connection import Connection

from dcn_checks.lab import cinder, processes
from dcn_checks.lab.deploy import LabInfo, node_root
from dcn_checks.lab.render_cinder import CINDER_CONF
from dcn_checks.model import SiteModel, load_model

pytestmark = pytest.mark.lab

BACKEND = "tripleo_ceph"


@pytest.fixture(scope="module")
def model(healthy_lab: LabInfo) -> SiteModel:
    return load_model(healthy_lab.model_path)


@pytest.fixture(scope="module")
def conn(healthy_lab: LabInfo) -> Iterator[Connection]:
    connection = connect(healthy_lab)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def client(conn: Connection) -> Any:
    return cinder_client(conn)


def test_each_site_has_one_volume_service_up_in_its_own_zone(client: Any, model: SiteModel) -> None:
    services = client.services.list(binary="cinder-volume")
    seen = {service.host: (service.zone, service.state, service.status, service.cluster) for service in services}
    expected = {
        f"hostgroup-{site.name}@{BACKEND}": (
            site.cinder_az,
            "up",
            "enabled",
            f"{site.volume_cluster}@{BACKEND}" if site.volume_cluster else None,
        )
        for site in model.sites
    }
    assert seen == expected


def test_scheduler_runs_once_at_central(client: Any, model: SiteModel) -> None:
    schedulers = client.services.list(binary="cinder-scheduler")
    assert [(s.zone, s.state) for s in schedulers] == [(model.central.cinder_az, "up")]


def test_each_dcn_site_is_an_active_active_cluster_with_no_down_host(client: Any, model: SiteModel) -> None:
    clusters = {c.name: (c.num_hosts, c.num_down_hosts, c.state) for c in client.clusters.list(detailed=True)}
    assert clusters == {f"{site.volume_cluster}@{BACKEND}": (1, 0, "up") for site in model.sites if site.volume_cluster}


def test_volume_availability_zones_name_every_site(healthy_lab: LabInfo, model: SiteModel) -> None:
    listed = openstack_cli(healthy_lab, "availability", "zone", "list", "--volume", "-f", "json")
    assert listed.returncode == 0, listed.stderr.strip()[-500:]
    zones = {zone["Zone Name"]: zone["Zone Status"] for zone in json.loads(listed.stdout)}
    assert zones == {site.cinder_az: "available" for site in model.sites}


def test_block_storage_is_volumev3_in_the_catalog_at_central(conn: Connection, healthy_lab: LabInfo) -> None:
    service = next(s for s in conn.identity.services() if s.type == "volumev3")
    endpoints = {e.interface: e.url for e in conn.identity.endpoints(service_id=service.id)}
    url = f"{healthy_lab.cinder}/v3/%(tenant_id)s"
    assert endpoints == {"public": url, "internal": url, "admin": url}


def test_each_volume_service_runs_on_its_site_node_with_the_rendered_conf(
    healthy_lab: LabInfo, model: SiteModel
) -> None:
    records = {r.name: r for r in processes.load_records(healthy_lab.lab_dir)}
    for site in model.sites:
        record = records[cinder.volume_process_name(site.name)]
        node = site.nodes_with("CinderVolume")[0].name
        assert processes.is_running(record), f"{site.name}: cinder-volume is not running"
        assert record.argv[0] == "unshare", f"{site.name}: cinder-volume does not run in a node namespace"
        assert str(node_root(healthy_lab.lab_dir, node) / CINDER_CONF.lstrip("/")) in record.argv
