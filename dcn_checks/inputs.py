"""The one reader of the files a user hands us, and of the state files we leave for them.

Site models, target files, clouds.yaml, inventories, environment files, deploy scripts, the
generator's state and the lab's state files all pass through here, so that every way a file can be
unusable (absent, a directory, binary, UTF-16, over 10 MiB, malformed, an alias bomb) is one
``InputFileError`` line naming the file and the problem, exit 4, instead of a traceback somewhere
deeper. ``shown()`` bounds how much of a value a message repeats, so a hostile value cannot flood a
terminal or a report.
"""

from __future__ import annotations

import codecs
import json
import stat
from pathlib import Path
from typing import Any

import yaml

from dcn_checks.errors import InputFileError
from dcn_checks.yamlio import describe_yaml_error, parse_yaml

#: Input files larger than this are refused: no site model, environment file or inventory is near it.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: The most characters of a value a message shows.
MAX_SHOWN = 200

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """Return ``text`` cut to ``limit`` characters (the last one an ellipsis) and on one line."""
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, so a message stays one short line."""
    return clip(repr(value), limit)


def decode_text(data: bytes, source: str, what: str) -> str:
    """Decode ``data`` as UTF-8 text; raise ``InputFileError`` saying why it is not text we read."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise InputFileError(source, "", f"{what} is {encoding} text; save it as UTF-8")
    if b"\x00" in data:
        raise InputFileError(source, "", f"{what} is not a text file (it holds NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        byte = data[err.start]
        problem = f"{what} is not UTF-8 text (byte 0x{byte:02x} at offset {err.start})"
        raise InputFileError(source, "", problem) from None
    return text.removeprefix("\ufeff")


def read_text(path: Path, what: str) -> str:
    """Read a regular text file of at most ``MAX_FILE_BYTES``; raise ``InputFileError`` otherwise."""
    source = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(source, "", f"no such file ({what})") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise InputFileError(source, "", f"cannot read {what}: {reason}") from err
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(source, "", f"is a directory, not {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(source, "", f"is not a regular file ({what})")
    if info.st_size > MAX_FILE_BYTES:
        problem = f"{what} is {info.st_size} bytes; files over {MAX_FILE_BYTES // 2**20} MiB are refused"
        raise InputFileError(source, "", problem)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise InputFileError(source, "", f"cannot read {what}: {err.strerror or err}") from err
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(source, "", f"{what} grew past {MAX_FILE_BYTES // 2**20} MiB while it was read")
    return decode_text(data, source, what)


def read_yaml(path: Path, what: str) -> Any:
    """Read and parse a YAML input file strictly (see ``yamlio``); raise ``InputFileError`` with one line."""
    text = read_text(path, what)
    try:
        return parse_yaml(text)
    except yaml.YAMLError as err:
        raise InputFileError(str(path), "", describe_yaml_error(err)) from err


def read_json(path: Path, what: str) -> Any:
    """Read and parse a JSON state file; raise ``InputFileError`` naming the file when it is corrupt."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        detail = f"line {err.lineno}: {err.msg}" if isinstance(err, json.JSONDecodeError) else "nested too deeply"
        raise InputFileError(str(path), "", f"{what} cannot be parsed as JSON ({detail})") from err
