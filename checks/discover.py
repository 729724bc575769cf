"""Discover: walk the given paths and classify each file by its extension.

Never follows directory symlinks (no loops); a dangling link, an unreadable file or a file
over the size limit is a `Problem` naming the file, and the walk goes on.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from dataclasses import dataclass

from checks.model import Problem

SKIP_DIRS = {".git", ".terraform", "node_modules", ".eks-checks-cache", "__pycache__"}
SKIP_FILES = {".eks-checks.yaml"}  # our own configuration is not input
EXTENSIONS = {".tf": "terraform", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
DEFAULT_MAX_BYTES = 5_000_000
TFVARS_FIRST = ("terraform.tfvars", "terraform.tfvars.json")  # then *.auto.tfvars(.json), by name


@dataclass(frozen=True)
class SourceFile:
    path: str  # as the filesystem knows it
    display: str  # relative to the working directory when possible, with `/`
    kind: str
    # set when the file is known not to be ours before reading it (a Helm chart template)
    skip: str = ""


def display_path(path: str, cwd: str | None = None) -> str:
    cwd = cwd or os.getcwd()
    absolute = path if os.path.isabs(path) else os.path.join(cwd, path)
    absolute = os.path.normpath(absolute)
    if absolute.startswith(cwd + os.sep):
        rel = absolute[len(cwd) + 1 :]
    elif absolute == cwd:
        rel = "."
    else:
        rel = absolute
    # a file name that is not valid UTF-8 arrives with surrogate escapes: show it printable
    printable = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return printable.replace(os.sep, "/")


def classify(path: str) -> str | None:
    name = path.lower()
    if name.endswith(".tf.json"):
        return None  # Terraform JSON syntax is not read yet; not a policy or manifest either
    if name.endswith((".tfvars", ".tfvars.json")):
        # only the files Terraform loads by itself: others need `-var-file`, which we cannot see
        base = os.path.basename(name)
        auto = base in TFVARS_FIRST or base.endswith((".auto.tfvars", ".auto.tfvars.json"))
        return "tfvars" if auto else None
    return EXTENSIONS.get(os.path.splitext(name)[1])


def discover(paths: list[str], excludes: list[str] = ()) -> tuple[list[SourceFile], list[Problem]]:
    files: list[SourceFile] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    cwd = os.getcwd()

    def excluded(display: str) -> bool:
        return any(
            fnmatch.fnmatch(display, pat) or fnmatch.fnmatch(display, pat.rstrip("/") + "/*")
            for pat in excludes
        )

    def add(path: str) -> None:
        kind = classify(path)
        if kind is None or os.path.basename(path) in SKIP_FILES:
            return
        display = display_path(path, cwd)
        if display in seen or (excludes and excluded(display)):
            return
        try:
            mode = os.stat(path).st_mode  # follows links
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                reason = "symbolic link loop"
            elif os.path.islink(path):
                reason = "dangling symbolic link"
            else:
                reason = f"cannot read: {exc.strerror or exc}"
            problems.append(Problem(display, reason))
            return
        if stat.S_ISDIR(mode):
            return  # e.g. a directory named x.tf
        if not stat.S_ISREG(mode):
            # a FIFO or a device would block or never end: never open it
            problems.append(Problem(display, "not a regular file (FIFO, socket or device)"))
            return
        seen.add(display)
        files.append(SourceFile(path, display, kind, _helm_template(path, kind)))

    for root in paths:
        if not os.path.isdir(root):
            add(root)
            continue
        for dirpath, dirnames, filenames in os.walk(
            root,
            onerror=lambda e, root=root: problems.append(
                Problem(display_path(e.filename or root), f"cannot read directory: {e.strerror}")
            ),
        ):
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in SKIP_DIRS
                and not os.path.islink(os.path.join(dirpath, d))
                and not (excludes and excluded(display_path(os.path.join(dirpath, d), cwd)))
            )
            for name in sorted(filenames):
                add(os.path.join(dirpath, name))
    files.sort(key=lambda f: f.display)
    return files, problems


def _helm_template(path: str, kind: str) -> str:
    """Files under `<chart>/templates/` next to a Chart.yaml are Go templates Helm renders."""
    if kind != "yaml":
        return ""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == "templates":
            chart = os.sep.join(parts[:i])
            if os.path.isfile(os.path.join(chart, "Chart.yaml")):
                return "Helm chart template (Helm renders it; not read)"
    return ""


def read_text(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason). A BOM is dropped and CRLF becomes LF. A reason that
    knows its line says so as `(line N, ...)`."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            return (
                None,
                f"skipped: {size} bytes is over the {max_bytes}-byte limit (--max-file-size)",
            )
        with open(path, "rb") as fh:
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
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, None
