"""Ports are found free at lab-up time, never fixed."""

from __future__ import annotations

import random
import socket

from dcn_checks.lab import ports


def test_allocated_ports_are_distinct_and_bindable() -> None:
    found = ports.allocate_ports(20)
    assert len(set(found)) == 20
    for port in found:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_busy_port_is_skipped() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        rng = random.Random(1)
        found = ports.allocate_ports(50, exclude=[], rng=rng)
        assert taken not in found


def test_exclude_keeps_earlier_allocation_out() -> None:
    first = ports.allocate_ports(10)
    second = ports.allocate_ports(10, exclude=first)
    assert not set(first) & set(second)


def test_port_range_is_consecutive_and_free() -> None:
    found = ports.allocate_port_range(24)
    assert len(found) == 24 and found.step == 1
    assert ports.BAND[0] <= found.start and found.stop - 1 <= ports.BAND[1]
