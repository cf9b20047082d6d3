"""Supervision of the lab's long-running processes, by PID, across CLI invocations.

Every daemon of the lab (Ceph mon/osd, PostgreSQL, uwsgi for Keystone and Glance) is started here as
our own child, in the foreground, in a new session, with its output in a log file. Its PID, process
group and /proc start time are recorded in ``<lab>/processes.json`` before we wait for it. That file
is the only thing ``stop`` needs: a fresh process can stop a lab whose starter was SIGKILLed.

Rules this module enforces:

- We signal only PIDs we recorded, and only while ``/proc/<pid>/stat`` still shows the start time we
  recorded. A PID the kernel recycled for someone else is left alone.
- Stopping is TERM (or the record's own signal), a grace period, then KILL of the leader and of any
  leftover member of its process group that started after it (uwsgi workers, postgres backends).
- A zombie (state Z/X) counts as gone: its ports are released already, and when its parent is not
  us it may linger until that parent reaps it.

With ``binds`` a process runs "on a node" (see :mod:`dcn_checks.lab.nodes`): in a private mount
namespace with the node's files over the paths a real node has. The PID stays the daemon's own.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar, cast

from dcn_checks import waiters
from dcn_checks.errors import InputFileError, LabError, WaitFailed, WaitTimeout
from dcn_checks.inputs import read_json, shown
from dcn_checks.lab.nodes import BindMount, node_argv, redact_argv

log = logging.getLogger(__name__)

STATE_FILE = "processes.json"
_STATE_VERSION = 1
_GONE_STATES = frozenset("ZX")

#: Stop phases: higher phases stop first, members of one phase stop in parallel. API services go
#: before what they use; a Ceph OSD must stop before its mon (an OSD whose mon is gone waits 5 s).
PHASE_SERVICE = 30
PHASE_OSD = 20
PHASE_BACKEND = 10
#: How often a stop looks whether the process is gone, and how long it waits after SIGKILL.
STOP_POLL_S = 0.05
KILL_WAIT_S = 5.0

T = TypeVar("T")

# Popen objects of children started by this process, so that we reap them (no zombies of ours).
_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


# --- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` we rely on."""

    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int
    start_time: int  # clock ticks after boot; with the PID it identifies one process for ever


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """One process we started, as stored in the state file."""

    name: str
    pid: int
    start_time: int
    argv: tuple[str, ...]
    log_path: str
    stop_signal: int = int(signal.SIGTERM)
    stop_phase: int = 0
    grace_s: float = 15.0


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """How one process ended: ``term`` (went on its signal), ``kill`` (needed KILL), ``gone`` (was not running)."""

    name: str
    pid: int
    how: str
    elapsed_s: float


# --- pure functions -------------------------------------------------------------------------------


def parse_proc_stat(text: str) -> ProcStat:
    """Parse ``/proc/<pid>/stat``.

    Sample: ``4764 (ceph-mon) S 1 4764 4764 0 -1 … 2069 …``. The command name may contain spaces and
    parentheses, so the fields are counted from the LAST ``)``.
    """
    head, _, tail = text.rpartition(")")
    pid = int(head.split("(", 1)[0])
    fields = tail.split()
    # tail starts at field 3 (state); starttime is field 22 -> index 19.
    return ProcStat(
        pid=pid,
        state=fields[0],
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        session=int(fields[3]),
        start_time=int(fields[19]),
    )


def is_same_running_process(record: ProcessRecord, stat: ProcStat | None) -> bool:
    """True if ``stat`` is the process of ``record`` and it has not exited (zombies have exited)."""
    return (
        stat is not None
        and stat.pid == record.pid
        and stat.start_time == record.start_time
        and stat.state not in _GONE_STATES
    )


def records_to_json(records: Sequence[ProcessRecord]) -> str:
    return json.dumps({"version": _STATE_VERSION, "processes": [asdict(r) for r in records]}, indent=1)


def records_from_data(data: object, source: str) -> list[ProcessRecord]:
    """Turn a parsed state file into records; anything malformed is one ``InputFileError`` naming it.

    The records decide which PIDs we signal, so every field is checked for its type: a hand-edited
    or truncated file must stop us, never make us signal a process we did not start.
    """
    if not isinstance(data, dict) or data.get("version") != _STATE_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise InputFileError(source, "version", f"{shown(version)}, expected {_STATE_VERSION}")
    items = data.get("processes")
    if not isinstance(items, list):
        raise InputFileError(source, "processes", "expected a list of process records")
    types = {"name": str, "pid": int, "start_time": int, "argv": list, "log_path": str}
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - set(ProcessRecord.__slots__):
            raise InputFileError(source, f"processes[{index}]", "not a process record of dcn-checks")
        for key, kind in types.items():
            if not isinstance(item.get(key), kind) or isinstance(item.get(key), bool):
                raise InputFileError(source, f"processes[{index}].{key}", f"expected {kind.__name__}")
        if item["pid"] <= 1 or not all(isinstance(arg, str) for arg in item["argv"]):
            raise InputFileError(source, f"processes[{index}]", "not a process record of dcn-checks")
        try:
            out.append(ProcessRecord(**{**item, "argv": tuple(item["argv"])}))
        except TypeError as err:
            raise InputFileError(source, f"processes[{index}]", "not a process record of dcn-checks") from err
    return out


# --- /proc ----------------------------------------------------------------------------------------


def read_proc_stat(pid: int) -> ProcStat | None:
    try:
        return parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def _reap(pid: int) -> None:
    with _children_lock:
        child = _children.get(pid)
    if child is not None and child.poll() is not None:
        with _children_lock:
            _children.pop(pid, None)


def is_running(record: ProcessRecord) -> bool:
    """True while the recorded process (same PID, same start time) exists and is not a zombie."""
    _reap(record.pid)
    return is_same_running_process(record, read_proc_stat(record.pid))


def group_members(record: ProcessRecord) -> list[ProcStat]:
    """Live processes in the record's process group that started no earlier than its leader.

    We start every daemon as a session leader, so its PGID is its PID. The kernel does not hand out
    a PID again while a process group of that number has members, so leftovers of our group are
    ours. If the PID already belongs to a different process, the number was recycled after our
    group emptied, and whatever group it leads now is not ours: the answer is then empty.
    """
    leader = read_proc_stat(record.pid)
    if leader is not None and leader.start_time != record.start_time:
        return []
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = read_proc_stat(int(entry.name))
        if (
            stat is not None
            and stat.pgrp == record.pid
            and stat.start_time >= record.start_time
            and stat.state not in _GONE_STATES
        ):
            members.append(stat)
    return members


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_rss_kib(record: ProcessRecord) -> int:
    """Sum of VmRSS over the record's group (e.g. uwsgi master + worker)."""
    return sum(rss_kib(member.pid) for member in group_members(record))


def log_tail(path: str | Path, lines: int = 12) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(text.strip().splitlines()[-lines:])


# --- state file -----------------------------------------------------------------------------------


def state_path(lab_dir: Path) -> Path:
    return lab_dir / STATE_FILE


@contextmanager
def _locked_state(lab_dir: Path) -> Iterator[list[ProcessRecord]]:
    """Read-modify-write of the state file under an flock (threads and processes both serialise)."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    path = state_path(lab_dir)
    with open(lab_dir / f".{STATE_FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            records = load_records(lab_dir)
            before = list(records)
            yield records
            if records != before:
                tmp = path.with_suffix(".tmp")
                tmp.write_text(records_to_json(records) + "\n")
                os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_records(lab_dir: Path) -> list[ProcessRecord]:
    """The processes recorded for this lab, in start order."""
    path = state_path(lab_dir)
    if not path.exists():
        return []
    return records_from_data(read_json(path, "the lab's process file"), str(path))


def find_record(lab_dir: Path, name: str) -> ProcessRecord | None:
    return next((r for r in load_records(lab_dir) if r.name == name), None)


# --- start ----------------------------------------------------------------------------------------


def start(
    lab_dir: Path,
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    binds: Sequence[BindMount] = (),
    stop_signal: int = signal.SIGTERM,
    stop_phase: int = 0,
    grace_s: float = 15.0,
    user: str | None = None,
) -> ProcessRecord:
    """Start ``argv`` in the foreground as our child, in its own session, and record it.

    The name is the key in the state file and must be unique in the lab; a record of the same name
    whose process still runs is an error (the caller must stop it first). With ``binds`` the process
    runs "on a node" (see :func:`node_argv`). ``user`` drops privileges (PostgreSQL refuses root).
    """
    full_argv = node_argv(argv, binds)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with _locked_state(lab_dir) as records:
        old = next((r for r in records if r.name == name), None)
        if old is not None:
            if is_running(old):
                raise LabError(f"{name} is already running as PID {old.pid}")
            records.remove(old)
        log.debug("starting %s: %s", name, redact_argv(full_argv))
        with open(log_path, "ab") as out:
            try:
                child = subprocess.Popen(
                    full_argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=None if env is None else dict(env),
                    cwd=cwd,
                    start_new_session=True,
                    user=user,
                )
            except OSError as err:
                raise LabError(f"{name}: cannot start {full_argv[0]}: {err}") from err
        stat = read_proc_stat(child.pid)
        if stat is None:
            # Exited before we could look; keep a record anyway so the failure path is uniform.
            stat = ProcStat(child.pid, "Z", os.getpid(), child.pid, child.pid, 0)
        with _children_lock:
            _children[child.pid] = child
        record = ProcessRecord(
            name=name,
            pid=child.pid,
            start_time=stat.start_time,
            argv=tuple(full_argv),
            log_path=str(log_path),
            stop_signal=int(stop_signal),
            stop_phase=stop_phase,
            grace_s=grace_s,
        )
        records.append(record)
    log.info("%s started as PID %d (log %s)", name, record.pid, log_path)
    return record


# --- wait -----------------------------------------------------------------------------------------


def wait_for(
    probe: Callable[[], T],
    predicate: Callable[[T], bool],
    *,
    timeout_s: float,
    description: str,
    interval_s: float = 0.1,
    fail_fast: Callable[[], str | None] | None = None,
) -> T:
    """Call ``probe`` until ``predicate`` holds for its result: :func:`dcn_checks.waiters.wait_for` as
    the lab needs it, raising LabError.

    Unlike the library's waits, any exception of the probe counts as "not yet" (a daemon refuses
    connections until it listens) and becomes the last observed state, and ``fail_fast`` looks at
    the lab, not at the state (e.g. the daemon exited), so it is asked after a failed probe too. On
    timeout or fail-fast the LabError names what we waited for, the elapsed time and the last state.
    """

    def attempt() -> T | _Raised:
        try:
            return probe()
        except Exception as err:
            return _Raised(err)

    try:
        result = waiters.wait_for(
            attempt,
            lambda value: not isinstance(value, _Raised) and predicate(value),
            timeout_s=timeout_s,
            description=description,
            fail_fast=None if fail_fast is None else lambda value: fail_fast(),
            describe=str,
            interval_s=interval_s,
        )
    except WaitFailed as err:
        raise LabError(
            f"gave up waiting for {description} after {err.elapsed_s:.1f}s: {err.reason}; last state: {err.last_state}"
        ) from err
    except WaitTimeout as err:
        raise LabError(
            f"timed out after {err.elapsed_s:.1f}s waiting for {description}; last state: {err.last_state}"
        ) from err
    return cast(T, result)


@dataclass(frozen=True, slots=True)
class _Raised:
    """What a lab probe raised, kept as the wait's last state."""

    error: Exception

    def __str__(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


def wait_for_process(
    record: ProcessRecord,
    probe: Callable[[], T],
    predicate: Callable[[T], bool],
    *,
    timeout_s: float,
    description: str,
    interval_s: float = 0.1,
) -> T:
    """:func:`wait_for` that gives up as soon as ``record``'s process has exited, quoting its log."""

    def exited() -> str | None:
        if is_running(record):
            return None
        return f"{record.name} (PID {record.pid}) exited; log tail: {log_tail(record.log_path)}"

    return wait_for(
        probe, predicate, timeout_s=timeout_s, description=description, interval_s=interval_s, fail_fast=exited
    )


# --- stop -----------------------------------------------------------------------------------------


def _signal_group_leftovers(record: ProcessRecord, sig: int) -> int:
    count = 0
    for member in group_members(record):
        try:
            os.kill(member.pid, sig)
            count += 1
        except ProcessLookupError:
            pass
    return count


def _wait_until_gone(record: ProcessRecord, timeout_s: float) -> bool:
    """Poll until the recorded process has exited; False when it still runs after ``timeout_s``."""
    try:
        waiters.wait_for(
            lambda: is_running(record),
            lambda running: not running,
            timeout_s=timeout_s,
            description=f"{record.name} (PID {record.pid}) to exit",
            interval_s=STOP_POLL_S,
        )
    except WaitTimeout:
        return False
    return True


def _stop_one(record: ProcessRecord) -> StopOutcome:
    started = time.monotonic()
    if not is_running(record):
        if _signal_group_leftovers(record, signal.SIGKILL):
            log.warning("%s: leader gone, killed leftover group members", record.name)
        return StopOutcome(record.name, record.pid, "gone", 0.0)
    log.debug("%s: sending signal %d to PID %d", record.name, record.stop_signal, record.pid)
    try:
        os.kill(record.pid, record.stop_signal)
    except ProcessLookupError:
        return StopOutcome(record.name, record.pid, "gone", 0.0)
    how = "term"
    if not _wait_until_gone(record, record.grace_s):
        log.warning(
            "%s: PID %d ignored signal %d for %.0fs, killing",
            record.name,
            record.pid,
            record.stop_signal,
            record.grace_s,
        )
        os.kill(record.pid, signal.SIGKILL)
        how = "kill"
        _wait_until_gone(record, KILL_WAIT_S)
    # Workers whose master died (or that the master left behind) would keep ports and memory.
    if _signal_group_leftovers(record, signal.SIGKILL):
        how = "kill"
    elapsed = time.monotonic() - started
    log.info("%s (PID %d) stopped (%s) in %.1fs", record.name, record.pid, how, elapsed)
    return StopOutcome(record.name, record.pid, how, elapsed)


def stop(lab_dir: Path, name: str) -> StopOutcome | None:
    """Stop one recorded process and drop its record; None if no such record."""
    record = find_record(lab_dir, name)
    if record is None:
        return None
    outcome = _stop_one(record)
    with _locked_state(lab_dir) as records:
        if record in records:
            records.remove(record)
    return outcome


def stop_all(lab_dir: Path, names: Sequence[str] | None = None) -> list[StopOutcome]:
    """Stop recorded processes (all, or ``names``), highest stop phase first, each phase in parallel.

    Works from any process that can read the state file. Records are removed as their processes end,
    so a second call is a cheap no-op.
    """
    records = [r for r in load_records(lab_dir) if names is None or r.name in names]
    outcomes: list[StopOutcome] = []
    for phase in sorted({r.stop_phase for r in records}, reverse=True):
        batch = [r for r in records if r.stop_phase == phase]
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            results = list(pool.map(_stop_one, batch))
        outcomes.extend(results)
        with _locked_state(lab_dir) as current:
            current[:] = [r for r in current if r not in batch]
    return outcomes
