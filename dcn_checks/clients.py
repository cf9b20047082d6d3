"""Access to the target: one OpenStack connection, and one small interface to every host.

The checks never care whether a node is a lab node on this machine or a real host over ssh: they
ask a ``Host`` to run a command, read a file or stat it, at the paths the release uses on the host.

- ``LabHost``: a lab node. Files live under the node's root directory; commands run in a mount
  namespace where the node's Ceph client dir appears at ``/etc/ceph``, as its containers see it, and
  host paths of that dir in the command line are translated to it.
- ``AnsibleHost``: a real host through testinfra's ansible backend and the target's inventory.

Connecting and reaching Keystone happen once, at session start (``connect_cloud``); every failure
there is one ``TargetError`` line. The API readers (``glance``, ``computeapi``, ``volumeapi``) call
openstacksdk's resources and hand them to their parsers with ``from_resource``/``read_listing``, so
that what leaves those modules is a frozen value, never an SDK resource or a dict.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import stat as stat_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dcn_checks.errors import TargetError
from dcn_checks.lab.nodes import BindMount, CommandResult, run
from dcn_checks.model import Node, Site
from dcn_checks.target import InventoryHost, Target

if TYPE_CHECKING:
    import openstack.connection
    from openstack.resource import Resource

__all__ = [
    "AnsibleHost",
    "CommandResult",
    "FileStat",
    "Host",
    "LabHost",
    "connect_cloud",
    "from_resource",
    "from_resources",
    "get_hosts",
    "read_listing",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FileStat:
    """Mode and ownership of a file on a host."""

    path: str
    mode: int
    owner: str
    group: str

    def mode_text(self) -> str:
        """The permission bits as ``0600``."""
        return f"{self.mode:04o}"


class Host(Protocol):
    """A node of the deployment, as the checks see it."""

    @property
    def name(self) -> str: ...

    @property
    def site(self) -> str: ...

    def run(self, argv: Sequence[str], *, timeout_s: float = 30.0) -> CommandResult:
        """Run a command on the host (no shell) and return its result; never raise for a non-zero exit."""
        ...

    def read_file(self, path: str) -> str | None:
        """Return the text of ``path`` on the host, or None when it does not exist."""
        ...

    def stat(self, path: str) -> FileStat | None:
        """Return mode and ownership of ``path`` on the host, or None when it does not exist."""
        ...


@dataclass(frozen=True, slots=True)
class LabHost:
    """A node of the embedded lab: a directory standing for its ``/`` on this machine."""

    name: str
    site: str
    root: Path
    ceph_dir: str  # the release's host dir of the Ceph client files (/etc/ceph, /var/lib/tripleo-config/ceph)

    def _local(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def run(self, argv: Sequence[str], *, timeout_s: float = 30.0) -> CommandResult:
        translated = [_translate(arg, self.ceph_dir, "/etc/ceph") for arg in argv]
        binds = (BindMount(self._local(self.ceph_dir), Path("/etc/ceph")),)
        return run(translated, timeout_s=timeout_s, binds=binds)

    def read_file(self, path: str) -> str | None:
        try:
            return self._local(path).read_text()
        except FileNotFoundError:
            return None

    def stat(self, path: str) -> FileStat | None:
        try:
            info = os.stat(self._local(path))
        except FileNotFoundError:
            return None
        return FileStat(path, stat_module.S_IMODE(info.st_mode), _user_name(info.st_uid), _group_name(info.st_gid))


def _translate(arg: str, host_dir: str, container_dir: str) -> str:
    """Rewrite a host path of the Ceph dir (also inside ``--conf=...``) to where the namespace shows it."""
    if host_dir == container_dir:
        return arg
    return arg.replace(host_dir.rstrip("/") + "/", container_dir.rstrip("/") + "/")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


class AnsibleHost:
    """A real host reached with testinfra's ansible backend over the target's inventory."""

    def __init__(self, name: str, site: str, inventory: Path) -> None:
        self.name = name
        self.site = site
        self._inventory = inventory
        self._host: Any = None

    def _testinfra(self) -> Any:
        if self._host is None:
            import testinfra

            self._host = testinfra.get_host(f"ansible://{self.name}?ansible_inventory={self._inventory}")
        return self._host

    def run(self, argv: Sequence[str], *, timeout_s: float = 30.0) -> CommandResult:
        import shlex

        command = "timeout " + str(int(timeout_s)) + " " + " ".join(shlex.quote(a) for a in argv)
        result = self._testinfra().run(command)
        return CommandResult(tuple(argv), result.rc, result.stdout, result.stderr)

    def read_file(self, path: str) -> str | None:
        file = self._testinfra().file(path)
        return str(file.content_string) if file.exists else None

    def stat(self, path: str) -> FileStat | None:
        file = self._testinfra().file(path)
        if not file.exists:
            return None
        return FileStat(path, int(file.mode), str(file.user), str(file.group))


def get_hosts(target: Target) -> dict[str, Host]:
    """Return a ``Host`` per node of the target's site model, keyed by node name."""
    hosts: dict[str, Host] = {}
    for site in target.model.sites:
        for node in site.nodes:
            hosts[node.name] = _make_host(target, site, node, target.host(node.name))
    return hosts


def _make_host(target: Target, site: Site, node: Node, entry: InventoryHost) -> Host:
    if target.backend == "lab":
        root = entry.var("dcn_checks_node_root")
        assert root is not None  # load_target refuses lab hosts without it
        return LabHost(node.name, site.name, Path(root), target.model.profile.ceph_config_host_dir)
    return AnsibleHost(node.name, site.name, target.inventory)


def connect_cloud(target: Target) -> openstack.connection.Connection:
    """Connect to the target's cloud and authenticate once; raise ``TargetError`` with one line if we cannot."""
    import keystoneauth1.exceptions
    import openstack.config
    import openstack.connection
    import openstack.exceptions

    files = [str(target.clouds_yaml)] if target.clouds_yaml is not None else None
    # openstacksdk puts $OS_CLIENT_CONFIG_FILE before the files it is given: the target's own
    # clouds.yaml must win, or a leftover variable would test another cloud of the same name.
    leftover = os.environ.pop("OS_CLIENT_CONFIG_FILE", None) if files else None
    try:
        config = openstack.config.OpenStackConfig(config_files=files).get_one(
            cloud=target.cloud, api_timeout=target.api_timeout_s
        )
    except (openstack.exceptions.ConfigException, keystoneauth1.exceptions.ClientException) as err:
        raise TargetError(f"cloud '{target.cloud}': {_one_line(err)}") from err
    finally:
        if leftover is not None:
            os.environ["OS_CLIENT_CONFIG_FILE"] = leftover
    connection = openstack.connection.Connection(config=config)
    auth_url = config.config.get("auth", {}).get("auth_url", "?")
    discovery_log = logging.getLogger("keystoneauth")
    level = discovery_log.level
    discovery_log.setLevel(logging.ERROR)  # its discovery warning would be a second line for one problem
    try:
        connection.authorize()
    except (keystoneauth1.exceptions.ClientException, openstack.exceptions.SDKException) as err:
        if _caused_by(err, keystoneauth1.exceptions.connection.ConnectFailure):
            raise TargetError(f"cloud '{target.cloud}': Keystone at {auth_url} is unreachable") from err
        if _caused_by(err, keystoneauth1.exceptions.http.Unauthorized):
            raise TargetError(f"cloud '{target.cloud}': Keystone at {auth_url} refused the credentials") from err
        raise TargetError(f"cloud '{target.cloud}': cannot authenticate at {auth_url}: {_one_line(err)}") from err
    finally:
        discovery_log.setLevel(level)
    return connection


def _caused_by(err: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


# --- openstacksdk resources to our values -------------------------------------------------------


def from_resource(resource: Resource, parse: Callable[[Mapping[str, Any]], T]) -> T:
    """Hand one openstacksdk resource to our parser of the API's own JSON for it.

    The SDK renames fields (Cinder's and Nova's ``zone`` is its ``availability_zone``, Glance's
    ``default`` its ``is_default``, ``zoneName`` its ``name``); our parsers are written and tested
    against the bodies the API reference documents and the lab captured. So the resource goes back
    to the names the server sent, without the SDK's computed fields and without the fields the server
    left out.
    """
    return parse(_server_body(resource))


def from_resources(resources: Iterable[Resource], key: str, parse: Callable[[Mapping[str, Any]], T]) -> T:
    """Hand an SDK listing to our parser of the API's list body ``{key: [entry, ...]}``, e.g.
    ``{"aggregates": [...]}`` for ``GET /os-aggregates``. Iterating the listing sends the requests."""
    return parse({key: [_server_body(resource) for resource in resources]})


def read_listing(
    service: str,
    request: str,
    listing: Callable[[], Iterable[Resource]],
    key: str,
    parse: Callable[[Mapping[str, Any]], T],
) -> T:
    """Run one SDK listing (``request`` is the documented call, for the message) and parse it as
    :func:`from_resources` does; an HTTP error or an unreachable service is one ``TargetError`` line,
    e.g. ``nova: GET /os-aggregates: HTTP 403: Policy doesn't allow ...``."""
    import keystoneauth1.exceptions
    import openstack.exceptions

    log.debug("%s: %s", service, request)
    try:
        return from_resources(listing(), key, parse)
    except openstack.exceptions.HttpException as err:
        details = " ".join(str(err.details or "").split()) or "no details"
        raise TargetError(f"{service}: {request}: HTTP {err.status_code}: {details[:200]}") from err
    except keystoneauth1.exceptions.ConnectionError as err:
        raise TargetError(f"{service}: {request}: unreachable: {_one_line(err)}") from err


def _server_body(resource: Resource) -> dict[str, Any]:
    return resource.to_dict(headers=False, computed=False, ignore_none=True, original_names=True)
