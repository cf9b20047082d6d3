"""What each cluster's mgr lets the lab show, on the healthy lab: health that reports placement-group
problems, and ``lab status`` naming a cluster that is near full.

Each test changes dcn1's cluster as client.admin, as an operator would; its fixture puts the change
back and waits for HEALTH_OK, so the healthy lab the other modules share stays healthy.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from collections.abc import Callable, Iterator

import pytest
from lab_support import REPO, cluster_health, run_suite

from dcn_checks.cluster import Health
from dcn_checks.lab import ceph, nodes, processes
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.model import load_model

pytestmark = pytest.mark.lab

SITE = "dcn1"
#: Ceph calls a PG stuck after ``mon pg stuck threshold`` (10 s in the lab), and the mgr reports
#: health every 5 s; on a loaded machine allow for much more.
HEALTH_TIMEOUT_S = 90.0
#: The size TripleO gives every pool by default (CephPoolDefaultSize), above a one-OSD site's OSDs.
TRIPLEO_POOL_SIZE = "3"


def site_cluster(info: LabInfo, site: str) -> ceph.Cluster:
    name = load_model(info.model_path).site(site).cluster
    (cluster,) = [cluster for cluster in ceph.find_running_clusters(info.lab_dir) if cluster.name == name]
    return cluster


def admin(cluster: ceph.Cluster, *args: str) -> str:
    return nodes.check(ceph.ceph_admin(cluster, list(args)), f"{cluster.name}: ceph {' '.join(args)}").stdout


def wait_for_health(cluster: ceph.Cluster, predicate: Callable[[Health], bool], what: str) -> Health:
    return processes.wait_for(
        lambda: cluster_health(cluster), predicate, timeout_s=HEALTH_TIMEOUT_S, description=f"{cluster.name}: {what}",
        interval_s=1.0,
    )  # fmt: skip


def has_check(code: str) -> Callable[[Health], bool]:
    return lambda state: code in {check.code for check in state.checks}


def restore_health_ok(cluster: ceph.Cluster) -> None:
    wait_for_health(cluster, lambda state: state.status == "HEALTH_OK", "HEALTH_OK again")


@pytest.fixture
def pool_above_the_osds(healthy_lab: LabInfo) -> Iterator[ceph.Cluster]:
    """dcn1's vms pool at TripleO's default size 3 on the site's one OSD, until the test ends."""
    cluster = site_cluster(healthy_lab, SITE)
    admin(cluster, "osd", "pool", "set", "vms", "size", TRIPLEO_POOL_SIZE)
    try:
        yield cluster
    finally:
        admin(cluster, "osd", "pool", "set", "vms", "size", "1", "--yes-i-really-mean-it")
        admin(cluster, "osd", "pool", "set", "vms", "min_size", "1")
        restore_health_ok(cluster)


@pytest.fixture
def nearfull_ratio_lowered(healthy_lab: LabInfo) -> Iterator[ceph.Cluster]:
    """dcn1's nearfull ratio at 0.1 %, below what a fresh OSD already uses, until the test ends."""
    cluster = site_cluster(healthy_lab, SITE)
    ratio = json.loads(admin(cluster, "osd", "dump", "-f", "json"))["nearfull_ratio"]
    admin(cluster, "osd", "set-nearfull-ratio", "0.001")
    try:
        yield cluster
    finally:
        admin(cluster, "osd", "set-nearfull-ratio", str(ratio))
        restore_health_ok(cluster)


def lab_status(info: LabInfo) -> subprocess.CompletedProcess[str]:
    argv = [str(REPO / ".venv" / "bin" / "dcn-checks"), "lab", "status", "--lab-dir", str(info.lab_dir)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_every_cluster_of_the_healthy_lab_is_ok_with_its_mgr(healthy_lab: LabInfo) -> None:
    for cluster in ceph.find_running_clusters(healthy_lab.lab_dir):
        assert cluster_health(cluster) == Health("HEALTH_OK", (), ()), cluster.name
        assert json.loads(admin(cluster, "mgr", "stat", "-f", "json"))["available"] is True


def test_pool_size_above_the_osds_fails_cluster_health_at_that_site_only(
    healthy_lab: LabInfo, pool_above_the_osds: ceph.Cluster
) -> None:
    """Without a mgr this stayed HEALTH_OK: nothing reported the PGs that cannot get their replicas."""
    wait_for_health(pool_above_the_osds, has_check("PG_DEGRADED"), "PG_DEGRADED reported")
    run = run_suite(
        healthy_lab.lab_dir, "-m", "reads", "-p", "no:cacheprovider", "-k", "test_cluster_is_healthy",
        "suites/reads/test_ceph_clusters.py",
    )  # fmt: skip
    assert run.exit_code == 1, run.stderr[-2000:]
    failed = run.failed()
    assert list(failed) == [f"CLUSTER-002[{SITE}]"], failed
    message = failed[f"CLUSTER-002[{SITE}]"]
    assert "\n" not in message
    assert message.startswith(f"{SITE} ({SITE}-hci-0): cluster {pool_above_the_osds.name} is HEALTH_WARN ("), message
    assert "PG_DEGRADED: Degraded data redundancy: 8 pgs undersized" in message, message
    assert "ceph health detail" in message, message
    assert sorted(run.outcomes.values()) == ["failed", "passed", "passed"]


def test_lab_status_names_no_cluster_on_the_healthy_lab(healthy_lab: LabInfo) -> None:
    status = lab_status(healthy_lab)
    assert status.returncode == 0, status.stdout + status.stderr
    assert not [line for line in status.stdout.splitlines() if line.startswith("cluster ")], status.stdout


def test_lab_status_names_the_cluster_that_is_near_full(
    healthy_lab: LabInfo, nearfull_ratio_lowered: ceph.Cluster
) -> None:
    wait_for_health(nearfull_ratio_lowered, has_check("OSD_NEARFULL"), "OSD_NEARFULL reported")
    status = lab_status(healthy_lab)
    assert status.returncode == 0, status.stdout + status.stderr
    lines = [line for line in status.stdout.splitlines() if line.startswith("cluster ")]
    expected = (
        f"cluster {nearfull_ratio_lowered.name} is near full (OSD_NEARFULL: 1 nearfull osd(s); "
        f"POOL_NEARFULL: * pool(s) nearfull); * of {healthy_lab.osd_bytes / 2**30:.1f} GiB used"
    )
    assert len(lines) == 1 and fnmatch.fnmatchcase(lines[0], expected), status.stdout
