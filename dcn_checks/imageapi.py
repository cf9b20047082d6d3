"""The image service as clients meet it (R38, R39): catalog endpoints, and which Glance shows locations.

Users reach central's Glance through the catalog's public endpoint; Nova and Cinder at central
through the internal one, and at a DCN site through the site's own Glance, which the catalog does
not list (THT registers no endpoints for GlanceApiEdge). After OSSN-0090 the public endpoint is a
separate glance-api that hides image locations and ``direct_url``, so users cannot read or forge
RBD locations, while the internal one shows them to the services that clone from them. Releases
before the split serve every interface from one glance-api that shows them.

The catalog is read from the token (what ``openstack catalog list`` shows, with any user's rights);
locations are observed on images that already exist, so the check stays read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keystoneauth1.identity.base import BaseIdentityPlugin
from openstack.connection import Connection

from dcn_checks.errors import ParseError, TargetError
from dcn_checks.glance import GlanceImage, get_images
from dcn_checks.model import SiteModel
from dcn_checks.serviceconf import Finding, is_same_endpoint

log = logging.getLogger(__name__)

#: The interfaces TripleO registers for Glance at every release of the profiles (EndpointMap GlancePublic,
#: GlanceInternal, GlanceAdmin).
IMAGE_INTERFACES = ("public", "internal", "admin")


@dataclass(frozen=True, slots=True)
class CatalogEndpoint:
    """One endpoint of the service catalog."""

    service_type: str
    service_name: str
    interface: str
    region: str
    url: str


def parse_catalog(catalog: Sequence[Mapping[str, Any]]) -> tuple[CatalogEndpoint, ...]:
    """Parse a token's catalog, e.g. ``[{"type": "image", "name": "glance", "endpoints": [{"interface":
    "public", "region": "RegionOne", "url": "http://192.0.2.10:9292"}]}]``."""
    endpoints = []
    for service in catalog:
        service_type, name = service.get("type"), service.get("name", "")
        entries = service.get("endpoints")
        if not isinstance(service_type, str) or not isinstance(entries, list):
            raise ParseError(f"catalog: service entry without a type or endpoints: {service!r}")
        for entry in entries:
            url, interface = entry.get("url"), entry.get("interface")
            if not isinstance(url, str) or not isinstance(interface, str):
                raise ParseError(f"catalog: {service_type} endpoint without url or interface: {entry!r}")
            region = entry.get("region") or entry.get("region_id") or ""
            endpoints.append(CatalogEndpoint(service_type, str(name), interface, str(region), url))
    return tuple(endpoints)


def find_catalog_findings(
    endpoints: Sequence[CatalogEndpoint], model: SiteModel, *, internal_service: bool
) -> tuple[Finding, ...]:
    """The image endpoints must be central's, laid out as the release does: public, internal and admin
    in every region that has any; internal and admin on one Glance; after OSSN-0090 (``internal_service``)
    public on another Glance than internal; and none on a DCN site's Glance (edge Glance registers none,
    a catalog entry for it would send every client in that region to one edge site)."""
    image = [e for e in endpoints if e.service_type == "image"]
    edge = {
        endpoint: site.name
        for endpoint in image
        for site in model.dcn_sites
        if site.glance_endpoint and is_same_endpoint(endpoint.url, site.glance_endpoint)
    }
    findings = [
        Finding(
            f"{e.region} image {e.interface} endpoint", f"{e.url} ({site}'s Glance)", "absent (edge Glance has none)"
        )
        for e, site in edge.items()
    ]
    central = [e for e in image if e not in edge]
    if not central:
        return (*findings, Finding("image endpoints", None, "public, internal and admin of central's Glance"))
    for region in dict.fromkeys(e.region for e in central):
        urls = {i: [e.url for e in central if e.region == region and e.interface == i] for i in IMAGE_INTERFACES}
        for interface, found in urls.items():
            if len(found) != 1:
                seen = ", ".join(found) if found else None
                findings.append(Finding(f"{region} image {interface} endpoint", seen, "exactly one"))
        if any(len(found) != 1 for found in urls.values()):
            continue
        (public,), (internal,), (admin,) = urls["public"], urls["internal"], urls["admin"]
        if not is_same_endpoint(internal, admin):
            findings.append(Finding(f"{region} image admin endpoint", admin, f"{internal} (the internal one)"))
        if internal_service and is_same_endpoint(public, internal):
            findings.append(
                Finding(f"{region} image internal endpoint", internal, "glance_api_internal, not the public glance_api")
            )
    return tuple(findings)


def describe_catalog(endpoints: Sequence[CatalogEndpoint], service_type: str = "image") -> str:
    """The endpoints of one service type as evidence lines: ``RegionOne public http://...``."""
    return "\n".join(f"{e.region} {e.interface} {e.url}" for e in endpoints if e.service_type == service_type)


def has_visible_locations(image: GlanceImage) -> bool:
    """Tell whether the Glance that answered shows an image's locations or direct_url."""
    return bool(image.location_urls) or image.direct_url is not None


def find_location_exposure_findings(images: Sequence[GlanceImage], *, shows: bool) -> tuple[Finding, ...]:
    """Every active image must show its locations and direct_url through a Glance that serves Nova
    and Cinder (``shows``), and neither through the public one after OSSN-0090."""
    findings = []
    for image in images:
        option = f"image {image.image_id} locations/direct_url"
        if shows and not (image.location_urls and image.direct_url):
            findings.append(Finding(option, "hidden", "shown"))
        if not shows and has_visible_locations(image):
            findings.append(Finding(option, "shown", "hidden"))
    return tuple(findings)


# --- I/O ------------------------------------------------------------------------------------------


def get_catalog(conn: Connection) -> tuple[CatalogEndpoint, ...]:
    """The service catalog of the connection's token."""
    auth = conn.session.auth
    if not isinstance(auth, BaseIdentityPlugin):
        raise TargetError("the cloud connection has no Keystone identity plugin, so it has no catalog")
    access = auth.get_access(conn.session)
    return parse_catalog(access.service_catalog.catalog or [])


def get_catalog_endpoint(conn: Connection, service_type: str, interface: str) -> str | None:
    """The catalog URL of a service at an interface in the connection's region, or None."""
    url = conn.session.get_endpoint(
        service_type=service_type, interface=interface, region_name=conn.config.get_region_name()
    )
    return str(url) if url else None


def list_active_images(conn: Connection, endpoint: str, *, limit: int = 5) -> tuple[GlanceImage, ...]:
    """Up to ``limit`` active images as the Glance at ``endpoint`` lists them (``GET /v2/images``)."""
    return get_images(conn, status="active", limit=limit, endpoint=endpoint)
