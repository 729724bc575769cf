"""Kustomize: a directory with a `kustomization.yaml`, `kustomization.yml` or `Kustomization`
is read with everything it includes. Only root kustomizations (those no other kustomization
includes) are units: each is rendered by kubectl or kustomize, per kustomization, in the
runner's workers (`checks.normalize.kustomize`). The files they include are read through
them, never on their own: a base reached by two overlays gives its objects once per overlay,
and a file used as a patch is no object at all."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from checks.discover import SourceFile, read_text
from checks.parse import ParseError
from checks.parse.kustomization import FILE_NAMES, Kustomization, read_kustomization
from checks.sources.base import (
    Context,
    Normalized,
    Options,
    ParsedFile,
    Syntax,
    Unit,
    digest,
)

if TYPE_CHECKING:
    from checks.cache import Pack

BY_DIRECTORY = True
SHARES_FILES = True  # a base is read by every overlay that includes it
_NAMES = {name.lower() for name in FILE_NAMES} | {"kustomization"}
# what rendering one kustomization costs, counted in files, when the runner decides whether
# to start workers: a render is a process of its own
RENDER_COST = 16


def kustomization_name(name: str) -> bool:
    """A kustomization file's name (lower case)."""
    return name in _NAMES


KUSTOMIZATION = Syntax(
    "kustomization",
    kustomization_name,
    "checks.parse.yamlsafe:parse_yaml_file",
    "a kustomization",
)
SYNTAXES = (KUSTOMIZATION,)


def is_ours(text: str, error: ParseError | None) -> bool:
    """A kustomization that cannot be read whole is ours whatever it holds: kustomize refuses
    it, and what it deploys is unknown."""
    return True


def prefilter(texts: dict[str, str], files: list[SourceFile]) -> dict[str, str]:
    """The texts of the files a kustomization includes without their CustomResourceDefinition
    documents (no rule reads one, and a CRD is often most of a file), as blank lines so that
    every line stays where it was; a file that does not parse is kept whole."""
    from checks.parse.yamlsafe import CRD_KIND, without_definitions

    out = {}
    for f in files:
        text = texts.get(f.key)
        if f.kind == KUSTOMIZATION.name or text is None or CRD_KIND not in text:
            continue
        filtered = without_definitions(text)
        if filtered != text:
            out[f.key] = filtered
    return out


def given_files(directory: str, options: Options) -> list[tuple[SourceFile, str]]:
    """No file is given to a kustomization besides its own."""
    return []


def group(
    files: list[SourceFile], options: Options, pack: Pack | None = None
) -> tuple[list[Unit], set[str]]:
    """The units of the scanned files: one per root kustomization, holding the scanned files
    it reaches (kustomizations, resources, patches); and the keys of the files those units
    read, which are not read on their own. With a cache `pack`, a kustomization whose text
    the pack's stamps know is not read again (`Includes`)."""
    from checks.normalize.kustomize import walk

    mine = [f for f in files if f.kind == KUSTOMIZATION.name and not f.skip]
    if not mine:
        return [], set()
    known: dict[str, Kustomization] = {}
    source_of = {}
    for f in mine:
        directory = os.path.dirname(f.key)
        if directory not in known:  # a second kustomization file of a folder is not read
            known[directory] = _includes(f, options, pack).kustomization(f.key)
            source_of[directory] = f
    included = {p for k in known.values() for p in k.resources + k.components if p in known}
    roots = [d for d in known if d not in included]
    by_key = {f.key: f for f in files}
    units: list[Unit] = []
    taken = {f.key for f in mine}
    reached: set[str] = set()
    # the roots, then, for kustomizations that include each other in a cycle no root reaches,
    # the first of the cycle as a root (kustomize says what is wrong with it)
    for directory in roots + list(known):
        if directory in reached:
            continue
        unit = _unit(directory, known, source_of, by_key, options, walk)
        units.append(unit)
        taken |= {f.key for f in unit.files}
        reached |= _reachable(directory, known)
    units.sort(key=lambda u: u.module or "")
    return units, taken


@dataclass
class Includes:
    """What grouping reads of a kustomization: the kustomizations and files it includes, and
    the other files kustomize reads for it (absolute, normalized, as `read_kustomization`
    gives them). What the cache keeps of it, by the digest of its text."""

    resources: list[str] = field(default_factory=list)  # and its bases
    components: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # its patches', generators'... files

    @classmethod
    def of(cls, k: Kustomization) -> Includes:
        """What grouping reads of the kustomization `k`."""
        patches = [patch.file for patch in k.patches if patch.file]
        return cls(k.resources, k.components, patches + k.other_files)

    def kustomization(self, path: str) -> Kustomization:
        """The kustomization at `path` as grouping walks it: what it includes and reads, and
        nothing of what it makes of them (its unit reads the file itself)."""
        return Kustomization(
            path, resources=self.resources, components=self.components, other_files=self.files
        )


def _includes(f: SourceFile, options: Options, pack: Pack | None) -> Includes:
    """What grouping reads of the kustomization `f`: from the cache `pack` when the pack's
    stamps say the file's text is the one they digested (it is not read), else read and
    parsed, and kept in the pack by its text's digest for the next run."""
    if pack is None:
        return _read_includes(f, options)[0]
    known = pack.stamps.digest(f.key, f.path)
    if known is not None:
        hit = pack.get(includes_key(f, known, options), Includes)
        if hit is not None:
            return hit
    taken_at = time.time_ns()
    before = pack.stamps.stat(f.path)
    includes, text, settled = _read_includes(f, options)
    if text is not None:
        digested = digest(text)
        pack.stamps.record(f.key, f.path, before, digested, taken_at)
        if settled:
            pack.put(includes_key(f, digested, options), includes, Includes)
    return includes


def _read_includes(f: SourceFile, options: Options) -> tuple[Includes, str | None, bool]:
    """What grouping reads of the kustomization `f`, read and parsed; the text read (None when
    it cannot be); and whether the answer is the text's alone (a parse that ran out of stack
    or memory might not fail again)."""
    from checks.parse.yamlsafe import parse_yaml_file

    text, _reason = read_text(f.path, options.max_bytes)
    settled = True
    try:
        docs = parse_yaml_file(text) if text else []
    except ParseError:
        docs = []  # its unit parses it again and says why it cannot be read
    except (RecursionError, MemoryError):
        docs, settled = [], False
    return Includes.of(read_kustomization(f.key, docs[0] if docs else None)), text, settled


def includes_key(f: SourceFile, text_digest: str, options: Options) -> str:
    """What a kustomization's `Includes` are filed under in the cache: the file, the digest of
    its text and the size limit (a file over it is read as empty)."""
    return f"kustomization includes\0{options.max_bytes}\0{f.key}\0{text_digest}"


def _reachable(directory: str, known: dict) -> set[str]:
    """The kustomization directories `directory` includes, directly or not, itself included."""
    found = {directory}
    todo = [directory]
    while todo:
        k = known[todo.pop()]
        for path in k.resources + k.components:
            if path in known and path not in found:
                found.add(path)
                todo.append(path)
    return found


def _unit(directory, known, source_of, by_key, options, walk) -> Unit:
    reach = walk(directory, known)
    head = source_of[directory]
    files = [head] + sorted(
        (by_key[p] for p in reach.files if p in by_key and p != head.key), key=lambda f: f.display
    )
    shown = os.path.dirname(head.display) or "."
    return Unit(files, shown, directory, cost=RENDER_COST + len(files))


def normalize(
    directory: str, parsed: list[ParsedFile], given: list[ParsedFile], context: Context
) -> Normalized:
    """The entities of what the root kustomization deploys, rendered when a renderer is on
    PATH, else read as written (`checks.normalize.kustomize`)."""
    from checks.normalize.kustomize import Unit as Root
    from checks.normalize.kustomize import find_renderer, normalize_root

    good = [p for p in parsed if p.problem is None]
    unit = Root(
        directory=context.directory,
        display={p.file.key: p.file.display for p in parsed},
        documents={p.file.key: list(p.documents or []) for p in good},
        refusal=partial(refusal, context.options),
    )
    if any(p.problem is not None and p.file.kind == KUSTOMIZATION.name for p in parsed):
        return [], []  # the kustomization's own error says it all
    return normalize_root(unit, find_renderer())


def refusal(options: Options, path: str) -> str:
    """Why kubectl may not read `path` for a kustomization (outside the scanned tree, in a
    folder never read, excluded), "" when it may: what Terraform's file() may not read."""
    from checks.discover import display_path, excluded, inside, skipped_folder

    roots = [os.path.realpath(r) for r in options.roots]
    written = os.path.normpath(os.path.abspath(path))
    real = os.path.realpath(written)
    if roots and inside(real, roots) is None:
        return "is outside the scanned tree"
    for where in (written, real):
        root = inside(where, roots)
        if root is None:
            continue
        folder = skipped_folder(where, root)
        if folder is not None:
            return f"is inside {folder}, which is never read"
        base = options.exclude_root or None
        if options.excludes and excluded(display_path(where, base), options.excludes):
            return "is excluded from the scan"
    return ""


def depends_on() -> str:
    """The renderer and its version: a result read unrendered is not one rendered."""
    return renderer_version()


def renderer_version() -> str:
    """Which program renders kustomizations and its version, or why none does."""
    from checks.normalize.kustomize import find_renderer

    found = find_renderer()
    if found is None:
        return "none (no kubectl or kustomize on PATH: kustomizations are read unrendered)"
    return f"{found.version} at {found.path}"
