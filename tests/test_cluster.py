"""Parsers of what a cluster says (health, monmap, OSDs, pools), over output captured from Ceph 16.2.15.

Captures in ``tests/data/ceph/`` come from a throwaway one-mon, one-OSD cluster (see ``test_cephconf``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dcn_checks import cephconf, cluster
from dcn_checks.cephconf import MonAddr, MonHost
from dcn_checks.cluster import Health, HealthCheck, OsdStat, Pool
from dcn_checks.errors import ParseError

DATA = Path(__file__).parent / "data"
FSID = "884763fc-9229-44c3-88e6-b7872f9209b9"
LOCAL_MON = MonHost((MonAddr("127.0.0.1", 3390, "v2"), MonAddr("127.0.0.1", 6790, "v1")))


def read(path: str) -> str:
    return (DATA / path).read_text()


NOOUT = HealthCheck("OSDMAP_FLAGS", "HEALTH_WARN", "noout flag(s) set")
OSD_DOWN = (
    HealthCheck("OSD_DOWN", "HEALTH_WARN", "1 osds down", ("osd.0 (root=default,host=vm) is down",)),
    HealthCheck("OSD_HOST_DOWN", "HEALTH_WARN", "1 host (1 osds) down", ("host vm (root=default) (1 osds) is down",)),
    HealthCheck("OSD_ROOT_DOWN", "HEALTH_WARN", "1 root (1 osds) down", ("root default (1 osds) is down",)),
)
OSD_DOWN_SUMMARY = tuple(HealthCheck(c.code, c.severity, c.summary) for c in OSD_DOWN)
MUTED_NOOUT = HealthCheck("OSDMAP_FLAGS", "HEALTH_WARN", "noout flag(s) set", muted=True)


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("health-ok-unmuted.json", Health("HEALTH_OK", (), ()), id="ok"),
        pytest.param("health-muted.json", Health("HEALTH_OK", (), ("MGR_DOWN",)), id="ok-muted-mgr-down"),
        pytest.param("health-detail-muted.json", Health("HEALTH_OK", (), ("MGR_DOWN",)), id="detail-ok-muted"),
        pytest.param("s-muted.json", Health("HEALTH_OK", (), ("MGR_DOWN",)), id="status-ok-muted"),
        pytest.param("health-warn.json", Health("HEALTH_WARN", (NOOUT,), ("MGR_DOWN",)), id="warn-noout"),
        pytest.param("health-detail-warn.json", Health("HEALTH_WARN", (NOOUT,), ("MGR_DOWN",)), id="detail-warn"),
        pytest.param("s-warn.json", Health("HEALTH_WARN", (NOOUT,), ("MGR_DOWN",)), id="status-warn"),
        pytest.param("health-detail-osd-down.json", Health("HEALTH_WARN", OSD_DOWN, ()), id="detail-osd-down"),
        pytest.param("s-osd-down.json", Health("HEALTH_WARN", OSD_DOWN_SUMMARY, ()), id="status-osd-down"),
        pytest.param(
            "health-two-mutes.json",
            Health("HEALTH_OK", (MUTED_NOOUT,), ("MGR_DOWN", "OSDMAP_FLAGS")),
            id="muted-check-still-listed",
        ),
    ],
)
def test_parse_health_reads_status_checks_and_mutes(capture: str, expected: Health) -> None:
    assert cluster.parse_health(read(f"ceph/{capture}")) == expected


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("health-ok-unmuted.txt", Health("HEALTH_OK", (), ()), id="ok"),
        pytest.param("health-muted.txt", Health("HEALTH_OK", (), ("MGR_DOWN",)), id="ok-muted-mgr-down"),
        pytest.param("health-detail-muted.txt", Health("HEALTH_OK", (), ("MGR_DOWN",)), id="detail-ok-muted"),
        pytest.param(
            "health-warn.txt",
            Health("HEALTH_WARN", (HealthCheck(None, "HEALTH_WARN", "noout flag(s) set"),), ("MGR_DOWN",)),
            id="warn-without-codes",
        ),
        pytest.param("health-detail-warn.txt", Health("HEALTH_WARN", (NOOUT,), ("MGR_DOWN",)), id="detail-warn"),
        pytest.param(
            "health-osd-down.txt",
            Health("HEALTH_WARN", tuple(HealthCheck(None, c.severity, c.summary) for c in OSD_DOWN), ()),
            id="osd-down-without-codes",
        ),
        pytest.param("health-detail-osd-down.txt", Health("HEALTH_WARN", OSD_DOWN, ()), id="detail-osd-down"),
        pytest.param("health-two-mutes.txt", Health("HEALTH_OK", (), ("MGR_DOWN", "OSDMAP_FLAGS")), id="mute-with-ttl"),
        pytest.param(
            "health-detail-two-mutes.txt",
            Health("HEALTH_OK", (MUTED_NOOUT,), ("MGR_DOWN", "OSDMAP_FLAGS")),
            id="detail-muted-check",
        ),
    ],
)
def test_parse_health_text_copes_with_muted_suffix(capture: str, expected: Health) -> None:
    assert cluster.parse_health_text(read(f"ceph/{capture}")) == expected


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        pytest.param(cluster.parse_health_text, "", "status '' is not one of", id="empty-text"),
        pytest.param(cluster.parse_health_text, "HEALTH_MAYBE", "'HEALTH_MAYBE'", id="unknown-status"),
        pytest.param(cluster.parse_health_text, "HEALTH_WARN x\nsurprise\n", "unexpected line", id="stray-line"),
        pytest.param(cluster.parse_health, '{"checks":{}}', "'status'", id="json-without-status"),
        pytest.param(
            cluster.parse_health,
            '{"status":"HEALTH_WARN","checks":{"X":{"severity":"HEALTH_OK","summary":{"message":"m"}}}}',
            "severity 'HEALTH_OK'",
            id="check-with-ok-severity",
        ),
    ],
)
def test_health_parsers_reject_malformed_input(parse: Callable[[str], object], text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_parse_mon_dump_reads_fsid_and_mon_addresses() -> None:
    monmap = cluster.parse_mon_dump(read("ceph/mon-dump.json"))
    assert (monmap.fsid, monmap.epoch, monmap.quorum) == (FSID, 1, (0,))
    assert [(m.rank, m.name, MonHost(m.addrs)) for m in monmap.mons] == [(0, "a", LOCAL_MON)]
    assert monmap.mon_ips == cephconf.parse_ceph_conf(read("cephconf/clientside.conf")).mon_ips


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("osd-stat.json", OsdStat(1, 1, 1), id="stat-up-in"),
        pytest.param("osd-stat-out.json", OsdStat(1, 1, 0), id="stat-out"),
        pytest.param("osd-stat-down.json", OsdStat(1, 0, 1), id="stat-down"),
        pytest.param("s-muted.json", OsdStat(1, 1, 1), id="status"),
        pytest.param("s-osd-down.json", OsdStat(1, 0, 1), id="status-osd-down"),
        pytest.param("osd-dump.json", OsdStat(1, 1, 1), id="osd-dump"),
    ],
)
def test_parse_osd_stat_counts_up_and_in_osds(capture: str, expected: OsdStat) -> None:
    assert cluster.parse_osd_stat(read(f"ceph/{capture}")) == expected


def test_parse_osd_stat_reads_nested_osdmap_of_older_status() -> None:
    # Octopus' `ceph -s -f json` nested the counts one level deeper: {"osdmap": {"osdmap": {...}}}.
    nested = '{"osdmap":{"osdmap":{"epoch":9,"num_osds":3,"num_up_osds":3,"num_in_osds":2}}}'
    assert cluster.parse_osd_stat(nested) == OsdStat(3, 3, 2)


RBD_POOLS = [
    Pool(1, "images", "replicated", 1, 8, frozenset({"rbd"})),
    Pool(2, "vms", "replicated", 1, 8, frozenset({"rbd"})),
    Pool(3, "volumes", "replicated", 1, 8, frozenset({"rbd"})),
]


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        pytest.param("osd-pool-ls-detail.json", RBD_POOLS, id="pool-ls-detail"),
        pytest.param(
            "osd-pool-ls-detail-no-app.json",
            [*RBD_POOLS, Pool(4, "backups", "replicated", 1, 8, frozenset())],
            id="pool-without-application",
        ),
        pytest.param("osd-dump.json", RBD_POOLS, id="osd-dump"),
    ],
)
def test_parse_pools_reads_names_and_applications(capture: str, expected: list[Pool]) -> None:
    pools = cluster.parse_pools(read(f"ceph/{capture}"))
    assert pools == tuple(expected)
    assert cluster.find_pool(pools, "vms") == RBD_POOLS[1]


@pytest.mark.parametrize(
    ("parse", "capture"),
    [
        pytest.param(cluster.parse_mon_dump, "mon-dump.txt", id="mon-dump"),
        pytest.param(cluster.parse_osd_stat, "osd-stat.txt", id="osd-stat"),
        pytest.param(cluster.parse_osd_stat, "osd-stat-down.txt", id="osd-stat-down"),
        pytest.param(cluster.parse_pools, "osd-pool-ls-detail.txt", id="pool-ls-detail"),
        pytest.param(cluster.parse_health, "s-muted.txt", id="status"),
    ],
)
def test_cluster_state_parsers_refuse_text_form_clearly(parse: Callable[[str], object], capture: str) -> None:
    with pytest.raises(ParseError, match="output is not JSON"):
        parse(read(f"ceph/{capture}"))


# --- judging the cluster ---------------------------------------------------------------------------

MON_DOWN = cluster.parse_mon_dump(read("ceph/mon-dump-mon-down.json"))  # mons a, b and c (never started)
ONE_MON = cluster.parse_mon_dump(read("ceph/mon-dump.json"))  # mon a on v2 3390, v1 6790


@pytest.mark.parametrize(
    ("mon_host", "unknown", "missing"),
    [
        pytest.param("[v2:127.0.0.1:3390,v1:127.0.0.1:6790]", (), (), id="same-vector"),
        pytest.param("v1:127.0.0.1:6790", (), (), id="v1-only-entry-reaches-the-mon"),
        pytest.param("127.0.0.1:3390", (), (), id="bare-port-entry"),
        pytest.param("[v2:127.0.0.1:3301,v1:127.0.0.1:6791]", ("v2:127.0.0.1:3301,v1:127.0.0.1:6791",), ("mon.a",),
                     id="other-clusters-mon"),
        pytest.param("127.0.0.1", ("127.0.0.1",), ("mon.a",), id="default-ports-are-not-the-mons-ports"),
    ],
)  # fmt: skip
def test_compare_mon_hosts_finds_entries_of_no_mon_and_mons_left_out(
    mon_host: str, unknown: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    difference = cluster.compare_mon_hosts(cephconf.parse_mon_host(mon_host), ONE_MON)
    assert (difference.unknown, difference.missing, difference.agrees) == (
        unknown,
        missing,
        not unknown and not missing,
    )


def test_compare_mon_hosts_reports_monitors_the_conf_leaves_out() -> None:
    conf = cephconf.parse_mon_host("[v2:127.0.0.1:31685,v1:127.0.0.1:30971]")
    assert cluster.compare_mon_hosts(conf, MON_DOWN).missing == ("mon.b", "mon.c")


def test_bare_mon_address_reaches_default_ports() -> None:
    assert cluster.endpoints(MonAddr("10.0.0.1")) == {("10.0.0.1", 3300), ("10.0.0.1", 6789)}
    assert cluster.endpoints(MonAddr("10.0.0.1", msgr="v1")) == {("10.0.0.1", 6789)}


@pytest.mark.parametrize(
    ("monmap", "expected", "problem"),
    [
        pytest.param(ONE_MON, 1, None, id="one-of-one"),
        pytest.param(MON_DOWN, 3, "mon.c out of quorum", id="one-down"),
        pytest.param(
            MON_DOWN, 1,
            "3 mons (mon.a [v2:127.0.0.1:31685,v1:127.0.0.1:30971], mon.b [v2:127.0.0.1:29844,v1:127.0.0.1:26902], "
            "mon.c [v2:127.0.0.1:31999]); mon.c out of quorum",
            id="stray-mons",
        ),
    ],
)  # fmt: skip
def test_find_quorum_problem_counts_mons_and_quorum(monmap: cluster.MonMap, expected: int, problem: str | None) -> None:
    assert cluster.find_quorum_problem(monmap, expected) == problem


@pytest.mark.parametrize(
    ("capture", "problem"),
    [
        pytest.param("osd-stat.json", None, id="all-up-in"),
        pytest.param("osd-stat-down.json", "0 of 1 OSDs up, 1 in", id="down"),
        pytest.param("osd-stat-out.json", "1 of 1 OSDs up, 0 in", id="out"),
        pytest.param("osd-stat-never-started.json", "1 of 2 OSDs up, 2 in", id="never-started"),
    ],
)
def test_find_osd_problem_wants_every_osd_up_and_in(capture: str, problem: str | None) -> None:
    assert cluster.find_osd_problem(cluster.parse_osd_stat(read(f"ceph/{capture}"))) == problem


def test_find_osd_problem_refuses_a_cluster_without_osds() -> None:
    assert cluster.find_osd_problem(OsdStat(0, 0, 0)) == "no OSDs"


def test_find_pool_problems_names_missing_pools_and_applications() -> None:
    pools = cluster.parse_pools(read("ceph/osd-pool-ls-detail-no-app.json"))
    assert cluster.find_pool_problems(pools, ("images", "backups", "metrics")) == (
        "pool backups has application none, not rbd",
        "no pool metrics",
    )
    assert cluster.find_pool_problems(pools, ("images", "vms", "volumes")) == ()


@pytest.mark.parametrize(
    ("capture", "text"),
    [
        pytest.param("health-ok-unmuted.json", "HEALTH_OK", id="ok"),
        pytest.param("health-detail-muted.json", "HEALTH_OK", id="muted-left-out"),
        pytest.param("health-detail-mon-down.json", "HEALTH_WARN (MON_DOWN: 1/3 mons down, quorum a,b)", id="mon-down"),
    ],
)
def test_describe_health_names_active_checks(capture: str, text: str) -> None:
    assert cluster.describe_health(cluster.parse_health(read(f"ceph/{capture}"))) == text


def test_parse_listeners_reads_addresses_and_wildcards() -> None:
    listeners = cluster.parse_listeners(read("ceph/ss-hltn.txt"))
    assert ("127.0.0.1", 29822) in listeners
    assert {("*", 22), ("*", 6789), ("fe80::1", 3300)} <= listeners


def test_parse_listeners_refuses_other_output() -> None:
    with pytest.raises(ParseError, match="not a LISTEN line"):
        cluster.parse_listeners("State Recv-Q Send-Q Local Address:Port Peer Address:Port\n")


def test_find_unbound_mon_addrs_names_the_mon_nobody_listens_for() -> None:
    listening = frozenset({("127.0.0.1", 31685), ("127.0.0.1", 30971), ("127.0.0.1", 29844), ("*", 26902)})
    assert cluster.find_unbound_mon_addrs(MON_DOWN, listening) == ("mon.c v2:127.0.0.1:31999",)


def test_osd_ops_count_client_reads_and_writes_with_read_modify_writes_in_both() -> None:
    """``ceph tell osd.0 perf dump osd`` of the lab's central OSD (op_r 8063, op_w 1566, op_rw 2751)."""
    ops = cluster.parse_osd_ops((DATA / "ceph" / "tell-osd-perf-dump-osd.json").read_text())
    assert ops == cluster.OsdOps(8063 + 2751, 1566 + 2751)
    assert ops - ops == cluster.OsdOps(0, 0)
    assert cluster.parse_osd_ids((DATA / "ceph" / "osd-ls.json").read_text()) == (0,)


@pytest.mark.parametrize("text", ["{}", '{"osd": {"op_r": "1", "op_w": 2}}', "[]", "not json"])
def test_osd_ops_refuse_what_is_not_a_perf_dump(text: str) -> None:
    with pytest.raises(ParseError):
        cluster.parse_osd_ops(text)


IPV6_MON = cluster.parse_mon_dump(read("ceph/mon-dump.json").replace("127.0.0.1:", "[fd00::1]:"))


@pytest.mark.parametrize(
    ("mon_host", "agrees"),
    [
        pytest.param("[v2:[fd00::1]:3390,v1:[fd00::1]:6790]", True, id="vector"),
        pytest.param("[fd00:0:0::1]:3390", True, id="other-spelling-same-address"),
        pytest.param("[fd00::2]:3390", False, id="other-address"),
        pytest.param("fd00::1", False, id="bare-address-default-ports"),
    ],
)
def test_compare_mon_hosts_with_ipv6_monitors(mon_host: str, agrees: bool) -> None:
    assert cluster.compare_mon_hosts(cephconf.parse_mon_host(mon_host), IPV6_MON).agrees is agrees
