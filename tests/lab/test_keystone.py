"""The lab Keystone issues tokens to an SDK client configured from the lab's clouds.yaml."""

from __future__ import annotations

import openstack
import pytest

from dcn_checks.lab import keystone

pytestmark = pytest.mark.lab


def test_sdk_gets_token_with_lab_clouds_yaml(lab_keystone: keystone.Keystone) -> None:
    config = openstack.config.OpenStackConfig(config_files=[str(lab_keystone.clouds_yaml)])
    conn = openstack.connection.Connection(config=config.get_one(lab_keystone.cloud))
    assert conn.authorize()
    assert conn.current_project.name == "admin"
    assert oct(lab_keystone.clouds_yaml.stat().st_mode & 0o777) == "0o600"


def test_service_user_and_image_endpoints_are_registered(lab_keystone: keystone.Keystone) -> None:
    url = "http://127.0.0.1:1/"  # only registered, never called
    keystone.register_services(
        lab_keystone,
        [keystone.ServiceUser("cinder", "cinder-pass-not-secret")],
        [keystone.CatalogService("cinderv3", "block-storage", url, ("public", "internal", "admin"))],
    )
    keystone.register_services(  # a second call changes nothing
        lab_keystone,
        [keystone.ServiceUser("cinder", "cinder-pass-not-secret")],
        [keystone.CatalogService("cinderv3", "block-storage", url, ("public", "internal", "admin"))],
    )
    conn = keystone.connect(lab_keystone)
    service = conn.identity.find_service("cinderv3")
    endpoints = sorted(e.interface for e in conn.identity.endpoints(service_id=service.id))
    assert endpoints == ["admin", "internal", "public"]
    user = conn.identity.find_user("cinder")
    project = conn.identity.find_project("service")
    roles = {a.role["id"] for a in conn.identity.role_assignments(user_id=user.id, scope_project_id=project.id)}
    assert {conn.identity.find_role(n).id for n in ("admin", "service")} <= roles
