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
from typing import Any

from checks.model import Documents
from checks.parse import MAX_NESTING, ParseError, excerpt
from checks.parse.hcltree import (
    NAME,
    PRECEDENCE,
    Attribute,
    Block,
    Call,
    Conditional,
    ForExpr,
    GetAttr,
    Heredoc,
    Index,
    Lit,
    ObjectExpr,
    Operation,
    Ref,
    Splat,
    SplatItem,
    Template,
    TemplateFor,
    TemplateIf,
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
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|::|\.\*|\[\*\]|~\}|[-+*/%<>!?:=.,()\[\]{}"])
    """,
    re.X | re.S,
)
# A quoted template's tokens: `$${` and `%%{` are the texts `${` and `%{`, `${` opens an
# interpolation and `%{` a directive (either may carry a strip marker `~`).
_STRING = re.compile(
    r"""(?P<esc>\$\$\{|%%\{)|(?P<ibeg>\$\{~?)|(?P<dbeg>%\{~?)|(?P<send>")"""
    r"""|(?P<chars>(?:[^"\\$%]|\\.|\$(?!\$?\{)|%(?!%?\{))+)""",
)
# A heredoc's: the same, without escapes and without a closing quote.
_HEREDOC_TEXT = re.compile(
    r"""(?P<esc>\$\$\{|%%\{)|(?P<ibeg>\$\{~?)|(?P<dbeg>%\{~?)"""
    r"""|(?P<chars>(?:[^$%]|\$(?!\$?\{)|%(?!%?\{))+)""",
)
# python-hcl2's heredoc terminals in meaning: the body ends at the first line after the
# opening one that holds only the delimiter (after any whitespace), and the token takes the
# newline after it. Found line by line: the grammar's regex for it takes quadratic time on
# an unclosed heredoc followed by many blank lines.
_HEREDOC_OPEN = re.compile(r"<<-?([a-zA-Z][a-zA-Z0-9._-]+)")

# Each token costs about 200 bytes: a file of many more than a real one holds (dense hostile
# input: `[1,1,1,...`) is refused before its tokens fill memory.
MAX_TOKENS = 1_500_000
# what a strip marker (`~`) removes: Unicode's white space, as Go's unicode.IsSpace has it
SPACES = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
_EOF = ("eof", "", -1, -1, 0, 0, True)
_TRAVERSALS = frozenset((".", "[", ".*", "[*]"))  # what may follow an expression term


def tokenize(
    text: str, comments: list | None = None, line: int = 1, template: bool = False
) -> list[tuple]:
    """Tokens of `text` (which ends with a newline); raise Unsupported on anything odd. The
    comments, which are not tokens, are added to `comments` as (start, end) when given.
    With `template`, `text` is a heredoc's content (its first line is `line`)."""
    toks: list[tuple] = []
    append = toks.append
    code_match = _CODE.match
    pos = 0
    nl = True
    n = len(text)
    # one frame per open string or interpolation: "s" = inside a quoted string, "h" = in a
    # heredoc's text, an int = the brace depth inside an interpolation or directive (the `}`
    # at depth 0 closes it)
    stack: list = ["h"] if template else []
    while pos < n:
        if stack and stack[-1] in ("s", "h"):
            m = (_STRING if stack[-1] == "s" else _HEREDOC_TEXT).match(text, pos)
            if m is None:
                raise Unsupported(f"string at line {line}", line)
            kind = m.lastgroup
            end = m.end()
            value = m.group()
            newlines = value.count("\n")
            if kind == "send":
                stack.pop()
            elif kind == "ibeg" or kind == "dbeg":
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
                elif value == "}" or value == "~}":
                    if top == 0:
                        kind = "iend"
                        stack.pop()
                    elif value == "}":
                        stack[-1] = top - 1
                    else:
                        raise Unsupported(f"'~}}' inside braces at line {line}", line)
            elif value == "~}":
                raise Unsupported(f"'~}}' outside a template at line {line}", line)
        append((kind, value, pos, end, line, line, nl))
        nl = False
        pos = end
        if len(toks) > MAX_TOKENS:
            message = f"HCL file of more than {MAX_TOKENS} tokens: too large to read"
            raise Invalid(message, line, guard=True)
    if stack != (["h"] if template else []):
        raise Unsupported("unterminated string or interpolation")
    toks.extend((_EOF, _EOF, _EOF))  # lookahead past the end finds only end-of-file
    return toks


def attribute_twice(name: str, first: int) -> str:
    """HCL's error for a body that sets an attribute twice."""
    return (
        f"invalid HCL: attribute {excerpt(name)} is set twice in one block (first at line {first})"
    )


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
    __slots__ = ("toks", "i", "text", "warnings", "depth")

    def __init__(self, text: str, toks: list[tuple], depth: int = 0) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.warnings: list[tuple[int, str]] = []  # numbers read as unknown
        self.depth = depth  # expressions being read, one inside the other

    def fail(self, what: str = "") -> Unsupported:
        tok = self.toks[self.i]
        return Unsupported(f"{what or 'unexpected'} '{excerpt(tok[1])}' at line {tok[4]}", tok[4])

    def expect(self, value: str) -> tuple:
        tok = self.toks[self.i]
        if tok[0] != "op" or tok[1] != value:
            raise self.fail(f"expected {value!r}, got")
        self.i += 1
        return tok

    def is_op(self, value: str, offset: int = 0) -> bool:
        tok = self.toks[self.i + offset]
        return tok[0] == "op" and tok[1] == value

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
                if tok[1] in attributes:
                    raise Invalid(attribute_twice(tok[1], attributes[tok[1]].line), tok[4])
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
            if kind in ("ibeg", "dbeg"):
                start = tok[2]
                self.i += 1
                self.expression(True)
                end_tok = toks[self.i]
                if end_tok[0] != "iend":
                    raise self.fail()
                self.i += 1
                out.append(self.text[start : end_tok[3]])
            elif kind == "esc":
                out.append(tok[1][1:])
                self.i += 1
            else:  # chars
                out.append(unescape(tok[1], tok[4]))
                self.i += 1

    # -- expressions ------------------------------------------------------------------------
    def expression(self, nested: bool):
        """An expression; `nested` means inside brackets, where newlines do not end it. A
        conditional's `otherwise` is read in a loop: a chain of them costs no stack."""
        toks = self.toks
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.too_deep()
        first = toks[self.i]
        expr = self.binary(nested, 1)
        tok = toks[self.i]
        if not (tok[0] == "op" and tok[1] == "?" and (nested or not tok[6])):
            self.depth -= 1
            return expr
        pending = []  # (condition, then, its first token) of the conditionals read so far
        while True:
            self.i += 1
            then = self.expression(True)
            self.expect(":")
            pending.append((expr, then, first))
            first = toks[self.i]
            expr = self.binary(nested, 1)
            tok = toks[self.i]
            if not (tok[0] == "op" and tok[1] == "?" and (nested or not tok[6])):
                break
        end_line = expr.end_line
        for condition, then, start in reversed(pending):
            expr = Conditional(start[4], end_line, condition, then, expr)
        self.depth -= 1
        return expr

    def too_deep(self) -> Invalid:
        line = self.toks[self.i][4]
        return Invalid(f"HCL nested deeper than {MAX_NESTING} levels", line, guard=True)

    def binary(self, nested: bool, lowest: int):
        """Operands joined by binary operators of precedence `lowest` and above (HCL's six
        levels, each left-associative)."""
        toks = self.toks
        first = toks[self.i]
        left = self.unary(nested)
        while True:
            tok = toks[self.i]
            if tok[0] != "op" or (tok[6] and not nested):
                return left
            level = PRECEDENCE.get(tok[1], 0)
            if level < lowest:
                return left
            self.i += 1
            right = self.binary(nested, level + 1)
            left = Operation(first[4], right.end_line, tok[1], [left, right])

    def unary(self, nested: bool):
        """`!x` and `-x` bind tighter than binary operators and looser than traversals;
        `-` before a number literal makes a negative number."""
        toks = self.toks
        tok = toks[self.i]
        if tok[0] != "op" or tok[1] not in ("-", "!"):
            return self.postfix(nested)
        nxt = toks[self.i + 1]
        after = toks[self.i + 2]
        if (
            tok[1] == "-"
            and nxt[0] == "num"
            and not (after[0] == "op" and after[1] in _TRAVERSALS and (nested or not after[6]))
        ):
            self.i += 2  # a negative number (read whole: its digits may be too many)
            return Lit(tok[4], nxt[5], number_literal("-" + nxt[1], nxt[4], self.warnings))
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.too_deep()
        self.i += 1
        operand = self.unary(nested)
        self.depth -= 1
        if tok[1] == "-" and isinstance(operand, Lit) and _is_number(operand.value):
            return Lit(tok[4], operand.end_line, -operand.value)  # `- 1`, `-(1)`, `--1`
        return Operation(tok[4], operand.end_line, tok[1], [operand])

    def postfix(self, nested: bool):
        first = self.toks[self.i]
        return self.traversals(self.primary(), first, nested)

    def traversals(self, expr, first: tuple, nested: bool, in_splat: str = ""):
        """`expr` and the traversals after it: `.name`, `.0` (legacy index), `[index]`, and
        splats, which take the traversals after them (`[*]` all of them, `.*` only `.name`
        and `.0`). Steps with constant keys after a reference extend it: a long chain of
        `[0]` is read in linear time, the Ref built once at the end."""
        toks = self.toks
        parts = list(expr.parts) if isinstance(expr, Ref) else None
        while True:
            tok = toks[self.i]
            if tok[0] != "op" or (tok[6] and not nested):
                break
            op = tok[1]
            last = self.i - 1  # the last token of what is read so far
            if op == ".":
                nxt = toks[self.i + 1]
                if nxt[0] == "name":
                    steps: list = [nxt[1]]
                elif nxt[0] == "num" and nxt[1].replace(".", "").isdigit():
                    # `a.0` (legacy index); `a.0.1` comes as one number
                    steps = [index_number(p) for p in nxt[1].split(".")]
                elif nxt[0] == "op" and nxt[1] == "*" and in_splat != "attr":
                    self.i += 2
                    source = self.built(expr, parts, first, last)
                    expr, parts = self.splat(source, first, nested, "attr"), None
                    continue
                else:
                    raise self.fail()
                self.i += 2
                for step in steps:
                    if parts is not None:
                        parts.append(step)
                    elif isinstance(step, str):
                        expr = GetAttr(first[4], nxt[5], expr, step)
                    else:
                        key = Lit(nxt[4], nxt[4], step)
                        expr = Index(first[4], nxt[5], expr, key)
            elif op in (".*", "[*]") and in_splat != "attr":
                self.i += 1
                source = self.built(expr, parts, first, last)
                kind = "attr" if op == ".*" else "full"
                expr, parts = self.splat(source, first, nested, kind), None
            elif op == "[" and in_splat != "attr":
                if self.is_op("*", 1) and self.is_op("]", 2):  # `[ * ]`
                    self.i += 3
                    source = self.built(expr, parts, first, last)
                    expr, parts = self.splat(source, first, nested, "full"), None
                    continue
                self.i += 1
                index = self.expression(True)
                close = self.expect("]")
                key = index_key(index)
                if parts is not None and key is not None:
                    parts.append(key)
                else:
                    source = self.built(expr, parts, first, last)
                    expr = Index(first[4], close[4], source, index)
                    parts = None
            else:
                break
        return self.built(expr, parts, first, self.i - 1)

    def built(self, expr, parts: list | None, first: tuple, last: int):
        """The reference `parts` make (its last token at `last`), while the traversal is
        still one."""
        if parts is None or len(parts) == len(expr.parts):
            return expr
        end = self.toks[last]
        return Ref(first[4], end[5], parts, self.text[first[2] : end[3]])

    def splat(self, source, first: tuple, nested: bool, kind: str) -> Splat:
        """A splat whose marker was just read: the traversals after it apply to each item."""
        marker = self.toks[self.i - 1]
        item = SplatItem(marker[4], marker[5])
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.too_deep()
        each = self.traversals(item, marker, nested, kind)
        self.depth -= 1
        return Splat(first[4], self.toks[self.i - 1][5], source, each)

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
                    return self.call(tok, name)
                if nxt[1] == "::":
                    return self.provider_call(tok)
            lowered = name.lower()
            if lowered == "true" or lowered == "false":
                return Lit(line, line, lowered == "true")
            if name == "null":
                return Lit(line, line, None)
            return Ref(line, line, [name], name)
        if kind == "num":
            self.i += 1
            return Lit(line, line, number_literal(tok[1], line, self.warnings))
        if kind == "sbeg":
            return self.template()
        if kind == "heredoc":
            self.i += 1
            return heredoc(tok[1], line, tok[1].startswith("<<-"), self.depth)
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

    def is_for(self) -> bool:
        nxt = self.toks[self.i + 1]
        return nxt[0] == "name" and nxt[1] == "for" and self.toks[self.i + 2][0] == "name"

    def for_intro(self) -> tuple[str | None, str, Any]:
        """`for k, v in collection` (after `for`): the names and the collection."""
        value_var = self.name()
        key_var = None
        if self.is_op(","):
            self.i += 1
            key_var, value_var = value_var, self.name()
        if self.name() != "in":
            raise self.fail("expected 'in' before")
        return key_var, value_var, self.expression(True)

    def for_expr(self, closing: str) -> ForExpr:
        """`[for k, v in x : v if c]` or `{for k, v in x : k => v... if c}`."""
        toks = self.toks
        first = toks[self.i]
        self.i += 2  # the bracket and `for`
        key_var, value_var, collection = self.for_intro()
        self.expect(":")
        value = self.expression(True)
        key = None
        group = False
        if closing == "}":
            self.expect("=>")
            key, value = value, self.expression(True)
            if self.is_op("..."):
                self.i += 1
                group = True
        condition = None
        tok = toks[self.i]
        if tok[0] == "name" and tok[1] == "if":
            self.i += 1
            condition = self.expression(True)
        close = self.expect(closing)
        return ForExpr(
            first[4],
            close[4],
            key_var,
            value_var,
            collection,
            key,
            value,
            group,
            condition,
        )

    def name(self) -> str:
        tok = self.toks[self.i]
        if tok[0] != "name":
            raise self.fail("expected a name, got")
        self.i += 1
        return tok[1]

    def tuple(self) -> TupleExpr:
        first = self.toks[self.i]
        self.i += 1
        items, close, _expand = self.items("]")
        return TupleExpr(first[4], close[4], items)

    def items(self, closing: str) -> tuple[list, tuple, bool]:
        """Comma-separated expressions up to `closing` (a trailing comma allowed; in a call's
        arguments, `...` after the last); returns them, the closing token and whether `...`
        was there."""
        toks = self.toks
        items = []
        while True:
            tok = toks[self.i]
            if tok[0] == "op" and tok[1] == closing:
                self.i += 1
                return items, tok, False
            items.append(self.expression(True))
            tok = toks[self.i]
            if tok[0] == "op" and (tok[1] == "," or (tok[1] == "..." and closing == ")")):
                self.i += 1
                if tok[1] == "...":
                    self.expect(")")
                    return items, toks[self.i - 1], True
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
        """An object's key: any expression (HCL's spec). A bare name, or names joined by
        dots, is the text itself, a string or a number literal its value; in parentheses,
        a name is a reference."""
        toks = self.toks
        tok = toks[self.i]
        key = self.expression(False)
        if tok[0] == "op" and tok[1] == "(":
            return key
        if isinstance(key, Ref) and all(isinstance(p, str) for p in key.parts):
            return ".".join(key.parts)
        if isinstance(key, Lit) and not isinstance(key.value, bool) and key.value is not None:
            return key.value
        if isinstance(key, Lit):
            return tok[1]  # true, false, null: the keyword as written
        if isinstance(key, Template) and all(isinstance(p, str) for p in key.parts):
            return "".join(key.parts)
        return key

    def call(self, name_tok: tuple, name: str) -> Call:
        self.i += 1  # (
        args, close, expand = self.items(")")
        return Call(name_tok[4], close[4], name, args, self.span(name_tok), expand)

    def provider_call(self, name_tok: tuple) -> Call:
        """`provider::aws::arn_parse(...)`: a call named in full."""
        toks = self.toks
        names = [name_tok[1]]
        for expected in ("::", "name", "::", "name"):
            tok = toks[self.i]
            if (expected == "name" and tok[0] != "name") or (expected == "::" and tok[1] != "::"):
                raise self.fail()
            if expected == "name":
                names.append(tok[1])
            self.i += 1
        if not self.is_op("("):
            raise self.fail()
        return self.call(name_tok, "::".join(names))

    # -- templates ---------------------------------------------------------------------------
    def template(self) -> Template:
        """A quoted template: its parts (text, interpolations, directives)."""
        first = self.toks[self.i]
        self.i += 1
        parts, last = self.template_parts(quoted=True)
        return Template(first[4], last[4], parts)

    def template_parts(self, quoted: bool) -> tuple[list, tuple]:
        """The parts of the template whose tokens start here, up to its closing quote (or the
        end, for a heredoc's), and the token that ends it. First a flat list of text,
        interpolations and directive markers, with strip markers (`~`) applied to the text
        beside them; then the directives nested."""
        toks = self.toks
        flat: list = []  # str | Expr | ("if", cond, tok) | ("else", tok) | ... directives
        strip_next = False  # the last sequence ended with `~}`
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "send" or kind == "eof":
                if kind == "send" and not quoted:
                    raise self.fail()
                if kind == "eof" and quoted:
                    raise self.fail()
                self.i += 1
                break
            self.i += 1
            if kind in ("chars", "esc"):
                if kind == "esc":
                    text = tok[1][1:]  # $${ is the text ${, %%{ the text %{
                else:
                    text = unescape(tok[1], tok[4]) if quoted else tok[1]
                if strip_next:
                    text = text.lstrip(SPACES)
                if flat and isinstance(flat[-1], _Text):
                    flat[-1] = _Text(flat[-1] + text)
                else:
                    flat.append(_Text(text))
                strip_next = False
                continue
            if kind not in ("ibeg", "dbeg"):
                raise self.fail()
            if tok[1].endswith("~") and flat and isinstance(flat[-1], _Text):
                flat[-1] = _Text(flat[-1].rstrip(SPACES))
            if kind == "ibeg":
                flat.append(self.expression(True))
            else:
                flat.append(self.directive(tok))
            close = toks[self.i]
            if close[0] != "iend":
                raise self.fail()
            self.i += 1
            strip_next = close[1] == "~}"
        return _nest(flat, self), tok

    def directive(self, opening: tuple) -> tuple:
        """`if c`, `else`, `endif`, `for k, v in c`, `endfor` inside `%{ }`: a marker."""
        keyword = self.name()
        if keyword == "if":
            return ("if", self.expression(True), opening)
        if keyword == "for":
            return ("for", *self.for_intro(), opening)
        if keyword in ("else", "endif", "endfor"):
            return (keyword, opening)
        raise Unsupported(f"unknown template directive {excerpt(keyword)!r}", opening[4])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Text(str):
    """Literal text of a template being read (apart from the markers of its directives)."""


def _nest(flat: list, parser: _Parser) -> list:
    """A template's parts with its directives nested: `if`/`else`/`endif` become a
    TemplateIf, `for`/`endfor` a TemplateFor."""
    out: list = []
    stack: list[tuple] = []  # (marker, the parts being filled, then-parts of an if)
    current = out
    for item in flat:
        if not isinstance(item, tuple):
            current.append(str(item) if isinstance(item, _Text) else item)
            continue
        word = item[0]
        if word in ("if", "for"):
            stack.append((item, current, None))
            current = []
        elif word == "else" and stack and stack[-1][0][0] == "if" and stack[-1][2] is None:
            opening, outer, _ = stack.pop()
            stack.append((opening, outer, current))
            current = []
        elif word in ("endif", "endfor") and stack and stack[-1][0][0] == word[3:]:
            opening, outer, then = stack.pop()
            line, end_line = opening[-1][4], item[-1][5]
            if word == "endif":
                if then is None:
                    then, otherwise = current, []
                else:
                    otherwise = current
                node = TemplateIf(line, end_line, opening[1], then, otherwise)
            else:
                node = TemplateFor(line, end_line, opening[1], opening[2], opening[3], current)
            current = outer
            current.append(node)
        else:
            raise Unsupported(f"template directive {word} out of place", item[-1][4])
    if stack:
        raise Unsupported(f"template directive {stack[-1][0][0]} never closed", stack[-1][0][-1][4])
    return out


def quoted_template(text: str, line: int) -> Template:
    """The quoted string `text` (its quotes included), starting at `line`, as a template."""
    toks = tokenize(text + "\n", line=line)
    parser = _Parser(text, toks)
    template = parser.template()
    if toks[parser.i][0] != "eof":
        raise parser.fail()
    return template


def heredoc(raw: str, line: int, trim: bool, depth: int = 0) -> Heredoc:
    """A heredoc token's text as an expression: its text and the template it is. Raise
    Unsupported for a template that is not valid HCL."""
    expr = heredoc_expr(raw, line, trim)
    expr.parts = template(expr.text, expr.content_line, depth)
    return expr


def template(text: str, line: int, depth: int = 0) -> list:
    """The parts of a template written as `text` from `line` on (a heredoc's content, a
    templatefile() file): `${...}` interpolations and `%{...}` directives read as in a quoted
    string, no escapes but `$${` and `%%{`. Raise Unsupported for one that is not valid."""
    if "${" not in text and "%{" not in text:
        return [text] if text else []
    toks = tokenize(text, line=line, template=True)
    parts, _ = _Parser(text, toks, depth).template_parts(quoted=False)
    return parts


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
