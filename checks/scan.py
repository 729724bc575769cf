"""The pipeline, top to bottom: discover -> parse -> normalize -> link -> evaluate -> filter.

`scan()` returns everything the reporters need; it never raises for bad input: every file
that cannot be read or parsed becomes a `Problem` and the rest of the scan goes on.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from checks.discover import DEFAULT_MAX_BYTES, SourceFile, discover, read_text
from checks.evaluate import Skipped, evaluate
from checks.filter import FilterInput, PathSuppression, apply_baseline, apply_suppressions
from checks.link import link
from checks.model import Entity, Finding, Problem
from checks.parse import ParseError, parser_for
from checks.parse.comments import find_suppressions
from checks.rules import Rule


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
    use_cache: bool = False,
    cache_only: bool = False,
    text: str | None = None,
) -> ParsedFile | None:
    """Read and parse one file; any failure is a Problem for that file only. A file that
    fails to parse and does not look like our input (CloudFormation, a template) is a note,
    not an error, unless `strict`."""
    if source.skip and cache_only:
        return None
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
    comments = find_suppressions(text)
    if use_cache:
        from checks import cache

        hit = cache.get(source.kind, text)
        if hit is not None:
            documents, warnings = hit
            notes = [Problem(source.display, m, line, "note") for line, m in warnings]
            return ParsedFile(source, documents=documents, suppressions=comments, notes=notes)
        if cache_only:
            return None
    try:
        documents = parser_for(source.kind)(text)
        if use_cache:
            cache.put(source.kind, text, (documents, list(getattr(documents, "warnings", ()))))
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
_OURS_YAML = re.compile(r"^(apiVersion|kind)\s*:|aws-auth|mapRoles|mapUsers", re.M)
_OURS_JSON = re.compile(r'"(apiVersion|Statement|AssumeRolePolicyDocument|RoleDetailList)"')


def foreign_reason(kind: str, text: str, exc: ParseError) -> str:
    """Why a file that failed to parse is not one of our inputs, or "" when it looks like one
    (a Kubernetes manifest, an aws-auth ConfigMap, an IAM policy; any .tf file)."""
    if kind == "terraform" or exc.guard:
        return ""
    if kind == "yaml":
        if _CFN_TAG.search(text) or "AWSTemplateFormatVersion" in text:
            return "CloudFormation template"
        if "{{" in text and "}}" in text:
            return "Go or Helm template"
        if "%{" in text or re.search(r"\$\{[^}]+\}", text):
            return "Terraform template file"
        if _OURS_YAML.search(text):
            return ""
        return "YAML that is neither a Kubernetes manifest nor aws-auth"
    if kind == "json":
        if "${" in text or "{{" in text:
            return "template file"
        if _OURS_JSON.search(text):
            return ""
        return "JSON that is neither an IAM policy nor a Kubernetes manifest"
    return ""


def parse_all(
    files: list[SourceFile],
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    strict: bool = False,
    use_cache: bool = False,
    prefilter: bool = True,
) -> list[ParsedFile]:
    """Parse every file; in worker processes when there are many files and jobs > 1."""
    from functools import partial

    texts = _prefiltered_terraform(files, max_bytes, use_cache) if prefilter else {}
    jobs = jobs or os.cpu_count() or 1
    results: list[ParsedFile | None] = [None] * len(files)
    if use_cache:
        # answering from the cache is cheaper here than shipping results from a worker
        for i, f in enumerate(files):
            results[i] = parse_file(f, max_bytes, strict, True, True, texts.get(f.display))
    missing = [i for i, r in enumerate(results) if r is None]
    if jobs <= 1 or len(missing) < PARALLEL_MIN_FILES:
        for i in missing:
            results[i] = parse_file(
                files[i], max_bytes, strict, use_cache, text=texts.get(files[i].display)
            )
        return results  # type: ignore[return-value]
    from checks.pool import parallel_map

    job = partial(_parse_item, max_bytes=max_bytes, strict=strict, use_cache=use_cache)
    items = [(files[i], texts.get(files[i].display)) for i in missing]
    parsed = parallel_map(job, items, jobs, lambda item, reason: _failed_parse(item[0], reason))
    for i, item in zip(missing, parsed, strict=True):
        results[i] = item
    return results  # type: ignore[return-value]


def _parse_item(item: tuple, max_bytes: int, strict: bool, use_cache: bool) -> ParsedFile:
    source, text = item
    return parse_file(source, max_bytes, strict, use_cache, text=text)


def _prefiltered_terraform(
    files: list[SourceFile], max_bytes: int, use_cache: bool = False
) -> dict[str, str]:
    """Each readable .tf file's text with the blocks no rule can need blanked (per module)."""
    modules: dict[str, dict[str, str]] = {}
    for f in files:
        if f.kind != "terraform" or f.skip:
            continue
        text, _reason = read_text(f.path, max_bytes)
        if text is not None:
            modules.setdefault(os.path.dirname(f.display), {})[f.display] = text
    out: dict[str, str] = {}
    for texts in modules.values():
        out.update(_filter_module_cached(texts, use_cache))
    return out


def _filter_module_cached(texts: dict[str, str], use_cache: bool) -> dict[str, str]:
    """The pre-filter's answer for a module whose files are unchanged comes from the cache."""
    from checks.prefilter import filter_module

    if not use_cache:
        return filter_module(texts)
    from checks import cache

    key = "\0".join(f"{path}\0{text}" for path, text in sorted(texts.items()))
    hit = cache.get("prefilter", key)
    if hit is None:
        hit = filter_module(texts)
        cache.put("prefilter", key, hit)
    return hit


def _failed_parse(source: SourceFile, reason: str) -> ParsedFile:
    return ParsedFile(source, problem=Problem(source.display, reason))


def build_model(parsed: list[ParsedFile], roots: list[str]) -> tuple[list[Entity], list[Problem]]:
    """Normalize every parsed file into entities, then link them."""
    from checks.normalize import iam, kubernetes, plan

    entities: list[Entity] = []
    problems: list[Problem] = []
    modules: dict[str, dict[str, list]] = {}
    for item in parsed:
        problems.extend(item.notes)
        if item.problem is not None:
            problems.append(item.problem)
            continue
        src = item.file
        if src.kind == "terraform":
            directory = os.path.dirname(src.display) or "."
            modules.setdefault(directory, {})[src.display] = item.documents
            continue
        docs = item.documents or []
        with _contained(problems, src.display):
            if src.kind == "json" and docs and iam.is_iam_document(docs[0]):
                made, found = iam.normalize_document(src.display, docs[0])
            elif src.kind == "json" and docs and plan.is_plan(docs[0]):
                made, found = plan.normalize_plan(src.display, docs[0], _ModuleFileReader(roots))
            else:
                made, found = kubernetes.normalize_objects(src.display, docs)
            entities.extend(made)
            problems.extend(found)
    if modules:
        from checks.normalize.terraform import normalize_module

        reader = _ModuleFileReader(roots)
        for directory in sorted(modules):
            with _contained(problems, directory):
                made, found = normalize_module(directory, modules[directory], reader)
                entities.extend(made)
                problems.extend(found)
        # a policy JSON a role reads with file() is that role's trust policy, a manifest a
        # kubectl_manifest reads is that resource's: report them once, as Terraform's
        entities = [
            e for e in entities if e.origin == "terraform" or e.location.file not in reader.consumed
        ]
    link(entities)
    return entities, problems


@contextmanager
def _contained(problems: list[Problem], where: str):
    """A bug of ours on some input costs that file or module, reported, never the scan."""
    try:
        yield
    except (RecursionError, MemoryError):
        problems.append(Problem(where, "input nested too deeply to read"))
    except Exception as exc:  # the last line of defence: reported, never a traceback
        problems.append(
            Problem(
                where,
                f"internal error while reading it ({type(exc).__name__}: {exc}); please report it",
            )
        )


class _ModuleFileReader:
    """What Terraform's `file()` may read: files inside the scanned tree, within limits."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = [
            os.path.realpath(r if os.path.isdir(r) else os.path.dirname(r) or ".") for r in roots
        ]
        self.consumed: set[str] = set()

    def __call__(self, path: str) -> str | None:
        real = os.path.realpath(path)
        if not any(real == r or real.startswith(r + os.sep) for r in self.roots):
            return None
        text, _reason = read_text(real, 2_000_000)
        if text is not None:
            self.consumed.add(path.replace(os.sep, "/"))
        return text


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
    use_cache: bool = False,
    prefilter: bool = True,
) -> ScanResult:
    """Scan `paths`. With `context_root`, the whole tree under it is read so that links
    find their other side, but only findings that touch a file of `paths` are reported."""
    report_only = None
    if context_root is not None:
        given, problems = discover(paths, list(excludes))
        report_only = {f.display for f in given}
        context, context_problems = discover([context_root], list(excludes))
        files = sorted({f.display: f for f in context + given}.values(), key=lambda f: f.display)
        problems += [p for p in context_problems if p.file in report_only]
    else:
        files, problems = discover(paths, list(excludes))
    parsed = parse_all(files, max_bytes, jobs, strict, use_cache, prefilter)
    # file() may read anywhere in the trees being read, the context included
    roots = list(paths) + ([context_root] if context_root is not None else [])
    entities, found = build_model(parsed, roots)
    findings, skipped = evaluate(rules, entities, params)
    findings.sort(key=Finding.sort_key)
    comments = {p.file.display: p.suppressions for p in parsed if p.suppressions}
    by_key = {e.key: e for e in entities}
    notes = apply_suppressions(findings, by_key, FilterInput(comments, list(path_suppressions)))
    if baseline:
        apply_baseline(findings, baseline)
    all_problems = sorted(problems + found + notes, key=lambda p: (p.file, p.line, p.message))
    if report_only is not None:
        findings = [
            f
            for f in findings
            if f.location.file in report_only
            or any(r.location.file in report_only for r in f.related)
        ]
        all_problems = [p for p in all_problems if p.file in report_only]
        skipped = [s for s in skipped if s.location.file in report_only]
        files = [f for f in files if f.display in report_only]
    return ScanResult(files, entities, findings, all_problems, skipped, list(rules))
