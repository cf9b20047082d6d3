"""Deploying the embedded lab from our own generated environment files, the way TripleO would.

``up()`` runs the source document's procedure on one machine: generate the stacks' environment
files, read each stack's effective Heat parameters from its deploy command (as Heat would merge
them), deploy one Ceph cluster per stack with the keys those files define, render every node's files
(``render``), and start PostgreSQL, Keystone, one Glance API per glance-api service on its node, and
Cinder (RabbitMQ, api and scheduler at central, one cinder-volume per site on the site's cluster).
Faults are applied where the same mistake arises in real life (``faults``). ``down()`` stops every
process it started, by PID, from the state file, so it also works after the CLI was killed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast, get_args

import yaml

from dcn_checks.cephx import Secret, rbd_client_caps
from dcn_checks.errors import BadInputError, InputFileError, LabError
from dcn_checks.generator import generate
from dcn_checks.heat import load_catalog
from dcn_checks.inputs import read_json, shown
from dcn_checks.lab import (
    capacity,
    ceph,
    cinder,
    glance,
    keystone,
    ports,
    postgres,
    processes,
    rabbitmq,
    seed,
    webserver,
)
from dcn_checks.lab.cloud_faults import apply_cloud_faults
from dcn_checks.lab.cluster_faults import apply_cluster_faults
from dcn_checks.lab.faults import Fault, apply_env_faults, apply_node_fault, apply_process_faults, fault_node
from dcn_checks.lab.nodes import BindMount
from dcn_checks.lab.nova import deployment as nova_deployment
from dcn_checks.lab.nova import service as nova_service
from dcn_checks.lab.render import (
    CinderWiring,
    GlanceWiring,
    NodeFile,
    NodeWiring,
    NovaWiring,
    Role,
    ServiceCredentials,
    render_node,
)
from dcn_checks.lab.render_ceph import render_admin_keyring
from dcn_checks.lab.render_cinder import CINDER_CONF, get_cinder_backends
from dcn_checks.lab.render_glance import GlanceInstance, get_glance_instances
from dcn_checks.lab.render_model import CINDER_VOLUME_ROLES, CinderApiWiring
from dcn_checks.lab.render_nova import NOVA_API_CONF, get_compute_az
from dcn_checks.lab.render_params import StackParams, parse_stack_params
from dcn_checks.ledger import LEDGER_DIR
from dcn_checks.lint.envdir import Stack, read_env_directory
from dcn_checks.model import Node, Site, SiteModel
from dcn_checks.release import get_profile
from dcn_checks.target import TARGET_FILE, render_lab_target

log = logging.getLogger(__name__)

LAB_FILE = "lab.json"
#: Lab wiring of Cinder's liveness: heartbeats every 2 s, down after 10 s without one (TripleO keeps
#: Cinder's defaults, 10 s and 60 s), so a stopped cinder-volume shows as down within a test's wait.
CINDER_REPORT_INTERVAL_S = 2
CINDER_SERVICE_DOWN_TIME_S = 10
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class GlanceEndpoint:
    """One running glance-api of the lab: which site and service, where it listens, on which node."""

    site: str
    service: str
    node: str
    url: str


@dataclass(frozen=True, slots=True)
class LabInfo:
    """What ``lab up`` leaves behind for the checks and for ``lab status``."""

    lab_dir: Path
    release: str
    clouds_yaml: Path
    cloud: str
    model_path: Path
    inventory_path: Path
    env_dir: Path
    nodes_dir: Path
    glance: tuple[GlanceEndpoint, ...]
    faults: tuple[str, ...]
    seed_image: str | None = None  # the Glance image ID of the seed image, when an image fault made one
    cinder: str | None = None  # the cinder-api URL (volumev3 in the catalog at central)
    compute: str | None = None  # the Nova model's URL (compute in the catalog at central)
    osd_bytes: int | None = None  # the size each OSD's backing file may grow to (None: a lab of before)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        return json.dumps(data, indent=2, default=str) + "\n"


def read_lab_info(lab_dir: Path) -> LabInfo | None:
    """Return what ``lab up`` recorded in ``lab_dir``, or None when no lab was brought up there."""
    path = lab_dir / LAB_FILE
    if not path.exists():
        return None
    data = read_json(path, "the lab's record")
    try:
        return LabInfo(
            lab_dir=Path(data["lab_dir"]),
            release=str(data["release"]),
            clouds_yaml=Path(data["clouds_yaml"]),
            cloud=str(data["cloud"]),
            model_path=Path(data["model_path"]),
            inventory_path=Path(data["inventory_path"]),
            env_dir=Path(data["env_dir"]),
            nodes_dir=Path(data["nodes_dir"]),
            glance=tuple(GlanceEndpoint(**g) for g in data["glance"]),
            faults=tuple(str(name) for name in data["faults"]),
            seed_image=data.get("seed_image"),
            cinder=data.get("cinder"),
            compute=data.get("compute"),
            osd_bytes=data.get("osd_bytes"),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise InputFileError(str(path), "", f"the lab's record is not one dcn-checks wrote ({shown(err)})") from err


#: Written first into a lab directory: the proof that dcn-checks made it, so ``lab up`` may reuse it.
LAB_MARKER = ".dcn-checks-lab"
#: Every top-level entry a lab writes into its directory. Reusing a directory removes these and
#: nothing else: a file a user put there survives (a lab test keeps this list complete).
LAB_ENTRIES = frozenset(
    {
        "ceph", "cinder", "env", "glance", "http", "keystone", "logs", "nodes", "nova", "postgres", "rabbitmq",
        "clouds.yaml", "inventory.yaml", "sites.yaml", TARGET_FILE, LAB_FILE,
        processes.STATE_FILE, f".{processes.STATE_FILE}.lock", f"{processes.STATE_FILE[:-5]}.tmp",
        LEDGER_DIR,  # the run ledgers of checks run against this lab (dcn_checks.ledger)
    }
)  # fmt: skip


def is_lab_dir(lab_dir: Path) -> bool:
    """Tell whether ``lab_dir`` is a directory a lab of dcn-checks was made in."""
    return (lab_dir / LAB_MARKER).is_file()


def require_lab_dir(lab_dir: Path) -> None:
    """Refuse a path that is not a lab directory, before ``lab down``/``status`` touch anything."""
    if not lab_dir.exists():
        raise BadInputError(f"{lab_dir}: no such lab directory")
    if not lab_dir.is_dir():
        raise BadInputError(f"{lab_dir}: not a directory; --lab-dir names a lab directory")
    if not is_lab_dir(lab_dir):
        raise BadInputError(f"{lab_dir}: not a lab directory of dcn-checks (it has no {LAB_MARKER})")


def check_lab_dir(lab_dir: Path) -> None:
    """Refuse a ``--lab-dir`` that ``lab up`` may not use: a file, or a non-empty directory that is not a lab's."""
    if lab_dir.exists() and not lab_dir.is_dir():
        raise BadInputError(f"{lab_dir}: not a directory; --lab-dir names a new, empty or lab directory")
    if lab_dir.is_dir() and not is_lab_dir(lab_dir) and any(lab_dir.iterdir()):
        raise BadInputError(
            f"{lab_dir}: not empty and not a lab directory of dcn-checks (no {LAB_MARKER}); "
            "name a new or empty directory"
        )


def claim_lab_dir(lab_dir: Path) -> None:
    """Make ``lab_dir`` ours: a new or empty directory gets the marker; an earlier lab's entries are removed.

    A non-empty directory without the marker is refused untouched: it is somebody else's.
    """
    check_lab_dir(lab_dir)
    try:
        lab_dir.mkdir(parents=True, exist_ok=True)
        (lab_dir / LAB_MARKER).write_text("A lab directory of dcn-checks: 'dcn-checks lab down' stops its processes.\n")
    except OSError as err:
        raise BadInputError(f"{lab_dir}: cannot make the lab directory: {err.strerror or err}") from err
    for entry in sorted(lab_dir.iterdir()):
        if entry.name not in LAB_ENTRIES:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def is_up(lab_dir: Path) -> bool:
    """Tell whether any process a lab started in ``lab_dir`` is still running."""
    return any(processes.is_running(record) for record in processes.load_records(lab_dir))


def node_root(lab_dir: Path, node: str) -> Path:
    """Return the directory that stands for ``/`` of a lab node."""
    return lab_dir / "nodes" / node


def ceph_binds(lab_dir: Path, node: str, release: str) -> tuple[BindMount, ...]:
    """Bind mounts that show a node's Ceph client files at /etc/ceph, as its containers see them."""
    host_dir = get_profile(release).ceph_config_host_dir.lstrip("/")
    return (BindMount(node_root(lab_dir, node) / host_dir, Path("/etc/ceph")),)


def _timed(progress: Progress, what: str, started: float) -> None:
    progress(f"{what} ({time.monotonic() - started:.1f}s)")


def _lab_model(model: SiteModel, mon_hosts: Sequence[str]) -> SiteModel:
    """The model with each cluster's mons replaced by the lab's loopback mon address."""
    sites = tuple(dataclasses.replace(site, mons=(mon,)) for site, mon in zip(model.sites, mon_hosts, strict=True))
    return dataclasses.replace(model, sites=sites)


def _stack_of(site: Site, stacks: Mapping[str, Stack]) -> Stack:
    try:
        return stacks[site.stack]
    except KeyError:
        raise LabError(f"the generated files have no stack {site.stack} for site {site.name}") from None


def cluster_spec(site: Site, stack: Stack, *, osd_bytes: int = ceph.DEFAULT_OSD_BYTES) -> ceph.ClusterSpec:
    """What ceph-ansible / cephadm would create for a stack: name, fsid, client.openstack and CephExtraKeys."""
    params = parse_stack_params(stack.effective)
    if params.client_key is None:
        raise LabError(f"stack {stack.name} sets no CephClientKey, so its client.openstack key is unknown")
    keys = [ceph.CephKeySpec("client.openstack", params.client_key.reveal(), rbd_client_caps(site.pools.names()))]
    for extra in params.extra_keys:
        keys.append(ceph.CephKeySpec(extra.name, extra.key.reveal(), dict(extra.caps)))
    return ceph.ClusterSpec(name=params.cluster, fsid=params.require_fsid(), keys=tuple(keys), osd_bytes=osd_bytes)


def lab_role(node: Node) -> Role:
    """Return the node's first role, which decides what the lab renders and runs on it."""
    role = node.roles[0]
    if role not in get_args(Role):
        raise LabError(f"node {node.name}: the lab cannot deploy role {role} (it has no OpenStack service to run)")
    return cast(Role, role)


def _write_node_files(root: Path, files: Mapping[str, NodeFile]) -> None:
    for path, node_file in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, node_file.mode)
        os.fchmod(descriptor, node_file.mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(node_file.content)


def up(
    lab_dir: Path,
    model: SiteModel,
    faults: tuple[Fault, ...] = (),
    *,
    venv: Path,
    progress: Progress = lambda message: log.info("%s", message),
    osd_bytes: int = ceph.DEFAULT_OSD_BYTES,
) -> LabInfo:
    """Bring up the lab for ``model`` in ``lab_dir``; on any failure stop what was started and raise.

    Each site's OSD gets a sparse backing file of ``osd_bytes``; a lab whose files could not all grow
    to that size on ``lab_dir``'s file system is refused before anything starts (BadInputError).
    """
    if is_lab_dir(lab_dir) and is_up(lab_dir):
        raise LabError(f"a lab is already up in {lab_dir}; run 'dcn-checks lab down --lab-dir {lab_dir}' first")
    check_lab_dir(lab_dir)
    capacity.check_disk_space(lab_dir, len(model.sites), osd_bytes)
    claim_lab_dir(lab_dir)
    try:
        return _up(lab_dir, model, faults, venv=venv, progress=progress, osd_bytes=osd_bytes)
    except BaseException:
        progress("lab up failed; stopping what was started")
        processes.stop_all(lab_dir)
        raise


def _up(
    lab_dir: Path, model: SiteModel, faults: tuple[Fault, ...], *, venv: Path, progress: Progress, osd_bytes: int
) -> LabInfo:
    started = time.monotonic()
    profile = model.profile
    cluster_ports = ceph.allocate_cluster_ports(len(model.sites))
    lab = _lab_model(model, [ceph.mon_host(p) for p in cluster_ports])

    env_dir = lab_dir / "env"
    generate(lab, env_dir)
    apply_env_faults(faults, lab, env_dir)
    directory = read_env_directory(env_dir, load_catalog(profile.catalog).key)
    stacks = {stack.name: stack for stack in directory.stacks}
    _timed(progress, f"generated environment files for {len(stacks)} stacks", started)

    specs = [cluster_spec(site, _stack_of(site, stacks), osd_bytes=osd_bytes) for site in lab.sites]

    def start_clusters() -> list[ceph.Cluster]:
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            up = list(pool.map(lambda pair: ceph.start_cluster(lab_dir, *pair), zip(specs, cluster_ports, strict=True)))
        _timed(progress, f"ceph: {len(up)} clusters up", started)
        return up

    def start_identity() -> tuple[postgres.Postgres, keystone.Keystone]:
        database = postgres.start_postgres(lab_dir, databases=("keystone", "glance", "cinder"))
        _timed(progress, f"postgresql up on 127.0.0.1:{database.port}", started)
        # Cinder's schema needs only the database, so it is created while Keystone starts.
        with ThreadPoolExecutor(max_workers=1) as side:
            cinder_schema = side.submit(cinder.db_sync, lab_dir, venv, database.url("cinder"))
            identity = keystone.start_keystone(
                lab_dir, venv, database.url("keystone"), admin_password=secrets.token_urlsafe(16)
            )
            cinder_schema.result()
        _timed(progress, f"keystone up on {identity.url}, cinder schema created", started)
        return database, identity

    def start_bus() -> rabbitmq.RabbitMQ:
        broker = rabbitmq.start_rabbitmq(lab_dir)
        _timed(progress, f"rabbitmq up on 127.0.0.1:{broker.ports.amqp}", started)
        return broker

    # The clusters, the identity side and the message bus do not need each other: bring them up side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        clusters_future = pool.submit(start_clusters)
        identity_future = pool.submit(start_identity)
        bus_future = pool.submit(start_bus)
        clusters = clusters_future.result()
        apply_cluster_faults(lab_dir, faults, {s.name: c for s, c in zip(lab.sites, clusters, strict=True)})
        pg, ks = identity_future.result()
        bus = bus_future.result()

    glance_password = Secret(secrets.token_urlsafe(16))
    credentials = ServiceCredentials(
        username="glance", password=glance_password, auth_url=ks.url, www_authenticate_uri=ks.url
    )
    cinder_password = Secret(secrets.token_urlsafe(16))
    nova_password = Secret(secrets.token_urlsafe(16))
    nova_credentials = ServiceCredentials(
        username="nova", password=nova_password, auth_url=ks.url, www_authenticate_uri=ks.url
    )
    nova_api = nova_deployment.api_node(lab.central)
    cinder_credentials = ServiceCredentials(
        username="cinder", password=cinder_password, auth_url=ks.url, www_authenticate_uri=ks.url
    )
    endpoints: list[tuple[GlanceEndpoint, glance.GlanceSite]] = []
    # Plan first, so that every node knows its site's Glance URL before anything is rendered.
    plan: list[tuple[Site, ceph.Cluster, StackParams, list[tuple[Node, tuple[GlanceInstance, ...]]]]] = []
    for site, cluster in zip(lab.sites, clusters, strict=True):
        params = parse_stack_params(_stack_of(site, stacks).effective)
        nodes = []
        for node in site.nodes:
            instances = get_glance_instances(params, lab_role(node), profile)
            nodes.append((node, instances))
            binds = ceph_binds(lab_dir, node.name, lab.release)
            for instance in instances:
                if any(e.site == site.name and e.service == instance.service for e, _ in endpoints):
                    continue  # one process per site and service is what the lab needs
                port = ports.allocate_ports(1)[0]
                config_dir = (
                    node_root(lab_dir, node.name)
                    / f"var/lib/config-data/puppet-generated/{instance.service}/etc/glance"
                )
                endpoints.append(
                    (
                        GlanceEndpoint(site.name, instance.service, node.name, f"http://127.0.0.1:{port}"),
                        glance.GlanceSite(f"{site.name}.{instance.service}", config_dir, port, binds),
                    )
                )
        plan.append((site, cluster, params, nodes))

    image_server = webserver.start_image_server(lab_dir, webserver.allocate_port())
    _timed(progress, f"image server up on {image_server.url}", started)

    # The node that runs a site's cinder-volume; central's also runs cinder-api and cinder-scheduler.
    cinder_nodes = {
        site.name: volume_node
        for site, _c, params, _n in plan
        if (volume_node := cinder_volume_node(site, params)) is not None
    }
    cinder_api_node = cinder_nodes.get(lab.central.name)
    if cinder_api_node is None:
        raise LabError(f"central site {lab.central.name} has no node that runs cinder-volume with RBD")

    def local_glance(site: Site) -> str:
        """The Glance that Nova and Cinder of a site use: the edge one, or central's internal one."""
        urls = {e.service: e.url for e, _ in endpoints if e.site == site.name}
        return urls.get("glance_api_internal") or urls["glance_api"]

    for site, cluster, params, nodes in plan:
        for node, instances in nodes:
            node_name = node.name
            logs = lab_dir / "logs" / node_name
            logs.mkdir(parents=True, exist_ok=True)
            glance_wiring = {}
            for instance in instances:
                service_dir = lab_dir / "glance" / node_name / instance.service
                for part in ("staging", "tasks", "locks"):
                    (service_dir / part).mkdir(parents=True, exist_ok=True)
                glance_wiring[instance.service] = GlanceWiring(
                    database_url=Secret(pg.url("glance")),
                    credentials=credentials,
                    staging_dir=str(service_dir / "staging") + "/",
                    tasks_dir=str(service_dir / "tasks") + "/",
                    lock_path=str(service_dir / "locks"),
                    log_file=str(logs / f"{instance.service}.log"),
                    paste_config_file=str(venv / "etc" / "glance" / "glance-api-paste.ini"),
                    python_interpreter=str(venv / "bin" / "python"),
                    import_port=image_server.port,
                )
            wiring = NodeWiring(
                glance=glance_wiring,
                nova=NovaWiring(
                    host=node_name,
                    log_file=str(logs / ("nova-api.log" if node is nova_api else "nova-compute.log")),
                    glance_endpoint=None if site.is_central else local_glance(site),
                    credentials=nova_credentials if node is nova_api else None,
                    database_url=Secret(f"sqlite:///{lab_dir / 'nova' / 'nova.sqlite'}") if node is nova_api else None,
                ),
                cinder=CinderWiring(
                    backend_host=f"hostgroup-{site.name}",
                    database_url=Secret(pg.url("cinder")),
                    transport_url=bus.transport_url(),
                    glance_api_servers=local_glance(site),
                    lock_path=str(lab_dir / "cinder" / node_name / "locks"),
                    log_file=str(logs / "cinder-volume.log"),
                    coordination_url=f"file://{lab_dir / 'cinder' / site.name / 'coordination'}",
                    credentials=cinder_credentials,
                    state_path=str(lab_dir / "cinder" / node_name / "state"),
                    privsep_helper_command=(
                        f"{venv / 'bin' / 'privsep-helper'} --config-file "
                        f"{node_root(lab_dir, node_name) / CINDER_CONF.lstrip('/')}"
                    ),
                    report_interval=CINDER_REPORT_INTERVAL_S,
                    api=cinder_api_wiring(venv) if node_name == cinder_api_node.name else None,
                ),
                ceph_client_keyring=True,
            )
            role = lab_role(node)
            files = render_node(params, role=role, profile=profile, mon_hosts=[cluster.mon_host], wiring=wiring)
            if node.has("CephMon"):
                files = {**files, **render_admin_keyring(profile, cluster.name, cluster.admin_keyring_path.read_text())}
            for fault in faults:
                if fault.stage == "node" and fault_node(fault, lab) == node_name:
                    other = next(c for s, c in zip(lab.sites, clusters, strict=True) if s.name == fault.site)
                    files = apply_node_fault(
                        fault,
                        files,
                        ceph_dir=profile.ceph_config_host_dir,
                        central_cluster=lab.central.cluster,
                        user=lab.client_user,
                        other_fsid=other.fsid,
                        other_mon_host=other.mon_host,
                        site_cluster=other.name,
                        now=time.time(),
                    )
            _write_node_files(node_root(lab_dir, node_name), files)
    _timed(progress, f"rendered node files of {sum(len(s.nodes) for s in lab.sites)} nodes", started)

    cinder_port, nova_port = ports.allocate_ports(2, exclude=[site.port for _, site in endpoints])
    cinder_url = f"http://127.0.0.1:{cinder_port}"
    nova_url = f"http://127.0.0.1:{nova_port}"
    keystone.register_services(
        ks,
        [
            keystone.ServiceUser("glance", glance_password.reveal()),
            keystone.ServiceUser("cinder", cinder_password.reveal()),
            keystone.ServiceUser("nova", nova_password.reveal()),
        ],
        [
            *image_catalog(lab.central, endpoints),
            volume_catalog(cinder_url),
            keystone.CatalogService("nova", "compute", nova_url + nova_deployment.CATALOG_PATH, PUBLIC_INTERNAL_ADMIN),
        ],
    )
    # Cinder and Glance do not wait for each other until a volume is made from an image.
    with ThreadPoolExecutor(max_workers=1) as pool:
        cinder_future = pool.submit(
            cinder.start_cinder,
            lab_dir,
            venv,
            _cinder_node(lab_dir, lab.release, lab.central, cinder_api_node),
            [
                _cinder_node(lab_dir, lab.release, site, volume_node)
                for site in lab.sites
                if (volume_node := cinder_nodes.get(site.name))
            ],
            api_port=cinder_port,
        )
        first = endpoints[0][1]
        glance.db_sync(venv, first.config_dir, binds=first.binds)
        glance.start_glances(lab_dir, venv, [site for _, site in endpoints])
        _timed(progress, f"glance: {len(endpoints)} API processes healthy", started)
        _api, cinder_records = cinder_future.result()
    expected_pools = [
        cinder.pool_name(f"hostgroup-{site.name}", params.cinder_volume_cluster, backend)
        for site, _cluster, params, _nodes in plan
        if site.name in cinder_nodes
        for backend, _pool in get_cinder_backends(params)
    ]
    conn = keystone.connect(ks)
    try:
        cinder.wait_for_pools(conn, expected_pools, cinder_records)
    finally:
        conn.close()
    _timed(progress, f"cinder: api, scheduler and {len(cinder_nodes)} volume services serving", started)
    if nova_api is not None:
        _start_nova(lab_dir, venv, lab, plan, ks, nova_api, nova_port)
        _timed(progress, f"nova model up on {nova_url}, AZ aggregates created", started)
    apply_process_faults(faults, lab_dir)
    apply_cloud_faults(faults, ks, [e for e, _ in endpoints])

    info = _write_outputs(
        lab_dir,
        lab,
        clusters,
        ks,
        env_dir,
        tuple(e for e, _ in endpoints),
        faults,
        cinder_url=cinder_url,
        compute_url=nova_url if nova_api is not None else None,
        osd_bytes=osd_bytes,
        image_url=image_server.url,
    )
    image_faults = tuple(fault for fault in faults if fault.stage == "image")
    if image_faults:
        info = seed.apply_image_faults(
            info, {site.name: cluster for site, cluster in zip(lab.sites, clusters, strict=True)}, image_faults
        )
        _timed(progress, f"seed image broken by {', '.join(f.name for f in image_faults)}", started)
    _timed(progress, "lab is up", started)
    return info


PUBLIC_INTERNAL_ADMIN = ("public", "internal", "admin")


def _start_nova(
    lab_dir: Path,
    venv: Path,
    lab: SiteModel,
    plan: Sequence[tuple[Site, ceph.Cluster, StackParams, object]],
    ks: keystone.Keystone,
    api_node: Node,
    port: int,
) -> nova_service.NovaProcess:
    """Start the Nova model on the central Controller, then let NovaAZConfig build each stack's aggregate."""
    process = nova_service.start_nova(
        lab_dir,
        venv,
        nova_service.NovaSite(
            config_file=node_root(lab_dir, api_node.name) / NOVA_API_CONF.lstrip("/"),
            port=port,
            nodes_dir=lab_dir / "nodes",
            ceph_config_host_dir=lab.profile.ceph_config_host_dir,
            release=lab.profile.name,
        ),
    )
    aggregates = []
    for site, _cluster, params, _nodes in plan:
        computes = nova_deployment.compute_nodes(site)
        if computes:
            roots = [node_root(lab_dir, node.name) for node in computes]
            aggregates.append(nova_deployment.az_aggregate(get_compute_az(params, site.stack), site, roots))
    conn = keystone.connect(ks)
    try:
        nova_deployment.configure_availability_zones(conn, aggregates)
    finally:
        conn.close()
    return process


def cinder_volume_node(site: Site, params: StackParams) -> Node | None:
    """The node whose cinder-volume the lab runs for a site: its first node with a cinder-volume role.

    None when the stack has no RBD backend for Cinder (CinderEnableRbdBackend false).
    """
    if not params.cinder_rbd:
        return None
    return next((node for node in site.nodes if lab_role(node) in CINDER_VOLUME_ROLES), None)


def cinder_api_wiring(venv: Path) -> CinderApiWiring:
    """The controller's cinder-api part, with the paste and filter files the cinder wheel ships."""
    etc = venv / "etc" / "cinder"
    return CinderApiWiring(
        paste_config_file=str(etc / "api-paste.ini"),
        resource_filters_file=str(etc / "resource_filters.json"),
        service_down_time=CINDER_SERVICE_DOWN_TIME_S,
    )


def _cinder_node(lab_dir: Path, release: str, site: Site, node: Node) -> cinder.CinderNode:
    return cinder.CinderNode(
        site=site.name,
        node=node.name,
        config_file=node_root(lab_dir, node.name) / CINDER_CONF.lstrip("/"),
        log_dir=lab_dir / "logs" / node.name,
        binds=ceph_binds(lab_dir, node.name, release),
    )


def volume_catalog(url: str) -> keystone.CatalogService:
    """Block Storage v3 at central, as TripleO registers it (``cinderv3``, ``volumev3``, project in the path)."""
    return keystone.CatalogService("cinderv3", "volumev3", f"{url}/v3/%(tenant_id)s", ("public", "internal", "admin"))


def image_catalog(
    central: Site, endpoints: Sequence[tuple[GlanceEndpoint, glance.GlanceSite]]
) -> list[keystone.CatalogService]:
    """The image service as a TripleO DCN cloud registers it: central only, edge Glance has no endpoints.

    Where the release runs a separate internal glance-api (OSSN-0090), the internal and admin
    endpoints point at it and only the public one at the service that hides locations.
    """
    urls = {e.service: e.url for e, _ in endpoints if e.site == central.name}
    if "glance_api_internal" not in urls:
        return [keystone.CatalogService("glance", "image", urls["glance_api"], ("public", "internal", "admin"))]
    return [
        keystone.CatalogService("glance", "image", urls["glance_api"], ("public",)),
        keystone.CatalogService("glance", "image", urls["glance_api_internal"], ("internal", "admin")),
    ]


def _write_outputs(
    lab_dir: Path,
    lab: SiteModel,
    clusters: Sequence[ceph.Cluster],
    ks: keystone.Keystone,
    env_dir: Path,
    endpoints: tuple[GlanceEndpoint, ...],
    faults: tuple[Fault, ...],
    *,
    cinder_url: str | None = None,
    compute_url: str | None = None,
    osd_bytes: int | None = None,
    image_url: str | None = None,
) -> LabInfo:
    """Write the completed site model (fsids as the running clusters have them), inventory and ``lab.json``."""
    fsids = {cluster.name: cluster.fsid for cluster in clusters}
    edge = {e.site: e.url for e in endpoints if not (e.site == lab.central.name and e.service == "glance_api")}
    sites = []
    for site in lab.sites:
        sites.append(
            {
                "name": site.name,
                "kind": site.kind,
                "stack": site.stack,
                "cluster": site.cluster,
                "az": site.az,
                "store_id": site.store_id,
                "store_description": site.store_description,
                **({"volume_cluster": site.volume_cluster} if site.volume_cluster else {}),
                "mons": list(site.mons),
                "fsid": fsids[site.cluster],
                "glance_endpoint": edge.get(site.name, ""),
                "nodes": [{"name": node.name, "roles": list(node.roles)} for node in site.nodes],
            }
        )
    model_path = lab_dir / "sites.yaml"
    model_path.write_text(
        "# The lab's site model, completed with the real fsids, mons and Glance endpoints.\n"
        + yaml.safe_dump(
            {"name": lab.name, "release": lab.release, "key_option": lab.key_option, "sites": sites}, sort_keys=False
        )
    )
    inventory = {
        site.stack: {
            "hosts": {
                node.name: {
                    "ansible_connection": "local",
                    "dcn_checks_node_root": str(node_root(lab_dir, node.name)),
                    "dcn_checks_site": site.name,
                    "dcn_checks_roles": list(node.roles),
                }
                for node in site.nodes
            }
        }
        for site in lab.sites
    }
    inventory_path = lab_dir / "inventory.yaml"
    inventory_path.write_text(yaml.safe_dump({"all": {"children": inventory}}, sort_keys=False))
    (lab_dir / TARGET_FILE).write_text(
        render_lab_target(
            model=model_path.name,
            clouds_yaml=ks.clouds_yaml.name,
            cloud=ks.cloud,
            inventory=inventory_path.name,
            image_url=image_url,
        )
    )
    info = LabInfo(
        lab_dir=lab_dir,
        release=lab.release,
        clouds_yaml=ks.clouds_yaml,
        cloud=ks.cloud,
        model_path=model_path,
        inventory_path=inventory_path,
        env_dir=env_dir,
        nodes_dir=lab_dir / "nodes",
        glance=endpoints,
        faults=tuple(f.name for f in faults),
        cinder=cinder_url,
        compute=compute_url,
        osd_bytes=osd_bytes,
    )
    (lab_dir / LAB_FILE).write_text(info.to_json())
    return info


def down(lab_dir: Path) -> int:
    """Stop every process the lab in ``lab_dir`` started (by PID); return how many were stopped."""
    outcomes = processes.stop_all(lab_dir)
    return len(outcomes)


def status(lab_dir: Path) -> list[tuple[str, int, bool]]:
    """Return (process name, PID, running) for every process the lab recorded."""
    return [(r.name, r.pid, processes.is_running(r)) for r in processes.load_records(lab_dir)]
