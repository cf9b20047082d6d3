"""Derive the compact Heat facts dcn-checks ships from the reference catalogs in ../shared/reference.

Run from the repository root: ``python tools/derive_catalog.py ../shared/reference``. It writes
``dcn_checks/data/heat-parameters.json`` (name -> type, constraint, scalar default per catalog) and
``dcn_checks/data/tht-environments.json`` (parameter_defaults of the DCN-related THT environment
files per catalog). Both are facts derived from tripleo-heat-templates, kept small on purpose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CATALOGS = {
    "master-2021-03": "tht-parameters.master-2021-03.json",
    "stable-wallaby": "tht-parameters.stable-wallaby.json",
    "stable-zed": "tht-parameters.stable-zed.json",
}


def compact(parameter: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {"type": parameter["type"]}
    default = parameter.get("default")
    if isinstance(default, (str, bool, int, float)) or (
        isinstance(default, list) and all(isinstance(x, str) for x in default) and len(default) < 8
    ):
        out["default"] = default
    for constraint in parameter.get("constraints", []) or []:  # type: ignore[union-attr]
        if "allowed_pattern" in constraint:
            out["pattern"] = constraint["allowed_pattern"]
        if "allowed_values" in constraint:
            out["allowed"] = constraint["allowed_values"]
    return out


def main(reference: Path) -> None:
    data = Path(__file__).resolve().parent.parent / "dcn_checks" / "data"
    catalogs = {}
    for key, filename in CATALOGS.items():
        params = json.loads((reference / filename).read_text())["parameters"]
        catalogs[key] = {name: compact(p) for name, p in sorted(params.items())}
    (data / "heat-parameters.json").write_text(json.dumps(catalogs, sort_keys=True, separators=(",", ":")) + "\n")
    envs = json.loads((reference / "tht-dcn-environments.json").read_text())
    environments = {
        release: {path: body.get("parameter_defaults", {}) for path, body in sorted(files.items())}
        for release, files in envs.items()
    }
    (data / "tht-environments.json").write_text(json.dumps(environments, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference"))
