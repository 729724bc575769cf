"""conftest's JSON result shape (its `output.CheckResult`), with conftest's meaning: one object
per file with `filename`, `namespace`, `successes` (how many checks ran on the file and passed),
`failures` (findings at or above --fail-on: they fail the gate, like conftest's `deny`),
`warnings` (findings below it, like `warn`), `exceptions` (suppressed findings: conftest's
waived failures) and `skipped` (checks that could not be decided, and files not read). A file
that cannot be read or parsed is a failure of that file, with no success. Empty lists are
left out, as conftest leaves them out."""

from __future__ import annotations

from checks.model import SEVERITIES
from checks.report import json_text, reported


def _item(f) -> dict:
    return {
        "msg": f"{f.rule_id}: {f.message}",
        "loc": {"file": f.location.file, "line": f.location.start_line},
        "metadata": {
            "id": f.rule_id,
            "slug": f.slug,
            "severity": f.severity,
            "title": f.title,
            "entity_key": f.entity_key,
            "fingerprint": f.fingerprint,
            "remediation": f.remediation,
            "references": f.references,
        },
    }


def render(result, options) -> str:
    fail_on = SEVERITIES[options.get("fail_on") or "low"].rank
    per_file: dict[str, dict] = {}

    def entry(file: str) -> dict:
        if file not in per_file:
            per_file[file] = {
                "filename": file,
                "namespace": "eks-checks",
                "successes": 0,
                "skipped": [],
                "warnings": [],
                "failures": [],
                "exceptions": [],
            }
        return per_file[file]

    for f in result.files:
        entry(f.display)
    # the checks that ran on a file: each rule on a kind of entity the file holds
    kinds: dict[str, set[str]] = {}
    for e in result.entities:
        kinds.setdefault(e.location.file, set()).add(e.kind)
    decided_not: dict[str, set[str]] = {}  # file -> rules with a result that is no success
    for f in reported(result):
        item = _item(f)
        if f.suppressed is not None:
            item["metadata"]["suppressed"] = f.suppressed
            if f.new_suppression:
                item["metadata"]["suppressed_by_this_change"] = True
            entry(f.location.file)["exceptions"].append(item)
        elif SEVERITIES[f.severity].rank >= fail_on:
            entry(f.location.file)["failures"].append(item)
        else:
            entry(f.location.file)["warnings"].append(item)
        decided_not.setdefault(f.location.file, set()).add(f.rule_id)
    for f in result.findings:
        if f.baselined:  # known: not listed, and not a success either
            decided_not.setdefault(f.location.file, set()).add(f.rule_id)
    for s in result.skipped:
        reasons = "; ".join(s.reasons) or "a value is unknown"
        entry(s.location.file)["skipped"].append(
            {
                "msg": f"{s.rule_id}: not decided: {reasons}",
                "loc": {"file": s.location.file, "line": s.location.start_line},
                "metadata": {"id": s.rule_id, "entity_key": s.entity_key},
            }
        )
        decided_not.setdefault(s.location.file, set()).add(s.rule_id)
    for p in result.problems:
        if p.level == "error":
            item = {"msg": p.message, "metadata": {"error": True}}
            item["loc"] = {"file": p.file, "line": p.line} if p.line else {"file": p.file}
            entry(p.file)["failures"].append(item)
        elif p.skips_file:
            entry(p.file)["skipped"].append({"msg": p.message, "loc": {"file": p.file}})
    out = []
    for file, item in per_file.items():
        held = kinds.get(file, set())
        ran = {r.id for r in result.rules if held & set(r.entity)}
        item["successes"] = len(ran - decided_not.get(file, set()))
        for key in ("skipped", "warnings", "failures", "exceptions"):
            if not item[key]:
                del item[key]
        out.append(item)
    return json_text(out)
