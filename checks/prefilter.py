"""Parse only what can matter: a cheap look at each Terraform file's top-level blocks, so that
blocks no rule can use (VPCs, buckets, databases: most of an infrastructure repository) are
never given to the HCL parser.

The decision is per module directory, because a relevant block may refer to any block of its
module: we keep every block the normalizer reads (`checks/tfcatalog.py`), the `module` calls
it reads (of modules whose inputs a reader knows, of local modules, and of any module once
`terraform init` has downloaded them), the `output` blocks of a module that a caller reads,
and then, until nothing changes, every block that a
kept block names (`aws_s3_bucket.logs.bucket`, `data.aws_iam_policy_document.x`, `var.x`,
`local.y`), found in its text and read as the evaluator reads references
(`checks/parse/hcltree.py`). Dropped blocks become blank lines, so every line number
stays what it was. The splitter is line based (the layout `terraform fmt` writes); when it is
unsure of a file (unbalanced braces, a block that does not start at column 0), the file is
kept whole. A dropped block must still be valid HCL and a kept one must end where the splitter
says, or the file is kept whole too (see `_valid_block`): the answer, problems included, is
the one the whole file gives. `--no-prefilter` turns all of this off; tests assert it changes
no finding and no problem.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from checks.parse import text_digest
from checks.parse.hcltree import declared, local_address, references_in, target
from checks.tfcatalog import (
    KNOWN_MODULE_SOURCES,
    NULL_LABEL_SOURCE,
    data_is_read,
    is_local_module,
    resource_is_read,
)

_HEADER = re.compile(r'^([A-Za-z_][\w-]*)((?:\s+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*)\s*\{')
_LABEL = re.compile(r'"([^"\n]*)"|([A-Za-z_][\w-]*)')
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][\w.-]*)\s*$")
_COMMENT = re.compile(r"(#|//).*$")
# `module` calls are kept when they call a module whose inputs we read, a local one, or
# cloudposse's label (whose `enabled` output gates every cloudposse module).
_MODULE_SOURCE = re.compile(r'^\s*source\s*=\s*"([^"\n]*)"', re.M)
_LOCAL_NAME = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=", re.M)


@dataclass(frozen=True)
class Reading:
    """What a module is read for besides its own blocks: `outputs` when a caller reads them
    (a module called by another), `every_module_call` when each call's module is on disk
    (`terraform init` downloaded them)."""

    outputs: bool = False
    every_module_call: bool = False


ROOT = Reading()


@dataclass
class TopBlock:
    type: str
    labels: list[str]
    start: int  # 0-based line index of the header
    end: int  # 0-based line index of the closing brace
    begin: int = 0  # offset of the header line in the text
    stop: int = 0  # offset of the end of the closing brace's line (its newline, if any)

    @property
    def address(self) -> str | None:
        """The address references name this block by (`var.x`, `t.n`, `data.t.n`)."""
        return declared(self.type, self.labels)

    @property
    def declares(self) -> str | None:
        """The name the block declares, which the module may declare only once (its address,
        or an output's, a module call's, a provider's)."""
        if self.type in ("output", "module", "provider") and len(self.labels) == 1:
            return f"{self.type} {self.labels[0]}"
        return self.address

    def relevant(self, lines: list[str], reading: Reading) -> bool:
        if any("\\" in label for label in self.labels):
            return True  # an escape in a label: what it reads as is left to the parser
        if self.type == "module":
            if reading.every_module_call:
                return True
            body = "\n".join(lines[self.start : self.end + 1])
            if "\\" in body:
                return True
            return any(
                is_local_module(source)
                or KNOWN_MODULE_SOURCES.search(source)
                or NULL_LABEL_SOURCE.search(source)
                for source in _MODULE_SOURCE.findall(body)
            )
        if self.type == "output":
            return reading.outputs
        if self.type == "resource" and self.labels:
            return resource_is_read(self.labels[0])
        if self.type == "data" and self.labels:
            return data_is_read(self.labels[0])
        return False


# a file copied into many modules is split once: its blocks by the text's digest (they are
# read, never changed); emptied when it holds _SPLIT_MAX files
_SPLIT: dict[bytes, tuple[TopBlock, ...] | None] = {}
_SPLIT_MAX = 1024


def _split_text(text: str) -> tuple[TopBlock, ...] | None:
    """`split` of a file's text."""
    key = text_digest(text)
    if key not in _SPLIT:
        if len(_SPLIT) >= _SPLIT_MAX:
            _SPLIT.clear()
        blocks = split(text.split("\n"))
        _SPLIT[key] = None if blocks is None else tuple(blocks)
    return _SPLIT[key]


def split(lines: list[str]) -> list[TopBlock] | None:
    """The top-level blocks of a file, or None when the layout is not the usual one."""
    blocks: list[TopBlock] = []
    depth = 0
    heredoc: str | None = None
    in_comment = False
    current: TopBlock | None = None
    offset = 0  # where the line starts in the text
    for index, line in enumerate(lines):
        begin, offset = offset, offset + len(line) + 1
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if in_comment:
            if "*/" in line:
                in_comment = False
            continue
        code = _STRING.sub('""', line) if '"' in line else line
        if "#" in code or "//" in code:
            code = _COMMENT.sub("", code)
        if "/*" in code:
            before, _, after = code.partition("/*")
            if "*/" not in after:
                in_comment = True
            code = before
        if depth == 0:
            stripped = code.strip()
            if not stripped:
                continue
            m = _HEADER.match(line)
            if not m:
                return None
            labels = [a or b for a, b in _LABEL.findall(m.group(2))]
            current = TopBlock(m.group(1), labels, index, index, begin)
        depth += code.count("{") - code.count("}")
        if "<<" in code:
            found = _HEREDOC.search(code)
            if found:
                heredoc = found.group(1)
        if depth < 0:
            return None
        if depth == 0 and current is not None:
            current.end = index
            current.stop = offset - 1
            blocks.append(current)
            current = None
    if depth != 0 or heredoc is not None:
        return None
    return blocks


# modules copied whole into many folders (one per environment, or per chapter of a course)
# are filtered once per process: the answer depends on the texts, in order, and the reading
# only, never on the files' names. Kept by digest, as the lines each file blanks, so that the
# texts themselves are not held; emptied when it holds _FILTERED_MAX modules
_FILTERED: dict[tuple[bytes, Reading], tuple[tuple[tuple[int, int], ...], ...]] = {}
_FILTERED_MAX = 256


def filter_module(texts: dict[str, str], reading: Reading = ROOT) -> dict[str, str]:
    """For the files of one module (path -> text): each file's text with the blocks nothing
    can need blanked out. A file the splitter is unsure of comes back unchanged."""
    key = (text_digest(*texts.values()), reading)
    blanks = _FILTERED.get(key)
    if blanks is None:
        if len(_FILTERED) >= _FILTERED_MAX:
            _FILTERED.clear()
        blanks = _FILTERED[key] = _blanked(texts, reading)
    return {
        path: _blank(text, ranges)
        for (path, text), ranges in zip(texts.items(), blanks, strict=True)
    }


def _blank(text: str, ranges: tuple[tuple[int, int], ...]) -> str:
    """`text` with the lines of each (first, last) range (0-based) left empty."""
    if not ranges:
        return text
    lines = text.split("\n")
    for first, last in ranges:
        lines[first : last + 1] = [""] * (last + 1 - first)
    return "\n".join(lines)


def _blanked(texts: dict[str, str], reading: Reading) -> tuple[tuple[tuple[int, int], ...], ...]:
    """For each file of the module, in order, the line ranges of the blocks it drops (none
    when the file is read whole)."""
    lines = {path: text.split("\n") for path, text in texts.items()}
    splits = {path: _split_text(text) for path, text in texts.items()}
    keep: dict[str, set[int]] = {}
    pending: list[tuple[str, TopBlock]] = []
    # the address references use (`var.x`, `local.y`, `t.n`, `data.t.n`) -> where it is declared
    by_address: dict[str, list[tuple[str, int]]] = {}
    for path, blocks in splits.items():
        if blocks is None:
            # kept whole: what it names must be kept too
            pending.append((path, TopBlock("file", [], 0, len(lines[path]) - 1)))
            continue
        keep[path] = set()
        for i, block in enumerate(blocks):
            if block.address:
                by_address.setdefault(block.address, []).append((path, i))
            if block.type == "locals":
                body = "\n".join(lines[path][block.start + 1 : block.end])
                for name in _LOCAL_NAME.findall(body):
                    by_address.setdefault(local_address(name), []).append((path, i))
            if block.relevant(lines[path], reading):
                keep[path].add(i)
                pending.append((path, block))
    # a name declared twice is an error whatever the blocks hold: every declaration is read
    declarations: dict[str, list[tuple[str, int]]] = {}
    for path, blocks in splits.items():
        for i, block in enumerate(blocks or ()):
            if block.declares and not block.address:
                declarations.setdefault(block.declares, []).append((path, i))
    for places in [*by_address.values(), *declarations.values()]:
        if len(places) > 1:
            for where, i in places:
                if i not in keep[where]:
                    keep[where].add(i)
                    pending.append((where, splits[where][i]))
    # whatever a kept block names, anywhere in the module, is kept too
    while pending:
        path, block = pending.pop()
        body = "\n".join(lines[path][block.start : block.end + 1])
        named = []
        for text in references_in(body):
            found = target(text.split("."))
            if found is not None and found.address in by_address:
                named.append(by_address[found.address])
        for places in named:
            for where, i in places:
                if i not in keep[where]:
                    keep[where].add(i)
                    pending.append((where, splits[where][i]))
    out = []
    for path, text in texts.items():
        blocks = splits[path]
        if blocks is None:
            out.append(())
            continue
        dropped = [block for i, block in enumerate(blocks) if i not in keep[path]]
        kept = [block for i, block in enumerate(blocks) if i in keep[path]]
        # the answer must be the whole file's: blanked blocks that are surely valid, kept
        # blocks that surely end where the splitter says; anything less sure is read whole
        inexact = [block for block in kept if not _counted_exactly(lines[path], block)]
        sure = all(_valid_block(text, block) for block in dropped) and (
            not dropped or _ends_as_split(lines[path], inexact)
        )
        out.append(tuple((block.start, block.end) for block in dropped) if sure else ())
    return tuple(out)


# -- the check that blanking a block changes nothing --------------------------------------
# A blanked block must be valid HCL, or a syntax error in it would go unseen. Most blocks
# nothing reads are of the plain kind `terraform fmt` writes, checked at C speed by one
# pattern: `name = value` with a literal, a reference, a string with `${reference}`, or a
# list or object of those, on one line; objects and lists of such values spread over lines;
# nested blocks of those. Any other block is read alone by our HCL reader (which hands
# anything it does not take to python-hcl2 in a normal parse): if it refuses, or the block
# does not end where the splitter said, the file is parsed whole. The pattern matches a
# block one way only, so it takes linear time.
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*(?![A-Za-z0-9_-])"
_TAIL = rf'(?:\.{_NAME}|\[[0-9]{{1,9}}\]|\["[A-Za-z0-9_./:-]*"\])*'  # .attr, [0], ["key"]
_PLAIN_LABEL = r'"[^"\\$%\x00-\x1f\x7f]*"'  # a string without escapes or templates
_PLAIN_STRING = (
    r'"(?:[^"\\$%\x00-\x1f\x7f]|\\[nrt"\\]|\$(?!\{)|%(?!\{)'
    rf"|\$\{{[ \t]*{_NAME}{_TAIL}[ \t]*\}})*" + '"'
)
_NUMBER = r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?(?![A-Za-z0-9_.])"
_SIMPLE = rf"(?:{_PLAIN_STRING}|{_NUMBER}|{_NAME}{_TAIL})"
_KEY = rf"(?:{_NAME}|{_PLAIN_LABEL})"
# each item followed by a comma or by the closing bracket
_LIST = rf"\[[ \t]*(?:{_SIMPLE}[ \t]*(?:,[ \t]*|(?=\])))*\]"
_OBJECT = rf"\{{[ \t]*(?:{_KEY}[ \t]*=[ \t]*{_SIMPLE}[ \t]*(?:,[ \t]*|(?=\}})))*\}}"
_VALUE = rf"(?:{_SIMPLE}|{_LIST}|{_OBJECT})"
_END = r"[ \t]*(?:(?:#|//)[^\n]*)?\n"  # a line comment may end any line
_ATTRIBUTE = rf"[ \t]*{_NAME}[ \t]*=[ \t]*{_VALUE}{_END}"
# over several lines, an object's or list's items are simple values, one a line; a list item
# without a comma must be its last
_OBJECT_LINES = (
    rf"[ \t]*{_NAME}[ \t]*=[ \t]*\{{{_END}"
    rf"(?:[ \t]*{_KEY}[ \t]*=[ \t]*{_SIMPLE}(?:[ \t]*,)?{_END}|{_END})*[ \t]*\}}{_END}"
)
_LIST_LINES = (
    rf"[ \t]*{_NAME}[ \t]*=[ \t]*\[{_END}"
    rf"(?:[ \t]*{_SIMPLE}[ \t]*(?:,{_END}|{_END}(?=(?:{_END})*[ \t]*\]))|{_END})*[ \t]*\]{_END}"
)
_BLOCK_HEADER = rf"[ \t]*{_NAME}(?:[ \t]+(?:{_NAME}|{_PLAIN_LABEL}))*[ \t]*\{{{_END}"
_CLOSE = rf"[ \t]*\}}{_END}"
_MAX_LINE = 400


@functools.cache
def _plain_pattern() -> re.Pattern:
    """A block of the plain kind (with its final newline), its nested blocks of attributes
    only; compiled on first use, since most scans never blank a block."""
    nested = rf"{_BLOCK_HEADER}(?:{_ATTRIBUTE}|{_END})*{_CLOSE}"
    lines = rf"(?:{_ATTRIBUTE}|{_OBJECT_LINES}|{_LIST_LINES}|{nested}|{_END})"
    return re.compile(rf"{_BLOCK_HEADER}{lines}*{_CLOSE}")


def _valid_block(text: str, block: TopBlock) -> bool:
    """Whether lines `block.start`..`block.end` of `text` are one valid block, closed on its
    last line: of the plain kind, or else as our HCL reader reads it alone."""
    return _valid_text(text[block.begin : block.stop + 1], block.type, tuple(block.labels))


@functools.lru_cache(maxsize=4096)  # a block copied into many modules is checked once
def _valid_text(source: str, kind: str, labels: tuple[str, ...]) -> bool:
    """`_valid_block` of a block's text (its lines, with the last one's newline if any), as
    the splitter saw it: of `kind` with `labels`."""
    body = source.split("\n")
    if source.endswith("\n"):
        body.pop()
    if (
        max(map(len, body)) <= _MAX_LINE
        and _plain_pattern().fullmatch(source)
        and not _sets_an_attribute_twice(body)
    ):
        return True
    from checks.parse import ParseError, check_nesting, hclsyntax

    joined = "\n".join(body)
    try:
        check_nesting(joined, "HCL")
        attributes, blocks, _numbers = hclsyntax.parse_body(joined)
    except (hclsyntax.Unsupported, ParseError, RecursionError):
        return False
    if attributes or len(blocks) != 1:
        return False
    read = blocks[0]
    # the block the splitter saw (its labels decided whether it is needed), whole
    return (read.type, tuple(read.labels), read.line, read.end_line) == (
        kind,
        labels,
        1,
        len(body),
    )


_ATTRIBUTE_NAME = re.compile(r"([ \t]*)([A-Za-z_][\w-]*)[ \t]*=(?![=>])")


def _sets_an_attribute_twice(lines: list[str]) -> bool:
    """Whether a block of the plain kind (its lines) sets an attribute twice in one body (HCL
    refuses it), or may: it is read in the layout `terraform fmt` writes, where a line ending
    in `{` or `[` opens a body whose lines share an indentation deeper than that line's, and
    a line at that line's indentation closes it. A line indented otherwise is a yes: the
    block is then read whole (two attributes of one body indented apart once hid the second
    from this check)."""
    open_bodies: list[list] = []  # [the opening line's indentation, its lines', names set]
    for line in lines:
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith(("#", "//")):
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if stripped[0] in "}]":
            if not open_bodies or open_bodies.pop()[0] != indent:
                return True
            continue
        if open_bodies:
            body = open_bodies[-1]
            if body[1] is None and indent > body[0]:
                body[1] = indent
            if indent != body[1]:
                return True
            m = _ATTRIBUTE_NAME.match(line)
            if m is not None:
                if m.group(2) in body[2]:
                    return True
                body[2].add(m.group(2))
        if stripped.endswith(("{", "[")):
            open_bodies.append([indent, None, set()])
    return bool(open_bodies)


_LINE_COMMENT = re.compile(r"(#|//).*$", re.M)
_UNSURE = ("${", "%{", "<<", "/*", "*/")


def _counted_exactly(lines: list[str], block: TopBlock) -> bool:
    """Whether the splitter counted this block's braces as HCL does: no interpolation (no
    string inside a string), heredoc or block comment, and outside its strings and line
    comments no quote left unmatched and no backslash."""
    body = "\n".join(lines[block.start : block.end + 1])
    if any(mark in body for mark in _UNSURE):
        return False
    code = _LINE_COMMENT.sub("", _STRING.sub("", body))
    return '"' not in code and "\\" not in code


def _ends_as_split(lines: list[str], blocks: list[TopBlock]) -> bool:
    """Whether each block, read by our HCL tokenizer, ends on the line the splitter found
    (where its brace count was not exact): it is then the same block in the filtered file
    as in the whole one."""
    return all(
        _ends_on_last_line("\n".join(lines[block.start : block.end + 1]) + "\n") for block in blocks
    )


@functools.lru_cache(maxsize=4096)  # a block copied into many modules is tokenized once
def _ends_on_last_line(source: str) -> bool:
    """Whether the block whose lines are `source` closes its first brace on its last line,
    with nothing after it, and its header on its first line."""
    from checks.parse import ParseError, hclsyntax

    try:
        toks = hclsyntax.tokenize(source)
    except (hclsyntax.Unsupported, ParseError):
        return False
    depth = 0
    last = source.count("\n")  # the block's last line, counted from 1
    closed = False
    for tok in toks:
        if tok[0] == "eof":
            break
        if closed:
            return False  # something after the closing brace
        if tok[0] == "op" and tok[1] == "{":
            depth += 1
        elif tok[0] == "op" and tok[1] == "}":
            depth -= 1
            if depth < 0 or (depth == 0 and tok[4] != last):
                return False
            closed = depth == 0
        elif depth == 0 and tok[4] != 1:
            return False  # the header is one line
    return closed
