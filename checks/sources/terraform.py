"""Terraform modules: the `.tf` files of a directory, read together with the variable files
Terraform loads by itself (terraform.tfvars, terraform.tfvars.json, then *.auto.tfvars(.json)
by name) and the -var-file files the command line or configuration gives the directory
(`checks.normalize.terraform` evaluates the module and builds the entities)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

from checks.discover import SourceFile
from checks.model import Problem
from checks.parse import ParseError
from checks.sources.base import (
    FILE_FUNCTION_MAX_BYTES,
    MODULE_LISTING,
    Context,
    Normalized,
    Options,
    ParsedFile,
    Syntax,
    Unit,
    digest,
    tf_listing,
)
from checks.sources.sniff import compiled

if TYPE_CHECKING:
    from checks.cache import Pack
    from checks.normalize.tf_calls import LoadedModule

BY_DIRECTORY = True
SHARES_FILES = False  # a file is in its directory's unit only
TFVARS_FIRST = ("terraform.tfvars", "terraform.tfvars.json")  # then *.auto.tfvars(.json), by name


def tf_name(name: str) -> bool:
    """A Terraform configuration file's name (lower case)."""
    return name.endswith(".tf")


def auto_variables_name(name: str) -> bool:
    """The name (lower case) of a variable file Terraform loads by itself."""
    # only the files Terraform loads by itself: others need -var-file, which we cannot see
    return name in TFVARS_FIRST or name.endswith((".auto.tfvars", ".auto.tfvars.json"))


TERRAFORM = Syntax(
    "terraform",
    tf_name,
    "checks.parse.hcl:parse_terraform",
    "a .tf file with no Terraform block",
    shared=True,
)
VARIABLES = Syntax(
    "tfvars",
    auto_variables_name,
    "checks.parse.hcl:parse_tfvars",
    "a variable file with no value",
    shared=True,
    blank=dict,  # no assignments, as parse_tfvars reads a file that holds none
)
SYNTAXES = (TERRAFORM, VARIABLES)

# a line that opens a Terraform block or assigns a variable, or a variable file in JSON
_HEAD = (
    r"^[ \t]*(?:(?:resource|data|module|variable|output|locals|provider|terraform|moved|import"
    r"|removed|check)\b[^\n]*\{|[A-Za-z_][\w-]*[ \t]*=)|\A\s*\{"
)


def is_ours(text: str, error: ParseError | None) -> bool:
    """A `.tf` or variable file that fails to parse is ours whatever it holds (terraform
    refuses the whole module); one over the size limit is when its head opens a Terraform
    block or assigns a variable."""
    return error is not None or compiled(_HEAD, re.M).search(text) is not None


MODULES_JSON = os.path.join(".terraform", "modules", "modules.json")


def prefilter(texts: dict[str, str], files: list[SourceFile]) -> dict[str, str]:
    """The module's .tf texts without the blocks no rule can use (`checks.prefilter`); every
    module call is kept once `terraform init` has downloaded the modules they call."""
    from checks.prefilter import Reading, filter_module

    tf = {f.key: texts[f.key] for f in files if f.kind == TERRAFORM.name and f.key in texts}
    if not tf:
        return {}
    directory = os.path.dirname(files[0].key)
    return filter_module(tf, Reading(every_module_call=_has_downloads(directory)))


def _has_downloads(directory: str) -> bool:
    """Whether `terraform init` downloaded the modules of the root module in `directory`."""
    return bool(directory) and os.path.isfile(os.path.join(directory, MODULES_JSON))


def group(
    files: list[SourceFile], options: Options, pack: Pack | None = None
) -> tuple[list[Unit], set[str]]:
    """One unit per directory holding .tf or variable files, by directory name (from the
    files' names alone: nothing is read, and the cache `pack` has nothing to give)."""
    modules: dict[str, list[SourceFile]] = {}
    for f in files:
        if f.kind in (TERRAFORM.name, VARIABLES.name) and not f.skip:
            modules.setdefault(os.path.dirname(f.key), []).append(f)
    by_name = sorted((os.path.dirname(fs[0].display) or ".", d) for d, fs in modules.items())
    units = [Unit(modules[d], shown, d) for shown, d in by_name]
    return units, {f.key for fs in modules.values() for f in fs}


def depends_on() -> str:
    """Nothing but the files and the options."""
    return ""


def given_files(directory: str, options: Options) -> list[tuple[SourceFile, str]]:
    """The -var-file files given to the module in `directory`, in the order given."""
    return [
        (SourceFile(name, name, VARIABLES.name), text)
        for name, text in options.var_files.get(directory, ())
    ]


def normalize(
    directory: str, parsed: list[ParsedFile], given: list[ParsedFile], context: Context
) -> Normalized:
    """The module's entities: its .tf files' blocks, its variables' values from the files
    Terraform loads by itself, in its order, then from the given files, in theirs."""
    from checks.normalize.terraform import normalize_module

    good = [p for p in parsed if p.problem is None]
    documents = {p.file.display: p.documents for p in good if p.file.kind == TERRAFORM.name}
    if not documents:
        return [], []
    own = [(p.file.display, p.documents) for p in good if p.file.kind == VARIABLES.name]
    tfvars = load_order(own)
    # then the -var-file files, in the order given, as terraform applies -var-file
    tfvars += [(p.file.display, p.documents) for p in given if p.problem is None]
    # without a parser for other directories, module calls are read by the known readers only
    modules = ModuleDirectoryReader(context, context.parse_file) if context.parse_file else None
    if modules is not None and context.directory:
        # what terraform init downloaded decides what the calls read (and the pre-filter
        # kept): a cached result holds only while modules.json is what it was
        modules.manifest(context.directory)
    made = normalize_module(
        directory, documents, context.read_file, tfvars, context.directory or directory, modules
    )
    if modules is not None:
        context.reached |= modules.reached
    return made


def load_order(tfvars: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The order Terraform loads variable files in (a later file wins): terraform.tfvars,
    terraform.tfvars.json, then the *.auto.tfvars(.json) files by name."""

    def rank(item: tuple[str, dict]) -> tuple:
        base = os.path.basename(item[0])
        first = TFVARS_FIRST.index(base) if base in TFVARS_FIRST else len(TFVARS_FIRST)
        return (first, base)

    return sorted(tfvars, key=rank)


class ModuleDirectoryReader:
    """What a module call may read (`checks.normalize.tf_calls.ModuleReader`): a module
    directory inside the scanned trees, under the rules `file()` follows, but for the
    modules `terraform init` downloads into `.terraform/modules` (read for the calls that
    reach them, never scanned on their own). Its .tf files are read, pre-filtered and parsed
    as a scanned directory's are; what was read is digested into the unit's `reads`, so a
    cached result is used only while the modules it called are unchanged."""

    def __init__(self, context: Context, parse: Callable[[SourceFile, str], ParsedFile]) -> None:
        self.options = context.options
        self.files = context.read_file
        self.parse = parse  # as the unit's own files are parsed
        self.reached: set[str] = set()  # local module directories read (not downloaded ones)

    def load(self, directory: str) -> LoadedModule | str:
        """The module in `directory` (absolute), parsed, or why it is not read ("" when there
        is no such directory)."""
        from checks.discover import display_path, excluded, inside, skipped_folder
        from checks.normalize.tf_calls import LoadedModule

        real = os.path.realpath(directory)
        roots = [os.path.realpath(r) for r in self.options.roots]
        if inside(real, roots) is None:
            return "outside the scanned tree"
        for where in (directory, real):
            root = inside(where, roots)
            if root is None:
                continue  # as written it goes through a symlink: where it leads decides
            folder = skipped_folder(os.path.join(where, "x"), root)
            if folder is not None and not (folder == ".terraform" and _downloaded(where)):
                return f"inside {folder}, which is never read"
            base = self.options.exclude_root or None
            if self.options.excludes and excluded(display_path(where, base), self.options.excludes):
                return "excluded from the scan"
        listing = tf_listing(real)
        self.files.reads[real + MODULE_LISTING] = digest(listing)
        if listing is None:
            return "" if not os.path.exists(real) else "not a directory that can be read"
        downloaded = _downloaded(directory) or _downloaded(real)
        if not downloaded:
            self.reached.update((os.path.normpath(directory), real))
        shown = display_path(directory)
        texts: dict[str, str] = {}
        problems: list[Problem] = []
        for name in listing.split("\n") if listing else []:
            path = os.path.join(real, name)
            display = f"{shown}/{name}" if shown != "." else name
            try:
                if (
                    not stat.S_ISREG(os.stat(path).st_mode)
                    or inside(os.path.realpath(path), roots) is None
                ):
                    continue  # a folder named x.tf, a device, a link out of the trees
            except OSError:
                continue
            text, reason = self.files.read(path, self.options.max_bytes)
            if text is None:
                problems.append(Problem(display, reason or "cannot read"))
            else:
                texts[display] = text
        return LoadedModule(shown, real, self._parsed(texts, downloaded, problems), problems)

    def _parsed(self, texts: dict[str, str], downloaded: bool, problems: list[Problem]) -> dict:
        """The blocks of each file (by display path) as a scanned directory's are parsed;
        a file that fails is added to `problems`, a note for a downloaded module's."""
        from checks.prefilter import Reading, filter_module

        filtered = texts
        if self.options.prefilter and texts:
            filtered = filter_module(texts, Reading(outputs=True, every_module_call=True))
        files: dict[str, list] = {}
        for display, text in texts.items():
            source = SourceFile(display, display, TERRAFORM.name, key=display)
            item = self.parse(source, filtered[display])
            if item.problem is not None and filtered[display] != text:
                item = self.parse(source, text)
            if item.problem is not None:
                problem = item.problem
                if downloaded:  # not the scanned code: noted, never an error of the scan
                    problem = Problem(problem.file, problem.message, problem.line, "note")
                problems.append(problem)
                continue
            files[display] = item.documents or []
        return files

    def manifest(self, directory: str) -> list[dict]:
        """`Modules` of `<directory>/.terraform/modules/modules.json`; empty when absent or
        not what terraform init writes."""
        import json

        path = os.path.join(os.path.realpath(directory), MODULES_JSON)
        text, _reason = self.files.read(path, FILE_FUNCTION_MAX_BYTES)
        if text is None:
            return []
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return []
        modules = doc.get("Modules") if isinstance(doc, dict) else None
        return [m for m in modules if isinstance(m, dict)] if isinstance(modules, list) else []


def _downloaded(path: str) -> bool:
    """Whether `path` is inside a `.terraform/modules` folder (what terraform init fetched)."""
    parts = path.split(os.sep)
    return any(a == ".terraform" and b == "modules" for a, b in zip(parts, parts[1:], strict=False))
