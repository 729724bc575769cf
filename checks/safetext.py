"""Text that came from the scanned files, made safe to show: one line that a terminal, a CI
log or an XML file shows as written and never acts on. Every human-readable output uses it
(reports, rule documentation, the command line's messages)."""

from __future__ import annotations

import re

# C0 and C1 controls (newlines and tabs too), DEL, the bidirectional controls that reorder
# what a reader sees (U+061C, U+200E/F, U+202A-E, U+2066-9), the line and paragraph
# separators, lone surrogates, and what XML 1.0 forbids
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    char = match.group(0)
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def safe_text(text: str) -> str:
    """Input-derived text as one line that a terminal, a log GitHub's runner reads, or an XML
    file shows as written and never acts on: every control character (newline and carriage
    return too), bidirectional control, line separator and lone surrogate becomes a visible
    escape (`\\n`, `\\x1b`, `\\u202e`). Every human-readable report uses it for values and
    file names alike."""
    return _UNSAFE.sub(_escape, text)


def safe_lines(text: str) -> str:
    """`safe_text` for text whose own lines are meant (a rule's remediation): each line is
    escaped, the line breaks stay."""
    return "\n".join(safe_text(line) for line in text.split("\n"))
