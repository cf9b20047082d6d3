"""The generator's secrets and fsids, kept in the output directory across re-runs.

Regenerating the environment files must not change the cephx keys of a deployed cloud (that would
lock every site out of every other), so keys are created once and read back on the next run unless
the operator asks for ``--rotate-keys``. fsids are kept the same way. The file is written 0600 and
its values never leave it except into the environment files that need them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dcn_checks.cephx import Secret, find_key_problem, generate_key
from dcn_checks.errors import EnvironmentFilesError, InputFileError
from dcn_checks.inputs import clip, read_yaml, shown
from dcn_checks.model import SiteModel

STATE_FILE = ".dcn-checks-state.yaml"


@dataclass(frozen=True, slots=True)
class ClusterSecrets:
    """The fsid and cephx keys of one cluster, by user name (``openstack``, ``external``)."""

    fsid: str
    keys: dict[str, Secret] = field(repr=False)

    def key(self, user: str) -> Secret:
        """Return the secret of ``client.<user>``."""
        return self.keys[user]


def load_state(out_dir: Path) -> dict[str, ClusterSecrets]:
    """Read the secrets of an earlier run; an absent file means a first run.

    A sample (values elided)::

        clusters:
          central: {fsid: 7d5a..., keys: {openstack: AQD..., external: AQD...}}
    """
    path = out_dir / STATE_FILE
    if not path.exists():
        return {}
    try:
        data = read_yaml(path, "the generator state")
    except InputFileError as err:
        raise EnvironmentFilesError(str(err)) from err

    def refuse(field: str, problem: str) -> EnvironmentFilesError:
        return EnvironmentFilesError(
            f"{path}: {field}: {problem}; fix or delete the file (deleting it makes new keys and fsids)"
        )

    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("clusters", {}), dict):
        raise refuse("clusters", "expected a mapping of cluster names")
    state: dict[str, ClusterSecrets] = {}
    for cluster, entry in data.get("clusters", {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("keys") or {}, dict):
            raise refuse(f"clusters.{clip(str(cluster))}", "expected a mapping with fsid and keys")
        try:
            fsid = str(uuid.UUID(str(entry.get("fsid"))))
        except ValueError:
            raise refuse(f"clusters.{clip(str(cluster))}.fsid", f"{shown(entry.get('fsid'))} is not a UUID") from None
        keys = {}
        for user, value in (entry.get("keys") or {}).items():
            problem = find_key_problem(str(value))
            if problem is not None:
                raise refuse(f"clusters.{clip(str(cluster))}.keys.{clip(str(user))}", f"the key {problem.reason}")
            keys[str(user)] = Secret(str(value))
        state[str(cluster)] = ClusterSecrets(fsid=fsid, keys=keys)
    return state


def resolve_secrets(
    model: SiteModel,
    previous: dict[str, ClusterSecrets],
    *,
    rotate_keys: bool,
    new_key: Callable[[], Secret],
    new_fsid: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict[str, ClusterSecrets]:
    """Decide every cluster's fsid and keys: the model's fsid, else the kept one, else a new one.

    Keys are kept unless ``rotate_keys``; a user that had no key yet gets a new one.
    """
    users = ("openstack", "external") if model.key_option == 2 else ("openstack",)
    resolved: dict[str, ClusterSecrets] = {}
    for site in model.sites:
        kept = previous.get(site.cluster)
        fsid = site.fsid or (kept.fsid if kept else new_fsid())
        keys = {}
        for user in users:
            if kept is not None and user in kept.keys and not rotate_keys:
                keys[user] = kept.keys[user]
            else:
                keys[user] = new_key()
        resolved[site.cluster] = ClusterSecrets(fsid=fsid, keys=keys)
    return resolved


def save_state(out_dir: Path, secrets: dict[str, ClusterSecrets]) -> None:
    """Write the secrets 0600, creating the file with that mode so it is never readable by others."""
    data = {
        "clusters": {
            cluster: {"fsid": entry.fsid, "keys": {user: key.reveal() for user, key in entry.keys.items()}}
            for cluster, entry in secrets.items()
        }
    }
    write_private(out_dir / STATE_FILE, yaml.safe_dump(data, sort_keys=True))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def key_factory(now: Callable[[], float]) -> Callable[[], Secret]:
    """Return a function making new cephx keys stamped with the time ``now()`` gives."""
    return lambda: generate_key(int(now()))
