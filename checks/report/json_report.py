"""JSON output, versioned (`"version": 1`) and independent of internal types."""

from __future__ import annotations

from collections.abc import Iterator

from checks import __version__
from checks.report import (
    Each,
    active,
    added_suppressions,
    counts_by_severity,
    json_chunks,
    notes,
    reported,
    skipped_files,
)


def finding_json(f) -> dict:
    out = {
        "rule_id": f.rule_id,
        "slug": f.slug,
        "severity": f.severity,
        "title": f.title,
        "message": f.message,
        "location": f.location.to_json(),
        "entity_key": f.entity_key,
        "fingerprint": f.fingerprint,
        "remediation": f.remediation,
        "references": f.references,
    }
    if f.related:
        out["related"] = [
            {"location": r.location.to_json(), "message": r.message} for r in f.related
        ]
    if f.path:
        out["path"] = [{"location": h.location.to_json(), "message": h.message} for h in f.path]
    if f.suppressed is not None:
        out["suppressed"] = {"reason": f.suppressed}
        if f.new_suppression:
            out["suppressed"]["by_this_change"] = True  # not in the --baseline
    return out


def document(result) -> dict:
    current = active(result)
    listed = reported(result)
    return {
        "version": 1,
        "tool": {"name": "eks-checks", "version": __version__},
        "findings": Each(listed, finding_json),
        "problems": [p.to_json() for p in result.problems],
        "unknown": [
            {
                "rule_id": s.rule_id,
                "entity_key": s.entity_key,
                "location": s.location.to_json(),
                "reasons": s.reasons,
            }
            for s in result.skipped
        ],
        "summary": {
            "files": len(result.files),
            "findings": len(current),
            "suppressed": sum(1 for f in listed if f.suppressed is not None),
            "baselined": len(result.findings) - len(listed),
            "by_severity": counts_by_severity(current),
            "suppressed_by_this_change": len(added_suppressions(result)),
            "errors": sum(1 for p in result.problems if p.level == "error"),
            "skipped_files": skipped_files(result),
            "notes": notes(result),
            "unknown": len(result.skipped),
        },
    }


def render(result, options) -> Iterator[str]:
    return json_chunks(document(result))
