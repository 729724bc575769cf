"""Speed must never change an answer: findings and problems are byte-identical with and
without worker processes, the parse cache, and the Terraform pre-filter, on the whole test
corpus, the examples and the peer corpus."""

from __future__ import annotations

import json

import pytest

from checks import scan as scan_module
from conftest import FIXTURES, ROOT, cli

PEER = ROOT.parent / "shared" / "corpus" / "peer"


def _report(tmp_path, monkeypatch, *options: str) -> str:
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    paths = [str(FIXTURES), str(ROOT / "examples")] + ([str(PEER)] if PEER.is_dir() else [])
    _, out, _ = cli("scan", *paths, "--format", "json", *options)
    doc = json.loads(out)
    return json.dumps(
        {"findings": doc["findings"], "problems": doc["problems"], "unknown": doc["unknown"]},
        sort_keys=True,
    )


@pytest.fixture
def baseline(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_FILES", 1)
    return _report(tmp_path, monkeypatch, "--jobs", "1", "--no-cache", "--no-prefilter")


@pytest.mark.parametrize(
    "options",
    [
        ("--jobs", "2", "--no-cache", "--no-prefilter"),
        ("--jobs", "1", "--no-cache"),  # pre-filter on
        ("--jobs", "2"),  # everything on, cold cache
    ],
    ids=["parallel", "prefilter", "all"],
)
def test_same_findings(baseline, tmp_path, monkeypatch, options):
    assert _report(tmp_path, monkeypatch, *options) == baseline


def test_warm_cache_gives_the_same_findings(baseline, tmp_path, monkeypatch):
    _report(tmp_path, monkeypatch, "--jobs", "2")  # fills the cache
    assert any((tmp_path / "cache").rglob("*"))
    assert _report(tmp_path, monkeypatch, "--jobs", "2") == baseline
    assert _report(tmp_path, monkeypatch, "--jobs", "1") == baseline
