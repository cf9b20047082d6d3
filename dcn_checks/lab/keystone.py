"""A real Keystone for the lab, so Glance (and later Cinder, Nova) authenticate as in production.

With real tokens the services run their shipped paste pipelines (keystonemiddleware authtoken) and
the default RBAC policies, and a client finds Glance through the service catalog, which is how the
suite reaches a real deployment. Keystone 30 runs under uwsgi (see :mod:`dcn_checks.lab.uwsgi`)
with fernet tokens and its database in the lab PostgreSQL.

The endpoint layout differs between releases (older TripleO releases also register ``admin``
endpoints), so the interfaces to register are a parameter rather than a constant.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import openstack
import yaml
from openstack.identity.v3._proxy import Proxy as IdentityV3

from dcn_checks.errors import LabError
from dcn_checks.lab import nodes, ports, processes, uwsgi
from dcn_checks.lab.nodes import check

log = logging.getLogger(__name__)

PROCESS_NAME = "keystone"
DEFAULT_INTERFACES = ("public", "internal")
SERVICE_PROJECT = "service"
ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """A service account in the ``service`` project, e.g. ``glance`` for its authtoken section."""

    name: str
    password: str = field(repr=False)
    roles: tuple[str, ...] = ("admin", "service")


@dataclass(frozen=True, slots=True)
class CatalogService:
    """A catalog entry: service name/type and one URL for each interface of the release's layout."""

    name: str
    type: str
    url: str
    interfaces: tuple[str, ...] = DEFAULT_INTERFACES


@dataclass(frozen=True, slots=True)
class Keystone:
    """A running lab Keystone and how to reach it as admin."""

    url: str  # http://127.0.0.1:<port>
    port: int
    pid: int
    region: str
    cloud: str
    clouds_yaml: Path
    admin_password: str = field(repr=False)

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"


# --- pure -----------------------------------------------------------------------------------------


def render_keystone_conf(db_url: str, state_dir: Path, log_file: Path) -> str:
    """keystone.conf of the lab: fernet tokens, new RBAC defaults with scope enforcement, no cache."""
    return f"""\
[DEFAULT]
log_file = {log_file}

[database]
connection = {db_url}

[token]
provider = fernet

[fernet_tokens]
key_repository = {state_dir / "fernet-keys"}

[credential]
key_repository = {state_dir / "credential-keys"}

[oslo_policy]
enforce_new_defaults = True
enforce_scope = True
"""


def render_clouds_yaml(cloud: str, auth_url: str, password: str, region: str, interface: str = "public") -> str:
    """clouds.yaml with password auth as the lab admin (project-scoped)."""
    doc = {
        "clouds": {
            cloud: {
                "auth": {
                    "auth_url": auth_url,
                    "username": ADMIN_USER,
                    "password": password,
                    "project_name": ADMIN_PROJECT,
                    "user_domain_name": "Default",
                    "project_domain_name": "Default",
                },
                "region_name": region,
                "identity_api_version": 3,
                "interface": interface,
            }
        }
    }
    return yaml.safe_dump(doc, sort_keys=False)


def bootstrap_url_args(url: str, interfaces: Sequence[str]) -> list[str]:
    """``--bootstrap-<iface>-url`` flags for the identity endpoints of the given layout."""
    args: list[str] = []
    for iface in interfaces:
        if iface not in ("public", "internal", "admin"):
            raise LabError(f"unknown endpoint interface {iface!r}")
        args += [f"--bootstrap-{iface}-url", url]
    return args


# --- I/O ------------------------------------------------------------------------------------------


def start_keystone(
    lab_dir: Path,
    venv: Path,
    db_url: str,
    *,
    admin_password: str,
    port: int | None = None,
    region: str = "RegionOne",
    interfaces: Sequence[str] = DEFAULT_INTERFACES,
    cloud: str = "dcn-lab",
) -> Keystone:
    """Set up Keystone's database and keys, bootstrap it, serve it, and write ``<lab>/clouds.yaml``.

    bootstrap creates the admin user and project, the roles (admin, manager, member, reader,
    service), the region and the identity endpoints for ``interfaces``. The database must exist
    (see :func:`dcn_checks.lab.postgres.start_postgres`) and be empty or already synced.
    """
    started = time.monotonic()
    processes.stop(lab_dir, PROCESS_NAME)
    base = lab_dir / "keystone"
    for sub in ("fernet-keys", "credential-keys"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    conf = base / "keystone.conf"
    conf.write_text(render_keystone_conf(db_url, base, base / "keystone.log"))
    km = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
    owner = ["--keystone-user", "root", "--keystone-group", "root"]
    # Key setup does not touch the database, so it runs beside db_sync (each costs a Python start).
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [
            pool.submit(nodes.run, [*km, "db_sync"], timeout_s=300),
            pool.submit(nodes.run, [*km, "fernet_setup", *owner], timeout_s=120),
            pool.submit(nodes.run, [*km, "credential_setup", *owner], timeout_s=120),
        ]
        for job, what in zip(jobs, ("db_sync", "fernet_setup", "credential_setup"), strict=True):
            check(job.result(), f"keystone-manage {what}")
    ks_port = port or ports.allocate_ports(1)[0]
    url = f"http://127.0.0.1:{ks_port}"
    check(
        nodes.run(
            [
                *km,
                "bootstrap",
                "--bootstrap-username",
                ADMIN_USER,
                "--bootstrap-project-name",
                ADMIN_PROJECT,
                "--bootstrap-role-name",
                "admin",
                "--bootstrap-service-name",
                "keystone",
                "--bootstrap-region-id",
                region,
                *bootstrap_url_args(f"{url}/v3", interfaces),
            ],
            # The password travels in the environment, never on a command line or in a log.
            env={**os.environ, "OS_BOOTSTRAP_PASSWORD": admin_password},
            timeout_s=300,
        ),
        "keystone-manage bootstrap",
    )
    app = uwsgi.UwsgiApp(
        name=PROCESS_NAME,
        module="keystone.wsgi.api:application",
        port=ks_port,
        venv=venv,
        run_dir=base,
        log_path=base / "uwsgi.log",
        env={"OS_KEYSTONE_CONFIG_FILES": str(conf)},
    )
    record = uwsgi.start_app(lab_dir, app, health_path="/v3")
    clouds_yaml = lab_dir / "clouds.yaml"
    clouds_yaml.write_text(render_clouds_yaml(cloud, f"{url}/v3", admin_password, region))
    clouds_yaml.chmod(0o600)
    log.info("keystone up on %s in %.1fs", url, time.monotonic() - started)
    return Keystone(
        url=url,
        port=ks_port,
        pid=record.pid,
        region=region,
        cloud=cloud,
        clouds_yaml=clouds_yaml,
        admin_password=admin_password,
    )


def connect(keystone: Keystone) -> openstack.connection.Connection:
    """An openstacksdk connection as the lab admin, from the lab's clouds.yaml."""
    config = openstack.config.OpenStackConfig(config_files=[str(keystone.clouds_yaml)])
    return openstack.connection.Connection(config=config.get_one(keystone.cloud))


def register_services(
    keystone: Keystone,
    users: Sequence[ServiceUser],
    services: Sequence[CatalogService],
) -> None:
    """Create the ``service`` project, service users with their roles, and catalog entries.

    Idempotent: existing projects, users, role assignments, services and endpoints are kept, so
    adding cinder later is another call with just the new entries.
    """
    started = time.monotonic()
    conn = connect(keystone)
    identity = cast(IdentityV3, conn.identity)  # the lab Keystone only speaks v3
    domain = identity.find_domain("default", ignore_missing=False)
    project = identity.find_project(
        SERVICE_PROJECT, ignore_missing=True, domain_id=domain.id
    ) or identity.create_project(name=SERVICE_PROJECT, domain_id=domain.id, description="lab service accounts")
    roles = {role.name: role for role in identity.roles()}
    for user in users:
        existing = next(iter(identity.users(name=user.name, domain_id=domain.id)), None)
        account = existing or identity.create_user(
            name=user.name, password=user.password, domain_id=domain.id, default_project_id=project.id
        )
        if existing is not None:
            identity.update_user(account, password=user.password)
        for role_name in user.roles:
            if role_name not in roles:
                raise LabError(f"keystone has no role {role_name!r} for service user {user.name}")
            identity.assign_project_role_to_user(project, account, roles[role_name])
    for service in services:
        entry = identity.find_service(service.name, ignore_missing=True) or identity.create_service(
            name=service.name, type=service.type, enabled=True
        )
        present = {(e.interface, e.url) for e in identity.endpoints(service_id=entry.id, region_id=keystone.region)}
        for iface in service.interfaces:
            if (iface, service.url) not in present:
                identity.create_endpoint(
                    service_id=entry.id, interface=iface, url=service.url, region_id=keystone.region
                )
    conn.close()
    log.info(
        "keystone: %d service users, %d services registered in %.1fs",
        len(users),
        len(services),
        time.monotonic() - started,
    )


def stop_keystone(lab_dir: Path) -> None:
    processes.stop(lab_dir, PROCESS_NAME)
