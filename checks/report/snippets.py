"""The source lines of findings, for text output (the offending lines under each finding, with
their numbers and a caret underline) and SARIF (`region.snippet`, `contextRegion`).

Files are read again at report time, only those with findings, each once, with the scan's
guards (regular files only, the size limit, UTF-8); a file that cannot be read gets no snippet.
"""

from __future__ import annotations

SHOWN_LINES = 5  # lines of a finding's span shown in text output; the rest are counted
SHOWN_WIDTH = 160  # characters of a line shown in text output (after escaping)
CONTEXT_LINES = 2  # lines around a SARIF region in its contextRegion
SARIF_MAX_LINES = 50  # a longer region or context gets no snippet
SARIF_MAX_CHARS = 10_000


class Sources:
    """The lines of the scanned files, read on demand, once each."""

    def __init__(self, result, max_bytes: int | None = None) -> None:
        from checks.discover import DEFAULT_MAX_BYTES

        self.paths = {f.display: f.path for f in result.files}
        self.max_bytes = max_bytes or DEFAULT_MAX_BYTES
        self.read: dict[str, list[str] | None] = {}

    def lines(self, display: str) -> list[str] | None:
        if display not in self.read:
            from checks.discover import read_text

            path = self.paths.get(display)
            text = read_text(path, self.max_bytes)[0] if path is not None else None
            self.read[display] = text.split("\n") if text is not None else None
        return self.read[display]


def text_snippet(lines: list[str] | None, start: int, end: int, paint=None) -> list[str]:
    """The lines `start`..`end` (1-based) as text output shows them under a finding: numbered,
    escaped, the first one underlined with carets (`paint(text)` colours them)."""
    from checks.safetext import safe_text

    if not lines or start < 1 or start > len(lines):
        return []
    end = min(max(end, start), len(lines))
    last = min(end, start + SHOWN_LINES - 1)
    width = len(str(last))
    out = []
    for number in range(start, last + 1):
        shown = safe_text(lines[number - 1].expandtabs(4))
        if len(shown) > SHOWN_WIDTH:
            shown = shown[:SHOWN_WIDTH] + "..."
        out.append(f"    {number:>{width}} | {shown}".rstrip())
        if number == start:
            body = shown.rstrip()
            indent = len(body) - len(body.lstrip())
            carets = "^" * max(1, len(body) - indent)
            out.append(f"    {'':>{width}} | {' ' * indent}{paint(carets) if paint else carets}")
    if end > last:
        more = end - last
        out.append(f"    {'':>{width}} | ... {more} more line{'s' if more != 1 else ''}")
    return out


def sarif_region(lines: list[str] | None, start: int, end: int) -> tuple[dict, dict | None]:
    """(what to add to a SARIF region: its `snippet`, or nothing; the `contextRegion`, or
    None): the text as it is in the file, for regions small enough to carry."""
    if not lines or start < 1 or start > len(lines):
        return {}, None
    end = min(max(end, start), len(lines))

    def text(first: int, last: int) -> str | None:
        if last - first + 1 > SARIF_MAX_LINES:
            return None
        chunk = "\n".join(lines[first - 1 : last]) + "\n"
        return chunk if len(chunk) <= SARIF_MAX_CHARS else None

    own = text(start, end)
    region = {"snippet": {"text": own}} if own is not None else {}
    first, last = max(1, start - CONTEXT_LINES), min(len(lines), end + CONTEXT_LINES)
    around = text(first, last)
    if around is None:
        return region, None
    return region, {"startLine": first, "endLine": last, "snippet": {"text": around}}
