"""nova.conf of a compute node, as THT and puppet-nova render its storage options.

Sources: THT ``deployment/nova/nova-compute-container-puppet.yaml`` (hiera ``nova::compute::rbd::*``,
``nova::workarounds::never_download_image_if_on_rbd``), ``nova-base-puppet.yaml``
(``nova::cinder::cross_az_attach`` = NovaCrossAZAttach on every Nova service of the stack) and
``glance-api-edge-container-puppet.yaml`` (``nova::glance::endpoint_override`` for every nova-compute
of a stack with GlanceApiEdge: the node-local Glance, or HAproxyEdge on ScaleOut nodes). The file
lives in the ``nova_libvirt`` config volume, where NovaAZConfig reads ``[DEFAULT] host``.

TripleO writes no availability zone into nova.conf: NovaComputeAvailabilityZone only names the
aggregate that the NovaAZConfig service creates (``get_compute_az``).
"""

from __future__ import annotations

from collections.abc import Sequence

from dcn_checks.lab.render_model import (
    COMPUTE_ROLES,
    DCN_ROLES,
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
from dcn_checks.release import ReleaseProfile

NOVA_CONF = "/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf"
#: nova-api, nova-scheduler and nova-conductor of a Controller share the ``nova`` config volume.
NOVA_API_CONF = "/var/lib/config-data/puppet-generated/nova/etc/nova/nova.conf"
CONFIG_MODE = 0o640


def get_compute_az(stack: StackParams, stack_name: str) -> str:
    """Return the AZ NovaAZConfig puts the stack's computes in: NovaComputeAvailabilityZone or the stack name.

    Source: distributed_compute_node.rst ("If the parameter is empty the AZ defaults to the stack name").
    """
    return stack.nova_az or stack_name


def render_nova_files(
    stack: StackParams, role: Role, profile: ReleaseProfile, wiring: NodeWiring
) -> dict[str, NodeFile]:
    """Return nova.conf for a compute role, or a Controller's nova-api when the wiring has its credentials."""
    if role == "Controller" and wiring.nova is not None and wiring.nova.credentials is not None:
        return render_nova_api_files(stack, wiring)
    if role not in COMPUTE_ROLES:
        return {}
    if wiring.nova is None:
        raise WiringError(f"role {role} runs nova_compute but the node wiring has no nova entry")
    nova = wiring.nova
    default = [("host", nova.host), ("log_file", nova.log_file)]
    if nova.transport_url is not None:
        default.append(("transport_url", nova.transport_url.reveal()))
    glance: list[tuple[str, str]] = []
    if role in DCN_ROLES:
        if not nova.glance_endpoint:
            raise WiringError(f"role {role} is in a DCN stack; nova needs the node-local Glance endpoint")
        glance.append(("endpoint_override", nova.glance_endpoint))
    sections: list[tuple[str, Sequence[tuple[str, str]]]] = [
        ("DEFAULT", default),
        ("cinder", [("cross_az_attach", ini_bool(stack.nova_cross_az_attach))]),
        ("glance", glance),
        ("libvirt", _libvirt_section(stack, profile)),
        ("workarounds", [("never_download_image_if_on_rbd", ini_bool(stack.nova_never_download_image_if_on_rbd))]),
    ]
    return {NOVA_CONF: NodeFile(content=format_ini(sections), mode=CONFIG_MODE, owner="root")}


def _libvirt_section(stack: StackParams, profile: ReleaseProfile) -> list[tuple[str, str]]:
    """The RBD options of ``[libvirt]``.

    ``images_*`` only with RBD ephemeral storage (``nova_compute_rbd_ephemeral_storage``);
    ``rbd_user``/``rbd_secret_uuid`` also for Cinder RBD volumes (``rbd_persistent_storage``).
    ``images_rbd_glance_store_name`` = GlanceBackendID and the copy poll interval/timeout exist from
    Wallaby on (nova spec rbd-glance-multistore; absent from the master-2021-03 THT catalog).
    """
    items: list[tuple[str, str]] = []
    if stack.nova_rbd:
        items += [
            ("images_type", "rbd"),
            ("images_rbd_pool", stack.nova_pool),
            ("images_rbd_ceph_conf", f"/etc/ceph/{stack.cluster}.conf"),
        ]
        if profile.nova_knows_glance_store:
            items += [
                ("images_rbd_glance_store_name", stack.glance_backend_id),
                ("images_rbd_glance_copy_poll_interval", str(stack.nova_copy_poll_interval)),
                ("images_rbd_glance_copy_timeout", str(stack.nova_copy_timeout)),
            ]
    if stack.nova_rbd or stack.cinder_rbd:
        items += [("rbd_user", stack.client_user), ("rbd_secret_uuid", stack.require_fsid())]
    return items


def render_nova_api_files(stack: StackParams, wiring: NodeWiring) -> dict[str, NodeFile]:
    """nova.conf of a Controller's nova-api: its host, database, ``[cinder] cross_az_attach`` (NovaCrossAZAttach
    applies to every Nova service of the stack, the API included) and keystonemiddleware's section.

    Source: THT ``nova-api-container-puppet.yaml`` / ``nova-base-puppet.yaml``, puppet-nova
    ``keystone/authtoken.pp`` (``interface = internal`` as TripleO sets it).
    """
    nova = wiring.nova
    if nova is None or nova.credentials is None or nova.database_url is None:
        raise WiringError("nova-api needs the node wiring's nova credentials and database URL")
    credentials = nova.credentials
    sections: list[tuple[str, Sequence[tuple[str, str]]]] = [
        ("DEFAULT", [("host", nova.host), ("log_file", nova.log_file)]),
        ("database", [("connection", nova.database_url.reveal())]),
        ("cinder", [("cross_az_attach", ini_bool(stack.nova_cross_az_attach))]),
        ("keystone_authtoken", keystone_authtoken(credentials)),
        (
            # puppet-nova nova::keystone::service_user, on since OSSA-2023-003 (Cinder refuses to delete
            # an in-use attachment without a service token).
            "service_user",
            [("send_service_user_token", "True"), *service_auth(credentials, region=False)],
        ),
    ]
    return {NOVA_API_CONF: NodeFile(content=format_ini(sections), mode=CONFIG_MODE, owner="root")}
