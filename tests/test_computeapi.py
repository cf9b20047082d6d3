"""Tests of the Nova API state checks (dcn_checks.computeapi) on answers shaped as the Compute API
reference documents them (GET /os-aggregates, GET /os-services, microversion 2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from openstack.compute.v2.aggregate import Aggregate as SdkAggregate
from openstack.compute.v2.service import Service as SdkService

from dcn_checks.clients import from_resources
from dcn_checks.computeapi import (
    find_aggregate_findings,
    find_compute_service_findings,
    parse_aggregates,
    parse_compute_services,
)
from dcn_checks.errors import ParseError
from dcn_checks.model import model_with_sites
from dcn_checks.serviceconf import Finding

MODEL = model_with_sites(2, release="zed")


def aggregates_body(**dcn1: Any) -> dict[str, Any]:
    aggregates = [
        {"id": 1, "name": "dcn0", "availability_zone": "dcn0", "hosts": ["dcn0-hci-0.localdomain"],
         "metadata": {"availability_zone": "dcn0"}, "deleted": False},
        {"id": 2, "name": "dcn1", "availability_zone": "dcn1", "hosts": ["dcn1-hci-0.localdomain"],
         "metadata": {"availability_zone": "dcn1"}, "deleted": False},
    ]  # fmt: skip
    aggregates[1].update(dcn1)
    return {"aggregates": aggregates}


def services_body(**dcn1: Any) -> dict[str, Any]:
    services = [
        {"id": 1, "binary": "nova-compute", "host": f"dcn{i}-hci-0.localdomain", "zone": f"dcn{i}",
         "status": "enabled", "state": "up", "disabled_reason": None, "updated_at": "2026-11-26T04:30:46.000000"}
        for i in (0, 1)
    ]  # fmt: skip
    services[1].update(dcn1)
    return {"services": services}


@pytest.mark.parametrize("site", ["dcn0", "dcn1"])
def test_healthy_aggregates_and_services_have_no_findings(site: str) -> None:
    assert find_aggregate_findings(parse_aggregates(aggregates_body()), MODEL.site(site)) == ()
    assert find_compute_service_findings(parse_compute_services(services_body()), MODEL.site(site)) == ()


def test_aggregate_with_a_foreign_host_is_found() -> None:
    body = aggregates_body(hosts=["dcn1-hci-0.localdomain", "dcn0-hci-0.localdomain"])
    assert find_aggregate_findings(parse_aggregates(body), MODEL.site("dcn1")) == (
        Finding("hosts of aggregate dcn1", "dcn0-hci-0, dcn1-hci-0", "dcn1-hci-0"),
    )


def test_missing_site_aggregate_is_found() -> None:
    body = aggregates_body(availability_zone=None, metadata={})
    assert find_aggregate_findings(parse_aggregates(body), MODEL.site("dcn1")) == (
        Finding("aggregates with availability_zone dcn1", "none", "exactly one"),
    )


def test_compute_down_or_in_another_zone_is_found() -> None:
    body = services_body(zone="nova", state="down")
    assert find_compute_service_findings(parse_compute_services(body), MODEL.site("dcn1")) == (
        Finding("nova-compute on dcn1-hci-0", "in zone nova, enabled, down", "in zone dcn1, enabled and up"),
    )
    assert find_compute_service_findings(parse_compute_services({"services": []}), MODEL.site("dcn0")) == (
        Finding("nova-compute on dcn0-hci-0", None, "in zone dcn0, enabled and up"),
    )


def test_parse_aggregates_refuses_an_aggregate_without_name() -> None:
    with pytest.raises(ParseError, match="malformed aggregate"):
        parse_aggregates({"aggregates": [{"availability_zone": "dcn0"}]})


def test_sdk_aggregates_and_services_parse_as_novas_answers() -> None:
    """openstacksdk renames ``zone`` to ``availability_zone``; the readers give it back before parsing."""
    aggregates = [SdkAggregate.existing(**entry) for entry in aggregates_body()["aggregates"]]
    services = [SdkService.existing(**entry) for entry in services_body()["services"]]
    assert from_resources(aggregates, "aggregates", parse_aggregates) == parse_aggregates(aggregates_body())
    assert from_resources(services, "services", parse_compute_services) == parse_compute_services(services_body())
