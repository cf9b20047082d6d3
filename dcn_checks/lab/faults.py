"""Named faults the lab can be deployed with, so that every check can be shown to fail.

Each fault breaks the lab the way the same mistake arises in a real deployment, never by patching a
check: a wrong value in the generated environment files (``env``), a wrong file on a node as a
hand edit or a broken config management run leaves it (``node``), a change to a running cluster
or image (``image``), or a service that died after the deployment (``process``); ``cluster`` faults
are changes an operator makes to a running Ceph cluster (``cluster_faults``), ``cloud`` faults to the
running cloud's API state, such as its catalog (``cloud_faults``). ``lab faults``
lists them; ``lab up --fault NAME`` applies them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from dcn_checks.cephx import generate_key
from dcn_checks.errors import BadInputError, LabError
from dcn_checks.lab import cinder
from dcn_checks.lab.render_cinder import CINDER_CONF
from dcn_checks.lab.render_glance import glance_config_dir
from dcn_checks.lab.render_model import NodeFile
from dcn_checks.lab.render_nova import NOVA_CONF
from dcn_checks.model import SiteModel

Stage = Literal["env", "node", "image", "process", "cluster", "cloud"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One way to break the lab, at one site."""

    name: str
    summary: str
    stage: Stage
    site: str
    requirements: tuple[str, ...]


FAULTS: tuple[Fault, ...] = (
    Fault("external-caps-wrong", "dcn0's client.external has osd caps on the images pool only (CephExtraKeys)",
          "env", "dcn0", ("R10", "R20")),
    Fault("external-caps-missing", "dcn1's client.external has no mon and no osd caps (CephExtraKeys)",
          "env", "dcn1", ("R10", "R20")),
    Fault("keyring-mode-0644", "dcn0-hci-0's central.client.<user>.keyring is world-readable (0644)",
          "node", "dcn0", ("R23",)),
    Fault("keyring-unknown-key", "dcn0-hci-0's central keyring holds a key the central cluster does not know",
          "node", "dcn0", ("R22", "R27")),
    Fault("conf-wrong-fsid", "dcn1-hci-0's central.conf carries dcn1's fsid", "node", "dcn1", ("R24",)),
    Fault("conf-wrong-mons", "dcn1-hci-0's central.conf points at dcn1's mons", "node", "dcn1", ("R24", "R27")),
    Fault("dcn-glance-without-central", "dcn0's Glance has no 'central' store (GlanceMultistoreConfig left out)",
          "env", "dcn0", ("R30", "R37")),
    Fault("central-glance-without-dcn1", "central Glance has no 'dcn1' store (glance-dcn-stores.yaml)",
          "env", "central", ("R29", "R37")),
    Fault("backend-id-typo", "dcn1's glance.yaml says GlangeBackendID, so its default store is 'default_backend'",
          "env", "dcn1", ("R2", "R30")),
    Fault("copy-image-disabled", "central Glance does not enable copy-image (GlanceEnabledImportMethods)",
          "env", "central", ("R5", "R31", "R38")),
    Fault("image-copy-missing", "the lab's seed image is missing from dcn1's images pool (rbd rm behind Glance)",
          "image", "dcn1", ("R47", "R49")),
    Fault("snap-unprotected", "the seed image's @snap on dcn0 is not protected", "image", "dcn0", ("R49",)),
    Fault("dcn-no-write-to-central", "central's client.external may only read the images pool, so DCN sites "
          "cannot copy snapshots back", "env", "central", ("R27", "R70")),
    Fault("cinder-az-mismatch", "dcn1's CinderStorageAvailabilityZone differs from its Nova AZ (az.yaml)",
          "env", "dcn1", ("R7", "R42")),
    Fault("volume-service-down", "dcn0's cinder-volume is not running (stopped after it had reported)",
          "process", "dcn0", ("R41", "R60")),
    Fault("openstack-caps-wrong", "central's client.openstack lost its images pool grant (ceph auth caps)",
          "cluster", "central", ("R20",)),
    Fault("osd-down", "dcn0 has an OSD that never came up (ceph osd new without a daemon)",
          "cluster", "dcn0", ("R18",)),
    Fault("noout-left-set", "dcn1's noout flag was left set after maintenance", "cluster", "dcn1", ("R17",)),
    Fault("pool-without-rbd-app", "dcn1's vms pool is not enabled for application rbd", "cluster", "dcn1", ("R19",)),
    Fault("mon-down", "dcn0's monmap has three mons: a, a stray b no conf names, and c that never started",
          "cluster", "dcn0", ("R17", "R18", "R21", "R24")),
    Fault("admin-keyring-mode-0644", "controller-0's central.client.admin.keyring is world-readable (0644)",
          "node", "central", ("R16", "R23")),
    Fault("conf-mode-0600", "dcn0-hci-0's central.conf is readable by root only (0600)", "node", "dcn0", ("R23",)),
    Fault("conf-without-keyring-override", "dcn1-hci-0's central.conf has no [client] keyring line "
          "(ceph_conf_overrides left out)", "node", "dcn1", ("R25",)),
    Fault("conf-without-libvirt-section", "dcn0-hci-0's dcn0.conf has no [client.libvirt] section",
          "node", "dcn0", ("R25",)),
    Fault("glance-store-user-missing", "central's GlanceMultistoreConfig item for dcn1 has no CephClientUserName, "
          "so Glance opens dcn1's cluster as openstack", "env", "central", ("R29",)),
    Fault("glance-no-image-conversion", "dcn1 sets GlanceImageImportPlugins to inject_image_metadata, so THT no "
          "longer adds image_conversion", "env", "dcn1", ("R31",)),
    Fault("cinder-cluster-left-default", "dcn0's az.yaml lacks CinderVolumeCluster, so dcn-storage.yaml's 'dcn' "
          "names its A/A cluster", "env", "dcn0", ("R34", "R41")),
    Fault("glance-default-central", "dcn0-hci-0's glance-api.conf defaults to the central store (hand edit)",
          "node", "dcn0", ("R30", "R37")),
    Fault("public-glance-shows-locations", "controller-0's public glance_api shows locations and direct_url "
          "(hand edit; wallaby and later)", "node", "central", ("R31", "R39")),
    Fault("internal-glance-store-drift", "controller-0's glance_api_internal has an rbd_store_chunk_size for dcn1 "
          "that glance_api lacks (hand edit; wallaby and later)", "node", "central", ("R29",)),
    Fault("nova-images-on-central", "dcn0-hci-0's nova.conf puts ephemeral disks on central's cluster "
          "(images_rbd_ceph_conf)", "node", "dcn0", ("R32",)),
    Fault("nova-wrong-secret-uuid", "dcn1-hci-0's nova.conf names central's fsid as rbd_secret_uuid",
          "node", "dcn1", ("R32",)),
    Fault("nova-glance-from-catalog", "dcn1-hci-0's nova.conf has no [glance] endpoint_override, so Nova uses "
          "central's Glance", "node", "dcn1", ("R32",)),
    Fault("cinder-glance-from-catalog", "dcn0-hci-0's cinder.conf has no glance_api_servers, so Cinder uses "
          "central's Glance", "node", "dcn0", ("R34",)),
    Fault("cinder-wrong-secret-uuid", "dcn0-hci-0's cinder.conf names central's fsid as rbd_secret_uuid",
          "node", "dcn0", ("R34",)),
    Fault("edge-glance-in-catalog", "dcn0's Glance is registered as an internal image endpoint of region dcn0",
          "cloud", "dcn0", ("R39",)),
    Fault("cross-az-attach-true", "dcn0's az.yaml sets NovaCrossAZAttach true, so Nova asks Cinder for boot volumes "
          "in the default AZ", "env", "dcn0", ("R6", "R62", "R64")),
    Fault("nova-downloads-images", "dcn0's az.yaml sets NovaDisableImageDownloadToRbd false, so Nova downloads "
          "images its cluster lacks and imports them flat", "env", "dcn0", ("R6", "R57", "R58")),
    Fault("cow-disabled", "dcn1-hci-0's Glance hides image locations and its Nova may download (hand edits), so "
          "boots at dcn1 copy images flat into vms", "node", "dcn1", ("R31", "R55", "R57")),
    Fault("central-no-image-conversion", "central sets GlanceImageImportPlugins to inject_image_metadata, so THT no "
          "longer adds image_conversion and web-download imports stay qcow2", "env", "central", ("R31", "R44")),
    Fault("central-stale-dcn0-key", "central's dcn_ceph_external.yaml carries a stale client key for dcn0, so server "
          "snapshots taken at dcn0 cannot be copied back to central", "env", "central", ("R29", "R70")),
)  # fmt: skip

FAULTS_BY_NAME: dict[str, Fault] = {fault.name: fault for fault in FAULTS}


#: Faults that undo each other: both edit dcn1-hci-0's central.conf, and with dcn1's fsid AND dcn1's
#: mons it is simply a valid conf of the dcn1 cluster, so neither fault would show.
CANCELLING_FAULTS = frozenset({"conf-wrong-fsid", "conf-wrong-mons"})
#: Faults that keep the seed image out of a store. The image faults need it in every store: the lab
#: uploads it to central as client.openstack and copies it with copy-image through central Glance, as
#: each DCN cluster's client.external.
SEED_BREAKING_FAULTS = frozenset(
    {"copy-image-disabled", "central-glance-without-dcn1", "external-caps-missing", "openstack-caps-wrong"}
)


def get_faults(names: list[str] | tuple[str, ...], model: SiteModel) -> tuple[Fault, ...]:
    """Return the faults called ``names``, each once, in the order given.

    Raise ``BadInputError`` for an unknown fault, one whose site the lab lacks, faults that cancel
    each other out, or an image fault with one that keeps the seed image out of a store. A repeated
    name counts once: the edits are not idempotent.
    """
    faults: list[Fault] = []
    for name in names:
        fault = FAULTS_BY_NAME.get(name)
        if fault is None:
            raise BadInputError(f"unknown fault '{name}'; 'dcn-checks lab faults' lists them")
        if fault.site not in {site.name for site in model.sites}:
            raise BadInputError(f"fault '{name}' breaks site {fault.site}, which this lab does not have")
        if fault not in faults:
            faults.append(fault)
    if {fault.name for fault in faults} >= CANCELLING_FAULTS:
        first, second = sorted(CANCELLING_FAULTS)
        raise BadInputError(f"faults '{first}' and '{second}' cancel each other out; apply them in separate labs")
    image_faults = [fault.name for fault in faults if fault.stage == "image"]
    breaking = sorted({fault.name for fault in faults} & SEED_BREAKING_FAULTS)
    if image_faults and breaking:
        raise BadInputError(
            f"fault '{breaking[0]}' keeps the seed image out of a store, which fault '{image_faults[0]}' needs; "
            "apply them in separate labs"
        )
    return tuple(faults)


# --- env stage: edit the generated environment files -------------------------------------------------

EnvEdit = Callable[[dict[str, Any], SiteModel], None]


def _without(osd_pools: str) -> EnvEdit:
    def edit(params: dict[str, Any], model: SiteModel) -> None:
        params["CephExtraKeys"][0]["caps"] = {"mgr": "allow *", "mon": "profile rbd", "osd": osd_pools}

    return edit


def _no_caps(params: dict[str, Any], model: SiteModel) -> None:
    params["CephExtraKeys"][0]["caps"] = {"mgr": "allow *"}


def _drop_multistore(params: dict[str, Any], model: SiteModel) -> None:
    params.pop("GlanceMultistoreConfig")


def _drop_dcn1_store(params: dict[str, Any], model: SiteModel) -> None:
    params["GlanceMultistoreConfig"].pop(model.site("dcn1").store_id)


def _typo_backend_id(params: dict[str, Any], model: SiteModel) -> None:
    params["GlangeBackendID"] = params.pop("GlanceBackendID")


def _no_copy_image(params: dict[str, Any], model: SiteModel) -> None:
    params["GlanceEnabledImportMethods"] = "web-download"


def _other_cinder_az(params: dict[str, Any], model: SiteModel) -> None:
    # A storage AZ named after a convention of its own, not the Nova AZ (as in "dcn1" vs "dcn1-storage").
    params["CinderStorageAvailabilityZone"] = f"{params['NovaComputeAvailabilityZone']}-storage"


def _no_dcn1_store_user(params: dict[str, Any], model: SiteModel) -> None:
    params["GlanceMultistoreConfig"][model.site("dcn1").store_id].pop("CephClientUserName", None)


def _no_image_conversion(params: dict[str, Any], model: SiteModel) -> None:
    params["GlanceImageImportPlugins"] = ["inject_image_metadata"]


def _no_volume_cluster(params: dict[str, Any], model: SiteModel) -> None:
    params.pop("CinderVolumeCluster")


def _set(name: str, value: object) -> EnvEdit:
    def edit(params: dict[str, Any], model: SiteModel) -> None:
        params[name] = value

    return edit


def _stale_dcn0_key(params: dict[str, Any], model: SiteModel) -> None:
    # As if the file had been exported before dcn0's key was rotated: the cluster no longer knows it.
    dcn0 = model.site("dcn0").cluster
    entry = next(item for item in params["CephExternalMultiConfig"] if item["cluster"] == dcn0)
    entry["keys"][0]["key"] = generate_key(0).reveal()


def _env_edits(model: SiteModel) -> dict[str, tuple[str, EnvEdit]]:
    """Fault name → (file relative to the generated directory, edit of its parameter_defaults)."""
    central = model.central.stack
    site_stack = {site.name: site.stack for site in model.sites}
    return {
        "external-caps-wrong": (f"{site_stack.get('dcn0')}/dcn_ceph_keys.yaml", _without("profile rbd pool=images")),
        "external-caps-missing": (f"{site_stack.get('dcn1')}/dcn_ceph_keys.yaml", _no_caps),
        "dcn-glance-without-central": (f"{site_stack.get('dcn0')}/glance.yaml", _drop_multistore),
        "central-glance-without-dcn1": (f"{central}/glance-dcn-stores.yaml", _drop_dcn1_store),
        "backend-id-typo": (f"{site_stack.get('dcn1')}/glance.yaml", _typo_backend_id),
        "copy-image-disabled": (f"{central}/glance.yaml", _no_copy_image),
        "dcn-no-write-to-central": (
            f"{central}/ceph_keys.yaml",
            _without("profile rbd pool=vms, profile rbd pool=volumes, profile rbd-read-only pool=images"),
        ),
        "cinder-az-mismatch": (f"{site_stack.get('dcn1')}/az.yaml", _other_cinder_az),
        "glance-store-user-missing": (f"{central}/glance-dcn-stores.yaml", _no_dcn1_store_user),
        "glance-no-image-conversion": (f"{site_stack.get('dcn1')}/glance.yaml", _no_image_conversion),
        "central-no-image-conversion": (f"{central}/glance.yaml", _no_image_conversion),
        "cinder-cluster-left-default": (f"{site_stack.get('dcn0')}/az.yaml", _no_volume_cluster),
        "cross-az-attach-true": (f"{site_stack.get('dcn0')}/az.yaml", _set("NovaCrossAZAttach", True)),
        "nova-downloads-images": (f"{site_stack.get('dcn0')}/az.yaml", _set("NovaDisableImageDownloadToRbd", False)),
        "central-stale-dcn0-key": (f"{central}/dcn_ceph_external.yaml", _stale_dcn0_key),
    }


def apply_env_faults(faults: tuple[Fault, ...], model: SiteModel, env_dir: Path) -> None:
    """Edit the generated environment files for every ``env`` fault, as an operator's mistake would."""
    edits = _env_edits(model)
    for fault in faults:
        if fault.stage != "env":
            continue
        relative, edit = edits[fault.name]
        path = env_dir / relative
        document = yaml.safe_load(path.read_text())
        edit(document["parameter_defaults"], model)
        path.write_text(f"# Broken on purpose by lab fault {fault.name}.\n" + yaml.safe_dump(document, sort_keys=False))


# --- node stage: change rendered files of one node ----------------------------------------------------


def fault_node(fault: Fault, model: SiteModel) -> str:
    """Return the node whose files a ``node`` fault changes: the site's first Glance node."""
    site = model.site(fault.site)
    nodes = site.nodes_with("GlanceApiEdge") or site.nodes
    return nodes[0].name


def apply_node_fault(
    fault: Fault,
    files: Mapping[str, NodeFile],
    *,
    ceph_dir: str,
    central_cluster: str,
    user: str,
    other_fsid: str,
    other_mon_host: str,
    now: float,
    site_cluster: str = "",
) -> dict[str, NodeFile]:
    """Return ``files`` of the fault's node with the fault applied (pure; the caller writes them)."""
    changed = dict(files)
    keyring = f"{ceph_dir}/{central_cluster}.client.{user}.keyring"
    conf = f"{ceph_dir}/{central_cluster}.conf"
    if fault.name == "keyring-mode-0644":
        changed[keyring] = dataclasses.replace(files[keyring], mode=0o644)
    elif fault.name == "keyring-unknown-key":
        text = files[keyring].content
        old_key = next(line.split("=", 1)[1].strip().strip('"') for line in text.splitlines() if "key" in line)
        new_key = generate_key(int(now)).reveal()
        changed[keyring] = dataclasses.replace(files[keyring], content=text.replace(old_key, new_key))
    elif fault.name in ("conf-wrong-fsid", "conf-wrong-mons"):
        lines = []
        for line in files[conf].content.splitlines():
            key = line.split("=", 1)[0].strip().replace("_", " ")
            if fault.name == "conf-wrong-fsid" and key == "fsid":
                line = f"fsid = {other_fsid}"
            if fault.name == "conf-wrong-mons" and key == "mon host":
                line = f"mon host = {other_mon_host}"
            lines.append(line)
        changed[conf] = dataclasses.replace(files[conf], content="\n".join(lines) + "\n")
    elif fault.name == "admin-keyring-mode-0644":
        admin = f"{ceph_dir}/{central_cluster}.client.admin.keyring"
        changed[admin] = dataclasses.replace(files[admin], mode=0o644)
    elif fault.name == "conf-mode-0600":
        changed[conf] = dataclasses.replace(files[conf], mode=0o600)
    elif fault.name == "conf-without-keyring-override":
        changed[conf] = dataclasses.replace(
            files[conf], content=_without_section_lines(files[conf].content, "client", "keyring")
        )
    elif fault.name == "conf-without-libvirt-section":
        own = f"{ceph_dir}/{site_cluster}.conf"
        changed[own] = dataclasses.replace(
            files[own], content=_without_section_lines(files[own].content, "client.libvirt")
        )
    elif fault.name in _SERVICE_CONF_EDITS:
        central_fsid = _option(files[conf].content, "global", "fsid") if conf in files else None
        edits = [edit for edit in _SERVICE_CONF_EDITS[fault.name](central_fsid or "") if edit[0] in files]
        if not edits:
            raise LabError(f"fault {fault.name}: the node has none of the files it edits at this release")
        for path, section, option, value in edits:
            changed[path] = dataclasses.replace(
                changed[path], content=_with_option(changed[path].content, section, option, value)
            )
    return changed


#: Hand edits of service config files: fault name -> (central fsid -> (path, section, option, new value
#: or None to remove it)); edits of files the node lacks at the release (glance_api_internal before
#: wallaby) are left out, and a fault with none left is refused.
_SERVICE_CONF_EDITS: dict[str, Callable[[str], list[tuple[str, str, str, str | None]]]] = {
    "glance-default-central": lambda fsid: [
        (f"{glance_config_dir(service)}/glance-api.conf", "glance_store", "default_backend", "central")
        for service in ("glance_api", "glance_api_internal")
    ],
    "public-glance-shows-locations": lambda fsid: [
        (f"{glance_config_dir('glance_api')}/glance-api.conf", "DEFAULT", option, "True")
        for option in ("show_image_direct_url", "show_multiple_locations")
    ],
    "internal-glance-store-drift": lambda fsid: [
        (f"{glance_config_dir('glance_api_internal')}/glance-api.conf", "dcn1", "rbd_store_chunk_size", "4")
    ],
    "nova-images-on-central": lambda fsid: [(NOVA_CONF, "libvirt", "images_rbd_ceph_conf", "/etc/ceph/central.conf")],
    "nova-wrong-secret-uuid": lambda fsid: [(NOVA_CONF, "libvirt", "rbd_secret_uuid", fsid)],
    "nova-glance-from-catalog": lambda fsid: [(NOVA_CONF, "glance", "endpoint_override", None)],
    "cow-disabled": lambda fsid: [
        *(
            (f"{glance_config_dir(service)}/glance-api.conf", "DEFAULT", "show_multiple_locations", "False")
            for service in ("glance_api", "glance_api_internal")
        ),
        (NOVA_CONF, "workarounds", "never_download_image_if_on_rbd", "False"),
    ],
    "cinder-glance-from-catalog": lambda fsid: [(CINDER_CONF, "DEFAULT", "glance_api_servers", None)],
    "cinder-wrong-secret-uuid": lambda fsid: [(CINDER_CONF, "tripleo_ceph", "rbd_secret_uuid", fsid)],
}


def _option(text: str, section: str, option: str) -> str | None:
    """The value of ``option`` in ``[section]`` of INI text (``key = value`` or ``key=value``), or None."""
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
        elif current == section and "=" in stripped:
            key, value = stripped.split("=", 1)
            if key.strip().replace(" ", "_") == option:
                return value.strip()
    return None


def _with_option(text: str, section: str, option: str, value: str | None) -> str:
    """INI text with ``option`` of ``[section]`` set to ``value`` (puppet's ``key=value``), or removed."""
    text = _without_section_lines(text, section, option)
    if value is None:
        return text
    lines = text.splitlines()
    header = f"[{section}]"
    if header not in (line.strip() for line in lines):
        return text + f"\n{header}\n{option}={value}\n"
    index = next(i for i, line in enumerate(lines) if line.strip() == header)
    lines.insert(index + 1, f"{option}={value}")
    return "\n".join(lines) + "\n"


def _without_section_lines(text: str, section: str, option: str | None = None) -> str:
    """``text`` without ``option`` of ``[section]`` (or without the whole section when no option is given)."""
    lines, current = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
            if option is None and current == section:
                continue
        elif current == section and (option is None or stripped.split("=", 1)[0].strip() == option):
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


# --- process stage: stop a service of the running lab ---------------------------------------------------


def apply_process_faults(faults: tuple[Fault, ...], lab_dir: Path) -> None:
    """Stop the service of every ``process`` fault, by its recorded PID, as if it had died.

    It runs once the service had reported, so Cinder keeps listing it, and marks it down when its
    heartbeats stop (``service_down_time``), as after a crash in production.
    """
    for fault in faults:
        if fault.name == "volume-service-down":
            cinder.stop_volume(lab_dir, fault.site)
