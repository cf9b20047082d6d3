"""How the Nova model registers a server snapshot's location in Glance, per release (no lab).

The HTTP edge, ``ServiceClient.call``, is replaced by a recorder that answers as the Glance of the
case would: the locations API present (201), or absent (404, Glance before image API 2.17).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dcn_checks.lab.nova import image_api
from dcn_checks.lab.nova.service_client import ApiError
from dcn_checks.release import RELEASE_NAMES, get_profile

IMAGE = "8083c7e7-32d8-4f7a-b1da-0ed7884f1076"
URL = f"rbd://6816a4ae-e009-418e-90be-01efb3a6de45/images/{IMAGE}/snap"
PATCH = ("PATCH", f"/v2/images/{IMAGE}", [{"op": "add", "path": "/locations/-", "value": {"url": URL, "metadata": {}}}])
POST = ("POST", f"/v2/images/{IMAGE}/locations", {"url": URL, "validation_data": {}})


@dataclass
class RecordingGlance:
    """Records each call; answers POST /locations with ``locations_status`` (an ApiError unless 201)."""

    locations_status: int = 201
    calls: list[tuple[str, str, object]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, body: object = None, *, content_type: str = "application/json") -> None:
        self.calls.append((method, path, body))
        self.content_types.append(content_type)
        if path.endswith("/locations") and self.locations_status != 201:
            raise ApiError(f"{method} {path}", self.locations_status, "The resource could not be found.")


@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_nova_of_every_modelled_release_adds_a_snapshot_location_by_json_patch(release: str) -> None:
    glance = RecordingGlance()
    image_api.add_location(glance, IMAGE, URL, method=get_profile(release).nova_snapshot_location)  # type: ignore[arg-type]
    assert glance.calls == [PATCH]
    assert glance.content_types == ["application/openstack-images-v2.1-json-patch"]


@pytest.mark.parametrize(("status", "calls"), [(201, [POST]), (404, [POST, PATCH])], ids=["has-api", "lacks-api"])
def test_a_nova_that_knows_the_locations_api_patches_only_where_glance_lacks_it(
    status: int, calls: list[tuple[str, str, object]]
) -> None:
    glance = RecordingGlance(locations_status=status)
    image_api.add_location(glance, IMAGE, URL, method="locations-api")  # type: ignore[arg-type]
    assert glance.calls == calls


def test_a_locations_api_refusal_other_than_absence_is_raised() -> None:
    glance = RecordingGlance(locations_status=409)
    with pytest.raises(ApiError):
        image_api.add_location(glance, IMAGE, URL, method="locations-api")  # type: ignore[arg-type]
    assert glance.calls == [POST]
