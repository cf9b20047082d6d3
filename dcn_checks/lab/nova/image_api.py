"""Glance as Nova calls it (``nova.image.glance``): show with locations, copy-image, download, snapshots.

The Glance is the node's: ``[glance] endpoint_override`` of a DCN compute (its site's edge Glance),
or the catalog's image endpoint (internal first) for the API and central computes. Which Glance
answers matters: it decides which locations Nova sees, and which store a location Nova adds is
registered in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dcn_checks.lab.nova.decisions import ImageView
from dcn_checks.lab.nova.service_client import ApiError, ServiceClient
from dcn_checks.release import NovaLocationMethod

log = logging.getLogger(__name__)

_PATCH = "application/openstack-images-v2.1-json-patch"
#: Image fields Glance v2 keeps at top level; anything else Nova sends is a property.
_CORE = frozenset({"name", "visibility", "disk_format", "container_format", "min_disk", "min_ram", "protected", "tags"})


class ImageNotFound(ApiError):
    """``ImageNotFound``: Image <id> could not be found."""


class ImageImportImpossible(ApiError):
    """``ImageImportImpossible`` (Glance answered 409 to copy-image)."""


class ImageBadRequest(ApiError):
    """``ImageBadRequest`` (Glance answered 400, e.g. the image is already in that store)."""


def _split(value: object) -> tuple[str, ...]:
    return tuple(part for part in str(value or "").split(",") if part)


def parse_image(data: Mapping[str, Any]) -> ImageView:
    """Glance's image JSON as Nova's ``show(include_locations=True)`` sees it (``direct_url`` appended)."""
    locations = [str(loc["url"]) for loc in data.get("locations") or [] if isinstance(loc, Mapping) and loc.get("url")]
    if data.get("direct_url"):
        locations.append(str(data["direct_url"]))
    properties = {str(k): str(v) for k, v in data.items() if k not in _CORE and isinstance(v, str | int | float)}
    return ImageView(
        image_id=str(data["id"]),
        status=str(data.get("status", "")),
        disk_format=data.get("disk_format"),
        container_format=data.get("container_format"),
        locations=tuple(locations),
        stores=_split(data.get("stores")),
        importing_to_stores=_split(data.get("os_glance_importing_to_stores")),
        failed_import=_split(data.get("os_glance_failed_import")),
        min_disk=int(data.get("min_disk") or 0),
        size=int(data["size"]) if data.get("size") is not None else None,
        properties=properties,
    )


def get_image(glance: ServiceClient, image_id: str) -> ImageView:
    """``GlanceImageServiceV2.show(include_locations=True)``; ImageNotFound for a 404."""
    try:
        data = glance.call("GET", f"/v2/images/{image_id}")
    except ApiError as err:
        if err.status == 404:
            raise ImageNotFound(f"Image {image_id} could not be found.", 404, err.message) from None
        raise
    return parse_image(data)


def copy_image_to_store(glance: ServiceClient, image_id: str, store: str) -> None:
    """``image_import_copy``: ``POST /v2/images/<id>/import`` with method copy-image and one store."""
    try:
        glance.call("POST", f"/v2/images/{image_id}/import", {"method": {"name": "copy-image"}, "stores": [store]})
    except ApiError as err:
        if err.status == 409:
            raise ImageImportImpossible(
                f"Import of image {image_id} refused: {err.message}", err.status, err.message
            ) from None
        if err.status == 400:
            raise ImageBadRequest(
                f"Request of image {image_id} got BadRequest response: {err.message}", err.status, err.message
            ) from None
        raise


def download_image(glance: ServiceClient, image_id: str, target: Path) -> int:
    """``libvirt_utils.fetch_image``: the image's data, streamed by Glance from whichever store has it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = glance.download(f"/v2/images/{image_id}/file", target)
    log.info("downloaded image %s (%d bytes) to %s", image_id, written, target)
    return written


def create_image(glance: ServiceClient, meta: Mapping[str, object]) -> str:
    """``GlanceImageServiceV2.create``: a queued image record; return its ID."""
    body = {key: value for key, value in meta.items() if value is not None}
    data = glance.call("POST", "/v2/images", body)
    return str(data["id"])


def update_image(glance: ServiceClient, image_id: str, changes: Mapping[str, object]) -> None:
    """``GlanceImageServiceV2.update`` without data: JSON-patch ``add`` of every field (add replaces)."""
    patch = [{"op": "add", "path": f"/{key}", "value": value} for key, value in changes.items()]
    glance.call("PATCH", f"/v2/images/{image_id}", patch, content_type=_PATCH)


def add_location(glance: ServiceClient, image_id: str, url: str, *, method: NovaLocationMethod) -> None:
    """``GlanceImageServiceV2._add_location`` as the release's Nova does it (``method``, a fact of the
    release profile): a JSON-patch add, or Glance's locations API first (image API 2.17) and the patch
    only where that Glance lacks the API.

    The patch is on the image when Glance answers. The locations API runs a ``location_import`` task
    that holds the image for a moment after it turns active, so that a copy-image fired at once gets
    409 "Image has active task"; the Nova of every release modelled here (Ussuri to Zed) predates that
    API, so its snapshots are never held. The Glance that receives this maps the URL to one of *its*
    stores (``get_updated_store_location``), which is why Nova registers a snapshot through the node's
    own Glance.
    """
    if method == "locations-api":
        try:
            glance.call("POST", f"/v2/images/{image_id}/locations", {"url": url, "validation_data": {}})
            return
        except ApiError as err:
            if err.status not in (403, 404, 405, 501):
                raise
            log.debug("locations API not usable (%s); adding the location by JSON patch", err)
    patch = [{"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}]
    glance.call("PATCH", f"/v2/images/{image_id}", patch, content_type=_PATCH)


def delete_image(glance: ServiceClient, image_id: str) -> None:
    """Delete an image (a failed snapshot's record); a missing image is fine."""
    try:
        glance.call("DELETE", f"/v2/images/{image_id}")
    except ApiError as err:
        if err.status != 404:
            raise
