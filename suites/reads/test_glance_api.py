"""Glance as its API reports it, at central and at every DCN site (R37, R38): read-only.

A DCN site boots copy-on-write only from its own store, and copies images through central, so
every Glance must expose exactly the stores the source document configures, with the right default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dcn_checks import glance
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site, SiteModel
from dcn_checks.requirements import explain

if TYPE_CHECKING:
    import openstack.connection


def _endpoint(site: Site) -> str | None:
    """The Glance a site's services use: central's from the catalog, a DCN site's own edge Glance."""
    return None if site.is_central else site.glance_endpoint or None


@pytest.mark.check("API-001", requirements=["R37"])
@pytest.mark.reads
def test_glance_offers_the_documented_stores(
    site: Site, site_model: SiteModel, cloud: openstack.connection.Connection, evidence: Evidence
) -> None:
    """Central Glance has one RBD store per site with central as default; a DCN Glance has its own store
    as default and central's store, so that images can be copied to and from central."""
    stores = evidence.add(f"GET /v2/info/stores at {site.name}", glance.get_stores(cloud, endpoint=_endpoint(site)))
    if site.is_central:
        expected = {s.store_id for s in site_model.sites}
    else:
        expected = {site.store_id, site_model.central.store_id}
    seen = {store.store_id for store in stores}
    assert seen == expected, explain(
        "API-001", site.name, f"stores {', '.join(sorted(seen)) or 'none'}", f"{', '.join(sorted(expected))}"
    )
    default = glance.find_default_store(stores)
    assert default is not None and default.store_id == site.store_id, explain(
        "API-001",
        site.name,
        f"default store {default.store_id if default else 'none'}",
        f"default store {site.store_id}",
    )
