"""Run the parse-and-normalize stage (`checks.sources`) over the files discovery found.

Files are read in units (one file, or every file of a directory its source reads a directory
at a time); a unit the cache holds unchanged is not read again; many units run in worker
processes, in chunks, and what a chunk's worker died or hung on is found by running its
units one by one, then a module's files one by one, so that a crash or a hang costs its file
only. The results are put together in one order, whichever way they were made.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from checks.discover import SourceFile, read_text
from checks.model import Entity, Problem, share_strings
from checks.sources import (
    depends_on,
    directory_source,
    normalize_directory,
    parse_file,
    problems_of,
    read_unit,
)
from checks.sources import units as source_units
from checks.sources.base import (
    MODULE_LISTING,
    Options,
    ParsedFile,
    Unit,
    UnitResult,
    current_digest,
    digest,
    internal_error,
)
from checks.sources.kustomize import KUSTOMIZATION, includes_key

if TYPE_CHECKING:
    from checks.cache import Pack

# Below this many files to parse a scan stays in one process: forking the workers and
# pickling their results back cost more than a second core saves (measured on generated and
# real trees: about even at 250-300 files, docs/performance.md), and the pre-commit hook
# usually passes a handful of files.
PARALLEL_MIN_FILES = 300


def units_of(files: list[SourceFile], opts: Options, pack: Pack | None = None) -> list[Unit]:
    """Files in the order the model is built in: other files first, then the units of the
    sources read a directory at a time (`checks.sources.units`, with the cache `pack`). With a
    pack, the grouping of the same files, with the same kustomizations' texts, is the last
    run's (`Grouping`)."""
    if pack is None:
        return source_units(files, opts, pack)
    from checks.cache import key_digest

    kustomizations = [f for f in files if f.kind == KUSTOMIZATION.name and not f.skip]
    texts = [pack.stamps.digest(f.key, f.path) for f in kustomizations]
    key = None
    if None not in texts:  # else one is read again: grouped as it says now
        key = _grouping_key(files, texts, opts)
        kept = pack.get(key, Grouping)
        units = kept.units(files) if kept is not None else None
        if units is not None:
            for f, text in zip(kustomizations, texts, strict=True):
                pack.keep(key_digest(includes_key(f, text, opts)))  # for a later grouping
            return units
    units = source_units(files, opts, pack)
    if key is not None:
        made = Grouping.of(files, units)
        if made is not None:
            pack.put(key, made, Grouping)
    return units


@dataclass
class Grouping:
    """What grouping made of a list of files, kept in the cache under `_grouping_key`: each
    unit as the positions of its files in the list, and its other fields. Grouping depends on
    the files' names, kinds and places and on what each kustomization includes, which depends
    on its text alone (`checks.sources.kustomize.Includes`); asked of every warm run, where it
    took a tenth of a pre-commit hook's time. The numbers are kept as text (decoded at C
    speed: a list of numbers is decoded one by one)."""

    members: str = ""  # each unit's files' positions, in a row, separated by spaces
    ends: str = ""  # where each unit's positions end
    costs: str = ""
    modules: list[str] = field(default_factory=list)  # "" for a unit of one file (None)
    directories: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, files: list[SourceFile], units: list[Unit]) -> Grouping | None:
        """The grouping of `units`, of `files`; None when a unit holds a file the list does
        not (it could not be made again from the list)."""
        at = {id(f): i for i, f in enumerate(files)}
        members: list[int] = []
        ends = []
        for unit in units:
            try:
                members += [at[id(f)] for f in unit.files]
            except KeyError:
                return None
            ends.append(len(members))
        return cls(
            " ".join(map(str, members)),
            " ".join(map(str, ends)),
            " ".join(str(u.cost) for u in units),
            [u.module or "" for u in units],
            [u.directory for u in units],
        )

    def units(self, files: list[SourceFile]) -> list[Unit] | None:
        """The units it holds, of `files`; None when it does not fit them (a cache entry not
        written by `of` for these files)."""
        try:
            members = list(map(int, self.members.split()))
            ends = list(map(int, self.ends.split()))
            costs = list(map(int, self.costs.split()))
        except ValueError:
            return None
        count = len(ends)
        if not (len(self.modules) == len(self.directories) == len(costs) == count):
            return None
        if ends != sorted(ends) or (ends and ends[-1] != len(members)):
            return None
        if members and not 0 <= min(members) <= max(members) < len(files):
            return None
        start, units = 0, []
        for end, module, directory, cost in zip(
            ends, self.modules, self.directories, costs, strict=True
        ):
            if end <= start:
                return None
            units.append(
                Unit([files[i] for i in members[start:end]], module or None, directory, cost)
            )
            start = end
        return units


def _grouping_key(files: list[SourceFile], texts: list[str], opts: Options) -> str:
    """What the grouping of `files` is filed under: every file's key, name shown, kind and
    why it is skipped, in order, the digests of the kustomizations' texts (`texts`), the
    working directory and the size limit."""
    said = "\0".join(chain(chain.from_iterable(map(_AS_GROUPED, files)), texts))
    digested = hashlib.sha256(said.encode("utf-8", "surrogatepass")).hexdigest()
    return f"grouping\0{os.getcwd()}\0{opts.max_bytes}\0{len(files)}\0{digested}"


_AS_GROUPED = attrgetter("key", "display", "kind", "skip")  # what grouping reads of a file


def run(
    files: list[SourceFile],
    opts: Options,
    jobs: int | None = None,
    pack: Pack | None = None,
) -> tuple[list[Entity], list[Problem], dict[str, list]]:
    """Entities (not linked yet), problems and inline suppressions of `files`: units run in
    worker processes when there are many files and jobs > 1, and are put together in one
    order. With a cache `pack`, units it holds are not run again, and the next pack, with the
    others' results, is saved (in another process while this one goes on when they are many:
    `pack.wait()`)."""
    units = units_of(files, opts, pack)
    found = results_of(units, opts, jobs, pack)
    save(pack, found.fresh)
    return assemble(units, found.results, Whole.of(units, found.results), found.parallel)


class Whole(NamedTuple):
    """What the units of a whole scan say of each other: the files some module read with
    file() (their own units' entities in them give way) and the modules some root calls
    (`called_modules`)."""

    consumed: set[str]
    called: set[tuple[str, str]]

    @classmethod
    def of(cls, units: list[Unit], results: list[UnitResult]) -> Whole:
        return cls(set().union(*(r.consumed for r in results)), called_modules(units, results))


class Results(NamedTuple):
    """The result of each unit (from the pack when it holds it), the fresh ones (to `save`),
    whether some ran in worker processes (their strings are not shared yet), and the digest
    each unit's result is filed under in the pack (None: not cached)."""

    results: list[UnitResult]
    fresh: list[UnitResult]
    parallel: bool
    digests: list[str | None]


def results_of(
    units: list[Unit],
    opts: Options,
    jobs: int | None = None,
    pack: Pack | None = None,
    keys: list[str | None] | None = None,
    made: dict[int, UnitResult] | None = None,
) -> Results:
    """The results of `units` (`Results`); `keys`: each unit's `unit_key`, when known;
    `made`: the fresh results of some units (by position), made a moment ago."""
    keyed = pack is not None
    results: list[UnitResult | None] = [None] * len(units)
    known = keys is not None and pack is not None
    if not known:
        keys = [None] * len(units)
    if pack:  # entries from an earlier run: answered here, before any worker starts
        # what is decoded is trees of values, never a cycle, kept to the end of the scan: no
        # collection can free any of it, and each would walk all of it (a tenth of a warm
        # hook's time); out of the collector's sight until the caller is done with the model
        # (`checks.scan.build` thaws it: gc.unfreeze)
        collecting = gc.isenabled()
        gc.disable()
        try:
            if not known:
                head = _options_key(opts)
                keys = [unit_key(u, opts, pack, head) for u in units]
            made = made or {}
            results = [made.get(i) or _hit(key, pack) for i, key in enumerate(keys)]
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
    todo = [i for i, r in enumerate(results) if r is None]
    # each file's stamp before it is read here or in a worker: the stamp kept with its digest
    stamped_at = time.time_ns()
    before = {
        f.key: pack.stamps.stat(f.path)
        for i in (todo if pack is not None else ())
        for f in units[i].files
        if not f.skip
    }
    jobs = jobs or os.cpu_count() or 1
    in_process = jobs <= 1 or sum(units[i].weight for i in todo) < PARALLEL_MIN_FILES
    if in_process:
        ran = [_guarded(units[i], opts, keyed) for i in todo]
    else:
        ran = _run_parallel([units[i] for i in todo], opts, jobs, keyed)
    for i, result in zip(todo, ran, strict=True):
        results[i] = result
    if pack is not None:  # before link, which adds to the entities
        for i, r in zip(todo, ran, strict=True):
            for f in units[i].files:
                if f.key in r.file_digests:
                    digested = r.file_digests[f.key]
                    pack.stamps.record(f.key, f.path, before.get(f.key), digested, stamped_at)
            for path, stamp in r.read_stamps.items():
                if r.reads.get(path) is not None:
                    pack.stamps.record_still(READ_STAMP + path, stamp, r.reads[path])
    from checks.cache import key_digest

    digests = [key_digest(key) if key is not None else None for key in keys]
    for i, result in zip(todo, ran, strict=True):
        digests[i] = result.cache_key
    for i, result in (made or {}).items():
        digests[i] = result.cache_key
        ran.append(result)
    return Results(results, ran, bool(ran) and not in_process, digests)  # type: ignore[arg-type]


def save(pack: Pack | None, fresh: list[UnitResult], pending: bool = False) -> None:
    """The next pack, with the `fresh` results (`Pack.save`)."""
    if pack is not None:
        pack.save([(r.cache_key, r) for r in fresh if r.cache_key is not None], UnitResult, pending)


def assemble(
    units: list[Unit], results: list[UnitResult], whole: Whole, parallel: bool = False
) -> tuple[list[Entity], list[Problem], dict[str, list]]:
    """The units' entities, problems and inline suppressions in one order, each unit's as
    the `whole` scan makes them its own (`kept`); `parallel`: some results came from worker
    processes."""
    entities: list[Entity] = []
    problems: list[Problem] = []
    suppressions: dict[str, list] = {}
    for unit, r in zip(units, results, strict=True):
        suppressions.update(r.suppressions)
        own_entities, own_problems = kept(unit, r, whole)
        entities.extend(own_entities)
        problems.extend(own_problems)
    if parallel:
        # units from workers: each arrives with strings of its own, a third of the strings'
        # memory on the real repositories (those from the cache are not shared: 0.05 s of a
        # warm hook, for 7 MB)
        share_strings(entities)
    return entities, problems, suppressions


def kept(unit: Unit, r: UnitResult, whole: Whole) -> tuple[list[Entity], list[Problem]]:
    """What of a unit's result a `whole` scan keeps: of a called module, only the errors that
    kept its files from being read (its entities and notes are its instances', and its
    callers say so too); of a file some module read with file(), nothing again."""
    if unit.directory and read_as(unit) in whole.called:
        return [], [p for p in r.problems if p.level == "error"]
    # a policy JSON a role reads with file() is that role's trust policy, a manifest a
    # kubectl_manifest reads is that resource's: what a directory unit read is its own,
    # and the same file read on its own is not reported again
    consumed = whole.consumed
    if unit.module is not None or not consumed:
        return r.entities, r.problems
    return [e for e in r.entities if e.location.file not in consumed], r.problems


def called_modules(units: list[Unit], results: list) -> set[tuple[str, str]]:
    """The directory units, as (source, directory), whose findings come from the instances
    their callers make: those reached by a root, that is a unit no other unit of its source
    reaches (a Terraform module no other module calls). A module reached only from a cycle
    of modules that no root reaches is read on its own, as the directories of that cycle
    are. Another source's unit of the same folder (a kustomization beside a module's .tf
    files) is no part of the module."""
    return called_of(
        [(read_as(u), r.reached) for u, r in zip(units, results, strict=True) if r and r.reached]
    )


def called_of(reaching: list[tuple[tuple[str, str], set[str]]]) -> set[tuple[str, str]]:
    """`called_modules` of the directory units that reach others: (source, directory) and
    the directories they reach, in scan order."""
    reached_by = dict(reaching)
    reached = {(source, d) for (source, _), found in reached_by.items() for d in found}
    called: set[tuple[str, str]] = set()
    for (source, directory), found in reached_by.items():
        if (source, directory) not in reached:
            called |= {(source, d) for d in found}
    return called


def read_as(unit: Unit) -> tuple[str, str]:
    """(the source that reads it, its directory): what a module call reaches."""
    return (directory_source(unit.files[0].kind).__name__, unit.directory)


def run_unit(unit: Unit, opts: Options, keyed: bool = False) -> UnitResult:
    """Parse and normalize one unit: what a worker does, and what a small scan does in-process.

    `keyed`: the result also carries the digest of what it depends on, the key it is cached
    under (see `cached_unit`)."""
    texts = _texts(unit, opts)
    key = None
    if keyed:
        digests = {
            f.key: _skipped(f) if f.skip else digest(texts[f.key])
            for f in unit.files
            if f.skip or f.key in texts
        }
        key = _unit_key(unit, digests, opts)
    result = read_unit(unit, texts, opts)
    if key is not None:
        from checks import cache

        result.cache_key = cache.key_digest(key)
        result.file_digests = {f.key: digests[f.key] for f in unit.files if f.key in texts}
    return result


def cached_unit(
    unit: Unit, opts: Options, pack: Pack, head: str | None = None
) -> UnitResult | None:
    """The unit's result from the cache when its files, the options (`head`: their
    `_options_key`, when known), and whatever its file() calls read are unchanged; else None.
    A file whose stamp in the pack is unchanged is not read (`checks.cache.Stamps`)."""
    return _hit(unit_key(unit, opts, pack, head), pack)


def _hit(key: str | None, pack: Pack) -> UnitResult | None:
    """The result the pack holds under `key`, when what it read is unchanged; else None."""
    hit = pack.get(key, UnitResult) if key is not None else None
    if hit is None or not isinstance(hit, UnitResult):
        return None
    return hit if reads_unchanged(hit.reads, pack) else None


def unit_key(unit: Unit, opts: Options, pack: Pack, head: str | None = None) -> str | None:
    """What the unit's cache entry is filed under (`Pack.get`): None when it cannot be
    cached (a file that cannot be read)."""
    return _unit_key(unit, _digests(unit, opts, pack), opts, head)


def reads_unchanged(reads: dict[str, str | None], pack: Pack) -> bool:
    """Whether what a cached result read with file() and module listings reads alike now."""
    return all(_read_digest(path, pack) == read for path, read in reads.items())


# what the stamps file a digest of a file read as a unit reads another file (`current_digest`)
# under: its own kind of digest, beside the one of the same file's text as a scanned file
READ_STAMP = "read\0"


def _read_digest(path: str, pack: Pack) -> str | None:
    """`current_digest(path)`, from the pack's stamps when the file's stamp is unchanged (a
    directory's listing is always listed again)."""
    if path.endswith(MODULE_LISTING):
        return current_digest(path)
    known = pack.stamps.digest(READ_STAMP + path, path)
    if known is None:
        before = pack.stamps.stat(path)
        known = current_digest(path)
        if known is not None:
            pack.stamps.record(READ_STAMP + path, path, before, known)
    return known


def _texts(unit: Unit, opts: Options) -> dict[str, str]:
    """The texts of the unit's files that can be read, by file key."""
    texts: dict[str, str] = {}
    for f in unit.files:
        if not f.skip:
            text, _reason = read_text(f.path, opts.max_bytes)
            if text is not None:
                texts[f.key] = text
    return texts


def _digests(unit: Unit, opts: Options, pack: Pack) -> dict[str, str]:
    """The digests of the texts of the unit's files that can be read, by file key: from the
    pack's stamps when a file's is unchanged, else read (and stamped)."""
    found: dict[str, str] = {}
    stamps = pack.stamps
    for f in unit.files:
        if f.skip:
            found[f.key] = _skipped(f)
            continue
        known = stamps.digest(f.key, f.path)
        if known is None:
            before = stamps.stat(f.path)
            text, _reason = read_text(f.path, opts.max_bytes)
            if text is None:
                continue
            known = digest(text)
            stamps.record(f.key, f.path, before, known)
        found[f.key] = known
    return found


def _skipped(source: SourceFile) -> str:
    """What a file known not to be ours before it is read adds to its unit's key: the reason,
    all its result says of it."""
    return f"skipped\0{source.skip}"


def _options_key(opts: Options) -> str:
    """What every unit's result depends on: the working directory and the options."""
    return repr(
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


def _unit_key(
    unit: Unit, digests: dict[str, str], opts: Options, head: str | None = None
) -> str | None:
    """What a unit's result depends on: its files' names and the digests of their texts (of a
    skipped file, why), and the options (`head`: their `_options_key`, when known); None (do
    not cache) when a file could not be read."""
    if len(digests) != len(unit.files):
        return None
    head = _options_key(opts) if head is None else head
    if unit.directory in opts.var_files:
        head += repr(opts.var_files[unit.directory])
    head += depends_on(unit)
    # each file's name and digest, each after a NUL
    return "\0".join([head, *chain.from_iterable(digests.items())])


def _guarded(unit: Unit, opts: Options, keyed: bool) -> UnitResult:
    """In-process, a bug of ours on some input costs that unit's files, reported, as it does
    in a worker; never the scan."""
    try:
        return run_unit(unit, opts, keyed)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        return problems_of([_failed_parse(f, internal_error(exc)) for f in unit.files])


def _run_parallel(units: list[Unit], opts: Options, jobs: int, keyed: bool) -> list[UnitResult]:
    """Units in chunks (one round trip per chunk, not per file); what a chunk's worker died or
    hung on is found by running its units one by one, then a module's files one by one, so a
    crash or a hang costs its file only."""
    from checks.pool import parallel_map

    total = sum(u.weight for u in units)
    per_chunk = max(1, min(64, total // (jobs * 8)))
    chunks: list[list[int]] = []
    size = 0
    for i, unit in enumerate(units):
        if not chunks or size >= per_chunk:
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += unit.weight
    results: list[UnitResult | None] = [None] * len(units)
    done = parallel_map(
        partial(_run_chunk, opts=opts, keyed=keyed),
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
            partial(run_unit, opts=opts, keyed=keyed),
            [units[i] for i in retry],
            jobs,
            lambda _u, why: why,
        )
        for i, out in zip(retry, again, strict=True):
            if isinstance(out, UnitResult):
                results[i] = out
            elif units[i].module is None:
                results[i] = problems_of([_failed_parse(units[i].files[0], out)])
            else:
                results[i] = _module_by_file(units[i], opts, jobs)
    return results  # type: ignore[return-value]


def _run_chunk(chunk: list[Unit], opts: Options, keyed: bool) -> list[UnitResult]:
    return [run_unit(u, opts, keyed) for u in chunk]


def _module_by_file(unit: Unit, opts: Options, jobs: int) -> UnitResult:
    """A module whose worker died or hung: each file parsed in a worker of its own (without
    the pre-filter), the failing ones reported, the others normalized in one more worker:
    never here, where what hung or killed a worker would hang or kill the scan."""
    from checks.pool import parallel_map

    parsed = parallel_map(partial(parse_file, options=opts), unit.files, jobs, _failed_parse)
    normalize = partial(normalize_directory, unit, options=opts)
    (result,) = parallel_map(normalize, [parsed], 1, _failed_module)
    return result


def _failed_module(parsed: list[ParsedFile], reason: str) -> UnitResult:
    """Each file of a module whose normalization failed, reported once."""
    return problems_of([p if p.problem else _failed_parse(p.file, reason) for p in parsed])


def _failed_parse(source: SourceFile, reason: str) -> ParsedFile:
    return ParsedFile(source, problem=Problem(source.display, reason))
