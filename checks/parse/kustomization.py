"""Kustomization files: what a `kustomization.yaml` (or `Kustomization`) refers to, from its
parsed document: the directories and files it includes (`resources`, `bases`, `components`),
the patches it applies (`patches`, `patchesStrategicMerge`, `patchesJson6902`; a file or
inline text, with its target and lines), the other files kustomize would read for it
(generators, `crds`, `configurations`, `replacements`...), its remote references (a URL,
never fetched) and its own transformers (`namespace`, `namePrefix`, `nameSuffix`).

Pure: a document and the directory it is in give a `Kustomization`; nothing here reads a file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# what kustomize reads as a remote target instead of a local path (its loader's URL forms)
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|git::|gh:|github\.com[/:]|gitlab\.com[/:]|bitbucket\.org[/:])"
    r"|\?(?:.*&)?(?:ref|version|timeout|submodules)=",
    re.I,
)


@dataclass
class Patch:
    """One patch a kustomization applies: from a file (`file`, absolute) or inline (`text`,
    its content from line `first_line` of the kustomization on), with its target selector
    (empty: the objects the patch itself names)."""

    target: dict
    file: str = ""
    text: str | None = None
    first_line: int = 0


@dataclass
class Kustomization:
    """What one kustomization refers to (paths absolute, normalized)."""

    path: str  # the kustomization file
    is_component: bool = False
    resources: list[str] = field(default_factory=list)  # local files and directories, in order
    components: list[str] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)  # generators, crds, replacements...
    remote: list[tuple[str, int]] = field(default_factory=list)  # (reference, line)
    lines: dict[str, int] = field(default_factory=dict)  # where each local path is written
    # it only lists resources: kustomize's output is its resources as written
    lists_only: bool = False
    # what it makes of its objects is named only by prefixes, suffixes and generators (no
    # component, replacement, transformer, Helm chart, or patch allowed to rename)
    renames_only: bool = False
    namespace: str | None = None
    name_prefix: str = ""
    name_suffix: str = ""
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)

    @property
    def directory(self) -> str:
        return os.path.dirname(self.path)


_LISTING_KEYS = {"apiVersion", "kind", "metadata", "resources", "bases"}
_RENAMING_KEYS = _LISTING_KEYS | {
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
}


def is_remote(reference: str) -> bool:
    """Whether kustomize would fetch `reference` (a URL, a git repository) rather than read a
    local path."""
    return _REMOTE.search(reference.strip()) is not None


def _line(node: Any, key: Any) -> int:
    lines = getattr(node, "key_lines", {}).get(key)
    return lines[0] if lines else getattr(node, "line", 0)


def _item_line(items: Any, index: int) -> int:
    spans = getattr(items, "item_lines", [])
    return spans[index][0] if index < len(spans) else getattr(items, "line", 0)


def read_kustomization(path: str, document: Any) -> Kustomization:
    """The references of the kustomization at `path` (absolute) from its parsed document."""
    k = Kustomization(path)
    if not isinstance(document, dict):
        k.problems.append((getattr(document, "line", 0), "a kustomization is not a mapping"))
        return k
    k.is_component = document.get("kind") == "Component"
    k.lists_only = (
        not k.is_component
        and set(document) <= _LISTING_KEYS
        and bool(set(document) & {"resources", "bases"})
    )
    k.renames_only = (
        not k.is_component
        and set(document) <= _RENAMING_KEYS
        and not any(isinstance(p, dict) and "options" in p for p in _list(document.get("patches")))
    )
    here = k.directory

    def local(reference: Any, line: int, into: list[str]) -> None:
        if not isinstance(reference, str) or not reference.strip():
            k.problems.append((line, f"not a path: {reference!r}"))
        elif is_remote(reference):
            k.remote.append((reference.strip(), line))
        else:
            path = os.path.normpath(os.path.join(here, reference.strip()))
            into.append(path)
            k.lines.setdefault(path, line)

    for key, into in (("resources", k.resources), ("bases", k.resources)):
        items = document.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                local(item, _item_line(items, i), into)
    items = document.get("components")
    if isinstance(items, list):
        for i, item in enumerate(items):
            local(item, _item_line(items, i), k.components)
    _read_patches(k, document)
    for key in ("crds", "configurations", "transformers", "generators", "validators"):
        items = document.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, str) and "\n" not in item:
                    local(item, _item_line(items, i), k.other_files)
    for key in ("configMapGenerator", "secretGenerator"):
        items = document.get(key)
        for generator in items if isinstance(items, list) else ():
            for name in ("files", "envs", "env"):
                for ref in _strings(generator.get(name) if isinstance(generator, dict) else None):
                    # `key=path` names the key the file's content goes under
                    local(ref.rpartition("=")[2], _line(generator, name), k.other_files)
    for entry in _list(document.get("replacements")):
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            local(entry["path"], _line(entry, "path"), k.other_files)
    openapi = document.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        local(openapi["path"], _line(openapi, "path"), k.other_files)
    if isinstance(document.get("namespace"), str):
        k.namespace = document["namespace"]
    if isinstance(document.get("namePrefix"), str):
        k.name_prefix = document["namePrefix"]
    if isinstance(document.get("nameSuffix"), str):
        k.name_suffix = document["nameSuffix"]
    return k


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in _list(value) if isinstance(v, str)]


def _read_patches(k: Kustomization, document: dict) -> None:
    here = k.directory
    # a patch is a strategic merge patch or a list of JSON 6902 operations by what it holds,
    # whichever list declares it
    for key in ("patches", "patchesJson6902"):
        items = document.get(key)
        for i, entry in enumerate(_list(items)):
            if not isinstance(entry, dict):
                continue
            target = entry.get("target") if isinstance(entry.get("target"), dict) else {}
            line = _item_line(items, i)
            if isinstance(entry.get("path"), str):
                reference = entry["path"]
                if is_remote(reference):
                    k.remote.append((reference, _line(entry, "path")))
                    continue
                file = os.path.normpath(os.path.join(here, reference))
                k.lines.setdefault(file, _line(entry, "path"))
                k.patches.append(Patch(dict(target), file=file))
            elif isinstance(entry.get("patch"), str):
                k.patches.append(_inline(entry, "patch", dict(target), line))
    items = document.get("patchesStrategicMerge")
    for i, entry in enumerate(_list(items)):
        if not isinstance(entry, str):
            continue
        line = _item_line(items, i)
        if "\n" in entry.strip() or ":" in entry:
            # an inline patch: YAML text rather than a file name
            k.patches.append(Patch({}, text=entry, first_line=_first_line(items, i)))
        elif is_remote(entry):
            k.remote.append((entry, line))
        else:
            file = os.path.normpath(os.path.join(here, entry))
            k.lines.setdefault(file, line)
            k.patches.append(Patch({}, file=file))


def _first_line(items: Any, index: int) -> int:
    """The line an inline text written as list item `index` starts on: the line after the
    item's `- |` when it spans several lines."""
    spans = getattr(items, "item_lines", [])
    start, end = spans[index] if index < len(spans) else (getattr(items, "line", 0),) * 2
    return start + 1 if end > start else start


def _inline(entry: Any, key: str, target: dict, line: int) -> Patch:
    start, end = entry.key_lines.get(key, (line, line)) if hasattr(entry, "key_lines") else (0, 0)
    # a block scalar (`patch: |-`) starts on the line after its key
    first = start + 1 if end > start else start
    return Patch(target, text=entry[key], first_line=first)
