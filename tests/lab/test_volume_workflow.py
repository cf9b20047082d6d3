"""The volume part of the source document on the healthy lab, with the real clients.

An image in every site's store (upload to central, copy-image to dcn0 and dcn1), then per site
``openstack volume create --size 1 --availability-zone <site> --image <id>``: the volume must be
Cinder's own COW clone of ``images/<id>@snap`` in that site's ``volumes`` pool (``rbd ls -l`` on a
node of the site), and a forced snapshot (``cinder snapshot-create --force``) must appear as
``volume-<id>@snapshot-<id>`` there. The ``openstack`` CLI creates the volumes, python-cinderclient
makes the snapshots, openstacksdk waits and reads. Every image, volume and snapshot is recorded in
the run's ledger as soon as the API returns its ID; cleanup runs in dependency order and waits, so
that the images (whose snapshots the volumes are clones of) are deleted last.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cinderclient import exceptions as cinder_exc
from lab_support import cinder_client, connect, openstack_cli, rbd_pool_on_site, recorded
from openstack.block_storage.v3._proxy import Proxy as BlockStorageV3
from openstack.connection import Connection

from dcn_checks import glance, rbd, waiters
from dcn_checks.glance import GlanceImage
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.ledger import Ledger, new_run_id, resource_name
from dcn_checks.model import Site, SiteModel, load_model

pytestmark = pytest.mark.lab

RUN = new_run_id()
ALL_SITES = ("central", "dcn0", "dcn1")
DCN_SITES = ("dcn0", "dcn1")
IMAGE_BYTES = 2 * 1024 * 1024
VOLUME_GIB = 1
TIMEOUT_S = 120.0


def name(purpose: str) -> str:
    return resource_name(RUN, purpose)


# --- waits ----------------------------------------------------------------------------------------


def wait_for_status(conn: Connection, kind: str, resource_id: str, status: str) -> Any:
    """Poll a volume or snapshot until ``status``; stop at once on an ``error`` status."""
    storage = block_storage(conn)
    get = storage.get_volume if kind == "volume" else storage.get_snapshot
    return waiters.wait_for_volume_status(
        lambda: get(resource_id),
        resource_id,
        (status,),
        kind="volume" if kind == "volume" else "volume snapshot",
        timeout_s=TIMEOUT_S,
        interval_s=0.2,
    )


def block_storage(conn: Connection) -> BlockStorageV3:
    return conn.block_storage  # type: ignore[return-value]


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(healthy_lab: LabInfo) -> SiteModel:
    return load_model(healthy_lab.model_path)


@pytest.fixture(scope="module")
def conn(healthy_lab: LabInfo) -> Iterator[Connection]:
    connection = connect(healthy_lab)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def cinder(conn: Connection) -> Any:
    return cinder_client(conn)


@pytest.fixture(scope="module")
def ledger(healthy_lab: LabInfo, conn: Connection) -> Iterator[Ledger]:
    """Everything this module makes; removed at the end in dependency order (snapshots, volumes, images)."""
    yield from recorded(healthy_lab, conn, RUN)


def _image(conn: Connection, ledger: Ledger, purpose: str, stores: tuple[str, ...]) -> GlanceImage:
    image = glance.create_image(conn, name(purpose))
    ledger.record("image", image.image_id, image.name)
    glance.upload_image_to_store(conn, image.image_id, os.urandom(IMAGE_BYTES), "central")
    if stores != ("central",):
        glance.copy_image_to_stores(conn, image.image_id, [s for s in stores if s != "central"])
    return waiters.wait_for_image_in_stores(
        glance.image_probe(conn, image.image_id), image.image_id, stores, timeout_s=60
    )


@pytest.fixture(scope="module")
def image(conn: Connection, ledger: Ledger) -> GlanceImage:
    """A raw image in every site's store, as the document leaves it after copy-image."""
    return _image(conn, ledger, "volume-source", ALL_SITES)


@pytest.fixture(scope="module")
def central_only_image(conn: Connection, ledger: Ledger) -> GlanceImage:
    """A raw image in the central store only."""
    return _image(conn, ledger, "central-only", ("central",))


@pytest.fixture(scope="module")
def make_volume_from_image(healthy_lab: LabInfo, conn: Connection, ledger: Ledger) -> Callable[..., Any]:
    """``openstack volume create --size 1 --availability-zone <az> --image <id> <name>``, then wait."""

    def make(image_id: str, az: str, purpose: str) -> Any:
        volume_name = name(purpose)
        args = ["volume", "create", "--size", str(VOLUME_GIB), "--availability-zone", az, "--image", image_id]
        created = openstack_cli(healthy_lab, *args, volume_name, "-f", "json")
        assert created.returncode == 0, f"openstack volume create: {created.stderr.strip()[-500:]}"
        volume_id = ledger.record("volume", json.loads(created.stdout)["id"], volume_name)
        return wait_for_status(conn, "volume", volume_id, "available")

    return make


@pytest.fixture(scope="module")
def volumes(make_volume_from_image: Callable[..., Any], image: GlanceImage, model: SiteModel) -> dict[str, Any]:
    """One volume from the image per site, in the site's AZ."""
    return {
        site.name: make_volume_from_image(image.image_id, site.az, f"from-image-{site.name}") for site in model.sites
    }


def site_of(model: SiteModel, name: str) -> Site:
    return model.site(name)


# --- volume from image ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_SITES)
def test_volume_from_image_is_created_in_the_site_az_by_its_volume_service(
    volumes: dict[str, Any], model: SiteModel, name: str
) -> None:
    site = site_of(model, name)
    volume = volumes[name]
    assert volume.availability_zone == site.az
    assert volume.is_bootable
    assert volume.host.startswith(f"hostgroup-{name}@"), volume.host


@pytest.mark.parametrize("name", ALL_SITES)
def test_volume_from_image_is_clone_of_local_image_snapshot(
    volumes: dict[str, Any], image: GlanceImage, model: SiteModel, healthy_lab: LabInfo, name: str
) -> None:
    site = site_of(model, name)
    entries = rbd_pool_on_site(healthy_lab, site, "volumes")
    entry = rbd.find_image(entries, rbd.volume_name(volumes[name].id))
    assert entry is not None, f"{name}: no volumes/{rbd.volume_name(volumes[name].id)} in {site.cluster}"
    assert rbd.is_cow_clone_of(entry, "images", image.image_id), f"{name}: parent is {entry.parent}"
    assert entry.size == VOLUME_GIB * 1024**3


@pytest.mark.parametrize("name", ALL_SITES)
def test_volume_of_a_site_is_in_no_other_cluster(
    volumes: dict[str, Any], model: SiteModel, healthy_lab: LabInfo, name: str
) -> None:
    rbd_name = rbd.volume_name(volumes[name].id)
    holders = [
        site.name for site in model.sites if rbd.find_image(rbd_pool_on_site(healthy_lab, site, "volumes"), rbd_name)
    ]
    assert holders == [name]


def test_volume_from_image_not_in_the_local_store_is_a_full_copy(
    make_volume_from_image: Callable[..., Any], central_only_image: GlanceImage, model: SiteModel, healthy_lab: LabInfo
) -> None:
    site = site_of(model, "dcn0")
    volume = make_volume_from_image(central_only_image.image_id, site.az, "central-only-at-dcn0")
    entry = rbd.find_image(rbd_pool_on_site(healthy_lab, site, "volumes"), rbd.volume_name(volume.id))
    assert entry is not None
    assert entry.parent is None, f"dcn0: expected a downloaded copy, found a clone of {entry.parent}"


# --- snapshots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DCN_SITES)
def test_forced_snapshot_is_rbd_snapshot_of_the_volume_at_the_site(
    volumes: dict[str, Any],
    cinder: Any,
    conn: Connection,
    ledger: Ledger,
    image: GlanceImage,
    model: SiteModel,
    healthy_lab: LabInfo,
    name: str,
) -> None:
    volume = volumes[name]
    snapshot = cinder.volume_snapshots.create(volume.id, force=True, name=resource_name(RUN, f"snap-{name}"))
    ledger.record("volume_snapshot", snapshot.id, snapshot.name)
    wait_for_status(conn, "snapshot", snapshot.id, "available")
    entries = rbd_pool_on_site(healthy_lab, site_of(model, name), "volumes")
    row = rbd.find_snapshot(entries, rbd.volume_name(volume.id), rbd.volume_snapshot_name(snapshot.id))
    shown = [f"{e.image}@{e.snapshot}" for e in entries if e.snapshot]
    assert row is not None, (
        f"{name}: no {rbd.volume_name(volume.id)}@{rbd.volume_snapshot_name(snapshot.id)} in {shown}"
    )
    assert row.protected
    assert rbd.is_cow_clone_of(row, "images", image.image_id)  # the document's listing: parent images/<id>@snap


# --- refusals -------------------------------------------------------------------------------------


def test_volume_in_an_unknown_az_is_refused(cinder: Any) -> None:
    with pytest.raises(cinder_exc.BadRequest) as refused:
        cinder.volumes.create(VOLUME_GIB, availability_zone="dcnchk-nosuch", name=resource_name(RUN, "nosuch"))
    assert "Availability zone 'dcnchk-nosuch' is invalid" in str(refused.value)
