"""The compute part of the source document, step by step, on the healthy lab with the real clients.

An image in every store, then at each DCN site: a COW boot (``openstack server create --image
--availability-zone``) whose disk ``vms/<server>_disk`` is a clone of the site's ``images/<id>@snap``;
a volume from the image in the site's AZ and a boot from it (``--volume``); the one-step boot from
volume (``--image --boot-from-volume``) whose volume Nova asks Cinder for in the server's AZ. Then,
at dcn0, a forced snapshot of the root volume of a stopped server, and a server image of the COW
server (``openstack server image create``) that lives only in the dcn0 store, is copied to central
and on to dcn1 (``copy-image``), and boots COW at dcn1.

The ``openstack`` CLI acts (python-cinderclient for the forced snapshot, as ``openstack volume
snapshot create --force`` does), openstacksdk waits and reads, ``rbd ls -l`` on a node of each site
shows what landed in Ceph. Everything made is recorded at once and deleted in reverse order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from lab_support import (
    cinder_client,
    cleanup,
    cli_json,
    connect,
    create_server,
    open_lab_ledger,
    openstack_cli,
    rbd_pool_on_site,
    recorded,
    wait_for_server,
)
from openstack.connection import Connection

from dcn_checks import glance, rbd, waiters
from dcn_checks.glance import GlanceImage
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.ledger import Ledger, new_run_id, resource_name
from dcn_checks.model import SiteModel, load_model

pytestmark = pytest.mark.lab

RUN = new_run_id()
DCN_SITES = ("dcn0", "dcn1")
ALL_SITES = ("central", *DCN_SITES)
IMAGE_BYTES = 2 * 1024 * 1024
COPY_TIMEOUT_S = 120.0


def name(purpose: str) -> str:
    return resource_name(RUN, purpose)


# --- fixtures: each acts once; the tests observe -----------------------------------------------------


@pytest.fixture(scope="module")
def model(healthy_lab: LabInfo) -> SiteModel:
    return load_model(healthy_lab.model_path)


@pytest.fixture(scope="module")
def conn(healthy_lab: LabInfo) -> Iterator[Connection]:
    connection = connect(healthy_lab)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def ledger(healthy_lab: LabInfo, conn: Connection) -> Iterator[Ledger]:
    yield from recorded(healthy_lab, conn, RUN)


@pytest.fixture(scope="module")
def flavor(healthy_lab: LabInfo, ledger: Ledger) -> str:
    """``openstack flavor create``: root_gb 0 keeps each disk the size of its image."""
    created = cli_json(healthy_lab, "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "0", name("tiny"))
    return ledger.record("flavor", created["id"], name("tiny"))


@pytest.fixture(scope="module")
def image(conn: Connection, ledger: Ledger) -> GlanceImage:
    """A raw image uploaded to central and copied to every DCN store, as the document's image section leaves it."""
    created = glance.create_image(conn, name("cirros"))
    ledger.record("image", created.image_id, created.name)
    glance.upload_image_to_store(conn, created.image_id, os.urandom(IMAGE_BYTES), "central")
    glance.copy_image_to_stores(conn, created.image_id, list(DCN_SITES))
    return waiters.wait_for_image_in_stores(
        glance.image_probe(conn, created.image_id), created.image_id, ALL_SITES, timeout_s=COPY_TIMEOUT_S
    )


def boot(lab: LabInfo, conn: Connection, ledger: Ledger, purpose: str, flavor: str, *args: str) -> Any:
    """``openstack server create --flavor <flavor> <args> --nic none <name>`` (the lab has no Neutron)."""
    return create_server(lab, conn, ledger, name(purpose), "--flavor", flavor, *args, "--nic", "none")


@pytest.fixture(scope="module")
def cow_servers(
    healthy_lab: LabInfo, conn: Connection, ledger: Ledger, flavor: str, image: GlanceImage
) -> dict[str, Any]:
    """``openstack server create --flavor --image --availability-zone <site>`` at each DCN site."""
    return {
        site: boot(
            healthy_lab, conn, ledger, f"cow-{site}", flavor, "--image", image.image_id, "--availability-zone", site
        )
        for site in DCN_SITES
    }


@pytest.fixture(scope="module")
def site_volumes(healthy_lab: LabInfo, conn: Connection, ledger: Ledger, image: GlanceImage) -> dict[str, Any]:
    """``openstack volume create --size 1 --availability-zone <site> --image <id>`` at each DCN site."""
    volumes = {}
    for site in DCN_SITES:
        args = ("volume", "create", "--size", "1", "--availability-zone", site, "--image", image.image_id)
        volume_name = name(f"pet-volume-{site}")
        volume_id = ledger.record("volume", cli_json(healthy_lab, *args, volume_name)["id"], volume_name)
        volumes[site] = waiters.wait_for_volume_status(
            lambda volume_id=volume_id: conn.block_storage.get_volume(volume_id),
            volume_id,
            timeout_s=COPY_TIMEOUT_S,
            interval_s=0.3,
        )
    return volumes


@pytest.fixture(scope="module")
def volume_servers(
    healthy_lab: LabInfo, conn: Connection, ledger: Ledger, flavor: str, site_volumes: dict[str, Any]
) -> dict[str, Any]:
    """``openstack server create --volume <pet-volume> --availability-zone <site>`` at each DCN site."""
    return {
        site: boot(
            healthy_lab, conn, ledger, f"pet-server-{site}", flavor, "--volume", volume.id, "--availability-zone", site
        )
        for site, volume in site_volumes.items()
    }


@pytest.fixture(scope="module")
def bfv_servers(
    healthy_lab: LabInfo, conn: Connection, ledger: Ledger, flavor: str, image: GlanceImage
) -> dict[str, Any]:
    """One step: ``openstack server create --image <id> --boot-from-volume 1 --availability-zone <site>``."""
    bfv = ("--image", image.image_id, "--boot-from-volume", "1")
    return {
        site: boot(healthy_lab, conn, ledger, f"bfv-{site}", flavor, *bfv, "--availability-zone", site)
        for site in DCN_SITES
    }


@dataclass(frozen=True, slots=True)
class VolumeSnapshot:
    """The document's forced snapshot of pet-server-dcn0's root volume, and the server afterwards."""

    snapshot: Any
    volume_id: str
    server_after: Any


@pytest.fixture(scope="module")
def volume_snapshot(
    healthy_lab: LabInfo, conn: Connection, ledger: Ledger, volume_servers: dict[str, Any]
) -> VolumeSnapshot:
    """``server stop``; ``volume snapshot create --volume <id> --force``; ``server start`` (at dcn0)."""
    server = volume_servers["dcn0"]
    volume_id = server.attached_volumes[0]["id"]
    assert openstack_cli(healthy_lab, "server", "stop", server.id).returncode == 0
    wait_for_server(conn, server.id, "SHUTOFF")
    created = cinder_client(conn).volume_snapshots.create(volume_id, force=True, name=name("pet-volume-dcn0-snap"))
    ledger.record("volume_snapshot", created.id, created.name)
    snapshot = waiters.wait_for_volume_status(
        lambda: conn.block_storage.get_snapshot(created.id),
        created.id,
        kind="volume snapshot",
        timeout_s=COPY_TIMEOUT_S,
        interval_s=0.3,
    )
    assert openstack_cli(healthy_lab, "server", "start", server.id).returncode == 0
    return VolumeSnapshot(snapshot, volume_id, wait_for_server(conn, server.id, "ACTIVE"))


@pytest.fixture(scope="module")
def server_image(healthy_lab: LabInfo, conn: Connection, ledger: Ledger, cow_servers: dict[str, Any]) -> GlanceImage:
    """``server stop``; ``server image create --name cirros-snapshot``; ``server start`` (COW server at dcn0)."""
    server = cow_servers["dcn0"]
    assert openstack_cli(healthy_lab, "server", "stop", server.id).returncode == 0
    wait_for_server(conn, server.id, "SHUTOFF")
    created = cli_json(healthy_lab, "server", "image", "create", "--name", name("cirros-snapshot"), "--wait", server.id)
    ledger.record("image", created["id"], name("cirros-snapshot"))
    assert openstack_cli(healthy_lab, "server", "start", server.id).returncode == 0
    wait_for_server(conn, server.id, "ACTIVE")
    return glance.get_image(conn, created["id"])


@pytest.fixture(scope="module")
def image_copied_back(conn: Connection, server_image: GlanceImage) -> tuple[GlanceImage, GlanceImage]:
    """``glance image-import <id> --stores central --import-method copy-image``, then the same to dcn1."""
    glance.copy_image_to_stores(conn, server_image.image_id, ["central"])
    probe = glance.image_probe(conn, server_image.image_id)
    at_central = waiters.wait_for_image_in_stores(
        probe, server_image.image_id, ("dcn0", "central"), timeout_s=COPY_TIMEOUT_S
    )
    glance.copy_image_to_stores(conn, server_image.image_id, ["dcn1"])
    everywhere = waiters.wait_for_image_in_stores(probe, server_image.image_id, ALL_SITES, timeout_s=COPY_TIMEOUT_S)
    return at_central, everywhere


@pytest.fixture(scope="module")
def snapshot_server_dcn1(
    healthy_lab: LabInfo,
    conn: Connection,
    ledger: Ledger,
    flavor: str,
    image_copied_back: tuple[GlanceImage, GlanceImage],
) -> Any:
    image_id = image_copied_back[1].image_id
    return boot(
        healthy_lab, conn, ledger, "from-snapshot-dcn1", flavor, "--image", image_id, "--availability-zone", "dcn1"
    )


def pool(healthy_lab: LabInfo, model: SiteModel, site: str, pool_name: str) -> tuple[rbd.RbdEntry, ...]:
    return rbd_pool_on_site(healthy_lab, model.site(site), pool_name)


# --- the Compute API as NovaAZConfig left it ------------------------------------------------------------


def test_each_dcn_site_is_an_aggregate_and_zone_of_its_computes(healthy_lab: LabInfo, model: SiteModel) -> None:
    zones = {row["Zone Name"] for row in cli_json(healthy_lab, "availability", "zone", "list", "--compute")}
    services = cli_json(healthy_lab, "compute", "service", "list", "--service", "nova-compute")
    for site in DCN_SITES:
        aggregate = cli_json(healthy_lab, "aggregate", "show", model.site(site).az)
        hosts = {node.name for node in model.site(site).nodes}
        assert aggregate["availability_zone"] == site
        assert set(aggregate["hosts"]) == hosts
        assert site in zones
        assert {(s["Host"], s["Zone"], s["State"]) for s in services if s["Host"] in hosts} == {
            (host, site, "up") for host in hosts
        }


# --- ephemeral COW boot ---------------------------------------------------------------------------------


@pytest.mark.parametrize("site", DCN_SITES)
def test_cow_boot_lands_on_a_site_compute_in_the_site_az(
    cow_servers: dict[str, Any], model: SiteModel, site: str
) -> None:
    server = cow_servers[site]
    assert server.status == "ACTIVE", server.fault
    assert server.availability_zone == site
    assert server.compute_host in {node.name for node in model.site(site).nodes}


@pytest.mark.parametrize("site", DCN_SITES)
def test_cow_boot_disk_is_a_clone_of_the_sites_image_snapshot(
    healthy_lab: LabInfo, model: SiteModel, cow_servers: dict[str, Any], image: GlanceImage, site: str
) -> None:
    disk = rbd.find_image(pool(healthy_lab, model, site, "vms"), rbd.vm_disk_name(cow_servers[site].id))
    assert disk is not None, f"{site}: no vms/{cow_servers[site].id}_disk"
    assert rbd.is_cow_clone_of(disk, "images", image.image_id), disk.parent


# --- volumes from images ----------------------------------------------------------------------------------


@pytest.mark.parametrize("site", DCN_SITES)
def test_volume_from_image_is_a_clone_in_the_sites_volumes_pool(
    healthy_lab: LabInfo, model: SiteModel, site_volumes: dict[str, Any], image: GlanceImage, site: str
) -> None:
    volume = site_volumes[site]
    assert volume.availability_zone == site
    entry = rbd.find_image(pool(healthy_lab, model, site, "volumes"), rbd.volume_name(volume.id))
    assert entry is not None and rbd.is_cow_clone_of(entry, "images", image.image_id)


@pytest.mark.parametrize("site", DCN_SITES)
def test_server_boots_from_the_sites_volume(
    conn: Connection, volume_servers: dict[str, Any], site_volumes: dict[str, Any], site: str
) -> None:
    server = volume_servers[site]
    assert server.status == "ACTIVE", server.fault
    assert server.availability_zone == site
    assert [v["id"] for v in server.attached_volumes] == [site_volumes[site].id]
    volume = conn.block_storage.get_volume(site_volumes[site].id)
    assert volume.status == "in-use"
    assert [a["server_id"] for a in volume.attachments] == [server.id]


@pytest.mark.parametrize("site", DCN_SITES)
def test_one_step_boot_from_volume_creates_the_volume_in_the_server_az(
    healthy_lab: LabInfo, conn: Connection, model: SiteModel, bfv_servers: dict[str, Any], image: GlanceImage, site: str
) -> None:
    server = bfv_servers[site]
    assert server.status == "ACTIVE", server.fault
    volume = conn.block_storage.get_volume(server.attached_volumes[0]["id"])
    assert volume.availability_zone == site
    entry = rbd.find_image(pool(healthy_lab, model, site, "volumes"), rbd.volume_name(volume.id))
    assert entry is not None and rbd.is_cow_clone_of(entry, "images", image.image_id)
    central = pool(healthy_lab, model, "central", "volumes")
    assert rbd.find_image(central, rbd.volume_name(volume.id)) is None


def test_forced_snapshot_of_an_in_use_root_volume_stays_on_the_site(
    healthy_lab: LabInfo, model: SiteModel, volume_snapshot: VolumeSnapshot, image: GlanceImage
) -> None:
    assert volume_snapshot.snapshot.status == "available"
    entries = pool(healthy_lab, model, "dcn0", "volumes")
    snap = rbd.find_snapshot(
        entries, rbd.volume_name(volume_snapshot.volume_id), rbd.volume_snapshot_name(volume_snapshot.snapshot.id)
    )
    assert snap is not None and rbd.is_cow_clone_of(snap, "images", image.image_id)
    assert volume_snapshot.server_after.status == "ACTIVE"


def test_volume_attaches_to_a_server_of_its_az_only(
    healthy_lab: LabInfo, conn: Connection, ledger: Ledger, cow_servers: dict[str, Any], image: GlanceImage
) -> None:
    """``openstack server add volume`` / ``remove volume`` through Cinder's attachments: a dcn0 volume
    attaches to the dcn0 server; a dcn1 volume is refused by dcn0's Nova (cross_az_attach false)."""
    server = cow_servers["dcn0"]
    volumes = {}
    for site in DCN_SITES:
        args = ("volume", "create", "--size", "1", "--availability-zone", site)
        volume_name = name(f"data-{site}")
        volume_id = ledger.record("volume", cli_json(healthy_lab, *args, volume_name)["id"], volume_name)
        volumes[site] = waiters.wait_for(
            lambda volume_id=volume_id: conn.block_storage.get_volume(volume_id),
            lambda volume: volume.status == "available",
            timeout_s=COPY_TIMEOUT_S,
            description=f"volume {volume_id} available",
            interval_s=0.3,
        )
    attached = openstack_cli(healthy_lab, "server", "add", "volume", server.id, volumes["dcn0"].id)
    assert attached.returncode == 0, attached.stderr
    in_use = waiters.wait_for(
        lambda: conn.block_storage.get_volume(volumes["dcn0"].id),
        lambda volume: volume.status == "in-use",
        timeout_s=COPY_TIMEOUT_S,
        description="dcn0 data volume in-use",
        interval_s=0.3,
    )
    assert [a["server_id"] for a in in_use.attachments] == [server.id]
    assert openstack_cli(healthy_lab, "server", "add", "volume", server.id, volumes["dcn1"].id).returncode == 0
    settled = waiters.wait_for(
        lambda: conn.compute.get_server(server.id),
        lambda found: volumes["dcn1"].id not in {v["id"] for v in found.attached_volumes},
        timeout_s=COPY_TIMEOUT_S,
        description="dcn1 volume refused by dcn0's compute",
        interval_s=0.3,
    )
    assert volumes["dcn0"].id in {v["id"] for v in settled.attached_volumes}
    assert conn.block_storage.get_volume(volumes["dcn1"].id).status == "available"
    detached = openstack_cli(healthy_lab, "server", "remove", "volume", server.id, volumes["dcn0"].id)
    assert detached.returncode == 0, detached.stderr
    waiters.wait_for(
        lambda: conn.block_storage.get_volume(volumes["dcn0"].id),
        lambda volume: volume.status == "available",
        timeout_s=COPY_TIMEOUT_S,
        description="dcn0 data volume detached",
        interval_s=0.3,
    )


# --- image snapshots and the round trip -----------------------------------------------------------------


def test_server_image_at_dcn0_lives_only_in_the_dcn0_store(
    healthy_lab: LabInfo, model: SiteModel, server_image: GlanceImage
) -> None:
    assert server_image.status == "active"
    assert server_image.stores == {"dcn0"}
    [(store, location)] = glance.get_locations(server_image)
    assert (store, location.fsid, location.pool) == ("dcn0", model.site("dcn0").fsid, "images")
    entries = pool(healthy_lab, model, "dcn0", "images")
    flat = rbd.find_image(entries, server_image.image_id)
    snap = rbd.find_snapshot(entries, server_image.image_id)
    assert flat is not None and flat.parent is None  # direct_snapshot flattens the clone
    assert snap is not None and snap.protected is True


def test_server_image_is_copied_to_central_then_to_dcn1_with_one_id(
    model: SiteModel, image_copied_back: tuple[GlanceImage, GlanceImage]
) -> None:
    at_central, everywhere = image_copied_back
    assert at_central.stores == {"dcn0", "central"}
    assert everywhere.stores == set(ALL_SITES)
    fsids = {store: location.fsid for store, location in glance.get_locations(everywhere)}
    assert fsids == {site: model.site(site).fsid for site in ALL_SITES}
    assert {location.image_id for _, location in glance.get_locations(everywhere)} == {everywhere.image_id}


def test_server_image_boots_cow_at_dcn1(
    healthy_lab: LabInfo, model: SiteModel, snapshot_server_dcn1: Any, server_image: GlanceImage
) -> None:
    assert snapshot_server_dcn1.status == "ACTIVE", snapshot_server_dcn1.fault
    assert snapshot_server_dcn1.availability_zone == "dcn1"
    disk = rbd.find_image(pool(healthy_lab, model, "dcn1", "vms"), rbd.vm_disk_name(snapshot_server_dcn1.id))
    assert disk is not None and rbd.is_cow_clone_of(disk, "images", server_image.image_id)


def test_a_fresh_server_image_is_accepted_by_an_immediate_copy_image(
    conn: Connection, ledger: Ledger, cow_servers: dict[str, Any]
) -> None:
    """The Nova of every modelled release adds a snapshot's location by JSON patch, which leaves no
    Glance task behind, so a copy-image sent the moment the server image turns active is accepted.
    Glance's locations API (newer Nova) would still hold the image in its ``location_import`` task
    then, and Glance would answer 409 "Image has active task"."""
    server = cow_servers["dcn1"]
    # openstacksdk acts here, not the CLI: the CLI starts slower than the snapshot completes, so by
    # the time it returned, any task would be over and the test could not tell the two ways apart.
    created = conn.compute.create_server_image(server, name("fresh-snapshot"))
    ledger.record("image", created.id, name("fresh-snapshot"))
    probe = glance.image_probe(conn, created.id)
    fresh = waiters.wait_for(
        probe,
        lambda image: image.status == "active",
        timeout_s=COPY_TIMEOUT_S,
        description=f"server image {created.id} active",
        describe=glance.describe_image_state,
        interval_s=0.02,
    )
    glance.copy_image_to_stores(conn, created.id, ["central"])  # GlanceError 409 if a task still held it
    copied = waiters.wait_for_image_in_stores(probe, created.id, ("dcn1", "central"), timeout_s=COPY_TIMEOUT_S)
    assert (fresh.stores, fresh.import_task) == ({"dcn1"}, None)
    assert copied.stores == {"dcn1", "central"}


def test_deleting_a_server_removes_its_disk_from_the_vms_pool(
    healthy_lab: LabInfo, conn: Connection, model: SiteModel, snapshot_server_dcn1: Any
) -> None:
    deleted = openstack_cli(healthy_lab, "server", "delete", "--wait", snapshot_server_dcn1.id)
    assert deleted.returncode == 0, deleted.stderr
    assert conn.compute.find_server(snapshot_server_dcn1.id, ignore_missing=True) is None
    disk = rbd.vm_disk_name(snapshot_server_dcn1.id)
    assert rbd.find_image(pool(healthy_lab, model, "dcn1", "vms"), disk) is None


# --- Wallaby and later: Nova asks Glance for a copy in its own store (images_rbd_glance_store_name) ---------


@pytest.fixture(scope="module")
def wallaby_lab(deploy_lab: Any) -> LabInfo:
    return deploy_lab(release="wallaby")


def test_wallaby_nova_has_glance_copy_a_missing_image_to_its_store_then_boots_cow(wallaby_lab: LabInfo) -> None:
    """R58: with ``images_rbd_glance_store_name`` set, a boot at dcn0 of an image only central has makes
    Glance copy it into the dcn0 store, and the disk is a clone of the new local copy."""
    conn = connect(wallaby_lab)
    ledger = open_lab_ledger(wallaby_lab, RUN)
    try:
        model = load_model(wallaby_lab.model_path)
        created = glance.create_image(conn, name("central-only"))
        ledger.record("image", created.image_id, created.name)
        glance.upload_image_to_store(conn, created.image_id, os.urandom(IMAGE_BYTES), "central")
        flavor = ledger.record("flavor", cli_json(wallaby_lab, "flavor", "create", "--ram", "64", "--vcpus", "1",
                                                  "--disk", "0", name("tiny-wallaby"))["id"],
                               name("tiny-wallaby"))  # fmt: skip
        server = boot(wallaby_lab, conn, ledger, "copied-dcn0", flavor, "--image", created.image_id,
                      "--availability-zone", "dcn0")  # fmt: skip
        assert server.status == "ACTIVE", server.fault
        assert glance.get_image(conn, created.image_id).stores == {"central", "dcn0"}
        disk = rbd.find_image(pool(wallaby_lab, model, "dcn0", "vms"), rbd.vm_disk_name(server.id))
        assert disk is not None and rbd.is_cow_clone_of(disk, "images", created.image_id)
    finally:
        failures = cleanup(ledger, conn)
        conn.close()
    assert not failures, failures
