"""The pipeline, top to bottom: discover -> parse -> normalize -> link -> evaluate -> filter.

`scan()` returns everything the reporters need; it never raises for bad input: every file
that cannot be read or parsed becomes a `Problem` and the rest of the scan goes on.
"""

from __future__ import annotations

import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from checks.discover import (
    DEFAULT_MAX_BYTES,
    SourceFile,
    discover,
    display_path,
    read_text,
    scan_roots,
)
from checks.evaluate import Skipped, evaluate
from checks.filter import FilterInput, PathSuppression, apply_baseline, apply_suppressions
from checks.link import link
from checks.model import Entity, Finding, Problem
from checks.parse import ParseError, excerpt, parser_for
from checks.parse.comments import Suppression, find_suppressions
from checks.rules import Rule

if TYPE_CHECKING:
    from checks.cache import Pack


@dataclass
class ParsedFile:
    file: SourceFile
    documents: Any = None  # blocks (terraform) or a list of documents (yaml/json)
    problem: Problem | None = None
    suppressions: list = field(default_factory=list)  # inline `eks-checks: ignore[...]`
    notes: list = field(default_factory=list)  # Problems of level note: parsed anyway


@dataclass
class ScanResult:
    files: list[SourceFile] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


def parse_file(
    source: SourceFile,
    max_bytes: int = DEFAULT_MAX_BYTES,
    strict: bool = False,
    text: str | None = None,
) -> ParsedFile:
    """Read and parse one file; any failure is a Problem for that file only. A file that
    fails to parse and does not look like our input (CloudFormation, a template) is a note,
    not an error, unless `strict`."""
    if source.skip:
        level = "error" if strict else "note"
        return ParsedFile(
            source, problem=Problem(source.display, f"skipped: {source.skip}", 0, level)
        )
    reason = None
    if text is None:  # else: already read (and pre-filtered) by the caller
        text, reason = read_text(source.path, max_bytes)
    if text is None:
        reason = reason or "cannot read"
        match = re.search(r"\(line (\d+)", reason)
        line = int(match.group(1)) if match else 0
        return ParsedFile(source, problem=Problem(source.display, reason, line))
    if not text.strip():
        return ParsedFile(source, documents=[])
    comments = find_suppressions(text, source.kind)
    try:
        documents = parser_for(source.kind)(text)
        notes = [
            Problem(source.display, message, line, "note")
            for line, message in getattr(documents, "warnings", ())
        ]
        return ParsedFile(source, documents=documents, suppressions=comments, notes=notes)
    except ParseError as exc:
        # parsers may name the line after the last one ("unexpected end of file")
        last = text.count("\n") + (0 if text.endswith("\n") else 1)
        line = min(exc.line, last)
        foreign = "" if strict else foreign_reason(source.kind, text, exc)
        if foreign:
            message = f"skipped: {foreign} ({exc.message})"
            return ParsedFile(source, problem=Problem(source.display, message, line, "note"))
        return ParsedFile(source, problem=Problem(source.display, exc.message, line))
    except (RecursionError, MemoryError):
        return ParsedFile(source, problem=Problem(source.display, "input nested too deeply"))


# Below this many files a scan parses in-process: starting workers costs more than it saves,
# and the pre-commit hook usually passes a handful of files.
PARALLEL_MIN_FILES = 64


_CFN_TAG = re.compile(
    r"!(Ref|Sub|GetAtt|Join|If|Equals|Not|And|Or|Select|Split|FindInMap|"
    r"GetAZs|ImportValue|Base64|Cidr|Condition|Transform)\b"
)
# `${` and a character other than `}`, before the last `}` of the text: a `${...}` somewhere, found
# without scanning to the end of the text from every `${`
_INTERPOLATION = re.compile(r"\$\{[^}]")


def foreign_reason(kind: str, text: str, exc: ParseError) -> str:
    """Why a file that failed to parse is not one of our inputs, or "" when it is one (any
    .tf file; a manifest, an aws-auth ConfigMap, an IAM document, a plan: `checks.parse.ours`
    decides that first, whatever template markers the file also holds)."""
    from checks.parse import ours

    if kind not in ("yaml", "json") or exc.guard:
        return ""
    if kind == "yaml":
        if ours.yaml_is_ours(text, exc.composed):
            return ""
        if _CFN_TAG.search(text) or "AWSTemplateFormatVersion" in text:
            return "CloudFormation template"
        if "{{" in text and "}}" in text:
            return "Go or Helm template"
        if "%{" in text or _INTERPOLATION.search(text, 0, text.rfind("}")):
            return "Terraform template file"
        return "YAML that is neither a Kubernetes manifest nor aws-auth"
    if ours.json_is_ours(text):
        return ""
    if "${" in text or "{{" in text:
        return "template file"
    return "JSON that is neither an IAM policy nor a Kubernetes manifest"


@dataclass
class Unit:
    """One task of the parse-and-normalize stage: one file, or every .tf file of a module
    directory (a module is normalized as a whole: its files refer to each other)."""

    files: list[SourceFile]
    module: str | None = None  # the directory as shown, for Terraform
    directory: str = ""  # the directory as the filesystem knows it (absolute)


@dataclass
class UnitResult:
    entities: list[Entity] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suppressions: dict[str, list[Suppression]] = field(default_factory=dict)  # inline, by file
    consumed: set[str] = field(default_factory=set)  # files a module read with file()
    reads: dict[str, str | None] = field(default_factory=dict)  # every file() read, digested
    # the digest of what the result depends on, made where the unit ran, for the cache
    cache_key: str | None = field(default=None, repr=False, compare=False)


@dataclass
class Options:
    max_bytes: int = DEFAULT_MAX_BYTES
    strict: bool = False
    use_cache: bool = False
    prefilter: bool = True
    roots: list[str] = field(default_factory=list)  # the trees file() may read in
    # -var-file files per module directory (absolute path): [(display path, text)] in order
    var_files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    excludes: list[str] = field(default_factory=list)  # never read by file() either
    exclude_root: str = ""  # the folder excludes are relative to ("": the working directory)


def units_of(files: list[SourceFile]) -> list[Unit]:
    """Files in the order the model is built in: other files first, then modules by name."""
    units = []
    modules: dict[str, list[SourceFile]] = {}
    for f in files:
        if f.kind in ("terraform", "tfvars") and not f.skip:
            modules.setdefault(os.path.dirname(f.key), []).append(f)
        else:
            units.append(Unit([f]))
    by_name = sorted((os.path.dirname(fs[0].display) or ".", d) for d, fs in modules.items())
    return units + [Unit(modules[d], shown, d) for shown, d in by_name]


def run_unit(unit: Unit, opts: Options) -> UnitResult:
    """Parse and normalize one unit: what a worker does, and what a small scan does in-process.

    With the cache on, the result also carries the digest of what it depends on, the key it
    is cached under (see `cached_unit`)."""
    texts = _texts(unit, opts)
    key = _unit_key(unit, texts, opts) if opts.use_cache else None
    if unit.module is None:
        f = unit.files[0]
        item = parse_file(f, opts.max_bytes, opts.strict, text=texts.get(f.key))
        result = _file_result(item, opts)
    else:
        filtered: dict[str, str] = {}
        if opts.prefilter and texts:
            from checks.prefilter import filter_module

            tf = {
                f.key: texts[f.key] for f in unit.files if f.kind == "terraform" and f.key in texts
            }
            filtered = filter_module(tf) if tf else {}
        parsed = []
        for f in unit.files:
            text = filtered.get(f.key, texts.get(f.key))
            item = parse_file(f, opts.max_bytes, opts.strict, text=text)
            if item.problem is not None and text != texts.get(f.key):
                # a file that fails is reported as it is, not as the pre-filter left it
                item = parse_file(f, opts.max_bytes, opts.strict, text=texts[f.key])
            parsed.append(item)
        given = [
            parse_file(SourceFile(name, name, "tfvars"), text=text)
            for name, text in opts.var_files.get(unit.directory, ())
        ]
        result = _module_result(unit, parsed, opts, given)
    if key is not None:
        from checks import cache

        result.cache_key = cache.key_digest(key)
    return result


def cached_unit(unit: Unit, opts: Options, pack: Pack) -> UnitResult | None:
    """The unit's result from the cache when its files, the options, and whatever its
    file() calls read are unchanged; else None."""
    key = _unit_key(unit, _texts(unit, opts), opts)
    hit = pack.get(key, UnitResult) if key is not None else None
    if hit is None or not isinstance(hit, UnitResult):
        return None
    if any(_digest(read_text(path, 2_000_000)[0]) != digest for path, digest in hit.reads.items()):
        return None
    return hit


def _texts(unit: Unit, opts: Options) -> dict[str, str]:
    """The texts of the unit's files that can be read, by file key."""
    texts: dict[str, str] = {}
    for f in unit.files:
        if not f.skip:
            text, _reason = read_text(f.path, opts.max_bytes)
            if text is not None:
                texts[f.key] = text
    return texts


def _unit_key(unit: Unit, texts: dict[str, str], opts: Options) -> str | None:
    """What a unit's result depends on: its files' names and texts, and the options; None
    (do not cache) when a file could not be read."""
    if len(texts) != len(unit.files):
        return None
    head = repr(
        (
            os.getcwd(),
            opts.roots,
            opts.excludes,
            opts.exclude_root,
            opts.strict,
            opts.max_bytes,
            opts.prefilter,
        )
    )
    if unit.directory in opts.var_files:
        head += repr(opts.var_files[unit.directory])
    return "\0".join([head] + [f"{name}\0{text}" for name, text in texts.items()])


def _file_result(item: ParsedFile, opts: Options) -> UnitResult:
    from checks.normalize import iam, json_keys, kubernetes, plan

    result = _problems_of([item])
    if item.problem is not None:
        return result
    src = item.file
    docs = item.documents or []
    with _contained(result.problems, src.display):
        duplicates = getattr(docs, "duplicates", [])
        if src.kind == "json" and docs and iam.is_iam_document(docs[0]):
            made, found = iam.normalize_document(src.display, docs[0])
            found += json_keys.iam_problems(src.display, duplicates)
        elif src.kind == "json" and docs and plan.is_plan(docs[0]):
            reader = _ModuleFileReader(opts)
            made, found = plan.normalize_plan(src.display, docs[0], reader)
            result.reads = reader.reads
        else:
            made, found = kubernetes.normalize_objects(src.display, docs)
            if any(kubernetes.is_manifest(doc) for doc in docs):
                found += json_keys.manifest_problems(src.display, duplicates)
        result.entities.extend(made)
        result.problems.extend(found)
    return result


def _module_result(
    unit: Unit, parsed: list[ParsedFile], opts: Options, var_files: list = ()
) -> UnitResult:
    from checks.normalize.terraform import normalize_module

    directory = unit.module or "."
    result = _problems_of(list(parsed) + list(var_files))
    good = [p for p in parsed if p.problem is None]
    documents = {p.file.display: p.documents for p in good if p.file.kind == "terraform"}
    tfvars = _tfvars_order([(p.file.display, p.documents) for p in good if p.file.kind == "tfvars"])
    # then the --var-file files, in the order given, as terraform applies -var-file
    tfvars += [(p.file.display, p.documents) for p in var_files if p.problem is None]
    if documents:
        reader = _ModuleFileReader(opts)
        with _contained(result.problems, directory):
            made, found = normalize_module(
                directory, documents, reader, tfvars, unit.directory or directory
            )
            result.entities.extend(made)
            result.problems.extend(found)
        result.consumed = reader.consumed
        result.reads = reader.reads
    return result


def _guarded(unit: Unit, opts: Options) -> UnitResult:
    """In-process, a bug of ours on some input costs that unit's files, reported, as it does
    in a worker; never the scan."""
    try:
        return run_unit(unit, opts)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        return _problems_of([_failed_parse(f, _internal_error(exc)) for f in unit.files])


def _tfvars_order(tfvars: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The order Terraform loads variable files in (a later file wins): terraform.tfvars,
    terraform.tfvars.json, then the *.auto.tfvars(.json) files by name."""
    from checks.discover import TFVARS_FIRST

    def rank(item: tuple[str, dict]) -> tuple:
        base = os.path.basename(item[0])
        first = TFVARS_FIRST.index(base) if base in TFVARS_FIRST else len(TFVARS_FIRST)
        return (first, base)

    return sorted(tfvars, key=rank)


def _problems_of(parsed: list[ParsedFile]) -> UnitResult:
    result = UnitResult()
    for item in parsed:
        result.problems.extend(item.notes)
        if item.problem is not None:
            result.problems.append(item.problem)
        if item.suppressions:
            result.suppressions[item.file.display] = item.suppressions
    return result


def build(
    files: list[SourceFile], opts: Options, jobs: int | None = None, pack: Pack | None = None
) -> tuple[list[Entity], list[Problem], dict[str, list]]:
    """Entities (linked), problems and inline suppressions of `files`: units run in worker
    processes when there are many files and jobs > 1, and are put together in one order.
    With a cache `pack` (and `opts.use_cache`), units it holds are not run again, and the
    next pack, with the others' results, is saved (in another process while this one goes on
    when they are many: `pack.wait()`)."""
    units = units_of(files)
    results: list[UnitResult | None] = [None] * len(units)
    if pack:  # entries from an earlier run: answered here, before any worker starts
        results = [cached_unit(u, opts, pack) for u in units]
    todo = [i for i, r in enumerate(results) if r is None]
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or sum(len(units[i].files) for i in todo) < PARALLEL_MIN_FILES:
        ran = [_guarded(units[i], opts) for i in todo]
    else:
        ran = _run_parallel([units[i] for i in todo], opts, jobs)
    for i, result in zip(todo, ran, strict=True):
        results[i] = result
    if pack is not None:  # before link, which adds to the entities
        pack.save([(r.cache_key, r) for r in ran if r.cache_key is not None], UnitResult)
    entities: list[Entity] = []
    problems: list[Problem] = []
    suppressions: dict[str, list] = {}
    consumed: set[str] = set()
    for r in results:
        entities.extend(r.entities)
        problems.extend(r.problems)
        suppressions.update(r.suppressions)
        consumed |= r.consumed
    if consumed:
        # a policy JSON a role reads with file() is that role's trust policy, a manifest a
        # kubectl_manifest reads is that resource's: report them once, as Terraform's
        entities = [
            e for e in entities if e.origin == "terraform" or e.location.file not in consumed
        ]
    link(entities)
    return entities, problems, suppressions


def _run_parallel(units: list[Unit], opts: Options, jobs: int) -> list[UnitResult]:
    """Units in chunks (one round trip per chunk, not per file); what a chunk's worker died or
    hung on is found by running its units one by one, then a module's files one by one, so a
    crash or a hang costs its file only."""
    from functools import partial

    from checks.pool import parallel_map

    total = sum(len(u.files) for u in units)
    per_chunk = max(1, min(64, total // (jobs * 8)))
    chunks: list[list[int]] = []
    size = 0
    for i, unit in enumerate(units):
        if not chunks or size >= per_chunk:
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += len(unit.files)
    results: list[UnitResult | None] = [None] * len(units)
    done = parallel_map(
        partial(_run_chunk, opts=opts),
        [[units[i] for i in chunk] for chunk in chunks],
        jobs,
        lambda _item, _reason: None,
    )
    retry = []
    for chunk, out in zip(chunks, done, strict=True):
        if out is None:
            retry.extend(chunk)
        else:
            for i, r in zip(chunk, out, strict=True):
                results[i] = r
    if retry:
        again = parallel_map(
            partial(run_unit, opts=opts), [units[i] for i in retry], jobs, lambda _u, why: why
        )
        for i, out in zip(retry, again, strict=True):
            if isinstance(out, UnitResult):
                results[i] = out
            elif units[i].module is None:
                results[i] = _problems_of([_failed_parse(units[i].files[0], out)])
            else:
                results[i] = _module_by_file(units[i], opts, jobs)
    return results  # type: ignore[return-value]


def _run_chunk(chunk: list[Unit], opts: Options) -> list[UnitResult]:
    return [run_unit(u, opts) for u in chunk]


def _module_by_file(unit: Unit, opts: Options, jobs: int) -> UnitResult:
    """A module whose worker died or hung: each file parsed in a worker of its own (without
    the pre-filter), the failing ones reported, the others normalized in one more worker:
    never here, where what hung or killed a worker would hang or kill the scan."""
    from functools import partial

    from checks.pool import parallel_map

    parse = partial(_parse_one, opts=opts)
    parsed = parallel_map(parse, unit.files, jobs, _failed_parse)
    normalize = partial(_module_result, unit, opts=opts)
    (result,) = parallel_map(normalize, [parsed], 1, _failed_module)
    return result


def _failed_module(parsed: list[ParsedFile], reason: str) -> UnitResult:
    """Each file of a module whose normalization failed, reported once."""
    return _problems_of([p if p.problem else _failed_parse(p.file, reason) for p in parsed])


def _parse_one(source: SourceFile, opts: Options) -> ParsedFile:
    return parse_file(source, opts.max_bytes, opts.strict)


def _failed_parse(source: SourceFile, reason: str) -> ParsedFile:
    return ParsedFile(source, problem=Problem(source.display, reason))


@contextmanager
def _contained(problems: list[Problem], where: str):
    """A bug of ours on some input costs that file or module, reported, never the scan."""
    try:
        yield
    except (RecursionError, MemoryError):
        problems.append(Problem(where, "input nested too deeply to read"))
    except Exception as exc:  # the last line of defence: reported, never a traceback
        problems.append(Problem(where, _internal_error(exc)))


def _internal_error(exc: Exception) -> str:
    # an exception's text may quote the input: briefly, as any parse error does
    what = f"{type(exc).__name__}: {excerpt(str(exc))}"
    return f"internal error while reading it ({what}); please report it"


class _ModuleFileReader:
    """What Terraform's `file()` may read: regular files inside the scanned trees, never in a
    folder the walk skips (`.git`, `.terraform`, `node_modules`) or excludes, never through a
    symlink that leaves the trees, never a FIFO or a device."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.consumed: set[str] = set()
        self.reads: dict[str, str | None] = {}  # what was read: path -> digest, None if nothing

    def __call__(self, path: str) -> tuple[str | None, str]:
        """(text, "") or (None, why it may not be read); the reason is "" for a file that is
        not there or cannot be read (an unknown value, as any other)."""
        from checks.discover import NOT_REGULAR, display_path, excluded, inside, skipped_folder

        roots = [os.path.realpath(r) for r in self.opts.roots]
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
            base = self.opts.exclude_root or None
            if self.opts.excludes and excluded(display_path(where, base), self.opts.excludes):
                return None, "excluded from the scan"
        try:
            if not stat.S_ISREG(os.stat(real).st_mode):
                return None, NOT_REGULAR
        except OSError:
            return None, ""
        text, _reason = read_text(real, 2_000_000)
        self.reads[real] = _digest(text)
        if text is not None:
            self.consumed.add(display_path(path))
        return text, ""


def _digest(text: str | None) -> str | None:
    import hashlib

    if text is None:
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def scan(
    paths: list[str],
    rules: list[Rule],
    params: dict[str, dict] | None = None,
    excludes: list[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    path_suppressions: list[PathSuppression] = (),
    baseline: set | None = None,
    context_root: str | None = None,
    jobs: int | None = None,
    strict: bool = False,
    pack: Pack | None = None,
    prefilter: bool = True,
    var_files: dict[str, list[tuple[str, str]]] | None = None,
    rego_limits: Any = None,
    root: str | None = None,
    exclude_hits: set[str] | None = None,
    known_rules: dict[str, str] | None = None,
    inline_suppressions: bool = True,
) -> ScanResult:
    """Scan `paths`. With `context_root`, the whole tree under it is read so that links
    find their other side, but only findings that touch a file of `paths` are reported, and
    only problems that concern one: its own, or (errors) its Terraform module's. With a
    cache `pack`, units it holds are not parsed again, and the next pack is written while
    the rest of the scan goes on, perhaps by another process: `pack.wait()` for it. Rules
    declared by Rego policies are evaluated by them within `rego_limits`
    (checks.rego.policy.RegoLimits). `excludes` and the paths of `path_suppressions` are
    relative to `root` (absolute; default: the working directory); the excludes that match
    something go into `exclude_hits`. Suppressions may name the rules of `known_rules`
    (checks.filter.rule_names), others are noted; without `inline_suppressions`, comments
    and annotations do not suppress."""
    # file() and symlinks may lead anywhere in the trees being read, the context included
    roots = scan_roots(list(paths) + ([context_root] if context_root is not None else []))
    files, given_problems = discover(paths, list(excludes), roots, root, exclude_hits)
    problems: list[Problem] = []
    report_only = concern = None
    if context_root is not None:
        given = files
        context, context_problems = discover(
            [context_root], list(excludes), roots, root, exclude_hits
        )
        by_key = {f.key: f for f in context}
        by_key.update((f.key, f) for f in given)
        files = sorted(by_key.values(), key=lambda f: f.display)
        report_only = {f.display for f in given}
        # a variable file changes what its whole module means: its module's findings count
        changed_vars = {os.path.dirname(f.key) for f in given if f.kind == "tfvars"}
        passed = {display_path(p) for p in paths}  # a -var-file file is not discovered
        changed_vars |= {
            module
            for module, named in (var_files or {}).items()
            if any(name in passed for name, _text in named)
        }
        report_only |= {
            f.display
            for f in files
            if f.kind == "terraform" and os.path.dirname(f.key) in changed_vars
        }
        # an error in a passed file's module (a sibling file, or the module as a whole) means
        # the passed file was not fully judged: it concerns the passed file too
        modules = changed_vars | {
            os.path.dirname(f.key) for f in given if f.kind in ("terraform", "tfvars")
        }
        in_modules = [f for f in files if os.path.dirname(f.key) in modules]
        concern = report_only | {f.display for f in in_modules}
        concern |= {os.path.dirname(f.display) or "." for f in in_modules}
        problems = [p for p in context_problems if p.file in concern]
    use_cache = pack is not None
    opts = Options(
        max_bytes,
        strict,
        use_cache,
        prefilter,
        roots,
        dict(var_files or {}),
        list(excludes),
        root or "",
    )
    entities, found, comments = build(files, opts, jobs, pack)
    findings, skipped = evaluate(rules, entities, params)
    policy_errors: list[Problem] = []
    if any(rule.rego_policy for rule in rules):
        from checks.rego.policy import evaluate_policies

        reported, policy_errors = evaluate_policies(
            rules, entities, given_problems + problems + found, params, rego_limits
        )
        findings += reported
    findings.sort(key=Finding.sort_key)
    by_entity = {e.key: e for e in entities}
    filtering = FilterInput(
        comments,
        list(path_suppressions),
        known=known_rules,
        inline=inline_suppressions,
        root=root or "",
    )
    notes = apply_suppressions(findings, by_entity, filtering)
    if baseline:
        apply_baseline(findings, baseline)
    all_problems = problems + found + notes
    if report_only is not None:
        findings = [
            f
            for f in findings
            if f.location.file in report_only
            or any(r.location.file in report_only for r in f.related)
        ]
        all_problems = [
            p
            for p in all_problems
            if p.file in report_only or (p.level == "error" and p.file in concern)
        ]
        skipped = [s for s in skipped if s.location.file in report_only]
        files = [f for f in files if f.display in report_only]
    # what was asked for and cannot be read is always said, whatever is reported; and a
    # policy that failed fails every scan, whichever files it was given
    unique = {
        (p.file, p.line, p.level, p.message): p
        for p in given_problems + all_problems + policy_errors
    }
    all_problems = sorted(unique.values(), key=lambda p: (p.file, p.line, p.message))
    return ScanResult(files, entities, findings, all_problems, skipped, list(rules))
