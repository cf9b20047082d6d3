"""The ledger of a run: run IDs, resource names, and the file that records what a run created.

Checks that create (images, copies, servers, volumes) leave real resources on somebody's cloud. A
run has a run ID; each resource it names is ``dcnchk-<run id>-<purpose>``; each resource it creates
is recorded in the run's ledger, a file on disk, the moment the API returns its ID and before any
wait. So a run killed at any point (SIGKILL, the OOM killer, a lost terminal) leaves the list of
what to remove, and ``dcn-checks cleanup`` (:mod:`dcn_checks.lifecycle`) removes it.

**Where the ledger lives**: ``dcn-checks-runs/<run id>.jsonl`` beside the target file; for a lab,
in the lab directory, whose ``target.yaml`` it is. The target is the one thing both the killed run
and the later cleanup are given, and it names the cloud the resources are on. A per-user cache
directory would differ between root and a user and between one CI container and the next, and
would need a key of its own for the cloud. A lab's ledgers go away with its directory.

**How "live" is decided**: a run holds an exclusive ``flock`` on its ledger file for as long as it
lives. The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
ledger whose lock can be taken belongs to a run that is gone. A recorded PID and start time would
say the same only on the machine that ran it, and only with care about recycled PIDs; the lock needs
no such bookkeeping. A cleanup takes the lock itself before it removes anything, so two cleanups
never work on one run. PID, host and start time are recorded too, to tell the operator whose run
is still live.

The file is append-only JSON lines (a header, then ``created`` and ``removed`` events), never
rewritten: replacing the file would leave the lock on the old one. The lab's own fixtures are named
``dcnchk-lab-...``; run IDs are 12 hex digits, so no run's prefix matches them, and a run refuses to
record one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast, get_args

from dcn_checks.errors import BadInputError, InputFileError, TargetError

log = logging.getLogger(__name__)

PREFIX = "dcnchk-"
#: The prefix of the lab's own fixtures (``dcn_checks.lab.seed``, the lab tests' observable image).
LAB_PREFIX = "dcnchk-lab-"
LEDGER_DIR = "dcn-checks-runs"
LEDGER_SUFFIX = ".jsonl"

_LEDGER_FORMAT = "dcn-checks"
_LEDGER_VERSION = 1
_RUN_ID = re.compile(r"[0-9a-f]{12}")
_PURPOSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

ResourceKind = Literal["server", "volume_snapshot", "volume", "image_copy", "image", "flavor"]


# --- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resource:
    """One recorded resource. ``store_id`` is set for an image copy only (the image's ID, one store)."""

    kind: ResourceKind
    resource_id: str
    name: str = ""
    store_id: str | None = None

    def label(self) -> str:
        """``volume 5e1c… (dcnchk-3f9a0c1b2d4e-data)``, ``image 0b6f… copy in store dcn1``."""
        what = f"{self.kind.replace('_', ' ')} {self.resource_id}"
        if self.kind == "image_copy":
            what = f"image {self.resource_id} copy in store {self.store_id}"
        return f"{what} ({self.name})" if self.name else what


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process that started a run, as its ledger's header records it."""

    pid: int
    host: str
    started: str  # ISO 8601, UTC


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A ledger as read: its run, its owner, and the resources recorded and not removed, in creation order."""

    run_id: str
    owner: RunOwner
    resources: tuple[Resource, ...]


@dataclass(frozen=True, slots=True)
class RunStatus:
    """A ledger on disk and whether a live run holds it."""

    record: RunRecord
    path: Path
    live: bool


# --- pure: names and the ledger's text -----------------------------------------------------------


def new_run_id() -> str:
    """A fresh run ID: 12 random hex digits (never ``lab``, so never a lab fixture's prefix)."""
    return secrets.token_hex(6)


def is_run_id(text: str) -> bool:
    return _RUN_ID.fullmatch(text) is not None


def run_prefix(run_id: str) -> str:
    """``dcnchk-<run id>-``: the start of every name the run gives."""
    return f"{PREFIX}{run_id}-"


def resource_name(run_id: str, purpose: str) -> str:
    """``dcnchk-<run id>-<purpose>``, e.g. ``dcnchk-3f9a0c1b2d4e-cow-dcn0``."""
    if not is_run_id(run_id):
        raise ValueError(f"not a run ID: {run_id!r}")
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError(f"a purpose is letters, digits, '.', '_' and '-', got {purpose!r}")
    return run_prefix(run_id) + purpose


def is_lab_fixture(name: str) -> bool:
    return name.startswith(LAB_PREFIX)


def ledger_dir(target_file: Path) -> Path:
    """Where the ledgers of runs against ``target_file`` live: ``dcn-checks-runs/`` beside it."""
    return target_file.parent / LEDGER_DIR


def parse_ledger(text: str, source: str) -> RunRecord:
    """Read a ledger: a header line, then one event per line. A sample::

        {"ledger": "dcn-checks", "version": 1, "run_id": "3f9a0c1b2d4e", "pid": 4242, "host": "ci-7", "started": "…"}
        {"created": {"kind": "image", "id": "0b6f…", "name": "dcnchk-3f9a0c1b2d4e-cirros"}}
        {"created": {"kind": "image_copy", "id": "0b6f…", "name": "dcnchk-3f9a0c1b2d4e-cirros", "store": "dcn1"}}
        {"removed": {"kind": "image_copy", "id": "0b6f…", "name": "dcnchk-3f9a0c1b2d4e-cirros", "store": "dcn1"}}

    A last line cut short (the machine stopped mid-write) is skipped; anything else malformed is an
    InputFileError naming the line, since the ledger decides what we delete.
    """
    lines = text.splitlines()
    if text and not text.endswith("\n"):
        log.warning("%s: last line cut short, skipped: %r", source, lines[-1][:200])
        lines = lines[:-1]
    if not lines:
        raise InputFileError(source, "", "empty; not a ledger of dcn-checks")
    header = _json_object(lines[0], source, 1)
    run_id, pid, host, started = (header.get(key) for key in ("run_id", "pid", "host", "started"))
    if (
        header.get("ledger") != _LEDGER_FORMAT
        or header.get("version") != _LEDGER_VERSION
        or not isinstance(run_id, str)
        or not is_run_id(run_id)
        or not isinstance(pid, int)
        or not isinstance(host, str)
        or not isinstance(started, str)
    ):
        raise InputFileError(source, "line 1", f"not a ledger header of dcn-checks version {_LEDGER_VERSION}")
    resources: list[Resource] = []
    for number, line in enumerate(lines[1:], start=2):
        event = _json_object(line, source, number)
        if len(event) != 1 or next(iter(event)) not in ("created", "removed"):
            raise InputFileError(source, f"line {number}", "expected one 'created' or 'removed' event")
        kind, data = next(iter(event.items()))
        resource = _resource_of(data, source, number)
        if kind == "created" and resource not in resources:
            resources.append(resource)
        elif kind == "removed" and resource in resources:
            resources.remove(resource)
    return RunRecord(run_id, RunOwner(pid, host, started), tuple(resources))


def render_header(run_id: str, owner: RunOwner) -> str:
    data = {"ledger": _LEDGER_FORMAT, "version": _LEDGER_VERSION, "run_id": run_id}
    return json.dumps({**data, "pid": owner.pid, "host": owner.host, "started": owner.started}) + "\n"


def render_event(event: Literal["created", "removed"], resource: Resource) -> str:
    data: dict[str, str] = {"kind": resource.kind, "id": resource.resource_id, "name": resource.name}
    if resource.store_id is not None:
        data["store"] = resource.store_id
    return json.dumps({event: data}) + "\n"


def _json_object(line: str, source: str, number: int) -> dict[str, object]:
    try:
        data = json.loads(line)
    except ValueError as err:
        raise InputFileError(source, f"line {number}", f"not JSON ({err})") from err
    if not isinstance(data, dict):
        raise InputFileError(source, f"line {number}", "expected a JSON object")
    return data


def _resource_of(data: object, source: str, number: int) -> Resource:
    fields = data if isinstance(data, dict) else {}
    kind, resource_id, name, store = (fields.get(key) for key in ("kind", "id", "name", "store"))
    if (
        kind not in get_args(ResourceKind)
        or not isinstance(resource_id, str)
        or not resource_id
        or not isinstance(name, str)
        or (store is not None and not isinstance(store, str))
        or (kind == "image_copy") != isinstance(store, str)
    ):
        raise InputFileError(source, f"line {number}", "not a resource of dcn-checks (kind, id, name, store)")
    return Resource(cast(ResourceKind, kind), resource_id, name, store)


# --- the ledger on disk ---------------------------------------------------------------------------


class Ledger:
    """A run's ledger, open and flocked: the file, and the resources recorded and not yet removed.

    Get one from :func:`open_ledger` (a new run) or :func:`claim_ledger` (a stale run taken over),
    and close it when done. Closing removes the file when nothing is left in it, and keeps it (stale
    from then on, for ``dcn-checks cleanup``) when something is.

    A process that joins another's run (:func:`join_ledger`, a pytest-xdist worker) appends to the
    same file without the lock; its ``resources`` are only those it recorded itself, and closing
    never removes the file: the holder owns it, and :meth:`reload` shows it every process's records.
    """

    def __init__(self, path: Path, fd: int, record: RunRecord, *, holds: bool = True) -> None:
        self.path = path
        self.run_id = record.run_id
        self.owner = record.owner
        self.holds = holds
        self._fd = fd
        self._resources = list(record.resources)

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(self._resources)

    def name(self, purpose: str) -> str:
        """The name of a resource of this run: ``dcnchk-<run id>-<purpose>``."""
        return resource_name(self.run_id, purpose)

    def record(self, kind: ResourceKind, resource_id: str, name: str = "", *, store_id: str | None = None) -> str:
        """Write a created resource to disk at once (call it before any wait); return ``resource_id``."""
        if (kind == "image_copy") != (store_id is not None):
            raise ValueError("an image copy, and only an image copy, names its store")
        if is_lab_fixture(name) and kind != "image_copy":
            raise ValueError(f"{name} is a fixture of the lab; a run never records, so never removes, one")
        resource = Resource(kind, resource_id, name, store_id)
        if resource not in self._resources:
            self._write(render_event("created", resource))
            self._resources.append(resource)
            log.debug("run %s recorded %s", self.run_id, resource.label())
        return resource_id

    def forget(self, resource: Resource) -> None:
        """Write that ``resource`` is gone (call it as soon as it is, so a sweep never looks for it again)."""
        self._write(render_event("removed", resource))
        self._resources.remove(resource)

    def reload(self) -> None:
        """Read back what every process of the run recorded and removed (the holder does, at the run's end)."""
        if self._fd < 0:
            raise ValueError(f"the ledger of run {self.run_id} is closed")
        record = parse_ledger(_read_all(self._fd).decode(errors="replace"), str(self.path))
        self._resources = list(record.resources)

    def close(self) -> None:
        """Let go of the ledger: the holder deletes the file if it lists nothing, then drops the lock."""
        if self._fd < 0:
            return
        if self.holds and not self._resources:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, line: str) -> None:
        if self._fd < 0:
            raise ValueError(f"the ledger of run {self.run_id} is closed")
        os.write(self._fd, line.encode())
        os.fsync(self._fd)


def open_ledger(target_file: Path, run_id: str | None = None) -> Ledger:
    """Start the ledger of a new run against ``target_file`` and hold it while this process lives.

    The file is written and locked under a temporary name, then linked into place, so no cleanup
    ever sees it unlocked. TargetError (exit 4) when the directory cannot be written.
    """
    run_id = run_id or new_run_id()
    if not is_run_id(run_id):
        raise ValueError(f"not a run ID: {run_id!r}")
    directory = ledger_dir(target_file)
    path = directory / f"{run_id}{LEDGER_SUFFIX}"
    staging = directory / f".{run_id}.new"
    owner = RunOwner(os.getpid(), socket.gethostname(), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise TargetError(f"{directory}: cannot write the ledger of a run: {err.strerror or err}") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, render_header(run_id, owner).encode())
        os.fsync(fd)
        os.link(staging, path)  # the lock is the inode's, so it comes along; refuses a taken run ID
    except FileExistsError as err:
        os.close(fd)
        raise BadInputError(f"{path}: run {run_id} has a ledger already") from err
    except BaseException:
        os.close(fd)
        raise
    finally:
        staging.unlink(missing_ok=True)
    log.info("run %s: ledger %s", run_id, path)
    return Ledger(path, fd, RunRecord(run_id, owner, ()))


def join_ledger(target_file: Path, run_id: str) -> Ledger:
    """Join the live run ``run_id`` from another process: append to its ledger, which its holder keeps.

    BadInputError when the run has no ledger or no live holder (a worker outliving its run must not
    add to a ledger a cleanup may be working on).
    """
    path = ledger_dir(target_file) / f"{run_id}{LEDGER_SUFFIX}"
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError as err:
        raise BadInputError(f"{path}: run {run_id} has no ledger to join") from err
    try:
        if not _is_held(path):
            raise BadInputError(f"{path}: run {run_id} is not live; nothing may join it")
        record = parse_ledger(_read_all(fd).decode(errors="replace"), str(path))
    except BaseException:
        os.close(fd)
        raise
    return Ledger(path, fd, RunRecord(record.run_id, record.owner, ()), holds=False)


def find_runs(directory: Path) -> tuple[RunStatus, ...]:
    """The ledgers in ``directory``, each with whether a live run holds it; InputFileError for a bad one."""
    if not directory.is_dir():
        return ()
    runs = []
    for path in sorted(directory.glob(f"*{LEDGER_SUFFIX}")):
        try:
            live = _is_held(path)
            text = path.read_text()
        except FileNotFoundError:
            continue  # its run ended and removed it just now
        except OSError as err:
            raise InputFileError(str(path), "", f"cannot read: {err.strerror or err}") from err
        runs.append(RunStatus(parse_ledger(text, str(path)), path, live))
    return tuple(runs)


def _is_held(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def claim_ledger(path: Path) -> Ledger | None:
    """Take over the ledger at ``path`` when its run is gone; None while a live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        record = parse_ledger(_read_all(fd).decode(errors="replace"), str(path))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return Ledger(path, fd, record)


def _read_all(fd: int) -> bytes:
    """The whole file behind ``fd``, read through the descriptor: its run may have unlinked the name."""
    data = b""
    while chunk := os.pread(fd, 1 << 16, len(data)):
        data += chunk
    return data
