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
when the units are done (by a forked process while the scan goes on, when there are many)
to a temporary file renamed into place, so that concurrent runs never read half a pack (the
last writer wins; a lost pack only means a cold run).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from checks import __version__
from checks.codec import Invalid, decode, encode

FORMAT = 10  # bump when the shape of cached values changes
MAX_BYTES = 256 * 1024 * 1024  # the cache's size budget ($EKS_CHECKS_CACHE_MAX_MB overrides)
PRUNE_EVERY = 24 * 3600  # seconds between two looks at the cache's size
STALE_TEMP = 3600  # seconds after which a temporary file is from a run that was killed
BACKGROUND_MIN = 64  # fresh entries from which a forked process encodes and writes a pack
BACKGROUND_BYTES = 8 * 2**20  # a pack this large is written by a forked process
HEAD_READ = 1 << 20  # what is read first of a pack: its index line, most often

# The Cache Directory Tagging Specification's tag: backup tools skip our folders.
TAG_NAME = "CACHEDIR.TAG"
TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by eks-checks.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
MAGIC = b"eks-checks pack %d\n" % FORMAT
STAMPS = "stamps"  # the index's name for the files' stamps (no digest is spelled so)
# a file's stamp is trusted only when the file had not changed for this long when it was read:
# a write in the same tick of a coarse clock as the read leaves the stamp as it was
RACY_NS = 2_000_000_000
_VERSION_FOLDER = re.compile(r"v[0-9][0-9A-Za-z.+!-]*-[0-9]+")
_PACK = re.compile(r"[0-9a-f]{32}\.pack")
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
        format), then, over the budget, the least recently used packs until a quarter of the
        budget is free. Failures are ignored: pruning is housekeeping."""
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
            packs = []
            for entry in os.scandir(self.folder):
                st = entry.stat(follow_symlinks=False)
                if _TEMP.fullmatch(entry.name) and now - st.st_mtime > STALE_TEMP:
                    os.unlink(entry.path)
                elif _PACK.fullmatch(entry.name) and stat.S_ISREG(st.st_mode):
                    packs.append((st.st_mtime, st.st_size, entry.path))
            total = sum(size for _, size, _ in packs)
            if total <= budget_bytes:
                return
            for _mtime, size, path in sorted(packs):
                os.unlink(path)
                total -= size
                if total <= budget_bytes * 3 // 4:
                    break
        except OSError:
            pass


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
        ident = said.hexdigest().encode()
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
class Pack:
    """Entries by digest: `MAGIC`, a JSON index line `{digest: [offset, length]}`, then the
    entries' JSON texts. Read once; an entry is decoded only when asked for."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        # the pack file as it was opened: its entries are read from it when asked (a pack
        # rewritten meanwhile is a new file; this one stays whole), never all at once
        self._fd: int | None = None
        self._size = 0
        self._index: dict = {}
        self._body = 0
        # what this run read, where it is in this pack: kept in the next pack
        self._used: dict[str, tuple[int, int]] = {}
        # what `put` gave it, encoded: kept in the next pack, which is then written
        self._put: dict[str, bytes] = {}
        # what the writer of the next pack makes (`put_later`): entries' bytes by digest
        self._later: list[Callable[[bytes], Iterable[tuple[str, bytes]]]] = []
        self._late = b""  # what `finish` gave the makers
        self._told: int | None = None  # the pipe to a writer waiting for `finish`
        self._writer: int | None = None  # the process writing the next pack
        self.stamps = Stamps()
        try:
            fd = os.open(folder / name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError:
            return
        st = os.fstat(fd)
        if _foreign(st) or not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return
        self._fd, self._size = fd, st.st_size
        start = self._read(0, min(self._size, HEAD_READ)) or b""
        end = start.find(b"\n", len(MAGIC)) if start.startswith(MAGIC) else -1
        if end < 0 and start.startswith(MAGIC) and len(start) == HEAD_READ:
            start = self._read(0, self._size) or b""  # an index longer than the first read
            end = start.find(b"\n", len(MAGIC))
        if end > 0:
            try:
                index = json.loads(start[len(MAGIC) : end])
            except (ValueError, RecursionError):
                index = None
            if isinstance(index, dict):
                self._index, self._body = index, end + 1
        where = self._index.pop(STAMPS, None)
        if self._valid(where):
            self.stamps = Stamps(self._read(self._body + where[0], where[1]) or b"")

    def _read(self, offset: int, length: int) -> bytes | None:
        """`length` bytes of the pack file from `offset`, or None (a file cut short)."""
        if self._fd is None:
            return None
        try:
            if hasattr(os, "pread"):
                data = os.pread(self._fd, length, offset)
            else:  # no positioned read (Windows): one reader of this descriptor at a time
                os.lseek(self._fd, offset, os.SEEK_SET)
                data = os.read(self._fd, length)
        except (OSError, ValueError, OverflowError):
            return None
        return data if len(data) == length else None

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __len__(self) -> int:
        return len(self._index)

    def reader(self) -> Pack:
        """The pack as it is on disk now, for a scan that must not write it (the check of a
        reduced context against the full one)."""
        other = Pack(self.folder, self.name)
        other.save = lambda fresh=(), declared=None, pending=False: None  # type: ignore[method-assign]
        return other

    def _valid(self, where: Any) -> bool:
        """Whether an index entry is an offset and a length inside the pack."""
        if type(where) is not list or len(where) != 2:
            return False
        offset, length = where
        return (
            type(offset) is int
            and type(length) is int
            and offset >= 0
            and length >= 0
            and self._body + offset + length <= self._size
        )

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
        where = self._index.get(digest)
        if not self._valid(where):
            return None
        start = self._body + where[0]
        raw = self._read(start, where[1])
        if raw is not None:
            self._used[digest] = (start, start + where[1])  # not a copy: read again if written
        return raw

    def keep(self, digest: str) -> bool:
        """Keep the entry filed under `digest` (`key_digest`) in the next pack, as if it was
        read, without decoding it (what a scan relies on without reading: the pre-commit
        hook's index); False when the pack holds none."""
        where = self._index.get(digest)
        if not self._valid(where):
            return False
        start = self._body + where[0]
        self._used[digest] = (start, start + where[1])
        return True

    def put(self, key: str, value: Any, declared: Any) -> None:
        """Keep `value`, of the type `declared`, under `key` in the next pack, beside what
        `save` is given (a value that cannot be stored is left out): what a scan works out
        before its units run (grouping), so small that it is encoded here at once."""
        try:
            self._put[key_digest(key)] = encode(value, declared)
        except (Invalid, ValueError, RecursionError):
            return

    def forget(self, key: str) -> None:
        """Leave the entry under `key` out: not read again, nor kept in the next pack."""
        digest = key_digest(key)
        self._index.pop(digest, None)
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
        (`put_later`) or a large pack are encoded and written by a forked process while this
        one goes on (it sees them as they are now); `wait()` for it. `pending`: the makers
        wait for what `finish` gives, and the pack is written then; the fresh values are
        taken as they are now all the same (a forked writer waits for it, or they are
        encoded here). Never raises: a pack not written means a cold run."""
        if pending:
            if fresh:
                self._take(fresh, declared)
            return
        unchanged = self._used.keys() == self._index.keys() and not self._put and not self._later
        if not fresh and unchanged and not self.stamps.changed:
            if self._used:
                try:
                    os.utime(self.folder / self.name)
                except OSError:
                    pass
            return
        large = len(fresh) >= BACKGROUND_MIN or self._later or self._size >= BACKGROUND_BYTES
        if not (large and self._fork(fresh, declared, None)):
            self._write(fresh, declared)
            self._later = []

    def _take(self, fresh: list[tuple[str, Any]], declared: Any) -> None:
        """`save(pending=True)` of fresh values: a writer forked now, waiting for `finish`,
        or, for a few values, each encoded now."""
        if len(fresh) >= BACKGROUND_MIN or self._size >= BACKGROUND_BYTES:
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
        """Until the pack `save` handed to another process is written."""
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
        """Write the next pack: each entry is written to a scratch file as soon as it is
        read or encoded (a pack's worth of entries is never in memory at once), then the
        index line and the entries are written to the pack."""
        index: dict[str, list[int]] = {}
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
                self._keep_read(body, index, add)
                for digest, value in fresh:
                    try:
                        add(digest, encode(value, declared))
                    except (Invalid, ValueError, RecursionError):
                        pass
                stamps = self.stamps.encoded()
                if stamps:
                    add(STAMPS, stamps)
                head = json.dumps(index, separators=(",", ":"), allow_nan=False).encode()
                body.seek(0)
                _write_atomic(self.folder, self.name, [MAGIC, head, b"\n", body])
        except OSError:
            pass

    def _keep_read(self, body: Any, index: dict[str, list[int]], add: Callable) -> None:
        """Copy the entries this run read (those not made anew) from this pack into `body`:
        entries next to each other in this pack in one copy the kernel makes, file to file
        (a warm hook keeps thousands of them, tens of megabytes, at each commit); what it
        cannot copy whole is read entry by entry (an entry not read is a miss next time)."""
        kept = sorted(
            (start, end, digest)
            for digest, (start, end) in self._used.items()
            if digest not in index
        )
        at = 0
        while at < len(kept):
            last = at
            while last + 1 < len(kept) and kept[last + 1][0] == kept[last][1]:
                last += 1
            first, run = kept[at][0], kept[at : last + 1]
            at = last + 1
            here = body.tell()
            length = run[-1][1] - first
            if self._fd is not None and _copy(self._fd, body.fileno(), first, length) == length:
                for start, end, digest in run:
                    index[digest] = [here + start - first, end - start]
                continue
            body.seek(here)
            body.truncate()
            for start, end, digest in run:
                raw = self._read(start, end - start)
                if raw is not None:  # else the file was cut short
                    add(digest, raw)


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
    (`STAMP_NUMBERS` a file, in a row) and their digests."""

    def __init__(self, raw: bytes = b"") -> None:
        self._raw = raw
        self._index: dict[str, int] | None = None  # the last run's stamps, by key
        self._numbers: list = []
        self._digests: list = []
        self._kept: dict[str, int] = {}  # those this run found unchanged
        self._fresh: dict[str, list] = {}  # those this run took, with their digest
        self.changed = False

    def _load(self) -> dict[str, int]:
        """Where each key's stamp is in the last run's stamps (none when they are not three
        lists that agree)."""
        try:
            table = json.loads(self._raw) if self._raw else None
        except (ValueError, RecursionError):
            table = None
        self._raw = b""
        self._index = {}
        if type(table) is list and len(table) == 3 and all(type(t) is list for t in table):
            keys, numbers, digests = table
            if (
                len(numbers) == STAMP_NUMBERS * len(keys)
                and len(digests) == len(keys)
                and _TEXT.issuperset(map(type, keys))
            ):
                self._index = dict(zip(keys, range(len(keys)), strict=True))
                self._numbers, self._digests = numbers, digests
        return self._index

    @staticmethod
    def _stat(path: str) -> list | None:
        return file_stamp(path)

    def digest(self, key: str, path: str) -> str | None:
        """The digest of the text of the file `key` (its absolute path), at `path`, when its
        stamp says it is unchanged, else None."""
        # asked of every file of a warm run: the stat's fields compared in place, no stamp
        # list built, no stat for a file without a record
        at = (self._load() if self._index is None else self._index).get(key)
        if at is None:
            return None
        try:
            now = os.stat(path)
        except (OSError, ValueError):
            return None
        numbers, first = self._numbers, at * STAMP_NUMBERS
        text_digest = self._digests[at]
        if (
            now.st_mtime_ns != numbers[first + 1]
            or now.st_ctime_ns != numbers[first + 2]
            or now.st_size != numbers[first]
            or now.st_ino != numbers[first + 3]
            or now.st_dev != numbers[first + 4]
            or type(text_digest) is not str
        ):
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

    def encoded(self) -> bytes:
        """The stamps of the files this run looked at, as the next pack holds them (nothing
        when there are none)."""
        seen = self.seen
        if not seen:
            return b""
        numbers = [n for stamp in seen.values() for n in stamp[:STAMP_NUMBERS]]
        table = [list(seen), numbers, [stamp[STAMP_NUMBERS] for stamp in seen.values()]]
        return json.dumps(table, separators=(",", ":")).encode("utf-8", "surrogatepass")


STAMP_NUMBERS = 5  # size, modification and change times, inode, device (`file_stamp`)
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
