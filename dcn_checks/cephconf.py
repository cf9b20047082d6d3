"""What a site's Ceph client is told and what its cluster says: ceph.conf, keyrings, caps, ``ceph`` output.

An edge site's Glance, Nova and Cinder reach their local cluster (and Glance the others) through a
``<cluster>.conf`` (fsid, ``mon host``) and a keyring for ``client.external`` or ``client.openstack``
with caps on the vms, volumes and images pools. The parsers here read those files and the ``ceph``
commands that describe the cluster (auth, health, monmap, OSDs, pools) into values the checks
compare, without touching a host. Keys are wrapped in ``cephx.Secret`` at once.

ceph.conf rules follow Ceph's own parser (Pacific 16.2.15, checked with ``ceph-conf --lookup``):
runs of spaces or tabs in an option name equal one ``_`` (``mon  host`` == ``mon_host``, but
``mon__host`` does not); names and sections are case-sensitive; the last value wins; ``#`` and ``;``
start a comment anywhere unless escaped with ``\\``; ``"..."`` quotes a value; ``\\`` at the end of a
line continues it. Command formats are captured in ``tests/data/ceph/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, TypeVar, cast, get_args

from dcn_checks.cephx import Secret
from dcn_checks.errors import DcnChecksError

CapService = Literal["mon", "osd", "mgr", "mds"]
HealthStatus = Literal["HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"]
Severity = Literal["HEALTH_WARN", "HEALTH_ERR"]
Msgr = Literal["v1", "v2", "any"]
PoolType = Literal["replicated", "erasure"]
_T = TypeVar("_T")


class CephParseError(DcnChecksError, ValueError):
    """A ceph.conf, keyring or ``ceph`` output could not be read; the message says what and where."""


# --- ceph.conf ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonAddr:
    """One address of a monitor; ``port`` None means Ceph's default (3300 for v2, 6789 for v1)."""

    host: str
    port: int | None = None
    msgr: Msgr | None = None


@dataclass(frozen=True, slots=True)
class MonHost:
    """One monitor as ``mon host`` names it: a bare address, or a bracketed ``[v2:…,v1:…]`` vector."""

    addrs: tuple[MonAddr, ...]


@dataclass(frozen=True, slots=True)
class CephConf:
    """The client-relevant content of a ceph.conf; ``sections`` holds every option (repr hidden: a
    ceph.conf may carry a ``key``)."""

    fsid: str | None
    mon_host: str | None
    mon_hosts: tuple[MonHost, ...]
    keyring: str | None
    sections: Mapping[str, Mapping[str, str]] = field(repr=False, hash=False)

    @property
    def mon_ips(self) -> frozenset[str]:
        """Every monitor host named by ``mon host``."""
        return frozenset(addr.host for mon in self.mon_hosts for addr in mon.addrs)

    def get(self, option: str, entity: str = "client") -> str | None:
        """Return ``option`` as ``entity`` sees it: ``[client.libvirt]``, then ``[client]``, then ``[global]``."""
        name = _option_name(option)
        for section in (entity, entity.split(".")[0], "global"):
            if name in self.sections.get(section, {}):
                return self.sections[section][name]
        return None


def parse_ceph_conf(text: str, source: str = "ceph.conf") -> CephConf:
    """Parse a ceph.conf, e.g. ``[global]\\nfsid = 884763fc-…\\nmon host = 172.16.11.84, 172.16.11.87``.

    ``keyring`` is the one a plain client uses (``[client]``, else ``[global]``). ``source`` names the
    file in error messages.
    """
    sections = _read_ini(text, source)
    conf = CephConf(fsid=None, mon_host=None, mon_hosts=(), keyring=None, sections=sections)
    mon_host = conf.get("mon host")
    return CephConf(
        fsid=conf.get("fsid"),
        mon_host=mon_host,
        mon_hosts=parse_mon_host(mon_host) if mon_host else (),
        keyring=conf.get("keyring"),
        sections=sections,
    )


def parse_mon_host(value: str) -> tuple[MonHost, ...]:
    """Parse a ``mon host`` value into monitors, e.g. ``172.16.11.84, 172.16.11.87`` (two monitors) or
    ``[v2:127.0.0.1:3300,v1:127.0.0.1:6789]`` (one monitor with two addresses).

    Entries are separated by commas, semicolons or spaces outside brackets, as in Ceph's
    ``parse_ip_port_vec``; a ``/nonce`` suffix is dropped.
    """
    mons = []
    for token in _split_outside_brackets(value, ",; \t"):
        if token.startswith("[") and token.endswith("]") and token[1:].startswith(("v1:", "v2:", "any:")):
            addrs = tuple(_parse_addr(part) for part in _split_outside_brackets(token[1:-1], ", \t"))
            mons.append(MonHost(addrs))
        else:
            mons.append(MonHost((_parse_addr(token),)))
    if not mons:
        raise CephParseError(f"mon host {value!r} names no monitor")
    return tuple(mons)


def _read_ini(text: str, source: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        header = re.fullmatch(r"\[([^\]]+)\]\s*(?:[#;].*)?", stripped)
        if header:
            current = sections.setdefault(header.group(1), {})
            continue
        name, equals, raw_value = stripped.partition("=")
        if not equals or not name.strip():
            raise CephParseError(f"{source} line {number}: {stripped!r} is not [section] or name = value")
        if current is None:
            raise CephParseError(f"{source} line {number}: {name.strip()!r} comes before any [section]")
        current[_option_name(name)] = _read_value(raw_value, f"{source} line {number}")
    return sections


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Yield (first line number, line) with backslash-continued lines joined."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending += line[:-1]
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _option_name(name: str) -> str:
    return "_".join(name.split())


def _read_value(raw: str, where: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        closing = raw.find('"', 1)
        if closing < 0 or raw[closing + 1 :].strip()[:1] not in ("", "#", ";"):
            raise CephParseError(f"{where}: quoted value {raw!r} is not closed or has text after it")
        return raw[1:closing]
    value, escaped = [], False
    for char in raw:
        if escaped:
            value.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "#;":
            break
        else:
            value.append(char)
    return "".join(value).strip()


def _split_outside_brackets(value: str, separators: str) -> list[str]:
    tokens, current, depth = [], "", 0
    for char in value:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char in separators and depth == 0:
            tokens.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise CephParseError(f"mon host {value!r} has unbalanced brackets")
    return [token.strip() for token in [*tokens, current] if token.strip()]


def _parse_addr(text: str) -> MonAddr:
    """Parse ``v2:10.0.0.1:3300/0``, ``10.0.0.1``, ``[fd00::1]:6789``, ``fd00::1`` or ``mon1.example``."""
    msgr: Msgr | None = None
    rest = text
    for prefix in get_args(Msgr):
        if rest.startswith(f"{prefix}:"):
            msgr, rest = prefix, rest[len(prefix) + 1 :]
    rest = rest.partition("/")[0]
    port: str | None = None
    if rest.startswith("["):
        host, _, after = rest[1:].partition("]")
        if after and not after.startswith(":"):
            raise CephParseError(f"monitor address {text!r} has text after ']'")
        port = after[1:] or None
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host = rest  # a host name, an IPv4 address, or a bare IPv6 address (no port)
    if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise CephParseError(f"monitor address {text!r} is not host[:port]")
    return MonAddr(host=host, port=int(port) if port else None, msgr=msgr)


# --- keyrings, auth, caps ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caps:
    """The caps of one cephx entity, one string per service as Ceph stores them."""

    mon: str | None = None
    osd: str | None = None
    mgr: str | None = None
    mds: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The caps that are set, as ``{"mon": "profile rbd", ...}`` (the shape of ``cephx.EXTERNAL_CAPS``)."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class AuthEntity:
    """One entity of a keyring or of ``ceph auth get``: its name, secret and caps."""

    entity: str
    key: Secret = field(repr=False)
    caps: Caps = Caps()


@dataclass(frozen=True, slots=True)
class CapDifference:
    """How one service's caps differ from what was expected, as grants (see ``parse_cap_grants``)."""

    service: CapService
    missing: frozenset[str]
    extra: frozenset[str]


def parse_keyring(text: str, source: str = "keyring") -> tuple[AuthEntity, ...]:
    """Parse a keyring file or ``ceph auth get`` text; it may hold several entities::

    [client.external]
        key = AQD29WteAAAAABAAphgOjFD7nyjdYe8Lz0mQ5Q==
        caps mon = "profile rbd"
    """
    entities = []
    for entity, options in _read_ini(text, source).items():
        if "key" not in options:
            raise CephParseError(f"{source}: [{entity}] has no key")
        caps = {name[len("caps_") :]: value for name, value in options.items() if name.startswith("caps_")}
        entities.append(AuthEntity(entity, Secret(options["key"]), _caps(caps, f"{source}: [{entity}]")))
    return tuple(entities)


def parse_auth_get(text: str) -> tuple[AuthEntity, ...]:
    """Parse ``ceph auth get <entity> -f json`` (stdout starts with a newline), e.g.
    ``[{"entity":"client.external","key":"AQD…==","caps":{"mon":"profile rbd","osd":"…"}}]``.
    """
    items = _json(text, "ceph auth get", list)
    return tuple(
        AuthEntity(
            entity=_field(item, "entity", str),
            key=Secret(_field(item, "key", str)),
            caps=_caps(_field(item, "caps", dict), f"ceph auth get: {item.get('entity')}"),
        )
        for item in cast(list[dict[str, object]], items)
    )


def find_entity(entities: Iterable[AuthEntity], entity: str) -> AuthEntity | None:
    """Return the entity named ``entity`` (e.g. ``client.external``), or None."""
    return next((e for e in entities if e.entity == entity), None)


def parse_cap_grants(cap: str) -> frozenset[str]:
    """Split a cap into its grants, written one canonical way so that caps compare as sets.

    ``profile rbd pool=vms, profile rbd  pool = "images"`` → {``profile rbd pool=vms``,
    ``profile rbd pool=images``}. Grants are separated by ``,`` or ``;``; whitespace is collapsed,
    quotes dropped, and ``pool vms`` is written ``pool=vms`` (Ceph's cap grammar accepts both).
    Grants are compared as written: this does not know that ``allow *`` implies ``profile rbd``.
    """
    grants = set()
    for grant in re.split(r"""[,;](?=(?:[^"]*"[^"]*")*[^"]*$)""", cap):
        words = re.findall(r'"[^"]*"|=|[^\s="]+', grant)
        canonical: list[str] = []
        for word in (w.strip('"') for w in words):
            if canonical and (word == "=" or canonical[-1].endswith("=")):
                canonical[-1] += word
            elif canonical and canonical[-1] in ("pool", "namespace"):
                canonical[-1] += f"={word}"
            else:
                canonical.append(word)
        if canonical:
            grants.add(" ".join(canonical))
    return frozenset(grants)


def diff_caps(actual: Caps | Mapping[str, str], expected: Caps | Mapping[str, str]) -> tuple[CapDifference, ...]:
    """Compare caps service by service as sets of grants; an empty result means they match.

    Takes ``Caps`` or plain mappings such as ``cephx.EXTERNAL_CAPS``.
    """
    have = actual.as_dict() if isinstance(actual, Caps) else _caps(actual, "actual caps").as_dict()
    want = expected.as_dict() if isinstance(expected, Caps) else _caps(expected, "expected caps").as_dict()
    differences = []
    for service in get_args(CapService):
        got, wanted = parse_cap_grants(have.get(service, "")), parse_cap_grants(want.get(service, ""))
        if got != wanted:
            differences.append(CapDifference(service, missing=wanted - got, extra=got - wanted))
    return tuple(differences)


def _caps(mapping: Mapping[str, object], where: str) -> Caps:
    unknown = set(mapping) - set(get_args(CapService))
    if unknown or not all(isinstance(v, str) for v in mapping.values()):
        raise CephParseError(f"{where}: caps {dict(mapping)!r} are not strings for mon, osd, mgr, mds")
    return Caps(**cast(dict[str, str], mapping))


# --- cluster state: health, monmap, OSDs, pools ------------------------------------------------------


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
    data = _json(text, "ceph health", dict)
    health = data.get("health", data)  # `ceph -s` nests it
    if not isinstance(health, dict):
        raise CephParseError(f"ceph health: 'health' should be an object, got {health!r}")
    checks = []
    for code, check in _field(health, "checks", dict).items():
        summary = _field(check, "summary", dict)
        checks.append(
            HealthCheck(
                code=code,
                severity=cast(Severity, _one_of(_field(check, "severity", str), Severity, "severity")),
                summary=_field(summary, "message", str),
                detail=tuple(_field(d, "message", str) for d in check.get("detail", [])),
                muted=_field(check, "muted", bool, default=False),
            )
        )
    mutes = tuple(_field(mute, "code", str) for mute in _field(health, "mutes", list, default=[]))
    status = _one_of(_field(health, "status", str), HealthStatus, "ceph health status")
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
            raise CephParseError(f"ceph health detail: unexpected line {line!r}")
    if not checks and status != "HEALTH_OK":
        parts = [s.strip() for s in summaries.split(";") if s.strip()]
        checks = [HealthCheck(None, status, part) for part in parts]
    return Health(status, tuple(checks), mutes)


def parse_mon_dump(text: str) -> MonMap:
    """Parse ``ceph mon dump -f json``, e.g. ``{"epoch":1,"fsid":"…","mons":[{"rank":0,"name":"a",
    "public_addrs":{"addrvec":[{"type":"v2","addr":"127.0.0.1:3300","nonce":0},…]}}],"quorum":[0]}``.
    """
    data = _json(text, "ceph mon dump", dict)
    mons = []
    for mon in _field(data, "mons", list):
        addrvec = _field(_field(mon, "public_addrs", dict), "addrvec", list)
        addrs = tuple(_parse_addr(f"{_field(a, 'type', str)}:{_field(a, 'addr', str)}") for a in addrvec)
        mons.append(Mon(rank=_field(mon, "rank", int), name=_field(mon, "name", str), addrs=addrs))
    quorum = tuple(_field(data, "quorum", list, default=[]))
    return MonMap(_field(data, "fsid", str), _field(data, "epoch", int), tuple(mons), quorum)


def parse_osd_stat(text: str) -> OsdStat:
    """Parse the OSD counts of ``ceph osd stat -f json`` (``{"num_osds":1,"num_up_osds":1,
    "num_in_osds":1,…}``), of ``ceph -s -f json`` (its ``osdmap``) or of ``ceph osd dump -f json``."""
    data = _json(text, "ceph osd stat", dict)
    if isinstance(data.get("osds"), list):  # `ceph osd dump`: count the OSDs
        osds = cast(list[dict[str, object]], data["osds"])
        return OsdStat(len(osds), sum(o.get("up") == 1 for o in osds), sum(o.get("in") == 1 for o in osds))
    osdmap = data.get("osdmap", data)
    if isinstance(osdmap, dict) and isinstance(osdmap.get("osdmap"), dict):
        osdmap = osdmap["osdmap"]  # `ceph -s` before Pacific nested it twice
    if not isinstance(osdmap, dict):
        raise CephParseError(f"ceph osd stat: 'osdmap' should be an object, got {osdmap!r}")
    return OsdStat(*(_field(osdmap, key, int) for key in ("num_osds", "num_up_osds", "num_in_osds")))


def parse_pools(text: str) -> tuple[Pool, ...]:
    """Parse ``ceph osd pool ls detail -f json`` (or the ``pools`` of ``ceph osd dump -f json``), e.g.
    ``[{"pool_id":1,"pool_name":"images","type":1,"size":3,"pg_num":8,"application_metadata":{"rbd":{}}}]``.
    """
    data = _json(text, "ceph osd pool ls detail", object)
    items = data.get("pools") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CephParseError("ceph osd pool ls detail: expected a JSON list of pools")
    return tuple(_pool(p) for p in items)


def _pool(data: object) -> Pool:
    kind = _field(data, "type", int)
    types: dict[int, PoolType] = {1: "replicated", 3: "erasure"}  # pg_pool_t::TYPE_*
    if kind not in types:
        raise CephParseError(f"pool {data!r}: type {kind} is neither replicated (1) nor erasure (3)")
    # `osd pool ls detail` calls the id "pool_id", `osd dump` calls it "pool".
    id_key = "pool_id" if isinstance(data, dict) and "pool_id" in data else "pool"
    return Pool(
        pool_id=_field(data, id_key, int),
        name=_field(data, "pool_name", str),
        type=types[kind],
        size=_field(data, "size", int),
        pg_num=_field(data, "pg_num", int),
        applications=frozenset(_field(data, "application_metadata", dict)),
    )


def find_pool(pools: Iterable[Pool], name: str) -> Pool | None:
    """Return the pool called ``name``, or None."""
    return next((p for p in pools if p.name == name), None)


# --- JSON ---------------------------------------------------------------------------------------------


def _json(text: str, command: str, kind: type[_T]) -> _T:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CephParseError(f"{command}: output is not JSON ({err.msg} at {err.lineno}:{err.colno})") from err
    if not isinstance(data, kind):
        raise CephParseError(f"{command}: expected a JSON {kind.__name__}, got {type(data).__name__}")
    return data


def _field(data: object, key: str, kind: type[_T], default: _T | None = None) -> _T:
    value = data.get(key, default) if isinstance(data, dict) else None
    # bool is an int in Python; a JSON true where a number belongs is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CephParseError(f"field {key!r} should be {kind.__name__}, got {value!r} in {data!r}")
    return value


def _one_of(value: str, literal: object, what: str) -> str:
    if value not in get_args(literal):
        raise CephParseError(f"{what} {value!r} is not one of {', '.join(get_args(literal))}")
    return value
