"""Real Ceph clusters for the lab: one per site, each one mon, one mgr and one OSD on 127.0.0.1.

The checks judge what a DCN deployment really does with its clusters (fsids in image locations,
cephx users per site, COW clones across pools, health), so the lab runs real Ceph 16.2 daemons
rather than a fake. The OSD is BlueStore on a sparse file, so what the workflows write lands on
disk, not in RAM (``capacity``). The mgr is there because every real cluster has one: without it
health never reports placement-group problems and ``ceph df`` / ``ceph osd pool stats`` hang. A
cluster costs about 250 MiB (the mgr 160 of it) and 5-7 s to start; several start in parallel.

Every daemon runs in the foreground (``-f``) as our child, so the PID in the state file is the
daemon itself (no pid files, no re-parenting to init). Every CLI call names its cluster, conf and
keyring explicitly and never falls back to ``/etc/ceph``.

Layout of one cluster: ``<lab>/ceph/<cluster>/{<cluster>.conf, <cluster>.client.admin.keyring,
keys/, mon/, mgr/, osd/ (with ``<cluster>-0.block``), run/, log/, crash/}``.
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
from typing import Literal

from dcn_checks.cephconf import parse_ceph_conf
from dcn_checks.cluster import parse_health
from dcn_checks.errors import LabError
from dcn_checks.lab import nodes, ports, processes
from dcn_checks.lab.nodes import CommandResult, check

log = logging.getLogger(__name__)

DEFAULT_POOLS = ("images", "vms", "volumes")
GIB = 1 << 30
MIB = 1 << 20
#: The size each OSD's sparse backing file may grow to. The document's workflow writes at most about
#: 2 GiB per cluster a round (1 GiB-disk snapshots copied thick), so 10 GiB (near full at 85 %)
#: holds it four times, and a six-site lab's files (60 GiB) still fit a machine with 79 GiB free.
DEFAULT_OSD_BYTES = 10 * GIB
#: ``<lab>/ceph/<cluster>/osd/<cluster>-<id>.block``: beside the OSD's data directory, not in it.
OSD_BLOCK_SUFFIX = ".block"
OSD_CACHE_BYTES = 32 * MIB
OSD_WRITE_BUFFER_BYTES = 16 * MIB
OSD_MEMORY_TARGET_BYTES = 896 * MIB
#: Modules of /usr/share/ceph/mgr that Pacific does not keep always on. The mgr imports every
#: module it finds, enabled or not, unless ``mgr disabled modules`` names it.
MGR_OPTIONAL_MODULES = (
    "alerts", "diskprediction_local", "influx", "insights", "iostat", "localpool", "mirroring", "nfs",
    "osd_perf_query", "osd_support", "prometheus", "restful", "selftest", "snap_schedule", "stats",
    "telegraf", "test_orchestrator", "zabbix",
)  # fmt: skip
#: An OSD binds 8 sockets (v1+v2 for public, cluster, heartbeat front and back); leave slack so
#: a port taken by someone else in the range is simply skipped.
OSD_PORT_RANGE_SIZE = 24
Daemon = Literal["mon", "osd", "mgr"]
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
    osd_bytes: int = DEFAULT_OSD_BYTES  # apparent size of the OSD's sparse backing file


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
    mgr_pid: int = 0  # 0 where only the files matter (an admin handle built from a lab directory)


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

    Tuned for a one-OSD lab: size-1 pools without the no-redundancy warning (and allowed back to
    size 1 after a test raised it), a 0.1 s paxos interval (the 1 s default makes every pool/auth
    change cost a second), PGs "stuck" after 10 s rather than 60 (so a pool whose size exceeds the
    OSDs shows as PG_DEGRADED within a test's wait); the mon's few MiB share the machine's disk with
    everything else, so its low-space warning (MON_DISK_LOW at 30 % free by default) is moved to 1 %.

    The OSD is BlueStore on a sparse file outside its data directory (``bluestore block path``
    inside it makes ``block`` a symlink to itself), so thick copies fill disk, not RAM. Its memory
    is capped by a fixed 32 MiB cache (autotuning would grow towards ``osd memory target``, 4 GiB
    by default and 896 MiB at the least Ceph accepts), 16 MiB RocksDB write buffers (256 MiB by
    default) and short PG logs; ``osd fast shutdown = false`` unmounts cleanly on TERM. The mgr
    loads only the modules Ceph keeps always on (see :data:`MGR_OPTIONAL_MODULES`), and no module
    is turned on at mkfs (Ceph's default turns on restful, iostat and nfs).
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
mon allow pool size one = true
mon pg stuck threshold = 10
mon data avail warn = 1
paxos propose interval = 0.1
run dir = {d}/run
admin socket = {d}/run/$cluster-$name.asok
pid file = {d}/run/$cluster-$name.pid
log file = {d}/log/$cluster-$name.log
crash dir = {d}/crash

[mon]
mon data = {d}/mon/$cluster-$id
mgr initial modules =

[mgr]
mgr data = {d}/mgr/$cluster-$id
mgr disabled modules = {" ".join(MGR_OPTIONAL_MODULES)}

[osd]
osd data = {d}/osd/$cluster-$id
osd objectstore = bluestore
bluestore block path = {d}/osd/$cluster-$id{OSD_BLOCK_SUFFIX}
bluestore block create = true
bluestore block size = {spec.osd_bytes}
bluestore cache autotune = false
bluestore cache size = {OSD_CACHE_BYTES}
bluestore rocksdb options annex = write_buffer_size={OSD_WRITE_BUFFER_BYTES},max_write_buffer_number=2
osd memory target = {OSD_MEMORY_TARGET_BYTES}
osd memory cache min = {OSD_CACHE_BYTES}
osd min pg log entries = 100
osd max pg log entries = 500
osd pg log dups tracked = 500
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

    Use a timeout for everything: while no mgr is active, the commands the mon hands to it (``pg
    stat``, ``df``, ``osd pool stats``) block for ever.
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


def process_name(daemon: Daemon, name: str) -> str:
    """The name of cluster ``name``'s daemon in the lab's state file, e.g. ``ceph-mgr.dcn0``."""
    return f"ceph-{daemon}.{name}"


def mon_process_name(name: str) -> str:
    return process_name("mon", name)


def osd_process_name(name: str) -> str:
    return process_name("osd", name)


def mgr_process_name(name: str) -> str:
    return process_name("mgr", name)


def process_names(name: str) -> list[str]:
    """The daemons of one cluster, as recorded in the lab's state file."""
    return [mgr_process_name(name), osd_process_name(name), mon_process_name(name)]


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
    argv = ["ceph-authtool", "--create-keyring", str(path), "-n", key.entity, "--add-key", key.secret]
    _cmd([*argv, *caps_args(key.caps)], f"{name}: keyring for {key.entity}")
    path.chmod(0o600)
    _cmd(
        [*_admin_prefix("ceph", name, conf, admin_keyring), "auth", "import", "-i", str(path)],
        f"{name}: auth import {key.entity}",
    )


def start_cluster(lab_dir: Path, spec: ClusterSpec, cluster_ports: ClusterPorts | None = None) -> Cluster:
    """Create and start one cluster from scratch; returns when every pool answers ``rbd ls`` and health,
    with the mgr's PG stats, is HEALTH_OK.

    Any previous data of a cluster of this name in the lab is removed first. On failure the daemons
    already started stay recorded in the state file; ``processes.stop_all`` ends them.
    """
    validate_spec(spec)
    started = time.monotonic()
    cp = cluster_ports or allocate_cluster_ports(1)[0]
    name = spec.name
    # Absolute: BlueStore links ``block`` to the configured path, which must not depend on the cwd.
    d = cluster_dir(lab_dir, name).absolute()
    processes.stop_all(lab_dir, process_names(name))
    if d.exists():
        shutil.rmtree(d)
    for sub in ("run", "log", "crash", "mon", "osd", "mgr", "keys"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    conf = d / f"{name}.conf"
    conf.write_text(render_cluster_conf(spec, d, cp))
    admin_keyring = d / f"{name}.client.admin.keyring"
    mon_keyring = d / "mon.keyring"
    _cmd(
        ["ceph-authtool", "--create-keyring", str(mon_keyring), "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"],
        f"{name}: mon keyring",
    )
    admin_caps = caps_args(dict.fromkeys(("mon", "osd", "mds", "mgr"), "allow *"))
    _cmd(
        ["ceph-authtool", "--create-keyring", str(admin_keyring), "--gen-key", "-n", "client.admin", *admin_caps],
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
    mon = _start_daemon(lab_dir, d, name, "mon", "a", processes.PHASE_BACKEND)
    admin = _admin_prefix("ceph", name, conf, admin_keyring)
    processes.wait_for_process(
        mon,
        lambda: nodes.run([*admin, "mon", "stat"], timeout_s=5),
        lambda r: r.ok,
        timeout_s=30,
        description=f"{name}: mon answering",
    )
    mgr = _start_mgr(lab_dir, d, name, admin)  # its Python modules load while the OSD is made
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
    osd = _start_daemon(lab_dir, d, name, "osd", osd_id, processes.PHASE_OSD)
    # While the OSD and the mgr boot: users and pools. None of these needs either up.
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
        mgr_pid=mgr.pid,
    )
    for pool_name in spec.pools:
        processes.wait_for_process(
            osd,
            functools.partial(rbd_admin, cluster, ["-p", pool_name, "ls"], timeout_s=5),
            lambda r: r.ok,
            timeout_s=60,
            description=f"{name}: pool {pool_name} serving I/O",
        )
    # Until the mgr has the OSD's PG stats, health reports the PGs as unknown (PG_AVAILABILITY).
    processes.wait_for_process(
        mgr,
        functools.partial(ceph_admin, cluster, ["health", "-f", "json"], timeout_s=5),
        lambda r: r.ok and parse_health(r.stdout).status == "HEALTH_OK",
        timeout_s=60,
        description=f"{name}: HEALTH_OK with the mgr's PG stats",
    )
    log.info("cluster %s (fsid %s) up in %.1fs", name, spec.fsid, time.monotonic() - started)
    return cluster


def _start_mgr(lab_dir: Path, d: Path, name: str, admin: list[str]) -> processes.ProcessRecord:
    """Start mgr ``a`` with the key ``ceph auth get-or-create`` gives it (the caps of Ceph's manual deployment)."""
    mgr_dir = d / "mgr" / f"{name}-a"
    mgr_dir.mkdir(parents=True, exist_ok=True)
    caps = ["mon", "allow profile mgr", "osd", "allow *", "mds", "allow *"]
    _cmd([*admin, "auth", "get-or-create", "mgr.a", *caps, "-o", str(mgr_dir / "keyring")], f"{name}: mgr key")
    return _start_daemon(lab_dir, d, name, "mgr", "a", processes.PHASE_OSD)


def _start_daemon(
    lab_dir: Path, d: Path, name: str, daemon: Daemon, daemon_id: str, stop_phase: int
) -> processes.ProcessRecord:
    """Start ``ceph-<daemon> -i <id>`` of cluster ``name`` in the foreground, recorded as ``ceph-<daemon>.<name>``.

    The mgr and the OSD stop in one phase, before the mon: an OSD whose mon is gone waits 5 s.
    """
    return processes.start(
        lab_dir,
        process_name(daemon, name),
        [f"ceph-{daemon}", "--cluster", name, "-c", str(d / f"{name}.conf"), "-i", daemon_id, "-f"],
        log_path=d / "log" / f"{daemon}.{daemon_id}.out",
        stop_phase=stop_phase,
        grace_s=10,
    )


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


def find_running_clusters(lab_dir: Path) -> tuple[Cluster, ...]:
    """The lab's clusters whose mon runs, read back from the state file and each cluster's conf, by name.

    For commands that come after ``lab up`` (``lab status``): the PIDs are those recorded, 0 for a
    daemon that has no record.
    """
    records = {record.name: record for record in processes.load_records(lab_dir)}
    clusters = []
    for record in records.values():
        name = record.name.removeprefix(mon_process_name(""))
        if record.name != mon_process_name(name) or "." in name or not processes.is_running(record):
            continue  # not a first mon (a fault's extra mon is ``ceph-mon.<cluster>.b``), or not running
        d = cluster_dir(lab_dir, name).absolute()
        conf_path = d / f"{name}.conf"
        conf = parse_ceph_conf(conf_path.read_text(), str(conf_path))
        clusters.append(
            Cluster(
                name=name,
                fsid=conf.fsid or "",
                dir=d,
                conf_path=conf_path,
                admin_keyring_path=d / f"{name}.client.admin.keyring",
                mon_host=conf.mon_host or "",
                mon_pid=record.pid,
                osd_pid=getattr(records.get(osd_process_name(name)), "pid", 0),
                mgr_pid=getattr(records.get(mgr_process_name(name)), "pid", 0),
            )
        )
    return tuple(sorted(clusters, key=lambda cluster: cluster.name))


def stop_cluster(lab_dir: Path, name: str) -> None:
    """Stop the mgr and the OSD, then the mon, of one cluster (TERM); the data stays on disk."""
    processes.stop_all(lab_dir, process_names(name))
