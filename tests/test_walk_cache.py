"""The walk kept in the cache (`checks.discover.Walked`): a folder that did not change is not
listed again, and whatever changed in the tree between two walks, the walk that starts from
what the cache kept finds exactly what a fresh walk finds: the same files, in the same order,
the same problems in the same order, the same exclude patterns matched."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks import discover as discover_module
from checks.cache import Cache
from checks.discover import Walked, discover
from checks.sources import classify

SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"
POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and symlinks")


@pytest.fixture
def settled(monkeypatch):
    """Every folder looks as if it had not changed for long when it is listed (the clock an
    hour ahead), so that the walk keeps what it lists; a test then moves the modification
    time of a folder it changes past the one the walk saw, as a later clock tick would."""
    real = discover_module.time.time_ns
    monkeypatch.setattr(discover_module.time, "time_ns", lambda: real() + 3600 * 10**9)


def _later(*folders: Path) -> None:
    """The modification time of each folder a second past what it was: the change was made
    in a later clock tick than the walk that listed it."""
    for folder in folders:
        st = os.stat(folder)
        os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


class Walker:
    """Walks of a tree with a cache pack, each saved for the next, beside fresh walks; and
    how many folders each walk listed."""

    def __init__(self, cache_dir: Path, monkeypatch) -> None:
        cache_dir.mkdir(exist_ok=True)
        self.cache = Cache(cache_dir)
        self.listed: list[str] = []
        real = discover_module._typed_listing

        def counted(directory, onerror):
            self.listed.append(directory)
            return real(directory, onerror)

        monkeypatch.setattr(discover_module, "_typed_listing", counted)
        self.quick = 0  # walks that made their files without walking
        found = discover_module._Listings.found

        def quick(listings, top, seen):
            files = found(listings, top, seen)
            self.quick += files is not None
            return files

        monkeypatch.setattr(discover_module._Listings, "found", quick)

    def walk(self, paths: list[str], excludes: list[str] = (), cached: bool = True):
        """(files as their fields, problems, exclude patterns matched, folders listed)."""
        self.listed = []
        pack = self.cache.pack("walks") if cached else None
        hits: set[str] = set()
        files, problems = discover(paths, classify, list(excludes), None, None, hits, pack)
        if pack is not None:
            pack.save()
        return [vars(f) for f in files], problems, hits, list(self.listed)

    def same_as_fresh(self, paths: list[str], excludes: list[str] = ()) -> list[str]:
        """Walk from the cache and afresh, check that they find the same; the folders the
        walk from the cache listed."""
        *cached, listed = self.walk(paths, excludes)
        *fresh, _all = self.walk(paths, excludes, cached=False)
        assert cached == fresh
        return listed


def _tree(top: Path, plain: bool = False) -> Path:
    """A tree of every kind of entry; `plain`: without the folder whose name shows escaped,
    so that a walk finding no folder changed makes its files again without walking
    (`checks.discover._Found`)."""
    tree = top / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "sa.yaml").write_text(SA)
    (tree / "a" / "main.tf").write_text("")
    (tree / "a" / "README.md").write_text("")
    if not plain:
        (tree / os.fsdecode(b"m\xff")).mkdir()
        (tree / os.fsdecode(b"m\xff") / "back\\slash.yaml").write_text(SA)
    (tree / "node_modules").mkdir()
    (tree / "node_modules" / "x.yaml").write_text(SA)
    (tree / "chart" / "templates").mkdir(parents=True)
    (tree / "chart" / "templates" / "sa.yaml").write_text(SA)
    (tree / "target").mkdir()
    outside = top / "outside"
    outside.mkdir()
    (outside / "o.yaml").write_text(SA)
    (tree / "link-in.yaml").symlink_to(tree / "a" / "b" / "sa.yaml")
    (tree / "link-out.yaml").symlink_to(outside / "o.yaml")
    (tree / "dangling.yaml").symlink_to(tree / "gone.yaml")
    (tree / "dir-out").symlink_to(outside)
    (tree / "a" / "which.yaml").symlink_to(tree / "target")  # a folder, for now
    (outside / "thing").write_text("")
    (tree / "a" / "out").symlink_to(outside / "thing")  # a file of no kind, for now
    os.mkfifo(tree / "pipe.yaml")
    return tree


def _replace_by_link(path: Path, target: Path) -> None:
    path.unlink()
    path.symlink_to(target)


def _replace_by_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


# each change, and the folders whose entries it changes (their modification time moved by
# the change, as the system does): the others are not listed again
CHANGES = {
    "a file added": (lambda t: (t / "a" / "new.tf").write_text(""), ["a"]),
    "a file removed": (lambda t: (t / "a" / "main.tf").unlink(), ["a"]),
    "a file renamed": (lambda t: (t / "a" / "main.tf").rename(t / "a" / "other.tf"), ["a"]),
    "a file moved to another folder": (
        lambda t: (t / "a" / "main.tf").rename(t / "a" / "b" / "main.tf"),
        ["a", "a/b"],
    ),
    "a folder added": (
        lambda t: ((t / "a" / "c").mkdir(), (t / "a" / "c" / "x.yaml").write_text(SA)),
        ["a"],
    ),
    "a folder removed": (lambda t: shutil.rmtree(t / "a" / "b"), ["a"]),
    "a folder renamed": (lambda t: (t / "a" / "b").rename(t / "a" / "bb"), ["a"]),
    "a file replaced by a symlink out of the tree": (
        lambda t: _replace_by_link(t / "a" / "main.tf", t.parent / "outside" / "o.yaml"),
        ["a"],
    ),
    "a file replaced by a FIFO": (lambda t: _replace_by_fifo(t / "a" / "main.tf"), ["a"]),
    "a dangling symlink added": (
        lambda t: (t / "a" / "gone.tf").symlink_to(t / "nowhere.tf"),
        ["a"],
    ),
    "a name no source reads added": (lambda t: (t / "a" / "notes.txt").write_text(""), ["a"]),
    # what changes elsewhere than in the folder of the name it concerns
    "a symlink's target removed": (lambda t: (t / "a" / "b" / "sa.yaml").unlink(), ["a/b"]),
    "a symlink's target brought back": (
        lambda t: (t / "gone.yaml").write_text(SA),
        [""],
    ),
    "a symlink's folder target replaced by a file": (
        lambda t: ((t / "target").rmdir(), (t / "target").write_text(SA)),
        [""],
    ),
    "a symlink's file target out of the tree replaced by a folder": (
        lambda t: (
            (t.parent / "outside" / "thing").unlink(),
            (t.parent / "outside" / "thing").mkdir(),
        ),
        [],
    ),
    "a chart's Chart.yaml added above its templates": (
        lambda t: (t / "chart" / "Chart.yaml").write_text("name: c\n"),
        ["chart"],
    ),
    "a folder made a symlink to a folder inside": (
        lambda t: (shutil.rmtree(t / "a" / "b"), (t / "a" / "b").symlink_to(t / "target")),
        ["a"],
    ),
}


@POSIX
@pytest.mark.parametrize("plain", [False, True], ids=["escaped-names", "plain"])
@pytest.mark.parametrize("change", CHANGES)
def test_the_walk_from_the_cache_finds_what_a_fresh_walk_finds_after_a_change(
    tmp_path, monkeypatch, settled, change, plain
):
    """Each change, in a tree whose walk is kept folder by folder, and in a plain one, whose
    walk also makes its files again without walking when no folder changed (its symbolic
    links, FIFOs... looked at again)."""
    tree = _tree(tmp_path, plain)
    monkeypatch.chdir(tmp_path)
    walker = Walker(tmp_path / "cache", monkeypatch)
    everything = walker.same_as_fresh(["tree"])
    # tree, a, a/b, m\xff (not in the plain tree), chart, chart/templates, target
    assert len(everything) == 7 - plain
    assert walker.same_as_fresh(["tree"]) == []  # nothing changed: nothing listed
    assert walker.quick == plain
    make, changed = CHANGES[change]
    make(tree)
    _later(*(tree / folder for folder in changed))
    listed = walker.same_as_fresh(["tree"])
    # the folders changed, and those that are new
    assert set(listed) <= {os.path.join("tree", f) if f else "tree" for f in changed} | {
        "tree/a/c",
        "tree/a/bb",
    }
    assert walker.same_as_fresh(["tree"]) == []
    assert walker.quick == plain * (2 if changed else 3)


@POSIX
def test_a_symbolic_link_named_as_a_chart_keeps_the_walk_looking_at_kinds_again(
    tmp_path, monkeypatch, settled
):
    """Whether YAML under a folder named templates is read depends on a Chart.yaml above
    it: when that is a symbolic link, where it leads may change while no folder does, so
    each walk asks every file's kind again (and gives what a fresh walk gives)."""
    tree = _tree(tmp_path, plain=True)
    outside = tmp_path / "outside"
    (outside / "Chart.yaml").write_text("name: c\n")
    (tree / "chart" / "Chart.yaml").symlink_to(outside / "Chart.yaml")
    monkeypatch.chdir(tmp_path)
    walker = Walker(tmp_path / "cache", monkeypatch)
    walker.same_as_fresh(["tree"])
    files, *_ = walker.walk(["tree"])
    template = next(f for f in files if f["display"] == "tree/chart/templates/sa.yaml")
    assert template["skip"] == "Helm chart template (Helm renders it; not read)"
    (outside / "Chart.yaml").unlink()
    assert walker.same_as_fresh(["tree"]) == []
    files, *_ = walker.walk(["tree"])
    template = next(f for f in files if f["display"] == "tree/chart/templates/sa.yaml")
    assert template["skip"] == ""
    assert walker.quick == 0


@POSIX
def test_a_walk_below_a_folder_named_templates_asks_its_files_kinds_again(
    tmp_path, monkeypatch, settled
):
    """A tree given below a chart's templates folder: the Chart.yaml that makes its YAML
    Helm templates is outside it, and may come or go while no folder of the tree changes."""
    tree = _tree(tmp_path, plain=True)
    below = tree / "chart" / "templates"
    (below / "more").mkdir()
    (below / "more" / "x.yaml").write_text(SA)
    monkeypatch.chdir(below)
    walker = Walker(tmp_path / "cache", monkeypatch)
    walker.same_as_fresh(["."])
    (tree / "chart" / "Chart.yaml").write_text("name: c\n")
    assert walker.same_as_fresh(["."]) == []
    files, *_ = walker.walk(["."])
    assert {f["display"]: f["skip"] for f in files} == {
        "more/x.yaml": "Helm chart template (Helm renders it; not read)",
        "sa.yaml": "Helm chart template (Helm renders it; not read)",
    }
    assert walker.quick == 0


@POSIX
def test_the_walk_from_the_cache_matches_the_excludes_of_its_own_walk(
    tmp_path, monkeypatch, settled
):
    """Other excludes are another walk: what the cache kept of a walk without them (or with
    others) is not what a walk with them finds; the patterns matched are the same as a fresh
    walk's, from the cache too."""
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path / "tree")
    walker = Walker(tmp_path / "cache", monkeypatch)
    for excludes in ([], ["a/b", "*.md", "m\\xff/*", "pipe.yaml", "never/*"], ["a"], []):
        walker.same_as_fresh(["."], excludes)
        assert walker.same_as_fresh(["."], excludes) == []
    files, problems, hits, _listed = walker.walk(["."], ["a/b", "*.md", "m\\xff/*", "never/*"])
    assert [f["display"] for f in files] == [
        "a/main.tf",
        "chart/templates/sa.yaml",
        "link-in.yaml",
    ]
    assert hits == {"a/b", "*.md", "m\\xff/*"}
    assert sorted(p.file for p in problems) == [
        "dangling.yaml",
        "dir-out",
        "link-out.yaml",
        "pipe.yaml",
    ]


@POSIX
def test_a_folder_changed_in_the_tick_of_its_listing_is_listed_again(tmp_path, monkeypatch):
    """A folder whose modification or change time is that recent when it is listed could
    change again in the same tick of the clock, unseen: it is listed again by the next walk,
    as long as it is that recent, and kept once it has been still for long."""
    tree = _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    walker = Walker(tmp_path / "cache", monkeypatch)
    walker.same_as_fresh(["tree"])
    assert len(walker.same_as_fresh(["tree"])) == 7  # all just made
    (tree / "a" / "new.tf").write_text("")
    assert len(walker.same_as_fresh(["tree"])) == 7
    real = discover_module.time.time_ns
    monkeypatch.setattr(discover_module.time, "time_ns", lambda: real() + 3600 * 10**9)
    assert len(walker.same_as_fresh(["tree"])) == 7  # still for long now: kept
    assert walker.same_as_fresh(["tree"]) == []


@POSIX
def test_a_folder_that_cannot_be_listed_is_said_each_time_and_listed_again_when_it_can(
    tmp_path, monkeypatch, settled
):
    """A folder the walk cannot list is one line naming it, at every walk: what the cache
    keeps of the tree leaves it out, so that once it can be listed again (its stamp alike),
    its files are found."""
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    walker = Walker(tmp_path / "cache", monkeypatch)
    real_scandir = os.scandir

    def refused(path="."):
        if os.fspath(path) == os.path.join("tree", "a"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(discover_module.os, "scandir", refused)
    for _ in range(2):
        walker.same_as_fresh(["tree"])
        files, problems, _hits, listed = walker.walk(["tree"])
        assert listed == ["tree/a"]
        assert ("tree/a", "cannot read directory: Permission denied") in [
            (p.file, p.message) for p in problems
        ]
        assert "tree/a/main.tf" not in [f["display"] for f in files]
    monkeypatch.setattr(discover_module.os, "scandir", real_scandir)
    # the folder, and the one in it the walk never reached
    assert walker.same_as_fresh(["tree"]) == ["tree/a", "tree/a/b"]
    files, _problems, _hits, listed = walker.walk(["tree"])
    assert listed == [] and "tree/a/main.tf" in [f["display"] for f in files]


def test_what_the_cache_kept_of_another_working_directory_is_not_used(
    tmp_path, monkeypatch, settled
):
    """A file's path and display name depend on where the walk is made from: another working
    directory is another walk."""
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "main.tf").write_text("")
    walker = Walker(tmp_path / "cache", monkeypatch)
    shown = []
    for where in (tmp_path, tree, tmp_path):
        monkeypatch.chdir(where)
        walker.same_as_fresh([str(tree)])
        files, _problems, _hits, _listed = walker.walk([str(tree)])
        shown.append([f["display"] for f in files])
    assert shown == [["tree/a/main.tf"], ["a/main.tf"], ["tree/a/main.tf"]]


@pytest.mark.parametrize(
    "kept",
    [
        Walked(["tree"], [1, 2], ["da"], [""], [], []),  # a stamp of two numbers
        Walked(["tree"], [0, 0, 0, 0], ["da"], [], [], []),  # no names
        Walked(["tree"], [0, 0, 0, 0], ["d"], [""], [], []),  # a letter without a name
        Walked(["tree"], [0, 0, 0, 0], ["dx//dy"], [""], [], []),
        Walked(["tree"], [0, 0, 0, 0], ["da"], [""], [0], []),  # a pattern matched nowhere
    ],
)
def test_what_the_cache_kept_that_is_not_a_walk_is_not_used(tmp_path, monkeypatch, kept):
    """An entry of the walk that does not hold together (a tampered pack) is a miss: the
    walk lists the tree, never a traceback."""
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "main.tf").write_text("")
    monkeypatch.chdir(tmp_path)
    walker = Walker(tmp_path / "cache", monkeypatch)
    walker.same_as_fresh(["tree"])
    st_tree = os.stat(tree)
    stamp = [st_tree.st_mtime_ns, st_tree.st_ctime_ns, st_tree.st_ino, st_tree.st_dev]
    if kept.stamps == [0, 0, 0, 0]:
        kept.stamps = stamp
    pack = walker.cache.pack("walks")
    top = os.path.realpath(tmp_path)
    key = discover_module._walk_key(top, "tree", [os.path.realpath(tree)], [], top)
    pack.put(key, kept, Walked)
    pack.save()
    assert "tree" in walker.same_as_fresh(["tree"])


# a tree of a few names, changed step by step: a file, a folder, a symlink (to a folder, a
# file, or nowhere), a FIFO, each made, removed or renamed
NAMES = ["a.tf", "b.yaml", "c", "d.json"]
FOLDERS = ["", "c", "c/c"]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["file", "folder", "link", "fifo", "remove", "rename"]),
        st.sampled_from(FOLDERS),
        st.sampled_from(NAMES),
        st.sampled_from(["c", "a.tf", "nowhere", "c/c"]),
    ),
    max_size=8,
)


def _step(tree: Path, action: str, folder: str, name: str, other: str) -> None:
    """One change to the tree, and the modification time of each folder it changes moved
    past what a walk saw (`_later`)."""
    where = tree / folder
    if not where.is_dir() or where.is_symlink():
        return
    path = where / name
    if action == "remove":
        if path.is_symlink() or path.is_file() or path.is_fifo():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            return
    elif action == "rename":
        to = tree / other
        if not os.path.lexists(path) or os.path.lexists(to) or not to.parent.is_dir():
            return
        if to.parent.is_symlink() or (path.is_dir() and to.is_relative_to(path)):
            return
        os.rename(path, to)
        _later(to.parent)
    elif os.path.lexists(path):
        return
    elif action == "file":
        path.write_text(SA)
    elif action == "folder":
        path.mkdir()
    elif action == "link":
        path.symlink_to(tree / other)
    else:
        os.mkfifo(path)
    _later(where)


@POSIX
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=STEPS, then=STEPS)
def test_any_changes_between_two_walks_find_what_a_fresh_walk_finds(first, then):
    with tempfile.TemporaryDirectory() as top, pytest.MonkeyPatch.context() as monkeypatch:
        real = discover_module.time.time_ns
        monkeypatch.setattr(discover_module.time, "time_ns", lambda: real() + 3600 * 10**9)
        tree = Path(top) / "tree"
        tree.mkdir()
        for step in first:
            _step(tree, *step)
        monkeypatch.chdir(top)
        walker = Walker(Path(top) / "cache", monkeypatch)
        walker.same_as_fresh(["tree"])
        for step in then:
            _step(tree, *step)
        walker.same_as_fresh(["tree"])


INSECURE = (
    'resource "aws_launch_template" "n" {\n  metadata_options {\n'
    '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
)


@POSIX
def test_a_warm_scan_after_each_change_reports_what_a_scan_without_the_cache_reports(
    tmp_path, monkeypatch, settled
):
    """The whole scan, the hook's and a folder's, from the cache and without it, after
    folders and files come and go, an exclude is given and the size limit changes: the same
    report and exit code each time."""
    from conftest import cli

    tree = tmp_path / "tree"
    (tree / "infra").mkdir(parents=True)
    (tree / "infra" / "nodes.tf").write_text(INSECURE)
    (tree / "k8s").mkdir()
    (tree / "k8s" / "sa.yaml").write_text(SA)
    monkeypatch.chdir(tree)
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))

    def same(*args: str) -> str:
        """The report of the whole tree, checked alike from the cache and without it, as
        the hook's for infra/nodes.tf."""
        reports = []
        for paths in (["."], ["infra/nodes.tf", "--context-root", "."]):
            warm = cli("scan", "--format", "json", *args, *paths)
            assert warm == cli("scan", "--format", "json", "--no-cache", *args, *paths)
            reports.append(warm[1])
        return reports[0]

    same()
    assert '"rule_id": "EKS202"' in same()
    (tree / "infra2").mkdir()
    (tree / "infra2" / "nodes.tf").write_text(INSECURE)
    _later(tree)
    assert same().count('"rule_id": "EKS202"') == 2
    (tree / "infra2").rename(tree / "infra3")
    _later(tree)
    assert '"file": "infra3/nodes.tf"' in same()
    assert same("--exclude", "infra3").count('"rule_id": "EKS202"') == 1
    assert '"rule_id"' not in same("--max-file-size", "40")  # each .tf over the limit
    (tree / "k8s" / "link.tf").symlink_to(tree / "infra" / "nodes.tf")
    _later(tree / "k8s")
    (tree / "infra" / "nodes.tf").unlink()
    _later(tree / "infra")
    assert "dangling symbolic link" in same()
