"""cephx keys: the secret format, the documented caps, and a wrapper that keeps secrets out of output.

A cephx secret as Ceph and TripleO write it is base64 of a 12-byte header followed by 16 random bytes:
``struct.pack("<hiih", 1, created, 0, 16) + os.urandom(16)``, which is always 40 characters ending in
``==``. Heat enforces only the outer shape (``^[a-zA-Z0-9+/]{38}==$``, the ``CephClientKey``
constraint); we also check the header, because a key that passes the pattern but carries another
type or length is refused by the cluster at ``ceph auth import`` time, far from where it was written.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from dataclasses import dataclass

#: The Heat constraint on CephClientKey at every release we support.
HEAT_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9+/]{38}==$")

_HEADER = struct.Struct("<hiih")
_CEPH_CRYPTO_AES = 1
_SECRET_LENGTH = 16

#: The caps of ``client.external`` that the source document prescribes (key option 2). The same
#: caps, without ``mgr``, are what TripleO gives ``client.openstack``.
EXTERNAL_CAPS: dict[str, str] = {
    "mgr": "allow *",
    "mon": "profile rbd",
    "osd": "profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images",
}


def rbd_client_caps(pools: tuple[str, ...] = ("vms", "volumes", "images")) -> dict[str, str]:
    """Return the caps an RBD client key of OpenStack gets for the given pools.

    TripleO gives ``client.openstack`` this shape, and the source document gives ``client.external``
    the same with the pools vms, volumes and images (``EXTERNAL_CAPS``).
    """
    return {
        "mgr": "allow *",
        "mon": "profile rbd",
        "osd": ", ".join(f"profile rbd pool={pool}" for pool in pools),
    }


class Secret:
    """A secret string whose ``repr`` and ``str`` never show the value.

    Use ``reveal()`` at the one place that must write the secret (a keyring file, a ``ceph auth
    import``). Anything that logs, reports or parametrizes sees ``****``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself; call only where it must be written."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    def __str__(self) -> str:
        return "****"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """Why a string is not a valid cephx secret, in words an operator can act on."""

    reason: str


def generate_key(created: int, random_bytes: bytes | None = None) -> Secret:
    """Return a new cephx secret in the format ``ceph-authtool --gen-print-key`` writes.

    ``created`` is the creation time in seconds stored in the header; passing it in keeps this
    function free of the clock.
    """
    secret = os.urandom(_SECRET_LENGTH) if random_bytes is None else random_bytes
    if len(secret) != _SECRET_LENGTH:
        raise ValueError(f"a cephx secret has {_SECRET_LENGTH} random bytes, not {len(secret)}")
    header = _HEADER.pack(_CEPH_CRYPTO_AES, created, 0, _SECRET_LENGTH)
    return Secret(base64.b64encode(header + secret).decode("ascii"))


def find_key_problem(key: str) -> KeyProblem | None:
    """Return why ``key`` is not a valid cephx secret, or None when it is one."""
    if not HEAT_KEY_PATTERN.match(key):
        return KeyProblem("is not 40 base64 characters ending in '==' (Heat pattern ^[a-zA-Z0-9+/]{38}==$)")
    try:
        raw = base64.b64decode(key, validate=True)
    except binascii.Error:
        return KeyProblem("is not valid base64")
    key_type, _created, _nsec, length = _HEADER.unpack_from(raw)
    if key_type != _CEPH_CRYPTO_AES:
        return KeyProblem(f"has key type {key_type} in its header; cephx secrets have type 1 (AES)")
    if length != _SECRET_LENGTH or len(raw) != _HEADER.size + _SECRET_LENGTH:
        return KeyProblem(f"declares {length} secret bytes; cephx secrets have {_SECRET_LENGTH}")
    return None


def is_valid_key(key: str) -> bool:
    """Tell whether ``key`` is a cephx secret in the format Ceph and TripleO use."""
    return find_key_problem(key) is None


def mask(text: str, secrets: list[Secret] | tuple[Secret, ...]) -> str:
    """Return ``text`` with every occurrence of the given secrets replaced by ``****``.

    This is the backstop for evidence and logs that quote command output; the plan is still that
    secrets never reach such text.
    """
    for secret in secrets:
        value = secret.reveal()
        if value:
            text = text.replace(value, "****")
    return text


_KEY_IN_TEXT = re.compile(r"AQ[A-Za-z0-9+/]{36}==")


def mask_keys(text: str) -> str:
    """Return ``text`` with anything shaped like a cephx secret replaced by ``****``."""
    return _KEY_IN_TEXT.sub("****", text)
