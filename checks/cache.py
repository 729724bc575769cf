"""A parse cache keyed by file content, tool version and parser kind.

It lives in the user's cache directory ($EKS_CHECKS_CACHE_DIR, else $XDG_CACHE_HOME/eks-checks,
else ~/.cache/eks-checks), never inside the scanned tree: entries are pickles, and a pull
request must not be able to plant one. Writes go to a temporary file renamed into place, so
concurrent runs (pre-commit, parallel workers) never see half an entry; any cache problem
(unwritable directory, corrupt entry) means parsing again, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from checks import __version__

FORMAT = 3  # bump when the shape of cached parse results changes


def cache_dir() -> Path:
    explicit = os.environ.get("EKS_CHECKS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eks-checks"


def _path(kind: str, text: str) -> Path:
    digest = hashlib.sha256(
        f"{FORMAT}\0{__version__}\0{kind}\0".encode() + text.encode("utf-8", "surrogatepass")
    ).hexdigest()
    return cache_dir() / f"v{__version__}-{FORMAT}" / digest[:2] / digest[2:]


def get(kind: str, text: str) -> Any:
    """The cached value, or None. A hit is touched, so that pruning drops the least recently
    used entries first."""
    path = _path(kind, text)
    try:
        with open(path, "rb") as fh:
            value = pickle.load(fh)
    except Exception:  # missing, unreadable or corrupt: parse again
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return value


def put(kind: str, text: str, value: Any) -> None:
    path = _path(kind, text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:  # a read-only home, a full disk: the scan goes on uncached
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except Exception:
            pass


MAX_BYTES = 256 * 1024 * 1024  # the cache's size budget ($EKS_CHECKS_CACHE_MAX_MB overrides)
PRUNE_EVERY = 24 * 3600  # seconds between two looks at the cache's size


def prune(now: float | None = None) -> None:
    """Keep the cache bounded, at most once a day: remove what other versions of the tool
    wrote (never trusted anyway), then, over the budget, the least recently used entries
    until a quarter of the budget is free. Failures are ignored: pruning is housekeeping."""
    import shutil
    import time

    root = cache_dir()
    now = time.time() if now is None else now
    stamp = root / ".pruned"
    try:
        if stamp.exists() and now - stamp.stat().st_mtime < PRUNE_EVERY:
            return
        root.mkdir(parents=True, exist_ok=True)
        stamp.touch()
        os.utime(stamp, (now, now))
        current = f"v{__version__}-{FORMAT}"
        for entry in root.iterdir():
            if entry.is_dir() and entry.name.startswith("v") and entry.name != current:
                shutil.rmtree(entry, ignore_errors=True)
        budget = int(float(os.environ.get("EKS_CHECKS_CACHE_MAX_MB", MAX_BYTES / 2**20)) * 2**20)
        entries = []
        for dirpath, _dirs, names in os.walk(root / current):
            for name in names:
                path = os.path.join(dirpath, name)
                st = os.stat(path)
                entries.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        if total <= budget:
            return
        for _mtime, size, path in sorted(entries):
            os.unlink(path)
            total -= size
            if total <= budget * 3 // 4:
                break
    except Exception:
        pass
