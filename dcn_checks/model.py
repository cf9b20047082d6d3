"""The site model: one declarative description of the DCN deployment under test.

The same file drives the environment files an operator deploys with, the embedded lab, and the
parametrization of every check, so it is validated once, here, and turned into frozen values. A bad
file becomes one ``ModelError`` naming the file, the field and what is wrong. A sample::

    release: wallaby          # ussuri | victoria | wallaby | zed
    key_option: 2             # 1: share each site's openstack key; 2: a separate client.external key
    sites:
      - name: central         # the site named central (or with kind: central) runs the control plane
        stack: control-plane
        mons: [172.16.11.84]
      - name: dcn0            # cluster, az, store_id default to the site name
        nodes:
          - {name: dcn0-hci-0, roles: [DistributedComputeHCI]}
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dcn_checks.errors import ModelError, ParseError
from dcn_checks.inputs import MAX_SHOWN, read_yaml, shown
from dcn_checks.release import RELEASE_NAMES, ReleaseProfile, get_profile

SiteKind = Literal["central", "dcn"]
KeyOption = Literal[1, 2]

#: Roles of the source documents, and the services that matter to the checks.
ROLE_SERVICES: dict[str, frozenset[str]] = {
    "Controller": frozenset({"GlanceApi", "CinderVolume", "CephMon", "NovaApi"}),
    "ComputeHCI": frozenset({"NovaCompute", "CephOSD"}),
    "Compute": frozenset({"NovaCompute"}),
    "CephStorage": frozenset({"CephOSD"}),
    "CephAll": frozenset({"CephMon", "CephOSD"}),
    "DistributedComputeHCI": frozenset({"NovaCompute", "GlanceApiEdge", "CinderVolume", "CephMon", "CephOSD"}),
    "DistributedCompute": frozenset({"NovaCompute", "GlanceApiEdge", "CinderVolume"}),
    "DistributedComputeHCIScaleOut": frozenset({"NovaCompute", "HAproxyEdge", "CephOSD"}),
    "DistributedComputeScaleOut": frozenset({"NovaCompute", "HAproxyEdge"}),
}
CENTRAL_ROLES = frozenset({"Controller", "ComputeHCI", "Compute", "CephStorage", "CephAll"})
DCN_ROLES = frozenset(ROLE_SERVICES) - {"Controller", "ComputeHCI", "CephStorage"}

_SITE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_NODE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$")
_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9]+$")  # THT CephClusterName allowed_pattern
_STORE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")  # THT GlanceBackendID allowed_pattern
_POOL_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")
_AZ_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")

_TOP_KEYS = {"name", "release", "key_option", "sites"}
_SITE_KEYS = {
    "name", "kind", "stack", "cluster", "az", "cinder_az", "store_id", "store_description",
    "volume_cluster", "pools", "mons", "fsid", "nodes", "glance_endpoint",
}  # fmt: skip
_NODE_KEYS = {"name", "roles"}
_POOL_KEYS = ("images", "vms", "volumes")


@dataclass(frozen=True, slots=True)
class Node:
    """A host of a site, with the TripleO roles it was deployed with."""

    name: str
    roles: tuple[str, ...]

    @property
    def services(self) -> frozenset[str]:
        """The services of all its roles that the checks care about."""
        return frozenset().union(*(ROLE_SERVICES[role] for role in self.roles))

    def has(self, service: str) -> bool:
        """Tell whether the node runs ``service`` (e.g. ``GlanceApiEdge``)."""
        return service in self.services


@dataclass(frozen=True, slots=True)
class Pools:
    """The RBD pool names a site's services use (THT GlanceRbdPoolName, NovaRbdPoolName, CinderRbdPoolName)."""

    images: str = "images"
    vms: str = "vms"
    volumes: str = "volumes"

    def names(self) -> tuple[str, str, str]:
        """Return the pool names in the order vms, volumes, images of the documented caps."""
        return (self.vms, self.volumes, self.images)


@dataclass(frozen=True, slots=True)
class Site:
    """One site: its stack, Ceph cluster, Glance store and availability zone."""

    name: str
    kind: SiteKind
    stack: str
    cluster: str
    az: str
    cinder_az: str
    store_id: str
    store_description: str
    volume_cluster: str | None
    pools: Pools
    mons: tuple[str, ...]
    fsid: str | None
    nodes: tuple[Node, ...]
    glance_endpoint: str | None = None

    @property
    def is_central(self) -> bool:
        """Tell whether this is the central site."""
        return self.kind == "central"

    def nodes_with(self, service: str) -> tuple[Node, ...]:
        """Return the nodes of this site that run ``service``."""
        return tuple(node for node in self.nodes if node.has(service))


@dataclass(frozen=True, slots=True)
class SiteModel:
    """A validated deployment description: release, key option and sites (central first)."""

    release: str
    key_option: KeyOption
    sites: tuple[Site, ...]
    name: str = "dcn"
    source: str = "<model>"

    @property
    def profile(self) -> ReleaseProfile:
        """The release profile: paths and file names of this release."""
        return get_profile(self.release)

    @property
    def central(self) -> Site:
        """The central site."""
        return self.sites[0]

    @property
    def dcn_sites(self) -> tuple[Site, ...]:
        """The edge sites, in model order."""
        return self.sites[1:]

    @property
    def client_user(self) -> str:
        """The cephx user other sites use to reach a site's cluster: ``openstack`` or ``external``."""
        return "openstack" if self.key_option == 1 else "external"

    def site(self, name: str) -> Site:
        """Return the site called ``name``; raise KeyError otherwise."""
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(name)

    def site_pairs(self) -> tuple[tuple[Site, Site], ...]:
        """Return the ordered pairs (a, b) of sites where a is a client of b's cluster.

        Central is a client of every DCN cluster, and every DCN site of central's; DCN sites are
        not clients of each other.
        """
        central = self.central
        pairs = [(central, site) for site in self.dcn_sites]
        pairs += [(site, central) for site in self.dcn_sites]
        return tuple(pairs)


def load_model(path: Path | str) -> SiteModel:
    """Read and validate a site model file; raise ``ModelError`` with one clear line."""
    return parse_model(read_yaml(Path(path), "the site model"), str(path))


def parse_model(data: Any, source: str = "<model>") -> SiteModel:
    """Validate an already parsed site model document and return the frozen model."""
    if not isinstance(data, Mapping):
        raise ModelError(source, "", "the model must be a mapping with release, key_option and sites")
    _reject_unknown(data, _TOP_KEYS, source, "")
    release = data.get("release")
    if release is None:
        raise ModelError(source, "release", f"missing; one of {', '.join(RELEASE_NAMES)}")
    if release not in RELEASE_NAMES:
        raise ModelError(source, "release", f"unknown release {shown(release)}; one of {', '.join(RELEASE_NAMES)}")
    key_option = data.get("key_option", 2)
    if key_option not in (1, 2) or isinstance(key_option, bool):
        raise ModelError(
            source,
            "key_option",
            f"must be 1 (shared openstack key) or 2 (client.external), not {shown(key_option)}",
        )
    raw_sites = data.get("sites")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise ModelError(source, "sites", "must be a non-empty list of sites")
    profile = get_profile(release)
    sites = [_parse_site(raw, index, profile, source) for index, raw in enumerate(raw_sites)]
    sites = _central_first(sites, source)
    _check_unique(sites, source)
    name = data.get("name", "dcn")
    if not isinstance(name, str) or not _SITE_NAME.match(name):
        raise ModelError(source, "name", f"{shown(name)} must be lower-case letters, digits and dashes")
    return SiteModel(release=release, key_option=key_option, sites=tuple(sites), name=name, source=source)


def _reject_unknown(data: Mapping[str, Any], allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(str(key)[:MAX_SHOWN] for key in data if key not in allowed)
    if unknown:
        field = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ModelError(source, field, f"unknown key; allowed keys are {', '.join(sorted(allowed))}")


def _text(raw: Mapping[str, Any], key: str, default: str, source: str, where: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise ModelError(source, f"{where}.{key}", f"must be a non-empty string, not {shown(value)}")
    return value


def _parse_site(raw: Any, index: int, profile: ReleaseProfile, source: str) -> Site:
    where = f"sites[{index}]"
    if not isinstance(raw, Mapping):
        raise ModelError(source, where, "each site must be a mapping with at least a name")
    name = raw.get("name")
    if not isinstance(name, str) or not _SITE_NAME.match(name):
        raise ModelError(source, f"{where}.name", f"{shown(name)} must be lower-case letters, digits and dashes")
    where = f"sites[{name}]"
    _reject_unknown(raw, _SITE_KEYS, source, where)
    kind = raw.get("kind", "central" if name == "central" else "dcn")
    if kind not in ("central", "dcn"):
        raise ModelError(source, f"{where}.kind", f"must be central or dcn, not {shown(kind)}")
    cluster = _text(raw, "cluster", name, source, where)
    if not _CLUSTER_NAME.match(cluster):
        raise ModelError(
            source,
            f"{where}.cluster",
            f"{shown(cluster)} is not alphanumeric (CephClusterName pattern [a-zA-Z0-9]+)",
        )
    store_id = _text(raw, "store_id", name, source, where)
    if not _STORE_ID.match(store_id) or store_id.startswith("os_glance_"):
        raise ModelError(
            source,
            f"{where}.store_id",
            f"{shown(store_id)} must match [a-zA-Z0-9_-]+ (GlanceBackendID) and not start with os_glance_",
        )
    if profile.store_id_must_match_site and store_id != name:
        raise ModelError(
            source,
            f"{where}.store_id",
            f"{shown(store_id)} differs from the site name; at {profile.name} Nova finds the local store by "
            f"GlanceBackendID, so the store must be called {shown(name)}",
        )
    az = _text(raw, "az", name, source, where)
    cinder_az = _text(raw, "cinder_az", az, source, where)
    for key, value in (("az", az), ("cinder_az", cinder_az)):
        if not _AZ_NAME.match(value):
            raise ModelError(source, f"{where}.{key}", f"{shown(value)} is not a valid availability zone name")
    if cinder_az != az:
        raise ModelError(
            source,
            f"{where}.cinder_az",
            f"{shown(cinder_az)} differs from the Nova az {shown(az)}; a site's Cinder storage AZ must equal its "
            "Nova AZ (CinderStorageAvailabilityZone = NovaComputeAvailabilityZone)",
        )
    default_volume_cluster = "" if kind == "central" else az
    volume_cluster = raw.get("volume_cluster", default_volume_cluster)
    if not isinstance(volume_cluster, str):
        raise ModelError(source, f"{where}.volume_cluster", f"must be a string, not {shown(volume_cluster)}")
    return Site(
        name=name,
        kind=kind,
        stack=_text(raw, "stack", "control-plane" if kind == "central" else name, source, where),
        cluster=cluster,
        az=az,
        cinder_az=cinder_az,
        store_id=store_id,
        store_description=_text(raw, "store_description", f"{store_id} rbd glance store", source, where),
        volume_cluster=volume_cluster or None,
        pools=_parse_pools(raw.get("pools", {}), source, where),
        mons=_parse_mons(raw.get("mons", []), source, where),
        fsid=_parse_fsid(raw.get("fsid"), source, where),
        nodes=_parse_nodes(raw.get("nodes"), name, kind, source, where),
        glance_endpoint=_parse_endpoint(raw.get("glance_endpoint"), source, where),
    )


def _parse_pools(raw: Any, source: str, where: str) -> Pools:
    if not isinstance(raw, Mapping):
        raise ModelError(source, f"{where}.pools", "must be a mapping of images, vms, volumes to pool names")
    _reject_unknown(raw, set(_POOL_KEYS), source, f"{where}.pools")
    for key, value in raw.items():
        if not isinstance(value, str) or not _POOL_NAME.match(value):
            raise ModelError(source, f"{where}.pools.{key}", f"{shown(value)} is not a valid pool name")
    return Pools(**{key: raw[key] for key in _POOL_KEYS if key in raw})


def _is_mon_address(text: str) -> bool:
    """Tell whether ``text`` is one monitor as ceph.conf's ``mon host`` accepts it, by IP address.

    Accepted: ``172.16.11.84``, ``172.16.11.84:6789``, ``fd00::1``, ``[fd00::1]:6789`` and the
    bracketed address vector ``[v2:127.0.0.1:3300,v1:127.0.0.1:6789]`` that non-default ports need.
    Parsed by the same parser as a ``mon host`` line, so the model accepts what the checks compare.
    """
    from dcn_checks.cephconf import parse_mon_host

    try:
        (mon,) = parse_mon_host(text)
        for addr in mon.addrs:
            ipaddress.ip_address(addr.host)
    except (ParseError, ValueError):  # not one monitor, or a host name rather than an address
        return False
    return True


def _parse_mons(raw: Any, source: str, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw] if raw.startswith("[v") else [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise ModelError(source, f"{where}.mons", "must be a list of mon IP addresses")
    for mon in raw:
        if not _is_mon_address(str(mon)):
            raise ModelError(source, f"{where}.mons", f"{shown(mon)} is not a mon IP address")
    return tuple(str(mon) for mon in raw)


def _parse_endpoint(raw: Any, source: str, where: str) -> str | None:
    """An edge Glance URL (``http://172.16.11.100:9292``); empty or absent means "not known"."""
    if raw is None or raw == "":
        return None
    problem = "must be an http:// or https:// URL of the site's glance-api"
    if not isinstance(raw, str):
        raise ModelError(source, f"{where}.glance_endpoint", f"{problem}, not {shown(raw)}")
    try:
        url = urllib.parse.urlsplit(raw)
        url.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ModelError(source, f"{where}.glance_endpoint", f"{problem}, not {shown(raw)}") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ModelError(source, f"{where}.glance_endpoint", f"{problem}, not {shown(raw)}")
    return raw.rstrip("/")


def _parse_fsid(raw: Any, source: str, where: str) -> str | None:
    if raw is None:
        return None
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise ModelError(source, f"{where}.fsid", f"{shown(raw)} is not a UUID") from None


def _default_nodes(name: str, kind: SiteKind) -> tuple[Node, ...]:
    if kind == "central":
        return (Node("controller-0", ("Controller",)),)
    return (Node(f"{name}-hci-0", ("DistributedComputeHCI",)),)


def _parse_nodes(raw: Any, site: str, kind: SiteKind, source: str, where: str) -> tuple[Node, ...]:
    if raw is None:
        return _default_nodes(site, kind)
    if not isinstance(raw, list) or not raw:
        raise ModelError(source, f"{where}.nodes", "must be a non-empty list of {name, roles}")
    allowed_roles = CENTRAL_ROLES if kind == "central" else DCN_ROLES
    nodes = []
    for index, entry in enumerate(raw):
        at = f"{where}.nodes[{index}]"
        if not isinstance(entry, Mapping):
            raise ModelError(source, at, "each node must be a mapping with name and roles")
        _reject_unknown(entry, _NODE_KEYS, source, at)
        name = entry.get("name")
        if not isinstance(name, str) or not _NODE_NAME.match(name):
            raise ModelError(source, f"{at}.name", f"{shown(name)} is not a valid host name")
        roles = entry.get("roles")
        if not isinstance(roles, list) or not roles:
            raise ModelError(source, f"{at}.roles", "must be a non-empty list of TripleO role names")
        for role in roles:
            if not isinstance(role, str) or role not in allowed_roles:
                raise ModelError(
                    source,
                    f"{at}.roles",
                    f"{shown(role)} is not a {kind} role; one of {', '.join(sorted(allowed_roles))}",
                )
        nodes.append(Node(name=name, roles=tuple(roles)))
    if kind == "dcn" and not any(node.has("GlanceApiEdge") for node in nodes):
        raise ModelError(
            source,
            f"{where}.nodes",
            "no node runs GlanceApiEdge; a DCN site with storage needs a DistributedComputeHCI or "
            "DistributedCompute node",
        )
    return tuple(nodes)


def _central_first(sites: list[Site], source: str) -> list[Site]:
    central = [site for site in sites if site.is_central]
    if not central:
        raise ModelError(source, "sites", "no central site; name one site 'central' or give it kind: central")
    if len(central) > 1:
        names = ", ".join(site.name for site in central)
        raise ModelError(source, "sites", f"more than one central site ({names}); a deployment has exactly one")
    return central + [site for site in sites if not site.is_central]


def _check_unique(sites: list[Site], source: str) -> None:
    fields: tuple[tuple[str, str], ...] = (
        ("name", "site name"),
        ("stack", "stack name"),
        ("store_id", "store ID"),
        ("az", "availability zone"),
    )
    for attribute, label in fields:
        seen: dict[str, str] = {}
        for site in sites:
            value = getattr(site, attribute)
            if value in seen:
                raise ModelError(
                    source,
                    f"sites[{site.name}].{attribute}",
                    f"duplicate {label} {shown(value)} (also at {seen[value]})",
                )
            seen[value] = site.name
    clusters: dict[str, str] = {}
    for site in sites:
        if site.cluster in clusters:
            if site.cluster == "ceph":
                problem = (
                    f"a second cluster named 'ceph' (also at {clusters['ceph']}); every node that is a client of "
                    "two clusters needs distinct CephClusterName values"
                )
            else:
                problem = f"duplicate cluster name '{site.cluster}' (also at {clusters[site.cluster]})"
            raise ModelError(source, f"sites[{site.name}].cluster", problem)
        clusters[site.cluster] = site.name
    fsids: dict[str, str] = {}
    for site in sites:
        if site.fsid is not None:
            if site.fsid in fsids:
                raise ModelError(source, f"sites[{site.name}].fsid", f"duplicate fsid (also at {fsids[site.fsid]})")
            fsids[site.fsid] = site.name
    nodes: dict[str, str] = {}
    for site in sites:
        for node in site.nodes:
            if node.name in nodes:
                raise ModelError(
                    source,
                    f"sites[{site.name}].nodes",
                    f"duplicate node name '{node.name}' (also at {nodes[node.name]})",
                )
            nodes[node.name] = site.name


def model_with_sites(count: int, release: str = "ussuri", key_option: KeyOption = 2) -> SiteModel:
    """Return a model of central plus ``count`` DCN sites named dcn0, dcn1, ... with defaults.

    Mon addresses are made up from a documentation-style storage network, one /24 per DCN site.
    """
    sites: list[dict[str, Any]] = [{"name": "central", "mons": ["172.16.11.84", "172.16.11.87", "172.16.11.92"]}]
    for index in range(count):
        sites.append({"name": f"dcn{index}", "mons": [f"172.17.{index % 256}.{host}" for host in (10, 11, 12)]})
    data = {"release": release, "key_option": key_option, "sites": sites}
    return parse_model(data, f"<{count} DCN sites>")
