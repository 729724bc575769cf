"""Parsers: one per syntax, each a pure function from text to documents and problems
(which parser reads which file is said by the registry of sources, `checks.sources`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import sys
from numbers import Number  # stdlib's: `checks.parse.numbers` is ours

from checks.model import Unknown


class ParseError(Exception):
    """Raised by a parser for input it cannot read; `line` is 0 when unknown. `guard` marks
    input refused as hostile (alias bombs, deep nesting, Python tags) rather than malformed:
    such a file is an error whatever it looks like."""

    def __init__(self, message: str, line: int = 0, guard: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.guard = guard
        # a YAML stream that composed and failed later: its documents' nodes, else None
        self.composed: list | None = None


EXCERPT = 80


def kind_in_words(value: object) -> str:
    """What a parsed value is, in YAML's and JSON's words, for a message about a value of the
    wrong kind (`a mapping`, not `LDict`)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Number):  # YAML's decimals too
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else "a value"


def wrong_kind(shown: str, value: object, expected: str) -> str:
    """A problem's words for a value written at `shown` that is not of the kind `expected`
    (`accessConfig: a list, not a mapping`)."""
    return f"{shown}: {kind_in_words(value)}, not {expected}"


def written_wrongly(shown: str) -> Unknown:
    """What stands for a value written in the wrong kind at `shown`: the tool cannot know what
    was meant, so the rules that read it are undecided."""
    return Unknown(f"{shown} is written wrongly", shown)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """Input quoted in a message: at most `limit` characters, with control and other
    non-printable characters escaped, so that an error never carries a file's contents."""
    shown = repr(text[:limit])[1:-1]
    return shown + "..." if len(text) > limit else shown


def read_regular_file(path: str, limit: int) -> bytes:
    """At most `limit` + 1 bytes of a regular file (the caller refuses more); OSError for
    anything else: a FIFO would block the read, a device never end it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read(limit + 1)


def check_depth(value: object, limit: int) -> bool:
    """True when a loaded value (dicts and lists) is nested no deeper than `limit`; walked
    without recursion, for what a parser built without a nesting check (TOML table headers)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return True


MAX_NESTING = 500
# The Python frames our recursive readers take: about 7 per level in the HCL reader, 5 in the
# JSON decoder that keeps lines, and what calls them. Python's default limit (1000) would
# stop them near 150 levels, far below MAX_NESTING, with no line to say where.
STACK_FRAMES = MAX_NESTING * 10 + 1000


def ensure_stack() -> None:
    """Let a recursive reader reach MAX_NESTING, where its nesting guard names the line. The
    limit only grows (a process-wide setting); the frames it allows are Python's own, which
    Python 3.11 keeps off the C stack."""
    if sys.getrecursionlimit() < STACK_FRAMES:
        sys.setrecursionlimit(STACK_FRAMES)


# Configuration and rule files: their readers (the schema validator, the rule evaluator)
# recurse over every level, and no real file comes near this.
MAX_SETTINGS_NESTING = 64
# The expanded size (nodes, counting every alias use) a YAML file may reach, all its documents
# and the YAML strings embedded in it together.
MAX_EXPANDED_NODES = 500_000


class BudgetSpent(ParseError):
    """YAML with aliases in a file whose alias budget an earlier document or string spent:
    refused without a second report (the first one names the file)."""


class ExpansionBudget:
    """The expanded nodes one file may still build through YAML aliases: shared by the
    documents of its stream and, when a normalizer passes it on, by the YAML strings embedded in
    the file (aws-auth `map*`, heredocs), so that many documents each under the limit cannot
    add up. Here, not beside the YAML parser, so that holding one does not import PyYAML."""

    def __init__(self, nodes: int = MAX_EXPANDED_NODES) -> None:
        self.nodes = nodes


# what the nesting scan looks at: brackets, quotes, newlines, and escapes (a backslash with
# the character after it, so that an escaped quote never ends a string)
_NESTING_CHARS = re.compile(r'\\.|[\[\]{}"\n]', re.S)


# a double-quoted string, which ends at its closing quote or at the end of its line
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\[^\n]|\\(?![^\n]))*(?:"|$)', re.M)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def check_nesting(text: str, what: str, line_offset: int = 0, limit: int = MAX_NESTING) -> None:
    """Refuse `[`/`{` nesting deeper than `limit`, before any recursive parser or walker sees
    the text. Double-quoted strings are skipped; a closing bracket with nothing open is
    ignored. The depth is found at C speed (strings and text cut away by regexes, the running
    depth accumulated); only a file over the limit is walked again to name the line."""
    if text.count("[") + text.count("{") < limit:
        return
    from itertools import accumulate

    brackets = _NOT_BRACKET.sub("", _QUOTED.sub("", text))
    steps = map(_STEP.__getitem__, brackets)
    deepest = max(accumulate(steps, lambda d, step: d + step if d + step > 0 else 0, initial=0))
    if deepest <= limit:
        return
    depth = 0
    in_string = False
    for m in _NESTING_CHARS.finditer(text):
        ch = m.group()
        if len(ch) == 2:  # a backslash and the character after it
            ch = ch[1]
            if in_string and ch != "\n":
                continue  # escaped inside a string: never a closing quote
        if ch == "\n":
            in_string = False  # no format here has multi-line double-quoted strings that matter
        elif in_string:
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                raise ParseError(
                    f"{what} nested deeper than {limit} levels", line + line_offset, guard=True
                )
        elif ch in "]}":
            depth = max(0, depth - 1)


def text_digest(*texts: str) -> bytes:
    """One short digest of texts, in order (each one's length first: no two lists of texts
    give the same bytes): what a per-process memo of copies keys a text by, so that it does
    not keep the text."""
    h = hashlib.blake2b(digest_size=16)
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()
