"""Bad input, tried as a new user would: never a traceback, never exit 1, never anything deleted.

Every row is one distinct bad input to ``generate``, ``lint``, ``lab`` or ``check --target``. The
command must exit 4 (or 1 for nothing: a bad input is never a finding), say in one line which file
and field are wrong, print no traceback, and leave every file it was given as it was, writing
nothing outside the output paths it was asked for. The inputs are built in a scratch directory
from the source document's own site model, so each row differs from a good input in one place.
"""

from __future__ import annotations

import codecs
import fnmatch
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_target import CLOUDS, NODES, TARGET  # the good target those tests load, to break here one field at a time

from dcn_checks import cli
from dcn_checks.cli import main
from dcn_checks.inputs import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parent.parent
MODEL = (REPO / "fixtures" / "models" / "dms-example.yaml").read_text()
DCN1_HCI = "".join(f"\n      - {{name: dcn1-hci-{i}, roles: [DistributedComputeHCI]}}" for i in range(3))
CENTRAL_FSID = "3161a3b4-e5ff-42a0-9f53-860403b29a33"


def process_file(pid: object) -> str:
    """The lab's process file with one record whose PID is ``pid``."""
    record = {"name": "x", "pid": pid, "start_time": 1, "argv": [], "log_path": "l"}
    return json.dumps({"version": 1, "processes": [record]})


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(6)
)
LAB_MARKER = ".dcn-checks-lab"
Content = str | bytes


def inventory(root: str = "{d}/nodes", skip: str = "") -> str:
    lines = ["all:", "  children:"]
    for group, names in NODES.items():
        lines += [f"    {group}:", "      hosts:"]
        lines += [f"        {n}: {{dcn_checks_node_root: {root}/{n}}}" for n in names if n != skip]
    return "\n".join(lines) + "\n"


def model(old: str = "", new: str = "", *, append: str = "") -> str:
    """The source document's model with one edit: ``old`` replaced by ``new`` (once), or text appended."""
    if old:
        assert old in MODEL, old
    return MODEL.replace(old, new, 1) + append if old else MODEL + append


def dcn1(extra: str) -> str:
    """The model with one more line in site dcn1's mapping."""
    return model("  - name: dcn1\n", f"  - name: dcn1\n    {extra}\n")


def env_stack(**files: Content) -> dict[str, Content]:
    """A directory of environment files: one good dcn0 stack plus the given files, by relative path."""
    good = {"env/dcn0/glance.yaml": "parameter_defaults:\n  GlanceBackendID: dcn0\n"}
    return {**good, **{f"env/{path.replace('__', '/')}": content for path, content in files.items()}}


def target_files(**overrides: Content) -> dict[str, Content]:
    files: dict[str, Content] = {
        "t/target.yaml": TARGET,
        "t/sites.yaml": MODEL,
        "t/clouds.yaml": CLOUDS,
        "t/inventory.yaml": inventory("{d}/t/nodes"),
    }
    files.update({f"t/{name.replace('__', '/')}": content for name, content in overrides.items()})
    return files


@dataclass(frozen=True)
class Case:
    """One bad input: files to lay out under {d}, the command, its exit code and a fragment of its line."""

    id: str
    argv: tuple[str, ...]
    expected: str
    files: dict[str, Content] = field(default_factory=dict)
    code: int = 4
    dirs: tuple[str, ...] = ()


def gen(case_id: str, content: Content, expected: str, *, files: dict[str, Content] | None = None) -> Case:
    """``generate`` of a model file ``m.yaml`` with ``content`` into ``{d}/out``."""
    return Case(
        case_id,
        ("generate", "--model", "{d}/m.yaml", "--out", "{d}/out"),
        expected,
        {"m.yaml": content, **(files or {})},
    )


def lint(case_id: str, files: dict[str, Content], expected: str, *, path: str = "{d}/env") -> Case:
    return Case(case_id, ("lint", path, "--release", "wallaby"), expected, files)


def target(case_id: str, expected: str, **overrides: Content) -> Case:
    return Case(
        case_id,
        ("check", "--target", "{d}/t", "-m", "reads"),
        expected,
        target_files(**overrides),
        dirs=tuple(f"t/nodes/{n}" for names in NODES.values() for n in names),
    )


def lab(case_id: str, argv: tuple[str, ...], expected: str, files: dict[str, Content] | None = None) -> Case:
    return Case(case_id, ("lab", *argv), expected, files or {})


CASES: list[Case] = [
    # --- generate: the model file as a file ----------------------------------------------------------
    Case("model-missing", ("generate", "--model", "{d}/absent.yaml", "--out", "{d}/out"), "absent.yaml: no such file"),
    Case(
        "model-is-directory", ("generate", "--model", "{d}/m", "--out", "{d}/out"), "m: is a directory", {}, 4, ("m",)
    ),
    gen("model-binary", b"\x7fELF\x02\x01\x01\x00\x00\x00", "m.yaml: the site model is not a text file"),
    gen(
        "model-utf16",
        codecs.BOM_UTF16_LE + MODEL.encode("utf-16-le"),
        "the site model is UTF-16 text; save it as UTF-8",
    ),
    gen("model-utf32", codecs.BOM_UTF32_LE + MODEL.encode("utf-32-le"), "the site model is UTF-32 text"),
    gen("model-latin1", model("dms-example", "dms-exampl\xe9").encode("latin-1"), "is not UTF-8 text (byte 0xe9"),
    gen("model-too-large", "#" * (MAX_FILE_BYTES + 1), "files over 10 MiB are refused"),
    gen("model-empty", "", "m.yaml: the model must be a mapping"),
    gen("model-a-list", "- central\n- dcn0\n", "the model must be a mapping"),
    gen("model-a-string", "just text\n", "the model must be a mapping"),
    gen("model-yaml-syntax", "sites: [\n", "m.yaml: line 2:"),
    gen("model-tab-indent", "release: ussuri\nsites:\n\t- name: central\n", "m.yaml: line 3:"),
    gen(
        "model-duplicate-key",
        model("release: ussuri", "release: ussuri\nrelease: zed"),
        "found duplicate key 'release'",
    ),
    gen("model-list-as-key", "? [a, b]\n: c\n", "found a list or a mapping as a key"),
    gen("model-map-as-key", "? {a: 1}\n: c\n", "found a list or a mapping as a key"),
    gen("model-alias-bomb", ALIAS_BOMB, "expands to more than 100000 nodes"),
    gen("model-recursive-alias", "a: &a [*a]\n", "an alias refers to a node that contains it"),
    gen("model-deep-nesting", "a: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper than dcn-checks reads"),
    gen("model-undefined-alias", "a: *nothing\n", "found undefined alias"),
    # --- generate: the model's fields -------------------------------------------------------------------
    gen("unknown-top-key", model(append="colour: blue\n"), "colour: unknown key"),
    gen("release-missing", model("release: ussuri\n", ""), "release: missing"),
    gen("release-unknown", model("release: ussuri", "release: train"), "release: unknown release 'train'"),
    gen("release-a-list", model("release: ussuri", "release: [ussuri]"), "release: unknown release ['ussuri']"),
    gen("release-huge", model("release: ussuri", "release: " + "x" * 5000), "release: unknown release 'xxx"),
    gen("key-option-3", model("key_option: 2", "key_option: 3"), "key_option: must be 1"),
    gen("key-option-string", model("key_option: 2", "key_option: '2'"), "key_option: must be 1"),
    gen("key-option-bool", model("key_option: 2", "key_option: true"), "key_option: must be 1"),
    gen("model-name-uppercase", model("name: dms-example", "name: DMS"), "name: 'DMS' must be lower-case"),
    gen("sites-missing", "release: ussuri\n", "sites: must be a non-empty list"),
    gen("sites-empty", "release: ussuri\nsites: []\n", "sites: must be a non-empty list"),
    gen("sites-a-mapping", "release: ussuri\nsites: {central: {}}\n", "sites: must be a non-empty list"),
    gen("site-a-string", "release: ussuri\nsites: [central]\n", "sites[0]: each site must be a mapping"),
    gen("site-name-missing", "release: ussuri\nsites: [{kind: central}]\n", "sites[0].name: None must be"),
    gen("site-name-uppercase", model("name: dcn1", "name: DCN1"), "sites[2].name: 'DCN1' must be lower-case"),
    gen("site-name-number", model("name: dcn1", "name: 7"), "sites[2].name: 7 must be lower-case"),
    gen("site-name-list", model("name: dcn1", "name: [dcn1]"), "sites[2].name: ['dcn1'] must be"),
    gen("site-name-too-long", model("name: dcn1", "name: d" + "c" * 40), "sites[2].name: 'dcccc"),
    gen("site-duplicate-name", model("name: dcn1", "name: dcn0"), "duplicate site name 'dcn0'"),
    gen("site-unknown-key", dcn1("colour: blue"), "sites[dcn1].colour: unknown key"),
    gen("site-kind-edge", dcn1("kind: edge"), "sites[dcn1].kind: must be central or dcn"),
    gen("no-central", "release: ussuri\nsites:\n  - {name: dcn0}\n", "no central site"),
    gen(
        "two-centrals",
        "release: ussuri\nsites:\n  - {name: central}\n  - {name: hub, kind: central}\n",
        "more than one central site (central, hub)",
    ),
    gen("cluster-not-alnum", dcn1("cluster: dcn-1"), "'dcn-1' is not alphanumeric"),
    gen("cluster-empty", dcn1("cluster: ''"), "sites[dcn1].cluster: must be a non-empty"),
    gen("cluster-duplicate", dcn1("cluster: dcn0"), "duplicate cluster name 'dcn0'"),
    gen(
        "cluster-two-named-ceph",
        dcn1("cluster: ceph").replace("  - name: dcn0\n", "  - name: dcn0\n    cluster: ceph\n"),
        "a second cluster named 'ceph'",
    ),
    gen("store-id-bad", dcn1("store_id: 'dcn 1'"), "store_id: 'dcn 1' must match"),
    gen("store-id-reserved", dcn1("store_id: os_glance_x"), "not start with os_glance_"),
    gen(
        "store-id-differs-wallaby",
        dcn1("store_id: edge1").replace("release: ussuri", "release: wallaby"),
        "Nova finds the local store by GlanceBackendID",
    ),
    gen("store-id-duplicate", dcn1("store_id: dcn0"), "duplicate store ID 'dcn0'"),
    gen("az-bad", dcn1("az: 'dcn 1'"), "'dcn 1' is not a valid availability zone"),
    gen("az-duplicate", dcn1("az: dcn0"), "duplicate availability zone 'dcn0'"),
    gen("cinder-az-differs", dcn1("cinder_az: nova"), "'nova' differs from the Nova az"),
    gen("volume-cluster-list", dcn1("volume_cluster: [a]"), "volume_cluster: must be"),
    gen("pools-a-list", dcn1("pools: [vms]"), "pools: must be a mapping"),
    gen("pools-unknown", dcn1("pools: {backups: b}"), "pools.backups: unknown key"),
    gen("pool-name-bad", dcn1("pools: {vms: 'v m'}"), "'v m' is not a valid pool name"),
    gen(
        "mons-a-mapping",
        model("mons: [172.16.11.182, 172.16.11.185, 172.16.11.187]", "mons: {a: 1}"),
        "mons: must be a list",
    ),
    gen("mons-not-ip", model("172.16.11.182,", "mon-a,"), "'mon-a' is not a mon IP address"),
    gen(
        "mons-a-number", model("mons: [172.16.11.182, 172.16.11.185, 172.16.11.187]", "mons: 5"), "mons: must be a list"
    ),
    gen("mons-nested-list", model("172.16.11.182,", "[172.16.11.182],"), "is not a mon IP address"),
    gen(
        "mons-missing-for-generate",
        model("    mons: [172.16.11.182, 172.16.11.185, 172.16.11.187]\n", ""),
        "mons: needed",
    ),
    gen("fsid-bad", model("7504a91e-5a0f-4408-bb55-33c3ee2c67e9", "not-a-uuid"), "fsid: 'not-a-uuid' is not a UUID"),
    gen(
        "fsid-duplicate",
        model("7504a91e-5a0f-4408-bb55-33c3ee2c67e9", "539e2b96-316e-4c23-b7df-035a3037ddd1"),
        "duplicate fsid",
    ),
    gen("nodes-empty", "release: ussuri\nsites:\n  - {name: central, nodes: []}\n", "nodes: must be a non-empty list"),
    gen(
        "nodes-a-mapping",
        "release: ussuri\nsites:\n  - {name: central, nodes: {a: b}}\n",
        "nodes: must be a non-empty list",
    ),
    gen("node-a-string", "release: ussuri\nsites:\n  - {name: central, nodes: [controller-0]}\n", "each node must be"),
    gen("node-name-bad", model("{name: dcn1-hci-2,", "{name: 'dcn1 hci 2',"), "'dcn1 hci 2' is not a valid host name"),
    gen("node-unknown-key", model("{name: dcn1-hci-2,", "{rack: 4, name: dcn1-hci-2,"), "nodes[2].rack: unknown key"),
    gen(
        "node-roles-missing",
        model("{name: dcn1-hci-2, roles: [DistributedComputeHCI]}", "{name: dcn1-hci-2}"),
        "roles: must be",
    ),
    gen("node-role-unknown", model("roles: [ComputeHCI]", "roles: [Storage]"), "'Storage' is not a central role"),
    gen(
        "node-role-list", model("roles: [ComputeHCI]", "roles: [[ComputeHCI]]"), "['ComputeHCI'] is not a central role"
    ),
    gen(
        "node-central-role-at-dcn",
        model("dcn1-hci-2, roles: [DistributedComputeHCI]", "dcn1-hci-2, roles: [Controller]"),
        "is not a dcn role",
    ),
    gen(
        "dcn-without-glance",
        model(
            DCN1_HCI,
            "\n      - {name: dcn1-so-0, roles: [DistributedComputeScaleOut]}",
        ),
        "no node runs GlanceApiEdge",
    ),
    gen("node-duplicate", model("{name: dcn1-hci-2,", "{name: dcn0-hci-0,"), "duplicate node name 'dcn0-hci-0'"),
    gen(
        "glance-endpoint-list",
        dcn1("glance_endpoint: [http://a:9292]"),
        "glance_endpoint: must be an http",
    ),
    gen(
        "glance-endpoint-ftp",
        dcn1("glance_endpoint: ftp://a/"),
        "glance_endpoint: must be an http",
    ),
    gen(
        "glance-endpoint-no-host",
        dcn1("glance_endpoint: 'http://:9292'"),
        "must be an http",
    ),
    gen(
        "glance-endpoint-bad-port",
        dcn1("glance_endpoint: 'http://a:92x2'"),
        "must be an http",
    ),
    # --- generate: the output directory and the generator's own state ------------------------------------
    gen("out-is-a-file", MODEL, "out: is not a directory", files={"out": "not a directory\n"}),
    gen(
        "state-corrupt-yaml",
        MODEL,
        ".dcn-checks-state.yaml: line",
        files={"out/.dcn-checks-state.yaml": "clusters: [\n"},
    ),
    gen("state-a-list", MODEL, "clusters: expected a mapping", files={"out/.dcn-checks-state.yaml": "- a\n"}),
    gen(
        "state-clusters-list",
        MODEL,
        "clusters: expected a mapping",
        files={"out/.dcn-checks-state.yaml": "clusters: [a]\n"},
    ),
    gen(
        "state-entry-list",
        MODEL,
        "clusters.central: expected a mapping",
        files={"out/.dcn-checks-state.yaml": "clusters: {central: [a]}\n"},
    ),
    gen(
        "state-bad-fsid",
        MODEL,
        "clusters.central.fsid: 'x' is not a UUID",
        files={"out/.dcn-checks-state.yaml": "clusters: {central: {fsid: x}}\n"},
    ),
    gen(
        "state-bad-key",
        MODEL,
        "clusters.central.keys.openstack: the key",
        files={
            "out/.dcn-checks-state.yaml": f"clusters:\n  central: {{fsid: {CENTRAL_FSID}, keys: {{openstack: x}}}}\n"
        },
    ),
    gen(
        "state-binary",
        MODEL,
        "the generator state is not a text file",
        files={"out/.dcn-checks-state.yaml": b"\x00\x01"},
    ),
    # --- lint ------------------------------------------------------------------------------------------
    lint("lint-missing-dir", {}, "absent: no such directory", path="{d}/absent"),
    lint("lint-dir-is-file", {"env": "a file\n"}, "env: not a directory of environment files"),
    lint("lint-no-stacks", {"env/README": "x\n"}, "no stack directories"),
    lint(
        "lint-binary-yaml",
        env_stack(**{"dcn0__ceph.yaml": b"\x89PNG\r\n\x1a\n\x00"}),
        "dcn0/ceph.yaml: an environment file is not a text file",
    ),
    lint(
        "lint-utf16",
        env_stack(**{"dcn0__az.yaml": codecs.BOM_UTF16_LE + "parameter_defaults: {}\n".encode("utf-16-le")}),
        "dcn0/az.yaml: an environment file is UTF-16",
    ),
    lint(
        "lint-latin1",
        env_stack(**{"dcn0__az.yaml": "# caf\xe9\nparameter_defaults: {}\n".encode("latin-1")}),
        "dcn0/az.yaml: an environment file is not UTF-8",
    ),
    lint(
        "lint-list-key",
        env_stack(**{"dcn0__az.yaml": "parameter_defaults:\n  ? [a]\n  : b\n"}),
        "dcn0/az.yaml: line 2: found a list or a mapping as a key",
    ),
    lint(
        "lint-alias-bomb",
        env_stack(**{"dcn0__az.yaml": ALIAS_BOMB}),
        "dcn0/az.yaml: the document expands to more than 100000 nodes",
    ),
    lint("lint-top-list", env_stack(**{"dcn0__az.yaml": "- a\n"}), "dcn0/az.yaml: not an environment file"),
    lint(
        "lint-defaults-list",
        env_stack(**{"dcn0__az.yaml": "parameter_defaults: [a]\n"}),
        "dcn0/az.yaml: parameter_defaults must be a mapping",
    ),
    lint(
        "lint-duplicate",
        env_stack(**{"dcn0__az.yaml": "parameter_defaults:\n  A: 1\n  A: 2\n"}),
        "dcn0/az.yaml: line 3: found duplicate key 'A'",
    ),
    lint(
        "lint-shared-binary",
        env_stack(**{"central_ceph_external.yaml": b"\x00"}),
        "central_ceph_external.yaml: an environment file is not a text file",
    ),
    lint(
        "lint-too-large",
        env_stack(**{"dcn0__big.yaml": "#" * (MAX_FILE_BYTES + 1)}),
        "dcn0/big.yaml: an environment file is",
    ),
    lint(
        "lint-script-unbalanced-quote",
        env_stack(**{"dcn0__deploy.sh": "openstack overcloud deploy --stack dcn0 -e 'glance.yaml\n"}),
        "dcn0/deploy.sh: the openstack overcloud deploy command cannot be split into words: No closing quotation",
    ),
    lint(
        "lint-script-binary",
        env_stack(**{"dcn0__deploy.sh": b"\x7fELF\x00"}),
        "dcn0/deploy.sh: a deploy script is not a text file",
    ),
    Case(
        "lint-script-is-dir",
        ("lint", "{d}/env", "--release", "wallaby"),
        "dcn0/deploy.sh: is a directory",
        env_stack(),
        4,
        ("env/dcn0/deploy.sh",),
    ),
    Case("lint-release-unsaid", ("lint", "{d}/env"), "the files do not say their release", env_stack()),
    Case("lint-release-unknown", ("lint", "{d}/env", "--release", "train"), "invalid choice: 'train'", env_stack()),
    # --- lab: options, the lab directory, the lab's state files ----------------------------------------------
    lab(
        "lab-sites-negative",
        ("up", "--lab-dir", "{d}/lab", "--sites", "-1"),
        "--sites: -1 is not a number of DCN sites",
    ),
    lab("lab-sites-zero", ("up", "--lab-dir", "{d}/lab", "--sites", "0"), "--sites: 0 is not a number of DCN sites"),
    lab("lab-sites-too-many", ("up", "--lab-dir", "{d}/lab", "--sites", "21"), "from 1 to 20"),
    lab(
        "lab-sites-not-a-number",
        ("up", "--lab-dir", "{d}/lab", "--sites", "two"),
        "argument --sites: invalid int value",
    ),
    lab(
        "lab-sites-with-model",
        ("up", "--lab-dir", "{d}/lab", "--sites", "2", "--model", "{d}/m.yaml"),
        "--sites cannot go with --model",
        {"m.yaml": MODEL},
    ),
    lab(
        "lab-release-with-model",
        ("up", "--lab-dir", "{d}/lab", "--release", "zed", "--model", "{d}/m.yaml"),
        "--release cannot go with --model",
        {"m.yaml": MODEL},
    ),
    lab("lab-release-unknown", ("up", "--lab-dir", "{d}/lab", "--release", "train"), "invalid choice: 'train'"),
    lab("lab-key-option-3", ("up", "--lab-dir", "{d}/lab", "--key-option", "3"), "invalid choice: 3"),
    lab(
        "lab-osd-gib-below-minimum", ("up", "--lab-dir", "{d}/lab", "--osd-gib", "1"), "an OSD of 1 GiB is below the 2"
    ),
    lab("lab-osd-gib-negative", ("up", "--lab-dir", "{d}/lab", "--osd-gib", "-5"), "an OSD of -5 GiB is below the 2"),
    lab("lab-osd-gib-not-a-number", ("up", "--lab-dir", "{d}/lab", "--osd-gib", "ten"), "--osd-gib: invalid int value"),
    lab(
        "lab-osd-gib-beyond-the-free-disk",
        ("up", "--lab-dir", "{d}/lab", "--osd-gib", "1000000"),
        "3 OSD files of 1000000.0 GiB may grow to 3000000.0 GiB, but only ",
    ),
    lab(
        "lab-model-bad",
        ("up", "--lab-dir", "{d}/lab", "--model", "{d}/m.yaml"),
        "m.yaml: release: missing",
        {"m.yaml": "sites: []\n"},
    ),
    lab("lab-fault-unknown", ("up", "--lab-dir", "{d}/lab", "--fault", "nosuch"), "unknown fault 'nosuch'"),
    lab(
        "lab-fault-missing-site",
        ("up", "--lab-dir", "{d}/lab", "--sites", "1", "--fault", "cinder-az-mismatch"),
        "which this lab does not have",
    ),
    lab(
        "lab-dir-foreign",
        ("up", "--lab-dir", "{d}/mine"),
        "mine: not empty and not a lab directory",
        {"mine/thesis.tex": "years of work\n"},
    ),
    lab("lab-dir-is-a-file", ("up", "--lab-dir", "{d}/mine"), "mine: not a directory", {"mine": "a file\n"}),
    lab("lab-down-missing", ("down", "--lab-dir", "{d}/absent"), "absent: no such lab directory"),
    lab(
        "lab-down-foreign",
        ("down", "--lab-dir", "{d}/mine"),
        "mine: not a lab directory of dcn-checks",
        {"mine/notes.txt": "x\n"},
    ),
    lab("lab-down-file", ("down", "--lab-dir", "{d}/mine"), "mine: not a directory", {"mine": "x\n"}),
    lab("lab-status-missing", ("status", "--lab-dir", "{d}/absent"), "absent: no such lab directory"),
    lab(
        "lab-status-foreign",
        ("status", "--lab-dir", "{d}/mine"),
        "mine: not a lab directory",
        {"mine/notes.txt": "x\n"},
    ),
    lab(
        "lab-processes-corrupt",
        ("down", "--lab-dir", "{d}/lab"),
        "processes.json: the lab's process file cannot be parsed as JSON (line 1: Unterminated string",
        {f"lab/{LAB_MARKER}": "", "lab/processes.json": '{"version": 1, "proc'},
    ),
    lab(
        "lab-processes-a-list",
        ("down", "--lab-dir", "{d}/lab"),
        "processes.json: version: None, expected 1",
        {f"lab/{LAB_MARKER}": "", "lab/processes.json": "[1, 2]"},
    ),
    lab(
        "lab-processes-pid-string",
        ("status", "--lab-dir", "{d}/lab"),
        "processes[0].pid: expected int",
        {
            f"lab/{LAB_MARKER}": "",
            "lab/processes.json": process_file("1"),
        },
    ),
    lab(
        "lab-processes-pid-1",
        ("down", "--lab-dir", "{d}/lab"),
        "processes[0]: not a process record of dcn-checks",
        {
            f"lab/{LAB_MARKER}": "",
            "lab/processes.json": process_file(1),
        },
    ),
    lab(
        "lab-processes-binary",
        ("up", "--lab-dir", "{d}/lab"),
        "processes.json: the lab's process file is not a text file",
        {f"lab/{LAB_MARKER}": "", "lab/processes.json": b"\x00"},
    ),
    # --- check --target: the target file and the files it names -------------------------------------------
    Case(
        "target-missing",
        ("check", "--target", "{d}/absent", "-m", "reads"),
        "absent: no such target file or lab directory",
    ),
    Case(
        "target-dir-without-file",
        ("check", "--target", "{d}/t", "-m", "reads"),
        "t: no target.yaml here",
        {},
        4,
        ("t",),
    ),
    target("target-binary", "target.yaml: the target file is not a text file", **{"target.yaml": b"\x00\x01"}),
    target(
        "target-utf16", "the target file is UTF-16", **{"target.yaml": codecs.BOM_UTF16_BE + TARGET.encode("utf-16-be")}
    ),
    target("target-a-list", "target.yaml: expected a mapping, not ['model']", **{"target.yaml": "- model\n"}),
    target("target-empty", "target.yaml: expected a mapping, not None", **{"target.yaml": ""}),
    target("target-unknown-key", "unknown key 'colour'", **{"target.yaml": TARGET + "colour: blue\n"}),
    target("target-model-missing-key", "model: required", **{"target.yaml": TARGET.replace("model: sites.yaml\n", "")}),
    target(
        "target-model-a-list",
        "model: required",
        **{"target.yaml": TARGET.replace("model: sites.yaml", "model: [sites.yaml]")},
    ),
    target("target-model-absent", "model: ", **{"target.yaml": TARGET.replace("sites.yaml", "nosuch.yaml")}),
    target("target-model-binary", "sites.yaml: the site model is not a text file", **{"sites.yaml": b"\x00"}),
    target(
        "target-model-invalid",
        "sites[2].name: 'DCN1' must be lower-case",
        **{"sites.yaml": model("name: dcn1", "name: DCN1")},
    ),
    target(
        "target-cloud-a-list",
        "cloud: expected a mapping",
        **{"target.yaml": TARGET.replace("cloud: {clouds_yaml: clouds.yaml, name: dcn}", "cloud: [dcn]")},
    ),
    target("target-cloud-name-missing", "cloud.name: required", **{"target.yaml": TARGET.replace(", name: dcn}", "}")}),
    target(
        "target-cloud-unknown",
        "no cloud 'other' (clouds: dcn)",
        **{"target.yaml": TARGET.replace("name: dcn}", "name: other}")},
    ),
    target(
        "clouds-yaml-absent",
        "nosuch.yaml: no such file (clouds.yaml)",
        **{"target.yaml": TARGET.replace("clouds_yaml: clouds.yaml", "clouds_yaml: nosuch.yaml")},
    ),
    target(
        "clouds-yaml-utf16",
        "clouds.yaml: clouds.yaml is UTF-16",
        **{"clouds.yaml": codecs.BOM_UTF16_LE + CLOUDS.encode("utf-16-le")},
    ),
    target("clouds-yaml-no-clouds", "no cloud 'dcn' (clouds: none)", **{"clouds.yaml": "other: 1\n"}),
    target(
        "clouds-yaml-entry-list",
        "clouds.dcn: expected a mapping with an auth mapping",
        **{"clouds.yaml": "clouds:\n  dcn: [a]\n"},
    ),
    target(
        "clouds-yaml-auth-string",
        "clouds.dcn: expected a mapping with an auth mapping",
        **{"clouds.yaml": "clouds:\n  dcn: {auth: x}\n"},
    ),
    target("clouds-yaml-syntax", "clouds.yaml: line", **{"clouds.yaml": "clouds: {\n"}),
    target(
        "hosts-backend-telnet",
        "hosts.backend: 'telnet' is not one of",
        **{"target.yaml": TARGET.replace("backend: lab", "backend: telnet")},
    ),
    target(
        "hosts-backend-list",
        "hosts.backend: ['lab'] is not one of",
        **{"target.yaml": TARGET.replace("backend: lab", "backend: [lab]")},
    ),
    target(
        "hosts-a-string",
        "hosts: expected a mapping",
        **{"target.yaml": TARGET.replace("hosts: {backend: lab, inventory: inventory.yaml}", "hosts: lab")},
    ),
    target(
        "inventory-absent",
        "nosuch.yaml: no such file (the inventory)",
        **{"target.yaml": TARGET.replace("inventory: inventory.yaml", "inventory: nosuch.yaml")},
    ),
    target("inventory-binary", "inventory.yaml: the inventory is not a text file", **{"inventory.yaml": b"\x00"}),
    target("inventory-a-list", "expected an ansible YAML inventory", **{"inventory.yaml": "- host\n"}),
    target(
        "inventory-group-a-list", "all: expected a group (hosts, vars, children)", **{"inventory.yaml": "all: [a, b]\n"}
    ),
    target(
        "inventory-hosts-a-list",
        "all.hosts: expected a mapping of host names",
        **{"inventory.yaml": "all:\n  hosts: [controller-0]\n"},
    ),
    target(
        "inventory-host-vars-list",
        "all.hosts.controller-0: expected a mapping of variables",
        **{"inventory.yaml": "all:\n  hosts:\n    controller-0: [a]\n"},
    ),
    target(
        "inventory-vars-list", "all.vars: expected a mapping of variables", **{"inventory.yaml": "all:\n  vars: [a]\n"}
    ),
    target(
        "inventory-children-list",
        "all.children: expected a mapping of groups",
        **{"inventory.yaml": "all:\n  children: [dcn0]\n"},
    ),
    target(
        "inventory-node-missing",
        "no host entry for node(s) dcn1-hci-2",
        **{"inventory.yaml": inventory("{d}/t/nodes", skip="dcn1-hci-2")},
    ),
    target(
        "inventory-no-node-root",
        "have no dcn_checks_node_root",
        **{
            "inventory.yaml": inventory("{d}/t/nodes").replace(
                "dcn0-hci-1: {dcn_checks_node_root: {d}/t/nodes/dcn0-hci-1}", "dcn0-hci-1: {}"
            )
        },
    ),
    target(
        "inventory-node-root-absent",
        "dcn0-hci-0: dcn_checks_node_root '{d}/t/gone/dcn0-hci-0' is not a directory",
        **{"inventory.yaml": inventory("{d}/t/nodes").replace("{d}/t/nodes/dcn0-hci-0", "{d}/t/gone/dcn0-hci-0")},
    ),
    target(
        "timeout-negative",
        "timeouts.api_s: expected a number of seconds above 0",
        **{"target.yaml": TARGET + "timeouts: {api_s: -1}\n"},
    ),
    target("timeout-zero", "timeouts.api_s: expected a number", **{"target.yaml": TARGET + "timeouts: {api_s: 0}\n"}),
    target("timeout-infinite", "got inf", **{"target.yaml": TARGET + "timeouts: {api_s: .inf}\n"}),
    target("timeout-nan", "got nan", **{"target.yaml": TARGET + "timeouts: {api_s: .nan}\n"}),
    target("timeout-string", "got '30'", **{"target.yaml": TARGET + "timeouts: {api_s: '30'}\n"}),
    target("timeout-bool", "got True", **{"target.yaml": TARGET + "timeouts: {api_s: true}\n"}),
    target(
        "timeout-huge", "at most 3600, got 1000000000", **{"target.yaml": TARGET + "timeouts: {api_s: 1000000000}\n"}
    ),
    target(
        "timeout-unknown-key", "timeouts: unknown key 'boot_s'", **{"target.yaml": TARGET + "timeouts: {boot_s: 30}\n"}
    ),
    target(
        "create-timeout-zero",
        "timeouts.create_s: expected a number",
        **{"target.yaml": TARGET + "timeouts: {create_s: 0}\n"},
    ),
    target("creates-not-mapping", "creates: expected a mapping", **{"target.yaml": TARGET + "creates: [flavor]\n"}),
    target("creates-unknown-key", "creates: unknown key 'image'", **{"target.yaml": TARGET + "creates: {image: x}\n"}),
    target(
        "creates-empty-flavor",
        "creates.flavor: required, a non-empty string",
        **{"target.yaml": TARGET + "creates: {flavor: ''}\n"},
    ),
    target(
        "creates-busy-string",
        "creates.central_cluster_busy: expected true or false, got 'yes'",
        **{"target.yaml": TARGET + "creates: {central_cluster_busy: 'yes'}\n"},
    ),
    Case("check-without-target", ("check", "-m", "reads"), "the following arguments are required: --target"),
]


def materialise(case: Case, root: Path) -> None:
    for relative in case.dirs:
        (root / relative).mkdir(parents=True, exist_ok=True)
    for relative, content in case.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{d}", str(root)))


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time (directories count)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_size if path.is_file() else 0, info.st_mtime_ns)
    return found


def test_the_table_holds_at_least_a_hundred_distinct_bad_inputs() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 100, len(ids)
    assert {case.argv[0] for case in CASES} == {"generate", "lint", "lab", "check"}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_exit_4_and_touches_nothing(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    materialise(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code = main([arg.replace("{d}", str(tmp_path)) for arg in case.argv])
    out, err = capsys.readouterr()
    expected = case.expected.replace("{d}", str(tmp_path))
    assert code == case.code, (out, err)
    assert "Traceback" not in out + err
    if case.argv[0] == "lint" and out:
        # The lint names an unreadable file among its findings and says on stderr that it could not judge all.
        assert any(expected in line and line.endswith("[unreadable]") for line in out.splitlines()), out
        assert len(err.splitlines()) == 1 and "could not be read" in err, err
    else:
        assert out == ""
        assert len(err.splitlines()) == 1, err
        assert err.startswith("dcn-checks: ") and expected in err, err
    assert all(len(line) <= 1200 for line in (out + err).splitlines())
    assert snapshot(tmp_path) == before, "a bad input changed, deleted or wrote files"


def test_lab_up_on_a_foreign_directory_leaves_every_file_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work\n")
    (mine / "sub" / "data.csv").write_text("1,2\n")
    (mine / "processes.json").write_text("{}")  # even a name the lab uses is not ours without the marker
    before = snapshot(mine)
    assert main(["lab", "up", "--lab-dir", str(mine)]) == 4
    assert "not empty and not a lab directory" in capsys.readouterr().err
    assert snapshot(mine) == before


def test_reusing_a_lab_directory_removes_only_what_a_lab_writes(tmp_path: Path) -> None:
    from dcn_checks.lab import deploy

    lab_dir = tmp_path / "lab"
    deploy.claim_lab_dir(lab_dir)
    (lab_dir / "nodes" / "controller-0").mkdir(parents=True)
    (lab_dir / "lab.json").write_text("{}")
    (lab_dir / "my-notes.txt").write_text("keep me\n")
    deploy.claim_lab_dir(lab_dir)
    assert sorted(p.name for p in lab_dir.iterdir()) == [deploy.LAB_MARKER, "my-notes.txt"]


def test_an_internal_error_is_exit_3_with_the_debug_log_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(args: object) -> int:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(cli, "_cmd_lab_faults", broken)
    assert main(["lab", "faults"]) == 3
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("dcn-checks: internal error (KeyError: 'a bug of ours'); this is a bug in dcn-checks")
    log_path = Path(err.rsplit(" ", 1)[-1].strip())
    try:
        assert "Traceback" in log_path.read_text() and "a bug of ours" in log_path.read_text()
    finally:
        log_path.unlink()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcn_checks.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def lab_like_target(tmp_path: Path) -> Path:
    """A valid target (its Keystone unreachable) in ``tmp_path/t``."""
    case = target("valid", "")
    materialise(case, tmp_path)
    return tmp_path / "t"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-n", "abc"), "ERROR: dcn-checks: check: argument -n/--numprocesses: invalid parse_numprocesses value: *"),
        (("--no-such-option",), "ERROR: dcn-checks: check: unrecognized arguments: --no-such-option"),
        (("--junitxml", "{d}"), "ERROR: dcn-checks: check: --junitxml must be a filename, given: {d}"),
        (
            ("--junitxml", "{d}/t/target.yaml/r.xml"),
            "ERROR: dcn-checks: --junitxml {d}/t/target.yaml/r.xml: {d}/t/target.yaml is not a directory",
        ),
    ],
    ids=["n-not-a-number", "unknown-option", "junitxml-a-directory", "junitxml-under-a-file"],
)
def test_pytest_usage_errors_under_check_are_one_line_exit_4(
    lab_like_target: Path, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    before = snapshot(tmp_path)
    proc = run_cli(
        "check", "--target", str(lab_like_target), *(a.replace("{d}", str(tmp_path)) for a in args), cwd=tmp_path
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fnmatch.fnmatchcase(lines[0], expected.replace("{d}", str(tmp_path))), lines
    assert snapshot(tmp_path) == before


def test_option_values_are_never_taken_for_test_paths(lab_like_target: Path, tmp_path: Path) -> None:
    """``-k dcn1`` run from a generated environment directory, which has a ``dcn1/`` folder, still runs the suites."""
    (tmp_path / "dcn1").mkdir()
    proc = run_cli(
        "check", "--target", str(lab_like_target), "-m", "reads", "-k", "dcn1", "--collect-only", "-q", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert collected and all(line.startswith("suites/reads/") and "dcn1" in line for line in collected), proc.stdout


CHECK_FILE = """
import pytest

@pytest.mark.check("STATIC-002", requirements=["R2"])
@pytest.mark.reads
def test_a(env_stack):
    {body}
"""


@pytest.fixture
def env_dir(tmp_path: Path) -> Path:
    from dcn_checks.generator import generate
    from dcn_checks.model import load_model

    generate(load_model(REPO / "fixtures" / "models" / "dms-example.yaml"), tmp_path / "env")
    return tmp_path / "env"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("assert env_stack != 'dcn0', 'dcn0: wrong'", 1),
        ("if env_stack == 'dcn0': {}['no such key']", 3),
        ("assert env_stack != 'dcn1'\n    if env_stack == 'dcn0': raise ValueError('a bug')", 3),
    ],
    ids=["finding-only", "error-only", "error-beside-finding"],
)
def test_a_check_that_errors_makes_the_run_exit_3_never_1(
    pytester: pytest.Pytester, env_dir: Path, body: str, code: int
) -> None:
    pytester.makepyfile(test_checks=CHECK_FILE.format(body=body))
    result = pytester.runpytest_subprocess(f"--env-dir={env_dir}", "--release=ussuri", "-p", "no:cacheprovider")
    assert result.ret == code, result.stdout.str()
    if code == 3:
        result.stdout.fnmatch_lines(
            ["dcn-checks: 1 case(s) could not be judged (an error, not a finding), e.g. *dcn0*"]
        )


def test_an_internal_error_of_a_run_is_one_line_naming_the_debug_log(pytester: pytest.Pytester, env_dir: Path) -> None:
    pytester.makeconftest("def pytest_collection_finish(session):\n    raise RuntimeError('boom')\n")
    result = pytester.runpytest_subprocess(f"--env-dir={env_dir}", "--release=ussuri", "-p", "no:cacheprovider")
    assert result.ret == 3
    errors = [line for line in result.stderr.str().splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("dcn-checks: internal error (RuntimeError: boom)"), errors
    # pytest's own report of it stays on stdout, with the report of the run; stderr is the one line.
    log_path = Path(errors[0].rsplit(" ", 1)[-1])
    try:
        assert "RuntimeError: boom" in log_path.read_text()
    finally:
        log_path.unlink()
