"""``dcn-checks lab`` end to end, as a user runs it: up, up again, status, down, a killed up, bad input.

The CLI runs as a subprocess from the project's venv, with ``--lab-dir`` in a fresh directory under
``<repo>/.lab``. Whether a process is gone is judged from ``/proc`` here, not by the lab's own
code: a recorded PID counts as alive while ``/proc/<pid>/stat`` shows the recorded start time and a
state other than zombie. Tests that share ``cli_lab`` run in file order, ``lab down`` last.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_support import lab_prerequisites_missing

from dcn_checks.lab import deploy, processes
from dcn_checks.lab.faults import FAULTS

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "dcn-checks"
UP_TIMEOUT_S = 300.0
#: These labs run no workload: small OSD files keep the disk check from refusing them beside other labs.
SMALL_OSDS = ("--osd-gib", "2")


@dataclass(frozen=True, slots=True)
class Run:
    """One finished CLI call."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def dcn_checks(*args: str, timeout_s: float = 60.0) -> Run:
    proc = subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL, check=False
    )
    return Run((str(CLI), *args), proc.returncode, proc.stdout, proc.stderr)


def make_cli_lab_dir() -> Path:
    """A fresh lab dir under <repo>/.lab that the postgres user can reach."""
    parent = REPO / ".lab"
    parent.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="cli-test-", dir=parent))
    path.chmod(0o755)
    return path


def stat_fields(pid: int) -> tuple[str, int, int] | None:
    """(state, pgrp, start time) of a PID from /proc, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[2]), int(fields[19])


def alive_recorded(records: list[processes.ProcessRecord]) -> list[str]:
    """Recorded processes, and members of their process groups, that still run (zombies are gone)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (fields := stat_fields(int(entry.name))) is None:
            continue
        state, pgrp, start_time = fields
        if state in "ZX":
            continue
        for record in records:
            ours = int(entry.name) == record.pid and start_time == record.start_time
            in_group = pgrp == record.pid and start_time >= record.start_time
            if ours or in_group:
                alive.append(f"{record.name} (PID {entry.name})")
    return alive


def processes_naming(lab_dir: Path) -> list[str]:
    """Live processes whose command line names the lab dir: what a stray, unrecorded process would show."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat_fields(int(entry.name))
        if str(lab_dir) in cmdline and fields is not None and fields[0] not in "ZX":
            found.append(f"{entry.name}: {cmdline[:160]}")
    return found


def remove_lab(lab_dir: Path) -> None:
    """Stop whatever the lab recorded (a test may have failed before ``lab down``) and delete its dir."""
    processes.stop_all(lab_dir)
    shutil.rmtree(lab_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cli_lab() -> Iterator[tuple[Path, Run]]:
    """A lab brought up once with ``dcn-checks lab up --lab-dir``; yields the dir and that run."""
    reason = lab_prerequisites_missing()
    if reason:
        pytest.skip(reason)
    lab_dir = make_cli_lab_dir()
    try:
        yield lab_dir, dcn_checks("lab", "up", *SMALL_OSDS, "--lab-dir", str(lab_dir), timeout_s=UP_TIMEOUT_S)
    finally:
        remove_lab(lab_dir)


def test_lab_up_prints_paths_and_progress(cli_lab: tuple[Path, Run]) -> None:
    lab_dir, run = cli_lab
    assert run.returncode == 0, run.stderr
    shown = dict(line.split(":", 1) for line in run.stdout.splitlines())
    for label, name in (("clouds.yaml", "clouds.yaml"), ("site model", "sites.yaml"), ("inventory", "inventory.yaml")):
        path = Path(shown[label].split()[0])
        assert path == lab_dir / name and path.is_file(), run.stdout
    progress = [line for line in run.stderr.splitlines() if re.match(r"\[lab +\d+\.\ds\] ", line)]
    for step in ("ceph: 3 clusters up", "keystone up on http://127.0.0.1:", "glance: 3 API processes", "lab is up"):
        assert any(step in line for line in progress), run.stderr


def test_lab_up_again_says_already_up(cli_lab: tuple[Path, Run]) -> None:
    lab_dir, _ = cli_lab
    again = dcn_checks("lab", "up", *SMALL_OSDS, "--lab-dir", str(lab_dir))
    assert again.returncode == 0
    assert again.stderr.strip() == (
        f"dcn-checks: the lab is already up in {lab_dir} (release ussuri, 2 DCN site(s), faults: none, OSDs of 2 GiB)"
    )


def test_lab_up_with_other_settings_on_a_running_lab_exits_4(cli_lab: tuple[Path, Run]) -> None:
    lab_dir, _ = cli_lab
    again = dcn_checks("lab", "up", *SMALL_OSDS, "--lab-dir", str(lab_dir), "--fault", "cow-disabled")
    assert again.returncode == 4
    assert again.stderr.splitlines() == [
        f"dcn-checks: lab up: a lab with other settings is up in {lab_dir} (release ussuri, 2 DCN site(s), "
        f"faults: none, OSDs of 2 GiB); 'dcn-checks lab down --lab-dir {lab_dir}' first"
    ]


def test_lab_writes_only_the_entries_it_removes_on_reuse(cli_lab: tuple[Path, Run]) -> None:
    """A reused lab directory loses only what a lab writes: the list must name every entry a lab makes."""
    lab_dir, _ = cli_lab
    written = {entry.name for entry in lab_dir.iterdir()} - {deploy.LAB_MARKER}
    assert written <= deploy.LAB_ENTRIES, sorted(written - deploy.LAB_ENTRIES)


def test_lab_status_lists_running_processes(cli_lab: tuple[Path, Run]) -> None:
    lab_dir, _ = cli_lab
    status = dcn_checks("lab", "status", "--lab-dir", str(lab_dir))
    assert status.returncode == 0, status.stdout
    rows = {line.split()[0]: line.split()[1:] for line in status.stdout.splitlines() if not line.startswith("glance ")}
    records = processes.load_records(lab_dir)
    assert set(rows) == {r.name for r in records}
    for record in records:
        assert rows[record.name] == [str(record.pid), "running"]
    for site in ("central", "dcn0", "dcn1"):
        assert re.search(rf"^glance {site}/glance_api: http://127\.0\.0\.1:\d+ on ", status.stdout, re.M), status.stdout
    assert {"ceph-mon.central", "ceph-osd.dcn1"} <= set(rows)


def test_lab_down_leaves_no_recorded_process_alive(cli_lab: tuple[Path, Run]) -> None:
    lab_dir, _ = cli_lab
    records = processes.load_records(lab_dir)
    assert records and alive_recorded(records)
    down = dcn_checks("lab", "down", "--lab-dir", str(lab_dir))
    assert down.returncode == 0
    assert down.stderr.strip() == f"stopped {len(records)} lab process(es) in {lab_dir}"
    assert alive_recorded(records) == []
    assert processes_naming(lab_dir) == []
    assert dcn_checks("lab", "status", "--lab-dir", str(lab_dir)).stdout == f"no lab is running in {lab_dir}\n"


def test_lab_down_after_killed_up_leaves_no_process() -> None:
    """``lab up`` SIGKILLed once its clusters are up: ``lab down`` still finds and stops everything."""
    reason = lab_prerequisites_missing()
    if reason:
        pytest.skip(reason)
    lab_dir = make_cli_lab_dir()
    try:
        up = subprocess.Popen(
            [str(CLI), "lab", "up", *SMALL_OSDS, "--lab-dir", str(lab_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert up.stderr is not None
        seen = []
        for line in up.stderr:
            seen.append(line)
            if "] ceph: " in line:
                break
        os.kill(up.pid, signal.SIGKILL)
        assert up.wait(timeout=10) == -signal.SIGKILL, "".join(seen)
        records = processes.load_records(lab_dir)
        assert any(r.name.startswith("ceph-mon.") for r in records) and alive_recorded(records), "".join(seen)

        down = dcn_checks("lab", "down", "--lab-dir", str(lab_dir))
        assert down.returncode == 0, down.stderr
        records = processes.load_records(lab_dir)  # up's threads may have recorded more before the kill
        assert alive_recorded(records) == []
        # A one-shot command that up was running (keystone-manage, say) is nobody's to stop; it must end
        # by itself once the services it talks to are gone.
        processes.wait_for(
            lambda: processes_naming(lab_dir),
            lambda strays: strays == [],
            timeout_s=30,
            interval_s=0.5,
            description=f"no process naming {lab_dir}",
        )
    finally:
        remove_lab(lab_dir)


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (["nosuch"], "unknown fault 'nosuch'; 'dcn-checks lab faults' lists them"),
        (
            ["conf-wrong-mons", "conf-wrong-fsid"],
            "faults 'conf-wrong-fsid' and 'conf-wrong-mons' cancel each other out; apply them in separate labs",
        ),
        (
            ["snap-unprotected", "copy-image-disabled"],
            "fault 'copy-image-disabled' keeps the seed image out of a store, which fault 'snap-unprotected' "
            "needs; apply them in separate labs",
        ),
    ],
    ids=["unknown", "cancelling", "seed-breaking"],
)
def test_lab_up_with_bad_faults_exits_4_with_one_line(faults: list[str], message: str) -> None:
    lab_dir = make_cli_lab_dir()
    try:
        fault_args = [arg for name in faults for arg in ("--fault", name)]
        run = dcn_checks("lab", "up", *fault_args, "--lab-dir", str(lab_dir))
        assert run.returncode == 4
        assert run.stderr.splitlines() == [f"dcn-checks: {message}"]
        assert run.stdout == ""
        assert processes.load_records(lab_dir) == []
    finally:
        shutil.rmtree(lab_dir)


def test_lab_faults_lists_every_fault_on_one_line() -> None:
    run = dcn_checks("lab", "faults")
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [fault.name for fault in FAULTS]
    for fault, line in zip(FAULTS, lines, strict=True):
        assert fault.summary in line and f"[{', '.join(fault.requirements)}]" in line
