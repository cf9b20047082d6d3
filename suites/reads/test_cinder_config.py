"""cinder.conf of every cinder-volume, as TripleO rendered it (R34): read-only.

An edge site's volumes are created in the site's AZ by the site's active/active cinder-volume
cluster, in the site's own cluster, as copy-on-write clones of images in the site's own Glance. The
file is read at ``/var/lib/config-data/puppet-generated/cinder/etc/cinder/cinder.conf`` on the node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dcn_checks import cinderconf, imageapi
from dcn_checks.evidence import Evidence
from dcn_checks.parametrize import NodeCase
from dcn_checks.plugin import ServiceConfigs
from dcn_checks.requirements import Verdict

if TYPE_CHECKING:
    import openstack.connection

    from dcn_checks.model import SiteModel


#: What a node's cinder.conf is to the failure message when it is missing.
VOLUME_CONF = "cinder-volume's cinder.conf"


@pytest.mark.check("CINDERCONF-001", requirements=["R34", "R7"])
@pytest.mark.reads
def test_cinder_volume_serves_site_az(
    volume_node: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """storage_availability_zone is the site's AZ, the same name as its Nova AZ: with cross_az_attach
    off, Nova attaches only volumes whose AZ matches the server's."""
    conf = service_configs.read(volume_node, cinderconf.CINDER_CONF, VOLUME_CONF, cinderconf.AZ_OPTIONS)
    findings = cinderconf.find_az_findings(conf, volume_node.site.cinder_az)
    assert not findings, verdict.findings(volume_node.where, findings)


@pytest.mark.check("CINDERCONF-002", requirements=["R34"])
@pytest.mark.reads
def test_cinder_volume_runs_in_site_cluster(
    volume_node: NodeCase, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """[DEFAULT] cluster is the site's active/active cluster name, with a coordination backend: every
    cinder-volume of the site serves the site's volumes, so losing one node does not strand them."""
    conf = service_configs.read(volume_node, cinderconf.CINDER_CONF, VOLUME_CONF, cinderconf.CLUSTER_OPTIONS)
    findings = cinderconf.find_cluster_findings(conf, volume_node.site.volume_cluster)
    findings = findings
    assert not findings, verdict.findings(volume_node.where, findings)


@pytest.mark.check("CINDERCONF-003", requirements=["R34"])
@pytest.mark.reads
def test_cinder_volume_keeps_volumes_in_site_cluster(
    volume_node: NodeCase, site_model: SiteModel, service_configs: ServiceConfigs, verdict: Verdict, evidence: Evidence
) -> None:
    """The RBD backend opens the site's own /etc/ceph/<cluster>.conf with the site's volumes pool, user
    openstack and the cluster's fsid as libvirt secret, so volumes live next to the site's images."""
    conf = service_configs.read(volume_node, cinderconf.CINDER_CONF, VOLUME_CONF)
    evidence.add(f"{conf.path} on {volume_node.node.name}", conf.excerpt(cinderconf.backend_evidence(conf)))
    findings = cinderconf.find_backend_findings(conf, site_model, volume_node.site)
    assert not findings, verdict.findings(volume_node.where, findings)


@pytest.mark.check("CINDERCONF-004", requirements=["R34"])
@pytest.mark.reads
def test_cinder_volume_uses_site_glance(
    volume_node: NodeCase,
    cloud: openstack.connection.Connection,
    service_configs: ServiceConfigs,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """glance_api_servers is the site's own Glance (central: the internal image endpoint), so a volume
    from an image is cloned from the site's store; unset, Cinder takes the catalog's, central's."""
    site = volume_node.site
    if site.is_central:
        url = imageapi.get_catalog_endpoint(cloud, "image", "internal")
        if url is None:
            pytest.fail(verdict.message(site.name, "no internal image endpoint in the catalog", "one"))
        site_glance = evidence.add("image endpoint (internal) in the catalog", url)
    elif site.glance_endpoint:
        site_glance = site.glance_endpoint
    else:
        pytest.skip(f"the site model gives no glance_endpoint for {site.name}")
    conf = service_configs.read(volume_node, cinderconf.CINDER_CONF, VOLUME_CONF, cinderconf.GLANCE_OPTIONS)
    findings = cinderconf.find_glance_findings(conf, site_glance)
    assert not findings, verdict.findings(volume_node.where, findings)
