"""The release an environment directory was written for, read from its files when ``--release`` is absent.

The two eras of the source document leave different marks. The ceph-ansible era (ussuri, victoria)
deploys with ``environments/ceph-ansible/ceph-ansible.yaml`` and ``environments/dcn-hci.yaml``; the
cephadm era (wallaby, zed) with ``deployed-ceph-<stack>.yaml`` from ``openstack overcloud ceph
deploy`` and ``environments/dcn-storage.yaml``. Victoria's profile is ussuri's, so the ceph-ansible era
is read as ussuri; within the cephadm era zed is told from wallaby by parameters only zed's THT
defines, and is wallaby otherwise (the older, more common one).
"""

from __future__ import annotations

from dataclasses import dataclass

from dcn_checks.errors import EnvironmentFilesError
from dcn_checks.heat import load_catalog
from dcn_checks.lint.envdir import EnvDirectory
from dcn_checks.release import get_profile

CEPH_ANSIBLE_MARKS = ("environments/ceph-ansible/ceph-ansible.yaml", "environments/dcn-hci.yaml")
CEPHADM_MARKS = ("environments/dcn-storage.yaml", "environments/cephadm/")


@dataclass(frozen=True, slots=True)
class Detected:
    """The release read from the files, and the file and mark that say so (printed with the lint's output)."""

    release: str
    because: str


def detect_release(directory: EnvDirectory) -> Detected:
    """The release of ``directory``'s files, or ``EnvironmentFilesError`` naming what would tell it."""
    for stack in directory.stacks:
        where = stack.deploy_script or f"{stack.name}/"
        for environment in stack.tht_environments:
            if any(environment.startswith(mark) for mark in CEPH_ANSIBLE_MARKS):
                return Detected("ussuri", f"{where} deploys with {environment} (the ceph-ansible era)")
            if any(environment.startswith(mark) for mark in CEPHADM_MARKS):
                return _cephadm_release(directory, f"{where} deploys with {environment}")
    for stack in directory.stacks:
        for path in sorted((directory.root / stack.name).glob("deployed-ceph-*.yaml")):
            return _cephadm_release(directory, f"{stack.name}/{path.name} exists")
    raise EnvironmentFilesError(
        f"{directory.root}: the files do not say their release (no deploy script with ceph-ansible.yaml, dcn-hci.yaml "
        "or dcn-storage.yaml, no deployed-ceph-*.yaml); give --release"
    )


def _cephadm_release(directory: EnvDirectory, because: str) -> Detected:
    """Zed when a file sets a parameter only zed's THT defines, else wallaby."""
    wallaby = load_catalog(get_profile("wallaby").catalog)
    zed = load_catalog(get_profile("zed").catalog)
    for stack in directory.stacks:
        for content in stack.files:
            only_zed = sorted(name for name in content.parameters if zed.get(name) and not wallaby.get(name))
            if only_zed:
                return Detected("zed", f"{because} (the cephadm era) and {content.path} sets {only_zed[0]}, new in zed")
    return Detected("wallaby", f"{because} (the cephadm era)")
