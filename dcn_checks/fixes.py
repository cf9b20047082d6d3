"""The environment-file change that fixes a failed check at a site, rendered by the generator.

A failure the operator fixes through Heat parameters is shown with the parameters its remediation
names, as the generator writes them for that site's stack from the site model: the file, the
``parameter_defaults`` and each value. cephx keys are placeholders (the generator is given
placeholder secrets, so no real key can reach a report), and a parameter the document sets through
a shipped environment (``environments/dcn-storage.yaml``) is shown with that environment's value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dcn_checks.cephx import Secret
from dcn_checks.generator.emit import render_env_file
from dcn_checks.generator.keystore import ClusterSecrets
from dcn_checks.generator.stacks import EnvFile, plan_stacks
from dcn_checks.heat import Catalog, load_catalog
from dcn_checks.model import Site, SiteModel
from dcn_checks.requirements import CheckSpec

_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]+\b")
#: What the document's DCN environment sets that the generator leaves to it (dcn-storage.yaml, dcn-hci.yaml).
DOCUMENT_DCN_VALUES: dict[str, object] = {"NovaCrossAZAttach": False, "NovaDisableImageDownloadToRbd": True}


def heat_parameters(text: str, catalog: Catalog) -> tuple[str, ...]:
    """The Heat parameters a remediation names, in order, once each."""
    seen: dict[str, None] = {}
    for name in _NAME.findall(text):
        if catalog.get(name) is not None:
            seen.setdefault(name, None)
    return tuple(seen)


def placeholder_secrets(model: SiteModel) -> dict[str, ClusterSecrets]:
    """Secrets the generator can render with: every key a placeholder naming the key it stands for."""
    users = ("openstack", "external") if model.key_option == 2 else ("openstack",)
    return {
        site.cluster: ClusterSecrets(
            fsid=site.fsid or f"<fsid of {site.cluster}>",
            keys={user: Secret(f"<key of client.{user} on {site.cluster}>") for user in users},
        )
        for site in model.sites
    }


def fix_snippet(spec: CheckSpec, site_name: str, model: SiteModel) -> str:
    """The change of the site's environment files that fixes ``spec``'s failure there, or "" when the
    remediation names no Heat parameter the generator writes (a service to start, a key to restore)."""
    catalog = load_catalog(model.profile.catalog)
    wanted = heat_parameters(" ".join([spec.remediation, *(text for _, text in spec.modes)]), catalog)
    if not wanted or site_name not in {site.name for site in model.sites}:
        return ""
    site = model.site(site_name)
    plan = plan_stacks(model, placeholder_secrets(model))
    parts = []
    found: set[str] = set()
    for group in _files_for(site, model, plan.files):
        fresh = set(wanted) - found  # a parameter the site's own stack sets is not looked for at central
        for env in group:
            chosen = tuple((name, _narrow(value, site)) for name, value in env.parameters if name in fresh)
            if not chosen:
                continue
            found.update(name for name, _ in chosen)
            header = f"Fix for {spec.check_id} at {site.name}: stack {_stack_of(env)}, {env.path}"
            parts.append(render_env_file(EnvFile(env.path, env.purpose, chosen), header, catalog, check=False))
    documented = tuple(
        (name, value) for name, value in DOCUMENT_DCN_VALUES.items() if name in wanted and name not in found
    )
    if documented and not site.is_central:
        header = (
            f"Fix for {spec.check_id} at {site.name}: stack {site.stack}, as environments/dcn-storage.yaml "
            "sets it (include that file, or set this in the stack's own environment)"
        )
        parts.append(
            render_env_file(
                EnvFile(f"{site.stack}/dcn-storage.yaml", "DCN storage", documented), header, catalog, check=False
            )
        )
    return "\n".join(parts)


def _files_for(site: Site, model: SiteModel, files: Iterable[EnvFile]) -> list[list[EnvFile]]:
    """Where to look, in order: the site's own stack's files, the files every DCN stack deploys, then
    central's (where a DCN site's store and cluster are declared)."""
    own = [env for env in files if env.path.startswith(f"{site.stack}/")]
    if site.is_central:
        return [own]
    shared = [env for env in files if "/" not in env.path]
    central = [env for env in files if env.path.startswith(f"{model.central.stack}/")]
    return [own, shared, central]


def _stack_of(env: EnvFile) -> str:
    return env.path.split("/", 1)[0] if "/" in env.path else "every DCN stack"


def _narrow(value: object, site: Site) -> object:
    """Of a map keyed by store ID, or a list of external clusters, only the site's own item."""
    if isinstance(value, dict) and site.store_id in value:
        return {site.store_id: value[site.store_id]}
    if isinstance(value, list):
        own = [item for item in value if isinstance(item, dict) and item.get("cluster") == site.cluster]
        return own or value
    return value
