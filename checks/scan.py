"""The pipeline, top to bottom: discover -> parse and normalize (`checks.sources`, run over
units by `checks.runner`) -> link -> evaluate -> filter.

`scan()` returns everything the reporters need; it never raises for bad input: every file
that cannot be read or parsed becomes a `Problem` and the rest of the scan goes on.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from checks import graph
from checks.discover import (
    DEFAULT_MAX_BYTES,
    SourceFile,
    discover,
    display_path,
    inside,
    scan_roots,
)
from checks.evaluate import Skipped, evaluate
from checks.filter import FilterInput, PathSuppression, apply_baseline, apply_suppressions
from checks.graph import AccessGraph
from checks.link import LinkTargets, link
from checks.model import Entity, Finding, Problem
from checks.rules import Rule
from checks.runner import run
from checks.sources import by_directory, classify, module_of
from checks.sources.base import Options
from checks.sources.kustomize import KUSTOMIZATION
from checks.sources.terraform import TERRAFORM, VARIABLES

if TYPE_CHECKING:
    from checks.cache import Pack


@dataclass
class ScanResult:
    files: list[SourceFile] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    graph: AccessGraph = field(default_factory=AccessGraph)
    # how a scan with --context-root and the cache read its context: "reduced: N of M
    # units" through the hook's index, else "full" and why (`checks.hookindex`)
    context: str = ""


class Built(NamedTuple):
    """What `build` makes: the entities (linked, with the access graph's fields), the
    problems, the inline suppressions by file, and the access graph."""

    entities: list[Entity]
    problems: list[Problem]
    suppressions: dict[str, list]
    graph: AccessGraph


def build(
    files: list[SourceFile],
    opts: Options,
    jobs: int | None = None,
    pack: Pack | None = None,
    params: dict[str, dict] | None = None,
    indexed: bool = False,
    prepared: Any = None,
    rules: Sequence[Rule] = (),
) -> Built:
    """The linked model of `files` walked as the access graph, the problems found reading
    them and their inline suppressions (see `checks.runner.run` for `jobs` and `pack`).
    `params` are the configured rule parameters (the graph reads the verdicts of the trust
    and IMDS rules: those of `rules`, the scan's, when it holds them). `indexed`: the pack
    keeps the hook's index of this whole tree too (`checks.hookindex`), `prepared` by a
    reduced run that fell back, if any."""
    try:
        if indexed and pack is not None:
            return _indexed_build(files, opts, jobs, pack, params, prepared, rules)
        entities, problems, suppressions = run(files, opts, jobs, pack)
        link(entities)
        access_graph = graph.build(entities, graph_verdicts(entities, params, rules))
    finally:
        gc.unfreeze()  # what the runner decoded from the cache is collectable again
    return Built(entities, problems, suppressions, access_graph)


def _indexed_build(
    files: list[SourceFile],
    opts: Options,
    jobs: int | None,
    pack: Pack,
    params: dict[str, dict] | None,
    prepared: Any = None,
    rules: Sequence[Rule] = (),
) -> Built:
    """`build`, keeping the hook's index of the whole tree in the pack (`hookindex.put`,
    with the units' results before link adds to the entities); the pack is finished once the
    budgets are known. `prepared`: what a reduced run that fell back had worked out
    (`hookindex.Prepared`)."""
    from checks import hookindex
    from checks.runner import Whole, assemble, results_of, save, units_of

    if prepared is not None:
        units, keys, head, made = prepared
    else:
        units, keys, head, made = units_of(files, opts, pack), None, None, None
    found = results_of(units, opts, jobs, pack, keys, made)
    whole = Whole.of(units, found.results)
    index = hookindex.put(pack, opts, params, units, found, whole, head)
    save(pack, found.fresh, pending=True)  # the results as they are: link adds to them
    entities, problems, suppressions = assemble(units, found.results, whole, found.parallel)
    work = link(entities)
    access_graph = graph.build(entities, graph_verdicts(entities, params, rules))
    index(work, access_graph)  # the budgets' totals: the pack is written
    return Built(entities, problems, suppressions, access_graph)


def graph_verdicts(
    entities: list[Entity], params: dict[str, dict] | None, loaded: Sequence[Rule] = ()
) -> graph.Verdicts:
    """What the rules the access graph reads (checks.kinds.PIN_RULES on trust statements,
    IMDS_RULES on instance metadata) say of each entity, with the configured parameters and
    whatever rules a run selects: "pinned" means what those rules test. Those of them among
    the `loaded` rules (a scan's) are not read again."""
    from checks.kinds import IMDS_RULES, PIN_RULES

    wanted = {"trust_statement": PIN_RULES, "instance_metadata": IMDS_RULES}
    judged = [e for e in entities if e.kind in wanted]
    if not judged:
        return {}
    rules = _graph_rules(PIN_RULES + IMDS_RULES, loaded)
    findings, skipped = evaluate(rules, judged, params)
    verdicts: graph.Verdicts = {e.key: ([], []) for e in judged}
    for f in findings:
        verdicts[f.entity_key][0].append(f.rule_id)
    for s in skipped:
        verdicts[s.entity_key][1].append(s.rule_id)
    return verdicts


def _graph_rules(ids: tuple[str, ...], loaded: Sequence[Rule] = ()) -> list[Rule]:
    """The bundled rules of these ids (those the package holds), in that order: the ones
    among the `loaded` rules as they are (a warm run has them from the cache, and need not
    import a YAML parser), the others read from their files."""
    found = {r.id: r for r in loaded if r.bundled and r.id in ids}
    missing = [rule_id for rule_id in ids if rule_id not in found]
    if missing:
        from checks.rules import bundled_dir, load_file

        directory = bundled_dir()
        for rule_id in missing:
            path = directory / f"{rule_id}.yaml"
            if path.is_file():
                found[rule_id] = load_file(path, validate=False)
    return [found[rule_id] for rule_id in ids if rule_id in found]


# the environment switch that checks a reduced context against the full one
CHECK_CONTEXT = "EKS_CHECKS_CHECK_CONTEXT"


class ContextMismatch(Exception):
    """A scan that read a reduced context reports other than the full-context scan."""


def _reduced(
    files: list[SourceFile],
    opts: Options,
    jobs: int | None,
    pack: Pack,
    params: dict[str, dict] | None,
    scope: Scope,
    rules: Sequence[Rule] = (),
) -> tuple[Built | None, str, Any]:
    """The model of the closure of what `scope` reports, and how it was read; None, why,
    and what the full scan can take of the work done (`hookindex.Prepared`, or None) when
    the index cannot vouch for one (`checks.hookindex`): any error of ours in reading or
    using the index means the full scan, unless the context is being checked."""
    from checks import hookindex

    try:
        r = hookindex.run_reduced(
            files,
            opts,
            jobs,
            pack,
            params,
            scope.reported,
            lambda entities: graph_verdicts(entities, params, rules),
            frozenset(scope.concerned),
        )
    except hookindex.Fallback as why:
        return None, f"full: {why}", why.prepared
    except Exception as exc:
        if os.environ.get(CHECK_CONTEXT) == "1":
            raise
        return None, f"full: the index could not be used ({type(exc).__name__}: {exc})", None
    finally:
        gc.unfreeze()
    built = Built(r.entities, r.problems, r.suppressions, r.access)
    return built, f"reduced: {r.units} of {r.of} units", None


def _check_same(reduced: ScanResult, full: ScanResult) -> None:
    """Raise `ContextMismatch` naming the first difference of what the two report."""
    for what in ("findings", "skipped", "problems"):
        mine, theirs = getattr(reduced, what), getattr(full, what)
        for index in range(max(len(mine), len(theirs))):
            a = mine[index] if index < len(mine) else None
            b = theirs[index] if index < len(theirs) else None
            if a != b:
                raise ContextMismatch(
                    f"the reduced context ({reduced.context}) differs from the full one in "
                    f"{what}[{index}]: {_said(a)} against {_said(b)}"
                )


def _said(item: Any) -> str:
    """One line naming a finding, undecided check or problem (or its absence)."""
    if item is None:
        return "nothing"
    if isinstance(item, Problem):
        return f"{item.file}:{item.line} {item.message!r}"
    where = f"{item.location.file}:{item.location.start_line}"
    return f"{item.rule_id} at {where} ({getattr(item, 'message', '')!r})"


@dataclass
class Scope:
    """What a scan that reads more than it was given reports (pre-commit's --context-root, and
    the module of a .tf file given alone): findings that touch a file given, and problems that
    concern one: its own, or (errors) its module's, which mean it was not fully judged."""

    reported: set[str]  # files (as shown) whose findings, problems and undecided checks count
    concerned: set[str]  # files and module folders (as shown) whose errors count too

    def finding(self, f: Finding) -> bool:
        return f.location.file in self.reported or any(
            r.location.file in self.reported for r in f.related
        )

    def problem(self, p: Problem) -> bool:
        return p.file in self.reported or (p.level == "error" and p.file in self.concerned)

    def judged(self, entity: Entity, targets: LinkTargets) -> bool:
        """Whether a finding on `entity` can be reported: it, or a place a finding on it
        points at, is in a file reported: where a field was written (a patch) or got its
        value (a variable's default), what made it (a module call, an overlay), and the
        entities its links name."""
        reported = self.reported  # asked of every entity: plain loops, nothing built
        if entity.location.file in reported:
            return True
        fields = entity.fields
        for name in _path_fields(entity.kind):
            if fields.get(name):
                return True  # an access path's findings point at each of its hops
        for file in entity.line_files.values():
            if file in reported:
                return True
        for where, _message in entity.field_origins.values():
            if where.file in reported:
                return True
        for related in entity.related:
            if related.location.file in reported:
                return True
        for keys in entity.links.values():
            for key in keys:
                other = targets.get(entity, key)
                if other is not None and other.location.file in reported:
                    return True
        return False


@cache
def _path_fields(kind: str) -> tuple[str, ...]:
    """The fields of a kind that hold every hop of its access paths (`*_hops`)."""
    from checks.kinds import KINDS, hop_fields

    declared = KINDS.get(kind)
    return tuple(n for n in hop_fields(declared) if n.endswith("_hops")) if declared else ()


def with_context(
    given: list[SourceFile],
    context_paths: list[str],
    paths: list[str],
    var_files: dict[str, list[tuple[str, str]]],
    discover_context: Callable[[list[str]], tuple[list[SourceFile], list[Problem]]],
) -> tuple[list[SourceFile], list[Problem], Scope]:
    """The files `given` and those under `context_paths` (found by `discover_context`), the
    problems of the latter that concern a file given, and the scope of what is reported."""
    context, context_problems = discover_context(context_paths)
    by_key = {f.key: f for f in context}
    by_key.update((f.key, f) for f in given)
    files = sorted(by_key.values(), key=lambda f: f.display)
    reported = {f.display for f in given}
    # a variable file changes what its whole module means: its module's findings count
    changed_vars = {os.path.dirname(f.key) for f in given if f.kind == VARIABLES.name}
    passed = {display_path(p) for p in paths}  # a -var-file file is not discovered
    changed_vars |= {
        module
        for module, named in var_files.items()
        if any(name in passed for name, _text in named)
    }
    reported |= {f.display for f in _in_folders(files, changed_vars) if f.kind == TERRAFORM.name}
    # an error in a given file's module (a sibling file, or the module as a whole) means the
    # given file was not fully judged: it concerns the given file too
    modules = changed_vars | {os.path.dirname(f.key) for f in given if by_directory(f.kind)}
    in_modules = _in_folders(files, modules)
    concerned = reported | {f.display for f in in_modules}
    concerned |= {os.path.dirname(f.display) or "." for f in in_modules}
    problems = [p for p in context_problems if p.file in concerned]
    return files, problems, Scope(reported, concerned)


def _in_folders(files: list[SourceFile], folders: set[str]) -> list[SourceFile]:
    """The files directly in one of `folders` (absolute, as keys are): only a file whose key
    starts with one is asked its folder (a whole tree's files are asked, for a few folders)."""
    if not folders:
        return []
    starts = tuple(folders)
    return [f for f in files if f.key.startswith(starts) and os.path.dirname(f.key) in folders]


def module_context(paths: list[str]) -> list[str]:
    """The other files of the module of each file PATH read a directory at a time (a .tf
    file given alone is read with the rest of its module)."""
    siblings = []
    for path in paths:
        module = None if os.path.isdir(path) else module_of(path)
        if module is None:
            continue
        try:
            names = sorted(os.listdir(module))
        except OSError:
            continue  # the file given is read all the same, and says why it cannot be
        for name in names:
            sibling = os.path.join(module, name)
            if module_of(sibling) is not None:
                siblings.append(sibling)
    return siblings


def trees_read(paths: list[str], context_root: str | None) -> list[str]:
    """Where file() and symlinks may lead: the trees being read, the context's first and
    whole, then those of `paths` outside it. What a file given inside the context adds is
    in it already, and the units' cache keys hold these trees: the hook, given other files
    at each commit, finds the units it read for the last one."""
    if context_root is None:
        return scan_roots(list(paths))
    (top,) = scan_roots([context_root])
    return [top] + [root for root in scan_roots(list(paths)) if inside(root, [top]) is None]


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
    keep_model: bool = True,
    context_index: bool = True,
) -> ScanResult:
    """Scan `paths`. With `context_root`, the whole tree under it is read so that links
    find their other side, and so is the module of a .tf file given alone; then only findings
    that touch a file of `paths` are reported, and only problems that concern one (`Scope`).
    With a cache `pack`, units it holds are not parsed again, and the next pack is written
    while the rest of the scan goes on, perhaps by another process: `pack.wait()` for it.
    Rules declared by Rego policies are evaluated by them within `rego_limits`
    (checks.rego.RegoLimits). `excludes` and the paths of `path_suppressions` are
    relative to `root` (absolute; default: the working directory); the excludes that match
    something go into `exclude_hits`. Suppressions may name the rules of `known_rules`
    (checks.filter.rule_names), others are noted; without `inline_suppressions`, comments
    and annotations do not suppress. Without `keep_model`, the result holds no entities and
    an empty access graph: a report that needs neither lets them go as soon as it can (the
    graph once its fields are on the entities, the entities once the findings are made), so
    that the report is written in the memory they held. With `context_root` and a `pack`,
    the context read is the closure of the given files' links through the hook's index when
    it can vouch for it, unless not `context_index` (`checks.hookindex`); with
    $EKS_CHECKS_CHECK_CONTEXT=1, a scan that read a reduced context also reads the full one
    and raises `ContextMismatch` at the first difference."""
    arguments = dict(locals())
    if pack is not None:
        pack.stamps.prefetch()  # the stat of every file the cache knows, while the walk goes
    roots = trees_read(paths, context_root)

    def find(paths: list[str]) -> tuple[list[SourceFile], list[Problem]]:
        return discover(paths, classify, list(excludes), roots, root, exclude_hits, pack)

    files, given_problems = find(paths)
    problems: list[Problem] = []
    scope = None
    context_paths = [context_root] if context_root is not None else []
    context_paths += module_context(paths)
    if context_paths:
        files, problems, scope = with_context(files, context_paths, paths, var_files or {}, find)
    if pack is not None and any(f.kind == KUSTOMIZATION.name for f in files):
        # the cache keys Kustomize units by the renderer's version: kept in the cache for
        # the program, else asked now and answered while the units are grouped and the cache
        # is read (imported here: a scan with no kustomization does not load the renderer's
        # module at start-up)
        from checks.normalize.kustomize import VersionMemo, ask_version

        ask_version(
            VersionMemo(
                lambda stamp: pack.get(stamp, str),
                lambda stamp, version: pack.put(stamp, version, str),
            )
        )
    opts = Options(
        max_bytes=max_bytes,
        strict=strict,
        prefilter=prefilter,
        roots=roots,
        var_files=dict(var_files or {}),
        excludes=list(excludes),
        exclude_root=root or "",
    )
    hook = scope is not None and context_root is not None and pack is not None
    # a Rego policy is given the whole model: no index can vouch for less, none is written
    rego = any(rule.rego_policy for rule in rules)
    built, how, prepared = None, "", None
    if hook and context_index:
        if rego:
            how = "full: a Rego rule is selected (it sees the whole model)"
        else:
            built, how, prepared = _reduced(files, opts, jobs, pack, params, scope, rules)
    elif hook:
        how = "full: the index is off"
    if built is None:
        built = build(files, opts, jobs, pack, params, hook and not rego, prepared, rules)
    entities, found, comments, access_graph = built
    if not keep_model:
        access_graph = AccessGraph()
    # a scan that reads more than it reports judges only what it may report
    findings, skipped = evaluate(rules, entities, params, scope.judged if scope else None)
    policy_errors: list[Problem] = []
    if rego:
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
    for f in findings:
        f.entity = None  # what the report is written with need not hold the model
    all_problems = problems + found + notes
    if scope is not None:
        findings = [f for f in findings if scope.finding(f)]
        all_problems = [p for p in all_problems if scope.problem(p)]
        skipped = [s for s in skipped if s.location.file in scope.reported]
        files = [f for f in files if f.display in scope.reported]
    # what was asked for and cannot be read is always said, whatever is reported; and a
    # policy that failed fails every scan, whichever files it was given
    unique = {
        (p.file, p.line, p.level, p.message): p
        for p in given_problems + all_problems + policy_errors
    }
    all_problems = sorted(unique.values(), key=lambda p: (p.file, p.line, p.message))
    kept = entities if keep_model else []
    result = ScanResult(
        files, kept, findings, all_problems, skipped, list(rules), access_graph, how
    )
    if how.startswith("reduced") and os.environ.get(CHECK_CONTEXT) == "1":
        full = scan(**dict(arguments, pack=pack.reader(), context_index=False))
        _check_same(result, full)
    return result
