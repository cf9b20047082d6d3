"""The Heat parameters tripleo-heat-templates defines at each release, and checks of values against them.

Heat ignores ``parameter_defaults`` it does not know, so a misspelt name (the source document's
``GlangeBackendID``, ``GlanceImageImportPlugin``) deploys without a word and leaves the default in
place. Every parameter we emit, and every one the lint reads, is therefore looked up here. The table
is derived from the THT catalogs by ``tools/derive_catalog.py``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

ParameterType = Literal["string", "number", "boolean", "json", "comma_delimited_list"]


@dataclass(frozen=True, slots=True)
class HeatParameter:
    """One parameter as THT declares it at one release."""

    name: str
    type: ParameterType
    default: object = None
    pattern: str | None = None
    allowed: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every parameter THT defines at one release."""

    key: str
    parameters: Mapping[str, HeatParameter]

    def get(self, name: str) -> HeatParameter | None:
        """Return the parameter called ``name``, or None when THT does not define it here."""
        return self.parameters.get(name)

    def closest(self, name: str) -> str | None:
        """Return the defined name closest to a misspelt one, if any is close enough."""
        matches = difflib.get_close_matches(name, self.parameters.keys(), n=1, cutoff=0.8)
        return matches[0] if matches else None

    def default(self, name: str) -> object:
        """Return the default THT applies when an environment does not set ``name``."""
        parameter = self.parameters.get(name)
        return None if parameter is None else parameter.default


@cache
def _raw_catalogs() -> dict[str, dict[str, dict[str, Any]]]:
    text = resources.files("dcn_checks").joinpath("data/heat-parameters.json").read_text()
    data: dict[str, dict[str, dict[str, Any]]] = json.loads(text)
    return data


@cache
def load_catalog(key: str) -> Catalog:
    """Return the catalog of one THT reference (``master-2021-03``, ``stable-wallaby``, ``stable-zed``)."""
    raw = _raw_catalogs()[key]
    parameters = {
        name: HeatParameter(
            name=name,
            type=entry["type"],
            default=entry.get("default"),
            pattern=entry.get("pattern"),
            allowed=tuple(entry.get("allowed", ())),
        )
        for name, entry in raw.items()
    }
    return Catalog(key=key, parameters=parameters)


@dataclass(frozen=True, slots=True)
class RoleTable:
    """The per-role parameters THT renders from the roles file at one release (``<Role>Count``,
    ``<Role>HostnameFormat``, ``<Role>Parameters``, ...), and the roles it ships under ``roles/``.

    Derived from the release's tripleo-heat-templates sdist by ``tools/derive_tht_roles.py``.
    """

    key: str
    roles: frozenset[str]
    suffixes: frozenset[str]
    #: Other spellings rendered per role, e.g. ``Overcloud{role}Flavor``.
    patterns: frozenset[str] = frozenset()
    #: Per-role names THT still renders from a role's ``deprecated_param_*`` (``NovaComputeExtraConfig``).
    deprecated: frozenset[str] = frozenset()
    #: Plain names only Jinja templates define (``ContainerImagePrepare``, ``HostnameMap``, ``DnsServers``).
    jinja: frozenset[str] = frozenset()
    #: Per-network parameters (``InternalApiNetCidr``): suffixes, other spellings, THT's default networks.
    network_suffixes: frozenset[str] = frozenset()
    network_patterns: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()

    def defines(self, name: str, roles: frozenset[str] | None = None) -> bool:
        """Whether THT renders ``name`` from its Jinja templates for these roles (or any shipped role) and
        for any network: a network file (``-n``) may name networks of its own, so any CamelCase name is one."""
        if name in self.jinja or name in self.deprecated or self.role_of(name, roles) is not None:
            return True
        for suffix in self.network_suffixes:
            if name.endswith(suffix) and _NETWORK_NAME.fullmatch(name[: -len(suffix)]):
                return True
        return any(_pattern_matches(pattern, name) for pattern in self.network_patterns)

    def role_of(self, name: str, roles: frozenset[str] | None = None) -> str | None:
        """The role whose per-role parameter ``name`` is (of ``roles``, else of every shipped role), or None."""
        for role in sorted(roles if roles is not None else self.roles, key=len, reverse=True):
            if name.startswith(role) and name[len(role) :] in self.suffixes:
                return role
            if any(name == pattern.format(role=role) for pattern in self.patterns):
                return role
        return None


@cache
def load_role_table(key: str) -> RoleTable:
    """The per-role parameter table of one THT reference (the catalog's key)."""
    raw = json.loads(resources.files("dcn_checks").joinpath("data/tht-roles.json").read_text(encoding="utf-8"))[key]
    return RoleTable(
        key=key,
        roles=frozenset(raw["roles"]),
        suffixes=frozenset(raw["per_role_suffixes"]),
        patterns=frozenset(raw.get("per_role_patterns", ())),
        deprecated=frozenset(raw.get("deprecated_role_parameters", ())),
        jinja=frozenset(raw.get("jinja_parameters", ())),
        network_suffixes=frozenset(raw.get("per_network_suffixes", ())),
        network_patterns=frozenset(raw.get("per_network_patterns", ())),
        networks=frozenset(raw.get("networks", ())),
    )


_NETWORK_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")


def _pattern_matches(pattern: str, name: str) -> bool:
    """``CloudName{network}`` matches ``CloudNameInternalApi``; ``{subnet}`` stands for any subnet name."""
    parts = re.split(r"(\{network\}|\{subnet\})", pattern)
    regex = "".join(
        "[A-Z][A-Za-z0-9]*" if part == "{network}" else "[A-Za-z0-9_]+" if part == "{subnet}" else re.escape(part)
        for part in parts
    )
    return re.fullmatch(regex, name) is not None


@cache
def environment_defaults(catalog_key: str) -> dict[str, dict[str, object]]:
    """Return ``parameter_defaults`` of the DCN-related THT environment files at a release.

    Keys are paths relative to the THT root, e.g. ``environments/dcn-storage.yaml``.
    """
    text = resources.files("dcn_checks").joinpath("data/tht-environments.json").read_text()
    data: dict[str, dict[str, dict[str, object]]] = json.loads(text)
    return data.get(catalog_key, {})


def type_problem(parameter: HeatParameter, value: object) -> str | None:
    """Return why ``value`` does not fit the parameter's Heat type or constraint, or None."""
    kind = parameter.type
    if kind == "boolean":
        ok = isinstance(value, bool) or (
            isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "on", "off", "1", "0"}
        )
        if not ok:
            return f"expects a boolean, got {type(value).__name__}"
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return f"expects a number, got {type(value).__name__}"
    elif kind == "comma_delimited_list":
        if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            return f"expects a comma-delimited list (string or list of strings), got {type(value).__name__}"
    elif kind == "json":
        if not isinstance(value, (dict, list)):
            return f"expects a JSON map or list, got {type(value).__name__}"
    elif kind == "string":
        if isinstance(value, (dict, list)):
            return f"expects a string, got {type(value).__name__}"
        if parameter.pattern and not re.fullmatch(parameter.pattern.lstrip("^").rstrip("$"), str(value)):
            return f"'{value}' does not match the allowed pattern {parameter.pattern}"
    if parameter.allowed and value not in parameter.allowed:
        return f"'{value}' is not one of the allowed values {', '.join(map(str, parameter.allowed))}"
    return None


def as_list(value: object) -> list[str]:
    """Read a ``comma_delimited_list`` value the way Heat does: a list, or a comma string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def as_bool(value: object) -> bool:
    """Read a Heat ``boolean`` value, which environments may also write as a string."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "yes", "on", "1", "t", "y"}
