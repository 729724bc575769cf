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
    """The cached value, or None."""
    try:
        with open(_path(kind, text), "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, unreadable or corrupt: parse again
        return None


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
