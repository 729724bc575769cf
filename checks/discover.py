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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Protocol

from checks.model import Problem

if TYPE_CHECKING:
    from checks.cache import Pack

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

    @classmethod
    def walked(cls, path: str, display: str, kind: str, skip: str, key: str) -> SourceFile:
        """The file as the walk found it, its key known: made as `__init__` makes it, without
        a call for each field (asked of every file of the tree at each run: half the time)."""
        made = object.__new__(cls)
        made.__dict__.update(path=path, display=display, kind=kind, skip=skip, key=key)
        return made


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
        self.key_prefix = self.absolute + os.sep
        self.shown_prefix = "" if self.shown == "." else self.shown + "/"

    def child(self, name: str) -> _Folder:
        """The folder `name` in this one, its absolute path and display name worked out from
        this folder's."""
        if not self.exact:
            return _Folder(self.prefix + name, self.cwd, self.base)
        absolute = self.key_prefix + name
        return _Folder(self.prefix + name, self.cwd, self.base, absolute, self.display(name))

    def key(self, name: str) -> str:
        """file_key of the entry `name`, relative to the working directory it was walked in."""
        if self.exact:
            return self.key_prefix + name
        return os.path.normpath(os.path.join(self.cwd, self.prefix + name))

    def display(self, name: str) -> str:
        """display_path of the entry `name`."""
        if self.exact and name.isascii() and "\\" not in name:
            return self.shown_prefix + name  # nothing to escape: asked of every entry
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
    pack: Pack | None = None,
) -> tuple[list[SourceFile], list[Problem]]:
    """The files to scan under `paths` (those `classify` gives a kind), and a problem for each
    one that cannot be. A path given that cannot be read is an error whatever its name; a
    symlink whose target is outside `roots` (default: the trees of `paths`) is never read, a
    note says so. `excludes` match paths relative to `exclude_root` (default: the working
    directory); the patterns that match something go into `exclude_hits`. With a cache
    `pack`, a folder that did not change since the last walk is not listed again (`Walked`):
    what is found is the same."""
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

    def add_files(folder: _Folder, names: list[str], hits: set[str], left_out: set[str]) -> None:
        """`add` of the regular files the walk found in `folder` (as the directory listing
        says), with the folder's paths worked out once and what each is from its name; the
        names an exclude or their name leaves out, whatever the file is, go into
        `left_out`."""
        kind_of = _kinds_in(folder, classify)
        prefix, exact = folder.prefix, folder.exact
        # asked of every file of the tree: its key and display name put together here when
        # they are the folder's and the name (`_Folder.key`, `_Folder.display`)
        key_prefix, shown_prefix = folder.key_prefix, folder.shown_prefix
        kinds = list(map(kind_of, names))
        if exact and not excludes:
            # the common case, a folder's files at once: all of kinds we read, with names
            # that show as they are, none found before
            if None not in kinds and SKIP_FILES.isdisjoint(names):
                keys = [key_prefix + name for name in names]
                joined = "".join(names)  # each shows as it is: ASCII, no backslash
                if seen.isdisjoint(keys) and joined.isascii() and "\\" not in joined:
                    seen.update(keys)
                    files.extend(
                        [
                            SourceFile.walked(prefix + name, shown_prefix + name, kind, skip, key)
                            for name, (kind, skip), key in zip(names, kinds, keys, strict=True)
                        ]
                    )
                    found.add(folder, names, kinds)
                    return
        for name, classified in zip(names, kinds, strict=True):
            # before the kind: a pattern that leaves out only files we never read matched too
            if excludes and excluded(folder.excluded_as(name), excludes, hits):
                left_out.add(name)
                continue
            if classified is None or name in SKIP_FILES:
                left_out.add(name)
                continue
            key = key_prefix + name if exact else folder.key(name)
            if key in seen:
                found.plain = False  # the walk of another root found it first
                continue
            seen.add(key)
            if exact and name.isascii() and "\\" not in name:
                shown = shown_prefix + name
                found.add(folder, [name], [classified])
            else:
                shown = folder.display(name)
                found.plain = False
            files.append(SourceFile(prefix + name, shown, classified[0], classified[1], key))

    def add_other(folder: _Folder, name: str, hits: set[str]) -> bool:
        """`add` of an entry the walk found that is not a regular file nor a folder (a
        symlink, a FIFO, a device, or not known), looked at closely. False when an exclude
        or its name leaves it out, whatever it is."""
        classified = _kinds_in(folder, classify)(name)
        if excludes and excluded(folder.excluded_as(name), excludes, hits):
            return False
        if classified is None or name in SKIP_FILES:
            return False
        key = folder.key(name)
        if key not in seen:
            examine(folder.prefix + name, key, folder.display(name), classified)
        return True

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

    def walkable(folder: _Folder, name: str, link: bool, hits: set[str]) -> bool:
        if name in SKIP_DIRS:
            return False
        if excludes and excluded(folder.excluded_as(name), excludes, hits):
            return False
        if link:
            # never followed (no loops); a target inside the roots is walked where it is
            if inside(os.path.realpath(folder.prefix + name), roots) is None:
                problems.append(Problem(folder.display(name), OUTSIDE_DIR, 0, "note"))
            return False
        return True

    def visit(
        folder: _Folder, entries: list[str], names: list[str], hits: set[str]
    ) -> tuple[list[str], list[str], list[str]]:
        """Walk one folder as `_typed_listing` gives it: its folders first, each in name
        order (a symlink is one when it leads to one, now), then its files. The subfolders
        to walk, and what is kept of the folder for the next walk: the entries and the names
        of regular files that their name, their type and the walk's inputs do not leave
        out (a symlink is always kept)."""
        prefix = folder.prefix
        below: list[str] = []
        left_out: set[str] = set()
        others: list[str] = []
        for entry in entries:
            kind = entry[0]
            if kind == _FOLDER:
                if walkable(folder, entry[1:], False, hits):
                    below.append(entry[1:])
                else:
                    left_out.add(entry)
            elif kind == _LINK and os.path.isdir(prefix + entry[1:]):
                walkable(folder, entry[1:], True, hits)  # never walked, perhaps noted
            else:
                others.append(entry)
        for entry in others:
            if not add_other(folder, entry[1:], hits) and entry[0] != _LINK:
                left_out.add(entry)
        kept = [e for e in entries if e not in left_out] if left_out else entries
        left_out = set()
        if names:
            add_files(folder, names, hits, left_out)
        return below, kept, [n for n in names if n not in left_out] if left_out else names

    def cannot_list(error: OSError, root: str) -> None:
        found.plain = False
        problems.append(
            Problem(
                display_path(error.filename or root), f"cannot read directory: {error.strerror}"
            )
        )

    found = _Found(_Folder(".", cwd, base))  # replaced for each root walked
    for root in paths:
        if not os.path.isdir(root):
            add(root, given=True)
            continue
        known = _Listings(pack, _walk_key(cwd, root, roots, excludes, base))
        top = _Folder(root, cwd, base)
        quick = known.found(top, seen)
        if quick is not None:
            # no folder changed since the last walk: its files, and what its symbolic links
            # and other entries are now, looked at again as a walk does
            files.extend(quick)
            for folder_path, entries in known.special():
                hits = set()
                visit(_Folder(folder_path, cwd, base), entries, [], hits)
                if exclude_hits is not None:
                    exclude_hits |= hits
            if exclude_hits is not None:
                exclude_hits.update(*known.last_hits.values())
            continue
        found = _Found(top)
        # depth first, each folder's subfolders and files in name order (as os.walk, top down)
        todo = [top]
        while todo:
            folder = todo.pop()
            if not (folder.exact and folder.shown.isascii() and "\\" not in folder.shown):
                found.plain = False
            found.folders += 1
            hits: set[str] = set()
            listing = known.listing(folder.path, hits)
            if listing is None:
                stamp = known.stamp(folder.path)
                listing = _typed_listing(folder.path, lambda e, root=root: cannot_list(e, root))
                if listing is None:
                    continue
                below, kept, names = visit(folder, *listing, hits)
                known.listed(folder.path, stamp, kept, names, hits)
            else:
                below, _kept, _names = visit(folder, *listing, hits)
            if exclude_hits is not None:
                exclude_hits |= hits
            todo.extend(folder.child(name) for name in reversed(below))
        known.save(found)
    files.sort(key=_DISPLAY)
    return files, problems


_NAME = attrgetter("name")  # an entry's name, what a folder's entries are sorted by
_DISPLAY = attrgetter("display")  # a file's display name, what the files found are sorted by
# what an entry of a folder is, as the letter before its name in `_typed_listing`
_FOLDER, _LINK, _OTHER = "d", "l", "o"


def _kinds_in(folder: _Folder, classify: Classify) -> Callable[[str], tuple[str, str] | None]:
    """What `classify` says of the file of each name in `folder`."""
    if folder.exact:
        return classify.in_folder(folder.absolute)
    # at the top of the filesystem, a name's path is not its folder's and the name
    return lambda name: classify(folder.prefix + name)


def _typed_listing(
    directory: str, onerror: Callable[[OSError], None]
) -> tuple[list[str], list[str]] | None:
    """The entries of `directory` in name order: those that are not regular files each as a
    letter saying what it is (a folder, a symbolic link, anything else), then its name, and
    the names of the regular files, as the directory listing tells them apart where the
    system gives it; None, after `onerror`, when it cannot be listed."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=_NAME)
    except OSError as error:
        onerror(error)
        return None
    typed: list[str] = []
    names: list[str] = []
    for entry in entries:
        try:
            regular = entry.is_file(follow_symlinks=False)
        except OSError:
            regular = False
        if regular:  # most entries: asked first
            names.append(entry.name)
            continue
        try:
            link = entry.is_symlink()
        except OSError:
            link = os.path.islink(entry.path)
        if link:
            typed.append(_LINK + entry.name)
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        typed.append((_FOLDER if is_dir else _OTHER) + entry.name)
    return typed, names


@dataclass
class Walked:
    """What a walk of one tree found in each folder it listed, kept in the cache so that the
    next walk lists only the folders that changed: a name added, removed or renamed in a
    folder moves its modification time, a change of its permissions its change time. By
    folder (its path as walked, in walk order): its stamp (`_Listings.stamp`) when it was
    listed, and what `visit` kept of it: its entries as `_typed_listing` gives them and the
    names of its regular files, each joined by `/` (which no name holds). And the exclude
    patterns its entries matched, as the folder's place in `folders` and the pattern. A
    symbolic link is looked at again at each walk: where it leads may change while its
    folder does not."""

    folders: list[str] = field(default_factory=list)
    # STAMP_SIZE numbers a folder (declared a list of any JSON value: a number that is not
    # one of a folder's now is a change, whatever it is)
    stamps: list = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    hit_folders: list[int] = field(default_factory=list)
    hit_patterns: list[str] = field(default_factory=list)
    # the files of the walk (`_Found`), when it was whole and plain: each as its display name
    # below the root's, its kind and skip as one letter, a place in `kinds` ("kind/skip");
    # and the folders holding an entry looked at again at each walk (a symbolic link...)
    found: list[str] = field(default_factory=list)
    found_kinds: str = ""
    kinds: list[str] = field(default_factory=list)
    whole: bool = False
    special: list[int] = field(default_factory=list)


STAMP_SIZE = 4  # modification and change times, inode, device
# the file whose presence above a folder named templates makes its YAML a Helm template
# (`checks.sources.foreign.not_read_in`): a symbolic link of that name may change what it
# says while no folder changes
CHART = "Chart.yaml"
# the letters of a `Walked`'s kinds of files, a place in its `kinds` each
_KIND_LETTERS = "".join(map(chr, range(0x21, 0x7F)))


class _Found:
    """The regular files a walk of one root adds, as the next walk can make them again
    without walking (`_Listings.found`): when every folder it walked is plain (its path
    shows as it is) and kept by the cache, and no file's kind may depend on what is outside
    the tree (a Helm chart above the root: `checks.sources.foreign.not_read_in`)."""

    def __init__(self, top: _Folder) -> None:
        self.top = top
        self.plain = os.sep == "/" and "/templates/" not in top.absolute + "/"
        self.folders = 0  # walked
        self.found: list[str] = []
        self.kinds: dict[tuple[str, str], str] = {}
        self.letters: list[str] = []

    def add(self, folder: _Folder, names: list[str], kinds: list[tuple[str, str]]) -> None:
        """Files of `folder` added, with names that show as they are."""
        if not self.plain:
            return
        below = folder.shown_prefix[len(self.top.shown_prefix) :]
        for name, kind in zip(names, kinds, strict=True):
            letter = self.kinds.get(kind)
            if letter is None:
                if len(self.kinds) == len(_KIND_LETTERS):
                    self.plain = False
                    return
                letter = self.kinds[kind] = _KIND_LETTERS[len(self.kinds)]
            self.found.append(below + name)
            self.letters.append(letter)


def _walk_key(cwd: str, root: str, roots: list[str], excludes: list[str], base: str) -> str:
    """What a walk of `root` finds depends on besides its folders' entries (the cache adds
    the code's version, so the registry of sources' too)."""
    return "walk\0" + repr((cwd, root, list(roots), excludes, base))


class _Listings:
    """The folders a walk listed last time (`Walked`, from the cache `pack`) and those it
    lists now, for the next walk."""

    def __init__(self, pack: Pack | None, key: str) -> None:
        self.pack, self.key = pack, key
        self.known: dict[str, int] = {}
        self.last = Walked()
        self.last_hits: dict[int, list[str]] = {}
        if pack is not None:
            from checks.cache import RACY_NS

            last = pack.get(key, Walked)
            if last is not None and _consistent(last):
                self.last = last
                self.known = {folder: i for i, folder in enumerate(last.folders)}
                for at, pattern in zip(last.hit_folders, last.hit_patterns, strict=True):
                    self.last_hits.setdefault(at, []).append(pattern)
            # a folder changed within this long of its listing may change again unseen in
            # the same tick of a coarse clock: it is listed again next time
            self.settled_before = time.time_ns() - RACY_NS
        # what the next walk keeps, in walk order: the place in `last` of a folder kept as
        # it was, or what is kept of a folder listed now (`listed`)
        self.next: list[int | tuple[str, list[int], str, str, list[str]]] = []
        self.changed = False

    def stamp(self, path: str) -> list[int] | None:
        """What `path` is now, as its modification and change times, inode and device; None
        when it cannot be stat'ed (it is then listed, and says why it cannot be)."""
        if self.pack is None:
            return None
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        return [st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]

    def listing(self, path: str, hits: set[str]) -> tuple[list[str], list[str]] | None:
        """What was kept of the folder `path` last time, as `_typed_listing` gives it, when
        its stamp is the same now (the patterns its entries matched go into `hits`), else
        None."""
        at = self.known.get(path)
        if at is None:
            self.changed = self.pack is not None
            return None
        if not self._unchanged(at, path):
            self.changed = True
            return None
        entries, names = self.last.entries[at], self.last.names[at]
        typed = entries.split("/") if entries else []
        if typed and min(map(len, typed)) < 2:  # not a letter and a name: not ours
            self.changed = True
            return None
        self.next.append(at)
        hits.update(self.last_hits.get(at, ()))
        return typed, names.split("/") if names else []

    def _unchanged(self, at: int, path: str) -> bool:
        """Whether the folder `path`, the last walk's `at`th, has the stamp it had then."""
        # asked of every folder of a warm walk: the stat's fields compared in place
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return False
        stamps, first = self.last.stamps, at * STAMP_SIZE
        return (
            st.st_mtime_ns == stamps[first]
            and st.st_ctime_ns == stamps[first + 1]
            and st.st_ino == stamps[first + 2]
            and st.st_dev == stamps[first + 3]
        )

    def listed(
        self, path: str, stamp: list[int] | None, entries: list[str], names: list[str], hits: set
    ) -> None:
        """Keep what is kept of a folder listed now, when it had settled before it was."""
        if stamp is not None and max(stamp[0], stamp[1]) < self.settled_before:
            self.next.append((path, stamp, "/".join(entries), "/".join(names), sorted(hits)))

    def found(self, top: _Folder, seen: set[str]) -> list[SourceFile] | None:
        """The files the last walk from `top` found in its folders' regular names (their keys
        go into `seen`), when it was whole and plain and no folder changed since (each is
        stat'ed); else None."""
        last = self.last
        if not (last.whole and top.exact and self.pack is not None):
            return None
        if not all(map(self._unchanged, range(len(last.folders)), last.folders)):
            return None
        kinds = [tuple(k.split("/", 1)) for k in last.kinds]
        if len(last.found) != len(last.found_kinds) or any(len(k) != 2 for k in kinds):
            return None
        try:
            of = [kinds[_KIND_LETTERS.index(letter)] for letter in last.found_kinds]
        except (ValueError, IndexError):
            return None
        prefix, shown, key = top.prefix, top.shown_prefix, top.key_prefix
        files = [
            SourceFile.walked(prefix + below, shown + below, kind, skip, key + below)
            for below, (kind, skip) in zip(last.found, of, strict=True)
        ]
        keys = {f.key for f in files}
        if len(keys) != len(files) or not seen.isdisjoint(keys):
            return None
        seen |= keys
        self.next = list(range(len(last.folders)))  # nothing to save
        return files

    def special(self) -> list[tuple[str, list[str]]]:
        """The folders of the last walk holding entries looked at at every walk (symbolic
        links, FIFOs...), each with its entries as `_typed_listing` gives them."""
        last = self.last
        return [
            (last.folders[at], last.entries[at].split("/"))
            for at in last.special
            if 0 <= at < len(last.folders) and last.entries[at]
        ]

    def save(self, found: _Found) -> None:
        """Put the folders listed in the cache for the next walk, when any changed, with the
        files `found`, when the walk was whole (each folder it walked is kept)."""
        if self.pack is None or not (self.changed or len(self.next) != len(self.last.folders)):
            return
        last, walked = self.last, Walked()
        for kept in self.next:
            if type(kept) is int:
                first = kept * STAMP_SIZE
                path, stamp = last.folders[kept], last.stamps[first : first + STAMP_SIZE]
                entries, names = last.entries[kept], last.names[kept]
                hits = self.last_hits.get(kept, [])
            else:
                path, stamp, entries, names, hits = kept
            for pattern in hits:
                walked.hit_folders.append(len(walked.folders))
                walked.hit_patterns.append(pattern)
            if any(entry[:1] != _FOLDER for entry in entries.split("/") if entry):
                walked.special.append(len(walked.folders))
                if any(entry[1:] == CHART for entry in entries.split("/")):
                    found.plain = False  # a symbolic link may say where a chart is
            walked.folders.append(path)
            walked.stamps += stamp
            walked.entries.append(entries)
            walked.names.append(names)
        if found.plain and found.folders == len(walked.folders):
            walked.found, walked.found_kinds = found.found, "".join(found.letters)
            walked.kinds = [f"{kind}/{skip}" for kind, skip in found.kinds]
            walked.whole = True
        self.pack.put(self.key, walked, Walked)


def _consistent(walked: Walked) -> bool:
    """Whether a `Walked` from the cache has one stamp, entries and names a folder, and a
    folder for each exclude pattern."""
    count = len(walked.folders)
    return (
        len(walked.stamps) == count * STAMP_SIZE
        and len(walked.entries) == count
        and len(walked.names) == count
        and len(walked.hit_folders) == len(walked.hit_patterns)
    )


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
