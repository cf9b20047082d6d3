"""Glance multistore, as the DCN image workflow uses it: stores, upload, copy-image, delete-from-store.

A DCN deployment has one Glance RBD store per site, each in its site's own Ceph cluster. The source
document uploads to ``central`` (``glance image-create --file --store central``: the legacy ``PUT
/v2/images/{id}/file`` with ``X-Image-Meta-Store``), copies with one ``copy-image`` import to the DCN
stores, and expects the same image ID in every store at ``rbd://<fsid of that site's cluster>/images/
<id>/snap``; ``glance stores-delete --store dcn1`` removes one copy.

The pure half parses what Glance returns into typed values and decides (is the copy done, did it
fail). The I/O half is thin over openstacksdk's image proxy (stores, import info, images, the
copy-image import, delete from one store), with python-glanceclient only for the upload into one
store, which the SDK cannot send; both run on the connection's Keystone session, and every HTTP
error becomes a GlanceError with Glance's own message. Central's Glance comes from the catalog;
pass an edge Glance's URL (``Site.glance_endpoint``, ``LabInfo.glance``) as ``endpoint``. Do
cross-site work on central: a DCN Glance cannot copy to, delete from, or delete an image with a
location in, a store it lacks (glance-lab-notes, gotcha 5). Logs carry methods, endpoints, image
and store IDs, never tokens.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, TypeVar, cast, get_args

import glanceclient
from glanceclient import exc as glance_exc
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from openstack.connection import Connection
from openstack.image.v2._proxy import Proxy as ImageProxy
from openstack.image.v2.image import Image as SdkImage
from openstack.image.v2.service_info import Store as SdkStore

from dcn_checks.clients import from_resource, from_resources
from dcn_checks.errors import GlanceError, ParseError
from dcn_checks.rbd import Location, parse_location

log = logging.getLogger(__name__)

T = TypeVar("T")

ImageStatus = Literal[
    "queued", "saving", "uploading", "importing", "active", "deactivated", "killed", "deleted", "pending_delete"
]
#: Statuses an image never leaves on its own; waiting for it to be copied is pointless then.
TERMINAL_STATUSES: frozenset[ImageStatus] = frozenset({"killed", "deleted", "pending_delete"})
WEB_DOWNLOAD = "web-download"
COPY_IMAGE = "copy-image"
HTTP_NOT_FOUND = 404


# --- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Store:
    """One entry of ``GET /v2/info/stores``: a store ID, its description, and whether it is the default."""

    store_id: str
    description: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class GlanceImage:
    """An image as ``GET /v2/images/{id}`` shows it, with the multistore fields parsed.

    ``location_urls`` is (store_id, url) per location, as Glance lists them; it is empty when the Glance
    that answered hides locations (``show_multiple_locations = False``, the public glance_api after
    OSSN-0090). :func:`get_locations` turns it into RBD locations.
    """

    image_id: str
    name: str
    status: ImageStatus
    stores: frozenset[str]
    importing_to_stores: frozenset[str]
    failed_import: frozenset[str]
    import_task: str | None
    location_urls: tuple[tuple[str, str], ...]
    direct_url: str | None
    size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    disk_format: str | None


ImageLike = GlanceImage | SdkImage


# --- pure: parsing --------------------------------------------------------------------------------


def parse_stores(body: Mapping[str, object]) -> tuple[Store, ...]:
    """Parse ``GET /v2/info/stores``, e.g. ``{"stores": [{"id": "central", "description": "central rbd
    glance store", "default": "true"}, {"id": "dcn0", "description": "dcn0 rbd glance store"}]}``.

    Glance 33 writes ``default`` as the string ``"true"`` and leaves it out on the other stores.
    """
    entries = body.get("stores")
    if not isinstance(entries, list):
        raise ParseError(f"GET /v2/info/stores: expected a 'stores' list, got {body!r}")
    stores = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ParseError(f"GET /v2/info/stores: store entry without an 'id': {entry!r}")
        default = entry.get("default", False)
        if default not in (True, False, "true", "false"):
            raise ParseError(f"GET /v2/info/stores: store {entry['id']}: 'default' is {default!r}")
        description = entry.get("description", "")
        stores.append(
            Store(
                store_id=entry["id"],
                description=description if isinstance(description, str) else str(description),
                is_default=default in (True, "true"),
            )
        )
    return tuple(stores)


def parse_import_methods(body: Mapping[str, object]) -> frozenset[str]:
    """Parse ``GET /v2/info/import``, e.g. ``{"import-methods": {"description": "Import methods
    available.", "type": "array", "value": ["web-download", "copy-image"]}}``."""
    methods = body.get("import-methods")
    value = methods.get("value") if isinstance(methods, dict) else None
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        raise ParseError(f"GET /v2/info/import: expected 'import-methods' with a 'value' list, got {body!r}")
    return frozenset(value)


def parse_store_list(text: object) -> frozenset[str]:
    """Parse a store-list property (``stores``, ``os_glance_importing_to_stores``,
    ``os_glance_failed_import``), e.g. ``"central,dcn1"``.

    Glance writes them comma-separated, in the order the stores finished, and leaves them out or
    empty when there is nothing to say; so they compare as sets.
    """
    if text is None:
        return frozenset()
    if not isinstance(text, str):
        raise ParseError(f"a store list should be a comma-separated string, got {text!r}")
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def parse_image(data: Mapping[str, object]) -> GlanceImage:
    """Parse an image of the Images API v2 (``GET /v2/images/{id}``), e.g. ``{"id": "<id>", "name":
    "cirros", "status": "active", "stores": "central,dcn0", "os_glance_importing_to_stores": "",
    "os_glance_failed_import": "", "locations": [{"url": "rbd://<fsid>/images/<id>/snap", "metadata":
    {"store": "central"}}], "os_hash_algo": "sha512", "os_hash_value": "…", ...}``."""
    image_id = _text(data, "id")
    if image_id is None:
        raise ParseError(f"image without an 'id': {data!r}")
    status = data.get("status")
    if status not in get_args(ImageStatus):
        raise ParseError(f"image {image_id}: unknown status {status!r}")
    size = data.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise ParseError(f"image {image_id}: size {size!r} is not a number")
    return GlanceImage(
        image_id=image_id,
        name=_text(data, "name") or "",
        status=cast(ImageStatus, status),
        stores=parse_store_list(data.get("stores")),
        importing_to_stores=parse_store_list(data.get("os_glance_importing_to_stores")),
        failed_import=parse_store_list(data.get("os_glance_failed_import")),
        import_task=_text(data, "os_glance_import_task"),
        location_urls=_location_urls(data.get("locations"), image_id),
        direct_url=_text(data, "direct_url"),
        size=size,
        checksum=_text(data, "checksum"),
        os_hash_algo=_text(data, "os_hash_algo"),
        os_hash_value=_text(data, "os_hash_value"),
        disk_format=_text(data, "disk_format"),
    )


def parse_sdk_image(image: SdkImage) -> GlanceImage:
    """Parse an image as openstacksdk returns it, by the fields Glance sent (:func:`parse_image`).

    The SDK's Image keeps what it does not declare (``stores``, ``os_glance_importing_to_stores``,
    ``os_glance_failed_import``, ``os_glance_import_task``) in ``properties``; Glance sends those at
    the top level of the image, where :func:`parse_image` reads them.
    """
    return from_resource(image, _parse_sdk_image_body)


def _parse_sdk_image_body(body: Mapping[str, object]) -> GlanceImage:
    properties = body.get("properties")
    lifted = dict(properties) if isinstance(properties, Mapping) else {}
    return parse_image(lifted | {key: value for key, value in body.items() if key != "properties"})


def parse_error_message(details: str) -> str:
    """Glance's own words from the details of an error openstacksdk or python-glanceclient raised,
    e.g. ``"409 Conflict: Store for identifier nosuch not found"`` → ``"Store for identifier nosuch
    not found"``.

    Glance's error pages are HTML: both clients strip the tags but not the entities (``&#x27;dcn0&#x27;``).
    """
    text = html.unescape(details).strip()
    return re.sub(r"^\d{3} [A-Za-z][A-Za-z -]*:\s*", "", text) or text


def get_image_stores(image: ImageLike) -> frozenset[str]:
    """The stores that hold ``image``. An SDK image keeps ``stores`` in ``image.properties`` (it is
    not an attribute of openstacksdk's Image), and Glance orders it by completion: compare as a set."""
    if isinstance(image, GlanceImage):
        return image.stores
    return parse_store_list((image.properties or {}).get("stores"))


def get_locations(image: ImageLike) -> tuple[tuple[str, Location], ...]:
    """Return (store_id, location) for each location of ``image``, parsed with :func:`rbd.parse_location`.

    Empty when the Glance that answered hides locations. A non-RBD location raises ParseError naming
    its store: every store of a DCN deployment is RBD.
    """
    if isinstance(image, GlanceImage):
        pairs, image_id = image.location_urls, image.image_id
    else:
        image_id = str(image.id)
        pairs = _location_urls(image.locations, image_id)
    parsed = []
    for store_id, url in pairs:
        try:
            parsed.append((store_id, parse_location(url)))
        except ParseError as err:
            raise ParseError(f"image {image_id}: location in store {store_id}: {err}") from err
    return tuple(parsed)


def describe_image_state(image: GlanceImage) -> str:
    """One line of the fields a multistore wait watches, for wait messages and logs."""
    return (
        f"status={image.status} stores={_join(image.stores)} importing={_join(image.importing_to_stores)} "
        f"failed={_join(image.failed_import)} task={image.import_task or '-'}"
    )


# --- pure: deciding -------------------------------------------------------------------------------


def is_image_settled_in_stores(image: GlanceImage, stores: Collection[str]) -> bool:
    """Tell whether ``image`` is active in every one of ``stores`` and Glance is done importing it.

    ``status == active`` is not enough: a multistore import turns the image active when the first store
    finishes. Nor is an empty ``os_glance_importing_to_stores``: right after copy-image's 202 the task
    holds the image (``os_glance_import_task``) but has not set that property yet (measured on Glance
    33). A copy fired while the task lock is held gets 409 "Image has active task", so both must be clear.
    """
    return (
        image.status == "active"
        and set(stores) <= image.stores
        and not image.importing_to_stores
        and image.import_task is None
    )


def find_import_failure(image: GlanceImage, stores: Collection[str]) -> str | None:
    """Why ``image`` will never settle in ``stores``, or None while it still may.

    Glance reports a store it could not write in ``os_glance_failed_import``; with
    ``all_stores_must_succeed`` the image then stays ``importing`` instead of becoming active.
    """
    failed = image.failed_import & set(stores)
    if failed:
        return f"Glance reports the import to {_join(failed)} failed (os_glance_failed_import)"
    if image.status in TERMINAL_STATUSES:
        return f"image is {image.status}"
    return None


def check_store_ids(stores: Collection[str]) -> tuple[str, ...]:
    """The store IDs of a copy request, in order; refuse an empty or repeated list before Glance does."""
    ordered = tuple(stores)
    if not ordered:
        raise ValueError("copy-image needs at least one target store")
    repeated = sorted({s for s in ordered if ordered.count(s) > 1})
    if repeated:
        raise ValueError(f"store(s) listed twice in copy-image request: {', '.join(repeated)}")
    return ordered


def find_default_store(stores: Iterable[Store]) -> Store | None:
    """Return the store Glance marks as the default, or None."""
    return next((store for store in stores if store.is_default), None)


# --- I/O: openstacksdk's image proxy; python-glanceclient for the upload to one store -------------


def get_image_proxy(conn: Connection, endpoint: str | None = None) -> ImageProxy:
    """openstacksdk's image proxy of the Glance at ``endpoint``; the catalog's (``conn.image``) when None.

    A DCN site's Glance is in no catalog (THT registers no endpoint for GlanceApiEdge), so the proxy
    is bound to its URL as the SDK binds an ``image_endpoint_override``: discover the version at the
    URL (Glance answers its unversioned root with its list of versions), then send every request to
    the v2 URL Glance names. The proxy shares the connection's session, so its token and its cache of
    version documents.
    """
    if not endpoint:
        catalog = conn.image
        if not isinstance(catalog, ImageProxy):
            raise GlanceError("glance (catalog)", None, "the catalog's image endpoint has no Images API v2")
        return catalog

    def proxy(url: str, min_version: str | None = None, max_version: str | None = None) -> ImageProxy:
        return ImageProxy(
            conn.session,
            service_type="image",
            interface=conn.config.get_interface(),
            region_name=conn.config.get_region_name(),
            endpoint_override=url,
            min_version=min_version,
            max_version=max_version,
        )

    found = _call(
        "version discovery",
        endpoint,
        lambda: proxy(endpoint, min_version="2", max_version="2.latest").get_endpoint_data(),
    )
    if found is None or not found.service_url:
        raise GlanceError(f"glance ({endpoint}): version discovery", None, "no Images API v2 answers at this URL")
    return proxy(found.service_url)


def get_stores(conn: Connection, *, endpoint: str | None = None) -> tuple[Store, ...]:
    """``glance stores-info``: the stores of the Glance at ``endpoint`` (central's from the catalog by default)."""
    return _call(
        "GET /v2/info/stores",
        endpoint,
        lambda: from_resources(get_image_proxy(conn, endpoint).stores(), "stores", parse_stores),
    )


def get_import_methods(conn: Connection, *, endpoint: str | None = None) -> frozenset[str]:
    """``glance import-info``: the import methods that Glance enables (``enabled_import_methods``)."""
    return _call(
        "GET /v2/info/import",
        endpoint,
        lambda: from_resource(get_image_proxy(conn, endpoint).get_import_info(), parse_import_methods),
    )


def get_image(conn: Connection, image_id: str, *, endpoint: str | None = None) -> GlanceImage:
    """``glance image-show``: the image as the Glance at ``endpoint`` shows it."""
    return _get_image(get_image_proxy(conn, endpoint), image_id, endpoint)


def _get_image(proxy: ImageProxy, image_id: str, endpoint: str | None) -> GlanceImage:
    return _call(f"GET /v2/images/{image_id}", endpoint, lambda: parse_sdk_image(proxy.get_image(image_id)))


def get_images(
    conn: Connection, *, status: ImageStatus | None = None, limit: int = 5, endpoint: str | None = None
) -> tuple[GlanceImage, ...]:
    """``glance image-list --limit <limit>``: up to ``limit`` images (of one ``status``) as the Glance
    at ``endpoint`` lists them (``GET /v2/images?status=<status>&limit=<limit>``)."""
    query: dict[str, object] = {"status": status} if status else {}
    query["limit"] = limit
    operation = f"GET /v2/images?{'&'.join(f'{key}={value}' for key, value in query.items())}"

    def first_page() -> tuple[GlanceImage, ...]:
        # The SDK follows Glance's next links: stop at ``limit`` instead of walking every image.
        listing = get_image_proxy(conn, endpoint).images(**query)
        return tuple(parse_sdk_image(image) for image in itertools.islice(listing, limit))

    return _call(operation, endpoint, first_page)


def create_image(
    conn: Connection,
    name: str,
    *,
    disk_format: str = "raw",
    container_format: str = "bare",
    endpoint: str | None = None,
) -> GlanceImage:
    """Create an image record (status ``queued``, no data yet) and return it.

    Separate from the upload so that the caller records the ID for cleanup before any data moves.
    Name test images ``dcnchk-<run>-<purpose>`` so a sweep can find them. This is the SDK's Image
    resource, the plain ``POST /v2/images`` of ``glance image-create``: the proxy's ``create_image``
    is the cloud layer's, which looks the name up first and adds ``owner_specified.openstack.*``
    properties.
    """
    record = SdkImage.new(name=name, disk_format=disk_format, container_format=container_format)
    image = _call("POST /v2/images", endpoint, lambda: parse_sdk_image(record.create(get_image_proxy(conn, endpoint))))
    log.info("created image %s (%s)", image.image_id, name)
    return image


def upload_image_to_store(
    conn: Connection,
    image_id: str,
    data: bytes | BinaryIO,
    store_id: str,
    *,
    size: int | None = None,
    endpoint: str | None = None,
) -> None:
    """Upload the data of a queued image into one store, as ``glance image-create --file --store <store_id>``.

    That is the legacy ``PUT /v2/images/{id}/file`` with ``X-Image-Meta-Store: <store_id>``; it returns
    when the data is written, so the image is active in that one store on return. It works even where
    ``enabled_import_methods`` lacks glance-direct (TripleO's ussuri default). ``size`` (taken from
    ``data`` when it is bytes) spares glance_store its resize-before-write on RBD.

    python-glanceclient does it: openstacksdk's upload (``Image.upload``) sends no store header, so
    Glance would write to its default store, and its store-aware path is the import, not this call.
    """
    if isinstance(data, bytes):
        size = len(data) if size is None else size
        data = io.BytesIO(data)
    stream = data
    _call(
        f"PUT /v2/images/{image_id}/file (store {store_id})",
        endpoint,
        lambda: _client(conn, endpoint).images.upload(image_id, stream, image_size=size, backend=store_id),
    )
    log.info("uploaded image %s to store %s", image_id, store_id)


def copy_image_to_stores(
    conn: Connection,
    image_id: str,
    stores: Collection[str],
    *,
    all_stores_must_succeed: bool = True,
    endpoint: str | None = None,
) -> None:
    """Ask Glance to copy an active image into ``stores`` with one ``copy-image`` import call.

    Returns on Glance's 202; the copy runs in the background, in the Glance process that got the call
    (so use central's Glance for a store an edge Glance lacks); follow up with
    :func:`dcn_checks.waiters.wait_for_image_in_stores`. Glance refuses synchronously, raising
    GlanceError with its message: 409 for a store it does not have ("Store for identifier X not
    found") or while another import holds the image ("Image has active task"), 400 for a store that
    has the image already.

    ``all_stores_must_succeed`` is Glance's API default, True; the ``glance image-import`` CLI sends
    false unless told ``--disallow-failure``.
    """
    targets = check_store_ids(stores)

    def request() -> None:
        proxy = get_image_proxy(conn, endpoint)
        # The SDK's import_image refuses an image without its disk and container formats, which only
        # the record has; and it returns Glance's refusals as responses instead of raising them.
        image = proxy.get_image(image_id)
        to_stores: list[str | SdkStore] = list(targets)
        response = proxy.import_image(
            image, method=COPY_IMAGE, stores=to_stores, all_stores_must_succeed=all_stores_must_succeed
        )
        sdk_exc.raise_from_response(response)

    _call(f"POST /v2/images/{image_id}/import copy-image to {','.join(targets)}", endpoint, request)
    log.info("copy-image of %s to %s accepted", image_id, ",".join(targets))


def import_from_url(
    conn: Connection, image_id: str, url: str, stores: Collection[str], *, endpoint: str | None = None
) -> None:
    """``glance image-create-via-import --import-method web-download --uri URL --stores ...`` for a queued
    image: Glance downloads ``url`` itself (its import filter decides which hosts and ports it may reach)
    and runs its import plugins (image_conversion) before writing to ``stores``. Returns on the 202."""
    targets = check_store_ids(stores)

    def request() -> None:
        proxy = get_image_proxy(conn, endpoint)
        image = proxy.get_image(image_id)
        to_stores: list[str | SdkStore] = list(targets)
        response = proxy.import_image(image, method=WEB_DOWNLOAD, uri=url, stores=to_stores)
        sdk_exc.raise_from_response(response)

    _call(f"POST /v2/images/{image_id}/import web-download to {','.join(targets)}", endpoint, request)


def image_probe(conn: Connection, image_id: str, *, endpoint: str | None = None) -> Callable[[], GlanceImage]:
    """The probe of an image wait (:func:`dcn_checks.waiters.wait_for_image_in_stores`): ``image-show``
    on one proxy, so that an edge Glance's version is discovered once, not at every probe."""
    proxy = get_image_proxy(conn, endpoint)
    return lambda: _get_image(proxy, image_id, endpoint)


def download_sha512(conn: Connection, image_id: str, *, endpoint: str | None = None) -> tuple[str, int]:
    """``glance image-download``: the sha512 and length of the image's bytes as this Glance serves them."""

    def read() -> tuple[str, int]:
        digest, size = hashlib.sha512(), 0
        for chunk in _client(conn, endpoint).images.data(image_id):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    return _call(f"GET /v2/images/{image_id}/file", endpoint, read)


def delete_image_from_store(
    conn: Connection, image_id: str, store_id: str, *, ignore_missing: bool = True, endpoint: str | None = None
) -> bool:
    """``glance stores-delete --store <store_id>``: remove one store's copy (``DELETE /v2/stores/{store}/{id}``).

    Return True when Glance deleted it, False when the image or its copy in that store was missing
    (Glance answers 404 for both) and ``ignore_missing`` is set.
    """
    return _delete(
        f"DELETE /v2/stores/{store_id}/{image_id}",
        endpoint,
        lambda: get_image_proxy(conn, endpoint).delete_image(image_id, store=store_id, ignore_missing=False),
        ignore_missing,
    )


def delete_image(conn: Connection, image_id: str, *, ignore_missing: bool = True, endpoint: str | None = None) -> bool:
    """``glance image-delete``: delete the image and its data in every store; True when it was deleted.

    Use central's Glance (the default): an edge Glance answers 500 and deletes nothing when the image
    has a location in a store it lacks (glance-lab-notes, gotcha 5).
    """
    return _delete(
        f"DELETE /v2/images/{image_id}",
        endpoint,
        lambda: get_image_proxy(conn, endpoint).delete_image(image_id, ignore_missing=False),
        ignore_missing,
    )


def _delete(operation: str, endpoint: str | None, call: Callable[[], object], ignore_missing: bool) -> bool:
    try:
        _call(operation, endpoint, call)
    except GlanceError as err:
        if ignore_missing and err.status == HTTP_NOT_FOUND:
            log.debug("%s: already gone (%s)", operation, err.message)
            return False
        raise
    log.info("%s done", operation)
    return True


def _client(conn: Connection, endpoint: str | None) -> Any:
    """A python-glanceclient v2 client on the connection's Keystone session; ``endpoint`` overrides the catalog."""
    return glanceclient.Client(
        "2",
        endpoint=endpoint or None,
        session=conn.session,
        interface=conn.config.get_interface(),
        region_name=conn.config.get_region_name(),
    )


def _call(operation: str, endpoint: str | None, call: Callable[[], T]) -> T:
    """Run one SDK or glanceclient call; translate its HTTP and connection errors into GlanceError.

    Both clients report Glance's HTML error page as ``"<status> <reason>: <Glance's message>"``.
    """
    where = f"({endpoint or 'catalog'})"
    log.debug("glance %s: %s", where, operation)
    try:
        return call()
    except sdk_exc.HttpException as err:
        message = parse_error_message(str(err.details or err.message))
        raise GlanceError(f"glance {where}: {operation}", err.status_code, message) from err
    except glance_exc.HTTPException as err:
        status = err.code if isinstance(err.code, int) else None
        raise GlanceError(f"glance {where}: {operation}", status, parse_error_message(str(err.details))) from err
    except (ksa_exc.ConnectionError, glance_exc.CommunicationError, glance_exc.InvalidEndpoint) as err:
        raise GlanceError(f"glance {where}: {operation}", None, str(err)) from err


def _text(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParseError(f"image field {key!r} should be a string, got {value!r}")
    return value


def _location_urls(raw: object, image_id: str) -> tuple[tuple[str, str], ...]:
    """(store_id, url) of each entry of an image's ``locations``: ``[{"url": …, "metadata": {"store": …}}]``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ParseError(f"image {image_id}: 'locations' should be a list, got {raw!r}")
    pairs = []
    for entry in raw:
        url = entry.get("url") if isinstance(entry, dict) else None
        metadata = entry.get("metadata") if isinstance(entry, dict) else None
        store_id = metadata.get("store") if isinstance(metadata, dict) else None
        if not isinstance(url, str) or not isinstance(store_id, str):
            # Glance fills metadata.store on read in multistore mode; without it we cannot tell the site.
            raise ParseError(f"image {image_id}: location {entry!r} has no url or no metadata.store")
        pairs.append((store_id, url))
    return tuple(pairs)


def _join(stores: Iterable[str]) -> str:
    return ",".join(sorted(stores)) or "-"
