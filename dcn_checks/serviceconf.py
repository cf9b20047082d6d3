"""OpenStack service configuration files as the checks read them: oslo.config INI text → frozen values.

The service checks (glance-api.conf, nova.conf, cinder.conf) read the files TripleO renders into each
container's config volume on the host (``/var/lib/config-data/puppet-generated/<volume>/...``, the
same path on every release) and compare the options that decide where a DCN site's images, disks
and volumes live. This module holds what they share: an INI reader with oslo.config's rules, the
value types (booleans, lists, endpoints) and the ``expect`` helpers that return ``findings.Finding``.

oslo.config differs from ``configparser`` defaults in two ways that matter here: ``[DEFAULT]`` is an
ordinary section (configparser would copy its keys into every section) and keys keep their case.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from dcn_checks.errors import ParseError
from dcn_checks.findings import Finding as Finding  # re-exported until every reader imports findings
from dcn_checks.findings import describe_findings as describe_findings  # re-exported for the readers

#: Root of the config volumes puppet renders on a TripleO host (THT ``docker-puppet``/``container-puppet``).
PUPPET_GENERATED = "/var/lib/config-data/puppet-generated"

_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})


@dataclass(frozen=True, slots=True)
class IniFile:
    """An oslo.config file: its sections in file order, each with its options (last value wins)."""

    path: str
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

    def has_section(self, name: str) -> bool:
        """Tell whether the file has section ``[name]``."""
        return any(section == name for section, _ in self.sections)

    def options(self, section: str) -> tuple[tuple[str, str], ...]:
        """Return the (key, value) pairs of ``[section]``; empty when the section is absent."""
        return next((items for name, items in self.sections if name == section), ())

    def get(self, section: str, key: str) -> str | None:
        """Return the value of ``key`` in ``[section]``, or None when it is not set."""
        return dict(self.options(section)).get(key)

    def excerpt(self, wanted: Iterable[tuple[str, str]]) -> str:
        """The lines of ``(section, key)`` pairs as evidence, e.g. ``[glance_store] default_backend = dcn0``;
        an unset option shows as ``(unset)``."""
        lines = []
        for section, key in wanted:
            value = self.get(section, key)
            lines.append(f"[{section}] {key} = {value}" if value is not None else f"[{section}] {key} (unset)")
        return "\n".join(lines)


def parse_ini(text: str, path: str = "<ini>") -> IniFile:
    """Parse an oslo.config file, e.g.::

        [DEFAULT]
        enabled_backends=dcn0:rbd,central:rbd

        [glance_store]
        default_backend=dcn0

    Repeated sections merge and a repeated key keeps its last value, as oslo.config reads them.
    Raise ``ParseError`` for text that is not INI (a key before any section, a broken header).
    """
    parser = configparser.ConfigParser(
        interpolation=None, strict=False, default_section="configparser-no-defaults", delimiters=("=", ":")
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=path)
    except configparser.Error as err:
        raise ParseError(f"{path}: not an INI file: {str(err).splitlines()[0]}") from err
    sections = tuple(
        (name, tuple((key, (value or "").strip()) for key, value in parser.items(name, raw=True)))
        for name in parser.sections()
    )
    return IniFile(path=path, sections=sections)


def parse_bool(value: str | None, default: bool) -> bool | None:
    """Read an oslo.config boolean (true/false, yes/no, on/off, 1/0, any case); ``default`` when unset,
    None when the value is not a boolean (the service would refuse to start)."""
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def parse_list(value: str | None) -> tuple[str, ...]:
    """Read an oslo.config ListOpt: ``a,b``, or ``[a,b]`` as puppet writes the bounded ones; quotes and
    blanks around items are dropped. Unset is the empty tuple."""
    if value is None:
        return ()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return tuple(item.strip().strip("'\"").strip() for item in text.split(",") if item.strip().strip("'\""))


def normalize_endpoint(url: str) -> str:
    """An endpoint URL reduced to what identifies the service: ``scheme://host:port/path`` without a
    trailing ``/`` or API version, so ``http://h:9292/v2/`` and ``http://H:9292`` compare equal."""
    parts = urlsplit(url.strip())
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    path = parts.path.rstrip("/")
    for version in ("/v2", "/v2.0", "/v1"):
        if path.endswith(version):
            path = path[: -len(version)]
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}{path}"


def is_same_endpoint(a: str, b: str) -> bool:
    """Tell whether two endpoint URLs name the same service (see ``normalize_endpoint``)."""
    return normalize_endpoint(a) == normalize_endpoint(b)


def expect(option: str, seen: str | None, expected: str) -> tuple[Finding, ...]:
    """A finding when ``seen`` differs from ``expected`` (unset counts as different), else none."""
    return () if seen == expected else (Finding(option, seen, expected),)


def expect_bool(option: str, value: str | None, *, default: bool, expected: bool) -> tuple[Finding, ...]:
    """A finding when an oslo.config boolean (``default`` when unset) is not ``expected``."""
    if parse_bool(value, default) is expected:
        return ()
    return (Finding(option, value, "True" if expected else "False"),)


class ConfigHost(Protocol):
    """What reading a config file needs of a host (``clients.Host`` has it)."""

    def read_file(self, path: str) -> str | None: ...


def read_config(host: ConfigHost, path: str) -> IniFile | None:
    """Read and parse a service config file on a host; None when the host has no such file."""
    text = host.read_file(path)
    return None if text is None else parse_ini(text, path)
