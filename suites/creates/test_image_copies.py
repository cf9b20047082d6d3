"""One image in every site's store (R43-R53): upload, copy-image, locations, bytes, RBD images, deletes.

The design's promise is that an image has one ID everywhere: uploaded once to central, copied by
Glance into each DCN site's store, each copy an RBD image ``<id>`` with a protected ``<id>@snap`` in
that site's own cluster, from which the site's Nova and Cinder clone copy-on-write. These checks
upload the run's golden image, copy it with one call, and look at the result from Glance, from each
site's Glance and from each cluster; then they exercise Glance's refusals and deletes on images of
their own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from dcn_checks import glance, imageapi, rbd
from dcn_checks.errors import GlanceError
from dcn_checks.evidence import Evidence
from dcn_checks.findings import Finding
from dcn_checks.flows import Flows, Pools, need
from dcn_checks.model import Site, SiteModel
from dcn_checks.requirements import Verdict
from dcn_checks.target import Target
from dcn_checks.workload import Workload, refusal

if TYPE_CHECKING:
    import openstack.connection

#: The images of the delete checks are small: what is judged is where copies are, not their size.
SMALL_BYTES = 1024 * 1024


def _stores(stores: object) -> str:
    return ",".join(sorted(stores)) if isinstance(stores, tuple | frozenset | set | list) else str(stores)


@pytest.mark.check("IMAGE-001", requirements=["R43"])
@pytest.mark.creates
def test_upload_lands_in_central_store_only(site_model: SiteModel, flows: Flows, verdict: Verdict) -> None:
    """``glance image-create --disk-format raw --file ... --store central``: the image is active in
    central's store and in no other, as raw (the format Nova and Cinder clone from)."""
    central = site_model.central
    golden = need(verdict, central.name, "an active image in the central store", flows.golden_image)
    assert golden.stores_after_upload == (central.store_id,), verdict.message(
        central.name, f"uploaded image {golden.image_id} in store(s) {_stores(golden.stores_after_upload)}",
        f"store {central.store_id} only",
    )  # fmt: skip
    assert golden.disk_format == "raw", verdict.message(
        central.name, f"disk_format {golden.disk_format}", "raw (what the upload gave)"
    )


@pytest.mark.check("IMAGE-010", requirements=["R44"])
@pytest.mark.creates
def test_web_download_import_converts_to_raw(
    site_model: SiteModel, target: Target, workload: Workload, verdict: Verdict, evidence: Evidence
) -> None:
    """``glance image-create-via-import --disk-format qcow2 --import-method web-download --uri <URL>
    --stores central``: Glance downloads the qcow2, converts it to raw (RBD clones need raw) and writes it
    to central's store only. The URL is the target's ``creates.image_url`` (the lab serves one)."""
    if target.image_url is None:
        pytest.skip("the target names no creates.image_url (a qcow2 the cloud's Glance may download)")
    central = site_model.central
    image = workload.import_image("web-download", target.image_url, central.store_id)
    evidence.add(f"image imported from {target.image_url}", {"disk_format": image.disk_format, "size": image.size})
    assert image.stores == {central.store_id}, verdict.message(
        central.name, f"imported image in store(s) {_stores(image.stores)}", f"store {central.store_id} only"
    )
    assert image.disk_format == "raw", verdict.message(
        central.name, f"imported qcow2 kept disk_format {image.disk_format}", "raw (converted on import)"
    )


@pytest.mark.check("IMAGE-002", requirements=["R45", "R46"])
@pytest.mark.creates
def test_copy_image_reaches_every_dcn_store(dcn_site: Site, flows: Flows, verdict: Verdict, evidence: Evidence) -> None:
    """``glance image-import --stores dcn0,dcn1 --import-method copy-image``: one call, and the image's
    ``stores`` (compared as a set) gains each DCN site's store, with nothing left importing or failed."""
    golden = need(verdict, dcn_site.name, "an active image in the central store", flows.golden_image)
    evidence.add("golden image", golden.record())
    expected = f"store {dcn_site.store_id} among the image's stores after one copy-image call"
    seen = f"image {golden.image_id} in {_stores(golden.stores)}"
    if dcn_site.store_id in golden.failed:
        seen += f"; Glance reports {dcn_site.store_id} in os_glance_failed_import"
    if golden.copy_refusal:
        seen += f"; the copy to every DCN store was refused: {golden.copy_refusal}"
    assert dcn_site.store_id in golden.stores, verdict.message(dcn_site.name, seen, expected)


@pytest.mark.check("IMAGE-003", requirements=["R47"])
@pytest.mark.creates
def test_locations_point_at_each_site_cluster(
    site: Site, flows: Flows, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """Through the Glance Nova and Cinder use (the internal endpoint; public hides locations after
    OSSN-0090) the site's store has the location ``rbd://<fsid of the site's cluster>/images/<id>/snap``:
    the same ID, the site's own cluster."""
    golden = need(verdict, site.name, f"the image in store {site.store_id}", lambda: flows.golden(site.name))
    url = imageapi.get_catalog_endpoint(cloud, "image", "internal")
    image = evidence.add(
        f"GET /v2/images/{golden.image_id} at {url}", glance.get_image(cloud, golden.image_id, endpoint=url)
    )
    found = dict(image.location_urls).get(site.store_id)
    expected = f"rbd://{site.fsid or '<fsid of ' + site.cluster + '>'}/{site.pools.images}/{golden.image_id}/snap"
    assert found is not None, verdict.message(
        site.name, f"no location of store {site.store_id} (stores {_stores(image.stores)})", expected
    )
    location = rbd.parse_location(found)
    wanted = (site.fsid or location.fsid, site.pools.images, golden.image_id, rbd.GLANCE_SNAPSHOT)
    assert (location.fsid, location.pool, location.image, location.snapshot) == wanted, verdict.message(
        site.name, f"location {found}", expected
    )


@pytest.mark.check("IMAGE-004", requirements=["R48"])
@pytest.mark.creates
def test_every_site_serves_the_same_bytes(
    site: Site, flows: Flows, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """``os_hash_value`` is unchanged by the copies, and the bytes downloaded from the site's own Glance
    (central's from the catalog) are those uploaded."""
    golden = need(verdict, site.name, f"the image in store {site.store_id}", lambda: flows.golden(site.name))
    image = glance.get_image(cloud, golden.image_id)
    assert image.os_hash_value == golden.os_hash_value, verdict.message(
        site.name, f"os_hash_value {image.os_hash_value} after the copies", f"{golden.os_hash_value} as uploaded"
    )
    endpoint = None if site.is_central else site.glance_endpoint
    if not site.is_central and not endpoint:
        pytest.skip(f"the site model gives no glance_endpoint for {site.name}; the hash was checked at central")
    digest, size = glance.download_sha512(cloud, golden.image_id, endpoint=endpoint)
    evidence.add(f"GET /v2/images/{golden.image_id}/file at {endpoint or 'central'}", f"{size} bytes, sha512 {digest}")
    assert digest == golden.sha512, verdict.message(
        site.name, f"{size} bytes with sha512 {digest[:16]}... from {endpoint or 'central Glance'}",
        f"the {golden.size} bytes uploaded (sha512 {golden.sha512[:16]}...)",
    )  # fmt: skip


@pytest.mark.check("IMAGE-005", requirements=["R49"])
@pytest.mark.creates
def test_each_cluster_holds_image_and_protected_snap(
    site: Site, flows: Flows, pools: Pools, verdict: Verdict, evidence: Evidence
) -> None:
    """``rbd -p images ls -l`` on the site's cluster lists ``<id>`` and ``<id>@snap`` (protected), both of
    the image's size: the parent every COW clone at the site hangs from."""
    golden = need(verdict, site.name, f"the image in store {site.store_id}", lambda: flows.golden(site.name))
    entries = pools.ls(site.name, site.pools.images)
    image = rbd.find_image(entries, golden.image_id)
    snap = rbd.find_snapshot(entries, golden.image_id)
    evidence.add(f"rbd -p {site.pools.images} ls -l at {site.name}", [e for e in entries if e.image == golden.image_id])
    findings = []
    if image is None:
        findings.append(Finding(f"{site.pools.images}/{golden.image_id}", "absent", "present"))
    elif image.size != golden.size:
        findings.append(Finding(f"{site.pools.images}/{golden.image_id} size", str(image.size), str(golden.size)))
    if snap is None:
        findings.append(Finding(f"{golden.image_id}@{rbd.GLANCE_SNAPSHOT}", "absent", "present, protected"))
    elif not snap.protected:
        findings.append(Finding(f"{golden.image_id}@{rbd.GLANCE_SNAPSHOT}", "unprotected", "protected"))
    assert not findings, verdict.findings(site.name, findings)


@pytest.mark.check("IMAGE-006", requirements=["R50"])
@pytest.mark.creates
def test_copy_refusals(site_model: SiteModel, flows: Flows, workload: Workload, verdict: Verdict) -> None:
    """Glance refuses to copy an image that is not active and to copy into a store it does not have, and
    a copy to a store that already holds the image leaves the image as it was."""
    central = site_model.central
    golden = need(verdict, central.name, "an active image in the central store", flows.golden_image)
    queued = glance.create_image(workload.conn, workload.ledger.name("queued"))
    workload.ledger.record("image", queued.image_id, queued.name)
    for what, image_id, stores in (
        ("a queued image", queued.image_id, [central.store_id]),
        ("an unknown store", golden.image_id, ["dcnchk-no-such-store"]),
    ):
        try:
            glance.copy_image_to_stores(workload.conn, image_id, stores)
        except GlanceError as err:
            assert err.status is not None and 400 <= err.status < 500, verdict.message(
                central.name, f"copy-image of {what}: {refusal(err) or err}", "a 4xx refusal"
            )
            continue
        pytest.fail(verdict.message(central.name, f"copy-image of {what} accepted", "a 4xx refusal"))
    try:
        glance.copy_image_to_stores(workload.conn, golden.image_id, [central.store_id])
    except GlanceError as err:
        assert err.status is not None and 400 <= err.status < 500, verdict.message(
            central.name, f"repeated copy-image: {err}", "a 4xx answer or no change"
        )
    after = workload.wait_for_image(golden.image_id, golden.stores)
    assert after.stores == frozenset(golden.stores), verdict.message(
        central.name, f"stores {_stores(after.stores)} after a repeated copy", _stores(golden.stores)
    )


def _small_image(workload: Workload, purpose: str, store: str) -> str:
    return workload.upload_image(purpose, os.urandom(SMALL_BYTES), store).image_id


@pytest.mark.check("IMAGE-007", requirements=["R51"])
@pytest.mark.creates
def test_store_delete_removes_only_that_copy(
    dcn_site: Site, site_model: SiteModel, workload: Workload, pools: Pools, verdict: Verdict
) -> None:
    """``glance stores-delete --store <site> <id>``: the site's location and its RBD image go; central's stay."""
    central = site_model.central
    image_id = _small_image(workload, f"store-delete-{dcn_site.name}", central.store_id)
    try:
        workload.copy_image(image_id, [dcn_site.store_id])
        with workload.busy():
            glance.delete_image_from_store(workload.conn, image_id, dcn_site.store_id, ignore_missing=False)
    except Exception as err:
        said = refusal(err)
        if said is None:
            raise
        pytest.fail(verdict.message(dcn_site.name, said, f"the copy made and deleted from store {dcn_site.store_id}"))
    image = glance.get_image(workload.conn, image_id)
    assert image.stores == {central.store_id}, verdict.message(
        dcn_site.name, f"stores {_stores(image.stores)} after stores-delete", central.store_id
    )
    left = [e for e in pools.ls(dcn_site.name, dcn_site.pools.images) if e.image == image_id]
    assert not left, verdict.message(dcn_site.name, f"{image_id} still in {dcn_site.pools.images}", "no RBD image")
    kept = [e for e in pools.ls(central.name, central.pools.images) if e.image == image_id]
    assert kept, verdict.message(central.name, f"{image_id} gone from {central.pools.images}", "central's copy kept")


@pytest.mark.check("IMAGE-008", requirements=["R51", "R52"])
@pytest.mark.creates
def test_last_location_stays_and_delete_empties_every_cluster(
    site_model: SiteModel, workload: Workload, pools: Pools, verdict: Verdict
) -> None:
    """Deleting an image's only location is refused (the image would have no data); deleting an image in
    every store removes its RBD image from every cluster's images pool."""
    central = site_model.central
    image_id = _small_image(workload, "everywhere", central.store_id)
    dcn = [site.store_id for site in site_model.dcn_sites]
    if dcn:
        workload.copy_image(image_id, dcn)
    lonely = _small_image(workload, "lonely", central.store_id)
    with workload.busy():
        try:
            glance.delete_image_from_store(workload.conn, lonely, central.store_id, ignore_missing=False)
            refused = ""
        except GlanceError as err:
            refused = refusal(err) or str(err)
        glance.delete_image(workload.conn, image_id, ignore_missing=False)
    assert refused, verdict.message(central.name, "the last location of an image was deleted", "a refusal")
    left = [
        f"{site.name}:{site.pools.images}/{image_id}"
        for site in site_model.sites
        if any(e.image == image_id for e in pools.ls(site.name, site.pools.images))
    ]
    assert not left, verdict.message(central.name, f"after image-delete {', '.join(left)} remain", "no RBD image left")
