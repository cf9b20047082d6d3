"""The lab's TripleO: the files a node of a stack holds, rendered from the stack's Heat parameters.

This plays puppet-tripleo and tripleo-ansible for the storage-relevant files of a DCN deployment,
so that the embedded lab is deployed from the environment files our generator writes, and so that
a wrong parameter shows up in the lab the way it would on a real node. One module per concept:

- ``render_params``: the stack's Heat parameters -> ``StackParams`` (defaults, Heat types);
- ``render_model``: roles, ``NodeWiring``, ``NodeFile``, the INI writer;
- ``render_ceph``: ``<cluster>.conf`` and keyrings (own cluster, CephExternalMultiConfig);
- ``render_glance``: glance-api.conf / glance-image-import.conf per glance-api service;
- ``render_nova``: nova.conf of computes;
- ``render_cinder``: cinder.conf of cinder-volume nodes.

Everything here is pure: no I/O, no clock, no environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dcn_checks.lab.render_ceph import render_ceph_client_files
from dcn_checks.lab.render_cinder import render_cinder_files
from dcn_checks.lab.render_glance import render_glance_files
from dcn_checks.lab.render_model import (
    CinderWiring,
    GlanceWiring,
    NodeFile,
    NodeWiring,
    NovaWiring,
    Role,
    ServiceCredentials,
    WiringError,
)
from dcn_checks.lab.render_nova import get_compute_az, render_nova_files
from dcn_checks.lab.render_params import (
    MultistoreBackendError,
    ParameterError,
    StackParams,
    parse_stack_params,
)
from dcn_checks.release import ReleaseProfile

__all__ = [
    "CinderWiring",
    "GlanceWiring",
    "MultistoreBackendError",
    "NodeFile",
    "NodeWiring",
    "NovaWiring",
    "ParameterError",
    "Role",
    "ServiceCredentials",
    "StackParams",
    "WiringError",
    "get_compute_az",
    "parse_stack_params",
    "render_node",
]


def render_node(
    params: Mapping[str, object] | StackParams,
    *,
    role: Role,
    profile: ReleaseProfile,
    mon_hosts: Sequence[str],
    wiring: NodeWiring,
) -> dict[str, NodeFile]:
    """Return every rendered file of one node, keyed by absolute host path, sorted by path.

    ``params`` are the effective Heat parameters of the node's stack (or their parsed form);
    ``mon_hosts`` are the mon addresses of the stack's own cluster, e.g.
    ``["[v2:127.0.0.1:3300,v1:127.0.0.1:6789]"]``. Raises ``ParameterError`` (bad input, such as a
    multistore item without GlanceBackend) or ``WiringError`` (the lab left out a service's wiring).
    """
    stack = params if isinstance(params, StackParams) else parse_stack_params(params)
    files: dict[str, NodeFile] = {}
    files.update(render_ceph_client_files(stack, profile, mon_hosts, wiring))
    files.update(render_glance_files(stack, role, profile, wiring))
    files.update(render_nova_files(stack, role, profile, wiring))
    files.update(render_cinder_files(stack, role, wiring))
    return dict(sorted(files.items()))
