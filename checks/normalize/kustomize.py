"""Kustomize overlays -> model entities: a root kustomization rendered by kubectl (or
kustomize) into the objects it deploys, each normalized as a manifest object at the place
it is written (`checks.normalize.kubernetes`).

Where an object is written comes from kustomize's origin annotations, asked for through a
wrapper kustomization in a temporary folder outside the scanned tree (the user's files are
never changed): its file, then its document there by kind and name. A field that a patch
set points at the patch (its file's line, or its text inline in the kustomization): the
rendered object is grafted onto the lines of its base document, then each patch that applies
to it, in kustomize's order, claims the values it holds that the rendered object still has.
Lines of other files travel through the normalizer encoded as `file index * STRIDE + line`,
and are decoded into `Entity.line_files` afterwards.

Nothing is fetched and nothing runs but the renderer: a kustomization that refers to a
remote target, or to a path that leaves the scanned tree, is not rendered (a note says why);
kustomize's plugins and exec functions stay off (no `--enable-alpha-plugins`,
`--enable-exec`, `--enable-helm`), its load restrictor on. Without a renderer, the resources
are read as they are written, with the kustomizations' `namespace`, `namePrefix` and
`nameSuffix` applied here, and one note per kustomization says it was not rendered.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from checks.discover import display_path, read_text
from checks.model import Entity, LDict, LList, Location, Problem, Related, copied
from checks.parse import ParseError, excerpt
from checks.parse.kustomization import FILE_NAMES, Kustomization, read_kustomization

# PyYAML, the manifest normalizer and tempfile are imported where a kustomization is rendered
# or read: grouping (`walk`) and the renderer's version are all a warm run that parses nothing
# needs of this module

STRIDE = 1 << 24  # lines of another file than the object's: its index * STRIDE + line
RENDER_TIMEOUT = 60.0  # seconds one kustomization may take to render
MAX_OUTPUT = 64_000_000  # bytes of rendered objects read at most
MAX_DEPTH = 100  # kustomizations including one another, deeper than any real overlay
ORIGIN = "config.kubernetes.io/origin"
# what kustomize adds to each object when asked for its build metadata
_METADATA = (ORIGIN, "alpha.config.kubernetes.io/transformations")


@dataclass
class Renderer:
    """The program that renders kustomizations: kubectl (`kubectl kustomize DIR`) or
    kustomize (`kustomize build DIR`), and the kustomize version it holds."""

    path: str
    command: str  # "kubectl" or "kustomize"
    version: str  # as the program says it, e.g. "kubectl v1.32.4 (kustomize v5.5.0)"

    def argv(self, directory: str) -> list[str]:
        verb = ["kustomize"] if self.command == "kubectl" else ["build"]
        # the load restrictor keeps each kustomization's files inside its own folder
        return [self.path, *verb, directory, "--load-restrictor", "LoadRestrictionsRootOnly"]


@dataclass
class Walk:
    """A root kustomization and everything it reaches, in the order kustomize applies it."""

    order: list[tuple[Kustomization, set[str]]] = field(default_factory=list)  # with its scope
    files: set[str] = field(default_factory=set)  # every file read: resources, patches...
    resources: list[str] = field(default_factory=list)  # resource files, in order, once each
    patch_files: set[str] = field(default_factory=set)
    # each resource file: the line of the root's own entry that reaches it (a file, or the
    # base or component it is in), where a finding relates the root
    entry_lines: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, why)


def walk(
    root: str, known: dict[str, Kustomization], refusal: Callable[[str], str] | None = None
) -> Walk:
    """What the kustomization in directory `root` reaches among the `known` kustomizations (by
    directory), and why it cannot be rendered safely: a remote target, a path `refusal` gives
    a reason not to read (outside the scanned tree...), a folder with no kustomization."""
    out = Walk()
    done: set[str] = set()
    listed: set[str] = set()  # out.resources, to ask (a kustomization may list thousands)

    def refused(k: Kustomization, path: str) -> bool:
        why = refusal(path) if refusal is not None else ""
        if why:
            out.refused.append((k.path, k.lines.get(path, 0), f"{_rel(path, k)} {why}"))
        return bool(why)

    def visit(
        directory: str, includer_scope: set[str] | None, depth: int, entry_line: int
    ) -> set[str]:
        k = known[directory]
        scope: set[str] = set()
        if directory in done:
            return _scope_of(out, k)
        done.add(directory)
        out.files.add(k.path)
        if depth > MAX_DEPTH:
            out.refused.append((k.path, 0, f"kustomizations nested more than {MAX_DEPTH} deep"))
            return scope
        for reference, line in k.remote:
            out.refused.append((k.path, line, f"remote target {excerpt(reference)}, not fetched"))
        for path in k.resources + k.components:
            if refused(k, path):
                continue
            line = k.lines.get(path, 0) if depth == 0 else entry_line
            if path in known:
                sub = visit(path, scope if path in k.components else None, depth + 1, line)
                scope |= sub
            elif os.path.isdir(path):
                why = f"{_rel(path, k)} has no kustomization we read"
                out.refused.append((k.path, k.lines.get(path, 0), why))
            else:
                scope.add(path)
                out.files.add(path)
                out.entry_lines.setdefault(path, line)
                if path not in listed:
                    listed.add(path)
                    out.resources.append(path)
        for patch in k.patches:
            if patch.file:
                refused(k, patch.file)
                out.files.add(patch.file)
                out.patch_files.add(patch.file)
        for path in k.other_files:
            refused(k, path)
            out.files.add(path)
        if includer_scope is not None:
            # a component's patches apply to what the kustomization including it has so far
            scope |= includer_scope
        out.order.append((k, scope))
        return scope

    visit(root, None, 0, 0)
    return out


def _scope_of(out: Walk, k: Kustomization) -> set[str]:
    return next((scope for done, scope in out.order if done is k), set())


def _rel(path: str, k: Kustomization) -> str:
    return os.path.relpath(path, k.directory)


_RENDERERS: dict[str, Renderer | None] = {}
# kubectl asked its version ahead of need (`ask_version`), by PATH: (its path, the process
# that answers, the process that asked)
_ASKED: dict[str, tuple[str, subprocess.Popen, int]] = {}
VERSION_TIMEOUT = 20  # seconds a program may take to say its version


class VersionMemo(NamedTuple):
    """Where the versions programs said are kept between runs (the cache), by what names the
    program (`renderer_stamp`): `get(stamp)` the version kept or None, `put(stamp, version)`."""

    get: Callable[[str], str | None]
    put: Callable[[str, str], None]


# the memo and stamp of a version asked ahead (`ask_version`), by PATH: where its answer goes
_TO_KEEP: dict[str, tuple[VersionMemo, str]] = {}


def renderer_stamp(path: str) -> str | None:
    """What names the program at `path` (followed to its real file): its path, device, inode,
    size and times; another build put there, or a link moved to one, is another stamp. None
    when it cannot be looked at, or when it may be a shim that picks a kubectl by the folder
    or the cluster (`_may_pick_another`): what it says is asked at every run."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return None
    if _may_pick_another(real):
        return None
    said = (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return "renderer\0" + "\0".join(map(str, said))


def _may_pick_another(real: str) -> bool:
    """Whether the program at its real path `real` may run another kubectl than itself: a
    script (asdf's shims, Nix's wrappers), or a program of another name that `kubectl` links
    to (mise's, aqua's and pkgx's shims, kuberlr), which choose by the folder, the tool
    versions files or the server. Only a program named kubectl that is not a script is taken
    to be the kubectl it says it is."""
    if os.path.basename(real).lower() not in ("kubectl", "kubectl.exe"):
        return True
    try:
        with open(real, "rb") as program:
            return program.read(2) == b"#!"
    except OSError:
        return True


def ask_version(memo: VersionMemo | None = None) -> None:
    """Ask kubectl its version now, in the background, so that the answer is in when
    `find_renderer` needs it: a warm run that keys its Kustomize units by the renderer's
    version would otherwise wait for kubectl to start (about 0.05 s). The question asked is
    the one `find_renderer` asks, with the same PATH and working directory: the same answer.
    With a `memo`, the version this very program said before is taken from it, and nothing
    is asked (kubectl's start costs a hook run the second core); a new answer is kept there.
    """
    path_env = os.environ.get("PATH", "")
    if path_env in _RENDERERS or path_env in _ASKED:
        return
    path = shutil.which("kubectl")
    if path is None:
        return
    stamp = renderer_stamp(path) if memo is not None else None
    if memo is not None and stamp is not None:
        kept = memo.get(stamp)
        if kept:
            _RENDERERS[path_env] = Renderer(path, "kubectl", kept)
            return
    try:
        proc = subprocess.Popen(
            _version_argv(path, "kubectl"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except (OSError, subprocess.SubprocessError):
        return
    if not _ASKED:
        atexit.register(_forget_asked)
    _ASKED[path_env] = (path, proc, os.getpid())
    if memo is not None and stamp is not None:
        _TO_KEEP[path_env] = (memo, stamp)


def _forget_asked() -> None:
    """A question no scan needed the answer to ends with the process that asked it."""
    for _path, proc, asker in _ASKED.values():
        if asker == os.getpid():
            _finish(proc, timeout=0)
    _ASKED.clear()


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[int | None, str]:
    """(exit status, output) of a version question, or (None, "") when it takes longer
    than `timeout` seconds (it is stopped)."""
    try:
        out, _err = proc.communicate(timeout=timeout)
    except (OSError, subprocess.SubprocessError, ValueError):
        # as subprocess.run does: what the program started may hold its output open
        proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        return None, ""
    return proc.returncode, out


def find_renderer() -> Renderer | None:
    """kubectl, else kustomize, on PATH (None when neither is), with its version."""
    path_env = os.environ.get("PATH", "")
    if path_env in _RENDERERS:
        return _RENDERERS[path_env]
    asked = _ASKED.pop(path_env, None)
    found = None
    for command in ("kubectl", "kustomize"):
        path = shutil.which(command)
        if path is None:
            continue
        if asked is not None and command == "kubectl":
            # the answer to the question asked ahead, when this process asked it of this path
            asked_path, proc, asker = asked
            if asker == os.getpid() and asked_path == path:
                version = _version_said(command, *_finish(proc, VERSION_TIMEOUT))
                memo, stamp = _TO_KEEP.pop(path_env, (None, None))
                if memo is not None and version and renderer_stamp(path) == stamp:
                    memo.put(stamp, version)  # the program unchanged while it answered
            else:
                version = _version(path, command)
        else:
            version = _version(path, command)
        if version:
            found = Renderer(path, command, version)
            break
    _RENDERERS[path_env] = found
    return found


def _version_argv(path: str, command: str) -> list[str]:
    return [path, "version", "--client"] if command == "kubectl" else [path, "version"]


def _version(path: str, command: str) -> str:
    """How the program names its version, "" when it does not answer as expected."""
    try:
        proc = subprocess.run(
            _version_argv(path, command),
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return _version_said(command, proc.returncode, proc.stdout)


def _version_said(command: str, status: int | None, stdout: str) -> str:
    """The version in what `program version` printed, "" when it failed or said none."""
    if status != 0:
        return ""
    words = {}
    for line in stdout.splitlines():
        name, _, value = line.partition(":")
        words[name.strip()] = value.strip()
    if command == "kubectl":
        client, kustomize = words.get("Client Version"), words.get("Kustomize Version")
        if not client:
            return ""
        return f"kubectl {client}" + (f" (kustomize {kustomize})" if kustomize else "")
    return f"kustomize {stdout.strip()}"


def render(renderer: Renderer, directory: str, origins: bool = True) -> tuple[str | None, str, str]:
    """(the rendered YAML stream, "", the wrapper folder) or (None, kubectl's message, the
    wrapper folder) for the kustomization in `directory`. The origin paths in the stream
    (unless not `origins`) are relative to the wrapper folder (removed once rendered)."""
    import tempfile

    wrapper = tempfile.mkdtemp(prefix="eks-checks-kustomize-")
    try:
        target = os.path.relpath(directory, wrapper)
        text, error = _build(renderer, wrapper, target, directory, origins)
        return text, error, wrapper
    finally:
        shutil.rmtree(wrapper, ignore_errors=True)


def render_lean(
    renderer: Renderer, directory: str, files: set[str], resources: list[str], origins: bool = True
) -> tuple[str, str, str] | None:
    """`render` of a copy of the build's `files` whose `resources` are without their
    CustomResourceDefinitions (no rule reads one, and kustomize spends most of its time on
    large ones), the origin paths relative to the folder returned; None when no definition is
    left out, when a file cannot be copied, or when the copy does not render (a patch or a
    replacement that names a definition): the files themselves are rendered then."""
    import tempfile

    from checks.parse.yamlsafe import without_definitions

    try:
        common = os.path.commonpath([directory, *files])
    except ValueError:  # paths on two drives, or absolute and relative: no one copy holds them
        return None
    name = os.path.basename(common)
    if not name or name in FILE_NAMES:
        return None
    texts: dict[str, str] = {}
    left_out = False
    for path in files:
        text, _reason = read_text(path, MAX_OUTPUT) if os.path.isfile(path) else (None, "")
        if text is None:
            return None
        texts[path] = without_definitions(text) if path in resources else text
        left_out = left_out or texts[path] is not text
    if not left_out:
        return None
    wrapper = tempfile.mkdtemp(prefix="eks-checks-kustomize-")
    try:
        for path, text in texts.items():
            copy = os.path.join(wrapper, name, os.path.relpath(path, common))
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            with open(copy, "w", encoding="utf-8") as fh:
                fh.write(text)
        target = os.path.join(name, os.path.relpath(directory, common))
        text, _error = _build(renderer, wrapper, target, directory, origins)
    except OSError:
        return None
    finally:
        shutil.rmtree(wrapper, ignore_errors=True)
    # `name/...` in the copy is `common/...`: origins are relative to the folder above it
    return (text, "", os.path.dirname(common)) if text is not None else None


def _build(
    renderer: Renderer, wrapper: str, target: str, directory: str, origins: bool = True
) -> tuple[str | None, str]:
    """Run the renderer on a kustomization in `wrapper` whose one resource is `target`
    (relative to it), with origin annotations unless not `origins` (they triple kustomize's
    time on a large build): (its output, "") or (None, why not)."""
    metadata = "buildMetadata: [originAnnotations]\n" if origins else ""
    with open(os.path.join(wrapper, "kustomization.yaml"), "w", encoding="utf-8") as fh:
        fh.write(f"resources:\n  - {_quoted(target)}\n{metadata}")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": wrapper, "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            renderer.argv(wrapper),
            capture_output=True,
            timeout=RENDER_TIMEOUT,
            env=env,
            cwd=wrapper,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"rendering took more than {RENDER_TIMEOUT:g} s and was stopped"
    except OSError as exc:
        return None, f"cannot run {renderer.command}: {exc.strerror or exc}"
    if proc.returncode != 0:
        return None, _message(proc.stderr, directory)
    if len(proc.stdout) > MAX_OUTPUT:
        return None, f"renders to more than {MAX_OUTPUT} bytes"
    return proc.stdout.decode("utf-8", errors="replace"), ""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _message(stderr: bytes, directory: str) -> str:
    """The renderer's error in one line, without the layer of the wrapper kustomization, with
    the paths under the working directory as shown."""
    text = stderr.decode("utf-8", errors="replace").strip()
    # kubectl's log format: `E1201 ... "command failed" err="..."`
    quoted = re.search(_LOGGED, text, re.S)
    block = re.search(_LOGGED_BLOCK, text, re.S)  # and its multi-line form: `err=<` ... `>`
    if quoted:
        text = quoted.group(1).replace('\\"', '"').replace("\\\\", "\\")
    elif block:
        text = block.group(1)
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    line = line or "failed with no message"
    for prefix in ("Error: ", "error: "):
        line = line.removeprefix(prefix)
    line = re.sub(_WRAPPER, "", line, count=1)
    line = re.sub(_TARGET, "", line, count=1)
    line = line.replace(directory + os.sep, "").replace(os.getcwd() + os.sep, "")
    return excerpt(line, 400)


# the patterns of a renderer's errors, compiled (by `re`, which keeps them) when one fails
_LOGGED = r'"command failed" err="(.*)"\s*$'
_LOGGED_BLOCK = r'"command failed" err=<\n(.*)\n\s*>\s*$'
# what kustomize says of the wrapper's one resource before it says what is wrong with it
_WRAPPER = (
    r"^accumulating resources: accumulation err='accumulating resources from '[^']*': "
    r"'[^']*' must resolve to a file': "
)
_TARGET = r"^(?:recursed accumulation of path|couldn't make target for path) '[^']*': "


# ---- entities ----------------------------------------------------------------------------
@dataclass
class Unit:
    """What normalizing a root kustomization needs: its parsed files, by absolute path."""

    directory: str  # the root kustomization's directory (absolute)
    display: dict[str, str]  # absolute path -> path as shown
    documents: dict[str, list]  # absolute path -> parsed documents
    refusal: Callable[[str], str]  # why a path may not be read, "" when it may


def normalize_root(unit: Unit, renderer: Renderer | None) -> tuple[list[Entity], list[Problem]]:
    """The entities of the objects the root kustomization in `unit.directory` deploys, and the
    problems (a render that failed is an error with the renderer's message; a kustomization
    not rendered is a note)."""
    import yaml

    from checks.normalize.kubernetes import is_object

    known: dict[str, Kustomization] = {}
    problems: list[Problem] = []
    for path, docs in unit.documents.items():
        if os.path.basename(path) in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            k = read_kustomization(path, docs[0] if docs else LDict())
            known.setdefault(k.directory, k)
            shown = unit.display.get(path, display_path(path))
            problems += [Problem(shown, message, line, "note") for line, message in k.problems]
    root = known.get(unit.directory)
    if root is None:
        return [], problems
    reach = walk(unit.directory, known, unit.refusal)
    root_shown = unit.display.get(root.path, display_path(root.path))
    overlay = os.path.dirname(root_shown) or "."
    if root.is_component:
        why = "a Component that no kustomization includes"
        return _unrendered(unit, reach, root_shown, overlay, why, problems)
    if reach.refused:
        for path, line, why in reach.refused:
            shown = unit.display.get(path, display_path(path))
            problems.append(Problem(shown, f"not rendered: {why}", line, "note"))
        return _unrendered(unit, reach, root_shown, overlay, "", problems)
    if renderer is None:
        why = "no kubectl or kustomize on PATH"
        return _unrendered(unit, reach, root_shown, overlay, why, problems)
    if _as_written(reach, unit):
        # kustomize would give the resources as they are: no need to run it
        return _unrendered(unit, reach, root_shown, overlay, "", problems)
    # which file each object comes from is told here when kustomize only renames by prefix
    # and suffix, else kustomize is asked (origin annotations), as it is when that fails
    patches = _patches(reach, unit)
    origins: list | None = None
    for ask in (False, True) if _origins_inferable(reach, patches) else (True,):
        lean = render_lean(renderer, unit.directory, reach.files, reach.resources, ask)
        text, error, wrapper = lean or render(renderer, unit.directory, ask)
        if text is None:
            problems.append(Problem(root_shown, f"kustomization did not render: {error}"))
            return [], problems
        try:
            rendered = _rendered_documents(text)
        except yaml.YAMLError as exc:
            message = f"{renderer.command} rendered YAML that does not parse: {excerpt(str(exc))}"
            problems.append(Problem(root_shown, message))
            return [], problems
        origins = None if ask else _inferred_origins(rendered, reach, unit)
        if ask or origins is not None:
            break
    entities: list[Entity] = []
    for index, obj in enumerate(rendered):
        if not is_object(obj):
            continue
        known = origins[index] if origins is not None else None
        made, found = _rendered_object(
            obj, wrapper, unit, patches, reach, (root_shown, overlay), known
        )
        entities += made
        problems += found
    return entities, problems


def _origins_inferable(reach: Walk, patches: list[_LoadedPatch]) -> bool:
    """Whether the file each rendered object comes from can be told without kustomize's origin
    annotations: every kustomization renames objects only by prefix and suffix, and no patch
    (each one read: `patches` as `_patches` loads them) may rename one: no JSON 6902
    operation on an object's kind or name, no strategic merge patch with a target that writes
    a name."""
    if not all(k.renames_only for k, _scope in reach.order):
        return False
    if len(patches) != sum(len(k.patches) for k, _scope in reach.order):
        return False  # a patch file not read, or an inline patch that does not parse
    for patch in patches:
        for doc in patch.documents:
            if isinstance(doc, list):
                if not all(isinstance(op, dict) and not _renaming(op) for op in doc):
                    return False
            elif isinstance(doc, dict):
                meta = doc.get("metadata")
                if isinstance(meta, dict) and (
                    patch.target and "name" in meta or _replaces_annotations(meta)
                ):
                    return False
    return True


def _replaces_annotations(meta: dict) -> bool:
    """Whether a strategic merge patch's metadata replaces or deletes the object's metadata or
    annotations (origin annotations then go, and the object is found by name, as when they
    are asked for)."""
    annotations = meta.get("annotations")
    return "$patch" in meta or isinstance(annotations, dict) and "$patch" in annotations


def _renaming(operation: dict) -> bool:
    """Whether a JSON 6902 operation may change what an object is called: its kind, its name,
    or the whole object or metadata (a namespace it may change: objects are told apart by
    kind and name); or replace its annotations whole, which takes origin annotations away
    (the object is then found by name, as when they are asked for)."""
    for key in ("path", "from"):
        if key not in operation:
            continue
        pointer = operation[key]
        if not isinstance(pointer, str):
            return True
        steps = [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]
        if (
            not steps
            or steps[0] == "kind"
            or steps[0] == "metadata"
            and (
                len(steps) == 1
                or steps[1] in ("name", "generateName")
                or steps[1:] == ["annotations"]
            )
        ):
            return True
    return False


def _inferred_origins(rendered: list, reach: Walk, unit: Unit) -> list | None:
    """For each rendered object, the origin kustomize would annotate it with: the resource
    file of the one document of its kind whose name, after the prefixes and suffixes of the
    kustomizations it is in, is its name, or the one kustomization whose generator made it.
    None when any object is not so told, or two objects would come from one document."""
    from checks.normalize.kubernetes import is_object

    chains = _transforms(reach)
    named: dict[tuple[Any, str], list[str]] = {}
    for path in reach.resources:
        chain = chains.get(path, [])
        for doc in unit.documents.get(path, []):
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
                continue
            named.setdefault((doc.get("kind"), _renamed(meta["name"], chain)), []).append(path)
    claimed: set[tuple[Any, str]] = set()
    origins: list = []
    for obj in rendered:
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if not is_object(obj) or not isinstance(name, str):
            origins.append(None)
            continue
        key = (obj.get("kind"), name)
        paths = named.get(key, [])
        if len(paths) > 1 or key in claimed:
            return None
        if paths:
            claimed.add(key)
            origins.append({"path": paths[0]})
            continue
        makers = {
            k.path
            for k, _scope in reach.order
            if _generator_entry(obj, (unit.documents.get(k.path) or [None])[0]) is not None
        }
        if len(makers) != 1:
            return None
        origins.append({"configuredIn": makers.pop()})
    return origins


def _rendered_documents(text: str) -> list:
    """The objects of the renderer's output, without their lines (those come from the files
    they were written in) and without CustomResourceDefinitions, which no rule reads."""
    import yaml

    from checks.parse.yamlsafe import without_definitions

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(without_definitions(text), Loader=loader) if doc]


@dataclass
class _LoadedPatch:
    file: str  # as shown
    target: dict
    documents: list  # SMP documents, or one list of JSON 6902 operations
    scope: set[str]  # the resource files whose objects it may change


def _patches(reach: Walk, unit: Unit) -> list[_LoadedPatch]:
    """The patches of the walk, in kustomize's order, parsed (their lines as written)."""
    from checks.parse.yamlsafe import parse_yaml_file

    loaded = []
    for k, scope in reach.order:
        shown_k = unit.display.get(k.path, display_path(k.path))
        for patch in k.patches:
            if patch.file:
                docs = unit.documents.get(patch.file)
                if docs is None:
                    continue
                shown = unit.display.get(patch.file, display_path(patch.file))
            else:
                try:
                    docs = parse_yaml_file(patch.text or "")
                except ParseError:
                    continue  # kustomize says what is wrong with it
                for doc in docs:
                    _shift(doc, patch.first_line - 1)
                shown = shown_k
            loaded.append(_LoadedPatch(shown, patch.target, list(docs), scope))
    return loaded


def _rendered_object(
    obj: LDict,
    wrapper: str,
    unit: Unit,
    patches: list[_LoadedPatch],
    reach: Walk,
    shown_root: tuple[str, str],
    known_origin: dict | None = None,
) -> tuple[list[Entity], list[Problem]]:
    """The entities of one rendered object, at the place its origin annotation (or the
    `known_origin` told without one) names, or, when a patch replaced its annotations, the
    resource of its kind and name."""
    from checks.normalize.kubernetes import normalize_objects
    from checks.parse.yamlsafe import parse_yaml_file

    root, overlay = shown_root
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    origin: Any = None
    if isinstance(annotations, dict):
        raw = annotations.get(ORIGIN)
        for name in _METADATA:
            annotations.pop(name, None)
        if not annotations:
            obj["metadata"].pop("annotations")
        try:
            origin = parse_yaml_file(raw)[0] if isinstance(raw, str) else None
        except (ParseError, IndexError):
            origin = None
    if known_origin is not None:
        origin = known_origin  # its paths are absolute: joined to the wrapper, they stay so
    source_path = None
    line = 1
    source_doc = None
    if isinstance(origin, dict) and isinstance(origin.get("path"), str):
        source_path = os.path.normpath(os.path.join(wrapper, origin["path"]))
        source_doc = _source_document(obj, unit.documents.get(source_path, []))
    if source_doc is None:
        for path in reach.resources:
            source_doc = _source_document(obj, unit.documents.get(path, []), named=True)
            if source_doc is not None:
                source_path = path
                break
    if source_doc is None and isinstance(origin, dict):
        if isinstance(origin.get("configuredIn"), str):
            # made by a generator: the kustomization that declares it, at its entry
            source_path = os.path.normpath(os.path.join(wrapper, origin["configuredIn"]))
            declared = unit.documents.get(source_path) or [None]
            entry = _generator_entry(obj, declared[0])
            # its fields are not written as such there (literals, files): all on its line
            line = entry.line if entry is not None and entry.line else 1
    if source_path is None:
        shown = root
    else:
        shown = unit.display.get(source_path, display_path(source_path))
    if source_doc is not None:
        line = source_doc.line or 1
    files = [shown]
    span = (line, getattr(source_doc, "end_line", line) or line)
    located, owned = _graft(obj, source_doc, span)
    for patch in patches:
        if source_path is not None and source_path not in patch.scope:
            continue
        if not _selects(patch, obj, source_doc):
            continue
        if patch.file not in files:
            files.append(patch.file)
        offset = files.index(patch.file) * STRIDE
        for doc in patch.documents:
            if isinstance(doc, list):
                _apply_json6902(located, doc, offset)
            elif isinstance(doc, dict) and _names_object(doc, obj, source_doc, patch.target):
                _apply_strategic(located, doc, offset, owned)
    made, found = normalize_objects(shown, [located], origin="kustomize")
    entry = reach.entry_lines.get(source_path or "") or 1
    related = Related(Location(root, entry, entry), f"rendered by the kustomization in {overlay}")
    for entity in made:
        _decode(entity, files)
        entity.related = [related]
    return _rekeyed(made, overlay), found


def _source_document(obj: dict, documents: list, named: bool = False) -> LDict | None:
    """The document of a file that `obj` was rendered from: of its kind, and of the name it
    has after prefixes and suffixes (the longest name it contains), in its namespace when
    several are so named; the only one of its kind unless it must be `named` so."""
    kind = obj.get("kind")
    name = str((obj.get("metadata") or {}).get("name", ""))
    candidates = [d for d in documents if isinstance(d, LDict) and d.get("kind") == kind]
    if len(candidates) <= 1 and not named:
        return candidates[0] if candidates else None
    best, best_len = None, -1
    for doc in candidates:
        written = str((doc.get("metadata") or {}).get("name", ""))
        exact = written == name
        if exact and _namespace_of(doc) == _namespace_of(obj):
            return doc
        if written and written in name and len(written) + exact > best_len:
            best, best_len = doc, len(written) + exact
    return best


def _selects(patch: _LoadedPatch, obj: dict, source: dict | None) -> bool:
    """Whether a patch's target may be the object, as kustomize selects: its group, version,
    kind, name and namespace, and its label and annotation selectors (a regular expression,
    or a selector we cannot read, matches anything: the values it holds decide)."""
    target = patch.target
    if not target:
        return True
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    for key, value in (("group", group), ("version", version), ("kind", obj.get("kind"))):
        wanted = target.get(key)
        if isinstance(wanted, str) and _plain(wanted) and wanted != value:
            return False
    name = target.get("name")
    if isinstance(name, str) and not _name_matches(name, obj, source):
        return False
    namespace = target.get("namespace")
    if isinstance(namespace, str) and _plain(namespace):
        namespaces = {_namespace_of(obj), _namespace_of(source or {})}
        if namespace not in namespaces:
            return False
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    for key, field_name in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        selector = target.get(key)
        values = meta.get(field_name)
        if isinstance(selector, str) and not _selected(
            selector, values if isinstance(values, dict) else {}
        ):
            return False
    return True


def _namespace_of(obj: dict) -> str:
    meta = obj.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) and namespace else "default"


# compiled (by `re`, which keeps it) when a patch first selects by labels
_REQUIREMENT = (
    r"\s*(?:(!)?\s*([\w./-]+)\s*$"  # key, !key
    r"|([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)\s*$"  # key=value, key==value, key!=value
    r"|([\w./-]+)\s+(in|notin)\s*\(([^()]*)\)\s*$)"  # key in (a, b), key notin (a)
)


def _selected(selector: str, values: dict) -> bool:
    """Whether labels (or annotations) `values` meet a Kubernetes label selector written as
    text (`app=web,tier!=db`, `env in (dev, qa)`, `!legacy`); True for one we cannot read."""
    for requirement in _split_requirements(selector):
        m = re.fullmatch(_REQUIREMENT, requirement)
        if m is None:
            return True  # not a selector we read: it may match
        negated, key, eq_key, op, value, set_key, set_op, items = m.groups()
        if key is not None:
            if (key in values) == bool(negated):
                return False
        elif eq_key is not None:
            held = values.get(eq_key)
            same = isinstance(held, str) and held == value
            if same != (op != "!="):
                return False
        else:
            members = {item.strip() for item in items.split(",")}
            held = values.get(set_key)
            inside = isinstance(held, str) and held in members
            if inside != (set_op == "in"):
                return False
    return True


def _split_requirements(selector: str) -> list[str]:
    """The comma-separated requirements of a selector (commas inside parentheses are not
    separators)."""
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _plain(pattern: str) -> bool:
    return not any(c in pattern for c in ".*+?[]()|^$\\{}")


def _name_matches(name: str, obj: dict, source: dict | None) -> bool:
    if not _plain(name):
        return True
    rendered = str((obj.get("metadata") or {}).get("name", ""))
    written = str(((source or {}).get("metadata") or {}).get("name", ""))
    return name in (rendered, written) or name in rendered


def _names_object(doc: dict, obj: dict, source: dict | None, target: dict) -> bool:
    """Whether a strategic merge patch document is about `obj`: its kind and name, unless the
    patch has a target."""
    if target:
        return True
    if doc.get("kind") != obj.get("kind"):
        return False
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return isinstance(name, str) and _name_matches(name, obj, source)


# ---- lines: grafting the rendered object onto its base, then each patch ------------------
_GENERATOR_LISTS = {"ConfigMap": "configMapGenerator", "Secret": "secretGenerator"}


def _generator_entry(obj: dict, kustomization: Any) -> LDict | None:
    """The entry of the kustomization's generator list that made `obj`: of the entries of
    its kind whose name is in the object's (the build adds prefixes, suffixes and a hash
    around it), the one of the longest name; None when not one entry can be told."""
    items = (
        kustomization.get(_GENERATOR_LISTS.get(obj.get("kind"), ""))
        if isinstance(kustomization, dict)
        else None
    )
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(items, list) or not isinstance(name, str):
        return None
    named = [
        item
        for item in items
        if isinstance(item, LDict)
        and isinstance(item.get("name"), str)
        and item["name"] in name
        and item["name"]
    ]
    longest = max((len(item["name"]) for item in named), default=0)
    chosen = [item for item in named if len(item["name"]) == longest]
    return chosen[0] if len(chosen) == 1 else None


def _graft(value: Any, source: Any, span: tuple[int, int]) -> tuple[Any, set]:
    """`value` as line-keeping containers with the lines of `source` where it has the same
    path (else those of the nearest container it has), and the set of (id, key) entries the
    source wrote."""
    owned: set = set()
    return _graft_node(value, source, span, owned), owned


def _graft_node(value: Any, source: Any, span: tuple[int, int], owned: set) -> Any:
    if isinstance(value, dict):
        own = source if isinstance(source, LDict) else None
        line, end = (own.line, own.end_line) if own is not None and own.line else span
        out = LDict(line=line, end_line=end)
        for key, item in value.items():
            if own is not None and key in own:
                key_span = own.key_lines.get(key, (line, end))
                owned.add((id(out), key))
                out[key] = _graft_node(item, own[key], key_span, owned)
            else:
                key_span = (line, end)
                out[key] = _graft_node(item, None, key_span, owned)
            out.key_lines[key] = key_span
        return out
    if isinstance(value, list):
        own = source if isinstance(source, LList) else None
        line, end = (own.line, own.end_line) if own is not None and own.line else span
        out = LList(line=line, end_line=end)
        for i, item in enumerate(value):
            j = _matching_item(item, own, i, len(value))
            if j is not None:
                item_span = own.span(j)
                owned.add((id(out), i))
                out.append(_graft_node(item, own[j], item_span, owned))
            else:
                item_span = (line, end)
                out.append(_graft_node(item, None, item_span, owned))
            out.item_lines.append(item_span)
        return out
    return value


def _matching_item(item: Any, items: list | None, index: int, count: int) -> int | None:
    """The item of `items` that `item` is: the same `name`, else an equal one, else the one at
    the same index of a list as long."""
    if not items:
        return None
    if isinstance(item, dict) and "name" in item:
        for j, other in enumerate(items):
            if isinstance(other, dict) and other.get("name") == item["name"]:
                return j
    for j, other in enumerate(items):
        if other == item:
            return j
    return index if len(items) == count and index < len(items) else None


def _apply_strategic(located: Any, patch: Any, offset: int, owned: set) -> None:
    """A strategic merge patch claims the values it holds that the object still has, and the
    containers it adds."""
    if isinstance(located, LDict) and isinstance(patch, dict):
        for key, value in patch.items():
            if key not in located or (isinstance(key, str) and key.startswith("$")):
                continue
            if key in ("apiVersion", "kind") and located is not None:
                continue
            span = _moved(_span(patch, key), offset)
            current = located[key]
            if isinstance(current, (dict, list)) and isinstance(value, type(current)):
                if (id(located), key) not in owned:
                    located.key_lines[key] = span
                    current.line, current.end_line = span
                _apply_strategic(current, value, offset, owned)
            elif current == value:
                located.key_lines[key] = span
    elif isinstance(located, LList) and isinstance(patch, list):
        for k, value in enumerate(patch):
            j = _matching_item(value, located, -1, -1)
            if j is None:
                continue
            span = _moved(_item_span(patch, k), offset)
            current = located[j]
            if isinstance(current, (dict, list)) and isinstance(value, type(current)):
                if (id(located), j) not in owned:
                    located.item_lines[j] = span
                    current.line, current.end_line = span
                _apply_strategic(current, value, offset, owned)
            elif current == value:
                located.item_lines[j] = span


def _apply_json6902(located: LDict, operations: list, offset: int) -> None:
    """Each operation that adds or replaces a value the object still has claims it."""
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "copy", "move"):
            continue
        pointer = op.get("path")
        if not isinstance(pointer, str) or not pointer.startswith("/"):
            continue
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
        parent: Any = located
        for token in tokens[:-1]:
            parent = _step(parent, token)
            if parent is None:
                break
        if parent is None:
            continue
        last = tokens[-1]
        # the `value` it gives, else the operation itself
        span = _span(op, "value") if "value" in op else _item_span(operations, index)
        span = _moved(span, offset)
        if isinstance(parent, LDict) and last in parent:
            value = parent[last]
            if "value" in op and op["value"] != value and not isinstance(value, (dict, list)):
                continue
            parent.key_lines[last] = span
            _claim(value, op.get("value"), span, offset)
        elif isinstance(parent, LList):
            i = len(parent) - 1 if last == "-" else _index(last)
            if i is not None and 0 <= i < len(parent):
                parent.item_lines[i] = span
                _claim(parent[i], op.get("value"), span, offset)


def _claim(value: Any, written: Any, span: tuple[int, int], offset: int) -> None:
    """A value a JSON 6902 operation wrote: its lines are the operation's, and those of the
    `value` it gives where the two still agree."""
    if isinstance(value, (LDict, LList)):
        value.line, value.end_line = span
        owned: set = set()
        if isinstance(written, (dict, list)):
            _apply_strategic(value, written, offset, owned)


def _step(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        return node.get(token)
    if isinstance(node, list):
        i = _index(token)
        return node[i] if i is not None and 0 <= i < len(node) else None
    return None


def _index(token: str) -> int | None:
    return int(token) if token.isdigit() else None


def _span(node: Any, key: Any) -> tuple[int, int]:
    spans = getattr(node, "key_lines", {})
    if key in spans:
        return spans[key]
    line = getattr(node, "line", 0)
    return (line, getattr(node, "end_line", line))


def _item_span(items: Any, index: int) -> tuple[int, int]:
    if isinstance(items, LList):
        return items.span(index)
    return (0, 0)


def _moved(span: tuple[int, int], offset: int) -> tuple[int, int]:
    start, end = span
    return (start + offset, end + offset) if start else span


def _shift(node: Any, delta: int) -> None:
    """Move every line of a parsed tree by `delta` (an inline patch: its text starts at a line
    of the kustomization)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (LDict, LList)):
            item.line += delta
            item.end_line += delta
            if isinstance(item, LDict):
                item.key_lines = {k: (a + delta, b + delta) for k, (a, b) in item.key_lines.items()}
                stack.extend(item.values())
            else:
                item.item_lines = [(a + delta, b + delta) for a, b in item.item_lines]
                stack.extend(item)


def _decode(entity: Entity, files: list[str]) -> None:
    """Lines of other files than the entity's own, as `line_files` and plain lines."""

    def plain(span: tuple[int, int]) -> tuple[str | None, tuple[int, int]]:
        start, end = span
        index = start // STRIDE
        if not start or index == 0:
            return None, span
        # a span ends in the file it starts in
        last = end % STRIDE if end // STRIDE == index else start % STRIDE
        return files[index], (start % STRIDE, last)

    for name, span in list(entity.field_lines.items()):
        file, entity.field_lines[name] = plain(span)
        if file is not None:
            entity.line_files[name] = file
    entity.suppressions = [(*s[:3], plain((s[3], s[3]))[1][0]) for s in entity.suppressions]
    for name, value in entity.fields.items():
        if isinstance(value, LList):
            for i, span in enumerate(value.item_lines):
                file, value.item_lines[i] = plain(span)
                if file is not None:
                    entity.line_files[f"{name}[{i}]"] = file
    stack = list(entity.fields.values())
    while stack:
        item = stack.pop()
        if isinstance(item, (LDict, LList)):
            item.line, item.end_line = plain((item.line, item.end_line))[1]
            if isinstance(item, LDict):
                item.key_lines = {k: plain(v)[1] for k, v in item.key_lines.items()}
                stack.extend(item.values())
            else:
                item.item_lines = [plain(v)[1] for v in item.item_lines]
                stack.extend(item)


def _rekeyed(entities: list[Entity], overlay: str) -> list[Entity]:
    """Keys that name the overlay: one base rendered by two overlays gives two objects."""
    renamed = {e.key: f"kustomize:{overlay}:{e.key}" for e in entities}
    for e in entities:
        e.key = renamed[e.key]
        for name, value in e.fields.items():
            if isinstance(value, str) and value in renamed:
                e.fields[name] = renamed[value]
    return entities


# ---- without a renderer: resources as written, with namespace, prefix and suffix --------
def _unrendered(
    unit: Unit, reach: Walk, root: str, overlay: str, why: str, problems: list[Problem]
) -> tuple[list[Entity], list[Problem]]:
    """The resources the root reaches, read as written with the `namespace`, `namePrefix` and
    `nameSuffix` of each kustomization above them applied; patches left out."""
    from checks.normalize.kubernetes import is_object, normalize_objects

    if why:
        message = (
            f"kustomization not rendered ({why}): its resources are read as written, with "
            "its namespace and name prefix and suffix, without its patches"
        )
        problems.append(Problem(root, message, 0, "note"))
    transforms = _transforms(reach)
    entities: list[Entity] = []
    # copies: the documents are shared with the other units that read the same files
    read = {
        path: [copied(d) for d in unit.documents.get(path, []) if is_object(d)]
        for path in reach.resources
        if path not in reach.patch_files and path in unit.documents
    }
    # the names of every object of the build: references to them follow their renames
    renamed: dict[tuple[str, str], str] = {}
    for path, objects in read.items():
        renamed.update(_renames(objects, transforms.get(path, [])))
    for path, objects in read.items():
        shown = unit.display.get(path, display_path(path))
        for doc in objects:
            _transform(doc, transforms.get(path, []), renamed)
        made, found = normalize_objects(shown, objects, origin="kustomize")
        entry = reach.entry_lines.get(path) or 1
        related = Related(
            Location(root, entry, entry), f"read through the kustomization in {overlay}"
        )
        for entity in made:
            entity.related = [related]
        entities += _rekeyed(made, overlay)
        problems += found
    return entities, problems


def _as_written(reach: Walk, unit: Unit) -> bool:
    """Whether every kustomization the root reaches only lists resources (no transformer,
    patch, generator or component) and every resource was read: kustomize's output is then
    the resources as written, and rendering would only cost time. A resource not read (not
    there, or excluded) is left to kustomize to judge."""
    return all(k.lists_only for k, _scope in reach.order) and all(
        path in unit.documents for path in reach.resources
    )


def _transforms(reach: Walk) -> dict[str, list[Kustomization]]:
    """For each resource file, the kustomizations whose transformers apply to it, innermost
    first."""
    out: dict[str, list[Kustomization]] = {}
    for k, scope in reach.order:
        for path in scope:
            out.setdefault(path, []).append(k)
    return out


def _renames(objects: list, chain: list[Kustomization]) -> dict[tuple[str, str], str]:
    """(kind, name) -> the name after every prefix and suffix, for the objects of the build."""
    out = {}
    for doc in objects:
        meta = doc.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("name"), str):
            out[(doc["kind"], meta["name"])] = _renamed(meta["name"], chain)
    return out


def _renamed(name: str, chain: list[Kustomization]) -> str:
    """A name after the prefixes and suffixes of `chain` (innermost first)."""
    for k in chain:
        name = f"{k.name_prefix}{name}{k.name_suffix}"
    return name


def _transform(doc: LDict, chain: list[Kustomization], renamed: dict) -> None:
    """What kustomize's namespace and prefix/suffix transformers do to an object and to its
    references to the objects renamed with it (ServiceAccount, Role, ClusterRole)."""
    from checks.normalize.kubernetes import CLUSTER_SCOPED, POD_SPEC_PATHS

    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return
    name = meta.get("name")
    if isinstance(name, str) and (doc["kind"], name) in renamed:
        meta["name"] = renamed[(doc["kind"], name)]
    namespace = next((k.namespace for k in reversed(chain) if k.namespace), None)
    if namespace and doc["kind"] not in CLUSTER_SCOPED:
        meta["namespace"] = namespace
    path = POD_SPEC_PATHS.get(doc["kind"])
    spec = _path(doc, path) if path else None
    if isinstance(spec, dict):
        for key in ("serviceAccountName", "serviceAccount"):
            value = spec.get(key)
            if isinstance(value, str) and ("ServiceAccount", value) in renamed:
                spec[key] = renamed[("ServiceAccount", value)]
    ref = doc.get("roleRef")
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        ref["name"] = renamed.get((ref.get("kind"), ref["name"]), ref["name"])
    for subject in doc.get("subjects") or [] if isinstance(doc.get("subjects"), list) else []:
        if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount":
            if isinstance(subject.get("name"), str):
                key = ("ServiceAccount", subject["name"])
                if key in renamed:
                    subject["name"] = renamed[key]
                    if namespace:
                        subject["namespace"] = namespace


def _path(doc: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc
