"""Inline suppression comments, collected while the file's text is in hand (no re-read).

    # eks-checks: ignore[EKS202] the GPU nodes need it, until=2027-01-31
    // eks-checks: ignore[EKS101,EKS102] reason

A comment alone on its line applies to the next line that is not a comment or blank (the
attribute or the block below it); a comment after code applies to that line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT = re.compile(r"(?:#|//)\s*eks-checks:\s*ignore\[([^\]]*)\]\s*(.*?)\s*$")
_UNTIL = re.compile(r"\buntil=(\S+)")


@dataclass(frozen=True)
class Suppression:
    rules: tuple[str, ...]
    reason: str
    until: str  # "" or the expiry date as written
    line: int  # where the comment is
    target: int  # the line it applies to


def parse_suppression(rules_text: str, rest: str, line: int, target: int) -> Suppression:
    until = ""
    m = _UNTIL.search(rest)
    if m:
        until = m.group(1)
        rest = (rest[: m.start()] + rest[m.end() :]).strip()
    reason = rest.strip(" ,;:-")
    rules = tuple(r.strip().upper() for r in rules_text.split(",") if r.strip())
    return Suppression(rules, reason, until, line, target)


def find_suppressions(text: str) -> list[Suppression]:
    if "eks-checks:" not in text:
        return []
    lines = text.split("\n")
    found = []
    for index, line in enumerate(lines):
        if "eks-checks:" not in line:
            continue
        m = _COMMENT.search(line)
        if not m:
            continue
        before = line[: m.start()].strip()
        target = index
        if not before:
            target = index + 1
            while target < len(lines) and (
                not lines[target].strip() or lines[target].lstrip().startswith(("#", "//"))
            ):
                target += 1
        found.append(parse_suppression(m.group(1), m.group(2), index + 1, target + 1))
    return found
