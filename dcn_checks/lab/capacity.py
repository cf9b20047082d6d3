"""How much a lab cluster holds: each OSD's disk-backed size, the disk that needs, and when it is near full.

Each lab OSD is BlueStore on a sparse file under the lab directory (see ``ceph.render_cluster_conf``).
The source document's workflow writes thick copies (Glance's copy-image; a server snapshot copied
back to central and on to another DCN site). On the former 1 GiB in-memory OSDs it filled central
and dcn1: OSD_FULL, cinder-volume blocked inside librbd, deletes stuck in ``deleting``.

A sparse file takes disk only as data lands in it, so ``lab up`` refuses up front only when the
files could not all grow to their size on the lab directory's file system: a cluster whose disk
runs out below Ceph's own full ratio fails in ways no health check names. ``lab status`` names each
cluster that Ceph reports near full or full (its OSD_/POOL_ NEARFULL, BACKFILLFULL and FULL health
checks, judged against the cluster's own ratios), with ``ceph df``'s raw usage.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.cluster import Health, HealthCheck, parse_health
from dcn_checks.errors import BadInputError, DcnChecksError
from dcn_checks.lab import ceph
from dcn_checks.lab.nodes import check
from dcn_checks.rbd import json_field, parse_json_output

log = logging.getLogger(__name__)

GIB = ceph.GIB
#: The least the lab lets an OSD have: BlueStore's own metadata (BlueFS, RocksDB) takes the first
#: tens of MiB, and the seed and test images of the checks take a few hundred more.
MIN_OSD_BYTES = 2 * GIB
#: Health checks that say a cluster is filling up (Ceph 16.2; OSD_* from the OSDs' fullness against
#: the osdmap's ratios, POOL_* for the pools on such OSDs or over their quota).
FULLNESS_CODES = frozenset({"OSD_NEARFULL", "OSD_BACKFILLFULL", "OSD_FULL", "POOL_NEARFULL", "POOL_FULL"})
_FULL_CODES = frozenset({"OSD_FULL", "POOL_FULL"})
STATUS_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Usage:
    """``ceph df``'s raw totals of a cluster, in bytes."""

    total_bytes: int
    used_bytes: int


@dataclass(frozen=True, slots=True)
class BackingFile:
    """One OSD's sparse backing file: the size it may grow to and the disk it takes so far."""

    path: Path
    apparent_bytes: int
    allocated_bytes: int


# --- pure -----------------------------------------------------------------------------------------


def describe_size(size: int) -> str:
    """``10737418240`` -> ``"10.0 GiB"``, ``27557888`` -> ``"26 MiB"``."""
    return f"{size / GIB:.1f} GiB" if size >= GIB else f"{size / ceph.MIB:.0f} MiB"


def parse_df(text: str) -> Usage:
    """Parse the raw totals of ``ceph df -f json``, e.g. ``{"stats":{"total_bytes":10737418240,
    "total_avail_bytes":10709860352,"total_used_raw_bytes":27557888,...},"pools":[...]}``."""
    stats = json_field(parse_json_output(text, "ceph df", dict), "stats", dict)
    return Usage(json_field(stats, "total_bytes", int), json_field(stats, "total_used_raw_bytes", int))


def find_fullness(health: Health) -> tuple[HealthCheck, ...]:
    """The health checks of ``health`` that say the cluster is near full or full; muted ones do not count."""
    return tuple(item for item in health.checks if item.code in FULLNESS_CODES and not item.muted)


def describe_fullness(cluster: str, checks: Sequence[HealthCheck], usage: Usage | None) -> str:
    """One line for ``lab status``: ``cluster dcn1 is near full (OSD_NEARFULL: 1 nearfull osd(s)); 8.7 of
    10.0 GiB used``."""
    state = "full" if any(item.code in _FULL_CODES for item in checks) else "near full"
    found = "; ".join(f"{item.code}: {item.summary}" for item in checks)
    line = f"cluster {cluster} is {state} ({found})"
    if usage is None:
        return line
    return f"{line}; {describe_size(usage.used_bytes)} of {describe_size(usage.total_bytes)} used"


def find_disk_shortfall(free_bytes: int, count: int, osd_bytes: int) -> str | None:
    """Why ``count`` backing files of ``osd_bytes`` cannot all grow to full size in ``free_bytes``; None if they can."""
    needed = count * osd_bytes
    if needed <= free_bytes:
        return None
    size, total, free = describe_size(osd_bytes), describe_size(needed), describe_size(free_bytes)
    return f"{count} OSD files of {size} may grow to {total}, but only {free} is free"


# --- disk -----------------------------------------------------------------------------------------


def check_osd_size(osd_bytes: int) -> None:
    """Refuse an OSD size below :data:`MIN_OSD_BYTES` (BadInputError, exit 4)."""
    if osd_bytes < MIN_OSD_BYTES:
        size, least = osd_bytes / GIB, MIN_OSD_BYTES / GIB
        raise BadInputError(f"lab up: --osd-gib: an OSD of {size:g} GiB is below the {least:g} GiB minimum")


def backing_files(lab_dir: Path) -> tuple[BackingFile, ...]:
    """The OSD backing files of every cluster of the lab, as they are on disk now."""
    out = []
    for path in sorted((lab_dir / "ceph").glob(f"*/osd/*{ceph.OSD_BLOCK_SUFFIX}")):
        stat = path.stat()
        out.append(BackingFile(path, stat.st_size, stat.st_blocks * 512))
    return tuple(out)


def check_disk_space(lab_dir: Path, count: int, osd_bytes: int) -> None:
    """Refuse (BadInputError, exit 4) when ``count`` OSD files of ``osd_bytes`` could not all grow to their
    size on ``lab_dir``'s file system; the files of an earlier lab there count as free, ``lab up`` removes them.
    """
    check_osd_size(osd_bytes)
    existing = lab_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    reclaimed = sum(f.allocated_bytes for f in backing_files(lab_dir)) if lab_dir.is_dir() else 0
    shortfall = find_disk_shortfall(shutil.disk_usage(existing).free + reclaimed, count, osd_bytes)
    if shortfall is not None:
        raise BadInputError(f"lab up: {existing}: {shortfall}; pass a smaller --osd-gib or another --lab-dir")


# --- running clusters -----------------------------------------------------------------------------


def get_fullness(cluster: ceph.Cluster) -> str | None:
    """The ``lab status`` line of a cluster that is near full or full, None for one that is not.

    Judged by the cluster's health checks, so it says what Ceph says (with its own ratios); ``ceph df``
    adds how much is used. A cluster that does not answer gets a line saying so.
    """
    try:
        health = parse_health(
            check(ceph.ceph_admin(cluster, ["health", "-f", "json"], timeout_s=STATUS_TIMEOUT_S), "ceph health").stdout
        )
        checks = find_fullness(health)
        if not checks:
            return None
        df = ceph.ceph_admin(cluster, ["df", "-f", "json"], timeout_s=STATUS_TIMEOUT_S)
        return describe_fullness(cluster.name, checks, parse_df(df.stdout) if df.ok else None)
    except DcnChecksError as err:
        return f"cluster {cluster.name}: cannot tell how full it is ({err})"


def find_full_clusters(lab_dir: Path) -> list[str]:
    """One line per running cluster of the lab that is near full or full (or does not answer), in name order."""
    clusters = ceph.find_running_clusters(lab_dir)
    with ThreadPoolExecutor(max_workers=max(1, len(clusters))) as pool:
        lines = list(pool.map(get_fullness, clusters))
    return [line for line in lines if line is not None]
