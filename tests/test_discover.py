"""Discovery: what the walk finds and how it shows it, from inside the tree and from
outside, with the entries whose type or name needs care (links, FIFOs, escaped names)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checks.discover import SourceFile, discover
from checks.sources import classify

SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "sa.yaml").write_text(SA)
    (tree / "a" / "main.tf").write_text("")
    (tree / "a" / "README.md").write_text("")
    (tree / "a" / "dir.tf").mkdir()  # a folder with a file's name
    (tree / os.fsdecode(b"m\xff")).mkdir()
    (tree / os.fsdecode(b"m\xff") / "back\\slash.yaml").write_text(SA)
    (tree / "node_modules").mkdir()
    (tree / "node_modules" / "x.yaml").write_text(SA)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.yaml").write_text(SA)
    (tree / "link-in.yaml").symlink_to(tree / "a" / "b" / "sa.yaml")
    (tree / "link-out.yaml").symlink_to(outside / "o.yaml")
    (tree / "dangling.yaml").symlink_to(tree / "gone.yaml")
    (tree / "dir-out").symlink_to(outside)
    (tree / "dir-in").symlink_to(tree / "a")
    os.mkfifo(tree / "pipe.yaml")
    return tree


EXPECTED_FILES = [
    ("a/b/sa.yaml", "yaml"),
    ("a/main.tf", "terraform"),
    ("link-in.yaml", "yaml"),
    ("m\\xff/back\\\\slash.yaml", "yaml"),
]
EXPECTED_PROBLEMS = [
    ("dangling.yaml", "dangling symbolic link", "error"),
    ("dir-out", "symbolic link to a directory outside the scanned tree: not walked", "note"),
    ("link-out.yaml", "symbolic link to a file outside the scanned tree: not read", "note"),
    ("pipe.yaml", "not a regular file (FIFO, socket or device)", "error"),
]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and symlinks")
@pytest.mark.parametrize("given", ["tree", "tree/", "absolute"])
def test_the_walk_finds_and_shows_each_entry_as_it_is(tmp_path, monkeypatch, given):
    tree = _tree(tmp_path)
    # given as a path from above the tree, or from a folder outside it (shown absolute)
    monkeypatch.chdir(tmp_path / "outside" if given == "absolute" else tmp_path)
    path = str(tree) if given == "absolute" else given
    files, problems = discover([path], classify)
    shown = "tree/" if given != "absolute" else f"{tmp_path}/tree/"
    assert [(f.display, f.kind) for f in files] == [
        (shown + display, kind) for display, kind in EXPECTED_FILES
    ]
    assert all(f.key == os.path.normpath(os.path.join(tmp_path, f.path)) for f in files)
    assert sorted((p.file, p.message, p.level) for p in problems) == [
        (shown + file, message, level) for file, message, level in EXPECTED_PROBLEMS
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and symlinks")
def test_excludes_match_folders_and_files_and_say_which_matched(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    monkeypatch.chdir(tree)
    hits: set[str] = set()
    patterns = ["a/b", "*.md", "m\\xff/*", "never/*", "pipe.yaml"]
    files, problems = discover(["."], classify, patterns, exclude_hits=hits)
    assert [f.display for f in files] == ["a/main.tf", "link-in.yaml"]
    assert sorted(p.file for p in problems) == ["dangling.yaml", "dir-out", "link-out.yaml"]
    assert hits == {"a/b", "*.md", "m\\xff/*", "pipe.yaml"}


HELM = "Helm chart template (Helm renders it; not read)"
# (path, kind, why it is not read) of each file a walk finds; the names a source reads in any
# case, names of no source, Helm templates (a `templates` folder below a chart's Chart.yaml,
# however deep) and templates folders of no chart, and the same names in many folders
NAMED = [
    ("A.TF", "terraform", ""),
    ("B.AUTO.TFVARS.JSON", "tfvars", ""),
    ("KUSTOMIZATION.YML", "kustomization", ""),
    ("a/main.tf", "terraform", ""),
    ("b/main.tf", "terraform", ""),
    ("chart/Chart.yaml", "yaml", ""),
    ("chart/charts/bare/templates/z.yaml", "yaml", ""),
    ("chart/charts/sub/Chart.yaml", "yaml", ""),
    ("chart/charts/sub/templates/y.yaml", "yaml", HELM),
    ("chart/templates/Kustomization", "kustomization", ""),
    ("chart/templates/sa.yaml", "yaml", HELM),
    ("chart/templates/sub/templates/w.YML", "yaml", HELM),
    ("chart/templates/sub/x.yml", "yaml", HELM),
    ("chart/templates/trust.json", "json", ""),
    ("chart/values.yaml", "yaml", ""),
    ("other/templates/sa.yaml", "yaml", ""),
    ("terraform.tfvars", "tfvars", ""),
]
UNNAMED = ["README.md", "main.tf.json", "prod.tfvars", ".eks-checks.yaml", "a/main.tf.bak"]


@pytest.mark.parametrize("given", ["tree", "tree/", ".", "absolute"])
def test_each_file_is_what_its_name_and_folder_make_it_wherever_the_walk_starts(
    tmp_path, monkeypatch, given
):
    """The walk classifies a folder's files by name, and by the folder once: each file found
    is what `classify` says of its path, and no other file is found."""
    tree = tmp_path / "tree"
    for path in [p for p, _kind, _skip in NAMED] + UNNAMED:
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(SA)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir({".": tree, "absolute": tmp_path / "elsewhere"}.get(given, tmp_path))
    files, problems = discover([str(tree) if given == "absolute" else given], classify)
    shown = {"tree": "tree/", "tree/": "tree/", ".": "", "absolute": f"{tree}/"}[given]
    assert [(f.display, f.kind, f.skip) for f in files] == [
        (shown + path, kind, skip) for path, kind, skip in NAMED
    ]
    assert all(classify(f.path) == (f.kind, f.skip) for f in files)
    # each as the class makes it from its path, its key worked out
    made = [SourceFile(f.path, f.display, f.kind, f.skip) for f in files]
    assert [vars(f) for f in files] == [vars(f) for f in made]
    assert files == made and {hash(f) for f in files} == {hash(f) for f in made}
    assert problems == []
