"""A private RabbitMQ for the lab: the message bus between Cinder's API, scheduler and volume services.

TripleO runs one RabbitMQ cluster on the controllers; the lab runs one broker on 127.0.0.1, from
Debian's ``rabbitmq-server`` package, with everything it writes (mnesia, logs, Erlang cookie) in
``<lab>/rabbitmq``. One vhost (``/``) and one user with a random password, created at boot from a
definitions file, so no ``rabbitmqctl`` call is needed (cinder-lab-notes §3.4).

Erlang distribution needs a port mapper (epmd). A broker started the usual way spawns a shared
``epmd -daemon`` on port 4369 that is re-parented to PID 1 and outlives the lab (cinder-lab-notes
gotcha 5). The lab instead starts its own epmd, in the foreground, as our child, on an allocated
port (``ERL_EPMD_PORT``), and tells the VM not to start one (``-start_epmd false``): the lab never
touches a shared epmd, and ``lab down`` stops its own by PID. The AMQP, distribution and epmd
ports are all allocated at random and bound to 127.0.0.1.

``/usr/lib/rabbitmq/bin/rabbitmq-server`` (not ``/usr/sbin/rabbitmq-server``, which ``su``s to the
``rabbitmq`` user and logs to /var/log) runs in the foreground: a shell that waits for the VM and
turns TERM into a clean broker stop. Both are in the process group we record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from dcn_checks.cephx import Secret
from dcn_checks.errors import LabError
from dcn_checks.lab import ports, processes

log = logging.getLogger(__name__)

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
EPMD = Path("/usr/bin/epmd")
PROCESS_NAME = "rabbitmq"
EPMD_PROCESS_NAME = "epmd"
NODE_NAME = "rabbit@localhost"
USER = "dcn-lab"
#: The protocol header of AMQP 0-9-1, which a broker answers with a Connection.Start method frame.
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
#: Frame type 1 (method) on channel 0; class 10 (connection), method 10 (start).
_FRAME_METHOD = 1
_CONNECTION_START = (10, 10)


@dataclass(frozen=True, slots=True)
class RabbitPorts:
    """The three ports of one broker: AMQP for clients, Erlang distribution, and its own epmd."""

    amqp: int
    dist: int
    epmd: int


@dataclass(frozen=True, slots=True)
class RabbitMQ:
    """A running lab broker and the account its clients use."""

    host: str
    ports: RabbitPorts
    user: str
    password: Secret = field(repr=False)
    pid: int
    epmd_pid: int
    base_dir: Path

    def transport_url(self, vhost: str = "/") -> Secret:
        """oslo.messaging's ``transport_url`` for this broker (``rabbit://user:pw@127.0.0.1:port/``)."""
        path = "" if vhost == "/" else quote(vhost, safe="")
        credentials = f"{quote(self.user, safe='')}:{quote(self.password.reveal(), safe='')}"
        return Secret(f"rabbit://{credentials}@{self.host}:{self.ports.amqp}/{path}")


# --- pure -----------------------------------------------------------------------------------------


def password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password)), 4-byte salt."""
    if len(salt) != 4:
        raise ValueError("RabbitMQ password salts are 4 bytes")
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def render_definitions(user: str, password: str, salt: bytes) -> str:
    """definitions.json: one vhost ``/`` and one user with every permission on it, loaded at boot."""
    document = {
        "users": [
            {
                "name": user,
                "password_hash": password_hash(password, salt),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "vhosts": [{"name": "/"}],
        "permissions": [{"user": user, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
    }
    return json.dumps(document, indent=1) + "\n"


def render_rabbitmq_conf(amqp_port: int, definitions: Path, log_dir: Path) -> str:
    """rabbitmq.conf: AMQP on loopback only, the definitions file, logs to a file in the lab.

    ``loopback_users = none`` keeps the default rule (the ``guest`` user only from loopback) out of
    the way; the lab has no guest user at all, as the definitions replace the default ones.
    """
    return (
        f"listeners.tcp.default = 127.0.0.1:{amqp_port}\n"
        "loopback_users = none\n"
        f"load_definitions = {definitions}\n"
        f"log.dir = {log_dir}\n"
        "log.file.level = info\n"
        "log.console = false\n"
    )


def server_env(base: Path, rabbit_ports: RabbitPorts) -> dict[str, str]:
    """The broker's environment: every path in ``base``, every port ours, nothing from /etc/rabbitmq."""
    return {
        "PATH": "/usr/lib/rabbitmq/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # The Erlang cookie lives in $HOME; the server and any rabbitmqctl must share it.
        "HOME": str(base / "home"),
        "RABBITMQ_NODENAME": NODE_NAME,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(rabbit_ports.amqp),
        "RABBITMQ_DIST_PORT": str(rabbit_ports.dist),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_EPMD_PORT": str(rabbit_ports.epmd),
        # Without inet_dist_use_interface the distribution port listens on 0.0.0.0 (gotcha 5);
        # -start_epmd false: our epmd is already running, the VM must not spawn a shared one;
        # +sbwt none (and the dirty-scheduler twins): no busy-waiting schedulers, which would take
        # CPU from the other daemons of a lab that shares two cores with everything else.
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
            "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false +sbwt none +sbwtdcpu none +sbwtdio none"
        ),
    }


def is_connection_start(frame: bytes) -> bool:
    """Tell whether ``frame`` begins with AMQP 0-9-1's Connection.Start, the broker's first words.

    Layout: type (1 byte), channel (2), size (4), then the method's class id (2) and method id (2).
    """
    if len(frame) < 11:
        return False
    frame_type, channel, _size, class_id, method_id = struct.unpack(">BHIHH", frame[:11])
    return frame_type == _FRAME_METHOD and channel == 0 and (class_id, method_id) == _CONNECTION_START


# --- I/O ------------------------------------------------------------------------------------------


def amqp_greeting(host: str, port: int, timeout_s: float = 2.0) -> bytes:
    """Send the AMQP protocol header and return the first bytes the broker answers."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(AMQP_HEADER)
        return sock.recv(64)


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def start_rabbitmq(lab_dir: Path, *, timeout_s: float = 60.0) -> RabbitMQ:
    """Start the lab's epmd and broker in ``<lab>/rabbitmq`` and wait until AMQP answers.

    The broker imports its definitions before it opens the AMQP listener, so a broker that answers
    the protocol header already knows the lab's user.
    """
    started = time.monotonic()
    for path in (SERVER, EPMD):
        if not path.exists():
            raise LabError(f"{path} missing: install the rabbitmq-server package (python -m dcn_checks.lab.install)")
    processes.stop_all(lab_dir, [PROCESS_NAME, EPMD_PROCESS_NAME])
    base = lab_dir / "rabbitmq"
    for sub in ("home", "mnesia", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    amqp, dist, epmd = ports.allocate_ports(3)
    rabbit_ports = RabbitPorts(amqp=amqp, dist=dist, epmd=epmd)
    password = Secret(secrets.token_urlsafe(18))
    definitions = base / "definitions.json"
    _write(definitions, render_definitions(USER, password.reveal(), os.urandom(4)))
    _write(base / "rabbitmq.conf", render_rabbitmq_conf(amqp, definitions, base / "log"))
    _write(base / "enabled_plugins", "[].\n")
    _write(base / "rabbitmq-env.conf", "")
    env = server_env(base, rabbit_ports)

    epmd_record = processes.start(
        lab_dir,
        EPMD_PROCESS_NAME,
        [str(EPMD), "-port", str(epmd), "-address", "127.0.0.1"],
        log_path=base / "log" / "epmd.log",
        env=env,
        stop_phase=processes.PHASE_BACKEND,
        grace_s=5,
    )
    processes.wait_for_process(
        epmd_record,
        lambda: socket.create_connection(("127.0.0.1", epmd), timeout=1).close(),
        lambda _none: True,
        timeout_s=10,
        description=f"epmd on 127.0.0.1:{epmd}",
    )
    record = processes.start(
        lab_dir,
        PROCESS_NAME,
        [str(SERVER)],
        log_path=base / "log" / "server.out",
        env=env,
        cwd=base,
        # The script turns TERM into a clean stop of the VM (about 3 s) and waits for it.
        stop_phase=processes.PHASE_OSD,
        grace_s=20,
    )
    processes.wait_for_process(
        record,
        lambda: amqp_greeting("127.0.0.1", amqp),
        is_connection_start,
        timeout_s=timeout_s,
        description=f"rabbitmq AMQP on 127.0.0.1:{amqp}",
        interval_s=0.2,
    )
    log.info("rabbitmq up on 127.0.0.1:%d in %.1fs", amqp, time.monotonic() - started)
    return RabbitMQ(
        host="127.0.0.1",
        ports=rabbit_ports,
        user=USER,
        password=password,
        pid=record.pid,
        epmd_pid=epmd_record.pid,
        base_dir=base,
    )


def stop_rabbitmq(lab_dir: Path) -> None:
    """Stop the broker, then its epmd, by their recorded PIDs."""
    processes.stop(lab_dir, PROCESS_NAME)
    processes.stop(lab_dir, EPMD_PROCESS_NAME)
