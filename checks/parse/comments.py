"""Inline suppression comments, collected while the file's text is in hand (no re-read).

    # eks-checks: ignore[EKS202] the GPU nodes need it, until=2027-01-31
    // eks-checks: ignore[EKS101,EKS102] reason

A comment alone on its line applies to the next line that is not a comment or blank (the
attribute or the block below it); a comment after code applies to that line.

Only real comments count, found by each format's own tokenizer: HCL comments (`#`, `//`) and
YAML comments, never text inside a string, a block scalar or a heredoc; JSON has no comments,
so none. The one exception is documented: the YAML that an aws-auth `mapRoles`, `mapUsers`
or `mapAccounts` holds (a block scalar, or a heredoc in Terraform) is a document of its own,
and its comments are comments too.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_SUPPRESSION = re.compile(r"(?:#|//)[ \t]*eks-checks:[ \t]*ignore\[([^\]\n]*)\]([^\n]*)")
_UNTIL = re.compile(r"\buntil=(\S+)")
_MAP_KEYS = ("mapRoles", "mapUsers", "mapAccounts")


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
    reason = rest.strip(" \t,;:-")
    rules = tuple(r.strip() for r in rules_text.split(",") if r.strip())  # as written
    return Suppression(rules, reason, until, line, target)


def find_suppressions(text: str, kind: str = "terraform") -> list[Suppression]:
    """The suppressions written in real comments of `text`, a file of source kind `kind`
    (`terraform`, `tfvars`, `yaml`, `json`), in linear time."""
    if "eks-checks:" not in text or kind == "json":
        return []  # JSON has no comments
    if kind == "tfvars" and text.lstrip().startswith("{"):
        return []  # nor has a .tfvars.json file
    starts = sorted(_yaml_comments(text) if kind == "yaml" else _hcl_comments(text))
    found = [(start, m) for start in starts if (m := _SUPPRESSION.match(text, start))]
    if not found:
        return []
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:  # 0-based
        return bisect.bisect_right(newlines, pos)

    def alone(pos: int) -> bool:
        line = line_of(pos)
        return not text[newlines[line - 1] + 1 if line else 0 : pos].strip()

    lines = text.split("\n")
    comment_lines = {line_of(start) for start in starts if alone(start)}
    # each line's next line that is neither blank nor a comment, in one pass from the end
    next_code = [len(lines)] * (len(lines) + 1)
    for index in range(len(lines) - 1, -1, -1):
        code = lines[index].strip() and index not in comment_lines
        next_code[index] = index if code else next_code[index + 1]
    out = []
    for start, m in found:
        line = line_of(start)
        target = next_code[line + 1] if alone(start) else line
        out.append(parse_suppression(m.group(1), m.group(2).strip(), line + 1, target + 1))
    return out


def _hcl_comments(text: str) -> list[int]:
    """Where HCL's comments start, as our HCL tokenizer reads the file; in the heredoc of an
    aws-auth map, the comments of the YAML it holds too. A file the tokenizer does not take
    is left to python-hcl2, which keeps no comments: no suppression is read from it then."""
    from checks.parse import ParseError, hclsyntax

    comments: list[tuple[int, int]] = []
    try:
        toks = hclsyntax.tokenize(text if text.endswith("\n") else text + "\n", comments)
    except (hclsyntax.Unsupported, ParseError):
        return []
    starts = [start for start, _end in comments]
    for index, tok in enumerate(toks):
        if tok[0] == "heredoc" and _holds_aws_auth_map(toks, index):
            body = text.index("\n", tok[2]) + 1
            closing = text.rfind("\n", tok[2], tok[3] - 1) + 1
            starts += [body + at for at in _yaml_comments(text[body:closing])]
    return starts


def _holds_aws_auth_map(toks: list[tuple], index: int) -> bool:
    """Whether the heredoc at `index` is the value of a `mapRoles`/... key (`mapRoles =` or
    `"mapRoles" :`)."""
    if index < 2 or toks[index - 1][0] != "op" or toks[index - 1][1] not in ("=", ":"):
        return False
    key = toks[index - 2]
    if key[0] == "name":
        return key[1] in _MAP_KEYS
    return (
        index >= 4 and key[0] == "send" and toks[index - 3][0] == "chars"
        and toks[index - 3][1] in _MAP_KEYS and toks[index - 4][0] == "sbeg"
    )  # fmt: skip


def _yaml_comments(text: str) -> list[int]:
    """Where YAML's comments start: a `#` after whitespace that no scalar or alias of the YAML
    parser holds (nothing else in YAML can hold one). Past a syntax error nothing is certain,
    so nothing after the last node counts. The block scalar of an aws-auth map is read again
    as the YAML document it is."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spans: list[tuple[int, int]] = []
    maps: list[tuple[int, int]] = []
    # per open collection: [a mapping, its next node is a key, the key being read]
    frames: list[list] = []
    limit = len(text)
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.CollectionEndEvent, yaml.DocumentEndEvent)):
                if frames and isinstance(event, yaml.CollectionEndEvent):
                    frames.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            frame = frames[-1] if frames else None
            key = frame is not None and frame[0] and frame[1]
            if frame is not None and frame[0]:
                frame[1] = not frame[1]
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                start, end = event.start_mark.index, event.end_mark.index
                if end > start:
                    spans.append((start, end))
                if key:
                    frame[2] = getattr(event, "value", None)
                elif (
                    frame is not None
                    and frame[0]
                    and frame[2] in _MAP_KEYS
                    and getattr(event, "style", None) in ("|", ">")
                ):
                    maps.append((text.find("\n", start) + 1, end))
            else:
                frames.append([isinstance(event, yaml.MappingStartEvent), True, None])
    except yaml.YAMLError:
        limit = max((end for _start, end in spans), default=0)
    starts = []
    held = 0  # index into spans: the first span that may still hold a later `#`
    for m in re.finditer(r"(?:^|(?<=[ \t]))#", text[:limit], re.M):
        pos = m.start()
        while held < len(spans) and spans[held][1] <= pos:
            held += 1
        if held == len(spans) or spans[held][0] > pos:
            starts.append(pos)
    for body, end in maps:
        if body:
            starts += [body + at for at in _yaml_comments(text[body:end])]
    return starts
