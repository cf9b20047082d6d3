"""What a site's cluster says about itself: health, monmap, OSDs and pools, from ``ceph`` output.

The checks compare these with what the clients are told (``cephconf``: ceph.conf, keyrings, caps):
the monmap's fsid and monitors against a client's ceph.conf, the pools against the vms, volumes and
images pools the caps name, and the health before blaming OpenStack for what the cluster did. The
parsers here read ``ceph health``, ``ceph mon dump``, ``ceph osd stat``/``dump`` and ``ceph osd pool
ls detail`` into values, without touching a host.

Formats are those of Ceph 16.2.15 (Pacific), captured in ``tests/data/ceph/``. Only ``ceph health``
is also read as text; the others take ``-f json`` and refuse text clearly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast, get_args

from dcn_checks.cephconf import MonAddr, MonHost, parse_mon_addr
from dcn_checks.errors import ParseError
from dcn_checks.rbd import json_field, parse_json_output

HealthStatus = Literal["HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"]
Severity = Literal["HEALTH_WARN", "HEALTH_ERR"]
PoolType = Literal["replicated", "erasure"]


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One health check; ``code`` is None only when parsed from plain ``ceph health`` text."""

    code: str | None
    severity: Severity
    summary: str
    detail: tuple[str, ...] = ()
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Health:
    """Cluster health. Muted checks still appear in ``checks`` (with ``muted``) and do not count
    towards ``status``; ``mutes`` lists the muted codes."""

    status: HealthStatus
    checks: tuple[HealthCheck, ...]
    mutes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mon:
    """One monitor of the monmap, with the addresses clients reach it on."""

    rank: int
    name: str
    addrs: tuple[MonAddr, ...]


@dataclass(frozen=True, slots=True)
class MonMap:
    """``ceph mon dump``: the cluster's fsid and monitors, to compare with a client's ceph.conf."""

    fsid: str
    epoch: int
    mons: tuple[Mon, ...]
    quorum: tuple[int, ...]

    @property
    def mon_ips(self) -> frozenset[str]:
        """Every host any monitor listens on."""
        return frozenset(addr.host for mon in self.mons for addr in mon.addrs)


@dataclass(frozen=True, slots=True)
class OsdStat:
    """How many OSDs exist, are up and are in."""

    num_osds: int
    num_up_osds: int
    num_in_osds: int


@dataclass(frozen=True, slots=True)
class Pool:
    """One pool; ``applications`` are the names in ``application_metadata`` (``rbd`` for ours)."""

    pool_id: int
    name: str
    type: PoolType
    size: int
    pg_num: int
    applications: frozenset[str]


def parse_health(text: str) -> Health:
    """Parse ``ceph health [detail] -f json`` or the ``health`` of ``ceph -s -f json``, e.g.
    ``{"status":"HEALTH_OK","checks":{},"mutes":[{"code":"MGR_DOWN","sticky":true,...}]}``.
    """
    data = parse_json_output(text, "ceph health", dict)
    health = data.get("health", data)  # `ceph -s` nests it
    if not isinstance(health, dict):
        raise ParseError(f"ceph health: 'health' should be an object, got {health!r}")
    checks = []
    for code, check in json_field(health, "checks", dict).items():
        summary = json_field(check, "summary", dict)
        checks.append(
            HealthCheck(
                code=code,
                severity=cast(Severity, _one_of(json_field(check, "severity", str), Severity, "severity")),
                summary=json_field(summary, "message", str),
                detail=tuple(json_field(d, "message", str) for d in check.get("detail", [])),
                muted=json_field(check, "muted", bool, default=False),
            )
        )
    mutes = tuple(json_field(mute, "code", str) for mute in json_field(health, "mutes", list, default=[]))
    status = _one_of(json_field(health, "status", str), HealthStatus, "ceph health status")
    return Health(cast(HealthStatus, status), tuple(checks), mutes)


def parse_health_text(text: str) -> Health:
    """Parse ``ceph health`` or ``ceph health detail`` text, e.g. ``HEALTH_OK (muted: MGR_DOWN)`` or::

    HEALTH_WARN 1 osds down; (muted: MGR_DOWN OSDMAP_FLAGS(59m))
    [WRN] OSD_DOWN: 1 osds down
        osd.0 (root=default,host=vm) is down

    Without the ``[WRN] CODE:`` lines of ``detail`` the checks carry no code and the overall severity.
    """
    lines = text.strip("\n").splitlines()
    first = lines[0].strip() if lines else ""
    word, _, rest = first.partition(" ")
    status = cast(HealthStatus, _one_of(word, HealthStatus, "ceph health status"))
    summaries, muted_part = rest.partition("(muted: ")[::2]
    # "(muted: MGR_DOWN OSDMAP_FLAGS(59m))": a code may carry its time to live in parentheses.
    mutes = tuple(re.sub(r"\(.*\)$", "", code) for code in muted_part.removesuffix(")").split())
    pattern = r"(?:\((?P<muted>MUTED[^)]*)\)\s+)?\[(?P<sev>WRN|ERR)\] (?P<code>\S+): (?P<summary>.*)"
    checks: list[HealthCheck] = []
    for line in lines[1:]:
        match = re.fullmatch(pattern, line.strip())
        if match:
            severity: Severity = "HEALTH_WARN" if match["sev"] == "WRN" else "HEALTH_ERR"
            checks.append(HealthCheck(match["code"], severity, match["summary"], muted=bool(match["muted"])))
        elif checks and line.startswith(" "):
            last = checks[-1]
            checks[-1] = HealthCheck(last.code, last.severity, last.summary, (*last.detail, line.strip()), last.muted)
        elif line.strip():
            raise ParseError(f"ceph health detail: unexpected line {line!r}")
    if not checks and status != "HEALTH_OK":
        parts = [s.strip() for s in summaries.split(";") if s.strip()]
        checks = [HealthCheck(None, status, part) for part in parts]
    return Health(status, tuple(checks), mutes)


def parse_mon_dump(text: str) -> MonMap:
    """Parse ``ceph mon dump -f json``, e.g. ``{"epoch":1,"fsid":"…","mons":[{"rank":0,"name":"a",
    "public_addrs":{"addrvec":[{"type":"v2","addr":"127.0.0.1:3300","nonce":0},…]}}],"quorum":[0]}``.
    """
    data = parse_json_output(text, "ceph mon dump", dict)
    mons = []
    for mon in json_field(data, "mons", list):
        addrvec = json_field(json_field(mon, "public_addrs", dict), "addrvec", list)
        addrs = tuple(parse_mon_addr(f"{json_field(a, 'type', str)}:{json_field(a, 'addr', str)}") for a in addrvec)
        mons.append(Mon(rank=json_field(mon, "rank", int), name=json_field(mon, "name", str), addrs=addrs))
    quorum = tuple(json_field(data, "quorum", list, default=[]))
    return MonMap(json_field(data, "fsid", str), json_field(data, "epoch", int), tuple(mons), quorum)


def parse_osd_stat(text: str) -> OsdStat:
    """Parse the OSD counts of ``ceph osd stat -f json`` (``{"num_osds":1,"num_up_osds":1,
    "num_in_osds":1,…}``), of ``ceph -s -f json`` (its ``osdmap``) or of ``ceph osd dump -f json``."""
    data = parse_json_output(text, "ceph osd stat", dict)
    if isinstance(data.get("osds"), list):  # `ceph osd dump`: count the OSDs
        osds = cast(list[dict[str, object]], data["osds"])
        return OsdStat(len(osds), sum(o.get("up") == 1 for o in osds), sum(o.get("in") == 1 for o in osds))
    osdmap = data.get("osdmap", data)
    if isinstance(osdmap, dict) and isinstance(osdmap.get("osdmap"), dict):
        osdmap = osdmap["osdmap"]  # `ceph -s` before Pacific nested it twice
    if not isinstance(osdmap, dict):
        raise ParseError(f"ceph osd stat: 'osdmap' should be an object, got {osdmap!r}")
    return OsdStat(*(json_field(osdmap, key, int) for key in ("num_osds", "num_up_osds", "num_in_osds")))


def parse_pools(text: str) -> tuple[Pool, ...]:
    """Parse ``ceph osd pool ls detail -f json`` (or the ``pools`` of ``ceph osd dump -f json``), e.g.
    ``[{"pool_id":1,"pool_name":"images","type":1,"size":3,"pg_num":8,"application_metadata":{"rbd":{}}}]``.
    """
    data = parse_json_output(text, "ceph osd pool ls detail", object)
    items = data.get("pools") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ParseError("ceph osd pool ls detail: expected a JSON list of pools")
    return tuple(_pool(p) for p in items)


def _pool(data: object) -> Pool:
    kind = json_field(data, "type", int)
    types: dict[int, PoolType] = {1: "replicated", 3: "erasure"}  # pg_pool_t::TYPE_*
    if kind not in types:
        raise ParseError(f"pool {data!r}: type {kind} is neither replicated (1) nor erasure (3)")
    # `osd pool ls detail` calls the id "pool_id", `osd dump` calls it "pool".
    id_key = "pool_id" if isinstance(data, dict) and "pool_id" in data else "pool"
    return Pool(
        pool_id=json_field(data, id_key, int),
        name=json_field(data, "pool_name", str),
        type=types[kind],
        size=json_field(data, "size", int),
        pg_num=json_field(data, "pg_num", int),
        applications=frozenset(json_field(data, "application_metadata", dict)),
    )


def find_pool(pools: Iterable[Pool], name: str) -> Pool | None:
    """Return the pool called ``name``, or None."""
    return next((p for p in pools if p.name == name), None)


def _one_of(value: str, literal: object, what: str) -> str:
    if value not in get_args(literal):
        raise ParseError(f"{what} {value!r} is not one of {', '.join(get_args(literal))}")
    return value


# --- judging the cluster ---------------------------------------------------------------------------

#: Ceph's default ports when an address names none (``CEPH_MON_PORT_IANA``, ``CEPH_MON_PORT_LEGACY``).
MON_PORT_V2 = 3300
MON_PORT_V1 = 6789
_WILDCARDS = frozenset({"0.0.0.0", "*", "::", "[::]"})

Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class MonHostDifference:
    """How a client's ``mon host`` differs from the monmap: entries that reach no monitor of the
    cluster, and monitors no entry reaches. Both empty means they agree."""

    unknown: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return not self.unknown and not self.missing


def endpoints(addr: MonAddr) -> frozenset[Endpoint]:
    """Where a client may reach a monitor address: ``v2:h`` is h:3300, ``v1:h`` h:6789, a bare ``h``
    either (Ceph tries both), and an explicit port only that port."""
    host = canonical_host(addr.host)
    if addr.port is not None:
        return frozenset({(host, addr.port)})
    ports = {"v2": (MON_PORT_V2,), "v1": (MON_PORT_V1,)}.get(addr.msgr or "", (MON_PORT_V2, MON_PORT_V1))
    return frozenset((host, port) for port in ports)


def canonical_host(host: str) -> str:
    """An IP address in its one canonical spelling (``fd00:0:0::1`` is ``fd00::1``); a name as written."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _text(addr: MonAddr) -> str:
    host = f"[{addr.host}]" if ":" in addr.host else addr.host
    prefix = f"{addr.msgr}:" if addr.msgr else ""
    return f"{prefix}{host}:{addr.port}" if addr.port else f"{prefix}{host}"


def compare_mon_hosts(mon_hosts: Iterable[MonHost], monmap: MonMap) -> MonHostDifference:
    """Compare a conf's ``mon host`` with the cluster's monmap, monitor by monitor.

    An entry is right when it reaches a monitor of the monmap on an address that monitor listens
    on; every monitor must be reached by some entry, or the client loses the cluster with it.
    Hosts are compared as written: a name in ``mon host`` is not resolved.
    """
    reached: set[str] = set()
    unknown = []
    for mon_host in mon_hosts:
        wanted = frozenset().union(*(endpoints(addr) for addr in mon_host.addrs))
        hits = [mon.name for mon in monmap.mons if wanted & frozenset().union(*(endpoints(a) for a in mon.addrs))]
        if hits:
            reached.update(hits)
        else:
            unknown.append(",".join(_text(addr) for addr in mon_host.addrs))
    missing = tuple(f"mon.{mon.name}" for mon in monmap.mons if mon.name not in reached)
    return MonHostDifference(tuple(unknown), missing)


def describe_monmap(monmap: MonMap) -> str:
    """``mon.a [v2:127.0.0.1:3300,v1:127.0.0.1:6789], mon.b [...]`` for messages and evidence."""
    return ", ".join(f"mon.{mon.name} [{','.join(_text(a) for a in mon.addrs)}]" for mon in monmap.mons)


def find_quorum_problem(monmap: MonMap, expected_mons: int) -> str | None:
    """Return what is wrong with the monitors (count, quorum), or None.

    ``expected_mons`` is how many monitors the deployment gave the site; a monitor outside the
    quorum is one clients cannot rely on.
    """
    problems = []
    if len(monmap.mons) != expected_mons:
        problems.append(f"{len(monmap.mons)} mons ({describe_monmap(monmap)})")
    outside = [f"mon.{mon.name}" for mon in monmap.mons if mon.rank not in monmap.quorum]
    if outside:
        problems.append(f"{', '.join(outside)} out of quorum")
    return "; ".join(problems) or None


def find_osd_problem(stat: OsdStat) -> str | None:
    """Return how the OSDs fall short of all up and in, or None."""
    if stat.num_osds == 0:
        return "no OSDs"
    if stat.num_up_osds == stat.num_in_osds == stat.num_osds:
        return None
    return f"{stat.num_up_osds} of {stat.num_osds} OSDs up, {stat.num_in_osds} in"


def find_pool_problems(pools: Iterable[Pool], names: Iterable[str], application: str = "rbd") -> tuple[str, ...]:
    """Return one phrase per pool of ``names`` that is missing or lacks ``application``."""
    pools = tuple(pools)
    problems = []
    for name in names:
        pool = find_pool(pools, name)
        if pool is None:
            problems.append(f"no pool {name}")
        elif application not in pool.applications:
            apps = ", ".join(sorted(pool.applications)) or "none"
            problems.append(f"pool {name} has application {apps}, not {application}")
    return tuple(problems)


def describe_health(health: Health) -> str:
    """``HEALTH_WARN (OSDMAP_FLAGS: noout flag(s) set)``; muted checks are left out."""
    active = [f"{check.code or check.severity}: {check.summary}" for check in health.checks if not check.muted]
    return f"{health.status} ({'; '.join(active)})" if active else health.status


def parse_listeners(text: str) -> frozenset[Endpoint]:
    """Parse the TCP listeners of ``ss -Hltn`` (no header), e.g. ``LISTEN 0 512 127.0.0.1:6789 0.0.0.0:*``
    or ``LISTEN 0 4096 [::1]:3300 [::]:*``; ``*:6789`` and ``0.0.0.0:6789`` listen on every address."""
    listeners = set()
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 5 or fields[0] != "LISTEN":
            raise ParseError(f"ss -Hltn: {line.strip()!r} is not a LISTEN line")
        host, _, port = fields[3].rpartition(":")
        host = host.split("%")[0]  # fe80::1%eth0
        if not port.isdigit():
            raise ParseError(f"ss -Hltn: local address {fields[3]!r} has no port")
        listeners.add((host.strip("[]") if host not in _WILDCARDS else "*", int(port)))
    return frozenset(listeners)


def find_unbound_mon_addrs(monmap: MonMap, listeners: frozenset[Endpoint]) -> tuple[str, ...]:
    """Return the monmap addresses (``mon.a v1:127.0.0.1:6789``) that nothing listens on."""
    unbound = []
    for mon in monmap.mons:
        for addr in mon.addrs:
            if not any(host in (h, "*") and port == p for h, p in endpoints(addr) for host, port in listeners):
                unbound.append(f"mon.{mon.name} {_text(addr)}")
    return tuple(unbound)


@dataclass(frozen=True, slots=True)
class OsdOps:
    """Client operations an OSD has served since it started (``ceph tell osd.N perf dump osd``)."""

    reads: int
    writes: int

    def __sub__(self, other: OsdOps) -> OsdOps:
        return OsdOps(self.reads - other.reads, self.writes - other.writes)

    def __add__(self, other: OsdOps) -> OsdOps:
        return OsdOps(self.reads + other.reads, self.writes + other.writes)


def parse_osd_ids(text: str) -> tuple[int, ...]:
    """Parse ``ceph osd ls -f json``, e.g. ``[0, 1, 2]``."""
    data = parse_json_output(text, "ceph osd ls", list)
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in data):
        raise ParseError(f"ceph osd ls: expected a list of OSD ids, got {text.strip()[:200]!r}")
    return tuple(data)


def parse_osd_ops(text: str) -> OsdOps:
    """Parse ``ceph tell osd.N perf dump osd``: its ``op_r`` and ``op_w`` counters (reads and writes of clients;
    ``op_rw``, a read-modify-write such as a clone's copy-up, counts as both)."""
    data = parse_json_output(text, "ceph tell osd perf dump", dict)
    osd = json_field(data, "osd", dict)
    read_write = json_field(osd, "op_rw", int, 0)
    return OsdOps(json_field(osd, "op_r", int) + read_write, json_field(osd, "op_w", int) + read_write)
