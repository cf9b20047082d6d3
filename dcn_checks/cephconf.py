"""What a site's Ceph client is told: ceph.conf, ``mon host``, keyrings, ``ceph auth get`` and caps.

An edge site's Glance, Nova and Cinder reach their local cluster (and Glance the others) through a
``<cluster>.conf`` (fsid, ``mon host``) and a keyring for ``client.external`` or ``client.openstack``
with caps on the vms, volumes and images pools. The parsers here read those files and ``ceph auth get``
into values the checks compare, without touching a host, and compare caps grant by grant. Keys are
wrapped in ``cephx.Secret`` at once. What the cluster itself says (health, monmap, OSDs, pools) is
read by ``cluster``.

ceph.conf rules follow Ceph's own parser (Pacific 16.2.15, checked with ``ceph-conf --lookup``):
runs of spaces or tabs in an option name equal one ``_`` (``mon  host`` == ``mon_host``, but
``mon__host`` does not); names and sections are case-sensitive; the last value wins; ``#`` and ``;``
start a comment anywhere unless escaped with ``\\``; ``"..."`` quotes a value; ``\\`` at the end of a
line continues it. ``ceph auth get`` formats are captured in ``tests/data/ceph/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, cast, get_args

from dcn_checks.cephx import Secret
from dcn_checks.errors import ParseError
from dcn_checks.rbd import json_field, parse_json_output

CapService = Literal["mon", "osd", "mgr", "mds"]
Msgr = Literal["v1", "v2", "any"]


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
            addrs = tuple(parse_mon_addr(part) for part in _split_outside_brackets(token[1:-1], ", \t"))
            mons.append(MonHost(addrs))
        else:
            mons.append(MonHost((parse_mon_addr(token),)))
    if not mons:
        raise ParseError(f"mon host {value!r} names no monitor")
    return tuple(mons)


def parse_mon_addr(text: str) -> MonAddr:
    """Parse one monitor address: ``v2:10.0.0.1:3300/0``, ``10.0.0.1``, ``[fd00::1]:6789``, ``fd00::1`` or
    ``mon1.example`` (as in ``mon host``, or a ``type:addr`` of ``ceph mon dump``)."""
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
            raise ParseError(f"monitor address {text!r} has text after ']'")
        port = after[1:] or None
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host = rest  # a host name, an IPv4 address, or a bare IPv6 address (no port)
    if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ParseError(f"monitor address {text!r} is not host[:port]")
    return MonAddr(host=host, port=int(port) if port else None, msgr=msgr)


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
            raise ParseError(f"{source} line {number}: {stripped!r} is not [section] or name = value")
        if current is None:
            raise ParseError(f"{source} line {number}: {name.strip()!r} comes before any [section]")
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
            raise ParseError(f"{where}: quoted value {raw!r} is not closed or has text after it")
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
        raise ParseError(f"mon host {value!r} has unbalanced brackets")
    return [token.strip() for token in [*tokens, current] if token.strip()]


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
            raise ParseError(f"{source}: [{entity}] has no key")
        caps = {name[len("caps_") :]: value for name, value in options.items() if name.startswith("caps_")}
        entities.append(AuthEntity(entity, Secret(options["key"]), _caps(caps, f"{source}: [{entity}]")))
    return tuple(entities)


def parse_auth_get(text: str) -> tuple[AuthEntity, ...]:
    """Parse ``ceph auth get <entity> -f json`` (stdout starts with a newline), e.g.
    ``[{"entity":"client.external","key":"AQD…==","caps":{"mon":"profile rbd","osd":"…"}}]``.
    """
    items = parse_json_output(text, "ceph auth get", list)
    return tuple(
        AuthEntity(
            entity=json_field(item, "entity", str),
            key=Secret(json_field(item, "key", str)),
            caps=_caps(json_field(item, "caps", dict), f"ceph auth get: {item.get('entity')}"),
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
        raise ParseError(f"{where}: caps {dict(mapping)!r} are not strings for mon, osd, mgr, mds")
    return Caps(**cast(dict[str, str], mapping))


# --- judging a client's files and caps -----------------------------------------------------------------

#: Where every container sees the client files, whatever the release's host dir (THT ``src-ceph``);
#: paths written inside a ceph.conf are paths in this dir.
CONTAINER_CEPH_DIR = "/etc/ceph"
#: The ``[client.libvirt]`` options TripleO's deployers write for qemu (ceph-ansible ``ceph.conf.j2``,
#: tripleo_ceph_client ``ceph_conf.j2``): without them a guest's librbd has no admin socket or log.
LIBVIRT_OPTIONS = ("admin_socket", "log_file")


def conf_name(cluster: str) -> str:
    """The file name of a cluster's client conf: ``dcn0.conf``."""
    return f"{cluster}.conf"


def keyring_name(cluster: str, entity: str) -> str:
    """The file name Ceph looks for by default: ``<cluster>.<entity>.keyring``, e.g.
    ``central.client.external.keyring`` (``/etc/ceph/$cluster.$name.keyring``)."""
    return f"{cluster}.{entity}.keyring"


def describe_cap_differences(differences: Iterable[CapDifference]) -> str:
    """One line for a report: ``osd lacks 'profile rbd pool=vms'; mon has 'allow r' beyond``."""
    parts = []
    for difference in differences:
        if difference.missing:
            parts.append(f"{difference.service} lacks {', '.join(repr(g) for g in sorted(difference.missing))}")
        if difference.extra:
            parts.append(f"{difference.service} has {', '.join(repr(g) for g in sorted(difference.extra))} beyond")
    return "; ".join(parts)


def drop_extra_rbd_pools(differences: Iterable[CapDifference]) -> tuple[CapDifference, ...]:
    """Forgive extra ``profile rbd pool=<p>`` osd grants, keep every other difference.

    TripleO gives ``client.openstack`` a grant per pool its services use: beyond vms, volumes and
    images also ``backups`` (CinderBackupBackend ceph) and CinderRbdExtraPools, which the site model
    does not know. An extra RBD pool is no risk to the documented ones; a missing grant or a wider
    grant (``allow *``) is.
    """
    kept = []
    for difference in differences:
        extra = difference.extra
        if difference.service == "osd":
            extra = frozenset(g for g in extra if not re.fullmatch(r"profile rbd pool=\S+", g))
        if difference.missing or extra:
            kept.append(CapDifference(difference.service, difference.missing, extra))
    return tuple(kept)


def may_write_pool(caps: Caps, pool: str) -> bool:
    """Tell whether the osd caps let a client write RBD images in ``pool``.

    Writes come from ``profile rbd`` (not ``profile rbd-read-only``) or an ``allow`` with ``w`` or
    ``*``, for the pool or for every pool. Namespace-restricted grants do not count: OpenStack's
    stores write to the pool's default namespace.
    """
    for grant in parse_cap_grants(caps.osd or ""):
        words = grant.split()
        pools = [w.partition("=")[2] for w in words if w.startswith("pool=")]
        if any(w.startswith("namespace=") for w in words) or (pools and pools != [pool]):
            continue
        if words[:2] == ["profile", "rbd"]:
            return True
        if words[0] == "allow" and len(words) > 1 and ("w" in words[1] or words[1] == "*"):
            return True
    return False


def find_keyring_option_problem(conf: CephConf, expected: str, *, required: bool) -> str | None:
    """Return what is wrong with the ``keyring`` a plain client of ``conf`` uses, or None.

    ``expected`` is the keyring path as containers see it (``/etc/ceph/central.client.external.keyring``).
    A conf of another site's cluster must name it (CephExternalMultiConfig ``ceph_conf_overrides``);
    a conf of the node's own cluster may leave it out, because Ceph takes the cluster name from the
    conf's file name and finds ``/etc/ceph/<cluster>.<entity>.keyring`` by default, but if it names
    one, it must be that one.
    """
    if conf.keyring is None:
        return "no [client] keyring" if required else None
    if conf.keyring != expected:
        return f"[client] keyring = {conf.keyring}"
    return None


def find_libvirt_section_problem(conf: CephConf) -> str | None:
    """Return what qemu's ``[client.libvirt]`` section lacks (admin socket, log file), or None."""
    section = conf.sections.get("client.libvirt")
    if section is None:
        return "no [client.libvirt] section"
    missing = [name.replace("_", " ") for name in LIBVIRT_OPTIONS if not section.get(name)]
    return f"[client.libvirt] without {' and '.join(missing)}" if missing else None
