"""Parsers of ceph.conf, keyrings, ``ceph auth get`` and caps, over output captured from Ceph 16.2.15.

Captures in ``tests/data/{ceph,cephconf,keyring}/`` come from a throwaway one-mon, one-OSD cluster;
every key in them was replaced by the public documentation's example key. ``labnotes-*`` files are the
verbatim outputs of ceph-lab-notes.md §3. The ceph.conf semantics cases record what ``ceph-conf -c <file>
--name client.admin --lookup <option>`` printed for the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dcn_checks import cephconf
from dcn_checks.cephconf import AuthEntity, CapDifference, Caps, MonAddr, MonHost
from dcn_checks.cephx import EXTERNAL_CAPS, Secret
from dcn_checks.errors import ParseError

DATA = Path(__file__).parent / "data"
FAKE_KEY = "AQD29WteAAAAABAAphgOjFD7nyjdYe8Lz0mQ5Q=="
FSID = "884763fc-9229-44c3-88e6-b7872f9209b9"
EXTERNAL = Caps(
    mon="profile rbd",
    osd="profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images",
    mgr="allow *",
)
WRONG = Caps(mon="allow r", osd="profile rbd pool=vms, profile rbd pool=images")
LOCAL_MON = MonHost((MonAddr("127.0.0.1", 3390, "v2"), MonAddr("127.0.0.1", 6790, "v1")))


def read(path: str) -> str:
    return (DATA / path).read_text()


# --- ceph.conf ----------------------------------------------------------------------------------------

TRIPLEO_STYLE = """\
# Ansible managed
[global]
fsid = 11111111-2222-3333-4444-555555555555
mon_host = 172.16.11.84, 172.16.11.87  # inline comment
\tauth_client_required = cephx
; a semicolon comment
[client]
keyring = /etc/ceph/dcn0.client.openstack.keyring
[client.libvirt]
admin socket = /var/run/ceph/$cluster-$type.$id.$pid.$cctid.asok
"""


@pytest.mark.parametrize(
    ("text", "fsid", "mon_hosts", "keyring"),
    [
        pytest.param(read("cephconf/clientside.conf"), FSID, (LOCAL_MON,), None, id="clientside"),
        pytest.param(
            read("cephconf/server.conf"), FSID, (LOCAL_MON,), "/tmp/lab/capt/$cluster.$name.keyring", id="server-tabs"
        ),
        pytest.param(
            TRIPLEO_STYLE,
            "11111111-2222-3333-4444-555555555555",
            (MonHost((MonAddr("172.16.11.84"),)), MonHost((MonAddr("172.16.11.87"),))),
            "/etc/ceph/dcn0.client.openstack.keyring",
            id="tripleo-style",
        ),
        pytest.param("[global]\nfsid = x\n", "x", (), None, id="no-mon-host"),
    ],
)
def test_parse_ceph_conf_reads_fsid_mon_host_and_keyring(
    text: str, fsid: str, mon_hosts: tuple[MonHost, ...], keyring: str | None
) -> None:
    conf = cephconf.parse_ceph_conf(text)
    assert (conf.fsid, conf.mon_hosts, conf.keyring) == (fsid, mon_hosts, keyring)


@pytest.mark.parametrize(
    ("text", "option", "entity", "expected"),
    [
        pytest.param("[global]\n  fsid=aaaa\n", "fsid", "client.admin", "aaaa", id="no-spaces-around-equals"),
        pytest.param("[global]\nmon host = a\nmon_host = b\n", "mon_host", "client.admin", "b", id="last-wins"),
        pytest.param("[global]\nmon_host = a\nmon host = b\n", "mon host", "client.admin", "b", id="last-wins-too"),
        pytest.param("[global]\nmon  host = a\n", "mon_host", "client.admin", "a", id="double-space"),
        pytest.param("[global]\nmon\thost = a\n", "mon_host", "client.admin", "a", id="tab-in-name"),
        pytest.param("[global]\nmon__host = a\n", "mon_host", "client.admin", None, id="double-underscore-differs"),
        pytest.param("[global]\nMon Host = a\n", "mon_host", "client.admin", None, id="case-sensitive-name"),
        pytest.param("[Global]\nfsid = a\n", "fsid", "client.admin", None, id="case-sensitive-section"),
        pytest.param("[global] # c\nfsid = a\n", "fsid", "client.admin", "a", id="comment-after-section"),
        pytest.param("[global]\nfsid = a ; c\n", "fsid", "client.admin", "a", id="semicolon-comment"),
        pytest.param("[global]\nfsid = a#b\n", "fsid", "client.admin", "a", id="hash-without-space"),
        pytest.param("[global]\nfsid = a \\#b\n", "fsid", "client.admin", "a #b", id="escaped-hash"),
        pytest.param('[global]\nfsid = "q" # c\n', "fsid", "client.admin", "q", id="quoted"),
        pytest.param("[global]\nfsid = a\\\n  b\n", "fsid", "client.admin", "a  b", id="continued-line"),
        pytest.param("[global]\nfsid=\n", "fsid", "client.admin", "", id="empty-value"),
        pytest.param("[global]\nfsid = g\n[client]\nfsid = c\n", "fsid", "client.admin", "c", id="client-over-global"),
        pytest.param("[client]\nk = c\n[client.admin]\nk = a\n", "k", "client.admin", "a", id="entity-over-client"),
        pytest.param(
            TRIPLEO_STYLE, "keyring", "client.libvirt", "/etc/ceph/dcn0.client.openstack.keyring", id="inherit"
        ),
    ],
)
def test_ceph_conf_lookup_agrees_with_ceph_conf_tool(text: str, option: str, entity: str, expected: str | None) -> None:
    assert cephconf.parse_ceph_conf(text).get(option, entity) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[global]\njunk line\n", "line 2: 'junk line' is not", id="junk-line"),
        pytest.param("fsid = x\n[global]\n", "line 1: 'fsid' comes before any", id="option-before-section"),
        pytest.param('[global]\nfsid = "x # y\n', "line 2: quoted value", id="unclosed-quote"),
        pytest.param("[global]\nmon host = [v2:1.2.3.4:3300\n", "unbalanced", id="unbalanced-mon-host"),
    ],
)
def test_parse_ceph_conf_names_the_bad_line(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        cephconf.parse_ceph_conf(text, source="dcn0.conf")


def test_ceph_conf_repr_hides_options_that_may_hold_a_key() -> None:
    conf = cephconf.parse_ceph_conf(f"[global]\nfsid = x\n[client.external]\nkey = {FAKE_KEY}\n")
    assert conf.get("key", "client.external") == FAKE_KEY
    assert FAKE_KEY not in repr(conf)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("172.16.11.84, 172.16.11.87", [["172.16.11.84"], ["172.16.11.87"]], id="tripleo-ips"),
        pytest.param("10.0.0.1;10.0.0.2 10.0.0.3", [["10.0.0.1"], ["10.0.0.2"], ["10.0.0.3"]], id="mixed-separators"),
        pytest.param(
            "[v2:127.0.0.1:3300,v1:127.0.0.1:6789]", [["v2:127.0.0.1:3300", "v1:127.0.0.1:6789"]], id="vector"
        ),
        pytest.param(
            "[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0] [v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]",
            [["v2:10.0.0.1:3300", "v1:10.0.0.1:6789"], ["v2:10.0.0.2:3300", "v1:10.0.0.2:6789"]],
            id="two-vectors-with-nonce",
        ),
        pytest.param("v2:10.0.0.1:3300,v2:10.0.0.2:3300", [["v2:10.0.0.1:3300"], ["v2:10.0.0.2:3300"]], id="v2-list"),
        pytest.param("10.0.0.1:6789,10.0.0.2:6789", [["10.0.0.1:6789"], ["10.0.0.2:6789"]], id="host-port"),
        pytest.param(
            "[v2:[fd00::1]:3300,v1:[fd00::1]:6789]", [["v2:fd00::1:3300", "v1:fd00::1:6789"]], id="ipv6-vector"
        ),
        pytest.param("[fd00::1]:6789, fd00::2", [["fd00::1:6789"], ["fd00::2"]], id="ipv6-bare"),
        pytest.param("mon1.example.com", [["mon1.example.com"]], id="hostname"),
    ],
)
def test_parse_mon_host_reads_every_documented_form(value: str, expected: list[list[str]]) -> None:
    def show(addr: MonAddr) -> str:
        return (f"{addr.msgr}:" if addr.msgr else "") + addr.host + (f":{addr.port}" if addr.port else "")

    assert [[show(a) for a in mon.addrs] for mon in cephconf.parse_mon_host(value)] == expected


@pytest.mark.parametrize("value", ["", " , ", "10.0.0.1:port", "10.0.0.1:70000", "[fd00::1]x", "[v2:1.2.3.4:3300"])
def test_parse_mon_host_rejects_malformed_value(value: str) -> None:
    with pytest.raises(ParseError):
        cephconf.parse_mon_host(value)


# --- keyrings, auth, caps ----------------------------------------------------------------------------

ADMIN = Caps(mon="allow *", osd="allow *", mgr="allow *", mds="allow *")


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("keyring/external-key-only.keyring", [("client.external", Caps())], id="clientside-key-only"),
        pytest.param("keyring/external-with-caps.keyring", [("client.external", EXTERNAL)], id="authtool-with-caps"),
        pytest.param("keyring/wrongcaps.keyring", [("client.wrongcaps", Caps())], id="get-or-create"),
        pytest.param(
            "keyring/mon-and-admin.keyring",
            [("mon.", Caps(mon="allow *")), ("client.admin", ADMIN)],
            id="two-entities",
        ),
        pytest.param("ceph/auth-get-external.txt", [("client.external", EXTERNAL)], id="auth-get-text"),
        pytest.param("ceph/auth-get-wrongcaps.txt", [("client.wrongcaps", WRONG)], id="auth-get-wrong-caps-text"),
        pytest.param("ceph/labnotes-auth-get-external.txt", [("client.external", EXTERNAL)], id="labnotes-text"),
    ],
)
def test_parse_keyring_reads_entities_keys_and_caps(capture: str, expected: list[tuple[str, Caps]]) -> None:
    entities = cephconf.parse_keyring(read(capture))
    assert [(e.entity, e.caps) for e in entities] == expected
    assert all(e.key == Secret(FAKE_KEY) for e in entities)
    assert FAKE_KEY not in repr(entities) and FAKE_KEY not in str(entities)


@pytest.mark.parametrize(
    ("json_capture", "text_capture", "expected"),
    [
        pytest.param("auth-get-external.json", "auth-get-external.txt", EXTERNAL, id="external"),
        pytest.param("auth-get-external-pretty.json", "auth-get-external.txt", EXTERNAL, id="external-pretty"),
        pytest.param("auth-get-wrongcaps.json", "auth-get-wrongcaps.txt", WRONG, id="wrong-caps"),
        pytest.param("labnotes-auth-get-external.json", "labnotes-auth-get-external.txt", EXTERNAL, id="labnotes"),
    ],
)
def test_parse_auth_get_agrees_with_text_form(json_capture: str, text_capture: str, expected: Caps) -> None:
    from_json = cephconf.parse_auth_get(read(f"ceph/{json_capture}"))
    assert read(f"ceph/{json_capture}").startswith("\n")  # what Pacific prints
    assert [e.caps for e in from_json] == [expected]
    assert from_json == cephconf.parse_keyring(read(f"ceph/{text_capture}"))
    assert cephconf.find_entity(from_json, from_json[0].entity) == from_json[0]


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        pytest.param(cephconf.parse_auth_get, "\n", "not JSON", id="auth-get-enoent-prints-only-newline"),
        pytest.param(cephconf.parse_auth_get, '[{"entity":"client.x","caps":{}}]', "'key'", id="no-key"),
        pytest.param(
            cephconf.parse_auth_get,
            f'[{{"entity":"client.x","key":"{FAKE_KEY}","caps":{{"rgw":"x"}}}}]',
            "caps",
            id="bad-service",
        ),
        pytest.param(
            cephconf.parse_keyring,
            '[client.x]\n\tcaps mon = "allow r"\n',
            r"\[client.x\] has no key",
            id="keyring-no-key",
        ),
    ],
)
def test_auth_parsers_reject_malformed_input(parse: Callable[[str], object], text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_auth_entity_repr_never_shows_the_key() -> None:
    entity = AuthEntity("client.external", Secret(FAKE_KEY), EXTERNAL)
    assert "Secret" not in repr(entity) and FAKE_KEY not in repr(entity)
    assert repr(entity.key) == "Secret('****')"


@pytest.mark.parametrize(
    ("cap", "expected"),
    [
        pytest.param(
            "profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images",
            {"profile rbd pool=vms", "profile rbd pool=volumes", "profile rbd pool=images"},
            id="documented-osd-cap",
        ),
        pytest.param(
            "profile rbd pool=images,profile  rbd pool = vms;profile rbd pool volumes",
            {"profile rbd pool=vms", "profile rbd pool=volumes", "profile rbd pool=images"},
            id="spacing-separators-and-pool-without-equals",
        ),
        pytest.param('allow rwx pool="my pool"', {"allow rwx pool=my pool"}, id="quoted-pool"),
        pytest.param("allow *", {"allow *"}, id="allow-all"),
        pytest.param("", set(), id="empty"),
    ],
)
def test_parse_cap_grants_gives_canonical_grants(cap: str, expected: set[str]) -> None:
    assert cephconf.parse_cap_grants(cap) == expected


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        pytest.param(EXTERNAL, [], id="documented-caps"),
        pytest.param(
            Caps(
                mon="profile rbd",
                osd="profile rbd pool=images,profile rbd pool=vms,profile rbd pool=volumes",
                mgr="allow  *",
            ),
            [],
            id="reordered-and-respaced",
        ),
        pytest.param(
            WRONG,
            [
                CapDifference("mon", missing=frozenset({"profile rbd"}), extra=frozenset({"allow r"})),
                CapDifference("osd", missing=frozenset({"profile rbd pool=volumes"}), extra=frozenset()),
                CapDifference("mgr", missing=frozenset({"allow *"}), extra=frozenset()),
            ],
            id="wrong-caps-from-lab",
        ),
        pytest.param(
            Caps(
                mon="profile rbd",
                osd="profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images",
                mgr="allow *",
                mds="allow",
            ),
            [CapDifference("mds", missing=frozenset(), extra=frozenset({"allow"}))],
            id="extra-service",
        ),
    ],
)
def test_diff_caps_compares_grants_as_sets(actual: Caps, expected: list[CapDifference]) -> None:
    assert cephconf.diff_caps(actual, EXTERNAL_CAPS) == tuple(expected)
    assert cephconf.diff_caps(actual.as_dict(), EXTERNAL) == tuple(expected)


# --- judging a client's files and caps -----------------------------------------------------------------


def test_describe_cap_differences_names_missing_and_extra_grants() -> None:
    text = cephconf.describe_cap_differences(cephconf.diff_caps(WRONG, EXTERNAL))
    assert text == (
        "mon lacks 'profile rbd'; mon has 'allow r' beyond; osd lacks 'profile rbd pool=volumes'; mgr lacks 'allow *'"
    )


@pytest.mark.parametrize(
    ("osd", "left"),
    [
        pytest.param(EXTERNAL.osd + ", profile rbd pool=backups", (), id="backups-forgiven"),
        pytest.param(EXTERNAL.osd + ", allow *", (CapDifference("osd", frozenset(), frozenset({"allow *"})),),
                     id="wider-grant-kept"),
        pytest.param("profile rbd pool=vms, profile rbd pool=volumes",
                     (CapDifference("osd", frozenset({"profile rbd pool=images"}), frozenset()),), id="missing-kept"),
    ],
)  # fmt: skip
def test_drop_extra_rbd_pools_forgives_only_extra_rbd_pool_grants(osd: str, left: tuple[CapDifference, ...]) -> None:
    actual = Caps(mon=EXTERNAL.mon, osd=osd, mgr=EXTERNAL.mgr)
    assert cephconf.drop_extra_rbd_pools(cephconf.diff_caps(actual, EXTERNAL)) == left


@pytest.mark.parametrize(
    ("osd", "writable"),
    [
        pytest.param(EXTERNAL.osd, True, id="documented"),
        pytest.param("profile rbd pool=vms, profile rbd pool=volumes, profile rbd-read-only pool=images", False,
                     id="read-only-images"),
        pytest.param("profile rbd", True, id="every-pool"),
        pytest.param("allow rwx pool=images", True, id="allow-rwx"),
        pytest.param("allow r pool=images", False, id="allow-r"),
        pytest.param("allow *", True, id="allow-star"),
        pytest.param("profile rbd pool=images namespace=ns1", False, id="namespace-only"),
        pytest.param("profile rbd pool=vms", False, id="other-pool"),
        pytest.param("", False, id="no-osd-caps"),
    ],
)  # fmt: skip
def test_may_write_pool_reads_profile_and_allow_grants(osd: str, writable: bool) -> None:
    assert cephconf.may_write_pool(Caps(osd=osd or None), "images") is writable


EXPECTED_KEYRING = "/etc/ceph/central.client.external.keyring"


@pytest.mark.parametrize(
    ("client_section", "required", "problem"),
    [
        pytest.param(f"keyring = {EXPECTED_KEYRING}\n", True, None, id="external-with-override"),
        pytest.param("", True, "no [client] keyring", id="external-without-override"),
        pytest.param("", False, None, id="own-cluster-without-override"),
        pytest.param("keyring = /etc/ceph/dcn0.client.openstack.keyring\n", False,
                     "[client] keyring = /etc/ceph/dcn0.client.openstack.keyring", id="another-keyring"),
    ],
)  # fmt: skip
def test_find_keyring_option_problem(client_section: str, required: bool, problem: str | None) -> None:
    conf = cephconf.parse_ceph_conf(f"[global]\nfsid = {FSID}\n[client]\n{client_section}")
    assert cephconf.find_keyring_option_problem(conf, EXPECTED_KEYRING, required=required) == problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(TRIPLEO_STYLE + "log file = /var/log/ceph/qemu-guest-$pid.log\n", None, id="complete"),
        pytest.param(TRIPLEO_STYLE, "[client.libvirt] without log file", id="no-log-file"),
        pytest.param(read("cephconf/clientside.conf"), "no [client.libvirt] section", id="no-section"),
    ],
)
def test_find_libvirt_section_problem(text: str, problem: str | None) -> None:
    assert cephconf.find_libvirt_section_problem(cephconf.parse_ceph_conf(text)) == problem


def test_keyring_name_is_the_one_ceph_looks_for() -> None:
    assert cephconf.keyring_name("central", "client.external") == "central.client.external.keyring"
    assert cephconf.conf_name("dcn0") == "dcn0.conf"
