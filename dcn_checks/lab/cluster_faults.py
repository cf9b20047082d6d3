"""Faults of a running Ceph cluster: what an operator's ``ceph`` commands leave behind.

Each ``cluster`` fault of ``faults.FAULTS`` is applied as client.admin right after the site's cluster
is up, before any OpenStack service connects, the way the same command would change a production
cluster: caps rewritten with ``ceph auth caps``, an OSD created and never started, a flag left set
after maintenance, a pool's application disabled, monitors added outside the deployment.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path

from dcn_checks.errors import LabError
from dcn_checks.lab import ports, processes
from dcn_checks.lab.ceph import Cluster, ceph_admin
from dcn_checks.lab.faults import Fault
from dcn_checks.lab.nodes import check, run

log = logging.getLogger(__name__)

#: What ``openstack-caps-wrong`` leaves: the documented caps without the images pool.
OPENSTACK_CAPS_WITHOUT_IMAGES = ("mgr", "allow *", "mon", "profile rbd", "osd",
                                 "profile rbd pool=vms, profile rbd pool=volumes")  # fmt: skip
QUORUM_TIMEOUT_S = 30.0


def apply_cluster_faults(lab_dir: Path, faults: tuple[Fault, ...], clusters: Mapping[str, Cluster]) -> None:
    """Apply every ``cluster`` fault to the cluster of its site (``clusters`` maps site name to cluster)."""
    for fault in faults:
        if fault.stage != "cluster":
            continue
        cluster = clusters.get(fault.site)
        if cluster is None:
            raise LabError(f"fault {fault.name} breaks site {fault.site}, which has no cluster in this lab")
        _apply(lab_dir, fault, cluster)
        log.info("fault %s applied to cluster %s", fault.name, cluster.name)


def _admin(cluster: Cluster, *args: str) -> str:
    return check(ceph_admin(cluster, list(args)), f"{cluster.name}: ceph {' '.join(args)}").stdout


def _apply(lab_dir: Path, fault: Fault, cluster: Cluster) -> None:
    if fault.name == "openstack-caps-wrong":
        _admin(cluster, "auth", "caps", "client.openstack", *OPENSTACK_CAPS_WITHOUT_IMAGES)
    elif fault.name == "osd-down":
        # `ceph osd new` as a deployment that died before starting the daemon leaves it: down, in.
        _admin(cluster, "osd", "new", str(uuid.uuid4()))
    elif fault.name == "noout-left-set":
        _admin(cluster, "osd", "set", "noout")
    elif fault.name == "pool-without-rbd-app":
        _admin(cluster, "osd", "pool", "application", "disable", "vms", "rbd", "--yes-i-really-mean-it")
    elif fault.name == "mon-down":
        _add_mons(lab_dir, cluster)
    else:
        raise LabError(f"the lab cannot apply cluster fault {fault.name}")


def _mon_addrv(v2: int, v1: int) -> str:
    return f"[v2:127.0.0.1:{v2},v1:127.0.0.1:{v1}]"


def _add_mons(lab_dir: Path, cluster: Cluster) -> None:
    """Add mon ``b``, started by hand as Ceph's "adding a monitor (manual)" does, then mon ``c`` to the
    monmap only, as a host that never came up leaves it: three mons, quorum a,b, one down."""
    b_v2, b_v1, c_port = ports.allocate_ports(3)
    work = cluster.dir / "mon-b"
    work.mkdir(exist_ok=True)
    _admin(cluster, "mon", "getmap", "-o", str(work / "monmap"))
    _admin(cluster, "auth", "get", "mon.", "-o", str(work / "keyring"))
    base = ["--cluster", cluster.name, "-c", str(cluster.conf_path), "-i", "b"]
    mkfs = ["ceph-mon", *base, "--mkfs", "--monmap", str(work / "monmap"), "--keyring", str(work / "keyring")]
    check(run(mkfs, timeout_s=30), f"{cluster.name}: mon b mkfs")
    record = processes.start(
        lab_dir,
        f"ceph-mon.{cluster.name}.b",
        ["ceph-mon", *base, "-f", "--public-addrv", _mon_addrv(b_v2, b_v1)],
        log_path=cluster.dir / "log" / "mon.b.out",
        stop_phase=processes.PHASE_BACKEND,
        grace_s=10,
    )
    processes.wait_for_process(
        record,
        lambda: ceph_admin(cluster, ["mon", "dump", "-f", "json"], timeout_s=5),
        lambda result: result.ok and len(json.loads(result.stdout).get("quorum", [])) == 2,
        timeout_s=QUORUM_TIMEOUT_S,
        description=f"{cluster.name}: mon b in quorum",
    )
    # Ceph keeps MON_DOWN quiet for mon_down_mkfs_grace (60 s) after the cluster's creation; the lab's
    # cluster is seconds old, so without this the warning would depend on how soon the checks run.
    _admin(cluster, "config", "set", "mon", "mon_down_mkfs_grace", "0")
    # `mon add` takes one address (no vector); the monmap then says where c should be.
    _admin(cluster, "mon", "add", "c", f"127.0.0.1:{c_port}")
