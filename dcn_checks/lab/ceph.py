"""Real Ceph clusters for the lab: one per site, each one mon plus one memstore OSD on 127.0.0.1.

The checks judge what a DCN deployment really does with its clusters (fsids in image locations,
cephx users per site, COW clones across pools), so the lab runs real Ceph 16.2 daemons rather than
a fake. A cluster costs about 70 MiB and 2-3 s to start; several start in parallel.

Every daemon runs in the foreground (``-f``) as our child, so the PID in the state file is the
daemon itself (no pid files, no re-parenting to init). Every CLI call names its cluster, conf and
keyring explicitly and never falls back to ``/etc/ceph``.

Layout of one cluster: ``<lab>/ceph/<cluster>/{<cluster>.conf, <cluster>.client.admin.keyring,
keys/, mon/, osd/, run/, log/, crash/}``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dcn_checks.errors import LabError
from dcn_checks.lab import nodes, ports, processes
from dcn_checks.lab.nodes import CommandResult, check

log = logging.getLogger(__name__)

DEFAULT_POOLS = ("images", "vms", "volumes")
#: An OSD binds 8 sockets (v1+v2 for public, cluster, heartbeat front and back); leave slack so
#: a port taken by someone else in the range is simply skipped.
OSD_PORT_RANGE_SIZE = 24
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_ENTITY_RE = re.compile(r"^[a-z]+\.[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class CephKeySpec:
    """A cephx user to create with a GIVEN secret (as TripleO's CephClientKey), e.g. ``client.external``.

    ``caps`` maps a daemon type to its cap string: ``{"mon": "profile rbd", "osd": "profile rbd pool=images"}``.
    """

    entity: str
    secret: str = field(repr=False)
    caps: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """What cluster to build: its name (also the file prefix, ``dcn0.conf``), fsid and users."""

    name: str
    fsid: str
    keys: tuple[CephKeySpec, ...] = ()
    pools: tuple[str, ...] = DEFAULT_POOLS
    pg_num: int = 8


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running cluster and the files an admin client needs."""

    name: str
    fsid: str
    dir: Path
    conf_path: Path
    admin_keyring_path: Path
    mon_host: str  # "[v2:127.0.0.1:P2,v1:127.0.0.1:P1]", as in a client's "mon host ="
    mon_pid: int
    osd_pid: int

    @property
    def pids(self) -> tuple[int, int]:
        return (self.mon_pid, self.osd_pid)


@dataclass(frozen=True, slots=True)
class ClusterPorts:
    mon_v2: int
    mon_v1: int
    osd_range: range


# --- pure -----------------------------------------------------------------------------------------


def validate_spec(spec: ClusterSpec) -> None:
    """Reject names that would break file names or the ceph CLI before we touch the disk."""
    if not _NAME_RE.match(spec.name):
        raise LabError(f"cluster name {spec.name!r} must match {_NAME_RE.pattern}")
    try:
        uuid.UUID(spec.fsid)
    except ValueError as err:
        raise LabError(f"cluster {spec.name}: fsid {spec.fsid!r} is not a UUID") from err
    for key in spec.keys:
        if not _ENTITY_RE.match(key.entity):
            raise LabError(f"cluster {spec.name}: entity {key.entity!r} is not like 'client.name'")


def mon_host(cluster_ports: ClusterPorts) -> str:
    return f"[v2:127.0.0.1:{cluster_ports.mon_v2},v1:127.0.0.1:{cluster_ports.mon_v1}]"


def render_cluster_conf(spec: ClusterSpec, cluster_dir: Path, cluster_ports: ClusterPorts) -> str:
    """The server-side ceph.conf of one lab cluster.

    Tuned for a one-OSD lab: size-1 pools without the no-redundancy warning, a 0.1 s paxos interval
    (the 1 s default makes every pool/auth change cost a second), and ``osd fast shutdown = false``
    because a memstore OSD only saves its data on a clean umount. No mgr runs, so the mgr grace is
    pushed out to keep health at HEALTH_OK; the mon's few MiB share the machine's disk with everything
    else, so its low-space warning (MON_DISK_LOW at 30 % free by default) is moved to 1 %.
    """
    d = cluster_dir
    return f"""\
[global]
fsid = {spec.fsid}
mon host = {mon_host(cluster_ports)}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
ms bind port min = {cluster_ports.osd_range.start}
ms bind port max = {cluster_ports.osd_range.stop - 1}
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
mon allow pool delete = true
mon mgr mkfs grace = 31536000
mon data avail warn = 1
paxos propose interval = 0.1
run dir = {d}/run
admin socket = {d}/run/$cluster-$name.asok
pid file = {d}/run/$cluster-$name.pid
log file = {d}/log/$cluster-$name.log
crash dir = {d}/crash

[mon]
mon data = {d}/mon/$cluster-$id

[osd]
osd data = {d}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd fast shutdown = false
osd op num shards = 2

[client.admin]
keyring = {d}/$cluster.client.admin.keyring
"""


def caps_args(caps: Mapping[str, str]) -> list[str]:
    """``{"mon": "profile rbd"}`` -> ``["--cap", "mon", "profile rbd"]`` for ceph-authtool."""
    out: list[str] = []
    for daemon, cap in caps.items():
        out += ["--cap", daemon, cap]
    return out


# --- admin CLI ------------------------------------------------------------------------------------


def _admin_prefix(tool: str, name: str, conf: Path, keyring: Path) -> list[str]:
    return [tool, "--cluster", name, "--conf", str(conf), "--keyring", str(keyring), "--id", "admin"]


def ceph_admin(
    cluster: Cluster, args: Sequence[str], *, timeout_s: float = 30.0, input_text: str | None = None
) -> CommandResult:
    """Run ``ceph <args>`` as client.admin of ``cluster``; rc 124 on timeout.

    Use a timeout for everything: without a mgr some commands (``pg stat``, ``osd pool stats``)
    block for ever.
    """
    argv = [*_admin_prefix("ceph", cluster.name, cluster.conf_path, cluster.admin_keyring_path), *args]
    return nodes.run(argv, timeout_s=timeout_s, input_text=input_text)


def rbd_admin(cluster: Cluster, args: Sequence[str], *, timeout_s: float = 30.0) -> CommandResult:
    """Run ``rbd <args>`` as client.admin of ``cluster``; rc 124 on timeout."""
    argv = [*_admin_prefix("rbd", cluster.name, cluster.conf_path, cluster.admin_keyring_path), *args]
    return nodes.run(argv, timeout_s=timeout_s)


# --- bring-up -------------------------------------------------------------------------------------


def cluster_dir(lab_dir: Path, name: str) -> Path:
    return lab_dir / "ceph" / name


def mon_process_name(name: str) -> str:
    return f"ceph-mon.{name}"


def osd_process_name(name: str) -> str:
    return f"ceph-osd.{name}"


def _cmd(argv: Sequence[str], what: str, *, input_text: str | None = None, timeout_s: float = 30.0) -> str:
    return check(nodes.run(argv, timeout_s=timeout_s, input_text=input_text), what).stdout


def allocate_cluster_ports(count: int) -> list[ClusterPorts]:
    """Ports for ``count`` clusters at once, so parallel starts never pick the same port."""
    mons = ports.allocate_ports(2 * count)
    used = set(mons)
    out = []
    for i in range(count):
        osd_range = ports.allocate_port_range(OSD_PORT_RANGE_SIZE, exclude=used)
        used.update(osd_range)
        out.append(ClusterPorts(mon_v2=mons[2 * i], mon_v1=mons[2 * i + 1], osd_range=osd_range))
    return out


def _import_key(name: str, conf: Path, admin_keyring: Path, key_dir: Path, key: CephKeySpec) -> None:
    path = key_dir / f"{name}.{key.entity}.keyring"
    _cmd(
        [
            "ceph-authtool",
            "--create-keyring",
            str(path),
            "-n",
            key.entity,
            "--add-key",
            key.secret,
            *caps_args(key.caps),
        ],
        f"{name}: keyring for {key.entity}",
    )
    path.chmod(0o600)
    _cmd(
        [*_admin_prefix("ceph", name, conf, admin_keyring), "auth", "import", "-i", str(path)],
        f"{name}: auth import {key.entity}",
    )


def start_cluster(lab_dir: Path, spec: ClusterSpec, cluster_ports: ClusterPorts | None = None) -> Cluster:
    """Create and start one cluster from scratch; returns when every pool answers ``rbd ls``.

    Any previous data of a cluster of this name in the lab is removed first. On failure the daemons
    already started stay recorded in the state file; ``processes.stop_all`` ends them.
    """
    validate_spec(spec)
    started = time.monotonic()
    cp = cluster_ports or allocate_cluster_ports(1)[0]
    name = spec.name
    d = cluster_dir(lab_dir, name)
    processes.stop_all(lab_dir, [osd_process_name(name), mon_process_name(name)])
    if d.exists():
        shutil.rmtree(d)
    for sub in ("run", "log", "crash", "mon", "osd", "keys"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    conf = d / f"{name}.conf"
    conf.write_text(render_cluster_conf(spec, d, cp))
    admin_keyring = d / f"{name}.client.admin.keyring"
    mon_keyring = d / "mon.keyring"
    _cmd(
        ["ceph-authtool", "--create-keyring", str(mon_keyring), "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"],
        f"{name}: mon keyring",
    )
    _cmd(
        [
            "ceph-authtool",
            "--create-keyring",
            str(admin_keyring),
            "--gen-key",
            "-n",
            "client.admin",
            "--cap",
            "mon",
            "allow *",
            "--cap",
            "osd",
            "allow *",
            "--cap",
            "mds",
            "allow *",
            "--cap",
            "mgr",
            "allow *",
        ],
        f"{name}: admin keyring",
    )
    admin_keyring.chmod(0o600)
    _cmd(["ceph-authtool", str(mon_keyring), "--import-keyring", str(admin_keyring)], f"{name}: mon keyring")
    monmap = d / "monmap"
    _cmd(["monmaptool", "--create", "--fsid", spec.fsid, "--addv", "a", mon_host(cp), str(monmap)], f"{name}: monmap")
    base = ["--cluster", name, "-c", str(conf)]
    _cmd(
        ["ceph-mon", *base, "-i", "a", "--mkfs", "--monmap", str(monmap), "--keyring", str(mon_keyring)],
        f"{name}: mon mkfs",
    )
    mon = processes.start(
        lab_dir,
        mon_process_name(name),
        ["ceph-mon", *base, "-i", "a", "-f"],
        log_path=d / "log" / "mon.a.out",
        stop_phase=processes.PHASE_BACKEND,
        grace_s=10,
    )
    admin = _admin_prefix("ceph", name, conf, admin_keyring)
    processes.wait_for_process(
        mon,
        lambda: nodes.run([*admin, "mon", "stat"], timeout_s=5),
        lambda r: r.ok,
        timeout_s=30,
        description=f"{name}: mon answering",
    )
    osd_uuid = str(uuid.uuid4())
    osd_secret = _cmd(["ceph-authtool", "--gen-print-key"], f"{name}: osd key").strip()
    osd_id = _cmd(
        [*admin, "osd", "new", osd_uuid, "-i", "-"],
        f"{name}: osd new",
        input_text=json.dumps({"cephx_secret": osd_secret}),
    ).strip()
    osd_dir = d / "osd" / f"{name}-{osd_id}"
    osd_dir.mkdir(parents=True, exist_ok=True)
    _cmd(
        ["ceph-authtool", "--create-keyring", str(osd_dir / "keyring"), "-n", f"osd.{osd_id}", "--add-key", osd_secret],
        f"{name}: osd keyring",
    )
    _cmd(["ceph-osd", *base, "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid], f"{name}: osd mkfs")
    osd = processes.start(
        lab_dir,
        osd_process_name(name),
        ["ceph-osd", *base, "-i", osd_id, "-f"],
        log_path=d / "log" / f"osd.{osd_id}.out",
        stop_phase=processes.PHASE_OSD,
        grace_s=10,
    )
    # While the OSD boots: users, pools, health mute. None of these needs the OSD up.
    _cmd([*admin, "health", "mute", "MGR_DOWN", "--sticky"], f"{name}: mute MGR_DOWN")
    for key in spec.keys:
        _import_key(name, conf, admin_keyring, d / "keys", key)
    with ThreadPoolExecutor(max_workers=len(spec.pools) or 1) as pool:
        list(pool.map(lambda p: _create_pool(admin, name, p, spec.pg_num), spec.pools))
    cluster = Cluster(
        name=name,
        fsid=spec.fsid,
        dir=d,
        conf_path=conf,
        admin_keyring_path=admin_keyring,
        mon_host=mon_host(cp),
        mon_pid=mon.pid,
        osd_pid=osd.pid,
    )
    for pool_name in spec.pools:
        processes.wait_for_process(
            osd,
            functools.partial(rbd_admin, cluster, ["-p", pool_name, "ls"], timeout_s=5),
            lambda r: r.ok,
            timeout_s=60,
            description=f"{name}: pool {pool_name} serving I/O",
        )
    log.info("cluster %s (fsid %s) up in %.1fs", name, spec.fsid, time.monotonic() - started)
    return cluster


def _create_pool(admin: list[str], name: str, pool: str, pg_num: int) -> None:
    _cmd([*admin, "osd", "pool", "create", pool, str(pg_num), str(pg_num)], f"{name}: pool create {pool}")
    _cmd([*admin, "osd", "pool", "application", "enable", pool, "rbd"], f"{name}: enable rbd on {pool}")


def start_clusters(lab_dir: Path, specs: Sequence[ClusterSpec]) -> tuple[Cluster, ...]:
    """Start several clusters in parallel (one thread each), in the order given.

    Ports for all of them are chosen before any thread starts, so no two clusters race for one.
    If any cluster fails, the first error is raised after every thread has finished.
    """
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise LabError(f"duplicate cluster names in {names}")
    all_ports = allocate_cluster_ports(len(specs))
    with ThreadPoolExecutor(max_workers=max(1, len(specs))) as pool:
        futures = [pool.submit(start_cluster, lab_dir, s, p) for s, p in zip(specs, all_ports, strict=True)]
        errors = [f.exception() for f in futures]
    for err in errors:
        if err is not None:
            raise err
    return tuple(f.result() for f in futures)


def stop_cluster(lab_dir: Path, name: str) -> None:
    """Stop the OSD, then the mon, of one cluster (TERM: memstore saves its data); data stays on disk."""
    processes.stop_all(lab_dir, [osd_process_name(name), mon_process_name(name)])
