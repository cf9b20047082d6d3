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
from dcn_checks.clients import Host
from dcn_checks.evidence import Evidence
from dcn_checks.glanceconf import GlanceApiConf, GlanceService
from dcn_checks.model import Node, SiteModel
from dcn_checks.parametrize import GlanceServiceCase, NodeCase
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import explain
from dcn_checks.serviceconf import Finding, IniFile, describe_findings, read_config


def _where(case: GlanceServiceCase) -> str:
    return f"{case.site.name} ({case.node.name} {case.service})"


def _read(
    check_id: str, host: Host, node: Node, service: GlanceService, filename: str, where: str, release: str
) -> IniFile:
    path = glanceconf.glance_config_path(service, filename)
    conf = read_config(host, path)
    if conf is None:
        pytest.fail(explain(check_id, where, f"no {path} on {node.name}", f"the {service} config of {release}"))
    return conf


def _api_conf(check_id: str, case: GlanceServiceCase, hosts: dict[str, Host], profile: ReleaseProfile) -> GlanceApiConf:
    ini = _read(
        check_id, hosts[case.node.name], case.node, case.service, glanceconf.GLANCE_API_CONF, _where(case), profile.name
    )
    return GlanceApiConf(ini)


def _assert_none(check_id: str, where: str, findings: tuple[Finding, ...]) -> None:
    seen, expected = describe_findings(findings)
    assert not findings, explain(check_id, where, seen, expected)


def _store_evidence(conf: GlanceApiConf, store_ids: list[str]) -> str:
    wanted = [("DEFAULT", "enabled_backends"), ("glance_store", "default_backend")]
    wanted += [(store_id, option) for store_id in store_ids for option in glanceconf.RBD_STORE_OPTIONS]
    return conf.ini.excerpt(wanted)


@pytest.mark.check("GLANCECONF-001", requirements=["R29", "R30"])
@pytest.mark.reads
def test_glance_enables_one_rbd_store_per_served_site(
    glance_service: GlanceServiceCase, site_model: SiteModel, hosts: dict[str, Host], profile: ReleaseProfile,
    evidence: Evidence,
) -> None:  # fmt: skip
    """enabled_backends of central's glance-api lists an RBD store for every site; a DCN site's lists its
    own store and central's. A missing store means images cannot be copied to, or booted from, that
    site; an extra one reaches a cluster the site has no keyring for."""
    conf = _api_conf("GLANCECONF-001", glance_service, hosts, profile)
    expected = glanceconf.get_expected_stores(site_model, glance_service.site)
    evidence.add(f"{conf.ini.path} on {glance_service.node.name}", _store_evidence(conf, []))
    _assert_none("GLANCECONF-001", _where(glance_service), glanceconf.find_store_list_findings(conf, expected))


@pytest.mark.check("GLANCECONF-002", requirements=["R29", "R30"])
@pytest.mark.reads
def test_glance_defaults_to_its_own_site_store(
    glance_service: GlanceServiceCase, hosts: dict[str, Host], profile: ReleaseProfile, evidence: Evidence
) -> None:
    """[glance_store] default_backend is the site's own store: uploads and Nova snapshots at a DCN site
    land in the site's cluster, and central's uploads in central's."""
    conf = _api_conf("GLANCECONF-002", glance_service, hosts, profile)
    evidence.add(f"{conf.ini.path} on {glance_service.node.name}", _store_evidence(conf, []))
    findings = glanceconf.find_default_store_findings(conf, glance_service.site.store_id)
    _assert_none("GLANCECONF-002", _where(glance_service), findings)


@pytest.mark.check("GLANCECONF-003", requirements=["R29", "R30"])
@pytest.mark.reads
def test_glance_stores_open_their_site_cluster(
    glance_service: GlanceServiceCase, site_model: SiteModel, hosts: dict[str, Host], profile: ReleaseProfile,
    evidence: Evidence,
) -> None:  # fmt: skip
    """Each store section names its site's /etc/ceph/<cluster>.conf, the cephx user this site has a
    keyring for (openstack on its own cluster, the model's client user on others), the site's images
    pool and its description, so that an image lands in the cluster the store is named after."""
    conf = _api_conf("GLANCECONF-003", glance_service, hosts, profile)
    expected = glanceconf.get_expected_stores(site_model, glance_service.site)
    evidence.add(
        f"{conf.ini.path} on {glance_service.node.name}", _store_evidence(conf, [s.store_id for s in expected])
    )
    _assert_none("GLANCECONF-003", _where(glance_service), glanceconf.find_store_section_findings(conf, expected))


@pytest.mark.check("GLANCECONF-004", requirements=["R29"])
@pytest.mark.reads
def test_central_glance_services_have_identical_stores(
    controller: NodeCase, hosts: dict[str, Host], profile: ReleaseProfile, evidence: Evidence
) -> None:
    """The public glance_api and the internal glance_api_internal of a controller have identical store
    sections: both serve the same images, so a store that differs gives one image two meanings."""
    if not profile.glance_internal_service:
        pytest.skip(f"release {profile.name} runs one glance-api per controller (before the OSSN-0090 split)")
    if not controller.node.has("GlanceApi"):
        pytest.skip(f"{controller.node.name} runs no glance-api")
    where = f"{controller.site.name} ({controller.node.name})"
    host = hosts[controller.node.name]
    confs = [
        GlanceApiConf(
            _read("GLANCECONF-004", host, controller.node, s, glanceconf.GLANCE_API_CONF, where, profile.name)
        )
        for s in ("glance_api", "glance_api_internal")
    ]
    for conf in confs:
        store_ids = [store_id for store_id, _ in conf.enabled_backends]
        evidence.add(f"{conf.ini.path} on {controller.node.name}", _store_evidence(conf, store_ids))
    _assert_none("GLANCECONF-004", where, glanceconf.find_store_drift(confs[0], confs[1]))


@pytest.mark.check("GLANCECONF-005", requirements=["R31"])
@pytest.mark.reads
def test_glance_enables_copy_image(
    glance_service: GlanceServiceCase, hosts: dict[str, Host], profile: ReleaseProfile, evidence: Evidence
) -> None:
    """enabled_import_methods includes copy-image, the import method that copies an image from central
    to the DCN stores (and a snapshot back) without a download and re-upload."""
    conf = _api_conf("GLANCECONF-005", glance_service, hosts, profile)
    evidence.add(
        f"{conf.ini.path} on {glance_service.node.name}", conf.ini.excerpt([("DEFAULT", "enabled_import_methods")])
    )
    _assert_none("GLANCECONF-005", _where(glance_service), glanceconf.find_import_method_findings(conf))


@pytest.mark.check("GLANCECONF-006", requirements=["R31"])
@pytest.mark.reads
def test_glance_shows_locations_only_to_nova_and_cinder(
    glance_service: GlanceServiceCase, hosts: dict[str, Host], profile: ReleaseProfile, evidence: Evidence
) -> None:
    """show_image_direct_url and show_multiple_locations are True on the glance-api Nova and Cinder use,
    which they need to clone images copy-on-write; after OSSN-0090 they are False on the public
    glance_api, so users cannot read or set RBD locations."""
    conf = _api_conf("GLANCECONF-006", glance_service, hosts, profile)
    evidence.add(
        f"{conf.ini.path} on {glance_service.node.name}",
        conf.ini.excerpt([("DEFAULT", "show_image_direct_url"), ("DEFAULT", "show_multiple_locations")]),
    )
    shows = glanceconf.serves_nova(glance_service.service, profile)
    _assert_none(
        "GLANCECONF-006", _where(glance_service), glanceconf.find_location_findings(conf, shows_locations=shows)
    )


@pytest.mark.check("GLANCECONF-007", requirements=["R31"])
@pytest.mark.reads
def test_glance_converts_imports_to_raw(
    glance_service: GlanceServiceCase, hosts: dict[str, Host], profile: ReleaseProfile, evidence: Evidence
) -> None:
    """glance-image-import.conf runs the image_conversion plugin with output raw: RBD clones only raw
    images, so a qcow2 image would be copied in full on every boot and volume at the edge."""
    ini = _read(
        "GLANCECONF-007", hosts[glance_service.node.name], glance_service.node, glance_service.service,
        glanceconf.GLANCE_IMPORT_CONF, _where(glance_service), profile.name,
    )  # fmt: skip
    evidence.add(
        f"{ini.path} on {glance_service.node.name}",
        ini.excerpt([("image_import_opts", "image_import_plugins"), ("image_conversion", "output_format")]),
    )
    _assert_none("GLANCECONF-007", _where(glance_service), glanceconf.find_conversion_findings(ini))
