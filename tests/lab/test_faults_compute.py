"""Each compute fault of the lab, shown by its observable effect through the real clients.

One lab carries all four (they break different things: dcn0's Nova settings, dcn1's hand edits,
central's key for dcn0), and where the effect is a failure the same steps succeed on the healthy lab
(the functional suite's BOOT, VOLUME and ROUNDTRIP checks, three runs in test_creates_suite), or are
probed here on it.

- ``cross-az-attach-true``: the one-step boot from volume at dcn0 gets its volume from Cinder's
  default AZ (central's cluster) and the server goes to ERROR, as the source document warns;
- ``nova-downloads-images``: an image only central has boots at dcn0 as a flat copy in dcn0's vms
  pool, where the healthy lab refuses with Nova's "No image locations are accessible";
- ``cow-disabled``: an image dcn1's store holds still boots at dcn1 as a flat copy, not a clone;
- ``central-stale-dcn0-key``: a server image taken at dcn0 stays in the dcn0 store; its copy to
  central fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lab_support import (
    cli_json,
    connect,
    create_server,
    openstack_cli,
    rbd_pool_on_site,
    recorded,
    wait_for_server,
)
from openstack.connection import Connection

from dcn_checks import glance, rbd, waiters
from dcn_checks.glance import GlanceImage
from dcn_checks.lab.deploy import LabInfo, node_root
from dcn_checks.lab.faults import FAULTS_BY_NAME
from dcn_checks.lab.nova.conf import COMPUTE_CONF, read_nova_conf
from dcn_checks.ledger import Ledger, new_run_id, resource_name
from dcn_checks.model import SiteModel, load_model

pytestmark = pytest.mark.lab

RUN = new_run_id()
COMPUTE_FAULTS = ("cross-az-attach-true", "nova-downloads-images", "cow-disabled", "central-stale-dcn0-key")
IMAGE_BYTES = 2 * 1024 * 1024
TIMEOUT_S = 120.0


def name(purpose: str) -> str:
    return resource_name(RUN, purpose)


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compute_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*COMPUTE_FAULTS)


@pytest.fixture(scope="module")
def model(compute_lab: LabInfo) -> SiteModel:
    return load_model(compute_lab.model_path)


def _session(lab: LabInfo) -> Iterator[tuple[Connection, Ledger]]:
    conn = connect(lab)
    ledger = recorded(lab, conn, RUN)
    try:
        yield conn, next(ledger)
        next(ledger, None)  # teardown: remove what the ledger lists, fail if something stays
    finally:
        conn.close()


@pytest.fixture(scope="module")
def faulty(compute_lab: LabInfo) -> Iterator[tuple[Connection, Ledger]]:
    yield from _session(compute_lab)


@pytest.fixture(scope="module")
def healthy(healthy_lab: LabInfo) -> Iterator[tuple[Connection, Ledger]]:
    yield from _session(healthy_lab)


def make_flavor(lab: LabInfo, ledger: Ledger, purpose: str) -> str:
    created = cli_json(lab, "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "0", name(f"tiny-{purpose}"))
    return ledger.record("flavor", created["id"], name(f"tiny-{purpose}"))


def make_image(
    conn: Connection, ledger: Ledger, purpose: str, stores: tuple[str, ...], *, endpoint: str | None = None
) -> GlanceImage:
    """An image uploaded to ``stores[0]`` (through ``endpoint``, central's by default), copied to the rest."""
    created = glance.create_image(conn, name(purpose), endpoint=endpoint)
    ledger.record("image", created.image_id, created.name)
    glance.upload_image_to_store(conn, created.image_id, os.urandom(IMAGE_BYTES), stores[0], endpoint=endpoint)
    if stores[1:]:
        glance.copy_image_to_stores(conn, created.image_id, list(stores[1:]))
    return waiters.wait_for_image_in_stores(
        glance.image_probe(conn, created.image_id), created.image_id, stores, timeout_s=TIMEOUT_S
    )


def boot(lab: LabInfo, conn: Connection, ledger: Ledger, purpose: str, flavor: str, *args: str) -> Any:
    return create_server(lab, conn, ledger, name(purpose), "--flavor", flavor, *args, "--nic", "none")


def vms_disk(lab: LabInfo, model: SiteModel, site: str, server_id: str) -> rbd.RbdEntry | None:
    return rbd.find_image(rbd_pool_on_site(lab, model.site(site), "vms"), rbd.vm_disk_name(server_id))


def test_the_faults_break_the_sites_the_tests_expect() -> None:
    assert {name: FAULTS_BY_NAME[name].site for name in COMPUTE_FAULTS} == {
        "cross-az-attach-true": "dcn0",
        "nova-downloads-images": "dcn0",
        "cow-disabled": "dcn1",
        "central-stale-dcn0-key": "central",
    }


# --- cross-az-attach-true -------------------------------------------------------------------------


def test_cross_az_attach_true_puts_the_boot_volume_in_the_default_az_and_fails_the_boot(
    compute_lab: LabInfo, model: SiteModel, faulty: tuple[Connection, Ledger]
) -> None:
    conn, ledger = faulty
    conf = read_nova_conf(node_root(compute_lab.lab_dir, "dcn0-hci-0"), COMPUTE_CONF)
    assert conf.cross_az_attach is True
    # Central alone has the image: with cross_az_attach true nothing at dcn0 reads it (and this lab's
    # central-stale-dcn0-key keeps central from copying to dcn0).
    image = make_image(conn, ledger, "bfv-source", ("central",))
    flavor = make_flavor(compute_lab, ledger, "bfv")
    bfv = ("--image", image.image_id, "--boot-from-volume", "1", "--availability-zone", "dcn0")
    server = boot(compute_lab, conn, ledger, "bfv-dcn0", flavor, *bfv)
    assert server.status == "ERROR"
    assert server.fault["message"].startswith("Exceeded maximum number of retries."), server.fault
    volume = conn.block_storage.get_volume(server.attached_volumes[0]["id"])
    assert volume.availability_zone == model.central.az
    central = rbd_pool_on_site(compute_lab, model.central, "volumes")
    entry = rbd.find_image(central, rbd.volume_name(volume.id))
    assert entry is not None and rbd.is_cow_clone_of(entry, "images", image.image_id)
    assert (
        rbd.find_image(rbd_pool_on_site(compute_lab, model.site("dcn0"), "volumes"), rbd.volume_name(volume.id)) is None
    )


# --- nova-downloads-images ------------------------------------------------------------------------


def test_nova_downloads_images_boots_a_central_only_image_flat_at_dcn0(
    compute_lab: LabInfo, model: SiteModel, faulty: tuple[Connection, Ledger]
) -> None:
    conn, ledger = faulty
    image = make_image(conn, ledger, "central-only", ("central",))
    server = boot(compute_lab, conn, ledger, "download-dcn0", make_flavor(compute_lab, ledger, "download"),
                  "--image", image.image_id, "--availability-zone", "dcn0")  # fmt: skip
    assert server.status == "ACTIVE", server.fault
    disk = vms_disk(compute_lab, model, "dcn0", server.id)
    assert disk is not None and disk.parent is None  # a full copy, not a clone
    log = (compute_lab.lab_dir / "logs" / "dcn0-hci-0" / "nova-compute.log").read_text()
    assert f"Downloading image {image.image_id}" in log


def test_healthy_dcn0_refuses_to_download_a_central_only_image(
    healthy_lab: LabInfo, healthy: tuple[Connection, Ledger]
) -> None:
    conn, ledger = healthy
    image = make_image(conn, ledger, "central-only-control", ("central",))
    server = boot(healthy_lab, conn, ledger, "refused-dcn0", make_flavor(healthy_lab, ledger, "refused"),
                  "--image", image.image_id, "--availability-zone", "dcn0")  # fmt: skip
    assert server.status == "ERROR"
    assert server.fault["message"] == (
        f"Build of instance {server.id} aborted: Image {image.image_id} is unacceptable: "
        "No image locations are accessible"
    )
    log = (healthy_lab.lab_dir / "logs" / "dcn0-hci-0" / "nova-compute.log").read_text()
    assert "never_download_image_if_on_rbd=True; refusing to fetch and upload." in log


# --- cow-disabled ---------------------------------------------------------------------------------


def test_cow_disabled_copies_images_flat_into_dcn1_vms(
    compute_lab: LabInfo, model: SiteModel, faulty: tuple[Connection, Ledger]
) -> None:
    conn, ledger = faulty
    image = make_image(conn, ledger, "in-dcn1", ("central", "dcn1"))
    server = boot(compute_lab, conn, ledger, "flat-dcn1", make_flavor(compute_lab, ledger, "flat"),
                  "--image", image.image_id, "--availability-zone", "dcn1")  # fmt: skip
    assert server.status == "ACTIVE", server.fault
    disk = vms_disk(compute_lab, model, "dcn1", server.id)
    assert disk is not None and disk.parent is None
    images = rbd_pool_on_site(compute_lab, model.site("dcn1"), "images")
    assert rbd.find_snapshot(images, image.image_id) is not None  # the local copy was there to clone


# --- central-stale-dcn0-key -----------------------------------------------------------------------


def test_central_stale_dcn0_key_keeps_a_dcn0_server_image_out_of_central(
    compute_lab: LabInfo, model: SiteModel, faulty: tuple[Connection, Ledger]
) -> None:
    conn, ledger = faulty
    edge = model.site("dcn0").glance_endpoint
    image = make_image(conn, ledger, "uploaded-at-dcn0", ("dcn0",), endpoint=edge)
    server = boot(compute_lab, conn, ledger, "cow-dcn0", make_flavor(compute_lab, ledger, "cow"),
                  "--image", image.image_id, "--availability-zone", "dcn0")  # fmt: skip
    assert server.status == "ACTIVE", server.fault
    assert openstack_cli(compute_lab, "server", "stop", server.id).returncode == 0
    wait_for_server(conn, server.id, "SHUTOFF")
    created = cli_json(compute_lab, "server", "image", "create", "--name", name("snap"), "--wait", server.id)
    snapshot_id = ledger.record("image", created["id"], name("snap"))
    assert glance.get_image(conn, snapshot_id).stores == {"dcn0"}
    glance.copy_image_to_stores(conn, snapshot_id, ["central"])
    # Glance fails the copy task as soon as central's dcn0 store cannot connect; it does not mark the
    # store in os_glance_failed_import (the step that fails is the read, before any per-store import).
    task = waiters.wait_for(
        lambda: latest_task(conn, snapshot_id),
        lambda found: found is not None and found["status"] in ("success", "failure"),
        timeout_s=TIMEOUT_S,
        description=f"copy task of {snapshot_id} finished",
        interval_s=0.5,
    )
    assert task["status"] == "failure", task
    assert glance.get_image(conn, snapshot_id).stores == {"dcn0"}


def latest_task(conn: Connection, image_id: str) -> dict[str, Any] | None:
    """The image's newest import task (``GET /v2/images/{id}/tasks``, Images API 2.12)."""
    tasks = conn.image.get(f"/images/{image_id}/tasks").json().get("tasks", [])
    return max(tasks, key=lambda task: task["created_at"]) if tasks else None
