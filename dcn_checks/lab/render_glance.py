"""glance-api.conf and glance-image-import.conf of a node, as puppet-tripleo renders them.

Sources: THT ``deployment/glance/glance-api-container-puppet.yaml`` (hiera), ``glance-api-internal-
container-puppet.yaml`` and ``glance-api-edge-container-puppet.yaml``; puppet-tripleo
``profile/base/glance/api.pp`` and ``backend/rbd.pp``; puppet-glance ``api.pp`` and
``backend/multistore/rbd.pp`` (value formats).

Which glance-api runs where, and whether it shows image locations:

- before OSSN-0090 (THT "Deploy separate glance-api services for OSSN-0090", Nov 2022, backported to
  wallaby and zed): one ``glance_api`` on Controllers and on GlanceApiEdge nodes, with
  ``show_image_direct_url = True`` and ``show_multiple_locations`` = GlanceShowMultipleLocations, or
  forced on when an rbd store exists and NovaEnableRbdBackend is true.
- after it: Controllers run ``glance_api`` (public endpoint; both options False) and
  ``glance_api_internal`` (internal/admin endpoints; both True). GlanceApiEdge is built on
  GlanceApiInternal, so DCN nodes run only ``glance_api_internal``; GlanceShowMultipleLocations is
  deprecated and no longer read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dcn_checks.lab.render_model import (
    DCN_ROLES,
    GLANCE_ROLES,
    GlanceService,
    GlanceWiring,
    NodeFile,
    NodeWiring,
    Role,
    WiringError,
    format_ini,
    ini_bool,
    keystone_authtoken,
)
from dcn_checks.lab.render_params import (
    MultistoreBackendError,
    ParameterError,
    StackParams,
)
from dcn_checks.release import ReleaseProfile

CONFIG_MODE = 0o640


def glance_config_dir(service: GlanceService) -> str:
    """Return the host dir of a glance-api container's puppet-generated config."""
    return f"/var/lib/config-data/puppet-generated/{service}/etc/glance"


@dataclass(frozen=True, slots=True)
class GlanceStore:
    """One entry of ``enabled_backends`` with its store section, after puppet's defaulting."""

    store_id: str
    backend: str
    description: str
    ceph_conf: str
    user: str
    pool: str


@dataclass(frozen=True, slots=True)
class GlanceInstance:
    """One glance-api process on a node and whether it exposes image locations."""

    service: GlanceService
    show_image_direct_url: bool
    show_multiple_locations: bool


def get_glance_stores(stack: StackParams) -> tuple[GlanceStore, ...]:
    """Return the stores in ``enabled_backends`` order: GlanceBackendID first, then the multistore items.

    Per item puppet picks the item's CephClientUserName / GlanceRbdPoolName / GlanceStoreDescription,
    else the stack's; ``rbd_store_ceph_conf`` is ``/etc/ceph/<item CephClusterName>.conf``, else the
    stack's own conf (``backend/rbd.pp``). Raises ``MultistoreBackendError`` for an item without
    GlanceBackend and ParameterError for a repeated store ID, as puppet fails on both.
    """
    default_conf = f"/etc/ceph/{stack.cluster}.conf"
    stores = [
        GlanceStore(
            store_id=stack.glance_backend_id,
            backend=stack.glance_backend,
            description=stack.glance_store_description,
            ceph_conf=default_conf,
            user=stack.client_user,
            pool=stack.glance_pool,
        )
    ]
    for item in stack.multistore:
        if item.backend is None:
            raise MultistoreBackendError(item.store_id)
        stores.append(
            GlanceStore(
                store_id=item.store_id,
                backend=item.backend,
                description=item.description or stack.glance_store_description,
                ceph_conf=f"/etc/ceph/{item.cluster}.conf" if item.cluster else default_conf,
                user=item.user or stack.client_user,
                pool=item.pool or stack.glance_pool,
            )
        )
    ids = [store.store_id for store in stores]
    for store_id in ids:
        if store_id.startswith("os_glance_"):
            raise ParameterError("GlanceMultistoreConfig", f"store ID '{store_id}' uses Glance's reserved prefix")
    duplicates = sorted({store_id for store_id in ids if ids.count(store_id) > 1})
    if duplicates:
        # puppet-glance api.pp: "All backend identifiers in enabled_backends must be unique."
        raise ParameterError(
            "GlanceMultistoreConfig",
            f"store ID(s) {', '.join(duplicates)} repeat GlanceBackendID or each other; "
            "all backend identifiers in enabled_backends must be unique",
        )
    return tuple(stores)


def get_glance_instances(stack: StackParams, role: Role, profile: ReleaseProfile) -> tuple[GlanceInstance, ...]:
    """Return the glance-api processes a node of ``role`` runs (none for roles without Glance)."""
    if role not in GLANCE_ROLES:
        return ()
    if not profile.glance_internal_service:
        rbd_enabled = stack.glance_backend == "rbd" or any(item.backend == "rbd" for item in stack.multistore)
        multiple = stack.glance_show_multiple_locations or (rbd_enabled and stack.nova_rbd)
        return (GlanceInstance("glance_api", show_image_direct_url=True, show_multiple_locations=multiple),)
    internal = GlanceInstance("glance_api_internal", show_image_direct_url=True, show_multiple_locations=True)
    if role in DCN_ROLES:
        return (internal,)
    public = GlanceInstance("glance_api", show_image_direct_url=False, show_multiple_locations=False)
    return (public, internal)


def get_import_plugins(stack: StackParams) -> tuple[str, ...]:
    """Return ``image_import_plugins``: image_conversion is appended when THT forces it.

    THT condition ``force_image_conversion_plugin``: (an rbd store exists, GlanceImageImportPlugins is
    left at its default ``['no_op']``, and NovaEnableRbdBackend) or GlanceSparseUploadEnabled; the
    value is then ``list_concat_unique(GlanceImageImportPlugins, ['image_conversion'])``.
    """
    plugins = stack.glance_import_plugins
    rbd_enabled = stack.glance_backend == "rbd" or any(item.backend == "rbd" for item in stack.multistore)
    forced = (rbd_enabled and plugins == ("no_op",) and stack.nova_rbd) or stack.glance_sparse_upload
    if forced and "image_conversion" not in plugins:
        return (*plugins, "image_conversion")
    return plugins


def render_glance_files(
    stack: StackParams, role: Role, profile: ReleaseProfile, wiring: NodeWiring
) -> dict[str, NodeFile]:
    """Return glance-api.conf and glance-image-import.conf of every glance-api on the node."""
    files: dict[str, NodeFile] = {}
    instances = get_glance_instances(stack, role, profile)
    if not instances:
        return files
    stores = get_glance_stores(stack)
    import_conf = format_ini(
        [
            ("image_import_opts", [("image_import_plugins", _bracket_list(get_import_plugins(stack)))]),
            ("image_conversion", [("output_format", stack.glance_conversion_output_format)]),
        ]
    )
    for instance in instances:
        service_wiring = wiring.glance.get(instance.service)
        if service_wiring is None:
            raise WiringError(f"role {role} runs {instance.service} but the node wiring has no glance entry for it")
        directory = glance_config_dir(instance.service)
        files[f"{directory}/glance-api.conf"] = NodeFile(
            content=format_glance_api_conf(stack, stores, instance, service_wiring), mode=CONFIG_MODE, owner="root"
        )
        files[f"{directory}/glance-image-import.conf"] = NodeFile(content=import_conf, mode=CONFIG_MODE, owner="root")
    return files


def format_glance_api_conf(
    stack: StackParams, stores: Sequence[GlanceStore], instance: GlanceInstance, wiring: GlanceWiring
) -> str:
    """Return glance-api.conf: storage options from the stack, the rest from the wiring."""
    default: list[tuple[str, str]] = [
        ("log_file", wiring.log_file),
        ("enabled_backends", ",".join(f"{store.store_id}:{store.backend}" for store in stores)),
        ("enabled_import_methods", _bracket_list(stack.glance_import_methods)),
        ("show_image_direct_url", ini_bool(instance.show_image_direct_url)),
        ("show_multiple_locations", ini_bool(instance.show_multiple_locations)),
    ]
    if wiring.transport_url is not None:
        default.append(("transport_url", wiring.transport_url.reveal()))
    credentials = wiring.credentials
    paste = [("flavor", "keystone")]  # THT glance::api::pipeline 'keystone' (no cache)
    if wiring.paste_config_file:
        paste.insert(0, ("config_file", wiring.paste_config_file))
    sections: list[tuple[str, Sequence[tuple[str, str]]]] = [
        ("DEFAULT", default),
        ("database", [("connection", wiring.database_url.reveal())]),
        ("keystone_authtoken", keystone_authtoken(credentials)),
        ("paste_deploy", paste),
        ("glance_store", [("default_backend", stack.glance_backend_id)]),
        *((store.store_id, _store_section(stack, store)) for store in stores),
        ("os_glance_staging_store", [("filesystem_store_datadir", wiring.staging_dir)]),
        ("os_glance_tasks_store", [("filesystem_store_datadir", wiring.tasks_dir)]),
        ("oslo_concurrency", [("lock_path", wiring.lock_path)]),
        ("wsgi", [("python_interpreter", wiring.python_interpreter)] if wiring.python_interpreter else []),
    ]
    if wiring.import_port is not None:
        # Lab-only deviation: web-download may reach the lab's image server (dcn_checks.lab.webserver), on
        # a port beside 80 and 443 and on loopback, which Glance refuses unless the host is allowed.
        sections.append(
            (
                "import_filtering_opts",
                [("allowed_ports", f"[80,443,{wiring.import_port}]"), ("allowed_hosts", "[127.0.0.1]")],
            )
        )
    return format_ini(sections)


def _store_section(stack: StackParams, store: GlanceStore) -> list[tuple[str, str]]:
    if store.backend != "rbd":
        # file/swift/cinder stores need options (and services) the lab does not have; TripleO would
        # render them, we only keep the description so that stores-info still lists them.
        return [("store_description", store.description)]
    return [
        ("rbd_store_ceph_conf", store.ceph_conf),
        ("rbd_store_user", store.user),
        ("rbd_store_pool", store.pool),
        # THT passes GlanceSparseUploadEnabled to every rbd store (glance::backend::rbd).
        ("rbd_thin_provisioning", ini_bool(stack.glance_sparse_upload)),
        ("store_description", store.description),
    ]


def _bracket_list(values: Sequence[str]) -> str:
    """puppet-glance writes these ListOpts "with explicit brackets": ``[web-download,copy-image]``."""
    return "[" + ",".join(values) + "]"
