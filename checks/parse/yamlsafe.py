"""YAML parser: text -> documents of `LDict`/`LList`/scalars that carry their line marks.

PyYAML composes the node graph (with the C parser when libyaml is present); we construct
Python values from the nodes ourselves, which lets us keep each key's lines, reject duplicate
keys, refuse every tag outside the YAML core schema (no `!!python/...`), bound the size that
aliases would expand to *before* walking it (billion laughs: per file, across its documents and
the YAML strings embedded in it), bound the nesting (flow and block style alike), and read a
number out of range as unknown.

Input files (`parse_yaml_file`) may also use CloudFormation's short-form function tags
(`!Ref X`, `!Sub s`, `!GetAtt A.B`...): each is the long form it abbreviates, a one-key
mapping (`{"Ref": "X"}`, `{"Fn::Sub": "s"}`), in the documents the caller says are written in
them (a template): in any other, the first tag is refused as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from checks.model import Documents, LDict, LList
from checks.parse import (
    MAX_EXPANDED_NODES,
    MAX_NESTING,
    BudgetSpent,
    ExpansionBudget,
    ParseError,
    check_nesting,
    excerpt,
    numbers,
    text_digest,
)

# Fast path with a safe fallback: both are safe loaders.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVED_MAX = 65_536  # plain scalars' tags remembered, per process
_RESOLVED_LONGEST = 64  # longer plain scalars are rare and seldom repeat


class _Loader(_SafeLoader):
    """The safe loader, remembering the tag each short plain scalar resolves to: the safe
    schema's resolvers depend on the text alone, and manifests repeat theirs (`name`,
    `image`, `true`) thousands of times, each a walk through the resolvers' patterns."""

    _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode or len(value) > _RESOLVED_LONGEST:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved.clear()
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag


# an anchor (`&name`: what follows `&` up to a space or flow indicator, as YAML reads it)
_ANCHOR = re.compile(r"&([^\s\[\]{},]+)")
_ANCHORS_CHECKED = 64  # more distinct anchor names than this: assume they are used


def _may_share_nodes(text: str) -> bool:
    """Whether an alias may name an anchor in `text`: some `&name` whose `*name` is there
    too. Without one no node is shared, and the aliases' expansion need not be counted
    (`&&` in a shell command is no anchor anyone uses)."""
    if "&" not in text or "*" not in text:
        return False
    names = set(_ANCHOR.findall(text))
    return len(names) > _ANCHORS_CHECKED or any("*" + name in text for name in names)


_CORE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:merge",
    "tag:yaml.org,2002:value",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:set",
}


# CloudFormation's short forms: the tag -> the key of the long form it stands for (the
# functions of templates, of conditions, and of the `Rules` section)
INTRINSIC_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            "Sub GetAtt Join Select Split If Equals Not And Or ImportValue FindInMap Base64 "
            "GetAZs Cidr Transform Length ToJsonString Contains EachMemberEquals EachMemberIn "
            "RefAll ValueOf ValueOfAll"
        ).split()
    },
}


class UnsupportedTag(ParseError):
    """A tag outside the core schema (`!Ref`, `!!python/object`...)."""


def parse_yaml_file(text: str, intrinsics: Callable[[Any], bool] | None = None) -> list:
    """Parse every document of a YAML stream; raise ParseError on the first problem.
    `intrinsics`: whether a document that uses CloudFormation's short-form tags may (they are
    then read as the functions they stand for)."""
    return load_all(text, intrinsics=intrinsics)


def load_all(
    text: str,
    line_offset: int = 0,
    budget: ExpansionBudget | None = None,
    max_depth: int = MAX_NESTING,
    strict_numbers: bool = False,
    intrinsics: Callable[[Any], bool] | None = None,
) -> list:
    """Documents of `text`; `line_offset` shifts every line (YAML embedded in another file).
    `budget`: what aliases may still expand to (a new one per call by default); `max_depth`:
    the nesting allowed; `strict_numbers`: a number out of range is an error, not unknown;
    `intrinsics`: CloudFormation's short-form tags are read, and a document that has one is
    kept when `intrinsics` says it may (else its first tag is refused)."""
    check_nesting(text, "YAML", line_offset, max_depth)
    if len(text) > _COUNT_NODES_ABOVE:
        _check_node_count(text, line_offset)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else 0
        problem = exc.problem or exc.context or "syntax error"
        if problem == "exceeded maximum nesting depth":  # libyaml's own limit (1000)
            message = f"YAML nested deeper than {max_depth} levels"
            raise ParseError(message, line, guard=True) from None
        raise ParseError(f"invalid YAML: {excerpt(problem)}", line) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"invalid YAML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise ParseError(f"YAML nested deeper than {max_depth} levels", guard=True) from None
    except ValueError as exc:  # the pure-Python scanner on an escape beyond Unicode
        raise ParseError(f"invalid YAML: {_one_line(str(exc))}") from None
    builder = _Builder(line_offset, max_depth, strict_numbers, intrinsics is not None)
    budget = budget or ExpansionBudget()
    docs = Documents()
    aliases = _may_share_nodes(text)
    if aliases and budget.nodes < 0:
        raise BudgetSpent("the file's YAML alias budget is spent", line_offset + 1, guard=True)
    try:
        for node in nodes:
            if node is None:
                continue
            if aliases:
                try:
                    budget.nodes -= builder.check_size(node, budget.nodes)
                except ParseError:
                    budget.nodes = -1  # spent: later strings of the file are refused unreported
                    raise
            builder.first_tag = None
            doc = builder.build(node)
            if builder.first_tag is not None and not intrinsics(doc):
                line, tag = builder.first_tag
                raise UnsupportedTag(f"unsupported YAML tag {tag}", line)
            docs.append(doc)
    except ParseError as exc:
        exc.composed = nodes  # the stream's structure, to tell whose file it is
        raise
    docs.warnings = builder.warnings
    return docs


# A composed node costs PyYAML some 400 bytes: a dense 5 MB file would take a gigabyte. Texts
# too short to hold that many nodes are not counted (a node takes at least two characters).
MAX_NODES = 750_000
_COUNT_NODES_ABOVE = 2 * MAX_NODES
_NODE_EVENTS = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent)


def _check_node_count(text: str, line_offset: int) -> None:
    """Refuse a stream of more than MAX_NODES nodes, counted from the parser's events (which
    are dropped as they come) before anything is composed; a syntax error is left to the
    composer, which names it."""
    count = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    line = event.start_mark.line + 1 + line_offset
                    message = f"YAML of more than {MAX_NODES} nodes: too large to read"
                    raise ParseError(message, line, guard=True)
    except yaml.YAMLError:
        return


def _one_line(s: str) -> str:
    return excerpt(" ".join(s.split()))


_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_VALUE = "tag:yaml.org,2002:value"  # what YAML 1.1 makes of a plain `=`
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# what YAML 1.1 writes an integer with (signs, base prefixes, `_`, sexagesimal `:`): a long one
# is a number out of range; other long text under `!!int` is no number at all
_INT_TEXT = re.compile(r"[-+]?(?:0[bxo])?[0-9a-fA-F_:]+")


class _Order:
    """Whether the children of a collection are all written where they are read, one after
    the other: an alias or a `<<` merge brings a node written earlier, whose lines say nothing
    of where the collection ends."""

    def __init__(self, node: yaml.Node) -> None:
        self.previous = (node.start_mark.line, node.start_mark.column - 1)
        self.in_order = bool(node.value)

    def follows(self, child: yaml.Node) -> bool:
        """Note `child`, the next one read; whether it is written after those before it."""
        at = (child.start_mark.line, child.start_mark.column)
        if at <= self.previous:
            self.in_order = False
        self.previous = max(at, self.previous)
        return self.in_order


class _Builder:
    def __init__(
        self, line_offset: int, max_depth: int, strict_numbers: bool, intrinsics: bool = False
    ) -> None:
        self.offset = line_offset
        self.constructor = yaml.constructor.SafeConstructor()
        self.sizes: dict[int, int] = {}
        self.warnings: list[tuple[int, str]] = []
        self.max_depth = max_depth
        self.depth = 0  # collections being built, one inside the other
        self.strict_numbers = strict_numbers
        self.intrinsics = intrinsics
        self.first_tag: tuple[int, str] | None = None  # (line, tag) in the current document

    def span(self, node: yaml.Node) -> tuple[int, int]:
        start = node.start_mark.line + 1 + self.offset
        end_mark = node.end_mark
        end = end_mark.line + 1 + self.offset
        # a block ends at column 0 of the next line: that line is not part of it
        if end > start and end_mark.column == 0:
            end -= 1
        return start, end

    def _end(self, node: yaml.Node, built: Any) -> int:
        """The last line of a value: a block collection ends with its last value (its end
        mark sits on the next token, which may be indented: the next key or `- ` item),
        anything else where its end mark says."""
        if (
            isinstance(built, (LDict, LList))
            and built.line == node.start_mark.line + 1 + self.offset
        ):
            return built.end_line
        return self.span(node)[1]

    def check_size(self, root: yaml.Node, limit: int) -> int:
        """Expanded size of the node graph, computed once per distinct node (linear time): a
        ParseError where it passes `limit` (what is left of the file's budget), else the size."""
        sizes = self.sizes
        visiting: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            nid = id(node)
            if done:
                visiting.discard(nid)
                total = 1
                if isinstance(node, yaml.SequenceNode):
                    total += sum(sizes[id(c)] for c in node.value)
                elif isinstance(node, yaml.MappingNode):
                    total += sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
                if total > limit:
                    raise ParseError(
                        f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes "
                        "(alias bomb?)",
                        node.start_mark.line + 1 + self.offset,
                        guard=True,
                    )
                sizes[nid] = total
                continue
            if nid in sizes:
                continue
            if nid in visiting:
                raise ParseError(
                    "recursive YAML alias", node.start_mark.line + 1 + self.offset, guard=True
                )
            visiting.add(nid)
            stack.append((node, True))
            if isinstance(node, yaml.SequenceNode):
                stack.extend((c, False) for c in node.value if id(c) not in sizes)
            elif isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if id(k) not in sizes:
                        stack.append((k, False))
                    if id(v) not in sizes:
                        stack.append((v, False))
        return sizes[id(root)]

    def build(self, node: yaml.Node) -> Any:
        if node.tag == _STR and node.__class__ is yaml.ScalarNode:
            return node.value  # most nodes: a plain string
        if self.intrinsics and node.tag in INTRINSIC_TAGS:
            return self._intrinsic(node)
        if node.tag not in _CORE_TAGS:
            # a tag that asks for Python objects is an attack, not a dialect
            hostile = node.tag.startswith("tag:yaml.org,2002:python")
            raise UnsupportedTag(
                f"unsupported YAML tag {excerpt(node.tag)}", self.span(node)[0], guard=hostile
            )
        if isinstance(node, yaml.MappingNode):
            start, end = self.span(node)
            self._deeper(start)
            out = LDict(line=start, end_line=end)
            written, last_end = _Order(node), end
            for key_node, value_node in self._pairs(node, 0):
                if key_node.tag == _STR and key_node.__class__ is yaml.ScalarNode:
                    key = key_node.value
                else:
                    key = self.build(key_node)
                    if isinstance(key, (dict, list)):
                        key = str(key)
                value = self.build(value_node)
                key_line = key_node.start_mark.line + 1 + self.offset
                if key in out:
                    line = key_line
                    shown = f"'{excerpt(key)}'" if isinstance(key, str) else repr(key)
                    if out[key] != value:
                        raise ParseError(f"duplicate key {shown} with different values", line)
                    # the same key twice with the same value is untidy, not ambiguous
                    self.warnings.append((line, f"duplicate key {shown} (same value)"))
                out[key] = value
                value_end = max(key_line, self._end(value_node, value))
                out.key_lines[key] = (key_line, value_end)
                if written.follows(key_node) and written.follows(value_node):
                    last_end = value_end
            if not node.flow_style and written.in_order:
                out.end_line = last_end
            self.depth -= 1
            return out
        if isinstance(node, yaml.SequenceNode):
            start, end = self.span(node)
            self._deeper(start)
            items = LList(line=start, end_line=end)
            written, last_end = _Order(node), end
            for child in node.value:
                item = self.build(child)
                items.append(item)
                child_start = self.span(child)[0]
                item_end = max(child_start, self._end(child, item))
                items.item_lines.append((child_start, item_end))
                if written.follows(child):
                    last_end = item_end
            if not node.flow_style and written.in_order:
                items.end_line = last_end
            self.depth -= 1
            return items
        tag = node.tag
        if tag == _STR:  # a string-tagged collection was handled above: this is a scalar
            return node.value
        if tag == _NULL:
            return None
        if tag == _VALUE:  # Go's readers, and so Kubernetes, read the string "="
            return node.value
        if tag == _BOOL and node.value.lower() in self.constructor.bool_values:
            return self.constructor.bool_values[node.value.lower()]
        if (
            tag == _INT
            and numbers.oversized_int(node.value.replace("_", ""))
            and _INT_TEXT.fullmatch(node.value)
        ):
            return self._odd_number(node, f"has more than {numbers.MAX_DIGITS} digits")
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            problem = exc.problem or exc.context or "cannot be read"
            raise ParseError(
                f"invalid YAML value: {excerpt(problem)}", self.span(node)[0]
            ) from None
        except (yaml.YAMLError, ValueError, OverflowError, TypeError, KeyError, AttributeError):
            # an explicit tag on a value it does not fit (`!!int x`, a date like 2024-13-45)
            what = f"'{excerpt(node.value)}' is not a valid {tag.rsplit(':', 1)[-1]}"
            raise ParseError(f"invalid YAML value: {what}", self.span(node)[0]) from None
        if tag == _INT or tag == _FLOAT:
            reason = numbers.problem(value)
            if reason:
                return self._odd_number(node, reason)
        elif tag == _TIMESTAMP:
            return node.value  # as Kubernetes reads YAML (through JSON): the text written
        elif isinstance(value, bytes):
            return value.decode("utf-8", "replace")  # `!!binary`: its decoded text, likewise
        return value

    def _intrinsic(self, node: yaml.Node) -> LDict:
        """A short-form tag as the long form it stands for: `!GetAtt A.B` is
        `{"Fn::GetAtt": "A.B"}`, `!If [c, a, b]` is `{"Fn::If": [c, a, b]}`."""
        start, end = self.span(node)
        if self.first_tag is None:
            self.first_tag = (start, node.tag)
        if isinstance(node, yaml.ScalarNode):
            content: Any = node.value  # `!Ref 1` names "1": the tag makes it a string
        else:
            untagged = "tag:yaml.org,2002:" + (
                "map" if isinstance(node, yaml.MappingNode) else "seq"
            )
            content = self.build(
                node.__class__(untagged, node.value, node.start_mark, node.end_mark)
            )
        out = LDict(line=start, end_line=end)
        name = INTRINSIC_TAGS[node.tag]
        out[name] = content
        out.key_lines[name] = (start, end)
        return out

    def _deeper(self, line: int) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            message = f"YAML nested deeper than {self.max_depth} levels"
            raise ParseError(message, line, guard=True)

    def _odd_number(self, node: yaml.ScalarNode, reason: str) -> Any:
        """A number out of range: unknown, noted; an error where numbers must fit."""
        value = numbers.unknown(node.value, reason)
        line = self.span(node)[0]
        if self.strict_numbers:
            raise ParseError(value.reason, line)
        self.warnings.append((line, numbers.note(value)))
        return value

    def _pairs(self, node: yaml.MappingNode, depth: int) -> list:
        """Key/value pairs with `<<` merge keys applied (explicit keys win)."""
        if depth > self.max_depth:
            message = f"YAML merge keys nested deeper than {self.max_depth} levels"
            raise ParseError(message, self.span(node)[0], guard=True)
        pairs = []
        merged = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for src in sources:
                    if isinstance(src, yaml.MappingNode):
                        merged.extend(self._pairs(src, depth + 1))
            else:
                pairs.append((key_node, value_node))
        if merged:
            own = {k.value for k, _ in pairs if isinstance(k, yaml.ScalarNode)}
            seen: set = set()
            extra = []
            for k, v in merged:
                kv = k.value if isinstance(k, yaml.ScalarNode) else id(k)
                if kv not in own and kv not in seen:
                    seen.add(kv)
                    extra.append((k, v))
            pairs = extra + pairs
        return pairs


# ---- definitions: read by no rule --------------------------------------------------------
CRD_KIND = "CustomResourceDefinition"
_DOCUMENT_START = re.compile(r"^---(?:[ \t].*)?$")
_TOP_KIND = re.compile(r"""^kind:[ \t]*["']?([\w.-]+)["']?[ \t]*(?:#.*)?$""", re.M)


def without_definitions(text: str) -> str:
    """`text`, a YAML stream, with each document whose only top-level `kind` is
    CustomResourceDefinition turned into as many empty lines; `text` itself when it does not
    parse (its error is the whole file's). No rule reads a definition, and definitions are
    most of the YAML of many repositories (two thirds of it in ten real EKS ones): their
    events are read, at a tenth of the cost of building their documents."""
    key = text_digest(text)
    ranges = _DEFINITIONS.get(key)
    if ranges is None:
        if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.clear()
        ranges = _DEFINITIONS[key] = _definitions(text)
    if not ranges:
        return text
    lines = text.split("\n")
    for start, stop in ranges:
        lines[start:stop] = [""] * len(lines[start:stop])
    return "\n".join(lines)


# a file of definitions is often in several builds' bases: its definitions' lines by the
# digest of its text (the text itself is not kept); emptied when it holds _DEFINITIONS_MAX
_DEFINITIONS: dict[bytes, tuple[tuple[int, int], ...]] = {}
_DEFINITIONS_MAX = 1024


def _definitions(text: str) -> tuple[tuple[int, int], ...]:
    """The (start, stop) line ranges (0-based, stop excluded) of the documents of `text`
    whose root mapping's one `kind` is CustomResourceDefinition, as the parser reads them (a
    line that only looks like a top-level `kind:`, inside a quoted string, decides nothing);
    none when `text` does not parse."""
    ranges: list[tuple[int, int]] = []
    open_nodes: list[list] = []  # per open collection: [is a mapping, the next node is a key]
    kinds: list[Any] = []  # the values of the root mapping's `kind` keys
    start, after_kind = 0, False
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.DocumentStartEvent):
                # the `---` of an explicit start stays: what comes before still ends there
                start = event.start_mark.line + (1 if event.explicit else 0)
                kinds, open_nodes, after_kind = [], [], False
            elif isinstance(event, yaml.DocumentEndEvent):
                if kinds == [CRD_KIND]:
                    end = event.end_mark
                    ranges.append((start, end.line + (1 if end.column else 0)))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_nodes.pop()
            elif isinstance(event, _NODE_EVENTS):
                if len(open_nodes) == 1 and open_nodes[0][0]:  # a node of the root mapping
                    root = open_nodes[0]
                    if root[1]:
                        after_kind = _plain_text(event) == "kind"
                    elif after_kind:
                        kinds.append(_plain_text(event))
                    root[1] = not root[1]
                if isinstance(event, yaml.MappingStartEvent):
                    open_nodes.append([True, True])
                elif isinstance(event, yaml.SequenceStartEvent):
                    open_nodes.append([False, False])
    except yaml.YAMLError:
        return ()
    return tuple(ranges)


def _plain_text(event: Any) -> str | None:
    """A scalar event's text when it is read as a string, else None."""
    if not isinstance(event, yaml.ScalarEvent):
        return None
    return event.value if event.tag in (None, "!", _STR) else None
