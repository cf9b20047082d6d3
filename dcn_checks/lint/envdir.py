"""A directory of hand-written environment files, read as the stacks Heat would see.

Layout (the source document's): one subdirectory per stack (``control-plane/``, ``dcn0/``...) and
shared exports at the top (``central_ceph_external.yaml``). When a stack directory holds a deploy
script (``openstack overcloud deploy ... -e FILE ...``), its ``-e`` files are the stack's files, in
that order, and the THT environments it names contribute their ``parameter_defaults`` (that is how
``dcn-hci.yaml`` sets ``NovaCrossAZAttach: false``). Without a script, the stack's own files are
read in name order, and DCN stacks also get the shared top-level files.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dcn_checks.errors import EnvironmentFilesError, InputFileError
from dcn_checks.heat import environment_defaults
from dcn_checks.inputs import read_text, read_yaml
from dcn_checks.release import THT

CENTRAL_STACK_NAMES = ("control-plane", "central", "overcloud")
#: Files a deploy command names that are not environment files the operator writes for storage; missing,
#: they are named only when a file one slip away is there (the document's ``roles-counts.yaml``).
_NOT_OURS = re.compile(r"roles|role-counts|network|deployed-(metal|vips|network)|containers-prepare|-export\.yaml$")


@dataclass(frozen=True, slots=True)
class EnvFileContent:
    """The ``parameter_defaults`` of one file, with its path relative to the directory."""

    path: str
    parameters: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class UnreadableFile:
    """A file of the directory that could not be read as Heat would need it; the lint reports it by name."""

    path: str
    problem: str

    def line(self) -> str:
        """Return the problem as the one line the lint prints."""
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True, slots=True)
class MissingFile:
    """A file a deploy command passes with ``-e`` that is not in the directory."""

    script: str
    path: str


@dataclass(frozen=True, slots=True)
class Stack:
    """One stack: its files in ``-e`` order and the THT environments its deploy command includes."""

    name: str
    is_central: bool
    files: tuple[EnvFileContent, ...]
    tht_environments: tuple[str, ...] = ()
    deploy_script: str | None = None
    missing: tuple[MissingFile, ...] = ()
    effective: Mapping[str, object] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)
    #: The role names of the stack's roles file (``-r``), when the directory holds it; None if unknown.
    roles: frozenset[str] | None = None
    roles_file: str | None = None

    def where(self, parameter: str) -> str:
        """Return the file that sets ``parameter`` last, or the stack's directory if none does."""
        return self.origin.get(parameter, f"{self.name}/")


@dataclass(frozen=True, slots=True)
class EnvDirectory:
    """Every stack found in a directory of environment files."""

    root: Path
    stacks: tuple[Stack, ...]
    unreadable: tuple[UnreadableFile, ...] = ()

    @property
    def central(self) -> Stack | None:
        """The central stack, if one was recognised."""
        return next((stack for stack in self.stacks if stack.is_central), None)

    @property
    def dcn_stacks(self) -> tuple[Stack, ...]:
        """Every stack that is not central."""
        return tuple(stack for stack in self.stacks if not stack.is_central)


def parse_deploy_environments(script: str) -> list[str]:
    """Return the ``-e`` arguments of the ``openstack overcloud deploy`` commands of a script.

    Accepts what an operator writes, e.g.::

        openstack overcloud deploy --stack dcn0 \\
            -e /usr/share/openstack-tripleo-heat-templates/environments/dcn-hci.yaml \\
            -e ~/dcn0/glance.yaml
    """
    return _deploy_arguments(script, ("-e", "--environment-file"))


def parse_deploy_roles_files(script: str) -> list[str]:
    """Return the roles files (``-r``, ``--roles-file``) the deploy commands of a script pass."""
    return _deploy_arguments(script, ("-r", "--roles-file"))


def _deploy_arguments(script: str, options: tuple[str, ...]) -> list[str]:
    joined = re.sub(r"\\\n", " ", script)
    values: list[str] = []
    for line in joined.splitlines():
        if "overcloud deploy" not in line or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as err:  # an unbalanced quote
            raise ValueError(f"the openstack overcloud deploy command cannot be split into words: {err}") from None
        for index, word in enumerate(words[:-1]):
            if word in options:
                values.append(words[index + 1])
            for option in options:
                if option.startswith("--") and word.startswith(f"{option}="):
                    values.append(word.split("=", 1)[1])
    return values


@dataclass(frozen=True, slots=True)
class RolesFile:
    """A roles file (``openstack overcloud roles generate``): a list of roles, each with a ``name``; with
    ``is_roles`` False another list-shaped TripleO data file (network_data.yaml), which the lint skips."""

    path: str
    roles: frozenset[str]
    is_roles: bool = True


#: Keys only a role has (``openstack overcloud roles generate`` writes them): a network_data file is also a
#: list of ``name:`` maps, and must not be taken for the roles.
ROLE_KEYS = frozenset({"ServicesDefault", "CountDefault", "HostnameFormatDefault", "RoleParametersDefault", "tags"})


def role_names(data: object) -> frozenset[str] | None:
    """The role names of a roles file's content, or None when it is not one (a list of roles, each a map with
    a ``name`` and a key only roles have)."""
    if not isinstance(data, list) or not data:
        return None
    if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in data):
        return None
    if not any(ROLE_KEYS & set(item) for item in data):
        return None
    return frozenset(str(item["name"]) for item in data)


def near_namesake(path: Path) -> str | None:
    """A file beside a missing one whose name is one slip away (``roles-counts.yaml`` for ``role-counts.yaml``)."""
    siblings = [p.name for p in path.parent.glob("*.yaml")] if path.parent.is_dir() else []
    close = difflib.get_close_matches(path.name, siblings, n=1, cutoff=0.85)
    return f"{path.parent.name}/{close[0]}" if close else None


def _read_parameters(path: Path, relative: str) -> EnvFileContent | RolesFile | UnreadableFile:
    try:
        data = read_yaml(path, "an environment file")
    except InputFileError as err:
        return UnreadableFile(relative, err.problem)
    if data is None:
        data = {}
    roles = role_names(data)
    if roles is not None:
        return RolesFile(relative, roles)
    if isinstance(data, list) and data and all(isinstance(item, dict) and "name" in item for item in data):
        return RolesFile(relative, frozenset(), is_roles=False)  # network_data.yaml and the like: no environment
    if not isinstance(data, dict):
        return UnreadableFile(relative, "not an environment file (expected a mapping at the top)")
    parameters = data.get("parameter_defaults") or {}
    if not isinstance(parameters, dict):
        return UnreadableFile(relative, "parameter_defaults must be a mapping")
    return EnvFileContent(relative, {str(name): value for name, value in parameters.items()})


def _resolve(argument: str, root: Path, stack: str) -> tuple[str, str | None]:
    """Map a ``-e`` argument to ("tht", env) or ("file", path relative to root) or ("other", None)."""
    tht_prefix = f"{THT}/"
    if argument.startswith(tht_prefix):
        return "tht", argument[len(tht_prefix) :]
    for prefix in ("$OUT/", "${OUT}/", "~/", "/home/stack/"):
        if argument.startswith(prefix):
            return "file", argument[len(prefix) :]
    if not argument.startswith("/"):
        return "file", f"{stack}/{argument}"
    return "other", None


def _deploy_script(directory: Path, unreadable: list[UnreadableFile]) -> tuple[str, list[str], list[str]] | None:
    """Return the stack's deploy script with the most ``-e`` files (an update includes all), those files and
    its roles files (``-r``).

    A ``*.sh`` file that cannot be read as text (a directory, binary), or a deploy command in one that
    cannot be split into words, is added to ``unreadable``, so the lint names it.
    """
    found: list[tuple[str, list[str], list[str]]] = []
    for path in sorted(directory.glob("*.sh")):
        relative = f"{directory.name}/{path.name}"
        try:
            text = read_text(path, "a deploy script")
        except InputFileError as err:
            unreadable.append(UnreadableFile(relative, err.problem))
            continue
        if "overcloud deploy" not in text:
            continue
        try:
            found.append((relative, parse_deploy_environments(text), parse_deploy_roles_files(text)))
        except ValueError as err:  # an unbalanced quote
            unreadable.append(UnreadableFile(relative, str(err)))
    if not found:
        return None
    return max(found, key=lambda script: len(script[1]))


def _readable(
    contents: list[EnvFileContent | RolesFile | UnreadableFile], unreadable: list[UnreadableFile]
) -> list[EnvFileContent]:
    unreadable.extend(content for content in contents if isinstance(content, UnreadableFile))
    return [content for content in contents if isinstance(content, EnvFileContent)]


def read_env_directory(root: Path, catalog_key: str) -> EnvDirectory:
    """Read every stack of ``root``.

    A file that cannot be read (binary, UTF-16, malformed YAML, a deploy script with an unbalanced
    quote) is listed in ``unreadable`` and left out, so the lint can report it by name beside its
    other findings; a directory that holds no stacks at all raises ``EnvironmentFilesError``.
    """
    try:
        entries = sorted(root.iterdir())
    except NotADirectoryError:
        raise EnvironmentFilesError(f"{root}: not a directory of environment files") from None
    except FileNotFoundError:
        raise EnvironmentFilesError(f"{root}: no such directory of environment files") from None
    except OSError as err:
        raise EnvironmentFilesError(f"{root}: cannot read: {err.strerror}") from err
    unreadable: list[UnreadableFile] = []
    top_files = [p for p in entries if p.suffix == ".yaml" and not p.name.startswith(".") and not p.is_dir()]
    shared = _readable([_read_parameters(p, p.name) for p in top_files], unreadable)
    directories = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    directories = [p for p in directories if any(p.glob("*.yaml")) or any(p.glob("*.sh"))]
    if not directories:
        raise EnvironmentFilesError(f"{root}: no stack directories (expected e.g. control-plane/, dcn0/)")
    tht_defaults = environment_defaults(catalog_key)
    names = [p.name for p in directories]
    central_name = next((name for name in CENTRAL_STACK_NAMES if name in names), None)
    stacks = []
    for directory in directories:
        stack = directory.name
        is_central = stack == central_name
        script = _deploy_script(directory, unreadable)
        tht: list[str] = []
        missing: list[MissingFile] = []
        files: list[EnvFileContent] = []
        roles_files: list[RolesFile] = []
        if script is not None:
            script_name: str | None = script[0]
            for argument in script[2]:
                kind, target = _resolve(argument, root, stack)
                if kind == "file" and target is not None and (root / target).is_file():
                    found = _read_parameters(root / target, target)
                    if isinstance(found, RolesFile) and found.is_roles:
                        roles_files.append(found)
            for argument in script[1]:
                kind, target = _resolve(argument, root, stack)
                if kind == "tht" and target is not None:
                    tht.append(target)
                elif kind == "file" and target is not None:
                    if (root / target).is_file():
                        files += _readable([_read_parameters(root / target, target)], unreadable)
                    elif not _NOT_OURS.search(target) or near_namesake(root / target) is not None:
                        missing.append(MissingFile(script[0], target))
        else:
            script_name = None
            paths = [p for p in sorted(directory.glob("*.yaml")) if not p.is_dir()]
            contents = [_read_parameters(p, f"{stack}/{p.name}") for p in paths]
            roles_files = [content for content in contents if isinstance(content, RolesFile) and content.is_roles]
            files = _readable(contents, unreadable)
            if not is_central:
                files = shared + files
        effective: dict[str, object] = {}
        origin: dict[str, str] = {}
        for environment in tht:
            for name, value in tht_defaults.get(environment, {}).items():
                effective[name] = value
                origin[name] = f"{THT}/{environment}"
        for content in files:
            for name, value in content.parameters.items():
                effective[name] = value
                origin[name] = content.path
        stacks.append(
            Stack(
                name=stack,
                is_central=is_central,
                files=tuple(files),
                tht_environments=tuple(tht),
                deploy_script=script_name,
                missing=tuple(missing),
                effective=effective,
                origin=origin,
                roles=frozenset().union(*(found.roles for found in roles_files)) if roles_files else None,
                roles_file=", ".join(found.path for found in roles_files) or None,
            )
        )
    distinct = {problem.path: problem for problem in unreadable}  # a shared file is read once per stack
    return EnvDirectory(root=root, stacks=tuple(stacks), unreadable=tuple(distinct.values()))
