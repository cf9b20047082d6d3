"""Faults of the running cloud's API state: what an operator's ``openstack`` commands leave behind.

Each ``cloud`` fault of ``faults.FAULTS`` is applied as the lab admin once every service is up, the
way the same command would change a production cloud, e.g. ``openstack endpoint create --region dcn0
image internal <dcn0's Glance>`` for an edge Glance that TripleO deliberately leaves out of the
catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, cast

from openstack.identity.v3._proxy import Proxy as IdentityV3

from dcn_checks.errors import LabError
from dcn_checks.lab import keystone
from dcn_checks.lab.faults import Fault

log = logging.getLogger(__name__)


class GlanceAt(Protocol):
    """A running glance-api of the lab (``deploy.GlanceEndpoint``)."""

    @property
    def site(self) -> str: ...

    @property
    def url(self) -> str: ...


def apply_cloud_faults(faults: tuple[Fault, ...], ks: keystone.Keystone, glances: Sequence[GlanceAt]) -> None:
    """Apply every ``cloud`` fault through the lab Keystone's API, as the lab admin."""
    cloud_faults = [fault for fault in faults if fault.stage == "cloud"]
    if not cloud_faults:
        return
    conn = keystone.connect(ks)
    try:
        identity = cast(IdentityV3, conn.identity)
        for fault in cloud_faults:
            if fault.name == "edge-glance-in-catalog":
                url = next((g.url for g in glances if g.site == fault.site), None)
                if url is None:
                    raise LabError(f"fault {fault.name}: site {fault.site} runs no Glance in this lab")
                if identity.find_region(fault.site, ignore_missing=True) is None:
                    identity.create_region(id=fault.site)
                service = identity.find_service("glance", ignore_missing=False)
                identity.create_endpoint(service_id=service.id, interface="internal", url=url, region_id=fault.site)
            else:
                raise LabError(f"the lab cannot apply cloud fault {fault.name}")
            log.info("fault %s applied to the cloud", fault.name)
    finally:
        conn.close()
