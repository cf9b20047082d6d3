"""The lab's seed image: a small image in every store, broken on purpose by the ``image`` faults.

Faults such as "an image copy missing from one cluster" need an image to break. When one of them is
requested, the lab uploads a seed image to central, copies it to every DCN store through Glance, and
then changes the target cluster behind Glance's back, as an operator's ``rbd`` command would.

The upload follows the source document: ``glance image-create --file --store central`` (the legacy
``PUT /v2/images/<id>/file`` with ``x-image-meta-store``), because the lab's Glance enables only
``web-download,copy-image`` as import methods, as the document's GlanceEnabledImportMethods does.
Nothing here needs cleaning up: the image lives in the lab's clusters and database, which die with it.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import glanceclient
import openstack

from dcn_checks import glance, waiters
from dcn_checks.errors import LabError, WaitFailed, WaitTimeout
from dcn_checks.lab import deploy  # deploy imports seed too; harmless: used at call time only
from dcn_checks.lab.ceph import Cluster, rbd_admin
from dcn_checks.lab.faults import Fault
from dcn_checks.lab.nodes import check
from dcn_checks.model import SiteModel, load_model

log = logging.getLogger(__name__)

SEED_IMAGE_NAME = "dcnchk-lab-seed"
SEED_IMAGE_BYTES = 2 * 1024 * 1024
#: The snapshot glance_store creates and protects on every RBD copy (``rbd://<fsid>/<pool>/<id>/snap``).
SNAPSHOT = "snap"
COPY_TIMEOUT_S = 120.0


def apply_image_faults(
    info: deploy.LabInfo, clusters: Mapping[str, Cluster], faults: tuple[Fault, ...]
) -> deploy.LabInfo:
    """Create the seed image in every store, then apply each image fault to its site's cluster.

    ``clusters`` maps a site name to its running cluster. The seed image's ID is added to
    ``lab.json`` (``seed_image``) so that checks and tests find it; the updated LabInfo is returned.
    """
    model = load_model(info.model_path)
    for fault in faults:
        if fault.stage != "image":
            raise LabError(f"fault {fault.name} is not an image fault")
        if fault.site not in clusters:
            raise LabError(f"fault {fault.name} breaks site {fault.site}, which has no cluster in this lab")
    conn = _connect(info)
    try:
        # The catalog's URL, unversioned: the SDK's image endpoint ends in /v2/, which glanceclient adds itself.
        client = glanceclient.Client("2", endpoint=conn.endpoint_for("image"), session=conn.session)
        image_id = create_seed_image(client, model, needed={f.site for f in faults})
    finally:
        conn.close()
    info = dataclasses.replace(info, seed_image=image_id)
    (info.lab_dir / deploy.LAB_FILE).write_text(info.to_json())
    for fault in faults:
        site = model.site(fault.site)
        break_seed_copy(fault, clusters[fault.site], f"{site.pools.images}/{image_id}")
    return info


def _connect(info: deploy.LabInfo) -> openstack.connection.Connection:
    config = openstack.config.OpenStackConfig(config_files=[str(info.clouds_yaml)])
    return openstack.connection.Connection(config=config.get_one(info.cloud))


def create_seed_image(client: Any, model: SiteModel, *, needed: set[str]) -> str:
    """Upload the seed image to the central store, copy it to every DCN store, return its ID.

    ``client`` is a python-glanceclient v2 client of the central Glance. ``needed`` names the sites
    whose store must hold a copy (the image faults' sites); other DCN stores are copied to when
    central Glance offers them and skipped otherwise, so an env fault elsewhere does not stop us.
    """
    started = time.monotonic()
    offered = {store["id"] for store in client.images.get_stores_info().get("stores", [])}
    central = model.central.store_id
    missing = sorted(s.name for s in model.sites if s.name in needed and s.store_id not in offered)
    if central not in offered or missing:
        raise LabError(
            f"central Glance offers stores {sorted(offered)}; the seed image needs "
            f"{', '.join([central, *missing])} (an env fault removed a store the image faults need)"
        )
    methods = client.images.get_import_info().get("import-methods", {}).get("value", [])
    if "copy-image" not in methods:
        raise LabError(
            f"central Glance enables import methods {methods}, not copy-image, so the seed image cannot be "
            "copied to the DCN stores (do not combine image faults with copy-image-disabled)"
        )
    targets = [s.store_id for s in model.dcn_sites if s.store_id in offered]
    image = client.images.create(name=SEED_IMAGE_NAME, disk_format="raw", container_format="bare", visibility="public")
    image_id = str(image["id"])
    log.info("seed image %s created; uploading %d bytes to store %s", image_id, SEED_IMAGE_BYTES, central)
    client.images.upload(image_id, io.BytesIO(os.urandom(SEED_IMAGE_BYTES)), backend=central)
    wait_for_stores(client, image_id, [central])
    if targets:
        client.images.image_import(image_id, method="copy-image", stores=targets)
        wait_for_stores(client, image_id, [central, *targets])
    log.info(
        "seed image %s in stores %s after %.1fs", image_id, ", ".join([central, *targets]), time.monotonic() - started
    )
    return image_id


def wait_for_stores(client: Any, image_id: str, stores: Sequence[str]) -> None:
    """Wait until the image is active in every store of ``stores`` with no import under way.

    A non-empty ``os_glance_failed_import`` ends the wait at once: Glance will not retry it.
    """
    try:
        waiters.wait_for_image_in_stores(
            lambda: glance.parse_image(dict(client.images.get(image_id))),
            image_id,
            stores,
            timeout_s=COPY_TIMEOUT_S,
            interval_s=0.3,
        )
    except WaitFailed as err:
        raise LabError(f"seed image {image_id}: {err.reason}; see the central Glance log") from err
    except WaitTimeout as err:
        raise LabError(f"seed image {image_id}: {err}") from err


def break_seed_copy(fault: Fault, cluster: Cluster, image_spec: str) -> None:
    """Apply one image fault to ``image_spec`` (``images/<id>``) on ``cluster`` as client.admin."""
    snap = f"{image_spec}@{SNAPSHOT}"
    if fault.name == "image-copy-missing":
        # What an operator's cleanup does, in the order RBD demands; Glance keeps the location.
        steps = [
            ["snap", "unprotect", snap],
            ["snap", "rm", "--no-progress", snap],
            ["rm", "--no-progress", image_spec],
        ]
    elif fault.name == "snap-unprotected":
        steps = [["snap", "unprotect", snap]]
    else:
        raise LabError(f"the lab cannot apply image fault {fault.name}")
    for args in steps:
        check(rbd_admin(cluster, args), f"{cluster.name}: rbd {' '.join(args)}")
    log.info("fault %s applied to %s on cluster %s", fault.name, image_spec, cluster.name)
