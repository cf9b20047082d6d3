"""Lint of hand-written DCN storage environment files: ``dcn-checks lint DIR [--release R]``.

Reads a directory the way ``envdir`` describes, runs the rules of ``rules`` against the Heat
catalog of the release, and returns findings. Exit codes (see ``dcn_checks.errors``): 1 when
something is wrong, 0 when clean, 4 when the input cannot be read. A file it could not read is
reported by name and makes the exit 4 even beside findings: the lint could not judge everything,
and "no problems found" must never stand for "some files were skipped".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.heat import load_catalog
from dcn_checks.lint.envdir import UnreadableFile, read_env_directory
from dcn_checks.lint.era import Detected
from dcn_checks.lint.rules import Finding, run_rules
from dcn_checks.release import get_profile


@dataclass(frozen=True, slots=True)
class LintResult:
    """What the lint found, and the files it could not read (and so could not judge)."""

    findings: tuple[Finding, ...]
    unreadable: tuple[UnreadableFile, ...]
    release: str = ""
    detected: Detected | None = None


def lint_directory(root: Path, release: str | None, rules: Iterable[str] | None = None) -> LintResult:
    """Return the findings of the named rules (all by default) for the environment files in ``root``;
    without ``release``, the one the files show (``detected`` says which, and why)."""
    detected = None
    if release is None:
        from dcn_checks.lint.era import detect_release_of

        detected = detect_release_of(root)
        release = detected.release
    catalog = load_catalog(get_profile(release).catalog)
    directory = read_env_directory(root, catalog.key)
    return LintResult(tuple(run_rules(directory, catalog, rules)), directory.unreadable, release, detected)
