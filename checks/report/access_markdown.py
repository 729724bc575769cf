"""`eks-checks access --format markdown`: for `$GITHUB_STEP_SUMMARY` and pull-request
comments, a table of the paths (power, entry point, hops) and the Mermaid diagram."""

from __future__ import annotations

import re

from checks.report import plural
from checks.report.access_mermaid import flowchart
from checks.report.access_text import summary
from checks.safetext import safe_text

# what could start markup inside a table cell: emphasis, code, links, strikethrough, a column
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def cell(text: str) -> str:
    """Text as a table cell shows it and nothing more: no markup, link, autolink, HTML or
    column (what the input holds is data, written by whoever wrote the files)."""
    text = safe_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    # GitHub turns `https://...` and `www.` into links: not when they are entities
    return text.replace("://", "&#58;//").replace("www.", "www&#46;")


def render(graph, found, result, options: dict) -> str:
    lines = ["## Access paths", ""]
    if not found.groups:
        lines += ["No path from an entry point to a power.", ""]
    else:
        lines += ["| power | entry point | hops | path |", "|---|---|---|---|"]
        for group in found.groups:
            for path in group.paths:
                steps = " → ".join(
                    cell(f"{e.location.file}:{e.location.start_line}") for e in path.edges
                )
                known = "" if path.known is True else " (through a hop not known)"
                lines.append(
                    f"| {cell(group.power.label)} | {cell(path.entry.label)}{known} | "
                    f"{len(path.edges)} | {steps} |"
                )
            if group.more:
                more = plural(group.more, "more path")
                lines.append(f"| {cell(group.power.label)} | … {more} | | |")
        lines += ["", "```mermaid", *flowchart(graph, found), "```", ""]
    lines.append(cell(summary(found, result)))
    return "\n".join(lines) + "\n"
