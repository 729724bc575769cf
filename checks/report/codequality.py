"""GitLab Code Quality: the subset of the Code Climate issue format GitLab documents (a JSON
array of issues with `description`, `check_name`, `fingerprint`, `severity` and
`location.path` / `location.lines.begin`), which GitLab shows in the merge request diff. One
issue per finding that counts and per file that could not be scanned; paths relative to the
repository root."""

from __future__ import annotations

import hashlib

from checks.report import active, json_text
from checks.report.gitlab_sast import project_path

# Code Climate's severities: info, minor, major, critical, blocker
SEVERITY = {"critical": "blocker", "high": "critical", "medium": "major", "low": "minor"}


def render(result, options) -> str:
    from checks.filter import rooted_identity

    root = options.get("root")
    issues = []
    for f in active(result):
        fingerprint = rooted_identity(f, root)[2] if root else f.fingerprint
        issues.append(
            {
                "type": "issue",
                "description": f"{f.rule_id}: {f.message}",
                "check_name": f.rule_id,
                "fingerprint": fingerprint,
                "severity": SEVERITY[f.severity],
                "categories": ["Security"],
                "location": {
                    "path": project_path(f.location.file, options),
                    "lines": {"begin": f.location.start_line, "end": f.location.end_line},
                },
            }
        )
    for p in result.problems:
        if p.level != "error":
            continue
        digest = hashlib.sha256(f"{p.file}\0{p.message}".encode("utf-8", "surrogatepass"))
        issues.append(
            {
                "type": "issue",
                "description": f"cannot be scanned: {p.message}",
                "check_name": "eks-checks/unreadable",
                "fingerprint": digest.hexdigest()[:32],
                "severity": "blocker",
                "categories": ["Bug Risk"],
                "location": {
                    "path": project_path(p.file, options),
                    "lines": {"begin": max(p.line, 1)},
                },
            }
        )
    return json_text(issues)
