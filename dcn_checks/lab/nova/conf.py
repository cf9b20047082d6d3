"""A node's ``nova.conf``, read into the options the model's decisions depend on.

The model never takes an option from anywhere else: a compute node's behaviour comes from
``/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf`` under its node root, the
API's from the controller's ``.../nova/etc/nova/nova.conf``, as rendered by ``render_nova``. A fault
that edits one of those files therefore changes what the model does, as it would on a real node.

Defaults are Nova's own (``nova/conf/*.py``), so an option that puppet-nova leaves out behaves as
in Nova: ``[cinder] cross_az_attach`` True, ``[libvirt] images_type`` ``default``,
``images_rbd_pool`` ``rbd``, ``[workarounds] never_download_image_if_on_rbd`` False,
``[DEFAULT] default_availability_zone`` ``nova``. Booleans are read as oslo.config reads them.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path

from dcn_checks.cephx import Secret
from dcn_checks.errors import LabError
from dcn_checks.lab.render_nova import NOVA_API_CONF, NOVA_CONF

#: Where TripleO keeps nova.conf of nova-compute/nova-libvirt (NovaAZConfig reads ``[DEFAULT] host``
#: there), and of the API services.
COMPUTE_CONF = NOVA_CONF
API_CONF = NOVA_API_CONF

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class NovaConfError(LabError):
    """A nova.conf the model cannot read: Nova itself would refuse to start with it."""


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """``[service_user]``: the account whose token Nova sends along as ``X-Service-Token``.

    Cinder refuses to delete an attachment of a running instance unless the request carries a
    service token (OSSA-2023-003, bug 2004555), so TripleO turns ``send_service_user_token`` on.
    """

    auth_url: str
    username: str
    password: Secret = field(repr=False)
    project_name: str = "service"
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"


@dataclass(frozen=True, slots=True)
class NovaConf:
    """The options of one node's nova.conf that the model acts on."""

    host: str
    source: str = "nova.conf"
    log_file: str | None = None
    default_availability_zone: str = "nova"
    internal_service_availability_zone: str = "internal"
    default_schedule_zone: str | None = None
    cross_az_attach: bool = True
    glance_endpoint_override: str | None = None
    images_type: str = "default"
    images_rbd_pool: str = "rbd"
    images_rbd_ceph_conf: str = ""
    rbd_user: str | None = None
    rbd_secret_uuid: str | None = None
    images_rbd_glance_store_name: str | None = None
    images_rbd_glance_copy_poll_interval: int = 15
    images_rbd_glance_copy_timeout: int = 600
    never_download_image_if_on_rbd: bool = False
    database_connection: str | None = None
    #: Set when ``[service_user] send_service_user_token`` is true.
    service_user: ServiceUser | None = None

    @property
    def uses_rbd(self) -> bool:
        """Tell whether instance disks live in RBD (``[libvirt] images_type = rbd``)."""
        return self.images_type == "rbd"


def parse_nova_conf(text: str, source: str = "nova.conf") -> NovaConf:
    """Read nova.conf text, e.g. ``[DEFAULT]\\nhost=dcn0-hci-0\\n\\n[cinder]\\ncross_az_attach=False\\n``.

    ``[DEFAULT] host`` is required: TripleO always writes it, and both the aggregate membership and
    the compute service are keyed by it. Raise ``NovaConfError`` for unreadable text or values.
    """
    # oslo.config has no DEFAULT inheritance between sections: make DEFAULT an ordinary section.
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\x00")
    try:
        parser.read_string(text, source=source)
    except configparser.Error as err:
        raise NovaConfError(f"{source}: {err}") from err

    def get(section: str, option: str) -> str | None:
        value = parser.get(section, option, fallback=None)
        return None if value is None else value.strip()

    def boolean(section: str, option: str, default: bool) -> bool:
        value = get(section, option)
        if value is None or value == "":
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise NovaConfError(f"{source}: [{section}] {option}: {value!r} is not a boolean")

    def integer(section: str, option: str, default: int) -> int:
        value = get(section, option)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise NovaConfError(f"{source}: [{section}] {option}: {value!r} is not an integer") from None

    def text_or_none(section: str, option: str) -> str | None:
        value = get(section, option)
        return value or None

    service_user = None
    if boolean("service_user", "send_service_user_token", False):
        auth_url = text_or_none("service_user", "auth_url")
        username = text_or_none("service_user", "username")
        password = text_or_none("service_user", "password")
        if not (auth_url and username and password):
            raise NovaConfError(f"{source}: [service_user] needs auth_url, username and password")
        service_user = ServiceUser(
            auth_url=auth_url,
            username=username,
            password=Secret(password),
            project_name=text_or_none("service_user", "project_name") or "service",
            user_domain_name=text_or_none("service_user", "user_domain_name") or "Default",
            project_domain_name=text_or_none("service_user", "project_domain_name") or "Default",
        )
    host = text_or_none("DEFAULT", "host")
    if host is None:
        raise NovaConfError(f"{source}: [DEFAULT] host is not set")
    return NovaConf(
        host=host,
        source=source,
        log_file=text_or_none("DEFAULT", "log_file"),
        default_availability_zone=text_or_none("DEFAULT", "default_availability_zone") or "nova",
        internal_service_availability_zone=text_or_none("DEFAULT", "internal_service_availability_zone") or "internal",
        default_schedule_zone=text_or_none("DEFAULT", "default_schedule_zone"),
        cross_az_attach=boolean("cinder", "cross_az_attach", True),
        glance_endpoint_override=text_or_none("glance", "endpoint_override"),
        images_type=text_or_none("libvirt", "images_type") or "default",
        images_rbd_pool=text_or_none("libvirt", "images_rbd_pool") or "rbd",
        images_rbd_ceph_conf=text_or_none("libvirt", "images_rbd_ceph_conf") or "",
        rbd_user=text_or_none("libvirt", "rbd_user"),
        rbd_secret_uuid=text_or_none("libvirt", "rbd_secret_uuid"),
        images_rbd_glance_store_name=text_or_none("libvirt", "images_rbd_glance_store_name"),
        images_rbd_glance_copy_poll_interval=integer("libvirt", "images_rbd_glance_copy_poll_interval", 15),
        images_rbd_glance_copy_timeout=integer("libvirt", "images_rbd_glance_copy_timeout", 600),
        never_download_image_if_on_rbd=boolean("workarounds", "never_download_image_if_on_rbd", False),
        database_connection=text_or_none("database", "connection"),
        service_user=service_user,
    )


def read_nova_conf(node_root: Path, path: str = COMPUTE_CONF) -> NovaConf:
    """Read the nova.conf at ``path`` (a node path) under ``node_root``; raise ``NovaConfError`` if missing."""
    file = node_root / path.lstrip("/")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise NovaConfError(f"{file}: cannot read: {err.strerror}") from err
    return parse_nova_conf(text, str(file))
