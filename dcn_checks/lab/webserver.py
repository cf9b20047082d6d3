"""The lab's web server of images: a qcow2 file over HTTP on 127.0.0.1, for Glance's web-download import.

The source document imports cirros with ``glance image-create-via-import --import-method web-download
--uri http://download.cirros-cloud.net/...``; the lab has no network, so it serves a qcow2 of its own
(random data, so that no layer can skip zeroes) with Python's ``http.server``. Glance's import
filter lets web-download reach ports 80 and 443 only by default (``[import_filtering_opts]
allowed_ports``) and never a loopback address unless ``allowed_hosts`` names it; the lab adds its
server's port and 127.0.0.1 there, a lab-only deviation rendered into every glance-api.conf of the
lab (:class:`dcn_checks.lab.render_model.GlanceWiring`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.lab import nodes, ports, processes
from dcn_checks.lab.uwsgi import http_status

#: The file's name: the document's image, though the data is not cirros.
IMAGE_FILE = "cirros-0.4.0-x86_64-disk.img"
#: Virtual size of the image; what Glance's conversion to raw produces.
IMAGE_VIRTUAL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageServer:
    port: int
    url: str  # of the qcow2 image


def make_qcow2(directory: Path) -> Path:
    """Write ``directory/<IMAGE_FILE>``: a qcow2 of random data (``qemu-img convert -f raw -O qcow2``)."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / "image.raw"
    raw.write_bytes(os.urandom(IMAGE_VIRTUAL_BYTES))
    target = directory / IMAGE_FILE
    nodes.check(nodes.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(target)], timeout_s=60),
                "qemu-img convert")  # fmt: skip
    raw.unlink()
    return target


def start_image_server(lab_dir: Path, port: int) -> ImageServer:
    """Serve the lab's qcow2 image on ``127.0.0.1:port`` and wait until it answers."""
    directory = lab_dir / "http"
    image = make_qcow2(directory)
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(directory), str(port)]
    record = processes.start(lab_dir, "image-http", argv, log_path=lab_dir / "logs" / "image-http.log")
    url = f"http://127.0.0.1:{port}/{image.name}"
    processes.wait_for_process(
        record, lambda: http_status(url), lambda status: status == 200, timeout_s=30, description=f"{url} to answer"
    )
    return ImageServer(port, url)


def allocate_port() -> int:
    return ports.allocate_ports(1)[0]
