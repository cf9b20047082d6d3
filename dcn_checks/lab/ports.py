"""TCP ports for one lab, found free on 127.0.0.1 when the lab comes up.

The lab never uses fixed ports: a second lab on the same machine, a system PostgreSQL on 5432 or a
Ceph cluster somebody started by hand must not collide with us. Ports are picked at random from a
band below the kernel's ephemeral range (32768+), so outgoing connections made during bring-up
cannot grab a port between the moment we choose it and the moment the daemon binds it.

There is an unavoidable window between the probe and the daemon's own bind. A collision there shows
up as a daemon failing its readiness wait with "Address already in use" in its log; choosing at
random from ~12000 ports keeps that unlikely.
"""

from __future__ import annotations

import errno
import logging
import random
import socket
from collections.abc import Iterable
from contextlib import ExitStack

from dcn_checks.errors import LabError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: Below /proc/sys/net/ipv4/ip_local_port_range (32768-60999 on Debian) and above well-known services.
BAND = (20000, 32000)
_ATTEMPTS = 400


def _try_bind(stack: ExitStack, port: int) -> bool:
    """Bind and keep the socket open in ``stack``, so one allocation never hands out a port twice."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        if err.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    stack.enter_context(sock)
    return True


def allocate_ports(count: int, *, exclude: Iterable[int] = (), rng: random.Random | None = None) -> tuple[int, ...]:
    """``count`` distinct ports that are free on 127.0.0.1 right now.

    ``exclude`` lets a caller that allocates in several rounds (e.g. per service) avoid ports it
    already handed out but that are not bound yet.
    """
    chooser = rng or random.SystemRandom()
    taken = set(exclude)
    found: list[int] = []
    with ExitStack() as stack:
        for _ in range(_ATTEMPTS):
            if len(found) == count:
                break
            port = chooser.randint(*BAND)
            if port in taken:
                continue
            taken.add(port)
            if _try_bind(stack, port):
                found.append(port)
    if len(found) < count:
        raise LabError(f"found only {len(found)} of {count} free ports on {HOST} in {BAND[0]}-{BAND[1]}")
    log.debug("allocated ports %s", found)
    return tuple(found)


def allocate_port_range(size: int, *, exclude: Iterable[int] = (), rng: random.Random | None = None) -> range:
    """A run of ``size`` consecutive ports, all free now.

    Ceph OSDs take a port range (``ms bind port min/max``) rather than fixed ports: each OSD binds
    eight sockets and skips ports in the range that are busy, so a range with slack is enough.
    """
    chooser = rng or random.SystemRandom()
    excluded = set(exclude)
    for _ in range(_ATTEMPTS // 4):
        start = chooser.randint(BAND[0], BAND[1] - size)
        candidate = range(start, start + size)
        if excluded.intersection(candidate):
            continue
        with ExitStack() as stack:
            if all(_try_bind(stack, port) for port in candidate):
                log.debug("allocated port range %d-%d", candidate.start, candidate.stop - 1)
                return candidate
    raise LabError(f"no run of {size} free ports on {HOST} in {BAND[0]}-{BAND[1]}")
