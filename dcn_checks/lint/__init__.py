"""Lint of hand-written DCN storage environment files: ``dcn-checks lint DIR --release R``.

Reads a directory the way ``envdir`` describes, runs the rules of ``rules`` against the Heat
catalog of the release, and returns findings. Exit codes (see ``dcn_checks.errors``): 1 when
something is wrong, 0 when clean, 4 when the input cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dcn_checks.heat import load_catalog
from dcn_checks.lint.envdir import read_env_directory
from dcn_checks.lint.rules import Finding, run_rules
from dcn_checks.release import get_profile


def lint_directory(root: Path, release: str, rules: Iterable[str] | None = None) -> list[Finding]:
    """Return the findings of the named rules (all by default) for the environment files in ``root``."""
    catalog = load_catalog(get_profile(release).catalog)
    return run_rules(read_env_directory(root, catalog.key), catalog, rules)
