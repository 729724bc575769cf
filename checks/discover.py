"""Discover: walk the given paths; the registry of sources (`checks.sources.classify`, passed
in by the pipeline) says which files are input and of what syntax.

Never follows directory symlinks (no loops), and never reads through a symlink whose target
is outside the scanned roots (a note says so); a dangling link, an unreadable file or a file
over the size limit is a `Problem` naming the file, and the walk goes on. A file is known by
its path as the operating system gives it (non-UTF-8 bytes as surrogate escapes); its display
name is an escaped form of that path, one display name per path.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Protocol

from checks.model import Problem

# the only folders never walked, besides the configured excludes (README, "Hostile input")
SKIP_DIRS = {".git", ".terraform", "node_modules"}
SKIP_FILES = {".eks-checks.yaml"}  # our own configuration is not input
DEFAULT_MAX_BYTES = 5_000_000
OUTSIDE_FILE = "symbolic link to a file outside the scanned tree: not read"
OUTSIDE_DIR = "symbolic link to a directory outside the scanned tree: not walked"
NOT_REGULAR = "not a regular file (FIFO, socket or device)"


@dataclass(frozen=True)
class SourceFile:
    path: str  # as the filesystem knows it
    display: str  # relative to the working directory when possible, with `/`, escaped
    kind: str
    # set when the file is known not to be ours before reading it (a Helm chart template)
    skip: str = ""
    # what the file is: its absolute, normalized path (two spellings, one file)
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", file_key(self.path))


def file_key(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def display_path(path: str, cwd: str | None = None) -> str:
    """The path as shown: relative to `cwd` when under it, `/` as separator, a byte that is
    not UTF-8 as `\\xNN` and a backslash as `\\\\`, so that two paths never show alike."""
    cwd = cwd or os.getcwd()
    absolute = path if os.path.isabs(path) else os.path.join(cwd, path)
    absolute = os.path.normpath(absolute)
    if absolute.startswith(cwd + os.sep):
        rel = absolute[len(cwd) + 1 :]
    elif absolute == cwd:
        rel = "."
    else:
        rel = absolute
    if os.sep != "/":
        rel = rel.replace(os.sep, "/")
    return _escaped(rel)


def _escaped(text: str) -> str:
    """`text` as `display_path` shows it: a backslash doubled, a byte that is not UTF-8
    (a surrogate escape) as `\\xNN`."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if text.isascii():
        return text
    return _ESCAPED_BYTE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


class _Folder:
    """A directory being walked, and what its entries' paths, keys and display names start
    with: worked out once for the directory, not once per entry (the names, as the walk
    gives them, hold no separator)."""

    def __init__(
        self, dirpath: str, cwd: str, base: str, absolute: str = "", shown: str = ""
    ) -> None:
        self.path = dirpath
        self.absolute = absolute or os.path.normpath(os.path.join(cwd, dirpath))
        # what os.path.join(dirpath, name) is
        self.prefix = dirpath if not dirpath or dirpath.endswith(os.sep) else dirpath + os.sep
        # at the top of the filesystem, a name's display is not its folder's and the name
        self.exact = not self.absolute.endswith(os.sep)
        self.cwd, self.base = cwd, base
        self.shown = shown or display_path(self.absolute, cwd)
        self._excluded_as: str | None = None
        # what an entry's key and display name start with (when `exact`)
        self._key_prefix = self.absolute + os.sep
        self._shown_prefix = "" if self.shown == "." else self.shown + "/"

    def child(self, name: str) -> _Folder:
        """The folder `name` in this one, its absolute path and display name worked out from
        this folder's."""
        if not self.exact:
            return _Folder(self.prefix + name, self.cwd, self.base)
        absolute = self._key_prefix + name
        return _Folder(self.prefix + name, self.cwd, self.base, absolute, self.display(name))

    def key(self, name: str) -> str:
        """file_key of the entry `name`, relative to the working directory it was walked in."""
        if self.exact:
            return self._key_prefix + name
        return os.path.normpath(os.path.join(self.cwd, self.prefix + name))

    def display(self, name: str) -> str:
        """display_path of the entry `name`."""
        if self.exact and name.isascii() and "\\" not in name:
            return self._shown_prefix + name  # nothing to escape: asked of every entry
        return self._child(self.shown, name, self.cwd)

    def excluded_as(self, name: str) -> str:
        """The entry `name` as excludes are matched: displayed relative to the exclude root."""
        if self._excluded_as is None:
            self._excluded_as = display_path(self.absolute, self.base)
        return self._child(self._excluded_as, name, self.base)

    def _child(self, shown: str, name: str, relative_to: str) -> str:
        if not self.exact:
            return display_path(self.absolute + name, relative_to)
        if shown == ".":
            return _escaped(name)
        return f"{shown}/{_escaped(name)}"


def scan_roots(paths: list[str]) -> list[str]:
    """The trees a scan may read: each directory given, or the directory of each file given,
    with every symlink resolved."""
    return [os.path.realpath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths]


def inside(real: str, roots: list[str]) -> str | None:
    """The root that resolved path `real` is in, or None."""
    for root in roots:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return root
    return None


def skipped_folder(path: str, root: str) -> str | None:
    """The folder never walked (`.git`...) that `path`, inside `root`, lies in, or None."""
    folders = os.path.relpath(path, root).split(os.sep)[:-1]
    return next((folder for folder in folders if folder in SKIP_DIRS), None)


def excluded(display: str, patterns: list[str], hits: set[str] | None = None) -> bool:
    """Whether a path, as shown relative to the folder excludes are written against,
    matches an exclude (the path or a folder above it); the patterns that match go into
    `hits`."""
    matched = [
        pat
        for pat in patterns
        if fnmatch.fnmatch(display, pat) or fnmatch.fnmatch(display, pat.rstrip("/") + "/*")
    ]
    if hits is not None:
        hits.update(matched)
    return bool(matched)


class Classify(Protocol):
    """What a file is, from its path: (kind, why it is not read although its name says it
    could be, "" when it is read), or None for a file no source reads
    (`checks.sources.classify`)."""

    def __call__(self, path: str) -> tuple[str, str] | None: ...

    def in_folder(self, folder: str) -> Callable[[str], tuple[str, str] | None]:
        """The same of each file of `folder` (absolute, normalized), asked by the file's name:
        what the walk asks of every name it lists."""


def discover(
    paths: list[str],
    classify: Classify,
    excludes: list[str] = (),
    roots: list[str] | None = None,
    exclude_root: str | None = None,
    exclude_hits: set[str] | None = None,
) -> tuple[list[SourceFile], list[Problem]]:
    """The files to scan under `paths` (those `classify` gives a kind), and a problem for each
    one that cannot be. A path given that cannot be read is an error whatever its name; a
    symlink whose target is outside `roots` (default: the trees of `paths`) is never read, a
    note says so. `excludes` match paths relative to `exclude_root` (default: the working
    directory); the patterns that match something go into `exclude_hits`."""
    files: list[SourceFile] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    cwd = os.getcwd()
    roots = scan_roots(paths) if roots is None else roots
    excludes = list(excludes)
    base = exclude_root or cwd

    def add(path: str, given: bool = False) -> None:
        classified = classify(path)
        if excludes and not given:
            # before the kind: a pattern that leaves out only files we never read matched too
            if excluded(display_path(os.path.join(cwd, path), base), excludes, exclude_hits):
                return
        if (classified is None and not given) or os.path.basename(path) in SKIP_FILES:
            return
        key = os.path.normpath(os.path.join(cwd, path))
        if key in seen:
            return
        display = display_path(path, cwd)
        if excludes and given and excluded(display_path(key, base), excludes, exclude_hits):
            return
        examine(path, key, display, classified)

    def add_walked(
        folder: _Folder, entry: os.DirEntry, kind_of: Callable[[str], tuple[str, str] | None]
    ) -> None:
        """`add` of a file the walk found, with its folder's paths worked out once, what it is
        from `kind_of` its name, and its type from the directory listing where the system
        gives it."""
        name = entry.name
        path = folder.prefix + name
        classified = kind_of(name)
        # before the kind: a pattern that leaves out only files we never read matched too
        if excludes and excluded(folder.excluded_as(name), excludes, exclude_hits):
            return
        if classified is None or name in SKIP_FILES:
            return
        key = folder.key(name)
        if key in seen:
            return
        display = folder.display(name)
        try:
            regular = entry.is_file(follow_symlinks=False)
        except OSError:
            regular = False
        if not regular:  # a symlink, a FIFO, a device, or not known: looked at closely
            examine(path, key, display, classified)
            return
        seen.add(key)
        kind, skip = classified
        files.append(SourceFile(path, display, kind, skip, key))

    def examine(path: str, key: str, display: str, classified: tuple[str, str] | None) -> None:
        """The file `path` as its type says: read, noted or left out."""
        try:
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                mode = os.stat(path).st_mode
                # where it leads decides whether it may be read at all
                real = os.path.realpath(path)
                root = inside(real, roots)
                folder = skipped_folder(real, root) if root is not None else None
                if root is None or folder is not None:
                    seen.add(key)
                    reason = (
                        OUTSIDE_FILE if root is None else f"symbolic link into {folder}: not read"
                    )
                    problems.append(Problem(display, reason, 0, "note"))
                    return
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                reason = "symbolic link loop"
            elif os.path.islink(path):
                reason = "dangling symbolic link"
            else:
                reason = f"cannot read: {exc.strerror or exc}"
            seen.add(key)
            problems.append(Problem(display, reason))
            return
        if classified is None or stat.S_ISDIR(mode):
            return  # a file of no kind we read, or a directory named x.tf
        seen.add(key)
        if not stat.S_ISREG(mode):
            # a FIFO or a device would block or never end: never open it
            problems.append(Problem(display, NOT_REGULAR))
            return
        kind, skip = classified
        files.append(SourceFile(path, display, kind, skip, key))

    def walkable(folder: _Folder, entry: os.DirEntry) -> bool:
        name = entry.name
        if name in SKIP_DIRS:
            return False
        if excludes and excluded(folder.excluded_as(name), excludes, exclude_hits):
            return False
        try:
            link = entry.is_symlink()
        except OSError:
            link = os.path.islink(entry.path)
        if link:
            # never followed (no loops); a target inside the roots is walked where it is
            if inside(os.path.realpath(folder.prefix + name), roots) is None:
                problems.append(Problem(folder.display(name), OUTSIDE_DIR, 0, "note"))
            return False
        return True

    def cannot_list(error: OSError, root: str) -> None:
        problems.append(
            Problem(
                display_path(error.filename or root), f"cannot read directory: {error.strerror}"
            )
        )

    for root in paths:
        if not os.path.isdir(root):
            add(root, given=True)
            continue
        # depth first, each folder's subfolders and files in name order (as os.walk, top down)
        todo = [_Folder(root, cwd, base)]
        while todo:
            folder = todo.pop()
            entries = _listing(folder.path, lambda e, root=root: cannot_list(e, root))
            if entries is None:
                continue
            folders, others = entries
            below = [e for e in folders if walkable(folder, e)]
            if others:
                kind_of = _kinds_in(folder, classify)
                for entry in others:
                    add_walked(folder, entry, kind_of)
            todo.extend(folder.child(e.name) for e in reversed(below))
    files.sort(key=_DISPLAY)
    return files, problems


_NAME = attrgetter("name")  # an entry's name, what a folder's entries are sorted by
_DISPLAY = attrgetter("display")  # a file's display name, what the files found are sorted by


def _kinds_in(folder: _Folder, classify: Classify) -> Callable[[str], tuple[str, str] | None]:
    """What `classify` says of the file of each name in `folder`."""
    if folder.exact:
        return classify.in_folder(folder.absolute)
    # at the top of the filesystem, a name's path is not its folder's and the name
    return lambda name: classify(folder.prefix + name)


def _listing(
    directory: str, onerror: Callable[[OSError], None]
) -> tuple[list[os.DirEntry], list[os.DirEntry]] | None:
    """The entries of `directory` that are folders (a symlink to one included) and the
    others, as os.walk tells them apart, each in name order; None, after `onerror`, when it
    cannot be listed."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=_NAME)
    except OSError as error:
        onerror(error)
        return None
    folders: list[os.DirEntry] = []
    others: list[os.DirEntry] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (folders if is_dir else others).append(entry)
    return folders, others


HEAD_BYTES = 64 * 1024  # what is read of a file over the size limit, to tell whose it is


class TooLarge(str):
    """The reason a file over the size limit was not read, with its size and its first
    HEAD_BYTES as text (undecodable bytes replaced): enough to tell whether it is ours."""

    size: int
    limit: int
    head: str

    def __new__(cls, size: int, limit: int, head: str) -> TooLarge:
        reason = super().__new__(
            cls, f"skipped: {size} bytes is over the {limit}-byte limit (--max-file-size)"
        )
        reason.size, reason.limit, reason.head = size, limit, head
        return reason


def read_text(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason). A BOM is dropped and CRLF becomes LF. A reason that
    knows its line says so as `(line N, ...)`; a file over `max_bytes` gives a `TooLarge`.
    Only a regular file is read: the file is opened without blocking and checked once open,
    so a FIFO or a device can never hang the scan."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    with open(fd, "rb", closefd=True) as fh:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, NOT_REGULAR
            if info.st_size > max_bytes:
                head = _lines(fh.read(HEAD_BYTES).decode("utf-8-sig", errors="replace"))
                return None, TooLarge(info.st_size, max_bytes, head)
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            return None, f"cannot read: {exc.strerror or exc}"
    if b"\x00" in data:
        return None, "binary file (contains NUL bytes)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, f"not valid UTF-8 (line {line}, byte {exc.start})"
    return _lines(text), None


def _lines(text: str) -> str:
    """`text` with LF line ends."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
