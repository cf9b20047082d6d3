"""Named faults the lab can be deployed with, so that every check can be shown to fail.

Each fault breaks the lab the way the same mistake arises in a real deployment, never by patching a
check: a wrong value in the generated environment files (``env``), a wrong file on a node as a
hand edit or a broken config management run leaves it (``node``), or a change to a running cluster
or image (``image``). ``lab faults`` lists them; ``lab up --fault NAME`` applies them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from dcn_checks.cephx import generate_key
from dcn_checks.errors import BadInputError
from dcn_checks.lab.render_model import NodeFile
from dcn_checks.model import SiteModel

Stage = Literal["env", "node", "image"]


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
)  # fmt: skip

FAULTS_BY_NAME: dict[str, Fault] = {fault.name: fault for fault in FAULTS}


#: Faults that undo each other: both edit dcn1-hci-0's central.conf, and with dcn1's fsid AND dcn1's
#: mons it is simply a valid conf of the dcn1 cluster, so neither fault would show.
CANCELLING_FAULTS = frozenset({"conf-wrong-fsid", "conf-wrong-mons"})
#: Faults that keep the seed image out of a store. The image faults need it in every store: the lab
#: copies it with copy-image through central Glance, as each DCN cluster's client.external.
SEED_BREAKING_FAULTS = frozenset({"copy-image-disabled", "central-glance-without-dcn1", "external-caps-missing"})


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
    return changed
