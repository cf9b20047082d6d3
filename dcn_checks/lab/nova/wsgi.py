"""The model's WSGI entry point, for uwsgi: ``dcn_checks.lab.nova.wsgi:application``.

It reads, from the environment uwsgi passes (see ``service``), where the controller's nova.conf is,
where the lab's node roots are, which host dir holds a node's Ceph files, and the release whose Nova
it plays (what differs between releases' Nova is a fact of ``release.ReleaseProfile``). Everything
else comes from that nova.conf: the log file, the database (``[database] connection``), and the
``[keystone_authtoken]`` section keystonemiddleware reads through ``oslo_config_file``, as Nova's
own paste pipeline does. Version discovery (``/`` and ``/v2.1``) is served without a token.

Nova services register themselves when they start: nova-scheduler and nova-conductor on the API's
host, and one nova-compute per compute node found under the node roots.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dcn_checks.errors import LabError
from dcn_checks.lab.nova import rbd_backend
from dcn_checks.lab.nova.api import NovaApi, is_version_request, version_app
from dcn_checks.lab.nova.compute import Compute, ComputeNode, find_compute_nodes, utcnow
from dcn_checks.lab.nova.conf import parse_nova_conf
from dcn_checks.lab.nova.state import NovaState, database_path
from dcn_checks.release import get_profile

ENV_API_CONF = "DCN_LAB_NOVA_API_CONF"
ENV_NODES_DIR = "DCN_LAB_NODES_DIR"
ENV_CEPH_DIR = "DCN_LAB_CEPH_CONFIG_HOST_DIR"
ENV_RELEASE = "DCN_LAB_NOVA_RELEASE"
#: nova-compute's work runs in these threads (builds of several servers proceed side by side).
COMPUTE_WORKERS = 8

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def make_application(api_conf_path: Path, nodes_dir: Path, ceph_config_host_dir: str, release: str) -> WsgiApp:
    """Assemble the application: versions | keystonemiddleware -> NovaApi."""
    conf = parse_nova_conf(api_conf_path.read_text(encoding="utf-8"), str(api_conf_path))
    if conf.log_file:
        Path(conf.log_file).parent.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(
            filename=conf.log_file,
            level=logging.INFO,
            format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s",
        )
    if not conf.database_connection:
        raise LabError(f"{api_conf_path}: [database] connection is not set")
    state = NovaState(database_path(conf.database_connection))
    state.initialize()
    nodes = find_compute_nodes(nodes_dir, ceph_config_host_dir)
    now = utcnow()
    for binary in ("nova-scheduler", "nova-conductor"):
        state.register_service(binary, conf.host, now)
    for host in nodes:
        state.register_service("nova-compute", host, now)
    api = NovaApi(
        state=state,
        compute=Compute(state, nodes, get_profile(release)),
        conf=conf,
        executor=ThreadPoolExecutor(max_workers=COMPUTE_WORKERS, thread_name_prefix="nova-compute"),
    )
    # nova-compute connects to its cluster when it starts (update_available_resource); the model
    # learns each node's fsid then, so that the first boot does not pay for it.
    threading.Thread(target=_connect_nodes, args=(nodes,), name="nova-compute-init", daemon=True).start()
    auth_token = importlib.import_module("keystonemiddleware.auth_token")
    protected: WsgiApp = auth_token.AuthProtocol(
        api, {"oslo_config_project": "nova", "oslo_config_file": str(api_conf_path)}
    )

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_version_request(environ):
            return version_app(environ, start_response)
        return protected(environ, start_response)

    logging.getLogger(__name__).info("nova model up: %d compute node(s): %s", len(nodes), ", ".join(nodes))
    return application


def _connect_nodes(nodes: Mapping[str, ComputeNode]) -> None:
    for node in nodes.values():
        try:
            conf = node.conf()
            if conf.uses_rbd:
                rbd_backend.get_fsid(node.rbd_driver(conf))
        except LabError as err:
            logging.getLogger(__name__).warning("%s: cannot reach its cluster: %s", node.name, err)


def _from_environment() -> WsgiApp:
    try:
        return make_application(
            Path(os.environ[ENV_API_CONF]),
            Path(os.environ[ENV_NODES_DIR]),
            os.environ[ENV_CEPH_DIR],
            os.environ[ENV_RELEASE],
        )
    except KeyError as err:
        raise LabError(f"the Nova model needs {err.args[0]} in its environment") from None


application: WsgiApp | None = _from_environment() if ENV_API_CONF in os.environ else None
