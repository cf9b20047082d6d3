"""Tests of the image service layout checks (dcn_checks.imageapi) on captured catalogs and image lists."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from dcn_checks.errors import ParseError
from dcn_checks.glance import parse_image
from dcn_checks.imageapi import (
    CatalogEndpoint,
    describe_catalog,
    find_catalog_findings,
    find_location_exposure_findings,
    parse_catalog,
)
from dcn_checks.model import SiteModel, model_with_sites
from dcn_checks.serviceconf import Finding

DATA = Path(__file__).parent / "data"
PUBLIC = "http://127.0.0.1:31690"
INTERNAL = "http://127.0.0.1:30488"
DCN0_GLANCE = "http://127.0.0.1:27982"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def wallaby_catalog() -> list[dict[str, Any]]:
    """The token catalog of a wallaby lab: image public on glance_api, internal/admin on glance_api_internal."""
    return load("catalog/token-catalog-wallaby.json")  # type: ignore[no-any-return]


def lab_model(release: str = "wallaby") -> SiteModel:
    model = model_with_sites(2, release=release)
    dcn0 = dataclasses.replace(model.site("dcn0"), glance_endpoint=DCN0_GLANCE)
    return dataclasses.replace(model, sites=(model.central, dcn0, model.site("dcn1")))


def image_service(catalog: list[dict[str, Any]]) -> dict[str, Any]:
    return next(service for service in catalog if service["type"] == "image")


def test_parse_catalog_reads_every_endpoint_of_the_token() -> None:
    endpoints = parse_catalog(wallaby_catalog())
    assert CatalogEndpoint("image", "glance", "internal", "RegionOne", INTERNAL) in endpoints
    assert describe_catalog(endpoints) == (
        f"RegionOne public {PUBLIC}\nRegionOne internal {INTERNAL}\nRegionOne admin {INTERNAL}"
    )


def test_parse_catalog_refuses_an_endpoint_without_url() -> None:
    catalog = wallaby_catalog()
    del image_service(catalog)["endpoints"][0]["url"]
    with pytest.raises(ParseError, match="image endpoint without url"):
        parse_catalog(catalog)


def test_wallaby_catalog_has_the_ossn_0090_layout() -> None:
    assert find_catalog_findings(parse_catalog(wallaby_catalog()), lab_model(), internal_service=True) == ()


def test_one_glance_for_every_interface_is_the_layout_before_ossn_0090() -> None:
    catalog = wallaby_catalog()
    for endpoint in image_service(catalog)["endpoints"]:
        endpoint["url"] = PUBLIC
    endpoints = parse_catalog(catalog)
    assert find_catalog_findings(endpoints, lab_model("ussuri"), internal_service=False) == ()
    assert find_catalog_findings(endpoints, lab_model(), internal_service=True) == (
        Finding("RegionOne image internal endpoint", PUBLIC, "glance_api_internal, not the public glance_api"),
    )


def test_an_edge_glance_in_the_catalog_is_found() -> None:
    catalog = wallaby_catalog()
    edge = copy.deepcopy(image_service(catalog)["endpoints"][1])
    edge.update(url=DCN0_GLANCE, region="dcn0", region_id="dcn0", interface="internal")
    image_service(catalog)["endpoints"].append(edge)
    assert find_catalog_findings(parse_catalog(catalog), lab_model(), internal_service=True) == (
        Finding("dcn0 image internal endpoint", f"{DCN0_GLANCE} (dcn0's Glance)", "absent (edge Glance has none)"),
    )


def test_missing_admin_endpoint_is_found() -> None:
    catalog = wallaby_catalog()
    image_service(catalog)["endpoints"] = [e for e in image_service(catalog)["endpoints"] if e["interface"] != "admin"]
    assert find_catalog_findings(parse_catalog(catalog), lab_model(), internal_service=True) == (
        Finding("RegionOne image admin endpoint", None, "exactly one"),
    )


def test_public_glance_hides_and_internal_glance_shows_locations() -> None:
    public = tuple(parse_image(i) for i in load("glance/images-active-public-wallaby.json"))
    internal = tuple(parse_image(i) for i in load("glance/images-active-internal-wallaby.json"))
    assert public and internal
    assert find_location_exposure_findings(public, shows=False) == ()
    assert find_location_exposure_findings(internal, shows=True) == ()
    image_id = public[0].image_id
    assert find_location_exposure_findings(public, shows=True) == (
        Finding(f"image {image_id} locations/direct_url", "hidden", "shown"),
    )
    assert find_location_exposure_findings(internal, shows=False) == (
        Finding(f"image {image_id} locations/direct_url", "shown", "hidden"),
    )
