"""nova.conf of every DCN compute (R32) and of central's Nova API (R35), as TripleO rendered it: read-only.

A DCN compute boots copy-on-write from its own site's cluster and never reaches across the WAN for
an image or a volume. The file is read at ``/var/lib/config-data/puppet-generated/nova_libvirt/etc/
nova/nova.conf`` on the node, the config volume of its nova_compute and nova_libvirt containers.
"""

from __future__ import annotations

import pytest

from dcn_checks import novaconf
from dcn_checks.clients import Host
from dcn_checks.evidence import Evidence
from dcn_checks.parametrize import NodeCase
from dcn_checks.plugin import ServiceConfigs
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import Verdict
from dcn_checks.serviceconf import read_config

#: What a compute node's nova.conf is to the failure message when it is missing.
COMPUTE_CONF = "nova-compute's nova.conf"


@pytest.mark.check("NOVACONF-001", requirements=["R32", "R6"])
@pytest.mark.reads
def test_dcn_compute_attaches_only_volumes_of_its_az(
    dcn_compute: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """[cinder] cross_az_attach is False: a server at an edge site attaches only volumes of its own
    AZ, and a boot from volume creates the volume in the server's AZ instead of central's."""
    conf = service_configs.read(dcn_compute, novaconf.NOVA_COMPUTE_CONF, COMPUTE_CONF, [novaconf.CROSS_AZ])
    findings = novaconf.find_cross_az_findings(conf)
    assert not findings, verdict.findings(dcn_compute.where, findings)


@pytest.mark.check("NOVACONF-002", requirements=["R32", "R6"])
@pytest.mark.reads
def test_dcn_compute_never_downloads_rbd_images(
    dcn_compute: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """[workarounds] never_download_image_if_on_rbd is True: an image missing from the site's store
    fails the boot (or is copied there by Glance) instead of being pulled over the WAN and flattened."""
    conf = service_configs.read(dcn_compute, novaconf.NOVA_COMPUTE_CONF, COMPUTE_CONF, [novaconf.NEVER_DOWNLOAD])
    findings = novaconf.find_download_findings(conf)
    assert not findings, verdict.findings(dcn_compute.where, findings)


@pytest.mark.check("NOVACONF-003", requirements=["R32"])
@pytest.mark.reads
def test_dcn_compute_keeps_disks_in_site_vms_pool(
    dcn_compute: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """[libvirt] images_type is rbd, in the site's vms pool, on the site's own /etc/ceph/<cluster>.conf:
    ephemeral disks are COW clones in the cluster that holds the site's images."""
    conf = service_configs.read(dcn_compute, novaconf.NOVA_COMPUTE_CONF, COMPUTE_CONF, novaconf.EPHEMERAL)
    findings = novaconf.find_ephemeral_findings(conf, dcn_compute.site)
    assert not findings, verdict.findings(dcn_compute.where, findings)


@pytest.mark.check("NOVACONF-004", requirements=["R32"])
@pytest.mark.reads
def test_dcn_compute_knows_site_glance_store(
    dcn_compute: NodeCase,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """[libvirt] images_rbd_glance_store_name is the site's store, so Nova asks Glance to copy an image
    that is only elsewhere to the site's store before it boots, rather than failing."""
    if not profile.nova_knows_glance_store:
        pytest.skip(f"release {profile.name}'s Nova has no images_rbd_glance_store_name (added in Wallaby)")
    conf = service_configs.read(dcn_compute, novaconf.NOVA_COMPUTE_CONF, COMPUTE_CONF, [novaconf.STORE_NAME])
    findings = novaconf.find_store_name_findings(conf, dcn_compute.site)
    assert not findings, verdict.findings(dcn_compute.where, findings)


@pytest.mark.check("NOVACONF-005", requirements=["R32"])
@pytest.mark.reads
def test_dcn_compute_uses_site_fsid_as_libvirt_secret(
    dcn_compute: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """[libvirt] rbd_user is openstack and rbd_secret_uuid the site cluster's fsid: libvirt finds the
    cephx key of the site's cluster under that uuid, or cannot open the server's disks and volumes."""
    fsid = dcn_compute.site.fsid
    if fsid is None:
        pytest.skip(f"the site model gives no fsid for {dcn_compute.site.name}")
    conf = service_configs.read(dcn_compute, novaconf.NOVA_COMPUTE_CONF, COMPUTE_CONF, novaconf.RBD_CLIENT)
    findings = novaconf.find_rbd_client_findings(conf, fsid)
    assert not findings, verdict.findings(dcn_compute.where, findings)


@pytest.mark.check("NOVACONF-006", requirements=["R32"])
@pytest.mark.reads
def test_dcn_compute_uses_site_glance(
    dcn_compute: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """[glance] endpoint_override is the site's own Glance (GlanceApiEdge): it has the site's store, so
    Nova sees locations in the site's cluster; the catalog's Glance is central's."""
    if dcn_compute.node.has("HAproxyEdge"):
        pytest.skip(f"{dcn_compute.node.name} reaches Glance through its HAproxyEdge, whose address the model lacks")
    site_glance = dcn_compute.site.glance_endpoint
    if not site_glance:
        pytest.skip(f"the site model gives no glance_endpoint for {dcn_compute.site.name}")
    conf = service_configs.read(dcn_compute, novaconf.NOVA_COMPUTE_CONF, COMPUTE_CONF, novaconf.GLANCE)
    findings = novaconf.find_glance_endpoint_findings(conf, site_glance)
    assert not findings, verdict.findings(dcn_compute.where, findings)


@pytest.mark.check("NOVACONF-007", requirements=["R35"])
@pytest.mark.reads
def test_central_nova_cross_az_attach_is_recorded(
    controller: NodeCase, hosts: dict[str, Host], evidence: Evidence
) -> None:
    """Records [cinder] cross_az_attach of central's Nova API (informational). Nova's API also reads it
    when a server is created with existing volumes, so with True there a server can be scheduled to
    another AZ than its volumes; the DCN computes' own value is checked by NOVACONF-001."""
    if not controller.node.has("NovaApi"):
        pytest.skip(f"{controller.node.name} runs no nova-api")
    conf = read_config(hosts[controller.node.name], novaconf.NOVA_API_CONF)
    if conf is None:
        evidence.add(f"{novaconf.NOVA_API_CONF} on {controller.node.name}", "(no such file)")
        return
    value = novaconf.get_cross_az_attach(conf)
    evidence.add(
        f"{conf.path} on {controller.node.name}",
        conf.excerpt([novaconf.CROSS_AZ]) + f"\neffective cross_az_attach: {value}",
    )
