"""The model's database: servers, flavors, aggregates and services in one sqlite file in the lab dir.

Nova keeps these in its API and cell databases; the model keeps them in ``[database] connection``
of the controller's nova.conf (``sqlite:///<lab>/nova/nova.sqlite``), so the state survives a
restart of the API process and dies with the lab. Each record is a JSON document of its
``records`` value. Every call opens its own connection: the API serves from several threads and
nova-compute's work runs in others. ``update_server`` is a read-modify-write in one IMMEDIATE
transaction, so a build thread and a stop request never overwrite each other.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dcn_checks.errors import LabError
from dcn_checks.lab.nova.records import (
    Aggregate,
    ComputeService,
    Flavor,
    Server,
    aggregate_from_dict,
    flavor_from_dict,
    server_from_dict,
    server_to_dict,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flavors (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aggregates (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL,
                                       data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS services (id TEXT PRIMARY KEY, binary TEXT NOT NULL, host TEXT NOT NULL,
                                     data TEXT NOT NULL, UNIQUE (binary, host));
CREATE TABLE IF NOT EXISTS servers (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, data TEXT NOT NULL);
"""


class StateConflict(LabError):
    """A record with that name or ID exists already (the API answers 409)."""


class StateNotFound(LabError):
    """No such record (the API answers 404)."""


def database_path(connection: str) -> Path:
    """The file of an ``sqlite:///<absolute path>`` URL, e.g. ``sqlite:////tmp/lab/nova/nova.sqlite``."""
    prefix = "sqlite:///"
    if not connection.startswith(prefix):
        raise LabError(f"the Nova model keeps its state in sqlite; [database] connection is {connection.split(':')[0]}")
    return Path(connection[len(prefix) :])


class NovaState:
    """Access to the model's sqlite database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if write:
                connection.execute("BEGIN IMMEDIATE")
            yield connection
            if write:
                connection.execute("COMMIT")
        except BaseException:
            if write and connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def initialize(self) -> None:
        """Create the tables (idempotent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    # --- flavors ----------------------------------------------------------------------------------

    def create_flavor(self, flavor: Flavor) -> Flavor:
        try:
            with self._connect(write=True) as connection:
                connection.execute(
                    "INSERT INTO flavors (id, name, data) VALUES (?, ?, ?)",
                    (flavor.id, flavor.name, json.dumps(dataclasses.asdict(flavor))),
                )
        except sqlite3.IntegrityError:
            raise StateConflict(f"Flavor with name {flavor.name} already exists.") from None
        return flavor

    def flavors(self) -> list[Flavor]:
        with self._connect() as connection:
            rows = connection.execute("SELECT data FROM flavors ORDER BY rowid").fetchall()
        return [flavor_from_dict(json.loads(row[0])) for row in rows]

    def get_flavor(self, flavor_id: str) -> Flavor:
        with self._connect() as connection:
            row = connection.execute("SELECT data FROM flavors WHERE id = ?", (flavor_id,)).fetchone()
        if row is None:
            raise StateNotFound(f"Flavor {flavor_id} could not be found.")
        return flavor_from_dict(json.loads(row[0]))

    def delete_flavor(self, flavor_id: str) -> None:
        with self._connect(write=True) as connection:
            deleted = connection.execute("DELETE FROM flavors WHERE id = ?", (flavor_id,)).rowcount
        if not deleted:
            raise StateNotFound(f"Flavor {flavor_id} could not be found.")

    # --- aggregates -------------------------------------------------------------------------------

    def create_aggregate(self, name: str, availability_zone: str | None, now: str) -> Aggregate:
        metadata = {"availability_zone": availability_zone} if availability_zone else {}
        try:
            with self._connect(write=True) as connection:
                cursor = connection.execute("INSERT INTO aggregates (name, data) VALUES (?, '{}')", (name,))
                aggregate = Aggregate(
                    id=int(cursor.lastrowid or 0),
                    uuid=str(uuid.uuid4()),
                    name=name,
                    availability_zone=availability_zone,
                    hosts=(),
                    metadata=metadata,
                    created_at=now,
                )
                connection.execute(
                    "UPDATE aggregates SET data = ? WHERE id = ?",
                    (json.dumps(dataclasses.asdict(aggregate)), aggregate.id),
                )
        except sqlite3.IntegrityError:
            raise StateConflict(f"Aggregate {name} already exists.") from None
        return aggregate

    def aggregates(self) -> list[Aggregate]:
        with self._connect() as connection:
            rows = connection.execute("SELECT data FROM aggregates ORDER BY id").fetchall()
        return [aggregate_from_dict(json.loads(row[0])) for row in rows]

    def get_aggregate(self, aggregate_id: int) -> Aggregate:
        with self._connect() as connection:
            row = connection.execute("SELECT data FROM aggregates WHERE id = ?", (aggregate_id,)).fetchone()
        if row is None:
            raise StateNotFound(f"Aggregate {aggregate_id} could not be found.")
        return aggregate_from_dict(json.loads(row[0]))

    def save_aggregate(self, aggregate: Aggregate) -> Aggregate:
        with self._connect(write=True) as connection:
            connection.execute(
                "UPDATE aggregates SET name = ?, data = ? WHERE id = ?",
                (aggregate.name, json.dumps(dataclasses.asdict(aggregate)), aggregate.id),
            )
        return aggregate

    def delete_aggregate(self, aggregate_id: int) -> None:
        with self._connect(write=True) as connection:
            deleted = connection.execute("DELETE FROM aggregates WHERE id = ?", (aggregate_id,)).rowcount
        if not deleted:
            raise StateNotFound(f"Aggregate {aggregate_id} could not be found.")

    # --- services ---------------------------------------------------------------------------------

    def register_service(self, binary: str, host: str, now: str) -> ComputeService:
        """Record that ``binary`` runs on ``host`` (as a Nova service does at start), keeping its ID."""
        with self._connect(write=True) as connection:
            row = connection.execute(
                "SELECT data FROM services WHERE binary = ? AND host = ?", (binary, host)
            ).fetchone()
            if row is None:
                service = ComputeService(id=str(uuid.uuid4()), binary=binary, host=host, updated_at=now)
            else:
                service = dataclasses.replace(ComputeService(**json.loads(row[0])), updated_at=now)
            connection.execute(
                "INSERT OR REPLACE INTO services (id, binary, host, data) VALUES (?, ?, ?, ?)",
                (service.id, binary, host, json.dumps(dataclasses.asdict(service))),
            )
        return service

    def services(self) -> list[ComputeService]:
        with self._connect() as connection:
            rows = connection.execute("SELECT data FROM services ORDER BY rowid").fetchall()
        return [ComputeService(**json.loads(row[0])) for row in rows]

    def compute_hosts(self) -> list[str]:
        """Hosts of the enabled nova-compute services: what the scheduler may pick from."""
        return [s.host for s in self.services() if s.binary == "nova-compute" and s.status == "enabled"]

    # --- servers ----------------------------------------------------------------------------------

    def add_server(self, server: Server) -> Server:
        with self._connect(write=True) as connection:
            connection.execute(
                "INSERT INTO servers (id, project_id, data) VALUES (?, ?, ?)",
                (server.id, server.project_id, json.dumps(server_to_dict(server))),
            )
        return server

    def get_server(self, server_id: str) -> Server:
        with self._connect() as connection:
            row = connection.execute("SELECT data FROM servers WHERE id = ?", (server_id,)).fetchone()
        if row is None:
            raise StateNotFound(f"Instance {server_id} could not be found.")
        return server_from_dict(json.loads(row[0]))

    def servers(self, project_id: str | None = None) -> list[Server]:
        """All servers, or those of ``project_id``, oldest first."""
        with self._connect() as connection:
            if project_id is None:
                rows = connection.execute("SELECT data FROM servers ORDER BY rowid").fetchall()
            else:
                rows = connection.execute(
                    "SELECT data FROM servers WHERE project_id = ? ORDER BY rowid", (project_id,)
                ).fetchall()
        return [server_from_dict(json.loads(row[0])) for row in rows]

    def update_server(self, server_id: str, change: Callable[[Server], Server]) -> Server:
        """Apply ``change`` to the stored server in one transaction and return the new value."""
        with self._connect(write=True) as connection:
            row = connection.execute("SELECT data FROM servers WHERE id = ?", (server_id,)).fetchone()
            if row is None:
                raise StateNotFound(f"Instance {server_id} could not be found.")
            server = change(server_from_dict(json.loads(row[0])))
            connection.execute(
                "UPDATE servers SET data = ? WHERE id = ?", (json.dumps(server_to_dict(server)), server_id)
            )
        return server

    def delete_server(self, server_id: str) -> None:
        with self._connect(write=True) as connection:
            connection.execute("DELETE FROM servers WHERE id = ?", (server_id,))
