"""Real Ceph clusters of the lab: started in parallel, keys imported with given secrets, pools served,
a mgr per cluster with only the always-on modules, each OSD BlueStore on a sparse file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from lab_support import list_images_on_node

from dcn_checks.errors import LabError
from dcn_checks.lab import capacity, ceph, nodes, processes

SITES = ("central", "dcn0", "dcn1")  # as in conftest.py

pytestmark = pytest.mark.lab


def test_render_cluster_conf_binds_to_loopback_with_allocated_ports() -> None:
    spec = ceph.ClusterSpec("dcn0", "6f1b2c3d-0000-4000-8000-000000000001")
    cp = ceph.ClusterPorts(mon_v2=21000, mon_v1=21001, osd_range=range(22000, 22024))
    text = ceph.render_cluster_conf(spec, Path("/lab/ceph/dcn0"), cp)
    assert "mon host = [v2:127.0.0.1:21000,v1:127.0.0.1:21001]" in text
    assert "ms bind port min = 22000\nms bind port max = 22023" in text
    assert "public addr = 127.0.0.1" in text
    assert "osd fast shutdown = false" in text


@pytest.mark.parametrize(
    ("name", "fsid"),
    [("DCN0", str(uuid.uuid4())), ("dcn 0", str(uuid.uuid4())), ("dcn0", "not-a-uuid")],
    ids=["uppercase", "space", "bad-fsid"],
)
def test_validate_spec_rejects_unusable_names(name: str, fsid: str) -> None:
    with pytest.raises(LabError):
        ceph.validate_spec(ceph.ClusterSpec(name, fsid))


def test_clusters_run_with_own_fsid_and_distinct_mon_ports(clusters: dict[str, ceph.Cluster]) -> None:
    assert sorted(clusters) == sorted(SITES)
    assert len({c.fsid for c in clusters.values()}) == len(SITES)
    assert len({c.mon_host for c in clusters.values()}) == len(SITES)
    for cluster in clusters.values():
        status = json.loads(ceph.ceph_admin(cluster, ["status", "-f", "json"], timeout_s=20).stdout)
        assert status["fsid"] == cluster.fsid
        assert status["health"]["status"] == "HEALTH_OK"
        assert status["osdmap"]["num_up_osds"] == 1


def test_daemon_pids_are_the_daemons_themselves(lab_dir: Path, clusters: dict[str, ceph.Cluster]) -> None:
    for cluster in clusters.values():
        for daemon, pid in (("mon", cluster.mon_pid), ("osd", cluster.osd_pid), ("mgr", cluster.mgr_pid)):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert argv[:3] == [f"ceph-{daemon}".encode(), b"--cluster", cluster.name.encode()]
    names = {r.name for r in processes.load_records(lab_dir)}
    assert {name for site in SITES for name in ceph.process_names(site)} <= names


def test_running_clusters_are_found_again_from_the_lab_dir(lab_dir: Path, clusters: dict[str, ceph.Cluster]) -> None:
    """What ``lab status`` works from: the state file and each cluster's conf, not the starter's memory."""
    found = {cluster.name: cluster for cluster in ceph.find_running_clusters(lab_dir)}
    assert found == clusters


def test_mgr_runs_only_the_always_on_modules(clusters: dict[str, ceph.Cluster]) -> None:
    """Every optional module is neither enabled nor even loaded (``mgr disabled modules``), which keeps the mgr
    at about 160 MiB instead of 300."""
    for cluster in clusters.values():
        modules = json.loads(nodes.check(ceph.ceph_admin(cluster, ["mgr", "module", "ls", "-f", "json"]), "ls").stdout)
        assert modules["enabled_modules"] == [] and modules["disabled_modules"] == [], cluster.name
        assert not set(modules["always_on_modules"]) & set(ceph.MGR_OPTIONAL_MODULES)
        assert "pg_autoscaler" in modules["always_on_modules"]


def test_df_and_pool_stats_answer_through_the_mgr(clusters: dict[str, ceph.Cluster]) -> None:
    """Without a mgr both hang for ever; with one they answer, and ``ceph df`` sees the OSD's whole backing file."""
    for cluster in clusters.values():
        df = ceph.ceph_admin(cluster, ["df", "-f", "json"], timeout_s=20)
        assert df.ok, df.stderr
        usage = capacity.parse_df(df.stdout)
        assert usage.total_bytes == ceph.DEFAULT_OSD_BYTES and 0 < usage.used_bytes < ceph.GIB
        stats = ceph.ceph_admin(cluster, ["osd", "pool", "stats", "-f", "json"], timeout_s=20)
        assert stats.ok, stats.stderr
        assert set(ceph.DEFAULT_POOLS) <= {pool["pool_name"] for pool in json.loads(stats.stdout)}


def test_osd_is_bluestore_on_a_sparse_file_under_the_lab_dir(lab_dir: Path, clusters: dict[str, ceph.Cluster]) -> None:
    files = {f.path.name: f for f in capacity.backing_files(lab_dir)}
    for cluster in clusters.values():
        metadata = json.loads(nodes.check(ceph.ceph_admin(cluster, ["osd", "metadata", "0", "-f", "json"]), "").stdout)
        assert metadata["osd_objectstore"] == "bluestore"
        backing = files[f"{cluster.name}-0{ceph.OSD_BLOCK_SUFFIX}"]
        assert backing.path.parent == cluster.dir / "osd"
        assert backing.apparent_bytes == ceph.DEFAULT_OSD_BYTES
        assert backing.allocated_bytes < ceph.GIB, f"{backing.path} is not sparse"


def test_key_is_imported_with_given_secret_and_caps(clusters: dict[str, ceph.Cluster], openstack_secret: str) -> None:
    for cluster in clusters.values():
        result = ceph.ceph_admin(cluster, ["auth", "get", "client.openstack", "-f", "json"])
        (entry,) = json.loads(result.stdout)
        assert entry["key"] == openstack_secret, f"{cluster.name}: key differs from the given secret"
        assert entry["caps"]["mon"] == "profile rbd"
        assert "profile rbd pool=images" in entry["caps"]["osd"]


@pytest.mark.parametrize("site", SITES)
def test_node_lists_pool_with_imported_key(site: str, controller_node: Path, clusters: dict[str, ceph.Cluster]) -> None:
    """The same command a node would run, with /etc/ceph of the node bind-mounted in its namespace."""
    cluster = clusters[site]
    name = f"dcnchk-{uuid.uuid4().hex[:8]}"
    nodes.check(ceph.rbd_admin(cluster, ["create", "--size", "4M", f"images/{name}"]), "rbd create")
    result = list_images_on_node(controller_node, site)
    assert result.ok, result.stderr
    assert name in {entry["image"] for entry in json.loads(result.stdout)}
    nodes.check(ceph.rbd_admin(cluster, ["rm", "--no-progress", f"images/{name}"]), "rbd rm")


def test_node_key_outside_its_caps_is_refused(controller_node: Path, clusters: dict[str, ceph.Cluster]) -> None:
    nodes.check(ceph.ceph_admin(clusters["dcn1"], ["osd", "pool", "create", "backups", "8"]), "pool create")
    result = nodes.run_on_node(
        ["rbd", "--conf", "/etc/ceph/dcn1.conf", "--id", "openstack", "-p", "backups", "ls"],
        nodes.node_binds(controller_node),
        timeout_s=20,
    )
    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr


def test_host_etc_ceph_is_untouched_by_node_namespaces(controller_node: Path) -> None:
    assert not Path("/etc/ceph/central.conf").exists()
    assert (controller_node / "etc/ceph/central.conf").exists()


def test_admin_command_times_out_instead_of_hanging(clusters: dict[str, ceph.Cluster]) -> None:
    """``ceph -w`` watches the cluster log until it is stopped; the admin helper must return rc 124."""
    result = ceph.ceph_admin(clusters["central"], ["-w"], timeout_s=2)
    assert result.returncode == 124
