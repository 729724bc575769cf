"""The units of a warm run come from the cache when its files and its kustomizations' texts
are the last run's (`checks.runner.Grouping`); any change to either groups them again, and
what the cache holds that does not fit the files is not used."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from checks import runner
from checks.cache import Cache
from checks.discover import discover
from checks.sources import classify, kustomize
from checks.sources.base import Options
from checks.sources.kustomize import includes_key

SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {}\n"


def _aged(*paths: Path) -> None:
    """Each file as if written ten seconds ago, and each time a second later than the last
    (its stamp is then kept: `checks.cache.still`)."""
    for path in paths:
        past = time.time_ns() - 10 * 10**9 + _aged.tick
        _aged.tick += 10**9 // 100
        os.utime(path, ns=(past, past))


_aged.tick = 0


def _tree(top: Path) -> Path:
    tree = top / "tree"
    for folder in ("infra", "base", "overlay", "apps"):
        (tree / folder).mkdir(parents=True)
    files = {
        "infra/main.tf": 'resource "aws_iam_role" "r" {\n  name = "r"\n}\n',
        "infra/vars.tf": 'variable "v" {\n  default = "x"\n}\n',
        "base/kustomization.yaml": "resources:\n  - sa.yaml\n",
        "base/sa.yaml": SA.format("base"),
        "base/extra.yaml": SA.format("extra"),
        "overlay/kustomization.yaml": "resources:\n  - ../base\n",
        "apps/sa.yaml": SA.format("app"),
    }
    for name, text in files.items():
        (tree / name).write_text(text)
        _aged(tree / name)
    for folder in ("infra", "base", "overlay", "apps", "."):
        _aged(tree / folder)
    return tree


class Runs:
    """Groupings of a tree, each with the pack the last one saved, and whether each grouped
    the files (rather than taking the cache's units)."""

    def __init__(self, tree: Path, cache_dir: Path, monkeypatch) -> None:
        cache_dir.mkdir(exist_ok=True)
        self.tree, self.cache = tree, Cache(cache_dir)
        self.grouped = 0
        real = runner.source_units

        def counted(files, opts, pack):
            self.grouped += 1
            return real(files, opts, pack)

        monkeypatch.setattr(runner, "source_units", counted)
        monkeypatch.chdir(tree)
        self.opts = Options(roots=[str(tree)])

    def units(self) -> tuple[list, list, bool]:
        """(the units from the cache, those grouped afresh, whether the first were grouped)."""
        before = self.grouped
        pack = self.cache.pack("grouping")
        files, _problems = discover(["."], classify, pack=pack)
        units = runner.units_of(files, self.opts, pack)
        pack.save()
        pack.wait()
        grouped = self.grouped > before
        fresh = runner.units_of(files, self.opts, None)
        self.grouped -= 1  # the fresh grouping is not the run's
        return units, fresh, grouped


def _shown(units: list) -> list[list[str]]:
    return [[f.display for f in u.files] for u in units]


def test_a_warm_run_takes_the_last_runs_units_without_grouping_the_files(tmp_path, monkeypatch):
    runs = Runs(_tree(tmp_path), tmp_path / "cache", monkeypatch)
    # the first run reads the kustomizations, the second files its grouping under their
    # digests (known from their stamps now), the third takes it
    for _ in range(2):
        first, fresh, grouped = runs.units()
        assert grouped and first == fresh
    second, fresh, grouped = runs.units()
    assert not grouped
    assert second == fresh
    assert _shown(second) == [
        ["apps/sa.yaml"],
        ["base/extra.yaml"],
        ["infra/main.tf", "infra/vars.tf"],
        ["overlay/kustomization.yaml", "base/kustomization.yaml", "base/sa.yaml"],
    ]
    assert [(u.module, u.directory, u.cost) for u in second] == [
        (u.module, u.directory, u.cost) for u in fresh
    ]


def test_a_kustomization_that_includes_another_file_now_is_grouped_again(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    runs = Runs(tree, tmp_path / "cache", monkeypatch)
    for _ in range(3):
        runs.units()
    (tree / "base" / "kustomization.yaml").write_text("resources:\n  - sa.yaml\n  - extra.yaml\n")
    _aged(tree / "base" / "kustomization.yaml")
    # read and grouped, grouped and filed under the new text's digest, taken from the cache
    for expected in (True, True, False):
        units, fresh, grouped = runs.units()
        assert (grouped, units) == (expected, fresh)
        assert _shown(units)[-1] == [
            "overlay/kustomization.yaml",
            "base/extra.yaml",
            "base/kustomization.yaml",
            "base/sa.yaml",
        ]
    (tree / "base" / "kustomization.yaml").write_text("resources:\n  - sa.yaml\n")
    _aged(tree / "base" / "kustomization.yaml")
    units, fresh, grouped = runs.units()
    assert grouped and units == fresh
    assert ["base/extra.yaml"] in _shown(units)


def test_a_file_added_renamed_or_removed_is_grouped_again(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    runs = Runs(tree, tmp_path / "cache", monkeypatch)
    runs.units()
    (tree / "infra" / "more.tf").write_text('variable "w" {}\n')
    units, fresh, grouped = runs.units()
    assert grouped and units == fresh
    assert ["infra/main.tf", "infra/more.tf", "infra/vars.tf"] in _shown(units)
    (tree / "infra" / "more.tf").rename(tree / "apps" / "more.tf")
    units, fresh, grouped = runs.units()
    assert grouped and units == fresh
    assert ["apps/more.tf"] in _shown(units)
    (tree / "apps" / "more.tf").unlink()
    units, fresh, grouped = runs.units()
    assert grouped and units == fresh
    assert ["infra/main.tf", "infra/vars.tf"] in _shown(units)


@pytest.mark.parametrize(
    "kept",
    [
        runner.Grouping("0 99", "2", "0", [""], [""]),  # a position past the files
        runner.Grouping("0 1", "2 1", "0 0", ["", ""], ["", ""]),  # ends not in order
        runner.Grouping("0 1", "2", "0", ["", ""], [""]),  # fields of unequal lengths
        runner.Grouping("0 1", "1", "0", [""], [""]),  # positions left over
        runner.Grouping("-1", "1", "0", [""], [""]),  # a negative position
        runner.Grouping("0 x", "2", "0", [""], [""]),  # not a number
        runner.Grouping("0 1", "0 2", "0 0", ["", ""], ["", ""]),  # a unit of no file
    ],
)
def test_a_grouping_in_the_cache_that_does_not_fit_the_files_is_not_used(
    tmp_path, monkeypatch, kept
):
    tree = _tree(tmp_path)
    runs = Runs(tree, tmp_path / "cache", monkeypatch)
    runs.units()
    runs.units()
    pack = runs.cache.pack("grouping")
    files, _problems = discover(["."], classify, pack=pack)
    kustomizations = [f for f in files if f.kind == "kustomization"]
    texts = [pack.stamps.digest(f.key, f.path) for f in kustomizations]
    key = runner._grouping_key(files, texts, runs.opts)
    assert pack.get(key, runner.Grouping) is not None  # the key the run filed it under
    pack.put(key, kept, runner.Grouping)
    pack.save()
    pack.wait()
    units, fresh, grouped = runs.units()
    assert grouped and units == fresh


def test_units_from_the_cache_keep_what_grouping_read_of_each_kustomization(tmp_path, monkeypatch):
    """A warm run that takes its units from the cache keeps each kustomization's `Includes`
    in the next pack: the run after a change elsewhere groups without reading them again."""
    tree = _tree(tmp_path)
    runs = Runs(tree, tmp_path / "cache", monkeypatch)
    runs.units()
    runs.units()
    _units, _fresh, grouped = runs.units()
    assert not grouped
    pack = runs.cache.pack("grouping")
    files, _problems = discover(["."], classify, pack=pack)
    for f in files:
        if f.kind == "kustomization":
            text = pack.stamps.digest(f.key, f.path)
            assert pack.raw(includes_key(f, text, runs.opts)) is not None, f.display
    pack.save()
    pack.wait()
    read = []
    real = kustomize._read_includes
    monkeypatch.setattr(kustomize, "_read_includes", lambda f, o: read.append(f) or real(f, o))
    (tree / "apps" / "more.yaml").write_text(SA.format("more"))
    pack = runs.cache.pack("grouping")
    files, _problems = discover(["."], classify, pack=pack)
    units = runner.units_of(files, runs.opts, pack)
    assert runs.grouped == 3 and read == []
    assert units == runner.units_of(files, runs.opts, None)


def test_units_holding_a_file_the_list_does_not_are_not_kept(tmp_path, monkeypatch):
    """A grouping whose units hold a file that is not one of the files grouped cannot be
    made again from them: it is not kept, and each run groups the files."""
    from checks.discover import SourceFile
    from checks.sources.base import Unit

    runs = Runs(_tree(tmp_path), tmp_path / "cache", monkeypatch)
    real = runner.source_units
    stranger = SourceFile("elsewhere.yaml", "elsewhere.yaml", "yaml")
    monkeypatch.setattr(runner, "source_units", lambda *a: [*real(*a), Unit([stranger])])
    for _ in range(3):
        pack = runs.cache.pack("grouping")
        files, _problems = discover(["."], classify, pack=pack)
        units = runner.units_of(files, runs.opts, pack)
        assert units[-1].files == [stranger]
        pack.save()
        pack.wait()
    assert (
        pack.get(
            runner._grouping_key(
                files,
                [pack.stamps.digest(f.key, f.path) for f in files if f.kind == "kustomization"],
                runs.opts,
            ),
            runner.Grouping,
        )
        is None
    )
