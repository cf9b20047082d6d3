"""Copy-on-write boots at each DCN site (R53-R58): from the site's store, into the site's vms pool.

A DCN site boots from its own store: Nova asks the site's Glance for the image's locations, finds
the one in its own cluster, and clones ``vms/<uuid>_disk`` from ``images/<id>@snap`` there, copying
nothing. An image missing from the site's store must not be pulled across the WAN: Nova refuses it
(``never_download_image_if_on_rbd``) or, from Wallaby, asks Glance to copy it into the site's store
first (``images_rbd_glance_store_name``).
"""

from __future__ import annotations

import os

import pytest

from dcn_checks import computeapi, glance, novaconf, rbd
from dcn_checks.errors import GlanceError
from dcn_checks.evidence import Evidence
from dcn_checks.flows import Flows, Pools, need
from dcn_checks.model import Site, SiteModel
from dcn_checks.parametrize import NodeCase
from dcn_checks.plugin import ServiceConfigs
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import Verdict
from dcn_checks.workload import Workload

#: The image of BOOT-002 is small: what is judged is whether it was pulled, copied or refused.
ABSENT_BYTES = 1024 * 1024


@pytest.mark.check("BOOT-001", requirements=["R54", "R55", "R57"])
@pytest.mark.creates
def test_cow_boot_in_site_az(dcn_site: Site, flows: Flows, pools: Pools, verdict: Verdict, evidence: Evidence) -> None:
    """``openstack server create --image <id> --availability-zone <site>`` is ACTIVE on a compute of the
    site, and its disk ``vms/<uuid>_disk`` in the site's cluster has parent ``images/<id>@snap``."""
    where = dcn_site.name
    golden = need(verdict, where, "the image in the site's store", lambda: flows.golden(where))
    server = need(verdict, where, "an ACTIVE server", lambda: flows.cow_server(where), "not-active")
    evidence.add("server", server)
    hosts = computeapi.compute_hosts(dcn_site)
    assert computeapi.short_host(server.host) in hosts and server.availability_zone == dcn_site.az, verdict.message(
        where, f"server {server.describe()}", f"ACTIVE in {dcn_site.az} on one of {', '.join(sorted(hosts))}",
        "not-active",
    )  # fmt: skip
    problem = pools.cow_disk_problem(dcn_site, server.server_id, golden.image_id)
    expected = f"{dcn_site.pools.vms}/{rbd.vm_disk_name(server.server_id)} with parent images/{golden.image_id}@snap"
    assert problem is None, verdict.message(where, str(problem), expected, "flat")


@pytest.mark.check("BOOT-002", requirements=["R58"])
@pytest.mark.creates
def test_boot_of_image_absent_from_site_store(
    dcn_site: Site,
    site_model: SiteModel,
    profile: ReleaseProfile,
    workload: Workload,
    pools: Pools,
    service_configs: ServiceConfigs,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """Boot at the site an image that is only in central's store. The check reads the site's nova.conf,
    says which behaviour it promises (refused, or copied into the site's store and booted COW) and which
    one it saw; a flat download across the WAN is never right at a DCN site."""
    where = dcn_site.name
    computes = dcn_site.nodes_with("NovaCompute")
    if not computes:
        pytest.skip(f"{where} has no compute node in the site model")
    conf = service_configs.read(
        NodeCase(dcn_site, computes[0]), novaconf.NOVA_COMPUTE_CONF, "nova-compute's nova.conf",
        [novaconf.NEVER_DOWNLOAD, novaconf.STORE_NAME],
    )  # fmt: skip
    promised = novaconf.promised_absent_image_boot(conf, dcn_site, profile)
    image = workload.upload_image(f"absent-{where}", os.urandom(ABSENT_BYTES), site_model.central.store_id)
    server = workload.boot(f"absent-{where}", where, image_id=image.image_id, expect_error=True)
    after = glance.get_image(workload.conn, image.image_id)
    evidence.add("server", server)
    evidence.add("image stores after the boot", sorted(after.stores))
    problem = None if server.status == "ERROR" else pools.cow_disk_problem(dcn_site, server.server_id, image.image_id)
    if server.status == "ERROR":
        seen, detail = "refused", server.fault
    elif problem is None and dcn_site.store_id in after.stores:
        seen, detail = "copied", f"stores {','.join(sorted(after.stores))}, COW disk"
    else:
        seen, detail = "downloaded", str(problem)
    expected = (
        f"{promised} as nova.conf promises" if promised != "downloaded" else "refused or copied, never downloaded"
    )
    assert seen == promised and promised != "downloaded", verdict.message(
        where, f"the boot was {seen} ({detail}); nova.conf promises {promised}", expected
    )


@pytest.mark.check("IMAGE-009", requirements=["R53"])
@pytest.mark.creates
def test_copy_with_cow_child_is_not_deleted(
    dcn_site: Site, flows: Flows, workload: Workload, pools: Pools, verdict: Verdict
) -> None:
    """While a server's disk at the site is a clone of the image's snapshot there, ``glance stores-delete
    --store <site>`` is refused (409, in use), and the copy stays."""
    where = dcn_site.name
    golden = need(verdict, where, "the image in the site's store", lambda: flows.golden(where))
    server = need(verdict, where, "a COW server at the site", lambda: flows.cow_server(where))
    problem = pools.cow_disk_problem(dcn_site, server.server_id, golden.image_id)
    assert problem is None, verdict.message(where, f"{problem}: no COW child holds the copy (BOOT-001)", "a COW child")
    try:
        with workload.busy():
            glance.delete_image_from_store(workload.conn, golden.image_id, dcn_site.store_id, ignore_missing=False)
    except GlanceError as err:
        assert err.status == 409, verdict.message(where, f"stores-delete answered {err}", "409 in use")
        return
    pytest.fail(verdict.message(where, "Glance deleted the site's copy under a live COW clone", "409 in use"))
