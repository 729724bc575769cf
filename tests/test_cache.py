"""The cache: nothing in it can run code, a cache directory a pull request could write is
refused, what it holds round-trips exactly, a wrong entry is a miss, pruning removes only
what the tool wrote, and it stays bounded."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from checks import __version__, cache, codec
from checks import scan as scan_module
from checks.model import (
    Entity,
    LDict,
    LList,
    Location,
    PartialList,
    PartialMap,
    Problem,
    Unknown,
    UnknownItems,
)
from checks.parse.comments import Suppression
from checks.runner import run_unit, units_of
from checks.sources.base import Options, UnitResult
from conftest import FIXTURES, ROOT, cli

INSECURE = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n'
    '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
)
FOLDER = f"v{__version__}-{cache.FORMAT}"


class _RunsCode:
    """Unpickling this touches a file: what a planted pickle would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "repo"
    (tree / "infra").mkdir(parents=True)
    (tree / "infra" / "nodes.tf").write_text(INSECURE)
    return tree


def _findings(*args: str) -> tuple[int, list, str]:
    code, out, err = cli("scan", *args, "--format", "json")
    doc = json.loads(out)
    return code, [(f["rule_id"], f["location"]["start_line"]) for f in doc["findings"]], err


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


# ---- no code execution ------------------------------------------------------------------------
def _files_opened(monkeypatch, shown) -> list[str]:
    """The files opened from now on (os.open: whatever reads them), each as `shown` gives its
    path (None: not counted)."""
    opened: list[str] = []
    real_open = os.open

    def counted(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        name = shown(str(path))
        if name is not None:
            opened.append(name)
        return fd

    monkeypatch.setattr(os, "open", counted)
    return opened


def _units_run(monkeypatch, name) -> list[str]:
    """The files of the units a scan computes (not taken from the cache), each as `name`
    gives it, in the order they run."""
    from checks import runner

    ran: list[str] = []
    real_run = runner.run_unit

    def counted(unit, opts, keyed=False):
        ran.extend(name(f) for f in unit.files)
        return real_run(unit, opts, keyed)

    monkeypatch.setattr(runner, "run_unit", counted)
    return ran


def test_a_pickle_planted_in_every_cache_file_never_runs(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    store = tmp_path / "cache"
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(store))
    expected = _findings(str(tree))
    assert expected[1] == [("EKS202", 4)]
    marker = tmp_path / "pwned"
    planted = pickle.dumps(_RunsCode(marker))
    written = [p for p in store.rglob("*") if p.is_file()]
    assert written
    for path in written:
        path.write_bytes(planted)
    assert _findings(str(tree)) == expected
    assert _findings(str(tree)) == expected  # and once more from what the last run wrote
    assert not marker.exists()


def test_a_cache_inside_the_scanned_tree_is_refused_with_one_note(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    inside = tree / ".cache" / "eks-checks"
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(inside))
    code, found, err = _findings(str(tree))
    assert (code, found) == (1, [("EKS202", 4)])
    assert err == (
        f"eks-checks: note: not using the cache in {inside}: it is inside the scanned tree {tree}\n"
    )
    assert not (tree / ".cache").exists()  # nothing written there either
    # the same with the hook's context root, the cache under it and the file passed outside
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", ".cache")
    code, _, err = cli("scan", "infra/nodes.tf", "--context-root", ".")
    assert code == 1 and "it is inside the scanned tree ." in err
    assert not (tree / ".cache").exists()


def test_a_cache_inside_the_repository_of_a_scanned_folder_is_refused(tmp_path, monkeypatch):
    """CI scans infra/ of a checkout and restores the cache into the checkout's .cache/: the
    pull request writes that folder too."""
    tree = _tree(tmp_path)
    (tree / ".git").mkdir()
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", ".cache/eks-checks")
    code, found, err = _findings("infra")
    assert (code, found) == (1, [("EKS202", 4)])
    assert err == (
        f"eks-checks: note: not using the cache in .cache/eks-checks: it is inside {tree}, the "
        "git work tree of the scanned infra\n"
    )
    assert not (tree / ".cache").exists()


def test_an_entry_planted_inside_the_scanned_tree_has_no_effect(tmp_path, monkeypatch):
    """A pull request commits a well-formed pack whose entity hides the finding: used from a
    trusted directory it would work, so only the refusal keeps it out."""
    tree = _tree(tmp_path)
    outside = tmp_path / "cache"
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(outside))
    assert _findings(str(tree))[1] == [("EKS202", 4)]
    (pack,) = [p for p in (outside / FOLDER).glob("*.pack") if b"nodes.tf" in p.read_bytes()]
    forged = pack.read_bytes().replace(b'"hop_limit":2', b'"hop_limit":1')
    assert forged != pack.read_bytes()
    pack.write_bytes(forged)
    assert _findings(str(tree))[1] == []  # a trusted cache is believed: the forgery is valid
    planted = tree / ".cache"
    shutil.copytree(outside, planted)
    before = _files(planted)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(planted))
    code, found, err = _findings(str(tree))
    assert (code, found) == (1, [("EKS202", 4)])
    assert "not using the cache" in err
    assert _files(planted) == before


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership")
def test_a_cache_directory_others_can_write_is_refused(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(shared))
    code, found, err = _findings(str(tree))
    assert (code, found) == (1, [("EKS202", 4)])
    assert (
        err
        == f"eks-checks: note: not using the cache in {shared}: is writable by group or others\n"
    )
    assert list(shared.iterdir()) == []
    # our own folder inside a private directory is checked too
    shared.chmod(0o700)
    (shared / FOLDER).mkdir(mode=0o700)
    (shared / FOLDER).chmod(0o775)
    _, _, err = _findings(str(tree))
    assert err.endswith(f"{FOLDER} is writable by group or others\n")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_cache_directory_of_another_user_is_refused(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(theirs))
    code, _, err = _findings(str(tree))
    assert code == 1
    assert err == f"eks-checks: note: not using the cache in {theirs}: is owned by another user\n"
    assert list(theirs.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX modes")
def test_every_folder_the_cache_creates_is_private(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "a" / "b" / "c"))
    old = os.umask(0)  # a umask that would make them world-writable
    try:
        _, _, err = _findings(str(tree))
    finally:
        os.umask(old)
    assert err == ""
    for folder in ("a", "a/b", "a/b/c", f"a/b/c/{FOLDER}"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700, folder
    packs = list((tmp_path / "a/b/c" / FOLDER).glob("*.pack"))
    assert packs and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in packs)


# ---- exact round trip; a wrong entry is a miss --------------------------------------------------
def _shape(value):
    """Everything about a value that a later stage can see: types, line maps included (not
    what the runner alone reads of a fresh result, which the cache does not keep)."""
    if isinstance(value, (Entity, UnitResult, Location, Problem, Suppression)):
        fields = [f for f in dataclasses.fields(value) if f.metadata.get("cached", True)]
        return (type(value).__name__, [(f.name, _shape(getattr(value, f.name))) for f in fields])
    if isinstance(value, LDict):
        return ("LDict", value.line, value.end_line, _shape(value.key_lines), _shape(dict(value)))
    if isinstance(value, LList):
        return ("LList", value.line, value.end_line, value.item_lines, [_shape(v) for v in value])
    if isinstance(value, (PartialList, PartialMap)):
        known, rest = _shape(value.known), [_shape(part) for part in value.rest]
        maybe = sorted(value.maybe, key=repr)
        return (type(value).__name__, value.reason, value.text, value.ref, known, rest, maybe)
    if isinstance(value, UnknownItems):
        item, key = _shape(value.item), _shape(value.key)
        return ("UnknownItems", value.reason, value.text, value.ref, item, key)
    if isinstance(value, Unknown):
        return ("Unknown", value.reason, value.text, value.ref)
    if isinstance(value, dict):
        return ("dict", [(_shape(k), _shape(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple, set)):
        items = sorted(value, key=repr) if isinstance(value, set) else value
        return (type(value).__name__, [_shape(v) for v in items])
    return (type(value).__name__, value)


def test_unit_results_round_trip_exactly_over_fixtures_and_examples(monkeypatch):
    from checks.discover import discover
    from checks.sources import classify

    monkeypatch.chdir(ROOT)
    files, _ = discover([str(FIXTURES.relative_to(ROOT)), "examples"], classify)
    opts = Options(roots=["tests/fixtures", "examples"])
    seen = set()
    for unit in units_of(files, Options()):
        result = run_unit(unit, opts)
        back = codec.decode(codec.encode(result, UnitResult), UnitResult)
        assert _shape(back) == _shape(result), unit.files[0].display
        seen |= {type(v).__name__ for e in result.entities for v in e.fields.values()}
    assert {"LList", "Unknown"} <= seen  # the tricky types were there to be tested


def test_plain_values_of_every_kind_round_trip():
    ldict = LDict({"a": 1, 2: [None], (1, "x"): True}, line=3, end_line=9)
    ldict.key_lines = {"a": (4, 4), 2: (5, 6)}
    llist = LList(["x", Unknown("var.y is not set", "${var.y}", "var.y")], line=7, end_line=8)
    llist.item_lines = [(7, 7), (8, 8)]
    value = {
        "ldict": ldict,
        "llist": llist,
        "\0": "a key that looks like our tag",
        "numbers": [2**70, -(2**64), float("inf"), float("-inf"), 1.5, 0],
        "tuple": (1, ("a",)),
        "set": {"s"},
        "frozen": frozenset({1}),
        "non-str keys": {1: "one", None: "none", False: "false"},
        "text": "line\nbreak \u202e \ud800",
        "partly known": PartialList("module.teams is computed", "concat(...)", None, llist),
        "items of a for": UnknownItems(
            "var.admins has no default", "{for ...}", "var.admins", ldict, Unknown("arn")
        ),
        "list of a for": UnknownItems("var.admins has no default", "[for ...]", None, "x"),
        "map known in part": PartialMap(
            "var.on has no default",
            "merge(...)",
            None,
            ldict,
            [UnknownItems("r", "{for ...}", None, "x", Unknown("k")), Unknown("var.more")],
            frozenset({"a"}),
        ),
        "list maybe": PartialList(
            "var.on has no default", "[for ...]", None, llist, [], frozenset({0})
        ),
    }
    back = codec.decode(codec.encode(value, Any), Any)
    assert _shape(back) == _shape(value)
    assert str(codec.decode(codec.encode(float("nan"), Any), Any)) == "nan"


@pytest.mark.parametrize(
    ("declared", "raw"),
    [
        (Problem, b""),
        (Problem, b"{"),
        (Problem, b"null"),
        (Problem, b'["f", "m", "1", "error"]'),  # a line that is text
        (Problem, b'["f", "m", true, "error"]'),  # a boolean is not a line
        (Problem, b'["f", "m"]'),
        (Problem, b'["f", "m", 1, "error", "more"]'),
        (Problem, b'{"file": "f", "message": "m", "line": 1, "level": "error"}'),
        (Problem, b'["f", "m", 1.5, "error"]'),
        (Problem, b"[" * 100_000 + b"]" * 100_000),
        (Problem, b"1" * 5000),  # over Python's integer digit limit
        (dict[str, Any], b'{"a": {"\\u0000": "Problem", "v": ["f", "m", 1, "error"]}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "os.system", "v": ["touch x"]}}'),
        (dict[str, Any], b'{"a": {"\\u0000": null}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "PartialList", "v": ["r", "t", null, []]}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "PartialList", "v": ["r", "t", null]}}'),
        (
            dict[str, Any],
            b'{"a": {"\\u0000": "PartialMap", "v": ["r", "t", null, '
            b'{"\\u0000": "LList", "v": [], "lines": [0, 0], "items": []}, [], '
            b'{"\\u0000": "frozenset", "v": []}]}}',
        ),  # a map's known items in a list
        (
            dict[str, Any],
            b'{"a": {"\\u0000": "PartialList", "v": ["r", "t", null, '
            b'{"\\u0000": "LList", "v": [], "lines": [0, 0], "items": []}, ["x"], '
            b'{"\\u0000": "frozenset", "v": []}]}}',
        ),  # a rest that is no unknown value
        (
            dict[str, Any],
            b'{"a": {"\\u0000": "PartialList", "v": ["r", "t", null, '
            b'{"\\u0000": "LList", "v": [], "lines": [0, 0], "items": []}, [], [0]]}}',
        ),  # a maybe that is no set
        (dict[str, Any], b'{"a": {"\\u0000": "UnknownItems", "v": ["r", "t", null, 1]}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "UnknownItems", "v": ["r", 2, null, 1, null]}}'),
        (dict[str, Any], b'{"\\u0000": "tuple", "v": []}'),  # a mapping was declared
        (
            dict[str, Any],
            b'{"a": {"\\u0000": "LDict", "v": [[1, 2]], "lines": ["a", 1], "keys": []}}',
        ),
        (dict[str, Any], b'{"a": {"\\u0000": "LList", "v": [], "lines": [1, 1], "items": [[1]]}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "Unknown", "v": [1, "t", null]}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "dict", "v": [[[1], 2]]}}'),  # an unhashable key
        (dict[str, Any], b'{"a": {"\\u0000": "int", "v": "zz"}}'),
        (dict[str, Any], b'{"a": {"\\u0000": "set", "v": [[1]]}}'),
        (list[str], b'["a", 1]'),
        # a tag's key written as a raw NUL, which JSON does not allow in a string
        (dict[str, Any], b'{"a": {"\x00": "tuple", "v": []}}'),
        # a mapping of declared values: its keys, then its values (a line pair's two numbers
        # in a row)
        (dict[str, tuple[int, int]], b'{"a": [1, 2]}'),  # written as a JSON object
        (dict[str, tuple[int, int]], b'[["a"], [1, "2"]]'),
        (dict[str, tuple[int, int]], b'[["a"], [true, 2]]'),
        (dict[str, tuple[int, int]], b'[["a"], [1, 2, 3]]'),
        (dict[str, tuple[int, int]], b'[["a"], [1]]'),
        (dict[str, tuple[int, int]], b'[["a"], [[1, 2]]]'),
        (dict[str, tuple[int, int]], b'[["a", "b"], [1, 2]]'),
        (dict[str, tuple[int, int]], b"[[1], [1, 2]]"),  # a key that is not text
        (dict[str, tuple[int, int]], b'[["a", "a"], [1, 2, 3, 4]]'),  # a key twice
        (dict[str, tuple[int, int]], b'[["a"], [1, 2], []]'),
        (dict[str, tuple[int, int]], b'[["a"]]'),
        (dict[str, tuple[int, int]], b'[{"a": 1}, [1, 2]]'),
        (dict[str, tuple[int, int]], b'[["a"], {"\\u0000": "tuple", "v": [1, 2]}]'),
        (dict[str, str], b'[["a"], [1]]'),
        (dict[str, str], b'[["a"], [null]]'),
        (dict[str, str], b'[["a", "b"], ["x"]]'),
        (dict[str, str], b'[["a"], ["x", "y"]]'),
        (dict[str, str | None], b'[["a"], [1]]'),
        (dict[str, list[str]], b'[["a"], [["x", 2]]]'),
        (dict[str, list[str]], b'[["a"], ["x"]]'),
        (dict[str, tuple[Location, str]], b'[["a"], [[["f", 1, "2"], "m"]]]'),
        (dict[str, tuple[Location, str]], b'[["a"], [[["f", 1, 2]]]]'),
        # a line-keeping list's item lines: two numbers in a row per item
        (dict[str, Any], b'{"a": {"\\u0000": "LList", "v": ["x"], "lines": [1, 1], "items": [1]}}'),
        (
            dict[str, Any],
            b'{"a": {"\\u0000": "LList", "v": ["x"], "lines": [1, 1], "items": [[1, 1]]}}',
        ),
        (
            dict[str, Any],
            b'{"a": {"\\u0000": "LList", "v": ["x"], "lines": [1, 1], "items": [1, "1"]}}',
        ),
        (Location, b'["f", 1, "2"]'),
        (Location, b'["f", 1, 2.0]'),
        (list[Location], b'[["f", 1, 2], ["f", 1]]'),
    ],
)
def test_a_wrong_entry_is_a_miss(declared, raw, tmp_path):
    assert _pack_holding(tmp_path, raw).get("some unit", declared) is None


@pytest.mark.parametrize(
    ("declared", "value"),
    [
        (dict[str, tuple[int, int]], {"b": (3, 4), "a": (1, 2)}),
        (dict[str, tuple[int, int]], {}),
        (dict[str, str], {"z": "1", "\u0000": "tuple", "\u0000x": "\ud800", "": ""}),
        (dict[str, str | None], {"a": None, "b": "x"}),
        (dict[str, list[str]], {"a": ["x", "y"], "b": []}),
        (dict[str, tuple[Location, str]], {"a": (Location("f", 1, 2), "m")}),
        (dict[str, list[Problem]], {"a": [Problem("f", "m", 2, "note")]}),
        (dict[str, Any], {"a": {"b": (1, 2)}, "c": [1.5, None]}),
    ],
)
def test_mappings_of_declared_values_round_trip_in_order(declared, value, tmp_path):
    raw = codec.encode(value, declared)
    back = _pack_holding(tmp_path, raw).get("some unit", declared)
    assert back == value and list(back) == list(value)
    assert [type(v) for v in back.values()] == [type(v) for v in value.values()]


def test_a_right_entry_is_a_hit(tmp_path):
    """(so that the misses above are the entries' doing)"""
    raw = codec.encode(Problem("f", "m", 3), Problem)
    assert _pack_holding(tmp_path, raw).get("some unit", Problem) == Problem("f", "m", 3)


@pytest.mark.parametrize(
    "where", [[-1, 5], [0, -1], [True, 5], [0, 5.0], [0], [0, 5, 0], "0,5", {}, [0, 10**9]]
)
def test_an_index_entry_that_is_not_a_place_in_the_pack_is_a_miss(where, tmp_path):
    raw = codec.encode(Problem("f", "m", 3), Problem)
    assert _pack_holding(tmp_path / "right", raw).get("some unit", Problem) == Problem("f", "m", 3)
    assert _pack_holding(tmp_path / "wrong", raw, where).get("some unit", Problem) is None


def _pack_holding(tmp_path: Path, raw: bytes, where: Any = None) -> cache.Pack:
    """A pack whose index files `raw` under the key "some unit" (at `where`, if given)."""
    folder = tmp_path / FOLDER
    folder.mkdir(mode=0o700, parents=True)
    where = [0, len(raw)] if where is None else where
    index = json.dumps({cache.key_digest("some unit"): where}).encode()
    (folder / "p.pack").write_bytes(cache.MAGIC + index + b"\n" + raw)
    (folder / "p.pack").chmod(0o600)
    return cache.Pack(folder, "p.pack")


def test_a_scan_with_a_corrupt_or_wrong_typed_pack_computes_again(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    store = tmp_path / "cache"
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(store))
    expected = _findings(str(tree))
    packs = list((store / FOLDER).glob("*.pack"))  # the unit pack and the rules pack
    assert len(packs) == 2
    for mangle in (
        lambda b: b.replace(b'"instance_metadata"', b"17"),  # kind of the wrong type
        # a rule's title that is a list
        lambda b: b.replace(b'"Instances allow IMDSv1 (session tokens not required)"', b"[]"),
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b.replace(b'nodes.tf",1,', b'nodes.tf","1",'),  # a location's line is text
        # the field lines (keys, then their line pairs' numbers in a row): a number short
        lambda b: b.replace(b"[2,5,3,3,4,4]", b"[2,5,3,3,4]"),
        lambda b: b.replace(b'[["metadata_options"', b"[[7"),  # a field name that is not text
        lambda b: b.replace(b'[["http_endpoint"],["EC2 default"]]', b'[["http_endpoint"],[false]]'),
        lambda b: b"not a pack",
    ):
        changed = False
        for pack in packs:
            data = pack.read_bytes()
            changed |= mangle(data) != data
            pack.write_bytes(mangle(data))
        assert changed
        assert _findings(str(tree)) == expected
    code, found, err = _findings(str(tree))
    assert (code, found, err) == (1, [("EKS202", 4)], "")


def test_concurrent_runs_never_read_half_a_pack(tmp_path, monkeypatch):
    """A pack is written to a temporary file and renamed: a reader that opened the old one
    reads all of it, and no temporary file is left behind."""
    tree = _tree(tmp_path)
    store = tmp_path / "cache"
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(store))
    _findings(str(tree))
    (pack,) = [p for p in (store / FOLDER).glob("*.pack") if b"nodes.tf" in p.read_bytes()]
    with open(pack, "rb") as reader:
        (tree / "infra" / "nodes.tf").write_text(INSECURE.replace("= 2", "= 3"))
        assert _findings(str(tree))[1] == [("EKS202", 4)]
        old = reader.read()
    assert b'"hop_limit":2' in old and b'"hop_limit":3' in pack.read_bytes()
    assert not [p for p in (store / FOLDER).iterdir() if p.name.startswith(".tmp-")]


# ---- pruning ----------------------------------------------------------------------------------
def test_prune_removes_only_what_the_tool_wrote(tmp_path, monkeypatch):
    """EKS_CHECKS_CACHE_DIR=. in a repository: its folders survive the daily prune."""
    tree = _tree(tmp_path)
    home = tmp_path / "work"
    for folder in ("vpc", "vendor", "v1", "v2-3", "v1.2.3-4", "values"):
        (home / folder).mkdir(parents=True)
        (home / folder / "main.tf").write_text("# theirs\n")
    (home / "v9.9.9-9").mkdir()  # a version folder's name, holding something else
    (home / "v9.9.9-9" / "notes.txt").write_text("theirs\n")
    (home / "v0.0.1-1" / "ab").mkdir(parents=True)  # what an old version wrote
    (home / "v0.0.1-1" / "ab" / ("c" * 62)).write_bytes(b"old entry")
    (home / "v0.0.2-4").mkdir()  # what a newer format of ours wrote
    (home / "v0.0.2-4" / cache.TAG_NAME).write_text(cache.TAG)
    (home / "v0.0.2-4" / ("d" * 32 + ".pack")).write_bytes(b"old pack")
    home.chmod(0o700)
    monkeypatch.chdir(home)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", ".")
    assert _findings(str(tree))[1] == [("EKS202", 4)]
    left = sorted(p.name for p in home.iterdir())
    assert left == sorted(["vpc", "vendor", "v1", "v2-3", "v1.2.3-4", "values", "v9.9.9-9", FOLDER])
    for folder in ("vpc", "vendor", "v1", "v2-3", "v1.2.3-4", "values"):
        assert (home / folder / "main.tf").read_text() == "# theirs\n"


def _pack(folder: Path, name: str, size: int, mtime: float) -> Path:
    path = folder / f"{name * 32}.pack"
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_prune_drops_the_least_recently_used_packs_over_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("EKS_CHECKS_CACHE_MAX_MB", "1")
    store, note = cache.open_cache()
    assert note == ""
    mib = 2**20
    oldest = _pack(store.folder, "a", mib // 2, 1_000)
    older = _pack(store.folder, "b", mib // 2, 2_000)
    recent = _pack(store.folder, "c", mib // 2, 3_000)
    stale_temp = store.folder / ".tmp-abc.pack"
    stale_temp.write_bytes(b"killed run")
    os.utime(stale_temp, (1_000, 1_000))
    store.prune(now=10_000)
    # 1.5 MiB over a 1 MiB budget: the oldest go until 0.75 MiB is left
    assert (oldest.exists(), older.exists(), recent.exists()) == (False, False, True)
    assert not stale_temp.exists()
    assert (store.folder / cache.TAG_NAME).read_text() == cache.TAG


def test_prune_looks_at_most_once_a_day(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("EKS_CHECKS_CACHE_MAX_MB", "0")
    store, _ = cache.open_cache()
    store.prune(now=100_000)
    first = _pack(store.folder, "e", 10, 50_000)
    store.prune(now=100_000 + 3_600)  # an hour later: not again
    assert first.exists()
    store.prune(now=100_000 + cache.PRUNE_EVERY + 1)
    assert not first.exists()


def test_what_other_code_computed_is_computed_again(tmp_path, monkeypatch):
    # a pre-commit hook moved to another revision of the same version shares the cache
    # folder: the units the last revision's code computed must not stand for this one's
    tree = _tree(tmp_path)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    expected = _findings(str(tree))
    ran = _units_run(monkeypatch, lambda f: f.display)
    assert _findings(str(tree)) == expected
    assert ran == []
    monkeypatch.setattr(cache, "code_stamp", lambda: "another revision")
    assert _findings(str(tree)) == expected
    assert ran == [str(tree / "infra" / "nodes.tf")]


def test_the_code_stamp_changes_with_an_edit_or_a_new_install_and_not_with_compiled_files(
    tmp_path,
):
    package = tmp_path / "checks"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("A = 1\n")
    (package / "sub" / "rules.yaml").write_text("id: X\n")
    first = cache.stamp_of(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert cache.stamp_of(package) == first
    os.utime(package / "sub" / "rules.yaml", ns=(1, 10**18))
    moved = cache.stamp_of(package)
    assert moved != first
    (package / "__init__.py").write_text("A = 2\n")  # the same size: the time tells
    os.utime(package / "__init__.py", ns=(1, 10**18 + 1))
    assert cache.stamp_of(package) != moved


def test_a_warm_run_marks_its_pack_used_so_it_survives_pruning(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    _findings(str(tree))
    folder = tmp_path / "cache" / FOLDER
    packs = list(folder.glob("*.pack"))
    for pack in packs:
        os.utime(pack, (1_000, 1_000))
    _findings(str(tree))
    assert all(p.stat().st_mtime > 1_000 for p in packs)


def test_a_file_whose_stamp_is_unchanged_is_not_read_and_an_edit_is_seen_whatever_its_stamp(
    tmp_path, monkeypatch
):
    """A warm run does not read a file whose size, times and inode are those of the run that
    digested it; an edit of the same size, with its modification time put back, moves the
    change time and is read."""
    from checks import runner

    tree = _tree(tmp_path)
    nodes = tree / "infra" / "nodes.tf"
    os.utime(nodes, ns=(10**18, 10**18))  # still for long: its stamp is kept
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    reads: list[str] = []

    def counted(path: str, max_bytes: int = 0):
        reads.append(os.path.basename(path))
        return real_read(path, max_bytes)

    real_read = runner.read_text
    monkeypatch.setattr(runner, "read_text", counted)
    assert _findings(str(tree))[1] == [("EKS202", 4)]  # fills the cache, stamps the file
    assert reads == ["nodes.tf"]  # parsed
    reads.clear()
    assert _findings(str(tree))[1] == [("EKS202", 4)]
    assert reads == []
    nodes.write_text(INSECURE.replace("limit = 2", "limit = 1"))
    os.utime(nodes, ns=(10**18, 10**18))
    assert _findings(str(tree))[1] == []
    assert reads == ["nodes.tf", "nodes.tf"]  # digested, parsed


def _stamps_table(records: dict[str, list]) -> bytes:
    """Stamps as the pack keeps them: the keys, the numbers in a row, the digests."""
    numbers = [n for record in records.values() for n in record[:-1]]
    digests = [record[-1] for record in records.values()]
    return json.dumps([list(records), numbers, digests]).encode()


def test_a_stamp_is_trusted_only_whole_and_unchanged(tmp_path):
    """A file's recorded stamp gives its digest only when its five numbers are the file's
    now and its digest is text; stamps that do not hold together (a tampered pack) give
    none, and a changed or missing file means the file is read again, never a traceback."""
    path = tmp_path / "nodes.tf"
    path.write_text(INSECURE)
    now = cache.file_stamp(str(path))
    assert now is not None
    table = {
        "same": [*now, "digest of nodes.tf"],
        "a digest that is not text": [*now, 7],
        "a null digest": [*now, None],
        "another size": [now[0] + 1, *now[1:], "d"],
        "another modification time": [now[0], now[1] + 1, *now[2:], "d"],
        "another change time": [*now[:2], now[2] + 1, *now[3:], "d"],
        "another inode": [*now[:3], now[3] + 1, now[4], "d"],
        "another device": [*now[:4], now[4] + 1, "d"],
        "a time as text": [now[0], str(now[1]), *now[2:], "d"],
    }
    stamps = cache.Stamps(_stamps_table(table))
    assert stamps.digest("same", str(path)) == "digest of nodes.tf"
    for key in [*table, "not recorded"]:
        if key != "same":
            assert stamps.digest(key, str(path)) is None, key
    assert stamps.digest("same", str(tmp_path / "gone.tf")) is None
    assert stamps.digest("same", "nul\0in the path") is None
    assert list(stamps.seen) == ["same"]  # what the next pack keeps
    assert json.loads(stamps.encoded()) == [["same"], now, ["digest of nodes.tf"]]
    whole = json.loads(_stamps_table({"same": [*now, "digest of nodes.tf"]}))
    for table_text in (
        b"[1]",
        b"{",
        b"null",
        b"[" * 100_000,
        json.dumps({"same": [*now, "digest of nodes.tf"]}).encode(),  # one list a file
        json.dumps(whole[:2]).encode(),
        json.dumps([whole[0], whole[1][:4], whole[2]]).encode(),  # four numbers
        json.dumps([whole[0], whole[1], []]).encode(),  # no digest
        json.dumps([[["same"]], whole[1], whole[2]]).encode(),  # a key that is not text
        json.dumps([whole[0], {"size": now[0]}, whole[2]]).encode(),
    ):
        assert cache.Stamps(table_text).digest("same", str(path)) is None, table_text[:40]


def test_a_unit_of_a_skipped_file_is_answered_from_the_cache(tmp_path, monkeypatch):
    """A Helm chart's template is skipped unread: its unit (its note) is cached like any
    other, keyed by why it is skipped, and a warm run reads nothing again."""

    chart = tmp_path / "repo" / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (chart / "templates" / "sa.yaml").write_text("kind: ServiceAccount\n{{ .Values.x }}\n")
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    ran = _units_run(monkeypatch, lambda f: os.path.basename(f.path))
    _, out, _ = cli("scan", str(tmp_path / "repo"), "--format", "json")
    notes = [p["message"] for p in json.loads(out)["problems"]]
    assert sorted(ran) == ["Chart.yaml", "sa.yaml"]
    ran.clear()
    _, out, _ = cli("scan", str(tmp_path / "repo"), "--format", "json")
    assert [p["message"] for p in json.loads(out)["problems"]] == notes
    assert "skipped: Helm chart template (Helm renders it; not read)" in notes
    assert ran == []


def test_the_entries_a_run_read_are_kept_in_the_pack_it_writes(tmp_path, monkeypatch):
    """A run that computes one unit again writes a new pack with the entries it read from
    the old one, unchanged: the run after it computes nothing."""

    tree = _tree(tmp_path)
    (tree / "infra" / "other.tf").write_text(INSECURE.replace('"n"', '"m"'))
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    ran = _units_run(monkeypatch, lambda f: os.path.basename(f.path))
    cli("scan", str(tree))
    assert sorted(ran) == ["nodes.tf", "other.tf"]  # one module: one unit
    (tree / "infra" / "vars.tf").write_text('variable "v" {}\n')
    (tree / "lone.yaml").write_text("kind: ServiceAccount\nmetadata:\n  name: s\n")
    ran.clear()
    first = _findings(str(tree))
    assert sorted(ran) == ["lone.yaml", "nodes.tf", "other.tf", "vars.tf"]
    (tree / "lone.yaml").write_text("kind: ServiceAccount\nmetadata:\n  name: t\n")
    ran.clear()
    assert _findings(str(tree)) == first
    assert ran == ["lone.yaml"]  # the module's entry was read from the pack and kept in it
    ran.clear()
    assert _findings(str(tree)) == first
    assert ran == []


def test_the_hook_answers_from_its_cache_whichever_files_it_is_given(tmp_path, monkeypatch):
    """The pre-commit hook is given other files at each commit, with the same tree as context:
    the units it read for the last commit are answered from the cache, not read again (the
    trees file() may read in were those of the files given, and so was every unit's key)."""

    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "examples", tree / "examples")
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    ran = _units_run(monkeypatch, lambda f: f.display)
    cli("scan", "examples/infra/github.tf", "--context-root", ".")
    assert "examples/k8s/shop/rbac.yaml" in ran
    ran.clear()
    for given in ("examples/k8s/shop/workloads.yaml", "examples/iam/vendor-audit-role.json"):
        code, _, err = cli("scan", given, "--context-root", ".")
        assert code == 1 and "not using the cache" not in err
    assert ran == []


def test_equal_strings_of_units_read_apart_become_one_object():
    from checks.model import share_strings

    def unit(index: int) -> Entity:
        # strings made at run time, as a worker's pickle or the cache's JSON makes them
        role = "".join(["hr-dev-", "role"])
        reason = "".join(["var.x is ", "not known"])
        fields = LDict({"name": role, "zeta": 1, "alpha": LList([role, 2], line=4)}, line=1)
        fields["arn"] = Unknown(reason, "".join(["${var.", "x}"]))
        fields["items"] = PartialList(reason, "concat()", None, LList(["".join(["r", "x"])]))
        entity = Entity("iam_role", f"k{index}", "terraform", Location("f.tf", 1, 2), fields)
        entity.field_origins["name"] = (Location("v.tf", 3, 3), "".join(["default of ", "x"]))
        return entity

    first, second = unit(1), unit(2)
    assert first.fields["name"] is not second.fields["name"]
    share_strings([first, second])
    one, two = first.fields, second.fields
    assert list(two) == ["name", "zeta", "alpha", "arn", "items"]  # the order is kept
    assert two["name"] is one["name"] and two["alpha"][0] is one["name"]
    assert two["arn"].reason is one["arn"].reason and two["arn"].text is one["arn"].text
    assert two["items"].known[0] is one["items"].known[0]
    assert second.field_origins["name"][1] is first.field_origins["name"][1]
    assert two["alpha"].line == 4 and two.line == 1 and two["zeta"] == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_after_one_cold_hook_run_a_warm_one_reads_no_file(tmp_path, monkeypatch, jobs):
    """The run that fills the cache also stamps the files it parsed (in this process or in
    workers): the next run, the hook's of the next commit, reads no file's bytes."""
    from checks import runner

    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)  # two jobs: parsed in workers
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "examples", tree / "examples")
    # a module call: the called module's files are read by its caller's unit too
    (tree / "examples" / "infra" / "call.tf").write_text(
        'module "nodes" {\n  source = "../nodes"\n}\n'
    )
    (tree / "examples" / "nodes").mkdir()
    (tree / "examples" / "nodes" / "main.tf").write_text(INSECURE)
    for path in (tree / "examples").rglob("*"):
        os.utime(path, ns=(10**18, 10**18))  # still for long: stamps are kept
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    opened = _files_opened(  # a file that is not there is not read
        monkeypatch,
        lambda path: path if path.startswith(str(tree)) or not os.path.isabs(path) else None,
    )
    cold = cli("scan", "examples/infra/github.tf", "--context-root", ".", "--jobs", jobs)
    if jobs == "1":  # what workers open is not seen here
        assert "./examples/k8s/shop/rbac.yaml" in opened
    opened.clear()
    warm = cli("scan", "examples/infra/github.tf", "--context-root", ".", "--jobs", jobs)
    assert warm == cold and warm[0] == 1
    assert opened == []


def test_a_warm_scan_leaves_nothing_out_of_the_collectors_sight(tmp_path, monkeypatch):
    """What a warm run decodes is kept from the garbage collector while the model is built,
    and given back to it after: a process that scans again and again (a server, the test
    suite) keeps no frozen objects."""
    import gc

    tree = _tree(tmp_path)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    assert _findings(str(tree))[1] == [("EKS202", 4)]
    frozen: list[int] = []
    real_link = scan_module.link

    def watched(entities):
        frozen.append(gc.get_freeze_count())
        return real_link(entities)

    monkeypatch.setattr(scan_module, "link", watched)
    assert _findings(str(tree))[1] == [("EKS202", 4)]
    assert frozen and frozen[0] > 0  # the decoded units, while link ran
    assert gc.get_freeze_count() == 0


def test_a_file_written_just_before_the_cold_run_is_not_stamped_however_long_the_run(
    tmp_path, monkeypatch
):
    """A cold run stamps a file only if it had been still for a while when it was read, not
    when the run ends: a write in the same clock tick as the read would leave the stamp
    alike. Here the run takes 10 s after reading (the clock jumps): the file written just
    before it, and the file its file() call read (no file of the scan), are read again by
    the next run."""
    from checks import cache, runner

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "trust.txt").write_text('{"Version": "2012-10-17", "Statement": []}')
    (tree / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "r"\n'
        '  assume_role_policy = file("${path.module}/trust.txt")\n}\n'
    )
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    late = {"ns": 0}
    real_time_ns = cache.time.time_ns
    real_run = runner.run_unit

    def slow(unit, opts, keyed=False):
        result = real_run(unit, opts, keyed)
        late["ns"] = 10 * 10**9  # the rest of the run, and its bookkeeping, come 10 s later
        return result

    monkeypatch.setattr(runner, "run_unit", slow)
    monkeypatch.setattr(cache.time, "time_ns", lambda: real_time_ns() + late["ns"])
    cli("scan", "main.tf", "--context-root", ".")
    monkeypatch.setattr(cache.time, "time_ns", real_time_ns)
    opened = _files_opened(monkeypatch, os.path.basename)
    cli("scan", "main.tf", "--context-root", ".")
    assert sorted(set(opened) & {"main.tf", "trust.txt"}) == ["main.tf", "trust.txt"]


def _rewrite_entries(pack: Path, change) -> int:
    """Rewrite each entry of `pack` as `change(raw)` says (None: as it is); how many changed."""
    data = pack.read_bytes()
    end = data.index(b"\n", len(cache.MAGIC))
    index = json.loads(data[len(cache.MAGIC) : end])
    entries = {}
    changed = 0
    for digest, (offset, length) in index.items():
        raw = data[end + 1 + offset : end + 1 + offset + length]
        new = change(raw)
        changed += new is not None
        entries[digest] = raw if new is None else new
    index, offset = {}, 0
    for digest, raw in entries.items():
        index[digest] = [offset, len(raw)]
        offset += len(raw)
    head = json.dumps(index).encode()
    pack.write_bytes(b"".join([cache.MAGIC, head, b"\n", *entries.values()]))
    return changed


def test_a_warm_run_reads_no_kustomization_unless_its_stamp_or_its_entry_says_to(
    tmp_path, monkeypatch
):
    """Grouping takes what it needs of a kustomization from the cache when the file's stamp is
    unchanged: a warm run opens none. An edit of the same size with the modification time
    put back (only the change time moved) is read, and so is a kustomization whose entry is
    corrupt or of another type: the report is always the one of a scan without the cache."""
    from checks.runner import Grouping
    from checks.sources.kustomize import Includes

    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "kustomize" / "names", tree / "names")
    for path in tree.rglob("*"):
        os.utime(path, ns=(10**18, 10**18))  # still for long: stamps are kept
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))

    def report(*options: str) -> str:
        _, out, _ = cli("scan", ".", "--format", "json", *options)
        doc = json.loads(out)
        return json.dumps({key: doc[key] for key in ("findings", "problems", "unknown")})

    opened = _files_opened(
        monkeypatch,
        lambda path: (
            os.path.relpath(path) if os.path.basename(path) == "kustomization.yaml" else None
        ),
    )
    before = report("--no-cache")
    assert report() == before  # cold: fills the cache, stamps the files
    opened.clear()
    assert report() == before
    assert opened == []
    overlay = tree / "names" / "overlay" / "kustomization.yaml"
    text = overlay.read_text()
    edited = text.replace("../base", "../bxse")  # the base is now a root of its own
    assert len(edited) == len(text)
    overlay.write_text(edited)
    os.utime(overlay, ns=(10**18, 10**18))  # only the change time says it changed
    after = report("--no-cache")
    assert after != before
    opened.clear()
    assert report() == after
    assert "names/overlay/kustomization.yaml" in opened
    opened.clear()
    assert report() == after
    assert opened == []
    packs = list((tmp_path / "cache" / FOLDER).glob("*.pack"))  # the units' and the rules'

    def kept(raw: bytes, declared: type) -> bool:
        try:
            return isinstance(codec.decode(raw, declared), declared)
        except Exception:  # noqa: BLE001 - any other entry
            return False

    def wrong_includes(raw: bytes, wrong: bytes) -> bytes | None:
        if kept(raw, Includes):
            return wrong
        # the units grouped as the last run did (`checks.runner.Grouping`), which would not
        # ask for any kustomization's entry
        return b"[[" if kept(raw, Grouping) else None

    for wrong in (b'[["a"],["b"]]', b'[["a"],["b"],[1]]', b"[[", b'{"\\u0000": "set", "v": []}'):
        corrupt = [_rewrite_entries(p, lambda raw, w=wrong: wrong_includes(raw, w)) for p in packs]
        assert sorted(corrupt) == [0, 3]
        opened.clear()
        assert report() == after
        assert sorted(opened) == [
            "names/base/kustomization.yaml",
            "names/overlay/kustomization.yaml",
        ]


def _pack_of(folder: Path, entries: dict[str, bytes]) -> cache.Pack:
    """A pack holding `entries` (key -> raw entry), next to each other in their order."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    index, offset = {}, 0
    for key, raw in entries.items():
        index[cache.key_digest(key)] = [offset, len(raw)]
        offset += len(raw)
    head = json.dumps(index).encode()
    (folder / "p.pack").write_bytes(cache.MAGIC + head + b"\n" + b"".join(entries.values()))
    (folder / "p.pack").chmod(0o600)
    return cache.Pack(folder, "p.pack")


def _problems(n: int) -> dict[str, bytes]:
    return {f"unit {i}": codec.encode(Problem(f"f{i}", "m" * i, i), Problem) for i in range(n)}


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_a_pack_written_again_keeps_every_entry_read_whether_the_kernel_copies_them_or_not(
    tmp_path, monkeypatch, kernel_copy
):
    """The entries a run read are copied into the next pack a run of neighbours at a time
    (in the kernel where the system can); read ones and fresh ones come back alike, and what
    was not read is not kept."""
    if not kernel_copy:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    pack = _pack_of(tmp_path / FOLDER, _problems(8))
    read = [0, 1, 2, 4, 5, 7]  # three runs of neighbours
    assert [pack.get(f"unit {i}", Problem) for i in read] == [
        Problem(f"f{i}", "m" * i, i) for i in read
    ]
    pack.save([(cache.key_digest("fresh"), Problem("g", "new", 9))], Problem)
    pack.wait()
    again = cache.Pack(tmp_path / FOLDER, "p.pack")
    assert len(again) == len(read) + 1
    assert [again.get(f"unit {i}", Problem) for i in read] == [
        Problem(f"f{i}", "m" * i, i) for i in read
    ]
    assert again.get("fresh", Problem) == Problem("g", "new", 9)
    assert again.get("unit 3", Problem) is None and again.get("unit 6", Problem) is None


def test_entries_cut_off_the_pack_before_it_is_written_again_are_misses_the_rest_kept(tmp_path):
    """A pack file cut short under a run (not one the tool writes: it replaces a pack whole)
    loses the entries past the cut; those before it, in the same run of neighbours, are
    still copied."""
    pack = _pack_of(tmp_path / FOLDER, _problems(6))
    assert all(pack.get(f"unit {i}", Problem) is not None for i in range(6))
    path = tmp_path / FOLDER / "p.pack"
    size = path.stat().st_size
    last = len(codec.encode(Problem("f5", "m" * 5, 5), Problem))
    os.truncate(path, size - last - 1)  # into the fifth entry
    pack.save([(cache.key_digest("fresh"), Problem("g", "new", 9))], Problem)
    pack.wait()
    again = cache.Pack(tmp_path / FOLDER, "p.pack")
    assert [again.get(f"unit {i}", Problem) for i in range(4)] == [
        Problem(f"f{i}", "m" * i, i) for i in range(4)
    ]
    assert again.get("unit 4", Problem) is None and again.get("unit 5", Problem) is None
    assert again.get("fresh", Problem) == Problem("g", "new", 9)


# ---- a base and its tail ----------------------------------------------------------------------
def _based(tmp_path: Path, monkeypatch, n: int = 8) -> Path:
    """A pack of `n` problems written as a base and an empty tail (any size is a base here);
    its folder."""
    monkeypatch.setattr(cache, "BASE_MIN", 0)
    folder = tmp_path / FOLDER
    pack = _pack_of(folder, _problems(n))
    assert all(pack.get(f"unit {i}", Problem) is not None for i in range(n))
    pack.save([(cache.key_digest("first"), Problem("g", "first", 1))], Problem)
    pack.wait()
    assert len(_bases(folder)) == 1
    return folder


def _bases(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.base"))


def _reopened(folder: Path) -> cache.Pack:
    return cache.Pack(folder, "p.pack")


def _problem(i: int) -> Problem:
    return Problem(f"f{i}", "m" * i, i)


def _read_all(pack: cache.Pack, n: int = 8) -> list:
    return [pack.get(f"unit {i}", Problem) for i in range(n)]


def test_a_run_that_changes_one_entry_writes_a_tail_and_leaves_the_base_untouched(
    tmp_path, monkeypatch
):
    folder = _based(tmp_path, monkeypatch)
    (base,) = _bases(folder)
    before = base.stat()
    pack = _reopened(folder)
    assert _read_all(pack) == [_problem(i) for i in range(8)]
    assert pack.get("first", Problem) == Problem("g", "first", 1)
    pack.save([(cache.key_digest("second"), Problem("g", "second", 2))], Problem)
    pack.wait()
    assert _bases(folder) == [base]
    after = base.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )
    tail = (folder / "p.pack").read_bytes()
    assert b'"second"' in tail and b'"first"' not in tail and b'"f3"' not in tail
    again = _reopened(folder)
    assert len(again) == 10
    assert _read_all(again) == [_problem(i) for i in range(8)]
    assert again.get("first", Problem) == Problem("g", "first", 1)
    assert again.get("second", Problem) == Problem("g", "second", 2)
    # the run after it reads the base and the tail, keeps them all, and writes nothing
    _read_all(again)
    again.get("first", Problem), again.get("second", Problem)
    written = (folder / "p.pack").stat().st_ino
    again.save()
    assert (folder / "p.pack").stat().st_ino == written


def test_forgotten_entries_of_the_base_and_of_the_tail_are_not_served_again(tmp_path, monkeypatch):
    folder = _based(tmp_path, monkeypatch)
    pack = _reopened(folder)
    _read_all(pack)
    pack.save([(cache.key_digest("in the tail"), Problem("g", "t", 2))], Problem)
    pack.wait()
    pack = _reopened(folder)
    _read_all(pack)
    pack.get("in the tail", Problem)
    pack.forget("unit 2")  # in the base
    pack.forget("in the tail")
    assert pack.get("unit 2", Problem) is None and pack.get("in the tail", Problem) is None
    pack.save([(cache.key_digest("third"), Problem("g", "third", 3))], Problem)
    pack.wait()
    again = _reopened(folder)
    assert again.get("unit 2", Problem) is None and again.get("in the tail", Problem) is None
    assert len(again) == 8
    assert [again.get(f"unit {i}", Problem) for i in (0, 1, 3, 7)] == [
        _problem(i) for i in (0, 1, 3, 7)
    ]


def test_an_entry_that_failed_to_decode_and_one_not_read_are_not_kept(tmp_path, monkeypatch):
    """As with a pack written whole: what a run did not read, or could not decode, is left
    out of what the next run sees, though it stays in the base until the base is written
    again."""
    folder = _based(tmp_path, monkeypatch)
    (base,) = _bases(folder)
    pack = _reopened(folder)
    for i in range(7):  # all but unit 7; unit 4 (a Problem) asked for as a Location
        value = pack.get(f"unit {i}", Location if i == 4 else Problem)
        assert value == (None if i == 4 else _problem(i))
    pack.get("first", Problem)
    pack.save([(cache.key_digest("second"), Problem("g", "second", 2))], Problem)
    pack.wait()
    again = _reopened(folder)
    assert again.raw("unit 4") is None and again.raw("unit 7") is None
    assert again.get("unit 3", Problem) == _problem(3)
    assert len(again) == 8  # 0-3, 5, 6, first, second
    assert _bases(folder) == [base]


def _stamp_of(path: Path, digest: str) -> list:
    stamp = cache.file_stamp(str(path))
    assert stamp is not None
    return [*stamp, digest]


def test_the_tail_carries_the_stamps_that_changed_over_the_base(tmp_path, monkeypatch):
    """A changed stamp in the tail wins over the base's; a file not looked at keeps its
    stamp in the base until the base is written again."""
    monkeypatch.setattr(cache, "BASE_MIN", 0)
    files = {}
    for name in ("a", "b", "c"):
        files[name] = tmp_path / f"{name}.tf"
        files[name].write_text(name)
    folder = tmp_path / FOLDER
    pack = _pack_of(folder, _problems(4))
    _read_all(pack, 4)
    for name, path in files.items():
        pack.stamps.record_still(name, _stamp_of(path, f"old {name}")[:-1], f"old {name}")
    pack.save()
    (base,) = _bases(folder)
    before = base.stat()
    pack = _reopened(folder)
    _read_all(pack, 4)
    assert pack.stamps.digest("a", str(files["a"])) == "old a"
    assert pack.stamps.digest("b", str(files["b"])) == "old b"
    files["b"].write_text("bb")
    assert pack.stamps.digest("b", str(files["b"])) is None
    pack.stamps.record_still("b", _stamp_of(files["b"], "")[:-1], "new b")
    pack.save()  # c not looked at
    assert _bases(folder) == [base] and base.stat().st_mtime_ns == before.st_mtime_ns
    tail = (folder / "p.pack").read_bytes()
    assert b"new b" in tail and b"old a" not in tail
    pack = _reopened(folder)
    _read_all(pack, 4)
    assert pack.stamps.digest("b", str(files["b"])) == "new b"
    assert pack.stamps.digest("c", str(files["c"])) == "old c"  # still in the base
    pack = _reopened(folder)
    _read_all(pack, 4)
    assert pack.stamps.digest("b", str(files["b"])) == "new b"
    pack.stamps.record_still("a", _stamp_of(files["a"], "")[:-1], "again a")
    monkeypatch.setattr(cache, "TAIL_MAX", 0)  # the base written again: without c
    pack.save()
    assert len(_bases(folder)) == 1 and _bases(folder) != [base]
    again = _reopened(folder)
    assert again.stamps.digest("a", str(files["a"])) == "again a"
    assert again.stamps.digest("b", str(files["b"])) == "new b"
    assert again.stamps.digest("c", str(files["c"])) is None


def test_a_tail_past_its_bound_is_folded_into_a_new_base(tmp_path, monkeypatch):
    folder = _based(tmp_path, monkeypatch)
    (base,) = _bases(folder)
    monkeypatch.setattr(cache, "TAIL_MAX", 200)
    pack = _reopened(folder)
    _read_all(pack)
    pack.save([(cache.key_digest("small"), Problem("g", "s", 1))], Problem)
    assert _bases(folder) == [base]  # under the bound: a tail
    pack = _reopened(folder)
    _read_all(pack)
    pack.get("small", Problem)
    pack.save([(cache.key_digest("large"), Problem("g", "l" * 300, 1))], Problem)
    (new,) = _bases(folder)
    assert new != base
    assert b'["g","s",1,' in new.read_bytes() and b"l" * 300 in new.read_bytes()
    again = _reopened(folder)
    assert _read_all(again) == [_problem(i) for i in range(8)]
    assert again.get("large", Problem) == Problem("g", "l" * 300, 1)
    assert again.get("small", Problem) == Problem("g", "s", 1)


def test_a_base_mostly_unused_is_written_again_and_the_old_one_removed(tmp_path, monkeypatch):
    folder = _based(tmp_path, monkeypatch)
    (base,) = _bases(folder)
    pack = _reopened(folder)
    assert [pack.get(f"unit {i}", Problem) for i in (6, 7)] == [_problem(6), _problem(7)]
    pack.save([(cache.key_digest("second"), Problem("g", "second", 2))], Problem)
    (new,) = _bases(folder)
    assert new != base and not base.exists()
    again = _reopened(folder)
    assert len(again) == 3
    assert again.get("unit 7", Problem) == _problem(7)
    assert again.get("second", Problem) == Problem("g", "second", 2)
    assert again.get("unit 1", Problem) is None


def _tail_and_base(folder: Path) -> tuple[Path, Path]:
    pack = _reopened(folder)
    _read_all(pack)
    pack.get("first", Problem)
    pack.save([(cache.key_digest("second"), Problem("g", "second", 2))], Problem)
    (base,) = _bases(folder)
    return folder / "p.pack", base


def _served(folder: Path) -> list:
    """What a run is given of the pack (never an exception)."""
    pack = _reopened(folder)
    found = [*_read_all(pack), pack.get("first", Problem), pack.get("second", Problem)]
    assert len(pack) >= sum(value is not None for value in found)
    return found


def _cold(folder: Path) -> None:
    assert _served(folder) == [None] * 10


@pytest.mark.parametrize(
    "damage",
    [
        "base missing",
        "base of another id",
        "base of another size",
        "base of another user's mode",
        "base is a folder",
        "base is a link",
        "tail names a path",
    ],
)
def test_a_tail_without_its_own_base_is_a_cold_run(tmp_path, monkeypatch, damage):
    folder = _based(tmp_path, monkeypatch)
    tail, base = _tail_and_base(folder)
    assert _served(folder)[-1] == Problem("g", "second", 2)
    data = base.read_bytes()
    if damage == "base missing":
        base.unlink()
    elif damage == "base of another id":
        own = re.search(rb'"id":"([0-9a-f]+)"', data).group(1)
        base.write_bytes(data.replace(own, b"0" * len(own)))
    elif damage == "base of another size":
        base.write_bytes(data + b" ")
    elif damage == "base of another user's mode":
        base.chmod(0o666)
    elif damage == "base is a folder":
        base.unlink()
        base.mkdir()
    elif damage == "base is a link":
        moved = folder / "elsewhere"
        base.rename(moved)
        base.symlink_to(moved)
    else:
        name = re.search(rb'"base":\["([0-9a-f]+)"', tail.read_bytes()).group(1)
        tail.write_bytes(tail.read_bytes().replace(name, b"../../" + name))
    _cold(folder)
    pack = _reopened(folder)
    pack.save([(cache.key_digest("anew"), Problem("g", "anew", 3))], Problem)
    assert _reopened(folder).get("anew", Problem) == Problem("g", "anew", 3)


@pytest.mark.parametrize("which", ["tail", "base"])
def test_a_truncated_tail_or_base_is_a_miss_never_an_error(tmp_path, monkeypatch, which):
    folder = _based(tmp_path, monkeypatch)
    tail, base = _tail_and_base(folder)
    path = tail if which == "tail" else base
    data = path.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 40)):
        path.write_bytes(data[:cut])
        served = _served(folder)
        assert all(value in (None, *[_problem(i) for i in range(8)]) for value in served[:8])
    path.write_bytes(data)
    assert _served(folder)[:8] == [_problem(i) for i in range(8)]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@hypothesis.given(data=st.data())
def test_garbled_tails_and_bases_are_misses_never_errors(tmp_path_factory, data):
    """Whatever bytes the tail or the base hold, a run is served right entries or misses,
    never an exception, and writes a pack the next run can read."""
    folder = tmp_path_factory.mktemp("fuzz") / FOLDER
    real = cache.BASE_MIN
    cache.BASE_MIN = 0
    try:
        pack = _pack_of(folder, _problems(8))
        _read_all(pack)
        pack.save()
        pack = _reopened(folder)
        _read_all(pack)
        pack.save([(cache.key_digest("second"), Problem("g", "second", 2))], Problem)
        (base,) = _bases(folder)
        tail = folder / "p.pack"
        path = data.draw(st.sampled_from([tail, base]))
        raw = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(raw)))
            what = data.draw(st.binary(max_size=12))
            cut = data.draw(st.integers(0, 12))
            raw[at : at + cut] = what
        path.write_bytes(bytes(raw))
        path.chmod(0o600)
        pack = _reopened(folder)
        found = [*_read_all(pack), pack.get("second", Problem), pack.raw("second")]
        assert all(v in (None, _problem(i)) for i, v in enumerate(found[:8]))
        assert found[8] in (None, Problem("g", "second", 2))
        pack.save([(cache.key_digest("third"), Problem("g", "third", 3))], Problem)
        assert _reopened(folder).get("third", Problem) == Problem("g", "third", 3)
    finally:
        cache.BASE_MIN = real
        shutil.rmtree(folder.parent)


def test_two_processes_writing_at_once_leave_a_readable_pack(tmp_path, monkeypatch):
    folder = _based(tmp_path, monkeypatch, n=40)
    children = []
    for worker in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                for round_ in range(15):
                    pack = _reopened(folder)
                    for i in range(40 if round_ % 5 else 10):  # now and then: a new base
                        pack.get(f"unit {i}", Problem)
                    pack.save(
                        [(cache.key_digest(f"w{worker} r{round_}"), Problem("w", "r", round_))],
                        Problem,
                    )
                    pack.wait()
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    pack = _reopened(folder)
    served = _read_all(pack, 40)
    assert all(value in (None, _problem(i)) for i, value in enumerate(served))
    last = [pack.get(f"w{w} r14", Problem) for w in range(2)]
    assert Problem("w", "r", 14) in last  # the last writer's pack
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


def test_prune_removes_an_orphan_base_not_a_live_one(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "BASE_MIN", 0)
    store, _ = cache.open_cache()
    pack = store.pack("some run")
    pack.save([(cache.key_digest("x"), Problem("g", "x", 1))], Problem)
    (live,) = _bases(store.folder)
    stem = live.name.split("-")[0]
    orphan = store.folder / f"{stem}-{'0' * 16}.base"
    young = store.folder / f"{stem}-{'1' * 16}.base"
    for path in (orphan, young):
        shutil.copy(live, path)
    for path in (live, orphan):
        os.utime(path, (1_000, 1_000))
    store.prune(now=1_000 + cache.STALE_TEMP + 1)
    assert live.exists() and young.exists() and not orphan.exists()
    assert store.pack("some run").get("x", Problem) == Problem("g", "x", 1)


def test_prune_counts_bases_in_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("EKS_CHECKS_CACHE_MAX_MB", "1")
    monkeypatch.setattr(cache, "BASE_MIN", 0)
    store, _ = cache.open_cache()
    big = {f"unit {i}": b'"' + b"x" * 2**16 + b'"' for i in range(10)}  # 0.63 MiB
    for name, mtime in (("older run", 1_000), ("recent run", 2_000)):
        pack = store.pack(name)
        pack.save([(cache.key_digest(k), v.decode()[1:-1]) for k, v in big.items()], str)
        pack.wait()
        for path in store.folder.iterdir():
            if path.suffix in (".pack", ".base") and path.stat().st_mtime > 10_000:
                os.utime(path, (mtime, mtime))
    assert len(_bases(store.folder)) == 2
    store.prune(now=1_000_000)
    assert store.pack("older run").get("unit 1", str) is None
    assert store.pack("recent run").get("unit 1", str) == "x" * 2**16
    assert len(_bases(store.folder)) == 1


def test_hook_runs_over_a_base_and_its_tails_report_what_a_scan_without_the_cache_does(
    tmp_path, monkeypatch
):
    """Commits of the pre-commit hook over a pack written as a base and tails: each edit
    is kept in the tail, the base is not written again, and every report is the one of a
    scan without the cache."""
    monkeypatch.setattr(cache, "BASE_MIN", 0)
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "examples", tree / "examples")
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    given = "examples/infra/github.tf"
    edited = tree / "examples" / "k8s" / "shop" / "rbac.yaml"
    text = edited.read_text()
    cli("scan", given, "--context-root", ".")
    cli("scan", given, "--context-root", ".")  # the second run: the stamps settled

    def bases() -> dict[str, tuple[int, int]]:
        return {
            p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (tmp_path / "cache" / FOLDER).glob("*.base")
        }

    first = bases()
    assert first
    ran = _units_run(monkeypatch, lambda f: f.display)
    for change in ("\n# one\n", "\n# two\n", ""):
        edited.write_text(text + change)
        ran.clear()
        warm = cli("scan", given, "--context-root", ".", "--format", "json")
        assert ran == ["examples/k8s/shop/rbac.yaml"]
        assert warm == cli("scan", given, "--context-root", ".", "--format", "json", "--no-cache")
        assert bases() == first


def test_an_entry_of_the_tail_made_again_counts_once_in_the_tails_bound(tmp_path, monkeypatch):
    """A run that reads an entry of the tail and puts it again (the hook's index, kept up to
    date at each commit) writes it once: its old bytes do not count in the tail's bound,
    and the base is not written again for them."""
    folder = _based(tmp_path, monkeypatch)
    (base,) = _bases(folder)
    size = base.stat().st_size // 4 * 3 // 5  # three fifths of the bound: once fits, twice not
    for step in range(3):
        pack = _reopened(folder)
        _read_all(pack)
        pack.get("first", Problem)
        assert (pack.raw("index") is not None) == (step > 0)
        pack.put("index", Problem("i", "x" * size, step), Problem)
        pack.save()
        pack.wait()
        assert _bases(folder) == [base], step
    assert _reopened(folder).get("index", Problem) == Problem("i", "x" * size, 2)


def test_a_tail_past_a_quarter_of_its_base_is_folded_into_a_new_base(tmp_path, monkeypatch):
    folder = _based(tmp_path, monkeypatch)
    (base,) = _bases(folder)
    quarter = base.stat().st_size // 4
    pack = _reopened(folder)
    _read_all(pack)
    pack.get("first", Problem)
    pack.save([(cache.key_digest("large"), Problem("g", "l" * quarter, 1))], Problem)
    (new,) = _bases(folder)
    assert new != base and b"l" * quarter in new.read_bytes()
    assert _read_all(_reopened(folder)) == [_problem(i) for i in range(8)]


def test_a_tail_over_a_large_base_is_written_without_a_fork_a_new_base_by_one(
    tmp_path, monkeypatch
):
    """The hook's commit writes its few kilobytes itself; writing a large base is left to a
    forked process while the scan goes on."""
    folder = _based(tmp_path, monkeypatch)
    monkeypatch.setattr(cache, "BACKGROUND_BYTES", 0)  # every base is large here
    forks: list[int] = []
    real_fork = os.fork

    def counted() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counted)
    pack = _reopened(folder)
    _read_all(pack)
    pack.save([(cache.key_digest("second"), Problem("g", "second", 2))], Problem)
    assert forks == []
    pack = _reopened(folder)
    pack.get("unit 7", Problem)  # most of the base left out: a new base
    pack.save([(cache.key_digest("third"), Problem("g", "third", 3))], Problem)
    pack.wait()
    assert forks == [1]
    again = _reopened(folder)
    assert len(again) == 2 and again.get("third", Problem) == Problem("g", "third", 3)


@pytest.mark.parametrize(
    ("stamps", "packed"),
    [
        (
            {
                "/t/a.tf": [10, 1, 2, 3, 4, "a" * 64],
                "read\0/t/\u00e9\udcff.tf": [0, -5, 7, 2**63 - 1, 9, "b" * 64],
            },
            True,
        ),
        ({"/t/a.tf": [10, 1, 2, 2**64 - 1, 4, "a" * 64]}, False),  # an inode past 63 bits
        ({"/t/a.tf": [10, 1, 2, 3, 4, "not a sha256"]}, False),  # a digest of another shape
    ],
    ids=["packed", "a number too large", "another digest"],
)
def test_stamps_are_read_back_as_written_packed_or_not(stamps, packed):
    """Stamps are packed (the keys' lengths, their text, the numbers and the digests in a
    row, read at C speed), or written as three JSON lists when a number does not fit 64
    bits or a digest is not a sha256's; either reads back as written."""
    raw = cache._stamps_bytes(stamps)
    assert raw.startswith(cache._PACKED) == packed
    keys, numbers, digests = cache._stamp_lists(raw)
    assert keys == list(stamps)
    assert list(numbers) == [n for stamp in stamps.values() for n in stamp[:5]]
    assert digests == [stamp[5] for stamp in stamps.values()]


def test_packed_stamps_that_do_not_add_up_are_none_never_an_error():
    raw = cache._stamps_bytes(
        {"/t/a.tf": [10, 1, 2, 3, 4, "a" * 64], "/t/b": [1, 2, 3, 4, 5, "c" * 64]}
    )
    other = "big" if sys.byteorder == "little" else "little"
    broken = [
        raw[:-1],  # cut short
        raw + b"x",  # more after the digests
        raw.replace(sys.byteorder.encode(), other.encode(), 1),  # another machine's
        raw.replace(b"2 ", b"3 ", 1),  # more stamps than written
        raw.replace(b"/t/a.tf", b"/t/a\xff\xfe\xfd", 1),  # keys that are not UTF-8
        cache._PACKED + b"x y z\n",
        cache._PACKED,
    ]
    for bad in broken:
        assert cache._stamp_lists(bad) is None, bad


def test_a_tails_stamps_that_do_not_pack_are_read_over_a_packed_base(tmp_path):
    """The base's stamps packed, the tail's in JSON (an inode past 63 bits): a file of each
    is known by its stamp."""
    files = [tmp_path / "a.tf", tmp_path / "b.tf"]
    for f in files:
        f.write_text("x")
    base_stamp, tail_stamp = (cache.file_stamp(str(f)) for f in files)
    tail_stamp[3] = 2**64 - 1  # what the tail holds; the file's own inode differs
    base = cache._stamps_bytes({str(files[0]): [*base_stamp, "a" * 64]})
    tail = cache._stamps_bytes(
        {str(files[1]): [*tail_stamp, "b" * 64], "c": [*base_stamp, "c" * 64]}
    )
    assert base.startswith(cache._PACKED) and not tail.startswith(cache._PACKED)
    stamps = cache.Stamps(base, tail)
    assert stamps.digest(str(files[0]), str(files[0])) == "a" * 64
    assert stamps.digest(str(files[1]), str(files[1])) is None  # the inode is not the file's
    assert stamps.digest("c", str(files[0])) == "c" * 64


def _stamped(tmp_path: Path, count: int) -> tuple[cache.Stamps, list[Path]]:
    """Stamps of `count` files, each still for long, as a pack holds them."""
    files = []
    for i in range(count):
        f = tmp_path / f"f{i}.yaml"
        f.write_text(f"{i}\n")
        os.utime(f, ns=(10**18, 10**18))
        files.append(f)
    raw = cache._stamps_bytes(
        {str(f): [*cache.file_stamp(str(f)), f"{i:064x}"] for i, f in enumerate(files)}
    )
    return cache.Stamps(raw), files


def test_files_a_forked_process_found_unchanged_are_not_looked_at_again(tmp_path, monkeypatch):
    """`Stamps.prefetch` stats every stamped file in a forked process: what it found
    unchanged is not stat'ed again here, and what it found changed (edited before) is, and
    reads as changed."""
    monkeypatch.setattr(cache, "PREFETCH_BYTES", 0)
    stamps, files = _stamped(tmp_path, 50)
    files[7].write_text("edited\n")
    stamps.prefetch()
    looked: list[str] = []
    real = os.stat
    monkeypatch.setattr(cache.os, "stat", lambda p, *a, **k: looked.append(p) or real(p, *a, **k))
    found = [stamps.digest(str(f), str(f)) for f in files]
    assert found == [None if i == 7 else f"{i:064x}" for i in range(50)]
    assert looked == [str(files[7])]
    stamps.settle()


@pytest.mark.parametrize("fails", ["dies", "says less", "says nothing"])
def test_a_forked_look_that_fails_leaves_every_file_looked_at_here(tmp_path, monkeypatch, fails):
    monkeypatch.setattr(cache, "PREFETCH_BYTES", 0)
    stamps, files = _stamped(tmp_path, 20)
    files[3].write_text("edited\n")
    real = cache.Stamps._unchanged_now

    def unchanged_now(self):
        if fails == "dies":
            os.kill(os.getpid(), 9)
        return real(self)[:-1] if fails == "says less" else b""

    monkeypatch.setattr(cache.Stamps, "_unchanged_now", unchanged_now)
    stamps.prefetch()
    found = [stamps.digest(str(f), str(f)) for f in files]
    assert found == [None if i == 3 else f"{i:064x}" for i in range(20)]


def test_a_path_that_goes_up_is_looked_at_here_whatever_the_forked_process_found(
    tmp_path, monkeypatch
):
    """The forked process looks at each file by its key (its absolute, normalized path): a
    path with `..` may be another file (through a symbolic link), so it is stat'ed again."""
    monkeypatch.setattr(cache, "PREFETCH_BYTES", 0)
    stamps, files = _stamped(tmp_path, 3)
    stamps.prefetch()
    (tmp_path / "sub").mkdir()
    looked = []
    real = os.stat
    monkeypatch.setattr(cache.os, "stat", lambda p, *a, **k: looked.append(p) or real(p, *a, **k))
    up = str(tmp_path / "sub" / ".." / files[1].name)
    assert stamps.digest(str(files[1]), up) == f"{1:064x}"
    assert looked == [up]


def test_a_warm_scan_with_the_forked_look_reports_what_a_scan_without_the_cache_does(
    tmp_path, monkeypatch
):
    """End to end, the whole scan and the hook's, warm, with every file's stat looked at by
    the forked process, after an edit: the report of a scan without the cache."""
    monkeypatch.setattr(cache, "PREFETCH_BYTES", 0)
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "examples", tree / "examples")
    for path in tree.rglob("*"):
        os.utime(path, ns=(10**18, 10**18))
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    given = ["examples/infra/github.tf", "--context-root", "."]
    for args in (["."], given):
        cli("scan", *args)
        cli("scan", *args)
    edited = tree / "examples" / "k8s" / "shop" / "rbac.yaml"
    edited.write_text(edited.read_text() + "\n# an edit\n")
    os.utime(edited, ns=(10**18 + 10**9, 10**18 + 10**9))
    for args in (["."], given):
        warm = cli("scan", *args, "--format", "json")
        assert warm == cli("scan", *args, "--format", "json", "--no-cache")
