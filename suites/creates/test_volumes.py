"""Volumes at each DCN site (R60-R67): clones of the site's image, boots from them, AZ rules, snapshots.

With ``cross_az_attach = false`` a DCN site's servers use only volumes of their own AZ: a volume from
an image in the site's AZ is a clone of ``images/<id>@snap`` in the site's ``volumes`` pool, a server
boots from it in the same AZ, a one-step boot from volume makes its volume in the server's AZ, and a
volume of another AZ is refused. A forced snapshot of the in-use root volume stays in the site's
cluster, and a volume from it boots.
"""

from __future__ import annotations

import pytest

from dcn_checks import computeapi, novaconf, rbd
from dcn_checks.evidence import Evidence
from dcn_checks.flows import Flows, Pools, need
from dcn_checks.model import Site, SiteModel
from dcn_checks.parametrize import NodeCase
from dcn_checks.plugin import ServiceConfigs
from dcn_checks.requirements import Verdict
from dcn_checks.workload import Workload, refusal


@pytest.mark.check("VOLUME-001", requirements=["R60"])
@pytest.mark.creates
def test_volume_from_image_is_clone_in_site_pool(
    dcn_site: Site, flows: Flows, pools: Pools, verdict: Verdict, evidence: Evidence
) -> None:
    """``openstack volume create --availability-zone <site> --image <id>`` is available in the site's AZ,
    and ``volumes/volume-<id>`` in the site's cluster has parent ``images/<id>@snap``."""
    where = dcn_site.name
    golden = need(verdict, where, "the image in the site's store", lambda: flows.golden(where))
    volume = need(verdict, where, f"an available volume in {dcn_site.cinder_az}", lambda: flows.image_volume(where))
    evidence.add("volume", volume)
    assert volume.availability_zone == dcn_site.cinder_az, verdict.message(
        where, f"volume {volume.volume_id} in AZ {volume.availability_zone}", f"AZ {dcn_site.cinder_az}"
    )
    name = rbd.volume_name(volume.volume_id)
    entry = rbd.find_image(pools.ls(where, dcn_site.pools.volumes), name)
    expected = f"{dcn_site.pools.volumes}/{name} with parent images/{golden.image_id}@snap in {dcn_site.cluster}"
    assert entry is not None, verdict.message(
        where, f"no {dcn_site.pools.volumes}/{name} in the site's cluster", expected
    )
    assert rbd.is_cow_clone_of(entry, dcn_site.pools.images, golden.image_id), verdict.message(
        where, f"{name} has parent {entry.parent.spec if entry.parent else 'none (a flat copy)'}", expected
    )


@pytest.mark.check("VOLUME-002", requirements=["R61", "R67"])
@pytest.mark.creates
def test_boot_from_site_volume(dcn_site: Site, flows: Flows, workload: Workload, verdict: Verdict) -> None:
    """``openstack server create --volume <id> --availability-zone <site>`` is ACTIVE in the site's AZ,
    with the volume attached in the same AZ."""
    where = dcn_site.name
    server = need(verdict, where, f"an ACTIVE server in {dcn_site.az}", lambda: flows.volume_server(where))
    volume = workload.get_volume(flows.image_volume(where).volume_id)
    assert server.availability_zone == dcn_site.az and server.server_id in volume.attached_to, verdict.message(
        where, f"server {server.describe()}, volume attached to {', '.join(volume.attached_to) or 'nothing'}",
        f"ACTIVE in {dcn_site.az} with the volume of {volume.availability_zone} attached",
    )  # fmt: skip
    assert volume.availability_zone == server.availability_zone, verdict.message(
        where, f"volume in {volume.availability_zone}, server in {server.availability_zone}", "one AZ"
    )


@pytest.mark.check("VOLUME-003", requirements=["R62"])
@pytest.mark.creates
def test_one_step_boot_from_volume_creates_volume_in_site_az(
    dcn_site: Site, flows: Flows, workload: Workload, verdict: Verdict, evidence: Evidence
) -> None:
    """``openstack server create --image <id> --boot-from-volume 1 --availability-zone <site>``: Nova asks
    Cinder for the volume in the server's AZ (cross_az_attach = false) and the server is ACTIVE."""
    where = dcn_site.name
    server = need(verdict, where, "a server", lambda: flows.bfv_server(where))
    evidence.add("server", server)
    volumes = [workload.get_volume(volume_id) for volume_id in server.volume_ids]
    zones = sorted({volume.availability_zone for volume in volumes})
    assert server.status == "ACTIVE" and zones == [dcn_site.cinder_az], verdict.message(
        where, f"server {server.describe()}, boot volume in {', '.join(zones) or 'no AZ (no volume)'}",
        f"ACTIVE with its boot volume in {dcn_site.cinder_az}",
    )  # fmt: skip


@pytest.mark.check("VOLUME-004", requirements=["R63"])
@pytest.mark.creates
def test_volume_of_other_az_is_refused(
    dcn_site: Site,
    site_model: SiteModel,
    flows: Flows,
    workload: Workload,
    service_configs: ServiceConfigs,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """``openstack server add volume`` of a central volume to a server at the site is refused: by the API
    (400, when central's nova-api has cross_az_attach = false), or by the site's nova-compute, which checks
    the AZ again with its own ``[cinder] cross_az_attach`` (False at a DCN site) and undoes the attachment.
    The API does not say why a compute undid an attach, so then the site's nova.conf says whether the AZ
    rule did it."""
    where = dcn_site.name
    server = need(verdict, where, "an ACTIVE server at the site", lambda: flows.cow_server(where))
    central = site_model.central
    other = workload.volume(f"other-az-{where}", central.cinder_az)
    try:
        with workload.busy():
            workload.attach(server.server_id, other.volume_id)
            settled = workload.wait_volume_settled(other.volume_id)
    except Exception as err:
        said = refusal(err)
        if said is None:
            raise
        assert said.startswith("HTTP 4"), verdict.message(where, f"attach answered {said}", "a 400 refusal")
        evidence.add("refused by the API", said)
        workload.discard("volume", other.volume_id)
        return
    evidence.add("accepted by the API, then", settled)
    if server.server_id not in settled.attached_to:
        workload.discard("volume", other.volume_id)
    assert server.server_id not in settled.attached_to, verdict.message(
        where, f"a volume of AZ {central.cinder_az} was attached ({settled.status})", "Nova's refusal"
    )
    computes = dcn_site.nodes_with("NovaCompute")
    node = next(
        (n for n in computes if computeapi.short_host(server.host) == n.name), computes[0] if computes else None
    )
    if node is None:
        return
    conf = service_configs.read(NodeCase(dcn_site, node), novaconf.NOVA_COMPUTE_CONF, "nova-compute's nova.conf",
                                [novaconf.CROSS_AZ])  # fmt: skip
    allowed = novaconf.get_cross_az_attach(conf)
    assert allowed is False, verdict.message(
        where, f"the API accepted a volume of AZ {central.cinder_az} and {node.name} allows other AZs "
        f"([cinder] cross_az_attach {allowed}); the attach failed for another reason", "Nova's AZ refusal",
    )  # fmt: skip


@pytest.mark.check("VOLUME-005", requirements=["R65"])
@pytest.mark.creates
def test_forced_snapshot_of_root_volume_stays_in_site(
    dcn_site: Site, flows: Flows, pools: Pools, verdict: Verdict, evidence: Evidence
) -> None:
    """``openstack volume snapshot create --force`` of the stopped server's root volume is
    ``volume-<id>@snapshot-<snap id>`` in the site's volumes pool, with the image as the volume's parent."""
    where = dcn_site.name
    golden = need(verdict, where, "the image in the site's store", lambda: flows.golden(where))
    snapshot = need(verdict, where, "an available snapshot", lambda: flows.root_snapshot(where))
    volume = rbd.volume_name(flows.image_volume(where).volume_id)
    entries = pools.ls(where, dcn_site.pools.volumes)
    evidence.add(f"rbd -p {dcn_site.pools.volumes} ls -l at {where}", [e for e in entries if e.image == volume])
    snap = rbd.find_snapshot(entries, volume, rbd.volume_snapshot_name(snapshot.volume_id))
    expected = f"{volume}@{rbd.volume_snapshot_name(snapshot.volume_id)} with parent images/{golden.image_id}@snap"
    assert snap is not None, verdict.message(where, f"no such snapshot in {dcn_site.pools.volumes}", expected)
    assert rbd.is_cow_clone_of(snap, dcn_site.pools.images, golden.image_id), verdict.message(
        where, f"the snapshot's parent is {snap.parent.spec if snap.parent else 'none'}", expected
    )


@pytest.mark.check("VOLUME-006", requirements=["R66"])
@pytest.mark.creates
def test_volume_from_snapshot_boots(dcn_site: Site, flows: Flows, verdict: Verdict) -> None:
    """A volume from that snapshot, in the site's AZ, boots a server there."""
    where = dcn_site.name
    server = need(verdict, where, f"an ACTIVE server in {dcn_site.az}", lambda: flows.snapshot_server(where))
    assert server.status == "ACTIVE" and server.availability_zone == dcn_site.az, verdict.message(
        where, f"server {server.describe()}", f"ACTIVE in {dcn_site.az}"
    )
