"""Kustomize: a directory with a `kustomization.yaml`, `kustomization.yml` or `Kustomization`
is read with everything it includes. Only root kustomizations (those no other kustomization
includes) are units: each is rendered by kubectl or kustomize, per kustomization, in the
runner's workers (`checks.normalize.kustomize`). The files they include are read through
them, never on their own: a base reached by two overlays gives its objects once per overlay,
and a file used as a patch is no object at all."""

from __future__ import annotations

import os
from functools import partial

from checks.discover import SourceFile, read_text
from checks.parse import ParseError
from checks.parse.kustomization import FILE_NAMES, read_kustomization
from checks.parse.yamlsafe import CRD_KIND, without_definitions
from checks.sources.base import Context, Normalized, Options, ParsedFile, Syntax, Unit

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


def group(files: list[SourceFile], options: Options) -> tuple[list[Unit], set[str]]:
    """The units of the scanned files: one per root kustomization, holding the scanned files
    it reaches (kustomizations, resources, patches); and the keys of the files those units
    read, which are not read on their own."""
    from checks.normalize.kustomize import walk

    mine = [f for f in files if f.kind == KUSTOMIZATION.name and not f.skip]
    if not mine:
        return [], set()
    known = {}
    source_of = {}
    for f in mine:
        text, _reason = read_text(f.path, options.max_bytes)
        try:
            from checks.parse.yamlsafe import parse_yaml_file

            docs = parse_yaml_file(text) if text else []
        except (ParseError, RecursionError, MemoryError):
            docs = []  # its unit parses it again and says why it cannot be read
        k = read_kustomization(f.key, docs[0] if docs else None)
        if k.directory not in known:
            known[k.directory] = k
            source_of[k.directory] = f
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
    if roots and inside(os.path.realpath(written), roots) is None:
        return "is outside the scanned tree"
    for where in (written, os.path.realpath(written)):
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
