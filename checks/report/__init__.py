"""Report: one small module per output format, registered here."""

from __future__ import annotations

import importlib
import re

from checks.model import SEVERITIES

FORMATS: dict[str, str] = {
    "text": "checks.report.text",
    "json": "checks.report.json_report",
    "sarif": "checks.report.sarif",
    "github": "checks.report.github",
    "junit": "checks.report.junit",
    "conftest": "checks.report.conftest",
}


def renderer(name: str):
    return importlib.import_module(FORMATS[name]).render


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def safe_text(text: str) -> str:
    """Input-derived text for a terminal or XML: control characters (and the code points XML
    1.0 forbids) become visible escapes; newlines and tabs stay."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(doc) -> str:
    """JSON for any input: a lone surrogate (from a `\\ud800` escape in some input) cannot be
    written as UTF-8, so it becomes U+FFFD; everything else is kept as it was."""
    import json

    # no indent: the C encoder is ten times faster, and machines read this
    return _SURROGATE.sub("\ufffd", json.dumps(doc, ensure_ascii=False)) + "\n"


def counts_by_severity(findings) -> dict[str, int]:
    out = {name: 0 for name in reversed(SEVERITIES)}  # the most severe first
    for f in findings:
        out[f.severity] += 1
    return out


def reported(result) -> list:
    """Findings a report lists: baselined ones are known and left out (but counted)."""
    return [f for f in result.findings if not f.baselined]


def active(result) -> list:
    """Findings that count against the gate: neither suppressed nor in the baseline."""
    return [f for f in result.findings if f.suppressed is None and not f.baselined]
