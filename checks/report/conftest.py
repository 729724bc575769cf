"""conftest's JSON result shape: one object per file with `filename`, `namespace`,
`successes`, and `failures`/`warnings` of `{msg, loc, metadata}`; so tools that read
conftest output read ours. Findings of SARIF level error (critical, high) are failures, the
others warnings."""

from __future__ import annotations

from checks.model import SEVERITIES
from checks.report import active, json_text


def render(result, options) -> str:
    per_file: dict[str, dict] = {}
    for f in result.files:
        per_file[f.display] = {
            "filename": f.display,
            "namespace": "eks-checks",
            "successes": 0,
            "failures": [],
            "warnings": [],
        }
    for f in active(result):
        entry = per_file.setdefault(
            f.location.file,
            {
                "filename": f.location.file,
                "namespace": "eks-checks",
                "successes": 0,
                "failures": [],
                "warnings": [],
            },
        )
        item = {
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
        failure = SEVERITIES[f.severity].sarif_level == "error"
        entry["failures" if failure else "warnings"].append(item)
    for p in result.problems:
        if p.level == "error" and p.file in per_file:
            per_file[p.file].setdefault("exceptions", []).append(
                {"msg": p.message, "loc": {"file": p.file, "line": p.line}}
            )
    checked = len(result.rules)
    out = []
    for entry in per_file.values():
        entry["successes"] = max(0, checked - len(entry["failures"]) - len(entry["warnings"]))
        if not entry["warnings"]:
            del entry["warnings"]
        if not entry["failures"]:
            del entry["failures"]
        out.append(entry)
    return json_text(out)
