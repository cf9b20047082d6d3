"""Every lab fault, shown on a real lab deployed with it (what ``dcn-checks lab up --fault`` does).

A lab costs about 30 s, so three labs carry all faults, grouped so that no fault hides another:

- ``key_lab``: the cephx key, keyring and ceph.conf faults;
- ``glance_lab``: the Glance configuration faults, plus conf-wrong-mons (conf-wrong-fsid and
  conf-wrong-mons both edit dcn1-hci-0's central.conf: together they make it a valid dcn1 conf);
- ``image_lab``: the seed image faults, plus dcn-no-write-to-central (the seed copies need central's
  Glance to write to the DCN clusters, which the caps faults of ``key_lab`` would refuse).

Where a fault shows as a failure, the same probe is run on a lab without that fault and succeeds,
so the failure is the fault's and not the probe's. No separate healthy lab is deployed for that.
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import glanceclient
import lab_support
import pytest

from dcn_checks.cephconf import find_entity, parse_auth_get, parse_ceph_conf, parse_keyring
from dcn_checks.lab import ceph, deploy, nodes, seed
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.lab.faults import FAULTS, FAULTS_BY_NAME, fault_node
from dcn_checks.model import SiteModel, load_model
from dcn_checks.rbd import find_image, find_snapshot, parse_location, parse_rbd_ls

pytestmark = pytest.mark.lab

KEY_FAULTS = (
    "external-caps-wrong",
    "external-caps-missing",
    "keyring-mode-0644",
    "keyring-unknown-key",
    "conf-wrong-fsid",
)
GLANCE_FAULTS = (
    "dcn-glance-without-central",
    "central-glance-without-dcn1",
    "backend-id-typo",
    "copy-image-disabled",
    "conf-wrong-mons",
)
IMAGE_FAULTS = ("image-copy-missing", "snap-unprotected", "dcn-no-write-to-central")
RBD_TIMEOUT_S = 20.0


# --- labs -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*KEY_FAULTS)


@pytest.fixture(scope="module")
def glance_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*GLANCE_FAULTS)


@pytest.fixture(scope="module")
def image_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*IMAGE_FAULTS)


# --- probes ---------------------------------------------------------------------------------------


@functools.cache
def model_of(info: LabInfo) -> SiteModel:
    return load_model(info.model_path)


def node_of(info: LabInfo, site: str) -> str:
    """The node a site's faults are applied to (its first Glance node), as ``faults.fault_node`` picks it."""
    fault = next(f for f in FAULTS if f.site == site)
    return fault_node(fault, model_of(info))


def on_node(info: LabInfo, node: str, argv: Sequence[str]) -> nodes.CommandResult:
    """Run ``argv`` on ``node`` of the lab, with the node's Ceph client files at /etc/ceph."""
    return nodes.run_on_node(argv, deploy.ceph_binds(info.lab_dir, node, info.release), timeout_s=RBD_TIMEOUT_S)


def rbd_client(info: LabInfo, node: str, cluster: str, *args: str) -> nodes.CommandResult:
    """``rbd`` as the cross-site client user (``client.external``) with the node's ``<cluster>.conf``."""
    user = model_of(info).client_user
    return on_node(info, node, ["rbd", "--conf", f"/etc/ceph/{cluster}.conf", "--id", user, *args])


def admin_cluster(info: LabInfo, site: str) -> ceph.Cluster:
    """What an admin client needs of a site's cluster (conf and admin keyring under the lab dir)."""
    model_site = model_of(info).site(site)
    directory = ceph.cluster_dir(info.lab_dir, model_site.cluster)
    return ceph.Cluster(
        name=model_site.cluster,
        fsid=model_site.fsid or "",
        dir=directory,
        conf_path=directory / f"{model_site.cluster}.conf",
        admin_keyring_path=directory / f"{model_site.cluster}.client.admin.keyring",
        mon_host=model_site.mons[0],
        mon_pid=0,
        osd_pid=0,
    )


def external_caps(info: LabInfo, site: str) -> dict[str, str]:
    """The caps of the cross-site client user on a site's cluster, read as client.admin."""
    entity = f"client.{model_of(info).client_user}"
    result = nodes.check(ceph.ceph_admin(admin_cluster(info, site), ["auth", "get", entity, "-f", "json"]), "auth get")
    found = find_entity(parse_auth_get(result.stdout), entity)
    assert found is not None, result.stdout
    return found.caps.as_dict()


def node_ceph_file(info: LabInfo, node: str, name: str) -> Path:
    """A file of a node's Ceph client directory (/etc/ceph at ussuri), under the node's root."""
    return deploy.node_root(info.lab_dir, node) / model_of(info).profile.ceph_config_host_dir.lstrip("/") / name


#: One admin connection per lab for the whole module.
connect = functools.cache(lab_support.connect)


def glance_url(info: LabInfo, site: str) -> str:
    """The site's public Glance: central's glance_api, or the edge Glance of a DCN site."""
    return next(e.url for e in info.glance if e.site == site and e.service == "glance_api")


def glance_get(info: LabInfo, site: str, path: str) -> Any:
    response = connect(info).session.get(glance_url(info, site) + path)
    return response.json()


def store_ids(info: LabInfo, site: str) -> set[str]:
    return {store["id"] for store in glance_get(info, site, "/v2/info/stores")["stores"]}


def default_store(info: LabInfo, site: str) -> str:
    stores = glance_get(info, site, "/v2/info/stores")["stores"]
    return str(next(store["id"] for store in stores if store.get("default") == "true"))


def import_methods(info: LabInfo, site: str) -> list[str]:
    return list(glance_get(info, site, "/v2/info/import")["import-methods"]["value"])


def glance_client(info: LabInfo) -> Any:
    """python-glanceclient of the central Glance, found through the catalog (as the document's CLI does)."""
    conn = connect(info)
    return glanceclient.Client("2", endpoint=conn.endpoint_for("image"), session=conn.session)


def seed_image_id(info: LabInfo) -> str:
    recorded = deploy.read_lab_info(info.lab_dir)  # up() returns the LabInfo from before the seed image
    assert recorded is not None and recorded.seed_image, f"{info.lab_dir}/lab.json names no seed image"
    return recorded.seed_image


# --- the grouping ---------------------------------------------------------------------------------


def test_every_fault_is_deployed_by_exactly_one_lab_here() -> None:
    grouped = [*KEY_FAULTS, *GLANCE_FAULTS, *IMAGE_FAULTS]
    assert len(grouped) == len(set(grouped))


def test_every_fault_of_the_catalog_is_shown_on_a_lab_by_some_test_module() -> None:
    """The faults of this module, of the volume and compute modules, and those the read-only suite
    tests deploy (each shown there by the checks it fails) cover the whole catalog."""
    import test_creates_suite
    import test_faults_compute
    import test_faults_volume
    import test_reads_ceph
    import test_reads_services

    shown = {
        *KEY_FAULTS, *GLANCE_FAULTS, *IMAGE_FAULTS,
        *test_faults_volume.VOLUME_FAULTS, *test_faults_compute.COMPUTE_FAULTS,
        *test_reads_ceph.KEYS_LAB, *test_reads_ceph.CLUSTER_LAB, *test_reads_services.SERVICE_FAULTS,
        *test_creates_suite.CREATES_FAULTS, *test_creates_suite.CREATES_FAULTS_2,
    }  # fmt: skip
    assert sorted(set(FAULTS_BY_NAME) - shown) == []


# --- key_lab: cephx caps, keyrings, ceph.conf -----------------------------------------------------


def test_external_caps_wrong_limits_dcn0_osd_caps_to_images(key_lab: LabInfo, glance_lab: LabInfo) -> None:
    """external-caps-wrong: central can read dcn0's images pool but not its vms pool."""
    assert external_caps(key_lab, "dcn0")["osd"] == "profile rbd pool=images"
    assert "pool=vms" in external_caps(glance_lab, "dcn0")["osd"]
    central = node_of(key_lab, "central")
    assert rbd_client(key_lab, central, "dcn0", "-p", "images", "ls").ok
    refused = rbd_client(key_lab, central, "dcn0", "-p", "vms", "ls")
    assert refused.returncode == 1 and "Operation not permitted" in refused.stderr, refused.stderr
    assert rbd_client(glance_lab, node_of(glance_lab, "central"), "dcn0", "-p", "vms", "ls").ok


def test_external_caps_missing_leaves_dcn1_client_without_mon_and_osd_caps(
    key_lab: LabInfo, glance_lab: LabInfo
) -> None:
    """external-caps-missing: dcn1's client.external has only mgr caps, so central cannot even connect."""
    assert external_caps(key_lab, "dcn1") == {"mgr": "allow *"}
    refused = rbd_client(key_lab, node_of(key_lab, "central"), "dcn1", "-p", "images", "ls")
    assert refused.returncode == 13 and "couldn't connect to the cluster" in refused.stderr, refused.stderr
    assert rbd_client(glance_lab, node_of(glance_lab, "central"), "dcn1", "-p", "images", "ls").ok


def test_keyring_mode_0644_makes_dcn0_central_keyring_world_readable(key_lab: LabInfo, glance_lab: LabInfo) -> None:
    """keyring-mode-0644: the central keyring on dcn0-hci-0's node root is 0644 instead of 0600."""
    name = f"central.client.{model_of(key_lab).client_user}.keyring"
    broken = node_ceph_file(key_lab, node_of(key_lab, "dcn0"), name)
    assert broken.stat().st_mode & 0o777 == 0o644
    assert node_ceph_file(glance_lab, node_of(glance_lab, "dcn0"), name).stat().st_mode & 0o777 == 0o600


def test_keyring_unknown_key_is_refused_by_central(key_lab: LabInfo, image_lab: LabInfo) -> None:
    """keyring-unknown-key: dcn0-hci-0's central keyring holds a key central does not know; cephx refuses it."""
    node = node_of(key_lab, "dcn0")
    user = model_of(key_lab).client_user
    on_disk = parse_keyring(node_ceph_file(key_lab, node, f"central.client.{user}.keyring").read_text())
    admin = ceph.ceph_admin(admin_cluster(key_lab, "central"), ["auth", "get", f"client.{user}", "-f", "json"])
    known = parse_auth_get(nodes.check(admin, "auth get").stdout)
    assert on_disk[0].key.reveal() != known[0].key.reveal()
    refused = rbd_client(key_lab, node, "central", "-p", "images", "ls")
    assert refused.returncode == 13 and "Permission denied" in refused.stderr, refused.stderr
    assert rbd_client(image_lab, node_of(image_lab, "dcn0"), "central", "-p", "images", "ls").ok


def test_conf_wrong_fsid_names_dcn1_fsid_in_central_conf(key_lab: LabInfo) -> None:
    """conf-wrong-fsid: dcn1-hci-0's central.conf carries dcn1's fsid.

    The Ceph client does not refuse that: it takes the fsid from the monitors it reaches, so the
    cluster answers with central's real fsid. Only comparing the conf with the cluster finds it.
    """
    model = model_of(key_lab)
    node = node_of(key_lab, "dcn1")
    conf = parse_ceph_conf(node_ceph_file(key_lab, node, "central.conf").read_text())
    assert conf.fsid == model.site("dcn1").fsid != model.central.fsid
    user = model.client_user
    answered = on_node(key_lab, node, ["ceph", "--conf", "/etc/ceph/central.conf", "--id", user, "fsid"])
    assert answered.ok and answered.stdout.strip() == model.central.fsid, answered.stderr


# --- glance_lab: Glance configuration, conf-wrong-mons ----------------------------------------------


def test_conf_wrong_mons_sends_dcn1_central_client_to_dcn1_mons(glance_lab: LabInfo, image_lab: LabInfo) -> None:
    """conf-wrong-mons: dcn1-hci-0's central.conf names dcn1's mons, which refuse central's key at once."""
    model = model_of(glance_lab)
    node = node_of(glance_lab, "dcn1")
    conf = parse_ceph_conf(node_ceph_file(glance_lab, node, "central.conf").read_text())
    assert conf.fsid == model.central.fsid
    assert conf.mon_host == model.site("dcn1").mons[0] != model.central.mons[0]
    refused = rbd_client(glance_lab, node, "central", "-p", "images", "ls")
    assert refused.returncode == 13 and "couldn't connect to the cluster" in refused.stderr, refused.stderr
    assert rbd_client(image_lab, node_of(image_lab, "dcn1"), "central", "-p", "images", "ls").ok


def test_dcn_glance_without_central_lacks_central_store(glance_lab: LabInfo, key_lab: LabInfo) -> None:
    """dcn-glance-without-central: dcn0's edge Glance offers only its own store."""
    assert store_ids(glance_lab, "dcn0") == {"dcn0"}
    assert store_ids(key_lab, "dcn0") == {"dcn0", "central"}


def test_central_glance_without_dcn1_lacks_dcn1_store(glance_lab: LabInfo, key_lab: LabInfo) -> None:
    """central-glance-without-dcn1: central's Glance offers central and dcn0, not dcn1."""
    assert store_ids(glance_lab, "central") == {"central", "dcn0"}
    assert store_ids(key_lab, "central") == {"central", "dcn0", "dcn1"}


def test_backend_id_typo_gives_dcn1_default_store_default_backend(glance_lab: LabInfo, key_lab: LabInfo) -> None:
    """backend-id-typo: GlangeBackendID is ignored, so dcn1's edge Glance calls its store 'default_backend'."""
    assert default_store(glance_lab, "dcn1") == "default_backend"
    assert "dcn1" not in store_ids(glance_lab, "dcn1")
    assert default_store(key_lab, "dcn1") == "dcn1"


def test_copy_image_disabled_refuses_copy_requests_at_central(glance_lab: LabInfo, key_lab: LabInfo) -> None:
    """copy-image-disabled: central's Glance lists no copy-image method and refuses a copy with 400."""
    assert import_methods(glance_lab, "central") == ["web-download"]
    assert import_methods(key_lab, "central") == ["web-download", "copy-image"]
    client = glance_client(glance_lab)
    image = client.images.create(name="dcnchk-lab-test-copy", disk_format="raw", container_format="bare")
    try:
        client.images.upload(image["id"], io.BytesIO(os.urandom(1024 * 1024)), backend="central")
        with pytest.raises(glanceclient.exc.HTTPBadRequest, match="Unknown import method name"):
            client.images.image_import(image["id"], method="copy-image", stores=["dcn0"])
    finally:
        client.images.delete(image["id"])


# --- image_lab: the seed image, dcn-no-write-to-central ---------------------------------------------


def rbd_images_listing(info: LabInfo, site: str) -> str:
    result = ceph.rbd_admin(admin_cluster(info, site), ["ls", "-l", "--format", "json", "images"])
    return nodes.check(result, f"{site}: rbd ls -l images").stdout


def test_image_copy_missing_keeps_dcn1_location_without_rbd_image(image_lab: LabInfo) -> None:
    """image-copy-missing: Glance still lists the seed image's dcn1 location; dcn1's images pool lacks it."""
    image_id = seed_image_id(image_lab)
    image = glance_client(image_lab).images.get(image_id)
    assert image["name"] == seed.SEED_IMAGE_NAME
    assert set(image["stores"].split(",")) == {"central", "dcn0", "dcn1"}
    locations = {loc["metadata"]["store"]: parse_location(loc["url"]) for loc in image["locations"]}
    assert locations["dcn1"].fsid == model_of(image_lab).site("dcn1").fsid
    assert find_image(parse_rbd_ls(rbd_images_listing(image_lab, "dcn1")), image_id) is None
    assert find_image(parse_rbd_ls(rbd_images_listing(image_lab, "dcn0")), image_id) is not None


def test_snap_unprotected_leaves_dcn0_seed_snapshot_unprotected(image_lab: LabInfo) -> None:
    """snap-unprotected: ``rbd ls -l`` shows the seed image's @snap unprotected on dcn0, protected on central."""
    image_id = seed_image_id(image_lab)
    listing = rbd_images_listing(image_lab, "dcn0")
    assert '"protected":"false"' in listing
    snapshot = find_snapshot(parse_rbd_ls(listing), image_id)
    assert snapshot is not None and snapshot.protected is False, listing
    central = find_snapshot(parse_rbd_ls(rbd_images_listing(image_lab, "central")), image_id)
    assert central is not None and central.protected is True


def test_dcn_no_write_to_central_lets_dcn0_read_but_not_create(image_lab: LabInfo, glance_lab: LabInfo) -> None:
    """dcn-no-write-to-central: from dcn0-hci-0, central's images pool lists but refuses a new image."""
    node = node_of(image_lab, "dcn0")
    listed = rbd_client(image_lab, node, "central", "-p", "images", "ls", "--format", "json")
    assert listed.ok and seed_image_id(image_lab) in json.loads(listed.stdout), listed.stderr
    refused = rbd_client(image_lab, node, "central", "create", "images/dcnchk-lab-test-x", "--size", "1")
    assert refused.returncode == 1 and "Operation not permitted" in refused.stderr, refused.stderr
    control = node_of(glance_lab, "dcn0")
    assert rbd_client(glance_lab, control, "central", "create", "images/dcnchk-lab-test-x", "--size", "1").ok
    nodes.check(rbd_client(glance_lab, control, "central", "rm", "--no-progress", "images/dcnchk-lab-test-x"), "rm")
