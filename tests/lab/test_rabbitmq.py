"""The lab's RabbitMQ: a private broker on loopback, its own epmd, a working account, stopped by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_support import lab_prerequisites_missing, leftover_pids, make_lab_dir

from dcn_checks.cephx import Secret
from dcn_checks.lab import processes, rabbitmq
from dcn_checks.lab.rabbitmq import RabbitMQ, RabbitPorts

#: A publish and a get through oslo.messaging's own AMQP library, run in the OpenStack venv.
ROUND_TRIP = """
import os, kombu
with kombu.Connection(os.environ["LAB_TRANSPORT_URL"].replace("rabbit://", "amqp://", 1), connect_timeout=5) as conn:
    queue = conn.SimpleQueue("dcn-lab-probe")
    queue.put({"hello": "dcn"})
    print(queue.get(timeout=5).payload["hello"])
    queue.close()
"""


# --- pure -----------------------------------------------------------------------------------------


def test_password_hash_is_salt_then_sha256_of_salt_and_password() -> None:
    import base64
    import hashlib

    salt = b"\x01\x02\x03\x04"
    decoded = base64.b64decode(rabbitmq.password_hash("pw", salt))
    assert decoded == salt + hashlib.sha256(salt + b"pw").digest()


def test_transport_url_quotes_the_password_and_keeps_it_out_of_repr() -> None:
    broker = RabbitMQ("127.0.0.1", RabbitPorts(5680, 25680, 4400), "dcn-lab", Secret("a/b:c@d"), 1, 2, Path("/x"))
    assert broker.transport_url().reveal() == "rabbit://dcn-lab:a%2Fb%3Ac%40d@127.0.0.1:5680/"
    assert "a/b" not in repr(broker) and "a/b" not in repr(broker.transport_url())


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(bytes.fromhex("0100000000019f000a000a0009"), True, id="connection-start"),
        pytest.param(b"AMQP\x00\x00\x09\x01", False, id="protocol-header-echo"),
        pytest.param(bytes.fromhex("0100000000001000140028"), False, id="other-method"),
        pytest.param(b"", False, id="nothing"),
    ],
)
def test_is_connection_start_reads_the_first_method_frame(frame: bytes, expected: bool) -> None:
    assert rabbitmq.is_connection_start(frame) is expected


# --- a real broker --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker_dir() -> Iterator[Path]:
    reason = lab_prerequisites_missing()
    if reason:
        pytest.skip(reason)
    if not rabbitmq.SERVER.exists():
        pytest.skip("rabbitmq-server not installed; run python -m dcn_checks.lab.install")
    path = make_lab_dir("dcn-rabbit-")
    yield path
    processes.stop_all(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def broker(broker_dir: Path) -> RabbitMQ:
    return rabbitmq.start_rabbitmq(broker_dir)


def listening_sockets(pids: set[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP listener of ``pids``, from ``ss``."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        if not any(f"pid={pid}," in line for pid in pids):
            continue
        local = line.split()[3]
        address, _, port = local.rpartition(":")
        found.add((address.strip("[]"), int(port)))
    return found


def broker_pids(broker_dir: Path) -> set[int]:
    pids = set()
    for record in processes.load_records(broker_dir):
        pids.add(record.pid)
        pids.update(member.pid for member in processes.group_members(record))
    return pids


@pytest.mark.lab
def test_broker_and_epmd_listen_on_loopback_only_at_allocated_ports(broker: RabbitMQ, broker_dir: Path) -> None:
    sockets = listening_sockets(broker_pids(broker_dir))
    assert {port for _address, port in sockets} == {broker.ports.amqp, broker.ports.dist, broker.ports.epmd}
    assert {address for address, _port in sockets} <= {"127.0.0.1", "::1"}
    assert not {5672, 25672, 4369} & {port for _address, port in sockets}


@pytest.mark.lab
def test_lab_account_can_publish_and_consume(broker: RabbitMQ, venv: Path) -> None:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", ROUND_TRIP],
        env={**os.environ, "LAB_TRANSPORT_URL": broker.transport_url().reveal()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert result.stdout.strip() == "dcn"


@pytest.mark.lab
def test_wrong_password_is_refused(broker: RabbitMQ, venv: Path) -> None:
    wrong = RabbitMQ(
        broker.host, broker.ports, broker.user, Secret("not-the-password"), broker.pid, broker.epmd_pid, broker.base_dir
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", ROUND_TRIP],
        env={**os.environ, "LAB_TRANSPORT_URL": wrong.transport_url().reveal()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ACCESS_REFUSED" in result.stderr


@pytest.mark.lab
def test_stop_leaves_no_broker_process_and_frees_the_port(broker: RabbitMQ, broker_dir: Path) -> None:
    records = processes.load_records(broker_dir)
    assert {r.name for r in records} == {rabbitmq.PROCESS_NAME, rabbitmq.EPMD_PROCESS_NAME}
    rabbitmq.stop_rabbitmq(broker_dir)
    assert leftover_pids(records) == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", broker.ports.amqp), timeout=1).close()
