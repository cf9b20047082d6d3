"""Parsers of ``rbd`` output and Glance RBD locations, over output captured from Ceph 16.2.15.

Captures in ``tests/data/rbd/`` come from a throwaway cluster: ``images/<IMG>`` with a protected ``snap``,
``vms/<VM>_disk`` and ``volumes/volume-<VOL>`` cloned from it, ``volume-<VOL>@snapshot-<SNAP>``, and a plain
``volume-<VOL2>``. ``labnotes-*`` files are the verbatim outputs of ceph-lab-notes.md §3.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dcn_checks import rbd
from dcn_checks.errors import ParseError
from dcn_checks.rbd import Location, Parent, RbdChild, RbdEntry, RbdImageInfo, RbdSnapshot

DATA = Path(__file__).parent / "data" / "rbd"

FSID = "884763fc-9229-44c3-88e6-b7872f9209b9"
IMG = "180b414a-472f-48c3-8376-44d55c30c898"
VM = "7b087e51-c1ba-4b3e-bc4a-005bc2fc5bc1"
VOL = "da79406e-b440-4eb6-8d70-835e13094e1a"
SNAP = "51ce6d00-9ed3-4567-b7d0-959650f0aa9a"
VOL2 = "f29ee899-548c-4cd9-960c-6e8eb8f2f736"
LAB_IMG = "b9f9aca4-80b5-47d8-b022-237a1f4655af"
LAB_VM = "a6e9983b-cc02-41c5-9577-5e4317e943df"
MIB = 2**20
FEATURES = frozenset({"layering", "exclusive-lock", "object-map", "fast-diff", "deep-flatten"})
IMG_SNAP = Parent("images", IMG, "snap")
LAB_IMG_SNAP = Parent("images", LAB_IMG, "snap")


def read(name: str) -> str:
    return (DATA / name).read_text()


def text_form(entries: list[RbdEntry]) -> list[RbdEntry]:
    """The text table shows neither the rbd id nor the snapshot id."""
    return [replace(e, rbd_id=None, snapshot_id=None) for e in entries]


IMAGES = [
    RbdEntry(IMG, 8 * MIB, 2, rbd_id="102372afdf2a"),
    RbdEntry(IMG, 8 * MIB, 2, snapshot="snap", rbd_id="102372afdf2a", snapshot_id=4, protected=True),
]
VMS = [RbdEntry(f"{VM}_disk", 8 * MIB, 2, rbd_id="1033a36e0eba", parent=IMG_SNAP)]
VOLUMES = [
    RbdEntry(f"volume-{VOL}", 8 * MIB, 2, rbd_id="1035c874457c", parent=IMG_SNAP),
    RbdEntry(
        f"volume-{VOL}",
        8 * MIB,
        2,
        snapshot=f"snapshot-{SNAP}",
        rbd_id="1035c874457c",
        snapshot_id=4,
        protected=False,
        parent=IMG_SNAP,
    ),
    RbdEntry(f"volume-{VOL2}", 4 * MIB, 2, rbd_id="1039e5169fcf"),
]
LAB_IMAGES = [
    RbdEntry(LAB_IMG, 16 * MIB, 2, rbd_id="101d2e43e895"),
    RbdEntry(LAB_IMG, 16 * MIB, 2, snapshot="snap", rbd_id="101d2e43e895", snapshot_id=4, protected=True),
]
LAB_VMS = [RbdEntry(f"{LAB_VM}_disk", 16 * MIB, 2, rbd_id="102373ba7e48", parent=LAB_IMG_SNAP)]
LAB_CLONESNAP = RbdEntry(
    f"{LAB_VM}_disk",
    16 * MIB,
    2,
    snapshot="clonesnap",
    rbd_id="102373ba7e48",
    snapshot_id=4,
    protected=False,
    parent=LAB_IMG_SNAP,
)


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("ls-l-empty.json", [], id="empty-pool-json"),
        pytest.param("ls-l-empty.txt", [], id="empty-pool-text-prints-nothing"),
        pytest.param("ls-l-images-no-snap.json", IMAGES[:1], id="image-json"),
        pytest.param("ls-l-images-no-snap.txt", text_form(IMAGES[:1]), id="image-text"),
        pytest.param("ls-l-images-with-snap.json", IMAGES, id="image-with-protected-snap-json"),
        pytest.param("ls-l-images-pretty.json", IMAGES, id="image-with-protected-snap-pretty-json"),
        pytest.param("ls-l-images-with-snap.txt", text_form(IMAGES), id="image-with-protected-snap-text"),
        pytest.param("ls-l-vms-cow-clone.json", VMS, id="cow-clone-json"),
        pytest.param("ls-l-vms-cow-clone.txt", text_form(VMS), id="cow-clone-text"),
        pytest.param("ls-l-vms-locked.json", [replace(VMS[0], lock_type="exclusive")], id="cow-clone-locked-json"),
        pytest.param(
            "ls-l-vms-locked.txt",
            text_form([replace(VMS[0], lock_type="exclusive")]),
            id="cow-clone-locked-text",
        ),
        pytest.param("ls-l-volumes-clone-with-snapshot.json", VOLUMES, id="volume-snapshot-json"),
        pytest.param("ls-l-volumes-clone-with-snapshot.txt", text_form(VOLUMES), id="volume-snapshot-text"),
        pytest.param("labnotes-ls-l-images-with-snap.json", LAB_IMAGES, id="labnotes-images-json"),
        pytest.param("labnotes-ls-l-images-with-snap.txt", text_form(LAB_IMAGES), id="labnotes-images-text"),
        pytest.param("labnotes-ls-l-vms-cow-clone.json", LAB_VMS, id="labnotes-clone-json"),
        pytest.param("labnotes-ls-l-vms-cow-clone.txt", text_form(LAB_VMS), id="labnotes-clone-text"),
        pytest.param("labnotes-ls-l-vms-with-clonesnap.json", [*LAB_VMS, LAB_CLONESNAP], id="labnotes-clonesnap-json"),
        pytest.param(
            "labnotes-ls-l-vms-with-clonesnap.txt",
            text_form([*LAB_VMS, LAB_CLONESNAP]),
            id="labnotes-clonesnap-text",
        ),
    ],
)
def test_parse_rbd_ls_reads_images_snapshots_and_parents(capture: str, expected: list[RbdEntry]) -> None:
    assert rbd.parse_rbd_ls(read(capture)) == tuple(expected)


@pytest.mark.parametrize("capture", sorted(p.name for p in DATA.glob("ls-l-*.txt")) + ["snap-ls-image-protected.txt"])
def test_text_tables_parse_the_same_without_trailing_whitespace(capture: str) -> None:
    # rbd pads every row with spaces; an editor or a pre-commit hook may strip them.
    text = read(capture)
    stripped = "\n".join(line.rstrip() for line in text.splitlines())
    parse = rbd.parse_rbd_snap_ls if capture.startswith("snap-ls") else rbd.parse_rbd_ls
    assert parse(stripped) == parse(text)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        pytest.param("rbd: listing images failed: (1) Operation not permitted\n", "header", id="error-text"),
        pytest.param('[{"image":"x","size":1,"format":2', "not JSON", id="truncated-json"),
        pytest.param('{"image":"x"}', "list of objects", id="object-not-list"),
        pytest.param('[{"image":"x","size":true,"format":2}]', "'size' should be int", id="bool-size"),
        pytest.param(
            '[{"image":"x","snapshot":"snap","size":1,"format":2,"protected":"yes"}]',
            "'protected' should be 'true' or 'false'",
            id="protected-yes",
        ),
        pytest.param('[{"image":"x","size":1,"format":2,"lock_type":"excl"}]', "lock_type", id="unknown-lock"),
        pytest.param(
            "NAME  SIZE   PARENT    FMT  PROT  LOCK\nx     1 MiB  images/y    2\n", "PARENT", id="parent-no-snap"
        ),
        pytest.param("NAME  SIZE    PARENT  FMT  PROT  LOCK\nx     1 Mega          2\n", "size", id="bad-size"),
    ],
)
def test_parse_rbd_ls_rejects_malformed_output(output: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        rbd.parse_rbd_ls(output)


def _info(
    name: str, rbd_id: str, size: int, snapshots: int, parent: Parent | None = None, protected: bool | None = None
) -> RbdImageInfo:
    return RbdImageInfo(
        name, rbd_id, size, 2, snapshots, FEATURES, frozenset(), frozenset(), parent=parent, protected=protected
    )


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("info-image.json", _info(IMG, "102372afdf2a", 8 * MIB, 1), id="image"),
        pytest.param(
            "info-image-snap.json", _info(IMG, "102372afdf2a", 8 * MIB, 1, protected=True), id="image-at-snap"
        ),
        pytest.param(
            "info-vms-cow-clone.json",
            _info(
                f"{VM}_disk",
                "1033a36e0eba",
                8 * MIB,
                0,
                parent=replace(IMG_SNAP, rbd_id="102372afdf2a", trash=False, overlap=8 * MIB),
            ),
            id="cow-clone",
        ),
        pytest.param(
            "info-volume-clone.json",
            _info(
                f"volume-{VOL}",
                "1035c874457c",
                8 * MIB,
                1,
                parent=replace(IMG_SNAP, rbd_id="102372afdf2a", trash=False, overlap=8 * MIB),
            ),
            id="volume-clone",
        ),
        pytest.param("info-volume-plain.json", _info(f"volume-{VOL2}", "1039e5169fcf", 4 * MIB, 0), id="volume-plain"),
        pytest.param(
            "labnotes-info-vms-cow-clone.json",
            _info(
                f"{LAB_VM}_disk",
                "102373ba7e48",
                16 * MIB,
                0,
                parent=replace(LAB_IMG_SNAP, rbd_id="101d2e43e895", trash=False, overlap=16 * MIB),
            ),
            id="labnotes-cow-clone",
        ),
    ],
)
def test_parse_rbd_info_reads_parent_with_id_and_overlap(capture: str, expected: RbdImageInfo) -> None:
    assert rbd.parse_rbd_info(read(capture)) == expected


@pytest.mark.parametrize(
    "capture", ["info-image.txt", "info-vms-cow-clone.txt", "labnotes-info-vms-cow-clone.txt", "ls-l-empty.json"]
)
def test_parse_rbd_info_refuses_anything_but_one_json_object(capture: str) -> None:
    with pytest.raises(ParseError, match=r"^rbd info: "):
        rbd.parse_rbd_info(read(capture))


STAMP = "Thu Nov 26 03:23:47 2026"


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("snap-ls-none.json", [], id="no-snapshots-json"),
        pytest.param("snap-ls-none.txt", [], id="no-snapshots-text"),
        pytest.param(
            "snap-ls-unprotected.json", [RbdSnapshot(4, "snap", 8 * MIB, False, STAMP)], id="unprotected-json"
        ),
        pytest.param(
            "snap-ls-image-protected.json", [RbdSnapshot(4, "snap", 8 * MIB, True, STAMP)], id="protected-json"
        ),
        pytest.param(
            "snap-ls-image-protected.txt", [RbdSnapshot(4, "snap", 8 * MIB, True, STAMP)], id="protected-text"
        ),
        pytest.param(
            "snap-ls-volume-snapshot.json",
            [RbdSnapshot(4, f"snapshot-{SNAP}", 8 * MIB, False, STAMP)],
            id="volume-snapshot-json",
        ),
        pytest.param(
            "snap-ls-volume-snapshot.txt",
            [RbdSnapshot(4, f"snapshot-{SNAP}", 8 * MIB, False, STAMP)],
            id="volume-snapshot-text",
        ),
    ],
)
def test_parse_rbd_snap_ls_reads_protection(capture: str, expected: list[RbdSnapshot]) -> None:
    assert rbd.parse_rbd_snap_ls(read(capture)) == tuple(expected)


TWO_CHILDREN = [RbdChild("vms", f"{VM}_disk"), RbdChild("volumes", f"volume-{VOL}")]


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("children-no-children.json", [], id="none-json"),
        pytest.param("children-no-children.txt", [], id="none-text"),
        pytest.param("children-two-pools.json", TWO_CHILDREN, id="disk-and-volume-json"),
        pytest.param("children-two-pools-pretty.json", TWO_CHILDREN, id="disk-and-volume-pretty-json"),
        pytest.param("children-two-pools.txt", TWO_CHILDREN, id="disk-and-volume-text"),
        pytest.param("labnotes-children.json", [RbdChild("vms", f"{LAB_VM}_disk")], id="labnotes-json"),
        pytest.param("labnotes-children.txt", [RbdChild("vms", f"{LAB_VM}_disk")], id="labnotes-text"),
    ],
)
def test_parse_rbd_children_lists_clones(capture: str, expected: list[RbdChild]) -> None:
    assert rbd.parse_rbd_children(read(capture)) == tuple(expected)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param(f"rbd://{FSID}/images/{IMG}/snap", Location(FSID, "images", IMG, "snap"), id="glance-image"),
        pytest.param(
            f"rbd://{FSID}/my%20pool/{IMG}/snap", Location(FSID, "my pool", IMG, "snap"), id="url-quoted-pool"
        ),
        pytest.param(
            f"rbd://{FSID.upper()}/images/{IMG}/snap", Location(FSID.upper(), "images", IMG, "snap"), id="upper-fsid"
        ),
    ],
)
def test_parse_location_reads_glance_rbd_location(uri: str, expected: Location) -> None:
    location = rbd.parse_location(uri)
    assert location == expected
    assert location.image_id == expected.image
    assert rbd.parse_location(str(location)) == location


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        pytest.param(f"rbd://{IMG}", "has 1 part", id="legacy-image-only"),
        pytest.param(f"file:///var/lib/glance/images/{IMG}", "does not start with 'rbd://'", id="file-store"),
        pytest.param(f"rbd://{FSID}/images/{IMG}", "has 3 part", id="no-snapshot"),
        pytest.param(f"rbd://{FSID}/images/{IMG}/snap/x", "has 5 part", id="extra-part"),
        pytest.param(f"rbd://{FSID}//{IMG}/snap", "empty pool", id="empty-pool"),
        pytest.param(f"rbd://{FSID}/images/{IMG}/", "empty snapshot", id="empty-snapshot"),
        pytest.param(f"rbd://images/{FSID}/{IMG}/snap", "fsid 'images' is not", id="swapped-fsid-and-pool"),
        pytest.param("", "does not start", id="empty"),
    ],
)
def test_parse_location_rejects_malformed_location(uri: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        rbd.parse_location(uri)


@pytest.mark.parametrize(
    ("capture", "image", "pool", "image_id", "snapshot", "expected"),
    [
        pytest.param("ls-l-vms-cow-clone.json", f"{VM}_disk", "images", IMG, "snap", True, id="disk-json"),
        pytest.param("ls-l-vms-cow-clone.txt", f"{VM}_disk", "images", IMG, "snap", True, id="disk-text"),
        pytest.param("ls-l-vms-cow-clone.json", f"{VM}_disk", "volumes", IMG, "snap", False, id="other-pool"),
        pytest.param("ls-l-vms-cow-clone.json", f"{VM}_disk", "images", LAB_IMG, "snap", False, id="other-image"),
        pytest.param("ls-l-vms-cow-clone.json", f"{VM}_disk", "images", IMG, "clonesnap", False, id="other-snap"),
        pytest.param(
            "ls-l-volumes-clone-with-snapshot.json", f"volume-{VOL}", "images", IMG, "snap", True, id="volume"
        ),
        pytest.param(
            "ls-l-volumes-clone-with-snapshot.json", f"volume-{VOL2}", "images", IMG, "snap", False, id="plain-volume"
        ),
        pytest.param("ls-l-images-with-snap.json", IMG, "images", IMG, "snap", False, id="the-image-itself"),
    ],
)
def test_is_cow_clone_of_compares_pool_image_and_snapshot(
    capture: str, image: str, pool: str, image_id: str, snapshot: str, expected: bool
) -> None:
    entry = rbd.find_image(rbd.parse_rbd_ls(read(capture)), image)
    assert entry is not None
    assert rbd.is_cow_clone_of(entry, pool, image_id, snapshot) is expected


def test_is_cow_clone_of_accepts_rbd_info() -> None:
    assert rbd.is_cow_clone_of(rbd.parse_rbd_info(read("info-vms-cow-clone.json")), "images", IMG)


def test_find_snapshot_finds_glance_snap_and_cinder_snapshot() -> None:
    images = rbd.parse_rbd_ls(read("ls-l-images-with-snap.json"))
    volumes = rbd.parse_rbd_ls(read("ls-l-volumes-clone-with-snapshot.txt"))
    glance_snap = rbd.find_snapshot(images, IMG)
    cinder_snap = rbd.find_snapshot(volumes, rbd.volume_name(VOL), rbd.volume_snapshot_name(SNAP))
    assert glance_snap is not None and glance_snap.protected is True
    assert cinder_snap is not None and cinder_snap.protected is False
    assert rbd.find_snapshot(images, IMG, "clonesnap") is None
    assert rbd.find_image(images, LAB_IMG) is None


def test_find_clones_of_skips_snapshots_and_unrelated_volumes() -> None:
    volumes = rbd.parse_rbd_ls(read("ls-l-volumes-clone-with-snapshot.json"))
    assert [e.image for e in rbd.find_clones_of(volumes, "images", IMG)] == [f"volume-{VOL}"]


def test_names_follow_nova_and_cinder_conventions() -> None:
    assert rbd.vm_disk_name(VM) == f"{VM}_disk"
    assert rbd.volume_name(VOL) == f"volume-{VOL}"
    assert rbd.volume_snapshot_name(SNAP) == f"snapshot-{SNAP}"


@pytest.mark.parametrize(
    ("returncode", "stderr", "race"),
    [
        (2, "rbd: listing images failed: (2) No such file or directory\n", True),
        (0, "", False),
        (2, "rbd: error opening pool 'images': (2) No such file or directory\n", False),
        (1, "rbd: listing images failed: (1) Operation not permitted\n", False),
        (2, "2026-12-03T16:00:00 7f0 -1 auth: unable to find a keyring\n", False),
    ],
)
def test_is_listing_race_only_for_an_image_removed_while_listed(returncode: int, stderr: str, race: bool) -> None:
    assert rbd.is_listing_race(returncode, stderr) is race
