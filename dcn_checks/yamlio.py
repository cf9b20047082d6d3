"""Reading YAML strictly: duplicate keys are an error, and parse errors become one line.

PyYAML keeps the last of two equal keys without a word. In a site model that hides a second
``dcn0``; in an environment file it hides which of two ``GlanceBackendID`` values Heat will use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DuplicateKeyError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key '{key}'",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def describe_yaml_error(err: yaml.YAMLError) -> str:
    """Return a YAML error as one line: what is wrong and on which line."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return f"{where}{err.problem or err.context or 'invalid YAML'}"
    return f"invalid YAML ({err})"


def parse_yaml(text: str) -> Any:
    """Parse YAML text strictly; raise ``yaml.YAMLError`` (e.g. ``DuplicateKeyError``)."""
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass


def read_yaml(path: Path) -> Any:
    """Read and parse a YAML file strictly; raise OSError or ``yaml.YAMLError``."""
    return parse_yaml(path.read_text(encoding="utf-8"))
