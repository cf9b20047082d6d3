"""Glance as its API reports it, at central and at every DCN site (R37-R39): read-only.

A DCN site boots copy-on-write only from its own store, and copies images through central, so
every Glance must expose exactly the stores the source document configures, with the right default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dcn_checks import glance, glanceconf, imageapi
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site, SiteModel
from dcn_checks.parametrize import GlanceEndpointCase
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import Verdict

if TYPE_CHECKING:
    import openstack.connection


#: Edge Glance has no catalog entry: without the model's URL for it, its checks cannot reach it.
_NO_ENDPOINT = "the site model gives no glance_endpoint for {site} (set sites[{site}].glance_endpoint to check it)"


def _endpoint(site: Site) -> str | None:
    """The Glance a site's services use: central's from the catalog, a DCN site's own edge Glance."""
    return None if site.is_central else site.glance_endpoint or None


@pytest.mark.check("API-001", requirements=["R37"])
@pytest.mark.reads
def test_glance_offers_the_documented_stores(
    site: Site, site_model: SiteModel, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """Central Glance has one RBD store per site with central as default; a DCN Glance has its own store
    as default and central's store, so that images can be copied to and from central."""
    if not site.is_central and not site.glance_endpoint:
        pytest.skip(_NO_ENDPOINT.format(site=site.name))
    stores = evidence.add(f"GET /v2/info/stores at {site.name}", glance.get_stores(cloud, endpoint=_endpoint(site)))
    if site.is_central:
        expected = {s.store_id for s in site_model.sites}
    else:
        expected = {site.store_id, site_model.central.store_id}
    seen = {store.store_id for store in stores}
    assert seen == expected, verdict.message(
        site.name, f"stores {', '.join(sorted(seen)) or 'none'}", f"{', '.join(sorted(expected))}"
    )
    default = glance.find_default_store(stores)
    assert default is not None and default.store_id == site.store_id, verdict.message(
        site.name,
        f"default store {default.store_id if default else 'none'}",
        f"default store {site.store_id}",
    )


def _api_endpoint(verdict: Verdict, case: GlanceEndpointCase, cloud: openstack.connection.Connection) -> str:
    """Where a Glance is reached: central's through the catalog (public: glance_api, internal:
    glance_api_internal), a DCN site's at its own endpoint, which the catalog does not list."""
    if case.site.is_central:
        interface = "internal" if case.service == "glance_api_internal" else "public"
        url = imageapi.get_catalog_endpoint(cloud, "image", interface)
        if url is None:
            pytest.fail(verdict.message(case.site.name, f"no {interface} image endpoint in the catalog", "one"))
        return url
    if not case.site.glance_endpoint:
        pytest.skip(_NO_ENDPOINT.format(site=case.site.name))
    return case.site.glance_endpoint


@pytest.mark.check("API-002", requirements=["R38"])
@pytest.mark.reads
def test_glance_api_offers_copy_image(
    glance_endpoint: GlanceEndpointCase, cloud: openstack.connection.Connection, verdict: Verdict, evidence: Evidence
) -> None:
    """GET /v2/info/import lists copy-image at every Glance: central copies images to the DCN stores
    with it, and a DCN site copies its snapshots back to central."""
    url = _api_endpoint(verdict, glance_endpoint, cloud)
    methods = glance.get_import_methods(cloud, endpoint=url)
    evidence.add(f"GET /v2/info/import at {url}", sorted(methods))
    assert glance.COPY_IMAGE in methods, verdict.message(
        f"{glance_endpoint.site.name} ({glance_endpoint.service})",
        f"import methods {', '.join(sorted(methods)) or 'none'}",
        "a list with copy-image",
    )


@pytest.mark.check("API-003", requirements=["R39"])
@pytest.mark.reads
def test_catalog_lists_only_central_glance(
    site_model: SiteModel,
    profile: ReleaseProfile,
    cloud: openstack.connection.Connection,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """The catalog's image endpoints are central's: public, internal and admin, internal and admin on
    one Glance, and after OSSN-0090 the public one on another Glance than the internal one. No DCN
    Glance is listed: clients of a region would all be sent to that one edge site."""
    catalog = imageapi.get_catalog(cloud)
    evidence.add("image endpoints in the token's catalog", imageapi.describe_catalog(catalog))
    findings = imageapi.find_catalog_findings(catalog, site_model, internal_service=profile.glance_internal_service)
    assert not findings, verdict.findings("catalog", findings)


@pytest.mark.check("API-004", requirements=["R39"])
@pytest.mark.reads
def test_only_service_glance_shows_locations(
    glance_endpoint: GlanceEndpointCase,
    profile: ReleaseProfile,
    cloud: openstack.connection.Connection,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """Images show their locations and direct_url through the Glance Nova and Cinder use (internal, and
    every DCN Glance), which they need to clone copy-on-write; after OSSN-0090 the public endpoint
    hides both, so users cannot read or forge RBD locations. Observed on existing active images."""
    url = _api_endpoint(verdict, glance_endpoint, cloud)
    images = imageapi.list_active_images(cloud, url)
    evidence.add(
        f"GET /v2/images?status=active at {url}",
        [f"{image.image_id}: locations {len(image.location_urls)}, direct_url {image.direct_url}" for image in images],
    )
    if not images:
        pytest.skip("the cloud has no active image to observe; GLANCECONF-006 checks the settings")
    shows = glanceconf.serves_nova(glance_endpoint.service, profile)
    findings = imageapi.find_location_exposure_findings(images, shows=shows)
    assert not findings, verdict.findings(f"{glance_endpoint.site.name} ({glance_endpoint.service})", findings)
