"""Cinder as Nova calls it (``nova.volume.cinder``): volumes, and the attachment API of microversion 3.44.

Since Queens Nova attaches only through attachments: ``attachment_create`` reserves the volume for
the instance, ``attachment_update`` with the host's connector returns the connection_info the guest
uses, ``attachment_complete`` marks the volume in-use, ``attachment_delete`` detaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dcn_checks.lab.nova.service_client import ApiError, ServiceClient

log = logging.getLogger(__name__)

#: The attachment API (3.27) with attachment_complete (3.44), which Nova requires since Train.
MICROVERSION = "volume 3.44"


class VolumeNotFound(ApiError):
    """``VolumeNotFound``: Volume <id> could not be found."""


@dataclass(frozen=True, slots=True)
class Volume:
    """The fields of a Cinder volume Nova looks at."""

    id: str
    status: str
    availability_zone: str | None
    size: int
    multiattach: bool = False


def parse_volume(data: Mapping[str, Any]) -> Volume:
    """Cinder's ``{"volume": {...}}`` body, or the inner dict."""
    body = data.get("volume", data)
    return Volume(
        id=str(body["id"]),
        status=str(body.get("status", "")),
        availability_zone=body.get("availability_zone"),
        size=int(body.get("size") or 0),
        multiattach=bool(body.get("multiattach")),
    )


def with_microversion(cinder: ServiceClient) -> ServiceClient:
    headers = {**cinder.headers, "OpenStack-API-Version": MICROVERSION}
    return ServiceClient(cinder.base_url, cinder.token, headers, cinder.timeout_s)


def get_volume(cinder: ServiceClient, volume_id: str) -> Volume:
    try:
        return parse_volume(cinder.call("GET", f"/volumes/{volume_id}"))
    except ApiError as err:
        if err.status == 404:
            raise VolumeNotFound(f"Volume {volume_id} could not be found.", 404, err.message) from None
        raise


def create_volume(
    cinder: ServiceClient,
    *,
    size: int,
    availability_zone: str | None,
    image_id: str | None = None,
    snapshot_id: str | None = None,
    volume_type: str | None = None,
    name: str = "",
    description: str = "",
) -> Volume:
    """``cinder.API.create``: Nova sends ``availability_zone`` only when it decided one (None otherwise)."""
    body: dict[str, object] = {"size": size, "name": name, "description": description}
    if availability_zone is not None:
        body["availability_zone"] = availability_zone
    if image_id is not None:
        body["imageRef"] = image_id
    if snapshot_id is not None:
        body["snapshot_id"] = snapshot_id
    if volume_type is not None:
        body["volume_type"] = volume_type
    return parse_volume(cinder.call("POST", "/volumes", {"volume": body}))


def delete_volume(cinder: ServiceClient, volume_id: str) -> None:
    try:
        cinder.call("DELETE", f"/volumes/{volume_id}")
    except ApiError as err:
        if err.status != 404:
            raise


def attachment_create(cinder: ServiceClient, volume_id: str, instance_id: str) -> str:
    """Reserve ``volume_id`` for the instance (no connector yet); return the attachment ID."""
    body = {"attachment": {"volume_uuid": volume_id, "instance_uuid": instance_id, "connector": None}}
    data = with_microversion(cinder).call("POST", "/attachments", body)
    return str(data["attachment"]["id"])


def attachment_update(
    cinder: ServiceClient, attachment_id: str, connector: Mapping[str, object], mountpoint: str
) -> Mapping[str, Any]:
    """Give Cinder the host's connector; return the connection_info as Nova shapes it.

    Cinder's attachment carries it flat (``{"driver_volume_type": "rbd", "name": ..., "hosts": ...}``);
    ``nova.volume.cinder._translate_attachment_ref`` turns it into ``{"driver_volume_type", "data"}``.
    """
    body = {"attachment": {"connector": {**connector, "mountpoint": mountpoint}}}
    data = with_microversion(cinder).call("PUT", f"/attachments/{attachment_id}", body)
    flat = dict(data["attachment"].get("connection_info") or {})
    flat.pop("attachment_id", None)
    driver = flat.pop("driver_volume_type", None)
    return {"driver_volume_type": driver, "data": flat}


def attachment_complete(cinder: ServiceClient, attachment_id: str) -> None:
    """Mark the volume ``in-use`` (``os-complete``)."""
    with_microversion(cinder).call("POST", f"/attachments/{attachment_id}/action", {"os-complete": None})


def attachment_delete(cinder: ServiceClient, attachment_id: str) -> None:
    """Detach: delete the attachment (the volume returns to ``available``); a missing one is fine."""
    try:
        with_microversion(cinder).call("DELETE", f"/attachments/{attachment_id}")
    except ApiError as err:
        if err.status != 404:
            raise
