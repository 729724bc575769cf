"""GitLab's SAST report (security report schema 15.0.7, `sast-report-format.json`), which GitLab
shows in the merge request's security widget and the vulnerability report. One vulnerability
per finding that counts (suppressed and baselined ones are left out: GitLab has no place for
them), identified by our rule id, located relative to the repository root; files that could
not be scanned and suppressions added by the change are `scan.messages`. The tests validate
it against the published schema (tests/vendor/gitlab)."""

from __future__ import annotations

import datetime
import uuid

from checks import __version__
from checks.report import active, added_suppressions, json_text

SCHEMA_VERSION = "15.0.7"
SCHEMA = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/sast-report-format.json"
)
TOOL = {
    "id": "eks-checks",
    "name": "eks-checks",
    "url": "https://github.com/eks-checks/eks-checks",
    "vendor": {"name": "eks-checks"},
    "version": __version__,
}
SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}


def project_path(file: str, options: dict) -> str:
    """A finding's file as GitLab knows it: relative to the repository root."""
    from checks.filter import rooted_path

    root = options.get("root")
    return rooted_path(file, root) if root else file


def _time(value) -> str:
    moment = value or datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def render(result, options) -> str:
    from checks.filter import rooted_identity
    from checks.report.sarif import help_uri

    root = options.get("root")
    rules = {r.id: r for r in result.rules}
    vulnerabilities = []
    for f in active(result):
        rule = rules.get(f.rule_id)
        identifier = {"type": "eks-checks", "name": f"{f.rule_id} {f.slug}", "value": f.rule_id}
        uri = help_uri(rule) if rule is not None else ""
        if uri:
            identifier["url"] = uri
        vulnerability = {
            # stable across runs: GitLab tracks a vulnerability by it
            "id": str(uuid.UUID(hex=rooted_identity(f, root)[2] if root else f.fingerprint)),
            "name": f.title[:255],
            "description": f.message,
            "severity": SEVERITY[f.severity],
            "solution": f.remediation[:7000],
            "identifiers": [identifier],
            "location": {
                "file": project_path(f.location.file, options),
                "start_line": f.location.start_line,
                "end_line": f.location.end_line,
            },
        }
        links = [{"url": r} for r in f.references if r.startswith(("http://", "https://"))]
        if links:
            vulnerability["links"] = links
        vulnerabilities.append(vulnerability)
    messages = [
        {"level": "fatal" if p.level == "error" else "info", "value": f"{p.file}: {p.message}"}
        for p in result.problems
    ]
    messages += [
        {
            "level": "warn",
            "value": f"{f.location.file}:{f.location.start_line}: {f.rule_id} suppressed by this "
            f"change: {f.suppressed}",
        }
        for f in added_suppressions(result)
    ]
    scan = {
        "analyzer": TOOL,
        "scanner": TOOL,
        "type": "sast",
        "start_time": _time(options.get("started")),
        "end_time": _time(options.get("ended")),
        "status": "failure" if any(p.level == "error" for p in result.problems) else "success",
    }
    if messages:
        scan["messages"] = messages
    return json_text(
        {
            "version": SCHEMA_VERSION,
            "schema": SCHEMA,
            "scan": scan,
            "vulnerabilities": vulnerabilities,
        }
    )
