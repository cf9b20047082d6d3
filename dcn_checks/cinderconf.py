"""cinder.conf of a site's cinder-volume (R34): its AZ, A/A cluster, RBD backend and Glance.

Volumes of an edge site must be created in the site's AZ, by the site's active/active
cinder-volume cluster, in the site's own cluster, from images of the site's own Glance; then a
volume from an image is a copy-on-write clone at the edge. Source: THT ``dcn-storage.yaml`` and
``cinder-volume-container-puppet.yaml``, puppet-tripleo ``cinder/volume.pp`` and ``volume/rbd.pp``.

TripleO does not write ``rbd_cluster_name``: Cinder keeps its default ``ceph`` and finds the
cluster through ``rbd_ceph_conf`` only, so the checks do not ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcn_checks.model import Site, SiteModel
from dcn_checks.serviceconf import (
    PUPPET_GENERATED,
    Finding,
    IniFile,
    expect,
    is_same_endpoint,
    parse_list,
)

#: The ``cinder`` config volume, shared by cinder-api, -scheduler and -volume on a node.
CINDER_CONF = f"{PUPPET_GENERATED}/cinder/etc/cinder/cinder.conf"
RBD_DRIVER = "cinder.volume.drivers.rbd.RBDDriver"
#: Cinder's own default storage AZ, which a site left at it would share with every other such site.
DEFAULT_AZ = "nova"
AZ_OPTIONS = (("DEFAULT", "storage_availability_zone"), ("DEFAULT", "enabled_backends"))
CLUSTER_OPTIONS = (("DEFAULT", "cluster"), ("coordination", "backend_url"))
GLANCE_OPTIONS = (("DEFAULT", "glance_api_servers"),)
BACKEND_OPTIONS = ("volume_driver", "rbd_ceph_conf", "rbd_pool", "rbd_user", "rbd_secret_uuid")


@dataclass(frozen=True, slots=True)
class RbdBackend:
    """One enabled RBD backend section of cinder.conf."""

    name: str
    ceph_conf: str | None
    pool: str | None
    user: str | None
    secret_uuid: str | None
    availability_zone: str | None

    @property
    def cluster(self) -> str | None:
        """The cluster name of ``rbd_ceph_conf = /etc/ceph/<cluster>.conf``, or None."""
        if self.ceph_conf is None:
            return None
        name = self.ceph_conf.rsplit("/", 1)[-1]
        return name.removesuffix(".conf") if name.endswith(".conf") else None


def get_enabled_backends(conf: IniFile) -> tuple[str, ...]:
    """The backend sections of ``[DEFAULT] enabled_backends``."""
    return parse_list(conf.get("DEFAULT", "enabled_backends"))


def get_rbd_backends(conf: IniFile) -> tuple[RbdBackend, ...]:
    """The enabled backends whose ``volume_driver`` is Cinder's RBD driver."""
    backends = []
    for name in get_enabled_backends(conf):
        if (conf.get(name, "volume_driver") or "").strip() != RBD_DRIVER:
            continue
        backends.append(
            RbdBackend(
                name=name,
                ceph_conf=conf.get(name, "rbd_ceph_conf"),
                pool=conf.get(name, "rbd_pool"),
                user=conf.get(name, "rbd_user"),
                secret_uuid=conf.get(name, "rbd_secret_uuid"),
                availability_zone=conf.get(name, "backend_availability_zone"),
            )
        )
    return tuple(backends)


def backend_evidence(conf: IniFile) -> list[tuple[str, str]]:
    """(section, option) pairs of every enabled backend, for evidence."""
    pairs = [("DEFAULT", "enabled_backends")]
    for name in get_enabled_backends(conf):
        pairs += [(name, option) for option in BACKEND_OPTIONS]
    return pairs


def find_az_findings(conf: IniFile, az: str) -> tuple[Finding, ...]:
    """``storage_availability_zone`` (Cinder's default ``nova``) must be the site's AZ, which is also
    its Nova AZ, and no backend may override it (``backend_availability_zone``)."""
    findings = expect(
        "[DEFAULT] storage_availability_zone", conf.get("DEFAULT", "storage_availability_zone") or DEFAULT_AZ, az
    )
    for backend in get_rbd_backends(conf):
        if backend.availability_zone not in (None, az):
            findings += (Finding(f"[{backend.name}] backend_availability_zone", backend.availability_zone, az),)
    return findings


def find_cluster_findings(conf: IniFile, volume_cluster: str | None) -> tuple[Finding, ...]:
    """``[DEFAULT] cluster`` must be the site's active/active cluster name (unset where the model has
    none, as central's cinder-volume runs active/passive under pacemaker), and a cluster needs a
    coordination backend (TripleO: the site's etcd) so that its members do not clone the same volume
    at once."""
    cluster = conf.get("DEFAULT", "cluster") or None
    wanted = volume_cluster or None
    findings: tuple[Finding, ...] = ()
    if cluster != wanted:
        findings += (Finding("[DEFAULT] cluster", cluster, wanted or "unset (no A/A cluster in the site model)"),)
    if cluster and not conf.get("coordination", "backend_url"):
        findings += (Finding("[coordination] backend_url", None, "a tooz URL (the site's etcd)"),)
    return findings


def find_backend_findings(conf: IniFile, model: SiteModel, site: Site) -> tuple[Finding, ...]:
    """Every enabled RBD backend must name a cluster of the model with that cluster's volumes pool,
    user and fsid as libvirt secret; at a DCN site all of them must be the site's own cluster (its
    volumes cannot live elsewhere), and at least one backend must use the site's own cluster."""
    backends = get_rbd_backends(conf)
    if not backends:
        raw = conf.get("DEFAULT", "enabled_backends")
        return (Finding("[DEFAULT] enabled_backends", raw, f"an RBD backend ({RBD_DRIVER}) on {site.cluster}"),)
    by_cluster = {s.cluster: s for s in model.sites}
    findings: list[Finding] = []
    for backend in backends:
        where = f"[{backend.name}]"
        owner = by_cluster.get(backend.cluster or "")
        if owner is None or (owner is not site and not site.is_central):
            findings.append(Finding(f"{where} rbd_ceph_conf", backend.ceph_conf, f"/etc/ceph/{site.cluster}.conf"))
            continue
        findings += expect(f"{where} rbd_pool", backend.pool, owner.pools.volumes)
        findings += expect(f"{where} rbd_user", backend.user, "openstack" if owner is site else model.client_user)
        if owner.fsid is not None and (backend.secret_uuid or "").strip().lower() != owner.fsid.lower():
            findings.append(
                Finding(f"{where} rbd_secret_uuid", backend.secret_uuid, f"{owner.fsid} ({owner.cluster}'s fsid)")
            )
    if not any(backend.cluster == site.cluster for backend in backends) and not findings:
        findings.append(Finding("[DEFAULT] enabled_backends", conf.get("DEFAULT", "enabled_backends"),
                                f"a backend on /etc/ceph/{site.cluster}.conf"))  # fmt: skip
    return tuple(findings)


def find_glance_findings(conf: IniFile, site_glance: str) -> tuple[Finding, ...]:
    """``glance_api_servers`` must be the site's own Glance; unset, Cinder takes the catalog's public
    image endpoint, central's, whose locations in central's cluster an edge Cinder cannot clone."""
    raw = conf.get("DEFAULT", "glance_api_servers")
    servers = parse_list(raw)
    if servers and all(is_same_endpoint(url, site_glance) for url in servers):
        return ()
    return (Finding("[DEFAULT] glance_api_servers", raw, f"{site_glance} (the site's Glance)"),)
