"""A hand-written reader for HCL's native syntax, the fast path in front of python-hcl2.

python-hcl2's grammar stays the reference: this reader builds the same `Block`/`Attribute`/
expression tree that walking python-hcl2's parse tree builds (tests/test_hclsyntax.py compares
the two on every .tf file of the test and peer corpora and on generated input), and whenever
it meets something it does not handle, or a syntax error, it raises `Unsupported` and
`parse_terraform` hands the file to python-hcl2, whose answer (tree or error message) is the
one used. So a gap here costs speed, never a finding. What this buys: no lark import and no
grammar load (about 0.25 s, most of a one-file pre-commit run) and a parse several times
faster than a general LALR parser written in Python.

Tokens are tuples `(kind, value, start, end, line, end_line, newline_before)`; strings are
split into `sbeg`, `chars`/`esc`/interpolation tokens and `send`, so the parser never
re-scans text. Newlines matter only between attributes: inside brackets they are skipped.
"""

from __future__ import annotations

import re

from checks.model import Documents
from checks.parse import ParseError, excerpt
from checks.parse.hcltree import (
    NAME,
    Attribute,
    Block,
    Call,
    Lit,
    ObjectExpr,
    Opaque,
    Ref,
    Template,
    TupleExpr,
    heredoc_expr,
    index_key,
    index_number,
    number_literal,
    unescape,
)


class Unsupported(Exception):
    """Input this reader does not take; python-hcl2 decides what it is. `line`: where."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


class Invalid(ParseError):
    """Input that is wrong whatever reads it, where asking python-hcl2 would cost too much."""


_CODE = re.compile(
    r"""
    (?P<ws>[ \t]+)
  | (?P<nl>\n|\#[^\n]*|//[^\n]*)
  | (?P<bc>/\*.*?\*/)
  | (?P<name>"""
    + NAME
    + r""")
  | (?P<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<heredoc><<-?(?=[A-Za-z][A-Za-z0-9._-]))
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|::|\.\*|\[\*\]|[-+*/%<>!?:=.,()\[\]{}"])
    """,
    re.X | re.S,
)
_STRING = re.compile(
    r"""(?P<chars>(?:[^"\\$]|\\.|\$(?!\$?\{))+)|(?P<esc>\$\$\{[^}]*\})|(?P<ibeg>\$\{)|(?P<send>")""",
)
# python-hcl2's heredoc terminals in meaning: the body ends at the first line after the
# opening one that holds only the delimiter (after any whitespace), and the token takes the
# newline after it. Found line by line: the grammar's regex for it takes quadratic time on
# an unclosed heredoc followed by many blank lines.
_HEREDOC_OPEN = re.compile(r"<<-?([a-zA-Z][a-zA-Z0-9._-]+)")

# Each token costs about 200 bytes: a file of many more than a real one holds (dense hostile
# input: `[1,1,1,...`) is refused before its tokens fill memory.
MAX_TOKENS = 1_500_000
_BINARY = frozenset(("==", "!=", "<", ">", "<=", ">=", "-", "*", "/", "%", "&&", "||", "+"))
_EOF = ("eof", "", -1, -1, 0, 0, True)


def tokenize(text: str, comments: list | None = None) -> list[tuple]:
    """Tokens of `text` (which ends with a newline); raise Unsupported on anything odd. The
    comments, which are not tokens, are added to `comments` as (start, end) when given."""
    toks: list[tuple] = []
    append = toks.append
    code_match = _CODE.match
    string_match = _STRING.match
    pos = 0
    line = 1
    nl = True
    n = len(text)
    # one frame per open string or interpolation: "s" = inside a string, an int = the brace
    # depth inside an interpolation (the `}` at depth 0 closes it)
    stack: list = []
    while pos < n:
        if stack and stack[-1] == "s":
            m = string_match(text, pos)
            if m is None:
                raise Unsupported(f"string at line {line}", line)
            kind = m.lastgroup
            end = m.end()
            value = m.group()
            newlines = value.count("\n")
            if kind == "send":
                stack.pop()
            elif kind == "ibeg":
                stack.append(0)
            append((kind, value, pos, end, line, line + newlines, False))
            line += newlines
            pos = end
            continue
        m = code_match(text, pos)
        if m is None:
            raise Unsupported(f"character {excerpt(text[pos])!r} at line {line}", line)
        kind = m.lastgroup
        end = m.end()
        if kind == "ws":
            pos = end
            continue
        if kind == "nl":
            if text[pos] == "\n":
                line += 1
            elif comments is not None:
                comments.append((pos, end))
            nl = True
            pos = end
            continue
        if kind == "bc":
            line += text.count("\n", pos, end)
            if comments is not None:
                comments.append((pos, end))
            pos = end
            continue
        if kind == "heredoc":
            end = _heredoc_end(text, pos, line)
            value = text[pos:end]
            newlines = value.count("\n")
            append(("heredoc", value, pos, end, line, line + newlines, nl))
            line += newlines
            nl = False  # the token took the newline after its closing line, as python-hcl2's does
            pos = end
            continue
        value = m.group()
        if kind == "op":
            if value == '"':
                kind = "sbeg"
                stack.append("s")
            elif stack:
                top = stack[-1]
                if value == "{":
                    stack[-1] = top + 1
                elif value == "}":
                    if top == 0:
                        kind = "iend"
                        stack.pop()
                    else:
                        stack[-1] = top - 1
        append((kind, value, pos, end, line, line, nl))
        nl = False
        pos = end
        if len(toks) > MAX_TOKENS:
            message = f"HCL file of more than {MAX_TOKENS} tokens: too large to read"
            raise Invalid(message, line, guard=True)
    if stack:
        raise Unsupported("unterminated string or interpolation")
    toks.extend((_EOF, _EOF, _EOF))  # lookahead past the end finds only end-of-file
    return toks


def _heredoc_end(text: str, pos: int, line: int) -> int:
    """Where the heredoc opening at `pos` ends (after its closing line's newline)."""
    opener = _HEREDOC_OPEN.match(text, pos)
    delimiter = opener.group(1) if opener else ""
    nl = text.find("\n", pos)
    if nl != -1:
        # a whole line of (whitespace and) the delimiter; `re` caches the compiled pattern
        closing = re.compile(r"\n[^\S\n]*" + re.escape(delimiter) + r"\n").search(text, nl)
        if closing:
            return closing.end()
    # no line closes it: that is a syntax error, decided here (see _HEREDOC_OPEN)
    raise Invalid(f"invalid HCL: heredoc <<{excerpt(delimiter)} is never closed", line)


class _Parser:
    __slots__ = ("toks", "i", "text", "warnings")

    def __init__(self, text: str, toks: list[tuple]) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.warnings: list[tuple[int, str]] = []  # numbers read as unknown

    def fail(self, what: str = "") -> Unsupported:
        tok = self.toks[self.i]
        return Unsupported(f"{what or 'unexpected'} '{excerpt(tok[1])}' at line {tok[4]}", tok[4])

    def expect(self, value: str) -> tuple:
        tok = self.toks[self.i]
        if tok[0] != "op" or tok[1] != value:
            raise self.fail(f"expected {value!r}, got")
        self.i += 1
        return tok

    # -- bodies -----------------------------------------------------------------------------
    def body(self, nested: bool) -> tuple[dict, list]:
        toks = self.toks
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "eof":
                if nested:
                    raise self.fail("unclosed block at")
                return attributes, blocks
            if nested and kind == "op" and tok[1] == "}":
                return attributes, blocks
            if kind != "name":
                raise self.fail()
            nxt = toks[self.i + 1]
            if nxt[0] == "op" and nxt[1] == "=" and not nxt[6]:
                self.i += 2
                if toks[self.i][6]:
                    raise self.fail("attribute value expected on the line of '=', got")
                expr = self.expression(False)
                attributes[tok[1]] = Attribute(tok[1], expr, tok[4], expr.end_line)
                after = toks[self.i]
                if (
                    not after[6]
                    and not (after[0] == "op" and after[1] == "}")
                    and toks[self.i - 1][0] != "heredoc"
                ):
                    raise self.fail("attribute not ended by a newline before")
            else:
                blocks.append(self.block())

    def block(self) -> Block:
        toks = self.toks
        head = toks[self.i]
        self.i += 1
        labels: list[str] = []
        while True:
            tok = toks[self.i]
            if tok[0] == "name" and not tok[6]:
                labels.append(tok[1])
                self.i += 1
            elif tok[0] == "sbeg" and not tok[6]:
                labels.append(self.label())
            else:
                break
        self.expect("{")
        block = Block(head[1], labels, head[4], 0)
        block.attributes, block.blocks = self.body(True)
        close = self.expect("}")
        block.end_line = close[4]
        return block

    def label(self) -> str:
        """A block label: its text with escapes undone; interpolations kept as written."""
        toks = self.toks
        self.i += 1
        out = []
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "send":
                self.i += 1
                return "".join(out)
            if kind == "ibeg":
                start = tok[2]
                self.i += 1
                self.expression(True)
                end_tok = toks[self.i]
                if end_tok[0] != "iend":
                    raise self.fail()
                self.i += 1
                out.append(self.text[start : end_tok[3]])
            else:  # chars or esc
                out.append(unescape(tok[1], tok[4]))
                self.i += 1

    # -- expressions ------------------------------------------------------------------------
    def expression(self, nested: bool):
        """An expression; `nested` means inside brackets, where newlines do not end it."""
        toks = self.toks
        first = toks[self.i]
        expr = self.unary(nested)
        tok = toks[self.i]
        operators = False
        while tok[0] == "op" and tok[1] in _BINARY and (nested or not tok[6]):
            self.i += 1
            expr = self.unary(True)
            operators = True
            tok = toks[self.i]
        if tok[0] == "op" and tok[1] == "?" and (nested or not tok[6]):
            self.i += 1
            self.expression(True)
            self.expect(":")
            expr = self.expression(nested)
            operators = True
        if operators:
            return self.opaque(first)
        return expr

    def opaque(self, first: tuple) -> Opaque:
        last = self.toks[self.i - 1]
        return Opaque(first[4], last[5], self.text[first[2] : last[3]])

    def unary(self, nested: bool):
        toks = self.toks
        tok = toks[self.i]
        if tok[0] == "op" and tok[1] in ("-", "!"):
            nxt = toks[self.i + 1]
            if tok[1] == "-" and nxt[0] == "num" and nxt[2] == tok[3]:
                return self.postfix(nested)  # a negative number literal
            self.i += 1
            self.postfix(nested)
            return self.opaque(tok)
        return self.postfix(nested)

    def postfix(self, nested: bool):
        """A primary expression and its traversals (`.name`, `[index]`, splats). The Ref or
        Opaque is built once at the end: a long chain of `[0]` is read in linear time."""
        toks = self.toks
        first = toks[self.i]
        expr = self.primary()
        parts = list(expr.parts) if isinstance(expr, Ref) else None  # None: no longer a Ref
        steps = 0
        while True:
            tok = toks[self.i]
            if tok[0] != "op" or (tok[6] and not nested):
                break
            op = tok[1]
            if op == ".":
                nxt = toks[self.i + 1]
                if nxt[0] == "name":
                    self.i += 2
                    part = nxt[1]
                elif nxt[0] == "num" and nxt[1].replace(".", "").isdigit():
                    self.i += 2
                    part = nxt[1]  # `a.0` (legacy index); `a.0.1` comes as one number
                else:
                    raise self.fail()
                if parts is not None:
                    if nxt[0] == "num":
                        parts.extend(index_number(p) for p in part.split("."))
                    else:
                        parts.append(part)
            elif op == "[":
                self.i += 1
                index = self.expression(True)
                self.expect("]")
                value = index_key(index)
                if parts is not None and value is not None:
                    parts.append(value)
                else:
                    parts = None
            elif op in (".*", "[*]"):
                self.i += 1
                parts = None
            else:
                break
            steps += 1
        if not steps:
            return expr
        if parts is None:
            return self.opaque(first)
        return Ref(first[4], toks[self.i - 1][5], parts, self.span(first))

    def span(self, first: tuple) -> str:
        return self.text[first[2] : self.toks[self.i - 1][3]]

    def primary(self):
        toks = self.toks
        tok = toks[self.i]
        kind = tok[0]
        line = tok[4]
        if kind == "name":
            self.i += 1
            name = tok[1]
            nxt = toks[self.i]
            if nxt[0] == "op" and not nxt[6]:
                if nxt[1] == "(":
                    return self.call(tok)
                if nxt[1] == "::":
                    return self.provider_call(tok)
            lowered = name.lower()
            if lowered == "true" or lowered == "false":
                return Lit(line, line, lowered == "true")
            if name == "null":
                return Lit(line, line, None)
            return Ref(line, line, [name], name)
        if kind == "num" or (kind == "op" and tok[1] == "-"):
            return self.number()
        if kind == "sbeg":
            return self.template()
        if kind == "heredoc":
            self.i += 1
            raw = tok[1]
            trim = raw.startswith("<<-")
            return heredoc_expr(raw, line, trim)
        if kind == "op":
            op = tok[1]
            if op == "[":
                if self.is_for():
                    return self.for_expr("]")
                return self.tuple()
            if op == "{":
                if self.is_for():
                    return self.for_expr("}")
                return self.object()
            if op == "(":
                self.i += 1
                inner = self.expression(True)
                self.expect(")")
                return inner
        raise self.fail()

    def number(self):
        toks = self.toks
        tok = toks[self.i]
        negative = tok[0] == "op"
        if negative:
            self.i += 1
            tok = toks[self.i]
            if tok[0] != "num":
                raise self.fail()
        self.i += 1
        text = "-" + tok[1] if negative else tok[1]
        return Lit(tok[4], tok[4], number_literal(text, tok[4], self.warnings))

    def is_for(self) -> bool:
        nxt = self.toks[self.i + 1]
        return nxt[0] == "name" and nxt[1] == "for" and self.toks[self.i + 2][0] == "name"

    def for_expr(self, closing: str) -> Opaque:
        """`[for k, v in x : v if c]` or `{for k, v in x : k => v... if c}`: never evaluated,
        so kept as text, but read in full so that a mistake inside is still an error."""
        toks = self.toks
        first = toks[self.i]
        self.i += 2  # the bracket and `for`
        self.name()
        if toks[self.i][0] == "op" and toks[self.i][1] == ",":
            self.i += 1
            self.name()
        if self.name() != "in":
            raise self.fail("expected 'in' before")
        self.expression(True)
        self.expect(":")
        self.expression(True)
        if closing == "}":
            self.expect("=>")
            self.expression(True)
            if toks[self.i][0] == "op" and toks[self.i][1] == "...":
                self.i += 1
        tok = toks[self.i]
        if tok[0] == "name" and tok[1] == "if":
            self.i += 1
            self.expression(True)
        self.expect(closing)
        return self.opaque(first)

    def name(self) -> str:
        tok = self.toks[self.i]
        if tok[0] != "name":
            raise self.fail("expected a name, got")
        self.i += 1
        return tok[1]

    def tuple(self) -> TupleExpr:
        first = self.toks[self.i]
        self.i += 1
        items, close = self.items("]")
        return TupleExpr(first[4], close[4], items)

    def items(self, closing: str) -> tuple[list, tuple]:
        """Comma-separated expressions up to `closing` (a trailing comma allowed; in a call's
        arguments, `...` after the last); returns them and the closing token."""
        toks = self.toks
        items = []
        while True:
            tok = toks[self.i]
            if tok[0] == "op" and tok[1] == closing:
                self.i += 1
                return items, tok
            items.append(self.expression(True))
            tok = toks[self.i]
            if tok[0] == "op" and (tok[1] == "," or (tok[1] == "..." and closing == ")")):
                self.i += 1
                if tok[1] == "...":
                    self.expect(")")
                    return items, toks[self.i - 1]
            elif not (tok[0] == "op" and tok[1] == closing):
                raise self.fail()

    def object(self) -> ObjectExpr:
        toks = self.toks
        first = toks[self.i]
        self.i += 1
        items = []
        separated = False
        while True:
            tok = toks[self.i]
            if tok[0] == "op" and tok[1] == "}":
                break
            if items and not tok[6] and not separated and toks[self.i - 1][0] != "heredoc":
                raise self.fail("object items need a comma or newline before")
            key = self.object_key()
            sep = toks[self.i]
            if sep[0] != "op" or sep[1] not in ("=", ":") or sep[6] or toks[self.i + 1][6]:
                raise self.fail()
            self.i += 1
            value = self.expression(True)
            items.append((key, value, tok[4], value.end_line))
            separated = False
            comma = toks[self.i]
            if comma[0] == "op" and comma[1] == "," and not comma[6]:
                self.i += 1
                separated = True
        self.i += 1
        return ObjectExpr(first[4], tok[4], items)

    def object_key(self):
        toks = self.toks
        tok = toks[self.i]
        kind = tok[0]
        if kind == "name":
            self.i += 1
            parts = [tok[1]]
            while toks[self.i][0] == "op" and toks[self.i][1] == ".":
                nxt = toks[self.i + 1]
                if nxt[0] != "name":
                    raise self.fail()
                parts.append(nxt[1])
                self.i += 2
            return ".".join(parts)
        if kind == "sbeg":
            value = self.template()
            if all(isinstance(p, str) for p in value.parts):
                return "".join(value.parts)
            return value
        if kind == "num" or (kind == "op" and tok[1] == "-"):
            return self.number().value
        if kind == "op" and tok[1] == "(":
            self.i += 1
            inner = self.expression(True)
            self.expect(")")
            return inner
        raise self.fail()

    def call(self, name_tok: tuple) -> Call:
        self.i += 1  # (
        args, close = self.items(")")
        return Call(name_tok[4], close[4], name_tok[1], args, self.span(name_tok))

    def provider_call(self, name_tok: tuple) -> Opaque:
        toks = self.toks
        for expected in ("::", "name", "::", "name"):
            tok = toks[self.i]
            if (expected == "name" and tok[0] != "name") or (expected == "::" and tok[1] != "::"):
                raise self.fail()
            self.i += 1
        if toks[self.i][1] != "(":
            raise self.fail()
        self.call(toks[self.i - 1])
        return self.opaque(name_tok)

    def template(self) -> Template:
        toks = self.toks
        first = toks[self.i]
        self.i += 1
        parts: list = []
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "send":
                self.i += 1
                break
            if kind == "chars":
                text = unescape(tok[1], tok[4])
            elif kind == "esc":
                text = tok[1][1:]  # $${x} is the literal text ${x}
            elif kind == "ibeg":
                self.i += 1
                expr = self.expression(True)
                if toks[self.i][0] != "iend":
                    raise self.fail()
                self.i += 1
                parts.append(expr)
                continue
            else:
                raise self.fail()
            self.i += 1
            if parts and isinstance(parts[-1], str):
                parts[-1] += text
            else:
                parts.append(text)
        return Template(first[4], tok[4], parts)


def parse(text: str) -> list[Block]:
    """Top-level blocks of one .tf file's text, with the `warnings` of numbers read as
    unknown; raise Unsupported for anything else."""
    _attributes, blocks, warnings = parse_body(text)
    out = Documents(blocks)
    out.warnings = warnings
    return out


def parse_body(text: str) -> tuple[dict[str, Attribute], list[Block], list[tuple[int, str]]]:
    """Top-level attributes (what a .tfvars file holds) and blocks of one file's text, and
    (line, message) notes about numbers read as unknown."""
    if "\r" in text:
        raise Unsupported("carriage return")
    text += "\n"
    parser = _Parser(text, tokenize(text))
    attributes, blocks = parser.body(False)
    return attributes, blocks, parser.warnings
