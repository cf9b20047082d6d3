"""nova.conf of DCN computes (R32) and of central's Nova API (R35): where a site's disks come from.

A DCN compute must boot copy-on-write from its own site's cluster: RBD ephemeral disks in the
site's ``vms`` pool, next to the image in the site's Glance store. Everything that would fetch an
image over the WAN instead, or attach a volume of another site, must be off: that is what
``dcn-storage.yaml`` (``dcn-hci.yaml`` before Wallaby) sets and what this module reads back.

TripleO writes no availability zone into nova.conf (NovaComputeAvailabilityZone names an aggregate,
see ``suites/reads/test_compute_api.py``). Nova's ``[glance] api_servers`` is the older spelling of
``endpoint_override``; either tells Nova which Glance to use instead of the catalog's.
"""

from __future__ import annotations

from typing import Literal

from dcn_checks.model import Site
from dcn_checks.release import ReleaseProfile
from dcn_checks.serviceconf import (
    PUPPET_GENERATED,
    Finding,
    IniFile,
    expect,
    expect_bool,
    is_same_endpoint,
    parse_bool,
    parse_list,
)

#: nova-compute's config volume; NovaAZConfig reads ``[DEFAULT] host`` from here too (THT nova-compute).
NOVA_COMPUTE_CONF = f"{PUPPET_GENERATED}/nova_libvirt/etc/nova/nova.conf"
#: nova-api's config volume on Controllers (THT nova-api-container-puppet.yaml).
NOVA_API_CONF = f"{PUPPET_GENERATED}/nova/etc/nova/nova.conf"
#: The nova.conf options each check reads, for evidence.
CROSS_AZ = ("cinder", "cross_az_attach")
NEVER_DOWNLOAD = ("workarounds", "never_download_image_if_on_rbd")
EPHEMERAL = (("libvirt", "images_type"), ("libvirt", "images_rbd_pool"), ("libvirt", "images_rbd_ceph_conf"))
STORE_NAME = ("libvirt", "images_rbd_glance_store_name")
RBD_CLIENT = (("libvirt", "rbd_user"), ("libvirt", "rbd_secret_uuid"))
GLANCE = (("glance", "endpoint_override"), ("glance", "api_servers"))


def find_cross_az_findings(conf: IniFile) -> tuple[Finding, ...]:
    """``[cinder] cross_az_attach`` (Nova's default True) must be False: a server at an edge site may
    only attach volumes of its own AZ, and a boot-from-volume must create the volume there."""
    return expect_bool("[cinder] cross_az_attach", conf.get(*CROSS_AZ), default=True, expected=False)


def get_cross_az_attach(conf: IniFile) -> bool | None:
    """The effective ``[cinder] cross_az_attach`` (default True); None when the value is not a boolean."""
    return parse_bool(conf.get(*CROSS_AZ), True)


def find_download_findings(conf: IniFile) -> tuple[Finding, ...]:
    """``never_download_image_if_on_rbd`` (default False) must be True: without it a compute whose
    site lacks the image downloads it from another site's store and uploads a flat copy."""
    return expect_bool(
        "[workarounds] never_download_image_if_on_rbd", conf.get(*NEVER_DOWNLOAD), default=False, expected=True
    )


def find_ephemeral_findings(conf: IniFile, site: Site) -> tuple[Finding, ...]:
    """Ephemeral disks must be RBD images in the site's vms pool of the site's own cluster."""
    return (
        expect("[libvirt] images_type", conf.get("libvirt", "images_type"), "rbd")
        + expect("[libvirt] images_rbd_pool", conf.get("libvirt", "images_rbd_pool"), site.pools.vms)
        + expect(
            "[libvirt] images_rbd_ceph_conf",
            conf.get("libvirt", "images_rbd_ceph_conf"),
            f"/etc/ceph/{site.cluster}.conf",
        )
    )


def find_store_name_findings(conf: IniFile, site: Site) -> tuple[Finding, ...]:
    """``images_rbd_glance_store_name`` must be the site's store: Nova asks Glance to copy a missing
    image to that store before it boots (Wallaby and later)."""
    return expect("[libvirt] images_rbd_glance_store_name", conf.get(*STORE_NAME), site.store_id)


def find_rbd_client_findings(conf: IniFile, fsid: str) -> tuple[Finding, ...]:
    """libvirt opens the site's cluster as client.openstack with the secret named after its fsid
    (``rbd_secret_uuid``, THT CephClusterFSID); any other uuid names no libvirt secret."""
    seen_uuid = conf.get("libvirt", "rbd_secret_uuid")
    uuid_findings = () if seen_uuid is not None and seen_uuid.strip().lower() == fsid.lower() else (
        Finding("[libvirt] rbd_secret_uuid", seen_uuid, f"{fsid} (the site cluster's fsid)"),
    )  # fmt: skip
    return expect("[libvirt] rbd_user", conf.get("libvirt", "rbd_user"), "openstack") + uuid_findings


def get_glance_endpoints(conf: IniFile) -> tuple[str, ...]:
    """The Glance endpoints Nova is told to use (``endpoint_override``, else ``api_servers``); empty
    when Nova takes the catalog's, which is central's."""
    override = conf.get("glance", "endpoint_override")
    if override:
        return (override.strip(),)
    return parse_list(conf.get("glance", "api_servers"))


def find_glance_endpoint_findings(conf: IniFile, site_glance: str) -> tuple[Finding, ...]:
    """Nova at a DCN site must use the site's own Glance, which has the site's store; central's Glance
    (the catalog's) would hand out locations in central's cluster."""
    endpoints = get_glance_endpoints(conf)
    if endpoints and all(is_same_endpoint(url, site_glance) for url in endpoints):
        return ()
    seen = ",".join(endpoints) if endpoints else None
    return (Finding("[glance] endpoint_override", seen, f"{site_glance} (the site's Glance)"),)


AbsentImageBoot = Literal["copied", "refused", "downloaded"]


def promised_absent_image_boot(conf: IniFile, site: Site, profile: ReleaseProfile) -> AbsentImageBoot:
    """What a DCN compute's nova.conf promises for a boot of an image missing from the site's store.

    ``copied``: Wallaby+ with ``[libvirt] images_rbd_glance_store_name`` = the site's store, Nova asks
    Glance to copy the image there and boots COW; ``refused``: ``[workarounds]
    never_download_image_if_on_rbd`` fails the build; ``downloaded``: Nova pulls the image across the
    WAN and writes a flat copy, which a DCN site must never do.
    """
    if profile.nova_knows_glance_store and conf.get(*STORE_NAME) == site.store_id:
        return "copied"
    never = (conf.get(*NEVER_DOWNLOAD) or "false").strip().lower() == "true"
    return "refused" if never else "downloaded"
