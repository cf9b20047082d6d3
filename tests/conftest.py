"""Markers of dcn-checks' own test suite."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lab: needs the embedded lab's real daemons (root, Ceph, PostgreSQL, the OpenStack venv)"
    )
