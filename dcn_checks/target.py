"""The target under test: which cloud, which site model, and how to reach its hosts.

``--target PATH`` names either a target file or a directory holding ``target.yaml`` (a running lab
writes one). The file ties together what a run needs and nothing else::

    # target.yaml: paths are relative to this file
    model: sites.yaml              # the site model, completed with fsids and mons
    cloud:
      clouds_yaml: clouds.yaml     # openstacksdk's file; the default is the usual search path
      name: dcn-lab                # the cloud in it
    hosts:
      backend: lab                 # lab: node roots on this machine; ansible: testinfra over an inventory
      inventory: inventory.yaml    # ansible inventory naming every node of the model
    timeouts:
      api_s: 30                    # one API call or command
      create_s: 300                # one create-and-wait of the functional checks (a copy, a boot)
    creates:                       # the functional checks (marked creates); all optional
      flavor: m1.small             # boot with this flavor instead of one the run makes and removes
      central_cluster_busy: false  # true: central's counters around a DCN boot are evidence, not a verdict
      image_url: http://...        # a qcow2 for the web-download import (IMAGE-010); without it, skipped

It is read once, at session start; every problem is one ``TargetError`` line naming the file and
the field, so a typo never becomes a wall of failing checks.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from dcn_checks.errors import BadInputError, InputFileError, TargetError
from dcn_checks.inputs import MAX_SHOWN, read_yaml, shown
from dcn_checks.model import SiteModel, load_model

TARGET_FILE = "target.yaml"
HostBackend = Literal["lab", "ansible"]
HOST_BACKENDS: tuple[HostBackend, ...] = ("lab", "ansible")

_TOP_KEYS = {"model", "cloud", "hosts", "timeouts", "creates"}
_CREATES_KEYS = {"flavor", "central_cluster_busy", "image_url"}
_CLOUD_KEYS = {"clouds_yaml", "name"}
_HOSTS_KEYS = {"backend", "inventory"}
_TIMEOUT_KEYS = {"api_s", "create_s"}
#: The longest a single API call or command may be given: an hour is already a hung cloud.
MAX_TIMEOUT_S = 3600
#: A lab's create-and-wait: its copies and boots take seconds, so two minutes is a hang, not a slow cloud.
LAB_CREATE_TIMEOUT_S = 120


@dataclass(frozen=True, slots=True)
class InventoryHost:
    """A host of the inventory, with the variables the host backends read."""

    name: str
    variables: tuple[tuple[str, str], ...]

    def var(self, key: str) -> str | None:
        """Return the inventory variable ``key`` of this host, or None."""
        return dict(self.variables).get(key)


@dataclass(frozen=True, slots=True)
class Target:
    """Everything a run needs to know about the deployment under test."""

    source: Path
    model: SiteModel
    clouds_yaml: Path | None
    cloud: str
    backend: HostBackend
    inventory: Path
    hosts: tuple[InventoryHost, ...]
    api_timeout_s: float
    create_timeout_s: float = 300.0
    flavor: str | None = None
    central_cluster_busy: bool = False
    image_url: str | None = None

    def host(self, node: str) -> InventoryHost:
        """Return the inventory entry of ``node``; every node of the model has one (checked at load)."""
        return next(host for host in self.hosts if host.name == node)


def resolve_target_file(path: Path) -> Path:
    """Return the target file that ``--target PATH`` names: the file, or ``PATH/target.yaml``."""
    if path.is_dir():
        candidate = path / TARGET_FILE
        if not candidate.exists():
            raise TargetError(f"{path}: no {TARGET_FILE} here; is the lab up (dcn-checks lab up --lab-dir {path})?")
        return candidate
    if not path.exists():
        raise TargetError(f"{path}: no such target file or lab directory")
    return path


def load_target(path: Path) -> Target:
    """Read and validate the target that ``path`` names; raise ``TargetError`` with one line if unusable."""
    source = resolve_target_file(path)
    return parse_target(_read_yaml(source, "the target file"), source)


def _read_yaml(path: Path, what: str) -> Any:
    """Read a YAML file the target names; any problem is one ``TargetError`` line."""
    try:
        return read_yaml(path, what)
    except InputFileError as err:
        raise TargetError(str(err)) from err


def parse_target(document: Any, source: Path) -> Target:
    """Turn a parsed target file into a ``Target``, reading the files it names."""
    top = _mapping(document, source, "", _TOP_KEYS)
    base = source.parent
    cloud = _mapping(top.get("cloud", {}), source, "cloud", _CLOUD_KEYS)
    hosts = _mapping(top.get("hosts", {}), source, "hosts", _HOSTS_KEYS)
    timeouts = _mapping(top.get("timeouts", {}), source, "timeouts", _TIMEOUT_KEYS)
    creates = _mapping(top.get("creates", {}), source, "creates", _CREATES_KEYS)
    flavor = _string(creates, source, "creates.flavor") if "flavor" in creates else None
    image_url = _string(creates, source, "creates.image_url") if "image_url" in creates else None
    if image_url is not None and urllib.parse.urlsplit(image_url).scheme not in ("http", "https"):
        raise TargetError(f"{source}: creates.image_url: expected an http(s) URL, got {shown(image_url)}")
    busy = creates.get("central_cluster_busy", False)
    if not isinstance(busy, bool):
        raise TargetError(f"{source}: creates.central_cluster_busy: expected true or false, got {shown(busy)}")

    model_path = base / _string(top, source, "model")
    try:
        model = load_model(model_path)
    except BadInputError as err:
        raise TargetError(f"{source}: model: {err}") from err

    clouds_yaml = base / _string(cloud, source, "cloud.clouds_yaml") if "clouds_yaml" in cloud else None
    cloud_name = _string(cloud, source, "cloud.name")
    if clouds_yaml is not None:
        _check_cloud_in(clouds_yaml, cloud_name, source)

    backend = hosts.get("backend", "ansible")
    if backend not in HOST_BACKENDS:
        raise TargetError(f"{source}: hosts.backend: {shown(backend)} is not one of {', '.join(HOST_BACKENDS)}")
    inventory = base / _string(hosts, source, "hosts.inventory")
    inventory_hosts = read_inventory_hosts(inventory)
    known = {host.name for host in inventory_hosts}
    missing = [node.name for site in model.sites for node in site.nodes if node.name not in known]
    if missing:
        raise TargetError(f"{inventory}: no host entry for node(s) {', '.join(missing)} of the site model")
    if backend == "lab":
        lacking = [h.name for h in inventory_hosts if h.name not in missing and h.var("dcn_checks_node_root") is None]
        if lacking:
            raise TargetError(f"{inventory}: lab host(s) {', '.join(lacking)} have no dcn_checks_node_root")

    if backend == "lab":
        _check_node_roots(inventory, inventory_hosts, model)
    api_timeout = _seconds(timeouts, source, "api_s", 30)
    create_timeout = _seconds(timeouts, source, "create_s", 300)
    return Target(
        source=source,
        model=model,
        clouds_yaml=clouds_yaml,
        cloud=cloud_name,
        backend=backend,
        inventory=inventory,
        hosts=inventory_hosts,
        api_timeout_s=api_timeout,
        create_timeout_s=create_timeout,
        flavor=flavor,
        central_cluster_busy=busy,
        image_url=image_url,
    )


def _seconds(timeouts: dict[str, Any], source: Path, key: str, default: float) -> float:
    value = timeouts.get(key, default)
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 < value <= MAX_TIMEOUT_S
    ):
        raise TargetError(
            f"{source}: timeouts.{key}: expected a number of seconds above 0 and at most {MAX_TIMEOUT_S}, "
            f"got {shown(value)}"
        )
    return float(value)


def read_inventory_hosts(path: Path) -> tuple[InventoryHost, ...]:
    """Read the hosts of an ansible YAML inventory (groups nest under ``children``; vars are merged).

    A sample::

        all:
          children:
            dcn0:
              vars: {ansible_user: heat-admin}
              hosts:
                dcn0-hci-0: {ansible_host: 192.168.24.20}
    """
    document = _read_yaml(path, "the inventory")
    if not isinstance(document, dict):
        raise TargetError(f"{path}: expected an ansible YAML inventory (a mapping of groups)")
    found: dict[str, dict[str, str]] = {}
    _collect_hosts(path, document, "", {}, found)
    return tuple(InventoryHost(name, tuple(sorted(found[name].items()))) for name in found)


def _collect_hosts(
    path: Path, groups: dict[Any, Any], at: str, inherited: dict[str, str], found: dict[str, dict[str, str]]
) -> None:
    for group_name, group in groups.items():
        where = f"{at}{group_name}"
        if group is None:
            continue  # an empty group, as `ungrouped:` often is
        group = _inventory_mapping(path, group, where, "a group (hosts, vars, children)")
        variables = {**inherited, **_variables(path, group.get("vars"), f"{where}.vars")}
        hosts = _inventory_mapping(path, group.get("hosts"), f"{where}.hosts", "a mapping of host names")
        for name, host_vars in hosts.items():
            merged = {**variables, **_variables(path, host_vars, f"{where}.hosts.{name}")}
            found.setdefault(str(name), {}).update(merged)
        children = _inventory_mapping(path, group.get("children"), f"{where}.children", "a mapping of groups")
        _collect_hosts(path, children, f"{where}.children.", variables, found)


def _inventory_mapping(path: Path, value: Any, where: str, expected: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TargetError(f"{path}: {where}: expected {expected}, not {shown(value)}")
    return value


def _variables(path: Path, value: Any, where: str) -> dict[str, str]:
    return {str(k): _scalar(v) for k, v in _inventory_mapping(path, value, where, "a mapping of variables").items()}


def _scalar(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _check_cloud_in(clouds_yaml: Path, cloud: str, source: Path) -> None:
    document = _read_yaml(clouds_yaml, "clouds.yaml")
    clouds = document.get("clouds") if isinstance(document, dict) else None
    if not isinstance(clouds, dict) or cloud not in clouds:
        names = ", ".join(sorted(str(name) for name in clouds))[:MAX_SHOWN] if isinstance(clouds, dict) else "none"
        raise TargetError(f"{clouds_yaml}: no cloud {shown(cloud)} (clouds: {names}); fix cloud.name in {source}")
    entry = clouds[cloud]
    if not isinstance(entry, dict) or not isinstance(entry.get("auth", {}), dict):
        raise TargetError(f"{clouds_yaml}: clouds.{cloud}: expected a mapping with an auth mapping")


def _check_node_roots(inventory: Path, hosts: tuple[InventoryHost, ...], model: SiteModel) -> None:
    """A lab host's ``dcn_checks_node_root`` stands for its ``/``: without it every check of the node fails."""
    nodes = {node.name for site in model.sites for node in site.nodes}
    for host in hosts:
        root = host.var("dcn_checks_node_root")
        if host.name in nodes and root is not None and not Path(root).is_dir():
            raise TargetError(
                f"{inventory}: {host.name}: dcn_checks_node_root {shown(root)} is not a directory; is the lab up?"
            )


def _mapping(value: Any, source: Path, field: str, keys: set[str]) -> dict[str, Any]:
    where = f"{field}: " if field else ""
    if not isinstance(value, dict):
        raise TargetError(f"{source}: {where}expected a mapping, not {shown(value)}")
    unknown = sorted(str(key)[:MAX_SHOWN] for key in value if key not in keys)
    if unknown:
        raise TargetError(f"{source}: {where}unknown key '{unknown[0]}' (known: {', '.join(sorted(keys))})")
    return value


def _string(mapping: dict[str, Any], source: Path, field: str) -> str:
    key = field.rsplit(".", 1)[-1]
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise TargetError(f"{source}: {field}: required, a non-empty string")
    return value


def render_lab_target(*, model: str, clouds_yaml: str, cloud: str, inventory: str, image_url: str | None = None) -> str:
    """The ``target.yaml`` a lab writes next to its files, so ``--target <lab dir>`` just works."""
    document: dict[str, object] = {
        "model": model,
        "cloud": {"clouds_yaml": clouds_yaml, "name": cloud},
        "hosts": {"backend": "lab", "inventory": inventory},
        "timeouts": {"api_s": 30, "create_s": LAB_CREATE_TIMEOUT_S},
    }
    if image_url is not None:
        document["creates"] = {"image_url": image_url}
    return "# Target of the dcn-checks suites: this lab.\n" + yaml.safe_dump(document, sort_keys=False)
