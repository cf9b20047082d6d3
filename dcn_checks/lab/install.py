"""Install what the embedded lab runs: Debian's Ceph and PostgreSQL, and one OpenStack virtualenv.

The lab runs real daemons, so it needs real packages. Two sources, each with one owner:

- apt provides Ceph 16.2 (mon, osd, mgr, CLI, librados/librbd Python bindings), qemu-img (Glance's
  image_conversion and Cinder's image download path), PostgreSQL 15 and RabbitMQ (Cinder's bus).
  PyPI has no usable rados/rbd bindings, which is why Ceph comes from the distro.
- pip provides ONE virtualenv with every OpenStack service the lab runs (Glance, Keystone, Cinder)
  from one release series, plus uwsgi and the PostgreSQL driver. One venv keeps oslo.* and
  SQLAlchemy consistent across services, and one series keeps their RPC/DB expectations aligned.

Where the venv lives: ``$XDG_CACHE_HOME/dcn-checks/openstack-<series>`` (default ``~/.cache``). It is
machine-wide on purpose: it is read-only at run time, so two labs side by side share it; it survives
``rm -rf`` of a lab dir and ``git clean`` of the repo, which keeps ``lab up`` fast; and a second
series gets its own directory instead of mutating the first.

Both steps are idempotent. apt is skipped when dpkg already has every package; the venv is skipped
when its marker file holds exactly the pinned set. A lock file serialises two installers.

Run it with ``python -m dcn_checks.lab.install``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.errors import LabError

log = logging.getLogger(__name__)

#: OpenStack 2026.2: glance 33.0.0, keystone 30.0.0 and cinder 29.0.0 were all published to PyPI on
#: 2026-09-30 as the series' coordinated final release, and they co-install without moving a pin.
SERIES = "2026.2"
OPENSTACK_PINS: tuple[str, ...] = (
    "glance==33.0.0",
    "keystone==30.0.0",
    "cinder==29.0.0",
    "python-glanceclient==4.13.0",
    # The `openstack` CLI of the same series (10.5.0 needs openstacksdk >= 4.21, so it sits with 4.22).
    "python-openstackclient==10.5.0",
    "uwsgi==2.0.31",
    "psycopg2-binary==2.9.13",
)

APT_PACKAGES: tuple[str, ...] = (
    "ceph-mon",
    "ceph-osd",
    # Every real cluster has a mgr: without one, health never reports placement-group problems and
    # `ceph df` / `ceph osd pool stats` hang. Its always-on Python modules come with it.
    "ceph-mgr",
    "ceph-common",
    "python3-rbd",
    "python3-rados",
    "qemu-utils",
    "postgresql",
    # Cinder's message bus (oslo.messaging rabbit driver); erlang comes with it.
    "rabbitmq-server",
)

#: Debian builds its Ceph bindings for /usr/bin/python3 (3.11); a venv of any CPython 3.11 can load
#: them once they are symlinked into its site-packages.
DEBIAN_DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
CEPH_BINDINGS = ("rados", "rbd")
MARKER_NAME = ".dcn-checks-lab-deps.json"
APT_LOCK_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What :func:`ensure_lab_deps` did, for the CLI to report."""

    venv: Path
    apt_installed: tuple[str, ...]
    venv_built: bool
    elapsed_s: float


# --- pure decisions -------------------------------------------------------------------------------


def parse_installed_packages(dpkg_query_output: str) -> frozenset[str]:
    """Names of fully installed packages from ``dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n'``.

    Sample line: ``ceph-mon ii `` (``ii`` = wanted install, currently installed). Anything else
    (``rc`` removed with config left, ``iU`` unpacked only) counts as missing.
    """
    names: set[str] = set()
    for line in dpkg_query_output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] == "ii":
            names.add(parts[0].split(":", 1)[0])
    return frozenset(names)


def missing_packages(installed: frozenset[str], wanted: Sequence[str]) -> tuple[str, ...]:
    """The wanted packages that are not installed, in the order asked for."""
    return tuple(name for name in wanted if name not in installed)


def marker_content(pins: Sequence[str], python_version: str) -> dict[str, object]:
    """What the marker records: the venv is current only if pins and interpreter both match."""
    return {"series": SERIES, "pins": sorted(pins), "python": python_version}


def default_venv_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/dcn-checks/openstack-<series>``; ``~/.cache`` when XDG_CACHE_HOME is unset."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dcn-checks" / f"openstack-{SERIES}"


# --- I/O edges ------------------------------------------------------------------------------------


def _run(argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    log.debug("running %s", " ".join(argv))
    try:
        proc = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise LabError(f"{argv[0]}: {err}") from err
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise LabError(f"{' '.join(argv[:3])} failed (rc {proc.returncode}): {' | '.join(tail)}")
    return proc.stdout


def installed_packages() -> frozenset[str]:
    """Query dpkg for the packages the lab cares about."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n", *APT_PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    # rc 1 only means some names are unknown to dpkg; the output still lists the known ones.
    return parse_installed_packages(proc.stdout)


def ensure_apt_packages(wanted: Sequence[str] = APT_PACKAGES) -> tuple[str, ...]:
    """apt-get install what is missing; returns what was installed (empty when nothing was missing).

    ``DPkg::Lock::Timeout`` makes apt wait for another apt/dpkg run that holds the lock (for example a
    provisioning step still installing) instead of failing or running concurrently.
    """
    missing = missing_packages(installed_packages(), wanted)
    if not missing:
        log.debug("apt: all of %s installed", ", ".join(wanted))
        return ()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_S}"
    started = time.monotonic()
    _run(["apt-get", "-o", lock, "update"], env=env)
    _run(
        ["apt-get", "-o", lock, "install", "-y", "--no-install-recommends", *missing],
        env=env,
    )
    log.info("apt: installed %s in %.1fs", ", ".join(missing), time.monotonic() - started)
    return missing


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _read_marker(venv: Path) -> object:
    try:
        return json.loads((venv / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _base_python() -> str:
    """The CPython 3.11 to build the venv from: ours if it is 3.11, else Debian's."""
    if sys.version_info[:2] == (3, 11):
        return str(getattr(sys, "_base_executable", sys.executable))
    return "/usr/bin/python3"


def link_ceph_bindings(venv: Path) -> None:
    """Symlink Debian's rados/rbd extension modules into the venv's site-packages.

    The ABI must match: the venv's EXT_SUFFIX (e.g. ``.cpython-311-x86_64-linux-gnu.so``) has to be
    the suffix Debian built with, otherwise the import would fail later inside Glance with a
    confusing "no module named rados".
    """
    out = _run(
        [
            str(_venv_python(venv)),
            "-c",
            "import sysconfig;print(sysconfig.get_paths()['purelib']);print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ]
    )
    purelib, ext_suffix = out.split()
    for name in CEPH_BINDINGS:
        source = DEBIAN_DIST_PACKAGES / f"{name}{ext_suffix}"
        if not source.exists():
            raise LabError(f"{source} missing: is python3-{name} installed for this Python ABI?")
        target = Path(purelib) / source.name
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(source)
    _run([str(_venv_python(venv)), "-c", "import rados, rbd"])


def ensure_venv(venv: Path, pins: Sequence[str] = OPENSTACK_PINS) -> bool:
    """Build the OpenStack venv unless its marker already holds these pins; True if it was built."""
    base = _base_python()
    version = _run([base, "-c", "import platform;print(platform.python_version())"]).strip()
    expected = marker_content(pins, version)
    if _read_marker(venv) == expected:
        log.debug("venv %s is current", venv)
        return False
    started = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run([base, "-m", "venv", str(venv)])
    _run([str(_venv_python(venv)), "-m", "pip", "install", "--no-input", "--quiet", *pins], timeout=1800)
    log.info("venv %s: pip install done in %.1fs", venv, time.monotonic() - started)
    return True


@contextmanager
def _install_lock(venv: Path) -> Iterator[None]:
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_lab_deps(venv: Path | None = None, pins: Sequence[str] = OPENSTACK_PINS) -> InstallResult:
    """Make sure apt packages and the OpenStack venv are in place; cheap when they already are.

    apt and pip run in parallel because neither needs the other until the final step, which links
    the Ceph bindings (from apt) into the venv (from pip). The marker is written last, so an
    interrupted run is redone from scratch next time.
    """
    target = venv or default_venv_dir()
    started = time.monotonic()
    with _install_lock(target), ThreadPoolExecutor(max_workers=2) as pool:
        apt_future = pool.submit(ensure_apt_packages)
        venv_future = pool.submit(ensure_venv, target, pins)
        apt_installed = apt_future.result()
        built = venv_future.result()
        if built or apt_installed:
            (target / MARKER_NAME).unlink(missing_ok=True)
            link_ceph_bindings(target)
            version = _run([str(_venv_python(target)), "-c", "import platform;print(platform.python_version())"])
            marker = marker_content(pins, version.strip())
            (target / MARKER_NAME).write_text(json.dumps(marker, indent=1) + "\n")
    return InstallResult(
        venv=target,
        apt_installed=apt_installed,
        venv_built=built,
        elapsed_s=time.monotonic() - started,
    )


def main() -> int:
    """Entry point for ``python -m dcn_checks.lab.install``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = ensure_lab_deps()
    except LabError as err:
        sys.stderr.write(f"dcn-checks: lab install: {err}\n")
        return err.exit_code
    sys.stdout.write(
        f"lab deps ready in {result.elapsed_s:.1f}s: venv {result.venv}"
        f" ({'built' if result.venv_built else 'current'}),"
        f" apt {'installed ' + ', '.join(result.apt_installed) if result.apt_installed else 'current'}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
