"""Derive the per-role Heat parameters of tripleo-heat-templates (THT) per release.

THT renders ``overcloud.j2.yaml`` and its other Jinja2 templates once per role of the roles file, which defines
parameters such as ``ControllerCount`` or ``ComputeHostnameFormat`` that no plain template declares. This script
reads the THT source distributions and writes ``dcn_checks/data/tht-roles.json``: per catalog key, the THT version,
the role names THT ships (``roles/*.yaml``), the suffixes of the parameters written ``{{role.name}}<Suffix>`` in a
top-level ``parameters:`` section of a ``*.j2.yaml``/``*.j2`` template, the other per-role name patterns (prefix or
infix, e.g. ``Overcloud{role}Flavor``), and the deprecated per-role names the roles files plug in through
``{{role.deprecated_param_*}}`` (e.g. ``OvercloudControlFlavor``).

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


def parameter_keys(text: str) -> list[str]:
    """Keys directly under the top-level ``parameters:`` section(s) of a (Jinja) Heat template, as written."""
    keys: list[str] = []
    inside, indent = False, 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "{%", "{#")):
            continue  # comments and Jinja statements neither open nor close a section
        if not line[0].isspace():
            inside, indent = line.rstrip() == "parameters:", 0
            continue
        match = KEY.match(line)
        if inside and match:
            indent = indent or len(match["indent"])
            if len(match["indent"]) == indent:
                keys.append(JINJA_EXPR.sub(r"{{\1}}", match["key"]))
    return keys


def derive(root: Path) -> dict[str, Any]:
    version = re.search(r"^Version: (\S+)$", (root / "PKG-INFO").read_text(), re.M)
    role_files = [yaml.safe_load(p.read_text())[0] for p in sorted((root / "roles").glob("*.yaml"))]
    suffixes: set[str] = set()
    patterns: set[str] = set()
    deprecated_attrs: set[str] = set()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("releasenotes", "tools") or not path.name.endswith((".j2.yaml", ".j2")):
            continue
        text = path.read_text()
        variables = "|".join(sorted({"role", *ROLE_LOOP.findall(text)}))
        role = re.compile(r"\{\{(?:" + variables + r")(?:\.name)?\}\}")
        for key in parameter_keys(text):
            if deprecated := re.fullmatch(r"\{\{(?:" + variables + r")\.(deprecated_param_\w+)\}\}", key):
                deprecated_attrs.add(deprecated[1])
            elif suffix := re.fullmatch(role.pattern + r"(\w+)", key):
                suffixes.add(suffix[1])
            elif role.search(key):
                patterns.add(role.sub("{role}", key))
    return {
        "tht_version": version[1] if version else "unknown",
        "roles": sorted(r["name"] for r in role_files),
        "per_role_suffixes": sorted(suffixes),
        "per_role_patterns": sorted(patterns),
        "deprecated_role_parameters": sorted({r[a] for r in role_files for a in deprecated_attrs if a in r}),
    }


def main(argv: list[str]) -> None:
    given = {key: Path(path) for key, _, path in (arg.partition("=") for arg in argv)}
    if unknown := set(given) - set(RELEASES):
        raise SystemExit(f"unknown catalog keys: {sorted(unknown)}; expected KEY=DIR with KEY in {sorted(RELEASES)}")
    table = {}
    with tempfile.TemporaryDirectory(prefix="tht-sdist-") as scratch:
        for key, version in RELEASES.items():
            root = given.get(key) or download(version, Path(scratch))
            table[key] = derive(root)
    OUTPUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
