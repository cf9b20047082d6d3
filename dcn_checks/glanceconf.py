"""glance-api.conf and glance-image-import.conf of every glance-api: what each site's Glance is told.

A DCN site keeps its images in its own Ceph cluster and copies them through central, so every
glance-api must list the right RBD stores (R29, R30), default to its own site's store, offer
``copy-image``, convert imports to raw (COW clones need raw images) and show image locations to
the services that clone from them, but, after OSSN-0090, not to users (R31).

Which glance-api runs where depends on the release (THT "Deploy separate glance-api services for
OSSN-0090", backported to wallaby and zed): before it, one ``glance_api`` on Controllers and on
GlanceApiEdge nodes; after it, Controllers run ``glance_api`` (public) and ``glance_api_internal``
(Nova, Cinder), and DCN nodes only ``glance_api_internal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dcn_checks.model import Node, Site, SiteModel
from dcn_checks.release import ReleaseProfile
from dcn_checks.serviceconf import (
    PUPPET_GENERATED,
    Finding,
    IniFile,
    expect,
    expect_bool,
    parse_ini,
    parse_list,
)

GlanceService = Literal["glance_api", "glance_api_internal"]
GLANCE_API_CONF = "glance-api.conf"
GLANCE_IMPORT_CONF = "glance-image-import.conf"
COPY_IMAGE = "copy-image"
IMAGE_CONVERSION = "image_conversion"
#: The options of an RBD store section that decide where its images live (puppet-glance multistore/rbd.pp).
RBD_STORE_OPTIONS = ("rbd_store_ceph_conf", "rbd_store_user", "rbd_store_pool", "store_description")


def glance_config_path(service: GlanceService, filename: str = GLANCE_API_CONF) -> str:
    """The host path of a glance-api container's config file, e.g.
    ``/var/lib/config-data/puppet-generated/glance_api_internal/etc/glance/glance-api.conf``."""
    return f"{PUPPET_GENERATED}/{service}/etc/glance/{filename}"


def get_glance_services(node: Node, profile: ReleaseProfile) -> tuple[GlanceService, ...]:
    """The glance-api services a node runs at the release: none, ``glance_api``, ``glance_api_internal``
    or both (Controllers after OSSN-0090)."""
    if node.has("GlanceApi"):
        return ("glance_api", "glance_api_internal") if profile.glance_internal_service else ("glance_api",)
    if node.has("GlanceApiEdge"):
        return ("glance_api_internal",) if profile.glance_internal_service else ("glance_api",)
    return ()


def serves_nova(service: GlanceService, profile: ReleaseProfile) -> bool:
    """Whether Nova and Cinder use this glance-api, so it must show image locations: the internal one
    after OSSN-0090, the only one before it."""
    return service == "glance_api_internal" or not profile.glance_internal_service


# --- what the site model expects ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedStore:
    """An RBD store a site's Glance must have, with the options that put it on the right cluster."""

    store_id: str
    ceph_conf: str
    user: str
    pool: str
    description: str

    def options(self) -> tuple[tuple[str, str], ...]:
        """(option, value) in the order of ``RBD_STORE_OPTIONS``."""
        return tuple(zip(RBD_STORE_OPTIONS, (self.ceph_conf, self.user, self.pool, self.description), strict=True))


def get_expected_stores(model: SiteModel, site: Site) -> tuple[ExpectedStore, ...]:
    """The stores of a site's Glance, its own first: central has one per site, a DCN site its own and
    central's. Its own cluster it opens as ``openstack``; other sites' clusters as the model's client
    user (``external`` with key option 2), each through ``/etc/ceph/<cluster>.conf`` in the container."""
    others = model.dcn_sites if site.is_central else (model.central,)
    stores = []
    for store_site in (site, *others):
        stores.append(
            ExpectedStore(
                store_id=store_site.store_id,
                ceph_conf=f"/etc/ceph/{store_site.cluster}.conf",
                user="openstack" if store_site is site else model.client_user,
                pool=store_site.pools.images,
                description=store_site.store_description,
            )
        )
    return tuple(stores)


# --- parsed files ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GlanceApiConf:
    """A glance-api.conf, with the multistore options read out."""

    ini: IniFile

    @property
    def enabled_backends(self) -> tuple[tuple[str, str], ...]:
        """(store ID, store type) per entry of ``[DEFAULT] enabled_backends``, e.g. ``dcn0:rbd``."""
        entries = []
        for entry in parse_list(self.ini.get("DEFAULT", "enabled_backends")):
            store_id, _, store_type = entry.partition(":")
            entries.append((store_id.strip(), store_type.strip()))
        return tuple(entries)

    @property
    def default_backend(self) -> str | None:
        return self.ini.get("glance_store", "default_backend")

    def store_options(self, store_id: str) -> tuple[tuple[str, str], ...]:
        """The options of a store's section ``[<store_id>]``."""
        return self.ini.options(store_id)


def parse_glance_api_conf(text: str, path: str = GLANCE_API_CONF) -> GlanceApiConf:
    """Parse a glance-api.conf (oslo.config INI; see ``serviceconf.parse_ini``)."""
    return GlanceApiConf(parse_ini(text, path))


# --- decisions ------------------------------------------------------------------------------------


def _backends_text(entries: Sequence[tuple[str, str]]) -> str:
    return ",".join(f"{store_id}:{store_type}" for store_id, store_type in entries)


def find_store_list_findings(conf: GlanceApiConf, expected: Sequence[ExpectedStore]) -> tuple[Finding, ...]:
    """``enabled_backends`` must hold exactly the expected stores, each of type rbd (order is free)."""
    seen = set(conf.enabled_backends)
    wanted = {(store.store_id, "rbd") for store in expected}
    if seen == wanted and len(conf.enabled_backends) == len(wanted):
        return ()
    raw = conf.ini.get("DEFAULT", "enabled_backends")
    return (Finding("[DEFAULT] enabled_backends", raw, _backends_text([(s.store_id, "rbd") for s in expected])),)


def find_default_store_findings(conf: GlanceApiConf, store_id: str) -> tuple[Finding, ...]:
    """The default store (where uploads and Nova snapshots land) must be the site's own."""
    return expect("[glance_store] default_backend", conf.default_backend, store_id)


def find_store_section_findings(conf: GlanceApiConf, expected: Sequence[ExpectedStore]) -> tuple[Finding, ...]:
    """Every expected store that is enabled must point at its site's cluster conf, user, pool and
    description. Stores missing from ``enabled_backends`` are ``find_store_list_findings``' concern."""
    enabled = {store_id for store_id, _ in conf.enabled_backends}
    findings: list[Finding] = []
    for store in expected:
        if store.store_id not in enabled:
            continue
        options = dict(conf.store_options(store.store_id))
        for option, value in store.options():
            findings += expect(f"[{store.store_id}] {option}", options.get(option), value)
    return tuple(findings)


def find_store_drift(
    first: GlanceApiConf, second: GlanceApiConf, names: tuple[str, str] = ("glance_api", "glance_api_internal")
) -> tuple[Finding, ...]:
    """The store sections of two glance-api services of one node must be identical, option by option,
    or an image's location differs between the public and the internal API."""
    store_ids = dict.fromkeys(s for s, _ in (*first.enabled_backends, *second.enabled_backends))
    findings = []
    for store_id in store_ids:
        a, b = dict(first.store_options(store_id)), dict(second.store_options(store_id))
        for option in dict.fromkeys([*a, *b]):
            if a.get(option) != b.get(option):
                seen = f"{a.get(option, 'unset')} in {names[0]}, {b.get(option, 'unset')} in {names[1]}"
                findings.append(Finding(f"[{store_id}] {option}", seen, "one value in both"))
    return tuple(findings)


def find_import_method_findings(conf: GlanceApiConf) -> tuple[Finding, ...]:
    """``enabled_import_methods`` must offer copy-image, the only way images reach DCN stores."""
    raw = conf.ini.get("DEFAULT", "enabled_import_methods")
    methods = parse_list(raw)
    if COPY_IMAGE in methods:
        return ()
    return (Finding("[DEFAULT] enabled_import_methods", raw, f"a list with {COPY_IMAGE}"),)


def find_location_findings(conf: GlanceApiConf, *, shows_locations: bool) -> tuple[Finding, ...]:
    """``show_image_direct_url`` and ``show_multiple_locations`` (both default False) must be on for the
    Glance Nova and Cinder clone from, and off on the public one after OSSN-0090."""
    return expect_bool(
        "[DEFAULT] show_image_direct_url",
        conf.ini.get("DEFAULT", "show_image_direct_url"),
        default=False,
        expected=shows_locations,
    ) + expect_bool(
        "[DEFAULT] show_multiple_locations",
        conf.ini.get("DEFAULT", "show_multiple_locations"),
        default=False,
        expected=shows_locations,
    )


def find_conversion_findings(import_conf: IniFile) -> tuple[Finding, ...]:
    """glance-image-import.conf must run ``image_conversion`` to raw (``output_format`` defaults to raw):
    an RBD store can clone only raw images, so a qcow2 import would make every boot a full copy."""
    raw = import_conf.get("image_import_opts", "image_import_plugins")
    findings: list[Finding] = []
    if IMAGE_CONVERSION not in parse_list(raw):
        findings.append(Finding("[image_import_opts] image_import_plugins", raw, f"a list with {IMAGE_CONVERSION}"))
    output = import_conf.get("image_conversion", "output_format")
    if output is not None and output.strip() != "raw":
        findings.append(Finding("[image_conversion] output_format", output, "raw"))
    return tuple(findings)
