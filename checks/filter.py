"""Filter: suppressions (inline comments, Kubernetes annotations, configuration) and baselines.

A suppressed finding is never dropped: it keeps its place in every report with the reason,
is counted in the summary, and goes to SARIF with `suppressions`. A suppression needs a
reason; one whose `until=` date has passed no longer applies. Both cases are reported, and
so is a suppression that names no rule (a typo, a prefix) or cannot be read: a note naming
it, where it is written. A suppression names a rule by id or by slug, case aside.

A baseline holds the findings known when it was written, and the suppressed ones; a scan
with it reports only new findings, and marks a suppression that is not in it as added since
(by the change under review). Its paths are relative to the repository root, so that it
matches from any working directory.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import os
from dataclasses import dataclass, field

from checks.model import Entity, Finding, Problem
from checks.parse.comments import Suppression


@dataclass
class PathSuppression:
    """From the configuration: rules ignored in files matching a glob (e.g. for JSON)."""

    paths: list[str]
    rules: list[str]  # ids or slugs, as written
    reason: str
    until: str = ""
    source: str = ""  # the configuration file
    where: str = ""  # its JSON path there: `$.suppress[0]`


@dataclass
class FilterInput:
    comments: dict[str, list[Suppression]] = field(default_factory=dict)  # file -> comments
    paths: list[PathSuppression] = field(default_factory=list)
    today: datetime.date = field(default_factory=datetime.date.today)
    # every rule a suppression may name (the catalog, not only the selected rules): id and
    # slug, upper-cased, -> id; None: names are not checked
    known: dict[str, str] | None = None
    inline: bool = True  # False: comments and annotations are ignored (an audit)
    root: str = ""  # the folder configured `paths` are relative to ("": working directory)


def rule_names(rules) -> dict[str, str]:
    """What a suppression may name, upper-cased, -> the rule's id: its id and its slug."""
    out: dict[str, str] = {}
    for rule in rules:
        out[rule.id.upper()] = rule.id
        out[rule.slug.upper()] = rule.id
    return out


def _active(
    s_reason: str,
    until: str,
    where: str,
    today: datetime.date,
    problems: list[Problem],
    file: str,
    line: int,
) -> bool:
    if not s_reason:
        problems.append(Problem(file, f"{where} has no reason and is ignored", line, "note"))
        return False
    if until:
        try:
            expiry = datetime.date.fromisoformat(until)
        except ValueError:
            problems.append(
                Problem(file, f"{where} has an invalid until= date {until!r}", line, "note")
            )
            return False
        if today > expiry:
            problems.append(Problem(file, f"{where} expired on {until}", line, "note"))
            return False
    return True


def _misnamed(name: str, known: dict[str, str] | None) -> str | None:
    """`'NAME': why` when `name` in a suppression names no rule, else None."""
    from checks.parse import excerpt

    wanted = name.strip().upper()
    shown = repr(excerpt(name.strip()))
    if any(c.isspace() for c in wanted):
        return f"{shown}: not a rule id or slug"
    if known is None or wanted in known:
        return None
    if any(rule_id.startswith(wanted) for rule_id in known.values()):
        return f"{shown}: a prefix, not a rule (name each rule by its id or slug)"
    return f"{shown}: no such rule (see `eks-checks rules`)"


def apply_suppressions(
    findings: list[Finding], entities: dict[str, Entity], given: FilterInput
) -> list[Problem]:
    """Mark suppressed findings in place; return notes about suppressions that do not apply
    or name no rule."""
    problems: list[Problem] = []
    reported: set[tuple] = set()
    known = given.known

    def note(file: str, line: int, message: str) -> None:
        key = (file, line, message)
        if key not in reported:
            reported.add(key)
            problems.append(Problem(file, message, line, "note"))

    def check(reason: str, until: str, where: str, file: str, line: int) -> bool:
        notes: list[Problem] = []
        ok = _active(reason, until, where, given.today, notes, file, line)
        for n in notes:
            note(n.file, n.line, n.message)
        return ok

    def names(rules) -> set[str]:
        """The ids a suppression's names stand for (unknown names stand for nothing)."""
        if known is None:
            return {r.upper() for r in rules}
        return {known[r.strip().upper()] for r in rules if r.strip().upper() in known}

    comments = given.comments if given.inline else {}
    if known is not None:
        for file, written in comments.items():
            for s in written:
                for name in s.rules:
                    why = _misnamed(name, known)
                    if why:
                        note(file, s.line, f"suppression of {why}")
        for p in given.paths:
            for name in p.rules:
                why = _misnamed(name, known)
                if why:
                    note(p.source, 0, f"configured suppression {p.where} of {why}")
    annotated: set[int] = set()
    if given.inline:
        for entity in entities.values():
            written = getattr(entity, "suppressions", [])
            if not written or id(written) in annotated:
                continue
            annotated.add(id(written))  # the entities of one object share its annotation
            for rules, _reason, _until, line in written:
                for name in rules:
                    why = _misnamed(name, known)
                    if why and any(c.isspace() for c in name.strip()):
                        why = why.replace("not a rule id or slug", "not `ID: reason; ID: reason`")
                    if why:
                        note(entity.location.file, line, f"eks-checks.io/ignore of {why}")

    # comments by file and the line they apply to; the answer per (file, lines, rule) once:
    # a file may hold many findings and many comments, and pairing each with each is quadratic
    by_target: dict[str, dict[int, list[tuple[Suppression, set[str]]]]] = {}
    decided: dict[tuple, str | None] = {}

    def comment_for(f: Finding, targets: tuple[int, ...]) -> str | None:
        """The reason of the first active comment suppressing `f`'s rule at `targets`."""
        key = (f.location.file, targets, f.rule_id)
        if key not in decided:
            lines = by_target.get(f.location.file)
            if lines is None:
                lines = by_target[f.location.file] = {}
                for s in comments.get(f.location.file, []):
                    lines.setdefault(s.target, []).append((s, names(s.rules)))
            candidates = sorted(
                (s for t in targets for s, ids in lines.get(t, ()) if f.rule_id in ids),
                key=lambda s: s.line,
            )
            decided[key] = next(
                (
                    s.reason
                    for s in candidates
                    if check(s.reason, s.until, f"suppression of {f.rule_id}", key[0], s.line)
                ),
                None,
            )
        return decided[key]

    for f in findings:
        # its own copy: an object written in several folders has one key
        entity = f.entity if f.entity is not None else entities.get(f.entity_key)
        block_line = entity.location.start_line if entity else f.location.start_line
        f.suppressed = comment_for(f, tuple(sorted({f.location.start_line, block_line})))
        if f.suppressed is None and entity is not None and given.inline:
            for rules, reason, until, line in getattr(entity, "suppressions", []):
                if f.rule_id in names(rules) and check(
                    reason,
                    until,
                    f"eks-checks.io/ignore of {f.rule_id}",
                    entity.location.file,
                    line,
                ):
                    f.suppressed = reason
                    break
        if f.suppressed is None and given.paths:
            where = rooted_path(f.location.file, given.root) if given.root else f.location.file
            for p in given.paths:
                if (
                    f.rule_id in names(p.rules)
                    and any(fnmatch.fnmatch(where, pat) for pat in p.paths)
                    and check(
                        p.reason,
                        p.until,
                        f"configured suppression {p.where} of {f.rule_id}".replace("  ", " "),
                        p.source or f.location.file,
                        0,
                    )
                ):
                    f.suppressed = p.reason
                    break
    return problems


# ---- baselines ------------------------------------------------------------------------------
class BaselineError(Exception):
    pass


ROOTED = "repository"  # `paths` of a baseline whose paths are relative to the repository root


@dataclass
class Baseline:
    """What a baseline (or a JSON report used as one) knows: (rule id, entity key,
    fingerprint) of its findings and of its suppressed findings."""

    findings: set[tuple[str, str, str]] = field(default_factory=set)
    # None: the file does not say which findings were suppressed (written before it could)
    suppressions: set[tuple[str, str, str]] | None = None
    # True: its paths are relative to the repository root; False: to the working directory
    # it was written from (an older baseline, or a JSON report)
    rooted: bool = False
    root: str = ""  # the repository root of this scan (absolute), for rooted baselines
    notes: list[Problem] = field(default_factory=list)

    def identity(self, f: Finding) -> tuple[str, str, str]:
        if self.rooted:
            return rooted_identity(f, self.root)
        return (f.rule_id, f.entity_key, f.fingerprint)


def rooted_path(shown: str, root: str) -> str:
    """A path as shown (relative to the working directory, or absolute) made relative to
    `root` (absolute); a path outside `root` stays absolute."""
    import posixpath

    from checks.discover import display_path

    here = display_path(os.getcwd(), "/")  # the working directory, shown absolute
    top = display_path(root, "/").rstrip("/") or "/"
    full = posixpath.normpath(shown if posixpath.isabs(shown) else posixpath.join(here, shown))
    if full == top:
        return "."
    if full.startswith(top.rstrip("/") + "/"):
        return full[len(top.rstrip("/")) + 1 :]
    return full


def rooted_identity(f: Finding, root: str) -> tuple[str, str, str]:
    """(rule id, entity key, fingerprint) of a finding with its file, and the file its
    entity key names (`terraform:<file>:...`), relative to `root`: the same whatever the
    working directory."""
    from checks.model import fingerprint

    file = rooted_path(f.location.file, root)
    key = _rooted_key(f.entity_key, f.location.file, file)
    hops = tuple(
        sorted(
            (
                hop,
                _rooted_key(hop_key, shown, rooted_path(shown, root)),
                rooted_path(shown, root),
                *ends,
            )
            for hop, hop_key, shown, *ends in f.hops
        )
    )
    return (f.rule_id, key, fingerprint(f.rule_id, key, file, hops))


def _rooted_key(key: str, shown: str, file: str) -> str:
    """An entity key that names the file it is in as shown (`terraform:<file>:...`), with
    that file as `file` names it."""
    origin, colon, rest = key.partition(":")
    if colon and (rest == shown or rest.startswith((shown + ":", shown + "/"))):
        return f"{origin}:{file}{rest[len(shown) :]}"
    return key


def load_baseline(path: str) -> Baseline:
    """What a baseline or a JSON report holds. A file of another shape is refused naming the
    JSON path of what is wrong."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BaselineError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise BaselineError(
            f"{path}: $: an object with a findings list is expected, not {_json_type(doc)}"
        )
    if "findings" not in doc:
        raise BaselineError(
            f"{path}: $.findings: missing (not an eks-checks baseline or JSON report)"
        )
    baseline = Baseline(rooted=doc.get("paths") == ROOTED)
    report = doc.get("kind") != "eks-checks-baseline"
    # a JSON report lists its suppressed findings among the others, with the reason
    baseline.suppressions = set() if report or "suppressions" in doc else None
    for key in ("findings", "suppressions"):
        if key not in doc:
            continue
        items = doc[key]
        if not isinstance(items, list):
            raise BaselineError(f"{path}: $.{key}: a list is expected, not {_json_type(items)}")
        for i, item in enumerate(items):
            identity = _identity(path, f"$.{key}[{i}]", item)
            suppressed = key == "suppressions" or (report and "suppressed" in item)
            if suppressed:
                baseline.suppressions.add(identity)  # type: ignore[union-attr]
            else:
                baseline.findings.add(identity)
    if not report and not baseline.rooted:
        baseline.notes.append(
            Problem(
                path,
                "a baseline written by an earlier eks-checks, with paths relative to the "
                "working directory it was written in: it matches only from there; write it "
                "again with --write-baseline to match from anywhere",
                0,
                "note",
            )
        )
    return baseline


def _identity(path: str, where: str, item) -> tuple[str, str, str]:
    if not isinstance(item, dict):
        raise BaselineError(f"{path}: {where}: an object is expected, not {_json_type(item)}")
    for name in ("rule_id", "entity_key", "fingerprint"):
        if name not in item:
            raise BaselineError(f"{path}: {where}.{name}: missing")
        if not isinstance(item[name], str):
            raise BaselineError(
                f"{path}: {where}.{name}: a string is expected, not {_json_type(item[name])}"
            )
    return (item["rule_id"], item["entity_key"], item["fingerprint"])


def _json_type(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def apply_baseline(findings: list[Finding], baseline: Baseline) -> None:
    """A finding the baseline knows is `baselined` (known: neither listed nor failing); a
    suppressed finding whose suppression the baseline does not hold is a
    `new_suppression`, added since it was written (it stays listed, as suppressed)."""
    for f in findings:
        identity = baseline.identity(f)
        if f.suppressed is not None:
            if baseline.suppressions is not None and identity not in baseline.suppressions:
                f.new_suppression = True
        elif identity in baseline.findings:
            f.baselined = True


def baseline_document(findings: list[Finding], root: str) -> dict:
    """The baseline of `findings`: the findings that count and, apart, the suppressed ones
    (rule, entity, fingerprint, reason), their paths relative to the repository `root`."""
    from checks import __version__

    def entry(f: Finding) -> dict:
        rule_id, key, fingerprint = rooted_identity(f, root)
        return {
            "rule_id": rule_id,
            "entity_key": key,
            "fingerprint": fingerprint,
            "file": rooted_path(f.location.file, root),
            "message": f.message,
        }

    return {
        "version": 1,
        "kind": "eks-checks-baseline",
        "tool": {"name": "eks-checks", "version": __version__},
        "paths": ROOTED,
        "findings": [entry(f) for f in findings if f.suppressed is None],
        "suppressions": [
            entry(f) | {"reason": f.suppressed} for f in findings if f.suppressed is not None
        ],
    }
