"""Text output: findings grouped by file, `path:line  ID  severity  message`, then a summary."""

from __future__ import annotations

from checks.report import (
    active,
    added_suppressions,
    counts_by_severity,
    notes,
    plural,
    skipped_files,
)
from checks.report.snippets import Sources, text_snippet
from checks.safetext import safe_text

_COLORS = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "error": "\033[1;31m",
    "note": "\033[2m",
}
_RESET = "\033[0m"


def render(result, options) -> str:
    color = options.get("color", False)

    def paint(level: str, text: str) -> str:
        return f"{_COLORS[level]}{text}{_RESET}" if color else text

    lines: list[str] = []
    sources = Sources(result, options.get("max_bytes")) if options.get("snippets") else None
    by_file: dict[str, list] = {}
    for f in active(result):
        by_file.setdefault(f.location.file, []).append(f)
    for p in result.problems:
        by_file.setdefault(p.file, []).append(p)
    for file in sorted(by_file):
        lines.append(safe_text(file))
        for item in sorted(by_file[file], key=_order):
            if hasattr(item, "rule_id"):
                lines.append(
                    f"  {safe_text(file)}:{item.location.start_line}  {item.rule_id}  "
                    f"{paint(item.severity, item.severity)}  {safe_text(item.message)}"
                )
                if sources is not None:
                    lines += text_snippet(
                        sources.lines(file),
                        item.location.start_line,
                        item.location.end_line,
                        lambda carets, level=item.severity: paint(level, carets),
                    )
                if item.path:
                    lines.append("      path:")
                for number, hop in enumerate(item.path, 1):
                    lines.append(
                        f"        {number}. {safe_text(hop.location.file)}:"
                        f"{hop.location.start_line}  {safe_text(hop.message)}"
                    )
                on_path = {(h.location, h.message) for h in item.path}
                for rel in item.related:
                    if (rel.location, rel.message) in on_path:
                        continue
                    lines.append(
                        f"      see {safe_text(rel.location.file)}:{rel.location.start_line}  "
                        f"{safe_text(rel.message)}"
                    )
            else:
                where = f"{safe_text(file)}:{item.line}" if item.line else safe_text(file)
                lines.append(
                    f"  {where}  {paint(item.level, item.level)}  {safe_text(item.message)}"
                )
        lines.append("")
    added = added_suppressions(result)
    if added:
        lines.append("suppressed by this change (the baseline does not hold these suppressions):")
        for f in added:
            lines.append(
                f"  {safe_text(f.location.file)}:{f.location.start_line}  {f.rule_id}  "
                f"{paint(f.severity, f.severity)}  {safe_text(f.message)}  "
                f"(reason: {safe_text(f.suppressed or '')})"
            )
        lines.append("")
    if options.get("show_unknown"):
        for s in result.skipped:
            reason = "; ".join(s.reasons) or "a value is unknown"
            lines.append(
                f"{safe_text(s.location.file)}:{s.location.start_line}  {s.rule_id}  unknown  "
                f"{safe_text(reason)}"
            )
        if result.skipped:
            lines.append("")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def _order(item) -> tuple:
    if hasattr(item, "rule_id"):
        return (item.location.start_line, item.rule_id)
    return (item.line, "")


def summary(result) -> str:
    """One line: findings by severity, files scanned, and what else happened."""
    current = active(result)
    counts = counts_by_severity(current)
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    text = plural(len(current), "finding")
    if parts:
        text += f" ({', '.join(parts)})"
    text += f" in {plural(len(result.files), 'file')} scanned"
    suppressed = sum(1 for f in result.findings if f.suppressed is not None and not f.baselined)
    if suppressed:
        text += f"; {suppressed} suppressed"
        added = len(added_suppressions(result))
        if added:
            text += f" ({added} by this change)"
    baselined = sum(1 for f in result.findings if f.baselined)
    if baselined:
        text += f"; {baselined} in the baseline"
    errors = sum(1 for p in result.problems if p.level == "error")
    if errors:
        text += f"; {plural(errors, 'file')} could not be scanned"
    skipped = skipped_files(result)
    if skipped:
        text += f"; {skipped} skipped"
    other = notes(result)
    if other:
        text += f"; {plural(other, 'note')}"
    if result.skipped:
        text += (
            f"; {plural(len(result.skipped), 'check')} undecided "
            "(unknown values, see --show-unknown)"
        )
    return text
