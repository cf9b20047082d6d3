"""Tests of the service configuration checks' core (serviceconf, glanceconf, novaconf, cinderconf).

Configs come from the lab's renderer (``dcn_checks.lab.render``), fed with the environment files our
generator writes for a site model, so they read as puppet-tripleo writes them; a mistake is made
the way an operator makes it, in an environment file, or in a rendered file as a hand edit would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcn_checks import cinderconf, glanceconf, novaconf
from dcn_checks.cephx import Secret
from dcn_checks.errors import LabError, ParseError
from dcn_checks.generator import generate
from dcn_checks.heat import load_catalog
from dcn_checks.lab import render_cinder, render_glance, render_nova
from dcn_checks.lab.deploy import lab_role
from dcn_checks.lab.faults import apply_env_faults, apply_node_fault, fault_node, get_faults
from dcn_checks.lab.render import (
    CinderWiring,
    GlanceWiring,
    NodeWiring,
    NovaWiring,
    ServiceCredentials,
    parse_stack_params,
    render_node,
)
from dcn_checks.lint.envdir import read_env_directory
from dcn_checks.model import SiteModel, model_with_sites
from dcn_checks.parametrize import controller_cases, dcn_compute_cases, glance_service_cases, volume_node_cases
from dcn_checks.serviceconf import (
    Finding,
    IniFile,
    describe_findings,
    is_same_endpoint,
    parse_bool,
    parse_ini,
    parse_list,
    read_config,
)

MONS = ["[v2:192.0.2.1:3300,v1:192.0.2.1:6789]"]
CENTRAL_GLANCE = "http://192.0.2.10:9292"
CENTRAL_GLANCE_INTERNAL = "http://192.0.2.10:9293"

# --- a whole deployment, rendered -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FakeHost:
    """A node's files by host path (what ``Host.read_file`` needs)."""

    files: dict[str, str]

    def read_file(self, path: str) -> str | None:
        return self.files.get(path)


@dataclasses.dataclass(frozen=True)
class Deployment:
    model: SiteModel  # completed with fsids and Glance endpoints, as the lab's sites.yaml is
    hosts: dict[str, FakeHost]


EnvEdit = Callable[[dict[str, Any]], None]


def site_glance(model: SiteModel, name: str) -> str:
    index = [site.name for site in model.sites].index(name)
    return f"http://192.0.2.{20 + index}:9292"


def wiring(node: str, glance_url: str, *, dcn: bool) -> NodeWiring:
    credentials = ServiceCredentials("glance", Secret("pw"), "http://192.0.2.5:5000", "http://192.0.2.5:5000")
    glance = GlanceWiring(Secret("postgresql://glance"), credentials, "/s/", "/t/", "/l", "/log")
    return NodeWiring(
        glance={"glance_api": glance, "glance_api_internal": glance},
        nova=NovaWiring(host=node, log_file="/log", glance_endpoint=glance_url if dcn else None),
        cinder=CinderWiring(
            backend_host=f"hostgroup-{node}",
            database_url=Secret("postgresql://cinder"),
            transport_url=Secret("rabbit://cinder:pw@192.0.2.5:5672/"),
            glance_api_servers=glance_url,
            lock_path="/l",
            log_file="/log",
            coordination_url="etcd3+http://192.0.2.30:2379?api_version=v3",
        ),
    )


def render_deployment(
    model: SiteModel,
    tmp_path: Path,
    edits: dict[tuple[str, str], EnvEdit] | None = None,
    fault_names: tuple[str, ...] = (),
) -> Deployment:
    """Generate the model's environment files, apply ``edits`` ((site, file) -> edit of its
    parameter_defaults) and the lab's ``env`` and ``node`` faults, and render every node as the lab does."""
    faults = get_faults(fault_names, model)
    env = tmp_path / "env"
    generate(model, env)
    apply_env_faults(faults, model, env)
    for (site_name, filename), edit in (edits or {}).items():
        path = env / model.site(site_name).stack / filename
        document = yaml.safe_load(path.read_text())
        edit(document["parameter_defaults"])
        path.write_text(yaml.safe_dump(document))
    stacks = {stack.name: stack for stack in read_env_directory(env, load_catalog(model.profile.catalog).key).stacks}
    hosts: dict[str, FakeHost] = {}
    sites = []
    for site in model.sites:
        params = parse_stack_params(stacks[site.stack].effective)
        url = CENTRAL_GLANCE_INTERNAL if site.is_central else site_glance(model, site.name)
        for node in site.nodes:
            files = render_node(
                params,
                role=lab_role(node),
                profile=model.profile,
                mon_hosts=MONS,
                wiring=wiring(node.name, url, dcn=not site.is_central),
            )
            for fault in faults:
                if fault.stage == "node" and fault_node(fault, model) == node.name:
                    files = apply_node_fault(
                        fault, files, ceph_dir=model.profile.ceph_config_host_dir,
                        central_cluster=model.central.cluster, user=model.client_user, other_fsid="",
                        other_mon_host="", now=0.0, site_cluster=site.cluster,
                    )  # fmt: skip
            hosts[node.name] = FakeHost({path: file.content for path, file in files.items()})
        sites.append(dataclasses.replace(site, fsid=params.require_fsid(), glance_endpoint=url))
    return Deployment(dataclasses.replace(model, sites=tuple(sites)), hosts)


def all_findings(deployment: Deployment) -> dict[str, tuple[Finding, ...]]:
    """Every decision of the config checks on every applicable case, keyed ``CHECK-ID[case]``, as the
    suites compute them; cases without findings are left out."""
    model, hosts = deployment.model, deployment.hosts
    profile = model.profile
    found: dict[str, tuple[Finding, ...]] = {}

    def record(key: str, findings: tuple[Finding, ...]) -> None:
        if findings:
            found[key] = findings

    for case, case_id in glance_service_cases(model):
        host = hosts[case.node.name]
        ini = read_config(host, glanceconf.glance_config_path(case.service))
        assert ini is not None, case_id
        conf = glanceconf.GlanceApiConf(ini)
        expected = glanceconf.get_expected_stores(model, case.site)
        record(f"GLANCECONF-001[{case_id}]", glanceconf.find_store_list_findings(conf, expected))
        record(f"GLANCECONF-002[{case_id}]", glanceconf.find_default_store_findings(conf, case.site.store_id))
        record(f"GLANCECONF-003[{case_id}]", glanceconf.find_store_section_findings(conf, expected))
        record(f"GLANCECONF-005[{case_id}]", glanceconf.find_import_method_findings(conf))
        shows = glanceconf.serves_nova(case.service, profile)
        record(f"GLANCECONF-006[{case_id}]", glanceconf.find_location_findings(conf, shows_locations=shows))
        import_conf = read_config(host, glanceconf.glance_config_path(case.service, glanceconf.GLANCE_IMPORT_CONF))
        assert import_conf is not None, case_id
        record(f"GLANCECONF-007[{case_id}]", glanceconf.find_conversion_findings(import_conf))
    if profile.glance_internal_service:
        for node_case, case_id in controller_cases(model):
            host = hosts[node_case.node.name]
            public, internal = (
                glanceconf.GlanceApiConf(read_config(host, glanceconf.glance_config_path(s)))  # type: ignore[arg-type]
                for s in ("glance_api", "glance_api_internal")
            )
            record(f"GLANCECONF-004[{case_id}]", glanceconf.find_store_drift(public, internal))
    for node_case, case_id in dcn_compute_cases(model):
        nova = read_config(hosts[node_case.node.name], novaconf.NOVA_COMPUTE_CONF)
        assert nova is not None and node_case.site.fsid and node_case.site.glance_endpoint
        record(f"NOVACONF-001[{case_id}]", novaconf.find_cross_az_findings(nova))
        record(f"NOVACONF-002[{case_id}]", novaconf.find_download_findings(nova))
        record(f"NOVACONF-003[{case_id}]", novaconf.find_ephemeral_findings(nova, node_case.site))
        if profile.nova_knows_glance_store:
            record(f"NOVACONF-004[{case_id}]", novaconf.find_store_name_findings(nova, node_case.site))
        record(f"NOVACONF-005[{case_id}]", novaconf.find_rbd_client_findings(nova, node_case.site.fsid))
        record(f"NOVACONF-006[{case_id}]", novaconf.find_glance_endpoint_findings(nova, node_case.site.glance_endpoint))
    for node_case, case_id in volume_node_cases(model):
        cinder = read_config(hosts[node_case.node.name], cinderconf.CINDER_CONF)
        assert cinder is not None and node_case.site.glance_endpoint
        site = node_case.site
        record(f"CINDERCONF-001[{case_id}]", cinderconf.find_az_findings(cinder, site.cinder_az))
        record(f"CINDERCONF-002[{case_id}]", cinderconf.find_cluster_findings(cinder, site.volume_cluster))
        record(f"CINDERCONF-003[{case_id}]", cinderconf.find_backend_findings(cinder, model, site))
        record(f"CINDERCONF-004[{case_id}]", cinderconf.find_glance_findings(cinder, site.glance_endpoint))
    return found


def edit_file(deployment: Deployment, node: str, path: str, old: str, new: str) -> Deployment:
    """The deployment with one line of a node's rendered file changed, as a hand edit would."""
    files = dict(deployment.hosts[node].files)
    assert old in files[path], f"{old!r} not in {path}"
    files[path] = files[path].replace(old, new)
    return dataclasses.replace(deployment, hosts={**deployment.hosts, node: FakeHost(files)})


# --- INI and value parsing ------------------------------------------------------------------------


def test_parse_ini_keeps_default_as_its_own_section_and_the_case_of_keys() -> None:
    ini = parse_ini("[DEFAULT]\nenabled_backends=dcn0:rbd\n\n[dcn0]\nRbd_Store_User = openstack\n")
    assert ini.get("DEFAULT", "enabled_backends") == "dcn0:rbd"
    assert ini.get("dcn0", "enabled_backends") is None
    assert ini.get("dcn0", "Rbd_Store_User") == "openstack"


def test_parse_ini_repeated_sections_merge_and_the_last_value_wins() -> None:
    ini = parse_ini("[libvirt]\nimages_type=default\n[cinder]\nx=1\n[libvirt]\nimages_type=rbd\n")
    assert ini.get("libvirt", "images_type") == "rbd"
    assert ini.get("cinder", "x") == "1"


def test_parse_ini_refuses_a_key_outside_any_section() -> None:
    with pytest.raises(ParseError, match="not an INI file"):
        parse_ini("enabled_backends=dcn0:rbd\n", "glance-api.conf")


def test_excerpt_shows_unset_options() -> None:
    ini = parse_ini("[glance_store]\ndefault_backend=dcn0\n")
    assert ini.excerpt([("glance_store", "default_backend"), ("DEFAULT", "enabled_backends")]) == (
        "[glance_store] default_backend = dcn0\n[DEFAULT] enabled_backends (unset)"
    )


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [("True", False, True), ("false", True, False), ("YES", False, True), ("0", True, False), (None, True, True),
     ("maybe", False, None)],
    ids=["True", "false", "YES", "0", "unset-default", "not-a-boolean"],
)  # fmt: skip
def test_parse_bool_reads_oslo_booleans(value: str | None, default: bool, expected: bool | None) -> None:
    assert parse_bool(value, default) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("[web-download,copy-image]", ("web-download", "copy-image")), ("a, b", ("a", "b")),
     ("['no_op', 'image_conversion']", ("no_op", "image_conversion")), ("[]", ()), (None, ())],
    ids=["puppet-brackets", "plain", "quoted", "empty", "unset"],
)  # fmt: skip
def test_parse_list_reads_oslo_lists(value: str | None, expected: tuple[str, ...]) -> None:
    assert parse_list(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("http://192.0.2.1:9292", "http://192.0.2.1:9292/v2/", True), ("http://H:80", "http://h", True),
     ("http://192.0.2.1:9292", "http://192.0.2.1:9293", False), ("https://h", "http://h", False)],
    ids=["version-suffix", "default-port", "other-port", "other-scheme"],
)  # fmt: skip
def test_is_same_endpoint_ignores_version_and_default_port(a: str, b: str, same: bool) -> None:
    assert is_same_endpoint(a, b) is same


def test_describe_findings_puts_every_finding_on_one_line() -> None:
    findings = (Finding("[libvirt] images_type", None, "rbd"), Finding("[libvirt] images_rbd_pool", "rbd", "vms"))
    assert describe_findings(findings) == (
        "[libvirt] images_type unset, [libvirt] images_rbd_pool = rbd",
        "[libvirt] images_type = rbd, [libvirt] images_rbd_pool = vms",
    )


def test_config_paths_are_where_the_renderer_puts_them() -> None:
    assert (
        glanceconf.glance_config_path("glance_api")
        == f"{render_glance.glance_config_dir('glance_api')}/glance-api.conf"
    )
    assert novaconf.NOVA_COMPUTE_CONF == render_nova.NOVA_CONF
    assert cinderconf.CINDER_CONF == render_cinder.CINDER_CONF


# --- a healthy deployment -------------------------------------------------------------------------


@pytest.mark.parametrize("release", ["ussuri", "victoria", "wallaby", "zed"])
@pytest.mark.parametrize("sites", [2, 6])
@pytest.mark.parametrize("key_option", [1, 2])
def test_rendered_deployment_has_no_findings(release: str, sites: int, key_option: int, tmp_path: Path) -> None:
    model = model_with_sites(sites, release=release, key_option=key_option)  # type: ignore[arg-type]
    assert all_findings(render_deployment(model, tmp_path)) == {}


def test_glance_services_follow_the_ossn_0090_split() -> None:
    for release, central, dcn in (
        ("ussuri", ["glance_api"], ["glance_api"]),
        ("wallaby", ["glance_api", "glance_api_internal"], ["glance_api_internal"]),
    ):
        model = model_with_sites(1, release=release)
        ids = [case_id for _, case_id in glance_service_cases(model)]
        assert ids == [f"controller-0/{s}" for s in central] + [f"dcn0-hci-0/{s}" for s in dcn]


def test_expected_stores_use_the_external_user_on_other_sites_clusters() -> None:
    model = model_with_sites(2, release="wallaby", key_option=2)
    stores = {s.store_id: s for s in glanceconf.get_expected_stores(model, model.site("dcn1"))}
    assert list(stores) == ["dcn1", "central"]
    assert (stores["dcn1"].user, stores["central"].user) == ("openstack", "external")
    assert stores["central"].ceph_conf == "/etc/ceph/central.conf"


# --- mistakes, each found by its check and no other -----------------------------------------------


def _set(key: str, value: object) -> EnvEdit:
    return lambda params: params.__setitem__(key, value)


#: Mistakes the lab has no fault for (yet); the lab's faults are in LAB_FAULTS below.
ENV_MISTAKES: list[tuple[str, str, dict[tuple[str, str], EnvEdit], set[str]]] = [
    ("cross-az-attach-true", "wallaby", {("dcn0", "az.yaml"): _set("NovaCrossAZAttach", True)},
     {"NOVACONF-001[dcn0-hci-0]"}),
    ("image-download-allowed", "wallaby", {("dcn1", "az.yaml"): _set("NovaDisableImageDownloadToRbd", False)},
     {"NOVACONF-002[dcn1-hci-0]"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("release", "edits", "expected"), [m[1:] for m in ENV_MISTAKES], ids=[m[0] for m in ENV_MISTAKES]
)
def test_environment_mistake_is_found_by_its_checks(
    release: str, edits: dict[tuple[str, str], EnvEdit], expected: set[str], tmp_path: Path
) -> None:
    model = model_with_sites(2, release=release)
    assert set(all_findings(render_deployment(model, tmp_path, edits))) == expected


GLANCE_API = glanceconf.glance_config_path("glance_api")
GLANCE_INTERNAL = glanceconf.glance_config_path("glance_api_internal")
FILE_MISTAKES: list[tuple[str, str, str, str, str, set[str]]] = [
    ("cinder-backend-on-central", "dcn1-hci-0", cinderconf.CINDER_CONF, "rbd_ceph_conf=/etc/ceph/dcn1.conf",
     "rbd_ceph_conf=/etc/ceph/central.conf", {"CINDERCONF-003[dcn1-hci-0]"}),
    ("cinder-az-left-at-nova", "dcn0-hci-0", cinderconf.CINDER_CONF, "storage_availability_zone=dcn0",
     "#storage_availability_zone=dcn0", {"CINDERCONF-001[dcn0-hci-0]"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("node", "path", "old", "new", "expected"), [m[1:] for m in FILE_MISTAKES], ids=[m[0] for m in FILE_MISTAKES]
)
def test_hand_edit_is_found_by_its_check(
    node: str, path: str, old: str, new: str, expected: set[str], tmp_path: Path
) -> None:
    deployment = render_deployment(model_with_sites(2, release="wallaby"), tmp_path)
    assert set(all_findings(edit_file(deployment, node, path, old, new))) == expected


LAB_FAULTS: list[tuple[str, str, set[str]]] = [
    ("dcn-glance-without-central", "ussuri", {"GLANCECONF-001[dcn0-hci-0/glance_api]"}),
    ("central-glance-without-dcn1", "ussuri", {"GLANCECONF-001[controller-0/glance_api]"}),
    ("backend-id-typo", "ussuri",
     {"GLANCECONF-001[dcn1-hci-0/glance_api]", "GLANCECONF-002[dcn1-hci-0/glance_api]"}),
    ("backend-id-typo", "wallaby",
     {"GLANCECONF-001[dcn1-hci-0/glance_api_internal]", "GLANCECONF-002[dcn1-hci-0/glance_api_internal]",
      "NOVACONF-004[dcn1-hci-0]"}),
    ("copy-image-disabled", "wallaby",
     {"GLANCECONF-005[controller-0/glance_api]", "GLANCECONF-005[controller-0/glance_api_internal]"}),
    ("glance-store-user-missing", "ussuri", {"GLANCECONF-003[controller-0/glance_api]"}),
    ("glance-no-image-conversion", "wallaby", {"GLANCECONF-007[dcn1-hci-0/glance_api_internal]"}),
    ("central-no-image-conversion", "wallaby",
     {"GLANCECONF-007[controller-0/glance_api]", "GLANCECONF-007[controller-0/glance_api_internal]"}),
    ("cinder-cluster-left-default", "ussuri", {"CINDERCONF-002[dcn0-hci-0]"}),
    ("cinder-az-mismatch", "wallaby", {"CINDERCONF-001[dcn1-hci-0]"}),
    ("glance-default-central", "ussuri", {"GLANCECONF-002[dcn0-hci-0/glance_api]"}),
    ("glance-default-central", "wallaby", {"GLANCECONF-002[dcn0-hci-0/glance_api_internal]"}),
    ("public-glance-shows-locations", "wallaby", {"GLANCECONF-006[controller-0/glance_api]"}),
    ("internal-glance-store-drift", "zed", {"GLANCECONF-004[controller-0]"}),
    ("nova-images-on-central", "wallaby", {"NOVACONF-003[dcn0-hci-0]"}),
    ("nova-wrong-secret-uuid", "ussuri", {"NOVACONF-005[dcn1-hci-0]"}),
    ("nova-glance-from-catalog", "wallaby", {"NOVACONF-006[dcn1-hci-0]"}),
    ("cinder-glance-from-catalog", "wallaby", {"CINDERCONF-004[dcn0-hci-0]"}),
    ("cinder-wrong-secret-uuid", "ussuri", {"CINDERCONF-003[dcn0-hci-0]"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "release", "expected"), LAB_FAULTS, ids=[f"{name}-{release}" for name, release, _ in LAB_FAULTS]
)
def test_lab_fault_is_found_by_its_config_checks(fault: str, release: str, expected: set[str], tmp_path: Path) -> None:
    model = model_with_sites(2, release=release)  # type: ignore[arg-type]
    assert set(all_findings(render_deployment(model, tmp_path, fault_names=(fault,)))) == expected


def test_glance_api_internal_fault_is_refused_before_the_ossn_0090_split(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="internal-glance-store-drift: the node has none of the files"):
        render_deployment(model_with_sites(2, release="ussuri"), tmp_path, fault_names=("internal-glance-store-drift",))


def test_wrong_secret_uuid_names_the_site_fsid(tmp_path: Path) -> None:
    deployment = render_deployment(model_with_sites(2, release="wallaby"), tmp_path)
    central, dcn1 = deployment.model.central.fsid, deployment.model.site("dcn1").fsid
    assert central and dcn1
    broken = edit_file(
        deployment, "dcn1-hci-0", novaconf.NOVA_COMPUTE_CONF, f"rbd_secret_uuid={dcn1}", f"rbd_secret_uuid={central}"
    )
    found = all_findings(broken)
    assert set(found) == {"NOVACONF-005[dcn1-hci-0]"}
    assert found["NOVACONF-005[dcn1-hci-0]"] == (
        Finding("[libvirt] rbd_secret_uuid", central, f"{dcn1} (the site cluster's fsid)"),
    )


def test_cinder_cluster_without_coordination_is_found(tmp_path: Path) -> None:
    deployment = render_deployment(model_with_sites(1, release="zed"), tmp_path)
    broken = edit_file(deployment, "dcn0-hci-0", cinderconf.CINDER_CONF, "backend_url=", "#backend_url=")
    assert all_findings(broken) == {
        "CINDERCONF-002[dcn0-hci-0]": (Finding("[coordination] backend_url", None, "a tooz URL (the site's etcd)"),)
    }


def test_missing_store_is_not_also_a_store_section_finding() -> None:
    conf = glanceconf.parse_glance_api_conf(
        "[DEFAULT]\nenabled_backends=central:rbd\n[glance_store]\ndefault_backend=central\n"
    )
    model = model_with_sites(1)
    expected = glanceconf.get_expected_stores(model, model.central)
    assert glanceconf.find_store_list_findings(conf, expected) == (
        Finding("[DEFAULT] enabled_backends", "central:rbd", "central:rbd,dcn0:rbd"),
    )
    assert glanceconf.find_store_section_findings(conf, expected) != ()  # central's own section is missing
    assert all(f.option.startswith("[central]") for f in glanceconf.find_store_section_findings(conf, expected))


def test_unset_cross_az_attach_is_novas_default_true() -> None:
    assert novaconf.find_cross_az_findings(IniFile("nova.conf", ())) == (
        Finding("[cinder] cross_az_attach", None, "False"),
    )
    assert novaconf.get_cross_az_attach(IniFile("nova.conf", ())) is True


@pytest.mark.parametrize(
    ("release", "libvirt", "workarounds", "promised"),
    [
        pytest.param("ussuri", "", "never_download_image_if_on_rbd = True", "refused", id="ussuri-never-download"),
        pytest.param("ussuri", "images_rbd_glance_store_name = dcn0", "", "downloaded", id="ussuri-ignores-store"),
        pytest.param("wallaby", "images_rbd_glance_store_name = dcn0", "never_download_image_if_on_rbd = True",
                     "copied", id="wallaby-copies"),
        pytest.param("zed", "images_rbd_glance_store_name = default_backend",
                     "never_download_image_if_on_rbd = true", "refused", id="zed-typo-store-refused"),
        pytest.param("zed", "", "never_download_image_if_on_rbd = False", "downloaded", id="zed-downloads"),
    ],
)  # fmt: skip
def test_promised_absent_image_boot(release: str, libvirt: str, workarounds: str, promised: str) -> None:
    """BOOT-002's expectation: what nova.conf at a DCN compute promises for an image not in the site's store."""
    model = model_with_sites(2, release=release)  # type: ignore[arg-type]
    conf = parse_ini(f"[libvirt]\n{libvirt}\n[workarounds]\n{workarounds}\n", "nova.conf")
    assert novaconf.promised_absent_image_boot(conf, model.site("dcn0"), model.profile) == promised
