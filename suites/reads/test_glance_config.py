"""glance-api.conf of every glance-api service, as TripleO rendered it on the node (R29-R31): read-only.

Each glance-api must list one RBD store per site it serves (central: every site; a DCN site: its own
and central's), default to its own site's store, offer copy-image, convert imports to raw, and show
image locations exactly to the services that clone from them. Files are read at
``/var/lib/config-data/puppet-generated/<service>/etc/glance/`` on the node, where the release's
glance-api containers (``glance_api``, ``glance_api_internal``) take them from.
"""

from __future__ import annotations

import pytest

from dcn_checks import glanceconf
from dcn_checks.evidence import Evidence
from dcn_checks.glanceconf import GlanceApiConf
from dcn_checks.model import SiteModel
from dcn_checks.parametrize import GlanceServiceCase, NodeCase
from dcn_checks.plugin import ServiceConfigs
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import Verdict


def _api_conf(configs: ServiceConfigs, case: GlanceServiceCase, profile: ReleaseProfile) -> GlanceApiConf:
    path = glanceconf.glance_config_path(case.service, glanceconf.GLANCE_API_CONF)
    return GlanceApiConf(configs.read(case, path, f"the {case.service} config of {profile.name}"))


def _store_evidence(conf: GlanceApiConf, store_ids: list[str]) -> str:
    wanted = [("DEFAULT", "enabled_backends"), ("glance_store", "default_backend")]
    wanted += [(store_id, option) for store_id in store_ids for option in glanceconf.RBD_STORE_OPTIONS]
    return conf.ini.excerpt(wanted)


@pytest.mark.check("GLANCECONF-001", requirements=["R29", "R30"])
@pytest.mark.reads
def test_glance_enables_one_rbd_store_per_served_site(
    glance_service: GlanceServiceCase,
    site_model: SiteModel,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """enabled_backends of central's glance-api lists an RBD store for every site; a DCN site's lists its
    own store and central's. A missing store means images cannot be copied to, or booted from, that
    site; an extra one reaches a cluster the site has no keyring for."""
    conf = _api_conf(service_configs, glance_service, profile)
    expected = glanceconf.get_expected_stores(site_model, glance_service.site)
    evidence.add(f"{conf.ini.path} on {glance_service.node.name}", _store_evidence(conf, []))
    findings = glanceconf.find_store_list_findings(conf, expected)
    assert not findings, verdict.findings(glance_service.where, findings)


@pytest.mark.check("GLANCECONF-002", requirements=["R29", "R30"])
@pytest.mark.reads
def test_glance_defaults_to_its_own_site_store(
    glance_service: GlanceServiceCase,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """[glance_store] default_backend is the site's own store: uploads and Nova snapshots at a DCN site
    land in the site's cluster, and central's uploads in central's."""
    conf = _api_conf(service_configs, glance_service, profile)
    evidence.add(f"{conf.ini.path} on {glance_service.node.name}", _store_evidence(conf, []))
    findings = glanceconf.find_default_store_findings(conf, glance_service.site.store_id)
    findings = findings
    assert not findings, verdict.findings(glance_service.where, findings)


@pytest.mark.check("GLANCECONF-003", requirements=["R29", "R30"])
@pytest.mark.reads
def test_glance_stores_open_their_site_cluster(
    glance_service: GlanceServiceCase,
    site_model: SiteModel,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """Each store section names its site's /etc/ceph/<cluster>.conf, the cephx user this site has a
    keyring for (openstack on its own cluster, the model's client user on others), the site's images
    pool and its description, so that an image lands in the cluster the store is named after."""
    conf = _api_conf(service_configs, glance_service, profile)
    expected = glanceconf.get_expected_stores(site_model, glance_service.site)
    evidence.add(
        f"{conf.ini.path} on {glance_service.node.name}", _store_evidence(conf, [s.store_id for s in expected])
    )
    findings = glanceconf.find_store_section_findings(conf, expected)
    assert not findings, verdict.findings(glance_service.where, findings)


@pytest.mark.check("GLANCECONF-004", requirements=["R29"])
@pytest.mark.reads
def test_central_glance_services_have_identical_stores(
    controller: NodeCase, service_configs: ServiceConfigs, profile: ReleaseProfile, verdict: Verdict, evidence: Evidence
) -> None:
    """The public glance_api and the internal glance_api_internal of a controller have identical store
    sections: both serve the same images, so a store that differs gives one image two meanings."""
    if not profile.glance_internal_service:
        pytest.skip(f"release {profile.name} runs one glance-api per controller (before the OSSN-0090 split)")
    if not controller.node.has("GlanceApi"):
        pytest.skip(f"{controller.node.name} runs no glance-api")
    confs = [
        GlanceApiConf(
            service_configs.read(
                controller,
                glanceconf.glance_config_path(service, glanceconf.GLANCE_API_CONF),
                f"the {service} config of {profile.name}",
            )
        )
        for service in ("glance_api", "glance_api_internal")
    ]
    for conf in confs:
        store_ids = [store_id for store_id, _ in conf.enabled_backends]
        evidence.add(f"{conf.ini.path} on {controller.node.name}", _store_evidence(conf, store_ids))
    findings = glanceconf.find_store_drift(confs[0], confs[1])
    assert not findings, verdict.findings(controller.where, findings)


@pytest.mark.check("GLANCECONF-005", requirements=["R31"])
@pytest.mark.reads
def test_glance_enables_copy_image(
    glance_service: GlanceServiceCase,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """enabled_import_methods includes copy-image, the import method that copies an image from central
    to the DCN stores (and a snapshot back) without a download and re-upload."""
    conf = _api_conf(service_configs, glance_service, profile)
    evidence.add(
        f"{conf.ini.path} on {glance_service.node.name}", conf.ini.excerpt([("DEFAULT", "enabled_import_methods")])
    )
    findings = glanceconf.find_import_method_findings(conf)
    assert not findings, verdict.findings(glance_service.where, findings)


@pytest.mark.check("GLANCECONF-006", requirements=["R31"])
@pytest.mark.reads
def test_glance_shows_locations_only_to_nova_and_cinder(
    glance_service: GlanceServiceCase,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """show_image_direct_url and show_multiple_locations are True on the glance-api Nova and Cinder use,
    which they need to clone images copy-on-write; after OSSN-0090 they are False on the public
    glance_api, so users cannot read or set RBD locations."""
    conf = _api_conf(service_configs, glance_service, profile)
    evidence.add(
        f"{conf.ini.path} on {glance_service.node.name}",
        conf.ini.excerpt([("DEFAULT", "show_image_direct_url"), ("DEFAULT", "show_multiple_locations")]),
    )
    shows = glanceconf.serves_nova(glance_service.service, profile)
    findings = glanceconf.find_location_findings(conf, shows_locations=shows)
    assert not findings, verdict.findings(glance_service.where, findings)


@pytest.mark.check("GLANCECONF-007", requirements=["R31"])
@pytest.mark.reads
def test_glance_converts_imports_to_raw(
    glance_service: GlanceServiceCase,
    service_configs: ServiceConfigs,
    profile: ReleaseProfile,
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """glance-image-import.conf runs the image_conversion plugin with output raw: RBD clones only raw
    images, so a qcow2 image would be copied in full on every boot and volume at the edge."""
    ini = service_configs.read(
        glance_service,
        glanceconf.glance_config_path(glance_service.service, glanceconf.GLANCE_IMPORT_CONF),
        f"the {glance_service.service} config of {profile.name}",
        [("image_import_opts", "image_import_plugins"), ("image_conversion", "output_format")],
    )
    findings = glanceconf.find_conversion_findings(ini)
    assert not findings, verdict.findings(glance_service.where, findings)
