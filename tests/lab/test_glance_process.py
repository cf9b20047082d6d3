"""One Glance API with RBD stores on two real clusters imports an image into both."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest
from lab_support import GLANCE_PASSWORD, list_images_on_node, write_glance_config

from dcn_checks.lab import ceph, glance, keystone, nodes, ports, postgres, processes

pytestmark = pytest.mark.lab

STORES = ("central", "dcn0")


@pytest.fixture(scope="module")
def central_glance(
    lab_dir: Path,
    venv: Path,
    controller_node: Path,
    lab_postgres: postgres.Postgres,
    lab_keystone: keystone.Keystone,
) -> Iterator[glance.GlanceProcess]:
    (port,) = ports.allocate_ports(1)
    keystone.register_services(
        lab_keystone,
        [keystone.ServiceUser("glance", GLANCE_PASSWORD)],
        [keystone.CatalogService("glance", "image", f"http://127.0.0.1:{port}")],
    )
    config_dir = write_glance_config(
        site="central",
        lab_dir=lab_dir,
        venv=venv,
        port=port,
        db_url=lab_postgres.url("glance"),
        keystone_url=lab_keystone.url,
        stores=STORES,
    )
    glance.db_sync(venv, config_dir)
    site = glance.GlanceSite("central", config_dir, port, nodes.node_binds(controller_node))
    proc = glance.start_glance(lab_dir, venv, site)
    yield proc
    glance.stop_glance(lab_dir, "central")


def image_when_imported(conn: openstack.connection.Connection, image_id: str) -> openstack.image.v2.image.Image:
    def settled(img: openstack.image.v2.image.Image) -> bool:
        if img.properties.get("os_glance_failed_import"):
            raise AssertionError(f"import failed for {img.properties['os_glance_failed_import']}")
        return bool(img.status == "active" and not img.properties.get("os_glance_importing_to_stores"))

    return processes.wait_for(
        lambda: conn.image.get_image(image_id),
        settled,
        timeout_s=60,
        description=f"image {image_id} active in every store",
    )


def test_glance_imports_image_to_rbd_stores_on_two_clusters(
    central_glance: glance.GlanceProcess,
    lab_keystone: keystone.Keystone,
    clusters: dict[str, ceph.Cluster],
    controller_node: Path,
) -> None:
    conn = keystone.connect(lab_keystone)
    assert conn.image.get_endpoint().rstrip("/").startswith(central_glance.url)  # found via the catalog
    stores = {s.id for s in conn.image.stores()}
    assert stores == set(STORES)
    data = os.urandom(4 * 1024 * 1024)
    image = conn.image.create_image(name="dcnchk-lab-import", disk_format="raw", container_format="bare")
    try:
        conn.image.stage_image(image, data=data)
        conn.image.import_image(image, method="glance-direct", stores=list(STORES))
        image = image_when_imported(conn, image.id)
        assert set(image.properties["stores"].split(",")) == set(STORES)
        locations = {loc["metadata"]["store"]: loc["url"] for loc in image.locations}
        for store in STORES:
            assert locations[store] == f"rbd://{clusters[store].fsid}/images/{image.id}/snap"
            listing = list_images_on_node(controller_node, store)
            snaps = [e for e in json.loads(listing.stdout) if e["image"] == image.id and e.get("snapshot") == "snap"]
            assert len(snaps) == 1 and snaps[0]["protected"] == "true", f"{store}: {listing.stdout}"
        body = b"".join(conn.image.download_image(image, stream=True).iter_content(1024 * 1024))
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    finally:
        conn.image.delete_image(image, ignore_missing=True)


def test_glance_runs_on_its_node_and_stops_by_pid(lab_dir: Path, central_glance: glance.GlanceProcess) -> None:
    record = processes.find_record(lab_dir, glance.process_name("central"))
    assert record is not None and record.pid == central_glance.pid
    members = processes.group_members(record)
    assert len(members) >= 2, "uwsgi master and its worker"
    assert Path(f"/proc/{central_glance.pid}/root/etc/ceph/dcn0.conf").exists()
