"""A directory of hand-written environment files, read as the stacks Heat would see.

Layout (the source document's): one subdirectory per stack (``control-plane/``, ``dcn0/``...) and
shared exports at the top (``central_ceph_external.yaml``). When a stack directory holds a deploy
script (``openstack overcloud deploy ... -e FILE ...``), its ``-e`` files are the stack's files, in
that order, and the THT environments it names contribute their ``parameter_defaults`` (that is how
``dcn-hci.yaml`` sets ``NovaCrossAZAttach: false``). Without a script, the stack's own files are
read in name order, and DCN stacks also get the shared top-level files.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dcn_checks.errors import EnvironmentFilesError
from dcn_checks.heat import environment_defaults
from dcn_checks.release import THT
from dcn_checks.yamlio import describe_yaml_error, read_yaml

CENTRAL_STACK_NAMES = ("control-plane", "central", "overcloud")
#: Files a deploy command names that are not environment files the operator writes for storage.
_NOT_OURS = re.compile(r"roles|role-counts|network|deployed-(metal|vips|network)|containers-prepare|-export\.yaml$")


@dataclass(frozen=True, slots=True)
class EnvFileContent:
    """The ``parameter_defaults`` of one file, with its path relative to the directory."""

    path: str
    parameters: Mapping[str, object]


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

    def where(self, parameter: str) -> str:
        """Return the file that sets ``parameter`` last, or the stack's directory if none does."""
        return self.origin.get(parameter, f"{self.name}/")


@dataclass(frozen=True, slots=True)
class EnvDirectory:
    """Every stack found in a directory of environment files."""

    root: Path
    stacks: tuple[Stack, ...]

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
    joined = re.sub(r"\\\n", " ", script)
    paths: list[str] = []
    for line in joined.splitlines():
        if "overcloud deploy" not in line or line.lstrip().startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        for index, word in enumerate(words[:-1]):
            if word in ("-e", "--environment-file"):
                paths.append(words[index + 1])
    return paths


def _read_parameters(path: Path, relative: str) -> EnvFileContent:
    try:
        data = read_yaml(path)
    except OSError as err:
        raise EnvironmentFilesError(f"{relative}: cannot read: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise EnvironmentFilesError(f"{relative}: {describe_yaml_error(err)}") from err
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EnvironmentFilesError(f"{relative}: not an environment file (expected a mapping at the top)")
    parameters = data.get("parameter_defaults") or {}
    if not isinstance(parameters, dict):
        raise EnvironmentFilesError(f"{relative}: parameter_defaults must be a mapping")
    return EnvFileContent(relative, parameters)


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


def _deploy_script(directory: Path) -> Path | None:
    """Return the stack's deploy script with the most ``-e`` files (an update includes all)."""
    scripts = [p for p in sorted(directory.glob("*.sh")) if "overcloud deploy" in p.read_text(errors="replace")]
    if not scripts:
        return None
    return max(scripts, key=lambda p: len(parse_deploy_environments(p.read_text(errors="replace"))))


def read_env_directory(root: Path, catalog_key: str) -> EnvDirectory:
    """Read every stack of ``root``; raise ``EnvironmentFilesError`` when something is unreadable."""
    if not root.is_dir():
        raise EnvironmentFilesError(f"{root}: not a directory of environment files")
    shared = [_read_parameters(p, p.name) for p in sorted(root.glob("*.yaml")) if not p.name.startswith(".")]
    directories = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
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
        script = _deploy_script(directory)
        tht: list[str] = []
        missing: list[MissingFile] = []
        if script is not None:
            script_name = f"{stack}/{script.name}"
            files = []
            for argument in parse_deploy_environments(script.read_text(errors="replace")):
                kind, target = _resolve(argument, root, stack)
                if kind == "tht" and target is not None:
                    tht.append(target)
                elif kind == "file" and target is not None:
                    if (root / target).is_file():
                        files.append(_read_parameters(root / target, target))
                    elif not _NOT_OURS.search(target):
                        missing.append(MissingFile(script_name, target))
        else:
            script_name = None
            files = [_read_parameters(p, f"{stack}/{p.name}") for p in sorted(directory.glob("*.yaml"))]
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
            )
        )
    return EnvDirectory(root=root, stacks=tuple(stacks))
