"""Fixtures of the functional suites: the shared flows, the golden image, and what each cluster holds.

Everything here creates through the ``workload`` fixture, which records each resource in the run's
ledger before it waits; the run removes all of it at its end, failed checks and interrupts included.
"""

from __future__ import annotations

import pytest

from dcn_checks.cephcli import ClusterAdmin
from dcn_checks.flows import Flows, Golden, Pools, StepRefused, make_golden
from dcn_checks.plugin import make_once_per_run
from dcn_checks.runshare import SharedStateFailed
from dcn_checks.target import Target
from dcn_checks.workload import Workload


@pytest.fixture(scope="session")
def flows(pytestconfig: pytest.Config, target: Target, workload: Workload) -> Flows:
    """The document's flows per site, each run once per process; the golden image once per run."""

    def golden() -> Golden:
        record = make_once_per_run(
            pytestconfig, target, workload, "golden", lambda shared: make_golden(shared, target.model).record()
        )
        return Golden.from_record(record)

    def golden_or_refusal() -> Golden:
        try:
            return golden()
        except SharedStateFailed as err:
            raise StepRefused("golden image", str(err)) from err

    return Flows(workload, target.model, golden_or_refusal)


@pytest.fixture(scope="session")
def pools(cluster_admins: dict[str, ClusterAdmin]) -> Pools:
    return Pools(cluster_admins)
