"""The lab supervisor: start by PID, wait, stop by PID, survive the death of the process that started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_support import lab_prerequisites_missing, leftover_pids, make_lab_dir

from dcn_checks.errors import LabError
from dcn_checks.lab import install, nodes, processes

pytestmark = pytest.mark.lab

STAT_SAMPLE = (
    "4764 (ceph-mon) S 1 4764 4764 0 -1 4194560 2069 0 0 0 31 12 0 0 20 0 26 0 28119 "
    "1024000 8883 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0"
)


@pytest.fixture
def scratch_lab() -> Iterator[Path]:
    reason = lab_prerequisites_missing()
    if reason:
        pytest.skip(reason)
    path = make_lab_dir("dcn-proc-test-")
    yield path
    processes.stop_all(path)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_parse_proc_stat_reads_state_group_and_start_time() -> None:
    stat = processes.parse_proc_stat(STAT_SAMPLE)
    assert (stat.pid, stat.state, stat.ppid, stat.pgrp, stat.session, stat.start_time) == (
        4764,
        "S",
        1,
        4764,
        4764,
        28119,
    )


def test_parse_proc_stat_copes_with_parentheses_in_command_name() -> None:
    stat = processes.parse_proc_stat(STAT_SAMPLE.replace("(ceph-mon)", "(a) b (c)"))
    assert stat.state == "S" and stat.start_time == 28119


def test_zombie_counts_as_gone() -> None:
    record = processes.ProcessRecord("x", 4764, 28119, ("x",), "/dev/null")
    zombie = processes.parse_proc_stat(STAT_SAMPLE.replace(") S ", ") Z "))
    assert not processes.is_same_running_process(record, zombie)
    assert processes.is_same_running_process(record, processes.parse_proc_stat(STAT_SAMPLE))


def test_recycled_pid_is_not_ours() -> None:
    record = processes.ProcessRecord("x", 4764, 11111, ("x",), "/dev/null")
    assert not processes.is_same_running_process(record, processes.parse_proc_stat(STAT_SAMPLE))


def test_node_argv_keeps_command_arguments_verbatim() -> None:
    argv = nodes.node_argv(["echo", "a b", "$HOME"], [nodes.BindMount(Path("/x y"), Path("/etc/ceph"))])
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert argv[-3:] == ["echo", "a b", "$HOME"]
    assert "mount --bind '/x y' /etc/ceph" in argv[6]


def test_redact_argv_hides_secret_after_add_key() -> None:
    shown = nodes.redact_argv(["ceph-authtool", "k", "--add-key", "AQSECRET==", "-n", "client.x"])
    assert "AQSECRET" not in shown and "<redacted>" in shown


def test_wait_for_reports_last_state_and_elapsed_on_timeout() -> None:
    with pytest.raises(LabError, match=r"timed out after 0\.\d+s waiting for the answer; last state: 41"):
        processes.wait_for(lambda: 41, lambda v: v == 42, timeout_s=0.3, description="the answer")


def test_wait_for_asks_fail_fast_after_a_probe_that_raised_and_quotes_the_error() -> None:
    """A daemon that died refuses connections for ever: its exit must end the wait, not the timeout."""

    def refused() -> int:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    started = time.monotonic()
    with pytest.raises(LabError) as caught:
        processes.wait_for(refused, bool, timeout_s=30, description="the API", fail_fast=lambda: "keystone exited")
    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        "gave up waiting for the API after 0.0s: keystone exited; "
        "last state: ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_process_on_node_keeps_its_pid_and_sees_node_files(scratch_lab: Path) -> None:
    node = scratch_lab / "nodes" / "n0"
    (node / "etc" / "ceph").mkdir(parents=True)
    (node / "etc" / "ceph" / "marker").write_text("node n0\n")
    record = processes.start(
        scratch_lab,
        "sleeper",
        ["sleep", "300"],
        log_path=scratch_lab / "sleeper.log",
        binds=nodes.node_binds(node),
    )
    processes.wait_for(
        lambda: Path(f"/proc/{record.pid}/cmdline").read_bytes(),
        lambda cmd: cmd.startswith(b"sleep\0"),
        timeout_s=5,
        description="exec of sleep in the node namespace",
    )
    assert Path(f"/proc/{record.pid}/root/etc/ceph/marker").read_text() == "node n0\n"
    assert not Path("/etc/ceph/marker").exists()
    result = nodes.run_on_node(["cat", "/etc/ceph/marker"], nodes.node_binds(node))
    assert (result.returncode, result.stdout) == (0, "node n0\n")
    (outcome,) = processes.stop_all(scratch_lab)
    assert outcome.how == "term"
    assert not processes.is_running(record)
    assert processes.load_records(scratch_lab) == []


def test_stop_kills_after_grace_and_takes_group_members(scratch_lab: Path) -> None:
    script = "trap '' TERM; sleep 300 & sleep 300 & wait"
    record = processes.start(scratch_lab, "stubborn", ["sh", "-c", script], log_path=scratch_lab / "s.log", grace_s=0.5)
    processes.wait_for(
        lambda: len(processes.group_members(record)),
        lambda n: n == 3,
        timeout_s=5,
        description="shell and its two children",
    )
    outcome = processes.stop(scratch_lab, "stubborn")
    assert outcome is not None and outcome.how == "kill"
    assert leftover_pids([record]) == []


def test_start_refuses_a_second_process_of_the_same_name(scratch_lab: Path) -> None:
    processes.start(scratch_lab, "one", ["sleep", "300"], log_path=scratch_lab / "1.log")
    with pytest.raises(LabError, match="already running"):
        processes.start(scratch_lab, "one", ["sleep", "300"], log_path=scratch_lab / "1.log")


def test_wait_for_process_fails_fast_with_log_tail_when_daemon_exits(scratch_lab: Path) -> None:
    record = processes.start(
        scratch_lab,
        "dies",
        ["sh", "-c", "echo bind failed: Address already in use; exit 3"],
        log_path=scratch_lab / "dies.log",
    )
    started = time.monotonic()
    with pytest.raises(LabError, match="exited; log tail: bind failed"):
        processes.wait_for_process(record, lambda: False, bool, timeout_s=30, description="never")
    assert time.monotonic() - started < 10


CONTROLLER = textwrap.dedent(
    """
    import sys, uuid
    from pathlib import Path
    from dcn_checks.lab import ceph, keystone, postgres
    lab, venv = Path(sys.argv[1]), Path(sys.argv[2])
    ceph.start_cluster(lab, ceph.ClusterSpec("kill9", str(uuid.uuid4())))
    pg = postgres.start_postgres(lab, ["keystone"])
    keystone.start_keystone(lab, venv, pg.url("keystone"), admin_password="kill9-not-a-secret")
    print("READY", flush=True)
    sys.stdin.read()
    """
)


def test_stop_from_fresh_process_after_sigkill_of_controller_leaves_nothing(scratch_lab: Path) -> None:
    venv = install.default_venv_dir()
    if not (venv / install.MARKER_NAME).exists():
        pytest.skip("OpenStack venv not built")
    controller = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER, str(scratch_lab), str(venv)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert controller.stdout is not None
        assert controller.stdout.readline().strip() == "READY"
    finally:
        os.kill(controller.pid, signal.SIGKILL)
        controller.wait()
    records = processes.load_records(scratch_lab)
    assert {r.name for r in records} == {"ceph-mon.kill9", "ceph-mgr.kill9", "ceph-osd.kill9", "postgres", "keystone"}
    assert all(processes.is_running(r) for r in records), "daemons must outlive their starter"
    stopper = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from dcn_checks.lab import processes;"
            " processes.stop_all(Path(sys.argv[1]))",
            str(scratch_lab),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopper.returncode == 0, stopper.stderr
    assert leftover_pids(records) == []
    assert processes.load_records(scratch_lab) == []
