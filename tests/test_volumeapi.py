"""Tests of the Cinder API state checks (dcn_checks.volumeapi) on captured and derived API answers.

The captures come from a lab whose dcn0 stack left CinderVolumeCluster at dcn-storage.yaml's ``dcn``
(fault cinder-cluster-left-default); the other cases are derived from them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from openstack.block_storage.v3.availability_zone import AvailabilityZone as SdkAvailabilityZone
from openstack.block_storage.v3.cluster import Cluster as SdkCluster
from openstack.block_storage.v3.service import Service as SdkService

from dcn_checks.clients import from_resources
from dcn_checks.errors import ParseError
from dcn_checks.model import model_with_sites
from dcn_checks.serviceconf import Finding
from dcn_checks.volumeapi import (
    AvailabilityZone,
    find_az_agreement_findings,
    find_volume_cluster_findings,
    find_volume_service_findings,
    parse_availability_zones,
    parse_volume_clusters,
    parse_volume_services,
)

DATA = Path(__file__).parent / "data" / "cinder"
MODEL = model_with_sites(2, release="wallaby")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def entry(entries: list[dict[str, Any]], key: str, prefix: str) -> dict[str, Any]:
    """The entry whose ``key`` starts with ``prefix`` (the API lists them in no fixed order)."""
    return next(e for e in entries if str(e[key]).startswith(prefix))


def healthy_services() -> dict[str, Any]:
    body = load("services-volume-cluster-dcn.json")
    entry(body["services"], "host", "hostgroup-dcn0")["cluster"] = "dcn0@tripleo_ceph"
    return body  # type: ignore[no-any-return]


def healthy_clusters() -> dict[str, Any]:
    body = load("clusters-detail-cluster-dcn.json")
    entry(body["clusters"], "name", "dcn@")["name"] = "dcn0@tripleo_ceph"
    return body  # type: ignore[no-any-return]


def test_parse_volume_services_reads_zone_state_and_cluster() -> None:
    services = parse_volume_services(load("services-volume-cluster-dcn.json"))
    assert sorted((s.host, s.zone, s.state, s.cluster or "") for s in services) == [
        ("hostgroup-central@tripleo_ceph", "central", "up", ""),
        ("hostgroup-dcn0@tripleo_ceph", "dcn0", "up", "dcn@tripleo_ceph"),
        ("hostgroup-dcn1@tripleo_ceph", "dcn1", "up", "dcn1@tripleo_ceph"),
    ]


def test_parse_volume_clusters_refuses_a_cluster_without_host_counts() -> None:
    body = load("clusters-detail-cluster-dcn.json")
    del body["clusters"][0]["num_down_hosts"]
    with pytest.raises(ParseError, match="host counts"):
        parse_volume_clusters(body)


@pytest.mark.parametrize("site", ["central", "dcn0", "dcn1"])
def test_healthy_volume_services_have_no_findings(site: str) -> None:
    assert find_volume_service_findings(parse_volume_services(healthy_services()), MODEL.site(site)) == ()


@pytest.mark.parametrize("site", ["dcn0", "dcn1"])
def test_healthy_volume_clusters_have_no_findings(site: str) -> None:
    assert find_volume_cluster_findings(parse_volume_clusters(healthy_clusters()), MODEL.site(site)) == ()


def test_cluster_left_at_dcn_is_not_the_site_cluster() -> None:
    clusters = parse_volume_clusters(load("clusters-detail-cluster-dcn.json"))
    assert find_volume_cluster_findings(clusters, MODEL.site("dcn0")) == (
        Finding("cinder-volume clusters", "dcn1@tripleo_ceph, dcn@tripleo_ceph", "one named dcn0@<backend>"),
    )
    assert find_volume_cluster_findings(clusters, MODEL.site("dcn1")) == ()


def test_down_volume_service_and_cluster_host_are_found() -> None:
    services = healthy_services()
    entry(services["services"], "host", "hostgroup-dcn0")["state"] = "down"
    clusters = healthy_clusters()
    entry(clusters["clusters"], "name", "dcn0@").update(state="down", num_down_hosts=1)
    dcn0 = MODEL.site("dcn0")
    assert find_volume_service_findings(parse_volume_services(services), dcn0) == (
        Finding("cinder-volume hostgroup-dcn0@tripleo_ceph", "enabled, down", "enabled, up"),
    )
    assert find_volume_cluster_findings(parse_volume_clusters(clusters), dcn0) == (
        Finding("cluster dcn0@tripleo_ceph", "enabled, down, 1 of 1 hosts down", "enabled, up, no host down"),
    )


def test_cluster_reporting_in_another_zone_is_found() -> None:
    services = healthy_services()
    entry(services["services"], "host", "hostgroup-dcn1")["zone"] = "dcn1-storage"
    assert find_volume_service_findings(parse_volume_services(services), MODEL.site("dcn1")) == (
        Finding("cinder-volume in zone dcn1", "none (the site's cluster reports in dcn1-storage)", "at least one, up"),
        Finding("zone of cinder-volume hostgroup-dcn1@tripleo_ceph", "dcn1-storage", "dcn1"),
    )


def test_availability_zones_must_agree_between_nova_and_cinder() -> None:
    volume = parse_availability_zones(load("availability-zones.json"))
    compute = (AvailabilityZone("dcn0", True), AvailabilityZone("dcn1", True))  # central has no computes here
    assert find_az_agreement_findings(compute, volume, MODEL.site("dcn1")) == ()
    mismatch = copy.deepcopy(load("availability-zones.json"))
    entry(mismatch["availabilityZoneInfo"], "zoneName", "dcn1")["zoneName"] = "dcn1-storage"
    assert find_az_agreement_findings(compute, parse_availability_zones(mismatch), MODEL.site("dcn1")) == (
        Finding("Cinder availability zones", "central, dcn0, dcn1-storage", "dcn1 available"),
    )
    assert find_az_agreement_findings((), volume, MODEL.site("dcn0")) == (
        Finding("Nova availability zones", "none", "dcn0 available"),
    )
    # central has only a controller in the model: Nova cannot list its AZ, Cinder must
    assert find_az_agreement_findings(compute, volume, MODEL.central) == ()


def test_sdk_services_clusters_and_zones_parse_as_cinders_answers() -> None:
    """openstacksdk renames ``zone`` and ``zoneName``; the readers give the names back before parsing."""
    services, clusters, zones = healthy_services(), healthy_clusters(), load("availability-zones.json")
    sdk_services = [SdkService.existing(**e) for e in services["services"]]
    sdk_clusters = [SdkCluster.existing(**e) for e in clusters["clusters"]]
    sdk_zones = [SdkAvailabilityZone.existing(**e) for e in zones["availabilityZoneInfo"]]
    assert from_resources(sdk_services, "services", parse_volume_services) == parse_volume_services(services)
    assert from_resources(sdk_clusters, "clusters", parse_volume_clusters) == parse_volume_clusters(clusters)
    parsed_zones = from_resources(sdk_zones, "availabilityZoneInfo", parse_availability_zones)
    assert parsed_zones == parse_availability_zones(zones)
