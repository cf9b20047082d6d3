"""Install the report tools: the allure 3 CLI (npm registry) for the allure HTML report, and for our own
tests Debian's Chromium and poppler-utils (the HTML report is checked in a real browser and as PDF).

Both steps are idempotent and cheap when done: the allure CLI lives in a machine-wide cache
(``~/.cache/dcn-checks/allure``, next to the lab's venv) with the pinned version checked, and apt
is asked only for what dpkg does not have. Run ``python -m dcn_checks.tools allure [browser]``.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from dcn_checks.lab.install import ensure_apt_packages
from dcn_checks.report import ALLURE_DIR, ALLURE_VERSION

log = logging.getLogger(__name__)
BROWSER_PACKAGES = ("chromium", "poppler-utils")
NPM_TIMEOUT_S = 600


def installed_allure_version(directory: Path = ALLURE_DIR) -> str | None:
    """The version of the allure CLI installed in ``directory``, or None."""
    try:
        return str(json.loads((directory / "node_modules" / "allure" / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_allure(directory: Path = ALLURE_DIR, wanted: str = ALLURE_VERSION) -> bool:
    """npm-install allure at the pinned version into ``directory`` unless it is there; True if installed."""
    if installed_allure_version(directory) == wanted:
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("dcn-checks: npm is not installed; the allure HTML report needs Node.js and npm")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(directory), f"allure@{wanted}"],
        check=True, timeout=NPM_TIMEOUT_S,
    )  # fmt: skip
    return True


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    wanted = set(argv if argv is not None else sys.argv[1:]) or {"allure"}
    unknown = wanted - {"allure", "browser"}
    if unknown:
        print(f"dcn-checks: tools: unknown tool(s) {', '.join(sorted(unknown))} (allure, browser)", file=sys.stderr)
        return 4
    if "allure" in wanted:
        done = ensure_allure()
        log.info("allure %s %s in %s", ALLURE_VERSION, "installed" if done else "current", ALLURE_DIR)
    if "browser" in wanted:
        installed = ensure_apt_packages(BROWSER_PACKAGES)
        log.info("browser packages: %s", ", ".join(installed) + " installed" if installed else "current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
