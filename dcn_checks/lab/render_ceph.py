"""Ceph client files on a node: ``<cluster>.conf`` and keyrings of the own and the other sites' clusters.

TripleO writes these with Ansible, not puppet: ceph-ansible (ussuri..wallaby in our profiles) for the
stack's own cluster and for each CephExternalMultiConfig item, and tripleo-ansible's
``tripleo_ceph_client`` role (cephadm, zed) from ``ceph_client.yml``. Files land in the release's
host dir (``/etc/ceph``, or CephConfigPath ``/var/lib/tripleo-config/ceph`` from wallaby on); the
containers mount that dir as ``/etc/ceph``, so any path inside a file is an ``/etc/ceph`` path.

The two deployers differ only in keyring layout, and both are what real nodes hold, so checks that
parse keyrings must read both:

- ceph-ansible imports keys with ``ceph-authtool``: tab indent, caps quoted, caps sorted::

      [client.openstack]
      \tkey = AQ...==
      \tcaps mgr = "allow *"

- tripleo_ceph_client ``templates/ceph_key.j2``: three spaces, key quoted, caps in given order::

      [client.openstack]
         key = "AQ...=="
         caps mgr = allow *
"""

from __future__ import annotations

from collections.abc import Sequence

from dcn_checks.lab.render_model import (
    NodeFile,
    NodeWiring,
    format_ini,
)
from dcn_checks.lab.render_params import (
    CephKey,
    ParameterError,
    StackParams,
)
from dcn_checks.release import ReleaseProfile

#: Where containers see the client files, whatever the host dir (THT kolla ``src-ceph`` -> /etc/ceph).
CONTAINER_CEPH_DIR = "/etc/ceph"

#: ``[client.libvirt]`` lines, from tripleo_ceph_client ``defaults/main.yml`` and ceph-ansible's
#: ``rbd_client_admin_socket_path``/``rbd_client_log_file`` defaults (same values). ceph-ansible also
#: appends "# must be writable by QEMU ..." after each value; we leave that comment out because
#: configparser would keep it as part of the value (Ceph strips it, so the effective config is equal).
LIBVIRT_CLIENT_SECTION: tuple[tuple[str, str], ...] = (
    ("admin socket", "/var/run/ceph/$cluster-$type.$id.$pid.$cctid.asok"),
    ("log file", "/var/log/ceph/qemu-guest-$pid.log"),
)
CONF_MODE = 0o644
#: ceph-ansible ``ceph_keyring_permissions`` and the ``mode: "0600"`` TripleO gives client.openstack
#: (tripleo-ansible ``tripleo_ceph_work_dir/tasks/build_keys.yml``).
DEFAULT_KEYRING_MODE = 0o600
_HEADER = "# Ansible managed"


def openstack_client_key(stack: StackParams) -> CephKey:
    """Return client.<CephClientUserName> with the caps TripleO builds for it.

    tripleo-ansible ``tripleo_ceph_work_dir`` (build_pools.yml, build_keys.yml): mgr ``allow *``,
    mon ``profile rbd``, osd ``profile rbd pool=<p>`` for vms (NovaEnableRbdBackend), volumes
    (CinderEnableRbdBackend), images (GlanceBackend rbd), backups (CinderBackupBackend ceph), then
    CinderRbdExtraPools. The gnocchi ``metrics`` pool and CephPools are not modelled here.
    """
    if stack.client_key is None:
        raise ParameterError("CephClientKey", "is required when the stack uses Ceph RBD")
    pools = [
        *([stack.nova_pool] if stack.nova_rbd else []),
        *([stack.cinder_pool] if stack.cinder_rbd else []),
        *([stack.glance_pool] if stack.glance_backend == "rbd" else []),
        *([stack.cinder_backup_pool] if stack.cinder_backup_backend == "ceph" else []),
        *stack.cinder_extra_pools,
    ]
    caps = [("mgr", "allow *"), ("mon", "profile rbd")]
    if pools:
        caps.append(("osd", ", ".join(f"profile rbd pool={pool}" for pool in pools)))
    return CephKey(name=f"client.{stack.client_user}", key=stack.client_key, caps=tuple(caps), mode=0o600)


def render_ceph_client_files(
    stack: StackParams,
    profile: ReleaseProfile,
    mon_hosts: Sequence[str],
    wiring: NodeWiring,
) -> dict[str, NodeFile]:
    """Return the Ceph client files of a node of this stack, keyed by host path.

    The own cluster gets ``<CephClusterName>.conf`` (fsid, ``mon host`` = ``mon_hosts`` joined with
    commas) and one keyring per key (client.<CephClientUserName> plus CephExtraKeys). Every
    CephExternalMultiConfig item gets its own conf (fsid, ``mon host`` = ``external_cluster_mon_ips``,
    its ``ceph_conf_overrides``) and its ``keys``. A stack without RBD services gets nothing.
    """
    if not stack.uses_ceph:
        return {}
    if not mon_hosts:
        raise ParameterError("CephClusterName", f"no mon hosts given for the stack's cluster '{stack.cluster}'")
    files: dict[str, NodeFile] = {}
    own_keys = (openstack_client_key(stack), *stack.extra_keys)
    _add_cluster(
        files,
        profile,
        wiring,
        cluster=stack.cluster,
        fsid=stack.require_fsid(),
        mon_host=",".join(mon_hosts),
        keys=own_keys,
        overrides=(),
    )
    for external in stack.external_clusters:
        if external.cluster == stack.cluster or _conf_path(profile, external.cluster) in files:
            raise ParameterError(
                "CephExternalMultiConfig",
                f"cluster '{external.cluster}' is configured twice on this stack; each site's cluster "
                "needs its own CephClusterName",
            )
        _add_cluster(
            files,
            profile,
            wiring,
            cluster=external.cluster,
            fsid=external.fsid,
            mon_host=external.mon_ips,
            keys=external.keys,
            overrides=external.conf_overrides,
        )
    return files


def _conf_path(profile: ReleaseProfile, cluster: str) -> str:
    return profile.ceph_config_path(f"{cluster}.conf")


def _add_cluster(
    files: dict[str, NodeFile],
    profile: ReleaseProfile,
    wiring: NodeWiring,
    *,
    cluster: str,
    fsid: str,
    mon_host: str,
    keys: Sequence[CephKey],
    overrides: Sequence[tuple[str, Sequence[tuple[str, str]]]],
) -> None:
    files[_conf_path(profile, cluster)] = NodeFile(
        content=format_conf(cluster, fsid, mon_host, overrides, keys, lab_client_keyring=wiring.ceph_client_keyring),
        mode=CONF_MODE,
        owner="root",
    )
    for key in keys:
        files[profile.ceph_config_path(f"{cluster}.{key.name}.keyring")] = NodeFile(
            content=format_keyring(key, profile),
            mode=DEFAULT_KEYRING_MODE if key.mode is None else key.mode,
            owner="root",
        )


def format_conf(
    cluster: str,
    fsid: str,
    mon_host: str,
    overrides: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    keys: Sequence[CephKey],
    *,
    lab_client_keyring: bool,
) -> str:
    """Return a client ``<cluster>.conf`` as tripleo_ceph_client ``templates/ceph_conf.j2`` lays it out.

    ``[global]`` (fsid, mon host, then ``global`` overrides), the other override sections in the
    order given (e.g. ``[client] keyring = /etc/ceph/central.client.external.keyring``), then
    ``[client.libvirt]``. ceph-ansible's template puts ``[client.libvirt]`` before the overrides;
    section order does not change what Ceph reads.
    """
    sections: dict[str, list[tuple[str, str]]] = {"global": [("fsid", fsid), ("mon host", mon_host)]}
    for section, items in overrides:
        sections.setdefault(section, []).extend(items)
    if lab_client_keyring and keys and not any(key == "keyring" for key, _ in sections.get("client", [])):
        sections.setdefault("client", []).append(("keyring", f"{CONTAINER_CEPH_DIR}/{cluster}.{keys[0].name}.keyring"))
    sections.setdefault("client.libvirt", []).extend(LIBVIRT_CLIENT_SECTION)
    return format_ini(list(sections.items()), separator=" = ", header=_HEADER)


def format_keyring(key: CephKey, profile: ReleaseProfile) -> str:
    """Return a keyring file the way the release's Ceph deployer writes it (see module docstring)."""
    secret = key.key.reveal()
    if profile.ceph_deployer == "ceph-ansible":
        lines = [f"[{key.name}]", f"\tkey = {secret}"]
        lines += [f'\tcaps {service} = "{cap}"' for service, cap in sorted(key.caps)]
    else:
        lines = [f"[{key.name}]", f'   key = "{secret}"']
        lines += [f"   caps {service} = {cap}" for service, cap in key.caps]
    return "\n".join(lines) + "\n"


def render_admin_keyring(profile: ReleaseProfile, cluster: str, keyring: str) -> dict[str, NodeFile]:
    """Return ``<cluster>.client.admin.keyring`` of a mon node (Controller, DistributedComputeHCI).

    ceph-ansible (ceph-mon role, ``copy_admin_key``) and cephadm (``openstack overcloud ceph deploy``
    distributes the admin keyring to the ``_admin`` hosts) leave it next to the conf, mode 0600, so
    that ``cephadm shell --config <cluster>.conf --keyring <cluster>.client.admin.keyring`` works on
    the node. ``keyring`` is the cluster's own admin keyring text, written as the deployer got it.
    """
    return {profile.ceph_config_path(f"{cluster}.client.admin.keyring"): NodeFile(keyring, 0o600, "root")}
