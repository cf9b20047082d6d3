"""The lab's seed image: a small image in every store, broken on purpose by the ``image`` faults.

Faults such as "an image copy missing from one cluster" need an image to break. When one of them is
requested, the lab uploads a seed image to central, copies it to every DCN store through Glance, and
then changes the target cluster behind Glance's back, as an operator's ``rbd`` command would.
"""

from __future__ import annotations

from collections.abc import Mapping

from dcn_checks.lab.ceph import Cluster
from dcn_checks.lab.faults import Fault

SEED_IMAGE_NAME = "dcnchk-lab-seed"


def apply_image_faults(info: object, clusters: Mapping[str, Cluster], faults: tuple[Fault, ...]) -> None:
    """Create the seed image in every store, then apply each image fault to its site's cluster."""
    raise NotImplementedError("image faults are not implemented yet")
