"""What a check found wrong: the one type every decision returns, and how findings become one line.

Parsers and deciders (``glanceconf``, ``novaconf``, ``computeapi``, ``cephconf``...) return findings
instead of asserting, so the same decision serves a check, the CLI and our tests. A finding names
what was looked at, what it was and what it should be; ``mode`` names the failure mode when one
check can fail in ways that are fixed differently (a keyring that is missing is redeployed, one with
the wrong mode is chmod-ed), so that the catalogue gives the remediation of that mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing that differs from what the site model and the release expect."""

    option: str  # what was looked at, e.g. "[glance_store] default_backend" or "hosts of aggregate dcn0"
    seen: str | None  # what it was; None when unset or absent
    expected: str  # what it should be
    mode: str = ""  # the failure mode, a key of the catalogue's remediations ("" for the check's default)

    def describe_seen(self) -> str:
        """``[section] key = value``, or ``[section] key unset``."""
        return f"{self.option} = {self.seen}" if self.seen is not None else f"{self.option} unset"


def describe_findings(findings: Sequence[Finding]) -> tuple[str, str]:
    """(seen, expected) texts of a failure message, every finding in one line."""
    seen = ", ".join(finding.describe_seen() for finding in findings)
    expected = ", ".join(f"{finding.option} = {finding.expected}" for finding in findings)
    return seen, expected
