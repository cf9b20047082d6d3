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

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast, get_args

from dcn_checks.cephconf import MonAddr, parse_mon_addr
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
