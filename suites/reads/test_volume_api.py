"""Cinder as its API reports it, per site (R41, R42): read-only.

Each site's volumes are created by the site's own cinder-volume in the site's AZ, which must carry
the same name in Nova, or a server and its volumes never meet. A DCN site's cinder-volume runs
active/active, so the site's cluster must be up with no host down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dcn_checks import computeapi, volumeapi
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site
from dcn_checks.requirements import Verdict

if TYPE_CHECKING:
    import openstack.connection


@pytest.mark.check("API-007", requirements=["R41"])
@pytest.mark.reads
def test_site_cinder_volume_is_up_in_site_az(
    site: Site, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """GET /os-services?binary=cinder-volume shows the site's cinder-volume in the site's AZ, enabled
    and up, and no member of the site's cluster in another AZ."""
    services = volumeapi.get_volume_services(cloud)
    evidence.add(
        "GET /os-services?binary=cinder-volume (volume API 3.7)", [volumeapi.describe_service(s) for s in services]
    )
    findings = volumeapi.find_volume_service_findings(services, site)
    assert not findings, verdict.findings(site.name, findings)


@pytest.mark.check("API-008", requirements=["R41"])
@pytest.mark.reads
def test_site_volume_cluster_has_no_down_host(
    dcn_site: Site, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """GET /clusters/detail (volume API 3.7) shows the site's active/active cluster
    <CinderVolumeCluster>@<backend>, enabled and up with no host down, so every volume operation of
    the site has a live cinder-volume."""
    if not dcn_site.volume_cluster:
        pytest.skip(f"the site model gives {dcn_site.name} no volume cluster")
    clusters = volumeapi.get_volume_clusters(cloud)
    evidence.add(
        "GET /clusters/detail (volume API 3.7)",
        [f"{c.name}: {c.status}, {c.state}, {c.num_down_hosts}/{c.num_hosts} hosts down" for c in clusters],
    )
    findings = volumeapi.find_volume_cluster_findings(clusters, dcn_site)
    assert not findings, verdict.findings(dcn_site.name, findings)


@pytest.mark.check("API-009", requirements=["R42"])
@pytest.mark.reads
def test_nova_and_cinder_list_site_az_alike(
    site: Site, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """GET /os-availability-zone of Nova and of Cinder both list the site's AZ, available, under the
    same name: with cross_az_attach off a server attaches only volumes of its own AZ name."""
    compute_zones = evidence.add("nova: GET /os-availability-zone", computeapi.get_compute_zones(cloud))
    volume_zones = evidence.add("cinder: GET /os-availability-zone", volumeapi.get_volume_zones(cloud))
    findings = volumeapi.find_az_agreement_findings(compute_zones, volume_zones, site)
    assert not findings, verdict.findings(site.name, findings)
