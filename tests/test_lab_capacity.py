"""The lab's capacity decisions (pure parts): OSD sizes, disk needed, and what makes a cluster near full.

Captures from a lab cluster of Ceph 16.2.15 with a mgr: ``df.json`` just after ``lab up``,
``health-nearfull-undersized.json`` with the nearfull ratio lowered and a pool of size 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dcn_checks import cli
from dcn_checks.cluster import Health, HealthCheck, parse_health
from dcn_checks.errors import BadInputError, ParseError
from dcn_checks.lab import capacity, ceph

DATA = Path(__file__).parent / "data" / "ceph"
GIB = capacity.GIB
NEARFULL = HealthCheck("OSD_NEARFULL", "HEALTH_WARN", "1 nearfull osd(s)")
POOL_NEARFULL = HealthCheck("POOL_NEARFULL", "HEALTH_WARN", "4 pool(s) nearfull")
OSD_FULL = HealthCheck("OSD_FULL", "HEALTH_ERR", "1 full osd(s)")


def test_parse_df_reads_raw_totals_of_a_fresh_lab_cluster() -> None:
    assert capacity.parse_df((DATA / "df.json").read_text()) == capacity.Usage(10 * GIB, 27557888)


@pytest.mark.parametrize(
    "text", ['{"pools": []}', '{"stats": {"total_bytes": "10G", "total_used_raw_bytes": 0}}', "HEALTH_OK"],
    ids=["no-stats", "size-as-text", "not-json"],
)  # fmt: skip
def test_parse_df_refuses_what_is_not_ceph_df_json(text: str) -> None:
    with pytest.raises(ParseError):
        capacity.parse_df(text)


def test_find_fullness_keeps_only_fullness_checks() -> None:
    health = parse_health((DATA / "health-nearfull-undersized.json").read_text())
    assert capacity.find_fullness(health) == (NEARFULL, POOL_NEARFULL)


def test_find_fullness_leaves_out_muted_checks() -> None:
    muted = HealthCheck("OSD_NEARFULL", "HEALTH_WARN", "1 nearfull osd(s)", muted=True)
    assert capacity.find_fullness(Health("HEALTH_OK", (muted,), ("OSD_NEARFULL",))) == ()


@pytest.mark.parametrize(
    ("checks", "usage", "expected"),
    [
        pytest.param((NEARFULL, POOL_NEARFULL), capacity.Usage(10 * GIB, 9 * GIB - 300 * ceph.MIB),
                     "cluster dcn1 is near full (OSD_NEARFULL: 1 nearfull osd(s); POOL_NEARFULL: 4 pool(s) nearfull); "
                     "8.7 GiB of 10.0 GiB used", id="near-full"),
        pytest.param((OSD_FULL,), capacity.Usage(10 * GIB, 27557888),
                     "cluster dcn1 is full (OSD_FULL: 1 full osd(s)); 26 MiB of 10.0 GiB used", id="full"),
        pytest.param((NEARFULL,), None, "cluster dcn1 is near full (OSD_NEARFULL: 1 nearfull osd(s))", id="no-df"),
    ],
)  # fmt: skip
def test_describe_fullness_is_one_line_naming_cluster_checks_and_usage(
    checks: tuple[HealthCheck, ...], usage: capacity.Usage | None, expected: str
) -> None:
    assert capacity.describe_fullness("dcn1", checks, usage) == expected


@pytest.mark.parametrize(
    ("free", "count", "size", "expected"),
    [
        (30 * GIB, 3, 10 * GIB, None),
        (29 * GIB, 3, 10 * GIB, "3 OSD files of 10.0 GiB may grow to 30.0 GiB, but only 29.0 GiB is free"),
        (512 * ceph.MIB, 1, 2 * GIB, "1 OSD files of 2.0 GiB may grow to 2.0 GiB, but only 512 MiB is free"),
    ],
    ids=["fits-exactly", "one-gib-short", "little-free"],
)
def test_find_disk_shortfall_compares_every_file_at_full_size(
    free: int, count: int, size: int, expected: str | None
) -> None:
    assert capacity.find_disk_shortfall(free, count, size) == expected


@pytest.mark.parametrize("size", [0, GIB, 2 * GIB - 1], ids=["zero", "one-gib", "just-below-minimum"])
def test_check_osd_size_refuses_sizes_below_the_minimum(size: int) -> None:
    with pytest.raises(BadInputError, match=r"^lab up: --osd-gib: an OSD of .* GiB is below the 2 GiB minimum$"):
        capacity.check_osd_size(size)


def test_backing_files_tell_apparent_from_allocated_size(tmp_path: Path) -> None:
    path = tmp_path / "ceph" / "dcn0" / "osd" / f"dcn0-0{ceph.OSD_BLOCK_SUFFIX}"
    path.parent.mkdir(parents=True)
    with path.open("wb") as sparse:
        sparse.truncate(GIB)
        sparse.write(b"x" * 65536)
    (found,) = capacity.backing_files(tmp_path)
    assert (found.path, found.apparent_bytes) == (path, GIB)
    assert 65536 <= found.allocated_bytes < ceph.MIB


def test_check_disk_space_judges_a_new_lab_dir_on_its_nearest_existing_parent(tmp_path: Path) -> None:
    capacity.check_disk_space(tmp_path / "new" / "lab", 1, capacity.MIN_OSD_BYTES)
    with pytest.raises(BadInputError, match=rf"^lab up: {tmp_path}: 3 OSD files of .* pass a smaller --osd-gib"):
        capacity.check_disk_space(tmp_path / "new" / "lab", 3, 1 << 60)
    assert not (tmp_path / "new").exists()


def test_cli_default_osd_size_is_the_labs() -> None:
    """The CLI keeps its own copy so that building its parser does not import the lab."""
    assert cli.DEFAULT_OSD_GIB * GIB == ceph.DEFAULT_OSD_BYTES == ceph.ClusterSpec("x", "f").osd_bytes


def test_render_cluster_conf_backs_the_osd_with_a_sparse_file_beside_its_data_dir() -> None:
    spec = ceph.ClusterSpec("dcn0", "6f1b2c3d-0000-4000-8000-000000000001", osd_bytes=4 * GIB)
    cp = ceph.ClusterPorts(mon_v2=21000, mon_v1=21001, osd_range=range(22000, 22024))
    text = ceph.render_cluster_conf(spec, Path("/lab/ceph/dcn0"), cp)
    assert "osd objectstore = bluestore\n" in text
    assert "osd data = /lab/ceph/dcn0/osd/$cluster-$id\n" in text
    assert f"bluestore block path = /lab/ceph/dcn0/osd/$cluster-$id{ceph.OSD_BLOCK_SUFFIX}\n" in text
    assert f"bluestore block size = {4 * GIB}\n" in text
    assert "bluestore cache autotune = false\n" in text
    assert "memstore" not in text and "mgr mkfs grace" not in text
    assert "mgr disabled modules = alerts diskprediction_local " in text
