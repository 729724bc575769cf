"""SARIF 2.1.0 output, shaped for GitHub code scanning: one run, one rule descriptor per rule
used, relative URIs under %SRCROOT%, our own stable fingerprints, related locations, and
unreadable files as tool execution notifications."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import quote

from checks import __version__, ruledoc
from checks.model import SEVERITIES
from checks.report import Each, json_chunks, reported
from checks.report.snippets import Sources, sarif_region

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/eks-checks/eks-checks"
PRECISION = {"high": "high", "medium": "medium", "low": "low"}


class _Uris:
    """Every location is a URI relative to %SRCROOT% (GitHub rejects absolute ones): the
    working directory, or, when files outside it were scanned, the directory above them all."""

    def __init__(self, files: list[str]) -> None:
        cwd = os.getcwd()
        outside = [f for f in files if os.path.isabs(f)]
        self.root = os.path.commonpath([cwd] + outside) if outside else cwd

    def artifact(self, path: str) -> dict:
        if os.path.isabs(path) or self.root != os.getcwd():
            path = os.path.relpath(os.path.join(os.getcwd(), path), self.root)
        return {"uri": quote(path.replace(os.sep, "/")), "uriBaseId": "%SRCROOT%"}

    def srcroot(self) -> str:
        uri = Path(self.root).as_uri()
        return uri if uri.endswith("/") else uri + "/"


def _physical(
    uris: _Uris, file: str, start: int, end: int | None = None, sources: Sources | None = None
) -> dict:
    """A physicalLocation; with `sources`, the region's snippet and a contextRegion."""
    loc: dict = {"artifactLocation": uris.artifact(file)}
    if start:
        region = {"startLine": start}
        if end and end >= start:
            region["endLine"] = end
        loc["region"] = region
        if sources is not None:
            own, context = sarif_region(sources.lines(file), start, end or start)
            region.update(own)
            if context is not None:
                loc["contextRegion"] = context
    return loc


def rule_descriptor(rule) -> dict:
    descriptor = {
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": " ".join((rule.description or rule.title).split())},
        "help": {
            "text": ruledoc.render(rule, ruledoc.SARIF_TEXT),
            "markdown": ruledoc.render(rule, ruledoc.SARIF_MARKDOWN),
        },
        "defaultConfiguration": {"level": SEVERITIES[rule.severity].sarif_level},
        "properties": {
            "tags": ["security"] + list(rule.tags),
            "precision": PRECISION.get(rule.confidence, "high"),
            "security-severity": SEVERITIES[rule.severity].security_severity,
        },
    }
    uri = help_uri(rule)
    if uri:
        descriptor = {**descriptor, "helpUri": uri}
    return descriptor


def help_uri(rule) -> str:
    """The rule's page: its own help_uri, else ours for a bundled rule, else none."""
    if rule.help_uri:
        return rule.help_uri
    if rule.bundled:
        return f"{INFORMATION_URI}/blob/main/docs/rules.md#{rule.id.lower()}-{rule.slug}"
    return ""


def _code_flow(uris: _Uris, path: list) -> dict:
    """An access path as a codeFlow: one threadFlow, one location per hop, in order."""
    return {
        "message": {"text": f"access path of {len(path)} hops"},
        "threadFlows": [
            {
                "locations": [
                    {
                        "location": {
                            "physicalLocation": _physical(
                                uris,
                                hop.location.file,
                                hop.location.start_line,
                                hop.location.end_line,
                            ),
                            "message": {"text": hop.message},
                        },
                        "executionOrder": number,
                    }
                    for number, hop in enumerate(path, 1)
                ]
            }
        ],
    }


def _result(f, uris: _Uris, index: dict[str, int], sources: Sources) -> dict:
    """One finding as a SARIF result."""
    entry: dict = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": SEVERITIES[f.severity].sarif_level,
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": _physical(
                    uris, f.location.file, f.location.start_line, f.location.end_line, sources
                )
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": f"{f.fingerprint}:1"},
        "properties": {"entityKey": f.entity_key, "severity": f.severity},
    }
    if f.related:
        entry["relatedLocations"] = [
            {
                "id": i + 1,
                "physicalLocation": _physical(
                    uris, r.location.file, r.location.start_line, r.location.end_line
                ),
                "message": {"text": r.message},
            }
            for i, r in enumerate(f.related)
        ]
    if f.path:
        entry["codeFlows"] = [_code_flow(uris, f.path)]
    if f.suppressed is not None:
        entry["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        if f.new_suppression:  # not in the --baseline: added by the change under review
            entry["properties"]["suppressedByThisChange"] = True
    return entry


def document(result, options: dict | None = None) -> dict:
    sources = Sources(result, (options or {}).get("max_bytes"))
    rules_by_id = {r.id: r for r in result.rules}
    listed = reported(result)
    uris = _Uris(
        [f.location.file for f in listed]
        + [r.location.file for f in listed for r in f.related + f.path]
        + [p.file for p in result.problems]
    )
    used = sorted({f.rule_id for f in listed})
    index = {rule_id: i for i, rule_id in enumerate(used)}
    # each result is made as it is written (checks.report.Each)
    results = Each(listed, partial(_result, uris=uris, index=index, sources=sources))
    notifications = []
    for p in result.problems:
        note: dict = {
            "level": "error" if p.level == "error" else "note",
            "message": {"text": f"{p.file}: {p.message}"},
            "locations": [{"physicalLocation": _physical(uris, p.file, p.line)}],
        }
        notifications.append(note)
    srcroot = uris.srcroot()
    run = {
        "tool": {
            "driver": {
                "name": "eks-checks",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(rules_by_id[r]) for r in used],
            }
        },
        "automationDetails": {"id": "eks-checks/"},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": srcroot}},
        "invocations": [
            {
                "executionSuccessful": not any(p.level == "error" for p in result.problems),
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(result, options) -> Iterator[str]:
    return json_chunks(document(result, options))
