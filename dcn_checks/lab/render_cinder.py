"""cinder.conf of a node running cinder-volume with the RBD backend, as puppet-tripleo renders it.

Sources: THT ``deployment/cinder/cinder-volume-container-puppet.yaml`` and ``cinder-base.yaml``;
puppet-tripleo ``profile/base/cinder/volume.pp`` (A/A cluster, coordination) and
``profile/base/cinder/volume/rbd.pp`` (backend section); puppet-cinder ``backend/rbd.pp``.

What TripleO does *not* write, although hand-built labs do: ``rbd_cluster_name``. puppet-tripleo's
rbd profile passes no cluster name (stable/wallaby and stable/zed), so Cinder keeps its default
``ceph`` and finds the cluster only through ``rbd_ceph_conf``.

On the controller, cinder-api and cinder-scheduler share this file with cinder-volume, as their
containers share the ``cinder`` config volume in TripleO; ``CinderWiring.api`` adds their part.
Options TripleO does not render are lab wiring and documented as such on ``CinderWiring`` and
``CinderApiWiring``: ``state_path``, privsep ``helper_command``, ``report_interval``,
``service_down_time``, quotas, the venv's paste/filter files, and the ``[glance]``/``[nova]``
service credentials.
"""

from __future__ import annotations

from collections.abc import Sequence

from dcn_checks.lab.render_model import (
    CINDER_VOLUME_ROLES,
    CinderWiring,
    NodeFile,
    NodeWiring,
    Role,
    WiringError,
    format_ini,
    ini_bool,
    keystone_authtoken,
    service_auth,
)
from dcn_checks.lab.render_params import (
    StackParams,
)

CINDER_CONF = "/var/lib/config-data/puppet-generated/cinder/etc/cinder/cinder.conf"
CONFIG_MODE = 0o640
RBD_DRIVER = "cinder.volume.drivers.rbd.RBDDriver"


def get_cinder_backends(stack: StackParams) -> tuple[tuple[str, str], ...]:
    """Return (section name, pool) per RBD backend: each CinderRbdBackendName, then ``<name>_<pool>``
    for every CinderRbdExtraPools entry (puppet-tripleo ``cinder/volume/rbd.pp``)."""
    backends: list[tuple[str, str]] = []
    for name in stack.cinder_rbd_backend_names:
        backends.append((name, stack.cinder_pool))
        backends.extend((f"{name}_{pool}", pool) for pool in stack.cinder_extra_pools)
    return tuple(backends)


def render_cinder_files(stack: StackParams, role: Role, wiring: NodeWiring) -> dict[str, NodeFile]:
    """Return cinder.conf for a node running cinder-volume on RBD; nothing otherwise.

    ``[DEFAULT] cluster`` is written only when CinderVolumeCluster is set, and then puppet requires
    etcd and writes ``[coordination] backend_url`` ("Running cinder-volume in active-active mode
    with a cluster name requires the etcd service."), so the wiring must give a coordination URL.
    """
    if role not in CINDER_VOLUME_ROLES or not stack.cinder_rbd:
        return {}
    if wiring.cinder is None:
        raise WiringError(f"role {role} runs cinder_volume but the node wiring has no cinder entry")
    cinder = wiring.cinder
    backends = get_cinder_backends(stack)
    default: list[tuple[str, str]] = [
        ("log_file", cinder.log_file),
        ("transport_url", cinder.transport_url.reveal()),
        ("storage_availability_zone", stack.cinder_az),
        ("enabled_backends", ",".join(name for name, _pool in backends)),
        ("glance_api_servers", cinder.glance_api_servers),
    ]
    coordination: list[tuple[str, str]] = []
    if stack.cinder_volume_cluster:
        if not cinder.coordination_url:
            raise WiringError("CinderVolumeCluster is set: cinder-volume in A/A mode needs a coordination URL")
        default.append(("cluster", stack.cinder_volume_cluster))
        coordination.append(("backend_url", cinder.coordination_url))
    default.extend(_lab_defaults(cinder))
    credentials = cinder.credentials
    if cinder.api is not None and credentials is None:
        raise WiringError(f"role {role} runs cinder-api but the cinder wiring has no service credentials")
    helper = cinder.privsep_helper_command
    sections: list[tuple[str, Sequence[tuple[str, str]]]] = [
        ("DEFAULT", default),
        ("database", [("connection", cinder.database_url.reveal())]),
        ("coordination", coordination),
        ("oslo_concurrency", [("lock_path", cinder.lock_path)]),
        ("keystone_authtoken", keystone_authtoken(credentials) if cinder.api is not None and credentials else []),
        ("glance", service_auth(credentials) if credentials else []),
        ("nova", [*service_auth(credentials), ("interface", "internal")] if credentials else []),
        ("cinder_sys_admin", [("helper_command", helper)] if helper else []),
        ("privsep_osbrick", [("helper_command", helper)] if helper else []),
        *((name, _backend_section(stack, name, pool, cinder.backend_host)) for name, pool in backends),
    ]
    return {CINDER_CONF: NodeFile(content=format_ini(sections), mode=CONFIG_MODE, owner="root")}


def _lab_defaults(cinder: CinderWiring) -> list[tuple[str, str]]:
    """``[DEFAULT]`` options of the api node and the lab wiring (see ``CinderWiring``)."""
    items: list[tuple[str, str]] = []
    if cinder.state_path:
        items.append(("state_path", cinder.state_path))
    if cinder.report_interval is not None:
        items.append(("report_interval", str(cinder.report_interval)))
    api = cinder.api
    if api is None:
        return items
    items += [
        ("auth_strategy", "keystone"),
        ("api_paste_config", api.paste_config_file),
        ("resource_query_filters_file", api.resource_filters_file),
    ]
    if api.service_down_time is not None:
        items.append(("service_down_time", str(api.service_down_time)))
    if api.unlimited_quotas:
        items += [(f"quota_{kind}", "-1") for kind in ("volumes", "snapshots", "gigabytes", "backups")]
        # db_sync stores a default quota class (10 volumes) that wins over quota_* unless told otherwise.
        items.append(("use_default_quota_class", "False"))
    return items


def _backend_section(stack: StackParams, name: str, pool: str, backend_host: str) -> list[tuple[str, str]]:
    items = [
        ("volume_backend_name", name),  # puppet-cinder cinder::backend::rbd default: the section name
        ("volume_driver", RBD_DRIVER),
        ("backend_host", backend_host),
        ("rbd_ceph_conf", f"/etc/ceph/{stack.cluster}.conf"),
        ("rbd_pool", pool),
        ("rbd_user", stack.client_user),
        ("rbd_secret_uuid", stack.require_fsid()),
        ("rbd_flatten_volume_from_snapshot", ini_bool(stack.cinder_flatten_volume_from_snapshot)),
    ]
    if stack.cinder_rbd_az:  # THT passes CinderRbdAvailabilityZone only when non-empty
        items.append(("backend_availability_zone", stack.cinder_rbd_az))
    return items
