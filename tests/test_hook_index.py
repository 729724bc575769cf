"""The pre-commit hook reads only what the given files' links can need (`checks.hookindex`),
and reports exactly what the full-context scan reports: for every file of every fixture tree
with links across files, a hook run through the index (warm cache) against the same run with
the index off, findings (with messages, related places and hops), undecided checks and
problems compared; and the environment switch that makes every reduced run check itself."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from checks import graph, hookindex
from checks import scan as scan_module
from checks.cache import MAGIC, STAMPS, open_cache
from checks.codec import decode
from checks.rego.policy import available
from checks.rules import load_bundled
from checks.scan import CHECK_CONTEXT, ContextMismatch, scan
from checks.sources import classify
from checks.sources.base import UnitResult
from conftest import FIXTURES, ROOT, cli

# the trees whose files link across files (each scanned as its own context root)
TREES = [
    FIXTURES / "copies",
    FIXTURES / "kustomize",
    FIXTURES / "model",
    FIXTURES / "cdk",
    FIXTURES / "terraform-kubernetes",
    FIXTURES / "peer-rbac",
    FIXTURES / "rules",
    FIXTURES / "live",
    FIXTURES / "hook-closure",
    FIXTURES / "hook-clusters",
    FIXTURES / "hook-first-copy",
    FIXTURES / "hook-auto-mode",
    FIXTURES / "hook-module-clusters",
    FIXTURES / "hook-module-entries",
    FIXTURES / "hook-admin-groups",
    FIXTURES / "hook-module-instances",
    FIXTURES / "hook-module-bindings",
    FIXTURES / "hook-wrapper-entries",
    ROOT / "examples",
]


def _files(tree: Path) -> list[str]:
    """Every file of `tree` a scan reads, in a stable order."""
    found = []
    for folder, dirs, names in os.walk(tree):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            if classify(path) is not None:
                found.append(path)
    return found


@pytest.fixture(scope="module")
def rules():
    return load_bundled()


def _hook(tree: Path, path: str, rules, identity: str = "hook"):
    """A hook run through the index of `tree`'s pack; its pack written before it returns."""
    cache, why = open_cache([str(tree)])
    assert cache is not None, why
    pack = cache.pack(f"{identity}\0{tree}")
    result = scan([path], rules, context_root=str(tree), pack=pack, jobs=1)
    pack.wait()
    return result, pack


def _reported(result) -> tuple:
    return (result.findings, result.skipped, result.problems)


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.name)
def test_every_file_reports_what_the_full_context_reports(tree, rules, tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(CHECK_CONTEXT, raising=False)
    files = _files(tree)
    assert files
    _hook(tree, files[0], rules)  # fills the cache and writes the index
    reduced = 0
    for path in files:
        result, pack = _hook(tree, path, rules)
        full = scan(
            [path], rules, context_root=str(tree), pack=pack.reader(), jobs=1, context_index=False
        )
        assert full.context.startswith("full"), full.context
        assert _reported(result) == _reported(full), (path, result.context)
        reduced += result.context.startswith("reduced")
    # the index was used, not fallen back from
    assert reduced == len(files), f"{len(files) - reduced} of {len(files)} files read it all"


def test_a_reduced_context_is_a_part_of_the_tree(rules, tmp_path, monkeypatch):
    """The index reads the units a file's links need, not the tree: a binding copied in two
    environment folders needs its copies (a link names the nearest), not the Kustomize tree
    beside them."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "kustomize", tree / "kustomize")
    shutil.copytree(FIXTURES / "copies", tree / "copies")
    given = str(tree / "copies" / "envs" / "dev" / "rbac.yaml")
    _hook(tree, given, rules)
    result, _pack = _hook(tree, given, rules)
    (units, of) = _counts(result.context)
    assert (units, of) == (2, 12)


def _counts(context: str) -> tuple[int, int]:
    assert context.startswith("reduced: "), context
    words = context.split()
    return int(words[1]), int(words[3])


def test_a_missing_or_broken_index_means_the_full_scan(rules, tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = FIXTURES / "copies"
    given = str(tree / "envs" / "dev" / "rbac.yaml")
    first, _pack = _hook(tree, given, rules)
    assert first.context == "full: no index for these options"
    # an index that is not what the scan wrote: never a traceback or a wrong answer
    (pack_file,) = (tmp_path / "cache").rglob("*.pack")
    data = pack_file.read_bytes()
    broken = data.replace(b"sym\\t", b"syn\\t")  # a record's role no scan writes
    assert broken != data
    pack_file.write_bytes(broken)
    again, _pack = _hook(tree, given, rules)
    assert again.context == "full: the index is malformed"
    assert _reported(again) == _reported(first)
    third, _pack = _hook(tree, given, rules)  # the full scan wrote it again
    assert third.context.startswith("reduced"), third.context
    assert _reported(third) == _reported(first)


def test_an_edit_elsewhere_in_the_tree_is_read(rules, tmp_path, monkeypatch):
    """A unit changed since the index was written is read again, and its new keys count:
    a binding moved to another ClusterRole is seen through the index."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(CHECK_CONTEXT, "1")
    tree = tmp_path / "copies"
    shutil.copytree(FIXTURES / "copies", tree)
    given = str(tree / "envs" / "dev" / "rbac.yaml")
    _hook(tree, given, rules)
    other = tree / "envs" / "prod" / "rbac.yaml"
    other.write_text(other.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    result, _pack = _hook(tree, given, rules)
    assert result.context.startswith("reduced"), result.context


def test_the_switch_fails_loudly_on_a_difference(tmp_path, monkeypatch):
    """With $EKS_CHECKS_CHECK_CONTEXT=1 a reduced run that misses a unit it needs is caught:
    exit 2 and one line naming the first difference. Here the closure is cut to the given
    ClusterRole's own unit: the folder's binding of it is reported through it, and a pod of
    the folder, whose ServiceAccount a copy of the binding in another folder names (its link
    names the nearest copy of the role, this one)."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(CHECK_CONTEXT, "1")
    tree = FIXTURES / "peer-rbac"
    folder = tree / "kubescape" / "C-0267_workload-with-cluster-takeover-roles"
    given = str(folder / "pass-wl-limited-permissions" / "input" / "clusterrole.yaml")
    args = ("scan", f"--context-root={tree}", given, "--jobs", "1", "--format", "json")
    cli(*args)
    code, out, err = cli(*args)
    assert code == 1, err
    assert "EKS704" in out
    monkeypatch.setattr(hookindex.Closure, "close", lambda self, start, _reported: (start, start))
    code, _out, err = cli(*args)
    assert code == 2
    (line,) = [x for x in err.splitlines() if "reduced context" in x]
    assert line.startswith("eks-checks: error: the reduced context (reduced: 1 of ")
    assert "differs from the full one in findings[1]: nothing against EKS" in line


def test_a_mismatch_is_an_exception_of_its_own():
    assert issubclass(ContextMismatch, Exception)


def test_a_budget_past_its_limit_with_the_rest_of_the_tree_means_the_full_scan(
    rules, tmp_path, monkeypatch
):
    """The graph's budget is a whole-scan total: a reduced run whose work, with what the
    rest of the tree took when the index was written, may pass it is not vouched for."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = ROOT / "examples"
    given = _files(tree)[0]
    _hook(tree, given, rules)
    result, _pack = _hook(tree, given, rules)
    assert result.context.startswith("reduced"), result.context
    monkeypatch.setattr(graph, "MAX_GRAPH_WORK", 1)
    result, pack = _hook(tree, given, rules)
    assert result.context == "full: past the graph's budget with the rest of the tree"
    full = scan([given], rules, context_root=str(tree), pack=pack.reader(), context_index=False)
    assert _reported(result) == _reported(full)


@pytest.mark.skipif(not available(), reason="the Rego engine is a test extra")
def test_a_rego_rule_means_the_full_scan(rules, tmp_path, monkeypatch):
    """A Rego policy is given the whole model: no closure can vouch for what it reads."""
    from checks.rego.policy import load_policies

    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = ROOT / "examples"
    given = _files(tree)[0]
    _hook(tree, given, rules)
    with_rego = rules + load_policies(FIXTURES / "rego" / "policy")
    result, _pack = _hook(tree, given, with_rego)
    assert result.context == "full: a Rego rule is selected (it sees the whole model)"


def test_a_change_to_a_cluster_means_the_full_scan(rules, tmp_path, monkeypatch):
    """Every object's cluster depends on every cluster definition: a changed unit whose
    cluster changes (here its authentication mode) is not vouched for, and the full scan
    writes the index again."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(CHECK_CONTEXT, "1")
    tree = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", tree)
    given = str(tree / "k8s" / _k8s_file(tree))
    _hook(tree, given, rules)
    eks = tree / "infra" / "eks.tf"
    text = eks.read_text(encoding="utf-8")
    edited = text.replace(
        'authentication_mode = "API"', 'authentication_mode = "API_AND_CONFIG_MAP"'
    )
    assert edited != text
    eks.write_text(edited, encoding="utf-8")
    result, _pack = _hook(tree, given, rules)
    assert result.context == "full: a changed unit changes the whole scan's facts"
    again, _pack = _hook(tree, given, rules)
    assert again.context.startswith("reduced"), again.context


def _k8s_file(tree: Path) -> str:
    return sorted(os.listdir(tree / "k8s"))[0]


def _rewrite_pack(pack_file: Path, change) -> int:
    """Write the pack again with each entry's bytes through `change` (None leaves it out);
    how many entries it changed."""
    data = pack_file.read_bytes()
    end = data.index(b"\n", len(MAGIC))
    index = json.loads(data[len(MAGIC) : end])
    body = end + 1
    entries, changed = {}, 0
    for digest, (offset, length) in index.items():
        raw = data[body + offset : body + offset + length]
        new = change(raw) if digest != STAMPS else raw
        changed += new != raw
        if new is not None:
            entries[digest] = new
    head, at = {}, 0
    for digest, raw in entries.items():
        head[digest] = [at, len(raw)]
        at += len(raw)
    pack_file.write_bytes(MAGIC + json.dumps(head).encode() + b"\n" + b"".join(entries.values()))
    return changed


def _is_table(raw: bytes) -> bool:
    return raw[:12].isdigit()


def _is_summary(raw: bytes) -> bool:
    try:
        return isinstance(decode(raw, hookindex._Stored), hookindex._Stored)
    except Exception:  # noqa: BLE001 - any other entry
        return False


def _is_facts(raw: bytes) -> bool:
    try:
        return isinstance(decode(raw, hookindex._FactsPart), hookindex._FactsPart)
    except Exception:  # noqa: BLE001 - any other entry
        return False


TAMPERED = {
    # a table missing, cut short, or whose buckets point outside it
    "tables gone": lambda raw: None if _is_table(raw) else raw,
    "tables cut": lambda raw: raw[: len(raw) // 2] if _is_table(raw) else raw,
    "bounds": lambda raw: raw[:12] + b"9" * 12 + raw[24:] if _is_table(raw) else raw,
    "holders": lambda raw: raw.replace(b" ", b"  -") if _is_table(raw) else raw,
    "summaries gone": lambda raw: None if _is_summary(raw) else raw,
    # the head's facts, kept in parts of their own, missing or cut short
    "facts gone": lambda raw: None if _is_facts(raw) else raw,
    "facts cut": lambda raw: raw[: len(raw) // 2] if _is_facts(raw) else raw,
}


@pytest.mark.parametrize("how", TAMPERED)
def test_a_missing_or_corrupt_part_of_the_index_means_the_full_scan(
    how, rules, tmp_path, monkeypatch
):
    """The index is read a part at a time: whichever part is missing or not what a scan
    writes, the reduced run falls back to the full scan (never a traceback or a wrong
    answer), and the full scan writes the index anew."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = FIXTURES / "copies"
    given = str(tree / "envs" / "dev" / "rbac.yaml")
    first, _pack = _hook(tree, given, rules)
    second, _pack = _hook(tree, given, rules)
    assert second.context.startswith("reduced"), second.context
    (pack_file,) = (tmp_path / "cache").rglob("*.pack")
    assert _rewrite_pack(pack_file, TAMPERED[how])
    again, _pack = _hook(tree, given, rules)
    assert again.context == "full: the index is malformed"
    assert _reported(again) == _reported(first)
    third, _pack = _hook(tree, given, rules)
    assert third.context.startswith("reduced"), third.context
    assert _reported(third) == _reported(first)


def test_a_head_that_counts_more_parts_than_a_scan_writes_is_a_malformed_index(
    rules, tmp_path, monkeypatch
):
    """Each part a head counts is looked at (kept in the next pack, or read): a head counting
    more than any scan writes is refused when read, before anything walks its parts, even
    when the run then falls back for another reason."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = FIXTURES / "copies"
    given = str(tree / "envs" / "dev" / "rbac.yaml")
    first, _pack = _hook(tree, given, rules)
    (pack_file,) = (tmp_path / "cache").rglob("*.pack")
    many = b",%d,1,1]" % (hookindex.MAX_PARTS + 1)
    head = b"[%d," % hookindex.LAYOUT
    assert _rewrite_pack(
        pack_file,
        lambda raw: re.sub(rb",\d+,\d+,\d+\]$", many, raw) if raw.startswith(head) else raw,
    )
    monkeypatch.setattr(hookindex, "MAX_CHANGED_UNITS", -1)  # every run falls back
    again, _pack = _hook(tree, given, rules)
    assert again.context == "full: the index is malformed"
    assert _reported(again) == _reported(first)


def test_an_index_of_another_layout_means_the_full_scan(rules, tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = FIXTURES / "copies"
    given = str(tree / "envs" / "dev" / "rbac.yaml")
    first, _pack = _hook(tree, given, rules)
    (pack_file,) = (tmp_path / "cache").rglob("*.pack")
    layout = b"[%d," % hookindex.LAYOUT
    older = b"[%d," % (hookindex.LAYOUT - 1)
    assert _rewrite_pack(pack_file, lambda raw: older + raw[3:] if raw[:3] == layout else raw)
    again, _pack = _hook(tree, given, rules)
    assert again.context == "full: no index for these options"
    assert _reported(again) == _reported(first)
    third, _pack = _hook(tree, given, rules)
    assert third.context.startswith("reduced"), third.context


def _summarized(monkeypatch, tree: Path) -> list[str]:
    """The units summarized from now on (their first file, relative to `tree`)."""
    made: list[str] = []
    summarize = hookindex.summarize

    def counted(unit, *args):
        made.append(os.path.relpath(unit.files[0].path, tree))
        return summarize(unit, *args)

    monkeypatch.setattr(hookindex, "summarize", counted)
    return made


def test_a_full_scan_summarizes_only_the_units_changed(rules, tmp_path, monkeypatch):
    """A full scan keeps the summaries of the units the index holds alike, unread, and makes
    those of units changed or new; a unit gone leaves its slot, which a new one takes; every
    file then reports through the index what the full context reports."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    tree = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", tree)
    files = _files(tree)
    made = _summarized(monkeypatch, tree)
    _hook(tree, files[0], rules)
    assert len(made) > 5
    made.clear()
    shop = tree / "k8s" / "shop"
    edited, gone = sorted(shop.iterdir())[:2]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    added = shop / "zz-added.yaml"
    shutil.move(gone, added)
    cache, _why = open_cache([str(tree)])
    pack = cache.pack(f"hook\0{tree}")
    full = scan([files[0]], rules, context_root=str(tree), pack=pack, jobs=1, context_index=False)
    pack.wait()
    assert full.context == "full: the index is off"
    assert sorted(os.path.basename(f) for f in made) == sorted([edited.name, added.name])
    made.clear()
    for path in _files(tree):
        result, pack = _hook(tree, path, rules)
        assert result.context.startswith("reduced"), (path, result.context)
        whole = scan(
            [path], rules, context_root=str(tree), pack=pack.reader(), jobs=1, context_index=False
        )
        assert _reported(result) == _reported(whole), path
    assert not made


def test_a_reduced_run_keeps_the_index_of_the_units_it_found_changed(rules, tmp_path, monkeypatch):
    """A unit edited since the full scan wrote the index is summarized by the hook run that
    finds it changed, and kept in the index then: the next runs find it unchanged (a series
    of commits does not pile up changed units until a full scan), report what the full
    context reports, and count its work in the budgets' totals."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(CHECK_CONTEXT, "1")
    tree = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", tree)
    files = _files(tree)
    made = _summarized(monkeypatch, tree)
    _hook(tree, files[0], rules)
    first = hookindex.load(_hook(tree, files[0], rules)[1], _index_name(tree, rules))
    made.clear()
    shop = sorted((tree / "k8s" / "shop").iterdir())
    for step, edited in enumerate(shop[:3]):
        edited.write_text(edited.read_text(encoding="utf-8") + f"\n# edit {step}\n")
        result, _pack = _hook(tree, files[-1], rules)
        assert result.context.startswith("reduced"), result.context
        assert made == [os.path.relpath(edited, tree)]  # this commit's unit, not the last's
        made.clear()
    result, pack = _hook(tree, str(shop[0]), rules)
    assert result.context.startswith("reduced") and made == []
    last = hookindex.load(pack, _index_name(tree, rules))
    assert last.graph_work >= first.graph_work
    assert last.aggregation_steps >= first.aggregation_steps
    assert len([t for t in last.head.tokens if t]) == len([t for t in first.head.tokens if t])


def test_a_reduced_run_writes_only_the_parts_of_the_index_its_changes_touch(
    rules, tmp_path, monkeypatch
):
    """The index's tables and its head's facts are cut in parts, each an entry of the pack:
    a run that keeps the index with a unit changed writes the head and exactly the parts
    that hold the unit's keys, files and facts, before or after the change, and keeps the
    others unread; the next runs read the parts of both runs alike and report what the full
    context reports."""
    from checks import cache

    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    count_for = cache.Parts.count_for
    # parts of a few keys each and a unit's facts each, so that the examples' index has many
    few = {hookindex.FACTS_PER_PART: 1, hookindex.KEYS_PER_PART: 2}
    monkeypatch.setattr(
        cache.Parts, "count_for", staticmethod(lambda n, each: count_for(n, few[each]))
    )
    tree = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", tree)
    # a second unit with facts: what it reads with file()
    (tree / "roles").mkdir()
    (tree / "roles" / "main.tf").write_text(
        'resource "aws_iam_role" "reader" {\n'
        '  name               = "reader"\n'
        '  assume_role_policy = file("${path.module}/trust.json")\n'
        "}\n"
    )
    (tree / "roles" / "trust.json").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
        '"sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]}\n'
    )
    files = _files(tree)
    name = _index_name(tree, rules)
    _hook(tree, files[0], rules)
    _hook(tree, files[0], rules)
    index = hookindex.load(_written(tree), name)
    parts = hookindex._part_keys(name, index.head)
    assert index.head.key_parts >= 16 and index.head.file_parts >= 8
    assert index.head.fact_parts >= 2
    written: list[str] = []
    put_filed = cache.Pack.put_filed
    monkeypatch.setattr(
        cache.Pack, "put_filed", lambda self, d, raw: written.append(d) or put_filed(self, d, raw)
    )
    edits = [
        ("k8s/shop/serviceaccounts.yaml", "name: ", "name: x"),
        ("infra/eks.tf", "# ", "# an edit: "),  # the cluster's unit: it has facts
        ("iam/vendor-audit-role.json", "{", "{ "),
        ("roles/trust.json", "ec2", "ecs-tasks"),  # what a unit reads with file()
    ]
    for where, was, now in edits:
        edited = tree / where
        before = _parts_of_unit(index, edited)
        edited.write_text(edited.read_text(encoding="utf-8").replace(was, now, 1))
        written.clear()
        result, _pack = _hook(tree, files[-1], rules)
        assert result.context.startswith("reduced"), result.context
        pack = _written(tree)
        index = hookindex.load(pack, name)
        after = _parts_of_unit(index, edited)
        assert None not in map(pack.raw, parts)  # the parts not written are kept
        expected = {cache.key_digest(key) for key in before | after}
        assert expected == set(written).intersection(map(cache.key_digest, parts)), where
        assert len(expected) < len(parts)
        assert cache.key_digest(name + "\0head") in written
    monkeypatch.setenv(CHECK_CONTEXT, "1")  # a reduced run checks itself against the full
    for path in files:  # every file, through the parts the runs wrote
        result, _pack = _hook(tree, path, rules)
        assert result.context.startswith("reduced"), result.context


def _written(tree: Path, identity: str = "hook"):
    """The pack of `tree`'s hook runs as the last one wrote it."""
    cache, why = open_cache([str(tree)])
    assert cache is not None, why
    return cache.pack(f"{identity}\0{tree}")


def _parts_of_unit(index: hookindex.HookIndex, path: Path) -> set[str]:
    """The keys of the parts of `index` that hold the units of the file `path` (its own, and
    any that reads it): their keys' parts, their files' parts and their facts' parts."""
    from checks.cache import Parts, Table

    head, salt = index.head, index.salt

    def part(table: str, key: str, count: int) -> str:
        ident = Table.ident(key, salt)
        return hookindex._part_entry(index.name, table, Parts.part_of(ident, count))

    found = set()
    for slot, entry in enumerate(head.entries):
        summary = index.summary(slot) if entry else None
        if summary is None or not any(str(path).endswith(f) for f in summary.files):
            continue
        records = hookindex.entity_records_of(summary)
        found |= {part("keys", key, head.key_parts) for key, *_ in records}
        found |= {part("files", f, head.file_parts) for f in [*summary.files, *summary.consumed]}
        if str(slot) in head.facts:
            found.add(hookindex._part_entry(index.name, "facts", slot % head.fact_parts))
    assert found
    return found


def test_a_unit_that_cannot_be_cached_does_not_make_each_run_keep_the_index_again(
    rules, tmp_path, monkeypatch
):
    """A file that cannot be read (not UTF-8) is made again at every run, its unit never
    cached: when the index holds its summary alike, a run that changed nothing else keeps the
    index as it is rather than writing it again."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(CHECK_CONTEXT, "1")
    tree = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", tree)
    (tree / "k8s" / "utf-16.yaml").write_bytes("kind: ServiceAccount\n".encode("utf-16"))
    files = _files(tree)
    kept = []
    refresh = hookindex.refresh
    monkeypatch.setattr(hookindex, "refresh", lambda *a: kept.append(1) or refresh(*a))
    _hook(tree, files[0], rules)
    for path in (files[0], files[-1]):
        result, _pack = _hook(tree, path, rules)
        assert result.context.startswith("reduced"), result.context
    assert kept == []
    edited = tree / "k8s" / "shop" / "rbac.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# an edit\n")
    result, _pack = _hook(tree, files[0], rules)
    assert result.context.startswith("reduced") and kept == [1]


def _index_name(tree: Path, rules) -> str:
    """What a hook run of `tree` files its index under (its options, no parameters)."""
    from checks.scan import trees_read
    from checks.sources.base import Options

    return hookindex.index_key(Options(roots=trees_read([], str(tree))), {})


@pytest.mark.parametrize("many", [False, True], ids=["encoded at once", "forked writer"])
def test_the_pack_holds_the_units_results_as_they_were_before_link(
    many, rules, tmp_path, monkeypatch
):
    """The full scan that writes the index learns the budgets' totals only after link and
    the graph, which add to the entities: the units' results are kept as they were before
    (links, hops and the fields link sets are the next run's to make), whether they are
    encoded at once or by a writer forked before link."""
    from checks import cache as cache_module
    from checks.runner import run_unit, unit_key, units_of

    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    if many:
        monkeypatch.setattr(cache_module, "BACKGROUND_MIN", 1)
    tree = ROOT / "examples"
    seen = {}
    build = scan_module.build

    def kept(files, opts, *args, **kwargs):
        seen["files"], seen["opts"] = files, opts
        return build(files, opts, *args, **kwargs)

    monkeypatch.setattr(scan_module, "build", kept)
    result, _pack = _hook(tree, _files(tree)[0], rules)
    assert result.context == "full: no index for these options"
    _unused, pack = _hook(tree, _files(tree)[0], rules)
    compared = 0
    for unit in units_of(seen["files"], seen["opts"], pack):
        cached = pack.get(unit_key(unit, seen["opts"], pack), UnitResult)
        assert cached is not None, unit.files[0].display
        made = run_unit(unit, seen["opts"])
        assert [(e.key, e.links, sorted(e.fields)) for e in cached.entities] == [
            (e.key, e.links, sorted(e.fields)) for e in made.entities
        ]
        compared += len(made.entities)
    assert compared > 20


def _linked(monkeypatch) -> list[list[str]]:
    """The keys of the entities each reduced run links, run by run."""
    runs: list[list[str]] = []
    chosen = hookindex._of_closure

    def spy(*args):
        found = chosen(*args)
        runs.append(sorted(e.key for e in found))
        return found

    monkeypatch.setattr(hookindex, "_of_closure", spy)
    return runs


def _checked(tree: Path, path: str, rules):
    """A hook run through the index, and what the full context reports, identical."""
    result, pack = _hook(tree, path, rules)
    full = scan(
        [path], rules, context_root=str(tree), pack=pack.reader(), jobs=1, context_index=False
    )
    assert _reported(result) == _reported(full)
    return result


CLOSURE = FIXTURES / "hook-closure"
TEAM_ROLE = [
    "terraform:platform/main.tf:aws_iam_role.team",
    "terraform:platform/main.tf:aws_iam_role.team/managed_policy_arns[0]",
    "terraform:platform/main.tf:aws_iam_role.team/statement[0]",
]


def test_an_entity_that_depends_on_the_change_brings_in_only_what_it_reads(
    rules, tmp_path, monkeypatch
):
    """The platform's vpc-cni add-on may take the aws-node association the cluster module
    writes: it is read, and what it reads; not what the other entities of its unit offer (an
    association that may be for the pods of team namespaces, the role it names)."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(CLOSURE)  # files as shown: relative to the tree
    given = str(CLOSURE / "eks" / "main.tf")
    _hook(CLOSURE, given, rules)
    runs = _linked(monkeypatch)
    result = _checked(CLOSURE, given, rules)
    assert result.context == "reduced: 2 of 4 units"
    assert runs == [
        [
            "terraform:eks/main.tf:aws_eks_pod_identity_association.aws_node",
            "terraform:platform/main.tf:aws_eks_addon.cni",
        ]
    ]
    assert result.findings == []


def test_an_association_written_with_a_namespace_template_reaches_the_pods_it_may_be_for(
    rules, tmp_path, monkeypatch
):
    """`namespace = "team-${var.team}"` may be `team-a`, never `web`: the pod of `web` reads
    nothing else, the pod of `team-a` reads the association (and its role); the association's
    own file reads the pod it may be for, not the other one."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(CLOSURE)
    web, team = (str(CLOSURE / "apps" / name / "deploy.yaml") for name in ("web", "team"))
    _hook(CLOSURE, web, rules)
    runs = _linked(monkeypatch)
    alone = _checked(CLOSURE, web, rules)
    assert alone.context == "reduced: 1 of 4 units"
    assert runs[-1] == ["k8s:web/Deployment/web"]
    assert [(f.rule_id, f.location.start_line) for f in alone.findings] == [("EKS301", 9)]
    assert alone.skipped == []
    maybe = _checked(CLOSURE, team, rules)
    assert maybe.context == "reduced: 2 of 4 units"
    assert runs[-1] == sorted(
        [
            "k8s:team-a/Deployment/api",
            "terraform:platform/main.tf:aws_eks_pod_identity_association.team",
            *TEAM_ROLE,
        ]
    )
    assert [(s.rule_id, s.reasons) for s in maybe.skipped] == [
        (
            "EKS307",
            [
                "aws_eks_pod_identity_association.team (platform/main.tf:10) names a "
                "ServiceAccount that is not known"
            ],
        )
    ]
    writer = _checked(CLOSURE, str(CLOSURE / "platform" / "main.tf"), rules)
    assert writer.context == "reduced: 3 of 4 units"
    assert "k8s:web/Deployment/web" not in runs[-1]
    assert "k8s:team-a/Deployment/api" in runs[-1]


CLUSTERS = FIXTURES / "hook-clusters"


def test_a_group_binding_of_one_cluster_does_not_pull_in_another_clusters_units(
    rules, tmp_path, monkeypatch
):
    """The graph connects a mapped group to the bindings of the mapping's cluster and to
    those whose cluster is not known: alpha's access entry reads alpha's binding and the
    shared one, not beta's; the shared binding is read with both access entries (and what
    they read)."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(CLUSTERS)
    given = str(CLUSTERS / "alpha" / "eks.tf")
    _hook(CLUSTERS, given, rules)
    runs = _linked(monkeypatch)
    alpha = _checked(CLUSTERS, given, rules)
    assert alpha.context == "reduced: 3 of 5 units"
    assert runs[-1] == [
        "k8s:ClusterRoleBinding/ops-edit",
        "k8s:ClusterRoleBinding/ops-view",
        "terraform:alpha/eks.tf:aws_eks_access_entry.ops",
        "terraform:alpha/eks.tf:aws_eks_cluster.main",
    ]
    assert [f.rule_id for f in alpha.findings] == ["EKS101", "EKS102", "EKS103", "EKS508"]
    beta = _checked(CLUSTERS, str(CLUSTERS / "beta" / "rbac.yaml"), rules)
    assert beta.context == "reduced: 3 of 5 units"
    assert "terraform:alpha/eks.tf:aws_eks_access_entry.ops" not in runs[-1]
    assert [(f.rule_id, f.location.start_line) for f in beta.findings] == [
        (rule, 6) for rule in ("EKS604", "EKS605", "EKS606", "EKS608", "EKS609", "EKS612")
    ]
    shared = _checked(CLUSTERS, str(CLUSTERS / "shared" / "rbac.yaml"), rules)
    assert shared.context == "reduced: 5 of 5 units"


def test_what_reaches_another_copy_of_a_reported_first_copy_is_read(rules, tmp_path, monkeypatch):
    """The graph places the capability hop of every copy of an RBAC rule at the first copy in
    scan order (alpha's): a path of cluster beta through beta's copy is reported for alpha's
    file, so the closure of alpha's file reads what reaches beta's copy, back to beta's
    role, though beta's access entry is of another cluster than alpha's bindings."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(FIXTURES / "hook-first-copy")
    tree = FIXTURES / "hook-first-copy"
    given = str(tree / "alpha" / "rbac.yaml")
    _hook(tree, given, rules)
    result = _checked(tree, given, rules)
    assert result.context == "reduced: 4 of 4 units"
    paths = [f for f in result.findings if f.rule_id == "EKS801"]
    assert [(f.location.file, f.location.start_line, f.message) for f in paths] == [
        (
            f"{env}/eks.tf",
            17,
            f"role developer-{env} trusts AWS: arn:aws:iam::111122223333:root (not pinned: "
            f"[EKS407]), and a path leads from it to cluster-admin in cluster {env}",
        )
        for env in ("alpha", "beta")
    ]
    beta = paths[1]
    assert [hop[2] for hop in beta.hops if hop[0] == "capability"] == ["alpha/rbac.yaml"]
    # alpha's Terraform: the rule beside it is of its folder, whose errors count, not its
    # findings: beta's copies are not read
    cluster = _checked(tree, str(tree / "alpha" / "eks.tf"), rules)
    assert cluster.context == "reduced: 3 of 4 units"
    assert [f.location.file for f in cluster.findings if f.rule_id == "EKS801"] == ["alpha/eks.tf"]
