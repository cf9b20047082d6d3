"""Decisions of the lab installer: what apt must install, where the venv lives, when it is current."""

from __future__ import annotations

from pathlib import Path

from dcn_checks.lab import install

DPKG_SAMPLE = "ceph-mon ii \nceph-osd ii \nqemu-utils rc \npostgresql iU \nceph-common:amd64 ii \n"


def test_parse_installed_packages_keeps_only_fully_installed() -> None:
    assert install.parse_installed_packages(DPKG_SAMPLE) == frozenset({"ceph-mon", "ceph-osd", "ceph-common"})


def test_missing_packages_keeps_requested_order() -> None:
    installed = install.parse_installed_packages(DPKG_SAMPLE)
    assert install.missing_packages(installed, ("qemu-utils", "ceph-mon", "postgresql")) == (
        "qemu-utils",
        "postgresql",
    )


def test_venv_dir_follows_xdg_cache_home_and_series() -> None:
    path = install.default_venv_dir({"XDG_CACHE_HOME": "/var/cache/x"})
    assert path == Path(f"/var/cache/x/dcn-checks/openstack-{install.SERIES}")


def test_marker_changes_when_a_pin_or_the_interpreter_changes() -> None:
    base = install.marker_content(install.OPENSTACK_PINS, "3.11.7")
    assert base == install.marker_content(tuple(reversed(install.OPENSTACK_PINS)), "3.11.7")
    assert base != install.marker_content((*install.OPENSTACK_PINS[:-1], "psycopg2-binary==2.9.99"), "3.11.7")
    assert base != install.marker_content(install.OPENSTACK_PINS, "3.11.2")


def test_pins_name_one_release_of_each_service() -> None:
    names = [pin.split("==")[0] for pin in install.OPENSTACK_PINS]
    assert len(names) == len(set(names))
    assert {"glance", "keystone", "cinder"} <= set(names)
    assert all("==" in pin for pin in install.OPENSTACK_PINS)
