"""The lab lays out Glance as each release does: at Wallaby and later (OSSN-0090) the public
endpoint hides image locations and a separate internal glance-api, which Nova and Cinder use,
shows them; edge Glance registers no endpoint of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import openstack
import pytest
from openstack.connection import Connection

from dcn_checks import glance
from dcn_checks.lab.deploy import LabInfo

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def wallaby_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(release="wallaby", sites=1)


@pytest.fixture(scope="module")
def admin(wallaby_lab: LabInfo) -> Iterator[Connection]:
    # Never through os.environ: OS_CLIENT_CONFIG_FILE would then win over every later test's clouds.yaml.
    config = openstack.config.OpenStackConfig(config_files=[str(wallaby_lab.clouds_yaml)])
    conn = openstack.connection.Connection(config=config.get_one(wallaby_lab.cloud))
    yield conn
    conn.close()


def test_catalog_splits_public_and_internal_glance(wallaby_lab: LabInfo, admin: Connection) -> None:
    central = {e.service: e.url for e in wallaby_lab.glance if e.site == "central"}
    image = next(s for s in admin.identity.services() if s.type == "image")
    endpoints = {e.interface: e.url for e in admin.identity.endpoints(service_id=image.id)}
    assert endpoints == {
        "public": central["glance_api"],
        "internal": central["glance_api_internal"],
        "admin": central["glance_api_internal"],
    }
    edge = next(e.url for e in wallaby_lab.glance if e.site == "dcn0")
    assert edge not in endpoints.values()


def test_only_the_internal_glance_shows_locations(wallaby_lab: LabInfo, admin: Connection) -> None:
    central = {e.service: e.url for e in wallaby_lab.glance if e.site == "central"}
    image = glance.create_image(admin, f"dcnchk-{uuid.uuid4().hex[:8]}-ossn0090")
    try:
        glance.upload_image_to_store(admin, image.image_id, os.urandom(1024 * 1024), "central")
        public = glance.get_image(admin, image.image_id, endpoint=central["glance_api"])
        internal = glance.get_image(admin, image.image_id, endpoint=central["glance_api_internal"])
        assert public.stores == internal.stores == {"central"}
        assert (public.location_urls, public.direct_url) == ((), None)
        [(store, location)] = glance.get_locations(internal)
        assert store == "central" and location.image_id == image.image_id
    finally:
        glance.delete_image(admin, image.image_id)
