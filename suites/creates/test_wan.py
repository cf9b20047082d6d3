"""The WAN proof: a COW boot and a volume from an image at a DCN site touch nothing in central's cluster.

The design's point is that a DCN site boots and makes volumes from its own cluster; the only WAN
traffic is copying images. No document shows it, so this check measures it: the client reads and
writes of central's OSDs (``ceph tell osd.N perf dump``: ``op_r``, ``op_w``) before and after the
operation, with nothing else of the run creating meanwhile (the run's quiet lock). A deployment
whose site disks or image reads go to central's cluster shows central's counters move.

On a real cloud central's cluster serves other clients; with ``creates.central_cluster_busy: true``
in the target file the delta is recorded as evidence instead of judged.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dcn_checks.cluster import OsdOps
from dcn_checks.evidence import Evidence
from dcn_checks.flows import Flows, Pools, need
from dcn_checks.model import Site, SiteModel
from dcn_checks.requirements import Verdict
from dcn_checks.runshare import QuietLock
from dcn_checks.target import Target
from dcn_checks.workload import Workload, refusal


def measure(
    quiet_lock: QuietLock, pools: Pools, central: str, operation: Callable[[], object], verdict: Verdict, where: str
) -> OsdOps:
    """Central's client reads and writes during ``operation``, run with nothing else of the run creating;
    an operation the cloud refuses or fails fails the check with what it said."""
    with quiet_lock.quiet():
        before = pools.osd_ops(central)
        try:
            operation()
        except Exception as err:
            said = refusal(err)
            if said is None:
                raise
            pytest.fail(verdict.message(where, said, "the operation done by the site's own cluster"))
        return pools.osd_ops(central) - before


def judge(
    delta: OsdOps,
    what: str,
    site: Site,
    target: Target,
    verdict: Verdict,
    evidence: Evidence,
    request: pytest.FixtureRequest,
) -> None:
    evidence.add(f"central OSD client ops during {what} at {site.name}", {"reads": delta.reads, "writes": delta.writes})
    if target.central_cluster_busy:
        request.node.user_properties.append(("outcome", "info"))
        return
    assert delta == OsdOps(0, 0), verdict.message(
        site.name, f"central's OSDs served {delta.reads} read(s) and {delta.writes} write(s) during {what}",
        "none: the site's own cluster serves it",
    )  # fmt: skip


@pytest.mark.check("WAN-001", requirements=["R55", "R57"])
@pytest.mark.creates
def test_cow_boot_stays_off_central_cluster(
    dcn_site: Site,
    site_model: SiteModel,
    target: Target,
    flows: Flows,
    workload: Workload,
    pools: Pools,
    quiet_lock: QuietLock,
    verdict: Verdict,
    evidence: Evidence,
    request: pytest.FixtureRequest,
) -> None:
    """A COW boot at the site: central's OSDs serve no client read or write meanwhile."""
    golden = need(verdict, dcn_site.name, "the image in the site's store", lambda: flows.golden(dcn_site.name))
    workload.flavor()
    delta = measure(
        quiet_lock, pools, site_model.central.name,
        lambda: workload.boot(f"wan-{dcn_site.name}", dcn_site.name, image_id=golden.image_id),
        verdict, dcn_site.name,
    )  # fmt: skip
    judge(delta, "a COW boot", dcn_site, target, verdict, evidence, request)


@pytest.mark.check("WAN-002", requirements=["R60"])
@pytest.mark.creates
def test_volume_from_image_stays_off_central_cluster(
    dcn_site: Site,
    site_model: SiteModel,
    target: Target,
    flows: Flows,
    workload: Workload,
    pools: Pools,
    quiet_lock: QuietLock,
    verdict: Verdict,
    evidence: Evidence,
    request: pytest.FixtureRequest,
) -> None:
    """A volume from the image in the site's AZ: central's OSDs serve no client read or write meanwhile."""
    golden = need(verdict, dcn_site.name, "the image in the site's store", lambda: flows.golden(dcn_site.name))
    made: list[str] = []

    def make_volume() -> None:
        made.append(workload.volume(f"wan-volume-{dcn_site.name}", dcn_site.name, image_id=golden.image_id).volume_id)

    delta = measure(quiet_lock, pools, site_model.central.name, make_volume, verdict, dcn_site.name)
    for volume_id in made:  # a run holds few volumes at once (the project's quota)
        workload.discard("volume", volume_id)
    judge(delta, "a volume from an image", dcn_site, target, verdict, evidence, request)
