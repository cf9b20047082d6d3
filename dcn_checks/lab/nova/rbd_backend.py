"""The RBD work of Nova's libvirt RBD image backend, run on the compute node with its own conf and user.

``nova.storage.rbd_utils.RBDDriver`` talks to librados with ``[libvirt] images_rbd_ceph_conf`` and
``rbd_user``; here the same operations are ``rbd``/``ceph`` commands run "on" the compute node (its
node root's Ceph dir bind-mounted at /etc/ceph, see ``lab.nodes``), with ``--conf`` and ``--id`` from
its nova.conf. A missing keyring, a wrong fsid or missing caps therefore fail here as they would in
Nova. Commands are one-shot and cost ~0.15 s each, so a COW boot is a handful of them.

Errors keep rbd's own text (``(1) Operation not permitted``), because Nova's messages quote them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.errors import LabError
from dcn_checks.lab.nodes import BindMount, CommandResult, run_on_node
from dcn_checks.rbd import Location

log = logging.getLogger(__name__)

TIMEOUT_S = 120.0
#: A guest whose mons do not answer must not hang the build for librados' default 300 s.
MOUNT_TIMEOUT_S = 15
ENOENT = 2


class RbdError(LabError):
    """An rbd command failed; ``returncode`` is rbd's, ``detail`` the last line of its stderr."""

    def __init__(self, what: str, returncode: int, detail: str) -> None:
        self.returncode = returncode
        self.detail = detail
        super().__init__(f"{what}: {detail}")

    @classmethod
    def from_result(cls, what: str, result: CommandResult) -> RbdError:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        return cls(what, result.returncode, lines[-1] if lines else f"rc {result.returncode}")

    @property
    def not_found(self) -> bool:
        return self.returncode == ENOENT

    @property
    def permission_denied(self) -> bool:
        return "Operation not permitted" in self.detail or "Permission denied" in self.detail


@dataclass(frozen=True, slots=True)
class RbdDriver:
    """``RBDDriver`` of one compute node: its binds, ``images_rbd_ceph_conf``, ``rbd_user``, ``images_rbd_pool``."""

    node: str
    binds: tuple[BindMount, ...]
    ceph_conf: str
    user: str | None
    pool: str

    def ceph_args(self) -> list[str]:
        """``RBDDriver.ceph_args``: ``--id <rbd_user> --conf <images_rbd_ceph_conf>``."""
        args: list[str] = []
        if self.user:
            args += ["--id", self.user]
        if self.ceph_conf:
            args += ["--conf", self.ceph_conf]
        return args

    def _run(self, tool: str, args: Sequence[str], *, timeout_s: float = TIMEOUT_S) -> CommandResult:
        argv = [tool, *self.ceph_args(), *args]
        log.debug("%s: %s", self.node, " ".join(argv))
        return run_on_node(argv, self.binds, timeout_s=timeout_s)

    def rbd(self, args: Sequence[str], what: str, *, timeout_s: float = TIMEOUT_S) -> CommandResult:
        """Run ``rbd <args>``; raise RbdError on failure."""
        result = self._run("rbd", args, timeout_s=timeout_s)
        if not result.ok:
            raise RbdError.from_result(f"{self.node}: {what}", result)
        return result


_fsids: dict[tuple[str, str, str | None], str] = {}
_fsids_lock = threading.Lock()


def get_fsid(driver: RbdDriver) -> str:
    """``RBDDriver.get_fsid``: the fsid of the cluster Nova's conf and user reach (cached per node)."""
    key = (driver.node, driver.ceph_conf, driver.user)
    with _fsids_lock:
        if key in _fsids:
            return _fsids[key]
    result = driver._run("ceph", ["fsid"])
    if not result.ok:
        raise RbdError.from_result(f"{driver.node}: ceph fsid", result)
    fsid = result.stdout.strip()
    with _fsids_lock:
        _fsids[key] = fsid
    return fsid


def info(driver: RbdDriver, spec: str) -> dict[str, object]:
    """``rbd info --format json <spec>`` as a dict; RbdError (``not_found`` for ENOENT) otherwise."""
    result = driver.rbd(["info", "--format", "json", spec], f"rbd info {spec}")
    data = json.loads(result.stdout)
    if not isinstance(data, dict):
        raise LabError(f"{driver.node}: rbd info {spec} printed no JSON object")
    return data


def exists(driver: RbdDriver, pool: str, image: str, snapshot: str | None = None) -> bool:
    """``RBDDriver.exists`` as ``is_cloneable`` uses it: any rbd error counts as "cannot open"."""
    spec = f"{pool}/{image}" + (f"@{snapshot}" if snapshot else "")
    try:
        info(driver, spec)
    except RbdError as err:
        log.debug("not cloneable: %s", err)
        return False
    return True


def clone(driver: RbdDriver, location: Location, dest_name: str, dest_pool: str | None = None) -> None:
    """``RBDDriver.clone``: ``rbd clone <pool>/<image>@<snap> <dest_pool>/<dest_name>``.

    A permission error becomes Nova's ``Forbidden("no write permission on storage pool <pool>")``.
    """
    target = f"{dest_pool or driver.pool}/{dest_name}"
    source = f"{location.pool}/{location.image}@{location.snapshot}"
    try:
        driver.rbd(["clone", source, target], f"rbd clone {source} {target}")
    except RbdError as err:
        if err.permission_denied:
            # Nova's Forbidden names dest_pool, which is None for a boot's clone into images_rbd_pool.
            raise RbdError("Forbidden", err.returncode, f"no write permission on storage pool {dest_pool}") from err
        raise


def size(driver: RbdDriver, name: str, pool: str | None = None) -> int:
    data = info(driver, f"{pool or driver.pool}/{name}")
    return int(str(data["size"]))


def resize(driver: RbdDriver, name: str, size_bytes: int) -> None:
    """``RBDDriver.resize`` (rbd's default size unit is MiB)."""
    driver.rbd(
        ["resize", "--no-progress", "--size", str(size_bytes // (1024 * 1024)), f"{driver.pool}/{name}"],
        f"rbd resize {driver.pool}/{name}",
    )


def import_image(driver: RbdDriver, path: Path, name: str) -> None:
    """``RBDDriver.import_image``: ``rbd import --pool <pool> <file> <name> --image-format=2`` (a flat copy)."""
    driver.rbd(
        ["import", "--no-progress", "--pool", driver.pool, str(path), name, "--image-format=2"],
        f"rbd import {driver.pool}/{name}",
        timeout_s=600,
    )


def parent_info(driver: RbdDriver, name: str, pool: str | None = None) -> tuple[str, str, str] | None:
    """``RBDDriver.parent_info``: (pool, image, snapshot) of a clone's parent, None for a flat image."""
    data = info(driver, f"{pool or driver.pool}/{name}")
    parent = data.get("parent")
    if not isinstance(parent, dict):
        return None
    return str(parent["pool"]), str(parent["image"]), str(parent["snapshot"])


def create_snap(driver: RbdDriver, name: str, snap: str, pool: str | None = None, *, protect: bool = False) -> None:
    """``RBDDriver.create_snap``: create the snapshot, and protect it if asked."""
    spec = f"{pool or driver.pool}/{name}@{snap}"
    driver.rbd(["snap", "create", "--no-progress", spec], f"rbd snap create {spec}")
    if protect:
        driver.rbd(["snap", "protect", spec], f"rbd snap protect {spec}")


def snapshots(driver: RbdDriver, name: str, pool: str | None = None) -> list[tuple[str, bool]]:
    """(name, protected) of each snapshot of an image."""
    spec = f"{pool or driver.pool}/{name}"
    result = driver.rbd(["snap", "ls", "--format", "json", spec], f"rbd snap ls {spec}")
    snaps = json.loads(result.stdout or "[]")
    return [(str(s["name"]), str(s.get("protected", "false")) == "true") for s in snaps]


def remove_snap(driver: RbdDriver, name: str, snap: str, pool: str | None = None, *, force: bool = False) -> None:
    """``RBDDriver.remove_snap``: unprotect (with ``force``) and remove; a missing snapshot is ignored."""
    spec = f"{pool or driver.pool}/{name}@{snap}"
    present = dict(snapshots(driver, name, pool))
    if snap not in present:
        return
    if present[snap]:
        if not force:
            log.warning("snapshot(%s) on rbd image(%s) is protected, skipping", snap, name)
            return
        driver.rbd(["snap", "unprotect", spec], f"rbd snap unprotect {spec}")
    driver.rbd(["snap", "rm", "--no-progress", spec], f"rbd snap rm {spec}")


def flatten(driver: RbdDriver, name: str, pool: str | None = None) -> None:
    spec = f"{pool or driver.pool}/{name}"
    driver.rbd(["flatten", "--no-progress", spec], f"rbd flatten {spec}", timeout_s=600)


def destroy_volume(driver: RbdDriver, name: str, pool: str | None = None) -> None:
    """Remove an image and its snapshots (``cleanup_volumes`` of a deleted server); missing is fine."""
    target_pool = pool or driver.pool
    try:
        for snap, protected in snapshots(driver, name, target_pool):
            spec = f"{target_pool}/{name}@{snap}"
            if protected:
                driver.rbd(["snap", "unprotect", spec], f"rbd snap unprotect {spec}")
            driver.rbd(["snap", "rm", "--no-progress", spec], f"rbd snap rm {spec}")
        driver.rbd(["rm", "--no-progress", f"{target_pool}/{name}"], f"rbd rm {target_pool}/{name}")
    except RbdError as err:
        if not err.not_found:
            raise


def open_guest_disk(
    binds: Sequence[BindMount], node: str, *, name: str, mons: str, user: str | None, keyring: str | None
) -> None:
    """Open an RBD volume the way qemu does for a guest disk: the connection's mons, the libvirt secret's key.

    There is no guest, so "opening" is ``rbd info`` with the same mons, user and key qemu would use;
    it fails where qemu would fail to start the guest. Raises RbdError.
    """
    argv = ["rbd", "--conf", "/dev/null", "-m", mons, "--client-mount-timeout", str(MOUNT_TIMEOUT_S)]
    if user:
        argv += ["--id", user]
    if keyring:
        argv += ["--keyring", keyring]
    argv += ["info", "--format", "json", name]
    result = run_on_node(argv, tuple(binds), timeout_s=MOUNT_TIMEOUT_S * 3)
    if not result.ok:
        raise RbdError.from_result(f"{node}: open rbd disk {name}", result)
