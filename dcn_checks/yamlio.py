"""Parsing YAML strictly: duplicate keys, unhashable keys and alias bombs are errors of one line.

PyYAML keeps the last of two equal keys without a word. In a site model that hides a second
``dcn0``; in an environment file it hides which of two ``GlanceBackendID`` values Heat will use.
A key that is a list or a mapping (``? [a, b]``) is valid YAML but no Python dict key; PyYAML
would fail with a ``TypeError`` deep inside the constructor. And a 1 kB document of nested aliases
(``&a [*b, *b, ...]``) expands to millions of nodes once anything walks or prints it, so the
expanded size is counted on the node graph before anything is constructed.
"""

from __future__ import annotations

from typing import Any

import yaml

#: The most nodes a document may hold once its aliases are expanded.
MAX_EXPANDED_NODES = 100_000


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key."""


class YamlLimitError(yaml.YAMLError):
    """A document is too large once expanded, refers to itself, or nests deeper than we read."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keys that are lists or mappings."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found a list or a mapping as a key",
                key_node.start_mark,
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DuplicateKeyError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key '{str(key)[:200]}'",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def expanded_size(node: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """Return how many nodes ``node`` holds with every alias expanded; raise ``YamlLimitError`` past ``limit``.

    An alias is the same node object reached twice, so sizes are memoised per object: the work is
    linear in the document, while the count is what a consumer would walk.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(current: yaml.Node) -> int:
        key = id(current)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlLimitError(f"an alias refers to a node that contains it (line {current.start_mark.line + 1})")
        open_nodes.add(key)
        total = 1
        if isinstance(current, yaml.SequenceNode):
            total += sum(size(child) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in current.value)
        open_nodes.discard(key)
        if total > limit:
            raise YamlLimitError(f"the document expands to more than {limit} nodes through its aliases")
        sizes[key] = total
        return total

    return size(node)


def describe_yaml_error(err: yaml.YAMLError) -> str:
    """Return a YAML error as one line: what is wrong and on which line."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return f"{where}{err.problem or err.context or 'invalid YAML'}"
    if isinstance(err, YamlLimitError):
        return str(err)
    return f"invalid YAML ({str(err)[:200]})"


def parse_yaml(text: str) -> Any:
    """Parse YAML text strictly; raise ``yaml.YAMLError`` (``DuplicateKeyError``, ``YamlLimitError``...)."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_size(node)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError("the document nests deeper than dcn-checks reads") from None
    finally:
        loader.dispose()
