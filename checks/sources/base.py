"""What the sources share: the syntaxes files are written in, the protocols a format's module
follows, the options and the result of reading a unit, and what Terraform's `file()` may read.

A source is a module of `checks/sources/` (as pre-commit's languages are modules) that
defines the names of `FileSource` or of `DirectorySource`; the table in
`checks/sources/__init__.py` lists them.
"""

from __future__ import annotations

import importlib
import os
import stat
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from checks.cache import file_stamp, still
from checks.discover import DEFAULT_MAX_BYTES, SourceFile, read_text
from checks.model import Entity, Problem
from checks.parse import ExpansionBudget, ParseError, excerpt
from checks.parse.comments import Suppression

if TYPE_CHECKING:
    from checks.cache import Pack


@dataclass(frozen=True)
class Syntax:
    """How a kind of file is written: the names it has and the parser that reads it."""

    name: str  # the `kind` of a source file; its comments are found by it too
    reads: Callable[[str], bool]  # whether a file name (lower case, no folder) is of it
    parser: str  # "module:function", imported on first use: a scan of YAML never imports HCL
    foreign: str  # what a file of this syntax is when it is none of ours
    # whether files of one text share one parse in a process: the documents are read, never
    # changed, and copies of a file are common (a module copied per environment)
    shared: bool = False
    # the documents of a blank file, which is not parsed: its parser's empty result
    blank: Callable[[], Any] = list

    def parse(self, text: str, **how: Any) -> Any:
        """The documents of `text` (ParseError when it is not of this syntax)."""
        module, function = self.parser.split(":")
        return getattr(importlib.import_module(module), function)(text, **how)


def yaml_name(name: str) -> bool:
    """A YAML file's name (lower case)."""
    return name.endswith((".yaml", ".yml"))


def json_name(name: str) -> bool:
    """A JSON file's name (lower case) that is not Terraform's."""
    # Terraform's own JSON files are not JSON input: `.tf.json` is not read yet, and a
    # `.tfvars.json` file is a variable file (read when Terraform loads it by itself)
    return name.endswith(".json") and not name.endswith((".tf.json", ".tfvars.json"))


YAML = Syntax(
    "yaml",
    yaml_name,
    "checks.parse.yamlsafe:parse_yaml_file",
    "YAML that is neither a Kubernetes manifest nor aws-auth",
)
JSON = Syntax(
    "json",
    json_name,
    "checks.parse.jsonpos:parse_json_file",
    "JSON that is neither an IAM policy nor a Kubernetes manifest",
)


@dataclass
class Options:
    """How files are read: the same for every unit of a scan."""

    max_bytes: int = DEFAULT_MAX_BYTES
    strict: bool = False  # every file that cannot be parsed is an error, foreign or not
    prefilter: bool = True  # Terraform: parse only the blocks some rule can use
    roots: list[str] = field(default_factory=list)  # the trees file() may read in
    # -var-file files per module directory (absolute path): [(display path, text)] in order
    var_files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    excludes: list[str] = field(default_factory=list)  # never read by file() either
    exclude_root: str = ""  # the folder excludes are relative to ("": the working directory)


@dataclass
class Unit:
    """What is read together: one file, or every file of a directory whose source reads a
    directory at a time (a Terraform module: its files refer to each other)."""

    files: list[SourceFile]
    module: str | None = None  # the directory as shown, for a directory unit
    directory: str = ""  # the directory as the filesystem knows it (absolute)
    cost: int = 0  # what reading it costs, counted in files (0: its number of files)

    @property
    def weight(self) -> int:
        """What reading it costs, counted in files: whether starting workers pays."""
        return self.cost or len(self.files)


@dataclass
class ParsedFile:
    file: SourceFile
    documents: Any = None  # blocks (terraform) or a list of documents (yaml/json)
    problem: Problem | None = None
    suppressions: list = field(default_factory=list)  # inline `eks-checks: ignore[...]`
    notes: list = field(default_factory=list)  # Problems of level note: parsed anyway


# a dataclass field's metadata for what the cache does not store: decoded, it is its default
NOT_CACHED = {"cached": False}


@dataclass
class UnitResult:
    """What reading a unit (one file, or a module's directory) gives."""

    entities: list[Entity] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suppressions: dict[str, list[Suppression]] = field(default_factory=dict)  # inline, by file
    consumed: set[str] = field(default_factory=set)  # files a module read with file()
    # every file() read and every module directory read, digested (see `current_digest`)
    reads: dict[str, str | None] = field(default_factory=dict)
    # the directories of other units (absolute) this unit read as its own: a Terraform module
    # its module calls reach, whose findings are its instances'
    reached: set[str] = field(default_factory=set)
    # made where the unit ran, for the runner's cache, and not kept in it (`checks.codec`):
    # the digest of what the result depends on, and the digests of the texts of its files as
    # they were read, by file key (the runner stamps the files with them)
    cache_key: str | None = field(default=None, repr=False, compare=False, metadata=NOT_CACHED)
    file_digests: dict[str, str] = field(
        default_factory=dict, repr=False, compare=False, metadata=NOT_CACHED
    )
    # the stamps of the files of `reads` that did not change while they were read
    read_stamps: dict[str, list] = field(
        default_factory=dict, repr=False, compare=False, metadata=NOT_CACHED
    )


@dataclass
class Context:
    """What normalizing one unit may use besides its documents."""

    options: Options
    read_file: FileReader  # what Terraform's file() reads with
    directory: str = ""  # a directory unit's directory as the filesystem knows it (absolute)
    # the YAML strings embedded in one file (aws-auth map*) share its alias budget
    budget: ExpansionBudget = field(default_factory=ExpansionBudget)
    # keys written twice in the file's JSON objects (JSON allows them): its source judges them
    duplicates: list = field(default_factory=list)
    # the directories of other units (absolute) that normalizing this one read as its own
    reached: set[str] = field(default_factory=set)
    # how a file it reads besides its own (a called module's) is parsed: (file, text)
    parse_file: Callable[[SourceFile, str], ParsedFile] | None = None


Normalized = tuple[list[Entity], list[Problem]]


class FileSource(Protocol):
    """A format read file by file: the file is parsed by its syntax, and each document goes
    to the first source of the table that claims it."""

    BY_DIRECTORY: Literal[False]
    SYNTAXES: tuple[Syntax, ...]  # the syntaxes of the files it reads
    JSON_KEYS: tuple[str, ...]  # top-level keys of its JSON documents (the JSON pre-check)

    def is_ours(self, text: str, error: ParseError | None) -> bool:
        """Whether a file of its syntaxes that cannot be read whole is of this format: `error`
        is why it failed to parse, None when `text` is only the head of a file over the size
        limit."""

    def claims(self, document: Any) -> bool:
        """Whether a parsed document (of a file of its syntaxes) is of this format."""

    def normalize(self, file: str, document: Any, context: Context) -> Normalized:
        """The entities of one document it claimed, and the problems found."""


class DirectorySource(Protocol):
    """A format read a directory at a time (a Terraform module: its files refer to each
    other): every file of its syntaxes in a directory is one unit."""

    BY_DIRECTORY: Literal[True]
    SYNTAXES: tuple[Syntax, ...]
    # whether one file may be read by several units (a base two overlays include): such
    # files are parsed once per process, and normalize must not change their documents
    SHARES_FILES: bool

    def is_ours(self, text: str, error: ParseError | None) -> bool:
        """As `FileSource.is_ours`."""

    def prefilter(self, texts: dict[str, str], files: list[SourceFile]) -> dict[str, str]:
        """The texts to parse of a directory's files (by file key): what no rule can use may
        be left out; a file that then fails is parsed again as it is."""

    def group(
        self, files: list[SourceFile], options: Options, pack: Pack | None = None
    ) -> tuple[list[Unit], set[str]]:
        """Its units among the scanned `files`, and the keys of the files they read (which
        are not read on their own): a Terraform module is a directory's files; a Kustomize
        root is the kustomizations, resources and patches it reaches. What it works out of
        a file's text alone may be kept in the cache `pack`, by the text's digest as the
        pack's stamps give it (`checks.cache.Stamps`)."""

    def depends_on(self) -> str:
        """What its results depend on besides the files and the options (the version of a
        program it runs), for the cache."""

    def given_files(self, directory: str, options: Options) -> list[tuple[SourceFile, str]]:
        """Files the command line or configuration gives the directory besides its own
        (Terraform's -var-file), with their texts."""

    def normalize(
        self, directory: str, parsed: list[ParsedFile], given: list[ParsedFile], context: Context
    ) -> Normalized:
        """The entities of the directory's parsed files (its own, and the given ones)."""


class FileReader:
    """What Terraform's `file()` may read: regular files inside the scanned trees, never in a
    folder the walk skips (`.git`, `.terraform`, `node_modules`) or excludes, never through a
    symlink that leaves the trees, never a FIFO or a device."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.consumed: set[str] = set()
        self.reads: dict[str, str | None] = {}  # what was read: path -> digest, None if nothing
        # the stamps (`file_stamp`) of the files read, alike before and after, and `still`
        self.stamps: dict[str, list] = {}

    def __call__(self, path: str) -> tuple[str | None, str]:
        """(text, "") or (None, why it may not be read); the reason is "" for a file that is
        not there or cannot be read (an unknown value, as any other)."""
        from checks.discover import NOT_REGULAR, display_path, excluded, inside, skipped_folder

        roots = [os.path.realpath(r) for r in self.options.roots]
        written = os.path.normpath(os.path.abspath(path))
        real = os.path.realpath(written)
        if inside(real, roots) is None:
            return None, "outside the scanned tree"
        for where in (written, real):
            root = inside(where, roots)
            if root is None:
                continue  # as written it goes through a symlink: where it leads decides
            folder = skipped_folder(where, root)
            if folder is not None:
                return None, f"inside {folder}, which is never read"
            base = self.options.exclude_root or None
            if self.options.excludes and excluded(display_path(where, base), self.options.excludes):
                return None, "excluded from the scan"
        try:
            if not stat.S_ISREG(os.stat(real).st_mode):
                return None, NOT_REGULAR
        except OSError:
            return None, ""
        text, _reason = self.read(real, FILE_FUNCTION_MAX_BYTES)
        if text is not None:
            self.consumed.add(display_path(path))
        return text, ""

    def read(self, path: str, max_bytes: int) -> tuple[str | None, str | None]:
        """`read_text`, with what was read kept in `reads` and, when the file did not change
        meanwhile, its stamp in `stamps`: if it is within both size limits, the text read is
        the one `current_digest` reads."""
        taken_at = time.time_ns()
        before = file_stamp(path)
        text, reason = read_text(path, max_bytes)
        self.reads[path] = digest(text)
        if (
            text is not None
            and before is not None
            and before[0] <= min(max_bytes, FILE_FUNCTION_MAX_BYTES)
            and still(before, taken_at)
            and file_stamp(path) == before
        ):
            self.stamps[path] = before
        return text, reason


FILE_FUNCTION_MAX_BYTES = 2_000_000  # what `file()` reads at most


def digest(text: str | None) -> str | None:
    """A text's sha256, None for no text: what a cached result's file() reads are checked by."""
    import hashlib

    if text is None:
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


MODULE_LISTING = os.sep + "*.tf"  # `reads` key of a module directory's list of .tf files


def current_digest(path: str) -> str | None:
    """The digest of what a cached unit read at `path` now: a file's text, or a module
    directory's list of .tf files (`<directory>/*.tf`)."""
    if path.endswith(MODULE_LISTING):
        return digest(tf_listing(path[: -len(MODULE_LISTING)]))
    return digest(read_text(path, FILE_FUNCTION_MAX_BYTES)[0])


def tf_listing(directory: str) -> str | None:
    """The names of a directory's .tf files, one a line; None when it cannot be listed."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    except OSError:
        return None
    return "\n".join(names)


@contextmanager
def contained(problems: list[Problem], where: str):
    """A bug of ours on some input costs that file or module, reported, never the scan."""
    try:
        yield
    except (RecursionError, MemoryError):
        problems.append(Problem(where, "input nested too deeply to read"))
    except Exception as exc:  # the last line of defence: reported, never a traceback
        problems.append(Problem(where, internal_error(exc)))


def internal_error(exc: Exception) -> str:
    """The problem a bug of ours on some input is reported as."""
    # an exception's text may quote the input: briefly, as any parse error does
    what = f"{type(exc).__name__}: {excerpt(str(exc))}"
    return f"internal error while reading it ({what}); please report it"
