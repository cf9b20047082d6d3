"""The source document's whole workflow, three times in a row on one lab, and nothing left after it.

One round is what an operator does after a deployment: upload an image to central and copy it to
every store; at each DCN site a COW boot with a flavor of the document's size (1 GiB disk) and a
volume from the image booted in the site's AZ; a forced snapshot of that in-use root volume; a
server image of the COW server at dcn0, copied back to central and on to dcn1 (Glance writes these
copies thick), and a COW boot from it at dcn1. Every round removes what it made through the run
ledger. The lab holds this only with OSDs backed by disk (a 1 GiB memstore OSD went OSD_FULL); the
test shows it does, that deletes finish, and that afterwards every cluster is HEALTH_OK with no
leftover in the APIs or in any pool.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from lab_support import cinder_client, cleanup, cli_json, connect, create_server, open_lab_ledger, rbd_pool_on_site
from openstack.connection import Connection

from dcn_checks import cluster, glance, waiters
from dcn_checks.lab import ceph, nodes
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.ledger import Ledger, new_run_id
from dcn_checks.model import SiteModel, load_model

pytestmark = pytest.mark.lab

ROUNDS = 3
DCN_SITES = ("dcn0", "dcn1")
ALL_SITES = ("central", *DCN_SITES)
IMAGE_BYTES = 8 * 1024 * 1024
TIMEOUT_S = 300.0


@pytest.fixture(scope="module")
def conn(healthy_lab: LabInfo) -> Iterator[Connection]:
    connection = connect(healthy_lab)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def model(healthy_lab: LabInfo) -> SiteModel:
    return load_model(healthy_lab.model_path)


def boot(lab: LabInfo, conn: Connection, ledger: Ledger, purpose: str, flavor: str, *args: str) -> Any:
    server = create_server(lab, conn, ledger, ledger.name(purpose), "--flavor", flavor, *args, "--nic", "none")
    assert server.status == "ACTIVE", f"{purpose}: {server.status} ({getattr(server, 'fault', None)})"
    return server


def run_round(lab: LabInfo, conn: Connection, ledger: Ledger) -> None:
    """One pass of the document's workflow; everything made is recorded in ``ledger`` before any wait."""
    flavor_name = ledger.name("m1-small")
    flavor = cli_json(lab, "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1", flavor_name)
    ledger.record("flavor", flavor["id"], flavor_name)

    image = glance.create_image(conn, ledger.name("cirros"))
    ledger.record("image", image.image_id, image.name)
    glance.upload_image_to_store(conn, image.image_id, os.urandom(IMAGE_BYTES), "central")
    glance.copy_image_to_stores(conn, image.image_id, list(DCN_SITES))
    probe = glance.image_probe(conn, image.image_id)
    waiters.wait_for_image_in_stores(probe, image.image_id, ALL_SITES, timeout_s=TIMEOUT_S)

    cow = {}
    for site in DCN_SITES:
        at = ("--availability-zone", site)
        cow[site] = boot(lab, conn, ledger, f"cow-{site}", flavor["id"], "--image", image.image_id, *at)
        volume_name = ledger.name(f"volume-{site}")
        created = cli_json(lab, "volume", "create", "--size", "1", *at, "--image", image.image_id, volume_name)
        ledger.record("volume", created["id"], volume_name)
        volume = waiters.wait_for_volume_status(
            lambda volume_id=created["id"]: conn.block_storage.get_volume(volume_id), created["id"], timeout_s=TIMEOUT_S
        )
        server = boot(lab, conn, ledger, f"volume-server-{site}", flavor["id"], "--volume", volume.id, *at)
        if site == "dcn0":
            snapshot = cinder_client(conn).volume_snapshots.create(
                server.attached_volumes[0]["id"], force=True, name=ledger.name("volume-snap-dcn0")
            )
            ledger.record("volume_snapshot", snapshot.id, snapshot.name)
            waiters.wait_for_volume_status(
                lambda snapshot_id=snapshot.id: conn.block_storage.get_snapshot(snapshot_id),
                snapshot.id,
                kind="volume snapshot",
                timeout_s=TIMEOUT_S,
            )

    snapshot_name = ledger.name("server-image-dcn0")
    taken = cli_json(lab, "server", "image", "create", "--name", snapshot_name, "--wait", cow["dcn0"].id)
    ledger.record("image", taken["id"], snapshot_name)
    snapshot_probe = glance.image_probe(conn, taken["id"])
    glance.copy_image_to_stores(conn, taken["id"], ["central"])
    waiters.wait_for_image_in_stores(snapshot_probe, taken["id"], ("dcn0", "central"), timeout_s=TIMEOUT_S)
    glance.copy_image_to_stores(conn, taken["id"], ["dcn1"])
    waiters.wait_for_image_in_stores(snapshot_probe, taken["id"], ALL_SITES, timeout_s=TIMEOUT_S)
    boot(lab, conn, ledger, "from-snapshot-dcn1", flavor["id"], "--image", taken["id"], "--availability-zone", "dcn1")


def cluster_health(lab: LabInfo, model: SiteModel, site: str) -> cluster.Health:
    """``ceph health -f json`` of a site's cluster as the lab's client.admin."""
    name = model.site(site).cluster
    (found,) = [c for c in ceph.find_running_clusters(lab.lab_dir) if c.name == name]
    result = ceph.ceph_admin(found, ["health", "-f", "json"])
    return cluster.parse_health(nodes.check(result, f"{name}: ceph health").stdout)


@pytest.fixture(scope="module")
def rounds(healthy_lab: LabInfo, conn: Connection) -> list[tuple[str, list[str]]]:
    """Run the workflow ``ROUNDS`` times, each under its own run ID, and clean up after each round."""
    done = []
    for _ in range(ROUNDS):
        ledger = open_lab_ledger(healthy_lab, new_run_id())
        try:
            run_round(healthy_lab, conn, ledger)
        finally:
            failures = cleanup(ledger, conn)
        done.append((ledger.run_id, failures))
    return done


def test_the_workflow_runs_three_times_and_every_delete_finishes(rounds: list[tuple[str, list[str]]]) -> None:
    assert len(rounds) == ROUNDS
    assert [failures for _, failures in rounds] == [[]] * ROUNDS


def test_no_leftover_in_the_apis(rounds: list[tuple[str, list[str]]], conn: Connection) -> None:
    prefixes = tuple(f"dcnchk-{run_id}-" for run_id, _ in rounds)
    leftovers = [
        f"{kind} {item.name}"
        for kind, items in (
            ("server", conn.compute.servers(all_projects=True)),
            ("volume", conn.block_storage.volumes(all_projects=True)),
            ("volume snapshot", conn.block_storage.snapshots(all_projects=True)),
            ("image", conn.image.images()),
            ("flavor", conn.compute.flavors()),
        )
        for item in items
        if (item.name or "").startswith(prefixes)
    ]
    assert leftovers == []


def test_no_leftover_in_any_pool_and_every_cluster_is_healthy(
    rounds: list[tuple[str, list[str]]], healthy_lab: LabInfo, model: SiteModel, conn: Connection
) -> None:
    """What is left in each pool is what other tests of the session still hold (their images and
    disks); nothing names an image or server of the workflow's runs, and each cluster is HEALTH_OK."""
    live = {image.id for image in conn.image.images()} | {s.id for s in conn.compute.servers(all_projects=True)}
    live |= {f"volume-{v.id}" for v in conn.block_storage.volumes(all_projects=True)}
    for site in ALL_SITES:
        for pool in ("images", "vms", "volumes"):
            names = {entry.image for entry in rbd_pool_on_site(healthy_lab, model.site(site), pool)}
            stray = {name for name in names if name.removesuffix("_disk") not in live}
            assert stray == set(), f"{site}/{pool}: {sorted(stray)}"
        health = cluster_health(healthy_lab, model, site)
        assert health.status == "HEALTH_OK", f"{site}: {cluster.describe_health(health)} {json.dumps(site)}"
