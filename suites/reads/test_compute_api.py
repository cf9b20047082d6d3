"""Nova as its API reports it, per DCN site (R40): read-only.

A DCN site's AZ exists in Nova as the aggregate NovaAZConfig builds from the stack's computes. A
server asked for in the site's AZ lands on one of them, boots from the site's cluster, and attaches
only the site's volumes; a host missing from the aggregate, or one of another site in it, breaks that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dcn_checks import computeapi
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site
from dcn_checks.requirements import Verdict

if TYPE_CHECKING:
    import openstack.connection


@pytest.mark.check("API-005", requirements=["R40"])
@pytest.mark.reads
def test_site_az_is_one_aggregate_of_its_computes(
    dcn_site: Site, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """GET /os-aggregates has exactly one aggregate with the site's availability_zone, and its hosts
    are the site's compute nodes."""
    aggregates = computeapi.get_aggregates(cloud)
    evidence.add("GET /os-aggregates", computeapi.describe_aggregates(aggregates))
    findings = computeapi.find_aggregate_findings(aggregates, dcn_site)
    assert not findings, verdict.findings(dcn_site.name, findings)


@pytest.mark.check("API-006", requirements=["R40"])
@pytest.mark.reads
def test_site_computes_are_up_in_site_az(
    dcn_site: Site, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """GET /os-services?binary=nova-compute shows every compute node of the site in the site's AZ,
    enabled and up, so the scheduler can place the site's servers there."""
    services = computeapi.get_compute_services(cloud)
    evidence.add("GET /os-services?binary=nova-compute", computeapi.describe_services(services))
    findings = computeapi.find_compute_service_findings(services, dcn_site)
    assert not findings, verdict.findings(dcn_site.name, findings)
