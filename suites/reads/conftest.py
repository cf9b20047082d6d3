"""Fixtures shared by the read-only suites."""

from __future__ import annotations

import pytest

from dcn_checks.cephcli import ClusterAdmin, get_cluster_admins
from dcn_checks.clients import Host
from dcn_checks.target import Target


@pytest.fixture(scope="session")
def cluster_admins(target: Target, hosts: dict[str, Host]) -> dict[str, ClusterAdmin]:
    """client.admin of every site's cluster on a mon node of the site, by site name (answers kept per run)."""
    return get_cluster_admins(target.model, hosts, target.api_timeout_s)
