"""The image part of the source document, step by step, on the healthy lab with the real clients.

Stores at central and at each edge Glance; upload to ``central`` (``glance image-create --file --store
central``); one copy-image call to dcn0 and dcn1; locations with each cluster's own fsid and one image
ID; ``rbd ls -l`` on a node of each site; ``stores-delete --store dcn1``; image delete. Glance is
reached through Keystone's catalog (central) or an edge URL from the lab's ``sites.yaml``, through
``dcn_checks.glance`` (openstacksdk's image proxy; python-glanceclient for the upload to one store),
with openstacksdk's own Image as a second opinion.

One image walks the workflow in a module fixture and the read-only tests observe it; the delete test
walks its own image. Every image is recorded for deletion as soon as Glance returns its ID.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

import openstack
import pytest
from lab_support import connect, recorded
from openstack.image.v2._proxy import Proxy as ImageV2

from dcn_checks import glance, rbd, waiters
from dcn_checks.cephconf import parse_ceph_conf
from dcn_checks.cluster import parse_mon_dump
from dcn_checks.errors import GlanceError
from dcn_checks.glance import GlanceImage
from dcn_checks.lab.deploy import LabInfo, ceph_binds, node_root
from dcn_checks.lab.nodes import check, run_on_node
from dcn_checks.model import Site, SiteModel, load_model

pytestmark = pytest.mark.lab

DCN_SITES = ("dcn0", "dcn1")
ALL_SITES = ("central", *DCN_SITES)
IMAGE_BYTES = 2 * 1024 * 1024
COPY_TIMEOUT_S = 60.0
POOL = "images"
CLIENT = "openstack"

MakeImage = Callable[[str], GlanceImage]


@dataclass(frozen=True, slots=True)
class Walk:
    """What the document's steps left behind: the image after upload and after the copy."""

    sha512: str
    uploaded: GlanceImage
    copied: GlanceImage

    @property
    def image_id(self) -> str:
        return self.copied.image_id


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(healthy_lab: LabInfo) -> SiteModel:
    return load_model(healthy_lab.model_path)


@pytest.fixture(scope="module")
def conn(healthy_lab: LabInfo) -> Iterator[openstack.connection.Connection]:
    connection = connect(healthy_lab)
    yield connection
    connection.close()


def _image_factory(lab: LabInfo, conn: openstack.connection.Connection) -> Iterator[MakeImage]:
    """Create ``dcnchk-<run>-<purpose>`` images, each in a run ledger; remove them all (through central) at teardown."""
    records = recorded(lab, conn)
    ledger = next(records)

    def make(purpose: str) -> GlanceImage:
        image = glance.create_image(conn, ledger.name(purpose))
        ledger.record("image", image.image_id, image.name)
        return image

    yield make
    next(records, None)  # teardown: remove the images, fail if one stays


@pytest.fixture(scope="module")
def make_module_image(healthy_lab: LabInfo, conn: openstack.connection.Connection) -> Iterator[MakeImage]:
    yield from _image_factory(healthy_lab, conn)


@pytest.fixture
def make_image(healthy_lab: LabInfo, conn: openstack.connection.Connection) -> Iterator[MakeImage]:
    yield from _image_factory(healthy_lab, conn)


def upload_and_copy(conn: openstack.connection.Connection, image: GlanceImage) -> Walk:
    """The document: upload to central, then one copy-image call to every DCN store, then wait."""
    data = os.urandom(IMAGE_BYTES)
    glance.upload_image_to_store(conn, image.image_id, data, "central")
    uploaded = glance.get_image(conn, image.image_id)
    glance.copy_image_to_stores(conn, image.image_id, list(DCN_SITES))
    copied = waiters.wait_for_image_in_stores(
        glance.image_probe(conn, image.image_id), image.image_id, ALL_SITES, timeout_s=COPY_TIMEOUT_S
    )
    return Walk(hashlib.sha512(data).hexdigest(), uploaded, copied)


@pytest.fixture(scope="module")
def walk(conn: openstack.connection.Connection, make_module_image: MakeImage) -> Walk:
    return upload_and_copy(conn, make_module_image("workflow"))


# --- helpers: the node side ------------------------------------------------------------------------


def sdk_images(conn: openstack.connection.Connection) -> ImageV2:
    """openstacksdk's image proxy, as the second client; the lab's Glance speaks only v2."""
    return cast(ImageV2, conn.image)


def site_of(model: SiteModel, name: str) -> Site:
    return next(site for site in model.sites if site.name == name)


def on_site_node(lab: LabInfo, site: Site, argv: list[str], what: str) -> str:
    """Run ``argv`` on the site's first node (controller-0, dcnN-hci-0), whose /etc/ceph has the site's files."""
    node = site.nodes[0].name
    result = run_on_node(argv, ceph_binds(lab.lab_dir, node, lab.release), timeout_s=30)
    return check(result, f"{what} on {node}").stdout


def rbd_images(lab: LabInfo, site: Site) -> tuple[rbd.RbdEntry, ...]:
    """``rbd ls -l --format json`` of the site's images pool, as client.openstack of its own cluster."""
    conf = f"/etc/ceph/{site.cluster}.conf"
    argv = ["rbd", "--conf", conf, "--id", CLIENT, "-p", POOL, "ls", "-l", "--format", "json"]
    return rbd.parse_rbd_ls(on_site_node(lab, site, argv, "rbd ls"))


# --- stores -----------------------------------------------------------------------------------------


def test_central_glance_has_every_site_store_with_central_as_default(
    conn: openstack.connection.Connection, model: SiteModel
) -> None:
    stores = glance.get_stores(conn)
    central = model.central
    assert {s.store_id for s in stores} == {site.store_id for site in model.sites}
    default = glance.find_default_store(stores)
    assert default is not None and default.store_id == central.store_id, stores
    assert default.description == central.store_description
    sdk_stores = list(sdk_images(conn).stores())
    assert {s.id for s in sdk_stores} == {s.store_id for s in stores}  # openstacksdk agrees
    assert [s.id for s in sdk_stores if s.is_default] == [central.store_id]


def test_central_glance_enables_copy_image_but_not_glance_direct(conn: openstack.connection.Connection) -> None:
    # ussuri's GlanceEnabledImportMethods, as the source document sets it.
    assert glance.get_import_methods(conn) == {"web-download", "copy-image"}


@pytest.mark.parametrize("name", DCN_SITES)
def test_edge_glance_has_own_store_as_default_and_central(
    conn: openstack.connection.Connection, model: SiteModel, name: str
) -> None:
    site = site_of(model, name)
    assert site.glance_endpoint, f"{name}: sites.yaml has no glance_endpoint"
    stores = glance.get_stores(conn, endpoint=site.glance_endpoint)
    assert {s.store_id for s in stores} == {site.store_id, model.central.store_id}
    default = glance.find_default_store(stores)
    assert default is not None and default.store_id == site.store_id, stores
    assert default.description == site.store_description


# --- upload and copy ---------------------------------------------------------------------------------


def test_upload_with_store_central_lands_in_central_only(walk: Walk) -> None:
    uploaded = walk.uploaded
    assert uploaded.status == "active"
    assert uploaded.stores == {"central"}
    assert [store_id for store_id, _ in glance.get_locations(uploaded)] == ["central"]
    assert uploaded.size == IMAGE_BYTES
    assert (uploaded.os_hash_algo, uploaded.os_hash_value) == ("sha512", walk.sha512)


def test_copy_image_in_one_call_puts_the_image_in_every_dcn_store(
    conn: openstack.connection.Connection, walk: Walk
) -> None:
    assert walk.copied.stores == set(ALL_SITES)
    assert not walk.copied.failed_import
    sdk_image = sdk_images(conn).get_image(walk.image_id)
    assert glance.get_image_stores(sdk_image) == set(ALL_SITES)  # openstacksdk sees the same


def test_copies_keep_the_image_hash(walk: Walk) -> None:
    assert walk.copied.os_hash_value == walk.uploaded.os_hash_value == walk.sha512
    assert walk.copied.checksum == walk.uploaded.checksum
    assert walk.copied.size == IMAGE_BYTES


def test_each_location_names_its_own_cluster_and_the_same_image_id(walk: Walk, model: SiteModel) -> None:
    locations = dict(glance.get_locations(walk.copied))
    assert set(locations) == set(ALL_SITES)
    for site in model.sites:
        location = locations[site.store_id]
        assert location.fsid == site.fsid, f"{site.name}: {location}"
        assert (location.pool, location.image_id, location.snapshot) == (POOL, walk.image_id, "snap")
    assert len({location.fsid for location in locations.values()}) == len(ALL_SITES)


@pytest.mark.parametrize("name", ALL_SITES)
def test_location_fsid_is_the_fsid_of_the_cluster_on_the_site_node(
    walk: Walk, model: SiteModel, healthy_lab: LabInfo, name: str
) -> None:
    site = site_of(model, name)
    location = dict(glance.get_locations(walk.copied))[site.store_id]
    conf = f"/etc/ceph/{site.cluster}.conf"
    mon_dump = on_site_node(
        healthy_lab, site, ["ceph", "--conf", conf, "--id", CLIENT, "mon", "dump", "-f", "json"], "ceph mon dump"
    )
    assert parse_mon_dump(mon_dump).fsid == location.fsid
    node_conf = node_root(healthy_lab.lab_dir, site.nodes[0].name) / conf.lstrip("/")
    assert parse_ceph_conf(node_conf.read_text(), str(node_conf)).fsid == location.fsid


@pytest.mark.parametrize("name", ALL_SITES)
def test_images_pool_of_each_site_holds_the_image_and_its_protected_snapshot(
    walk: Walk, model: SiteModel, healthy_lab: LabInfo, name: str
) -> None:
    entries = rbd_images(healthy_lab, site_of(model, name))
    image = rbd.find_image(entries, walk.image_id)
    snapshot = rbd.find_snapshot(entries, walk.image_id)
    assert image is not None, f"{name}: no images/{walk.image_id} in {entries}"
    assert image.size == IMAGE_BYTES
    assert snapshot is not None and snapshot.protected, f"{name}: {walk.image_id}@snap missing or unprotected"


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stores", "status", "message"),
    [
        pytest.param(["dcnchk-nosuch"], 409, "Store for identifier dcnchk-nosuch not found", id="unknown-store"),
        pytest.param(["dcn0"], 400, "Image is already present at store 'dcn0'", id="store-has-it"),
    ],
)
def test_copy_image_is_refused(
    conn: openstack.connection.Connection, walk: Walk, stores: list[str], status: int, message: str
) -> None:
    with pytest.raises(GlanceError) as refused:
        glance.copy_image_to_stores(conn, walk.image_id, stores)
    assert (refused.value.status, refused.value.message) == (status, message)
    assert glance.get_image(conn, walk.image_id).stores == set(ALL_SITES)


# --- delete -----------------------------------------------------------------------------------------


def test_delete_from_one_store_then_the_image_removes_exactly_those_copies(
    conn: openstack.connection.Connection, make_image: MakeImage, model: SiteModel, healthy_lab: LabInfo
) -> None:
    image_id = upload_and_copy(conn, make_image("delete")).image_id
    sites = {site.name: site for site in model.sites}

    assert glance.delete_image_from_store(conn, image_id, "dcn1", ignore_missing=False)
    after = glance.get_image(conn, image_id)
    assert after.stores == {"central", "dcn0"}
    assert {store_id for store_id, _ in glance.get_locations(after)} == {"central", "dcn0"}
    held = {name: rbd.find_image(rbd_images(healthy_lab, site), image_id) is not None for name, site in sites.items()}
    assert held == {"central": True, "dcn0": True, "dcn1": False}

    assert glance.delete_image(conn, image_id, ignore_missing=False)
    with pytest.raises(GlanceError) as gone:
        glance.get_image(conn, image_id)
    assert gone.value.status == 404
    left = {name: [e for e in rbd_images(healthy_lab, site) if e.image == image_id] for name, site in sites.items()}
    assert left == {"central": [], "dcn0": [], "dcn1": []}
