"""RBD images as the checks see them: ``rbd`` command output and Glance ``rbd://`` locations, typed.

At a DCN site every image Glance holds lives in the site's own cluster as ``images/<image_id>`` with a
protected snapshot ``snap``; a COW-booted server's disk is ``vms/<server_id>_disk`` and a volume is
``volumes/volume-<volume_id>``, both clones of ``images/<image_id>@snap``. The functions here turn
``rbd ls -l``, ``rbd info``, ``rbd snap ls`` and ``rbd children`` output into values, and answer the
questions the checks ask of them (is this disk a clone of that image, is the snapshot protected),
without running anything.

Formats are those of Ceph 16.2.15 (Pacific), captured in ``tests/data/rbd/``. Parse JSON where you can:
the text tables round sizes and omit image ids. ``parse_json_output`` and ``json_field`` read the JSON
of ``ceph`` commands too (see ``cephconf`` and ``cluster``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar
from urllib.parse import quote, unquote

from dcn_checks.errors import ParseError

LockType = Literal["exclusive", "shared"]
_T = TypeVar("_T")

VM_DISK_SUFFIX = "_disk"
VOLUME_PREFIX = "volume-"
VOLUME_SNAPSHOT_PREFIX = "snapshot-"
GLANCE_SNAPSHOT = "snap"


@dataclass(frozen=True, slots=True)
class Location:
    """A Glance RBD location: which cluster, pool, image and snapshot hold the image's data."""

    fsid: str
    pool: str
    image: str
    snapshot: str

    @property
    def image_id(self) -> str:
        """The Glance image ID, which Glance uses as the RBD image name."""
        return self.image

    def __str__(self) -> str:
        # Quoted as glance_store's StoreLocation.get_uri() writes it, so parse_location() reads it back.
        parts = (quote(part, safe="") for part in (self.fsid, self.pool, self.image, self.snapshot))
        return "rbd://" + "/".join(parts)


@dataclass(frozen=True, slots=True)
class Parent:
    """The snapshot a clone was made from. ``rbd ls -l`` names no ``rbd_id``, ``trash`` or ``overlap``."""

    pool: str
    image: str
    snapshot: str
    pool_namespace: str = ""
    rbd_id: str | None = None
    trash: bool | None = None
    overlap: int | None = None

    @property
    def spec(self) -> str:
        """``pool/image@snapshot`` (``pool/namespace/image@snapshot`` in a namespace), as rbd prints it."""
        namespace = f"{self.pool_namespace}/" if self.pool_namespace else ""
        return f"{self.pool}/{namespace}{self.image}@{self.snapshot}"


@dataclass(frozen=True, slots=True)
class RbdEntry:
    """One row of ``rbd ls -l``: an image, or one of its snapshots when ``snapshot`` is set.

    ``rbd_id`` and ``snapshot_id`` come only from JSON; the text table rounds ``size`` to its unit.
    ``protected`` is None for image rows.
    """

    image: str
    size: int
    format: int
    snapshot: str | None = None
    rbd_id: str | None = None
    snapshot_id: int | None = None
    protected: bool | None = None
    parent: Parent | None = None
    lock_type: LockType | None = None


@dataclass(frozen=True, slots=True)
class RbdImageInfo:
    """``rbd info --format json`` of an image, or of ``image@snapshot`` (then ``protected`` is set)."""

    name: str
    rbd_id: str
    size: int
    format: int
    snapshot_count: int
    features: frozenset[str]
    op_features: frozenset[str]
    flags: frozenset[str]
    parent: Parent | None = None
    protected: bool | None = None


@dataclass(frozen=True, slots=True)
class RbdSnapshot:
    """One row of ``rbd snap ls``."""

    snapshot_id: int
    name: str
    size: int
    protected: bool
    timestamp: str


@dataclass(frozen=True, slots=True)
class RbdChild:
    """One clone listed by ``rbd children <pool>/<image>@<snapshot>``."""

    pool: str
    image: str
    pool_namespace: str = ""


class HasParent(Protocol):
    """Anything that may name a parent snapshot: an ``rbd ls -l`` row or ``rbd info`` output."""

    @property
    def parent(self) -> Parent | None: ...


def parse_location(uri: str) -> Location:
    """Parse a Glance RBD location, e.g. ``rbd://<fsid>/images/<image_id>/snap``.

    Like glance_store, the four parts are split on ``/`` and URL-unquoted. The legacy one-part form
    ``rbd://<image>`` names no cluster, so a DCN deployment cannot use it and it is refused here.
    """
    prefix = "rbd://"
    if not uri.startswith(prefix):
        raise ParseError(f"location {uri!r} does not start with {prefix!r}")
    parts = uri[len(prefix) :].split("/")
    if len(parts) != 4:
        raise ParseError(f"location {uri!r} has {len(parts)} part(s); expected rbd://<fsid>/<pool>/<image>/<snapshot>")
    fsid, pool, image, snapshot = (unquote(part) for part in parts)
    names = ("fsid", "pool", "image", "snapshot")
    for name, value in zip(names, (fsid, pool, image, snapshot), strict=True):
        if not value:
            raise ParseError(f"location {uri!r} has an empty {name}")
    try:
        uuid.UUID(fsid)
    except ValueError:
        raise ParseError(f"location {uri!r}: fsid {fsid!r} is not a cluster fsid (a UUID)") from None
    return Location(fsid=fsid, pool=pool, image=image, snapshot=snapshot)


def parse_rbd_ls(text: str) -> tuple[RbdEntry, ...]:
    """Parse ``rbd ls -l`` of one pool, in JSON (``--format json``) or as the text table.

    JSON sample: ``[{"image":"<id>","id":"101d2e43e895","snapshot":"snap","snapshot_id":4,
    "size":16777216,"format":2,"protected":"true"}]``; text sample::

        NAME             SIZE    PARENT                 FMT  PROT  LOCK
        <vm>_disk        16 MiB  images/<id>@snap         2

    An empty pool gives ``[]`` in JSON and nothing at all (no header) as text.
    """
    if _is_json(text):
        return tuple(_entry_from_json(item) for item in _json_list(text, "rbd ls -l"))
    rows = _table_rows(text, "rbd ls -l", ("NAME", "SIZE", "PARENT", "FMT", "PROT", "LOCK"))
    return tuple(_entry_from_row(row) for row in rows)


def is_listing_race(returncode: int, stderr: str) -> bool:
    """Tell whether ``rbd ls -l`` failed only because an image it listed was removed before it opened
    it (``rbd: listing images failed: (2) No such file or directory``, rc 2): another client's delete,
    not a missing pool (``error opening pool``) nor a refused key (``(1) Operation not permitted``)."""
    return returncode != 0 and "listing images failed: (2) No such file or directory" in stderr


def parse_rbd_info(text: str) -> RbdImageInfo:
    """Parse ``rbd info --format json``, e.g. ``{"name":"<vm>_disk","id":"1023...","size":16777216,
    ..., "parent":{"pool":"images","image":"<id>","id":"101d...","snapshot":"snap","overlap":16777216}}``.
    """
    data = parse_json_output(text, "rbd info", object)
    if not isinstance(data, dict):
        raise ParseError(f"rbd info: expected a JSON object, got {type(data).__name__}")
    parent = data.get("parent")
    return RbdImageInfo(
        name=json_field(data, "name", str),
        rbd_id=json_field(data, "id", str),
        size=json_field(data, "size", int),
        format=json_field(data, "format", int),
        snapshot_count=json_field(data, "snapshot_count", int),
        features=frozenset(json_field(data, "features", list)),
        op_features=frozenset(json_field(data, "op_features", list)),
        flags=frozenset(json_field(data, "flags", list)),
        parent=_parent_from_json(parent) if parent is not None else None,
        protected=_protected(data["protected"]) if "protected" in data else None,
    )


def parse_rbd_snap_ls(text: str) -> tuple[RbdSnapshot, ...]:
    """Parse ``rbd snap ls`` in JSON or text, e.g.
    ``[{"id":4,"name":"snap","size":8388608,"protected":"true","timestamp":"Thu Nov 26 03:23:47 2026"}]``.

    ``protected`` is the string "true"/"false" in JSON and "yes"/blank in the text table.
    """
    if _is_json(text):
        return tuple(
            RbdSnapshot(
                snapshot_id=json_field(item, "id", int),
                name=json_field(item, "name", str),
                size=json_field(item, "size", int),
                protected=_protected(json_field(item, "protected", object)),
                timestamp=json_field(item, "timestamp", str),
            )
            for item in _json_list(text, "rbd snap ls")
        )
    rows = _table_rows(text, "rbd snap ls", ("SNAPID", "NAME", "SIZE", "PROTECTED", "TIMESTAMP"))
    return tuple(
        RbdSnapshot(
            snapshot_id=_to_int(row["SNAPID"], "rbd snap ls SNAPID"),
            name=row["NAME"],
            size=_size_from_text(row["SIZE"]),
            protected=row["PROTECTED"] == "yes",
            timestamp=row["TIMESTAMP"],
        )
        for row in rows
    )


def parse_rbd_children(text: str) -> tuple[RbdChild, ...]:
    """Parse ``rbd children`` in JSON (``[{"pool":"vms","pool_namespace":"","image":"<vm>_disk"}]``)
    or text (one ``pool/image`` per line; nothing at all when there are no children).
    """
    if _is_json(text):
        return tuple(
            RbdChild(
                pool=json_field(item, "pool", str),
                image=json_field(item, "image", str),
                pool_namespace=json_field(item, "pool_namespace", str, default=""),
            )
            for item in _json_list(text, "rbd children")
        )
    children = []
    for line in text.splitlines():
        if line.strip():
            pool, namespace, image = _split_image_spec(line.strip(), "rbd children")
            children.append(RbdChild(pool=pool, image=image, pool_namespace=namespace))
    return tuple(children)


def vm_disk_name(server_id: str) -> str:
    """The RBD image name Nova gives a server's root disk in the ``vms`` pool."""
    return f"{server_id}{VM_DISK_SUFFIX}"


def volume_name(volume_id: str) -> str:
    """The RBD image name Cinder gives a volume."""
    return f"{VOLUME_PREFIX}{volume_id}"


def volume_snapshot_name(snapshot_id: str) -> str:
    """The RBD snapshot name Cinder gives a volume snapshot (on ``volume-<volume_id>``)."""
    return f"{VOLUME_SNAPSHOT_PREFIX}{snapshot_id}"


def find_image(entries: Iterable[RbdEntry], image: str) -> RbdEntry | None:
    """Return the image row (not a snapshot row) named ``image``, or None."""
    return next((e for e in entries if e.image == image and e.snapshot is None), None)


def find_snapshot(entries: Iterable[RbdEntry], image: str, snapshot: str = GLANCE_SNAPSHOT) -> RbdEntry | None:
    """Return the row of ``image@snapshot``, or None; Glance's snapshot is ``snap``."""
    return next((e for e in entries if e.image == image and e.snapshot == snapshot), None)


def is_cow_clone_of(entry: HasParent, pool: str, image_id: str, snapshot: str = GLANCE_SNAPSHOT) -> bool:
    """Tell whether ``entry`` is a copy-on-write clone of ``<pool>/<image_id>@<snapshot>``.

    A full copy (the flattened disk of a server that did not boot COW) has no parent and is not.
    """
    parent = entry.parent
    return (
        parent is not None
        and parent.pool == pool
        and not parent.pool_namespace
        and parent.image == image_id
        and parent.snapshot == snapshot
    )


def find_clones_of(
    entries: Iterable[RbdEntry], pool: str, image_id: str, snapshot: str = GLANCE_SNAPSHOT
) -> tuple[RbdEntry, ...]:
    """Return the image rows (snapshots of clones left out) that are clones of ``pool/image_id@snapshot``."""
    return tuple(e for e in entries if e.snapshot is None and is_cow_clone_of(e, pool, image_id, snapshot))


# --- JSON -------------------------------------------------------------------------------------------


def _is_json(text: str) -> bool:
    return text.lstrip()[:1] in ("[", "{")


def parse_json_output(text: str, command: str, kind: type[_T]) -> _T:
    """Parse what ``command`` printed with ``--format json`` (``rbd``) or ``-f json`` (``ceph``) and check
    that it is a ``kind`` (``list``, ``dict``, or ``object`` for anything).

    Shared by ``cephconf`` and ``cluster``; the ParseError names ``command`` so the operator knows which
    output was unreadable.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(f"{command}: output is not JSON ({err.msg} at {err.lineno}:{err.colno})") from err
    if not isinstance(data, kind):
        raise ParseError(f"{command}: expected a JSON {kind.__name__}, got {type(data).__name__}")
    return data


def json_field(data: object, key: str, kind: type[_T], default: _T | None = None) -> _T:
    """Return ``data[key]`` (``default`` when absent) if ``data`` is a JSON object and the value a ``kind``;
    raise ParseError otherwise."""
    value = data.get(key, default) if isinstance(data, dict) else None
    # bool is an int in Python; a JSON true where a number belongs is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ParseError(f"field {key!r} should be {kind.__name__}, got {value!r} in {data!r}")
    return value


def _json_list(text: str, command: str) -> list[dict[str, object]]:
    data = parse_json_output(text, command, object)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ParseError(f"{command}: expected a JSON list of objects")
    return data


def _protected(value: object) -> bool:
    # rbd (Pacific) prints "protected" as the strings "true"/"false", not JSON booleans.
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise ParseError(f"field 'protected' should be 'true' or 'false', got {value!r}")


def _parent_from_json(data: object) -> Parent:
    if not isinstance(data, dict):
        raise ParseError(f"field 'parent' should be an object, got {data!r}")
    return Parent(
        pool=json_field(data, "pool", str),
        image=json_field(data, "image", str),
        snapshot=json_field(data, "snapshot", str),
        pool_namespace=json_field(data, "pool_namespace", str, default=""),
        rbd_id=json_field(data, "id", str) if "id" in data else None,
        trash=json_field(data, "trash", bool) if "trash" in data else None,
        overlap=json_field(data, "overlap", int) if "overlap" in data else None,
    )


def _entry_from_json(item: dict[str, object]) -> RbdEntry:
    snapshot = item.get("snapshot")
    lock = item.get("lock_type")
    if lock not in (None, "exclusive", "shared"):
        raise ParseError(f"rbd ls -l: unknown lock_type {lock!r}")
    return RbdEntry(
        image=json_field(item, "image", str),
        size=json_field(item, "size", int),
        format=json_field(item, "format", int),
        snapshot=json_field(item, "snapshot", str) if snapshot is not None else None,
        rbd_id=json_field(item, "id", str) if "id" in item else None,
        snapshot_id=json_field(item, "snapshot_id", int) if "snapshot_id" in item else None,
        protected=_protected(item["protected"]) if "protected" in item else None,
        parent=_parent_from_json(item["parent"]) if "parent" in item else None,
        lock_type=lock,
    )


# --- text tables ------------------------------------------------------------------------------------

_SIZE_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50, "EiB": 2**60}
_LOCKS: dict[str, LockType] = {"excl": "exclusive", "shr": "shared"}
_TRASH_SUFFIX = re.compile(r"\s+\(trash (?P<id>[^)]+)\)$")


def _table_rows(text: str, command: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Cut a Ceph TextTable into cells by the header's column offsets (headers are left-aligned)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    if tuple(header.split()) != columns:
        raise ParseError(f"{command}: header {header.strip()!r} is not {' '.join(columns)!r}")
    starts = [header.index(name) for name in columns]
    ends = [*starts[1:], None]
    return [
        {name: line[start:end].strip() for name, start, end in zip(columns, starts, ends, strict=True)}
        for line in lines[1:]
    ]


def _entry_from_row(row: dict[str, str]) -> RbdEntry:
    image, _, snapshot = row["NAME"].partition("@")
    lock = row["LOCK"]
    if lock and lock not in _LOCKS:
        raise ParseError(f"rbd ls -l: unknown LOCK {lock!r}")
    return RbdEntry(
        image=image,
        size=_size_from_text(row["SIZE"]),
        format=_to_int(row["FMT"], "rbd ls -l FMT"),
        snapshot=snapshot or None,
        protected=(row["PROT"] == "yes") if snapshot else None,
        parent=_parent_from_text(row["PARENT"]) if row["PARENT"] else None,
        lock_type=_LOCKS.get(lock),
    )


def _parent_from_text(spec: str) -> Parent:
    trash = _TRASH_SUFFIX.search(spec)
    if trash:
        spec = spec[: trash.start()]
    image_spec, at, snapshot = spec.partition("@")
    if not at or not snapshot:
        raise ParseError(f"rbd ls -l: PARENT {spec!r} is not pool/image@snapshot")
    pool, namespace, image = _split_image_spec(image_spec, "rbd ls -l PARENT")
    return Parent(
        pool=pool,
        image=image,
        snapshot=snapshot,
        pool_namespace=namespace,
        rbd_id=trash.group("id") if trash else None,
        trash=True if trash else None,
    )


def _split_image_spec(spec: str, what: str) -> tuple[str, str, str]:
    """Split ``pool/image`` or ``pool/namespace/image`` into (pool, namespace, image)."""
    parts = spec.split("/")
    if len(parts) == 2 and all(parts):
        return parts[0], "", parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise ParseError(f"{what}: {spec!r} is not pool/image or pool/namespace/image")


def _size_from_text(size: str) -> int:
    """Turn rbd's ``8 MiB`` into bytes; rbd rounds what it prints, so this is exact only for whole units."""
    number, _, unit = size.partition(" ")
    try:
        return round(float(number) * _SIZE_UNITS[unit])
    except (KeyError, ValueError):
        raise ParseError(f"size {size!r} is not a number and a unit like '16 MiB'") from None


def _to_int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ParseError(f"{what}: {value!r} is not a number") from None
