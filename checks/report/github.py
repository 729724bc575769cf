"""GitHub Actions workflow annotations (`::error file=...,line=...::message`).

Picked automatically when GITHUB_ACTIONS=true and no --format is given.
"""

from __future__ import annotations

from checks.model import SEVERITIES
from checks.report import active, added_suppressions
from checks.report.text import summary
from checks.safetext import safe_text

# a workflow command is ::error, ::warning or ::notice (SARIF's `note`)
COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def _data(text: str) -> str:
    return safe_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(result, options) -> str:
    lines = []
    for f in active(result):
        loc = f.location
        title = f"{f.rule_id} {f.slug}"
        command = COMMANDS[SEVERITIES[f.severity].sarif_level]
        lines.append(
            f"::{command} file={_prop(loc.file)},line={loc.start_line},"
            f"endLine={loc.end_line},title={_prop(title)}::{_data(f.message)}"
        )
    for f in added_suppressions(result):
        loc = f.location
        lines.append(
            f"::notice file={_prop(loc.file)},line={loc.start_line},endLine={loc.end_line},"
            f"title={_prop(f'{f.rule_id} suppressed by this change')}::"
            f"{_data(f'{f.message} (reason: {f.suppressed})')}"
        )
    for p in result.problems:
        level = "error" if p.level == "error" else "notice"
        where = f"file={_prop(p.file)}" + (f",line={p.line}" if p.line else "")
        lines.append(f"::{level} {where},title=eks-checks::{_data(p.message)}")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"
