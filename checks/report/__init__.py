"""Report: one small module per output format, registered here."""

from __future__ import annotations

import importlib
import math
import re

from checks.model import SEVERITIES

FORMATS: dict[str, str] = {
    "text": "checks.report.text",
    "json": "checks.report.json_report",
    "sarif": "checks.report.sarif",
    "github": "checks.report.github",
    "junit": "checks.report.junit",
    "conftest": "checks.report.conftest",
    "gitlab-sast": "checks.report.gitlab_sast",
    "codequality": "checks.report.codequality",
}

# the formats of `eks-checks access`: render(graph, listing, scan result, options)
ACCESS_FORMATS: dict[str, str] = {
    "text": "checks.report.access_text",
    "json": "checks.report.access_json",
    "dot": "checks.report.access_dot",
    "mermaid": "checks.report.access_mermaid",
    "markdown": "checks.report.access_markdown",
}


def renderer(name: str):
    return importlib.import_module(FORMATS[name]).render


def access_renderer(name: str):
    return importlib.import_module(ACCESS_FORMATS[name]).render


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(doc) -> str:
    """JSON for any input, and only JSON: a lone surrogate (from a `\\ud800` escape in some
    input) cannot be written as UTF-8, so it becomes U+FFFD, and a number JSON cannot hold
    (infinite or not a number, from YAML's `.inf` or a literal too large for a float) becomes
    its name as a string ("inf", "-inf", "nan"); everything else is kept as it was."""
    import json

    # no indent: the C encoder is ten times faster, and machines read this
    try:
        text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    except ValueError:  # an infinity or a NaN somewhere: named, then written
        text = json.dumps(finite(doc), ensure_ascii=False, allow_nan=False)
    return _SURROGATE.sub("\ufffd", text) + "\n"


def finite(value):
    """A copy of a JSON-ready value where infinite and NaN numbers are strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # inf, -inf, nan
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 finding`, `2 findings`: the count and the noun it takes (`nouns`, else noun + s)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def counts_by_severity(findings) -> dict[str, int]:
    out = {name: 0 for name in reversed(SEVERITIES)}  # the most severe first
    for f in findings:
        out[f.severity] += 1
    return out


def reported(result) -> list:
    """Findings a report lists: baselined ones are known and left out (but counted)."""
    return [f for f in result.findings if not f.baselined]


def added_suppressions(result) -> list:
    """Suppressed findings whose suppression the --baseline does not hold: added by the
    change under review, listed in every report's summary."""
    return [f for f in result.findings if f.new_suppression]


def skipped_files(result) -> int:
    """How many files or folders were not read at all (notes that skip them)."""
    return sum(1 for p in result.problems if p.skips_file)


def notes(result) -> int:
    """How many other notes (suppressions that do not apply, values not read...)."""
    return sum(1 for p in result.problems if p.level != "error" and not p.skips_file)


def active(result) -> list:
    """Findings that count against the gate: neither suppressed nor in the baseline."""
    return [f for f in result.findings if f.suppressed is None and not f.baselined]
