"""The release an environment directory was written for, read from its files when ``--release`` is absent.

The editions of the source document leave different marks, as the release profiles say: ussuri and
victoria deploy Ceph with ceph-ansible and include ``environments/dcn-hci.yaml``; wallaby still deploys
Ceph with ceph-ansible but includes ``environments/dcn-storage.yaml``; zed deploys Ceph with cephadm
first (``deployed-ceph-<stack>.yaml``, ``environments/cephadm/...``). Victoria's profile is ussuri's,
so that era is read as ussuri. Every stack is read before deciding: one deploy script alone may
include only some of the marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcn_checks.errors import EnvironmentFilesError
from dcn_checks.lint.envdir import EnvDirectory, read_env_directory

CEPH_ANSIBLE = "environments/ceph-ansible/"
CEPHADM = "environments/cephadm/"
DCN_HCI = "environments/dcn-hci.yaml"
DCN_STORAGE = "environments/dcn-storage.yaml"


@dataclass(frozen=True, slots=True)
class Detected:
    """The release read from the files, and the file and mark that say so (printed with the lint's output)."""

    release: str
    because: str


def detect_release_of(root: Path) -> Detected:
    """The release of the environment files in ``root`` (read with any catalog: the marks are file names)."""
    from dcn_checks.release import get_profile

    return detect_release(read_env_directory(root, get_profile("ussuri").catalog))


def detect_release(directory: EnvDirectory) -> Detected:
    """The release of ``directory``'s files, or ``EnvironmentFilesError`` naming what would tell it."""
    seen: dict[str, str] = {}  # mark -> where it was seen first
    for stack in directory.stacks:
        where = stack.deploy_script or f"{stack.name}/"
        for environment in stack.tht_environments:
            for mark in (CEPH_ANSIBLE, CEPHADM, DCN_HCI, DCN_STORAGE):
                if environment.startswith(mark):
                    seen.setdefault(mark, f"{where} deploys with {environment}")
        for path in sorted((directory.root / stack.name).glob("deployed-ceph-*.yaml")):
            seen.setdefault(CEPHADM, f"{stack.name}/{path.name} exists")
    if DCN_HCI in seen:
        return Detected("ussuri", f"{seen[DCN_HCI]} (the ceph-ansible era, dcn-hci.yaml)")
    if CEPHADM in seen and CEPH_ANSIBLE not in seen:
        return Detected("zed", f"{seen[CEPHADM]} (Ceph deployed by cephadm)")
    if DCN_STORAGE in seen:
        return Detected("wallaby", f"{seen[DCN_STORAGE]} with Ceph by ceph-ansible (dcn-storage.yaml)")
    raise EnvironmentFilesError(
        f"{directory.root}: the files do not say their release (no deploy script with dcn-hci.yaml, dcn-storage.yaml "
        "or environments/cephadm/, no deployed-ceph-*.yaml); give --release"
    )
