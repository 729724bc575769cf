"""The cache: what a scan computed for each unit (keyed by a digest of its files' contents,
the tool version, the code and the options), and what grouping the units needs of a
kustomization (by the digest of its text), kept between runs.

Nothing in the cache can run code. Entries are JSON, decoded only as the type the caller
declares (`checks/codec.py`): an entry that does not decode, or is not of that type, is a
miss, and the unit is computed again.

Where: `$EKS_CHECKS_CACHE_DIR`, else `$XDG_CACHE_HOME/eks-checks`, else `~/.cache/eks-checks`.
A directory inside a scanned tree or the git work tree it is in (a pull request could write
it), owned by another user, or writable by group or others is refused: the scan runs without
the cache and says so once.
The tool writes only inside a folder of its own, `v<version>-<format>/`, tagged with a
CACHEDIR.TAG; pruning never touches anything else.

Layout: one *pack* per kind of scan (the same paths from the same directory): an index and the
entries that scan used, read once at the start and, when anything changed, written once
when the units are done to a temporary file renamed into place, so that concurrent runs
never read half a pack (the last writer wins; a lost pack only means a cold run). A large
pack is a *base*, written whole (by a forked process while the scan goes on) and then never
changed, and a small *tail* over it that each run writes with what it changed: a warm run
that changes a file writes kilobytes, not the whole pack (`Pack`).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import accumulate
from pathlib import Path
from typing import Any

from checks import __version__
from checks.codec import Invalid, decode, encode

FORMAT = 13  # bump when the shape of cached values changes
MAX_BYTES = 256 * 1024 * 1024  # the cache's size budget ($EKS_CHECKS_CACHE_MAX_MB overrides)
PRUNE_EVERY = 24 * 3600  # seconds between two looks at the cache's size
STALE_TEMP = 3600  # seconds after which a temporary file is from a run that was killed
BACKGROUND_MIN = 64  # fresh entries from which a forked process encodes and writes a pack
BACKGROUND_BYTES = 8 * 2**20  # a pack this large, written whole, is written by a forked process
HEAD_READ = 1 << 20  # what is read first of a pack: its index line, most often
# a pack this large is written as a base and a tail over it (`Pack`); a smaller one is written
# whole whenever anything changed (a millisecond or two)
BASE_MIN = 1 << 20
# a tail past this, or past a quarter of its base, is folded into a new base: each run writes
# the tail again (the kernel copies what it keeps), and reads its index; a hook's run that
# keeps its index up to date puts the index's head and tables in it (3.5 MB for 14,350 files)
TAIL_MAX = 16 << 20
# a base of which a run kept less than half the bytes is written again without the rest: the
# next base is at most half as large
GARBAGE = 0.5
STAMP_BYTES = 120  # about what a file's stamp takes in a pack (`Stamps.encoded`)

# The Cache Directory Tagging Specification's tag: backup tools skip our folders.
TAG_NAME = "CACHEDIR.TAG"
TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by eks-checks.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
MAGIC = b"eks-checks pack %d\n" % FORMAT
# the names an index reserves (no digest is spelled so): the files' stamps, a base's id, and
# a tail's base (its id and size) and the base's entries it leaves out
STAMPS, ID, BASE, GONE = "stamps", "id", "base", "gone"
# a file's stamp is trusted only when the file had not changed for this long when it was read:
# a write in the same tick of a coarse clock as the read leaves the stamp as it was
RACY_NS = 2_000_000_000
_VERSION_FOLDER = re.compile(r"v[0-9][0-9A-Za-z.+!-]*-[0-9]+")
_PACK = re.compile(r"[0-9a-f]{32}\.pack")
_BASE = re.compile(r"([0-9a-f]{32})-([0-9a-f]{16})\.base")
_BASE_ID = re.compile(r"[0-9a-f]{16}")
_TEMP = re.compile(r"\.tmp-[0-9A-Za-z_]+\.pack")
# what the cache of format 3 and before wrote: two hex digits, then the rest of a sha256
_LEGACY_SHARD = re.compile(r"[0-9a-f]{2}")
_LEGACY_ENTRY = re.compile(r"[0-9a-f]{62}|\.tmp-[0-9A-Za-z_]+")


def cache_dir() -> Path:
    """Where the cache lives, before any check."""
    explicit = os.environ.get("EKS_CHECKS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eks-checks"


def version_folder() -> str:
    return f"v{__version__}-{FORMAT}"


# ---- the directory ----------------------------------------------------------------------------
def open_cache(roots: list[str] = ()) -> tuple[Cache | None, str]:
    """The cache, or None and why not (one line for the user; "" when the cache simply
    cannot be created, e.g. a read-only home). `roots` are the trees the run reads: a cache
    directory inside one of them, or inside the git work tree one of them is in, is refused,
    since whoever writes the tree could plant entries."""
    root = cache_dir()
    try:
        real = Path(os.path.realpath(root))
        for tree in roots:
            top = Path(
                os.path.realpath(tree if os.path.isdir(tree) else os.path.dirname(tree) or ".")
            )
            if real == top or top in real.parents:
                return None, f"not using the cache in {root}: it is inside the scanned tree {tree}"
            work_tree = _work_tree(top)
            if work_tree is not None and (real == work_tree or work_tree in real.parents):
                return None, (
                    f"not using the cache in {root}: it is inside {work_tree}, the git work tree "
                    f"of the scanned {tree}"
                )
        _make_private_dirs(real)
        problem = _untrusted(real)
        if problem:
            return None, f"not using the cache in {root}: {problem}"
        folder = real / version_folder()
        created = _make_private_dirs(folder)
        problem = _untrusted(folder)
        if problem:
            return None, f"not using the cache in {root}: {folder.name} {problem}"
        if created or not (folder / TAG_NAME).is_file():
            _write_atomic(folder, TAG_NAME, TAG.encode())
    except OSError:
        return None, ""
    return Cache(folder), ""


def _work_tree(directory: Path) -> Path | None:
    """The top of the git work tree `directory` is in (where `.git` is), if any: a pull
    request writes all of it, not only the part a scan is given."""
    for candidate in (directory, *directory.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


def _make_private_dirs(path: Path) -> bool:
    """Create `path` and its missing parents, each private to this user (mkdir -p would give
    the parents the umask's mode). True when `path` itself was created."""
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:  # another run made it at the same moment: checked below
            pass
        problem = _untrusted(directory)
        if problem:
            raise OSError(f"{directory} {problem}")
    return bool(missing)


def _untrusted(path: Path) -> str:
    """Why another user could change what is in `path`, or "" when only we can."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    return _foreign(st)


def _foreign(st: os.stat_result) -> str:
    """Whose else a file or folder is, on POSIX (Windows keeps this in ACLs, not in modes)."""
    if not hasattr(os, "geteuid"):
        return ""
    if st.st_uid != os.geteuid():
        return "is owned by another user"
    if st.st_mode & 0o022:
        return "is writable by group or others"
    return ""


def _write_atomic(folder: Path, name: str, data: bytes | list) -> None:
    """`data` (bytes, or a list of byte strings and binary files, written one after the
    other) as the file `name`, whole or not at all."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pack")
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in data if isinstance(data, list) else [data]:
                if isinstance(part, bytes):
                    fh.write(part)
                    continue
                fh.flush()
                size = os.fstat(part.fileno()).st_size - part.tell()
                if _copy(part.fileno(), fh.fileno(), part.tell(), size) != size:
                    raise OSError("a part of the pack could not be copied")
        os.replace(tmp, folder / name)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Cache:
    """The trusted folder of this version of the tool."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def pack(self, identity: str) -> Pack:
        """The pack of the scans that share `identity` (e.g. the same paths from the same
        working directory)."""
        digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return Pack(self.folder, f"{digest}.pack")

    def prune(self, now: float | None = None) -> None:
        """Keep the cache bounded, at most once a day: remove the folders other versions of
        the tool wrote (recognised by their name and tag, or by the layout of the old
        format) and the bases no tail names that a run left an hour ago or more, then, over
        the budget, the least recently used packs (each its file and its base) until a
        quarter of the budget is free. Failures are ignored: pruning is housekeeping."""
        import time

        now = time.time() if now is None else now
        stamp = self.folder / ".pruned"
        try:
            if stamp.exists() and now - stamp.stat().st_mtime < PRUNE_EVERY:
                return
            os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT, 0o600))
            os.utime(stamp, (now, now))
            for entry in os.scandir(self.folder.parent):
                if entry.name != self.folder.name and _ours(entry):
                    shutil.rmtree(entry.path, ignore_errors=True)
            try:
                budget = float(os.environ.get("EKS_CHECKS_CACHE_MAX_MB", MAX_BYTES / 2**20))
            except ValueError:
                budget = MAX_BYTES / 2**20
            budget_bytes = int(budget * 2**20)
            # a pack is its file and the base it names, used when its file is
            packs: dict[str, list] = {}  # name -> [modified, size, paths]
            bases = []
            for entry in os.scandir(self.folder):
                st = entry.stat(follow_symlinks=False)
                if _TEMP.fullmatch(entry.name) and now - st.st_mtime > STALE_TEMP:
                    os.unlink(entry.path)
                elif _PACK.fullmatch(entry.name) and stat.S_ISREG(st.st_mode):
                    packs[entry.name] = [st.st_mtime, st.st_size, [entry.path]]
                elif _BASE.fullmatch(entry.name) and stat.S_ISREG(st.st_mode):
                    bases.append((entry.name, st, entry.path))
            for name, st, path in bases:
                stem, ident = _BASE.fullmatch(name).groups()  # type: ignore[union-attr]
                held = packs.get(f"{stem}.pack")
                if held is not None and _names_base(held[2][0], ident):
                    held[1] += st.st_size
                    held[2].append(path)
                elif now - st.st_mtime > STALE_TEMP:  # no tail names it: a run left it
                    os.unlink(path)
                else:  # being written, or just left: counted all the same
                    packs[name] = [st.st_mtime, st.st_size, [path]]
            total = sum(size for _, size, _ in packs.values())
            if total <= budget_bytes:
                return
            for _mtime, size, paths in sorted(packs.values()):
                for path in paths:
                    os.unlink(path)
                total -= size
                if total <= budget_bytes * 3 // 4:
                    break
        except OSError:
            pass


def _names_base(tail: str, ident: str) -> bool:
    """Whether the pack file `tail` names the base of id `ident`."""
    part = _open_part(Path(tail))
    if part is None:
        return False
    ref = _base_ref(part.index.get(BASE))
    part.close()
    return ref is not None and ref[0] == ident


def _ours(entry: os.DirEntry) -> bool:
    """A folder some version of this tool wrote: a version folder with our tag, or one laid
    out exactly as the format before packs (two hex digits, then digests)."""
    if not (_VERSION_FOLDER.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
        return False
    try:
        tag = Path(entry.path, TAG_NAME)
        if tag.is_file() and not tag.is_symlink():
            return tag.read_text(encoding="utf-8", errors="replace") == TAG
        shards = list(os.scandir(entry.path))
        return bool(shards) and all(
            _LEGACY_SHARD.fullmatch(shard.name)
            and shard.is_dir(follow_symlinks=False)
            and all(
                _LEGACY_ENTRY.fullmatch(item.name) and item.is_file(follow_symlinks=False)
                for item in os.scandir(shard.path)
            )
            for shard in shards
        )
    except OSError:
        return False


# ---- tables in an entry ----------------------------------------------------------------------
_OFFSET = 12  # digits of each number of a table's head
ASK_ALL_AFTER = 512  # keys looked up a bucket at a time before a table is read whole
_RECORD, _VALUE = b"\x1e", b"\x1f"  # before each key of a bucket, between a key and its lines


class Table:
    """Lines of text by key, held in one pack entry, of which a lookup reads one bucket: a
    head of fixed-width numbers (the count of buckets, then where each bucket starts and the
    last ends), then the buckets, each a run of `\\x1e id \\x1f lines` (lines joined by
    line breaks). A key's id is a keyed hash of it (`ident`), with a secret `salt` of the
    table's writer, and picks its bucket: no tree can crowd its keys into one bucket, nor
    make two keys one. Lines hold no line break and neither separator. A table not so made
    raises ValueError when read."""

    def __init__(self, blob: bytes, salt: bytes) -> None:
        self.blob, self.salt = blob, salt
        self._hash = hashlib.blake2b(digest_size=16, key=salt)  # copied for each key
        self._asked = 0
        self._all: dict[bytes, bytes] | None = None  # every key's lines, once many are asked
        try:
            self.count = int(blob[:_OFFSET])
        except ValueError:
            raise ValueError("not a table") from None
        self.body = _OFFSET * (self.count + 2)
        if self.count < 1 or len(blob) < self.body:
            raise ValueError("not a table")

    @staticmethod
    def ident(key: str, salt: bytes) -> bytes:
        """The id of `key` in a table of `salt` (hex: no separator)."""
        said = key.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(said, digest_size=16, key=salt).hexdigest().encode()

    @staticmethod
    def _bucket_of(ident: bytes, count: int) -> int:
        return int(ident[:16], 16) % count

    def _bounds(self, bucket: int) -> tuple[int, int]:
        at = _OFFSET * (bucket + 1)
        start = int(self.blob[at : at + _OFFSET])
        end = int(self.blob[at + _OFFSET : at + 2 * _OFFSET])
        if not 0 <= start <= end <= len(self.blob) - self.body:
            raise ValueError("a table's bucket out of bounds")
        return self.body + start, self.body + end

    def get(self, key: str) -> list[str]:
        """The lines of `key` ([] when it has none)."""
        text = self.text(key)
        return text.split("\n") if text else []

    def text(self, key: str) -> str:
        """The lines of `key` as one text ("" when it has none)."""
        said = self._hash.copy()
        said.update(key.encode("utf-8", "surrogatepass"))
        return self.text_of(said.hexdigest().encode())

    def text_of(self, ident: bytes) -> str:
        """`text` of the key whose id is `ident`."""
        if self._all is None:
            self._asked += 1
            if self._asked > ASK_ALL_AFTER:  # a bucket at a time costs more now than all
                self._all = self._every()
        if self._all is not None:
            return self._all.get(ident, b"").decode("utf-8", "surrogatepass")
        start, end = self._bounds(self._bucket_of(ident, self.count))
        wanted = _RECORD + ident + _VALUE
        at = self.blob.find(wanted, start, end)
        if at < 0:
            return ""
        at += len(wanted)
        stop = self.blob.find(_RECORD, at, end)
        return self.blob[at : end if stop < 0 else stop].decode("utf-8", "surrogatepass")

    def _every(self) -> dict[bytes, bytes]:
        """Every key's lines, by id."""
        found = {}
        for record in self.blob[self.body :].split(_RECORD)[1:]:
            ident, sep, lines = record.partition(_VALUE)
            if not sep:
                raise ValueError("a table's record without lines")
            found[ident] = lines
        return found

    def _bucket(self, bucket: int) -> dict[bytes, list[str]]:
        start, end = self._bounds(bucket)
        found: dict[bytes, list[str]] = {}
        for record in self.blob[start:end].split(_RECORD)[1:]:
            ident, _, lines = record.partition(_VALUE)
            found[ident] = lines.decode("utf-8", "surrogatepass").split("\n")
        return found

    def changed(
        self, keys: set[str], keep: Callable[[str], bool], added: dict[str, list[str]]
    ) -> bytes:
        """This table with the lines of `keys` that `keep` refuses left out and the lines
        `added` put in: only the buckets of those keys are read and written again."""
        touched: dict[int, dict[bytes, list[str]]] = {}
        leaving = {self.ident(key, self.salt) for key in keys}
        adding = {self.ident(key, self.salt): lines for key, lines in added.items()}
        for ident in leaving | adding.keys():
            bucket = self._bucket_of(ident, self.count)
            if bucket not in touched:
                touched[bucket] = self._bucket(bucket)
        for held in touched.values():
            for ident in [i for i in held if i in leaving]:
                lines = [line for line in held[ident] if keep(line)]
                if lines:
                    held[ident] = lines
                else:
                    del held[ident]
        for ident, lines in adding.items():
            touched[self._bucket_of(ident, self.count)].setdefault(ident, []).extend(lines)
        parts = []
        for bucket in range(self.count):
            if bucket in touched:
                parts.append(_bucket_bytes(touched[bucket]))
            else:
                start, end = self._bounds(bucket)
                parts.append(self.blob[start:end])
        return _table_bytes(parts)

    @staticmethod
    def made(table: dict[str, list[str]], salt: bytes) -> bytes:
        """The entry of `table` (four keys a bucket or so)."""
        count = 1
        while count * 4 < len(table):
            count *= 2
        buckets: list[dict[bytes, list[str]]] = [{} for _ in range(count)]
        for key, lines in table.items():
            ident = Table.ident(key, salt)
            buckets[Table._bucket_of(ident, count)][ident] = lines
        return _table_bytes([_bucket_bytes(held) for held in buckets])


class Parts:
    """A table of lines by key cut in `count` parts, each a `Table` of its own (its own
    pack entry), a key's part picked by its id: a change rewrites only the parts of the
    keys it touches, and a lookup reads only its key's part. `read(n)`: the bytes of part
    n, None when missing (ValueError when asked)."""

    def __init__(self, read: Callable[[int], bytes | None], count: int, salt: bytes) -> None:
        if count < 1:
            raise ValueError("a table of no parts")
        self.read, self.count, self.salt = read, count, salt
        self._tables: dict[int, Table] = {}

    @staticmethod
    def part_of(ident: bytes, count: int) -> int:
        """The part of the key whose id is `ident` (digits the buckets do not use)."""
        return int(ident[16:], 16) % count

    @staticmethod
    def count_for(keys: int, each: int) -> int:
        """How many parts `keys` keys are cut in, about `each` a part (a power of two)."""
        count = 1
        while count * each < keys:
            count *= 2
        return count

    def table(self, part: int) -> Table:
        """Part `part`, read when first asked."""
        found = self._tables.get(part)
        if found is None:
            blob = self.read(part)
            if blob is None:
                raise ValueError("a part of a table is missing")
            found = self._tables[part] = Table(blob, self.salt)
        return found

    def text(self, key: str) -> str:
        """The lines of `key` as one text ("" when it has none)."""
        ident = Table.ident(key, self.salt)
        return self.table(self.part_of(ident, self.count)).text_of(ident)

    def get(self, key: str) -> list[str]:
        """The lines of `key` ([] when it has none)."""
        text = self.text(key)
        return text.split("\n") if text else []

    def changed(
        self, keys: set[str], keep: Callable[[str], bool], added: dict[str, list[str]]
    ) -> dict[int, bytes]:
        """The parts `Table.changed` changes (by number), the others as they are."""
        leaving: dict[int, set[str]] = defaultdict(set)
        adding: dict[int, dict[str, list[str]]] = defaultdict(dict)
        for key in keys:
            leaving[self.part_of(Table.ident(key, self.salt), self.count)].add(key)
        for key, lines in added.items():
            adding[self.part_of(Table.ident(key, self.salt), self.count)][key] = lines
        return {
            part: self.table(part).changed(leaving.get(part, set()), keep, adding.get(part, {}))
            for part in sorted(leaving.keys() | adding.keys())
        }

    @staticmethod
    def made(table: dict[str, list[str]], salt: bytes, each: int) -> list[bytes]:
        """The parts of `table`, in order, about `each` keys a part."""
        count = Parts.count_for(len(table), each)
        parts: list[dict[str, list[str]]] = [{} for _ in range(count)]
        for key, lines in table.items():
            parts[Parts.part_of(Table.ident(key, salt), count)][key] = lines
        return [Table.made(part, salt) for part in parts]


def _bucket_bytes(held: dict[bytes, list[str]]) -> bytes:
    return b"".join(
        _RECORD + ident + _VALUE + "\n".join(lines).encode("utf-8", "surrogatepass")
        for ident, lines in held.items()
    )


def _table_bytes(buckets: list[bytes]) -> bytes:
    starts, offset = [], 0
    for bucket in buckets:
        starts.append(offset)
        offset += len(bucket)
    starts.append(offset)
    head = "".join(f"{n:0{_OFFSET}d}" for n in [len(buckets), *starts]).encode()
    return b"".join([head, *buckets])


# ---- packs ------------------------------------------------------------------------------------
class _Part:
    """One file of a pack, opened once: its JSON index `{digest: [offset, length]}` (and the
    names it reserves: `STAMPS`, `BASE`, `GONE`, `ID`) and where its entries start. Its
    entries are read from the file when asked (a file replaced meanwhile is a new file; this
    one stays whole), never all at once."""

    def __init__(self, fd: int, st: os.stat_result) -> None:
        self.fd: int | None = fd
        self.size, self.ino = st.st_size, st.st_ino
        self.index: dict = {}
        self.body = 0
        start = self.read(0, min(self.size, HEAD_READ)) or b""
        end = start.find(b"\n", len(MAGIC)) if start.startswith(MAGIC) else -1
        if end < 0 and start.startswith(MAGIC) and len(start) == HEAD_READ:
            start = self.read(0, self.size) or b""  # an index longer than the first read
            end = start.find(b"\n", len(MAGIC))
        if end > 0:
            try:
                index = json.loads(start[len(MAGIC) : end])
            except (ValueError, RecursionError):
                index = None
            if isinstance(index, dict):
                self.index, self.body = index, end + 1

    def read(self, offset: int, length: int) -> bytes | None:
        """`length` bytes of the file from `offset`, or None (a file cut short)."""
        if self.fd is None:
            return None
        try:
            if hasattr(os, "pread"):
                data = os.pread(self.fd, length, offset)
            else:  # no positioned read (Windows): one reader of this descriptor at a time
                os.lseek(self.fd, offset, os.SEEK_SET)
                data = os.read(self.fd, length)
        except (OSError, ValueError, OverflowError):
            return None
        return data if len(data) == length else None

    def valid(self, where: Any) -> bool:
        """Whether an index entry is an offset and a length inside the file."""
        if type(where) is not list or len(where) != 2:
            return False
        offset, length = where
        return (
            type(offset) is int
            and type(length) is int
            and offset >= 0
            and length >= 0
            and self.body + offset + length <= self.size
        )

    def entry(self, name: str) -> bytes | None:
        """The entry the index files under `name`, taken out of the index (None if none)."""
        where = self.index.pop(name, None)
        return self.read(self.body + where[0], where[1]) if self.valid(where) else None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        self.close()


def _open_part(path: Path) -> _Part | None:
    """The file at `path` as a part of a pack, if it is a regular file only we can write
    (else None: a miss)."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if _foreign(st) or not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return _Part(fd, st)


def _base_ref(named: Any) -> tuple[str, int] | None:
    """The id and size of the base a tail names as `named` (its `BASE`), None when it is not
    a base's id (a path, say) and a size."""
    if type(named) is not list or len(named) != 2:
        return None
    ident, size = named
    if type(ident) is not str or not _BASE_ID.fullmatch(ident) or type(size) is not int:
        return None
    return ident, size


class Pack:
    """Entries by digest, in one file or two, each `MAGIC`, a JSON index line `{digest:
    [offset, length]}`, then the entries' JSON texts. A small pack is one file, written whole
    whenever anything changed. A large one is a *base* (`<name>-<id>.base`, written whole,
    never changed: its index carries its id) and the pack file, the *tail* over it, rewritten
    at each run that changed something with only what differs from the base: the entries
    made since, the base's entries that are no longer kept (`GONE`), the stamps that changed
    (`Stamps`), and the id and size of its base (`BASE`). A tail whose base is not the one it
    names (gone, of another id or size, not ours) is a cold run. Read once; an entry is
    decoded only when asked for."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        # the pack file, then the base it names, if any: entries are looked up in that order
        self._parts: list[_Part] = []
        self._base_keys: list[str] = []  # every entry the base holds, those gone included
        self._base_stamps = 0  # the size of the base's stamps
        self._base_ref: tuple[str, int] | None = None  # the base's id and size, as named
        # what this run read (the part, and where it is in it): kept in the next pack
        self._used: dict[str, tuple[int, int, int]] = {}
        # what `put` gave it, encoded: kept in the next pack, which is then written
        self._put: dict[str, bytes] = {}
        # what the writer of the next pack makes (`put_later`): entries' bytes by digest
        self._later: list[Callable[[bytes], Iterable[tuple[str, bytes]]]] = []
        self._late = b""  # what `finish` gave the makers
        self._told: int | None = None  # the pipe to a writer waiting for `finish`
        self._writer: int | None = None  # the process writing the next pack
        self.stamps = Stamps()
        top = _open_part(folder / name)
        if top is None:
            return
        named = top.index.pop(BASE, None)
        gone = top.index.pop(GONE, [])
        top.index.pop(ID, None)
        self._parts = [top]
        if named is None:
            self.stamps = Stamps(top.entry(STAMPS) or b"")
            return
        self._base_ref = _base_ref(named)
        base = self._open_base(self._base_ref)
        if base is None or type(gone) is not list:
            self._parts = []  # not the base the tail was written over: a cold run
            top.close()
            return
        self._parts.append(base)
        stamps = base.entry(STAMPS) or b""
        self._base_stamps = len(stamps)  # used by every run: never garbage
        self._base_keys = list(base.index)
        for digest in gone:
            if type(digest) is str:
                base.index.pop(digest, None)
        self.stamps = Stamps(stamps, top.entry(STAMPS) or b"")

    def _open_base(self, ref: tuple[str, int] | None) -> _Part | None:
        """The base a tail names by `ref` (its id and size), when it is that base."""
        if ref is None:
            return None
        base = _open_part(self.folder / self._base_name(ref[0]))
        if base is None:
            return None
        if base.size != ref[1] or base.index.pop(ID, None) != ref[0]:
            base.close()
            return None
        base.index.pop(BASE, None)
        base.index.pop(GONE, None)
        return base

    def _base_name(self, ident: str) -> str:
        return f"{self.name.removesuffix('.pack')}-{ident}.base"

    @property
    def _size(self) -> int:
        return sum(part.size for part in self._parts)

    def __del__(self) -> None:
        for part in self._parts:
            part.close()

    def __len__(self) -> int:
        if len(self._parts) < 2:
            return sum(len(part.index) for part in self._parts)
        top, base = self._parts
        return len(base.index) + sum(digest not in base.index for digest in top.index)

    def reader(self) -> Pack:
        """The pack as it is on disk now, for a scan that must not write it (the check of a
        reduced context against the full one)."""
        other = Pack(self.folder, self.name)
        other.save = lambda fresh=(), declared=None, pending=False: None  # type: ignore[method-assign]
        return other

    def _where(self, digest: str) -> tuple[int, int, int] | None:
        """Which part holds the entry `digest`, and where it starts and ends in it."""
        for slot, part in enumerate(self._parts):
            where = part.index.get(digest)
            if where is not None:
                if not part.valid(where):
                    return None
                start = part.body + where[0]
                return slot, start, start + where[1]
        return None

    def get(self, key: str, declared: Any) -> Any:
        """The value of type `declared` stored under `key`, or None (missing, corrupt, or
        not of that type)."""
        return self.get_filed(key_digest(key), declared)

    def get_filed(self, digest: str, declared: Any) -> Any:
        """`get` of the entry filed under `digest` (`key_digest` of its key)."""
        raw = self.raw_filed(digest)
        if raw is None:
            return None
        try:
            return decode(raw, declared)
        except Exception:  # noqa: BLE001 - whatever is wrong with an entry, it is a miss
            self._used.pop(digest, None)
            return None

    def raw(self, key: str) -> bytes | None:
        """The bytes stored under `key`, as `put` or `put_later` gave them (kept in the next
        pack), or None."""
        return self.raw_filed(key_digest(key))

    def raw_filed(self, digest: str) -> bytes | None:
        """`raw` of the entry filed under `digest`."""
        where = self._where(digest)
        if where is None:
            return None
        slot, start, end = where
        raw = self._parts[slot].read(start, end - start)
        if raw is not None:
            self._used[digest] = where  # not a copy: read again if written
        return raw

    def keep(self, digest: str) -> bool:
        """Keep the entry filed under `digest` (`key_digest`) in the next pack, as if it was
        read, without decoding it (what a scan relies on without reading: the pre-commit
        hook's index); False when the pack holds none."""
        where = self._where(digest)
        if where is None:
            return False
        self._used[digest] = where
        return True

    def put(self, key: str, value: Any, declared: Any) -> None:
        """Keep `value`, of the type `declared`, under `key` in the next pack, beside what
        `save` is given (a value that cannot be stored is left out): what a scan works out
        before its units run (grouping), so small that it is encoded here at once."""
        try:
            self._put[key_digest(key)] = encode(value, declared)
        except (Invalid, ValueError, RecursionError):
            return

    def put_filed(self, digest: str, raw: bytes) -> None:
        """Keep `raw`, as it is, under `digest` (`key_digest` of its key) in the next pack,
        read back with `raw` or `get_filed`: what a caller encoded itself."""
        self._put[digest] = raw

    def forget(self, key: str) -> None:
        """Leave the entry under `key` out: not read again, nor kept in the next pack."""
        digest = key_digest(key)
        for part in self._parts:
            part.index.pop(digest, None)
        self._used.pop(digest, None)

    def put_later(self, make: Callable[[bytes], Iterable[tuple[str, bytes]]]) -> None:
        """Have the writer of the next pack call `make` for more entries, (key digest, bytes)
        pairs, each written as soon as it is made (read back with `raw`, or `get` when
        `encode` made them), with what `finish` gives (b"" without it): what is large to
        encode is encoded by the forked writer while the scan goes on. An exception in
        `make` leaves the entries it had not made out."""
        self._later.append(make)

    def drop_later(self, make: Callable[[bytes], Iterable[tuple[str, bytes]]]) -> None:
        """`make` is not to be called after all (if no writer has it yet)."""
        if make in self._later:
            self._later.remove(make)

    def save(
        self, fresh: list[tuple[str, Any]] = (), declared: Any = None, pending: bool = False
    ) -> None:
        """The next pack: the entries this run read or `put`, and `fresh` (key digest,
        value) pairs of the type `declared` (a value that cannot be stored is left out); when
        nothing changed, the pack is only marked as used. Many fresh values, entries to make
        (`put_later`) or a large pack to write whole are encoded and written by a forked
        process while this one goes on (it sees them as they are now); `wait()` for it; a
        tail is written here. `pending`: the makers wait for what `finish` gives, and the
        pack is written then; the fresh values are taken as they are now all the same (a
        forked writer waits for it, or they are encoded here). Never raises: a pack not
        written means a cold run."""
        if pending:
            if fresh:
                self._take(fresh, declared)
            return
        unchanged = len(self._used) == len(self) and not self._put and not self._later
        if not fresh and unchanged and not self.stamps.changed:
            if self._used:
                try:
                    os.utime(self.folder / self.name)
                except OSError:
                    pass
            return
        large = len(fresh) >= BACKGROUND_MIN or self._later or self._whole_is_large()
        if not (large and self._fork(fresh, declared, None)):
            self._write(fresh, declared)
            self._later = []

    def _whole_is_large(self) -> bool:
        """Whether the next pack is a large one written whole (not a tail over the base)."""
        if self._size < BACKGROUND_BYTES:
            return False
        put = sum(map(len, self._put.values()))
        return not self._tail_fits(put + STAMP_BYTES * self.stamps.delta_count())

    def _tail_fits(self, made: int) -> bool:
        """Whether a tail over this pack's base, with `made` bytes made by this run, is
        within its bound (`TAIL_MAX`, a quarter of the base: past it, a new base costs less
        than carrying the tail at every run) and the base is not mostly what this run left
        out (`GARBAGE`: then the next base is much smaller)."""
        if len(self._parts) < 2:
            return False
        top, base = self._parts
        sizes = [0, 0]
        for digest, (slot, start, end) in self._used.items():
            if digest not in self._put:  # made again by this run: written once, as made
                sizes[slot] += end - start
        if made + sizes[0] > min(TAIL_MAX, base.size // 4):
            return False
        return sizes[1] + self._base_stamps >= (base.size - base.body) * (1 - GARBAGE)

    def _take(self, fresh: list[tuple[str, Any]], declared: Any) -> None:
        """`save(pending=True)` of fresh values: a writer forked now, waiting for `finish`,
        or, for a few values, each encoded now."""
        if len(fresh) >= BACKGROUND_MIN or self._whole_is_large():
            try:
                waiting, self._told = os.pipe()
            except (OSError, AttributeError):
                waiting = None
            if waiting is not None:
                forked = self._fork(fresh, declared, waiting)
                os.close(waiting)
                if forked:
                    return
                os.close(self._told)  # type: ignore[arg-type]
                self._told = None
        for digest, value in fresh:
            try:
                self._put[digest] = encode(value, declared)
            except (Invalid, ValueError, RecursionError):
                pass

    def _fork(self, fresh: list[tuple[str, Any]], declared: Any, waiting: int | None) -> bool:
        """Write the next pack in a forked process (after reading what `finish` sends on
        `waiting`, when given); False when none could be forked."""
        if not hasattr(os, "fork"):
            return False
        try:
            pid = os.fork()
        except OSError:
            return False
        if pid == 0:
            try:
                # a collection would walk, and so copy, the parent's whole heap
                gc.disable()
                if waiting is not None:
                    os.close(self._told)  # type: ignore[arg-type]
                    self._late = _read_to_end(waiting)
                self._write(fresh, declared)
            finally:
                os._exit(0)  # never back into the caller's code
        self._writer = pid
        self._later = []  # the writer has them: what they hold is let go here
        return True

    def finish(self, late: bytes) -> None:
        """After `save(pending=True)`: give the makers `late` and write the next pack (the
        forked writer that waits for it, or now)."""
        if self._told is not None:
            told, self._told = self._told, None
            try:
                os.write(told, late)
            except OSError:
                pass
            finally:
                os.close(told)
            return
        self._late = late
        self.save()

    def wait(self) -> None:
        """Until the pack `save` handed to another process is written (and the process of
        `Stamps.prefetch` is gone)."""
        self.stamps.settle()
        if self._told is not None:  # a writer still waiting: it writes what it has
            os.close(self._told)
            self._told = None
        if self._writer is not None:
            try:
                os.waitpid(self._writer, 0)
            except OSError:
                pass
            self._writer = None

    def _write(self, fresh: list[tuple[str, Any]], declared: Any) -> None:
        """Write the next pack: the entries this run made are written to a scratch file as
        soon as they are made (a pack's worth of entries is never in memory at once); then,
        when they fit in a tail over the base, the tail, else the entries this run read
        and the whole pack."""
        import tempfile

        index: dict[str, Any] = {}
        try:
            # unbuffered: what the kernel copies into it and what is written go one way
            with tempfile.TemporaryFile(dir=self.folder, buffering=0) as body:

                def add(digest: str, raw: bytes) -> None:
                    index[digest] = [body.tell(), len(raw)]
                    body.write(raw)

                for make in self._later:  # first: what they make replaces what was read
                    try:
                        for digest, raw in make(self._late):
                            add(digest, raw)
                    except Exception:  # noqa: BLE001 - an entry not made is a miss next time
                        pass
                for digest, raw in self._put.items():
                    add(digest, raw)
                for digest, value in fresh:
                    try:
                        add(digest, encode(value, declared))
                    except (Invalid, ValueError, RecursionError):
                        pass
                delta = self.stamps.encoded_delta() if len(self._parts) > 1 else b""
                if self._tail_fits(body.tell() + len(delta)):
                    self._write_tail(body, index, add, delta)
                else:
                    self._write_whole(body, index, add)
        except OSError:
            pass

    def _write_tail(self, body: Any, index: dict, add: Callable, delta: bytes) -> None:
        """The tail over this pack's base: what `body` holds, the entries this run read of
        the tail, the stamps that changed, and the base's entries this run did not keep."""
        self._keep_read(body, index, add, only=0)
        if delta:
            add(STAMPS, delta)
        base = self._parts[1]
        index[GONE] = [
            digest
            for digest in self._base_keys
            if self._used.get(digest, _NOWHERE)[0] != 1 or digest in index
        ]
        index[BASE] = list(self._base_ref)  # type: ignore[arg-type]
        head = json.dumps(index, separators=(",", ":"), allow_nan=False).encode()
        body.seek(0)
        try:  # a base written again meanwhile by another run (which removed this one): its
            # pack stands
            if os.stat(self.folder / self._base_name(index[BASE][0])).st_ino != base.ino:
                return
        except OSError:
            return
        _write_atomic(self.folder, self.name, [MAGIC, head, b"\n", body])

    def _write_whole(self, body: Any, index: dict, add: Callable) -> None:
        """The whole pack: what `body` holds, the entries this run read, the stamps of the
        files it looked at; from `BASE_MIN` bytes on, as a new base and an empty tail over
        it, and the last base removed."""
        self._keep_read(body, index, add)
        stamps = self.stamps.encoded()
        if stamps:
            add(STAMPS, stamps)
        size = len(MAGIC) + body.tell() + 1
        if size < BASE_MIN:
            head = json.dumps(index, separators=(",", ":"), allow_nan=False).encode()
            body.seek(0)
            _write_atomic(self.folder, self.name, [MAGIC, head, b"\n", body])
        else:
            import secrets

            ident = secrets.token_hex(8)
            index[ID] = ident
            head = json.dumps(index, separators=(",", ":"), allow_nan=False).encode()
            body.seek(0)
            _write_atomic(self.folder, self._base_name(ident), [MAGIC, head, b"\n", body])
            tail = json.dumps({BASE: [ident, size + len(head)]}).encode()
            _write_atomic(self.folder, self.name, [MAGIC, tail, b"\n"])
        if self._base_ref is not None and len(self._parts) > 1:
            try:
                os.unlink(self.folder / self._base_name(self._base_ref[0]))
            except OSError:
                pass

    def _keep_read(
        self, body: Any, index: dict[str, Any], add: Callable, only: int | None = None
    ) -> None:
        """Copy the entries this run read (those not made anew; of the part `only`, when
        given) from this pack into `body`: entries next to each other in a part in one copy
        the kernel makes, file to file (a base holds thousands of them, tens of megabytes);
        what it cannot copy whole is read entry by entry (an entry not read is a miss next
        time)."""
        kept = sorted(
            (slot, start, end, digest)
            for digest, (slot, start, end) in self._used.items()
            if digest not in index and (only is None or slot == only)
        )
        at = 0
        while at < len(kept):
            last = at
            while (
                last + 1 < len(kept)
                and kept[last + 1][0] == kept[last][0]
                and kept[last + 1][1] == kept[last][2]
            ):
                last += 1
            slot, first, run = kept[at][0], kept[at][1], kept[at : last + 1]
            at = last + 1
            part = self._parts[slot]
            here = body.tell()
            length = run[-1][2] - first
            if part.fd is not None and _copy(part.fd, body.fileno(), first, length) == length:
                for _slot, start, end, digest in run:
                    index[digest] = [here + start - first, end - start]
                continue
            body.seek(here)
            body.truncate()
            for _slot, start, end, digest in run:
                raw = part.read(start, end - start)
                if raw is not None:  # else the file was cut short
                    add(digest, raw)


_NOWHERE = (-1, 0, 0)


def _copy(source: int, target: int, offset: int, length: int) -> int:
    """Copy `length` bytes of the file `source` from `offset` to where `target` is (its
    position moves past them), in the kernel where the system can; how many it copied."""
    done = 0
    copy_range = getattr(os, "copy_file_range", None)
    while done < length and copy_range is not None:
        try:
            step = copy_range(source, target, length - done, offset + done)
        except OSError:
            break  # not between these files here (another file system, an old kernel)
        if step <= 0:
            return done  # the end of `source`
        done += step
    while done < length:
        try:
            part = os.pread(source, min(length - done, 1 << 20), offset + done)
        except (OSError, AttributeError):
            return done
        if not part:
            return done
        view = memoryview(part)
        while view:
            view = view[os.write(target, view) :]
        done += len(part)
    return done


def _read_to_end(fd: int) -> bytes:
    """Everything a pipe gives until its writer closes it."""
    parts = []
    while True:
        try:
            part = os.read(fd, 1 << 16)
        except OSError:
            break
        if not part:
            break
        parts.append(part)
    os.close(fd)
    return b"".join(parts)


def file_stamp(path: str) -> list | None:
    """What a file is, as git's index keeps it: size, modification and change times, inode
    and device (following symlinks); None when it cannot be stat'ed. Equal stamps taken
    before and after a read mean the text read is the file's then."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def still(stamp: list, taken_at: int) -> bool:
    """Whether a file whose stamp was taken at `taken_at` (time.time_ns()) had not changed for
    `RACY_NS` then: a write after it moves the modification time past the stamp's, whatever
    the clock's tick."""
    return taken_at - stamp[1] > RACY_NS


class Stamps:
    """What each file was when its text was last digested, as git's index keeps it: size,
    modification and change times, inode and device, and the digest. A file whose stamp is
    unchanged is not read again; its digest stands for its text in a unit's key. A stamp is
    trusted only when it was taken `RACY_NS` after the file's last change (a write in the
    same clock tick as the read would leave it alike), and an edit that restores the size
    and the modification time still moves the change time, which no user can set.

    Kept as three JSON lists, which decode at C speed however many files there are (every
    file of a warm run is asked for): the files' keys, their stamps' numbers
    (`STAMP_NUMBERS` a file, in a row) and their digests; those of a pack's base (`raw`),
    and those that changed since, of its tail (`delta`: they win). A file gone, or not
    looked at by the runs since, keeps its stamp in the base until the base is written
    again: harmless, since a stamp never matches another file (its inode and change time)
    nor a file written since (its change time)."""

    def __init__(self, raw: bytes = b"", delta: bytes = b"") -> None:
        self._raw, self._delta_raw = raw, delta
        self._index: dict[str, int] | None = None  # the last run's stamps, by key
        self._numbers: list = []
        self._digests: list = []
        self._base_count = 0  # the stamps from here on in the lists are the tail's
        self._delta_keys: list[str] = []  # the tail's, in its order
        self._kept: dict[str, int] = {}  # those this run found unchanged
        self._fresh: dict[str, list] = {}  # those this run took, with their digest
        self.changed = False
        self._looking: tuple[int, int] | None = None  # the process of `prefetch`, its pipe
        self._still = b""  # a byte per stamp from it: 1 when its file was unchanged

    def _load(self) -> dict[str, int]:
        """Where each key's stamp is in the last run's stamps: the base's, then the tail's
        (each none when they are not three lists that agree)."""
        self._index = {}
        base = _stamp_lists(self._raw)
        if base is not None:
            keys, self._numbers, self._digests = base
            self._index = dict(zip(keys, range(len(keys)), strict=True))
        self._base_count = len(self._digests)
        delta = _stamp_lists(self._delta_raw)
        if delta is not None:
            keys, numbers, digests = delta
            first, mine = len(self._digests), len(self._numbers)
            try:
                self._numbers.extend(numbers)
            except (OverflowError, TypeError):  # packed, and the tail's do not fit: a list
                self._numbers = [*self._numbers[:mine], *numbers]
            self._digests += digests
            self._index.update(zip(keys, range(first, first + len(keys)), strict=True))
            self._delta_keys = keys
        self._raw = self._delta_raw = b""
        return self._index

    @staticmethod
    def _stat(path: str) -> list | None:
        return file_stamp(path)

    def prefetch(self) -> None:
        """Look at every stamped file now, in a forked process, while this one goes on: a
        warm run asks `digest` of every file of the tree, and the stat of each is most of
        what that costs (0.04 s of a hook for 14,000 files). What that process finds
        unchanged is not looked at again here; the rest is, as without it. Only for stamps
        of many files, where fork can (never on Windows)."""
        if (
            not hasattr(os, "fork")
            or self._index is not None
            or self._looking is not None
            or len(self._raw) + len(self._delta_raw) < PREFETCH_BYTES
        ):
            return
        try:
            reading, writing = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(reading)
            os.close(writing)
            return
        if pid == 0:  # the child: never back into the caller's code
            try:
                os.close(reading)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's handler
                gc.disable()
                answer = self._unchanged_now()
                view = memoryview(answer)
                while view:
                    view = view[os.write(writing, view) :]
            finally:
                os._exit(0)
        os.close(writing)
        self._looking = (pid, reading)

    def _unchanged_now(self) -> bytes:
        """A byte per stamp, in the order `_load` gives them: 1 when its file's stamp is
        the same now (its path is the key's, after a prefix ending in NUL, if any)."""
        self._load()
        found = bytearray(len(self._digests))
        for key, at in self._index.items():
            found[at] = self._unchanged(at, key.rpartition("\0")[2])
        return bytes(found)

    def _unchanged(self, at: int, path: str) -> bool:
        """Whether the file at `path` has the `at`th stamp now."""
        try:
            now = os.stat(path)
        except (OSError, ValueError):
            return False
        numbers, first = self._numbers, at * STAMP_NUMBERS
        return (
            now.st_mtime_ns == numbers[first + 1]
            and now.st_ctime_ns == numbers[first + 2]
            and now.st_size == numbers[first]
            and now.st_ino == numbers[first + 3]
            and now.st_dev == numbers[first + 4]
        )

    def _prefetched(self) -> bytes:
        """What the forked process found (`prefetch`), once it is done; b"" without one, or
        when it did not say it all."""
        if self._looking is None:
            return self._still
        pid, reading = self._looking
        self._looking = None
        said = _read_to_end(reading)
        try:
            _pid, status = os.waitpid(pid, 0)
        except OSError:
            status = -1
        if status == 0 and len(said) == len(self._digests):
            self._still = said
        return self._still

    def settle(self) -> None:
        """Let the process of `prefetch` go, if nothing asked what it found."""
        if self._looking is not None:
            pid, reading = self._looking
            self._looking = None
            os.close(reading)  # a child still writing stops (broken pipe)
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass

    def digest(self, key: str, path: str) -> str | None:
        """The digest of the text of the file `key` (its absolute path), at `path`, when its
        stamp says it is unchanged, else None."""
        # asked of every file of a warm run: the stat's fields compared in place, no stamp
        # list built, no stat for a file without a record
        at = (self._load() if self._index is None else self._index).get(key)
        if at is None:
            return None
        text_digest = self._digests[at]
        still = self._still if self._looking is None else self._prefetched()
        if still and still[at] and ".." not in path and type(text_digest) is str:
            self._kept[key] = at  # the forked process found it unchanged at `key`'s path
            return text_digest
        if type(text_digest) is not str or not self._unchanged(at, path):
            return None
        self._kept[key] = at
        return text_digest

    def record(
        self, key: str, path: str, before: list | None, digest: str, since: int | None = None
    ) -> None:
        """Keep the stamp of the file `key`, at `path`, whose text was digested between the
        stat `before` (see `stat`), taken at `since` (time.time_ns(); default: now), and now,
        when it did not change meanwhile and had been still long enough (`still`)."""
        after = self._stat(path)
        if before is None or after != before or not still(before, since or time.time_ns()):
            return
        self.record_still(key, after, digest)

    def record_still(self, key: str, stamp: list, digest: str) -> None:
        """Keep the stamp of the file `key`, taken by whoever read it alike before and after
        reading its text, the one before found `still`."""
        self._kept.pop(key, None)
        self._fresh[key] = [*stamp, digest]
        self.changed = True

    def stat(self, path: str) -> list | None:
        """The stamp of a file before it is read (what `record` compares with)."""
        return self._stat(path)

    @property
    def seen(self) -> dict[str, list]:
        """The stamps of the files this run looked at, each its numbers and its digest, by
        key: what the next pack keeps."""
        numbers, digests, size = self._numbers, self._digests, STAMP_NUMBERS
        seen = {
            key: [*numbers[at * size : at * size + size], digests[at]]
            for key, at in self._kept.items()
        }
        seen.update(self._fresh)
        return seen

    @property
    def delta(self) -> dict[str, list]:
        """The stamps of the files this run looked at that the base does not hold so: what
        the next tail keeps."""
        numbers, digests, size = self._numbers, self._digests, STAMP_NUMBERS
        first, kept = self._base_count, self._kept
        # the tail's stamps are looked up by key: they are few, the base's many
        delta = {
            key: [*numbers[at * size : at * size + size], digests[at]]
            for key in self._delta_keys
            if (at := kept.get(key, -1)) >= first
        }
        delta.update(self._fresh)
        return delta

    def delta_count(self) -> int:
        """How many stamps the next tail keeps (`delta`), or a few more."""
        return len(self._fresh) + len(self._delta_keys)

    def encoded(self) -> bytes:
        """The stamps of the files this run looked at, as the next pack holds them (nothing
        when there are none)."""
        return _stamps_bytes(self.seen)

    def encoded_delta(self) -> bytes:
        """`delta`, as the next tail holds it (nothing when there are none)."""
        return _stamps_bytes(self.delta)


def _stamp_lists(raw: bytes) -> tuple[list, Any, list] | None:
    """The keys, numbers and digests of stamps as a pack holds them (`_stamps_bytes`), when
    they agree."""
    if raw.startswith(_PACKED):
        return _unpacked(raw)
    try:
        table = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None
    if type(table) is list and len(table) == 3 and all(type(t) is list for t in table):
        keys, numbers, digests = table
        if (
            len(numbers) == STAMP_NUMBERS * len(keys)
            and len(digests) == len(keys)
            and _TEXT.issuperset(map(type, keys))
        ):
            return keys, numbers, digests
    return None


def _unpacked(raw: bytes) -> tuple[list, Any, list] | None:
    """`_stamp_lists` of stamps packed as `_stamps_bytes` packs them; None for anything else
    (another byte order, counts that do not add up, text that does not decode)."""
    end = raw.find(b"\n")
    head = raw[len(_PACKED) : end].split() if end > 0 else []
    if len(head) != 3 or head[2] != sys.byteorder.encode() or not all(map(bytes.isdigit, head[:2])):
        return None
    count, text_size = int(head[0]), int(head[1])
    lengths, numbers = array("I"), array("q")
    at = end + 1
    parts = []
    for size in (count * lengths.itemsize, text_size, STAMP_NUMBERS * count * 8, 64 * count):
        parts.append(raw[at : at + size])
        at += size
    if at != len(raw) or numbers.itemsize != 8:
        return None
    lengths.frombytes(parts[0])
    numbers.frombytes(parts[2])
    try:
        text = parts[1].decode("utf-8", "surrogatepass")
        digests = parts[3].decode("ascii")
    except UnicodeDecodeError:
        return None
    if sum(lengths) != len(text):
        return None
    ends = list(accumulate(lengths))
    keys = [text[start:stop] for start, stop in zip([0, *ends][:-1], ends, strict=True)]
    return keys, numbers, [digests[i : i + 64] for i in range(0, 64 * count, 64)]


def _stamps_bytes(stamps: dict[str, list]) -> bytes:
    """Stamps by key as a pack holds them: packed (`_PACKED`, a line of counts, then the
    keys' lengths, their text, the numbers and the digests, each in a row, read at C speed:
    every file of a warm run is asked for), or, when a number does not fit 64 bits or a
    digest is not a sha256's, three JSON lists."""
    if not stamps:
        return b""
    keys = list(stamps)
    numbers = [n for stamp in stamps.values() for n in stamp[:STAMP_NUMBERS]]
    digests = [stamp[STAMP_NUMBERS] for stamp in stamps.values()]
    joined = "".join(digests)
    try:
        packed = array("q", numbers)
    except (OverflowError, TypeError):
        packed = None
    if packed is None or len(joined) != 64 * len(digests) or not joined.isascii():
        table = [keys, numbers, digests]
        return json.dumps(table, separators=(",", ":")).encode("utf-8", "surrogatepass")
    text = "".join(keys).encode("utf-8", "surrogatepass")
    head = f"{len(keys)} {len(text)} {sys.byteorder}\n".encode()
    lengths = array("I", map(len, keys))
    return b"".join([_PACKED, head, lengths.tobytes(), text, packed.tobytes(), joined.encode()])


# what packed stamps start with (JSON never does)
_PACKED = b"\0stamps 1 "
STAMP_NUMBERS = 5  # size, modification and change times, inode, device (`file_stamp`)
# stamps from this size on (about 2,000 files) are looked at by a forked process (`prefetch`)
PREFETCH_BYTES = 1 << 19
_TEXT = frozenset({str})


def key_digest(key: str) -> str:
    """What a pack files an entry under: a digest of its key, the format, the version and the
    code (`code_stamp`)."""
    text = f"{FORMAT}\0{__version__}\0{code_stamp()}\0{key}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


@functools.cache
def code_stamp() -> str:
    """The code that computes what the cache keeps, as `stamp_of` its package's files: two
    revisions of one version (a pre-commit hook moved to another commit, a working copy being
    edited) are two codes, and what one computed is a miss for the other."""
    return stamp_of(Path(__file__).parent)


def stamp_of(package: Path) -> str:
    """A digest of the path, size and modification time of every file under `package`
    (compiled files left out): a new install or an edit changes it, and it takes a stat per
    file, not a read."""
    seen = []
    for folder, folders, names in os.walk(package):
        folders[:] = sorted(d for d in folders if d != "__pycache__")
        where = os.path.relpath(folder, package)
        for name in sorted(names):
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            seen.append(f"{where}/{name}\0{st.st_size}\0{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(seen).encode("utf-8", "surrogatepass")).hexdigest()[:16]
