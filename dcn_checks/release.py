"""Release profiles: what differs between the TripleO releases a DCN deployment can be on.

The checks are the same at every release; paths, environment file names and command shapes are
not. Each fact here names the edition of ``distributed_multibackend_storage`` (or the THT change)
it comes from, so that a new release is a new profile, never a fork of the checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

ReleaseName = Literal["ussuri", "victoria", "wallaby", "zed"]
RELEASE_NAMES: tuple[ReleaseName, ...] = ("ussuri", "victoria", "wallaby", "zed")
#: How Nova registers a server snapshot's RBD location in Glance (see ``ReleaseProfile``).
NovaLocationMethod = Literal["json-patch", "locations-api"]

THT = "/usr/share/openstack-tripleo-heat-templates"


@dataclass(frozen=True, slots=True)
class ReleaseProfile:
    """How one TripleO release lays out a DCN deployment with distributed storage."""

    name: ReleaseName
    #: Key of the Heat parameter catalog (``dcn_checks/data/heat-parameters.json``).
    catalog: str
    #: Who deploys Ceph: ceph-ansible inside the stack, or ``openstack overcloud ceph deploy``
    #: (cephadm) before it.
    ceph_deployer: Literal["ceph-ansible", "cephadm"]
    #: THT environment that turns a DCN stack's storage on (sets NovaCrossAZAttach false and more).
    dcn_storage_env: str
    #: THT environment that turns Ceph RBD on for a stack.
    ceph_env: str
    #: Directory on the host that holds ``<cluster>.conf`` and keyrings (CephConfigPath);
    #: containers always see it as /etc/ceph.
    ceph_config_host_dir: str
    #: Whether Controllers run a second, internal glance-api for Nova/Cinder (OSSN-0090, backported
    #: to wallaby and zed in Nov 2022): the public one then hides locations and direct_url.
    glance_internal_service: bool
    #: Whether Nova learns the local store name from GlanceBackendID
    #: (``[libvirt] images_rbd_glance_store_name``), Wallaby and later.
    nova_knows_glance_store: bool
    #: Where the central stack's Heat export lands (``openstack overcloud export`` before zed,
    #: written by the deploy itself from zed on).
    control_plane_export: str
    #: How Nova adds a server snapshot's location to its image: a JSON-patch ``add`` of
    #: ``/locations/-``, which Glance applies at once, or Glance's locations API (``POST
    #: /v2/images/{id}/locations``, image API 2.17, Glance 2024.2), which runs a ``location_import``
    #: task that still holds the active image for a moment, so that a copy-image fired at once gets
    #: 409 "Image has active task". Every release here predates that API, so its Nova patches.
    nova_snapshot_location: NovaLocationMethod

    @property
    def store_id_must_match_site(self) -> bool:
        """Whether every store ID must equal its site name.

        From Wallaby on, THT feeds GlanceBackendID into Nova's images_rbd_glance_store_name, and
        Nova asks Glance to copy an image "to my store" by that name, so a DCN site's store must
        carry the name the other sites use for that site (tripleo-docs commit a2870e4).
        """
        return self.nova_knows_glance_store

    def ceph_config_path(self, filename: str) -> str:
        """Return the host path of a Ceph client file (conf or keyring) on a node."""
        return f"{self.ceph_config_host_dir}/{filename}"


_CEPH_ANSIBLE_ENV = f"{THT}/environments/ceph-ansible/ceph-ansible.yaml"
_CEPHADM_ENV = f"{THT}/environments/cephadm/cephadm-rbd-only.yaml"

# tripleo-docs master of 2021-01 (the ussuri-victoria edition); THT catalog master-2021-03.
_USSURI = ReleaseProfile(
    name="ussuri",
    catalog="master-2021-03",
    ceph_deployer="ceph-ansible",
    dcn_storage_env=f"{THT}/environments/dcn-hci.yaml",
    ceph_env=_CEPH_ANSIBLE_ENV,
    ceph_config_host_dir="/etc/ceph",
    glance_internal_service=False,
    nova_knows_glance_store=False,
    control_plane_export="~/control-plane-export.yaml",
    nova_snapshot_location="json-patch",
)
# The stable/wallaby edition still deploys Ceph with ceph-ansible but uses dcn-storage.yaml; Wallaby
# moved the client files to CephConfigPath and got the OSSN-0090 split and Nova's store name.
_WALLABY = dataclasses.replace(
    _USSURI,
    name="wallaby",
    catalog="stable-wallaby",
    dcn_storage_env=f"{THT}/environments/dcn-storage.yaml",
    ceph_config_host_dir="/var/lib/tripleo-config/ceph",
    glance_internal_service=True,
    nova_knows_glance_store=True,
)
# The stable/zed edition deploys Ceph with 'openstack overcloud ceph deploy' (cephadm) first, and
# the deploy writes the Heat export into the working directory.
_ZED = dataclasses.replace(
    _WALLABY,
    name="zed",
    catalog="stable-zed",
    ceph_deployer="cephadm",
    ceph_env=_CEPHADM_ENV,
    control_plane_export="~/overcloud-deploy/control-plane/control-plane-export.yaml",
)

PROFILES: dict[ReleaseName, ReleaseProfile] = {
    "ussuri": _USSURI,
    "victoria": dataclasses.replace(_USSURI, name="victoria"),
    "wallaby": _WALLABY,
    "zed": _ZED,
}


def get_profile(name: str) -> ReleaseProfile:
    """Return the profile of a release name; raise KeyError with the known names otherwise."""
    try:
        return PROFILES[name]  # type: ignore[index]
    except KeyError:
        raise KeyError(f"unknown release '{name}' (known: {', '.join(RELEASE_NAMES)})") from None
