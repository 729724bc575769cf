"""Sources: the input formats, one module each, registered in ONE table (`SOURCES`).

A source is a module of this package that defines the names of `FileSource` (a format read
file by file: IAM JSON, a plan, manifests) or of `DirectorySource` (read a directory at a
time: a Terraform module), as pre-commit's languages are modules: the syntaxes of the files
it reads (their names and parser), whether a file that cannot be read whole is of this format
(an error) or someone else's (a note), which parsed documents it claims, and how it
normalizes them into entities.

Discovery (`classify`), routing (`read_unit`), the error-or-note decision for a file that
cannot be parsed or is over the size limit (`foreign_reason`) and the JSON key pre-check
(`parse_text`) read this table; nothing else in eks-checks tells formats apart. Adding a
format is a module here, a row below, and fixtures.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from checks.discover import SourceFile, TooLarge, read_text
from checks.model import Problem
from checks.parse import ParseError, text_digest
from checks.parse.comments import find_suppressions
from checks.sources import (
    cloudformation,
    eksctl,
    foreign,
    iam,
    kubernetes,
    kustomize,
    live,
    plan,
    terraform,
)
from checks.sources.base import (
    JSON,
    YAML,
    Context,
    DirectorySource,
    FileReader,
    FileSource,
    Options,
    ParsedFile,
    Syntax,
    Unit,
    UnitResult,
    contained,
)
from checks.sources.sniff import compiled

if TYPE_CHECKING:
    from checks.cache import Pack

# The order is the order in which sources claim a document: the first that claims it reads it.
SOURCES: dict[str, FileSource | DirectorySource] = {
    "terraform": terraform,  # .tf and the variable files of a directory, with -var-file files
    # a root kustomization with what it includes, rendered; before any reader of YAML names
    "kustomize": kustomize,
    "iam": iam,  # a policy, get-role, list-roles, get-account-authorization-details
    "live": live,  # AWS CLI output of EKS and EC2, alone or keyed by command in one file
    "plan": plan,  # terraform show -json
    "eksctl": eksctl,  # ClusterConfig
    "cloudformation": cloudformation,  # templates, YAML or JSON, CDK's synthesized ones too
    "kubernetes": kubernetes,  # manifests, List and typed lists, the aws-auth ConfigMap
}

_SYNTAXES: dict[str, Syntax] = {s.name: s for row in SOURCES.values() for s in row.SYNTAXES}
# the sources that read each syntax, by name, in the table's order
_READERS: dict[str, list[tuple[str, Any]]] = {
    kind: [(name, row) for name, row in SOURCES.items() if syntax in row.SYNTAXES]
    for kind, syntax in _SYNTAXES.items()
}
# any key some source looks for at the top of a JSON document (`JSON_KEYS`, or keys matching
# `JSON_KEY_PATTERNS`, regular expressions): a JSON file with none of them
# yields no entity, so it is only checked for syntax, without the lines no finding will need
# (the pattern's text, compiled when a JSON file is first parsed)
_JSON_KEYS = (
    '"(?:'
    + "|".join(
        sorted(
            {re.escape(k) for row in SOURCES.values() for k in getattr(row, "JSON_KEYS", ())}
            | {p for row in SOURCES.values() for p in getattr(row, "JSON_KEY_PATTERNS", ())}
        )
    )
    + ')"'
)


class Classifier:
    """What a file is by its path (`classify`): the name of its syntax (the file's `kind`) and
    why it is not read although its name is one a source reads ("" when it is read), or None
    when no source reads such a name. The kind depends on the file's name alone and the
    reason on its folder alone: a walk asks once per name and once per folder (`in_folder`)."""

    def __call__(self, path: str) -> tuple[str, str] | None:
        kind = _syntax_of(os.path.basename(path))
        return None if kind is None else (kind, foreign.not_read(path, kind))

    def in_folder(self, folder: str) -> Callable[[str], tuple[str, str] | None]:
        """What `classify` says of each file of `folder` (absolute, normalized), asked by the
        file's name."""
        answers: dict[str, tuple[str, str]] = {}  # by kind

        def of(name: str) -> tuple[str, str] | None:
            kind = _syntax_of(name)
            if kind is None:
                return None
            found = answers.get(kind)
            if found is None:
                found = answers[kind] = (kind, foreign.not_read_in(folder, kind))
            return found

        return of


classify = Classifier()


@lru_cache(maxsize=16384)
def _syntax_of(name: str) -> str | None:
    """The syntax that reads files of this name (no folder; case does not matter): asked once
    per name, whatever the number of folders holding one."""
    lower = name.lower()
    for syntax in _SYNTAXES.values():
        if syntax.reads(lower):
            return syntax.name
    return None


def by_directory(kind: str) -> bool:
    """Whether files of syntax `kind` are read a directory at a time."""
    return _READERS[kind][0][1].BY_DIRECTORY


def units(files: list[SourceFile], options: Options, pack: Pack | None = None) -> list[Unit]:
    """What is read together, in the order the model is built in: the files no directory
    source takes, one by one, then each directory source's units, in the table's order. What
    grouping works out of a file's text alone may come from the cache `pack`."""
    grouped: list[Unit] = []
    taken: set[str] = set()
    for row in SOURCES.values():
        if row.BY_DIRECTORY:
            made, took = row.group(files, options, pack)
            grouped += made
            taken |= took
    return [Unit([f]) for f in files if f.key not in taken] + grouped


def depends_on(unit: Unit) -> str:
    """What a unit's result depends on besides its files and the options (for the cache)."""
    if unit.module is None:
        return ""
    return directory_source(unit.files[0].kind).depends_on()


def directory_source(kind: str) -> DirectorySource:
    """The source that reads the directories of files of syntax `kind` (its only reader)."""
    ((_name, row),) = _READERS[kind]
    return row


def module_of(path: str) -> str | None:
    """The directory a file PATH is read with when its source reads a directory at a time
    (a .tf file's module), else None."""
    classified = classify(path)
    if classified is None or not by_directory(classified[0]):
        return None
    return os.path.dirname(path) or "."


def claimant(kind: str, document: Any) -> str | None:
    """The source that reads a parsed document of a file of syntax `kind`: the first of the
    table that claims it; None when none does (someone else's document: nothing to read)."""
    return next((name for name, row in _READERS[kind] if row.claims(document)), None)


def parse_text(kind: str, text: str) -> Any:
    """The documents of a file's text, by the parser of its syntax (ParseError if it fails)."""
    syntax = _SYNTAXES[kind]
    if syntax.shared:
        key = (kind, text_digest(text))
        found = _PARSED.get(key)
        if found is None:
            if len(_PARSED) >= PARSED_MAX:
                _PARSED.clear()
            found = _PARSED[key] = syntax.parse(text)
        return found
    if syntax is JSON:
        return syntax.parse(text, lines=compiled(_JSON_KEYS).search(text) is not None)
    if syntax is YAML:
        return syntax.parse(text, intrinsics=lambda document: _reads_tags(kind, document))
    return syntax.parse(text)


# the documents of the texts of syntaxes whose parse is shared (`Syntax.shared`), by syntax
# and the text's digest (the text itself is not kept); emptied when it holds PARSED_MAX of
# them (a copy is most often near its original)
_PARSED: dict[tuple[str, bytes], Any] = {}
PARSED_MAX = 256


def _reads_tags(kind: str, document: Any) -> bool:
    """Whether a document written with CloudFormation's short-form tags is read: when the
    source that claims it reads them (a template; a manifest with `!Sub` is not)."""
    name = claimant(kind, document)
    return name is not None and getattr(SOURCES[name], "READS_INTRINSIC_TAGS", False)


def parse_file(source: SourceFile, options: Options, text: str | None = None) -> ParsedFile:
    """Read (unless `text` is given) and parse one file; any failure is a Problem for that
    file only. A file that cannot be read whole (it fails to parse, or is over the size limit)
    and is none of ours (CloudFormation, a template, a lock file) is a note, not an error,
    unless `options.strict`."""
    if source.skip:
        level = "error" if options.strict else "note"
        return ParsedFile(
            source, problem=Problem(source.display, f"skipped: {source.skip}", 0, level)
        )
    reason = None
    if text is None:
        text, reason = read_text(source.path, options.max_bytes)
    if text is None:
        if isinstance(reason, TooLarge):
            return ParsedFile(source, problem=_too_large(source, reason, options.strict))
        reason = reason or "cannot read"
        match = re.search(r"\(line (\d+)", reason)
        line = int(match.group(1)) if match else 0
        return ParsedFile(source, problem=Problem(source.display, reason, line))
    if not text.strip():
        return ParsedFile(source, documents=_SYNTAXES[source.kind].blank())
    comments = find_suppressions(text, source.kind)
    try:
        documents = parse_text(source.kind, text)
        notes = [
            Problem(source.display, message, line, "note")
            for line, message in getattr(documents, "warnings", ())
        ]
        return ParsedFile(source, documents=documents, suppressions=comments, notes=notes)
    except ParseError as exc:
        # parsers may name the line after the last one ("unexpected end of file")
        last = text.count("\n") + (0 if text.endswith("\n") else 1)
        line = min(exc.line, last)
        foreign_kind = "" if options.strict else foreign_reason(source.kind, text, exc)
        if foreign_kind:
            message = f"skipped: {foreign_kind} ({exc.message})"
            return ParsedFile(source, problem=Problem(source.display, message, line, "note"))
        return ParsedFile(source, problem=Problem(source.display, exc.message, line))
    except (RecursionError, MemoryError):
        return ParsedFile(source, problem=Problem(source.display, "input nested too deeply"))


def _too_large(source: SourceFile, reason: TooLarge, strict: bool) -> Problem:
    """A file over the size limit: an error when its head looks like ours, else a note."""
    what = "" if strict else foreign_reason(source.kind, reason.head, None)
    if not what:
        return Problem(source.display, str(reason))
    limit = f"{reason.size} bytes is over the {reason.limit}-byte limit, --max-file-size"
    message = f"skipped: {what} ({limit})"
    return Problem(source.display, message, 0, "note")


def foreign_reason(kind: str, text: str, error: ParseError | None) -> str:
    """What a file of syntax `kind` that cannot be read whole is when it is none of our inputs,
    or "" when it is one (some source reading its syntax says so) or was refused as hostile.
    `error` is why it failed to parse; None when `text` is the head of a file over the size
    limit."""
    if error is not None and error.guard:
        return ""
    if any(row.is_ours(text, error) for _name, row in _READERS[kind]):
        return ""
    return foreign.describe(kind, text, _SYNTAXES[kind].foreign)


def read_unit(unit: Unit, texts: dict[str, str], options: Options) -> UnitResult:
    """Parse and normalize one unit: `texts` are those of its files that could be read, by
    file key (the others are read again, to say why not)."""
    if unit.module is None:
        (source,) = unit.files
        return _read_file(source, texts.get(source.key), options)
    row = directory_source(unit.files[0].kind)
    filtered: dict[str, str] = {}
    if options.prefilter and texts:
        filtered = row.prefilter(texts, unit.files)
    parse = _parse_shared if row.SHARES_FILES else parse_file
    parsed = []
    for f in unit.files:
        text = filtered.get(f.key, texts.get(f.key))
        item = parse(f, options, text)
        if item.problem is not None and text != texts.get(f.key):
            # a file that fails is reported as it is, not as the pre-filter left it
            item = parse(f, options, texts[f.key])
        parsed.append(item)
    return normalize_directory(unit, parsed, options)


# files that several units read (a base two overlays include), parsed once per process: by
# file, name shown, text and strictness; emptied when it holds SHARED_MAX of them
_SHARED: dict[tuple[str, str, str, bool], ParsedFile] = {}
SHARED_MAX = 4096


def _parse_shared(source: SourceFile, options: Options, text: str | None) -> ParsedFile:
    """`parse_file`, once per process for the same file, name and text."""
    if text is None:
        return parse_file(source, options, text)
    key = (source.key, source.display, text, options.strict)
    found = _SHARED.get(key)
    if found is None or found.file != source:
        if len(_SHARED) >= SHARED_MAX:
            _SHARED.clear()
        found = _SHARED[key] = parse_file(source, options, text)
    return found


def _read_file(source: SourceFile, text: str | None, options: Options) -> UnitResult:
    """One file: each of its documents normalized by the first source that claims it."""
    item = _without_definitions(source, text, options) or parse_file(source, options, text)
    result = problems_of([item])
    if item.problem is not None:
        return result
    duplicates = getattr(item.documents, "duplicates", [])
    context = Context(options, FileReader(options), duplicates=duplicates)
    with contained(result.problems, source.display):
        entities, problems = [], []
        for document in item.documents or []:
            name = claimant(source.kind, document)
            if name is not None:
                made, found = SOURCES[name].normalize(source.display, document, context)
                entities += made
                problems += found
        result.entities.extend(entities)
        result.problems.extend(problems)
    result.consumed = context.read_file.consumed
    result.reads = context.read_file.reads
    result.read_stamps = context.read_file.stamps
    return result


def _without_definitions(
    source: SourceFile, text: str | None, options: Options
) -> ParsedFile | None:
    """A YAML file parsed without its CustomResourceDefinitions, which no rule reads
    (`without_definitions`); None when it has none, or when it fails so (it is then reported
    as it is)."""
    if not options.prefilter or text is None or source.kind != YAML.name:
        return None
    from checks.parse.yamlsafe import CRD_KIND, without_definitions

    if CRD_KIND not in text:
        return None
    filtered = without_definitions(text)
    if filtered == text:
        return None
    item = parse_file(source, options, filtered)
    if item.problem is not None:
        return None
    item.suppressions = find_suppressions(text, source.kind)  # comments anywhere still count
    return item


def normalize_directory(unit: Unit, parsed: list[ParsedFile], options: Options) -> UnitResult:
    """A directory unit from its parsed files, with the files given to it."""
    row = directory_source(unit.files[0].kind)
    given = [parse_file(f, options, text) for f, text in row.given_files(unit.directory, options)]
    result = problems_of(parsed + given)
    context = Context(
        options, FileReader(options), unit.directory, parse_file=partial(_parse, options=options)
    )
    where = unit.module or "."
    with contained(result.problems, where):
        made, found = row.normalize(where, parsed, given, context)
        result.entities.extend(made)
        result.problems.extend(found)
    result.consumed = context.read_file.consumed
    result.reads = context.read_file.reads
    result.read_stamps = context.read_file.stamps
    result.reached = context.reached
    return result


def _parse(source: SourceFile, text: str, options: Options) -> ParsedFile:
    return parse_file(source, options, text)


def problems_of(parsed: list[ParsedFile]) -> UnitResult:
    """A result holding the problems, notes and inline suppressions of parsed files."""
    result = UnitResult()
    for item in parsed:
        result.problems.extend(item.notes)
        if item.problem is not None:
            result.problems.append(item.problem)
        if item.suppressions:
            result.suppressions[item.file.display] = item.suppressions
    return result
