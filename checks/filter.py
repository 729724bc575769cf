"""Filter: suppressions (inline comments, Kubernetes annotations, configuration) and baselines.

A suppressed finding is never dropped: it keeps its place in every report with the reason,
is counted in the summary, and goes to SARIF with `suppressions`. A suppression needs a
reason; one whose `until=` date has passed no longer applies. Both cases are reported.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from dataclasses import dataclass, field

from checks.model import Entity, Finding, Problem
from checks.parse.comments import Suppression


@dataclass
class PathSuppression:
    """From the configuration: rules ignored in files matching a glob (e.g. for JSON)."""

    paths: list[str]
    rules: list[str]
    reason: str
    until: str = ""


@dataclass
class FilterInput:
    comments: dict[str, list[Suppression]] = field(default_factory=dict)  # file -> comments
    paths: list[PathSuppression] = field(default_factory=list)
    today: datetime.date = field(default_factory=datetime.date.today)


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


def apply_suppressions(
    findings: list[Finding], entities: dict[str, Entity], given: FilterInput
) -> list[Problem]:
    """Mark suppressed findings in place; return notes about suppressions that do not apply."""
    problems: list[Problem] = []
    reported: set[tuple] = set()

    def check(reason: str, until: str, where: str, file: str, line: int) -> bool:
        notes: list[Problem] = []
        ok = _active(reason, until, where, given.today, notes, file, line)
        for note in notes:
            key = (note.file, note.line, note.message)
            if key not in reported:
                reported.add(key)
                problems.append(note)
        return ok

    # comments by file and the line they apply to; the answer per (file, lines, rule) once:
    # a file may hold many findings and many comments, and pairing each with each is quadratic
    by_target: dict[str, dict[int, list[Suppression]]] = {}
    decided: dict[tuple, str | None] = {}

    def comment_for(f: Finding, targets: tuple[int, ...]) -> str | None:
        """The reason of the first active comment suppressing `f`'s rule at `targets`."""
        key = (f.location.file, targets, f.rule_id)
        if key not in decided:
            lines = by_target.get(f.location.file)
            if lines is None:
                lines = by_target[f.location.file] = {}
                for s in given.comments.get(f.location.file, []):
                    lines.setdefault(s.target, []).append(s)
            candidates = sorted(
                (s for t in targets for s in lines.get(t, ()) if f.rule_id in s.rules),
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
        entity = entities.get(f.entity_key)
        block_line = entity.location.start_line if entity else f.location.start_line
        f.suppressed = comment_for(f, tuple(sorted({f.location.start_line, block_line})))
        if f.suppressed is None and entity is not None:
            for rules, reason, until, line in getattr(entity, "suppressions", []):
                if f.rule_id in rules and check(
                    reason,
                    until,
                    f"eks-checks.io/ignore of {f.rule_id}",
                    entity.location.file,
                    line,
                ):
                    f.suppressed = reason
                    break
        if f.suppressed is None:
            for p in given.paths:
                if (
                    f.rule_id in p.rules
                    and any(fnmatch.fnmatch(f.location.file, pat) for pat in p.paths)
                    and check(
                        p.reason,
                        p.until,
                        f"configured suppression of {f.rule_id}",
                        f.location.file,
                        0,
                    )
                ):
                    f.suppressed = p.reason
                    break
    return problems


# ---- baselines ------------------------------------------------------------------------------
class BaselineError(Exception):
    pass


def load_baseline(path: str) -> set[tuple[str, str, str]]:
    """(rule id, entity key, fingerprint) of every finding in a baseline or a JSON report.
    A file of another shape is refused naming the JSON path of what is wrong."""
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
    items = doc["findings"]
    if not isinstance(items, list):
        raise BaselineError(f"{path}: $.findings: a list is expected, not {_json_type(items)}")
    out = set()
    for i, item in enumerate(items):
        where = f"$.findings[{i}]"
        if not isinstance(item, dict):
            raise BaselineError(f"{path}: {where}: an object is expected, not {_json_type(item)}")
        for name in ("rule_id", "entity_key", "fingerprint"):
            if name not in item:
                raise BaselineError(f"{path}: {where}.{name}: missing")
            if not isinstance(item[name], str):
                raise BaselineError(
                    f"{path}: {where}.{name}: a string is expected, not {_json_type(item[name])}"
                )
        out.add((item["rule_id"], item["entity_key"], item["fingerprint"]))
    return out


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


def apply_baseline(findings: list[Finding], baseline: set[tuple[str, str, str]]) -> None:
    for f in findings:
        if (f.rule_id, f.entity_key, f.fingerprint) in baseline:
            f.baselined = True


def baseline_document(findings: list[Finding]) -> dict:
    from checks import __version__

    return {
        "version": 1,
        "kind": "eks-checks-baseline",
        "tool": {"name": "eks-checks", "version": __version__},
        "findings": [
            {
                "rule_id": f.rule_id,
                "entity_key": f.entity_key,
                "fingerprint": f.fingerprint,
                "file": f.location.file,
                "message": f.message,
            }
            for f in findings
            if f.suppressed is None
        ],
    }
