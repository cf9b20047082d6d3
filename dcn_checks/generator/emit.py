"""Writing environment files and deploy scripts as text, checked against the Heat catalog.

Every parameter name and type is validated against the catalog of the target release before a
byte is written, so the generator can never emit a name Heat would silently ignore. Each
parameter gets a one-line comment saying what it does.
"""

from __future__ import annotations

import shlex

import yaml

from dcn_checks.errors import DcnChecksError
from dcn_checks.generator.descriptions import describe
from dcn_checks.generator.stacks import OUT, DeployCommand, EnvFile, reveal
from dcn_checks.heat import Catalog, type_problem

#: Keys of a GlanceMultistoreConfig item that are themselves THT parameter names.
_MULTISTORE_KEYS = (
    "GlanceBackend",
    "GlanceStoreDescription",
    "CephClusterName",
    "CephClientUserName",
    "GlanceRbdPoolName",
)


class GeneratorBug(DcnChecksError):
    """The generator produced a parameter the target release does not define: a bug in dcn-checks."""


def validate(env: EnvFile, catalog: Catalog) -> None:
    """Raise ``GeneratorBug`` if any parameter of ``env`` is unknown or mistyped at the release."""
    for name, value in env.parameters:
        parameter = catalog.get(name)
        if parameter is None:
            raise GeneratorBug(f"{env.path}: {name} is not a Heat parameter at {catalog.key}")
        problem = type_problem(parameter, reveal(value))
        if problem is not None:
            raise GeneratorBug(f"{env.path}: {name} {problem}")
        if name == "GlanceMultistoreConfig" and isinstance(value, dict):
            for store, entry in value.items():
                for key in entry:
                    if key not in _MULTISTORE_KEYS or catalog.get(key) is None:
                        raise GeneratorBug(f"{env.path}: GlanceMultistoreConfig.{store}.{key} is not a THT parameter")


def render_env_file(env: EnvFile, header: str, catalog: Catalog, *, check: bool = True) -> str:
    """Return the YAML text of an environment file, each parameter under its one-line comment.

    ``check=False`` only for a report's snippet, whose keys are placeholders no key pattern admits."""
    if check:
        validate(env, catalog)
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append(f"# Purpose: {env.purpose}.")
    lines.append("parameter_defaults:")
    for name, value in env.parameters:
        lines.append(f"  # {describe(name)}")
        dumped = yaml.safe_dump({name: reveal(value)}, default_flow_style=False, sort_keys=False, width=200)
        lines.extend(f"  {line}" for line in dumped.rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"


def render_script(script: DeployCommand, header: str) -> str:
    """Return a bash script running the stack's commands, with ``$OUT`` bound to the generated directory."""
    lines = ["#!/usr/bin/env bash", *(f"# {line}" for line in header.splitlines())]
    lines += [
        f"# Purpose: {script.purpose}.",
        "set -euo pipefail",
        'OUT="$(cd "$(dirname "$0")/.." && pwd)"',
        "",
    ]
    for command in script.commands:
        first, *rest = command
        lines.append(first + (" \\" if rest else ""))
        for index, argument in enumerate(rest):
            lines.append(f"    {_quote(argument)}" + (" \\" if index < len(rest) - 1 else ""))
        lines.append("")
    return "\n".join(lines)


def _quote(argument: str) -> str:
    """Quote an argument for bash, leaving ``~/`` and ``$OUT`` expandable."""
    flag, _, path = argument.partition(" ")
    if not path:
        return argument
    if path.startswith("~/") or path.startswith(OUT):
        quoted_out = '"' + OUT + '"'
        return f"{flag} {path.replace(OUT, quoted_out, 1)}"
    return f"{flag} {shlex.quote(path)}"
