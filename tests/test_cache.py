"""The cache stays bounded: other versions' entries go, then the least recently used."""

from __future__ import annotations

import os

from checks import __version__, cache


def _entry(root, name: str, size: int, mtime: float):
    path = root / f"v{__version__}-{cache.FORMAT}" / name[:2] / name[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_prune_drops_other_versions_and_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("EKS_CHECKS_CACHE_MAX_MB", "1")
    stale = tmp_path / "v0.0.1-1" / "ab" / "cdef"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    mib = 2**20
    oldest = _entry(tmp_path, "aa01", mib // 2, 1_000)
    older = _entry(tmp_path, "aa02", mib // 2, 2_000)
    recent = _entry(tmp_path, "aa03", mib // 2, 3_000)
    cache.prune(now=10_000)
    assert not stale.parent.parent.exists()
    # 1.5 MiB over a 1 MiB budget: the oldest go until 0.75 MiB is left
    assert (oldest.exists(), older.exists(), recent.exists()) == (False, False, True)


def test_prune_looks_at_most_once_a_day(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("EKS_CHECKS_CACHE_MAX_MB", "0")
    cache.prune(now=100_000)
    first = _entry(tmp_path, "bb01", 10, 50_000)
    cache.prune(now=100_000 + 3_600)  # an hour later: not again
    assert first.exists()
    cache.prune(now=100_000 + cache.PRUNE_EVERY + 1)
    assert not first.exists()


def test_a_hit_is_touched_so_it_survives_pruning(tmp_path, monkeypatch):
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path))
    cache.put("yaml", "a: 1\n", [{"a": 1}])
    path = cache._path("yaml", "a: 1\n")
    os.utime(path, (1_000, 1_000))
    assert cache.get("yaml", "a: 1\n") == [{"a": 1}]
    assert path.stat().st_mtime > 1_000
