"""Derive the per-role Heat parameters of tripleo-heat-templates (THT) per release.

THT renders ``overcloud.j2.yaml`` and its other Jinja2 templates once per role of the roles file, which defines
parameters such as ``ControllerCount`` or ``ComputeHostnameFormat`` that no plain template declares. This script
reads the THT source distributions and writes ``dcn_checks/data/tht-roles.json``: per catalog key, the THT version,
the role names THT ships (``roles/*.yaml``), the suffixes of the parameters written ``{{role.name}}<Suffix>`` in a
top-level ``parameters:`` section of a ``*.j2.yaml``/``*.j2`` template, the other per-role name patterns (prefix or
infix, e.g. ``Overcloud{role}Flavor``), and the deprecated per-role names the roles files plug in through
``{{role.deprecated_param_*}}`` (e.g. ``OvercloudControlFlavor``).

It also writes what else only the Jinja templates define, so that a linter does not flag it: the plain parameter
names of those ``parameters:`` sections that ``dcn_checks/data/heat-parameters.json`` (read from the plain templates)
lacks, e.g. ``ContainerImagePrepare``; the suffixes of the per-network parameters written ``{{network.name}}<Suffix>``
(``InternalApiNetCidr``), in ``parameters:`` or in the ``parameter_defaults:`` of THT's own Jinja environments, and
their other spellings with ``{network}``/``{subnet}`` placeholders (``CloudName{network}``); and the names of THT's
default networks. Nested templates' inputs (``role_data``, ``servers``) are kept, as the plain catalog keeps them.

Run from the repository root: ``python tools/derive_tht_roles.py`` downloads the sdists of ``RELEASES`` from PyPI;
``python tools/derive_tht_roles.py master-2021-03=/tmp/tripleo-heat-templates-14.0.0 ...`` reads unpacked trees
instead (keys not given are downloaded).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

# Catalog key -> THT version on PyPI (THT tags: victoria 13, wallaby 14, zed 17).
RELEASES = {
    "master-2021-03": "14.0.0",  # last master tag before March 2021 (14.1.0, May 2021, is the next)
    "stable-wallaby": "14.3.0",  # latest 14.x on PyPI
    "stable-zed": "17.0.0",  # stable/zed branch point
}
PYPI_JSON = "https://pypi.org/pypi/tripleo-heat-templates/json"
OUTPUT = Path(__file__).resolve().parent.parent / "dcn_checks" / "data" / "tht-roles.json"

KEY = re.compile(r"^(?P<indent> +)(?P<key>[^\s#:'\"][^:]*?):(\s|$)")
JINJA_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
ROLE_LOOP = re.compile(r"\{%-?\s*for\s+(\w+)\s+in\s+(?:roles|enabled_roles)\b")
NETWORK_LOOP = re.compile(r"\{%-?\s*for\s+(\w+)\s+in\s+networks\b")
SUBNET_LOOP = re.compile(r"\{%-?\s*for\s+(\w+)\s+in\s+\w+\.subnets\b")
SKIPPED = ("releasenotes", "tools", "ci")  # top-level directories that hold no deployed templates
CATALOG = OUTPUT.parent / "heat-parameters.json"
# The default network data: the empty default (no isolation) of wallaby+ points to the samples.
NETWORK_FILES = (
    "network_data_default.yaml",
    "network-data-samples/default-network-isolation.yaml",
    "network_data.yaml",
)


def download(version: str, dest: Path) -> Path:
    """Fetch the sdist of ``version`` from PyPI, check its sha256 and unpack it under ``dest``."""
    with urllib.request.urlopen(PYPI_JSON) as response:
        files = json.load(response)["releases"][version]
    sdist = next(f for f in files if f["packagetype"] == "sdist")
    with urllib.request.urlopen(sdist["url"]) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != sdist["digests"]["sha256"]:
        raise RuntimeError(f"sha256 mismatch for {sdist['filename']}")
    archive = dest / sdist["filename"]
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / f"tripleo-heat-templates-{version}"


def parameter_keys(text: str, section: str = "parameters") -> list[str]:
    """Keys directly under the top-level ``section`` (``parameters:``) of a (Jinja) Heat template, as written."""
    keys: list[str] = []
    inside, indent = False, 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "{%", "{#")):
            continue  # comments and Jinja statements neither open nor close a section
        if not line[0].isspace():
            inside, indent = line.rstrip() == f"{section}:", 0
            continue
        match = KEY.match(line)
        if inside and match:
            indent = indent or len(match["indent"])
            if len(match["indent"]) == indent:
                keys.append(JINJA_EXPR.sub(r"{{\1}}", match["key"]))
    return keys


def default_networks(root: Path) -> list[str]:
    """The ``name`` and ``name_lower`` values of the first non-empty default network data file THT ships."""
    for name in NETWORK_FILES:
        if (path := root / name).exists() and (networks := yaml.safe_load(path.read_text())):
            return sorted({network[k] for network in networks for k in ("name", "name_lower") if k in network})
    return []


def derive(root: Path, catalog: set[str]) -> dict[str, Any]:
    """The per-role, per-network and other Jinja-only parameters of the THT tree ``root``."""
    version = re.search(r"^Version: (\S+)$", (root / "PKG-INFO").read_text(), re.M)
    role_files = [yaml.safe_load(p.read_text())[0] for p in sorted((root / "roles").glob("*.yaml"))]
    suffixes: set[str] = set()
    patterns: set[str] = set()
    deprecated_attrs: set[str] = set()
    plain: set[str] = set()
    network_suffixes: set[str] = set()
    network_patterns: set[str] = set()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in SKIPPED or "tests" in rel.parts or not path.name.endswith((".j2.yaml", ".j2")):
            continue
        text = path.read_text()
        variables = "|".join(sorted({"role", *ROLE_LOOP.findall(text)}))
        role = re.compile(r"\{\{(?:" + variables + r")(?:\.name)?\}\}")
        network = re.compile(r"\{\{(?:" + "|".join(sorted({"network", *NETWORK_LOOP.findall(text)})) + r")\.name\}\}")
        subnet = re.compile(r"\{\{(?:" + "|".join(sorted({"subnet", *SUBNET_LOOP.findall(text)})) + r")\}\}")
        defaults = [key for key in parameter_keys(text, "parameter_defaults") if network.search(key)]
        for key in parameter_keys(text):
            if deprecated := re.fullmatch(r"\{\{(?:" + variables + r")\.(deprecated_param_\w+)\}\}", key):
                deprecated_attrs.add(deprecated[1])
            elif suffix := re.fullmatch(role.pattern + r"(\w+)", key):
                suffixes.add(suffix[1])
            elif role.search(key):
                patterns.add(role.sub("{role}", key))
            elif network.search(key):
                defaults.append(key)
            elif re.fullmatch(r"\w+", key):
                plain.add(key)
            else:
                print(f"{rel}: skipped parameter {key}", file=sys.stderr)
        for key in defaults:
            if suffix := re.fullmatch(network.pattern + r"(\w+)", key):
                network_suffixes.add(suffix[1])
            elif "{{" in (pattern := subnet.sub("{subnet}", network.sub("{network}", key))):
                print(f"{rel}: skipped per-network parameter {key}", file=sys.stderr)
            else:
                network_patterns.add(pattern)
    return {
        "tht_version": version[1] if version else "unknown",
        "roles": sorted(r["name"] for r in role_files),
        "per_role_suffixes": sorted(suffixes),
        "per_role_patterns": sorted(patterns),
        "deprecated_role_parameters": sorted({r[a] for r in role_files for a in deprecated_attrs if a in r}),
        "jinja_parameters": sorted(plain - catalog),
        "per_network_suffixes": sorted(network_suffixes),
        "per_network_patterns": sorted(network_patterns),
        "networks": default_networks(root),
    }


def main(argv: list[str]) -> None:
    given = {key: Path(path) for key, _, path in (arg.partition("=") for arg in argv)}
    if unknown := set(given) - set(RELEASES):
        raise SystemExit(f"unknown catalog keys: {sorted(unknown)}; expected KEY=DIR with KEY in {sorted(RELEASES)}")
    catalog = json.loads(CATALOG.read_text())
    table = {}
    with tempfile.TemporaryDirectory(prefix="tht-sdist-") as scratch:
        for key, version in RELEASES.items():
            root = given.get(key) or download(version, Path(scratch))
            table[key] = derive(root, set(catalog[key]))
    OUTPUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
