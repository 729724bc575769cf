"""`eks-checks access` as text: one block per power, the most dangerous first; under it each
entry point and the hops of its shortest path, `file:line  what the hop is`; a summary."""

from __future__ import annotations

from checks.model import Unknown
from checks.report import notes, plural, skipped_files
from checks.safetext import safe_text

_BOLD, _RED, _DIM, _RESET = "\033[1m", "\033[31m", "\033[2m", "\033[0m"


def render(graph, found, result, options: dict) -> str:
    color = options.get("color", False)

    def paint(style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if color else text

    lines: list[str] = []
    for group in found.groups:
        title = safe_text(group.power.label)
        lines.append(paint(_BOLD + _RED if group.power.power == "cluster-admin" else _BOLD, title))
        for path in group.paths:
            entry = safe_text(path.entry.label)
            notes = []
            if path.others:
                notes.append(f"{plural(path.others, 'more parallel path')}")
            if isinstance(path.known, Unknown):
                notes.append(f"through a hop not known: {safe_text(path.known.reason)}")
            suffix = f"  ({'; '.join(notes)})" if notes else ""
            lines.append(f"  {entry}{suffix}")
            for number, edge in enumerate(path.edges, 1):
                mark = "?" if edge.known is not True else " "
                where = f"{safe_text(edge.location.file)}:{edge.location.start_line}"
                lines.append(f"   {mark}{number}. {where}  {safe_text(edge.message)}")
        if group.more:
            lines.append(
                paint(_DIM, f"  ... and {plural(group.more, 'more path')} (--limit 0 lists all)")
            )
        lines.append("")
    # what could not be read is said; notes (files skipped...) are counted: `scan` lists them
    errors = [p for p in result.problems if p.level == "error"]
    for problem in errors:
        where = (
            f"{safe_text(problem.file)}:{problem.line}" if problem.line else safe_text(problem.file)
        )
        lines.append(f"{where}  {problem.level}  {safe_text(problem.message)}")
    if errors:
        lines.append("")
    lines.append(summary(found, result))
    return "\n".join(lines) + "\n"


def summary(found, result) -> str:
    """One line: paths, entry points and powers, files read, and what is not shown."""
    text = (
        f"{plural(found.paths, 'path')} from {plural(found.entries, 'entry point')} to "
        f"{plural(len(found.groups), 'power')} in {plural(len(result.files), 'file')} scanned"
    )
    if found.hidden_unknown:
        text += (
            f"; {plural(found.hidden_unknown, 'more path')} through hops not known "
            "(see --show-unknown)"
        )
    elif found.unknown:
        text += f"; {found.unknown} through hops not known"
    errors = sum(1 for p in result.problems if p.level == "error")
    if errors:
        text += f"; {plural(errors, 'file')} could not be scanned"
    if found.not_walked:
        text += (
            f"; {plural(found.not_walked, 'entry point')} not walked (the graph is too large "
            "to walk within the limits: narrow it with --from)"
        )
    skipped = skipped_files(result)
    if skipped:
        text += f"; {skipped} skipped"
    other = notes(result)
    if other:
        text += f"; {plural(other, 'note')} (eks-checks scan lists them)"
    return text
