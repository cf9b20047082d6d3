"""Evidence a check attaches: the command or API call it made and the lines that decided it.

Reports show evidence next to the verdict, so an auditor can see why a check passed as well as why
it failed. Everything added here goes through ``mask_secrets`` first: a cephx key or a password in
a keyring, a conf or an API answer never reaches a report, a log or JUnit XML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dcn_checks.cephx import mask_keys

T = TypeVar("T")

_SECRET_FIELDS = re.compile(r"(?im)^(\s*(?:key|password|secret|token|transport_url|connection)\s*[=:]\s*).+$")
#: The same names inside a line: ``"password": "x"`` (JSON evidence), ``auth_password = x``, ``OS_PASSWORD=x``.
_SECRET_VALUES = re.compile(
    r"""(?i)(["']?[a-z_]*(?:password|secret|token)["']?\s*[=:]\s*)(?:"[^"]*"|'[^']*'|[^\s,;}]+)"""
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
MAX_ITEM_CHARS = 4000


def mask_secrets(text: str) -> str:
    """Return ``text`` with cephx keys, ``key =``/``password =`` values and URL passwords masked."""
    text = mask_keys(text)
    text = _SECRET_FIELDS.sub(r"\1***", text)
    text = _SECRET_VALUES.sub(r"\1***", text)
    return _URL_PASSWORD.sub(r"\1***@", text)


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One piece of evidence: what it is and its (masked, truncated) text."""

    title: str
    text: str


@dataclass(slots=True)
class Evidence:
    """The evidence of one check case, in the order it was gathered."""

    items: list[EvidenceItem] = field(default_factory=list)

    def add(self, title: str, value: T) -> T:
        """Record ``value`` under ``title`` (masked) and return it unchanged, so it can wrap an expression."""
        text = value if isinstance(value, str) else _render(value)
        text = mask_secrets(text)
        if len(text) > MAX_ITEM_CHARS:
            text = text[:MAX_ITEM_CHARS] + f"\n... ({len(text) - MAX_ITEM_CHARS} more characters)"
        self.items.append(EvidenceItem(title, text))
        return value

    def render(self) -> str:
        """All items as text, for a report section."""
        return "\n\n".join(f"--- {item.title}\n{item.text.rstrip()}" for item in self.items)


def _render(value: Any) -> str:
    try:
        return json.dumps(value, indent=1, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)
