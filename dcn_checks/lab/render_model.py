"""The renderer's node side: roles, the lab's wiring, the output file type, and the INI writer.

Storage semantics come only from the stack's Heat parameters (``render_params``). What TripleO takes
from elsewhere (endpoints, passwords, the node's host name, log paths, the lab's dirs) arrives here as
``NodeWiring``, which never changes a storage option, so the storage part of every file reads the way
puppet-tripleo renders it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from dcn_checks.cephx import Secret
from dcn_checks.errors import LabError

#: Roles of the DCN documents (THT ``roles/*.yaml``) that this renderer knows.
Role = Literal[
    "Controller",
    "Compute",
    "ComputeHCI",
    "DistributedCompute",
    "DistributedComputeHCI",
    "DistributedComputeScaleOut",
    "DistributedComputeHCIScaleOut",
]
#: A glance-api container (and config volume) on a node.
GlanceService = Literal["glance_api", "glance_api_internal"]

#: Roles that belong to a DCN stack (dcn.yaml / dcn-storage.yaml), as opposed to the central one.
DCN_ROLES: frozenset[Role] = frozenset(
    {
        "DistributedCompute",
        "DistributedComputeHCI",
        "DistributedComputeScaleOut",
        "DistributedComputeHCIScaleOut",
    }
)
#: Roles running GlanceApi (central) or GlanceApiEdge, CinderVolume(Edge), NovaCompute. Source: THT
#: stable/zed ``roles/<Role>.yaml`` service lists (the ScaleOut roles have HAproxyEdge instead of
#: GlanceApiEdge and no cinder-volume).
GLANCE_ROLES: frozenset[Role] = frozenset({"Controller", "DistributedCompute", "DistributedComputeHCI"})
CINDER_VOLUME_ROLES: frozenset[Role] = frozenset({"Controller", "DistributedCompute", "DistributedComputeHCI"})
COMPUTE_ROLES: frozenset[Role] = frozenset(
    {
        "Compute",
        "ComputeHCI",
        "DistributedCompute",
        "DistributedComputeHCI",
        "DistributedComputeScaleOut",
        "DistributedComputeHCIScaleOut",
    }
)


class WiringError(LabError):
    """The lab asked for a node whose services need wiring it did not give (a lab bug)."""


@dataclass(frozen=True, slots=True)
class NodeFile:
    """One file on a node, as TripleO leaves it on the host."""

    content: str = field(repr=False)  # keyrings hold secrets
    mode: int
    owner: str


@dataclass(frozen=True, slots=True)
class ServiceCredentials:
    """keystonemiddleware settings of one service (``[keystone_authtoken]``)."""

    username: str
    password: Secret = field(repr=False)
    auth_url: str
    www_authenticate_uri: str
    project_name: str = "service"
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str = "RegionOne"


def service_auth(credentials: ServiceCredentials, *, region: bool = True) -> list[tuple[str, str]]:
    """keystoneauth password options of a service user, as puppet writes them into a client section."""
    items = [
        ("auth_type", "password"),
        ("auth_url", credentials.auth_url),
        ("username", credentials.username),
        ("password", credentials.password.reveal()),
        ("user_domain_name", credentials.user_domain_name),
        ("project_name", credentials.project_name),
        ("project_domain_name", credentials.project_domain_name),
    ]
    return [*items, ("region_name", credentials.region_name)] if region else items


def keystone_authtoken(credentials: ServiceCredentials) -> list[tuple[str, str]]:
    """``[keystone_authtoken]`` of an API service (puppet ``<service>::keystone::authtoken``)."""
    return [
        ("www_authenticate_uri", credentials.www_authenticate_uri),
        *service_auth(credentials),
        ("interface", "internal"),
    ]


@dataclass(frozen=True, slots=True)
class GlanceWiring:
    """What one glance-api process needs beyond storage (glance-lab-notes Part 2)."""

    database_url: Secret = field(repr=False)
    credentials: ServiceCredentials
    staging_dir: str
    tasks_dir: str
    lock_path: str
    log_file: str
    paste_config_file: str | None = None
    #: Needed for image_conversion under uwsgi (glance-lab-notes gotcha 3).
    python_interpreter: str | None = None
    transport_url: Secret | None = field(default=None, repr=False)
    #: Lab-only: the port of the lab's image server, beside web-download's default 80 and 443.
    import_port: int | None = None


@dataclass(frozen=True, slots=True)
class NovaWiring:
    """What nova-compute needs beyond storage."""

    host: str
    log_file: str
    #: The node-local Glance (GlanceApiEdge, or HAproxyEdge on ScaleOut nodes); DCN roles only.
    glance_endpoint: str | None = None
    transport_url: Secret | None = field(default=None, repr=False)
    #: nova-api on a Controller: its ``[keystone_authtoken]`` and ``[database] connection``. Without
    #: them a Controller gets no nova.conf (the lab then runs no Nova).
    credentials: ServiceCredentials | None = None
    database_url: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CinderApiWiring:
    """What cinder-api and cinder-scheduler add to the controller's cinder.conf.

    In TripleO the controller's api, scheduler and volume containers share one cinder.conf, so the
    lab renders these into the same file. ``[keystone_authtoken]`` is TripleO's; the rest is lab
    wiring: the paste and resource-filter files of the venv (a container has them in /etc/cinder),
    unlimited quotas (the default of 10 volumes per project stops repeated test runs with 413,
    cinder-lab-notes gotcha 9) and a short ``service_down_time`` (default 60 s), so a stopped
    cinder-volume shows as down while a test waits.
    """

    paste_config_file: str
    resource_filters_file: str
    unlimited_quotas: bool = True
    service_down_time: int | None = None


@dataclass(frozen=True, slots=True)
class CinderWiring:
    """What cinder-volume needs beyond storage (cinder-lab-notes §3)."""

    backend_host: str
    database_url: Secret = field(repr=False)
    transport_url: Secret = field(repr=False)
    glance_api_servers: str
    lock_path: str
    log_file: str
    #: tooz URL; TripleO writes etcd3+http://<etcd>:2379?api_version=v3 for A/A clusters.
    coordination_url: str | None = None
    #: The ``cinder`` service user: ``[keystone_authtoken]`` of the API, and (lab wiring) the
    #: ``[glance]`` section that Cinder 29 needs for Glance's service-only locations API, and the
    #: ``[nova]`` section, which TripleO fills with the nova user's password instead.
    credentials: ServiceCredentials | None = None
    #: Lab wiring: where Cinder keeps its state (TripleO: /var/lib/cinder in the container).
    state_path: str | None = None
    #: Lab wiring: ``<venv>/bin/privsep-helper --config-file <conf>``. A container runs
    #: ``sudo cinder-rootwrap ... privsep-helper``; the lab runs as root from a venv that is not on
    #: sudo's secure_path (cinder-lab-notes gotcha 6).
    privsep_helper_command: str | None = None
    #: Lab wiring: seconds between service heartbeats (default 10), below ``service_down_time``.
    report_interval: int | None = None
    #: Set on the node that runs cinder-api and cinder-scheduler (the central controller).
    api: CinderApiWiring | None = None


@dataclass(frozen=True, slots=True)
class NodeWiring:
    """Everything TripleO takes from outside the stack's storage parameters, for one node."""

    glance: Mapping[GlanceService, GlanceWiring] = field(default_factory=dict)
    nova: NovaWiring | None = None
    cinder: CinderWiring | None = None
    #: Lab-only deviation: add ``[client] keyring = /etc/ceph/<cluster>.client.<user>.keyring`` to
    #: every rendered ``<cluster>.conf`` that lacks one. TripleO writes it only where the operator's
    #: ``ceph_conf_overrides`` say so, but glance_store and cinder open the conf without a cluster
    #: name, so a Pacific librados looks for ``ceph.client.<user>.keyring`` (glance-lab-notes gotcha 2).
    ceph_client_keyring: bool = False


IniSections = Sequence[tuple[str, Sequence[tuple[str, str]]]]


def format_ini(sections: IniSections, *, separator: str = "=", header: str | None = None) -> str:
    """Return INI text with sections and keys in the given order; empty sections are left out.

    puppet's ``openstack_config`` providers write ``key=value``; Ceph and Ansible templates write
    ``key = value``, hence ``separator``. Both oslo.config and configparser read either.
    """
    blocks: list[str] = [] if header is None else [header]
    for name, items in sections:
        if not items:
            continue
        lines = [f"[{name}]"] + [f"{key}{separator}{value}" for key, value in items]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def ini_bool(value: bool) -> str:
    """Write a boolean as puppet-openstacklib does (``True``/``False``)."""
    return "True" if value else "False"
