"""cinder.conf of every cinder-volume, as TripleO rendered it (R34): read-only.

An edge site's volumes are created in the site's AZ by the site's active/active cinder-volume
cluster, in the site's own cluster, as copy-on-write clones of images in the site's own Glance. The
file is read at ``/var/lib/config-data/puppet-generated/cinder/etc/cinder/cinder.conf`` on the node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

from dcn_checks import cinderconf, imageapi
from dcn_checks.clients import Host
from dcn_checks.evidence import Evidence
from dcn_checks.parametrize import NodeCase
from dcn_checks.requirements import explain
from dcn_checks.serviceconf import Finding, IniFile, describe_findings, read_config

if TYPE_CHECKING:
    import openstack.connection

    from dcn_checks.model import SiteModel


def _where(case: NodeCase) -> str:
    return f"{case.site.name} ({case.node.name})"


def _cinder_conf(
    check_id: str, case: NodeCase, hosts: dict[str, Host], evidence: Evidence, shown: Iterable[tuple[str, str]]
) -> IniFile:
    conf = read_config(hosts[case.node.name], cinderconf.CINDER_CONF)
    if conf is None:
        pytest.fail(explain(check_id, _where(case), f"no {cinderconf.CINDER_CONF}", "cinder-volume's cinder.conf"))
    evidence.add(f"{conf.path} on {case.node.name}", conf.excerpt(shown))
    return conf


def _assert_none(check_id: str, case: NodeCase, findings: tuple[Finding, ...]) -> None:
    seen, expected = describe_findings(findings)
    assert not findings, explain(check_id, _where(case), seen, expected)


@pytest.mark.check("CINDERCONF-001", requirements=["R34", "R7"])
@pytest.mark.reads
def test_cinder_volume_serves_site_az(volume_node: NodeCase, hosts: dict[str, Host], evidence: Evidence) -> None:
    """storage_availability_zone is the site's AZ, the same name as its Nova AZ: with cross_az_attach
    off, Nova attaches only volumes whose AZ matches the server's."""
    conf = _cinder_conf("CINDERCONF-001", volume_node, hosts, evidence, cinderconf.AZ_OPTIONS)
    _assert_none("CINDERCONF-001", volume_node, cinderconf.find_az_findings(conf, volume_node.site.cinder_az))


@pytest.mark.check("CINDERCONF-002", requirements=["R34"])
@pytest.mark.reads
def test_cinder_volume_runs_in_site_cluster(volume_node: NodeCase, hosts: dict[str, Host], evidence: Evidence) -> None:
    """[DEFAULT] cluster is the site's active/active cluster name, with a coordination backend: every
    cinder-volume of the site serves the site's volumes, so losing one node does not strand them."""
    conf = _cinder_conf("CINDERCONF-002", volume_node, hosts, evidence, cinderconf.CLUSTER_OPTIONS)
    findings = cinderconf.find_cluster_findings(conf, volume_node.site.volume_cluster)
    _assert_none("CINDERCONF-002", volume_node, findings)


@pytest.mark.check("CINDERCONF-003", requirements=["R34"])
@pytest.mark.reads
def test_cinder_volume_keeps_volumes_in_site_cluster(
    volume_node: NodeCase, site_model: SiteModel, hosts: dict[str, Host], evidence: Evidence
) -> None:
    """The RBD backend opens the site's own /etc/ceph/<cluster>.conf with the site's volumes pool, user
    openstack and the cluster's fsid as libvirt secret, so volumes live next to the site's images."""
    conf = read_config(hosts[volume_node.node.name], cinderconf.CINDER_CONF)
    if conf is None:
        pytest.fail(
            explain(
                "CINDERCONF-003", _where(volume_node), f"no {cinderconf.CINDER_CONF}", "cinder-volume's cinder.conf"
            )
        )
    evidence.add(f"{conf.path} on {volume_node.node.name}", conf.excerpt(cinderconf.backend_evidence(conf)))
    findings = cinderconf.find_backend_findings(conf, site_model, volume_node.site)
    _assert_none("CINDERCONF-003", volume_node, findings)


@pytest.mark.check("CINDERCONF-004", requirements=["R34"])
@pytest.mark.reads
def test_cinder_volume_uses_site_glance(
    volume_node: NodeCase, cloud: openstack.connection.Connection, hosts: dict[str, Host], evidence: Evidence
) -> None:
    """glance_api_servers is the site's own Glance (central: the internal image endpoint), so a volume
    from an image is cloned from the site's store; unset, Cinder takes the catalog's, central's."""
    site = volume_node.site
    if site.is_central:
        url = imageapi.get_catalog_endpoint(cloud, "image", "internal")
        if url is None:
            pytest.fail(explain("CINDERCONF-004", site.name, "no internal image endpoint in the catalog", "one"))
        site_glance = evidence.add("image endpoint (internal) in the catalog", url)
    elif site.glance_endpoint:
        site_glance = site.glance_endpoint
    else:
        pytest.skip(f"the site model gives no glance_endpoint for {site.name}")
    conf = _cinder_conf("CINDERCONF-004", volume_node, hosts, evidence, cinderconf.GLANCE_OPTIONS)
    _assert_none("CINDERCONF-004", volume_node, cinderconf.find_glance_findings(conf, site_glance))
