"""The pure half of ``dcn_checks.glance``, over what Glance 33 answered in the lab.

Captures in ``tests/data/glance/`` are the verbatim JSON of ``GET /v2/info/stores`` (central and dcn0),
``GET /v2/info/import`` (ussuri's ``web-download,copy-image``) and ``GET /v2/images/{id}`` of one 1 MiB
image through the document's workflow: created (``queued``), uploaded to central, then each distinct
state seen while one copy-image to dcn0+dcn1 ran, polled every few ms (``image-copy-*``), and after
``DELETE /v2/stores/dcn1/{id}``. ``errors.json`` holds the ``details`` python-glanceclient raised for
each refusal, ``error-pages.json`` the status, content type and HTML page of four refusals as Glance
sent them to openstacksdk. ``image-copy-failed-dcn1-synthetic.json`` is made by hand from
``image-copy-importing-dcn1``, with the ``os_glance_failed_import`` that glance-lab-notes measured for a
failed store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from glanceclient import exc as glance_exc  # type: ignore[import-untyped]
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from openstack.image.v2.image import Image as SdkImage
from openstack.image.v2.service_info import Import as SdkImport
from openstack.image.v2.service_info import Store as SdkStore

from dcn_checks import glance, waiters
from dcn_checks.clients import from_resource, from_resources
from dcn_checks.errors import DcnChecksError, GlanceError, ParseError, WaitFailed
from dcn_checks.glance import GlanceImage, Store

DATA = Path(__file__).parent / "data" / "glance"

IMAGE_ID = "a20e19c7-283f-4c84-b8aa-19043e206986"
TASK_ID = "7d3bdbeb-c07f-45c6-abea-b8dafafc85fa"
FSID = {
    "central": "b7bd55d0-6393-4512-ab94-d11717bc3180",
    "dcn0": "3a8245c0-cd1d-47e9-ba86-91447029b88e",
    "dcn1": "d1ac32a5-8b72-4ca4-aaed-bf8320d22fe4",
}
ALL_STORES = frozenset(FSID)
COPY_SEQUENCE = (
    "image-copy-accepted.json",
    "image-copy-importing-dcn0-dcn1.json",
    "image-copy-importing-dcn1.json",
    "image-copy-task-still-held.json",
    "image-active-three-stores.json",
)


def read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def image(name: str) -> GlanceImage:
    return glance.parse_image(read(name))


def sdk_image(name: str) -> SdkImage:
    data = read(name)
    data.pop("self", None)  # a link, and a reserved argument name of openstacksdk resources
    return SdkImage.existing(**data)


# --- store info and import methods ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param(
            "stores-central.json",
            (
                Store("central", "central rbd glance store", True),
                Store("dcn0", "dcn0 rbd glance store", False),
                Store("dcn1", "dcn1 rbd glance store", False),
            ),
            id="central",
        ),
        pytest.param(
            "stores-dcn0.json",
            (Store("dcn0", "dcn0 rbd glance store", True), Store("central", "central rbd glance store", False)),
            id="dcn0",
        ),
    ],
)
def test_parse_stores_reads_store_ids_descriptions_and_default(capture: str, expected: tuple[Store, ...]) -> None:
    stores = glance.parse_stores(read(capture))
    assert stores == expected
    assert glance.find_default_store(stores) == expected[0]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-stores"),
        pytest.param({"stores": {"id": "central"}}, id="not-a-list"),
        pytest.param({"stores": [{"description": "x"}]}, id="entry-without-id"),
        pytest.param({"stores": [{"id": "central", "default": "yes"}]}, id="odd-default"),
    ],
)
def test_parse_stores_refuses_malformed_store_info(body: dict[str, Any]) -> None:
    with pytest.raises(ParseError, match="/v2/info/stores"):
        glance.parse_stores(body)


def test_find_default_store_is_none_without_a_default() -> None:
    assert glance.find_default_store([Store("dcn0", "", False)]) is None


def test_parse_import_methods_reads_ussuri_methods_without_glance_direct() -> None:
    assert glance.parse_import_methods(read("import-info-ussuri.json")) == {"web-download", "copy-image"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"import-methods": ["copy-image"]}, id="bare-list"),
        pytest.param({"import-methods": {"value": [1]}}, id="not-strings"),
    ],
)
def test_parse_import_methods_refuses_malformed_info(body: dict[str, Any]) -> None:
    with pytest.raises(ParseError, match="/v2/info/import"):
        glance.parse_import_methods(body)


# --- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, set(), id="absent"),
        pytest.param("", set(), id="empty"),
        pytest.param("central", {"central"}, id="one"),
        pytest.param("dcn0,dcn1,central", {"central", "dcn0", "dcn1"}, id="completion-order"),
        pytest.param(" dcn0 , ,dcn1,", {"dcn0", "dcn1"}, id="spaces-and-empty-parts"),
    ],
)
def test_parse_store_list_reads_comma_separated_store_ids_as_a_set(text: str | None, expected: set[str]) -> None:
    assert glance.parse_store_list(text) == expected


def test_parse_store_list_refuses_a_list() -> None:
    with pytest.raises(ParseError):
        glance.parse_store_list(["central"])


@pytest.mark.parametrize(
    ("capture", "status", "stores", "importing", "failed", "task", "located"),
    [
        pytest.param("image-queued.json", "queued", set(), set(), set(), None, set(), id="queued"),
        pytest.param(
            "image-active-central.json", "active", {"central"}, set(), set(), None, {"central"}, id="uploaded"
        ),
        pytest.param(
            "image-copy-accepted.json", "active", {"central"}, set(), set(), TASK_ID, {"central"}, id="copy-accepted"
        ),
        pytest.param(
            "image-copy-importing-dcn0-dcn1.json",
            "active",
            {"central"},
            {"dcn0", "dcn1"},
            set(),
            TASK_ID,
            {"central"},
            id="importing-two",
        ),
        pytest.param(
            "image-copy-importing-dcn1.json",
            "active",
            {"central", "dcn0"},
            {"dcn1"},
            set(),
            TASK_ID,
            {"central", "dcn0"},
            id="importing-one",
        ),
        pytest.param(
            "image-copy-task-still-held.json", "active", ALL_STORES, set(), set(), TASK_ID, ALL_STORES, id="task-held"
        ),
        pytest.param("image-active-three-stores.json", "active", ALL_STORES, set(), set(), None, ALL_STORES, id="done"),
        pytest.param(
            "image-after-store-delete-dcn1.json",
            "active",
            {"central", "dcn0"},
            set(),
            set(),
            None,
            {"central", "dcn0"},
            id="store-deleted",
        ),
        pytest.param(
            "image-copy-failed-dcn1-synthetic.json",
            "active",
            {"central", "dcn0"},
            set(),
            {"dcn1"},
            None,
            {"central", "dcn0"},
            id="failed",
        ),
    ],
)
def test_parse_image_reads_multistore_fields(
    capture: str,
    status: str,
    stores: set[str],
    importing: set[str],
    failed: set[str],
    task: str | None,
    located: set[str],
) -> None:
    parsed = image(capture)
    assert (parsed.image_id, parsed.name) == (IMAGE_ID, "dcnchk-capture-image")
    assert parsed.status == status
    assert parsed.stores == stores
    assert parsed.importing_to_stores == importing
    assert parsed.failed_import == failed
    assert parsed.import_task == task
    assert {store_id for store_id, _ in parsed.location_urls} == located


def test_parse_image_reads_size_and_hash() -> None:
    parsed = image("image-active-central.json")
    assert parsed.size == 1024 * 1024
    assert parsed.disk_format == "raw"
    assert parsed.os_hash_algo == "sha512"
    assert parsed.os_hash_value is not None and len(parsed.os_hash_value) == 128
    assert image("image-queued.json").os_hash_value is None


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param({"id": None}, "without an 'id'", id="no-id"),
        pytest.param({"status": "exploded"}, "unknown status 'exploded'", id="unknown-status"),
        pytest.param({"size": "1 MiB"}, "size", id="size-not-number"),
        pytest.param({"locations": {"url": "rbd://x"}}, "should be a list", id="locations-not-list"),
        pytest.param({"locations": [{"url": "rbd://x", "metadata": {}}]}, "no metadata.store", id="location-no-store"),
        pytest.param({"os_hash_value": 12}, "os_hash_value", id="hash-not-string"),
    ],
)
def test_parse_image_refuses_malformed_images(change: dict[str, Any], match: str) -> None:
    data = read("image-active-central.json") | change
    with pytest.raises(ParseError, match=match):
        glance.parse_image(data)


@pytest.mark.parametrize("capture", ["image-active-three-stores.json", "image-active-three-stores-via-dcn0.json"])
def test_get_locations_gives_each_store_its_own_cluster_and_the_same_image_id(capture: str) -> None:
    for parsed in (image(capture), sdk_image(capture)):
        locations = glance.get_locations(parsed)
        assert {store_id: loc.fsid for store_id, loc in locations} == FSID
        assert {(loc.pool, loc.image_id, loc.snapshot) for _, loc in locations} == {("images", IMAGE_ID, "snap")}


def test_get_locations_is_empty_where_glance_hides_locations() -> None:
    data = read("image-active-three-stores.json")
    del data["locations"]
    assert glance.get_locations(glance.parse_image(data)) == ()


def test_get_locations_names_the_store_of_a_location_that_is_not_rbd() -> None:
    data = read("image-active-central.json")
    data["locations"] = [{"url": "file:///var/lib/glance/images/x", "metadata": {"store": "central"}}]
    with pytest.raises(ParseError, match=f"image {IMAGE_ID}: location in store central: "):
        glance.get_locations(glance.parse_image(data))


@pytest.mark.parametrize(
    "capture", ["image-active-central.json", "image-active-three-stores.json", "image-after-store-delete-dcn1.json"]
)
def test_get_image_stores_agrees_for_sdk_and_glance_images(capture: str) -> None:
    assert glance.get_image_stores(sdk_image(capture)) == glance.get_image_stores(image(capture))
    assert glance.get_image_stores(image(capture)) == image(capture).stores


# --- openstacksdk's resources, read by the same parsers -------------------------------------------


@pytest.mark.parametrize("capture", [*COPY_SEQUENCE, "image-queued.json", "image-after-store-delete-dcn1.json"])
def test_parse_sdk_image_reads_what_glance_sent_though_the_sdk_moves_it_to_properties(capture: str) -> None:
    assert glance.parse_sdk_image(sdk_image(capture)) == image(capture)


@pytest.mark.parametrize("capture", ["stores-central.json", "stores-dcn0.json"])
def test_sdk_stores_parse_as_glances_store_info(capture: str) -> None:
    body = read(capture)
    stores = [SdkStore.existing(**entry) for entry in body["stores"]]
    assert from_resources(stores, "stores", glance.parse_stores) == glance.parse_stores(body)


def test_sdk_import_info_parses_as_glances_import_info() -> None:
    body = read("import-info-ussuri.json")
    assert from_resource(SdkImport.existing(**body), glance.parse_import_methods) == {"web-download", "copy-image"}


# --- deciding: is the copy done, did it fail ------------------------------------------------------


@pytest.mark.parametrize(
    ("capture", "stores", "settled"),
    [
        pytest.param("image-queued.json", {"central"}, False, id="queued"),
        pytest.param("image-active-central.json", {"central"}, True, id="uploaded-to-central"),
        pytest.param("image-active-central.json", ALL_STORES, False, id="not-yet-copied"),
        pytest.param("image-copy-accepted.json", ALL_STORES, False, id="accepted-importing-not-yet-set"),
        pytest.param("image-copy-accepted.json", {"central"}, False, id="task-holds-image"),
        pytest.param("image-copy-importing-dcn0-dcn1.json", ALL_STORES, False, id="importing-two"),
        pytest.param("image-copy-importing-dcn1.json", {"central", "dcn0"}, False, id="importing-other-store"),
        pytest.param("image-copy-task-still-held.json", ALL_STORES, False, id="all-stores-but-task-held"),
        pytest.param("image-active-three-stores.json", ALL_STORES, True, id="done"),
        pytest.param("image-active-three-stores.json", {"dcn1"}, True, id="subset"),
        pytest.param("image-after-store-delete-dcn1.json", ALL_STORES, False, id="store-deleted"),
    ],
)
def test_image_is_settled_only_when_active_in_every_store_and_no_import_holds_it(
    capture: str, stores: set[str], settled: bool
) -> None:
    assert glance.is_image_settled_in_stores(image(capture), stores) is settled


@pytest.mark.parametrize(
    ("capture", "change", "stores", "reason"),
    [
        pytest.param("image-copy-importing-dcn1.json", {}, ALL_STORES, None, id="still-copying"),
        pytest.param(
            "image-copy-failed-dcn1-synthetic.json",
            {},
            ALL_STORES,
            "Glance reports the import to dcn1 failed (os_glance_failed_import)",
            id="failed-store-wanted",
        ),
        pytest.param("image-copy-failed-dcn1-synthetic.json", {}, {"dcn0"}, None, id="failed-store-not-wanted"),
        pytest.param("image-active-central.json", {"status": "killed"}, {"central"}, "image is killed", id="killed"),
        pytest.param("image-active-central.json", {"status": "deleted"}, {"central"}, "image is deleted", id="deleted"),
        pytest.param("image-queued.json", {}, {"central"}, None, id="queued-is-not-terminal"),
    ],
)
def test_find_import_failure_names_failed_stores_and_terminal_statuses(
    capture: str, change: dict[str, Any], stores: set[str], reason: str | None
) -> None:
    assert glance.find_import_failure(glance.parse_image(read(capture) | change), stores) == reason


def states_of(captures: tuple[str, ...]) -> Any:
    items = iter(captures)
    return lambda: image(next(items))


def test_wait_on_the_captured_copy_returns_the_settled_image_after_every_step() -> None:
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    settled = waiters.wait_for(
        states_of(COPY_SEQUENCE),
        lambda state: glance.is_image_settled_in_stores(state, ALL_STORES),
        timeout_s=60,
        description="copy",
        fail_fast=lambda state: glance.find_import_failure(state, ALL_STORES),
        describe=glance.describe_image_state,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert settled == image("image-active-three-stores.json")
    assert len(sleeps) == len(COPY_SEQUENCE) - 1


def test_wait_on_a_failed_copy_stops_at_the_failure_with_the_image_state() -> None:
    with pytest.raises(WaitFailed) as caught:
        waiters.wait_for(
            states_of(("image-copy-importing-dcn0-dcn1.json", "image-copy-failed-dcn1-synthetic.json")),
            lambda state: glance.is_image_settled_in_stores(state, ALL_STORES),
            timeout_s=60,
            description="copy",
            fail_fast=lambda state: glance.find_import_failure(state, ALL_STORES),
            describe=glance.describe_image_state,
            sleep=lambda seconds: None,
        )
    assert str(caught.value).endswith("last state: status=active stores=central,dcn0 importing=- failed=dcn1 task=-")


def test_describe_image_state_shows_what_the_wait_watches() -> None:
    assert glance.describe_image_state(image("image-copy-importing-dcn1.json")) == (
        f"status=active stores=central,dcn0 importing=dcn1 failed=- task={TASK_ID}"
    )


@pytest.mark.parametrize(
    ("stores", "error"),
    [
        pytest.param(["dcn0", "dcn1"], None, id="two"),
        pytest.param([], "at least one", id="empty"),
        pytest.param(["dcn0", "dcn1", "dcn0"], "listed twice in copy-image request: dcn0", id="repeated"),
    ],
)
def test_check_store_ids_refuses_empty_and_repeated_targets(stores: list[str], error: str | None) -> None:
    if error is None:
        assert glance.check_store_ids(stores) == tuple(stores)
    else:
        with pytest.raises(ValueError, match=error):
            glance.check_store_ids(stores)


# --- Glance's errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("409-unknown-store", "Store for identifier nosuch not found"),
        ("400-already-present", "Image is already present at store 'dcn0'"),
        ("409-during-copy", "Image has active task"),
        ("404-not-in-store", f"Image {IMAGE_ID} is not stored in store dcn1."),
        (
            "403-last-location",
            "Cannot delete image data from the only store containing it. Consider deleting the image instead.",
        ),
        ("409-edge-lacks-store", "Store for identifier dcn1 not found"),
        ("404-image-gone", f"No image found with ID {IMAGE_ID}"),
    ],
)
def test_parse_error_message_keeps_glances_words_without_status_or_entities(key: str, message: str) -> None:
    assert glance.parse_error_message(read("errors.json")[key]) == message


def sdk_refusal(key: str) -> sdk_exc.HttpException:
    """What openstacksdk raises for a captured Glance error page (``raise_from_response``)."""
    page = read("error-pages.json")[key]
    response = requests.Response()
    response.status_code = page["status"]
    response.headers["Content-Type"] = page["content_type"]
    response._content = page["body"].encode()
    with pytest.raises(sdk_exc.HttpException) as raised:
        sdk_exc.raise_from_response(response)
    return raised.value


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("409-unknown-store", 409, "Store for identifier nosuch not found"),
        ("400-already-present", 400, "Image is already present at store 'dcn0'"),
        ("404-not-in-store", 404, f"Image {IMAGE_ID} is not stored in store dcn1."),
        ("404-image-gone", 404, f"No image found with ID {IMAGE_ID}"),
    ],
)
def test_sdk_refusals_become_glance_errors_with_glances_words(key: str, status: int, message: str) -> None:
    raised = sdk_refusal(key)

    def call() -> None:
        raise raised

    with pytest.raises(GlanceError) as caught:
        glance._call("POST /v2/images/x/import", None, call)
    assert (caught.value.status, caught.value.message) == (status, message)
    assert caught.value.__cause__ is raised


@pytest.mark.parametrize(
    ("raised", "status", "message"),
    [
        pytest.param(
            glance_exc.HTTPConflict("409 Conflict: Store for identifier nosuch not found"),
            409,
            "Store for identifier nosuch not found",
            id="409",
        ),
        pytest.param(glance_exc.HTTPBadRequest("400 Bad Request: x &#x27;y&#x27;"), 400, "x 'y'", id="400"),
        pytest.param(glance_exc.CommunicationError("Error finding address"), None, "Error finding address", id="down"),
        pytest.param(
            ksa_exc.ConnectFailure("Unable to establish connection"),
            None,
            "Unable to establish connection",
            id="sdk-down",
        ),
    ],
)
def test_glance_refusals_become_glance_errors_with_status_and_message(
    raised: Exception, status: int | None, message: str
) -> None:
    def call() -> None:
        raise raised

    with pytest.raises(GlanceError) as caught:
        glance._call("POST /v2/images/x/import", "http://127.0.0.1:9293", call)
    err = caught.value
    assert (err.status, err.message) == (status, message)
    assert str(err).startswith("glance (http://127.0.0.1:9293): POST /v2/images/x/import: ")
    assert err.__cause__ is raised
    assert isinstance(err, DcnChecksError)


@pytest.mark.parametrize(
    ("raised", "ignore_missing", "outcome"),
    [
        pytest.param(None, True, True, id="deleted"),
        pytest.param(glance_exc.HTTPNotFound("404 Not Found: gone"), True, False, id="missing-ignored"),
        pytest.param(glance_exc.HTTPNotFound("404 Not Found: gone"), False, 404, id="missing-raised"),
        pytest.param(glance_exc.HTTPForbidden("403 Forbidden: last store"), True, 403, id="forbidden-always-raised"),
        pytest.param("404-not-in-store", True, False, id="sdk-missing-ignored"),
        pytest.param("404-image-gone", False, 404, id="sdk-missing-raised"),
    ],
)
def test_delete_ignores_only_not_found_and_only_when_asked(
    raised: Exception | str | None, ignore_missing: bool, outcome: bool | int
) -> None:
    def call() -> None:
        if isinstance(raised, str):
            raise sdk_refusal(raised)
        if raised is not None:
            raise raised

    if isinstance(outcome, bool):
        assert glance._delete("DELETE /v2/images/x", None, call, ignore_missing) is outcome
    else:
        with pytest.raises(GlanceError) as caught:
            glance._delete("DELETE /v2/images/x", None, call, ignore_missing)
        assert caught.value.status == outcome
